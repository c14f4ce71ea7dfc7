"""The outcome of a parameter sweep: the grid, probabilities and counts as numpy arrays.

A :class:`SweepResult` is what :meth:`qjobs.Sweep.run` returns. It saves to and loads from a
``.npz`` file holding plain arrays only (``allow_pickle=False`` on both sides): counts are stored
as three integer arrays (offsets, outcomes, values) and the small metadata as one JSON string.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError

if TYPE_CHECKING:
    import pandas
    import xarray
    from matplotlib.axes import Axes

__all__ = [
    "MAX_POINTS",
    "SweepMode",
    "SweepResult",
    "check_grid_size",
    "parity_signs",
    "product_grid",
]

#: How the parameter arrays combine: ``"product"`` (outer grid) or ``"zip"`` (point by point).
SweepMode = Literal["product", "zip"]

_FORMAT = "qjobs.sweep/1"

FloatArray = npt.NDArray[np.float64]

#: The most points a sweep grid may have. Every point is held in memory as a bound circuit
#: (about 1.5 KB for a small 4-qubit ansatz) and then as a result, so a million points already
#: take a few GB; larger grids are refused before anything is allocated.
MAX_POINTS = 1_000_000


def check_grid_size(lengths: Mapping[str, int], mode: SweepMode, field: str = "params") -> int:
    """The number of grid points for axes of ``lengths``; InputError above :data:`MAX_POINTS`.

    Computed with Python integers from the lengths alone, before any grid is allocated.
    """
    size = max(lengths.values(), default=0) if mode == "zip" else math.prod(lengths.values())
    if size > MAX_POINTS:
        shape = " x ".join(str(n) for n in lengths.values())
        raise InputError(
            field,
            dict(lengths),
            f"a grid of {size:,} points ({mode} of {shape}) is more than the limit of "
            f"{MAX_POINTS:,} points; split the sweep into smaller ones",
        )
    return size


def product_grid(
    axes: Mapping[str, FloatArray], mode: SweepMode, field: str = "params"
) -> tuple[tuple[int, ...], dict[str, FloatArray]]:
    """The grid shape and each parameter's values over the grid, for ``axes`` in ``mode``.

    ``product`` gives an outer grid in the key order of ``axes`` (``indexing="ij"``); ``zip``
    pairs equal-length arrays point by point, shape ``(n,)``. A grid of more than
    :data:`MAX_POINTS` points raises :class:`~qjobs.InputError` on ``field`` before allocating.
    """
    check_grid_size({name: len(a) for name, a in axes.items()}, mode, field)
    arrays = list(axes.values())
    if mode == "zip":
        shape: tuple[int, ...] = (len(arrays[0]),)
        grids = list(arrays)
    else:
        shape = tuple(len(a) for a in arrays)
        grids = list(np.meshgrid(*arrays, indexing="ij"))
    out: dict[str, FloatArray] = {}
    for name, grid in zip(axes, grids, strict=True):
        arr = np.array(grid, dtype=np.float64)  # a copy the caller cannot alias
        arr.flags.writeable = False
        out[name] = arr
    return shape, out


def parity_signs(observable: str, num_clbits: int) -> FloatArray:
    """+1/-1 for each outcome: the eigenvalue of the diagonal Pauli string ``observable``."""
    if not isinstance(observable, str):
        raise InputError("observable", observable, "expected a string of 'Z' and 'I'")
    if len(observable) != num_clbits or not set(observable) <= {"Z", "I"}:
        raise InputError(
            "observable",
            observable,
            f"expected {num_clbits} characters, each 'Z' or 'I' (rightmost = clbit 0)",
        )
    outcomes = np.arange(1 << num_clbits, dtype=np.int64)
    parity = np.zeros_like(outcomes)
    for bit, ch in enumerate(reversed(observable)):
        if ch == "Z":
            parity ^= (outcomes >> bit) & 1
    return np.asarray(1.0 - 2.0 * parity, dtype=np.float64)


def _normalise_counts(counts: Mapping[str, int], num_clbits: int, point: int) -> dict[str, int]:
    """Counts with keys padded to ``num_clbits`` bits (bit 0 rightmost) and zeros dropped."""
    out: dict[str, int] = {}
    for key, n in counts.items():
        try:
            k = int(key, 2) if key else 0
        except (TypeError, ValueError):
            raise InputError(f"counts[{point}]", key, "not a bitstring") from None
        if k >> num_clbits:
            raise InputError(f"counts[{point}]", key, f"wider than {num_clbits} clbits")
        if n:
            label = format(k, f"0{num_clbits}b") if num_clbits else ""
            out[label] = out.get(label, 0) + int(n)
    return out


class SweepResult:
    """The results of a :class:`~qjobs.Sweep`, as arrays shaped like its parameter grid.

    Attributes:
        params: each parameter's value at every grid point, each of shape ``grid_shape``.
        axes: each parameter's 1-D values as given to the sweep (in zip mode, the point values).
        mode: ``"product"`` or ``"zip"``.
        shots: shots per point.
        probabilities: shape ``(*grid_shape, 2**num_clbits)``; ``probabilities[..., k]`` is the
            probability of outcome ``k``, whose bit ``i`` is classical bit ``i``.
        counts: one ``{bitstring: count}`` per point, flat in C order (bit 0 rightmost).
        job_ids: the provider job that ran each point, flat in C order.
        metadata: JSON-compatible facts about the run (provider, backend, timings, requests).
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        *,
        axes: Mapping[str, npt.ArrayLike],
        mode: SweepMode,
        shots: int,
        probabilities: npt.ArrayLike,
        counts: Sequence[Mapping[str, int]],
        job_ids: Sequence[str | None],
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if mode not in ("product", "zip"):
            raise InputError("mode", mode, "expected 'product' or 'zip'")
        if not axes:
            raise InputError("axes", dict(axes), "at least one parameter is needed")
        clean_axes: dict[str, FloatArray] = {}
        for name, values in axes.items():
            arr = np.array(values, dtype=np.float64)
            if arr.ndim != 1:
                raise InputError(f"axes[{name!r}]", arr.shape, "expected a 1-D array")
            arr.flags.writeable = False
            clean_axes[name] = arr
        if mode == "zip" and len({len(a) for a in clean_axes.values()}) != 1:
            raise InputError(
                "axes", {k: len(v) for k, v in clean_axes.items()}, "zip needs equal lengths"
            )
        self.axes = clean_axes
        self.mode: SweepMode = mode
        self.grid_shape, self.params = product_grid(clean_axes, mode, "axes")
        size = int(np.prod(self.grid_shape))
        probs = np.array(probabilities, dtype=np.float64)
        width = probs.shape[-1] if probs.ndim else 0
        num_clbits = width.bit_length() - 1
        if probs.shape != (*self.grid_shape, width) or width != 1 << max(num_clbits, 0):
            raise InputError(
                "probabilities",
                probs.shape,
                f"expected shape (*{self.grid_shape}, 2**num_clbits)",
            )
        probs.flags.writeable = False
        self.probabilities = probs
        self.num_clbits = num_clbits
        if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
            raise InputError("shots", shots, "expected a positive integer")
        self.shots = int(shots)
        if len(counts) != size:
            raise InputError("counts", len(counts), f"expected one mapping per point ({size})")
        self.counts = [_normalise_counts(c, num_clbits, i) for i, c in enumerate(counts)]
        if len(job_ids) != size:
            raise InputError("job_ids", len(job_ids), f"expected one id per point ({size})")
        self.job_ids: list[str | None] = [None if j is None else str(j) for j in job_ids]
        self.metadata: dict[str, Any] = dict(metadata or {})

    # ------------------------------------------------------------------------- views
    @property
    def size(self) -> int:
        """The number of grid points."""
        return len(self.counts)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The parameter names, in grid axis order."""
        return tuple(self.axes)

    def expectation(self, observable: str) -> FloatArray:
        """Expectation of a diagonal Pauli string (``"ZZ"``, ``"ZIZ"``) at every grid point.

        The string has one character per classical bit, the rightmost acting on clbit 0; ``Z``
        contributes a sign, ``I`` nothing. Returns an array of shape ``grid_shape``.
        """
        signs = parity_signs(observable, self.num_clbits)
        return np.asarray(self.probabilities @ signs, dtype=np.float64)

    # ------------------------------------------------------- labelled data and plots
    def to_xarray(self, expectations: str | Sequence[str] | None = None) -> xarray.Dataset:
        """The result as an :class:`xarray.Dataset` labelled with the grid's names and values.

        Dimensions: in product mode one per parameter, named by it, whose coordinate holds the
        parameter's values; in zip mode one dimension ``point`` (coordinate ``0 .. n-1``) with
        each parameter as a coordinate along it. Then ``outcome``, whose coordinate holds the
        bitstrings (bit 0 rightmost) in outcome order. Variables: ``probabilities`` and
        ``counts`` (integers) over the grid and ``outcome``, ``job_id`` over the grid (``""``
        where unknown), and one variable per observable in ``expectations`` (diagonal Pauli
        strings, e.g. ``["ZZ", "IZ"]``), named by it. By default: the parity of all clbits and
        ``Z`` on each clbit alone. ``attrs``: ``mode``, ``shots``, ``num_clbits`` and the
        metadata as plain values (lists and mappings as JSON text, ``None`` left out).

        Needs xarray (``pip install 'qjobs[xarray]'``). A bad observable raises
        :class:`~qjobs.InputError` on ``expectations``; a parameter named like a dimension or
        variable of the Dataset (``outcome``, ``point``, ``probabilities``, ``counts``,
        ``job_id``) on ``params``.
        """
        from qjobs.sweep._labelled import to_xarray

        return to_xarray(self, expectations)

    def to_pandas(self, expectations: str | Sequence[str] | None = None) -> pandas.DataFrame:
        """The result as a long :class:`pandas.DataFrame`: one row per grid point and outcome.

        Columns: ``point`` (the flat index, C order), one column per parameter (its value at
        the point), ``outcome`` (the bitstring, bit 0 rightmost), ``count``, ``probability``,
        ``job_id`` (missing where unknown), then one column per observable in
        ``expectations`` (as for :meth:`to_xarray`) holding the point's expectation, repeated
        on each of its outcome rows. Every outcome has a row (``2**num_clbits`` rows per point,
        zero counts included), in outcome order. ``attrs`` as for :meth:`to_xarray`.

        Needs pandas (``pip install 'qjobs[pandas]'``). A bad observable raises
        :class:`~qjobs.InputError` on ``expectations``; a parameter named like a column
        (``point``, ``outcome``, ``count``, ``probability``, ``job_id``) on ``params``.
        """
        from qjobs.sweep._labelled import to_pandas

        return to_pandas(self, expectations)

    def plot(
        self,
        expectation: str | None = None,
        *,
        outcome: str | int | None = None,
        ax: Axes | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> Axes:
        """Draw one value per grid point: a line over a 1-D grid, a heat map over a 2-D grid.

        The value is the expectation of the diagonal Pauli string ``expectation`` (default: the
        parity of all clbits, ``"ZZ...Z"``) or, with ``outcome`` (a bitstring or an int), that
        outcome's probability. The axes are labelled with the parameter names and their values
        (a heat map has axis 0 up the y axis, axis 1 along x, and a colour bar; an axis of
        evenly spaced values is numeric, any other one has a tick per value); a zip sweep of
        several parameters is drawn point after point, each tick naming every value.

        Draws on ``ax`` when given, else on a new figure; with ``path`` the figure is written
        there (the suffix picks the format) on the non-interactive Agg canvas when no ``ax`` is
        given. Returns the matplotlib ``Axes`` (its ``.figure`` is the figure). Needs matplotlib
        (``pip install 'qjobs[plot]'``). Raises :class:`~qjobs.InputError` naming the field: an
        unknown ``expectation``, a bad ``outcome`` or both given, a grid of more than two axes
        (``params``), a ``path`` without an image suffix, an ``ax`` that is not an Axes.
        """
        from qjobs.sweep._plot import plot_sweep

        return plot_sweep(self, expectation, outcome=outcome, ax=ax, path=path)

    def __repr__(self) -> str:
        names = ", ".join(self.axes)
        return (
            f"<SweepResult mode={self.mode} grid={self.grid_shape} params=[{names}] "
            f"shots={self.shots} clbits={self.num_clbits}>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SweepResult):
            return NotImplemented
        return (
            self.mode == other.mode
            and self.shots == other.shots
            and list(self.axes) == list(other.axes)
            and all(np.array_equal(self.axes[k], other.axes[k]) for k in self.axes)
            and np.array_equal(self.probabilities, other.probabilities)
            and self.counts == other.counts
            and self.job_ids == other.job_ids
            and self.metadata == other.metadata
        )

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the result to a ``.npz`` file (the suffix is added when missing).

        Only plain arrays are written (no pickles); returns the path written.
        """
        target = Path(path)
        if target.suffix != ".npz":
            target = target.with_name(target.name + ".npz")
        offsets = np.zeros(self.size + 1, dtype=np.int64)
        outcomes: list[int] = []
        values: list[int] = []
        for i, c in enumerate(self.counts):
            for key, n in c.items():
                outcomes.append(int(key, 2) if key else 0)
                values.append(n)
            offsets[i + 1] = len(values)
        meta = {
            "format": _FORMAT,
            "mode": self.mode,
            "shots": self.shots,
            "names": list(self.axes),
            "job_ids": self.job_ids,
            "metadata": self.metadata,
        }
        try:
            meta_json = json.dumps(meta, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError("metadata", self.metadata, f"not JSON-serialisable: {exc}") from None
        arrays: dict[str, Any] = {
            "meta": np.array(meta_json),
            "probabilities": self.probabilities,
            "counts_offsets": offsets,
            "counts_outcomes": np.array(outcomes, dtype=np.int64),
            "counts_values": np.array(values, dtype=np.int64),
        }
        for i, name in enumerate(self.axes):
            arrays[f"axis_{i}"] = self.axes[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        tmp.replace(target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SweepResult:
        """Read a result written by :meth:`save` (never unpickles anything)."""
        source = Path(path)
        try:
            with np.load(source, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"][()]))
                if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                    raise InputError("path", str(source), "not a qjobs sweep result")
                names = list(meta["names"])
                axes = {name: data[f"axis_{i}"] for i, name in enumerate(names)}
                probabilities = data["probabilities"]
                offsets = data["counts_offsets"]
                outcomes = data["counts_outcomes"]
                values = data["counts_values"]
        except InputError:
            raise
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise InputError("path", str(source), f"cannot read sweep result: {exc}") from None
        width = probabilities.shape[-1] if probabilities.ndim else 1
        num_clbits = max(int(width).bit_length() - 1, 0)
        counts: list[dict[str, int]] = []
        for i in range(len(offsets) - 1):
            lo, hi = int(offsets[i]), int(offsets[i + 1])
            counts.append(
                {
                    (format(int(k), f"0{num_clbits}b") if num_clbits else ""): int(n)
                    for k, n in zip(outcomes[lo:hi], values[lo:hi], strict=True)
                }
            )
        return cls(
            axes=axes,
            mode=meta["mode"],
            shots=int(meta["shots"]),
            probabilities=probabilities,
            counts=counts,
            job_ids=meta["job_ids"],
            metadata=meta.get("metadata") or {},
        )
