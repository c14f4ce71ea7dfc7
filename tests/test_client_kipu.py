"""KipuClient against the real Kipu Quantum Hub emulator over loopback: every namespace method."""

from __future__ import annotations

import io
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs import Circuit, Instruction, JobStatus
from qjobs.emulators import Clock, Server
from qjobs.providers.kipu import KipuClient
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio

BELL_QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""


def bell() -> Circuit:
    return Circuit.from_qasm(BELL_QASM, name="bell")


def g(name: str, *qubits: int, params: tuple[float, ...] = ()) -> Instruction:
    return Instruction(name, tuple(qubits), params)


def m(q: int, c: int) -> Instruction:
    return Instruction("measure", (q,), (), (c,))


@asynccontextmanager
async def hub(
    *, client_options: dict[str, Any] | None = None, **serve_options: Any
) -> AsyncIterator[tuple[Server, KipuClient]]:
    async with qjobs.emulators.serve("kipu", **serve_options) as server:
        options: dict[str, Any] = {"rate_limit": RateLimit(requests_per_second=None)}
        options.update(client_options or {})
        options.setdefault("token", "t")
        client = qjobs.connect("kipu", base_url=server.base_url, **options)
        assert isinstance(client, KipuClient)
        async with client:
            yield server, client


# ---------------------------------------------------------------------------------- backends
async def test_backends_namespace() -> None:
    async with hub() as (_server, client):
        every = await client.backends()
        names = {b.name for b in every}
        assert {"azure.ionq.simulator", "aws.sim.sv1", "kipu.sim.qsim", "ibm.qpu.fez"} <= names
        aws = await client.backends.list(provider="AWS")
        assert aws
        assert {b.details["provider"] for b in aws} == {"AWS"}
        sv1 = await client.backends.get("aws.sim.sv1")
        assert sv1.simulator
        assert sv1.qubits == 34
        assert sv1.max_shots == 100_000
        state = await client.backends.status("ibm.qpu.fez")
        assert state.status == "ONLINE"
        assert state.queue_size == 0
        cfg = await client.backends.config("kipu.sim.qsim")
        assert cfg["supported_input_formats"] == ["OPEN_QASM_V2", "OPEN_QASM_V3"]
        busy = await client.backends.least_busy("IBM", min_qubits=100)
        assert busy.name.startswith("ibm.qpu.")
        with pytest.raises(qjobs.ValidationError) as bad:
            await client.backends.least_busy("AWS")
        assert bad.value.status == 400
        assert "IBM only" in bad.value.message
        with pytest.raises(qjobs.NotFoundError):
            await client.backends.least_busy("IBM", min_qubits=1000)
        with pytest.raises(qjobs.NotFoundError) as missing:
            await client.backends.get("nope.nope")
        assert missing.value.message == "Backend nope.nope not found"
        assert client.transport.stats.requests["GET /backends/{id}"] == 2


async def test_calibration_at_a_time_and_history_to_the_last_page() -> None:
    async with hub() as (_server, client):
        now = await client.backends.calibration("ibm.qpu.fez")
        assert now is not None
        assert now.type == "gate_based"
        assert now.backend_id == "ibm.qpu.fez"
        assert now.calibrated_at is not None
        assert now.qubits[0]["qubit"] == 0
        earlier = await client.backends.calibration(
            "ibm.qpu.fez", effective_at=now.calibrated_at - timedelta(hours=1)
        )
        assert earlier is not None
        assert earlier.calibrated_at == now.calibrated_at - timedelta(days=1)
        too_early = datetime(2000, 1, 1, tzinfo=UTC)
        assert await client.backends.calibration("ibm.qpu.fez", effective_at=too_early) is None
        assert await client.backends.calibration("aws.sim.sv1") is None  # 204
        aquila = await client.backends.calibration("aws.quera.aquila")
        assert aquila is not None
        assert aquila.type == "quera_aquila"
        client.transport.stats.reset()
        start = now.calibrated_at - timedelta(days=30)
        end = now.calibrated_at + timedelta(days=1)
        history = [
            c
            async for c in client.backends.calibration_history(
                "ibm.qpu.fez", start=start, end=end, size=3
            )
        ]
        assert len(history) == 7
        times = [c.calibrated_at for c in history if c.calibrated_at is not None]
        assert times == sorted(times, reverse=True)  # newest first
        assert client.transport.stats.requests["GET /backends/{id}/calibration-history"] == 3
        sims = [
            c
            async for c in client.backends.calibration_history("aws.sim.sv1", start=start, end=end)
        ]
        assert sims == []


