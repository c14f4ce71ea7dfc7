"""IonQClient under injected faults: retries, Retry-After, idempotent submission by key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

import qjobs
from qjobs import Circuit, Instruction, JobStatus
from qjobs.emulators import Server
from qjobs.providers.ionq import IonQClient
from qjobs.transport import RateLimit, RetryPolicy, Timeouts

pytestmark = pytest.mark.anyio

BELL = Circuit(
    2,
    2,
    (
        Instruction("h", (0,)),
        Instruction("cx", (0, 1)),
        Instruction("measure", (0,), (), (0,)),
        Instruction("measure", (1,), (), (1,)),
    ),
    name="bell",
)


class Waits:
    """A recording replacement for the transport's sleep: no real waiting, waits kept."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@asynccontextmanager
async def ionq(
    faults: list[dict[str, Any]] | None = None, **serve_options: Any
) -> AsyncIterator[tuple[Server, IonQClient, Waits]]:
    waits = Waits()
    async with qjobs.emulators.serve("ionq", faults=faults, **serve_options) as server:
        client = qjobs.connect(
            "ionq",
            token="t",
            base_url=server.base_url,
            rate_limit=RateLimit(requests_per_second=None),
            retry=RetryPolicy(max_attempts=4, base_delay=0.01),
            transport_options={"sleep": waits},
        )
        assert isinstance(client, IonQClient)
        async with client:
            # Fetch the backend catalogue first so request counts below are about jobs only.
            await client.backends()
            server.stats.reset()
            client.transport.stats.reset()
            yield server, client, waits


# ------------------------------------------------------------------------------ reads retry
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_get_job_retries_server_errors(status: int) -> None:
    async with ionq() as (server, client, waits):
        job = await client.submit(BELL, shots=10)
        server.set_faults([{"route": "GET /jobs/{id}", "status": status, "count": 2}])
        got = await client.get_job(job.id)
        assert got.status is JobStatus.COMPLETED
        assert server.stats.requests["GET /jobs/{id}"] == 3
        assert client.transport.stats.requests["GET /jobs/{id}"] == 3
        assert client.transport.stats.retries == 2
        assert len(waits.waits) == 2


async def test_reads_retry_dropped_connections_and_429() -> None:
    async with ionq() as (server, client, waits):
        job = await client.submit(BELL, shots=10)
        server.set_faults(
            [
                {"route": "GET /jobs/{id}/results/probabilities", "kind": "drop", "count": 1},
                {"route": "GET /jobs", "kind": "rate_limit", "retry_after": 0.25, "count": 1},
            ]
        )
        res = await client.result(job)
        assert res.counts == {"00": 5, "11": 5}
        assert server.stats.requests["GET /jobs/{id}/results/probabilities"] == 2
        found = await client.get_jobs([job.id])
        assert found[0].id == job.id
        assert server.stats.requests["GET /jobs"] == 2
        assert 0.25 in waits.waits  # Retry-After used exactly


async def test_retries_are_bounded() -> None:
    async with ionq() as (server, client, _waits):
        job = await client.submit(BELL, shots=10)
        server.set_faults([{"route": "GET /jobs/{id}", "status": 503}])
        with pytest.raises(qjobs.ServerError) as info:
            await client.get_job(job.id)
        assert info.value.status == 503
        assert server.stats.requests["GET /jobs/{id}"] == 4  # RetryPolicy(max_attempts=4)


async def test_malformed_body_raises() -> None:
    async with ionq() as (server, client, _waits):
        job = await client.submit(BELL, shots=10)
        server.set_faults([{"route": "GET /jobs/{id}", "kind": "malformed", "count": 1}])
        with pytest.raises(qjobs.MalformedResponseError):
            await client.get_job(job.id)


async def test_cancel_retries() -> None:
    async with ionq(queue_time=60.0) as (server, client, _waits):
        job = await client.submit(BELL, shots=10)
        server.set_faults([{"route": "PUT /jobs/status/cancel", "status": 502, "count": 1}])
        await client.cancel_many([job])
        assert server.stats.requests["PUT /jobs/status/cancel"] == 2
        assert (await client.get_job(job.id)).status is JobStatus.CANCELLED


