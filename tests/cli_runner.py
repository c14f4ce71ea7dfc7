"""Running the ``qjobs`` command in tests: a subprocess that leaves the event loop free.

Shared by the CLI tests: the environment (no IonQ settings of the user's, a test token), the run
itself (``anyio.run_process``, so an emulator served by the test keeps answering), and the check
that an error is one stderr line with the right status. Every run is checked for the token and
for tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "cli-jobs-secret-token"


#: Prefixes of the providers' settings in the environment: none of the user's leaks into a test.
_SETTINGS = ("IONQ_", "QISKIT_IONQ_", "QBRAID_", "KQH_", "PLANQK_", "QHUB_", "QPI_", "QIBO_")


def env(token: str | None = TOKEN, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI run: no provider settings of the user's, this test's IonQ
    token (when not None) and ``extra`` variables."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(_SETTINGS)}
    out["PYTHONPATH"] = str(ROOT)
    if token is not None:
        out["IONQ_API_KEY"] = token
    out.update(extra or {})
    return out


class Ran:
    """A finished CLI run: exit status and decoded output."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.out)


async def qjobs_cli(
    args: Sequence[str],
    cwd: Path,
    token: str | None = TOKEN,
    extra_env: Mapping[str, str] | None = None,
) -> Ran:
    """Run ``python -m qjobs ARGS`` without blocking the loop; the token never shows."""
    proc = await anyio.run_process(
        [sys.executable, "-m", "qjobs", *args], cwd=cwd, env=env(token, extra_env), check=False
    )
    ran = Ran(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    assert TOKEN not in ran.out + ran.err
    assert "Traceback" not in ran.err
    return ran


def one_line(ran: Ran, code: int, *needles: str) -> None:
    """``ran`` failed with ``code`` and exactly one stderr line holding every needle."""
    assert ran.code == code, (ran.code, ran.out, ran.err)
    assert ran.err.count("\n") == 1, ran.err
    for needle in needles:
        assert needle in ran.err, (needle, ran.err)
