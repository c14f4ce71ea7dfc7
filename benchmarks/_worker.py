"""One contestant in one fresh process: ``python -m benchmarks._worker '<json spec>'``.

The spec names the contestant and its parameters. The worker prepares it (untimed), zeroes the
emulator's statistics, then measures the timed part: wall time, CPU time of this process
(``time.process_time``, every thread), and peak RSS (``VmHWM``) before and after. It prints
one line ``RESULT <json>`` on stdout.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks import _emulator

__all__ = ["main", "measure"]

_PREFIX = "RESULT "


def _peak_rss_kib() -> int:
    """Peak resident set size of this process image so far, KiB.

    Linux's ``VmHWM`` (``/proc/self/status``) belongs to the running image only; ``ru_maxrss``
    would also carry the parent's peak across fork and exec, so it is only the fallback.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024) if sys.platform == "darwin" else int(peak)


def _timed(spec: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    # Imported here so that a baseline's process never loads qjobs (its RSS is its own).
    kind = spec["contestant"]
    p = spec["params"]
    if kind in ("sequential", "pool"):
        from benchmarks import baselines
    else:
        from benchmarks import contestants
    url = spec.get("base_url", "")
    if kind == "sequential":
        return lambda: baselines.run_sequential(url, **p)
    if kind == "pool":
        return lambda: baselines.run_pool(url, **p)
    if kind == "qjobs_async":
        return contestants.prepare_async(url, **p)
    if kind == "qjobs_sync":
        return contestants.prepare_sync(url, **p)
    if kind == "qjobs_memory":
        return contestants.prepare_memory(**p)
    if kind == "aiohttp_gather":
        from benchmarks import cpu_http

        return cpu_http.prepare_aiohttp(url, **p)
    raise ValueError(f"unknown contestant {kind!r}")


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one contestant and return its measurements."""
    run = _timed(spec)
    url = spec.get("base_url")
    if url:
        _emulator.reset_stats(url)
    rss_before = _peak_rss_kib()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    out = run()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    out.update(
        contestant=spec["contestant"],
        wall_s=wall,
        cpu_s=cpu,
        rss_before_kib=rss_before,
        peak_rss_kib=_peak_rss_kib(),
    )
    if url:
        emu = _emulator.stats(url)
        out["emulator"] = {
            k: emu[k] for k in ("requests", "total_requests", "jobs_created", "peak_active_jobs")
        }
    return out


def main(argv: list[str]) -> int:
    """Entry point: one JSON spec argument; the result on stdout."""
    if len(argv) != 1:
        print("usage: python -m benchmarks._worker '<json spec>'", file=sys.stderr)
        return 2
    result = measure(json.loads(argv[0]))
    print(_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
