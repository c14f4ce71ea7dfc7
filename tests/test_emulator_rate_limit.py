"""Emulators that rate-limit like the services: a token bucket per token, 429 with Retry-After.

Counts, never times: the emulator clock is frozen (``Clock(lambda: 0.0)``) and moved with
``server.advance()``, so exactly which request passes is deterministic. Each provider's own
client reads the 429 (its error parser, :class:`qjobs.RateLimitedError` with ``retry_after``).
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest

import qjobs
from qjobs.cli import main
from qjobs.emulators import Clock, Server, names, serve, serve_many
from qjobs.emulators._common.ratelimit import RateLimiter, retry_after_header
from qjobs.transport import RateLimit, RetryPolicy

pytestmark = pytest.mark.anyio

#: What each provider's client needs besides its base URL.
CLIENT_OPTIONS: dict[str, dict[str, Any]] = {
    "ionq": {"token": "t"},
    "kipu": {"token": "t"},
    "qbraid": {"token": "qb-token", "config_file": "/nonexistent/qbraidrc"},
    "qpi": {"token": "t"},
    "qibo": {"token": "t"},
}
#: The route each client's ``backends()`` asks (one request per call).
BACKENDS_ROUTE: dict[str, str] = {
    "ionq": "GET /backends",
    "kipu": "GET /backends",
    "qbraid": "GET /devices",
    "qpi": "GET /api/qpus",
    "qibo": "GET /api/projectquotas/",
}
#: The keys of each provider's error body (the shape its wire.py answers with).
ERROR_KEYS: dict[str, set[str]] = {
    "ionq": {"statusCode", "error", "message"},
    "kipu": {"type", "title", "status", "detail"},
    "qbraid": {"success", "message", "error"},
    "qpi": {"data", "message", "status"},
    "qibo": {"detail"},
}
#: The header each provider reads the token from, and its form.
AUTH: dict[str, tuple[str, str]] = {
    "ionq": ("Authorization", "apiKey {}"),
    "kipu": ("X-Auth-Token", "{}"),
    "qbraid": ("X-API-Key", "{}"),
    "qpi": ("X-API-Token", "{}"),
    "qibo": ("x-api-token", "{}"),
}


async def _no_sleep(_seconds: float) -> None:
    """The client's own slowdown after a 429 (this test counts requests, it does not wait)."""


def _client(name: str, base_url: str, **overrides: Any) -> Any:
    """A client that neither limits itself nor retries (each call is one request)."""
    options = dict(
        CLIENT_OPTIONS[name],
        rate_limit=RateLimit(requests_per_second=None),
        retry=RetryPolicy(max_attempts=1),
        transport_options={"sleep": _no_sleep},
    )
    options.update(overrides)
    return qjobs.connect(name, base_url=base_url, **options)


@asynccontextmanager
async def _frozen(name: str, **options: Any) -> AsyncIterator[Server]:
    async with serve(name, clock=Clock(lambda: 0.0), **options) as server:
        yield server


async def _passes(client: Any) -> bool:
    """Whether one ``backends()`` call got through (False: refused with 429)."""
    try:
        await client.backends()
    except qjobs.RateLimitedError as exc:
        refused = exc
    else:
        return True
    assert refused.status == 429
    assert refused.retry_after is not None
    assert refused.retry_after >= 1
    return False


def test_every_emulator_is_covered() -> None:
    assert set(CLIENT_OPTIONS) == set(names())


@pytest.mark.parametrize("name", sorted(CLIENT_OPTIONS))
async def test_burst_then_429_then_one_token_per_fifth_of_a_second(name: str) -> None:
    async with _frozen(name, rate_limit=5, burst=3) as server:
        async with _client(name, server.base_url) as client:
            assert [await _passes(client) for _ in range(3)] == [True, True, True]
            with pytest.raises(qjobs.RateLimitedError) as caught:
                await client.backends()
            assert caught.value.status == 429
            assert caught.value.retry_after == 1.0
            assert "rate limit" in str(caught.value)
            assert [await _passes(client) for _ in range(2)] == [False, False]
            server.advance(0.2)
            assert [await _passes(client) for _ in range(3)] == [True, False, False]
            server.advance(0.1)
            assert not await _passes(client)  # half a token is no token
            server.advance(0.1)
            assert await _passes(client)
        route = BACKENDS_ROUTE[name]
        stats = server.stats
        assert stats.rate_limited == {route: 6}
        assert stats.total_rate_limited == 6
        assert stats.statuses[429] == 6
        assert stats.requests[route] == 11


