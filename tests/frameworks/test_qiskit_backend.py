"""qjobs.qiskit.get_backend: a Qiskit BackendV2 over the Scheduler, on each provider's emulator."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter
from qiskit.exceptions import QiskitError
from qiskit.primitives import BackendEstimatorV2
from qiskit.providers import JobStatus
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.quantum_info import SparsePauliOp

import qjobs
from qjobs.qiskit import QjobsBackend, QjobsJob, get_backend
from qjobs.qiskit._convert import Header
from qjobs.qiskit._results import to_qiskit_result
from qjobs.transport import RateLimit

PROVIDERS = ("ionq", "qbraid", "kipu", "qpi", "qibo")
TOKEN = "frameworks-token"
#: Providers whose jobs carry many circuits -> provider jobs for a thousand small circuits: IonQ
#: and qBraid take 100 circuits per job; QPI publishes no count, so one job takes every circuit
#: that fits its payload bound (all 1,000).
BATCHING = {"ionq": 10, "qpi": 1, "qbraid": 10}

Open = Callable[..., tuple[Any, QjobsBackend]]


@pytest.fixture
def open_backend(serve: Callable[..., Any]) -> Iterator[Open]:
    """``open_backend(provider, backend=None, **serve_options)`` -> (server, backend)."""
    opened: list[QjobsBackend] = []

    def make(provider: str, backend: str | None = None, **serve_options: Any) -> Any:
        server = serve(provider, **serve_options)
        options: dict[str, Any] = {"rate_limit": RateLimit(requests_per_second=None)}
        if provider == "qbraid":
            options["config_file"] = "/nonexistent/qbraidrc"
        b = get_backend(provider, backend, base_url=server.base_url, token=TOKEN, **options)
        opened.append(b)
        return server, b

    yield make
    for b in opened:
        b.close()


def asymmetric() -> QuantumCircuit:
    """X on qubit 0 of 3, copied to qubit 2; measured into permuted clbits: outcome '011'."""
    qc = QuantumCircuit(3, 3, name="asym")
    qc.x(0)
    qc.cx(0, 2)
    qc.measure([0, 1, 2], [0, 2, 1])
    return qc


def two_registers() -> QuantumCircuit:
    """Two classical registers: Qiskit separates them with a space in counts keys."""
    q = QuantumRegister(2, "q")
    a = ClassicalRegister(1, "a")
    b = ClassicalRegister(2, "b")
    qc = QuantumCircuit(q, a, b, name="regs")
    qc.x(1)
    qc.measure(q[1], a[0])
    qc.measure(q[1], b[1])
    qc.measure(q[0], b[0])
    return qc


def reference_counts(qc: QuantumCircuit, shots: int) -> dict[str, int]:
    sim = BasicSimulator()
    counts: dict[str, int] = sim.run(transpile(qc, sim), shots=shots).result().get_counts()
    return counts


@pytest.mark.parametrize("provider", PROVIDERS)
def test_transpile_and_run_match_qiskits_simulator(provider: str, open_backend: Open) -> None:
    _server, backend = open_backend(provider)
    assert backend.name == f"{provider}:{backend.entry.name}"
    assert backend.target.num_qubits == backend.entry.qubits
    assert {"cx", "h", "rz", "measure"} <= set(backend.target.operation_names)
    circuits = [transpile(qc, backend) for qc in (asymmetric(), two_registers())]
    job = backend.run(circuits, shots=1000)
    assert isinstance(job, QjobsJob)
    result = job.result()
    assert job.status() is JobStatus.DONE
    assert result.get_counts(0) == reference_counts(asymmetric(), 1000) == {"011": 1000}
    assert result.get_counts(1) == reference_counts(two_registers(), 1000) == {"10 1": 1000}
    # one circuit in, one result out, shots from the backend's options
    single = backend.run(transpile(asymmetric(), backend)).result()
    assert single.get_counts() == {"011": 1024}


def test_a_random_circuit_matches_the_distribution(open_backend: Open) -> None:
    _server, backend = open_backend("ionq")
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.ry(0.7, 1)
    qc.cx(0, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    counts = backend.run(transpile(qc, backend), shots=4000).result().get_counts()
    ref = reference_counts(qc, 20000)
    for key, n in ref.items():
        assert abs(counts.get(key, 0) / 4000 - n / 20000) < 0.05, (key, counts, ref)
    assert set(counts) <= set(ref)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_thousand_circuits(provider: str, open_backend: Open) -> None:
    server, backend = open_backend(provider)
    circuits = []
    for i in range(1000):
        qc = QuantumCircuit(2, 2)
        if i % 2:
            qc.x(1)
        qc.measure([0, 1], [0, 1])
        circuits.append(qc)
    before, jobs_before = server.stats.total_requests, server.stats.jobs_created
    result = backend.run(circuits, shots=100).result()
    used = server.stats.total_requests - before
    jobs = server.stats.jobs_created - jobs_before
    assert [result.get_counts(i) for i in range(1000)] == [
        {"10": 100} if i % 2 else {"00": 100} for i in range(1000)
    ]
    if provider in BATCHING:
        assert jobs == BATCHING[provider]
        assert used / 1000 <= 0.1, (provider, used)
    else:
        # One circuit per job: a submit and a result read each, status polled in batches.
        assert jobs == 1000
        assert used / 1000 <= 2.1, (provider, used)


def test_kipu_batches_on_a_backend_taking_pubs(open_backend: Open) -> None:
    server, backend = open_backend("kipu", "ibm.qpu.fez")
    assert backend.max_circuits == 100
    circuits = []
    for i in range(200):
        qc = QuantumCircuit(3, 3)
        for j in range(3):
            if i >> j & 1:
                qc.x(j)
        qc.measure([0, 1, 2], [0, 1, 2])
        circuits.append(qc)
    jobs_before = server.stats.jobs_created
    result = backend.run(circuits, shots=10).result()
    assert server.stats.jobs_created - jobs_before == 2  # 100 PUBs per provider job
    assert [result.get_counts(i) for i in range(200)] == [
        {format(i % 8, "03b"): 10} for i in range(200)
    ]


def test_status_and_cancel(open_backend: Open) -> None:
    server, backend = open_backend("ionq", queue_time=600.0, exec_time=600.0)
    job = backend.run([asymmetric()] * 3, shots=10)
    assert job.status() in (JobStatus.INITIALIZING, JobStatus.QUEUED)
    for _ in range(200):
        if job.status() is JobStatus.QUEUED:
            break
        asyncio.run(asyncio.sleep(0.02))
    assert job.status() is JobStatus.QUEUED
    ids = job.provider_job_ids()
    assert len(ids) == 3
    assert ids[0] is not None
    job.cancel()
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(qjobs.QJobsError):
        job.result()
    assert (
        server.stats.requests.get("PUT /jobs/{id}/status/cancel", 0)
        + server.stats.requests.get("PUT /jobs/status/cancel", 0)
        >= 1
    ), server.stats.requests


#: Providers whose results can carry per-shot memory (QPI's emulator returns counts only).
WITH_MEMORY = ("ionq", "qbraid", "kipu", "qibo")


@pytest.mark.parametrize("provider", WITH_MEMORY)
def test_get_memory_where_the_provider_returns_shots(provider: str, open_backend: Open) -> None:
    _server, backend = open_backend(provider)
    qc = QuantumCircuit(3, 3)
    qc.x(0)
    qc.h(1)
    qc.measure([0, 1, 2], [0, 2, 1])
    circuits = [transpile(qc, backend), transpile(asymmetric(), backend)]
    result = backend.run(circuits, shots=200, memory=True).result()
    random_shots = result.get_memory(0)
    assert len(random_shots) == 200
    assert set(random_shots) == {"001", "101"}  # clbit 2 carries qubit 1's coin
    assert {k: random_shots.count(k) for k in set(random_shots)} == result.get_counts(0)
    assert result.get_memory(1) == ["011"] * 200
    without = backend.run(circuits[1], shots=5).result()
    with pytest.raises(QiskitError, match="memory"):
        without.get_memory()


def test_memory_converts_to_qiskits_bit_order() -> None:
    res = qjobs.Result.from_counts({"011": 2, "100": 1}, 3, memory=np.array([3, 4, 3]))
    header = Header("m", 3, (("c", 3),))
    out = to_qiskit_result([res], [header], backend_name="b", backend_version="1", job_id="j")
    assert out.get_counts(0) == {"011": 2, "100": 1}
    assert out.get_memory(0) == ["011", "100", "011"]


def test_works_inside_a_running_event_loop(open_backend: Open) -> None:
    _server, backend = open_backend("qpi")

    async def notebook_cell() -> dict[str, int]:
        counts: dict[str, int] = backend.run(asymmetric(), shots=50).result().get_counts()
        return counts

    assert asyncio.run(notebook_cell()) == {"011": 50}

    async def opened_in_a_cell() -> dict[str, int]:
        with get_backend("qpi", base_url=backend.client.base_url, token=TOKEN) as other:
            counts: dict[str, int] = other.run(asymmetric(), shots=5).result().get_counts()
        return counts

    assert asyncio.run(opened_in_a_cell()) == {"011": 5}


EXIT_SCRIPT = """
import atexit
closed = []
atexit.register(lambda: print("closed at exit:", closed[0].transport.closed))  # runs last
import qjobs_sync
from qiskit import QuantumCircuit
from qjobs.qiskit import get_backend
server = qjobs_sync.emulators.serve("ionq", tokens=["t"]).__enter__()
backend = get_backend("ionq", base_url=server.base_url, token="t")
closed.append(backend.client)
qc = QuantumCircuit(1, 1)
qc.x(0)
qc.measure(0, 0)
print(backend.run(qc, shots=3).result().get_counts())
"""


def test_an_open_backend_is_closed_at_interpreter_exit() -> None:
    out = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split("\n")[:2] == ["{'1': 3}", "closed at exit: True"], out


def test_transpile_follows_a_restricted_coupling(open_backend: Open) -> None:
    _server, backend = open_backend("kipu", "ibm.qpu.fez")
    assert (
        {"sx", "rz", "cz"}
        <= set(backend.target.operation_names)
        <= {
            "sx",
            "x",
            "rz",
            "cz",
            "id",
            "measure",
        }
    )
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 2)
    qc.cx(2, 1)
    qc.measure([0, 1, 2], [0, 1, 2])
    out = transpile(qc, backend, seed_transpiler=7)
    edges = set(backend.target.build_coupling_map().get_edges())
    for inst in out.data:
        if inst.operation.num_qubits == 2:
            pair = tuple(out.find_bit(q).index for q in inst.qubits)
            assert pair in edges


def test_unknown_backend_and_closed_backend(open_backend: Open, serve: Any) -> None:
    server = serve("ionq")
    with pytest.raises(qjobs.InputError, match="catalogue"):
        get_backend("ionq", "nope", base_url=server.base_url, token=TOKEN)
    _server, backend = open_backend("ionq")
    with backend:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        backend.run(asymmetric())
    with pytest.raises(qjobs.InputError):
        open_backend("qpi")[1].run("not a circuit")


def test_import_qjobs_does_not_import_qiskit() -> None:
    code = "import sys, qjobs, qjobs_sync; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not {"qiskit", "qjobs.qiskit"} & set(out)
    assert QjobsBackend.__module__ == "qjobs.qiskit"


def test_a_failed_job_is_an_error(open_backend: Open) -> None:
    _server, backend = open_backend("qibo", "qjobs_fail")
    job = backend.run(asymmetric(), shots=10)
    with pytest.raises(qjobs.JobFailedError):
        job.result()
    assert job.status() is JobStatus.ERROR


def test_unbound_parameters_are_refused_before_any_request(open_backend: Open) -> None:
    server, backend = open_backend("ionq")
    qc = QuantumCircuit(1, 1)
    qc.rx(Parameter("theta"), 0)
    qc.measure(0, 0)
    before = server.stats.total_requests
    with pytest.raises(qjobs.InputError, match="unbound"):
        backend.run(qc)
    assert server.stats.total_requests == before
    bound = qc.assign_parameters({qc.parameters[0]: np.pi})
    assert backend.run(bound, shots=20).result().get_counts() == {"1": 20}


def test_a_ledger_resumes_a_run_without_new_jobs(open_backend: Open, tmp_path: Path) -> None:
    server, backend = open_backend("qpi")
    circuits = [asymmetric(), two_registers()] * 5
    ledger = tmp_path / "run.sqlite"
    first = backend.run(circuits, shots=30, ledger=ledger).result()
    jobs = server.stats.jobs_created
    again = backend.run(circuits, shots=30, ledger=ledger).result()
    assert server.stats.jobs_created == jobs
    assert [again.get_counts(i) for i in range(10)] == [first.get_counts(i) for i in range(10)]


@pytest.mark.parametrize("provider", ["ionq", "qibo"])
def test_qiskits_backend_estimator_runs_on_it(provider: str, open_backend: Open) -> None:
    _server, backend = open_backend(provider)
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    tq = transpile(qc, backend)
    obs = SparsePauliOp.from_list([("ZZ", 1.0), ("XX", 1.0), ("ZI", 1.0)]).apply_layout(tq.layout)
    estimator = BackendEstimatorV2(backend=backend, options={"default_precision": 0.01})
    evs = estimator.run([(tq, obs)]).result()[0].data.evs
    assert abs(float(evs) - 2.0) < 0.1


def test_cancel_at_once(open_backend: Open) -> None:
    server, backend = open_backend("qpi", queue_time=600.0)
    job = backend.run([asymmetric()] * 5, shots=10)
    job.cancel()
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(qjobs.JobCancelledError):
        job.result()
    job.cancel()  # again: nothing left to do
    assert job.status() is JobStatus.CANCELLED
    assert server.stats.active_jobs == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_qiskit_users_script_runs_unchanged(provider: str, open_backend: Open) -> None:
    """The issue's script on every provider: transpile, backend.run(...).result().get_counts(),
    then Sampler(backend).run([(qc, values)]) over a small grid of one parameter."""
    from qjobs.qiskit import Sampler

    server, backend = open_backend(provider)
    circuits = [asymmetric() for _ in range(4)]
    counts = backend.run(transpile(circuits, backend), shots=1000).result().get_counts()
    assert counts == [{"011": 1000}] * 4

    theta = Parameter("theta")
    qc = QuantumCircuit(2, 2)
    qc.rx(theta, 1)
    qc.measure([0, 1], [0, 1])
    values = np.array([[0.0], [np.pi], [0.0]])  # shape (3, 1): qubit 1 is 0, 1, 0 for sure
    pub = Sampler(backend).run([(qc, values)], shots=50).result()[0]
    assert pub.data.c.shape == (3,)
    assert [pub.data.c[i].get_counts() for i in range(3)] == [{"00": 50}, {"10": 50}, {"00": 50}]
    assert server.stats.jobs_created >= 1
