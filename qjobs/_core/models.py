"""Value classes shared by every provider: jobs, statuses, backends and results.

Models are plain ``attrs`` classes; converting them from and to a provider's wire format is the
job of that provider's ``cattrs`` converter, never of the models themselves.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.validation import is_int

if TYPE_CHECKING:
    import os

    from matplotlib.axes import Axes

__all__ = [
    "MAX_RESULT_CLBITS",
    "Backend",
    "Job",
    "JobFailure",
    "JobStatus",
    "OutcomeCheck",
    "Result",
    "counts_from_probabilities",
]

#: The widest outcome a result read from a server may have. ``Result.probabilities`` is dense
#: (``2**num_clbits`` float64), so 24 bits take 128 MiB; a server claiming more is malformed.
MAX_RESULT_CLBITS: Final = 24
#: How far a server's probabilities may sum from 1 (they are often rounded).
PROBABILITY_TOLERANCE: Final = 1e-3


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


#: The digits of a ``0x`` outcome key (after lowercasing).
_HEX_DIGITS = frozenset("0123456789abcdef")


@attrs.frozen(slots=True)
class OutcomeCheck:
    """The one rule for result data a server sends: outcomes fit the submitted circuit.

    ``width`` is the number of bits an outcome has: the classical bits of the circuit the client
    submitted (or the qubits, for a provider keying results by qubit). Nothing is ever
    allocated from a size the server claims: every outcome must be an int in
    ``[0, 2**width)`` (a bitstring exactly ``width`` bits wide), counts ints >= 0 summing to
    the shots, probabilities finite, >= 0 and summing to 1. Anything else raises
    :class:`~qjobs.MalformedResponseError` naming ``what``.
    """

    width: int
    provider: str
    what: str = "result"

    @classmethod
    def for_result(cls, width: Any, provider: str, what: str = "result") -> OutcomeCheck:
        """A check for outcomes that become a dense result: ``width <= MAX_RESULT_CLBITS``."""
        if isinstance(width, bool) or not isinstance(width, int | np.integer):
            raise MalformedResponseError(f"{what} has no outcome width", provider=provider)
        if not 0 <= width <= MAX_RESULT_CLBITS:
            raise MalformedResponseError(
                f"{what} is {width} bits wide (qjobs reads at most {MAX_RESULT_CLBITS})",
                provider=provider,
            )
        return cls(int(width), provider, what)

    def fail(self, message: str) -> MalformedResponseError:
        """The error for bad result data (to raise)."""
        return MalformedResponseError(f"{self.what}: {message}", provider=self.provider)

    def bits(self, key: Any) -> int:
        """The outcome of a bitstring (bit 0 rightmost; spaces between registers ignored)."""
        text = key.replace(" ", "") if isinstance(key, str) else None
        if text is None or len(text) != self.width or set(text) - {"0", "1"}:
            raise self.fail(f"outcome {key!r:.60} is not a bitstring of {self.width} bits")
        return int(text, 2) if text else 0

    def number(self, key: Any) -> int:
        """The outcome of an int, a decimal string or a ``0x`` hex string."""
        if isinstance(key, str):
            text = key.strip().lower()
            if text.startswith("0x"):
                digits = text[2:]
                if 0 < len(digits) <= self.width + 2 and all(c in _HEX_DIGITS for c in digits):
                    return self.outcome(int(digits, 16))
            # ASCII digits only: str.isdigit alone would take other scripts' digits too.
            elif 0 < len(text) <= self.width + 2 and text.isascii() and text.isdigit():
                return self.outcome(int(text, 10))
        elif not isinstance(key, bool) and isinstance(key, int | np.integer):
            return self.outcome(int(key))
        raise self.fail(f"outcome {key!r:.60} is not an integer")

    def outcome(self, value: int) -> int:
        """``value`` if it is an outcome of ``width`` bits."""
        if not 0 <= value < 1 << self.width:
            raise self.fail(f"outcome {value} is outside [0, 2**{self.width})")
        return int(value)

    def counts(
        self, raw: Mapping[Any, Any], *, shots: int | None = None, keys: str = "bits"
    ) -> dict[int, int]:
        """Counts by outcome from ``{key: count}`` (``keys``: ``"bits"`` or ``"number"``).

        Keys naming the same outcome add up; with ``shots`` the total must equal it.
        """
        read = self.bits if keys == "bits" else self.number
        out: dict[int, int] = {}
        for key, n in raw.items():
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
                raise self.fail(f"count {n!r:.60} of {key!r:.60} is not an int >= 0")
            k = read(key)
            out[k] = out.get(k, 0) + int(n)
        total = sum(out.values())
        if shots is not None and total != shots:
            raise self.fail(f"counts add up to {total}, not the {shots} shots")
        return {k: n for k, n in out.items() if n}

    def probabilities(self, raw: Mapping[Any, Any], *, keys: str = "number") -> dict[int, float]:
        """Probabilities by outcome: finite, >= 0, summing to 1 (within 1e-3)."""
        read = self.bits if keys == "bits" else self.number
        out: dict[int, float] = {}
        for key, p in raw.items():
            if type(p) is not float and (
                isinstance(p, bool) or not isinstance(p, int | float | np.number)
            ):
                raise self.fail(f"probability {p!r:.60} of {key!r:.60} is not a number")
            value = float(p)
            if not math.isfinite(value) or value < 0:
                raise self.fail(f"probability {p!r:.60} of {key!r:.60} is not finite and >= 0")
            k = read(key)
            out[k] = out.get(k, 0.0) + value
        self.check_sum(math.fsum(out.values()))
        return out

    def check_sum(self, total: float) -> None:
        """Raise unless probabilities summing to ``total`` sum to 1."""
        if not abs(total - 1.0) <= PROBABILITY_TOLERANCE:
            raise self.fail(f"probabilities add up to {total!r}, not 1")

    def dense(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Check a dense probability vector of ``2**width`` entries."""
        arr = np.asarray(values)
        if arr.dtype.kind not in "biuf" or arr.shape != (1 << self.width,):
            raise self.fail(f"probabilities have shape {arr.shape}, expected ({1 << self.width},)")
        out = arr.astype(np.float64)
        if not (np.isfinite(out).all() and (out >= 0).all()):
            raise self.fail("probabilities are not all finite and >= 0")
        self.check_sum(float(out.sum()))
        return out

    def samples(self, values: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Per-shot outcomes: a 1-d array of ints in ``[0, 2**width)``."""
        arr = np.asarray(values)
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise self.fail(f"per-shot outcomes are not a list of integers ({arr.dtype})")
        out = arr.astype(np.int64)
        if out.size and not (int(out.min()) >= 0 and int(out.max()) < 1 << self.width):
            raise self.fail(f"a per-shot outcome is outside [0, 2**{self.width})")
        return out


def _as_float_array(value: Any) -> npt.NDArray[np.float64]:
    return np.asarray(value, dtype=np.float64)


def counts_from_probabilities(probabilities: npt.ArrayLike, shots: int) -> npt.NDArray[np.int64]:
    """Integer counts from probabilities that sum to exactly ``shots`` (largest remainder).

    Each outcome gets ``floor(p * shots)`` (after normalising the probabilities); the shots left
    over go to the largest remainders, ties broken by the lower outcome. Deterministic.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 1 and p.size <= _FEW_OUTCOMES:
        few = _few_counts(p.tolist(), shots)
        if few is not None:
            return np.array(few, dtype=np.int64)
    p = np.clip(p, 0.0, None)
    total = float(p.sum())
    if shots <= 0 or total <= 0.0:
        return np.zeros(p.shape, dtype=np.int64)
    exact = p / total * shots
    base = np.floor(exact).astype(np.int64)
    left = int(shots - int(base.sum()))
    if left > 0:
        remainder = exact - base
        order = np.lexsort((np.arange(p.size), -remainder))
        base[order[:left]] += 1
    return base


#: Up to this many outcomes, :func:`counts_from_probabilities` works on Python floats.
_FEW_OUTCOMES = 64


def _numpy_sum(values: list[float]) -> float:
    """``float(np.add.reduce(values))`` for at most 128 floats: numpy's pairwise summation
    (a plain loop below 8 values, else 8 running sums combined pairwise, then the rest)."""
    n = len(values)
    if n < 8:
        total = 0.0
        for v in values:
            total += v
        return total
    r0, r1, r2, r3, r4, r5, r6, r7 = values[:8]
    i = 8
    end = n - n % 8
    while i < end:
        a0, a1, a2, a3, a4, a5, a6, a7 = values[i : i + 8]
        r0 += a0
        r1 += a1
        r2 += a2
        r3 += a3
        r4 += a4
        r5 += a5
        r6 += a6
        r7 += a7
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for v in values[i:]:
        total += v
    return total


def _few_counts(p: list[float], shots: int) -> list[int] | None:
    """:func:`counts_from_probabilities` of a few finite probabilities: the same float
    operations element by element (the clip, numpy's summation order, the division, the floor
    and the remainders), so the same counts, without numpy's per-call cost. None when a value
    is not finite (numpy's reckoning decides those).

    The finiteness and sign checks run in C (``sum``, ``min``); the largest remainders are
    picked one at a time, without sorting every index through a key function.
    """
    if not math.isfinite(sum(p)):  # a nan or an infinity makes the sum one (or an overflow)
        return None
    # Non-negative values need no clip (-0.0 reads as 0.0 in every step below).
    clipped = p if min(p, default=0.0) >= 0.0 else [v if v > 0.0 else 0.0 for v in p]
    n = len(clipped)
    if n < 8:  # numpy adds fewer than 8 values one by one
        total = 0.0
        for v in clipped:
            total += v
    else:
        total = _numpy_sum(clipped)
    if shots <= 0 or total <= 0.0:
        return [0] * n
    exact = [v / total * shots for v in clipped]
    base = list(map(math.floor, exact))
    left = shots - sum(base)
    if left > 0:
        # The largest remainders first, the lower index on ties: (base - exact, index) ascending,
        # picked one at a time (``left`` is a few; no sort, no key function).
        rest = [b - e for b, e in zip(base, exact, strict=True)]
        for _ in range(min(left, n)):
            i = rest.index(min(rest))
            base[i] += 1
            rest[i] = math.inf
    return base


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
        if not is_int(num_clbits, low=0):
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

    @classmethod
    def from_outcomes(
        cls,
        counts: Mapping[int, int],
        num_clbits: int,
        *,
        probabilities: npt.ArrayLike | None = None,
        **kwargs: Any,
    ) -> Result:
        """Build a result from checked counts by outcome (see :class:`OutcomeCheck`).

        ``probabilities`` defaults to the counts' frequencies; ``shots`` to the total count.
        """
        if probabilities is None:
            dense = np.zeros(1 << num_clbits, dtype=np.float64)
            total = sum(counts.values())
            for k, n in counts.items():
                dense[k] += n
            if total:
                dense /= total
            probabilities = dense
        kwargs.setdefault("shots", sum(counts.values()))
        labels = {
            (format(k, f"0{num_clbits}b") if num_clbits else ""): int(n)
            for k, n in sorted(counts.items())
            if n
        }
        return cls(counts=labels, probabilities=probabilities, num_clbits=num_clbits, **kwargs)

    @classmethod
    def from_probabilities(cls, probabilities: npt.ArrayLike, shots: int, **kwargs: Any) -> Result:
        """Build a result from dense probabilities (``2**n`` entries, outcome order).

        ``counts`` are integers summing to exactly ``shots``, by
        :func:`counts_from_probabilities` (largest remainder, deterministic); ``num_clbits`` is
        ``n``. A length that is not a power of two raises :class:`~qjobs.InputError`.
        """
        dense = np.asarray(probabilities, dtype=np.float64)
        size = dense.size
        if dense.ndim != 1 or size < 1 or size & (size - 1):
            raise InputError("probabilities", dense.shape, "must be 2**n entries in one axis")
        n = size.bit_length() - 1
        # A few outcomes: counted on Python floats (numpy's per-call cost exceeds the loop's).
        few = _few_counts(dense.tolist(), shots) if size <= _FEW_OUTCOMES else None
        if few is not None:
            found = [(k, c) for k, c in enumerate(few) if c]
        else:
            counts = counts_from_probabilities(dense, shots)
            nonzero = np.flatnonzero(counts)
            found = list(zip(nonzero.tolist(), counts[nonzero].tolist(), strict=True))
        width = f"0{n}b"
        labels = {(format(k, width) if n else ""): c for k, c in found}
        return cls(counts=labels, probabilities=dense, shots=shots, num_clbits=n, **kwargs)

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

    def plot(self, *, ax: Axes | None = None, path: str | os.PathLike[str] | None = None) -> Axes:
        """A histogram of :attr:`counts`: one bar per outcome, labelled with its bitstring.

        Draws on ``ax`` when given, else on a new figure; with ``path`` the figure is also
        written there (the suffix picks the format: ``.png``, ``.svg``, ``.pdf``...) on the
        non-interactive Agg canvas when no ``ax`` is given. Returns the matplotlib ``Axes``.
        Needs matplotlib (``pip install 'qjobs[plot]'``); a result without counts raises
        :class:`~qjobs.InputError` on ``counts``.
        """
        from qjobs._core.plotting import counts_histogram

        where = f"job {self.job_id}" if self.job_id else "result"
        if self.index:
            where += f" [circuit {self.index}]"
        title = f"{where}: {self.shots} shots"
        return counts_histogram(self.counts, title=title, ax=ax, path=path)
