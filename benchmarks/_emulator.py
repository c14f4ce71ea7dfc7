"""An emulator in its own process (``qjobs emulate ionq`` by default): the client is measured
alone."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Any, Self

__all__ = ["EmulatorProcess", "reset_stats", "stats"]

_START_TIMEOUT = 30.0


def _root(base_url: str) -> str:
    """The server root (where ``/_qjobs/...`` lives) of a provider base URL."""
    scheme, _, rest = base_url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}"


def stats(base_url: str) -> dict[str, Any]:
    """``GET /_qjobs/stats`` of the emulator serving ``base_url`` (not counted by the emulator)."""
    with urllib.request.urlopen(_root(base_url) + "/_qjobs/stats", timeout=30) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


def reset_stats(base_url: str) -> None:
    """``DELETE /_qjobs/stats``: zero the counters and forget finished jobs."""
    req = urllib.request.Request(_root(base_url) + "/_qjobs/stats", method="DELETE")
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


class EmulatorProcess:
    """``with EmulatorProcess(latency_ms=20, ...) as emu: emu.base_url``; stopped with SIGTERM.

    ``provider`` names the emulator (IonQ by default); ``extra`` are further ``qjobs emulate``
    options (``--rate-limit 50 --burst 20``).
    """

    def __init__(
        self,
        *,
        latency_ms: float,
        queue_ms: float,
        exec_ms: float,
        seed: int = 0,
        provider: str = "ionq",
        extra: Sequence[str] = (),
    ):
        self.provider = provider
        self.args = [
            sys.executable,
            "-m",
            "qjobs",
            "emulate",
            provider,
            "--latency-ms",
            repr(latency_ms),
            "--queue-ms",
            repr(queue_ms),
            "--exec-ms",
            repr(exec_ms),
            "--seed",
            str(seed),
            *extra,
        ]
        self.base_url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._proc = proc
        try:
            self.base_url = _read_url(proc.stdout, self.provider)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the emulator (SIGTERM, then SIGKILL after 10 s). Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _read_url(stream: IO[str] | None, provider: str = "ionq") -> str:
    """The base URL from the emulator's first line ``ionq http://127.0.0.1:PORT/v0.4``."""
    if stream is None:
        raise RuntimeError("the emulator has no stdout")
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        if not sel.select(_START_TIMEOUT):
            raise RuntimeError(f"the emulator printed nothing in {_START_TIMEOUT:.0f} s")
    line = stream.readline()
    parts = line.split()
    if len(parts) != 2 or parts[0] != provider or not parts[1].startswith("http"):
        raise RuntimeError(f"unexpected first line from the emulator: {line!r}")
    with contextlib.suppress(Exception):
        stats(parts[1])  # reachable
    return parts[1]