# --------------------------------------------------------------------------- job creation
async def test_post_retried_after_429_with_retry_after_exactly() -> None:
    async with ionq() as (server, client, waits):
        server.set_faults(
            [{"route": "POST /jobs", "kind": "rate_limit", "retry_after": 1.5, "count": 1}]
        )
        job = await client.submit(BELL, shots=10)
        assert server.stats.requests["POST /jobs"] == 2
        assert server.stats.jobs_created == 1
        assert waits.waits == [1.5]
        assert client.transport.stats.rate_limited == 1
        assert (await client.get_job(job.id)).status is JobStatus.COMPLETED


async def test_post_retried_after_503_with_retry_after() -> None:
    async with ionq() as (server, client, waits):
        server.set_faults([{"route": "POST /jobs", "status": 503, "retry_after": 0.5, "count": 1}])
        await client.submit(BELL, shots=10)
        assert server.stats.requests["POST /jobs"] == 2
        assert server.stats.jobs_created == 1
        assert waits.waits == [0.5]


async def test_dropped_answer_with_key_creates_exactly_one_job() -> None:
    async with ionq() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "kind": "drop_after", "count": 1}])
        job = await client.submit(BELL, shots=10, key="run-1/point-7")
        assert server.stats.jobs_created == 1
        assert server.stats.requests["POST /jobs"] == 1
        assert server.stats.requests["GET /jobs"] >= 1  # the key was looked up
        assert job.tags["qjobs_key"] == "run-1/point-7"
        listed = [j async for j in client.iter_jobs()]
        assert [j.id for j in listed] == [job.id]


async def test_dropped_answer_without_key_is_not_resubmitted() -> None:
    async with ionq() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "kind": "drop_after", "count": 1}])
        with pytest.raises(qjobs.SubmitUncertainError):
            await client.submit(BELL, shots=10)
        assert server.stats.requests["POST /jobs"] == 1
        assert server.stats.jobs_created == 1  # the job exists; the client did not duplicate it


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_error_with_key_looks_up_then_resubmits_once(status: int) -> None:
    async with ionq() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "status": status, "count": 1}])
        job = await client.submit(BELL, shots=10, key="k-5xx")
        assert server.stats.requests["POST /jobs"] == 2
        assert server.stats.requests["GET /jobs"] == 1
        assert server.stats.jobs_created == 1
        assert job.tags["qjobs_key"] == "k-5xx"


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_error_without_key_is_raised(status: int) -> None:
    async with ionq() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "status": status, "count": 1}])
        with pytest.raises(qjobs.ServerError):
            await client.submit(BELL, shots=10)
        assert server.stats.requests["POST /jobs"] == 1
        assert server.stats.jobs_created == 0


async def test_dropped_request_with_key_resubmits_after_lookup() -> None:
    async with ionq() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "kind": "drop", "count": 1}])
        await client.submit(BELL, shots=10, key="k-drop")
        assert server.stats.jobs_created == 1
        assert server.stats.requests["POST /jobs"] == 2


async def test_persistent_failure_with_key_gives_up_bounded() -> None:
    async with ionq() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "kind": "drop_after"}])
        # Every answer is lost, but the first lookup finds the job: no second POST.
        job = await client.submit(BELL, shots=10, key="k-found")
        assert server.stats.requests["POST /jobs"] == 1
        assert server.stats.jobs_created == 1
        assert job.tags["qjobs_key"] == "k-found"
    async with ionq() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "status": 500}])
        with pytest.raises(qjobs.ServerError):
            await client.submit(BELL, shots=10, key="k-never")
        assert server.stats.requests["POST /jobs"] == 3
        assert server.stats.jobs_created == 0


