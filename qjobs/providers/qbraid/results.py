"""The qBraid client's result and program reads: the raw result (a 409 "not ready" is waited
out), programs and compiled programs, and the ``resultData`` -> :class:`~qjobs.Result` mapping."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import anyio
import numpy as np

from qjobs._core.durations import seconds
from qjobs._core.errors import ConflictError, JobTimeoutError, MalformedResponseError, NotFoundError
from qjobs._core.models import Job, OutcomeCheck, Result
from qjobs.providers._base import segment
from qjobs.providers.qbraid._base import QbraidBase, _job_id
from qjobs.providers.qbraid.models import PROVIDER, Program, program_from_wire

logger = logging.getLogger("qjobs.providers.qbraid")

_RESULT_WAIT_FIRST: Final = 0.05


def _width(raw: Mapping[Any, Any], job: Job) -> OutcomeCheck:
    """The check for one program's bitstrings: every key as wide as the first one.

    qBraid's job record does not carry the program, so the width is the counts' own, and at most
    ``MAX_RESULT_CLBITS`` (nothing is allocated from a wider claim).
    """
    first = next(iter(raw), "")
    width = len(first.replace(" ", "")) if isinstance(first, str) else -1
    return OutcomeCheck.for_result(width, PROVIDER, f"job {job.id} measurementCounts")


def _result_from_data(data: Any, *, job: Job, index: int, memory: bool) -> Result:
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


class QbraidResults(QbraidBase):
    """Result and program reads of :class:`~qjobs.providers.qbraid.QbraidClient`."""

    async def raw_result(
        self, job: Job | str, *, result_timeout: float = 60.0
    ) -> Mapping[str, Any]:
        """The ``data`` of ``GET /jobs/{qrn}/result``, waiting while qBraid answers 409.

        A 409 means the results are not available yet (they can lag the COMPLETED status);
        the request is repeated with growing pauses (from 50 ms up to ``capabilities.poll_max``)
        until ``result_timeout`` seconds have passed, then :class:`~qjobs.JobTimeoutError`.
        """
        jid = _job_id(job)
        deadline = anyio.current_time() + seconds("result_timeout", result_timeout)
        delay = _RESULT_WAIT_FIRST
        while True:
            try:
                data, _ = await self._call(
                    "GET", f"jobs/{segment(jid)}/result", route="GET /jobs/{qrn}/result"
                )
            except ConflictError as exc:
                remaining = deadline - anyio.current_time()
                if remaining <= 0:
                    raise JobTimeoutError(
                        f"qbraid job {jid}: results still not available after {result_timeout} s "
                        f"({exc.message})",
                        job_id=jid,
                        provider=PROVIDER,
                    ) from None
                logger.debug("qbraid: results of %s not ready; waiting %.2f s", jid, delay)
                await anyio.sleep(min(delay, remaining))
                delay = min(delay * 2, self.capabilities.poll_max)
                continue
            if not isinstance(data, Mapping):
                raise MalformedResponseError("result is not an object", provider=PROVIDER)
            return data

    async def program(self, job: Job | str) -> list[Program]:
        """The programs a job ran (``GET /jobs/{qrn}/program``), one per circuit, in order."""
        jid = _job_id(job)
        data, _ = await self._call(
            "GET", f"jobs/{segment(jid)}/program", route="GET /jobs/{qrn}/program"
        )
        items = data if isinstance(data, list) else [data]
        return [program_from_wire(p) for p in items]

    async def compiled_program(self, job: Job | str) -> list[Program] | None:
        """The programs as compiled for the device (``GET /jobs/{qrn}/compiled-program``), one
        per circuit; None when nothing was compiled (404, as the qbraid SDK does). A job that
        does not exist still raises :class:`~qjobs.NotFoundError`."""
        jid = _job_id(job)
        try:
            data, _ = await self._call(
                "GET",
                f"jobs/{segment(jid)}/compiled-program",
                route="GET /jobs/{qrn}/compiled-program",
            )
        except NotFoundError as exc:
            if exc.code == "JOB_NOT_FOUND":
                raise
            return None
        if data is None:
            return None
        items = data if isinstance(data, list) else [data]
        return [program_from_wire(p) for p in items]
