"""Server-side statistics of an emulator: what arrived, what was answered, how busy it was."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from qjobs.circuit._ir import Circuit
from qjobs.emulators._common.clock import Clock, Lifecycle

__all__ = ["EmulatorStats"]


def _digest(circuit: object) -> bytes:
    """A digest of a circuit's content: an IR circuit's qubits, clbits and instructions (angles
    included), or any other wire item's ``repr``."""
    if isinstance(circuit, Circuit):
        content = repr((circuit.num_qubits, circuit.num_clbits, circuit.instructions))
    else:
        content = repr(circuit)
    return hashlib.blake2b(content.encode(), digest_size=16).digest()


class EmulatorStats:
    """Counters kept by every emulator; :meth:`snapshot` is what ``GET /_qjobs/stats`` returns.

    ``requests`` counts requests by route template (``"GET /jobs/{id}"``, relative to the
    provider's prefix). ``active_jobs`` and ``peak_active_jobs`` are computed from the registered
    job lifecycles: a job is active from submission until it completes, fails, is cancelled or
    deleted. ``rate_limited`` counts the requests refused by the rate limit (429), by route
    template; ``total_rate_limited`` is their sum. ``circuits_created`` counts the circuits of
    the created jobs and ``duplicate_circuits`` those that were already in an earlier job (the
    same circuit submitted twice: a resubmission), by a digest of each circuit's content.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.total_requests = 0
        self.jobs_created = 0
        self.bytes_received = 0
        self.bytes_sent = 0
        self._lifecycles: list[Lifecycle] = []
        self._circuits: Counter[bytes] = Counter()

    def track_job(self, lifecycle: Lifecycle, circuits: Iterable[object] = ()) -> None:
        """Count a newly created job and follow its lifetime; ``circuits`` are what it runs (IR
        circuits, or wire items with a deterministic ``repr``), counted by content digest."""
        self.jobs_created += 1
        self._lifecycles.append(lifecycle)
        for circuit in circuits:
            self._circuits[_digest(circuit)] += 1

    @property
    def circuits_created(self) -> int:
        """Circuits in the created jobs (each job's circuits, as given to :meth:`track_job`)."""
        return self._circuits.total()

    @property
    def duplicate_circuits(self) -> int:
        """Circuits created again after a first time (``circuits_created`` minus distinct)."""
        return self._circuits.total() - len(self._circuits)

    @property
    def total_rate_limited(self) -> int:
        """Requests refused by the rate limit, over every route."""
        return sum(self.rate_limited.values())

    @property
    def active_jobs(self) -> int:
        """Jobs queued or executing now."""
        now = self._clock.now()
        return sum(1 for lc in self._lifecycles if lc.submitted <= now < lc.end)

    @property
    def peak_active_jobs(self) -> int:
        """The largest number of jobs that were active at the same moment (so far)."""
        events: list[tuple[float, int]] = []
        for lc in self._lifecycles:
            # A job that completes at once still existed for an instant: starts sort before ends.
            # Every start is in the past, so future ends cannot raise the peak beyond today's.
            events.append((lc.submitted, 0))
            events.append((lc.end, 1))
        events.sort()
        active = peak = 0
        for _, kind in events:
            active += 1 if kind == 0 else -1
            peak = max(peak, active)
        return peak

    def reset(self) -> None:
        """Zero every counter and forget finished jobs (active ones are still followed)."""
        now = self._clock.now()
        self.requests.clear()
        self.statuses.clear()
        self.faults_injected.clear()
        self.rate_limited.clear()
        self.total_requests = self.jobs_created = self.bytes_received = self.bytes_sent = 0
        self._circuits.clear()
        self._lifecycles = [lc for lc in self._lifecycles if lc.end > now]

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        return {
            "requests": dict(self.requests),
            "total_requests": self.total_requests,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "faults_injected": dict(self.faults_injected),
            "rate_limited": dict(self.rate_limited),
            "total_rate_limited": self.total_rate_limited,
            "jobs_created": self.jobs_created,
            "circuits_created": self.circuits_created,
            "duplicate_circuits": self.duplicate_circuits,
            "active_jobs": self.active_jobs,
            "peak_active_jobs": self.peak_active_jobs,
            "bytes_received": self.bytes_received,
            "bytes_sent": self.bytes_sent,
        }
