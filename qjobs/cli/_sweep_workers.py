"""``qjobs sweep FILE.toml --ledger postgresql://...``: this process as one campaign worker.

Started in several terminals (or on several hosts) with the same file and ledger URL, the
processes share the sweep through the PostgreSQL ledger (:func:`qjobs.sweep.run_worker`):
each takes shards of points under a lease, the progress shown counts the whole campaign, and
every process writes the same complete result once all shards are done (written to a temporary
file first, then renamed, so processes writing one path never leave a torn file).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qjobs.providers import ProviderClient
    from qjobs.scheduler import Progress
    from qjobs.sweep import Sweep, SweepResult

__all__ = ["add_arguments", "run_campaign", "save_atomically"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The worker options of ``qjobs sweep``."""
    parser.add_argument(
        "--ledger",
        default=None,
        help="the ledger (overrides 'ledger'): a SQLite path, or a postgresql:// URL shared by "
        "workers started with the same file, which then complete the campaign together",
    )
    parser.add_argument(
        "--worker-id", default=None, help="this worker's name in the shard leases (host:pid)"
    )
    parser.add_argument(
        "--shard-size", type=int, default=100, help="points per shard (PostgreSQL ledger)"
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=30.0,
        help="seconds a shard stays with a worker that stopped renewing it (PostgreSQL ledger)",
    )


async def run_campaign(
    args: argparse.Namespace,
    sweep: Sweep,
    client: ProviderClient,
    ledger_url: str,
    *,
    backend: str | None,
    shots: int,
    progress: Callable[[Progress], None] | None,
    scheduler_options: dict[str, Any],
) -> SweepResult:
    """Work on the campaign until it is done, then read the whole result from the ledger."""
    from qjobs.sweep._workers import assemble, work_on_campaign

    await work_on_campaign(
        sweep,
        client,
        ledger_url,
        worker_id=args.worker_id,
        backend=backend,
        shots=shots,
        shard_size=args.shard_size,
        lease=args.lease,
        progress=progress,
        **scheduler_options,
    )
    return await assemble(ledger_url)


def save_atomically(result: SweepResult, out: Path) -> Path:
    """Write ``result`` to ``out`` through a temporary file renamed into place."""
    final = out if out.suffix == ".npz" else out.with_name(out.name + ".npz")
    tmp = result.save(final.with_name(f".{final.name}.{os.getpid()}.npz"))
    os.replace(tmp, final)
    return final
