"""One rule for every number a user gives that bounds a wait: seconds, growth factors, rates.

A duration is a finite real number (not a bool): ``nan`` compares false with everything, so a
deadline built from it never arrives, and ``inf`` never ends; where "no limit" is meant the
parameter takes ``None``. Each helper raises :class:`~qjobs.InputError` naming the field, and is
called before any request is sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from qjobs._core.errors import InputError
from qjobs._core.validation import is_number

__all__ = ["factor", "rate", "seconds", "seconds_or_none", "seconds_validator"]


def _finite(field: str, value: object, what: str, none_ok: bool) -> float:
    if not is_number(value):
        raise InputError(field, value, f"expected {what}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if math.isnan(number):
        raise InputError(field, value, f"must be {what}, not nan")
    if math.isinf(number):
        hint = "; use None for no limit" if none_ok else ""
        raise InputError(field, value, f"must be finite{hint}")
    return number


def seconds(field: str, value: object, *, zero: bool = False, none_ok: bool = False) -> float:
    """``value`` as seconds: finite and > 0 (>= 0 with ``zero``); InputError naming ``field``.

    ``none_ok`` only changes the message (the caller accepts ``None`` for "no limit").
    """
    number = _finite(field, value, "a number of seconds", none_ok)
    if number < 0:
        raise InputError(field, value, "must not be negative")
    if number == 0 and not zero:
        raise InputError(field, value, "must be > 0")
    return number


def seconds_or_none(field: str, value: object, *, zero: bool = False) -> float | None:
    """As :func:`seconds`, with ``None`` (no limit, or the default) passed through."""
    return None if value is None else seconds(field, value, zero=zero, none_ok=True)


def factor(field: str, value: object) -> float:
    """A growth factor of waits (``poll_factor``, ``RetryPolicy.factor``): finite and >= 1."""
    number = _finite(field, value, "a number >= 1", False)
    if number < 1:
        raise InputError(field, value, "must be >= 1")
    return number


def rate(field: str, value: object) -> float | None:
    """A rate per second (``requests_per_second``): finite and > 0, or ``None`` (unlimited)."""
    if value is None:
        return None
    number = _finite(field, value, "a number per second", True)
    if not number > 0:
        raise InputError(field, value, "must be > 0 or None")
    return number


def seconds_validator(*, zero: bool = False) -> Callable[[Any, Any, Any], None]:
    """An attrs validator applying :func:`seconds` to a field (named after the attribute)."""

    def validate(instance: Any, attribute: Any, value: Any) -> None:
        seconds(attribute.name, value, zero=zero)

    return validate