# -------------------------------------------------------------------------------------- jobs
@pytest.mark.parametrize(
    ("backend", "fmt"),
    [
        ("azure.ionq.simulator", "IONQ_CIRCUIT_V1"),
        ("aws.sim.sv1", "BRAKET_OPEN_QASM_V3"),
        ("kipu.sim.qsim", "OPEN_QASM_V2"),
        ("qudora.sim.xg1", "OPEN_QASM_V2"),
        ("ibm.qpu.fez", None),
    ],
)
async def test_circuits_encoded_per_backend_give_the_simulator_distribution(
    backend: str, fmt: str | None
) -> None:
    # Permuted, partial measurement: clbit 0 <- qubit 2, clbit 1 <- qubit 0; qubit 1 unmeasured.
    circuit = Circuit(3, 2, (g("x", 2), g("h", 0), g("cx", 0, 1), m(2, 0), m(0, 1)), name="perm")
    async with hub(seed=5) as (_server, client):
        job = await client.jobs.create(backend, shots=400, input=circuit, name="perm")
        assert job.backend == backend
        assert job.provider_status == "COMPLETED"
        assert job.details.get("input_format") == fmt
        res = await client.result(await client.wait(job))
        assert set(res.counts) == {"01", "11"}  # clbit 0 is always 1
        assert sum(res.counts.values()) == 400
        assert res.num_clbits == 2
        assert res.probabilities[0b01] + res.probabilities[0b11] == pytest.approx(1.0)


async def test_raw_provider_dicts_and_bare_qasm_strings() -> None:
    async with hub() as (_server, client):
        raw = {
            "gateset": "qis",
            "qubits": 2,
            "circuit": [
                {"type": "h", "targets": [0]},
                {"type": "cnot", "controls": [0], "targets": [1]},
            ],
        }
        job = await client.jobs.create(
            "azure.ionq.simulator", shots=50, input=raw, input_format="IONQ_CIRCUIT_V1", tags=["t1"]
        )
        assert job.tags == {"t1": ""}
        assert (await client.jobs.input(job)) == raw
        native = await client.jobs.result(await client.wait(job))
        assert set(native["histogram"]) <= {"0", "3"}  # IonQ: decimal keys over qubits
        qasm3 = bell().to_qasm3()
        bare = await client.wait(await client.jobs.create("aws.sim.sv1", shots=10, input=qasm3))
        assert (await client.jobs.input(bare)) == {"qasm": qasm3}
        assert (await client.result(bare)).shots == 10
        program_set = await client.jobs.create("aws.sim.sv1", shots=20, input=[bell(), bell()])
        results = await client.results(await client.wait(program_set))
        assert [r.index for r in results] == [0, 1]
        ibm = await client.jobs.create(
            "ibm.qpu.fez", shots=30, input={"pubs": [["<qpy>"]]}, qasm=[bell()]
        )
        assert (await client.result(await client.wait(ibm))).shots == 30
        photonic = await client.wait(
            await client.jobs.create("quandela.sim.belenos", shots=5, input={"value": {}})
        )
        assert photonic.status is JobStatus.FAILED
        assert photonic.failure is not None
        assert "cannot execute" in photonic.failure.message
        assert await client.jobs.normalized_result(photonic) is None  # 204
        with pytest.raises(qjobs.ValidationError) as info:
            await client.jobs.normalized_input(photonic)
        assert info.value.status == 422


