"""The figures of a peer run, derived from a worker's raw measurement, and the issue's targets.

Pure functions (no I/O), so that a synthetic run checks them (tests/test_benchmarks_peers.py).
A run that raised keeps its counts (how far it got) and has no throughput.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LIMIT_SHARE",
    "MAX_429_SHARE",
    "PEER_SPEEDUP",
    "derive",
    "limit_share",
    "limit_target",
    "request_rate",
    "speedup",
    "speedup_target",
]

#: No server limit: qjobs' throughput at least this many times each peer's.
PEER_SPEEDUP = 3.0
#: Under the server limit: qjobs reaches this share of the throughput the limit allows ...
LIMIT_SHARE = 0.9
#: ... with at most this share of its requests answered 429 (and no duplicate job).
MAX_429_SHARE = 0.02


def derive(raw: dict[str, Any]) -> dict[str, Any]:
    """Add jobs/s, circuits/s, requests/job, the 429 share and jobs/circuit to a measurement.

    Request, 429 and job counts are the emulator's (``raw["emulator"]``); ``duplicates`` are
    circuits the emulator saw in more than one created job. Throughputs are None when the run
    failed or returned a wrong result.
    """
    out = dict(raw)
    n = max(int(raw["circuits"]), 1)
    wall = float(raw.get("wall_s") or 0.0)
    emu = raw.get("emulator") or {}
    requests = int(emu.get("total_requests") or 0)
    refused = int(emu.get("total_rate_limited") or 0)
    jobs = int(emu.get("jobs_created") or 0)
    ok = not raw.get("error") and int(raw.get("results_ok", -1)) == int(raw["circuits"])
    if not raw.get("error") and not ok:
        out["error"] = f"{raw.get('results_ok')} of {raw['circuits']} results correct"
    out.update(
        ok=ok,
        requests=requests,
        rate_limited=refused,
        rate_limited_share=refused / requests if requests else 0.0,
        jobs=jobs,
        circuits_per_s=n / wall if ok and wall > 0 else None,
        jobs_per_s=jobs / wall if ok and wall > 0 else None,
        requests_per_job=requests / jobs if jobs else None,
        requests_per_circuit=requests / n,
        jobs_per_circuit=jobs / n,
        created_per_circuit=int(emu.get("circuits_created") or 0) / n,
        duplicates=int(emu.get("duplicate_circuits") or 0),
    )
    return out


def speedup(qjobs: dict[str, Any], peer: dict[str, Any]) -> float | None:
    """qjobs' circuits/s over the peer's, None unless both runs succeeded."""
    q, p = qjobs.get("circuits_per_s"), peer.get("circuits_per_s")
    if q is None or p is None or p <= 0:
        return None
    return float(q) / float(p)


def limit_share(run: dict[str, Any], rate_limit: float) -> float | None:
    """The run's circuits/s over what the server limit allows it: ``rate_limit`` requests/s
    times its circuits per request answered (a 429 spends no request of the budget); None for
    a failed run."""
    cps = run.get("circuits_per_s")
    answered = int(run["requests"]) - int(run["rate_limited"])
    if cps is None or answered <= 0:
        return None
    allowed = rate_limit * int(run["circuits"]) / answered
    return float(cps) / allowed


def _target(
    name: str, value: float | None, target: str, met: bool, why: str = ""
) -> dict[str, Any]:
    return {
        "name": name if value is not None else f"{name} (not measured: {why})",
        "value": value if value is not None else 0.0,
        "target": target,
        "met": bool(met and value is not None),
    }


def _why(*runs: dict[str, Any]) -> str:
    return "; ".join(f"{r['label']} failed: {r['error']}" for r in runs if r.get("error"))[:200]


def speedup_target(provider: str, qjobs: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """The no-limit target row of one provider: qjobs' throughput >= 3x the peer's."""
    value = speedup(qjobs, peer)
    return _target(
        f"throughput vs {peer['sdk']} ({provider})",
        value,
        f">= {PEER_SPEEDUP:g}x",
        value is not None and value >= PEER_SPEEDUP,
        _why(qjobs, peer),
    )


def limit_target(provider: str, qjobs: dict[str, Any], rate_limit: float) -> dict[str, Any]:
    """The limited target row of one provider: qjobs reaches >= 90% of the throughput the limit
    allows, with <= 2% of its requests answered 429 and no duplicate job."""
    share = limit_share(qjobs, rate_limit)
    met = (
        share is not None
        and share >= LIMIT_SHARE
        and qjobs["rate_limited_share"] <= MAX_429_SHARE
        and qjobs["duplicates"] == 0
    )
    row = _target(
        f"{provider}: share of the throughput {rate_limit:g} req/s allow "
        f"(429s {qjobs['rate_limited_share'] * 100:.1f}%, {qjobs['duplicates']} duplicates)",
        share,
        f">= {LIMIT_SHARE:.0%}, 429s <= {MAX_429_SHARE:.0%}, 0 duplicates",
        met,
        _why(qjobs),
    )
    used = request_rate(qjobs)
    if not met and used is not None and qjobs["rate_limited"] == 0 and used < rate_limit / 2:
        # Batched runs send so few requests that the jobs' own queue and execution time set the
        # pace: the limit never binds, so the share says nothing about the limiter.
        row["applies"] = False
        row["name"] += (
            f" (not request-bound: {used:.1f} req/s used of {rate_limit:g}; the jobs' queue and "
            "execution time set the pace)"
        )
    return row


def request_rate(run: dict[str, Any]) -> float | None:
    """Requests answered per second of the run's wall time (None for a failed run)."""
    wall = float(run.get("wall_s") or 0.0)
    if run.get("circuits_per_s") is None or wall <= 0:
        return None
    return (int(run["requests"]) - int(run["rate_limited"])) / wall
