"""``qjobs jobs VERB --ledger FILE``: a scheduler's campaign as its ledger records it.

The ledger is read, never written, and its lock is never taken (see
:mod:`qjobs.scheduler._ledger_inspect`), so this works during a run and after a crash.

``list`` and ``results`` read the file only. ``status`` and ``cancel`` ask the provider about the
ledger's jobs still in flight (or the ``JOB_ID``\\s given), at the provider and endpoint the ledger
recorded, with the credentials the client resolves from the environment. Those credentials are
only sent to the recorded endpoint when it is the one they are configured for, or when
``--base-url`` names it: a ledger file cannot send a token somewhere else. A job recorded only as
an intent (killed before the provider's answer was stored) is looked up by its key where the
provider supports keys. ``--provider`` and ``--base-url`` also select the targets of a ledger
holding several, and say where to go for a file that did not record its target.
"""

from __future__ import annotations

import argparse
from contextlib import AsyncExitStack
from typing import Any

import anyio

from qjobs._core.models import Job, Result
from qjobs.cli._jobs import open_client, print_results
from qjobs.cli._ledger_views import print_jobs, print_overview, view_json
from qjobs.cli._reporting import UsageError
from qjobs.cli._tables import print_json, print_table
from qjobs.providers._base import ProviderClient, endpoint_of
from qjobs.scheduler._ledger_inspect import (
    LedgerJob,
    LedgerView,
    Target,
    iter_results,
    read_ledger,
)
from qjobs.scheduler._ledger_records import INTENT

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Run ``qjobs jobs VERB --ledger FILE``; returns the exit status."""
    view = read_ledger(args.ledger)
    targets = _selected(view, args)
    if args.verb == "list":
        if args.json:
            print_json(view_json(view, targets))
        else:
            print_overview(view, targets)
            print_jobs([j for j in view.jobs if j.target in targets], args.limit)
        return 0
    if args.verb == "results":
        return _results(args, view, targets)
    code: int = anyio.run(_ask_provider, args, view, targets)
    return code


def _selected(view: LedgerView, args: argparse.Namespace) -> list[Target]:
    """The ledger's targets that ``--provider`` and ``--base-url`` (when given) name.

    A target the file did not record matches any: only the provider can tell.
    """
    chosen = list(view.targets)
    if args.provider is not None:
        chosen = [t for t in chosen if t.provider in (None, args.provider)]
    if args.base_url is not None:
        wanted = endpoint_of(args.base_url)
        chosen = [t for t in chosen if t.endpoint in (None, wanted)]
    if view.targets and not chosen:
        shown = "; ".join(t.label for t in view.targets)
        given = f"--base-url {args.base_url}" if args.base_url else f"--provider {args.provider}"
        raise UsageError(f"{given} names none of the ledger's targets ({shown})")
    return chosen


def _results(args: argparse.Namespace, view: LedgerView, targets: list[Target]) -> int:
    if args.job_ids:
        raise UsageError("results --ledger takes no JOB_ID: the ledger's stored results are read")
    fetched: list[tuple[str, int, Result]] = []
    keys: list[str] = []
    for target in targets:
        for circuit, result in iter_results(args.ledger, target):
            fetched.append((result.job_id or "-", circuit.index, result))
            keys.append(circuit.key)
    metadata = {
        "ledger": view.path,
        "targets": [[t.provider, t.endpoint] for t in targets],
        "keys": keys,
    }
    print_results(args, fetched, [i for _, i, _ in fetched], metadata)
    return 0


def _jobs_asked(args: argparse.Namespace, view: LedgerView, target: Target) -> list[LedgerJob]:
    """The target's jobs named by ``JOB_ID``, or those in flight and the unconfirmed intents."""
    own = [j for j in view.jobs if j.target == target]
    if args.job_ids:
        return [j for j in own if j.job_id in set(args.job_ids)]
    return [j for j in own if j.in_flight or j.status == INTENT]


