"""IonQ backends, their characterizations and cost estimates (part of ``IonQClient``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qjobs._core.errors import InputError, MalformedResponseError, NotFoundError
from qjobs._core.models import Backend
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import segment
from qjobs.providers.ionq import circuits as codec
from qjobs.providers.ionq._base import DEFAULT_MAX_SHOTS, IonQBase, logger
from qjobs.providers.ionq._base import check_name as _name
from qjobs.providers.ionq.models import (
    PROVIDER,
    Characterization,
    Estimate,
    backend_from_wire,
    structure_model,
)

__all__ = ["CatalogueMixin"]


class CatalogueMixin(IonQBase):
    """Backends (cached for submit-time checks), characterizations and estimates."""

    async def backends(self) -> list[Backend]:
        """Every backend IonQ offers (``GET /backends``); cached for submit-time checks."""
        data = await self._get_json("backends", route="GET /backends")
        items = data.get("backends") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise MalformedResponseError("backend list is not a list", provider=PROVIDER)
        out = [backend_from_wire(item, max_shots=DEFAULT_MAX_SHOTS) for item in items]
        self._catalogue = {b.name: b for b in out}
        return out

    async def backend(self, name: str) -> Backend:
        """One backend (``GET /backends/{name}``)."""
        name = _name(name, "backend")
        data = await self._get_json(f"backends/{segment(name)}", route="GET /backends/{backend}")
        if isinstance(data, Mapping) and "backend" not in data:
            data = {**data, "backend": name}
        return backend_from_wire(data, max_shots=DEFAULT_MAX_SHOTS)

    async def _catalogue_entry(self, name: str) -> Backend | None:
        """The cached catalogue entry for ``name``; None when the server has no catalogue."""
        if self._catalogue is None:  # fetched once; later calls skip the lock
            async with self._catalogue_lock:
                if self._catalogue is None:
                    try:
                        await self.backends()
                    except NotFoundError:
                        logger.debug(
                            "ionq: no backend catalogue at %s; skipping checks", self.base_url
                        )
                        self._catalogue = {}
        catalogue = self._catalogue or {}
        if not catalogue:
            return None
        entry = catalogue.get(name)
        if entry is None:
            raise InputError("backend", name, f"unknown IonQ backend; known: {sorted(catalogue)}")
        return entry

    async def characterizations(
        self, backend: str, limit: int | None = None
    ) -> list[Characterization]:
        """Calibration records of a backend, newest first (``limit`` bounds how many)."""
        backend = _name(backend, "backend")
        if limit is not None and (not is_int(limit, low=1)):
            raise InputError("limit", limit, "must be an int >= 1")
        data = await self._get_json(
            f"backends/{segment(backend)}/characterizations",
            params={"limit": limit},
            route="GET /backends/{backend}/characterizations",
        )
        items = data.get("characterizations") if isinstance(data, Mapping) else data
        if items is None:
            return []
        if not isinstance(items, list):
            raise MalformedResponseError("characterizations is not a list", provider=PROVIDER)
        return [structure_model(c, Characterization, "characterization") for c in items]

    async def characterization(self, backend: str) -> Characterization | None:
        """The latest calibration record of a backend, or None when there is none."""
        found = await self.characterizations(backend, limit=1)
        return found[0] if found else None

    async def estimate(
        self,
        circuits: Circuit | Sequence[Circuit] | None = None,
        *,
        backend: str,
        shots: int,
        one_qubit_gates: int | None = None,
        two_qubit_gates: int | None = None,
        qubits: int | None = None,
        error_mitigation: bool = False,
        session: bool = False,
    ) -> Estimate:
        """Cost and time estimate (``GET /jobs/estimate``).

        Gate and qubit counts are taken from ``circuits`` (as they would be sent) unless given.
        """
        backend = _name(backend, "backend")
        if not is_int(shots, low=1):
            raise InputError("shots", shots, "must be an int >= 1")
        job_type = codec.TYPE_CIRCUIT
        n1 = n2 = 0
        width = 0
        if circuits is not None:
            encoded = codec.encode(circuits)
            job_type = encoded.type
            width = encoded.qubits
            lists = (
                [encoded.input.get("circuit", [])]
                if "circuit" in encoded.input
                else [c["circuit"] for c in encoded.input.get("circuits", [])]
            )
            for ops in lists:
                for op in ops:
                    arity = len(op.get("targets", [op.get("target")])) + len(op.get("controls", []))
                    if arity == 1:
                        n1 += 1
                    else:
                        n2 += 1
        for field, value in (
            ("one_qubit_gates", one_qubit_gates),
            ("two_qubit_gates", two_qubit_gates),
            ("qubits", qubits),
        ):
            if value is not None and (not is_int(value, low=0)):
                raise InputError(field, value, "must be an int >= 0")
        params = {
            "type": job_type,
            "backend": backend,
            "1q_gates": n1 if one_qubit_gates is None else one_qubit_gates,
            "2q_gates": n2 if two_qubit_gates is None else two_qubit_gates,
            "qubits": width if qubits is None else qubits,
            "shots": shots,
            "error_mitigation": bool(error_mitigation),
            "session": bool(session),
        }
        data = await self._get_json("jobs/estimate", params=params, route="GET /jobs/estimate")
        return structure_model(data, Estimate, "estimate")
