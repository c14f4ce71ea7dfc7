"""QiboClient against the real Qibo emulator over loopback: every method, lifecycle, results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs import Circuit, Expr, InputError, Instruction, JobStatus
from qjobs.emulators import Clock, Server
from qjobs.emulators.qibo import EMULATOR_KEY
from qjobs.providers.qibo import QiboClient, QiboVersionError
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio


def g(name: str, *qubits: int, params: tuple[Any, ...] = ()) -> Instruction:
    return Instruction(name, tuple(qubits), tuple(params))


def m(q: int, c: int) -> Instruction:
    return Instruction("measure", (q,), (), (c,))


BELL = Circuit(2, 2, (g("h", 0), g("cx", 0, 1), m(0, 0), m(1, 1)), name="bell")
# X on qubit 2 of 3, measured into clbit 0 only: outcome "001" under qjobs' order.
X2_TO_C0 = Circuit(3, 3, (g("x", 2), m(2, 0)))


@asynccontextmanager
async def qibo(
    *, client_options: dict[str, Any] | None = None, **serve_options: Any
) -> AsyncIterator[tuple[Server, QiboClient]]:
    async with qjobs.emulators.serve("qibo", **serve_options) as server:
        options: dict[str, Any] = {"rate_limit": RateLimit(requests_per_second=None)}
        options.update(client_options or {})
        client = qjobs.connect("qibo", token="t", base_url=server.base_url, **options)
        assert isinstance(client, QiboClient)
        async with client:
            yield server, client


# ------------------------------------------------------------------------------- lifecycle
async def test_lifecycle_statuses_queue_position_and_estimated_start() -> None:
    clock = Clock(lambda: 0.0)
    async with qibo(clock=clock, queue_time=10.0, exec_time=4.0) as (server, client):
        first = await client.submit(BELL, shots=100)
        second = await client.submit(BELL, shots=100)
        assert first.status is JobStatus.QUEUED
        assert first.backend == "sim"
        assert first.shots == 100
        seen = [(await client.get_job(second.id)).provider_status]
        server.advance(6.0)
        pending = await client.get_job(second.id)
        seen.append(pending.provider_status)
        assert pending.status is JobStatus.QUEUED
        assert pending.details["queue_position"] == 2
        assert pending.details["etd_seconds"] == 4
        assert pending.details["estimated_start"] is not None
        for step in (4.0, 1.0, 2.0, 1.0):
            server.advance(step)
            seen.append((await client.get_job(second.id)).provider_status)
        assert seen == ["queueing", "pending", "running", "running", "postprocessing", "success"]
        done = await client.get_job(second.id)
        assert done.status is JobStatus.COMPLETED
        assert done.completed_at is not None
        assert done.details["estimated_start"] is None
        res = await client.result(done)
        assert set(res.counts) == {"00", "11"}
        assert sum(res.counts.values()) == 100
        assert res.shots == 100
        assert res.job_id == second.id


async def test_wait_reports_every_polled_state() -> None:
    async with qibo(queue_time=0.05, exec_time=0.05) as (_server, client):
        job = await client.submit(BELL, shots=10)
        states: list[str] = []
        done = await client.wait(
            job,
            timeout=10,
            poll_initial=0.01,
            poll_max=0.02,
            on_update=lambda j: states.append(j.provider_status),
        )
        assert done.status is JobStatus.COMPLETED
        assert states[-1] == "success"
        assert len(states) >= 2
        # Outside wait(), get_job calls no callback.
        await client.get_job(job.id)
        assert states[-1] == "success"


async def test_run_exact_bit_order_and_clbit_mapping() -> None:
    async with qibo() as (server, client):
        res = await client.run(X2_TO_C0, shots=50)
        assert res.counts == {"001": 50}
        np.testing.assert_allclose(res.probabilities, np.eye(8)[1])
        assert server.stats.jobs_created == 1
        # Qibo's own view: one measured qubit, "1" (qubit 0 leftmost).
        job = (await client.list_jobs())[0]
        assert job.details["frequencies"] == {"1": 50}


@pytest.mark.parametrize("source", ["auto", "frequencies", "archive"])
async def test_results_from_each_source_agree(source: str) -> None:
    circuit = Circuit(3, 2, (g("x", 0), g("h", 1), m(0, 1), m(1, 0)))
    async with qibo(seed=5) as (server, client):
        job = await client.wait(await client.submit(circuit, shots=400), timeout=5)
        server.stats.reset()
        [res] = await client.results(job, source=source)  # type: ignore[arg-type]
        assert sum(res.counts.values()) == 400
        assert set(res.counts) == {"10", "11"}  # clbit 1 <- qubit 0 = 1 always
        downloads = server.stats.requests["GET /api/jobs/{pid}/download/"]
        assert downloads == (1 if source == "archive" else 0)
        [again] = await client.results(job, source=source)  # type: ignore[arg-type]
        assert again.counts == res.counts  # cached: no new request
        assert server.stats.requests["GET /api/jobs/{pid}/download/"] == downloads


async def test_memory_from_archive_samples() -> None:
    async with qibo(seed=2) as (_server, client):
        job = await client.wait(await client.submit(BELL, shots=64), timeout=5)
        [res] = await client.results(job, memory=True)
        assert res.memory is not None
        assert res.memory.shape == (64,)
        assert set(res.memory.tolist()) <= {0, 3}
        assert res.counts == {
            format(k, "02b"): int(n)
            for k, n in enumerate(np.bincount(res.memory, minlength=4))
            if n
        }
        [freq] = await client.results(job, source="frequencies")
        assert freq.counts == res.counts  # the server's frequencies are its samples


async def test_failed_job_raises_with_the_servers_message_and_logs() -> None:
    async with qibo() as (_server, client):
        job = await client.submit(BELL, shots=10, backend="qjobs_fail")
        done = await client.wait(job, timeout=5)
        assert done.status is JobStatus.FAILED
        assert done.provider_status == "error"
        assert done.failure is not None
        assert "asked to fail" in done.failure.message
        with pytest.raises(qjobs.JobFailedError, match="asked to fail"):
            await client.results(done)
        with pytest.raises(qjobs.JobFailedError):
            await client.run(BELL, shots=10, backend="qjobs_fail")
        logs = await client.logs(done)
        assert "asked to fail" in logs["stderr.txt"]
        assert set(logs) == {"stdout.txt", "stderr.txt"}


async def test_results_of_an_unfinished_job() -> None:
    async with qibo(queue_time=60.0) as (_server, client):
        job = await client.submit(BELL, shots=10)
        with pytest.raises(qjobs.JobError, match="queueing, not completed"):
            await client.results(job)


# --------------------------------------------------------------------------- other routes
async def test_list_get_jobs_delete_and_bulk_delete() -> None:
    async with qibo() as (server, client):
        jobs = [await client.submit(BELL, shots=5) for _ in range(3)]
        listed = await client.list_jobs()
        assert [j.id for j in listed] == [j.id for j in reversed(jobs)]
        server.stats.reset()
        got = await client.get_jobs([jobs[2].id, jobs[0].id, jobs[2].id])
        assert [j.id for j in got] == [jobs[2].id, jobs[0].id, jobs[2].id]
        assert server.stats.requests == {"GET /api/jobs/": 1}
        assert [j.id async for j in client.iter_jobs(status="completed", backend="sim")] == [
            j.id for j in reversed(jobs)
        ]
        assert [j async for j in client.iter_jobs(status=["error"])] == []
        await client.delete(jobs[0])
        with pytest.raises(qjobs.NotFoundError, match="No Job matches"):
            await client.get_job(jobs[0].id)
        with pytest.raises(qjobs.NotFoundError):
            await client.get_jobs([jobs[1].id, jobs[0].id])
        assert sorted(await client.delete_all()) == sorted(j.id for j in jobs[1:])
        assert await client.list_jobs() == []


async def test_quotas_and_backends(tmp_path: Path) -> None:
    async with qibo() as (_server, client):
        disk = await client.disk_quota()
        assert disk.kbs_max == 1_000_000
        assert disk.email is not None
        assert disk.email.endswith("@qibo.emulator")
        quotas = await client.project_quotas()
        assert {(q.project, q.partition.name) for q in quotas} >= {
            ("personal", "sim"),
            ("team", "sim"),
        }
        before = next(q for q in quotas if q.project == "team")
        await client.run(BELL, shots=30, project="team")
        after = next(q for q in await client.project_quotas() if q.project == "team")
        assert after.shots_left == (before.shots_left or 0) - 30
        assert after.jobs_left == (before.jobs_left or 0) - 1
        backends = {b.name: b for b in await client.backends()}
        assert set(backends) == {"sim", "qw5q", "qjobs_fail"}
        assert backends["sim"].simulator
        assert backends["sim"].qubits == 30
        assert not backends["qw5q"].simulator
        assert [b.name for b in await client.backends("team")] == ["sim"]
        extracted = await client.extract_archive((await client.list_jobs())[0], tmp_path / "r")
        assert sorted(p.name for p in extracted) == ["results.npy", "stderr.txt", "stdout.txt"]
        assert (await client.disk_quota()).kbs_left < 1_000_000  # type: ignore[operator]


async def test_version_check_once_and_newer_format_refused() -> None:
    async with qibo() as (server, client):
        version = await client.server_version()
        assert version.server_qibo_version == "0.3.2"
        await client.submit(BELL, shots=5)
        await client.submit(BELL, shots=5)
        assert server.stats.requests["GET /api/qibo_version/"] == 2  # explicit + once per client
        emulator = server.app[EMULATOR_KEY]
        emulator.minimum_client_version = "0.4.0"
        fresh = QiboClient(token="t", base_url=server.base_url)
        async with fresh:
            with pytest.raises(QiboVersionError, match=r"qibo>=0\.4\.0") as info:
                await fresh.submit(BELL, shots=5)
            assert info.value.supported == "0.3.2"
        assert server.stats.requests["POST /api/jobs/"] == 2
        emulator.minimum_client_version = "0.3.2"
        emulator.server_version = "0.3.9"
        async with QiboClient(token="t", base_url=server.base_url) as newer:
            await newer.submit(BELL, shots=5)  # a newer server only logs


async def test_cancel_deletes_only_when_allowed() -> None:
    async with qibo(queue_time=60.0, client_options={"cancel_deletes": True}) as (_s, client):
        job = await client.submit(BELL, shots=5)
        await client.cancel(job)
        with pytest.raises(qjobs.NotFoundError):
            await client.get_job(job.id)
        await client.cancel(job)  # already gone: not an error
    async with qibo() as (server, client):
        job = await client.submit(BELL, shots=5)
        with pytest.raises(InputError, match="cancel_deletes"):
            await client.cancel(job)
        await client.get_job(job.id)
        assert server.stats.requests.get("DELETE /api/jobs/{pid}/", 0) == 0


# ------------------------------------------------------------------------- input errors
BAD_SUBMITS: list[tuple[dict[str, Any], str]] = [
    ({"shots": 0}, "shots"),
    ({"shots": True}, "shots"),
    ({"backend": ""}, "backend"),
    ({"project": 3}, "project"),
    ({"verbatim": "yes"}, "verbatim"),
    ({"circuits": [BELL, BELL]}, "circuits"),
    ({"circuits": "OPENQASM 2.0;"}, "circuits"),
    (
        {"circuits": Circuit(1, 1, (g("rx", 0, params=(Expr.sym("t"),)), m(0, 0)))},
        "instructions[0].params[0]",
    ),
    ({"circuits": Circuit(1, 1, (m(0, 0), g("x", 0)))}, "instructions[1]"),
    ({"circuits": Circuit(1, 0, (Instruction("reset", (0,)),))}, "instructions[0]"),
    (
        {"circuits": Circuit(2, 0, (g("ms", 0, 1, params=(0, 0, 0.3)),))},
        "instructions[0].params[2]",
    ),
    ({"noise": "x"}, "noise"),
]


@pytest.mark.parametrize(("change", "field"), BAD_SUBMITS)
async def test_bad_input_is_rejected_before_any_request(change: dict[str, Any], field: str) -> None:
    async with qibo() as (server, client):
        args: dict[str, Any] = {"circuits": BELL, "shots": 10, **change}
        with pytest.raises(InputError) as info:
            await client.submit(**args)
        assert info.value.field == field
        assert server.stats.total_requests == 0
        assert client.transport.stats.total == 0


async def test_device_width_and_project_checked_against_quotas() -> None:
    wide = Circuit(6, 0, tuple(g("h", q) for q in range(6)))
    async with qibo() as (server, client):
        with pytest.raises(InputError, match="has 5 qubits"):
            await client.submit(wide, shots=10, backend="qw5q")
        with pytest.raises(InputError, match="devices"):
            await client.submit(BELL, shots=10, backend="nope")
        with pytest.raises(InputError, match="unknown project"):
            await client.submit(BELL, shots=10, project="elsewhere")
        assert server.stats.requests.get("POST /api/jobs/", 0) == 0
        assert server.stats.requests["GET /api/projectquotas/"] == 1  # fetched once
    async with qibo(client_options={"validate": False}) as (_server, client):
        with pytest.raises(qjobs.ValidationError, match="Device 'nope' does not exist"):
            await client.submit(BELL, shots=10, backend="nope")
        with pytest.raises(qjobs.NotFoundError, match="Project 'elsewhere'"):
            await client.submit(BELL, shots=10, project="elsewhere")
        with pytest.raises(qjobs.ValidationError, match="has 6 qubits"):
            await client.submit(wide, shots=10, backend="qw5q")


@pytest.mark.parametrize("bad", ["", "a/b", "x?y", "..", 3])
async def test_bad_job_ids_rejected_before_any_request(bad: Any) -> None:
    async with qibo() as (server, client):
        for call in (client.get_job, client.delete, client.results, client.download_archive):
            with pytest.raises(InputError):
                await call(bad)
        assert server.stats.total_requests == 0


# ----------------------------------------------------------------- scheduler and sweep
async def test_scheduler_runs_many_circuits_one_job_each() -> None:
    circuits = [Circuit(2, 2, (g("x", i % 2), m(0, 0), m(1, 1))) for i in range(12)]
    async with qibo(queue_time=0.02, exec_time=0.02) as (server, client):
        async with qjobs.Scheduler(
            client, backend="sim", shots=20, poll_initial=0.01, poll_max=0.05
        ) as sched:
            futs = [sched.submit(c) for c in circuits]
            results = await sched.gather()
        assert [r.counts for r in results] == [
            {"01": 20} if i % 2 == 0 else {"10": 20} for i in range(12)
        ]
        assert all(f.done() for f in futs)
        assert server.stats.jobs_created == 12
        # Status polls go through the list endpoint, not one GET per job.
        assert server.stats.requests["GET /api/jobs/"] >= 1


async def test_sweep_on_qibo_matches_exact_probabilities() -> None:
    theta = Expr.sym("theta")
    template = Circuit(1, 1, (g("ry", 0, params=(theta,)), m(0, 0)))
    from qjobs.sweep import Sweep

    sweep = Sweep(template, {"theta": np.array([0.0, np.pi / 2, np.pi])})
    async with qibo(seed=1) as (server, client):
        out = await sweep.run(client, backend="sim", shots=2000)
    probs = out.probabilities
    assert probs.shape == (3, 2)
    np.testing.assert_allclose(probs[:, 1], [0.0, 0.5, 1.0], atol=0.05)
    assert server.stats.jobs_created == 3
