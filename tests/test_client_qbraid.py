"""QbraidClient against the real qBraid emulator over loopback: every method, lifecycle, errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs import Circuit, Instruction, JobStatus
from qjobs.emulators import Clock, Server
from qjobs.providers.qbraid import QbraidClient
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio

SIM = "qbraid:qbraid:sim:qasm-sim"
BELL = Circuit.from_qasm(
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\n'
    "measure q -> c;\n",
    name="bell",
)
# x on qubit 0 only, 3 classical bits: outcome 1 -> "001" (bit 0 rightmost).
X0 = Circuit(
    3,
    3,
    (
        Instruction("x", (0,)),
        *(Instruction("measure", (q,), (), (q,)) for q in range(3)),
    ),
    name="x0",
)
SECRET = "qb-secret-token-1234567890"


@asynccontextmanager
async def qbraid(
    *, client_options: dict[str, Any] | None = None, **serve_options: Any
) -> AsyncIterator[tuple[Server, QbraidClient]]:
    async with qjobs.emulators.serve("qbraid", **serve_options) as server:
        options: dict[str, Any] = {
            "rate_limit": RateLimit(requests_per_second=None),
            "config_file": "/nonexistent/qbraidrc",
            "token": SECRET,
        }
        options.update(client_options or {})
        client = qjobs.connect("qbraid", base_url=server.base_url, **options)
        assert isinstance(client, QbraidClient)
        async with client:
            yield server, client


# ------------------------------------------------------------------------------- lifecycle
async def test_lifecycle_statuses_costs_and_timestamps() -> None:
    clock = Clock(lambda: 0.0)
    async with qbraid(clock=clock, queue_time=9.0, exec_time=3.0) as (server, client):
        job = await client.submit(X0, shots=10, backend="ionq:ionq:qpu:aria-1", tags={"a": 1})
        assert job.provider_status == "INITIALIZING"
        assert job.status is JobStatus.QUEUED
        assert job.details["cost"] is None
        assert job.details["timeStamps"] is None
        assert job.details["estimatedCost"] == 30 + 3 * 10
        assert job.tags == {"a": "1"}
        seen = []
        for step in (0.0, 3.0, 3.0, 3.0, 3.0):
            server.advance(step)
            current = await client.get_job(job.id)
            seen.append(current.provider_status)
            if current.provider_status == "QUEUED":
                assert current.details["queuePosition"] == 0
        assert seen == ["INITIALIZING", "VALIDATING", "QUEUED", "RUNNING", "COMPLETED"]
        assert current.status is JobStatus.COMPLETED
        assert current.details["cost"] == 60.0
        assert current.details["timeStamps"]["executionDuration"] == 3000
        assert current.created_at is not None
        assert current.completed_at is not None
        assert (current.completed_at - current.created_at).total_seconds() == pytest.approx(12.0)
        res = await client.result(current)
        assert res.counts == {"001": 10}
        assert res.num_clbits == 3


async def test_run_counts_bit_order_and_probabilities() -> None:
    async with qbraid(seed=3) as (server, client):
        res = await client.run(X0, shots=50)
        assert res.counts == {"001": 50}
        np.testing.assert_allclose(res.probabilities, np.eye(8)[1])
        bell = await client.run(BELL, shots=400)
        assert set(bell.counts) == {"00", "11"}
        assert sum(bell.counts.values()) == 400
        assert bell.probabilities[0] == pytest.approx(bell.counts["00"] / 400)
        assert server.stats.jobs_created == 2


async def test_batch_job_results_in_order_and_programs() -> None:
    async with qbraid() as (server, client):
        job = await client.submit([X0, BELL, X0], shots=20, name="batch")
        assert job.circuit_count == 3
        assert server.stats.requests["POST /jobs"] == 1
        done = await client.wait(job, timeout=10, poll_initial=0.01)
        results = await client.results(done)
        assert [r.index for r in results] == [0, 1, 2]
        assert results[0].counts == results[2].counts == {"001": 20}
        assert set(results[1].counts) <= {"00", "11"}
        programs = await client.program(job)
        assert [p.format for p in programs] == ["qasm3"] * 3
        assert Circuit.from_qasm(programs[0].data).num_qubits == 3


async def test_qasm2_and_memory() -> None:
    async with qbraid() as (_server, client):
        job = await client.submit(X0, shots=7, qasm=2)
        (program,) = await client.program(job)
        assert program.format == "qasm2"
        assert program.data.startswith("OPENQASM 2.0;")
        res = (await client.results(job, memory=True))[0]
        assert res.memory is not None
        assert res.memory.tolist() == [1] * 7


async def test_results_wait_out_409_not_ready() -> None:
    async with qbraid() as (server, client):
        job = await client.submit(X0, shots=5, name="lagging qjobs_result_lag=2")
        done = await client.wait(job, timeout=5, poll_initial=0.01)
        res = await client.result(done)
        assert res.counts == {"001": 5}
        assert server.stats.requests["GET /jobs/{qrn}/result"] == 3
        assert client.transport.stats.statuses[409] == 2
        again = await client.result(done)  # cached
        assert again.counts == res.counts
        assert server.stats.requests["GET /jobs/{qrn}/result"] == 3


async def test_failed_and_hold_jobs_are_final_without_results() -> None:
    async with qbraid() as (_server, client):
        with pytest.raises(qjobs.JobFailedError) as failed:
            await client.run(X0, shots=5, name="qjobs_fail")
        assert failed.value.code == "QJOBS_FAIL"
        held = await client.wait(await client.submit(X0, shots=5, name="qjobs_hold"))
        assert held.provider_status == "HOLD"
        assert held.is_final
        assert held.status is JobStatus.FAILED
        assert held.details["cost"] is not None
        with pytest.raises(qjobs.JobFailedError) as hold:
            await client.results(held)
        assert hold.value.code == "HOLD"


async def test_unfinished_job_has_no_results() -> None:
    async with qbraid(queue_time=600.0) as (_server, client):
        job = await client.submit(X0, shots=5)
        with pytest.raises(qjobs.JobError, match="not completed"):
            await client.results(job)


# ------------------------------------------------------------------------ user and devices
async def test_verify_user_devices_status_and_backends() -> None:
    async with qbraid() as (server, client):
        user = await client.verify_user()
        assert user.valid
        assert user.organization_user_id == "665f1e2d9c4b7a0012ab37f5"
        devices = await client.devices()
        qrns = [d.qrn for d in devices]
        assert SIM in qrns
        assert "aws:rigetti:qpu:aspen-m-3" not in qrns
        every = await client.devices(include_retired=True)
        assert "aws:rigetti:qpu:aspen-m-3" in [d.qrn for d in every]
        qpus = await client.devices(device_type="qpu", run_input_type="qasm3")
        assert [d.qrn for d in qpus] == ["ionq:ionq:qpu:aria-1"]
        assert [d.qrn for d in await client.devices(vendor="aws", paradigm="analog")] == [
            "aws:quera:qpu:aquila"
        ]
        sim = await client.device(SIM)
        assert sim.batch_job_support
        assert sim.number_qubits == 20
        assert sim.online
        assert sim.run_input_types == ("qasm2", "qasm3")
        status = await client.device_status("ionq:ionq:qpu:aria-1")
        assert status.online
        assert status.status == "ONLINE"
        assert status.queue_depth == 0
        backends = await client.backends()
        aria = next(b for b in backends if b.name == "ionq:ionq:qpu:aria-1")
        assert aria.qubits == 25
        assert not aria.simulator
        assert aria.max_shots == 10_000
        assert server.stats.requests["GET /devices"] == 5
        with pytest.raises(qjobs.NotFoundError):
            await client.device("nope:nope:sim:none")


async def test_queue_depth_counts_waiting_jobs() -> None:
    async with qbraid(queue_time=600.0) as (_server, client):
        for _ in range(3):
            await client.submit(X0, shots=5, backend="ionq:ionq:qpu:aria-1")
        status = await client.device_status("ionq:ionq:qpu:aria-1")
        assert status.queue_depth == 3


# ---------------------------------------------------------------------- listing and keys
async def test_iter_jobs_follows_every_page() -> None:
    async with qbraid() as (_server, client):
        ids = [(await client.submit(X0, shots=1, name=f"j{i}")).id for i in range(7)]
        client.transport.stats.reset()
        listed = [job.id async for job in client.iter_jobs(limit=3)]
        assert listed == ids[::-1]
        assert client.transport.stats.requests["GET /jobs"] == 3
        page, info = await client.list_jobs(page=3, limit=3)
        assert len(page) == 1
        assert info.total == 7
        assert info.total_pages == 3
        assert not info.has_next
        assert info.has_prev
        first = [job.id async for job in client.iter_jobs(limit=3, max_pages=1)]
        assert len(first) == 3


async def test_list_filters() -> None:
    clock = Clock(lambda: 0.0)
    async with qbraid(clock=clock, queue_time=600.0) as (server, client):
        a = await client.submit(X0, shots=1, name="alpha", tags={"exp": "x", "n": 2})
        await client.submit(X0, shots=1, name="beta", tags={"exp": "y"})
        c = await client.submit(X0, shots=1, name="gamma", backend="ionq:ionq:qpu:aria-1")
        await client.cancel(c)
        by_tag = [j.id async for j in client.iter_jobs(tags={"exp": "x", "n": 2})]
        assert by_tag == [a.id]
        assert [j.name async for j in client.iter_jobs(search="BET")] == ["beta"]
        assert [j.id async for j in client.iter_jobs(vendor="ionq")] == [c.id]
        pending = [j.name async for j in client.iter_jobs(status_group="pending")]
        assert sorted(str(n) for n in pending) == ["alpha", "beta", "gamma"]  # gamma CANCELLING
        assert [j.id async for j in client.iter_jobs(status="cancelling")] == [c.id]
        assert [j.id async for j in client.iter_jobs(status_group="returned")] == []
        server.advance(1.0)  # the cancel takes effect
        assert [j.id async for j in client.iter_jobs(status="cancelling")] == []
        assert [j.id async for j in client.iter_jobs(status="CANCELLED")] == [c.id]
        assert [j.id async for j in client.iter_jobs(status_group="returned")] == [c.id]
        assert [j.id async for j in client.iter_jobs(provider="qbraid", search="alpha")] == [a.id]


async def test_find_by_key() -> None:
    async with qbraid() as (_server, client):
        job = await client.submit(X0, shots=2, key="k-1")
        await client.submit(X0, shots=2, key="k-2")
        found = await client.find_by_key("k-1")
        assert found is not None
        assert found.id == job.id
        assert found.tags["qjobs_key"] == "k-1"
        assert await client.find_by_key("missing") is None
        assert client.capabilities.submit_key


# ------------------------------------------------------------------------ cancel, delete
async def test_cancel_goes_cancelling_then_cancelled() -> None:
    clock = Clock(lambda: 0.0)
    async with qbraid(clock=clock, queue_time=60.0) as (server, client):
        job = await client.submit(X0, shots=5)
        await client.cancel(job)
        current = await client.get_job(job.id)
        assert current.provider_status == "CANCELLING"
        assert current.status is JobStatus.CANCELLING
        server.advance(1.0)
        current = await client.get_job(job.id)
        assert current.status is JobStatus.CANCELLED
        assert current.is_final
        assert current.details["cost"] == 0.0
        assert current.details["timeStamps"]["endedAt"]
        await client.cancel(job)  # a final job: the 400 is absorbed
        assert server.stats.statuses[400] == 1
        with pytest.raises(qjobs.JobCancelledError):
            await client.results(current)


async def test_cancel_many_and_cancel_completed_job() -> None:
    async with qbraid() as (server, client):
        done = await client.wait(await client.submit(X0, shots=1))
        await client.cancel(done)
        assert server.stats.requests["POST /jobs/{qrn}/cancel"] == 1
    async with qbraid(queue_time=600.0) as (server, client):
        jobs = [await client.submit(X0, shots=1) for _ in range(3)]
        await client.cancel_many(jobs)
        assert server.stats.requests["POST /jobs/{qrn}/cancel"] == 3


async def test_delete_and_delete_many() -> None:
    async with qbraid() as (server, client):
        jobs = [await client.submit(X0, shots=1) for _ in range(3)]
        await client.delete(jobs[0])
        with pytest.raises(qjobs.NotFoundError) as missing:
            await client.get_job(jobs[0].id)
        assert missing.value.code == "JOB_NOT_FOUND"
        await client.delete_many([jobs[1], jobs[2].id])
        assert server.stats.requests["DELETE /jobs"] == 1
        assert [j async for j in client.iter_jobs()] == []


# --------------------------------------------------------------------------------- errors
async def test_error_statuses_map_onto_the_tree() -> None:
    async with qbraid(tokens={"good"}) as (_server, client):
        with pytest.raises(qjobs.AuthenticationError) as auth:
            await client.verify_user()
        assert auth.value.status == 401
        assert auth.value.code == "UNAUTHORIZED"
        assert SECRET not in str(auth.value)
    async with qbraid() as (_server, client):
        t = client.transport
        with pytest.raises(qjobs.ValidationError) as unprocessable:
            await t.request("POST", "jobs", json={"shots": 0})
        assert unprocessable.value.status == 422
        assert unprocessable.value.message == "deviceQrn: field required"
        body = {
            "deviceQrn": "qbraid:qbraid:sim:qir-sv",
            "program": [{"format": "qasm3", "data": "x"}],
        }
        with pytest.raises(qjobs.ValidationError) as bad:
            await t.request("POST", "jobs", json=body)
        assert bad.value.status == 400
        assert bad.value.code == "BATCH_NOT_SUPPORTED"
        with pytest.raises(qjobs.ForbiddenError) as credits:
            await client.submit(X0, shots=10_000, backend="ionq:ionq:qpu:aria-1")
        assert credits.value.code == "INSUFFICIENT_CREDITS"
        running = await client.submit(X0, shots=1)
        with pytest.raises(qjobs.NotFoundError):
            await client.get_job(running.id + "0")
        with pytest.raises(qjobs.NotFoundError):
            await t.request("GET", f"jobs/{running.id}/compiled-program")


async def test_bad_input_is_rejected_before_any_request() -> None:
    unbound = Circuit.from_qasm(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float t;\nqubit[1] q;\nrx(t) q[0];\n'
    )
    async with qbraid() as (server, client):
        simple: list[tuple[dict[str, Any], str]] = [
            ({"shots": 0}, "shots"),
            ({"shots": True}, "shots"),
            ({"shots": 5, "backend": "a/b"}, "backend"),
            ({"shots": 5, "tags": {"x": 1.5}}, "tags['x']"),
            ({"shots": 5, "tags": {"qjobs_key": "k"}}, "tags['qjobs_key']"),
            ({"shots": 5, "key": ""}, "key"),
            ({"shots": 5, "name": 3}, "name"),
            ({"shots": 5, "runtime_options": [1]}, "runtime_options"),
            ({"shots": 5, "colour": "red"}, "colour"),
        ]
        for kwargs, field in simple:
            with pytest.raises(qjobs.InputError) as exc:
                await client.submit(X0, **kwargs)
            assert exc.value.field == field
        for call, field in [
            (client.get_job("a/b"), "job_id"),
            (client.list_jobs(limit=101), "limit"),
            (client.list_jobs(status="DONE"), "status"),
            (client.list_jobs(tags={"a": [1]}), "tags"),
            (client.list_jobs(colour="red"), "colour"),
            (client.devices(include_retired="yes"), "include_retired"),  # type: ignore[arg-type]
        ]:
            with pytest.raises(qjobs.InputError) as exc:
                await call
            assert exc.value.field == field
        assert server.stats.total_requests == 0
        # Checks that need the device's metadata: one device GET, no job request.
        wide = Circuit(21, 0, (Instruction("h", (20,)),))
        needs_device: list[tuple[Any, dict[str, Any], str]] = [
            (wide, {}, "circuits[0]"),
            (unbound, {}, "circuits[0]"),
            ([X0, X0], {"backend": "qbraid:qbraid:sim:qir-sv"}, "circuits"),
            (X0, {"backend": "ionq:ionq:qpu:aria-1", "shots": 10_001}, "shots"),
            (X0, {"backend": "aws:quera:qpu:aquila"}, "backend"),
            (X0, {"backend": "no:such:sim:device"}, "backend"),
            (X0, {"qasm": 4}, "qasm"),
            (
                X0,
                {"backend": "qbraid:qbraid:sim:qir-sv", "runtime_options": {"noiseModel": "x"}},
                "runtime_options['noiseModel']",
            ),
        ]
        for circuits, kwargs, field in needs_device:
            kwargs.setdefault("shots", 5)
            with pytest.raises(qjobs.InputError) as exc:
                await client.submit(circuits, **kwargs)
            assert exc.value.field == field
        assert server.stats.requests["POST /jobs"] == 0
        assert server.stats.jobs_created == 0


async def test_secrets_stay_out_of_reprs_logs_and_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with qbraid(tokens={"other"}) as (_server, client):
        assert SECRET not in repr(client)
        assert SECRET not in repr(client.transport)
        assert SECRET not in repr(client._settings)
        with pytest.raises(qjobs.AuthenticationError) as exc:
            await client.get_job("qbraid:qbraid:sim:qasm-sim-37f5-qjob-0")
        assert SECRET not in str(exc.value)
        assert SECRET not in repr(exc.value)
    assert SECRET not in caplog.text


# ------------------------------------------------------------------------ scheduler, sweep
async def test_scheduler_batches_and_sweep_runs_on_qbraid() -> None:
    template = Circuit.from_qasm(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float theta;\nqubit[1] q;\nbit[1] c;\n'
        "rx(theta) q[0];\nc[0] = measure q[0];\n"
    )
    async with qbraid(seed=5) as (server, client):
        async with qjobs.Scheduler(
            client, shots=10, batch_size=4, poll_initial=0.01, poll_max=0.05
        ) as sched:
            futures = [sched.submit(X0) for _ in range(10)]
            results = await sched.gather()
        assert [r.counts for r in results] == [{"001": 10}] * 10
        assert len(futures) == 10
        assert server.stats.requests["POST /jobs"] == 3  # 4 + 4 + 2 circuits
        sweep = qjobs.Sweep(template, {"theta": np.array([0.0, np.pi])})
        out = await sweep.run(client, shots=50, poll_initial=0.01, poll_max=0.05)
        np.testing.assert_allclose(out.probabilities, [[1.0, 0.0], [0.0, 1.0]], atol=1e-12)