async def _client_for(
    stack: AsyncExitStack, args: argparse.Namespace, target: Target
) -> ProviderClient:
    """A client for ``target``, refusing to send credentials to an endpoint not confirmed."""
    provider = target.provider or args.provider
    if provider is None:
        raise UsageError(
            "the ledger does not record where its jobs ran (an older qjobs wrote it); "
            "give --provider NAME and --base-url URL"
        )
    client: ProviderClient = await stack.enter_async_context(open_client(provider, args.base_url))
    if target.endpoint is not None and client.endpoint != target.endpoint:
        raise UsageError(
            f"the ledger's {provider} jobs ran at {target.endpoint} but the {provider} "
            f"credentials are set up for {client.endpoint}; give --base-url {target.endpoint} "
            "to use them there"
        )
    return client


async def _ask_provider(args: argparse.Namespace, view: LedgerView, targets: list[Target]) -> int:
    if args.job_ids:
        known = {j.job_id for j in view.jobs if j.target in targets}
        missing = [j for j in args.job_ids if j not in known]
        if missing:
            raise UsageError(f"job {missing[0]} is not a job of the ledger {view.path}")
    rows: list[tuple[LedgerJob, Job | None]] = []
    async with AsyncExitStack() as stack:
        for target in targets:
            asked = _jobs_asked(args, view, target)
            if not asked:
                continue
            client = await _client_for(stack, args, target)
            current = await _current(client, asked)
            if args.verb == "cancel":
                current = await _cancel(client, current)
            rows.extend(current)
    _print_asked(args, rows)
    return 0


async def _cancel(
    client: ProviderClient, rows: list[tuple[LedgerJob, Job | None]]
) -> list[tuple[LedgerJob, Job | None]]:
    """Cancel the jobs of ``rows`` that are not final; the rows with their state after."""
    live = [job.id for _, job in rows if job is not None and not job.is_final]
    if not live:
        return rows
    await client.cancel_many(live)
    fresh = {job.id: job for job in await client.get_jobs(live)}
    return [(lj, None if job is None else fresh.get(job.id, job)) for lj, job in rows]


async def _current(
    client: ProviderClient, asked: list[LedgerJob]
) -> list[tuple[LedgerJob, Job | None]]:
    """Each job's current state at the provider; an intent is looked up by its key."""
    with_ids = [j for j in asked if j.job_id is not None]
    now = {job.id: job for job in await client.get_jobs([str(j.job_id) for j in with_ids])}
    out: list[tuple[LedgerJob, Job | None]] = []
    for lj in asked:
        if lj.job_id is not None:
            out.append((lj, now.get(lj.job_id)))
        elif client.capabilities.submit_key:
            out.append((lj, await client.find_by_key(lj.key)))
        else:
            out.append((lj, None))
    return out


def _print_asked(args: argparse.Namespace, rows: list[tuple[LedgerJob, Job | None]]) -> None:
    if args.json:
        print_json([_asked_json(lj, job) for lj, job in rows])
        return
    if not rows:
        print("no job of the ledger is in flight")
        return
    print_table(
        ("JOB ID", "LEDGER STATUS", "STATUS NOW", "PROVIDER STATUS", "CIRCUITS", "TARGET"),
        [
            (
                job.id if job else lj.job_id or "(not found)",
                lj.status,
                job.status.value if job else None,
                job.provider_status if job else None,
                lj.circuits,
                lj.target.label,
            )
            for lj, job in rows
        ],
    )


def _asked_json(lj: LedgerJob, job: Job | None) -> dict[str, Any]:
    return {
        "key": lj.key,
        "job_id": job.id if job else lj.job_id,
        "ledger_status": lj.status,
        "status": job.status.value if job else None,
        "provider_status": job.provider_status if job else None,
        "circuits": lj.circuits,
        "provider": lj.target.provider,
        "endpoint": lj.target.endpoint,
    }
