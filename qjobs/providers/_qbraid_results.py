"""The qBraid client's result and program reads: the raw result (a 409 "not ready" is waited
out), programs and compiled programs, and the ``resultData`` -> :class:`~qjobs.Result` mapping."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import anyio
import numpy as np

from qjobs._errors import ConflictError, JobTimeoutError, MalformedResponseError, NotFoundError
from qjobs._models import Job, Result
from qjobs.providers._base import segment
from qjobs.providers._qbraid_base import QbraidBase, _job_id
from qjobs.providers._qbraid_models import PROVIDER, Program, program_from_wire

logger = logging.getLogger("qjobs.providers.qbraid")

_RESULT_WAIT_FIRST: Final = 0.05


def _bits(key: Any) -> str:
    if not isinstance(key, str):
        raise MalformedResponseError(f"count key {key!r} is not a string", provider=PROVIDER)
    text = key.replace(" ", "")
    if text and set(text) - {"0", "1"}:
        raise MalformedResponseError(f"count key {key!r} is not a bitstring", provider=PROVIDER)
    return text


def _result_from_data(data: Any, *, job: Job, index: int, memory: bool) -> Result:
    """One circuit's ``resultData`` -> :class:`Result` (bit 0 rightmost, as qBraid documents)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("resultData is not an object", provider=PROVIDER)
    raw = data.get("measurementCounts", data.get("measurement_counts"))
    if not isinstance(raw, Mapping):
        raise MalformedResponseError("resultData has no measurementCounts", provider=PROVIDER)
    counts: dict[str, int] = {}
    for key, value in raw.items():
        bits = _bits(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise MalformedResponseError(f"count {value!r} of {key!r} is bad", provider=PROVIDER)
        counts[bits] = counts.get(bits, 0) + value
    width = max((len(k) for k in counts), default=0)
    counts = {k.zfill(width): v for k, v in counts.items()}
    result = Result.from_counts(counts, width, job_id=job.id, index=index, job=job)
    probs = data.get("measurementProbabilities", data.get("measurement_probabilities"))
    if isinstance(probs, Mapping) and probs:
        dense = np.zeros(1 << width, dtype=np.float64)
        try:
            for key, p in probs.items():
                bits = _bits(key)
                if len(bits) > width:
                    raise ValueError(key)
                dense[int(bits, 2) if bits else 0] += float(p)
        except (TypeError, ValueError):
            raise MalformedResponseError(
                "bad measurementProbabilities", provider=PROVIDER
            ) from None
        if abs(dense.sum() - 1.0) < 1e-6:
            result.probabilities = dense
    shots_data = data.get("measurements")
    if memory and isinstance(shots_data, list) and shots_data:
        try:
            rows = np.asarray(shots_data, dtype=np.int64)
        except (TypeError, ValueError):
            raise MalformedResponseError(
                "measurements are not bit lists", provider=PROVIDER
            ) from None
        if rows.ndim == 2 and rows.shape[1] == width:
            weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
            result.memory = (rows * weights).sum(axis=1).astype(np.int64)
        else:
            logger.warning("qbraid: measurements of job %s have an unexpected shape", job.id)
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
        deadline = anyio.current_time() + result_timeout
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
