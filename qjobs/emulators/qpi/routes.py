"""The handlers of the QPI emulator: qpi-ui's custom REST routes and PocketBase's collection routes.

Routes live at the server root (no prefix), as ``shared/specs/qpi.md`` describes: ``/api/jobs*``
and ``/api/qpus*`` (``X-API-Token``, or a PocketBase JWT in ``Authorization``),
``/api/notifications/{id}/dismiss``, ``/api/tokens*``, ``/api/op/*`` (superuser JWT), and
``/api/collections/{c}/records[/{id}]`` plus ``auth-with-password`` (PocketBase JWTs only).
Errors are PocketBase's ``{"data": {}, "message": "...", "status": n}``.

Accounts: a user ``user@qpi.local`` / ``qpi-user-password`` (3600 QPU seconds) and a superuser
``admin@qpi.local`` / ``qpi-admin-password``. Tokens given to :func:`qjobs.emulators.serve`
become API tokens (stored as sha256 hashes): the first in sorted order of that user, each other
one of a user of its own (``user2@qpi.local``, ... with the same password and balance), so one
token's jobs are 404 to another. With none given, any non-empty ``X-API-Token`` acts as that
user. QPUs ``qiskit_aer`` (20 qubits) and ``qpi`` (5 qubits) are
online. A job with an empty ``qpu_target`` goes to the first online QPU, as pre-0.1 servers did,
so the official client's jobs run.

Collection routes: PocketBase's, with QPI's access rules and hooks:
``/api/collections/{c}/records[/{id}]`` for ``users``, ``qpus``, ``quantum_jobs``,
``time_slots``, ``qpu_time_requests`` and ``notifications``, and
``/api/collections/{users,_superusers}/auth-with-password``. Only PocketBase JWTs authenticate
here (never ``X-API-Token``). Lists are pages ``{page, perPage, totalPages, totalItems, items}``
filtered by the collection's list rule; creates answer 200, deletes 204.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from qjobs._core.validation import is_int, is_number
from qjobs.emulators._common import HTTPProblem, json_response, read_json
from qjobs.emulators.qpi.state import JobRec, QPIState, UserRec, hash_secret, pb_time
from qjobs.emulators.qpi.wire import (
    filter_records,
    jwt_of,
    parse_time,
    problem,
    query_int,
    record_json,
    sort_records,
    token_of,
)

__all__ = ["Auth", "Collections", "QPIEmulator"]

_DEFAULT_LIMIT: Final = 100
_MAX_LIMIT: Final = 1000
_VERSION: Final = "0.1.2"
_PER_PAGE: Final = 30
_MAX_PER_PAGE: Final = 1000
_CREATE_FAILED: Final = "Failed to create record."
_NOT_FOUND: Final = "The requested resource wasn't found."
_SUPERUSERS_ONLY: Final = "Only superusers can perform this action."


class Auth:
    """Resolves the caller the way qpi-ui does."""

    def __init__(self, state: QPIState) -> None:
        self.state = state

    def jwt_user(self, request: web.Request) -> UserRec | None:
        """The user or superuser of a PocketBase JWT in ``Authorization`` (Bearer optional)."""
        token = jwt_of(request)
        found = self.state.jwts.get(token) if token else None
        if found is None:
            return None
        collection, user_id = found
        pool = self.state.superusers if collection == "_superusers" else self.state.users
        return pool.get(user_id)

    def api_user(self, request: web.Request) -> UserRec:
        """The caller of a custom route: JWT, then ``X-API-Token``, then Bearer API token."""
        user = self.jwt_user(request)
        if user is not None:
            return user
        state = self.state
        presented = token_of(request)
        if presented:
            found = state.token_user(presented)
            if found is not None:
                return found
            if state.ctx.options.tokens is None and not presented.startswith("eyJ"):
                return state.default_user  # open mode: any non-empty token
        raise problem(401, "Authentication required.")

    def superuser(self, request: web.Request) -> UserRec:
        """The caller, who must hold a superuser JWT."""
        user = self.jwt_user(request)
        if user is None:
            try:
                self.api_user(request)
            except HTTPProblem:
                raise problem(401, "Authentication required.") from None
        if user is None or not user.superuser:
            raise problem(403, "Admin access required.")
        return user


class QPIEmulator:
    """The custom (non-collection) routes."""

    def __init__(self, state: QPIState) -> None:
        self.state = state
        self.auth = Auth(state)

    def _advance(self) -> None:
        self.state.advance()

    # -- jobs ----------------------------------------------------------------------------------
    async def create_job(self, request: web.Request) -> web.Response:
        """``POST /api/jobs``: 201 with the new job record."""
        user = self.auth.api_user(request)
        body = await read_json(request)
        self._advance()
        circuits = body.get("circuits") if isinstance(body, dict) else None
        if (
            not isinstance(circuits, list)
            or not circuits
            or not all(
                isinstance(c, dict) and isinstance(c.get("circuit"), str) and c["circuit"]
                for c in circuits
            )
        ):
            raise problem(400, "Invalid request body.")
        assert isinstance(body, dict)
        shots = body.get("shots") or 0
        level = body.get("meas_level", 2)
        meas_return = body.get("meas_return") or "single"
        target = body.get("qpu_target") or ""
        bad_item = any(
            (c.get("shots") is not None and not _is_count(c["shots"]))
            or not isinstance(c.get("parameter_values") or [], list)
            for c in circuits
        )
        if not _is_count(shots) or bad_item or not isinstance(target, str):
            raise problem(400, "Invalid request body.")
        if user.qpu_seconds <= 0:
            raise problem(403, "Insufficient QPU seconds balance.")
        if not target:
            qpu = self.state.first_online_qpu()
            if qpu is None:
                raise problem(503, "No online QPU available.")
            target = qpu.name
        payload: dict[str, Any] = {
            "circuits": [
                {k: c[k] for k in ("circuit", "parameter_values", "shots") if c.get(k) is not None}
                for c in circuits
            ],
            "shots": shots or 1024,
            "meas_level": level,
            "meas_return": meas_return,
        }
        if body.get("qpu_target"):
            payload["qpu_target"] = target
        job = self.state.add_job(user, target, payload)
        self._advance()
        return json_response(self._job_json(job), status=201)

    def _job_json(self, job: JobRec) -> dict[str, Any]:
        return job.to_json(payload_as_results=self.state.payload_in_results)

    def _own_job(self, request: web.Request, user: UserRec) -> Any:
        job = self.state.jobs.get(request.match_info["id"])
        if job is None or (job.user_id != user.id and not user.superuser):
            raise problem(404, "Job not found.")
        return job

    async def get_job(self, request: web.Request) -> web.Response:
        """``GET /api/jobs/{id}`` (other users' jobs are 404)."""
        user = self.auth.api_user(request)
        self._advance()
        return json_response(self._job_json(self._own_job(request, user)))

    async def list_jobs(self, request: web.Request) -> web.Response:
        """``GET /api/jobs?sort=&skip=&limit=``: a bare array of the caller's jobs."""
        user = self.auth.api_user(request)
        self._advance()
        skip = query_int(request, "skip", 0, 0, 10**9)
        limit = query_int(request, "limit", _DEFAULT_LIMIT, 1, _MAX_LIMIT)
        mine = [j for j in self.state.jobs.values() if j.user_id == user.id or user.superuser]
        # ``created`` has millisecond resolution: the sequence number breaks ties.
        sort = request.query.get("sort") or "-created"
        desc = sort.startswith("-")
        field = sort.lstrip("+-")
        if field not in ("created", "updated", "status", "id", "qpu_target"):
            raise problem(400, "Invalid sort parameter.")

        def key(j: Any) -> tuple[str, int]:
            return (str(j.to_json()[field]), j.seq)

        mine.sort(key=key, reverse=desc)
        return json_response([self._job_json(j) for j in mine[skip : skip + limit]])

    async def cancel_job(self, request: web.Request) -> web.Response:
        """``POST /api/jobs/{id}/cancel``: only pending or running jobs."""
        user = self.auth.api_user(request)
        self._advance()
        job = self.state.jobs.get(request.match_info["id"])
        if job is None or job.user_id != user.id or not self.state.cancel(job):
            raise problem(404, "Job not found, maybe it was already completed or cancelled?")
        return json_response({"status": "cancelled"})

    # -- qpus ----------------------------------------------------------------------------------
    async def list_qpus(self, request: web.Request) -> web.Response:
        """``GET /api/qpus``: public bare array of online QPUs."""
        self._advance()
        skip = query_int(request, "skip", 0, 0, 10**9)
        limit = query_int(request, "limit", _DEFAULT_LIMIT, 1, _MAX_LIMIT)
        online = [q.to_json() for q in self.state.qpus.values() if q.status == "online"]
        ordered = sort_records(online, request.query.get("sort", ""), "+created")
        return json_response(ordered[skip : skip + limit])

    async def get_qpu(self, request: web.Request) -> web.Response:
        """``GET /api/qpus/{name}``."""
        qpu = self.state.qpus.get(request.match_info["name"])
        if qpu is None:
            raise problem(404, "QPU not found.")
        return json_response(qpu.to_json())

    async def create_qpu(self, request: web.Request) -> web.Response:
        """``POST /api/op/qpus/create`` (superuser): the access token is returned once."""
        self.auth.superuser(request)
        body = await read_json(request)
        name = body.get("name") if isinstance(body, dict) else None
        assert isinstance(body, dict) or name is None
        if not isinstance(name, str) or not name or "/" in name:
            raise problem(400, "Invalid request body.")
        qubits = body.get("num_qubits", 5)
        enabled = body.get("enabled", True)
        executor = body.get("executor_type") or "qiskit_aer"
        if not _is_count(qubits) or qubits < 1 or not isinstance(enabled, bool):
            raise problem(400, "Invalid request body.")
        if name in self.state.qpus:
            raise problem(400, "QPU already exists.")
        token = self.state.new_secret("qpu_")
        qpu = self.state.add_qpu(name, qubits, str(executor), enabled=enabled, access_token=token)
        out = {k: qpu.to_json()[k] for k in ("id", "name", "status", "enabled", "executor_type")}
        return json_response({**out, "access_token": token}, status=201)

    async def connect_qpu(self, request: web.Request) -> web.Response:
        """``POST /api/op/qpus/connect``: a driver presents the QPU's access token."""
        body = await read_json(request)
        if not isinstance(body, dict):
            raise problem(400, "Invalid request body.")
        qpu = self.state.qpus.get(str(body.get("name")))
        if qpu is None:
            raise problem(404, "QPU not found.")
        token = body.get("access_token")
        if (
            not isinstance(token, str)
            or qpu.access_hash is None
            or hash_secret(token) != qpu.access_hash
        ):
            raise problem(401, "Invalid access token.")
        self._advance()
        if isinstance(body.get("executor_type"), str) and body["executor_type"]:
            qpu.executor_type = body["executor_type"]
        if qpu.status != "online":
            qpu.status = "online"
            qpu.free_at = self.state.ctx.clock.now()
        digest = hash_secret(token + qpu.name)
        return json_response(
            {
                "status": "success",
                "nng_host": "127.0.0.1",
                "nng_command_port": 6000 + 2 * (len(self.state.qpus) % 500),
                "nng_result_port": 6001 + 2 * (len(self.state.qpus) % 500),
                "tls_hash": digest,
                "auth_token": self.state.new_secret("drv_"),
            }
        )

    async def toggle_qpu(self, request: web.Request) -> web.Response:
        """``POST /api/op/qpu/toggle`` (superuser) ``{"id", "enabled"}``."""
        self.auth.superuser(request)
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
            raise problem(400, "Invalid request body.")
        self._advance()
        qpu = self.state.qpus.get(str(body.get("id")))
        if qpu is None:
            raise problem(404, "QPU not found.")
        if body["enabled"] and not qpu.enabled:
            qpu.free_at = max(qpu.free_at, self.state.ctx.clock.now())
        qpu.enabled = body["enabled"]
        return json_response(
            {"id": qpu.name, "name": qpu.name, "enabled": qpu.enabled, "status": qpu.status}
        )

    async def version(self, request: web.Request) -> web.Response:
        """``GET /api/op/version`` (superuser)."""
        self.auth.superuser(request)
        return json_response({"version": _VERSION})

    # -- notifications and tokens ---------------------------------------------------------------
    async def dismiss(self, request: web.Request) -> web.Response:
        """``POST /api/notifications/{id}/dismiss``."""
        user = self.auth.api_user(request)
        rec = self.state.notifications.get(request.match_info["id"])
        if rec is None:
            raise problem(404, "Notification not found.")
        if rec["target_users"] and user.id not in rec["target_users"]:
            raise problem(403, "Access denied.")
        if user.id not in rec["dismissed_by"]:
            rec["dismissed_by"].append(user.id)
        return json_response({"status": "dismissed"})

    async def create_token(self, request: web.Request) -> web.Response:
        """``POST /api/tokens`` ``{name?, expires_at?}``: the token is shown once."""
        user = self.auth.api_user(request)
        body = await read_json(request) if request.can_read_body else {}
        if not isinstance(body, dict):
            raise problem(400, "Invalid request body.")
        name = body.get("name") or ""
        expires: datetime | None = None
        if body.get("expires_at"):
            expires = parse_time(body["expires_at"])
            if expires is None:
                raise problem(400, "Invalid expires_at.")
        if not isinstance(name, str):
            raise problem(400, "Invalid request body.")
        token = self.state.new_secret("qpi_")
        rec = self.state.add_token(user.id, token, name=name, expires_at=expires)
        return json_response({**rec.to_json(), "token": token}, status=201)

    async def list_tokens(self, request: web.Request) -> web.Response:
        """``GET /api/tokens``: the caller's tokens (never the token values)."""
        user = self.auth.api_user(request)
        mine = [t.to_json() for t in self.state.tokens.values() if t.user_id == user.id]
        return json_response(sort_records(mine, "-created"))

    async def delete_token(self, request: web.Request) -> web.Response:
        """``DELETE /api/tokens/{id}``."""
        user = self.auth.api_user(request)
        rec = self.state.tokens.get(request.match_info["id"])
        if rec is None or rec.user_id != user.id:
            raise problem(404, "Token not found.")
        del self.state.tokens[rec.id]
        return web.Response(status=204)


def _is_count(value: Any) -> bool:
    return is_int(value, low=0)


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
        items = filter_records(self._visible(collection, user), request.query.get("filter", ""))
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
                "items": [record_json(collection, r) for r in chunk],
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
        return json_response(record_json(collection, rec))

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
        return json_response(record_json(collection, rec))

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
        return json_response(record_json(collection, rec))

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
                    {"token": token, "record": record_json(collection, user.to_json())}
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
