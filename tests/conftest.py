"""Shared fixtures: anyio on asyncio for every async test, and loopback only.

Tests only ever talk to 127.0.0.1: name resolution of any other host fails the test at once
instead of reaching for the network (a client built without ``base_url`` would otherwise try the
provider's real API).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "", None})
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name not in _LOOPBACK and not str(name).startswith("127."):
        raise OSError(f"tests talk only to 127.0.0.1; refused to resolve {name!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    socket.getaddrinfo = _loopback_only
    try:
        yield
    finally:
        socket.getaddrinfo = _real_getaddrinfo


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A private PostgreSQL server for the whole run (tests/postgres_server.py), or a skip."""
    from postgres_server import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed: no initdb on PATH or in /usr/lib/postgresql")
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install -e '.[dev]')")
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server: Any) -> str:
    """The URL of a new, empty database on the test run's PostgreSQL server."""
    url: str = postgres_server.new_database()
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_db(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """A new ledger on each backend: a SQLite path, then a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "run.db"
    return request.getfixturevalue("pg_url")
