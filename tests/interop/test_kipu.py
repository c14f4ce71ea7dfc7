"""qhub-api 3.3.0 (HubQuantumClient and AsyncHubQuantumClient), unchanged, against the Kipu
Quantum Hub emulator (``python -m qjobs emulate kipu`` in a subprocess)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Emulator, running

qhub_quantum = pytest.importorskip("qhub.api.quantum")
HubQuantumClient = qhub_quantum.HubQuantumClient
AsyncHubQuantumClient = qhub_quantum.AsyncHubQuantumClient

TOKEN = "kqh-interop-token"
BELL3 = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\n'
    "c = measure q;\n"
)
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "ABORTED", "DETACHED"}


@pytest.fixture(scope="module")
def emulator(timing: tuple[str, ...]) -> Iterator[Emulator]:
    with running("kipu", *timing, "--token", TOKEN, "--seed", "7") as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> object:
    return HubQuantumClient(api_key=TOKEN, base_url=emulator.base_url, max_retries=0)


def wait(client: object, job_id: str) -> str:
    """The caller's polling loop (qhub-api has no wait method)."""
    for _ in range(200):
        status = client.jobs.get_job_status(job_id).status  # type: ignore[attr-defined]
        if status in FINAL:
            return str(status)
        time.sleep(0.01)
    raise AssertionError("job did not finish")


def test_backends(client: object) -> None:
    backends = client.backends.get_backends()  # type: ignore[attr-defined]
    ids = {b.id for b in backends}
    assert {"azure.ionq.simulator", "aws.sim.sv1", "ibm.qpu.fez"} <= ids
    assert {b.provider for b in client.backends.get_backends(provider="AWS")} == {"AWS"}  # type: ignore[attr-defined]
    sv1 = client.backends.get_backend("aws.sim.sv1")  # type: ignore[attr-defined]
    assert sv1.configuration.qubit_count == 34
    assert client.backends.get_backend_status("aws.sim.sv1").status == "ONLINE"  # type: ignore[attr-defined]
    assert client.backends.get_backend_config("aws.sim.sv1")["qubit_count"] == 34  # type: ignore[attr-defined]
    cal = client.backends.get_backend_calibration("ibm.qpu.fez")  # type: ignore[attr-defined]
    assert cal is not None
    assert cal.backend_id == "ibm.qpu.fez"
    assert client.backends.get_backend_calibration("aws.sim.sv1") is None  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    history = client.backends.get_backend_calibration_history(  # type: ignore[attr-defined]
        "ibm.qpu.fez", from_=now - timedelta(days=30), to=now + timedelta(days=1), size=3
    )
    assert history.total_elements == 7
    assert history.total_pages == 3
    assert len(history.content) == 3
    assert client.backends.get_least_busy_backend(provider="IBM").id.startswith("ibm.")  # type: ignore[attr-defined]


def test_create_job_poll_and_results(client: object) -> None:
    job = client.jobs.create_job(  # type: ignore[attr-defined]
        backend_id="azure.ionq.simulator",
        shots=100,
        name="bell",
        input={
            "gateset": "qis",
            "qubits": 2,
            "circuit": [
                {"type": "h", "targets": [0]},
                {"type": "cnot", "targets": [1], "controls": [0]},
            ],
        },
        input_format="IONQ_CIRCUIT_V1",
        tags=["t1"],
    )
    assert job.id
    assert job.backend_id == "azure.ionq.simulator"
    assert wait(client, job.id) == "COMPLETED"
    native = client.jobs.get_job_result(job.id)  # type: ignore[attr-defined]
    assert set(native["histogram"]) <= {"0", "3"}
    normalized = client.jobs.get_normalized_job_result(job.id)  # type: ignore[attr-defined]
    counts = normalized.pubs[0].counts
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 100
    memory = client.jobs.get_normalized_job_memory(job.id)  # type: ignore[attr-defined]
    assert memory is not None
    assert len(memory.memory) == 100
    streamed = b"".join(client.jobs.get_job_result_stream(job.id))  # type: ignore[attr-defined]
    assert b"histogram" in streamed
    assert client.jobs.get_job_input(job.id)["qubits"] == 2  # type: ignore[attr-defined]
    assert client.jobs.get_normalized_job_input(job.id).format == "openqasm.v3"  # type: ignore[attr-defined]
    assert client.jobs.get_job_calibration(job.id) is None  # type: ignore[attr-defined]
    got = client.jobs.get_job(job.id)  # type: ignore[attr-defined]
    assert got.status == "COMPLETED"
    assert got.tags == ["t1"]


def test_bare_qasm_string_and_cancel(client: object) -> None:
    job = client.jobs.create_job(backend_id="aws.sim.sv1", shots=10, input=BELL3)  # type: ignore[attr-defined]
    assert wait(client, job.id) == "COMPLETED"
    client.jobs.cancel_job(job.id)  # type: ignore[attr-defined]
    assert client.jobs.get_job_status(job.id).status == "COMPLETED"  # type: ignore[attr-defined]


