"""The handle of a running emulator: its URLs, live statistics, fault rules and clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from qjobs.emulators._common.clock import Clock
from qjobs.emulators._common.context import CONTEXT_KEY, PREFIX_KEY
from qjobs.emulators._common.faults import Fault, FaultSpec
from qjobs.emulators._common.stats import EmulatorStats

__all__ = ["Server"]


class Server:
    """A running emulator: where it listens and its live statistics and fault controls.

    ``base_url`` includes the provider's prefix (``http://127.0.0.1:PORT/v0.4``); ``root_url`` is
    the app's root where the reserved ``/_qjobs/...`` routes live: the server root when served
    alone, ``http://127.0.0.1:PORT/ionq`` when mounted on a shared server.
    """

    def __init__(self, name: str, root_url: str, app: web.Application) -> None:
        self.name = name
        self.root_url = root_url
        self.app = app
        self.context = app[CONTEXT_KEY]
        self.base_url = root_url + app[PREFIX_KEY]

    @property
    def stats(self) -> EmulatorStats:
        """The server's :class:`EmulatorStats` (live)."""
        return self.context.stats

    @property
    def clock(self) -> Clock:
        """The lifecycle clock."""
        return self.context.clock

    def set_faults(self, faults: Iterable[FaultSpec] | Mapping[str, Any] | None) -> None:
        """Replace the fault rules (same forms as ``POST /_qjobs/faults``)."""
        self.context.faults.set(faults)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.context.faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """The active fault rules, with their ``seen``/``fired`` counters."""
        return self.context.faults.faults

    def advance(self, seconds: float) -> None:
        """Move the lifecycle clock forward (tests: drive queue and execution time)."""
        self.context.clock.advance(seconds)

    def __repr__(self) -> str:
        return f"<Server {self.name} {self.base_url}>"
