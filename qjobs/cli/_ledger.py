"""``qjobs ledger show|verify FILE``: what a scheduler's ledger holds, and whether it is sound.

Both read the file read-only without taking its lock (see :mod:`qjobs.scheduler._ledger_inspect`),
so they work while the run is going and after it was killed.

``show`` prints the format, each target (provider and endpoint) with its circuits by state, its
jobs by status and the results stored, the jobs still in flight, and a table of every job.
``verify`` exits 0 when the ledger is sound and 1 when it is not, with a one-line summary and
one line per problem. A missing file, a file that is not a qjobs ledger or a corrupt one exits 2
with one stderr line.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from qjobs.cli._ledger_views import print_jobs, print_overview, view_json
from qjobs.cli._reporting import report
from qjobs.cli._tables import print_json
from qjobs.scheduler._ledger_inspect import read_ledger, verify_ledger

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``qjobs ledger show|verify`` on an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "ledger",
        help="show what a scheduler's ledger holds, or verify it",
        description="Inspect a scheduler's SQLite ledger (read-only; works during a run).",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (
        ("show", "targets, circuits by state, jobs, results stored"),
        ("verify", "every completed circuit has its result, results decode, job ids unique"),
    ):
        sub = verbs.add_parser(verb, help=text, description=text)
        sub.add_argument("file", type=Path, metavar="FILE", help="the ledger file")
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``qjobs ledger VERB FILE``; returns the exit status."""
    call = _show if args.verb == "show" else _verify
    return report(f"qjobs ledger {args.verb}", lambda: call(args))


def _show(args: argparse.Namespace) -> int:
    view = read_ledger(args.file)
    if args.json:
        print_json(view_json(view, view.targets))
    else:
        print_overview(view, view.targets)
        print_jobs(view.jobs)
    return 0


def _verify(args: argparse.Namespace) -> int:
    view, problems = verify_ledger(args.file)
    if args.json:
        print_json({"path": view.path, "sound": not problems, "problems": problems})
        return 1 if problems else 0
    if not problems:
        print(
            f"ledger {view.path} is sound: {len(view.circuits)} circuit(s), {view.results} "
            f"result(s) stored and decoded, {len(view.jobs)} job(s), "
            f"{len(view.in_flight)} in flight"
        )
        return 0
    print(f"ledger {view.path} is not sound: {len(problems)} problem(s)")
    for line in problems:
        print(f"  {line}")
    return 1
