"""Value types configuring a transport: request kinds, timeouts, retry policy, rate limit."""

from __future__ import annotations

import enum
from typing import Final

import attrs

from qjobs._core.durations import factor, rate, seconds_validator
from qjobs._core.errors import InputError
from qjobs._core.validation import is_int

__all__ = ["MISSING", "RateLimit", "RequestKind", "RetryPolicy", "Timeouts"]


class _Missing(enum.Enum):
    MISSING = enum.auto()

    def __repr__(self) -> str:
        return "MISSING"


#: Sentinel meaning "no JSON body" (``None`` is a valid JSON body: ``null``).
MISSING: Final = _Missing.MISSING


class RequestKind(enum.Enum):
    """How safe a request is to repeat; decides what the transport retries.

    ``READ`` is idempotent (GET, cancel, delete): retried on connection errors, 408, 429 and 5xx.
    ``CREATE`` creates a job: retried only when the server provably did nothing (connect failure,
    429, 503 with ``Retry-After``); an ambiguous fault raises :class:`qjobs.SubmitUncertainError`.
    ``WRITE`` is any other non-idempotent request: as ``CREATE``, but an ambiguous fault raises
    :class:`qjobs.TransportError`.
    """

    READ = "read"
    CREATE = "create"
    WRITE = "write"


_positive = seconds_validator()
_non_negative = seconds_validator(zero=True)


@attrs.frozen(slots=True)
class Timeouts:
    """Per-attempt timeouts in seconds: TCP/TLS ``connect``, idle ``read``, whole-attempt ``total``.

    Time spent waiting for the transport's own rate limiter is not counted.
    """

    connect: float = attrs.field(default=10.0, validator=_positive)
    read: float = attrs.field(default=30.0, validator=_positive)
    total: float = attrs.field(default=60.0, validator=_positive)


@attrs.frozen(slots=True)
class RetryPolicy:
    """Retry bounds and backoff shape.

    At most ``max_attempts`` attempts (the first included) within ``max_time`` seconds overall.
    Waits grow as ``base_delay * factor**n`` capped at ``max_delay`` with full jitter; a server's
    ``Retry-After`` hint is used exactly instead (capped at ``max_retry_after``), and when the hint
    does not fit in the remaining ``max_time`` the error is raised at once.
    """

    max_attempts: int = attrs.field(default=6)
    max_time: float = attrs.field(default=120.0, validator=_non_negative)
    base_delay: float = attrs.field(default=0.2, validator=_non_negative)
    factor: float = attrs.field(default=2.0)
    max_delay: float = attrs.field(default=10.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=300.0, validator=_non_negative)

    @max_attempts.validator
    def _check_attempts(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not is_int(value, low=1):
            raise InputError("max_attempts", value, "must be an int >= 1")

    @factor.validator
    def _check_factor(self, attribute: attrs.Attribute[float], value: float) -> None:
        factor("factor", value)

    @classmethod
    def no_retry(cls) -> RetryPolicy:
        """A policy that never retries (one attempt)."""
        return cls(max_attempts=1)


@attrs.frozen(slots=True)
class RateLimit:
    """Client-side limits: hard caps, and whether the limiter adapts below them.

    ``requests_per_second`` caps the request rate and ``max_concurrent`` the requests in flight
    (``None``: no cap). With ``adaptive=True`` (the default) the limiter finds the server's own
    limit by congestion control (it grows while answers are 2xx and fast, and cuts on a 429 or a
    503 with ``Retry-After``), never above the caps; with ``adaptive=False`` the caps are used as
    given and ``None`` means unlimited. ``Retry-After`` is honoured either way.
    """

    requests_per_second: float | None = attrs.field(default=None)
    max_concurrent: int | None = attrs.field(default=None)
    adaptive: bool = attrs.field(default=True)

    @requests_per_second.validator
    def _check_rps(self, attribute: attrs.Attribute[float | None], value: float | None) -> None:
        rate("requests_per_second", value)

    @max_concurrent.validator
    def _check_conc(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and not is_int(value, low=1):
            raise InputError("max_concurrent", value, "must be an int >= 1 or None")

    @adaptive.validator
    def _check_adaptive(self, attribute: attrs.Attribute[bool], value: bool) -> None:
        if not isinstance(value, bool):
            raise InputError("adaptive", value, "must be a bool")
