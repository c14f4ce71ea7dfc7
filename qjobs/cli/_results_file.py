"""Results fetched by ``qjobs jobs results`` written as a sweep's ``.npz``.

The file is a :class:`~qjobs.sweep.SweepResult` over one axis, ``index`` (zip mode): the
caller's index of each circuit for a ledger, the position in the fetched list for job ids. It
loads with ``SweepResult.load`` like any sweep's results; ``job_ids`` says which provider job
ran each point, ``metadata`` where the results came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qjobs._core.errors import InputError
from qjobs._core.models import Result
from qjobs.sweep._result import SweepResult

__all__ = ["save_results", "top_outcomes"]


def save_results(
    out: Path,
    results: Sequence[Result],
    indices: Sequence[int],
    metadata: dict[str, Any],
) -> Path:
    """Write ``results`` (one per point at ``indices``) to ``out``; returns the path written.

    One file holds results of one width and one shot count: anything else is an
    :class:`~qjobs.InputError` naming what differs.
    """
    if not results:
        raise InputError("results", 0, "there is no completed result to write")
    widths = sorted({r.num_clbits for r in results})
    if len(widths) > 1:
        raise InputError(
            "results", widths, "have different numbers of classical bits; write them separately"
        )
    shots = sorted({r.shots for r in results})
    if len(shots) > 1:
        raise InputError("results", shots, "have different shot counts; write them separately")
    result = SweepResult(
        axes={"index": np.array(indices, dtype=np.float64)},
        mode="zip",
        shots=shots[0],
        probabilities=np.stack([r.probabilities for r in results]),
        counts=[r.counts for r in results],
        job_ids=[r.job_id for r in results],
        metadata=metadata,
    )
    return result.save(out)


def top_outcomes(result: Result, k: int = 3) -> str:
    """The ``k`` most frequent outcomes of ``result`` as ``bits:count`` (bit 0 rightmost)."""
    best = sorted(result.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return " ".join(f"{bits or '-'}:{n}" for bits, n in best) or "-"
