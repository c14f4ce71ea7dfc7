"""PocketBase collection routes of the QPI emulator, with QPI's access rules and hooks.

``/api/collections/{c}/records[/{id}]`` for ``users``, ``qpus``, ``quantum_jobs``,
``time_slots``, ``qpu_time_requests`` and ``notifications``, and
``/api/collections/{users,_superusers}/auth-with-password``. Only PocketBase JWTs authenticate
here (never ``X-API-Token``). Lists are pages ``{page, perPage, totalPages, totalItems, items}``
filtered by the collection's list rule; creates answer 200, deletes 204.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from qjobs._core.validation import is_number
from qjobs.emulators._common import json_response, read_json
from qjobs.emulators.qpi.app import Auth, parse_time, problem, query_int, sort_records
from qjobs.emulators.qpi.state import QPIState, UserRec, pb_time

__all__ = ["Collections"]

_PER_PAGE: Final = 30
_MAX_PER_PAGE: Final = 1000
_FILTER_TERM: Final = re.compile(r"^\s*(\w+)\s*(!?=)\s*(?:'([^']*)'|\"([^\"]*)\"|(\w+))\s*$")
_CREATE_FAILED: Final = "Failed to create record."
_NOT_FOUND: Final = "The requested resource wasn't found."
_SUPERUSERS_ONLY: Final = "Only superusers can perform this action."


def _collection_id(name: str) -> str:
    return f"pbc_{zlib.crc32(name.encode()):010d}"


def _record(collection: str, data: dict[str, Any]) -> dict[str, Any]:
    public = {k: v for k, v in data.items() if not k.startswith("_")}
    return {"collectionId": _collection_id(collection), "collectionName": collection, **public}


def _filter(items: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """A subset of PocketBase filters: ``a = 'x' && b != 'y'`` (strings, numbers, booleans)."""
    if not text.strip():
        return items
    for term in text.split("&&"):
        match = _FILTER_TERM.match(term)
        if match is None:
            raise problem(400, "Invalid filter parameters.")
        field, op, s1, s2, bare = match.groups()
        wanted = s1 if s1 is not None else s2 if s2 is not None else bare

        def same(r: dict[str, Any], f: str = field, w: str = wanted) -> bool:
            value = r.get(f)
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            return shown == w

        items = [r for r in items if same(r) == (op == "=")]
    return items


def _field_error(field: str, message: str, code: str = "validation_invalid_value") -> Any:
    return problem(400, _CREATE_FAILED, {field: {"code": code, "message": message}})


class Collections:
    """Handlers of the PocketBase collection routes."""

    def __init__(self, state: QPIState, auth: Auth) -> None:
        self.state = state
        self.auth = auth
        self._lists: dict[str, Callable[[UserRec | None], list[dict[str, Any]]]] = {
            "users": self._users,
            "qpus": lambda _u: [q.to_json() for q in self.state.qpus.values()],
            "quantum_jobs": self._jobs,
            "time_slots": self._slots,
            "qpu_time_requests": self._requests,
            "notifications": self._notifications,
        }

    # -- list rules ----------------------------------------------------------------------------
    def _users(self, user: UserRec | None) -> list[dict[str, Any]]:
        if user is None:
            return []
        pool = self.state.users.values()
        return [u.to_json() for u in pool if user.superuser or u.id == user.id]

    def _jobs(self, user: UserRec | None) -> list[dict[str, Any]]:
        if user is None:
            return []
        return [
            j.to_json() for j in self.state.jobs.values() if user.superuser or j.user_id == user.id
        ]

    def _slots(self, user: UserRec | None) -> list[dict[str, Any]]:
        return list(self.state.slots.values()) if user is not None else []

    def _requests(self, user: UserRec | None) -> list[dict[str, Any]]:
        if user is None:
            return []
        return [
            r for r in self.state.time_requests.values() if user.superuser or r["user"] == user.id
        ]

    def _notifications(self, user: UserRec | None) -> list[dict[str, Any]]:
        if user is None:
            return []
        return [
            n
            for n in self.state.notifications.values()
            if user.superuser
            or (
                (not n["target_users"] or user.id in n["target_users"])
                and user.id not in n["dismissed_by"]
            )
        ]

    def _visible(self, collection: str, user: UserRec | None) -> list[dict[str, Any]]:
        lister = self._lists.get(collection)
        if lister is None:
            raise problem(404, "Missing collection context.")
        if collection != "qpus":
            self.state.advance()
        return lister(user)

    # -- generic routes ------------------------------------------------------------------------
    async def list_records(self, request: web.Request) -> web.Response:
        """``GET /api/collections/{c}/records?page=&perPage=&sort=&filter=``."""
        collection = request.match_info["collection"]
        user = self.auth.jwt_user(request)
        items = _filter(self._visible(collection, user), request.query.get("filter", ""))
        items = sort_records(items, request.query.get("sort", ""), "created")
        page = query_int(request, "page", 1, 1, 10**9)
        per_page = query_int(request, "perPage", _PER_PAGE, 1, _MAX_PER_PAGE)
        total = len(items)
        chunk = items[(page - 1) * per_page : page * per_page]
        return json_response(
            {
                "page": page,
                "perPage": per_page,
                "totalPages": math.ceil(total / per_page),
                "totalItems": total,
                "items": [_record(collection, r) for r in chunk],
            }
        )

    def _find(self, collection: str, user: UserRec | None, record_id: str) -> dict[str, Any]:
        for rec in self._visible(collection, user):
            if rec["id"] == record_id:
                return rec
        raise problem(404, _NOT_FOUND)

    async def view_record(self, request: web.Request) -> web.Response:
        """``GET /api/collections/{c}/records/{id}``."""
        collection = request.match_info["collection"]
        user = self.auth.jwt_user(request)
        rec = self._find(collection, user, request.match_info["id"])
        return json_response(_record(collection, rec))

    async def create_record(self, request: web.Request) -> web.Response:
        """``POST /api/collections/{c}/records`` (200, as PocketBase answers creates)."""
        collection = request.match_info["collection"]
        user = self.auth.jwt_user(request)
        body = await read_json(request)
        if not isinstance(body, dict):
            raise problem(400, _CREATE_FAILED)
        if collection == "time_slots":
            rec = self._create_slot(user, body)
        elif collection == "qpu_time_requests":
            rec = self._create_request(user, body)
        elif collection == "notifications":
            rec = self._create_notification(user, body)
        elif collection in self._lists:
            raise problem(403, _SUPERUSERS_ONLY)
        else:
            raise problem(404, "Missing collection context.")
        return json_response(_record(collection, rec))

    async def update_record(self, request: web.Request) -> web.Response:
        """``PATCH /api/collections/{c}/records/{id}``."""
        collection = request.match_info["collection"]
        user = self.auth.jwt_user(request)
        body = await read_json(request)
        if not isinstance(body, dict):
            raise problem(400, "Failed to update record.")
        record_id = request.match_info["id"]
        if collection == "time_slots":
            rec = self._update_slot(user, record_id, body)
        elif collection == "qpu_time_requests":
            rec = self._review_request(user, record_id, body)
        elif collection == "users":
            rec = self._update_user(user, record_id, body)
        else:
            self._find(collection, user, record_id)
            raise problem(403, _SUPERUSERS_ONLY)
        return json_response(_record(collection, rec))

    async def delete_record(self, request: web.Request) -> web.Response:
        """``DELETE /api/collections/{c}/records/{id}`` (204)."""
        collection = request.match_info["collection"]
        user = self.auth.jwt_user(request)
        record_id = request.match_info["id"]
        if collection != "time_slots":
            self._find(collection, user, record_id)
            raise problem(403, _SUPERUSERS_ONLY)
        slot = self._own_slot(user, record_id)
        if slot["_start"] <= self.state.wall():
            raise problem(400, "Cannot delete a slot that has already started.")
        del self.state.slots[record_id]
        return web.Response(status=204)

    async def auth_with_password(self, request: web.Request) -> web.Response:
        """``POST /api/collections/{users,_superusers}/auth-with-password``."""
        collection = request.match_info["collection"]
        body = await read_json(request)
        pool = {"users": self.state.users, "_superusers": self.state.superusers}.get(collection)
        if pool is None:
            raise problem(404, "Missing collection context.")
        identity = body.get("identity") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(identity, str) or not isinstance(password, str):
            raise problem(400, "Failed to authenticate.")
        for user in pool.values():
            if identity in (user.email, user.id, user.name) and user.check(password):
                token = self.state.issue_jwt(collection, user)
                return json_response(
                    {"token": token, "record": _record(collection, user.to_json())}
                )
        raise problem(400, "Failed to authenticate.")

    # -- time slots ----------------------------------------------------------------------------
    def _times(self, body: dict[str, Any], old: dict[str, Any] | None) -> tuple[datetime, datetime]:
        out: list[datetime] = []
        for field in ("start_time", "end_time"):
            if field in body or old is None:
                value = parse_time(body.get(field))
                if value is None:
                    raise _field_error(
                        field, "Must be a valid datetime.", "validation_invalid_datetime"
                    )
                out.append(value)
            else:
                out.append(old["_start" if field == "start_time" else "_end"])
        return out[0], out[1]

    def _check_slot(self, start: datetime, end: datetime, skip: str | None) -> None:
        if start < self.state.wall():
            raise problem(400, "Cannot book a slot in the past.")
        if end <= start:
            raise problem(400, "End time must be after start time.")
        for other in self.state.slots.values():
            if other["id"] != skip and other["_start"] < end and start < other["_end"]:
                raise problem(400, "Time slot overlaps with an existing booking.")

    def _create_slot(self, user: UserRec | None, body: dict[str, Any]) -> dict[str, Any]:
        if user is None:
            raise problem(400, _CREATE_FAILED)
        booked_by = body.get("booked_by")
        if not user.superuser and booked_by != user.id:
            raise problem(400, _CREATE_FAILED)  # create rule: booked_by = @request.auth.id
        if booked_by is not None and booked_by not in self.state.users:
            raise _field_error(
                "booked_by", "Failed to find all relation records with the provided ids."
            )
        start, end = self._times(body, None)
        self._check_slot(start, end, None)
        now = pb_time(self.state.wall())
        rec: dict[str, Any] = {
            "id": self.state.new_id(),
            "start_time": pb_time(start),
            "end_time": pb_time(end),
            "booked_by": booked_by or "",
            "created": now,
            "updated": now,
            "_start": start,
            "_end": end,
        }
        self.state.slots[rec["id"]] = rec
        return rec

    def _own_slot(self, user: UserRec | None, record_id: str) -> dict[str, Any]:
        slot = self.state.slots.get(record_id)
        if slot is None or user is None or not (user.superuser or slot["booked_by"] == user.id):
            raise problem(404, _NOT_FOUND)
        return slot

    def _update_slot(
        self, user: UserRec | None, record_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        slot = self._own_slot(user, record_id)
        if slot["_start"] <= self.state.wall():
            raise problem(400, "Cannot modify a slot that has already started.")
        start, end = self._times(body, slot)
        self._check_slot(start, end, record_id)
        slot.update(
            start_time=pb_time(start),
            end_time=pb_time(end),
            _start=start,
            _end=end,
            updated=pb_time(self.state.wall()),
        )
        return slot

    # -- time requests, users, notifications ---------------------------------------------------
    def _create_request(self, user: UserRec | None, body: dict[str, Any]) -> dict[str, Any]:
        # The create rule (user = @request.auth.id && status = "pending") is evaluated on the
        # submitted body, so both fields must be sent; the hook then forces them anyway.
        if user is None or (
            not user.superuser and (body.get("user") != user.id or body.get("status") != "pending")
        ):
            raise problem(400, _CREATE_FAILED)
        seconds = body.get("seconds")
        if not is_number(seconds) or seconds <= 0:
            raise _field_error("seconds", "Must be a number greater than 0.")
        reason = body.get("requested_reason") or ""
        if not isinstance(reason, str):
            raise _field_error("requested_reason", "Must be a string.")
        owner = body.get("user") if user.superuser and body.get("user") else user.id
        now = pb_time(self.state.wall())
        rec: dict[str, Any] = {
            "id": self.state.new_id(),
            "user": owner,
            "seconds": seconds,
            "status": "pending",
            "requested_reason": reason,
            "rejection_reason": "",
            "created": now,
            "updated": now,
        }
        self.state.time_requests[rec["id"]] = rec
        return rec

    def _review_request(
        self, user: UserRec | None, record_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        rec = self.state.time_requests.get(record_id)
        if user is None or rec is None or not (user.superuser or rec["user"] == user.id):
            raise problem(404, _NOT_FOUND)
        if not user.superuser:
            raise problem(403, "Only administrators can update time requests.")
        status = body.get("status")
        if status not in ("approved", "rejected"):
            raise problem(
                400,
                "Failed to update record.",
                {"status": {"code": "validation_invalid_value", "message": "Invalid value."}},
            )
        if rec["status"] != "pending":
            raise problem(400, "Time request was already reviewed.")
        rec["status"] = status
        rec["rejection_reason"] = str(body.get("rejection_reason") or "")
        rec["updated"] = pb_time(self.state.wall())
        owner = self.state.users.get(rec["user"])
        if status == "approved" and owner is not None:
            owner.qpu_seconds = round(owner.qpu_seconds + float(rec["seconds"]), 6)
        text = f"Your request for {rec['seconds']} QPU seconds was {status}."
        if rec["rejection_reason"]:
            text += f" Reason: {rec['rejection_reason']}"
        self.state.add_notification(
            "QPU time request", text, target_users=[rec["user"]], type_="info"
        )
        return rec

    def _update_user(
        self, user: UserRec | None, record_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        target = self.state.users.get(record_id)
        if user is None or target is None or not (user.superuser or user.id == record_id):
            raise problem(404, _NOT_FOUND)
        if "qpu_seconds" in body:
            if not user.superuser:
                raise problem(403, "Only administrators can allocate QPU time.")
            seconds = body["qpu_seconds"]
            if not is_number(seconds) or seconds < 0:
                raise problem(
                    400,
                    "Failed to update record.",
                    {
                        "qpu_seconds": {
                            "code": "validation_min_number_constraint",
                            "message": "Must be larger than 0.",
                        }
                    },
                )
            target.qpu_seconds = float(seconds)
        if isinstance(body.get("name"), str):
            target.name = body["name"]
        return target.to_json()

    def _create_notification(self, user: UserRec | None, body: dict[str, Any]) -> dict[str, Any]:
        if user is None or not user.superuser:
            raise problem(403, _SUPERUSERS_ONLY)
        title, message = body.get("title"), body.get("message")
        targets = body.get("target_users") or []
        if (
            not isinstance(title, str)
            or not isinstance(message, str)
            or not isinstance(targets, list)
        ):
            raise problem(400, _CREATE_FAILED)
        return self.state.add_notification(
            title,
            message,
            target_users=[str(t) for t in targets],
            type_=str(body.get("type") or "info"),
        )

    def routes(self) -> list[web.RouteDef]:
        """Every collection route."""
        base = "/api/collections/{collection}"
        return [
            web.post(f"{base}/auth-with-password", self.auth_with_password),
            web.get(f"{base}/records", self.list_records, allow_head=False),
            web.post(f"{base}/records", self.create_record),
            web.get(f"{base}/records/{{id}}", self.view_record, allow_head=False),
            web.patch(f"{base}/records/{{id}}", self.update_record),
            web.delete(f"{base}/records/{{id}}", self.delete_record),
        ]
