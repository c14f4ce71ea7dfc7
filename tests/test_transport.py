"""Transport basics: JSON round trip, errors by status, redaction, auth origin, caps, stream."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

import qjobs
from qjobs.transport import (
    RateLimit,
    RequestKind,
    Response,
    RetryPolicy,
    Timeouts,
    Transport,
    TransportStats,
    default_error_parser,
    parse_retry_after,
)

TOKEN = "tok-SECRET-0123456789"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(routes: dict[str, Handler]) -> AsyncIterator[str]:
    """Serve ``{"/path": handler}`` (any method) on 127.0.0.1; yield the root URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def make(base: str, **kwargs: Any) -> Transport:
    kwargs.setdefault("retry", RetryPolicy.no_retry())
    return Transport(
        provider="testprov",
        base_url=base + "/v1",
        auth_headers={"Authorization": f"apiKey {TOKEN}"},
        **kwargs,
    )


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "query": [[k, v] for k, v in request.query.items()],
            "auth": request.headers.get("Authorization"),
            "content_type": request.headers.get("Content-Type"),
            "user_agent": request.headers.get("User-Agent"),
            "custom": request.headers.get("X-Custom"),
            "body": orjson.loads(body) if body else None,
        }
    )


@pytest.mark.anyio
async def test_json_round_trip_and_headers() -> None:
    async with serve({"/v1/echo": echo}) as base, make(base, headers={"X-Custom": "c1"}) as t:
        resp = await t.request(
            "POST",
            "echo",
            json={"a": [1, 2.5, None], "b": "é"},
            params=[("tag", "x"), ("tag", "y"), ("flag", True)],
        )
        assert isinstance(resp, Response)
        data = resp.json()
        assert data["method"] == "POST"
        assert data["path"] == "/v1/echo"
        assert data["body"] == {"a": [1, 2.5, None], "b": "é"}
        assert data["query"] == [["tag", "x"], ["tag", "y"], ["flag", "true"]]
        assert data["auth"] == f"apiKey {TOKEN}"
        assert data["content_type"] == "application/json"
        assert data["custom"] == "c1"
        assert data["user_agent"].startswith(f"qjobs/{qjobs.__version__} python/")
        resp = await t.request("GET", "/echo", params={"flag": False, "skip": None})
        assert resp.json()["query"] == [["flag", "false"]]
        assert resp.headers["content-type"].startswith("application/json")
        assert t.stats.requests == {"POST /echo": 1, "GET /echo": 1}
        assert t.stats.total == 2
        assert t.stats.statuses[200] == 2
        assert t.stats.bytes_sent == len(orjson.dumps({"a": [1, 2.5, None], "b": "é"}))
        assert t.stats.bytes_received > 0
        snap = t.stats.snapshot()
        assert snap["statuses"] == {"200": 2}
        assert orjson.loads(orjson.dumps(snap)) == snap
        t.stats.reset()
        assert t.stats.total == 0
        assert t.stats.snapshot()["requests"] == {}


@pytest.mark.anyio
async def test_route_names_request_in_stats() -> None:
    async with serve({"/v1/jobs/{id}": echo}) as base, make(base) as t:
        for job in ("a", "b", "c"):
            await t.request("GET", f"/jobs/{job}", route="GET /jobs/{id}")
        assert t.stats.requests == {"GET /jobs/{id}": 3}


@pytest.mark.anyio
async def test_malformed_json_response() -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(body=b"{not json", content_type="application/json")

    async with serve({"/v1/x": broken}) as base, make(base) as t:
        resp = await t.request("GET", "/x")
        with pytest.raises(qjobs.MalformedResponseError) as info:
            resp.json()
        assert info.value.provider == "testprov"
        assert info.value.path == "/x"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, qjobs.ValidationError),
        (401, qjobs.AuthenticationError),
        (403, qjobs.ForbiddenError),
        (404, qjobs.NotFoundError),
        (409, qjobs.ConflictError),
        (418, qjobs.APIError),
        (422, qjobs.ValidationError),
        (429, qjobs.RateLimitedError),
        (500, qjobs.ServerError),
        (502, qjobs.ServerError),
        (503, qjobs.ServerError),
    ],
)
@pytest.mark.anyio
async def test_status_to_error_class(status: int, cls: type[qjobs.APIError]) -> None:
    async def fail(request: web.Request) -> web.Response:
        headers = {"Retry-After": "3"} if status == 429 else {}
        return web.json_response(
            {"error": {"message": f"bad thing {status}", "type": "BadThing"}},
            status=status,
            headers=headers,
        )

    async with serve({"/v1/jobs/{id}": fail}) as base, make(base) as t:
        with pytest.raises(cls) as info:
            await t.request("DELETE", "/jobs/42?secret_query=1", kind=RequestKind.WRITE)
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.provider == "testprov"
    assert err.method == "DELETE"
    assert err.path == "/jobs/42"
    assert err.message == f"bad thing {status}"
    assert err.code == "BadThing"
    assert "secret_query" not in str(err)
    if status == 429:
        assert err.retry_after == 3.0


