"""The central poll schedule: one heap of (next poll time, job) for the whole scheduler.

Each tracked job has its own base interval: ``poll_initial`` after submission or after any change
of its provider status, multiplied by ``poll_factor`` after each poll that saw no change, capped at
``poll_max``. The actual delay is the base interval with +-10 % jitter (seeded), so jobs submitted
together spread out instead of polling in lockstep.
"""

from __future__ import annotations

import heapq
import itertools
import random
from typing import TYPE_CHECKING

from qjobs.scheduler._states import BatchState

if TYPE_CHECKING:
    from qjobs.scheduler._batches import Batch

__all__ = ["Backoff", "PollQueue"]


class Backoff:
    """Poll interval policy: initial interval, growth factor, cap and jitter."""

    __slots__ = ("factor", "initial", "maximum", "rng")

    def __init__(self, initial: float, maximum: float, factor: float, seed: int = 0) -> None:
        self.initial = initial
        self.maximum = max(maximum, initial)
        self.factor = factor
        self.rng = random.Random(seed)

    def grow(self, interval: float) -> float:
        """The base interval after a poll that saw no change."""
        return min(interval * self.factor, self.maximum)

    def delay(self, interval: float) -> float:
        """The jittered delay for a base interval (never above the cap)."""
        return min(interval * self.rng.uniform(0.9, 1.1), self.maximum)


class PollQueue:
    """A min-heap of jobs by next poll time; stale entries are skipped when popped."""

    __slots__ = ("_counter", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Batch]] = []
        self._counter = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: float, batch: Batch) -> bool:
        """Schedule ``batch`` at ``due``; True when it became the earliest entry."""
        heapq.heappush(self._heap, (due, next(self._counter), batch))
        return self._heap[0][2] is batch

    def next_due(self) -> float | None:
        """The earliest scheduled time, or None when empty."""
        return self._heap[0][0] if self._heap else None

    def count_due(self, until: float, limit: int) -> int:
        """How many tracked jobs are due at or before ``until``, counting up to ``limit``.

        Walks only the part of the heap at or before ``until`` (a node's children are never
        earlier than it), so the cost is proportional to the answer, not to the heap.
        """
        heap = self._heap
        found = 0
        stack = [0] if heap else []
        while stack and found < limit:
            i = stack.pop()
            due, _, b = heap[i]
            if due > until:
                continue
            if b.state is BatchState.TRACKED:
                found += 1
            for child in (2 * i + 1, 2 * i + 2):
                if child < len(heap):
                    stack.append(child)
        return found

    def pop_due(self, until: float, limit: int) -> list[Batch]:
        """Pop up to ``limit`` tracked jobs due at or before ``until``."""
        out: list[Batch] = []
        heap = self._heap
        while heap and len(out) < limit and heap[0][0] <= until:
            _, _, b = heapq.heappop(heap)
            if b.state is BatchState.TRACKED:
                out.append(b)
        return out
