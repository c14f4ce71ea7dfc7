"""How ``qjobs ledger show`` and ``qjobs jobs list --ledger`` print a ledger's contents."""

from __future__ import annotations

from typing import Any

from qjobs.cli._tables import print_table
from qjobs.scheduler._ledger_inspect import LedgerJob, LedgerView, Target

__all__ = ["print_jobs", "print_overview", "view_json"]

_JOB_HEADERS = ("JOB ID", "STATUS", "CIRCUITS", "RESULTS", "IN FLIGHT", "TARGET", "KEY")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{state} {n}" for state, n in counts.items()) or "none"


def print_overview(view: LedgerView, targets: list[Target]) -> None:
    """The totals, then per target: its provider and endpoint, circuits by state, jobs."""
    print(
        f"ledger {view.path} (format {view.version}): {len(view.circuits)} circuit(s), "
        f"{len(view.jobs)} job(s), {len(view.in_flight)} in flight, "
        f"{view.results} result(s) stored"
    )
    for target in targets:
        circuits = [c for c in view.circuits if c.target == target]
        print(f"target {target.label}")
        print(f"  circuits  {len(circuits)}: {_counts(view.states(target))}")
        print(f"  jobs      {_counts(view.job_statuses(target))}")
        print(f"  results   {sum(c.has_result for c in circuits)} stored")
        flying = [j.job_id for j in view.in_flight if j.target == target]
        if flying:
            print(f"  in flight {len(flying)}: {' '.join(str(j) for j in flying)}")


def print_jobs(jobs: list[LedgerJob], limit: int | None = None) -> None:
    """A table of ``jobs``, those in flight first; at most ``limit`` rows (then a count)."""
    ordered = sorted(jobs, key=lambda j: not j.in_flight)
    shown = ordered if limit is None else ordered[:limit]
    print_table(
        _JOB_HEADERS,
        [
            (
                j.job_id or "(none yet)",
                j.status,
                j.circuits,
                j.results,
                "yes" if j.in_flight else "",
                j.target.provider,
                j.key,
            )
            for j in shown
        ],
    )
    if len(shown) < len(ordered):
        print(f"... {len(ordered) - len(shown)} more job(s) (--limit)")


def _job_json(job: LedgerJob) -> dict[str, Any]:
    return {
        "key": job.key,
        "job_id": job.job_id,
        "status": job.status,
        "in_flight": job.in_flight,
        "size": job.size,
        "circuits": job.circuits,
        "results": job.results,
        "error": job.error,
        "provider": job.target.provider,
        "endpoint": job.target.endpoint,
    }


def view_json(view: LedgerView, targets: list[Target]) -> dict[str, Any]:
    """The ledger's contents (of ``targets``) as a JSON-ready mapping."""
    return {
        "path": view.path,
        "format": view.version,
        "circuits": len(view.circuits),
        "results": view.results,
        "targets": [
            {
                "provider": t.provider,
                "endpoint": t.endpoint,
                "circuits": view.states(t),
                "jobs": view.job_statuses(t),
                "results": sum(c.has_result for c in view.circuits if c.target == t),
            }
            for t in targets
        ],
        "in_flight": [j.job_id for j in view.in_flight if j.target in targets],
        "jobs": [_job_json(j) for j in view.jobs if j.target in targets],
    }
