"""matplotlib helpers shared by every plot: the axes to draw on, saving, the counts histogram.

matplotlib is an optional extra (``pip install 'qjobs[plot]'``), imported only when a plot is
drawn. A plot saved to a file without an ``ax`` is drawn on a figure of its own with the
non-interactive Agg canvas, never through ``pyplot``: it needs no display and leaves no open
figure behind. Without ``path`` and ``ax`` the figure comes from ``pyplot`` (shown inline in a
notebook).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from qjobs._core.errors import InputError
from qjobs._core.optional import require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PLOT_EXTRA", "check_image_path", "counts_histogram", "figure_of", "new_axes", "save"]

#: The extra that installs matplotlib.
PLOT_EXTRA = "plot"


def _load() -> None:
    require("matplotlib", PLOT_EXTRA)


def check_image_path(path: str | os.PathLike[str], field: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path` whose suffix names a format matplotlib writes.

    A missing or unknown suffix raises :class:`~qjobs.InputError` on ``field``, before anything
    is drawn (or, in the CLI, before anything runs).
    """
    _load()
    from matplotlib.backend_bases import FigureCanvasBase

    target = Path(path)
    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in formats:
        raise InputError(
            field,
            str(path),
            f"not an image file name matplotlib can write; use a suffix of {sorted(formats)}",
        )
    return target


def new_axes(ax: Axes | None, path: str | os.PathLike[str] | None) -> Axes:
    """The axes to draw on: ``ax`` when given, else a new figure's.

    With ``path`` the new figure is a plain :class:`~matplotlib.figure.Figure` on the Agg canvas
    (no display, no ``pyplot`` state); without, it comes from ``pyplot.subplots``.
    """
    _load()
    from matplotlib.axes import Axes

    if ax is not None:
        if not isinstance(ax, Axes):
            raise InputError("ax", ax, "expected a matplotlib Axes")
        return ax
    if path is not None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(layout="constrained")
        FigureCanvasAgg(figure)
        return figure.add_subplot()
    import matplotlib.pyplot as plt

    _, new = plt.subplots(layout="constrained")
    return new


def figure_of(ax: Axes) -> Figure:
    """The top-level figure that holds ``ax`` (through any subfigures)."""
    from matplotlib.figure import Figure

    holder = ax.figure
    while not isinstance(holder, Figure):
        holder = holder.figure
    return holder


def save(ax: Axes, path: str | os.PathLike[str] | None) -> None:
    """Write the figure holding ``ax`` to ``path`` (parent folders created); nothing if None."""
    if path is None:
        return
    target = check_image_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure_of(ax).savefig(target)


def counts_histogram(
    counts: Mapping[str, int],
    *,
    title: str,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Axes:
    """A bar chart of ``counts``: one bar per outcome present, in outcome order.

    Bars are labelled with their bitstrings (bit 0 rightmost); empty ``counts`` raise
    :class:`~qjobs.InputError` on ``counts``.
    """
    if path is not None:
        check_image_path(path)
    if not counts:
        raise InputError("counts", dict(counts), "no counts to plot")
    axes = new_axes(ax, path)
    labels = sorted(counts, key=lambda key: int(key, 2) if key else 0)
    heights = [counts[label] for label in labels]
    positions = list(range(len(labels)))
    axes.bar(positions, heights, color="tab:blue")
    axes.set_xticks(positions, [label or "-" for label in labels])
    if len(labels) > 8:
        axes.tick_params(axis="x", labelrotation=90)
    axes.set_xlabel("outcome (clbit 0 rightmost)")
    axes.set_ylabel("counts")
    axes.set_title(title)
    save(axes, path)
    return axes
