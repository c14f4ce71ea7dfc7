"""``qjobs sweep FILE.toml --ledger postgresql://... --dask local:N|tcp://HOST:PORT``.

The sweep's campaign runs as Dask tasks (:func:`qjobs.sweep.run_on_dask`): ``local:N`` starts a
``distributed.LocalCluster`` of N single-threaded worker processes on 127.0.0.1 (no dashboard)
for this run; ``tcp://HOST:PORT`` uses the running Dask scheduler there. This process does no
shard work itself: it shows the whole campaign's progress from the ledger, assembles the result
and writes the ``.npz``. A bad ``--dask`` value, ``--dask`` without a PostgreSQL ledger, a
scheduler that does not answer, or Dask not installed is one stderr line and exit status 2.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from qjobs._core.errors import InputError

if TYPE_CHECKING:
    import distributed

    from qjobs.scheduler import Progress
    from qjobs.sweep import Sweep, SweepResult

__all__ = ["DaskTarget", "add_arguments", "dask_client", "parse_target", "run_on_cluster"]

#: Most worker processes ``local:N`` starts.
MAX_LOCAL_WORKERS = 256
#: Seconds to wait for the scheduler of ``tcp://HOST:PORT`` to answer.
CONNECT_TIMEOUT = 10.0
_LOCAL = re.compile(r"local:(?P<n>[0-9]+)")
_TCP = re.compile(r"tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,5})")
_FORMS = "expected local:N (N worker processes here) or tcp://HOST:PORT (a Dask scheduler)"


@attrs.frozen
class DaskTarget:
    """Where ``--dask`` runs the tasks: ``workers`` local processes, or a scheduler ``address``."""

    workers: int | None = None
    address: str | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--dask`` option of ``qjobs sweep``."""
    parser.add_argument(
        "--dask",
        default=None,
        metavar="local:N|tcp://HOST:PORT",
        help="run the campaign as Dask tasks (needs a postgresql:// ledger): local:N starts N "
        "worker processes here, tcp://HOST:PORT uses a running Dask scheduler",
    )


def parse_target(value: str, ledger: object) -> DaskTarget:
    """The ``--dask`` value checked; :class:`~qjobs.InputError` naming ``--dask`` when it is not
    one of the two forms, when ``ledger`` is not a ``postgresql://`` URL, or without Dask."""
    from qjobs.scheduler._ledger_backend import is_postgres_url

    local = _LOCAL.fullmatch(value)
    tcp = _TCP.fullmatch(value)
    if local is not None:
        n = int(local["n"])
        if not 1 <= n <= MAX_LOCAL_WORKERS:
            raise InputError("--dask", value, f"N must be from 1 to {MAX_LOCAL_WORKERS}")
        target = DaskTarget(workers=n)
    elif tcp is not None:
        if not 1 <= int(tcp["port"]) <= 65535:
            raise InputError("--dask", value, "the port must be from 1 to 65535")
        target = DaskTarget(address=value)
    else:
        raise InputError("--dask", value, _FORMS)
    if not (isinstance(ledger, str) and is_postgres_url(ledger)):
        raise InputError(
            "--dask",
            value,
            "Dask workers share the campaign through a PostgreSQL ledger: "
            "add --ledger postgresql://...",
        )
    try:
        from qjobs.sweep._dask import require_distributed

        require_distributed()
    except ImportError:
        raise InputError(
            "--dask", value, "needs dask.distributed: pip install 'qjobs[dask]'"
        ) from None
    return target


def _open(target: DaskTarget, spec: str) -> tuple[distributed.Client, Any]:
    """A blocking ``distributed.Client`` on ``target`` and the LocalCluster it started (or None).

    Not made the current client (``set_as_default=False``): it is opened and closed in worker
    threads, and belongs to this run only.
    """
    import distributed

    if target.workers is not None:
        cluster = distributed.LocalCluster(
            n_workers=target.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        try:
            return distributed.Client(cluster, set_as_default=False), cluster
        except BaseException:
            cluster.close()
            raise
    try:
        client = distributed.Client(target.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError("--dask", spec, f"no Dask scheduler answers there ({reason})") from None
    return client, None


def _close(client: distributed.Client, cluster: Any) -> None:
    client.close()
    if cluster is not None:
        cluster.close()


@asynccontextmanager
async def dask_client(spec: str, target: DaskTarget) -> AsyncIterator[distributed.Client]:
    """A ``distributed.Client`` on ``target`` for the run (a LocalCluster started and stopped
    here for ``local:N``); :class:`~qjobs.InputError` when no scheduler answers at
    ``tcp://HOST:PORT``."""
    client, cluster = await anyio.to_thread.run_sync(_open, target, spec)
    try:
        yield client
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_close, client, cluster)


async def run_on_cluster(
    client: distributed.Client,
    sweep: Sweep,
    provider: str,
    ledger_url: str,
    *,
    connect_options: dict[str, Any],
    backend: str | None,
    shots: int,
    shard_size: int,
    lease: float,
    progress: Callable[[Progress], None] | None,
    scheduler_options: dict[str, Any],
) -> SweepResult:
    """Run the campaign as tasks on ``client``'s cluster and assemble it from the ledger."""
    from qjobs.sweep._dask import run_on_dask

    return await run_on_dask(
        sweep,
        provider,
        ledger_url,
        client=client,
        connect_options=connect_options,
        backend=backend,
        shots=shots,
        shard_size=shard_size,
        lease=lease,
        progress=progress,
        **scheduler_options,
    )
