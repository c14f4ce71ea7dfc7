"""Interop fixtures: a qjobs emulator in a subprocess, which each official SDK is pointed at.

Run with ``make interop`` (a separate venv holding the SDKs, see requirements*.txt).
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
