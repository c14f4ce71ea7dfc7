"""Interop fixtures: a qjobs emulator in a subprocess, which each official SDK is pointed at.

Run with ``make interop`` (a separate venv holding the SDKs, see requirements*.txt).

Every SDK test runs under each of :data:`TIMINGS` (the ``timing`` fixture, which each module's
emulator fixtures pass to :func:`running` first): jobs that finish at once, and jobs that queue
and execute for a while behind a slow network, so that the SDKs' polling, the queued and
running statuses and the timing fields of the answers are exercised too. Options a fixture
gives itself come after the timing's and win (argparse keeps the last value), e.g. the minute
long queue of the cancellation fixtures.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest

#: ``qjobs emulate`` options of each timing every interop test runs under.
TIMINGS: dict[str, tuple[str, ...]] = {
    "instant": (),
    "slow": ("--queue-ms", "300", "--exec-ms", "200", "--latency-ms", "20"),
}


@pytest.fixture(scope="module", params=list(TIMINGS))
def timing(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """The emulator options of one timing (see :data:`TIMINGS`)."""
    options: tuple[str, ...] = TIMINGS[request.param]
    return options


class Emulator:
    """A ``python -m qjobs emulate <provider>`` subprocess and its base URL."""

    def __init__(self, provider: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qjobs", "emulate", provider, "--port", "0", *args],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        if not ready:
            self.proc.kill()
            raise RuntimeError("the emulator did not start")
        name, self.base_url = self.proc.stdout.readline().split()
        assert name == provider

    def stats(self) -> dict[str, Any]:
        """The emulator's ``/_qjobs/stats`` counters (served at the root, whatever the API path)."""
        url = urlsplit(self.base_url)
        with urllib.request.urlopen(
            f"{url.scheme}://{url.netloc}/_qjobs/stats", timeout=10
        ) as resp:
            data: dict[str, Any] = json.loads(resp.read())
            return data

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)


@contextmanager
def running(provider: str, *args: str) -> Iterator[Emulator]:
    """An emulator for the block, which must then exit cleanly on SIGINT."""
    emu = Emulator(provider, *args)
    try:
        yield emu
    finally:
        assert emu.stop() == 0
