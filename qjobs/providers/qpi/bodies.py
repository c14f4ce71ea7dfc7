"""Building a QPI job body: validation, parameter sets and the idempotency key comment.

Pure functions (no I/O): :func:`build_body` checks everything that needs no request and makes
the ``POST /api/jobs`` body; :func:`key_of` reads the key back from a listed job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import orjson

from qjobs._core.errors import InputError
from qjobs._core.models import Job
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import Capabilities
from qjobs.providers.qpi.results import KEY_COMMENT

__all__ = ["MAX_SHOTS", "build_body", "key_of"]

MAX_SHOTS: Final = 1_000_000
_MAX_KEY_LENGTH: Final = 128
_MEAS_RETURNS: Final = ("single", "avg")


def _with_key(qasm: str, key: str) -> str:
    head, _, rest = qasm.partition("\n")
    return f"{head}\n{KEY_COMMENT}{key}\n{rest}"


def key_of(job: Job) -> str | None:
    """The key a job's first circuit carries (``// qjobs-key: <key>``), or None."""
    payload = job.details.get("payload")
    circuits = payload.get("circuits") if isinstance(payload, Mapping) else None
    if not isinstance(circuits, list) or not circuits or not isinstance(circuits[0], Mapping):
        return None
    text = circuits[0].get("circuit")
    if not isinstance(text, str):
        return None
    for line in text.splitlines()[:4]:
        if line.startswith(KEY_COMMENT):
            return line[len(KEY_COMMENT) :].strip()
    return None


def _parameter_sets(circuit: Circuit, sets: Any, field: str) -> list[list[float]] | None:
    names = circuit.parameters
    if sets is None:
        if names:
            raise InputError(field, None, f"the circuit has free parameters {list(names)}")
        return None
    if isinstance(sets, str | Mapping) or not isinstance(sets, Sequence) or not sets:
        raise InputError(field, sets, "must be a non-empty list of parameter sets")
    if not names:
        raise InputError(field, "...", "the circuit has no free parameters")
    out: list[list[float]] = []
    for k, values in enumerate(sets):
        where = f"{field}[{k}]"
        if isinstance(values, Mapping):
            if set(values) != set(names):
                raise InputError(where, sorted(values), f"must name exactly {list(names)}")
            row = [values[n] for n in names]
        elif isinstance(values, Sequence) and not isinstance(values, str):
            if len(values) != len(names):
                raise InputError(where, values, f"needs {len(names)} values for {list(names)}")
            row = list(values)
        else:
            raise InputError(where, values, "must be a mapping or a list of numbers")
        floats = []
        for v in row:
            if isinstance(v, bool) or not isinstance(v, int | float | np.number):
                raise InputError(where, values, "values must be numbers")
            if not math.isfinite(float(v)):
                raise InputError(where, values, "values must be finite")
            floats.append(float(v))
        out.append(floats)
    return out


def build_body(
    capabilities: Capabilities,
    circuits: Circuit | Sequence[Circuit],
    *,
    shots: int,
    key: str | None,
    meas_level: int,
    meas_return: str,
    parameter_values: Any,
) -> tuple[dict[str, Any], list[Circuit]]:
    """Validate everything that needs no request and build the ``POST /api/jobs`` body."""
    if not is_int(shots, low=1, high=MAX_SHOTS):
        raise InputError("shots", shots, f"must be an int from 1 to {MAX_SHOTS}")
    if meas_level not in (1, 2) or isinstance(meas_level, bool):
        raise InputError("meas_level", meas_level, "must be 1 (IQ memory) or 2 (counts)")
    if meas_return not in _MEAS_RETURNS:
        raise InputError("meas_return", meas_return, f"must be one of {list(_MEAS_RETURNS)}")
    if key is not None and (
        not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH or not key.isprintable()
    ):
        raise InputError("key", key, f"must be a printable string of 1..{_MAX_KEY_LENGTH}")
    single = isinstance(circuits, Circuit)
    obj: object = circuits
    if not single and (isinstance(obj, str) or not isinstance(obj, Sequence)):
        raise InputError("circuits", type(obj).__name__, "must be a Circuit or a list of them")
    items: list[Circuit] = [circuits] if isinstance(circuits, Circuit) else list(circuits)
    if not items:
        raise InputError("circuits", [], "must hold at least one circuit")
    limit = capabilities.max_circuits_per_job
    if len(items) > limit:
        raise InputError("circuits", f"{len(items)} circuits", f"at most {limit} per job")
    if parameter_values is None:
        per_circuit: list[Any] = [None] * len(items)
    elif single:
        per_circuit = [parameter_values]
    else:
        if (
            isinstance(parameter_values, str | Mapping)
            or not isinstance(parameter_values, Sequence)
            or len(parameter_values) != len(items)
        ):
            raise InputError("parameter_values", "...", "must hold one entry (or None) per circuit")
        per_circuit = list(parameter_values)
    wire: list[dict[str, Any]] = []
    for i, (circuit, sets) in enumerate(zip(items, per_circuit, strict=True)):
        if not isinstance(circuit, Circuit):
            raise InputError(f"circuits[{i}]", type(circuit).__name__, "must be a Circuit")
        field = "parameter_values" if single else f"parameter_values[{i}]"
        bound_sets = _parameter_sets(circuit, sets, field)
        qasm = circuit.to_qasm3()
        if key is not None and i == 0:
            qasm = _with_key(qasm, key)
        entry: dict[str, Any] = {"circuit": qasm}
        if bound_sets is not None:
            entry["parameter_values"] = bound_sets
        wire.append(entry)
    body: dict[str, Any] = {
        "circuits": wire,
        "shots": shots,
        "meas_level": meas_level,
        "meas_return": meas_return,
    }
    size = len(orjson.dumps(body))
    if size > capabilities.max_payload_bytes:
        raise InputError(
            "circuits",
            f"{size} bytes",
            f"payload exceeds max_payload_bytes={capabilities.max_payload_bytes}",
        )
    return body, items