async def test_get_status_results_memory_input_and_calibration() -> None:
    async with hub(seed=3) as (_server, client):
        job = await client.jobs.create("ibm.qpu.fez", shots=64, input=bell(), name="bell")
        state = await client.jobs.status(job)
        assert state.provider_status in ("PENDING", "RUNNING", "COMPLETED")
        done = await client.wait(job)
        assert (await client.jobs.status(job)).is_final
        got = await client.jobs.get(job.id)
        assert got.backend == "ibm.qpu.fez"
        assert got.shots == 64
        assert got.name == "bell"
        assert got.created_at is not None
        assert got.completed_at is not None
        normalized = await client.jobs.normalized_result(done)
        assert normalized is not None
        (pub,) = normalized.pubs
        assert pub.type == "counts"
        assert pub.qubits == 2
        assert set(pub.counts or {}) <= {"00", "11"}
        memory = await client.jobs.normalized_memory(done)
        assert memory is not None
        assert memory.shots == 64
        assert len(memory.memory) == 64
        res = await client.results(done, memory=True)
        assert res[0].memory is not None
        counted = np.bincount(res[0].memory, minlength=4)
        assert {format(k, "02b"): int(n) for k, n in enumerate(counted) if n} == res[0].counts
        native = await client.jobs.result(done)
        assert len(native["results"][0]["data"]["c"]["samples"]) == 64
        norm_in = await client.jobs.normalized_input(done)
        assert norm_in.format == "openqasm.v3"
        assert "cx q[0], q[1];" in norm_in.programs[0]
        cal = await client.jobs.calibration(done)
        assert cal is not None
        assert cal.backend_id == "ibm.qpu.fez"
        sim = await client.wait(await client.submit(bell(), shots=5))
        assert await client.jobs.calibration(sim) is None


async def test_exact_probabilities_from_qsim_statevector_mode() -> None:
    circuit = Circuit(1, 0, (g("ry", 0, params=(0.7,)),))
    async with hub() as (_server, client):
        job = await client.submit(circuit, shots=1000, input_params={"mode": "statevector"})
        res = await client.result(await client.wait(job))
        np.testing.assert_allclose(res.probabilities, qjobs.sim.probabilities(circuit), atol=1e-12)
        assert sum(res.counts.values()) == 1000
        assert await client.jobs.normalized_memory(job) is None  # no per-shot data: 204


async def test_results_before_completion_are_404_and_jobs_wait() -> None:
    async with hub(clock=Clock(lambda: 0.0), queue_time=10.0, exec_time=10.0) as (server, client):
        job = await client.submit(bell(), shots=10)
        with pytest.raises(qjobs.NotFoundError):
            await client.jobs.result(job)
        with pytest.raises(qjobs.JobError):
            await client.results(job)
        seen = [(await client.jobs.status(job)).provider_status]
        for _ in range(2):
            server.advance(10.0)
            seen.append((await client.jobs.status(job)).provider_status)
        assert seen == ["PENDING", "RUNNING", "COMPLETED"]


async def test_stream_result_larger_than_the_read_chunk(tmp_path: Path) -> None:
    async with hub() as (_server, client):
        job = await client.wait(await client.jobs.create("ibm.qpu.fez", shots=5000, input=bell()))
        expected = json.dumps(await client.jobs.result(job), separators=(",", ":")).encode()
        assert len(expected) > 20_000
        target = tmp_path / "result.json"
        written = await client.jobs.stream_result(job, target, chunk_size=4096)
        assert written == len(expected) == target.stat().st_size
        assert json.loads(target.read_bytes()) == json.loads(expected)

        class Sink(io.RawIOBase):
            def __init__(self) -> None:
                self.sizes: list[int] = []

            def write(self, b: Any) -> int:
                self.sizes.append(len(b))
                return len(b)

        sink = Sink()
        assert await client.jobs.stream_result(job, sink, chunk_size=4096) == len(expected)  # type: ignore[arg-type]
        assert len(sink.sizes) >= len(expected) // 4096
        assert max(sink.sizes) <= 4096
        with pytest.raises(qjobs.NotFoundError):
            await client.jobs.stream_result("00000000-0000-4000-8000-000000000000", tmp_path / "x")
        assert not (tmp_path / "x").exists()
        # A failed download keeps a file already at the path and leaves no partial file.
        with pytest.raises(qjobs.NotFoundError):
            await client.jobs.stream_result("00000000-0000-4000-8000-000000000000", target)
        assert json.loads(target.read_bytes()) == json.loads(expected)
        assert sorted(os.listdir(tmp_path)) == ["result.json"]
        target.write_bytes(b"old contents, longer than nothing")
        assert await client.jobs.stream_result(job, target, chunk_size=4096) == len(expected)
        assert target.read_bytes() == expected  # replaced whole
        assert sorted(os.listdir(tmp_path)) == ["result.json"]


