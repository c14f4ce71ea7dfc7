"""Interop fixtures: the qjobs IonQ emulator in a subprocess, found by the official SDK via env.

Run with ``make interop`` (a separate venv holding qiskit-ionq, see requirements.txt).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

TOKEN = "interop-token"


class Emulator:
    """A ``python -m qjobs emulate ionq`` subprocess and its base URL."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qjobs",
                "emulate",
                "ionq",
                "--port",
                "0",
                "--token",
                TOKEN,
                *args,
            ],
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
        assert name == "ionq"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """An emulator whose jobs complete at once; the SDK is pointed at it through the env."""
    emu = Emulator("--seed", "7")
    saved = {
        k: os.environ.get(k)
        for k in ("IONQ_API_URL", "IONQ_API_KEY", "QISKIT_IONQ_API_URL", "QISKIT_IONQ_API_TOKEN")
    }
    os.environ.pop("QISKIT_IONQ_API_URL", None)
    os.environ.pop("QISKIT_IONQ_API_TOKEN", None)
    os.environ["IONQ_API_URL"] = emu.base_url
    os.environ["IONQ_API_KEY"] = TOKEN
    try:
        yield emu
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        assert emu.stop() == 0


@pytest.fixture(scope="session")
def slow_emulator(emulator: Emulator) -> Iterator[Emulator]:
    """An emulator whose jobs queue for a minute (for cancellation)."""
    emu = Emulator("--queue-ms", "60000", "--exec-ms", "1000")
    try:
        yield emu
    finally:
        assert emu.stop() == 0
