"""TLS verification and the ``ssl=`` option against a real HTTPS server; connection keep-alive.

The HTTPS server runs on 127.0.0.1 with a throwaway self-signed certificate made by the
``openssl`` command (the tests are skipped where it is missing).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

import qjobs
from qjobs.transport import RateLimit, RetryPolicy, Transport

TOKEN = "tok-TLS-SECRET-0123456789"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for IP 127.0.0.1: ``(cert.pem, key.pem)``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@asynccontextmanager
async def serve(
    server_ssl: ssl.SSLContext | None, peers: list[tuple[str, int]]
) -> AsyncIterator[str]:
    """Serve ``GET /v1/ping`` on 127.0.0.1 (HTTPS when given a context); record client ports."""

    async def ping(request: web.Request) -> web.Response:
        assert request.transport is not None
        host, port = request.transport.get_extra_info("peername")[:2]
        peers.append((host, port))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/v1/ping", ping)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if server_ssl is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


def make(base: str, **kwargs: object) -> Transport:
    return Transport(
        provider="tlsprov",
        base_url=base,
        auth_headers={"Authorization": f"apiKey {TOKEN}"},
        retry=RetryPolicy(max_attempts=3, base_delay=0.001),
        **kwargs,  # type: ignore[arg-type]
    )


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*certificate)
    return ctx


@pytest.mark.anyio
async def test_verification_is_on_by_default(certificate: tuple[Path, Path]) -> None:
    peers: list[tuple[str, int]] = []
    async with serve(server_context(certificate), peers) as base, make(base) as t:
        with pytest.raises(qjobs.ConnectError) as info:
            await t.request("GET", "ping")
        assert "TLS" in str(info.value)
        assert TOKEN not in str(info.value)
        assert t.stats.retries == 0  # a certificate failure is not retried
        assert peers == []  # no request ever reached the handler


@pytest.mark.anyio
async def test_custom_ssl_context_is_used(certificate: tuple[Path, Path]) -> None:
    client_ctx = ssl.create_default_context(cafile=str(certificate[0]))
    peers: list[tuple[str, int]] = []
    async with serve(server_context(certificate), peers) as base:
        async with make(base, ssl=client_ctx) as t:
            assert (await t.request("GET", "ping")).json() == {"ok": True}
        async with make(base, ssl=False) as t:  # verification off: also answered
            assert (await t.request("GET", "ping")).status == 200
        # a context that trusts something else still refuses the server
        async with make(base, ssl=ssl.create_default_context()) as t:
            with pytest.raises(qjobs.ConnectError, match="TLS"):
                await t.request("GET", "ping")
    assert len(peers) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("tls", [False, True])
async def test_sequential_requests_reuse_one_kept_alive_connection(
    tls: bool, certificate: tuple[Path, Path]
) -> None:
    peers: list[tuple[str, int]] = []
    server_ssl = server_context(certificate) if tls else None
    client_ssl = ssl.create_default_context(cafile=str(certificate[0])) if tls else None
    async with serve(server_ssl, peers) as base:
        async with make(base, ssl=client_ssl, rate_limit=RateLimit(max_concurrent=4)) as t:
            for _ in range(5):
                await t.request("GET", "ping")
        assert len(peers) == 5
        assert len(set(peers)) == 1  # one TCP (and TLS) connection for all five requests
