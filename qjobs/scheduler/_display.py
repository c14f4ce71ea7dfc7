"""Progress displays: a live bar on a terminal, a widget in Jupyter, plain lines for logs.

``progress=`` of :class:`~qjobs.Scheduler` and :meth:`qjobs.Sweep.run` picks one with
:func:`choose_display`: ``"auto"`` draws a notebook widget inside a Jupyter kernel, a live
``rich`` bar when standard error is a terminal (not in CI, not ``TERM=dumb``) and nothing
otherwise; ``True`` always draws (the widget in Jupyter, else the bar, which on a file or pipe
prints its last state when done); ``False`` draws nothing. ``rich`` (the ``progress`` extra) is
imported only when something is drawn; ``progress=True`` without it raises :class:`ImportError`
naming the extra, ``"auto"`` then draws nothing.

Every display reads :class:`~qjobs.scheduler.Progress` snapshots (stored by
:meth:`ProgressDisplay.update`, cheap enough for every scheduler event) and the client's
transport statistics for the request rate, and redraws on its own clock
(:meth:`ProgressDisplay.run`, a task of the scheduler's task group). ``qjobs sweep`` uses the
same classes: the rich bar on a terminal, :class:`ProgressDisplay`'s plain lines elsewhere.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import time
from collections import deque
from typing import IO, TYPE_CHECKING, Any, Literal, TypeAlias

import anyio

from qjobs._core.errors import InputError

if TYPE_CHECKING:
    from qjobs.transport import TransportStats

__all__ = [
    "NotebookProgressDisplay",
    "ProgressDisplay",
    "ProgressMode",
    "RichProgressDisplay",
    "check_mode",
    "choose_display",
    "default_stream",
    "in_notebook",
    "interactive",
    "rich_available",
]

#: What ``progress=`` accepts.
ProgressMode: TypeAlias = bool | Literal["auto"]

_MISSING_RICH = (
    "progress=True draws its bar with 'rich', which is not installed; "
    "install the extra: pip install 'qjobs[progress]'"
)


def check_mode(progress: Any) -> ProgressMode:
    """``progress`` if it is ``True``, ``False`` or ``"auto"``; else :class:`~qjobs.InputError`."""
    if isinstance(progress, bool) or progress == "auto":
        return progress  # type: ignore[no-any-return]
    raise InputError("progress", progress, "expected True, False or 'auto'")


def rich_available() -> bool:
    """True when ``rich`` can be imported."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel; not the IPython terminal).

    Looks only at an IPython already imported: a plain script never imports it.
    """
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def interactive(stream: IO[str]) -> bool:
    """True when ``stream`` is a terminal someone watches (not in CI, not ``TERM=dumb``)."""
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed stream
        tty = False
    if not tty:
        return False
    return not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


def default_stream() -> IO[str]:
    """Where displays draw unless told otherwise: standard error, as it is now."""
    return sys.stderr


def choose_display(
    progress: ProgressMode,
    *,
    total: int | None,
    stats: TransportStats | None,
    stream: IO[str] | None = None,
    label: str = "qjobs",
) -> ProgressDisplay | None:
    """The display ``progress`` asks for here (see the module docstring), or None.

    ``stream`` defaults to :func:`default_stream` (``sys.stderr``, read now); ``total`` None
    follows the snapshots'.
    """
    mode = check_mode(progress)
    if mode is False:
        return None
    out = default_stream() if stream is None else stream
    notebook = in_notebook()
    if mode == "auto" and not (notebook or interactive(out)):
        return None
    if not rich_available():
        if mode is True:
            raise ImportError(_MISSING_RICH)
        return None
    if notebook:
        return NotebookProgressDisplay(total, stats, label=label)
    return RichProgressDisplay(total, stats, stream=out, label=label)


def _ipython_display() -> Any:
    """``IPython.display`` (there in every Jupyter kernel; imported only when drawing there)."""
    return importlib.import_module("IPython.display")


class ProgressDisplay:
    """Plain progress: one line every ``interval`` seconds (and a last one when done)."""

    def __init__(
        self,
        total: int | None,
        stats: TransportStats | None,
        *,
        stream: IO[str],
        interval: float = 1.0,
        label: str = "qjobs",
    ) -> None:
        self.total = total
        self.stats = stats
        self.stream = stream
        self.interval = interval
        self.label = label
        self.snapshot: Any = None
        self._start = time.perf_counter()
        self._requests0 = self._requests()
        self._samples: deque[tuple[float, int]] = deque(maxlen=64)

    def _requests(self) -> int:
        return 0 if self.stats is None else self.stats.total

    def update(self, snapshot: Any) -> None:
        """Record the latest scheduler progress snapshot (called on every scheduler event)."""
        self.snapshot = snapshot

    def counts(self) -> dict[str, int]:
        """Circuits pending, submitted (queued), running, completed and failed; jobs created."""
        snap = self.snapshot
        return {
            name: int(getattr(snap, name, 0) or 0)
            for name in ("pending", "submitted", "running", "completed", "failed", "jobs_submitted")
        }

    def shown_total(self) -> int:
        """The bar's total: the one given, else the latest snapshot's."""
        if self.total is not None:
            return self.total
        return int(getattr(self.snapshot, "total", 0) or 0)

    def rate(self) -> float:
        """HTTP requests per second over the last few seconds."""
        now = time.perf_counter()
        total = self._requests()
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > 3.0:
            self._samples.popleft()
        t0, n0 = self._samples[0]
        if now - t0 < 1e-3:
            elapsed = now - self._start
            return (total - self._requests0) / elapsed if elapsed > 0 else 0.0
        return (total - n0) / (now - t0)

    def retry_line(self) -> str | None:
        """The retries so far and the one due first, or None when nothing was retried."""
        snap = self.snapshot
        retries = int(getattr(snap, "retries", 0) or 0)
        message: str | None = getattr(snap, "retry_message", None)
        if not retries and message is None:
            return None
        return f"retries {retries}" + (f": {message}" if message else "")

    def line(self) -> str:
        """One plain progress line."""
        c = self.counts()
        retry = self.retry_line()
        return (
            f"[{time.perf_counter() - self._start:6.1f}s] done {c['completed']}/"
            f"{self.shown_total()}"
            f"  pending {c['pending']}  submitted {c['submitted']}  running {c['running']}"
            f"  failed {c['failed']}  jobs {c['jobs_submitted']}"
            f"  | {self._requests() - self._requests0} requests, {self.rate():.1f} req/s"
            + (f"  | {retry}" if retry else "")
        )

    def render(self) -> None:
        """Draw the current state."""
        print(self.line(), file=self.stream, flush=True)

    async def run(self) -> None:
        """Redraw every ``interval`` seconds until cancelled."""
        while True:
            await anyio.sleep(self.interval)
            self.render()

    def start(self) -> None:
        """Begin displaying."""

    def close(self) -> None:
        """Draw the final state."""
        self.render()


class RichProgressDisplay(ProgressDisplay):
    """A live ``rich`` display: the progress bar, and under it the counts and request rate."""

    def __init__(
        self,
        total: int | None,
        stats: TransportStats | None,
        *,
        stream: IO[str],
        interval: float = 0.1,
        label: str = "qjobs",
    ) -> None:
        super().__init__(total, stats, stream=stream, interval=interval, label=label)
        from rich.console import Group
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            auto_refresh=False,
        )
        self._task = self._progress.add_task(label, total=total)
        self._info = Text()
        self._group = Group(self._progress, self._info)
        self._live: Any = None

    def _refresh_parts(self) -> None:
        """Update the bar (done = completed + failed) and the counts line."""
        from rich.text import Text

        c = self.counts()
        self._progress.update(
            self._task, completed=c["completed"] + c["failed"], total=self.shown_total()
        )
        line = Text.from_markup(
            f"pending {c['pending']}  submitted [cyan]{c['submitted']}[/]  "
            f"running [yellow]{c['running']}[/]  done [green]{c['completed']}[/]  "
            f"failed [red]{c['failed']}[/]  jobs {c['jobs_submitted']}  "
            f"{self.rate():.1f} req/s"
        )
        self._info.plain = ""
        self._info.append_text(line)
        retry = self.retry_line()
        if retry:
            self._info.append_text(Text("\n" + retry, style="yellow"))

    def render(self) -> None:
        """Update the bar and the counts line, then redraw."""
        self._refresh_parts()
        if self._live is not None:
            self._live.refresh()

    def start(self) -> None:
        """Show the live display."""
        from rich.console import Console
        from rich.live import Live

        self._live = Live(
            self._group, console=Console(file=self.stream), auto_refresh=False, transient=False
        )
        self._live.start()

    def close(self) -> None:
        """Draw the final state and stop the live display."""
        self.render()
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()
            if not live.console.is_terminal:  # on a file rich leaves the last line open
                self.stream.write("\n")
                self.stream.flush()


class NotebookProgressDisplay(RichProgressDisplay):
    """The same bar and counts in a Jupyter output cell, redrawn in place.

    Rendered by ``rich`` to HTML and shown with IPython's ``display(..., display_id=True)``
    handle (no ``ipywidgets`` needed), every half second and once when done.
    """

    def __init__(
        self,
        total: int | None,
        stats: TransportStats | None,
        *,
        interval: float = 0.5,
        label: str = "qjobs",
    ) -> None:
        super().__init__(total, stats, stream=io.StringIO(), interval=interval, label=label)
        self._handle: Any = None

    def html(self) -> str:
        """The current state as an HTML fragment."""
        from rich.console import Console

        self._refresh_parts()
        console = Console(file=io.StringIO(), record=True, width=100, force_terminal=True)
        console.print(self._group)
        return console.export_html(
            inline_styles=True,
            code_format='<pre style="font-family:monospace;line-height:1.2">{code}</pre>',
        )

    def render(self) -> None:
        """Redraw the output cell."""
        if self._handle is None:
            return
        self._handle.update(_ipython_display().HTML(self.html()))

    def start(self) -> None:
        """Create the output the display redraws."""
        shown = _ipython_display()
        self._handle = shown.display(shown.HTML(self.html()), display_id=True)

    def close(self) -> None:
        """Draw the final state."""
        self.render()
