"""Many workers, one sweep: the campaign shared through a PostgreSQL ledger.

Each worker process (or host, or Dask task) calls :func:`run_worker` with the same sweep, the
provider to connect to and the same ``postgresql://`` URL. The workers compute the same
circuit keys, hence the same campaign, cut into shards of ``shard_size`` points; each takes
shards one at a time under a lease (:mod:`qjobs.scheduler._ledger_pg_shards`), runs the shard's
circuits through its own :class:`~qjobs.Scheduler` journaling in the shared ledger, and marks the
shard done. A worker that dies holds its shard until the lease expires; another worker then takes
it over and resumes it from the ledger like a rerun (jobs re-attached, intents looked up by key),
so every circuit is still submitted once. Results never travel between workers: they are in the
ledger, and :func:`assemble` reads the whole :class:`~qjobs.SweepResult` from there.

``run_worker`` returns when every shard of the campaign is done (by whichever worker), so each
worker may assemble the result afterwards. Progress (``progress=``) is the whole campaign's, read
from the ledger: a :class:`~qjobs.scheduler.Progress` whose counts cover every worker.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import numpy as np

from qjobs._core.errors import InputError, LedgerError
from qjobs._core.validation import is_int
from qjobs.scheduler._events import Progress
from qjobs.scheduler._groups import collapse
from qjobs.scheduler._ledger_records import unpack_result
from qjobs.scheduler._scheduler import Scheduler, keep_jobs, key_at, submit_at, with_ledger
from qjobs.sweep._result import SweepResult
from qjobs.sweep._sweep import Sweep, results_on_grid

if TYPE_CHECKING:
    import psycopg

    from qjobs.providers import ProviderClient
    from qjobs.scheduler._ledger_pg_shards import CampaignCounts, ShardLease

__all__ = [
    "as_progress",
    "assemble",
    "campaign_id",
    "check_worker_options",
    "coordination",
    "default_worker_id",
    "describe_campaign",
    "read_counts",
    "report_progress",
    "run_worker",
    "work_on_campaign",
]

logger = logging.getLogger("qjobs.sweep")

#: Longest pause between two looks at the ledger while other workers finish their shards.
_MAX_WAIT = 1.0


def default_worker_id() -> str:
    """``host:pid``, a worker name unique among live processes."""
    return f"{socket.gethostname()}:{os.getpid()}"


@asynccontextmanager
async def coordination(url: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[Any, ...]]]:
    """A connection for claims and heartbeats, on a migrated schema."""
    from qjobs.scheduler._ledger_backend import redact_url
    from qjobs.scheduler._ledger_pg import connect
    from qjobs.scheduler._ledger_pg_schema import migrate

    conn = await connect(url)
    try:
        await migrate(conn, redact_url(url))
        yield conn
    finally:
        await conn.close()


def check_worker_options(ledger_url: str, worker_id: str, shard_size: int, lease: float) -> None:
    from qjobs.scheduler._ledger_backend import is_postgres_url

    if not is_postgres_url(ledger_url):
        raise InputError(
            "ledger", str(ledger_url), "workers share a PostgreSQL ledger: a postgresql:// URL"
        )
    if not isinstance(worker_id, str) or not worker_id:
        raise InputError("worker_id", worker_id, "expected a non-empty string")
    if not is_int(shard_size, low=1):
        raise InputError("shard_size", shard_size, "expected a positive integer")
    if isinstance(lease, bool) or not isinstance(lease, int | float) or not 1.0 <= lease < 86400:
        raise InputError("lease", lease, "expected seconds, at least 1 and under a day")


async def run_worker(
    sweep: Sweep,
    provider: str,
    ledger_url: str,
    *,
    connect_options: Mapping[str, Any] | None = None,
    worker_id: str | None = None,
    backend: str | None = None,
    shots: int,
    shard_size: int = 100,
    lease: float = 30.0,
    share_rate_limit: bool = True,
    progress: Callable[[Progress], None] | None = None,
    **scheduler_options: Any,
) -> None:
    """Work on ``sweep``'s campaign in the PostgreSQL ledger at ``ledger_url`` until it is done.

    The entry point of one worker (a process, a host, a Dask task): it opens its own client with
    ``qjobs.connect(provider, **connect_options)`` (``token``, ``base_url``, ``rate_limit``...;
    credentials from the environment when omitted). Every worker must target the same provider and
    endpoint, backend, shots and job options, or they compute different keys and run separate
    campaigns. ``worker_id`` names the worker in the shard leases (default ``host:pid``; unique per
    live worker). ``shard_size`` points make a shard; a lease lasts ``lease`` seconds and is renewed
    every third of that while the worker lives, so a dead worker's shard is taken over by another
    ``lease`` seconds after its last renewal. ``progress`` is called about twice a second with the
    whole campaign's counts, read from the ledger. With ``share_rate_limit`` (the default) and a
    client whose rate limit is set (``rate_limit=RateLimit(requests_per_second=...)``, or the
    provider's published cap), the workers draw their requests from one token bucket in the ledger,
    named by the provider and endpoint: together they send no more than one such client would.
    ``scheduler_options`` go to each shard's :class:`~qjobs.Scheduler` (``max_in_flight``,
    ``batch_size``, job options...).

    Returns once every shard is done, by this worker or others; then :func:`assemble` reads the
    result. A circuit that fails raises its error, as :meth:`Sweep.run` does.
    """
    from qjobs.providers import connect

    async with connect(provider, **dict(connect_options or {})) as client:
        await work_on_campaign(
            sweep,
            client,
            ledger_url,
            worker_id=worker_id,
            backend=backend,
            shots=shots,
            shard_size=shard_size,
            lease=lease,
            share_rate_limit=share_rate_limit,
            progress=progress,
            **scheduler_options,
        )


async def work_on_campaign(
    sweep: Sweep,
    client: ProviderClient,
    ledger_url: str,
    *,
    worker_id: str | None = None,
    backend: str | None = None,
    shots: int,
    shard_size: int = 100,
    lease: float = 30.0,
    share_rate_limit: bool = True,
    progress: Callable[[Progress], None] | None = None,
    **scheduler_options: Any,
) -> None:
    """:func:`run_worker` on a client the caller opened (and closes)."""
    worker = default_worker_id() if worker_id is None else worker_id
    check_worker_options(ledger_url, worker, shard_size, lease)
    if "ledger" in scheduler_options:
        raise InputError("ledger", scheduler_options["ledger"], "is ledger_url for workers")
    rate = client.transport.rate_limit.requests_per_second if share_rate_limit else None
    async with coordination(ledger_url) as conn, _shared_budget(ledger_url, client, rate):
        job = _Campaign(
            sweep,
            client,
            ledger_url,
            worker,
            backend,
            shots,
            shard_size,
            float(lease),
            progress,
            dict(scheduler_options),
        )
        await _work(job, conn)


@asynccontextmanager
async def _shared_budget(
    url: str, client: ProviderClient, rate: float | None
) -> AsyncIterator[None]:
    """``client``'s requests drawn from the ledger's bucket for its target (if ``rate``)."""
    if rate is None:
        yield
        return
    from qjobs.scheduler._ledger_pg_budget import SharedBudget

    async with SharedBudget(url, f"{client.provider} {client.endpoint}", rate) as budget:
        client.transport.budget = budget
        try:
            yield
        finally:
            client.transport.budget = None


@attrs.frozen
class _Campaign:
    """What one worker works on: the sweep, its client and settings, the ledger's URL."""

    sweep: Sweep
    client: ProviderClient
    ledger_url: str
    worker: str
    backend: str | None
    shots: int
    shard_size: int
    lease: float
    progress: Callable[[Progress], None] | None
    scheduler_options: dict[str, Any]

    def scheduler(self) -> Scheduler:
        """A new scheduler for one shard (or for computing keys)."""
        return Scheduler(
            self.client, backend=self.backend, shots=self.shots, **self.scheduler_options
        )


