"""The HTTP layer under every provider client.

One :class:`Transport` per client: a long-lived aiohttp session, orjson bodies, timeouts,
retries by :class:`RequestKind` (``Retry-After`` honoured exactly), an adaptive request limiter
in front of aiohttp (its :class:`LimiterState` from ``transport.limiter.state()``), auth sent
only to the base URL's origin, secrets redacted everywhere, and per-transport
:class:`TransportStats`.
"""

from __future__ import annotations

from qjobs._core.public import publish as _publish
from qjobs.transport._congestion import LimiterPhase, LimiterState
from qjobs.transport._errormap import default_error_parser, parse_retry_after
from qjobs.transport._ratelimit import RateLimiter
from qjobs.transport._redact import Redactor
from qjobs.transport._response import Response
from qjobs.transport._retry import Retrier, is_retryable
from qjobs.transport._stats import RetryWait, TransportStats
from qjobs.transport._transport import Transport
from qjobs.transport._types import MISSING, RateLimit, RequestKind, RetryPolicy, Timeouts

__all__ = [
    "MISSING",
    "LimiterPhase",
    "LimiterState",
    "RateLimit",
    "RateLimiter",
    "Redactor",
    "RequestKind",
    "Response",
    "Retrier",
    "RetryPolicy",
    "RetryWait",
    "Timeouts",
    "Transport",
    "TransportStats",
    "default_error_parser",
    "is_retryable",
    "parse_retry_after",
]

_publish(globals())
