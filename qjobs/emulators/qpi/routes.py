"""The QPI emulator: qpi-ui's custom REST routes and PocketBase's collection routes.

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
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import orjson
from aiohttp import web

from qjobs._core.validation import is_int
from qjobs.emulators._common import (
    AuthScheme,
    EmulatorContext,
    json_response,
    make_app,
    read_json,
)
from qjobs.emulators.qpi._collections import Collections
from qjobs.emulators.qpi.app import Auth, parse_time, problem, query_int, sort_records
from qjobs.emulators.qpi.state import JobRec, QPIState, UserRec, hash_secret

__all__ = ["STATE_KEY", "create_app"]

#: Where the app keeps its :class:`QPIState` (tests reach users, balances and QPUs through it).
STATE_KEY: Final = web.AppKey("qjobs_qpi_state", QPIState)

_DEFAULT_LIMIT: Final = 100
_MAX_LIMIT: Final = 1000
_VERSION: Final = "0.1.2"


def _error(status: int, message: str, error_type: str | None = None) -> web.Response:
    """PocketBase's error shape; ``error_type`` may carry the JSON of ``data`` field errors."""
    if status == 404 and message in ("Not Found", ""):
        message = "The requested resource wasn't found."
    elif status == 405:
        message = "Method not allowed."
    data: Any = {}
    if error_type and error_type.startswith("{"):
        data = orjson.loads(error_type)
    return json_response({"data": data, "message": message, "status": status}, status=status)


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

    def routes(self) -> list[web.RouteDef]:
        """Every custom route."""
        return [
            web.post("/api/jobs", self.create_job),
            web.get("/api/jobs", self.list_jobs, allow_head=False),
            web.get("/api/jobs/{id}", self.get_job, allow_head=False),
            web.post("/api/jobs/{id}/cancel", self.cancel_job),
            web.get("/api/qpus", self.list_qpus, allow_head=False),
            web.get("/api/qpus/{name}", self.get_qpu, allow_head=False),
            web.post("/api/op/qpus/create", self.create_qpu),
            web.post("/api/op/qpus/connect", self.connect_qpu),
            web.post("/api/op/qpu/toggle", self.toggle_qpu),
            web.get("/api/op/version", self.version, allow_head=False),
            web.post("/api/notifications/{id}/dismiss", self.dismiss),
            web.post("/api/tokens", self.create_token),
            web.get("/api/tokens", self.list_tokens, allow_head=False),
            web.delete("/api/tokens/{id}", self.delete_token),
        ]


def _is_count(value: Any) -> bool:
    return is_int(value, low=0)


def _public(_method: str, _template: str) -> bool:
    # Authentication differs per route family (API tokens vs PocketBase JWTs): the handlers
    # resolve the caller themselves, so the shared middleware lets every request through.
    return True


def create_app(ctx: EmulatorContext) -> web.Application:
    """The QPI emulator app for :func:`qjobs.emulators.serve` (routes at the server root)."""
    app = make_app(ctx, prefix="", auth=AuthScheme(lambda _r: None, _public), errors=_error)
    state = QPIState(ctx)
    app[STATE_KEY] = state
    custom = QPIEmulator(state)
    collections = Collections(state, custom.auth)
    app.router.add_routes(custom.routes())
    app.router.add_routes(collections.routes())
    return app