async def _work(job: _Campaign, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
    """Claim and run shards until every shard of the campaign is done."""
    from qjobs.scheduler._ledger_pg_shards import claim, create_campaign

    circuits = job.sweep.circuits()
    probe = job.scheduler()
    keys = [key_at(probe, c, index=i) for i, c in enumerate(circuits)]
    campaign = campaign_id(keys)
    spec = describe_campaign(job.sweep, job.client, job.backend, job.shots)
    await create_campaign(conn, campaign, spec, keys, job.shard_size)
    async with anyio.create_task_group() as tg:
        if job.progress is not None:
            tg.start_soon(report_progress, job.ledger_url, campaign, job.progress)
        wait = 0.05
        while True:
            held = await claim(conn, campaign, job.worker, float(job.lease))
            if held is not None:
                await _run_shard(held, job.ledger_url, conn, job.scheduler(), circuits)
                wait = 0.05
                continue
            if (await read_counts(conn, campaign)).complete:
                break
            # Others hold the open shards: look again (a lease may expire) with backoff.
            await anyio.sleep(wait)
            wait = min(wait * 2, _MAX_WAIT, job.lease / 4)
        tg.cancel_scope.cancel()
    if job.progress is not None:
        job.progress(as_progress(await read_counts(conn, campaign)))


class _ShardFence:
    """The lease's check before every commit of the shard's ledger; when the lease is lost, the
    scheduler stops without cancelling its jobs (the worker taking the shard over re-attaches
    them)."""

    def __init__(self, held: ShardLease, sched: Scheduler) -> None:
        self.held = held
        self.sched = sched

    async def check(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        """:meth:`ShardLease.check`, keeping the jobs when it fails."""
        from qjobs.scheduler._ledger_pg_shards import LeaseLostError

        try:
            await self.held.check(conn)
        except LeaseLostError:
            keep_jobs(self.sched)
            raise

    async def heartbeat(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        """Renew the lease every third of its length; raise when it was lost."""
        from qjobs.scheduler._ledger_pg_shards import LeaseLostError, renew

        held = self.held
        while True:
            await anyio.sleep(held.seconds / 3)
            # Shielded: psycopg closes a connection whose query is cancelled, and this one
            # (the worker's coordination connection) is still needed to finish the shard.
            with anyio.CancelScope(shield=True):
                held_still = await renew(conn, held)
            if not held_still:
                keep_jobs(self.sched)
                raise LeaseLostError(
                    f"worker {held.owner!r} lost its lease on shard {held.shard} of campaign "
                    f"{held.campaign}; the worker taking it over finishes it"
                )


async def _run_shard(
    held: ShardLease,
    ledger_url: str,
    conn: psycopg.AsyncConnection[tuple[Any, ...]],
    sched: Scheduler,
    circuits: list[Any],
) -> bool:
    """Run one leased shard through ``sched`` journaling in a fenced ledger and mark it done;
    False when the lease was lost on the way (the shard is someone else's now)."""
    from qjobs.scheduler._ledger_backend import Ledger
    from qjobs.scheduler._ledger_pg import PostgresStore
    from qjobs.scheduler._ledger_pg_shards import LeaseLostError, finish

    fence = _ShardFence(held, sched)
    with_ledger(sched, Ledger(PostgresStore(ledger_url, fence=fence, keys=held.keys)))
    try:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(fence.heartbeat, conn)
                async with sched:
                    for i in range(held.lo, held.hi):
                        submit_at(sched, circuits[i], index=i)
                    await sched.gather()
                tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            raise collapse(group) from None
    except LeaseLostError as exc:
        logger.warning("%s", exc)
        return False
    return await finish(conn, held)


async def report_progress(url: str, campaign: str, progress: Callable[[Progress], None]) -> None:
    """Call ``progress`` with the campaign's counts twice a second (a connection of its own)."""
    async with coordination(url) as conn:
        while True:
            with anyio.CancelScope(shield=True):  # a cancelled query would close with a warning
                counts = await read_counts(conn, campaign)
            progress(as_progress(counts))
            await anyio.sleep(0.5)


async def read_counts(
    conn: psycopg.AsyncConnection[tuple[Any, ...]], campaign: str
) -> CampaignCounts:
    from qjobs.scheduler._ledger_pg_shards import campaign_counts

    return await campaign_counts(conn, campaign)


def as_progress(c: CampaignCounts) -> Progress:
    """The campaign's counts as a scheduler :class:`Progress` (what displays read)."""
    in_flight = c.recorded - c.results
    return Progress(
        total=c.points,
        pending=c.points - c.recorded,
        submitted=in_flight,
        running=0,
        completed=c.results,
        failed=0,
        cancelled=0,
        retried=0,
        from_ledger=0,
        jobs_in_flight=0,
        jobs_submitted=c.jobs,
    )


def campaign_id(keys: list[str]) -> str:
    """The campaign named by its circuits' keys (so by circuits, shots, options and target)."""
    h = hashlib.blake2b(digest_size=16, person=b"qjobs-campaign")
    for k in keys:
        h.update(k.encode())
        h.update(b"\x1f")
    return "c" + h.hexdigest()


def describe_campaign(
    sweep: Sweep, client: ProviderClient, backend: str | None, shots: int
) -> dict[str, Any]:
    """What :func:`assemble` needs besides the results: the grid and the run's settings."""
    return {
        "axes": {name: axis.tolist() for name, axis in sweep.axes.items()},
        "mode": sweep.mode,
        "shots": shots,
        "provider": client.provider,
        "backend": backend,
        "points": sweep.size,
    }


async def assemble(ledger_url: str, *, campaign: str | None = None) -> SweepResult:
    """The :class:`~qjobs.SweepResult` of a campaign in the PostgreSQL ledger at ``ledger_url``.

    ``campaign`` names it (default: the ledger's only campaign). Raises
    :class:`~qjobs.LedgerError` while points lack a result (the campaign is not done).
    """
    from qjobs.scheduler._ledger_backend import is_postgres_url, redact_url

    if not is_postgres_url(ledger_url):
        raise InputError("ledger", str(ledger_url), "expected a postgresql:// URL")
    from qjobs.scheduler._ledger_pg_shards import campaign_results, only_campaign

    async with coordination(ledger_url) as conn:
        cid = campaign if campaign is not None else await only_campaign(conn)
        spec, blobs = await campaign_results(conn, cid)
    missing = sum(b is None for b in blobs)
    if missing:
        raise LedgerError(
            f"campaign {cid} in ledger {redact_url(ledger_url)!r} is not done: "
            f"{missing} of {len(blobs)} points have no result yet"
        )
    results = [unpack_result(b) for b in blobs if b is not None]
    axes = {name: np.asarray(v, dtype=np.float64) for name, v in spec["axes"].items()}
    metadata = {
        "provider": spec["provider"],
        "backend": spec["backend"],
        "points": len(results),
        "jobs": len({r.job_id for r in results}),
        "campaign": cid,
    }
    return results_on_grid(results, axes, spec["mode"], int(spec["shots"]), metadata)
