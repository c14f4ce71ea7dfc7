"""A :class:`~qjobs.SweepResult` as labelled data: an xarray ``Dataset`` or a long pandas table.

Both are optional extras (``pip install 'qjobs[xarray]'``, ``'qjobs[pandas]'``), imported when
the conversion runs. Outcomes are labelled with their bitstrings (bit 0 rightmost), in outcome
order; expectations of diagonal Pauli strings become variables (xarray) or columns (pandas)
named by the string.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError
from qjobs._core.optional import require
from qjobs.sweep._result import SweepResult, parity_signs

if TYPE_CHECKING:
    import pandas
    import xarray

__all__ = [
    "DATASET_NAMES",
    "TABLE_COLUMNS",
    "default_observables",
    "dense_counts",
    "outcome_labels",
    "plain_attrs",
    "to_pandas",
    "to_xarray",
]

#: Names the Dataset uses itself; a parameter may not have one of them.
DATASET_NAMES = ("outcome", "point", "probabilities", "counts", "job_id")
#: Columns the long table uses itself; a parameter may not have one of them.
TABLE_COLUMNS = ("point", "outcome", "count", "probability", "job_id")

Observables = str | Sequence[str] | None


def outcome_labels(num_clbits: int) -> list[str]:
    """The bitstring of every outcome ``0 .. 2**num_clbits - 1`` (bit 0 rightmost)."""
    if num_clbits == 0:
        return [""]
    return [format(k, f"0{num_clbits}b") for k in range(1 << num_clbits)]


def default_observables(num_clbits: int) -> list[str]:
    """The parity of all clbits (``"ZZZ"``), then ``Z`` on each clbit alone (``"IIZ"``, ...).

    One clbit gives just ``["Z"]``; none gives ``[]``.
    """
    if num_clbits == 0:
        return []
    every = ["Z" * num_clbits]
    if num_clbits == 1:
        return every
    singles = ["I" * (num_clbits - 1 - bit) + "Z" + "I" * bit for bit in range(num_clbits)]
    return every + singles


def _observables(result: SweepResult, expectations: Observables, taken: set[str]) -> list[str]:
    """The checked observables to add; InputError on ``expectations`` for a bad one."""
    if expectations is None:
        chosen = default_observables(result.num_clbits)
    elif isinstance(expectations, str):
        chosen = [expectations]
    else:
        chosen = list(expectations)
    seen: set[str] = set()
    for observable in chosen:
        try:
            parity_signs(observable, result.num_clbits)
        except InputError as exc:
            raise InputError("expectations", observable, exc.reason) from None
        if observable in seen:
            raise InputError("expectations", observable, "listed twice")
        if observable in taken:
            raise InputError(
                "expectations", observable, "the same name as a parameter of the sweep"
            )
        seen.add(observable)
    return chosen


def _check_parameter_names(result: SweepResult, reserved: Sequence[str], what: str) -> None:
    for name in result.axes:
        if name in reserved:
            raise InputError(
                "params", name, f"a parameter named {name!r} clashes with the {what} of that name"
            )


def dense_counts(result: SweepResult) -> npt.NDArray[np.int64]:
    """The counts as an integer array shaped like :attr:`~qjobs.SweepResult.probabilities`."""
    width = result.probabilities.shape[-1]
    out = np.zeros((result.size, width), dtype=np.int64)
    for point, counts in enumerate(result.counts):
        for key, n in counts.items():
            out[point, int(key, 2) if key else 0] = n
    return out.reshape(result.probabilities.shape)


def plain_attrs(result: SweepResult) -> dict[str, str | int | float | bool]:
    """``mode``, ``shots``, ``num_clbits`` and the metadata as plain values.

    Strings, integers, floats and booleans are kept as they are; lists and mappings become JSON
    text; ``None`` values are left out (netCDF attributes cannot hold them).
    """
    attrs: dict[str, str | int | float | bool] = {}
    for key, value in result.metadata.items():
        if value is None:
            continue
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, str | int | float | bool):
            attrs[str(key)] = value
        else:
            attrs[str(key)] = json.dumps(value, sort_keys=True, default=str)
    attrs.update(mode=result.mode, shots=result.shots, num_clbits=result.num_clbits)
    return attrs


def to_xarray(result: SweepResult, expectations: Observables = None) -> xarray.Dataset:
    """The Dataset described by :meth:`qjobs.SweepResult.to_xarray`."""
    xr: Any = require("xarray", "xarray")
    _check_parameter_names(result, DATASET_NAMES, "Dataset name")
    observables = _observables(result, expectations, set(result.axes))
    labels = outcome_labels(result.num_clbits)
    coords: dict[str, Any] = {"outcome": ("outcome", labels)}
    if result.mode == "product":
        dims: tuple[str, ...] = tuple(result.axes)
        for name, axis in result.axes.items():
            coords[name] = (name, np.array(axis))
    else:
        dims = ("point",)
        coords["point"] = ("point", np.arange(result.size))
        for name, axis in result.axes.items():
            coords[name] = ("point", np.array(axis))
    job_ids = np.array(["" if j is None else j for j in result.job_ids], dtype=str)
    data: dict[str, Any] = {
        "probabilities": (
            (*dims, "outcome"),
            np.array(result.probabilities),
            {"long_name": "probability"},
        ),
        "counts": ((*dims, "outcome"), dense_counts(result), {"long_name": "counts"}),
        "job_id": (dims, job_ids.reshape(result.grid_shape), {"long_name": "provider job"}),
    }
    for observable in observables:
        data[observable] = (
            dims,
            result.expectation(observable),
            {"long_name": f"<{observable}>", "observable": observable},
        )
    dataset: xarray.Dataset = xr.Dataset(data, coords=coords, attrs=plain_attrs(result))
    return dataset


def to_pandas(result: SweepResult, expectations: Observables = None) -> pandas.DataFrame:
    """The long table described by :meth:`qjobs.SweepResult.to_pandas`."""
    pd: Any = require("pandas", "pandas")
    _check_parameter_names(result, TABLE_COLUMNS, "column")
    observables = _observables(result, expectations, set(result.axes))
    width = result.probabilities.shape[-1]
    columns: dict[str, Any] = {"point": np.repeat(np.arange(result.size), width)}
    for name, values in result.params.items():
        columns[name] = np.repeat(values.reshape(-1), width)
    labels = np.array(outcome_labels(result.num_clbits), dtype=object)
    columns["outcome"] = np.tile(labels, result.size)
    columns["count"] = dense_counts(result).reshape(-1)
    columns["probability"] = np.array(result.probabilities).reshape(-1)
    columns["job_id"] = np.repeat(np.array(result.job_ids, dtype=object), width)
    for observable in observables:
        columns[observable] = np.repeat(result.expectation(observable).reshape(-1), width)
    table = pd.DataFrame(columns)
    table.attrs.update(plain_attrs(result))
    return table