async def test_search_follows_every_page() -> None:
    async with hub() as (_server, client):
        made = [await client.submit(bell(), shots=1, name=f"j{i:02d}") for i in range(23)]
        client.transport.stats.reset()
        found = [j async for j in client.jobs.search(size=5)]
        assert [j.id for j in found] == [j.id for j in reversed(made)]  # newest first
        assert client.transport.stats.requests["GET /jobs"] == 5
        by_name = [j.name async for j in client.jobs.search(sort="name,asc", size=10, page=1)]
        assert by_name == [f"j{i:02d}" for i in range(10, 23)]
        first = [j async for j in client.iter_jobs(size=4, max_pages=2)]
        assert len(first) == 8


async def test_cancel_passes_through_cancelling() -> None:
    async with hub(clock=Clock(lambda: 0.0), queue_time=5.0, exec_time=10.0) as (server, client):
        queued = await client.submit(bell(), shots=1)
        await client.cancel(queued)
        assert (await client.jobs.status(queued)).provider_status == "CANCELLED"
        running = await client.submit(bell(), shots=1)
        server.advance(6.0)
        await client.jobs.cancel(running)
        state = await client.get_job(running.id)
        assert state.provider_status == "CANCELLING"
        assert state.status is JobStatus.CANCELLING
        server.advance(10.0)
        final = await client.get_job(running.id)
        assert final.status is JobStatus.CANCELLED
        with pytest.raises(qjobs.JobCancelledError):
            client.raise_for_job(final)
        await client.cancel(final)  # cancelling a final job is not an error
        await client.cancel_many([queued, running.id])


@pytest.mark.parametrize(
    ("tag", "raw"),
    [("qjobs:fail", "FAILED"), ("qjobs:abort", "ABORTED"), ("qjobs:detach", "DETACHED")],
)
async def test_failed_aborted_and_detached_jobs_are_final(tag: str, raw: str) -> None:
    async with hub() as (_server, client):
        job = await client.submit(bell(), shots=5, tags=[tag])
        done = await client.wait(job, timeout=5)
        assert done.provider_status == raw
        assert done.status is JobStatus.FAILED
        assert done.is_final
        with pytest.raises(qjobs.JobFailedError) as info:
            await client.results(done)
        if raw == "FAILED":
            assert info.value.code == "QJOBS_REQUESTED"
            assert "asked to fail" in info.value.message
            assert (await client.jobs.result(done))["error"]["code"] == "QJOBS_REQUESTED"
        else:
            with pytest.raises(qjobs.NotFoundError):
                await client.jobs.result(done)


# ----------------------------------------------------------------------- flat interface
async def test_run_get_jobs_by_pages_and_find_by_key() -> None:
    async with hub() as (server, client):
        res = await client.run(bell(), shots=200, backend="aws.sim.sv1")
        assert set(res.counts) <= {"00", "11"}
        assert res.shots == 200
        jobs = [await client.submit(bell(), shots=1, key=f"k{i}") for i in range(12)]
        client.transport.stats.reset()
        states = await client.get_jobs([j.id for j in reversed(jobs)])
        assert [s.id for s in states] == [j.id for j in reversed(jobs)]
        assert client.transport.stats.requests == {"GET /jobs": 1}
        found = await client.find_by_key("k7")
        assert found is not None
        assert found.id == jobs[7].id
        assert found.tags["qjobs_key"] == "k7"
        assert await client.find_by_key("nope") is None
        with pytest.raises(qjobs.NotFoundError):
            await client.get_jobs([jobs[0].id, "00000000-0000-4000-8000-00000000dead"])
        assert server.stats.requests["POST /jobs"] == 13


