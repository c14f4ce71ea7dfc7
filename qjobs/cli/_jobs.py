"""``qjobs jobs list|status|cancel|results``: a provider's jobs, or a ledger's, from the shell.

Against a provider (``--provider NAME``) the client is built exactly as ``qjobs.connect(NAME)``
builds it: credentials and base URL from the provider's environment variables, config files and
``./.env`` (``--base-url`` overrides the URL; a token is never taken on the command line, so it
never shows in ``ps`` or shell history). Against a ledger (``--ledger FILE``, see
:mod:`qjobs.cli._jobs_ledger`) the verbs read the file, and ``status``/``cancel`` go to the
provider and endpoint the ledger recorded.

Output is an aligned table, or JSON with ``--json``. Exit status: 0, 2 for bad input (including
a job id the provider does not know), 1 when the provider fails, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from qjobs._core.errors import InputError
from qjobs._core.models import Job, Result
from qjobs.cli._reporting import UsageError, report
from qjobs.cli._results_file import save_results, top_outcomes
from qjobs.cli._tables import print_json, print_table
from qjobs.providers import PROVIDERS, connect
from qjobs.providers._base import ProviderClient, job_id

__all__ = ["JOB_HEADERS", "add_parser", "job_json", "job_row", "open_client", "run"]

#: Columns of a job table.
JOB_HEADERS = ("JOB ID", "STATUS", "PROVIDER STATUS", "BACKEND", "SHOTS", "CIRCUITS", "CREATED")


def add_parser(subparsers: Any) -> None:
    """Register ``qjobs jobs`` and its four verbs on an ``argparse`` subparsers object."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where the jobs are")
    where.add_argument(
        "--provider",
        metavar="NAME",
        help=f"the provider to ask ({', '.join(PROVIDERS)}); with --ledger: only its jobs",
    )
    where.add_argument(
        "--ledger", type=Path, metavar="FILE", help="a scheduler's ledger (read-only)"
    )
    where.add_argument(
        "--base-url",
        metavar="URL",
        help="the provider's API URL (default: as the client resolves it, env and config)",
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser = subparsers.add_parser(
        "jobs",
        help="list, inspect, cancel and fetch jobs at a provider or in a ledger",
        description=(
            "List, inspect, cancel and fetch jobs, at a provider (--provider NAME, credentials "
            "as the clients resolve them) or in a scheduler's ledger (--ledger FILE)."
        ),
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    text = "recent jobs; with --ledger: the circuits by state and the jobs, in flight first"
    lister = verbs.add_parser("list", parents=[common], help=text, description=text)
    lister.add_argument(
        "--limit", type=int, default=20, metavar="N", help="jobs to show (default 20)"
    )
    ids_help = "provider job ids (with --ledger: default every job still in flight)"
    text = "jobs' current status at the provider (with --ledger: beside the recorded one)"
    status = verbs.add_parser("status", parents=[common], help=text, description=text)
    status.add_argument("job_ids", nargs="*", metavar="JOB_ID", help=ids_help)
    text = "cancel jobs at the provider (with --ledger: the jobs still in flight)"
    cancel = verbs.add_parser("cancel", parents=[common], help=text, description=text)
    cancel.add_argument("job_ids", nargs="*", metavar="JOB_ID", help=ids_help)
    text = "completed jobs' results (with --ledger: the stored ones), to a .npz with -o"
    results = verbs.add_parser("results", parents=[common], help=text, description=text)
    results.add_argument(
        "job_ids", nargs="*", metavar="JOB_ID", help="provider job ids (not with --ledger)"
    )
    results.add_argument(
        "-o", "--out", type=Path, default=None, help="write the results to this .npz"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``qjobs jobs VERB`` with parsed ``args``; returns the exit status."""
    return report(f"qjobs jobs {args.verb}", lambda: _dispatch(args))


def _dispatch(args: argparse.Namespace) -> int:
    if args.verb == "list" and args.limit < 1:
        raise InputError("--limit", args.limit, "must be an integer >= 1")
    if args.provider is not None and args.provider not in PROVIDERS:
        raise InputError("--provider", args.provider, f"unknown; choose one of {list(PROVIDERS)}")
    if args.ledger is not None:
        from qjobs.cli import _jobs_ledger

        return _jobs_ledger.run(args)
    if args.provider is None:
        raise UsageError("give --provider NAME or --ledger FILE")
    if args.verb != "list" and not args.job_ids:
        raise UsageError(f"give at least one JOB_ID to {args.verb}")
    code: int = anyio.run(_VERBS[args.verb], args)
    return code


@contextlib.asynccontextmanager
async def open_client(provider: str, base_url: str | None) -> AsyncIterator[ProviderClient]:
    """The provider's client, credentials resolved as ``qjobs.connect`` resolves them."""
    options: dict[str, Any] = {} if base_url is None else {"base_url": base_url}
    async with connect(provider, **options) as client:
        yield client


def job_row(job: Job) -> tuple[Any, ...]:
    """One row of :data:`JOB_HEADERS` for ``job``."""
    created = job.created_at.strftime("%Y-%m-%d %H:%M:%S") if job.created_at else None
    return (
        job.id,
        job.status.value,
        job.provider_status,
        job.backend,
        job.shots,
        job.circuit_count,
        created,
    )


def job_json(job: Job) -> dict[str, Any]:
    """``job`` as a JSON-ready mapping."""
    return {
        "id": job.id,
        "provider": job.provider,
        "status": job.status.value,
        "provider_status": job.provider_status,
        "backend": job.backend,
        "shots": job.shots,
        "circuits": job.circuit_count,
        "name": job.name,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "failure": job.failure.message if job.failure else None,
    }


def _print_jobs(args: argparse.Namespace, jobs: list[Job]) -> None:
    if args.json:
        print_json([job_json(j) for j in jobs])
    else:
        print_table(JOB_HEADERS, [job_row(j) for j in jobs])


async def _list(args: argparse.Namespace) -> int:
    async with open_client(args.provider, args.base_url) as client:
        jobs: list[Job] = []
        listing = client.iter_jobs()
        try:
            async for job in listing:
                jobs.append(job)
                if len(jobs) >= args.limit:
                    break
        finally:
            close = getattr(listing, "aclose", None)  # stop fetching pages at once
            if close is not None:
                await close()
    _print_jobs(args, jobs)
    return 0


def _ids(args: argparse.Namespace) -> list[str]:
    return [job_id(j, "JOB_ID", what="a job id") for j in args.job_ids]


async def _status(args: argparse.Namespace) -> int:
    async with open_client(args.provider, args.base_url) as client:
        jobs = await client.get_jobs(_ids(args))
    _print_jobs(args, jobs)
    return 0


async def _cancel(args: argparse.Namespace) -> int:
    async with open_client(args.provider, args.base_url) as client:
        ids = _ids(args)
        await client.get_jobs(ids)  # an unknown id fails here, before anything is cancelled
        await client.cancel_many(ids)
        jobs = await client.get_jobs(ids)
    _print_jobs(args, jobs)
    return 0


async def _results(args: argparse.Namespace) -> int:
    fetched: list[tuple[str, int, Result]] = []
    async with open_client(args.provider, args.base_url) as client:
        for jid in _ids(args):
            for pos, res in enumerate(await client.results(jid)):
                fetched.append((jid, pos, res))
        endpoint = client.endpoint
    metadata = {
        "provider": args.provider,
        "endpoint": endpoint,
        "circuits": [p for _, p, _ in fetched],
    }
    print_results(args, fetched, list(range(len(fetched))), metadata)
    return 0


def print_results(
    args: argparse.Namespace,
    fetched: list[tuple[str, int, Result]],
    indices: list[int],
    metadata: dict[str, Any],
) -> None:
    """Show ``fetched`` (job id, circuit, result) and write them to ``args.out`` (``-o``).

    ``indices`` is each result's point on the file's ``index`` axis.
    """
    path = None
    if args.out is not None:
        path = save_results(args.out, [r for _, _, r in fetched], indices, metadata)
    if args.json:
        print_json(
            {
                "results": [
                    {"job_id": jid, "circuit": pos, "shots": r.shots, "counts": r.counts}
                    for jid, pos, r in fetched
                ],
                "out": None if path is None else str(path),
            }
        )
        return
    print_table(
        ("JOB ID", "CIRCUIT", "SHOTS", "CLBITS", "TOP OUTCOMES"),
        [(jid, pos, r.shots, r.num_clbits, top_outcomes(r)) for jid, pos, r in fetched],
    )
    if path is not None:
        print(f"wrote {len(fetched)} result(s) to {path}")


_VERBS = {"list": _list, "status": _status, "cancel": _cancel, "results": _results}
