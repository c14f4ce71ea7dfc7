"""QbraidClient's account, catalogue, estimate and group endpoints against the emulator.

One test (at least) per endpoint: user context, access-token refresh, credit balance,
providers, calibrations, status options, cost estimates, compiled programs and every
``/jobs/group`` route; bad input is rejected before any request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

import qjobs
from qjobs import Circuit, Instruction, JobStatus
from qjobs.emulators import Clock, Server
from qjobs.providers.qbraid import GroupJob, QbraidClient
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio

SIM = "qbraid:qbraid:sim:qasm-sim"
QPU = "ionq:ionq:qpu:aria-1"
X0 = Circuit(
    2,
    2,
    (
        Instruction("x", (0,)),
        Instruction("measure", (0,), (), (0,)),
        Instruction("measure", (1,), (), (1,)),
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


# ------------------------------------------------------------------------------- account
async def test_user_context() -> None:
    async with qbraid() as (server, client):
        ctx = await client.user_context()
        user = await client.verify_user()
        assert ctx.is_admin is False
        assert ctx.user_id == user.user_id
        assert ctx.organization_id == user.organization_id
        assert ctx.user["organizationUserId"] == user.organization_user_id
        assert server.stats.requests["GET /users/context"] == 1


async def test_refresh_access_token_extends_it_by_a_day() -> None:
    clock = Clock(lambda: 0.0)
    async with qbraid(clock=clock, client_options={"token": None, "access_token": "tok-123"}) as (
        server,
        client,
    ):
        first = await client.refresh_access_token()
        server.advance(60.0)
        second = await client.refresh_access_token()
        assert first.profile_slug == "qjobs-emulator"
        assert first.expires_at is not None
        assert second.expires_at is not None
        assert second.expires_at - first.expires_at == timedelta(seconds=60)
        assert server.stats.requests["POST /access-tokens/refresh"] == 2
    async with qbraid() as (server, client):  # an API key has no token to refresh
        with pytest.raises(qjobs.InputError) as exc:
            await client.refresh_access_token()
        assert exc.value.field == "access_token"
        assert server.stats.total_requests == 0
        # The emulator refuses it too: only X-Access-Token requests carry a token.
        with pytest.raises(qjobs.ValidationError) as refused:
            await client.transport.request("POST", "access-tokens/refresh")
        assert refused.value.code == "ACCESS_TOKEN_REQUIRED"


async def test_credits_fall_as_jobs_cost_and_gate_submission() -> None:
    async with qbraid() as (server, client):
        before = await client.credits()
        assert before.qbraid_credits == 10_000.0
        assert before.auto_recharge is False
        assert before.organization_id == (await client.verify_user()).organization_id
        job = await client.wait(await client.submit(X0, shots=10, backend=QPU), timeout=10)
        assert job.details["cost"] == 60.0
        after = await client.credits()
        assert after.qbraid_credits == 10_000.0 - 60.0
        # The organization id is learnt once: two balance reads, one verify of its own.
        assert server.stats.requests["GET /users/verify"] == 2
        assert server.stats.requests["GET /billing/credits/balance"] == 2
        with pytest.raises(qjobs.ForbiddenError) as other:
            await client.credits("someone-elses-org")
        assert other.value.code == "FORBIDDEN"
        with pytest.raises(qjobs.InputError) as bad:
            await client.credits("")
        assert bad.value.field == "organization_id"
        # 3290 shots cost 30 + 3 * 3290 = 9900 of the 9940 credits left, leaving 40.
        await client.submit(X0, shots=3290, backend=QPU)
        assert (await client.credits()).qbraid_credits == 40.0
        with pytest.raises(qjobs.ForbiddenError) as broke:
            await client.submit(X0, shots=100, backend=QPU)  # 330 > 40 left
        assert broke.value.code == "INSUFFICIENT_CREDITS"


async def test_providers_list_the_catalogue() -> None:
    async with qbraid() as (_server, client):
        providers = await client.providers()
        names = {p.name for p in providers}
        assert names == {d.provider for d in await client.devices(include_retired=True)}
        aws = next(p for p in providers if p.name == "aws")
        assert aws.vendor == "aws"
        assert "aws:aws:sim:sv1" in aws.details["deviceQrns"]


# ------------------------------------------------------------------------------ devices
async def test_calibration_of_a_qpu_and_none_for_a_simulator() -> None:
    async with qbraid() as (server, client):
        calib = await client.calibration(QPU)
        assert calib is not None
        assert calib.device_qrns == (QPU,)
        assert calib.provider == "ionq"
        assert calib.last_calibrated is not None
        assert len(calib.qubits) == 25
        assert calib.edges["0-1"]["fidelity2q"] > 0.9
        assert await client.calibration(SIM) is None
        with pytest.raises(qjobs.NotFoundError) as missing:
            await client.calibration("no:such:qpu:device")
        assert missing.value.code == "DEVICE_NOT_FOUND"
        with pytest.raises(qjobs.InputError):
            await client.calibration("a/b")
        assert server.stats.requests["GET /devices/{qrn}/calibrations"] == 3


# --------------------------------------------------------------------------------- jobs
async def test_job_statuses() -> None:
    async with qbraid() as (_server, client):
        options = await client.job_statuses()
        assert "HOLD" in options.statuses
        assert "COMPLETED" in options.groups["returned"]
        assert "QUEUED" in options.groups["pending"]


async def test_estimate_cost() -> None:
    async with qbraid() as (server, client):
        est = await client.estimate_cost(QPU, shots=100)
        assert est.pricing_available is True
        assert est.estimated_cost == 30 + 3 * 100
        assert (est.device_qrn, est.shots, est.pricing_model) == (QPU, 100, "fixed")
        default = await client.estimate_cost(QPU)  # the server assumes 1000 shots
        assert default.shots == 1000
        assert default.estimated_cost == 3030
        per_minute = await client.estimate_cost("aws:aws:sim:sv1", shots=10)
        assert per_minute.pricing_available is False
        assert per_minute.estimated_cost is None
        assert per_minute.reason
        assert (await client.estimate_cost()).device_qrn == SIM
        requests = server.stats.total_requests
        cases: list[tuple[dict[str, Any], str]] = [
            ({"backend": "a b"}, "backend"),
            ({"shots": 0}, "shots"),
            ({"shots": True}, "shots"),
        ]
        for kwargs, field in cases:
            with pytest.raises(qjobs.InputError) as exc:
                await client.estimate_cost(**kwargs)
            assert exc.value.field == field
        assert server.stats.total_requests == requests


async def test_compiled_program_of_a_qpu_job_and_none_for_a_simulator() -> None:
    clock = Clock(lambda: 0.0)
    async with qbraid(clock=clock, queue_time=2.0, exec_time=2.0) as (server, client):
        qpu_job = await client.submit(X0, shots=5, backend=QPU)
        assert await client.compiled_program(qpu_job) is None  # not compiled while queued
        server.advance(3.0)  # running
        compiled = await client.compiled_program(qpu_job.id)
        assert compiled is not None
        assert len(compiled) == 1
        assert compiled[0].format == "qasm3"
        assert Circuit.from_qasm(compiled[0].data).num_qubits == 2
        sim_job = await client.submit(X0, shots=5)
        server.advance(5.0)
        assert await client.compiled_program(sim_job) is None
        with pytest.raises(qjobs.NotFoundError):
            await client.compiled_program(qpu_job.id + "0")
        assert server.stats.requests["GET /jobs/{qrn}/compiled-program"] == 4


# ------------------------------------------------------------------------------- groups
async def test_group_lifecycle_counts_and_costs() -> None:
    clock = Clock(lambda: 0.0)
    async with qbraid(clock=clock, queue_time=1.0, exec_time=1.0) as (server, client):
        group = await client.create_group(
            name="scan", tags={"exp": "g"}, metadata={"owner": "qjobs"}, max_ttl=600
        )
        assert group.is_open
        assert group.status == "OPEN"
        assert (group.name, group.max_ttl, group.job_count) == ("scan", 600, 0)
        assert group.tags == {"exp": "g"}
        assert group.metadata == {"owner": "qjobs"}
        jobs = [
            await client.submit(X0, shots=5, backend=QPU, group=group),
            await client.submit(X0, shots=5, group=group.qrn),
        ]
        assert all(j.session_id == group.qrn for j in jobs)
        members = await client.group_jobs(group)
        assert [j.id for j in members] == [j.id for j in jobs]
        closed = await client.close_group(group)
        assert closed.status == "CLOSED"
        assert closed.total_estimated_cost == 45.0
        with pytest.raises(qjobs.ValidationError) as shut:
            await client.submit(X0, shots=5, group=group)
        assert shut.value.code == "GROUP_NOT_OPEN"
        server.advance(5.0)
        done = await client.get_group(group.qrn)
        assert done.status == "COMPLETED"
        assert done.is_final
        assert (done.job_count, done.completed_count, done.failed_count) == (2, 2, 0)
        assert done.total_cost == 45.0
        assert done.ended_at is not None
        assert done.created_at is not None
        assert server.stats.requests["POST /jobs/group"] == 1
        assert server.stats.requests["POST /jobs/group/{qrn}/close"] == 1


async def test_group_expires_after_max_ttl_and_failed_job_fails_it() -> None:
    clock = Clock(lambda: 0.0)
    async with qbraid(clock=clock) as (server, client):
        group = await client.create_group(max_ttl=10)
        await client.submit(X0, shots=5, group=group, name="qjobs_fail")
        server.advance(11.0)
        expired = await client.get_group(group)
        assert expired.status == "FAILED"
        assert expired.failed_count == 1


async def test_list_and_iter_groups() -> None:
    async with qbraid() as (server, client):
        made = [await client.create_group(name=f"g{i}") for i in range(5)]
        await client.close_group(made[0])
        page, info = await client.list_groups(page=2, limit=2)
        assert [g.name for g in page] == ["g2", "g1"]
        assert (info.total, info.total_pages, info.has_next, info.has_prev) == (5, 3, True, True)
        every = [g.qrn async for g in client.iter_groups(limit=2)]
        assert every == [g.qrn for g in reversed(made)]
        assert server.stats.requests["GET /jobs/group"] == 4
        completed = [g.name async for g in client.iter_groups(status="completed")]
        assert completed == ["g0"]  # closed with no jobs left to run
        assert [g.name async for g in client.iter_groups(limit=1, max_pages=2)] == ["g4", "g3"]


async def test_cancel_group_cancels_its_unfinished_jobs() -> None:
    clock = Clock(lambda: 0.0)
    async with qbraid(clock=clock, queue_time=5.0, exec_time=5.0) as (server, client):
        group = await client.create_group(name="c")
        jobs = [await client.submit(X0, shots=5, group=group) for _ in range(2)]
        cancelled = await client.cancel_group(group)
        assert cancelled.status == "CANCELLED"
        server.advance(1.0)
        states = [await client.get_job(j.id) for j in jobs]
        assert [j.status for j in states] == [JobStatus.CANCELLED] * 2
        again = await client.cancel_group(group)  # already final: returned as it is
        assert again.status == "CANCELLED"
        assert again.cancelled_count == 2
        assert server.stats.requests["POST /jobs/group/{qrn}/cancel"] == 2


async def test_delete_group_ignores_a_missing_one() -> None:
    async with qbraid() as (server, client):
        group = await client.create_group()
        job = await client.submit(X0, shots=5, group=group)
        await client.delete_group(group)
        await client.delete_group(group.qrn)  # 404: already gone, ignored as the SDK does
        assert server.stats.requests["DELETE /jobs/group/{qrn}"] == 2
        with pytest.raises(qjobs.NotFoundError) as missing:
            await client.get_group(group)
        assert missing.value.code == "GROUP_NOT_FOUND"
        assert (await client.get_job(job.id)).session_id == group.qrn  # jobs stay


async def test_group_context_closes_or_cancels() -> None:
    clock = Clock(lambda: 0.0)
    async with qbraid(clock=clock, queue_time=5.0) as (server, client):
        async with client.group(name="ok") as g:
            assert isinstance(g, GroupJob)
            await client.submit(X0, shots=5, group=g)
        assert (await client.get_group(g)).status == "CLOSED"
        opened: list[tuple[GroupJob, qjobs.Job]] = []

        async def fail_inside() -> None:
            async with client.group(name="boom") as bad:
                opened.append((bad, await client.submit(X0, shots=5, group=bad)))
                raise RuntimeError("stop")

        with pytest.raises(RuntimeError):
            await fail_inside()
        bad, job = opened[0]
        assert (await client.get_group(bad)).status == "CANCELLED"
        server.advance(1.0)
        assert (await client.get_job(job.id)).status is JobStatus.CANCELLED


async def test_group_input_is_checked_before_any_request() -> None:
    async with qbraid() as (server, client):
        calls: list[tuple[Any, str]] = [
            (client.create_group(max_ttl=0), "max_ttl"),
            (client.create_group(max_ttl=86_401), "max_ttl"),
            (client.create_group(max_ttl=True), "max_ttl"),
            (client.create_group(name=3), "name"),  # type: ignore[arg-type]
            (client.create_group(tags={"qjobs_x": 1}), "tags['qjobs_x']"),
            (client.create_group(metadata=[1]), "metadata"),  # type: ignore[arg-type]
            (client.create_group(metadata={"x": object()}), "metadata"),
            (client.get_group("a/b"), "group"),
            (client.group_jobs(""), "group"),
            (client.close_group("a b"), "group"),
            (client.cancel_group("a?b"), "group"),
            (client.delete_group("a#b"), "group"),
            (client.list_groups(status="DONE"), "status"),
            (client.list_groups(limit=101), "limit"),
            (client.list_groups(page=0), "page"),
        ]
        for call, field in calls:
            with pytest.raises(qjobs.InputError) as exc:
                await call
            assert exc.value.field == field
        with pytest.raises(qjobs.InputError) as sub:
            await client.submit(X0, shots=5, group="a/b")
        assert sub.value.field == "group"
        assert server.stats.total_requests == 0
        with pytest.raises(qjobs.NotFoundError) as unknown:  # the server checks the group exists
            await client.submit(X0, shots=5, group="qbraid-37f5-qgroup-0")
        assert unknown.value.code == "GROUP_NOT_FOUND"
        assert server.stats.jobs_created == 0
