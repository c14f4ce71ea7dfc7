"""The one object every part of a scheduler shares: its settings and its run state.

:class:`Settings` is what ``Scheduler(...)`` was given, checked and completed from the client's
capabilities (frozen). :class:`SchedulerState` is everything that changes while the scheduler
runs: circuits and counts, groups waiting for a batch, live jobs, the poll heap, what the ledger
recorded, the queues between the workers and the wake-up events. The steps (submit, track,
fetch, cancel, resume, bookkeeping) each hold a reference to the same ``SchedulerState``; none
keeps state of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from qjobs.scheduler._polling import Backoff, PollQueue
from qjobs.scheduler._states import FutureState

if TYPE_CHECKING:
    from qjobs._core.models import Job
    from qjobs.providers._base import Capabilities, ProviderClient
    from qjobs.scheduler._batches import Batch, Group
    from qjobs.scheduler._bookkeeping import Watcher
    from qjobs.scheduler._circuits import CircuitRecord
    from qjobs.scheduler._events import Progress, SchedulerEvent
    from qjobs.scheduler._ledger_backend import Ledger
    from qjobs.scheduler._ledger_records import LedgerBatch, LedgerRow

__all__ = ["SchedulerState", "Settings"]


@attrs.frozen(slots=True, eq=False)
class Settings:
    """A scheduler's configuration: its arguments, completed from the client's capabilities."""

    client: ProviderClient
    caps: Capabilities
    provider: str
    backend: str | None
    shots: int | None
    max_in_flight: int
    batch_size: int | None
    payload_limit: int
    linger: float
    backoff: Backoff
    #: Jobs due this soon join a poll chunk early.
    coalesce: float
    status_chunk: int
    workers: int
    retry_failed: int
    resubmit_lost: bool
    lost_reads: int
    lost_delay: float
    target: bytes
    job_timeout: float | None
    unknown_timeout: float
    cancel_timeout: float
    on_event: Callable[[SchedulerEvent], None] | None
    on_progress: Callable[[Progress], None] | None
    options: dict[str, Any]
    options_json: bytes


def _counts() -> dict[FutureState, int]:
    return dict.fromkeys(FutureState, 0)


@attrs.define(slots=True, eq=False)
class SchedulerState:
    """Everything that changes while a scheduler runs, shared by all of its steps."""

    settings: Settings
    ledger: Ledger | None
    #: Every circuit, in submission order.
    records: list[CircuitRecord] = attrs.field(factory=list)
    groups: dict[tuple[int, str | None, bytes], Group] = attrs.field(factory=dict)
    #: Groups with pending circuits, in the order they became ready.
    ready: dict[Group, None] = attrs.field(factory=dict)
    counts: dict[FutureState, int] = attrs.field(factory=_counts)
    retried: int = 0
    from_ledger: int = 0
    jobs_submitted: int = 0
    unfinished: int = 0
    #: Jobs formed and not released (a batch job counts once).
    in_flight: int = 0
    live: set[Batch] = attrs.field(factory=set)
    watchers: list[Watcher] = attrs.field(factory=list)
    heap: PollQueue = attrs.field(factory=PollQueue)
    #: What the ledger recorded when it opened (None without a ledger).
    rows: dict[str, LedgerRow] | None = None
    lbatches: dict[str, LedgerBatch] = attrs.field(factory=dict)
    #: Batches re-attached from the ledger, by key.
    attached: dict[str, Batch] = attrs.field(factory=dict)
    #: Jobs answered 404: reads so far.
    suspects: dict[Batch, int] = attrs.field(factory=dict)
    #: Circuit key -> jobs of it the provider lost.
    losses: dict[str, int] = attrs.field(factory=dict)
    batch_wake: anyio.Event = attrs.field(factory=anyio.Event)
    poll_wake: anyio.Event = attrs.field(factory=anyio.Event)
    #: List requests for fewer than ``status_batch_size`` ids on their way, and when the last went.
    partial_polls: int = 0
    partial_sent: float = 0.0
    closing: bool = False
    #: On an error, leave the provider jobs running instead of cancelling them (a campaign
    #: worker that lost its shard: the worker taking it over re-attaches them).
    keep_jobs: bool = False
    #: Someone waits for results: partial batches go at once.
    draining: bool = False
    #: Retries made so far (the transport's, seen by the retry listener, and the scheduler's own).
    retries: int = 0
    #: The scheduler's own waits before trying a submission again: token -> (what, error,
    #: attempt, max attempts, next attempt at).
    own_waits: dict[int, tuple[str, str, int, int, float]] = attrs.field(factory=dict)
    wait_tokens: itertools.count[int] = attrs.field(factory=itertools.count)
    # The queues between the workers, opened when the scheduler is entered.
    submit_tx: MemoryObjectSendStream[Batch] = attrs.field(init=False)
    submit_rx: MemoryObjectReceiveStream[Batch] = attrs.field(init=False)
    poll_tx: MemoryObjectSendStream[list[Batch]] = attrs.field(init=False)
    poll_rx: MemoryObjectReceiveStream[list[Batch]] = attrs.field(init=False)
    fetch_tx: MemoryObjectSendStream[tuple[Batch, Job]] = attrs.field(init=False)
    fetch_rx: MemoryObjectReceiveStream[tuple[Batch, Job]] = attrs.field(init=False)
