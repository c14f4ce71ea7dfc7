"""QPI time slots (bookings) and QPU time requests.

:class:`QPITime` is a part of :class:`~qjobs.providers.qpi.QPIClient`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qjobs._core.errors import InputError
from qjobs.providers._base import segment
from qjobs.providers.qpi._requests import QPIRequests
from qjobs.providers.qpi._requests import record_id as _record_id
from qjobs.providers.qpi._requests import seconds as _seconds
from qjobs.providers.qpi.models import (
    TimeRequest,
    TimeSlot,
    format_time,
    rfc3339,
    structure_record,
)
from qjobs.transport import RequestKind

__all__ = ["QPITime"]


class QPITime(QPIRequests):
    """Time slots and QPU time requests of :class:`~qjobs.providers.qpi.QPIClient`."""

    # ------------------------------------------------------------------------- time slots
    async def time_slots(self) -> list[TimeSlot]:
        """Every booked time slot, every page (needs :meth:`login`)."""
        self._need_login("time_slots()")
        return [
            structure_record(item, TimeSlot, "time slot")
            async for item in self._collection("time_slots", sort="start_time")
        ]

    async def create_time_slot(
        self, start: datetime | str, end: datetime | str, *, booked_by: str | None = None
    ) -> TimeSlot:
        """Book ``[start, end)`` (RFC 3339 with a zone, checked before sending).

        ``booked_by`` defaults to the logged-in user. The server refuses slots in the past,
        overlapping another booking, or ending before they start.
        """
        self._need_login("create_time_slot()")
        begin, finish = rfc3339(start, "start"), rfc3339(end, "end")
        if finish <= begin:
            raise InputError("end", end, "must be after start")
        owner = booked_by
        if owner is None and self.user is not None and not self._superuser:
            owner = self.user.id
        body: dict[str, Any] = {"start_time": format_time(begin), "end_time": format_time(finish)}
        if owner is not None:
            body["booked_by"] = _record_id(owner, "booked_by")
        data = await self._json(
            "POST",
            "api/collections/time_slots/records",
            json=body,
            route="POST /api/collections/time_slots/records",
            kind=RequestKind.WRITE,
        )
        return structure_record(data, TimeSlot, "time slot")

    async def update_time_slot(
        self,
        slot: TimeSlot | str,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> TimeSlot:
        """Move a slot that has not started (``PATCH``); give ``start``, ``end`` or both."""
        sid = _record_id(slot.id if isinstance(slot, TimeSlot) else slot, "slot")
        self._need_login("update_time_slot()")
        body: dict[str, Any] = {}
        if start is not None:
            body["start_time"] = format_time(rfc3339(start, "start"))
        if end is not None:
            body["end_time"] = format_time(rfc3339(end, "end"))
        if not body:
            raise InputError("start", None, "give start, end or both")
        if start is not None and end is not None and rfc3339(end, "end") <= rfc3339(start, "start"):
            raise InputError("end", end, "must be after start")
        data = await self._json(
            "PATCH",
            f"api/collections/time_slots/records/{segment(sid)}",
            json=body,
            route="PATCH /api/collections/time_slots/records/{id}",
            kind=RequestKind.READ,
        )
        return structure_record(data, TimeSlot, "time slot")

    async def delete_time_slot(self, slot: TimeSlot | str) -> None:
        """Delete a slot that has not started (``DELETE``, 204)."""
        sid = _record_id(slot.id if isinstance(slot, TimeSlot) else slot, "slot")
        self._need_login("delete_time_slot()")
        await self._transport.request(
            "DELETE",
            f"api/collections/time_slots/records/{segment(sid)}",
            kind=RequestKind.READ,
            route="DELETE /api/collections/time_slots/records/{id}",
        )

    # ---------------------------------------------------------------------- time requests
    async def time_requests(self, *, status: str | None = None) -> list[TimeRequest]:
        """QPU time requests (one's own; a superuser sees all), every page."""
        self._need_login("time_requests()")
        if status is not None and status not in ("pending", "approved", "rejected"):
            raise InputError("status", status, "must be pending, approved or rejected")
        return [
            structure_record(item, TimeRequest, "time request")
            async for item in self._collection(
                "qpu_time_requests",
                filter=f"status = '{status}'" if status else None,
                sort="-created",
            )
        ]

    async def request_qpu_time(self, seconds: float, reason: str | None = None) -> TimeRequest:
        """Ask for more QPU seconds; an administrator approves or rejects the request."""
        self._need_login("request_qpu_time()")
        amount = _seconds(seconds, "seconds", allow_zero=False)
        if reason is not None and not isinstance(reason, str):
            raise InputError("reason", reason, "must be a string")
        assert self.user is not None
        body: dict[str, Any] = {"user": self.user.id, "status": "pending", "seconds": amount}
        if reason:
            body["requested_reason"] = reason
        data = await self._json(
            "POST",
            "api/collections/qpu_time_requests/records",
            json=body,
            route="POST /api/collections/qpu_time_requests/records",
            kind=RequestKind.WRITE,
        )
        return structure_record(data, TimeRequest, "time request")

    async def _review(self, request: TimeRequest | str, body: dict[str, Any]) -> TimeRequest:
        rid = _record_id(request.id if isinstance(request, TimeRequest) else request, "request")
        self._need_superuser("reviewing time requests")
        data = await self._json(
            "PATCH",
            f"api/collections/qpu_time_requests/records/{segment(rid)}",
            json=body,
            route="PATCH /api/collections/qpu_time_requests/records/{id}",
            kind=RequestKind.WRITE,
        )
        return structure_record(data, TimeRequest, "time request")

    async def approve_time_request(self, request: TimeRequest | str) -> TimeRequest:
        """Approve a request (superuser): its seconds are added to the user's balance."""
        return await self._review(request, {"status": "approved"})

    async def reject_time_request(
        self, request: TimeRequest | str, reason: str | None = None
    ) -> TimeRequest:
        """Reject a request (superuser), optionally saying why."""
        body: dict[str, Any] = {"status": "rejected"}
        if reason is not None:
            if not isinstance(reason, str):
                raise InputError("reason", reason, "must be a string")
            body["rejection_reason"] = reason
        return await self._review(request, body)
