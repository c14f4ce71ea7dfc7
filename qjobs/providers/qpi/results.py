"""Reading a QPI job's ``results`` object: counts per circuit and parameter set, IQ memory.

Pure functions (no I/O). QPI drivers write counts keyed by binary strings in Qiskit order
(classical bit 0 rightmost, the qjobs convention) or ``0x`` hex; measurement level 1 gives IQ
``memory`` instead. Widths come from the OpenQASM the job carries
(:func:`~qjobs.providers.qpi.circuits.payload_widths`), so leading zeros survive.
:func:`results_of` and :func:`iq_memory_of` read a whole completed job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from qjobs._core.errors import JobError, MalformedResponseError
from qjobs._core.models import Job, OutcomeCheck, Result
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers.qpi.circuits import payload_widths
from qjobs.providers.qpi.config import PROVIDER

__all__ = [
    "entries_of",
    "iq_memory_of",
    "iq_of",
    "is_payload_copy",
    "outcome_of",
    "result_bytes",
    "results_of",
]


def result_bytes(circuit: Circuit) -> int:
    """An upper estimate of the bytes ``circuit``'s entry takes in its job's stored results.

    QPI's driver writes every one of the 2^n count keys, zeros included (n: the classical bits,
    or the qubits when the circuit measures none): each key costs n + 12 bytes (quotes, colon, a
    count of up to 8 digits, comma), plus about 48 for the entry. n is taken at most 40, which
    already makes the estimate far larger than any job bound.
    """
    n = min(circuit.num_clbits or circuit.num_qubits, 40)
    return 48 + ((n + 12) << n)


def _malformed(message: str) -> MalformedResponseError:
    return MalformedResponseError(message, provider=PROVIDER)


def is_payload_copy(results: Any) -> bool:
    """Whether ``results`` is the submitted payload that qpi-ui v0.1.x's job routes return."""
    return (
        isinstance(results, Mapping)
        and "circuits" in results
        and "circuit_results" not in results
        and "counts" not in results
    )


def entries_of(results: Any) -> list[Mapping[str, Any]]:
    """The per-experiment entries of a ``results`` object, as qpi-client reads them.

    A server that copies the submitted payload into ``results`` (a known qpi-ui bug) is
    reported as malformed rather than read as empty counts.
    """
    if isinstance(results, Mapping):
        if is_payload_copy(results):
            raise _malformed(
                "results hold the submitted payload, not results (qpi-ui v0.1.x bug): "
                "after login() qjobs reads them from the quantum_jobs collection"
            )
        listed = results.get("circuit_results")
        if isinstance(listed, list) and listed:
            entries: Sequence[Any] = listed
        else:
            entries = [results]
    elif isinstance(results, list) and results:
        entries = results
    else:
        raise _malformed("completed job without results")
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise _malformed(f"circuit_results[{i}] is not an object")
    return list(entries)


def _check_for(raw: Mapping[Any, Any], width: int | None, where: str) -> OutcomeCheck:
    """The check for one entry: the submitted circuit's width, else the keys' own (capped)."""
    if width is None:
        found = 1
        for key in raw:
            if not isinstance(key, str):
                raise _malformed(f"{where}: count key {key!r:.60} is not a string")
            text = key.replace(" ", "")
            if text.lower().startswith("0x"):
                found = max(found, 4 * (len(text) - 2))
            else:
                found = max(found, len(text))
        width = found
    return OutcomeCheck.for_result(width, PROVIDER, where)


def _key_value(check: OutcomeCheck, key: Any) -> int:
    if isinstance(key, str) and key.strip().lower().startswith("0x"):
        return check.number(key)
    return check.bits(key)


def outcome_of(
    entry: Mapping[str, Any], width: int | None, where: str, shots: int | None = None
) -> tuple[dict[int, int], int, npt.NDArray[np.int64] | None]:
    """``(counts by outcome, width, per-shot memory)`` of a measurement-level-2 entry.

    Every key is checked against ``width`` (the submitted circuit's classical bits; the
    longest key when the circuit is unknown, at most ``MAX_RESULT_CLBITS``) and the counts
    against ``shots``.
    """
    raw = entry.get("counts", entry.get("hex_counts"))
    if not isinstance(raw, Mapping):
        raise _malformed(f"{where}: no counts")
    check = _check_for(raw, width, where)
    values: dict[int, int] = {}
    for key, n in raw.items():
        if not is_int(n, low=0):
            raise check.fail(f"count {n!r:.60} for {key!r:.60} is not a non-negative integer")
        k = _key_value(check, key)
        values[k] = values.get(k, 0) + n
    total = sum(values.values())
    if shots is not None and total != shots:
        raise check.fail(f"counts add up to {total}, not the {shots} shots")
    memory = None
    mem = entry.get("memory")
    if isinstance(mem, list) and mem and all(isinstance(m, str) for m in mem):
        memory = check.samples([_key_value(check, m) for m in mem])
    return {k: n for k, n in values.items() if n}, check.width, memory


def iq_of(entry: Mapping[str, Any], where: str) -> npt.NDArray[np.float64]:
    """Measurement-level-1 memory: ``(shots, clbits, 2)``, or ``(clbits, 2)`` when averaged."""
    mem = entry.get("memory")
    try:
        arr = np.asarray(mem, dtype=np.float64)
    except (TypeError, ValueError):
        raise _malformed(f"{where}: memory is not numeric IQ data") from None
    if arr.ndim not in (2, 3) or arr.shape[-1] != 2:
        raise _malformed(f"{where}: IQ memory has shape {arr.shape}, expected (..., 2)")
    return arr


def results_of(job: Job) -> list[Result]:
    """The results of a completed job: one per circuit and per parameter set, in order.

    An entry holding only IQ memory (measurement level 1) raises :class:`~qjobs.JobError`
    pointing at ``iq_memory()``; counts are checked against the job's shots.
    """
    entries = entries_of(job.details.get("results"))
    widths = payload_widths(job)
    if len(widths) != len(entries):
        widths = [None] * len(entries)
    out: list[Result] = []
    for i, (entry, width) in enumerate(zip(entries, widths, strict=True)):
        if "counts" not in entry and "hex_counts" not in entry and "memory" in entry:
            raise JobError(
                f"qpi job {job.id} holds IQ memory (meas_level=1): use iq_memory()",
                job_id=job.id,
                provider=PROVIDER,
            )
        counts, n_bits, memory = outcome_of(entry, width, f"job {job.id} result {i}", job.shots)
        out.append(
            Result.from_outcomes(counts, n_bits, memory=memory, job_id=job.id, index=i, job=job)
        )
    return out


def iq_memory_of(job: Job) -> list[npt.NDArray[np.float64]]:
    """The measurement-level-1 memory of a completed job, per circuit and parameter set."""
    entries = entries_of(job.details.get("results"))
    return [iq_of(e, f"job {job.id} result {i}") for i, e in enumerate(entries)]
