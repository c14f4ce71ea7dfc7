"""Deterministic keys: one per circuit, one per provider job (derived from its members).

A circuit's key hashes its canonical form together with the shots, backend, job options, the
caller's index and the target (the provider's name and its normalised endpoint, never a token), so
the same program submitting the same circuits in the same order to the same API computes the same
keys on every run; the ledger is looked up by them, and work done at one provider or server is
never reported for another. A job key hashes its members' keys (in
position order) and a generation number that grows each time one of the circuits is placed in a
new job, so two different submissions never share a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from qjobs._core.errors import InputError
from qjobs.circuit._ir import Circuit

__all__ = [
    "batch_key",
    "canonical_circuit",
    "circuit_key",
    "options_json",
    "target_id",
]

_SEP = b"\x1f"


def canonical_circuit(circuit: Circuit) -> bytes:
    """A compact, deterministic byte form of a bound circuit (names, qubits, params, clbits).

    Floats are written by orjson's shortest round-trip representation, so equal circuits give
    equal bytes. The circuit's ``name`` and register names are not part of it.
    """
    body = [
        (ins.name, ins.qubits, ins.params, ins.clbits)
        if ins.params or ins.clbits
        else (ins.name, ins.qubits)
        for ins in circuit.instructions
    ]
    return orjson.dumps((circuit.num_qubits, circuit.num_clbits, body))


def options_json(options: Mapping[str, Any]) -> bytes:
    """Job options as canonical JSON (sorted keys); raises InputError when not serialisable."""
    try:
        return orjson.dumps(dict(options), option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    except TypeError as exc:
        raise InputError("job_options", dict(options), f"not JSON-serialisable: {exc}") from None


def target_id(provider: str, endpoint: str) -> bytes:
    """The bytes naming where work runs: the provider and its endpoint (see ``client.endpoint``)."""
    return provider.encode() + _SEP + endpoint.encode()


def circuit_key(
    circuit: Circuit,
    *,
    shots: int,
    backend: str | None,
    options: bytes,
    index: int,
    target: bytes,
) -> str:
    """The key of one submitted circuit: 32 hex digits of a BLAKE2b hash.

    ``target`` is :func:`target_id` of the client the circuit runs on.
    """
    parts = (
        canonical_circuit(circuit),
        b"%d" % shots,
        (backend or "").encode(),
        options,
        b"%d" % index,
        target,
    )
    return hashlib.blake2b(_SEP.join(parts), digest_size=16).hexdigest()


def batch_key(member_keys: Sequence[str], generation: int) -> str:
    """The key of a provider job holding ``member_keys`` (in position order)."""
    parts = [k.encode() for k in member_keys]
    parts.append(b"%d" % generation)
    h = hashlib.blake2b(_SEP.join(parts), digest_size=16, person=b"qjobs-batch")
    return "qj" + h.hexdigest()[:30]
