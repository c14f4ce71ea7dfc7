"""QPIClient against the real QPI emulator over loopback: every method, lifecycle, results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs import Circuit, JobStatus
from qjobs.emulators import Clock, Server
from qjobs.emulators.qpi import STATE_KEY
from qjobs.emulators.qpi.state import (
    DEFAULT_ADMIN_EMAIL,
    DEFAULT_ADMIN_PASSWORD,
    DEFAULT_USER_EMAIL,
    DEFAULT_USER_PASSWORD,
    QPIState,
)
from qjobs.providers.qpi import QPIClient
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio

BELL = Circuit.from_qasm(
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\n'
    "measure q -> c;\n",
    name="bell",
)
ROT = Circuit.from_qasm(
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] theta;\nqubit[1] q;\nbit[1] c;\n'
    "rx(theta) q[0];\nc[0] = measure q[0];\n"
)
# Three clbits, outcome 0b001 (clbit 0 set): keeps its leading zeros.
X0 = Circuit.from_qasm(
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\nx q[0];\nc = measure q;\n'
)


def state(server: Server) -> QPIState:
    return server.app[STATE_KEY]


@asynccontextmanager
async def qpi(
    *, token: str = "t", client_options: dict[str, Any] | None = None, **serve_options: Any
) -> AsyncIterator[tuple[Server, QPIClient]]:
    async with qjobs.emulators.serve("qpi", **serve_options) as server:
        options: dict[str, Any] = {"rate_limit": RateLimit(requests_per_second=None)}
        options.update(client_options or {})
        client = qjobs.connect("qpi", token=token, base_url=server.base_url, **options)
        assert isinstance(client, QPIClient)
        async with client:
            yield server, client


# ---------------------------------------------------------------------------- jobs
async def test_lifecycle_pending_running_completed_with_frozen_clock() -> None:
    async with qpi(clock=Clock(lambda: 0.0), queue_time=2.0, exec_time=3.0) as (server, client):
        job = await client.submit(BELL, shots=400, backend="qiskit_aer")
        assert job.status is JobStatus.QUEUED
        assert job.provider_status == "pending"
        assert job.backend == "qiskit_aer"
        assert job.shots == 400
        seen = [(await client.get_job(job.id)).provider_status]
        for step in (2.0, 3.0):
            server.advance(step)
            seen.append((await client.get_job(job.id)).provider_status)
        assert seen == ["pending", "running", "completed"]
        done = await client.get_job(job.id)
        assert done.is_final
        assert done.completed_at is not None
        assert done.details["duration"] == 3.0
        res = await client.result(done)
        assert set(res.counts) <= {"00", "11"}
        assert res.shots == 400
        assert res.job_id == job.id
        # The QPU target is always sent, unlike the official client.
        assert done.details["payload"]["qpu_target"] == "qiskit_aer"


async def test_run_exact_outcomes_keep_leading_zeros() -> None:
    async with qpi() as (_server, client):
        res = await client.run(X0, shots=50, backend="qpi")
        assert res.counts == {"001": 50}
        assert res.num_clbits == 3
        np.testing.assert_array_equal(res.probabilities, np.eye(8)[1])


async def test_many_circuits_and_parameter_sets_in_one_job() -> None:
    async with qpi() as (server, client):
        job = await client.submit(
            [ROT, X0],
            shots=100,
            parameter_values=[[[0.0], {"theta": np.pi}], None],
        )
        assert job.circuit_count == 2
        assert server.stats.jobs_created == 1
        res = await client.results(await client.wait(job, poll_initial=0.01))
        assert [r.counts for r in res] == [{"0": 100}, {"1": 100}, {"001": 100}]
        assert [r.index for r in res] == [0, 1, 2]
        sent = state(server).jobs[job.id].payload["circuits"]
        assert sent[0]["parameter_values"] == [[0.0], [np.pi]]
        assert "parameter_values" not in sent[1]


async def test_default_target_is_the_first_online_qpu_and_is_sent() -> None:
    async with qpi() as (server, client):
        job = await client.submit(BELL, shots=10)
        assert state(server).jobs[job.id].payload["qpu_target"] == "qiskit_aer"


async def test_iq_memory_for_measurement_level_1() -> None:
    async with qpi() as (_server, client):
        single = await client.wait(await client.submit(X0, shots=20, meas_level=1))
        (iq,) = await client.iq_memory(single)
        assert iq.shape == (20, 3, 2)
        assert (iq[:, 0, 0] > 0).all()  # clbit 0 reads 1: I near +1
        assert (iq[:, 1, 0] < 0).all()
        with pytest.raises(qjobs.JobError, match="iq_memory"):
            await client.results(single)
        avg = await client.wait(await client.submit(X0, shots=20, meas_level=1, meas_return="avg"))
        (mean,) = await client.iq_memory(avg)
        assert mean.shape == (3, 2)


async def test_failed_job_carries_the_server_message() -> None:
    async with qpi() as (_server, client):
        wide = Circuit.from_qasm(
            'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[6] q;\nbit[6] c;\nc = measure q;\n'
        )
        # The QPU catalogue says 5 qubits: refused before any request.
        with pytest.raises(qjobs.InputError, match="5 qubits"):
            await client.submit(wide, shots=10, backend="qpi")
        async with qpi(fail_rate=1.0) as (_s2, failing):
            job = await failing.wait(await failing.submit(BELL, shots=10))
            assert job.status is JobStatus.FAILED
            assert job.failure is not None
            assert "failed on the QPU driver" in job.failure.message
            with pytest.raises(qjobs.JobFailedError, match="failed on the QPU driver"):
                await failing.results(job)


async def test_cancel_pending_and_final_jobs() -> None:
    async with qpi(queue_time=600.0) as (server, client):
        job = await client.submit(BELL, shots=10)
        await client.cancel(job)
        again = await client.get_job(job.id)
        assert again.status is JobStatus.CANCELLED
        await client.cancel(job)  # already final: not an error
        with pytest.raises(qjobs.JobCancelledError):
            await client.results(again)
        with pytest.raises(qjobs.NotFoundError):
            await client.cancel("doesnotexist123")
        assert server.stats.requests["POST /api/jobs/{id}/cancel"] == 3


async def test_iter_jobs_follows_every_page_and_get_jobs_batches() -> None:
    async with qpi(
        queue_time=600.0,
        client_options={
            "capabilities": qjobs.Capabilities(page_size=3, status_batch_size=4, submit_key=True)
        },
    ) as (server, client):
        ids = [(await client.submit(BELL, shots=10, backend="qpi")).id for _ in range(8)]
        listed = [j.id async for j in client.iter_jobs()]
        assert listed == ids[::-1]  # newest first, all 3 pages
        assert server.stats.requests["GET /api/jobs"] == 3
        assert [j.id async for j in client.iter_jobs(max_pages=1)] == ids[::-1][:3]
        assert [j.id async for j in client.iter_jobs(status="completed")] == []
        server.stats.reset()
        jobs = await client.get_jobs([ids[7], ids[6], ids[5]])
        assert [j.id for j in jobs] == [ids[7], ids[6], ids[5]]
        assert server.stats.requests["GET /api/jobs"] == 1
        assert server.stats.requests.get("GET /api/jobs/{id}", 0) == 0
        old = await client.get_jobs([ids[0]])  # beyond the pages read: fetched on its own
        assert old[0].id == ids[0]
        with pytest.raises(qjobs.InputError):
            [j async for j in client.iter_jobs(colour="red")]


async def test_find_by_key_reads_the_key_comment() -> None:
    async with qpi() as (server, client):
        job = await client.submit([BELL, X0], shots=10, key="qjabc123")
        found = await client.find_by_key("qjabc123")
        assert found is not None
        assert found.id == job.id
        assert await client.find_by_key("other") is None
        first = state(server).jobs[job.id].payload["circuits"][0]["circuit"]
        assert first.splitlines()[1] == "// qjobs-key: qjabc123"


async def test_backends_and_backend() -> None:
    async with qpi() as (_server, client):
        names = [b.name for b in await client.backends()]
        assert names == ["qiskit_aer", "qpi"]
        one = await client.backend("qpi")
        assert one.qubits == 5
        assert one.available
        with pytest.raises(qjobs.NotFoundError, match=r"QPU not found\."):
            await client.backend("nope")
        with pytest.raises(qjobs.InputError, match="not an online QPU"):
            await client.submit(BELL, shots=1, backend="nope")


async def test_payload_copy_in_results_falls_back_to_the_collection_record() -> None:
    # qpi-ui v0.1.x answers results = payload on /api/jobs*; the collection holds the real ones.
    async with qpi() as (server, client):
        state(server).payload_in_results = True
        job = await client.wait(await client.submit(X0, shots=30), poll_initial=0.01)
        assert "circuits" in job.details["results"]  # the server bug, reproduced
        with pytest.raises(qjobs.MalformedResponseError, match="login"):
            await client.results(job)
        with pytest.raises(qjobs.CredentialsError, match="login"):
            await client.job_record(job)
        await client.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        server.stats.reset()
        [res] = await client.results(job)
        assert res.counts == {"001": 30}
        assert dict(server.stats.requests) == {"GET /api/collections/{collection}/records/{id}": 1}
        record = await client.job_record(job.id)
        assert record.id == job.id
        assert record.status is JobStatus.COMPLETED
        assert record.details["results"]["circuit_results"][0]["counts"]["001"] == 30


async def test_collection_listings_follow_every_page() -> None:
    async with qpi(client_options={"capabilities": qjobs.Capabilities(page_size=2)}) as (
        server,
        client,
    ):
        for i in range(4):
            state(server).add_notification(f"n{i}", "m", target_users=[])
        await client.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        start = datetime.now(UTC) + timedelta(days=1)
        slots = [
            await client.create_time_slot(
                start + timedelta(hours=i), start + timedelta(hours=i, minutes=30)
            )
            for i in range(3)
        ]
        server.stats.reset()
        notes = await client.notifications()
        assert sorted(str(n.title) for n in notes) == ["Welcome", "n0", "n1", "n2", "n3"]
        assert server.stats.requests["GET /api/collections/{collection}/records"] == 3
        assert [s.id for s in await client.time_slots()] == [s.id for s in slots]
        assert server.stats.requests["GET /api/collections/{collection}/records"] == 5


# ------------------------------------------------------------------------- account
async def test_login_then_notifications_and_dismiss() -> None:
    async with qpi() as (_server, client):
        with pytest.raises(qjobs.CredentialsError, match="login"):
            await client.notifications()
        user = await client.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        assert user.email == DEFAULT_USER_EMAIL
        assert client.user == user
        notes = await client.notifications()
        assert [n.title for n in notes] == ["Welcome"]
        await client.dismiss_notification(notes[0])
        assert await client.notifications() == []
        with pytest.raises(qjobs.ValidationError, match=r"Failed to authenticate\."):
            await client.login(DEFAULT_USER_EMAIL, "wrong")


async def test_time_slots_create_update_delete() -> None:
    async with qpi() as (_server, client):
        await client.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        start = datetime.now(UTC) + timedelta(days=1)
        slot = await client.create_time_slot(start, start + timedelta(hours=1))
        assert client.user is not None
        assert slot.booked_by == client.user.id
        assert slot.start_time is not None
        assert abs((slot.start_time - start).total_seconds()) < 0.002
        moved = await client.update_time_slot(slot, end=start + timedelta(hours=2))
        assert moved.end_time is not None
        assert moved.end_time - start >= timedelta(hours=2) - timedelta(milliseconds=2)
        assert [s.id for s in await client.time_slots()] == [slot.id]
        with pytest.raises(qjobs.ValidationError, match="overlaps"):
            await client.create_time_slot(
                (start + timedelta(minutes=10)).isoformat(), start + timedelta(hours=3)
            )
        with pytest.raises(qjobs.ValidationError, match="in the past"):
            await client.create_time_slot("2020-01-01T00:00:00Z", "2020-01-01T01:00:00+00:00")
        await client.delete_time_slot(slot.id)
        assert await client.time_slots() == []


async def test_time_requests_approval_adds_seconds() -> None:
    async with qpi() as (server, client):
        await client.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        request = await client.request_qpu_time(120, reason="experiment")
        assert request.status == "pending"
        assert [r.id for r in await client.time_requests(status="pending")] == [request.id]
        with pytest.raises(qjobs.CredentialsError, match="superuser"):
            await client.approve_time_request(request)
        balance = state(server).default_user.qpu_seconds
        async with qjobs.connect("qpi", base_url=server.base_url) as admin:
            assert isinstance(admin, QPIClient)
            await admin.login(DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, superuser=True)
            approved = await admin.approve_time_request(request.id)
            assert approved.status == "approved"
            assert state(server).default_user.qpu_seconds == balance + 120
            other = await client.request_qpu_time(5)
            rejected = await admin.reject_time_request(other, reason="not now")
            assert rejected.rejection_reason == "not now"
            users = await admin.users()
            assert [u.email for u in users] == [DEFAULT_USER_EMAIL]
            updated = await admin.allocate_qpu_time(users[0], 42)
            assert updated.qpu_seconds == 42
            assert await admin.server_version() == "0.1.2"
        titles = [n.message for n in await client.notifications()]
        assert any("approved" in (t or "") for t in titles)
        assert [u.qpu_seconds for u in await client.users()] == [42.0]


async def test_qpu_administration_create_connect_toggle() -> None:
    async with qpi() as (_server, client):
        with pytest.raises(qjobs.CredentialsError):
            await client.create_qpu("lab")
        await client.login(DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, superuser=True)
        created = await client.create_qpu("lab", executor_type="qiskit_aer", num_qubits=3)
        assert created.access_token is not None
        assert created.access_token not in repr(created)
        assert created.status == "offline"
        assert "lab" not in [b.name for b in await client.backends()]
        with pytest.raises(qjobs.AuthenticationError, match=r"Invalid access token\."):
            await client.connect_qpu("lab", "wrong-token")
        conn = await client.connect_qpu("lab", created.access_token)
        assert conn.status == "success"
        assert conn.auth_token is not None
        assert conn.auth_token not in repr(conn)
        assert "lab" in [b.name for b in await client.backends()]
        off = await client.set_qpu_enabled("lab", False)
        assert off.details["enabled"] is False
        assert not off.available
        with pytest.raises(qjobs.NotFoundError):
            await client.set_qpu_enabled("ghost", True)


async def test_api_tokens_create_list_delete() -> None:
    async with qpi(tokens=["configured-token"], token="configured-token") as (server, client):
        made = await client.create_api_token("ci", expires_at="2099-01-01T00:00:00Z")
        assert made.token is not None
        assert made.token.startswith("qpi_")
        assert len(made.token) == 68
        assert made.token not in repr(made)
        stored = [t.token_hash for t in state(server).tokens.values()]
        assert made.token not in stored  # only hashes are kept
        async with qjobs.connect("qpi", token=made.token, base_url=server.base_url) as other:
            assert [j async for j in other.iter_jobs()] == []
        listed = await client.api_tokens()
        assert made.id in [t.id for t in listed]
        assert all(t.token is None for t in listed)
        await client.delete_api_token(made)
        async with qjobs.connect("qpi", token=made.token, base_url=server.base_url) as revoked:
            with pytest.raises(qjobs.AuthenticationError, match=r"Authentication required\."):
                await revoked.get_job("anything")


# --------------------------------------------------------------- scheduler and sweep
async def test_scheduler_batches_circuits_into_qpi_jobs() -> None:
    circuits = [X0, BELL] * 5
    async with qpi() as (server, client):
        async with qjobs.Scheduler(
            client, backend="qiskit_aer", shots=64, batch_size=4, poll_initial=0.01
        ) as sched:
            futures = [sched.submit(c) for c in circuits]
            results = await sched.gather()
        assert len(futures) == 10
        assert server.stats.jobs_created == 3  # 10 circuits in batches of 4
        assert [r.counts for r in results[::2]] == [{"001": 64}] * 5
        assert all(set(r.counts) <= {"00", "11"} for r in results[1::2])


async def test_sweep_runs_on_qpi() -> None:
    template = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float theta;\ninput float phi;\n'
        "qubit[2] q;\nbit[2] c;\nrx(theta) q[0];\nrx(phi) q[1];\nc = measure q;\n"
    )
    sweep = qjobs.Sweep(template, {"theta": np.array([0.0, np.pi]), "phi": np.array([0.0, np.pi])})
    async with qpi() as (server, client):
        out = await sweep.run(client, backend="qpi", shots=32, batch_size=2, poll_initial=0.01)
    assert out.probabilities.shape == (2, 2, 4)
    expected = np.zeros((2, 2, 4))
    for i in range(2):
        for j in range(2):
            expected[i, j, i | (j << 1)] = 1.0
    np.testing.assert_array_equal(out.probabilities, expected)
    assert server.stats.jobs_created == 2
