"""The suite's own guard (tests/conftest.py): no test resolves a host other than loopback."""

from __future__ import annotations

import socket

import pytest


def test_non_loopback_hosts_are_refused() -> None:
    with pytest.raises(OSError, match=r"only to 127\.0\.0\.1"):
        socket.getaddrinfo("api.ionq.co", 443)
    assert socket.getaddrinfo("127.0.0.1", 80)
