"""``qjobs sweep FILE --plot out.png``: the picture of a sweep's result, written after the run.

The request is checked before anything runs (matplotlib installed, an image suffix, a grid of
one or two axes), so a sweep of an hour never ends in an unwritable plot; the error is an
:class:`~qjobs.InputError` on ``--plot`` (exit 2).
"""

from __future__ import annotations

from pathlib import Path

from qjobs._core.errors import InputError
from qjobs.sweep import Sweep
from qjobs.sweep._result import SweepResult

__all__ = ["check_plot_request", "write_plot"]

FIELD = "--plot"


def check_plot_request(path: Path, sweep: Sweep) -> None:
    """InputError on ``--plot`` unless ``path`` can be drawn for ``sweep`` once it has run."""
    try:
        from qjobs._core.plotting import check_image_path

        check_image_path(path, FIELD)
    except ImportError as exc:
        raise InputError(FIELD, str(path), str(exc)) from None
    if len(sweep.grid_shape) > 2:
        names = ", ".join(sweep.axes)
        raise InputError(
            FIELD,
            str(path),
            f"a plot draws a 1-D or 2-D grid; this sweep has {len(sweep.grid_shape)} axes "
            f"({names})",
        )


def write_plot(result: SweepResult, path: Path) -> Path:
    """Draw ``result`` (its default plot: the parity of all clbits) to ``path``; return it."""
    result.plot(path=path)
    return path
