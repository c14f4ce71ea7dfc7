"""QiboClient configuration, secrecy, error mapping, malformed answers, faults and retries."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import qjobs
from qjobs import Circuit, Instruction, JobStatus
from qjobs.emulators import Server
from qjobs.providers.qibo import (
    DEFAULT_BASE_URL,
    TOKEN_VARIABLES,
    URL_VARIABLES,
    JobPostServerError,
    QiboClient,
)
from qjobs.providers.qibo.models import error_parser, job_from_wire
from qjobs.transport import RateLimit, RetryPolicy

SECRET = "sekrit-qibo-token-5c1e"
BELL = Circuit(
    2,
    2,
    (
        Instruction("h", (0,)),
        Instruction("cx", (0, 1)),
        Instruction("measure", (0,), (), (0,)),
        Instruction("measure", (1,), (), (1,)),
    ),
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in (*TOKEN_VARIABLES, *URL_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _token(client: QiboClient) -> str:
    return dict(client.transport._auth_headers)["x-api-token"]


# ------------------------------------------------------------------- credentials
@pytest.mark.usefixtures("clean_env")
def test_missing_token_names_every_place() -> None:
    with pytest.raises(qjobs.CredentialsError) as info:
        QiboClient()
    for name in TOKEN_VARIABLES:
        assert name in str(info.value)


def test_token_and_url_lookup_order(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QIBO_TOKEN", "second")
    client = QiboClient()
    assert _token(client) == "second"
    assert client.base_url == DEFAULT_BASE_URL
    monkeypatch.setenv("QIBO_CLIENT_TOKEN", "first")
    monkeypatch.setenv("QIBO_URL", "http://127.0.0.1:9/")
    client = QiboClient()
    assert _token(client) == "first"
    assert client.token_source == "env:QIBO_CLIENT_TOKEN"
    assert client.base_url == "http://127.0.0.1:9"
    # .env never overrides the environment, not even with a better-ranked name ...
    (clean_env / ".env").write_text(
        "QIBO_CLIENT_TOKEN=from-dotenv\nQIBO_CLIENT_URL=https://h:1\nQIBO_URL=https://h:2\n"
    )
    client = QiboClient()
    assert _token(client) == "first"
    assert client.base_url == "http://127.0.0.1:9"
    # ... it fills in what the environment does not set.
    monkeypatch.delenv("QIBO_CLIENT_TOKEN")
    monkeypatch.delenv("QIBO_TOKEN")
    monkeypatch.delenv("QIBO_URL")
    client = QiboClient()
    assert _token(client) == "from-dotenv"
    assert client.token_source == ".env:QIBO_CLIENT_TOKEN"
    assert client.base_url == "https://h:1"
    assert _token(QiboClient(token="explicit")) == "explicit"


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"token": ""}, "token"),
        ({"base_url": "http://h/api"}, "base_url"),
        ({"project": ""}, "project"),
        ({"cancel_deletes": 1}, "cancel_deletes"),
        ({"archive_limits": {}}, "archive_limits"),
    ],
)
def test_bad_options(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(qjobs.InputError) as info:
        QiboClient(**{"token": "t", **kwargs})
    assert info.value.field == field


# ------------------------------------------------------------------------- secrecy
@pytest.mark.anyio
async def test_token_never_in_reprs_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with qjobs.emulators.serve("qibo", tokens=[SECRET]) as server:
        async with QiboClient(token=SECRET, base_url=server.base_url) as client:
            job = await client.submit(BELL, shots=5)
            await client.result(await client.wait(job))
            texts = [repr(client), repr(client.transport), repr(job)]
        async with QiboClient(token=SECRET + "x", base_url=server.base_url) as wrong:
            with pytest.raises(qjobs.AuthenticationError) as info:
                await wrong.get_job(job.id)
            assert info.value.message == "Invalid token."
            texts += [str(info.value), repr(info.value)]
    texts.append(caplog.text)
    assert not any(SECRET in t for t in texts)


# ------------------------------------------------------------------ wire mapping
def test_job_mapping_is_lenient_on_responses() -> None:
    job = job_from_wire({"pid": "p", "status": "SHIPPING", "new_field": 1, "nshots": "x"})
    assert job.status is JobStatus.UNKNOWN
    assert job.provider_status == "SHIPPING"
    assert job.shots is None
    assert job_from_wire({"pid": "p", "status": "SUCCESS"}).status is JobStatus.COMPLETED
    legacy = job_from_wire(
        {
            "pid": "p",
            "status": "pending",
            "job_queue_position": 4,
            "seconds_to_job_start": 9,
            "updated_at": "2026-01-01T12:00:00Z",
        }
    )
    assert legacy.details["queue_position"] == 4
    assert legacy.details["estimated_start"].isoformat() == "2026-01-01T12:00:09+00:00"
    with pytest.raises(qjobs.MalformedResponseError, match="missing the following keys: status"):
        job_from_wire({"pid": "p"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"detail": "Invalid token."}', "Invalid token."),
        (b'{"message": "m", "detail": ""}', "m"),
        (b'{"title": "t"}', "t"),
        (b'{"errors": ["a"]}', "['a']"),
        (b"plain  text", "plain text"),
        (b"", "HTTP 418"),
    ],
)
def test_error_parser_follows_qibo_client(body: bytes, message: str) -> None:
    assert error_parser(418, body)[0] == message


# --------------------------------------------------------------- malformed servers
@asynccontextmanager
async def fake_server(routes: dict[str, Any]) -> AsyncIterator[str]:
    app = web.Application()
    for path, answer in routes.items():

        async def handler(_request: web.Request, answer: Any = answer) -> web.Response:
            return web.json_response(answer)

        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


VERSION_OK = {"server_qibo_version": "0.3.2", "minimum_client_qibo_version": "0.3.2"}


@pytest.mark.anyio
async def test_version_answer_missing_keys() -> None:
    routes = {"/api/qibo_version/": {"server_qibo_version": "0.3.2"}}
    async with (
        fake_server(routes) as url,
        QiboClient(token="t", base_url=url, validate=False) as client,
    ):
        with pytest.raises(
            qjobs.MalformedResponseError,
            match="missing the following keys: minimum_client_qibo_version",
        ):
            await client.submit(BELL, shots=5)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "detail"), [({"detail": "queue full"}, "queue full"), ({}, None)]
)
async def test_submit_answer_without_pid(answer: dict[str, Any], detail: str | None) -> None:
    routes = {"/api/qibo_version/": VERSION_OK, "/api/jobs/": answer}
    async with (
        fake_server(routes) as url,
        QiboClient(token="t", base_url=url, validate=False) as client,
    ):
        with pytest.raises(JobPostServerError) as info:
            await client.submit(BELL, shots=5)
        assert info.value.detail == detail
        assert isinstance(info.value, qjobs.MalformedResponseError)
        assert client.transport.stats.requests["POST /api/jobs/"] == 1


# --------------------------------------------------------------- faults and retries
class Waits:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@asynccontextmanager
async def faulty() -> AsyncIterator[tuple[Server, QiboClient]]:
    async with qjobs.emulators.serve("qibo") as server:
        client = QiboClient(
            token="t",
            base_url=server.base_url,
            rate_limit=RateLimit(requests_per_second=None),
            retry=RetryPolicy(max_attempts=4, base_delay=0.01),
            transport_options={"sleep": Waits()},
        )
        async with client:
            await client.check_version()
            await client.project_quotas()
            server.stats.reset()
            yield server, client


@pytest.mark.anyio
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_reads_retry_server_errors(status: int) -> None:
    async with faulty() as (server, client):
        job = await client.submit(BELL, shots=5)
        server.set_faults([{"route": "GET /api/jobs/{pid}/", "status": status, "count": 2}])
        assert (await client.get_job(job.id)).status is JobStatus.COMPLETED
        assert server.stats.requests["GET /api/jobs/{pid}/"] == 3
        assert client.transport.stats.retries == 2


@pytest.mark.anyio
async def test_download_and_delete_retry_drops_and_429() -> None:
    async with faulty() as (server, client):
        job = await client.submit(BELL, shots=5)
        server.set_faults(
            [
                {"route": "GET /api/jobs/{pid}/download/", "kind": "drop", "count": 1},
                {"route": "DELETE /api/jobs/{pid}/", "status": 429, "retry_after": 0, "count": 1},
            ]
        )
        [res] = await client.results(job, source="archive")
        assert sum(res.counts.values()) == 5
        await client.delete(job)
        assert server.stats.requests["GET /api/jobs/{pid}/download/"] == 2
        assert server.stats.requests["DELETE /api/jobs/{pid}/"] == 2


@pytest.mark.anyio
async def test_submit_is_never_repeated_after_an_ambiguous_fault() -> None:
    async with faulty() as (server, client):
        server.set_faults([{"route": "POST /api/jobs/", "kind": "drop_after", "count": 1}])
        with pytest.raises(qjobs.SubmitUncertainError):
            await client.submit(BELL, shots=5)
        assert server.stats.requests["POST /api/jobs/"] == 1
        assert server.stats.jobs_created == 1  # the server did create it; qjobs did not resubmit
        server.set_faults([{"route": "POST /api/jobs/", "status": 500, "count": 1}])
        with pytest.raises(qjobs.ServerError):
            await client.submit(BELL, shots=5)
        assert server.stats.requests["POST /api/jobs/"] == 2
        server.set_faults(
            [{"route": "POST /api/jobs/", "status": 429, "retry_after": 0, "count": 1}]
        )
        await client.submit(BELL, shots=5)  # 429: the server provably did nothing, retried
        assert server.stats.requests["POST /api/jobs/"] == 4


@pytest.mark.anyio
async def test_malformed_json_is_a_malformed_response() -> None:
    async with faulty() as (server, client):
        job = await client.submit(BELL, shots=5)
        server.set_faults([{"route": "GET /api/jobs/{pid}/", "kind": "malformed", "count": 1}])
        with pytest.raises(qjobs.MalformedResponseError):
            await client.get_job(job.id)


@pytest.mark.anyio
async def test_quota_exhaustion_is_forbidden() -> None:
    async with faulty() as (server, client):
        from qjobs.emulators.qibo import EMULATOR_KEY

        emulator = server.app[EMULATOR_KEY]
        for user in emulator.users.values():
            for quota in user.quotas:
                quota.jobs_left = 0
        with pytest.raises(qjobs.ForbiddenError, match="No jobs left"):
            await client.submit(BELL, shots=5)