# ------------------------------------------------------------------------------- sessions
async def test_session_lifecycle_and_refusals() -> None:
    async with hub(clock=Clock(lambda: 0.0), queue_time=1.0, exec_time=1.0) as (server, client):
        s = await client.sessions.create(
            "ibm.qpu.fez", mode="dedicated", ttl=600, metadata={"a": 1}
        )
        assert s.status == "OPEN"
        assert s.mode == "dedicated"
        assert s.provider == "IBM"
        assert s.accepts_jobs
        assert not s.is_final
        assert s.expires_at is not None
        job = await client.submit(
            bell(), shots=5, backend="ibm.qpu.fez", session_id=s.id, tags=["x"]
        )
        assert job.session_id == s.id
        assert await client.sessions.status(s) == "ACTIVE"
        server.advance(5.0)
        assert await client.sessions.status(s.id) == "INACTIVE"
        assert [j.id for j in await client.sessions.jobs(s)] == [job.id]
        drained = await client.sessions.stop_accepting(s)
        assert drained.status == "DRAINING"
        assert not drained.accepts_jobs
        with pytest.raises(qjobs.ValidationError, match="DRAINING"):
            await client.submit(bell(), shots=5, backend="ibm.qpu.fez", session_id=s.id)
        again = await client.sessions.accept_jobs(s)
        assert again.status == "INACTIVE"
        assert again.tags == ("x",)
        await client.sessions.close(s)
        await client.sessions.close(s)  # idempotent
        closed = await client.sessions.get(s)
        assert closed.status == "CLOSED"
        assert closed.is_final
        assert closed.closed_at is not None
        with pytest.raises(qjobs.ValidationError, match="CLOSED"):
            await client.submit(bell(), shots=5, backend="ibm.qpu.fez", session_id=s.id)
        with pytest.raises(qjobs.ValidationError) as no_sessions:
            await client.sessions.create("aws.sim.sv1")
        assert no_sessions.value.status == 422
        server.advance(1000.0)
        expired = await client.sessions.create("ibm.qpu.fez", ttl=10)
        server.advance(11.0)
        assert await client.sessions.status(expired) == "CLOSED"
        aborted = await client.sessions.create("ibm.qpu.fez", metadata={"qjobs_end": "ABORTED"})
        assert aborted.status == "ABORTED"
        assert aborted.is_final
        detached = await client.sessions.create("ibm.qpu.fez", metadata={"qjobs_end": "DETACHED"})
        assert (await client.sessions.get(detached)).status == "DETACHED"
        assert detached.is_final
        with pytest.raises(qjobs.ValidationError, match="DETACHED"):
            await client.submit(bell(), shots=5, backend="ibm.qpu.fez", session_id=detached.id)


async def test_session_context_manager_closes_even_on_error() -> None:
    async with hub() as (_server, client):
        async with client.sessions.open("ibm.qpu.marrakesh") as s:
            await client.run(bell(), shots=5, backend="ibm.qpu.marrakesh", session_id=s.id)
        assert (await client.sessions.get(s)).status == "CLOSED"
        kept: list[str] = []

        async def failing_block() -> None:
            async with client.sessions.open("ibm.qpu.marrakesh") as bad:
                kept.append(bad.id)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await failing_block()
        assert await client.sessions.status(kept[0]) == "CLOSED"


# ------------------------------------------------------------------ workloads and minutes
async def test_workloads_with_every_filter() -> None:
    async with hub() as (_server, client):
        sv1 = await client.submit(bell(), shots=1, backend="aws.sim.sv1", tags=["red"])
        await client.submit(bell(), shots=1, backend="kipu.sim.qsim", tags=["blue"])
        failed = await client.submit(bell(), shots=1, backend="aws.sim.sv1", tags=["qjobs:fail"])
        session = await client.sessions.create("ibm.qpu.fez", mode="batch")
        await client.wait(failed)

        async def ids(**filters: Any) -> set[str]:
            return {w.id async for w in client.workloads.search(**filters)}

        assert await ids(type="SESSION") == {session.id}
        assert len(await ids(type=["JOB", "SESSION"])) == 4
        assert await ids(backend_id="aws.sim.sv1") == {sv1.id, failed.id}
        assert await ids(tag=["red", "qjobs:fail"]) == {sv1.id, failed.id}
        assert await ids(status="FAILED") == {failed.id}
        assert await ids(provider="KIPU", type="JOB") != set()
        assert await ids(provider="IBM") == {session.id}
        assert len(await ids(origin="STANDALONE")) == 4
        assert await ids(origin="SERVICE_EXECUTION") == set()
        assert await ids(service_execution_id="se-1") == set()
        rows = [
            w async for w in client.workloads.search(sort=["type,asc", "created_at,desc"], size=1)
        ]
        assert [w.type for w in rows] == ["JOB", "JOB", "JOB", "SESSION"]
        assert rows[-1].mode == "batch"
        assert rows[-1].job_count == 0


