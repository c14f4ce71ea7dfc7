"""The qBraid client's device calls (list with filters, one, status, calibration, cost
estimate), the device cache, and the checks a submission makes against a device."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

import attrs

from qjobs._core.errors import InputError, MalformedResponseError, NotFoundError
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import segment
from qjobs.providers.qbraid._base import QbraidBase, _positive_int, _qrn
from qjobs.providers.qbraid.models import (
    PROVIDER,
    Calibration,
    CostEstimate,
    Device,
    calibration_from_wire,
    cost_estimate_from_wire,
    device_from_wire,
)

logger = logging.getLogger("qjobs.providers.qbraid")

#: The device used when ``backend`` is not given.
DEFAULT_DEVICE: Final = "qbraid:qbraid:sim:qasm-sim"
_QASM_FORMATS: Final = {2: "qasm2", 3: "qasm3"}


@attrs.frozen(slots=True)
class DeviceStatus:
    """A device's availability (the ``status`` fields of ``GET /devices/{qrn}``).

    ``status`` is ``ONLINE``, ``UNAVAILABLE``, ``OFFLINE`` or ``RETIRED``; ``queue_depth`` is the
    number of jobs waiting (0 when qBraid does not say); ``avg_queue_time`` is in minutes.
    """

    qrn: str
    status: str | None
    online: bool
    queue_depth: int = 0
    status_msg: str | None = None
    avg_queue_time: float | None = None
    next_available: Any = None


class QbraidDevices(QbraidBase):
    """Device calls of :class:`~qjobs.providers.qbraid.QbraidClient` and its device cache."""

    async def devices(
        self,
        *,
        include_retired: bool = False,
        vendor: str | None = None,
        provider: str | None = None,
        device_type: str | None = None,
        status: str | None = None,
        paradigm: str | None = None,
        run_input_type: str | None = None,
    ) -> list[Device]:
        """The devices qBraid offers (``GET /devices``; ``retired=false`` unless
        ``include_retired``). The other filters are applied to the answer (case-insensitive):
        ``vendor``, ``provider``, ``device_type`` (``SIMULATOR``/``QPU``), ``status``,
        ``paradigm`` and ``run_input_type`` (e.g. ``"qasm3"``). Devices are cached."""
        if not isinstance(include_retired, bool):
            raise InputError("include_retired", include_retired, "must be a bool")
        wanted: dict[str, str] = {}
        for field, value in (
            ("vendor", vendor),
            ("provider", provider),
            ("device_type", device_type),
            ("status", status),
            ("paradigm", paradigm),
            ("run_input_type", run_input_type),
        ):
            if value is not None:
                if not isinstance(value, str) or not value:
                    raise InputError(field, value, "must be a non-empty string")
                wanted[field] = value.lower()
        params = None if include_retired else {"retired": False}
        data, _ = await self._call("GET", "devices", params=params, route="GET /devices")
        if not isinstance(data, list):
            raise MalformedResponseError("device list is not a list", provider=PROVIDER)
        out: list[Device] = []
        for item in data:
            try:
                device = device_from_wire(item)
            except MalformedResponseError as exc:
                logger.warning("qbraid: skipping an invalid device: %s", exc)
                continue
            self._devices[device.qrn] = device
            values = {
                "vendor": device.vendor,
                "provider": device.provider,
                "device_type": device.device_type,
                "status": device.status,
                "paradigm": device.paradigm,
            }
            if any(
                (
                    field == "run_input_type"
                    and want not in {t.lower() for t in device.run_input_types}
                )
                or (field != "run_input_type" and (values[field] or "").lower() != want)
                for field, want in wanted.items()
            ):
                continue
            out.append(device)
        return out

    async def device(self, qrn: str) -> Device:
        """One device (``GET /devices/{qrn}``); refreshes the cached entry."""
        qrn = _qrn(qrn, "qrn")
        data, _ = await self._call("GET", f"devices/{segment(qrn)}", route="GET /devices/{qrn}")
        device = device_from_wire(data)
        self._devices[device.qrn] = device
        return device

    async def device_status(self, qrn: str) -> DeviceStatus:
        """A device's status and queue depth (qBraid has no separate status endpoint)."""
        d = await self.device(qrn)
        return DeviceStatus(
            qrn=d.qrn,
            status=d.status,
            online=d.online,
            queue_depth=d.queue_depth,
            status_msg=d.status_msg,
            avg_queue_time=d.avg_queue_time,
            next_available=d.next_available,
        )

    async def calibration(self, qrn: str) -> Calibration | None:
        """A device's latest calibration (``GET /devices/{qrn}/calibrations``): per-qubit and
        per-edge figures; None when qBraid has none (simulators)."""
        qrn = _qrn(qrn, "qrn")
        data, _ = await self._call(
            "GET", f"devices/{segment(qrn)}/calibrations", route="GET /devices/{qrn}/calibrations"
        )
        return calibration_from_wire(data)

    async def _cached_device(self, qrn: str) -> Device:
        async with self._devices_lock:
            cached = self._devices.get(qrn)
            if cached is not None:
                return cached
            try:
                return await self.device(qrn)
            except NotFoundError:
                raise InputError("backend", qrn, "no such qBraid device") from None

    # ------------------------------------------------------------------------------- submit
    def _programs(
        self, circuits: Circuit | Sequence[Circuit], qasm: int | None, device: Device
    ) -> list[dict[str, str]]:
        obj: object = circuits
        if isinstance(obj, str) or not isinstance(obj, Circuit | Sequence):
            raise InputError(
                "circuits", type(obj).__name__, "must be a Circuit or a list of Circuits"
            )
        items = [circuits] if isinstance(circuits, Circuit) else list(circuits)
        if not items:
            raise InputError("circuits", "[]", "must hold at least one circuit")
        for i, c in enumerate(items):
            if not isinstance(c, Circuit):
                raise InputError(f"circuits[{i}]", type(c).__name__, "must be a qjobs.Circuit")
            if not c.is_bound:
                raise InputError(f"circuits[{i}]", c.name, f"unbound parameters {c.parameters}")
        if not isinstance(circuits, Circuit):
            limit = self.capabilities.max_circuits_per_job
            if len(items) > limit:
                raise InputError("circuits", f"{len(items)} circuits", f"at most {limit} per job")
            if not device.batch_job_support:
                raise InputError(
                    "circuits",
                    f"{len(items)} circuits",
                    f"device {device.qrn!r} does not support batch jobs; submit one per job",
                )
        types = {t.lower() for t in device.run_input_types}
        if qasm is None:
            version = 3 if "qasm3" in types or not types else 2
        elif qasm in _QASM_FORMATS:
            version = qasm
        else:
            raise InputError("qasm", qasm, "must be 2, 3 or None")
        fmt = _QASM_FORMATS[version]
        if types and fmt not in types:
            raise InputError(
                "backend", device.qrn, f"does not accept {fmt}; it takes {sorted(types)}"
            )
        if device.number_qubits is not None:
            for i, c in enumerate(items):
                if c.num_qubits > device.number_qubits:
                    raise InputError(
                        f"circuits[{i}]",
                        f"{c.num_qubits} qubits",
                        f"device {device.qrn!r} has {device.number_qubits} qubits",
                    )
        return [
            {"format": fmt, "data": c.to_qasm3() if version == 3 else c.to_qasm2()} for c in items
        ]

    def _check_shots(self, value: Any, device: Device | None) -> int:
        shots = _positive_int(value, "shots")
        if device is not None:
            if device.max_shots is not None and shots > device.max_shots:
                raise InputError(
                    "shots", shots, f"device {device.qrn!r} allows <= {device.max_shots}"
                )
            if device.min_shots is not None and shots < device.min_shots:
                raise InputError(
                    "shots", shots, f"device {device.qrn!r} needs >= {device.min_shots}"
                )
        return shots

    async def estimate_cost(
        self, backend: str | None = None, *, shots: int | None = None
    ) -> CostEstimate:
        """What a job would cost, in credits (``GET /jobs/cost-estimate``).

        ``backend`` is a device QRN (default :data:`DEFAULT_DEVICE`); without ``shots`` qBraid
        assumes 1000. Devices priced per minute answer ``pricing_available=False`` and a
        ``reason``.
        """
        qrn = _qrn(DEFAULT_DEVICE if backend is None else backend, "backend")
        params: dict[str, Any] = {"deviceQrn": qrn}
        if shots is not None:
            params["shots"] = _positive_int(shots, "shots")
        data, _ = await self._call(
            "GET", "jobs/cost-estimate", params=params, route="GET /jobs/cost-estimate"
        )
        return cost_estimate_from_wire(data)