@pytest.mark.parametrize("name", sorted(CLIENT_OPTIONS))
async def test_429_carries_retry_after_and_the_providers_error_body(name: str) -> None:
    header, form = AUTH[name]
    async with _frozen(name, rate_limit=0.5, burst=1) as server:
        route = BACKENDS_ROUTE[name].split(" ", 1)[1]
        headers = {header: form.format("t")}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(server.base_url + route) as resp:
                assert resp.status == 200
            async with http.get(server.base_url + route) as resp:
                assert resp.status == 429
                assert resp.headers["Retry-After"] == "2"  # one token every 2 s
                body = orjson.loads(await resp.read())
            server.advance(1.5)
            async with http.get(server.base_url + route) as resp:
                assert resp.status == 429
                assert resp.headers["Retry-After"] == "1"  # 0.5 s left, in whole seconds
    assert set(body) == ERROR_KEYS[name]
    parser = _error_parser(name)
    message, _ = parser(429, orjson.dumps(body))
    assert "rate limit exceeded" in message


def _error_parser(name: str) -> Any:
    import importlib

    return importlib.import_module(f"qjobs.providers.{name}.models").error_parser


@pytest.mark.parametrize("name", sorted(CLIENT_OPTIONS))
async def test_each_token_has_its_own_bucket(name: str) -> None:
    async with _frozen(name, rate_limit=5, burst=2) as server:
        async with (
            _client(name, server.base_url) as first,
            _client(name, server.base_url, token="another") as second,
        ):
            assert [await _passes(first) for _ in range(3)] == [True, True, False]
            assert [await _passes(second) for _ in range(3)] == [True, True, False]
        assert server.stats.total_rate_limited == 2


async def test_reserved_routes_are_never_limited_and_show_the_429s() -> None:
    async with _frozen("ionq", rate_limit=1, burst=1) as server:
        async with _client("ionq", server.base_url) as client:
            assert [await _passes(client) for _ in range(3)] == [True, False, False]
        async with aiohttp.ClientSession(headers={"Authorization": "apiKey t"}) as http:
            for _ in range(5):
                async with http.get(f"{server.root_url}/_qjobs/stats") as resp:
                    assert resp.status == 200
                    snapshot = orjson.loads(await resp.read())
            async with http.delete(f"{server.root_url}/_qjobs/stats") as resp:
                assert resp.status == 200
                reset = orjson.loads(await resp.read())
    assert snapshot["rate_limited"] == {"GET /backends": 2}
    assert snapshot["total_rate_limited"] == 2
    assert snapshot["statuses"]["429"] == 2
    assert reset["rate_limited"] == {}
    assert reset["total_rate_limited"] == 0


async def test_unauthenticated_requests_are_answered_as_without_a_limit() -> None:
    async with _frozen("ionq", rate_limit=1, burst=1) as server:
        url = f"{server.base_url}/jobs"
        async with aiohttp.ClientSession() as http:
            for _ in range(4):
                async with http.get(url) as resp:
                    assert resp.status == 401
            # A public route without a token has no bucket to spend.
            for _ in range(4):
                async with http.get(f"{server.base_url}/backends") as resp:
                    assert resp.status == 200
        assert server.stats.total_rate_limited == 0


async def test_off_by_default() -> None:
    async with _frozen("ionq") as server:
        assert server.context.rate_limiter is None
        async with _client("ionq", server.base_url) as client:
            assert all([await _passes(client) for _ in range(30)])
        assert server.stats.total_rate_limited == 0
        assert server.stats.snapshot()["rate_limited"] == {}


async def test_default_burst_is_one_seconds_worth() -> None:
    async with _frozen("ionq", rate_limit=2.5) as server:
        limiter = server.context.rate_limiter
        assert limiter is not None
        assert limiter.burst == 3
        async with _client("ionq", server.base_url) as client:
            assert [await _passes(client) for _ in range(4)] == [True, True, True, False]


