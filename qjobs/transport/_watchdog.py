"""One timer per attempt for both of its timeouts: the whole attempt's and the idle read's.

aiohttp arms a timer for ``ClientTimeout.total`` and re-arms another for ``sock_read`` on every
chunk received (a cancel and a new timer each time). A buffered request of the transport instead
runs under one :class:`Watchdog`: a single timer, due at the first moment a timeout could be
reached. When it fires it looks whether bytes arrived since it was armed; if so it re-arms once
for the next ``read`` seconds, otherwise the attempt has hung and is cancelled, surfacing as
:class:`TimeoutError` (as with :func:`asyncio.timeout`, an outside cancellation stays one).

So an attempt still fails when nothing arrives for ``read`` seconds, found within ``2 * read``
(progress is sampled once a period rather than on each chunk); before the answer's headers the
first period is ``connect + read`` (a new connection's own ``connect`` bound is aiohttp's
``sock_connect``). ``total`` is exact.
"""

from __future__ import annotations

import asyncio
import math
from types import TracebackType
from typing import Protocol

__all__ = ["Counted", "Watchdog"]


class Watchdog:
    """``with Watchdog(total, read, connect): <send, read the answer>`` inside a task.

    ``total`` (``None``: no bound) limits the whole block; ``read`` is the longest silence
    allowed. Call :meth:`watch` with each answer's body stream once its headers are in, and
    :meth:`restart` when the block sends another request (a redirect).
    """

    __slots__ = (
        "_at",
        "_cancelling",
        "_end",
        "_expired",
        "_first",
        "_handle",
        "_loop",
        "_read",
        "_seen",
        "_stream",
        "_task",
    )

    def __init__(self, total: float | None, read: float, connect: float) -> None:
        self._read = read
        self._first = connect + read
        self._end = math.inf if total is None else total  # made absolute on entering
        self._stream: Counted | None = None
        self._seen = -1  # the stream's bytes at the last look (-1: a new stream since)
        self._expired = False
        self._handle: asyncio.TimerHandle | None = None
        self._at = 0.0  # when the timer is due
        self._cancelling = 0

    def __enter__(self) -> Watchdog:
        loop = self._loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a Watchdog runs inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        now = loop.time()
        self._end += now
        self._arm(now + self._first)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        handle = self._handle
        if handle is not None:
            handle.cancel()
            self._handle = None
        if (
            self._expired
            and self._task.uncancel() <= self._cancelling
            and exc_type is asyncio.CancelledError
        ):
            raise TimeoutError("no complete answer within the timeout") from exc

    def watch(self, stream: Counted) -> None:
        """The body of the answer now arriving: its bytes are the progress looked at."""
        self._stream = stream
        self._seen = -1

    def restart(self) -> None:
        """Another request in the same block: no answer yet, a new first period."""
        self._stream = None
        if self._handle is not None:
            self._handle.cancel()
        self._arm(self._loop.time() + self._first)

    def _arm(self, at: float) -> None:
        self._at = at = min(at, self._end)
        self._handle = self._loop.call_at(at, self._fire)

    def _fire(self) -> None:
        self._handle = None
        stream = self._stream
        if self._at < self._end and stream is not None and stream.total_bytes != self._seen:
            self._seen = stream.total_bytes
            self._arm(self._loop.time() + self._read)
            return
        self._expired = True
        self._task.cancel()


class Counted(Protocol):
    """What :meth:`Watchdog.watch` reads: aiohttp's ``StreamReader`` (bytes received so far)."""

    total_bytes: int
