"""``qjobs sweep FILE --plot IMAGE [--plot-of WHAT]``: the picture of a sweep's result.

The request is checked before anything runs (matplotlib installed, an image suffix, a grid of
one or two axes, ``--plot-of`` as wide as the circuit's outcomes), so a sweep of an hour never
ends in an unwritable plot; the error is an :class:`~qjobs.InputError` on ``--plot`` or
``--plot-of`` (exit 2). The picture is drawn once the ``.npz`` is written.
"""

from __future__ import annotations

from pathlib import Path

from qjobs._core.errors import InputError
from qjobs.sweep import Sweep
from qjobs.sweep._result import SweepResult

__all__ = ["PlotRequest", "check_plot_request", "write_plot"]


class PlotRequest:
    """Where to draw and what: an expectation (``"ZZII"``) or an outcome's probability (``"0101"``).

    ``what=None`` draws the default of :meth:`qjobs.SweepResult.plot` (the parity of all clbits).
    """

    def __init__(self, path: Path, what: str | None) -> None:
        self.path = path
        self.what = what

    @property
    def expectation(self) -> str | None:
        """The observable to draw, when ``what`` is a string of ``Z`` and ``I``."""
        return self.what if self.what and set(self.what) <= {"Z", "I"} else None

    @property
    def outcome(self) -> str | None:
        """The outcome whose probability to draw, when ``what`` is a bitstring."""
        return self.what if self.what and set(self.what) <= {"0", "1"} else None


def _outcome_width(sweep: Sweep) -> int:
    """The bits of an outcome: the measured circuit's clbits, else one per qubit."""
    template = sweep.template
    return template.num_clbits if template.measured_clbits else template.num_qubits


def check_plot_request(path: Path | None, what: str | None, sweep: Sweep) -> PlotRequest | None:
    """The checked request, None without ``--plot``; InputError on ``--plot``/``--plot-of``."""
    if path is None:
        if what is not None:
            raise InputError("--plot-of", what, "needs --plot IMAGE, the file to draw to")
        return None
    try:
        from qjobs._core.plotting import check_image_path

        check_image_path(path, "--plot")
    except ImportError as exc:
        raise InputError("--plot", str(path), str(exc)) from None
    if len(sweep.grid_shape) > 2:
        names = ", ".join(sweep.axes)
        raise InputError(
            "--plot",
            str(path),
            f"a plot draws a 1-D or 2-D grid; this sweep has {len(sweep.grid_shape)} axes "
            f"({names})",
        )
    request = PlotRequest(path, what)
    if what is not None:
        width = _outcome_width(sweep)
        if (request.expectation is None and request.outcome is None) or len(what) != width:
            raise InputError(
                "--plot-of",
                what,
                f"expected {width} characters: Z and I for an expectation (e.g. "
                f"{'Z' * width!r}), or 0 and 1 for an outcome's probability (clbit 0 rightmost)",
            )
    return request


def write_plot(result: SweepResult, request: PlotRequest) -> Path:
    """Draw ``result`` as ``request`` says; return the image's path."""
    try:
        result.plot(request.expectation, outcome=request.outcome, path=request.path)
    except InputError as exc:
        if exc.field in ("expectation", "outcome"):
            raise InputError("--plot-of", exc.value, exc.reason) from None
        raise
    return request.path