@pytest.mark.anyio
async def test_error_message_fallbacks_and_custom_parser() -> None:
    async def text(request: web.Request) -> web.Response:
        return web.Response(text="plain   failure\n text " + "x" * 2000, status=400)

    async def detail(request: web.Request) -> web.Response:
        return web.json_response({"detail": "missing field shots"}, status=422)

    def parser(status: int, body: bytes) -> tuple[str, str | None]:
        return f"custom {status} {len(body)}", "C"

    async with serve({"/v1/text": text, "/v1/detail": detail}) as base:
        async with make(base) as t:
            with pytest.raises(qjobs.ValidationError) as info:
                await t.request("GET", "/text")
            assert info.value.message.startswith("plain failure text xxx")
            assert len(info.value.message) <= 500
            with pytest.raises(qjobs.ValidationError) as info:
                await t.request("GET", "/detail")
            assert info.value.message == "missing field shots"
        async with make(base, error_parser=parser) as t:
            with pytest.raises(qjobs.ValidationError) as info:
                await t.request("GET", "/detail")
            assert info.value.message.startswith("custom 422 ")
            assert info.value.code == "C"


def test_default_error_parser_and_retry_after() -> None:
    assert default_error_parser(500, b"") == ("HTTP 500", None)
    assert default_error_parser(400, b'{"message": "m", "code": 7}') == ("m", "7")
    assert default_error_parser(400, b'{"error": "e"}') == ("e", None)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-1") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    # An HTTP date 30 s after a fixed "now".
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=1767225600.0) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=1767225700.0) == 0.0


