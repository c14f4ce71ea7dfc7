"""The checks of user input that every layer shares (no I/O).

``bool`` is an ``int`` subclass in Python, so ``True`` passes ``isinstance(x, int)``; every
integer and number check of qjobs goes through here so that none forgets it.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, TypeGuard

from qjobs._core.errors import InputError

__all__ = ["check_int", "is_int", "is_mapping", "is_number"]


def is_int(value: Any, *, low: int | None = None, high: int | None = None) -> TypeGuard[int]:
    """True for an ``int`` (never a ``bool``) within ``low..high`` (each bound optional, inclusive).

    numpy integers are not ints here; callers that take them say so (``is_int(int(x))``).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def is_mapping(value: Any) -> TypeGuard[Mapping[Any, Any]]:
    """True for a :class:`~collections.abc.Mapping`.

    A plain ``dict`` (every JSON object orjson decodes) is recognised by its exact type first,
    without the ABC machinery of ``isinstance(value, Mapping)`` (a Python-level
    ``__instancecheck__`` call each time); anything else is asked the ABC question.
    """
    return type(value) is dict or isinstance(value, Mapping)


def is_number(value: Any) -> TypeGuard[int | float]:
    """True for a real number (int, float, numpy scalars), never a ``bool``; may be nan or inf."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def check_int(field: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` when :func:`is_int` holds; else :class:`~qjobs.InputError` naming ``field``.

    The reason says the range: "must be an int >= 1", "must be an int in 1..100".
    """
    if is_int(value, low=low, high=high):
        return value
    if low is not None and high is not None:
        reason = f"must be an int in {low}..{high}"
    elif low is not None:
        reason = f"must be an int >= {low}"
    elif high is not None:
        reason = f"must be an int <= {high}"
    else:
        reason = "must be an int"
    raise InputError(field, value, reason)
