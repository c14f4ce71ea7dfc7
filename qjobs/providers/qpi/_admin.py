"""QPI administration: users and their QPU-seconds, QPU creation, connection and toggling.

:class:`QPIAdmin` is a part of :class:`~qjobs.providers.qpi.QPIClient`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.models import Backend
from qjobs._core.validation import is_int
from qjobs.providers._base import segment
from qjobs.providers.qpi._requests import QPIRequests
from qjobs.providers.qpi._requests import record_id as _record_id
from qjobs.providers.qpi._requests import seconds as _seconds
from qjobs.providers.qpi.models import (
    PROVIDER,
    QPUConnection,
    QPUCreated,
    User,
    backend_from_wire,
    structure_record,
)
from qjobs.transport import RequestKind

__all__ = ["QPIAdmin"]


class QPIAdmin(QPIRequests):
    """Users, QPU time and QPU administration of :class:`~qjobs.providers.qpi.QPIClient`."""

    # ------------------------------------------------------------------------------ users
    async def users(self) -> list[User]:
        """Users (a superuser sees all, a user only themself), every page."""
        self._need_login("users()")
        return [
            structure_record(item, User, "user")
            async for item in self._collection("users", sort="created")
        ]

    async def allocate_qpu_time(self, user: User | str, seconds: float) -> User:
        """Set a user's QPU-seconds balance (an absolute value, not an increment; superuser)."""
        uid = _record_id(user.id if isinstance(user, User) else user, "user")
        self._need_superuser("allocate_qpu_time()")
        amount = _seconds(seconds, "seconds", allow_zero=True)
        data = await self._json(
            "PATCH",
            f"api/collections/users/records/{segment(uid)}",
            json={"qpu_seconds": amount},
            route="PATCH /api/collections/users/records/{id}",
            kind=RequestKind.READ,
        )
        return structure_record(data, User, "user")

    # ---------------------------------------------------------------------- administration
    async def create_qpu(
        self,
        name: str,
        *,
        executor_type: str | None = None,
        num_qubits: int | None = None,
        enabled: bool | None = None,
    ) -> QPUCreated:
        """Create a QPU (superuser). The returned ``access_token`` is shown once, never logged."""
        self._need_superuser("create_qpu()")
        body: dict[str, Any] = {"name": _record_id(name, "name")}
        if executor_type is not None:
            if not isinstance(executor_type, str) or not executor_type:
                raise InputError("executor_type", executor_type, "must be a non-empty string")
            body["executor_type"] = executor_type
        if num_qubits is not None:
            if not is_int(num_qubits, low=1):
                raise InputError("num_qubits", num_qubits, "must be an int >= 1")
            body["num_qubits"] = num_qubits
        if enabled is not None:
            if not isinstance(enabled, bool):
                raise InputError("enabled", enabled, "must be a bool")
            body["enabled"] = enabled
        data = await self._json(
            "POST",
            "api/op/qpus/create",
            json=body,
            route="POST /api/op/qpus/create",
            kind=RequestKind.WRITE,
        )
        if not isinstance(data, Mapping):
            raise MalformedResponseError("QPU creation answer is not an object", provider=PROVIDER)
        token = data.get("access_token")
        rest = {k: v for k, v in data.items() if k != "access_token"}
        return QPUCreated(
            id=str(data.get("id") or data.get("name") or name),
            name=str(data.get("name") or name),
            status=None if data.get("status") is None else str(data["status"]),
            enabled=data.get("enabled") if isinstance(data.get("enabled"), bool) else None,
            access_token=token if isinstance(token, str) else None,
            details=rest,
        )

    async def connect_qpu(
        self,
        name: str,
        access_token: str,
        *,
        executor_type: str | None = None,
        device_config: Mapping[str, Any] | None = None,
    ) -> QPUConnection:
        """Connect a QPU driver with its access token (``POST /api/op/qpus/connect``)."""
        body: dict[str, Any] = {"name": _record_id(name, "name")}
        if not isinstance(access_token, str) or not access_token:
            raise InputError("access_token", "***", "must be a non-empty string")
        body["access_token"] = access_token
        if executor_type is not None:
            body["executor_type"] = executor_type
        if device_config is not None:
            if not isinstance(device_config, Mapping):
                raise InputError("device_config", device_config, "must be a mapping")
            body["device_config"] = dict(device_config)
        data = await self._json(
            "POST",
            "api/op/qpus/connect",
            json=body,
            route="POST /api/op/qpus/connect",
            kind=RequestKind.WRITE,
        )
        if not isinstance(data, Mapping):
            raise MalformedResponseError("connect answer is not an object", provider=PROVIDER)
        ports = {k: data.get(k) for k in ("nng_command_port", "nng_result_port")}
        return QPUConnection(
            status=None if data.get("status") is None else str(data["status"]),
            nng_host=None if data.get("nng_host") is None else str(data["nng_host"]),
            nng_command_port=ports["nng_command_port"]
            if isinstance(ports["nng_command_port"], int)
            else None,
            nng_result_port=ports["nng_result_port"]
            if isinstance(ports["nng_result_port"], int)
            else None,
            tls_hash=None if data.get("tls_hash") is None else str(data["tls_hash"]),
            auth_token=data.get("auth_token") if isinstance(data.get("auth_token"), str) else None,
            details={k: v for k, v in data.items() if k != "auth_token"},
        )

    async def set_qpu_enabled(self, qpu: str, enabled: bool) -> Backend:
        """Enable or disable a QPU (``POST /api/op/qpu/toggle``, superuser)."""
        qid = _record_id(qpu, "qpu")
        self._need_superuser("set_qpu_enabled()")
        if not isinstance(enabled, bool):
            raise InputError("enabled", enabled, "must be a bool")
        data = await self._json(
            "POST",
            "api/op/qpu/toggle",
            json={"id": qid, "enabled": enabled},
            route="POST /api/op/qpu/toggle",
            kind=RequestKind.READ,
        )
        self._catalogue = None
        return backend_from_wire(data)

    async def server_version(self) -> str:
        """The server's version (``GET /api/op/version``, superuser)."""
        self._need_superuser("server_version()")
        data = await self._json("GET", "api/op/version", route="GET /api/op/version")
        if not isinstance(data, Mapping) or not isinstance(data.get("version"), str):
            raise MalformedResponseError("version answer without a version", provider=PROVIDER)
        return str(data["version"])
