"""QbraidClient under injected faults: retries, Retry-After, retry knobs, idempotent submission."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

import qjobs
from qjobs import Circuit, Instruction, JobStatus
from qjobs.emulators import Server
from qjobs.providers.qbraid import QbraidClient
from qjobs.providers.qbraid.config import retry_policy
from qjobs.transport import RateLimit, RetryPolicy

pytestmark = pytest.mark.anyio

X0 = Circuit(1, 1, (Instruction("x", (0,)), Instruction("measure", (0,), (), (0,))), name="x0")


class Waits:
    """A recording replacement for the transport's sleep: no real waiting, waits kept."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@asynccontextmanager
async def qbraid(
    faults: list[dict[str, Any]] | None = None, **client_options: Any
) -> AsyncIterator[tuple[Server, QbraidClient, Waits]]:
    waits = Waits()
    async with qjobs.emulators.serve("qbraid", faults=faults) as server:
        options: dict[str, Any] = {
            "token": "t",
            "config_file": "/nonexistent/qbraidrc",
            "rate_limit": RateLimit(requests_per_second=None),
            "retry": RetryPolicy(max_attempts=4, base_delay=0.01),
            "transport_options": {"sleep": waits},
        }
        options.update(client_options)
        client = qjobs.connect("qbraid", base_url=server.base_url, **options)
        assert isinstance(client, QbraidClient)
        async with client:
            await client.device("qbraid:qbraid:sim:qasm-sim")  # cache the device first
            server.stats.reset()
            client.transport.stats.reset()
            yield server, client, waits


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_reads_retry_server_errors(status: int) -> None:
    async with qbraid() as (server, client, waits):
        job = await client.submit(X0, shots=5)
        server.set_faults([{"route": "GET /jobs/{qrn}", "status": status, "count": 2}])
        got = await client.get_job(job.id)
        assert got.status is JobStatus.COMPLETED
        assert server.stats.requests["GET /jobs/{qrn}"] == 3
        assert client.transport.stats.retries == 2
        assert len(waits.waits) == 2


async def test_429_retry_after_is_honoured_exactly() -> None:
    async with qbraid() as (server, client, waits):
        server.set_faults(
            [{"route": "GET /devices", "kind": "rate_limit", "retry_after": 7, "count": 1}]
        )
        await client.devices()
        assert waits.waits == [7.0]
        assert server.stats.requests["GET /devices"] == 2


async def test_submit_without_key_is_never_resubmitted_blindly() -> None:
    async with qbraid([{"route": "POST /jobs", "status": 500, "count": 1}]) as (server, client, _):
        with pytest.raises(qjobs.ServerError):
            await client.submit(X0, shots=5)
        assert server.stats.requests["POST /jobs"] == 1
    async with qbraid([{"route": "POST /jobs", "kind": "drop_after", "count": 1}]) as (
        server,
        client,
        _,
    ):
        with pytest.raises(qjobs.SubmitUncertainError):
            await client.submit(X0, shots=5)
        assert server.stats.requests["POST /jobs"] == 1
        assert server.stats.jobs_created == 1  # the job exists; the client does not guess


async def test_submit_with_key_finds_the_job_an_ambiguous_post_created() -> None:
    async with qbraid([{"route": "POST /jobs", "kind": "drop_after", "count": 1}]) as (
        server,
        client,
        _,
    ):
        job = await client.submit(X0, shots=5, key="once")
        assert job.tags["qjobs_key"] == "once"
        assert server.stats.requests["POST /jobs"] == 1
        assert server.stats.requests["GET /jobs"] == 1
        assert server.stats.jobs_created == 1


async def test_submit_with_key_resubmits_when_nothing_was_created() -> None:
    async with qbraid([{"route": "POST /jobs", "status": 500, "count": 1}]) as (server, client, _):
        job = await client.submit(X0, shots=5, key="retry-me")
        assert job.tags["qjobs_key"] == "retry-me"
        assert server.stats.requests["POST /jobs"] == 2
        assert server.stats.jobs_created == 1


async def test_503_with_retry_after_on_create_is_retried() -> None:
    faults = [{"route": "POST /jobs", "status": 503, "retry_after": 2, "count": 1}]
    async with qbraid(faults) as (server, client, waits):
        await client.submit(X0, shots=5)
        assert server.stats.requests["POST /jobs"] == 2
        assert waits.waits == [2.0]
        assert server.stats.jobs_created == 1


async def test_malformed_answer_is_a_typed_error() -> None:
    async with qbraid([{"route": "GET /jobs/{qrn}", "kind": "malformed", "count": 1}]) as (
        _server,
        client,
        _,
    ):
        with pytest.raises(qjobs.MalformedResponseError):
            await client.get_job("qbraid:qbraid:sim:qasm-sim-37f5-qjob-1")


async def test_retry_knobs_bound_attempts() -> None:
    async with qbraid(retry=None, retries_total=1, backoff_factor=0.25) as (server, client, waits):
        assert client.transport.retry.max_attempts == 2
        assert client.transport.retry.base_delay == 0.25
        server.set_faults([{"route": "GET /devices", "status": 502}])
        with pytest.raises(qjobs.ServerError):
            await client.devices()
        assert server.stats.requests["GET /devices"] == 2
        assert len(waits.waits) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize(("connect", "attempts"), [(0, 1), (1, 2), (5, 4)])
async def test_connect_retries_are_capped(connect: int, attempts: int) -> None:
    waits = Waits()
    client = QbraidClient(
        token="t",
        base_url=f"http://127.0.0.1:{_closed_port()}/api/v1",
        config_file="/nonexistent/qbraidrc",
        retries_total=3,
        retries_connect=connect,
        transport_options={"sleep": waits},
    )
    async with client:
        with pytest.raises(qjobs.ConnectError):
            await client.get_job("qbraid:qbraid:sim:qasm-sim-37f5-qjob-1")
        assert client.transport.stats.retries == attempts - 1


def test_retry_policy_mapping() -> None:
    policy = retry_policy(total=3, backoff_factor=0.5)
    assert (policy.max_attempts, policy.base_delay, policy.factor) == (4, 0.5, 2.0)
    assert policy.max_delay == 120.0
    for bad in ({"total": -1}, {"total": 1.5}, {"backoff_factor": -1}, {"backoff_factor": "x"}):
        with pytest.raises(qjobs.InputError):
            retry_policy(**bad)
    with pytest.raises(qjobs.InputError):
        QbraidClient(token="t", base_url="http://127.0.0.1:1/api/v1", retries_connect=-1)
