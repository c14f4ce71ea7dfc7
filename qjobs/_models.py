"""Value classes shared by every provider: jobs, statuses, backends and results.

Models are plain ``attrs`` classes; converting them from and to a provider's wire format is the
job of that provider's ``cattrs`` converter, never of the models themselves.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from qjobs._errors import InputError

__all__ = ["Backend", "Job", "JobFailure", "JobStatus", "Result"]


class JobStatus(enum.Enum):
    """The unified job status. ``Job.provider_status`` keeps the provider's own string."""

    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """True for COMPLETED, FAILED and CANCELLED: the job will not change any more."""
        return self in _FINAL


_FINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


@attrs.frozen(slots=True)
class JobFailure:
    """Why a job failed, in the provider's words."""

    message: str
    code: str | None = None


@attrs.frozen(slots=True)
class Job:
    """A job at a provider, as last seen.

    ``status`` is the unified status, ``provider_status`` the raw string the provider sent.
    ``child_ids`` lists the per-circuit child jobs of a multi-circuit job, in circuit order.
    ``tags`` holds the string metadata the job carries (names vary by provider: tags, metadata).
    ``details`` keeps further provider fields (cost, queue position, ...) that have no common home.
    """

    id: str
    provider: str
    status: JobStatus
    provider_status: str = ""
    backend: str | None = None
    shots: int | None = None
    name: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    child_ids: tuple[str, ...] = ()
    parent_id: str | None = None
    session_id: str | None = None
    circuit_count: int = 1
    tags: Mapping[str, str] = attrs.field(factory=dict, eq=False)
    failure: JobFailure | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def is_final(self) -> bool:
        """True when the job will not change any more."""
        return self.status.is_final


@attrs.frozen(slots=True)
class Backend:
    """A device or simulator a provider offers."""

    name: str
    provider: str
    qubits: int | None = None
    simulator: bool = False
    status: str | None = None
    available: bool = True
    min_shots: int = 1
    max_shots: int | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


def _as_float_array(value: Any) -> npt.NDArray[np.float64]:
    return np.asarray(value, dtype=np.float64)


@attrs.define(slots=True, eq=False)
class Result:
    """The outcome of one circuit.

    ``probabilities[k]`` is the probability of outcome ``k``, whose bit ``i`` is classical bit
    ``i``; it has ``2**num_clbits`` entries. ``counts`` maps bitstrings (bit 0 rightmost) to
    counts, zero counts omitted. ``memory`` holds one outcome integer per shot when the provider
    returns per-shot data. ``job_id`` names the provider job, ``index`` the circuit's position
    within a multi-circuit job.
    """

    counts: dict[str, int]
    probabilities: npt.NDArray[np.float64] = attrs.field(converter=_as_float_array)
    shots: int
    num_clbits: int
    memory: npt.NDArray[np.int64] | None = None
    job_id: str | None = None
    index: int = 0
    job: Job | None = None

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], num_clbits: int, **kwargs: Any) -> Result:
        """Build a result from bitstring counts (bit 0 rightmost); probabilities are derived.

        Keys are bitstrings of at most ``num_clbits`` characters (shorter ones are zero-padded
        on the left, ``""`` is outcome 0); counts are integers >= 0 (zeros are dropped). Keys
        that name the same outcome add up. ``shots`` defaults to the total count. Anything else
        raises :class:`~qjobs.InputError` naming the key.
        """
        if isinstance(num_clbits, bool) or not isinstance(num_clbits, int) or num_clbits < 0:
            raise InputError("num_clbits", num_clbits, "must be an int >= 0")
        probs = np.zeros(1 << num_clbits, dtype=np.float64)
        total = 0
        clean: dict[str, int] = {}
        for key, n in counts.items():
            if not isinstance(key, str) or len(key) > num_clbits or set(key) - {"0", "1"}:
                raise InputError(
                    f"counts[{key!r}]", key, f"must be a bitstring of <= {num_clbits} bits"
                )
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
                raise InputError(f"counts[{key!r}]", n, "must be an int >= 0")
            if n:
                k = int(key, 2) if key else 0
                probs[k] += n
                total += int(n)
                label = format(k, f"0{num_clbits}b") if num_clbits else ""
                clean[label] = clean.get(label, 0) + int(n)
        if total:
            probs /= total
        kwargs.setdefault("shots", total)
        return cls(counts=clean, probabilities=probs, num_clbits=num_clbits, **kwargs)

    def expectation(self, observable: str) -> float:
        """Expectation of a diagonal Pauli string such as ``"ZZ"`` or ``"ZIZ"``.

        The string's rightmost character acts on classical bit 0 (the bitstring convention);
        ``Z`` contributes a sign, ``I`` nothing. A string of the wrong length or with other
        letters raises :class:`~qjobs.InputError` (a ``ValueError``).
        """
        if (
            not isinstance(observable, str)
            or len(observable) != self.num_clbits
            or set(observable) - {"Z", "I"}
        ):
            raise InputError(
                "observable", observable, f"expected {self.num_clbits} characters of Z and I"
            )
        outcomes = np.arange(self.probabilities.shape[0], dtype=np.int64)
        parity = np.zeros_like(outcomes)
        for i, ch in enumerate(reversed(observable)):
            if ch == "Z":
                parity ^= (outcomes >> i) & 1
        signs = 1.0 - 2.0 * parity
        return float(np.dot(signs, self.probabilities))
