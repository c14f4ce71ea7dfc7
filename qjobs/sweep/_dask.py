"""A sweep's campaign fanned out on Dask: one campaign worker per Dask worker.

:func:`run_on_dask` turns a ``distributed.Client`` into campaign workers
(:func:`qjobs.sweep.run_worker`): it first runs one small task that records the campaign in the
PostgreSQL ledger (:func:`prepare_task`: the circuits' keys, hence the campaign's id, need the
provider's endpoint, which a worker host knows), then submits one :func:`worker_task` per Dask
worker. Each task opens its own provider client and Scheduler, takes shards under leases from
the shared ledger until the campaign is done, and returns only a few counts: the results are in
the ledger, never pickled through Dask. The caller meanwhile reads the whole campaign's progress
from the ledger and finally assembles the :class:`~qjobs.SweepResult` from it.

A task whose Dask worker dies is rerun by Dask on another worker (up to the cluster's
``distributed.scheduler.allowed-failures``), and a rerun of :func:`run_on_dask` picks the
campaign up where it stopped: the dead worker's shard is taken over when its lease expires and
resumed from the ledger, so each circuit is still submitted once.

``distributed`` is imported on first use; without it an :class:`ImportError` names the
``qjobs[dask]`` extra.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from qjobs._core.errors import InputError
from qjobs.sweep._workers import assemble, default_worker_id, work_on_campaign

if TYPE_CHECKING:
    import distributed

    from qjobs.scheduler import Progress
    from qjobs.sweep._result import SweepResult
    from qjobs.sweep._sweep import Sweep

__all__ = ["WorkerTask", "prepare_task", "require_distributed", "run_on_dask", "worker_task"]


def require_distributed() -> ModuleType:
    """The ``distributed`` package; :class:`ImportError` naming the extra when it is missing."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "running a sweep on Dask needs dask.distributed, which is not installed: "
            "pip install 'qjobs[dask]'"
        ) from exc
    return distributed


@attrs.frozen(repr=False)
class WorkerTask:
    """What one Dask task needs to work on a campaign (pickled to the Dask worker).

    Its ``repr`` names the campaign's target only: Dask logs a failed task's arguments, and
    ``connect_options`` may hold a token.
    """

    sweep: Sweep
    provider: str
    ledger_url: str
    connect_options: Mapping[str, Any]
    backend: str | None
    shots: int
    shard_size: int
    lease: float
    scheduler_options: Mapping[str, Any]
    share_rate_limit: bool = True
    index: int = 0

    def __repr__(self) -> str:
        from qjobs.scheduler._ledger_backend import redact_url

        return (
            f"WorkerTask(provider={self.provider!r}, backend={self.backend!r}, "
            f"points={self.sweep.size}, ledger={redact_url(self.ledger_url)!r}, "
            f"index={self.index})"
        )


def prepare_task(task: WorkerTask) -> str:
    """Record ``task``'s campaign in the ledger (once, whoever comes first); return its id.

    Runs on a Dask worker: its provider client computes the circuits' keys.
    """
    return anyio.run(_prepare, task)


async def _prepare(task: WorkerTask) -> str:
    from qjobs.providers import connect
    from qjobs.scheduler._ledger_pg_shards import create_campaign
    from qjobs.scheduler._scheduler import Scheduler, key_at
    from qjobs.sweep._workers import (
        campaign_id,
        check_worker_options,
        coordination,
        describe_campaign,
    )

    check_worker_options(task.ledger_url, "prepare", task.shard_size, task.lease)
    async with connect(task.provider, **dict(task.connect_options)) as client:
        probe = Scheduler(
            client, backend=task.backend, shots=task.shots, **dict(task.scheduler_options)
        )
        circuits = task.sweep.circuits()
        keys = [key_at(probe, c, index=i) for i, c in enumerate(circuits)]
        campaign = campaign_id(keys)
        spec = describe_campaign(task.sweep, client, task.backend, task.shots)
    async with coordination(task.ledger_url) as conn:
        await create_campaign(conn, campaign, spec, keys, task.shard_size)
    return campaign


def worker_task(task: WorkerTask) -> dict[str, Any]:
    """Work on ``task``'s campaign until it is done; return counts, never results.

    Runs on a Dask worker (in one of its threads, on an event loop of its own). The worker's
    name in the shard leases is ``host:pid:dask<index>``; the returned mapping holds it, the
    process id, and the HTTP requests this task made.
    """
    return anyio.run(_work, task)


