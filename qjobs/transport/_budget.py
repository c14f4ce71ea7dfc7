"""A request budget shared beyond one transport: the interface the transport calls.

A :class:`~qjobs.transport.Transport` whose ``budget`` is set awaits ``budget.take()`` before
every request it sends (each attempt of a retried request counts), then goes through its own
rate limiter as usual. Campaign workers on one account set it to one token bucket kept in their
PostgreSQL ledger (:mod:`qjobs.scheduler._ledger_pg_budget`), so that all of them together send
no more than one process would.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["RequestBudget"]


class RequestBudget(Protocol):
    """Permission to send requests, shared with other clients."""

    async def take(self) -> None:
        """Return when one more request may be sent."""
        ...
