"""qBraid result payloads -> :class:`~qjobs.Result` (pure, no I/O).

``GET /jobs/{qrn}/result`` answers ``resultData`` for a one-program job, or ``results`` (one
``{"resultData"}`` per program) for a batch; each holds ``measurementCounts`` (bit 0 rightmost),
optionally ``measurementProbabilities`` and per-shot ``measurements``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from qjobs._core.errors import MalformedResponseError
from qjobs._core.models import Job, OutcomeCheck, Result
from qjobs.providers.qbraid.models import PROVIDER

__all__ = ["result_from_data", "result_payloads", "results_from_payload"]


def _width(raw: Mapping[Any, Any], job: Job) -> OutcomeCheck:
    """The check for one program's bitstrings: every key as wide as the first one.

    qBraid's job record does not carry the program, so the width is the counts' own, and at most
    ``MAX_RESULT_CLBITS`` (nothing is allocated from a wider claim).
    """
    first = next(iter(raw), "")
    width = len(first.replace(" ", "")) if isinstance(first, str) else -1
    return OutcomeCheck.for_result(width, PROVIDER, f"job {job.id} measurementCounts")


def result_from_data(data: Any, *, job: Job, index: int, memory: bool) -> Result:
    """One circuit's ``resultData`` -> :class:`Result` (bit 0 rightmost, as qBraid documents)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("resultData is not an object", provider=PROVIDER)
    raw = data.get("measurementCounts", data.get("measurement_counts"))
    if not isinstance(raw, Mapping):
        raise MalformedResponseError("resultData has no measurementCounts", provider=PROVIDER)
    check = _width(raw, job)
    width = check.width
    counts = check.counts(raw, shots=job.shots)
    kwargs: dict[str, Any] = {"job_id": job.id, "index": index, "job": job}
    probs = data.get("measurementProbabilities", data.get("measurement_probabilities"))
    if isinstance(probs, Mapping) and probs:
        dense = np.zeros(1 << width, dtype=np.float64)
        for k, p in check.probabilities(probs, keys="bits").items():
            dense[k] = p
        kwargs["probabilities"] = dense
    result = Result.from_outcomes(counts, width, **kwargs)
    shots_data = data.get("measurements")
    if memory and isinstance(shots_data, list) and shots_data:
        try:
            rows = np.asarray(shots_data, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise MalformedResponseError(
                "measurements are not bit lists", provider=PROVIDER
            ) from None
        if rows.ndim != 2 or rows.shape[1] != width or not np.isin(rows, (0, 1)).all():
            raise check.fail(f"measurements are not {width}-bit lists of 0/1")
        weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
        result.memory = (rows * weights).sum(axis=1).astype(np.int64)
    return result


def result_payloads(data: Mapping[str, Any]) -> list[Any]:
    """The ``resultData`` of each program in a result answer, in program order."""
    items = data.get("results")
    if not isinstance(items, list):
        return [data.get("resultData")]
    payloads = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise MalformedResponseError(f"results[{i}] is not an object", provider=PROVIDER)
        payloads.append(item.get("resultData"))
    return payloads


def results_from_payload(data: Mapping[str, Any], *, job: Job, memory: bool) -> list[Result]:
    """Every program's :class:`Result` of ``job`` from its result answer ``data``.

    A job that names its program count must get that many results.
    """
    out = [
        result_from_data(p, job=job, index=i, memory=memory)
        for i, p in enumerate(result_payloads(data))
    ]
    if job.circuit_count and len(out) != job.circuit_count:
        raise MalformedResponseError(
            f"job {job.id} has {job.circuit_count} programs but {len(out)} results",
            provider=PROVIDER,
        )
    return out
