"""The scheduler's clock: the event loop's monotonic time, read cheaply."""

from __future__ import annotations

import asyncio

import anyio

__all__ = ["loop_time"]


def loop_time() -> float:
    """``anyio.current_time()``: on asyncio read straight from the running loop.

    anyio finds the running backend on every call, which costs more than reading the time;
    the scheduler reads it several times per job.
    """
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # another anyio backend
        return anyio.current_time()
