"""Groups of compatible circuits and the provider jobs (batches) formed from them.

Circuits with the same shots, backend and job options share a :class:`Group`; the batcher takes
up to ``batch_size`` of them, within the provider's payload limit (estimated cheaply from the
instruction count), into one :class:`Batch`, which becomes one provider job.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from qjobs._core.models import JobStatus
from qjobs.scheduler._keys import batch_key, payload_estimate
from qjobs.scheduler._states import BatchState, move

if TYPE_CHECKING:
    from qjobs.circuit._ir import Circuit
    from qjobs.scheduler._future import JobFuture

__all__ = ["Batch", "Group", "take_batch"]


class Group:
    """Pending circuits sharing shots, backend and job options."""

    __slots__ = ("backend", "bytes", "options", "options_json", "pending", "shots", "since")

    def __init__(
        self, shots: int, backend: str | None, options: dict[str, Any], options_json: bytes
    ) -> None:
        self.shots = shots
        self.backend = backend
        self.options = options
        self.options_json = options_json
        self.pending: deque[JobFuture] = deque()
        self.bytes = 0
        self.since = 0.0


class Batch:
    """One provider job: its members by position, key, job id and polling state."""

    __slots__ = (
        "circuits",
        "created",
        "deadline",
        "futures",
        "gen",
        "group",
        "interval",
        "job_id",
        "key",
        "last_seen",
        "member_keys",
        "posted",
        "provider_status",
        "retries",
        "state",
        "status",
    )

    def __init__(
        self,
        key: str,
        gen: int,
        group: Group,
        futures: list[JobFuture | None],
        member_keys: list[str | None],
        circuits: list[Circuit | None],
        *,
        retries: int = 0,
        state: BatchState = BatchState.QUEUED_LOCAL,
    ) -> None:
        self.key = key
        self.gen = gen
        self.group = group
        self.futures = futures
        self.member_keys = member_keys
        self.circuits = circuits
        self.retries = retries
        self.job_id: str | None = None
        self.status: JobStatus | None = None
        self.provider_status = ""
        self.created = 0.0
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

    def live_futures(self) -> list[JobFuture]:
        """Members whose futures are not done yet."""
        return [f for f in self.futures if f is not None and not f.done()]

    def __repr__(self) -> str:
        state = getattr(self, "state", None)  # unset while a creation move is refused
        where = "new" if state is None else state.name
        return f"<Batch {self.key} job={self.job_id} size={len(self.futures)} state={where}>"


def take_batch(group: Group, batch_size: int, payload_limit: int) -> Batch | None:
    """Take the next batch from ``group`` (skipping futures already done), or None if empty."""
    futs: list[JobFuture | None] = []
    circs: list[Circuit | None] = []
    keys: list[str | None] = []
    size = 0
    gen = 0
    pending = group.pending
    while pending and len(futs) < batch_size:
        f = pending[0]
        circ = f._circuit
        assert circ is not None
        est = payload_estimate(circ)
        if f.done():
            pending.popleft()
            group.bytes -= est
            continue
        if futs and size + est > payload_limit:
            break
        pending.popleft()
        group.bytes -= est
        size += est
        futs.append(f)
        circs.append(circ)
        keys.append(f.key)
        gen = max(gen, f._gen)
    if not futs:
        return None
    b = Batch(batch_key([k for k in keys if k is not None], gen), gen, group, futs, keys, circs)
    for member in futs:
        assert member is not None
        member._batch = b
        member._circuit = None
    return b
