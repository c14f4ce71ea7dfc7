"""qibo-client 0.2.4 (with qibo 0.3.2), unchanged, against the qjobs Qibo cloud emulator.

Also checks the qjobs codec against real qibo: every gate qjobs encodes is rebuilt by
``qibo.Circuit.from_dict`` and simulated by qibo, and the distribution must match qjobs.sim.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import Emulator, running

os.environ.setdefault("QIBO_API_ERRORS_AUTO", "0")  # no global exception hooks in the test run

from qibo import Circuit as QiboCircuit
from qibo import gates
from qibo_client import Client
from qibo_client.exceptions import QiboApiError

from qjobs import Circuit, Instruction, sim
from qjobs.providers.qibo import circuits as codec

TOKEN = "interop-token"
WAIT = 0.01  # result() poll interval; the SDK default is 0.5 s


@pytest.fixture(scope="module")
def emulator(
    timing: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Emulator]:
    os.environ["RESULTS_BASE_FOLDER"] = str(tmp_path_factory.mktemp("qibo_results"))
    with running("qibo", *timing, "--seed", "11", "--token", TOKEN) as emu:
        yield emu


@pytest.fixture(scope="module")
def slow_emulator(timing: tuple[str, ...]) -> Iterator[Emulator]:
    with running("qibo", *timing, "--queue-ms", "300", "--exec-ms", "200", "--token", TOKEN) as emu:
        yield emu


def bell() -> QiboCircuit:
    c = QiboCircuit(2)
    c.add(gates.H(0))
    c.add(gates.CNOT(0, 1))
    c.add(gates.M(0, 1))
    return c


def test_run_circuit_bell_frequencies(emulator: Emulator) -> None:
    client = Client(TOKEN, emulator.base_url)
    job = client.run_circuit(bell(), device="sim", project="personal", nshots=200)
    result = job.result(wait=WAIT, verbose=False)
    freqs = result.frequencies()
    assert set(freqs) <= {"00", "11"}
    assert sum(freqs.values()) == 200
    assert 60 <= freqs["00"] <= 140
    assert len(result.samples()) == 200


def test_bit_order_is_qubit_zero_leftmost(emulator: Emulator) -> None:
    c = QiboCircuit(3)
    c.add(gates.X(0))
    c.add(gates.M(0, 1, 2))
    result = Client(TOKEN, emulator.base_url).run_circuit(c, device="sim", nshots=50)
    assert dict(result.result(wait=WAIT, verbose=False).frequencies()) == {"100": 50}


def test_job_without_measurement_returns_a_state(emulator: Emulator) -> None:
    c = QiboCircuit(1)
    c.add(gates.H(0))
    result = Client(TOKEN, emulator.base_url).run_circuit(c, device="sim", nshots=10)
    state = result.result(wait=WAIT, verbose=False).state()
    np.testing.assert_allclose(np.abs(state) ** 2, [0.5, 0.5], atol=1e-12)


def test_failed_job_returns_none(emulator: Emulator) -> None:
    job = Client(TOKEN, emulator.base_url).run_circuit(bell(), device="qjobs_fail", nshots=10)
    assert job.result(wait=WAIT, verbose=False) is None
    assert job.status().name == "ERROR"
    assert (job.results_folder / "stderr.txt").read_text().strip()


def test_queue_statuses_seen_by_the_sdk(slow_emulator: Emulator) -> None:
    job = Client(TOKEN, slow_emulator.base_url).run_circuit(bell(), device="sim", nshots=20)
    first = job.status()
    assert first.name in ("QUEUEING", "PENDING")
    result = job.result(wait=0.05, verbose=False)
    assert sum(result.frequencies().values()) == 20
    assert job.status().name == "SUCCESS"


def test_errors_quotas_listing_and_deletion(emulator: Emulator) -> None:
    client = Client(TOKEN, emulator.base_url)
    with pytest.raises(QiboApiError) as info:
        client.run_circuit(bell(), device="nope", nshots=10)
    assert info.value.status == 400
    assert info.value.message == "Device 'nope' does not exist."
    with pytest.raises(QiboApiError) as bad_token:
        Client("wrong", emulator.base_url).get_job("x")
    assert bad_token.value.status == 401
    assert bad_token.value.message == "Invalid token."
    client.print_quota_info()
    client.print_job_info()
    job = client.run_circuit(bell(), device="sim", nshots=5)
    job.result(wait=WAIT, verbose=False)  # jobs may queue and run for a while
    assert client.get_job(job.pid).status().name == "SUCCESS"
    client.delete_job(job.pid)
    with pytest.raises(QiboApiError) as gone:
        client.get_job(job.pid)
    assert gone.value.status == 404
    deleted = client.delete_all_jobs()
    assert deleted
    assert client.delete_all_jobs() == []
    requests = emulator.stats()["requests"]
    assert requests["GET /api/qibo_version/"] >= 3
    assert requests["GET /api/jobs/{pid}/download/"] >= 1


# ---------------------------------------------------------------- codec against real qibo
def _ins(name: str, *qubits: int, params: tuple[float, ...] = ()) -> Instruction:
    return Instruction(name, qubits, params)


GATE_CASES: list[Instruction] = [
    _ins(n, 0) for n in ("id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg")
] + [
    _ins("rx", 1, params=(0.3,)),
    _ins("ry", 0, params=(1.1,)),
    _ins("rz", 2, params=(-0.7,)),
    _ins("p", 0, params=(0.9,)),
    _ins("u2", 1, params=(0.4, -0.2)),
    _ins("u3", 2, params=(0.5, 0.6, 0.7)),
    _ins("cx", 0, 2),
    _ins("cy", 2, 1),
    _ins("cz", 1, 0),
    _ins("ch", 0, 1),
    _ins("swap", 0, 2),
    _ins("crx", 1, 2, params=(0.8,)),
    _ins("cry", 2, 0, params=(1.3,)),
    _ins("crz", 0, 1, params=(0.4,)),
    _ins("cp", 1, 2, params=(2.1,)),
    _ins("rxx", 0, 1, params=(0.6,)),
    _ins("ryy", 1, 2, params=(0.9,)),
    _ins("rzz", 0, 2, params=(1.2,)),
    _ins("ccx", 0, 1, 2),
    _ins("cswap", 2, 0, 1),
    _ins("gpi", 1, params=(0.15,)),
    _ins("gpi2", 2, params=(0.35,)),
    _ins("ms", 0, 2, params=(0.1, 0.3, 0.2)),
    _ins("ms", 1, 0, params=(0.05, 0.4, 0.25)),
    _ins("zz", 1, 2, params=(0.12,)),
]
# A state in which every gate acts non-trivially (amplitudes and phases vary on all qubits).
PREP = (
    _ins("ry", 0, params=(0.7,)),
    _ins("rx", 1, params=(1.9,)),
    _ins("ry", 2, params=(2.3,)),
    _ins("rz", 0, params=(0.4,)),
    _ins("cx", 0, 1),
    _ins("rz", 1, params=(1.1,)),
)
# Rotations after the gate turn its phases into measurable probabilities.
POST = (_ins("h", 0), _ins("rx", 1, params=(0.6,)), _ins("ry", 2, params=(-0.8,)))


@pytest.mark.parametrize("gate", GATE_CASES, ids=lambda ins: f"{ins.name}{ins.qubits}")
def test_codec_gates_simulate_the_same_in_qibo(gate: Instruction) -> None:
    ops = (*PREP, gate, *POST, *(Instruction("measure", (q,), (), (q,)) for q in range(3)))
    circuit = Circuit(3, 3, ops)
    encoded = codec.encode(circuit)
    rebuilt = QiboCircuit.from_dict(json.loads(json.dumps(encoded.circuit)))
    state = np.asarray(rebuilt(nshots=1).state())
    qibo_probs = np.abs(state) ** 2  # index: qubit 0 is the most significant bit
    mapped = encoded.map.apply_probabilities(qibo_probs)
    np.testing.assert_allclose(mapped, sim.probabilities(circuit), atol=1e-9)


def test_codec_measurement_registers_survive_qibo(tmp_path: Path) -> None:
    circuit = Circuit(3, 4, (_ins("x", 2), Instruction("measure", (2,), (), (3,))))
    encoded = codec.encode(circuit)
    rebuilt = QiboCircuit.from_dict(encoded.circuit)
    result = rebuilt(nshots=20)
    path = tmp_path / "r.npy"
    result.dump(str(path))
    # qibo writes the registers back into its results; qjobs maps them to clbit 3.
    payload = np.load(path, allow_pickle=True).item()
    gates_back = [json.loads(m) for m in payload["measurements"]]
    mmap = codec.map_from_gates(gates_back)
    assert mmap.columns == ((3,),)
    assert mmap.num_clbits == 4
    assert mmap.apply_frequencies(dict(result.frequencies())) == {8: 20}
    assert math.isclose(sum(result.frequencies().values()), 20)
