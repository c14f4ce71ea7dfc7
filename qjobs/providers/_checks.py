"""Input checks every provider makes before a request: payload size and backend catalogue.

Pure functions (no I/O); each raises :class:`~qjobs.InputError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from qjobs._core.errors import InputError
from qjobs._core.models import Backend

__all__ = ["catalogue_entry", "check_fits", "payload_size"]


def payload_size(body: Mapping[str, Any], max_bytes: int, *, field: str = "settings") -> int:
    """The size of ``body`` as JSON.

    :class:`~qjobs.InputError` naming ``field`` when it is not JSON-serializable, naming
    ``circuits`` when it is larger than ``max_bytes`` (the ``max_payload_bytes`` capability).
    """
    try:
        size = len(orjson.dumps(body))
    except TypeError as exc:
        raise InputError(field, "<body>", f"not JSON-serializable: {exc}") from None
    if size > max_bytes:
        raise InputError(
            "circuits", f"{size} bytes", f"payload exceeds max_payload_bytes={max_bytes}"
        )
    return size


def catalogue_entry(catalogue: Mapping[str, Backend], name: str, what: str) -> Backend | None:
    """The entry of backend ``name``; None when there is no catalogue to check against.

    A name the catalogue does not hold raises :class:`~qjobs.InputError` listing the known ones
    (``what`` names the catalogue: ``"IonQ"``, ``"Hub"``).
    """
    if not catalogue:
        return None
    entry = catalogue.get(name)
    if entry is None:
        raise InputError("backend", name, f"unknown {what} backend; known: {sorted(catalogue)}")
    return entry


def check_fits(entry: Backend, qubits: int, shots: int) -> None:
    """:class:`~qjobs.InputError` unless ``qubits`` and ``shots`` fit the backend ``entry``."""
    if entry.qubits is not None and qubits > entry.qubits:
        raise InputError(
            "circuits", f"{qubits} qubits", f"backend {entry.name!r} has {entry.qubits} qubits"
        )
    if entry.max_shots is not None and shots > entry.max_shots:
        raise InputError("shots", shots, f"backend {entry.name!r} allows <= {entry.max_shots}")
    if shots < entry.min_shots:
        raise InputError("shots", shots, f"backend {entry.name!r} needs >= {entry.min_shots}")
