"""One contestant in one fresh process: ``python -m benchmarks.peers._worker '<json spec>'``.

The spec says ``contestant`` (``"peer"``: the provider's SDK, run by the interop venv's
python; ``"qjobs"``), ``provider``, ``base_url``, ``token``, ``count``, ``shots`` and ``poll``.
The worker prepares the run (untimed: circuits, SDK import), zeroes the emulator's statistics,
times the run, and prints one line ``RESULT <json>``: the run's own counts, ``wall_s``,
``cpu_s``, the emulator's counters, and ``error`` when the run raised (the counters are still
read, so a failed run says how far it got).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from benchmarks import _emulator

__all__ = ["EMULATOR_FIELDS", "main", "measure"]

_PREFIX = "RESULT "
#: The emulator counters a result keeps.
EMULATOR_FIELDS = (
    "requests",
    "total_requests",
    "total_rate_limited",
    "jobs_created",
    "circuits_created",
    "duplicate_circuits",
)


def _prepare(spec: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    args = (spec["base_url"], spec["token"], spec["count"], spec["shots"])
    if spec["contestant"] == "qjobs":
        from benchmarks.peers import qjobs_defaults

        return qjobs_defaults.prepare(spec["provider"], *args)
    if spec["contestant"] == "peer":
        module = importlib.import_module(f"benchmarks.peers.{spec['provider']}")
        prepare: Callable[..., Callable[[], dict[str, Any]]] = module.prepare
        return prepare(*args, spec["poll"])
    raise ValueError(f"unknown contestant {spec['contestant']!r}")


def _describe(exc: Exception) -> str:
    """``Type: message``, with the HTTP status first when the SDK's error carries one, and its
    parsed body (``body``) as the message when it has one."""
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    prefix = f"HTTP {status} " if isinstance(status, int) else ""
    body = getattr(exc, "body", None)
    message = body if body is not None else exc
    return f"{prefix}{type(exc).__name__}: {message}"[:500]


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one contestant and return its measurements (an ``error`` instead of raising)."""
    run = _prepare(spec)
    url = spec["base_url"]
    _emulator.reset_stats(url)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    out: dict[str, Any] = {"circuits": spec["count"]}
    try:
        out.update(run())
    except Exception as exc:
        traceback.print_exc()
        out["error"] = _describe(exc)
    out["wall_s"] = time.perf_counter() - t0
    out["cpu_s"] = time.process_time() - cpu0
    emu = _emulator.stats(url)
    out["emulator"] = {k: emu.get(k) for k in EMULATOR_FIELDS}
    return out


def main(argv: list[str]) -> int:
    """Entry point: one JSON spec argument; the result on stdout."""
    if len(argv) != 1:
        print("usage: python -m benchmarks.peers._worker '<json spec>'", file=sys.stderr)
        return 2
    result = measure(json.loads(argv[0]))
    print(_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
