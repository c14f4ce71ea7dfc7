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
