"""Progress and summary output of ``qjobs sweep``: a rich live bar on a TTY, plain lines elsewhere.

``rich`` is optional (the ``cli`` extra); it is imported lazily and its absence falls back to
plain output. The display reads a scheduler :class:`~qjobs.scheduler.Progress` snapshot (stored
by :meth:`ProgressDisplay.update`, cheap enough to call on every scheduler event) and the
client's transport statistics for the request rate, and redraws on its own clock. While requests
wait to be retried (an unreachable endpoint...) it says so: what is retried, after which error,
when the next attempt is and how long until the retry policy gives up.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from qjobs.transport import TransportStats

__all__ = ["ProgressDisplay", "make_display", "print_summary", "rich_available"]


def rich_available() -> bool:
    """True when ``rich`` can be imported."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class ProgressDisplay:
    """Plain progress: one line every ``interval`` seconds (and a last one when done)."""

    def __init__(
        self, total: int, stats: TransportStats, *, stream: IO[str], interval: float = 1.0
    ) -> None:
        self.total = total
        self.stats = stats
        self.stream = stream
        self.interval = interval
        self.snapshot: Any = None
        self._start = time.perf_counter()
        self._requests0 = stats.total
        self._samples: deque[tuple[float, int]] = deque(maxlen=64)

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

    def rate(self) -> float:
        """HTTP requests per second over the last few seconds."""
        now = time.perf_counter()
        total = self.stats.total
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
            f"[{time.perf_counter() - self._start:6.1f}s] done {c['completed']}/{self.total}"
            f"  pending {c['pending']}  submitted {c['submitted']}  running {c['running']}"
            f"  failed {c['failed']}  jobs {c['jobs_submitted']}"
            f"  | {self.stats.total - self._requests0} requests, {self.rate():.1f} req/s"
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
        self, total: int, stats: TransportStats, *, stream: IO[str], interval: float = 0.1
    ) -> None:
        super().__init__(total, stats, stream=stream, interval=interval)
        from rich.console import Console, Group
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        self._progress = Progress(
            TextColumn("[bold]sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            auto_refresh=False,
        )
        self._task = self._progress.add_task("sweep", total=total)
        self._info = Text()
        self._live = Live(
            Group(self._progress, self._info),
            console=Console(file=stream),
            auto_refresh=False,
            transient=False,
        )

    def render(self) -> None:
        """Update the bar (done = completed + failed) and the counts line, then redraw."""
        from rich.text import Text

        c = self.counts()
        self._progress.update(self._task, completed=c["completed"] + c["failed"])
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
        self._live.refresh()

    def start(self) -> None:
        """Show the live display."""
        self._live.start()

    def close(self) -> None:
        """Draw the final state and stop the live display."""
        self.render()
        self._live.stop()


def make_display(
    total: int, stats: TransportStats, *, stream: IO[str] | None = None
) -> ProgressDisplay:
    """A rich display when ``stream`` is a TTY and rich is installed, plain lines otherwise."""
    out = sys.stdout if stream is None else stream
    if out.isatty() and rich_available():
        return RichProgressDisplay(total, stats, stream=out)
    return ProgressDisplay(total, stats, stream=out)


def print_summary(
    rows: Sequence[tuple[str, str]],
    samples: Sequence[tuple[str, str]],
    *,
    stream: IO[str] | None = None,
) -> None:
    """Print the summary table (``rows``) and a few probabilities (``samples``)."""
    out = sys.stdout if stream is None else stream
    if out.isatty() and rich_available():
        from rich.console import Console
        from rich.table import Table

        table = Table(title="sweep summary", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in rows:
            table.add_row(key, value)
        probs = Table(title="sample probabilities")
        probs.add_column("point")
        probs.add_column("most likely outcomes")
        for point, text in samples:
            probs.add_row(point, text)
        console = Console(file=out)
        console.print(table)
        console.print(probs)
        return
    width = max(len(k) for k, _ in rows)
    print("sweep summary", file=out)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}", file=out)
    print("sample probabilities", file=out)
    for point, text in samples:
        print(f"  {point}: {text}", file=out)
    out.flush()
