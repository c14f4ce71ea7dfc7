"""Generic readers of JSON wire values, shared by the provider model modules.

Nothing here knows a provider: field names, status tables, paths and error shapes stay in each
provider's ``_<name>_models.py``. The readers are lenient: a value of the wrong type reads as
None (or empty), never raises, so one odd field does not lose a whole response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import attrs
import cattrs
import orjson

from qjobs._core.errors import MalformedResponseError
from qjobs._core.models import JobStatus
from qjobs._core.validation import is_mapping

__all__ = [
    "as_dict",
    "json_body",
    "lenient_converter",
    "lookup_status",
    "opt_bool",
    "opt_dict",
    "opt_float",
    "opt_int",
    "opt_str",
    "opt_str_list",
    "parse_time",
    "structure",
]

T = TypeVar("T")


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string (``...Z`` allowed) or epoch seconds/milliseconds; None if unreadable."""
    if isinstance(value, str):  # the common case first
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
        except ValueError:
            return None
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = value / 1000.0 if value > 1e11 else float(value)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def opt_float(value: Any, _t: Any = None) -> float | None:
    """A number (or numeric string) as a float; None for None, bools and anything unreadable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def opt_int(value: Any, _t: Any = None) -> int | None:
    """A number (or numeric string) as an int; None for None, bools and anything unreadable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def opt_bool(value: Any, _t: Any = None) -> bool | None:
    """A JSON boolean; None for anything else."""
    return value if isinstance(value, bool) else None


def opt_str(value: Any, _t: Any = None) -> str | None:
    """Any value but None as its string."""
    return None if value is None else str(value)


def as_dict(value: Any, _t: Any = None) -> dict[str, Any]:
    """An object as a new dict; empty for anything else."""
    return dict(value) if is_mapping(value) else {}


def opt_dict(value: Any, _t: Any = None) -> dict[str, Any] | None:
    """An object as a new dict; None for anything else."""
    return None if value is None or not is_mapping(value) else dict(value)


def opt_str_list(value: Any, _t: Any = None) -> list[str] | None:
    """A list as a list of strings; None for anything else."""
    if not isinstance(value, list):
        return None
    return [str(v) for v in value]


def lenient_converter(parse_time: Callable[[Any], datetime | None]) -> cattrs.Converter:
    """A cattrs converter ignoring unknown keys and reading the common field types leniently.

    ``datetime`` fields go through ``parse_time``; ``float | None``, ``int | None``,
    ``str | None``, ``bool | None``, ``Mapping[str, Any]``, ``dict[str, Any] | None`` and
    ``list[str] | None`` through the readers above. A provider registers its own hooks on top
    (a later registration wins).
    """
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(datetime, lambda v, _t: parse_time(v))
    conv.register_structure_hook(datetime | None, lambda v, _t: parse_time(v))
    conv.register_structure_hook(float | None, opt_float)
    conv.register_structure_hook(int | None, opt_int)
    conv.register_structure_hook(str | None, opt_str)
    conv.register_structure_hook(bool | None, opt_bool)
    conv.register_structure_hook_func(lambda t: t == Mapping[str, Any], as_dict)
    conv.register_structure_hook_func(lambda t: t == dict[str, Any] | None, opt_dict)
    conv.register_structure_hook_func(lambda t: t == list[str] | None, opt_str_list)
    return conv


_FIELDS: dict[type[Any], tuple[frozenset[str], bool]] = {}


def _fields(cls: type[Any]) -> tuple[frozenset[str], bool]:
    """The field names of ``cls`` a wire dict may fill (``details`` excluded), and whether it
    has ``details``; cached per class."""
    found = _FIELDS.get(cls)
    if found is None:
        names = frozenset(a.name for a in attrs.fields(cls))
        found = _FIELDS[cls] = (names - {"details"}, "details" in names)
    return found


def structure(
    converter: cattrs.Converter,
    data: Any,
    cls: type[T],
    what: str,
    *,
    provider: str,
    renames: Mapping[str, str] | None = None,
) -> T:
    """Build the attrs class ``cls`` from a wire object with ``converter``.

    Keys that are not fields are dropped (after ``renames``: wire key -> field name); a model
    with a ``details`` field gets the whole raw object there. A body that is not an object, or
    that the converter cannot read, raises :class:`~qjobs.MalformedResponseError` naming
    ``what``.
    """
    if not is_mapping(data):
        raise MalformedResponseError(f"{what} is not an object", provider=provider)
    names, has_details = _fields(cls)
    clean: Mapping[str, Any]
    if renames:
        clean = {renames.get(k, k): v for k, v in data.items()}
        clean = {k: v for k, v in clean.items() if k in names}
    elif has_details:
        clean = {k: v for k, v in data.items() if k in names}
    else:
        clean = data  # the converter reads its fields' keys only (no renaming overrides here)
    try:
        obj: T = converter.structure(clean, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        raise MalformedResponseError(f"{what}: {exc}", provider=provider) from None
    if has_details:
        obj = cast(T, attrs.evolve(cast(Any, obj), details=dict(data)))
    return obj


def lookup_status(
    raw: Any, table: Mapping[str, JobStatus], *, fold: Callable[[str], str] = str.lower
) -> tuple[JobStatus, str]:
    """``(unified status, raw status)`` of a wire status: ``table`` keyed by ``fold(raw)``.

    A status missing from the table is :attr:`JobStatus.UNKNOWN`; a raw status that is not a
    string reads as ``""``.
    """
    text = raw if isinstance(raw, str) else ""
    return table.get(fold(text), JobStatus.UNKNOWN), text


def json_body(body: bytes) -> Any:
    """An error body as JSON; None when it is empty or not JSON."""
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None