async def test_runtime_minutes_count_qpu_usage() -> None:
    async with hub(exec_time=0.0) as (_server, client):
        before = {a.provider: a for a in await client.runtime_minutes.get()}
        assert before["IBM"].consumed_seconds == 0
        assert not before["IBM"].limit_reached
        assert "ibm.qpu.fez" in before["IBM"].backend_ids
        await client.run(bell(), shots=5, backend="ibm.qpu.fez")
        after = {a.provider: a for a in await client.runtime_minutes.get()}
        assert after["IBM"].remaining_seconds == after["IBM"].allocated_seconds


# ------------------------------------------------------- organizations, service executions
async def test_organization_scoping_per_client() -> None:
    async with qjobs.emulators.serve("kipu") as server:
        opts: dict[str, Any] = {"token": "t", "base_url": server.base_url}
        async with (
            KipuClient(**opts, organization_id="org-a") as a,
            KipuClient(**opts) as me,
        ):
            assert a.organization_id == "org-a"
            assert "org-a" in repr(a)
            job = await a.submit(bell(), shots=1)
            assert [j.id async for j in a.jobs.search()] == [job.id]
            assert [j.id async for j in me.jobs.search()] == []
            with pytest.raises(qjobs.ForbiddenError) as info:
                await me.get_job(job.id)
            assert info.value.status == 403


async def test_service_execution_twins() -> None:
    async with (
        qjobs.emulators.serve("kipu", exec_time=0.0) as server,
        KipuClient(token="se.se-7.secret", base_url=server.base_url) as client,
    ):
        se = client.service_execution("se-7")
        assert repr(se) == "<ServiceExecution se-7>"
        job = await client.wait(await client.submit(bell(), shots=20, backend="ibm.qpu.fez"))
        session = await client.sessions.create("ibm.qpu.fez")
        assert (await se.jobs.get(job.id)).id == job.id
        assert (await se.jobs.status(job)).provider_status == "COMPLETED"
        normalized = await se.jobs.normalized_result(job)
        assert normalized is not None
        assert normalized.pubs[0].shots == 20
        assert (await se.jobs.input(job))["pubs"]
        assert (await se.jobs.normalized_input(job)).format == "openqasm.v3"
        assert await se.jobs.calibration(job) is not None
        sink = io.BytesIO()
        assert await se.jobs.stream_result(job, sink) == len(sink.getvalue()) > 0
        await se.jobs.cancel(job)
        assert (await se.sessions.get(session)).id == session.id
        assert await se.sessions.status(session) == "OPEN"
        assert await se.sessions.jobs(session) == []
        assert (await se.sessions.stop_accepting(session)).status == "DRAINING"
        assert (await se.sessions.accept_jobs(session)).status == "OPEN"
        await se.sessions.close(session)
        rows = {w.id async for w in se.workloads.search(sort="created_at,desc")}
        assert rows == {job.id, session.id}
        other = {
            w.id
            async for w in client.workloads.search(
                origin="SERVICE_EXECUTION", service_execution_id="se-7"
            )
        }
        assert other == rows
        mine = [j.id async for j in client.jobs.search(service_execution_id="se-7")]
        assert mine == [job.id]
        assert [j.id async for j in client.jobs.search(service_execution_id="se-8")] == []
        with pytest.raises(qjobs.NotFoundError):
            await client.service_execution("se-8").jobs.get(job.id)
        assert client.transport.stats.requests["GET /service-executions/{se}/jobs/{id}"] == 2