async def test_dropped_answer_on_batch_with_key() -> None:
    async with ionq() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "kind": "drop_after", "count": 1}])
        job = await client.submit([BELL, BELL, BELL], shots=10, key="batch-1")
        assert server.stats.jobs_created == 1
        assert job.parent_id is None
        results = await client.results(await client.wait(job))
        assert len(results) == 3


async def test_failed_lookup_reports_the_uncertain_submit_with_its_key() -> None:
    async with ionq() as (server, client, _waits):
        server.set_faults(
            [
                {"route": "POST /jobs", "kind": "drop_after", "count": 1},
                {"route": "GET /jobs", "status": 500},
            ]
        )
        with pytest.raises(qjobs.SubmitUncertainError) as info:
            await client.submit(BELL, shots=10, key="k-unknown")
        assert info.value.key == "k-unknown"
        assert isinstance(info.value.__cause__, qjobs.ServerError)
        assert server.stats.requests["POST /jobs"] == 1
        assert server.stats.jobs_created == 1


# ----------------------------------------------------------------- slow and half-answered reads
async def test_read_dropped_after_handling_is_retried() -> None:
    async with ionq() as (server, client, waits):
        job = await client.submit(BELL, shots=10)
        server.set_faults([{"route": "GET /jobs/{id}", "kind": "drop_after", "count": 1}])
        got = await client.get_job(job.id)
        assert got.status is JobStatus.COMPLETED
        assert server.stats.requests["GET /jobs/{id}"] == 2
        assert client.transport.stats.retries == 1
        assert len(waits.waits) == 1


@asynccontextmanager
async def impatient(**serve_options: Any) -> AsyncIterator[tuple[Server, IonQClient]]:
    """A client whose requests give up after 0.1 s (the slow faults below take 0.5 s)."""
    async with (
        qjobs.emulators.serve("ionq", **serve_options) as server,
        qjobs.connect(
            "ionq",
            token="t",
            base_url=server.base_url,
            rate_limit=RateLimit(requests_per_second=None),
            retry=RetryPolicy(max_attempts=3, base_delay=0.001),
            timeouts=Timeouts(connect=5.0, read=0.1, total=0.1),
        ) as client,
    ):
        assert isinstance(client, IonQClient)
        await client.backends()
        server.stats.reset()
        yield server, client


async def test_slow_read_times_out_and_is_retried() -> None:
    async with impatient() as (server, client):
        job = await client.submit(BELL, shots=10)
        server.set_faults(
            [{"route": "GET /jobs/{id}", "kind": "slow", "delay_ms": 500, "count": 1}]
        )
        got = await client.get_job(job.id)
        assert got.id == job.id
        assert server.stats.requests["GET /jobs/{id}"] == 2
        assert client.transport.stats.retries == 1
        server.clear_faults()


async def test_slow_submit_without_key_is_uncertain_and_not_resent() -> None:
    async with impatient() as (server, client):
        server.set_faults([{"route": "POST /jobs", "kind": "slow", "delay_ms": 500, "count": 1}])
        with pytest.raises(qjobs.SubmitUncertainError) as info:
            await client.submit(BELL, shots=10)
        assert info.value.key is None
        assert server.stats.requests["POST /jobs"] == 1
        assert client.transport.stats.requests["POST /jobs"] == 1
        assert client.transport.stats.retries == 0


async def test_slow_submit_with_key_is_looked_up_never_resent() -> None:
    # The POST outlives the client's timeout and the server creates the job afterwards. A client
    # that stopped waiting never resubmits: it looks the key up (spaced waits) and finds the job.
    async with impatient() as (server, client):
        server.set_faults([{"route": "POST /jobs", "kind": "slow", "delay_ms": 300, "count": 1}])
        job = await client.submit(BELL, shots=10, key="slow-key")
        assert job.tags.get("qjobs_key") == "slow-key"
        assert server.stats.jobs_created == 1
        assert server.stats.requests["POST /jobs"] == 1
        assert client.transport.stats.requests["POST /jobs"] == 1
        assert server.stats.requests["GET /jobs"] >= 1  # the key was looked up