@pytest.mark.anyio
async def test_token_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    """The token is echoed back by a hostile server; it must not reach logs, errors or reprs."""

    async def leak(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        return web.json_response({"message": f"bad auth {auth} / raw {TOKEN}"}, status=500)

    caplog.set_level(logging.DEBUG)
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with serve({"/v1/leak": leak}) as base:
        t = make(
            base,
            retry=RetryPolicy(max_attempts=3),
            sleep=fake_sleep,
            secrets=["other-secret-value"],
        )
        async with t:
            with pytest.raises(qjobs.ServerError) as info:
                await t.request("GET", f"/leak?token={TOKEN}")
            with pytest.raises(qjobs.ConnectError) as cinfo:
                await t.request("GET", f"http://127.0.0.1:{_free_port()}/x?other-secret-value")
    assert len(sleeps) == 4  # two retries for each request
    texts = [str(info.value), repr(info.value), info.value.message, info.value.path]
    # Our own log lines (the test server's access log shows the URL it was sent, by design).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("qjobs"))
    texts += [str(cinfo.value), repr(cinfo.value), repr(t), repr(t.stats), ours]
    for text in texts:
        assert TOKEN not in text
        assert "other-secret-value" not in text
    assert "***" in info.value.message
    assert "retrying" in ours  # retries are logged ...
    assert "Authorization" not in ours  # ... without headers
    assert repr(t).startswith("<Transport provider='testprov' base_url='http://127.0.0.1:")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.anyio
async def test_auth_only_sent_to_base_origin() -> None:
    async with serve({"/v1/echo": echo, "/echo": echo}) as other:

        async def redirect_other(request: web.Request) -> web.Response:
            raise web.HTTPFound(other + "/echo")

        async def redirect_same(request: web.Request) -> web.Response:
            raise web.HTTPFound("/v1/echo?hop=1")

        async def loop(request: web.Request) -> web.Response:
            raise web.HTTPFound("/v1/loop")

        routes: dict[str, Handler] = {
            "/v1/echo": echo,
            "/v1/away": redirect_other,
            "/v1/same": redirect_same,
            "/v1/loop": loop,
        }
        async with serve(routes) as base, make(base) as t:
            assert (await t.request("GET", "/echo")).json()["auth"] == f"apiKey {TOKEN}"
            # Absolute URL on the base origin: auth sent. Another origin: not sent.
            assert (await t.request("GET", base + "/v1/echo")).json()["auth"] == f"apiKey {TOKEN}"
            assert (await t.request("GET", other + "/echo")).json()["auth"] is None
            # Redirects: followed by hand, auth kept on the same origin, dropped across.
            same = (await t.request("GET", "/same")).json()
            assert same["auth"] == f"apiKey {TOKEN}"
            assert same["query"] == [["hop", "1"]]
            away = (await t.request("GET", "/away")).json()
            assert away["path"] == "/echo"
            assert away["auth"] is None
            # auth=False sends none even to the base origin.
            assert (await t.request("GET", "/echo", auth=False)).json()["auth"] is None
            with pytest.raises(qjobs.MalformedResponseError, match="redirects"):
                await t.request("GET", "/loop")
            assert t.stats.statuses[302] == 1 + 1 + 6


@pytest.mark.anyio
async def test_post_redirect_not_followed() -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/v1/elsewhere")

    async with serve({"/v1/moved": moved}) as base, make(base) as t:
        resp = await t.request("POST", "/moved", json={})
        assert resp.status == 307


@pytest.mark.anyio
async def test_size_caps() -> None:
    received: list[int] = []

    async def big(request: web.Request) -> web.Response:
        received.append(1)
        return web.Response(body=b"x" * 5000)

    async def big_chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(10):
            await resp.write(b"y" * 1000)
        await resp.write_eof()
        return resp

    async with (
        serve({"/v1/big": big, "/v1/chunked": big_chunked}) as base,
        make(base, max_response_bytes=4000, max_request_bytes=100) as t,
    ):
        with pytest.raises(qjobs.MalformedResponseError, match="max_response_bytes"):
            await t.request("GET", "/big")
        with pytest.raises(qjobs.MalformedResponseError, match="max_response_bytes"):
            await t.request("GET", "/chunked")
        with pytest.raises(qjobs.InputError) as info:
            await t.request("POST", "/big", json={"data": "z" * 200})
        assert info.value.field == "body"
        assert received == [1]  # the oversized POST never left
        with pytest.raises(qjobs.MalformedResponseError):
            await t.request("POST", "/big", data=b"small")
        assert received == [1, 1]  # a body under the cap is sent


@pytest.mark.anyio
async def test_input_errors_before_any_request() -> None:
    async with serve({"/v1/echo": echo}) as base, make(base) as t:
        with pytest.raises(qjobs.InputError) as info:
            await t.request("GET", "/echo", params={"x": [1, 2]})  # type: ignore[dict-item]
        assert info.value.field == "params['x']"
        with pytest.raises(qjobs.InputError):
            await t.request("POST", "/echo", json={"a": 1}, data=b"x")
        with pytest.raises(qjobs.InputError):
            await t.request("POST", "/echo", json={"a": object()})
        with pytest.raises(qjobs.InputError):
            await t.request("GE T", "/echo")
        with pytest.raises(qjobs.InputError):
            await t.request("GET", "/echo", timeout=0)
        assert t.stats.total == 0
    with pytest.raises(qjobs.InputError):
        Transport(provider="p", base_url="ftp://x")
    with pytest.raises(qjobs.InputError):
        Transport(provider="p", base_url="http://x", max_response_bytes=0)
    with pytest.raises(qjobs.InputError) as info:
        Transport(provider="p", base_url="http://x", retry=3)  # type: ignore[arg-type]
    assert info.value.field == "retry"
    with pytest.raises(qjobs.InputError) as info:
        RetryPolicy(max_attempts=0)
    assert info.value.field == "max_attempts"
    with pytest.raises(qjobs.InputError):
        RateLimit(requests_per_second=0)
    with pytest.raises(qjobs.InputError):
        Timeouts(read=-1)


def _session_of(t: Transport) -> aiohttp.ClientSession | None:
    return t._session


@pytest.mark.anyio
async def test_session_lifecycle_and_ssl_options() -> None:
    async with serve({"/v1/echo": echo}) as base:
        t = make(base, ssl=ssl.create_default_context())
        assert _session_of(t) is None  # created lazily, inside the loop
        await t.request("GET", "/echo")
        session = _session_of(t)
        assert session is not None
        await t.request("GET", "/echo")
        assert _session_of(t) is session  # one long-lived session
        await t.aclose()
        await t.aclose()  # idempotent
        assert session.closed
        with pytest.raises(qjobs.TransportError, match="closed"):
            await t.request("GET", "/echo")
        async with make(base, ssl=False) as t2:
            assert (await t2.request("GET", "/echo")).status == 200


@pytest.mark.anyio
async def test_stream_chunks() -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB

    async def download(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i in range(0, len(payload), 100_000):
            await resp.write(payload[i : i + 100_000])
        await resp.write_eof()
        return resp

    async def missing(request: web.Request) -> web.Response:
        return web.json_response({"message": "no such result"}, status=404)

    async with serve({"/v1/dl": download, "/v1/missing": missing}) as base:
        async with make(base) as t:
            parts: list[bytes] = []
            async with t.stream("GET", "/dl", chunk_size=65536) as chunks:
                async for chunk in chunks:
                    assert len(chunk) <= 65536
                    parts.append(chunk)
            assert b"".join(parts) == payload
            assert len(parts) > 1
            assert t.stats.in_flight == 0
            with pytest.raises(qjobs.NotFoundError):
                async with t.stream("GET", "/missing"):
                    pass
            # Leaving early releases the connection.
            async with t.stream("GET", "/dl") as chunks:
                async for _ in chunks:
                    break
            assert t.stats.in_flight == 0
        async with make(base, max_response_bytes=200_000) as t:
            with pytest.raises(qjobs.MalformedResponseError):
                await _drain(t, "/dl")


async def _drain(t: Transport, path: str) -> int:
    total = 0
    async with t.stream("GET", path) as chunks:
        async for chunk in chunks:
            total += len(chunk)
    return total


def test_stats_repr_is_plain() -> None:
    stats = TransportStats()
    stats.started("GET /x", 10)
    stats.answered(429)
    stats.finished()
    assert stats.snapshot()["rate_limited"] == 1
    assert stats.peak_in_flight == 1
