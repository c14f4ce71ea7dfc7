"""One token bucket in the PostgreSQL ledger: the request budget of workers sharing an account.

Table ``qjobs_budgets`` (schema version 2) holds one row per budget: ``rate`` (requests per
second), ``burst`` (the bucket's size), the ``tokens`` left when it was last drawn from and when
(``updated``). A worker draws a few tokens at a time (:meth:`SharedBudget.take`): in one
transaction it locks the row, refills it for the time elapsed (by the database server's clock,
so the workers' clocks need not agree), takes what it may, and spends the tokens locally before
drawing again. An empty bucket answers how long until the next token, and the worker waits that
long. Every worker's requests are thus drawn from one bucket: together they stay within
``rate`` per second with at most ``burst`` at once, whatever their number.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import anyio

from qjobs.scheduler._ledger_pg import connect

if TYPE_CHECKING:
    import psycopg

__all__ = ["SharedBudget"]


class SharedBudget:
    """The budget ``name`` of the ledger at ``url``: ``rate`` requests per second, ``burst`` at
    most at once (default: one second's worth). Use as ``async with``; implements
    :class:`~qjobs.transport._budget.RequestBudget`."""

    def __init__(self, url: str, name: str, rate: float, burst: float | None = None) -> None:
        if not rate > 0:
            raise ValueError("a shared budget needs a positive rate")
        self._url = url
        self.name = name
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        #: Tokens taken per draw: about 50 ms worth, so a draw is rare next to the requests.
        self.chunk = max(1, math.floor(self.rate / 20))
        self._tokens = 0
        self._lock = anyio.Lock()
        self._conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None
        #: Draws made, and draws that found the bucket empty (for tests and statistics).
        self.draws = 0
        self.empty = 0

    def __repr__(self) -> str:
        return f"<SharedBudget {self.name!r} {self.rate:g}/s burst {self.burst:g}>"

    async def __aenter__(self) -> SharedBudget:
        conn = await connect(self._url)
        try:
            await conn.execute(
                "INSERT INTO qjobs_budgets (name, rate, burst, tokens, updated) "
                "VALUES (%s, %s, %s, %s, clock_timestamp()) ON CONFLICT (name) DO UPDATE "
                "SET rate = excluded.rate, burst = excluded.burst",
                (self.name, self.rate, self.burst, self.burst),
            )
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return self

    async def __aexit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def take(self) -> None:
        """Return when one more request may be sent (drawing from the shared bucket)."""
        async with self._lock:
            while self._tokens < 1:
                granted, wait = await self._draw()
                self._tokens += granted
                if not granted:
                    await anyio.sleep(wait)
            self._tokens -= 1

    async def _draw(self) -> tuple[int, float]:
        """Tokens granted now, and (when none) the seconds until the next one."""
        conn = self._conn
        if conn is None:
            raise RuntimeError("the shared budget is not open (use it as 'async with')")
        with anyio.CancelScope(shield=True):  # psycopg closes a connection cancelled mid-query
            async with conn.transaction():
                cur = await conn.execute(
                    "SELECT rate, burst, tokens + extract(epoch FROM clock_timestamp() - updated) "
                    "* rate FROM qjobs_budgets WHERE name = %s FOR UPDATE",
                    (self.name,),
                )
                row = await cur.fetchone()
                if row is None:
                    raise RuntimeError(f"budget {self.name!r} vanished from the ledger")
                rate, burst, level = (float(v) for v in row)
                level = min(burst, level)
                granted = min(self.chunk, math.floor(level)) if level >= 1 else 0
                await conn.execute(
                    "UPDATE qjobs_budgets SET tokens = %s, updated = clock_timestamp() "
                    "WHERE name = %s",
                    (level - granted, self.name),
                )
        self.draws += 1
        if granted:
            return granted, 0.0
        self.empty += 1
        return 0, (1.0 - level) / rate