def test_sessions_search_workloads_minutes(client: object) -> None:
    session = client.sessions.create_session(backend_id="ibm.qpu.fez", mode="batch", provider="IBM")  # type: ignore[attr-defined]
    assert session.status == "OPEN"
    job = client.jobs.create_job(  # type: ignore[attr-defined]
        backend_id="ibm.qpu.fez",
        shots=20,
        input={"pubs": [[BELL3]], "version": 2},
        session_id=session.id,
    )
    assert wait(client, job.id) == "COMPLETED"
    assert client.sessions.get_session(session.id).id == session.id  # type: ignore[attr-defined]
    assert client.sessions.get_session_status(session.id).status == "INACTIVE"  # type: ignore[attr-defined]
    client.sessions.get_session_jobs(session.id)  # type: ignore[attr-defined]  # an object: parses
    drained = client.sessions.update_session_state(session.id, accept_jobs=False)  # type: ignore[attr-defined]
    assert drained.status == "DRAINING"
    client.sessions.close_session(session.id)  # type: ignore[attr-defined]
    assert client.sessions.get_session(session.id).status == "CLOSED"  # type: ignore[attr-defined]
    page = client.jobs.search_jobs(page=0, size=2, sort=["created_at,desc"])  # type: ignore[attr-defined]
    assert page.page == 0
    assert page.size == 2
    assert page.total_elements >= 1
    assert page.content[0].id == job.id
    loads = client.workloads.get_workloads(type=["SESSION"], backend_id="ibm.qpu.fez")  # type: ignore[attr-defined]
    assert [w.id for w in loads.content] == [session.id]
    minutes = client.runtime_minutes.get_runtime_minutes()  # type: ignore[attr-defined]
    assert {a.provider for a in minutes.allowances} == {"AWS", "IBM"}


def test_errors_are_the_sdk_typed_errors(client: object) -> None:
    from qhub.api.quantum.errors import NotFoundError, UnprocessableEntityError

    with pytest.raises(NotFoundError) as info:
        client.jobs.get_job("does-not-exist")  # type: ignore[attr-defined]
    assert info.value.body["detail"] == "Job does-not-exist not found"
    with pytest.raises(UnprocessableEntityError):
        client.sessions.create_session(backend_id="aws.sim.sv1", mode="batch", provider="AWS")  # type: ignore[attr-defined]


async def async_wait(hub: object, job_id: str) -> str:
    """The caller's polling loop with the async client."""
    for _ in range(200):
        status = (await hub.jobs.get_job_status(job_id)).status  # type: ignore[attr-defined]
        if status in FINAL:
            return str(status)
        await asyncio.sleep(0.01)
    raise AssertionError("job did not finish")


def test_async_client_and_organization(emulator: Emulator) -> None:
    async def main() -> None:
        hub = AsyncHubQuantumClient(
            api_key=TOKEN, base_url=emulator.base_url, organization_id="org-1", max_retries=0
        )
        backends = await hub.backends.get_backends(provider="IBM")
        assert {b.id for b in backends} >= {"ibm.qpu.fez"}
        assert (await hub.backends.get_backend("ibm.qpu.fez")).provider == "IBM"
        assert (await hub.backends.get_backend_status("ibm.qpu.fez")).status is not None
        least = await hub.backends.get_least_busy_backend(provider="IBM")
        assert least.id.startswith("ibm.")

        job = await hub.jobs.create_job(backend_id="kipu.sim.qsim", shots=10, input={"qasm": BELL3})
        assert await async_wait(hub, job.id) == "COMPLETED"
        normalized = await hub.jobs.get_normalized_job_result(job.id)
        assert sum(normalized.pubs[0].counts.values()) == 10
        assert (await hub.jobs.get_job(job.id)).status == "COMPLETED"

        session = await hub.sessions.create_session(
            backend_id="ibm.qpu.fez", mode="batch", provider="IBM"
        )
        assert session.status == "OPEN"
        in_session = await hub.jobs.create_job(
            backend_id="ibm.qpu.fez",
            shots=20,
            input={"pubs": [[BELL3]], "version": 2},
            session_id=session.id,
        )
        assert await async_wait(hub, in_session.id) == "COMPLETED"
        assert (await hub.sessions.get_session_status(session.id)).status == "INACTIVE"
        await hub.sessions.get_session_jobs(session.id)  # an object: parses
        drained = await hub.sessions.update_session_state(session.id, accept_jobs=False)
        assert drained.status == "DRAINING"
        await hub.sessions.close_session(session.id)
        assert (await hub.sessions.get_session(session.id)).status == "CLOSED"

        page = await hub.jobs.search_jobs(page=0, size=1, sort=["created_at,asc"])
        assert page.total_elements == 2  # only the organization's jobs
        assert page.total_pages == 2
        assert [j.id for j in page.content] == [job.id]
        last = await hub.jobs.search_jobs(page=1, size=1, sort=["created_at,asc"])
        assert [j.id for j in last.content] == [in_session.id]

        loads = await hub.workloads.get_workloads(type=["SESSION"])
        assert [w.id for w in loads.content] == [session.id]
        jobs = await hub.workloads.get_workloads(type=["JOB"], backend_id="kipu.sim.qsim")
        assert [w.id for w in jobs.content] == [job.id]

    asyncio.run(main())
