"""Plots of a :class:`~qjobs.SweepResult`: a line over a 1-D grid, a heat map over a 2-D grid.

What is drawn is one value per grid point: the expectation of a diagonal Pauli string or the
probability of one outcome. Axes carry the parameter names, ticks their values: a heat-map axis
of evenly spaced values is numeric (each cell centred on its value), any other one is drawn by
index with a tick per value (thinned to :data:`MAX_TICKS`) labelled with it. matplotlib is
an optional extra (``pip install 'qjobs[plot]'``).
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

import numpy as np

from qjobs._core.errors import InputError
from qjobs._core.plotting import check_image_path, figure_of, new_axes, save
from qjobs.sweep._result import FloatArray, SweepResult, parity_signs

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "MAX_TICKS",
    "Quantity",
    "check_plottable",
    "choose",
    "even_edges",
    "outcome_index",
    "plot_sweep",
]

#: The most labelled ticks on a heat-map axis of uneven values (or a zip sweep's point axis);
#: longer axes are labelled at evenly spaced points including both ends.
MAX_TICKS = 9


@dataclasses.dataclass(frozen=True)
class Quantity:
    """One value per grid point and how to show it: its label, value range and colour map."""

    values: FloatArray
    label: str
    low: float
    high: float
    cmap: str


def outcome_index(outcome: object, num_clbits: int) -> int:
    """The outcome integer for a bitstring of ``num_clbits`` bits or an int; else InputError."""
    width = 1 << num_clbits
    if isinstance(outcome, str) and len(outcome) == num_clbits and set(outcome) <= {"0", "1"}:
        return int(outcome, 2) if outcome else 0
    if (
        isinstance(outcome, int | np.integer)
        and not isinstance(outcome, bool)
        and 0 <= int(outcome) < width
    ):
        return int(outcome)
    raise InputError(
        "outcome",
        outcome,
        f"expected a bitstring of {num_clbits} bits (clbit 0 rightmost) or an int in "
        f"0..{width - 1}",
    )


def choose(result: SweepResult, expectation: str | None, outcome: str | int | None) -> Quantity:
    """The values to draw: ``expectation`` (default: the parity of all clbits) or ``outcome``.

    Giving both, an unknown observable or a bad outcome raises :class:`~qjobs.InputError` naming
    ``expectation`` or ``outcome``.
    """
    n = result.num_clbits
    if expectation is not None and outcome is not None:
        raise InputError("outcome", outcome, "give either expectation or outcome, not both")
    if outcome is None and expectation is None:
        if n == 0:
            outcome = 0
        else:
            expectation = "Z" * n
    if outcome is not None:
        k = outcome_index(outcome, n)
        label = format(k, f"0{n}b") if n else "-"
        values = np.asarray(result.probabilities[..., k], dtype=np.float64)
        return Quantity(values, f"P({label})", 0.0, 1.0, "viridis")
    assert expectation is not None
    try:
        signs = parity_signs(expectation, n)
    except InputError as exc:
        raise InputError("expectation", expectation, exc.reason) from None
    values = np.asarray(result.probabilities @ signs, dtype=np.float64)
    return Quantity(values, f"<{expectation}>", -1.0, 1.0, "RdBu_r")


def check_plottable(result: SweepResult) -> None:
    """InputError on ``params`` unless the grid has one or two axes."""
    if len(result.grid_shape) > 2:
        names = list(result.axes)
        raise InputError(
            "params",
            names,
            f"plot draws a 1-D or 2-D grid; this one has {len(names)} axes: pick a slice, e.g. "
            f"result.to_xarray()[{'Z' * max(result.num_clbits, 1)!r}].sel({names[-1]}=...).plot()",
        )


def _ticks(n: int) -> list[int]:
    if n <= MAX_TICKS:
        return list(range(n))
    return sorted({int(i) for i in np.rint(np.linspace(0, n - 1, MAX_TICKS))})


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _title(result: SweepResult) -> str:
    where = "/".join(
        str(result.metadata[key]) for key in ("provider", "backend") if result.metadata.get(key)
    )
    shots = f"{result.shots} shots"
    return f"{where}, {shots}" if where else shots


def _line(result: SweepResult, quantity: Quantity, ax: Axes) -> None:
    names = list(result.axes)
    if len(names) == 1:
        x = result.axes[names[0]]
        order = np.argsort(x, kind="stable")
        ax.plot(x[order], quantity.values[order], marker="o")
        ax.set_xlabel(names[0])
    else:  # zip of several parameters: one point after another, ticks naming every value
        points = np.arange(result.size)
        ax.plot(points, quantity.values, marker="o")
        ticks = _ticks(result.size)
        labels = ["\n".join(_fmt(result.axes[n][i]) for n in names) for i in ticks]
        ax.set_xticks(ticks, labels)
        ax.set_xlabel(" / ".join(names) + " (zipped)")
    pad = 0.05 * (quantity.high - quantity.low)
    ax.set_ylim(quantity.low - pad, quantity.high + pad)
    ax.set_ylabel(quantity.label)
    ax.grid(True, alpha=0.3)


def even_edges(values: FloatArray) -> FloatArray | None:
    """Cell edges halfway between evenly spaced ``values`` (``linspace``-like), else None.

    None for fewer than two values or uneven, unordered or repeated ones: such an axis is drawn
    by index, one labelled tick per value.
    """
    if len(values) < 2:
        return None
    steps = np.diff(values)
    step = float(steps[0])
    if step == 0 or not np.allclose(steps, step, rtol=1e-6, atol=0.0):
        return None
    return np.asarray(
        np.concatenate([values - step / 2, [values[-1] + step / 2]]), dtype=np.float64
    )


def _grid_axis(values: FloatArray) -> tuple[FloatArray, list[int] | None]:
    """The cell edges along one heat-map axis, and the indices to label (None: matplotlib's)."""
    edges = even_edges(values)
    if edges is not None:
        return edges, None
    return np.arange(len(values) + 1, dtype=np.float64) - 0.5, _ticks(len(values))


def _heat_map(result: SweepResult, quantity: Quantity, ax: Axes) -> None:
    rows, cols = list(result.axes)  # axis 0 up the y axis, axis 1 along x (as xarray draws)
    x_edges, x_ticks = _grid_axis(result.axes[cols])
    y_edges, y_ticks = _grid_axis(result.axes[rows])
    mesh = ax.pcolormesh(
        x_edges,
        y_edges,
        quantity.values,
        cmap=quantity.cmap,
        vmin=quantity.low,
        vmax=quantity.high,
        shading="flat",
    )
    if x_ticks is not None:
        ax.set_xticks(x_ticks, [_fmt(result.axes[cols][i]) for i in x_ticks])
    if y_ticks is not None:
        ax.set_yticks(y_ticks, [_fmt(result.axes[rows][i]) for i in y_ticks])
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    figure_of(ax).colorbar(mesh, ax=ax, label=quantity.label)


def plot_sweep(
    result: SweepResult,
    expectation: str | None = None,
    *,
    outcome: str | int | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Axes:
    """The plot described by :meth:`qjobs.SweepResult.plot`."""
    if path is not None:
        check_image_path(path)
    quantity = choose(result, expectation, outcome)
    check_plottable(result)
    axes = new_axes(ax, path)
    if len(result.grid_shape) == 1:
        _line(result, quantity, axes)
    else:
        _heat_map(result, quantity, axes)
    axes.set_title(f"{quantity.label}: {_title(result)}")
    save(axes, path)
    return axes