async def test_serve_many_keeps_a_bucket_per_emulator() -> None:
    async with serve_many(["ionq", "qibo"], rate_limit=1, burst=1, clock=Clock(lambda: 0.0)) as s:
        async with (
            _client("ionq", s["ionq"].base_url) as ionq,
            _client("qibo", s["qibo"].base_url) as qibo,
        ):
            assert [await _passes(ionq) for _ in range(2)] == [True, False]
            assert [await _passes(qibo) for _ in range(2)] == [True, False]
        assert s["ionq"].stats.total_rate_limited == 1
        assert s["qibo"].stats.total_rate_limited == 1


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"rate_limit": 0}, "rate_limit=0"),
        ({"rate_limit": -1.0}, "rate_limit=-1.0"),
        ({"rate_limit": math.inf}, "rate_limit=inf"),
        ({"rate_limit": math.nan}, "rate_limit=nan"),
        ({"rate_limit": True}, "rate_limit=True"),
        ({"rate_limit": "5"}, "rate_limit='5'"),
        ({"rate_limit": 5, "burst": 0}, "burst=0"),
        ({"rate_limit": 5, "burst": 1.5}, "burst=1.5"),
        ({"burst": 3}, "needs a rate_limit"),
    ],
)
async def test_bad_options_are_refused(options: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle.replace("[", r"\[")):
        async with serve("ionq", **options):
            pass


def test_limiter_counts_on_the_clock() -> None:
    clock = Clock(lambda: 0.0)
    limiter = RateLimiter(4, 2, clock)
    assert [limiter.take("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.25)
    clock.advance(10)  # a long pause refills to the burst, not beyond
    assert [limiter.take("a") == 0.0 for _ in range(3)] == [True, True, False]
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(1.0) == "1"
    assert retry_after_header(1.2) == "2"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--rate-limit", "0"], "--rate-limit must be a finite number > 0"),
        (["--rate-limit", "inf"], "--rate-limit must be a finite number > 0"),
        (["--rate-limit", "nan"], "--rate-limit must be a finite number > 0"),
        (["--rate-limit", "5", "--burst", "0"], "--burst must be an integer >= 1"),
        (["--burst", "3"], "--burst needs --rate-limit"),
    ],
)
def test_cli_refuses_bad_flags(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulate", "ionq", *argv]) == 2
    assert needle in capsys.readouterr().err


async def _hammer(base_url: str, count: int) -> tuple[list[tuple[int, str | None]], Any]:
    """``count`` requests at once, then the server's statistics."""
    root = base_url.removesuffix("/v0.4")
    async with aiohttp.ClientSession(headers={"Authorization": "apiKey t"}) as http:

        async def one() -> tuple[int, str | None]:
            async with http.get(f"{base_url}/jobs") as resp:
                await resp.read()
                return resp.status, resp.headers.get("Retry-After")

        answers = await asyncio.gather(*(one() for _ in range(count)))
        async with http.get(f"{root}/_qjobs/stats") as resp:
            return list(answers), orjson.loads(await resp.read())


async def test_cli_rate_limit_flags_limit_the_served_emulator() -> None:
    argv = ["emulate", "ionq", "--rate-limit", "5", "--burst", "3", "--port", "0"]
    p = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "qjobs",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert p.stdout is not None
        line = await asyncio.wait_for(p.stdout.readline(), timeout=30)
        name, base_url = line.decode().split()
        assert name == "ionq"
        # Ten at once on a real clock: the burst of 3 passes, and at 5 requests/s at least one
        # of the ten is refused unless they took more than 1.4 s to arrive.
        answers, stats = await _hammer(base_url, 10)
    finally:
        if p.returncode is None:
            p.kill()
        await p.wait()
    passed = sum(1 for status, _ in answers if status == 200)
    refused = [after for status, after in answers if status == 429]
    assert passed + len(refused) == 10
    assert passed >= 3
    assert refused
    assert all(after is not None and int(after) >= 1 for after in refused)
    assert stats["total_rate_limited"] == len(refused)
    assert stats["rate_limited"] == {"GET /jobs": len(refused)}
