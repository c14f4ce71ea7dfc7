"""Cheap event-loop helpers for the scheduler's hot paths: the time, the next queued item."""

from __future__ import annotations

import asyncio
from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

__all__ = ["loop_time", "next_item"]

T = TypeVar("T")


def loop_time() -> float:
    """``anyio.current_time()``: on asyncio read straight from the running loop.

    anyio finds the running backend on every call, which costs more than reading the time;
    the scheduler reads it several times per job.
    """
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # another anyio backend
        return anyio.current_time()


async def next_item(rx: MemoryObjectReceiveStream[T]) -> T | None:
    """The next item of ``rx``, or None once it is closed and empty.

    A queued item is taken at once: ``async for`` over the stream first yields to the event
    loop for every item (anyio's checkpoint), which costs more than handling the item. Waiting
    for an item that is not there yet is a checkpoint as usual. Items are never None.
    """
    try:
        return rx.receive_nowait()
    except anyio.WouldBlock:
        pass
    except anyio.EndOfStream:
        return None
    try:
        return await rx.receive()
    except anyio.EndOfStream:
        return None
