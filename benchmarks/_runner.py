"""Running a contestant in a fresh worker process and deriving the per-circuit figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["derive", "run_worker"]

ROOT = Path(__file__).resolve().parent.parent
_PREFIX = "RESULT "


def run_worker(spec: dict[str, Any], *, timeout: float = 900.0) -> dict[str, Any]:
    """Run ``spec`` in ``python -m benchmarks._worker`` and return its derived measurements."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks._worker", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(
            f"benchmark worker {spec['contestant']} failed (exit {proc.returncode}):\n{tail}"
        )
    raw: dict[str, Any] = json.loads(lines[-1][len(_PREFIX) :])
    return derive(raw)


def derive(raw: dict[str, Any]) -> dict[str, Any]:
    """Add circuits/s, requests/circuit, CPU/circuit and RSS figures to a raw measurement."""
    out = dict(raw)
    n = max(int(raw["circuits"]), 1)
    wall = float(raw["wall_s"])
    out["circuits_per_s"] = n / wall if wall > 0 else float("inf")
    emu = raw.get("emulator")
    server_requests = emu["total_requests"] if emu else None
    out["requests"] = server_requests if server_requests is not None else raw["client_requests"]
    out["requests_per_circuit"] = out["requests"] / n
    out["cpu_per_circuit_ms"] = float(raw["cpu_s"]) * 1000.0 / n
    out["peak_rss_mib"] = raw["peak_rss_kib"] / 1024.0
    delta_kib = max(raw["peak_rss_kib"] - raw["rss_before_kib"], 0)
    out["rss_delta_mib"] = delta_kib / 1024.0
    out["rss_delta_per_circuit_bytes"] = delta_kib * 1024.0 / n
    return out
