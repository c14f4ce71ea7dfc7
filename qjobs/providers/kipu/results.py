"""Kipu Quantum Hub results (pure, no I/O): normalized PUBs, native results and per-shot memory
turned into :class:`~qjobs.Result`, and a failed job's error read from its result.

Normalized results use Qiskit's bit order (classical bit 0 rightmost), as :class:`~qjobs.Result`
has it. Native results are read when the Hub has no normalized form: ``counts``, Braket's
``measurement_counts`` (qubit 0 leftmost) and IonQ's ``histogram`` (decimal keys over qubits,
mapped through the submitted ``meas_map``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from qjobs._core.errors import JobFailedError, MalformedResponseError
from qjobs._core.models import Job, JobFailure, OutcomeCheck, Result
from qjobs.providers.ionq import circuits as ionq_codec
from qjobs.providers.kipu.models import PROVIDER, NormalizedResult, Pub

__all__ = [
    "failure_from_result",
    "memory_of",
    "native_results",
    "normalized_results",
    "result_of_pub",
]


def failure_from_result(data: Any) -> JobFailure:
    """A failed job's reason from its result ``{"error": {"message", "code"?}}``."""
    error = data.get("error") if isinstance(data, Mapping) else None
    if not isinstance(error, Mapping):
        return JobFailure(message="no reason given")
    return JobFailure(
        message=str(error.get("message") or "no reason given"),
        code=None if error.get("code") is None else str(error["code"]),
    )


def _key_check(keys: Any, width: Any, job: Job, what: str) -> OutcomeCheck:
    """The check for bitstring keys: ``width`` (the PUB's) or the first key's, capped."""
    if width is None:
        first = next(iter(keys), "")
        width = len(first.replace(" ", "")) if isinstance(first, str) else -1
    return OutcomeCheck.for_result(width, PROVIDER, f"job {job.id} {what}")


def native_results(data: Any, job: Job) -> list[Result] | None:
    """Results from a native result when the Hub has no normalized one (204); None when the
    native result is of no known shape."""
    if not isinstance(data, Mapping):
        return None
    shots = job.shots
    raw = data.get("counts")
    flip = False
    if not isinstance(raw, Mapping):
        raw = data.get("measurement_counts")  # Braket: qubit 0 leftmost
        flip = True
    if isinstance(raw, Mapping):
        check = _key_check(raw, None, job, "counts")
        counts = check.counts(raw, shots=shots)
        n = check.width
        if flip:
            counts = {int(format(k, f"0{n}b")[::-1] or "0", 2): v for k, v in counts.items()}
        return [Result.from_outcomes(counts, n, job_id=job.id, job=job)]
    if isinstance(data.get("histogram"), Mapping) and shots:  # IonQ: decimal keys, qubit i = bit i
        return [_ionq_histogram(data["histogram"], job, shots)]
    return None


def _ionq_histogram(histogram: Mapping[Any, Any], job: Job, shots: int) -> Result:
    """An IonQ-native histogram (decimal keys over qubits) mapped to the submitted clbits."""
    raw_map = job.details.get("input_params")
    sources: Any = None
    if isinstance(raw_map, Mapping) and isinstance(raw_map.get("meas_map"), str):
        try:
            sources = orjson.loads(raw_map["meas_map"])
        except orjson.JSONDecodeError:
            sources = None
    # Keys are over every qubit (unmeasured ones too): only an int64's width is known.
    keys = OutcomeCheck(62, PROVIDER, f"job {job.id} histogram")
    if not isinstance(sources, list):  # a job qjobs did not submit: one clbit per key bit
        top = max((keys.number(k) for k in histogram), default=0)
        sources = list(range(max(top.bit_length(), 1)))
    if not all(s is None or (type(s) is int and 0 <= s < keys.width) for s in sources):
        raise MalformedResponseError("the job's meas_map is not a qubit list", provider=PROVIDER)
    mm = ionq_codec.MeasurementMap(tuple(sources))
    OutcomeCheck.for_result(mm.num_clbits, PROVIDER, f"job {job.id} histogram")  # width cap
    dense = mm.apply_probabilities(keys.probabilities(histogram))
    return Result.from_probabilities(dense, shots, job_id=job.id, job=job)


def result_of_pub(pub: Pub, job: Job, index: int) -> Result:
    """The result of one normalized PUB; an ``error`` PUB raises JobFailedError."""
    if pub.type == "error":
        error = pub.error or {}
        raise JobFailedError(
            str(error.get("message") or "the circuit failed"),
            job_id=job.id,
            provider=PROVIDER,
            code=None if error.get("code") is None else str(error.get("code")),
        )
    kwargs: dict[str, Any] = {"job_id": job.id, "index": index, "job": job}
    if pub.type == "counts" and pub.counts is not None:
        check = _key_check(pub.counts, pub.qubits, job, f"pub {index}")
        shots = pub.shots if pub.shots is not None else job.shots
        counts = check.counts(pub.counts, shots=shots)
        if pub.shots is not None:
            kwargs["shots"] = pub.shots
        return Result.from_outcomes(counts, check.width, **kwargs)
    if pub.type == "probabilities" and pub.probabilities is not None:
        check = _key_check(pub.probabilities, pub.qubits, job, f"pub {index}")
        width = check.width
        dense = np.zeros(1 << width, dtype=np.float64)
        for k, p in check.probabilities(pub.probabilities, keys="bits").items():
            dense[k] = p
        shots = pub.shots if pub.shots is not None else (job.shots or 0)
        return Result.from_probabilities(dense, shots, **kwargs)
    raise MalformedResponseError(
        f"pub {index} of job {job.id} is {pub.type!r} ({pub.reason or 'no counts'})",
        provider=PROVIDER,
    )


def normalized_results(normalized: NormalizedResult, job: Job) -> list[Result]:
    """One result per PUB of a normalized result, in circuit order: by each PUB's ``index``
    (its position when it has none), which must number the PUBs 0, 1, ... without a gap."""
    pubs = normalized.pubs
    order = [i if p.index is None else p.index for i, p in enumerate(pubs)]
    if sorted(order) != list(range(len(pubs))):
        raise MalformedResponseError(
            f"job {job.id}'s PUB indices {order} do not number {len(pubs)} circuits",
            provider=PROVIDER,
        )
    placed = sorted(zip(order, pubs, strict=True), key=lambda pair: pair[0])
    return [result_of_pub(p, job, i) for i, p in placed]


def memory_of(memory: Sequence[str], result: Result) -> npt.NDArray[np.int64]:
    """Per-shot outcomes (Qiskit hex strings), each within the result's classical bits."""
    check = OutcomeCheck(result.num_clbits, PROVIDER, f"job {result.job_id} memory")
    return check.samples(
        [check.number(h if h.lower().startswith("0x") else "0x" + h) for h in memory]
    )
