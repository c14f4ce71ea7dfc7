"""qiskit-ionq 1.1.1, unchanged, against the qjobs IonQ emulator."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from conftest import Emulator, running
from qiskit import QuantumCircuit
from qiskit_ionq import IonQProvider
from qiskit_ionq.exceptions import IonQAPIError, IonQJobFailureError
from qiskit_ionq.ionq_client import IonQClient
from qiskit_ionq.ionq_job import IonQJob

TOKEN = "interop-token"
WAIT = 0.05  # poll interval for result(); the SDK default is 5 s


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def x_on_1() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="x1")
    qc.x(1)
    qc.measure([0, 1], [0, 1])
    return qc


@pytest.fixture(scope="module")
def emulator(timing: tuple[str, ...]) -> Iterator[Emulator]:
    """An emulator whose jobs complete at once; the SDK is pointed at it through the env."""
    saved = {
        k: os.environ.get(k)
        for k in ("IONQ_API_URL", "IONQ_API_KEY", "QISKIT_IONQ_API_URL", "QISKIT_IONQ_API_TOKEN")
    }
    with running("ionq", *timing, "--token", TOKEN, "--seed", "7") as emu:
        os.environ.pop("QISKIT_IONQ_API_URL", None)
        os.environ.pop("QISKIT_IONQ_API_TOKEN", None)
        os.environ["IONQ_API_URL"] = emu.base_url
        os.environ["IONQ_API_KEY"] = TOKEN
        try:
            yield emu
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture(scope="module")
def slow_emulator(timing: tuple[str, ...], emulator: Emulator) -> Iterator[Emulator]:
    """An emulator whose jobs queue for a minute (for cancellation)."""
    with running(
        "ionq", *timing, "--token", TOKEN, "--queue-ms", "60000", "--exec-ms", "1000"
    ) as emu:
        yield emu


def provider(emu: Emulator) -> IonQProvider:
    return IonQProvider(token=TOKEN, url=emu.base_url)


def test_backend_qubits_come_from_the_emulator(emulator: Emulator) -> None:
    backend = provider(emulator).get_backend("simulator")
    assert backend.num_qubits == 29
    assert emulator.stats()["requests"]["GET /backends/{backend}"] >= 1


def test_run_bell_counts(emulator: Emulator) -> None:
    backend = provider(emulator).get_backend("simulator")
    job = backend.run(bell(), shots=1000)
    counts = job.result(wait=WAIT).get_counts()
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 1000
    assert 400 <= counts.get("00", 0) <= 600


def test_run_exact_distribution(emulator: Emulator) -> None:
    backend = provider(emulator).get_backend("simulator")
    counts = backend.run(x_on_1(), shots=256).result(wait=WAIT).get_counts()
    assert counts == {"10": 256}


def test_run_multi_circuit(emulator: Emulator) -> None:
    backend = provider(emulator).get_backend("simulator")
    ghz = QuantumCircuit(3, 3, name="ghz")
    ghz.h(0)
    ghz.cx(0, 1)
    ghz.cx(1, 2)
    ghz.measure([0, 1, 2], [0, 1, 2])
    job = backend.run([x_on_1(), bell(), ghz], shots=500)
    result = job.result(wait=WAIT)
    assert result.get_counts(0) == {"10": 500}
    assert set(result.get_counts(1)) <= {"00", "11"}
    assert set(result.get_counts(2)) <= {"000", "111"}
    assert sum(result.get_counts(2).values()) == 500
    detailed = job.status(detailed=True)
    assert detailed["total"] == 3
    assert detailed["completed"] == 3


def test_noisy_model_counts_and_memory(emulator: Emulator) -> None:
    backend = provider(emulator).get_backend("simulator")
    backend.set_options(noise_model="aria-1")
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.h(1)
    qc.measure([0, 1], [0, 1])
    job = backend.run(qc, shots=300, memory=True)
    result = job.result(wait=WAIT)
    counts = result.get_counts()
    assert sum(counts.values()) == 300
    memory = result.get_memory()
    assert len(memory) == 300
    assert {m: memory.count(m) for m in set(memory)} == counts


def test_native_gates(emulator: Emulator) -> None:
    from qiskit_ionq import GPI2Gate, GPIGate, MSGate

    backend = provider(emulator).get_backend("simulator", gateset="native")
    qc = QuantumCircuit(2, 2)
    qc.append(GPIGate(0.25), [0])  # GPI(0.25) = Y up to phase: |0> -> |1>
    qc.append(GPI2Gate(0), [1])
    qc.append(MSGate(0, 0), [0, 1])
    qc.measure([0, 1], [0, 1])
    counts = backend.run(qc, shots=400).result(wait=WAIT).get_counts()
    assert sum(counts.values()) == 400
    assert set(counts) <= {"00", "01", "10", "11"}


def test_failed_job_raises(emulator: Emulator) -> None:
    backend = provider(emulator).get_backend("simulator")
    job = backend.run(bell(), shots=10, name="qjobs_fail please")
    with pytest.raises(IonQJobFailureError, match="QJobsRequestedFailure"):
        job.result(wait=WAIT)


def test_low_level_client(emulator: Emulator) -> None:
    backend = provider(emulator).get_backend("simulator")
    client = IonQClient(token=TOKEN, url=emulator.base_url)
    job = IonQJob(backend, client=client, circuit=bell(), passed_args={"shots": 200})
    created = client.submit_job(job)
    job_id = created["id"]
    info = client.retrieve_job(job_id)
    for _ in range(400):  # the caller's polling loop: jobs may queue and run for a while
        if info["status"] not in ("submitted", "ready", "started"):
            break
        time.sleep(WAIT)
        info = client.retrieve_job(job_id)
    assert info["status"] == "completed"
    assert info["metadata"]["shots"] == "200"
    url = info["results"]["probabilities"]["url"]
    probs = client.get_results(url, sharpen=True)
    assert set(probs) == {"0", "3"}
    assert probs["0"] == pytest.approx(0.5)
    # retrieve through the backend: one GET in the constructor, then the result
    again = backend.retrieve_job(job_id)
    assert set(again.result(wait=WAIT).get_counts()) <= {"00", "11"}
    client.delete_job(job_id)
    with pytest.raises(IonQAPIError) as info_404:
        IonQClient(token=TOKEN, url=emulator.base_url).get_results(url)
    assert info_404.value.status_code == 404


def test_cancel(slow_emulator: Emulator) -> None:
    backend = provider(slow_emulator).get_backend("simulator")
    client = IonQClient(token=TOKEN, url=slow_emulator.base_url)
    job = IonQJob(backend, client=client, circuit=bell(), passed_args={"shots": 10})
    job_id = client.submit_job(job)["id"]
    assert client.retrieve_job(job_id)["status"] in ("submitted", "ready")
    client.cancel_job(job_id)
    assert client.retrieve_job(job_id)["status"] == "canceled"
    others = [
        client.submit_job(
            IonQJob(backend, client=client, circuit=bell(), passed_args={"shots": 10})
        )["id"]
        for _ in range(2)
    ]
    client.cancel_jobs(others)
    assert {client.retrieve_job(j)["status"] for j in others} == {"canceled"}


def test_wrong_token_is_401(emulator: Emulator) -> None:
    client = IonQClient(token="wrong", url=emulator.base_url)
    with pytest.raises(IonQAPIError) as info:
        client.retrieve_job("00000000-0000-4000-8000-000000000000")
    assert info.value.status_code == 401
    assert info.value.error_type == "Unauthorized"


def test_mid_circuit_measurement_goes_through_qasm3(emulator: Emulator) -> None:
    backend = provider(emulator).get_backend("simulator")
    qc = QuantumCircuit(2, 3, name="mid")
    qc.x(0)
    qc.measure(0, 0)  # mid-circuit: q0 is used again below
    qc.reset(0)
    qc.h(1)
    qc.cx(1, 0)
    qc.measure([0, 1], [1, 2])
    job = backend.run(qc, shots=200)
    counts = job.result(wait=WAIT).get_counts()
    assert sum(counts.values()) == 200
    # bit 0 is always 1 (the X before the reset); bits 1 and 2 are a Bell pair
    assert set(counts) <= {"001", "111"}
    assert emulator.stats()["requests"]["GET /jobs/{id}/artifacts/{artifact_id}"] >= 1
