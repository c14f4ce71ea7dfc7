"""Progress and summary output of ``qjobs sweep``: a rich live bar on a TTY, plain lines elsewhere.

The displays themselves are the library's (:mod:`qjobs.scheduler._display`, also behind
``progress=`` of :class:`~qjobs.Scheduler` and :meth:`qjobs.Sweep.run`); the command differs only
in its policy: it always shows something, plain lines when stdout is not a terminal. ``rich`` is
optional (the ``cli`` and ``progress`` extras); without it the output is plain. While requests
wait to be retried the display says so: what is retried, after which error, when the next attempt
is and how long until the retry policy gives up.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from qjobs.scheduler._display import ProgressDisplay, RichProgressDisplay, rich_available

if TYPE_CHECKING:
    from qjobs.transport import TransportStats

__all__ = [
    "ProgressDisplay",
    "RichProgressDisplay",
    "make_display",
    "print_summary",
    "rich_available",
]


def make_display(
    total: int, stats: TransportStats, *, stream: IO[str] | None = None
) -> ProgressDisplay:
    """A rich display when ``stream`` is a TTY and rich is installed, plain lines otherwise."""
    out = sys.stdout if stream is None else stream
    if out.isatty() and rich_available():
        return RichProgressDisplay(total, stats, stream=out, label="sweep")
    return ProgressDisplay(total, stats, stream=out, label="sweep")


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