async def _work(task: WorkerTask) -> dict[str, Any]:
    from qjobs.providers import connect

    worker_id = f"{default_worker_id()}:dask{task.index}"
    async with connect(task.provider, **dict(task.connect_options)) as client:
        await work_on_campaign(
            task.sweep,
            client,
            task.ledger_url,
            worker_id=worker_id,
            backend=task.backend,
            shots=task.shots,
            shard_size=task.shard_size,
            lease=task.lease,
            share_rate_limit=task.share_rate_limit,
            **dict(task.scheduler_options),
        )
        requests = client.transport.stats.total
    return {"worker_id": worker_id, "pid": os.getpid(), "requests": requests}


async def run_on_dask(
    sweep: Sweep,
    provider: str,
    ledger_url: str,
    *,
    client: distributed.Client,
    connect_options: Mapping[str, Any] | None = None,
    backend: str | None = None,
    shots: int,
    shard_size: int = 100,
    lease: float = 30.0,
    share_rate_limit: bool = True,
    progress: Callable[[Progress], None] | None = None,
    **scheduler_options: Any,
) -> SweepResult:
    """Run ``sweep`` on the Dask cluster of ``client``, coordinated through a PostgreSQL ledger.

    One task per Dask worker calls :func:`~qjobs.sweep.run_worker` there (its own provider
    client from ``qjobs.connect(provider, **connect_options)``, or credentials from each worker
    host's environment when ``connect_options`` has no token; its own Scheduler), sharing the
    campaign in ``ledger_url`` in shards of ``shard_size`` points under leases of ``lease``
    seconds. With ``share_rate_limit``, the workers draw their requests from one token bucket in
    the ledger (see :func:`~qjobs.sweep.run_worker`): together they send no more than one client
    with the same rate limit would. Results stay in the ledger; the tasks return only counts.
    ``progress`` is called
    about twice a second with the whole campaign's counts, read from the ledger.
    ``scheduler_options`` go to every worker's Scheduler (``max_in_flight``, ``batch_size``, job
    options...). ``client`` is a ``distributed.Client``, blocking or ``asynchronous=True``.

    Returns the :class:`~qjobs.SweepResult` read from the ledger (``metadata["dask_workers"]``
    counts the tasks, ``metadata["requests"]`` their HTTP requests). A failing circuit raises
    its error. Rerunning after a crash (of a Dask worker or of the caller) resumes the campaign:
    every circuit is submitted once.
    """
    require_distributed()
    from qjobs.sweep._workers import check_worker_options

    check_worker_options(ledger_url, "dask", shard_size, lease)
    if "ledger" in scheduler_options:
        raise InputError("ledger", scheduler_options["ledger"], "is ledger_url for workers")
    if not isinstance(provider, str):
        raise InputError("provider", provider, "expected a provider name")
    base = WorkerTask(
        sweep,
        provider,
        ledger_url,
        dict(connect_options or {}),
        backend,
        shots,
        shard_size,
        float(lease),
        dict(scheduler_options),
        bool(share_rate_limit),
    )
    run_id = uuid.uuid4().hex[:12]
    campaign = await _gather(
        client, [client.submit(prepare_task, base, key=f"qjobs-prepare-{run_id}")]
    )
    cid = str(campaign[0])
    workers = list(client.scheduler_info()["workers"])
    if not workers:
        raise InputError("client", repr(client), "the Dask cluster has no workers")
    futures = [
        client.submit(
            worker_task,
            attrs.evolve(base, index=i),
            key=f"qjobs-worker-{cid[:9]}-{run_id}-{i}",
            workers=[address],
            allow_other_workers=True,
        )
        for i, address in enumerate(workers)
    ]
    try:
        async with anyio.create_task_group() as tg:
            if progress is not None:
                from qjobs.sweep._workers import report_progress

                tg.start_soon(report_progress, ledger_url, cid, progress)
            counts = await _gather(client, futures)
            tg.cancel_scope.cancel()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _cancel(client, futures)
        raise
    result = await assemble(ledger_url, campaign=cid)
    if progress is not None:
        from qjobs.sweep._workers import as_progress, coordination, read_counts

        async with coordination(ledger_url) as conn:
            progress(as_progress(await read_counts(conn, cid)))
    result.metadata["dask_workers"] = len(counts)
    result.metadata["requests"] = sum(int(c["requests"]) for c in counts)
    return result


async def _gather(client: distributed.Client, futures: list[Any]) -> list[Any]:
    """The futures' values, without blocking the event loop (either kind of client)."""
    if client.asynchronous:
        values: list[Any] = await client.gather(futures)
        return values
    gathered: list[Any] = await anyio.to_thread.run_sync(client.gather, futures)
    return gathered


async def _cancel(client: distributed.Client, futures: list[Any]) -> None:
    """Cancel the tasks not started yet (running ones finish their shard's work or die)."""
    if client.asynchronous:
        await client.cancel(futures)
    else:
        await anyio.to_thread.run_sync(client.cancel, futures)
