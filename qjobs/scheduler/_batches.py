"""Groups of compatible circuits, the provider jobs (batches) formed from them, and the batcher.

Circuits with the same shots, backend and job options share a :class:`Group`; the
:class:`Batcher` takes up to the group's ``size`` of them (the scheduler's ``batch_size``, at most
what one job on the group's backend carries; None where neither sets a count), within the
provider's payload limit (as the client's ``circuit_bytes`` estimates it), into one
:class:`Batch`, which becomes one provider job, while in-flight slots are free. A group without a
count bound makes a job when its circuits reach the payload limit, when its linger expires or
when someone waits for results.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import anyio

from qjobs._core.models import JobStatus
from qjobs.scheduler._keys import batch_key
from qjobs.scheduler._loop import loop_time
from qjobs.scheduler._states import BatchState, move

if TYPE_CHECKING:
    from collections.abc import Callable

    from qjobs.circuit._ir import Circuit
    from qjobs.scheduler._circuits import CircuitRecord
    from qjobs.scheduler._shared import SchedulerState

__all__ = ["Batch", "Batcher", "Group", "take_batch"]


class Group:
    """Pending circuits sharing shots, backend and job options; ``size`` circuits make a job.

    ``size`` None: no count bound (the payload limit bounds a job).
    """

    __slots__ = (
        "backend",
        "bytes",
        "options",
        "options_json",
        "pending",
        "shots",
        "since",
        "size",
    )

    def __init__(
        self,
        shots: int,
        backend: str | None,
        options: dict[str, Any],
        options_json: bytes,
        size: int | None = 1,
    ) -> None:
        self.shots = shots
        self.backend = backend
        self.size = size
        self.options = options
        self.options_json = options_json
        self.pending: deque[CircuitRecord] = deque()
        self.bytes = 0
        self.since = 0.0


class Batch:
    """One provider job: its members (circuit records) by position, key, job id and state."""

    __slots__ = (
        "circuits",
        "deadline",
        "gen",
        "group",
        "interval",
        "job_id",
        "key",
        "last_seen",
        "member_keys",
        "members",
        "posted",
        "provider_status",
        "state",
        "status",
    )

    def __init__(
        self,
        key: str,
        gen: int,
        group: Group,
        members: list[CircuitRecord | None],
        member_keys: list[str | None],
        circuits: list[Circuit | None],
        *,
        state: BatchState = BatchState.QUEUED_LOCAL,
    ) -> None:
        self.key = key
        self.gen = gen
        self.group = group
        self.members = members
        self.member_keys = member_keys
        self.circuits = circuits
        self.job_id: str | None = None
        self.status: JobStatus | None = None
        self.provider_status = ""
        self.last_seen = 0.0
        self.interval = 0.0
        self.deadline: float | None = None
        self.posted = False
        self.state: BatchState
        move(self, state)

    @property
    def tracked(self) -> bool:
        """True while the job exists and is polled (state TRACKED)."""
        return self.state is BatchState.TRACKED

    def live_members(self) -> list[CircuitRecord]:
        """Members not finished yet."""
        return [r for r in self.members if r is not None and not r.done()]

    def __repr__(self) -> str:
        state = getattr(self, "state", None)  # unset while a creation move is refused
        where = "new" if state is None else state.name
        return f"<Batch {self.key} job={self.job_id} size={len(self.members)} state={where}>"


def take_batch(
    group: Group, batch_size: int | None, payload_limit: int, estimate: Callable[[Circuit], int]
) -> Batch | None:
    """Take the next batch from ``group`` (skipping circuits already finished), or None if empty.

    At most ``batch_size`` circuits (None: no count bound) and, past the first, within
    ``payload_limit`` bytes as ``estimate`` (the client's ``circuit_bytes``) counts them.
    """
    futs: list[CircuitRecord | None] = []
    circs: list[Circuit | None] = []
    keys: list[str | None] = []
    size = 0
    gen = 0
    pending = group.pending
    while pending and (batch_size is None or len(futs) < batch_size):
        r = pending[0]
        circ = r.circuit
        assert circ is not None
        est = estimate(circ)
        if r.done():
            pending.popleft()
            group.bytes -= est
            continue
        if futs and size + est > payload_limit:
            break
        pending.popleft()
        group.bytes -= est
        size += est
        futs.append(r)
        circs.append(circ)
        keys.append(r.key)
        gen = max(gen, r.gen)
    if not futs:
        return None
    b = Batch(batch_key([k for k in keys if k is not None], gen), gen, group, futs, keys, circs)
    for member in futs:
        assert member is not None
        member.batch = b
        member.circuit = None
    return b


class Batcher:
    """Forms batches from ready groups while in-flight slots are free; hands them to submission.

    A partial batch waits ``batch_linger`` seconds for more circuits, unless someone waits for
    results (``draining``).
    """

    __slots__ = ("cfg", "shared")

    def __init__(self, shared: SchedulerState) -> None:
        self.shared = shared
        self.cfg = shared.settings

    async def run(self) -> None:
        """The batcher task: form batches whenever woken or a linger expires."""
        while True:
            self.shared.batch_wake = wake = anyio.Event()
            delay = self._form_batches(loop_time())
            if delay is None:
                await wake.wait()
            else:
                with anyio.move_on_after(delay):
                    await wake.wait()

    def _form_batches(self, now: float) -> float | None:
        """Form every batch that is ready; the seconds until the next linger expires, or None."""
        next_delay: float | None = None
        limit = self.cfg.payload_limit
        for g in list(self.shared.ready):
            size = g.size
            while g.pending and self.shared.in_flight < self.cfg.max_in_flight:
                if (
                    (size is not None and len(g.pending) >= size)
                    or g.bytes >= limit
                    or self.shared.draining
                    or now - g.since >= self.cfg.linger
                ):
                    b = take_batch(g, size, limit, self.cfg.client.circuit_bytes)
                    if b is None:
                        break
                    self.shared.in_flight += 1
                    self.shared.live.add(b)
                    self.shared.submit_tx.send_nowait(b)
                else:
                    d = g.since + self.cfg.linger - now
                    next_delay = d if next_delay is None else min(next_delay, d)
                    break
            if not g.pending:
                del self.shared.ready[g]
            if self.shared.in_flight >= self.cfg.max_in_flight:
                return None
        return next_delay
