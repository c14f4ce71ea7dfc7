"""The official qBraid SDK (qbraid 0.13.0 / qbraid-core 0.6.37), unchanged, against the emulator.

The emulator runs as a subprocess (``python -m qjobs emulate qbraid --port 0``); its first output
line is ``qbraid <base-url>``. Jobs complete at once (``--queue-ms 0 --exec-ms 0``), so the
SDK's 5 s polling never sleeps; a second emulator with a long queue serves the cancel flow.
Under the slow timing (conftest) jobs queue and run: the tests wait with a short poll interval
(``wait_for_final_state(poll_interval=POLL)``) before ``result()``, whose interval is fixed at 5 s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from conftest import Emulator, running

# qbraid caches get_device() for 120 s across providers; two emulators need fresh lookups.
os.environ["DISABLE_CACHE"] = "1"
qbraid = pytest.importorskip("qbraid")
qbraid_core = pytest.importorskip("qbraid_core")

from qbraid.runtime import QbraidProvider  # noqa: E402
from qbraid_core import QbraidSessionV1  # noqa: E402
from qbraid_core.services.runtime import QuantumRuntimeClient  # noqa: E402

pytestmark = pytest.mark.timeout(120)

DEVICE = "qbraid:qbraid:sim:qasm-sim"
POLL = 0.05  # wait_for_final_state's poll interval; the SDK default is 5 s
BELL3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""
X0 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
x q[0];
measure q -> c;
"""


@pytest.fixture(scope="module")
def emulator(timing: tuple[str, ...]) -> Iterator[Emulator]:
    with running("qbraid", *timing) as emu:
        yield emu


@pytest.fixture(scope="module")
def slow_emulator(timing: tuple[str, ...]) -> Iterator[Emulator]:
    with running("qbraid", *timing, "--queue-ms", "600000", "--exec-ms", "0") as emu:
        yield emu


def _provider(url: str) -> QbraidProvider:
    session = QbraidSessionV1(api_key="interop-key", base_url=url)
    return QbraidProvider(client=QuantumRuntimeClient(session=session))


def test_devices_run_wait_counts(emulator: Emulator) -> None:
    provider = _provider(emulator.base_url)
    devices = provider.get_devices()
    qrns = {d.id for d in devices}
    assert DEVICE in qrns
    assert "aws:rigetti:qpu:aspen-m-3" not in qrns  # retired
    device = provider.get_device(DEVICE)
    assert device.num_qubits == 20
    job = device.run(BELL3, shots=100, name="bell", tags={"exp": "interop"})
    job.wait_for_final_state(timeout=30, poll_interval=POLL)
    assert str(job.status().name) == "COMPLETED"
    counts = job.result().data.get_counts()
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 100


def test_qasm2_bit_order(emulator: Emulator) -> None:
    device = _provider(emulator.base_url).get_device(DEVICE)
    job = device.run(X0, shots=10)
    job.wait_for_final_state(timeout=30, poll_interval=POLL)
    counts = job.result().data.get_counts()
    assert counts == {"01": 10}  # clbit 0 rightmost


def test_batch_job(emulator: Emulator) -> None:
    before = emulator.stats()["requests"].get("POST /jobs", 0)
    device = _provider(emulator.base_url).get_device(DEVICE)
    job = device.run([BELL3, X0], shots=20, as_batch=True)
    assert emulator.stats()["requests"]["POST /jobs"] == before + 1
    job.wait_for_final_state(timeout=30, poll_interval=POLL)
    result = job.result()
    counts = result.data.get_counts()
    assert isinstance(counts, list)
    assert len(counts) == 2
    assert counts[1] == {"01": 20}
    programs = job._client.get_job_program(job.id)
    assert isinstance(programs, list)
    assert len(programs) == 2


def test_one_job_per_program_without_batch(emulator: Emulator) -> None:
    before = emulator.stats()["requests"].get("POST /jobs", 0)
    device = _provider(emulator.base_url).get_device(DEVICE)
    jobs = device.run([X0, X0], shots=5)
    assert len(jobs) == 2
    assert emulator.stats()["requests"]["POST /jobs"] == before + 2
    for job in jobs:
        job.wait_for_final_state(timeout=30, poll_interval=POLL)
    assert all(j.result().data.get_counts() == {"01": 5} for j in jobs)


def test_cancel(slow_emulator: Emulator) -> None:
    device = _provider(slow_emulator.base_url).get_device(DEVICE)
    job = device.run(BELL3, shots=10)
    assert job.status().name in ("INITIALIZING", "VALIDATING", "QUEUED")
    job.cancel()
    assert job.status().name in ("CANCELLING", "CANCELLED")


def test_list_jobs_by_tags(emulator: Emulator) -> None:
    provider = _provider(emulator.base_url)
    device = provider.get_device(DEVICE)
    device.run(X0, shots=3, tags={"find": "me"})
    client: QuantumRuntimeClient = provider.client
    found = client.list_jobs(tags={"find": "me"})
    assert len(found) == 1
    assert found[0].tags == {"find": "me"}
