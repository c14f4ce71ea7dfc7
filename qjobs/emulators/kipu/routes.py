"""The handlers of the Kipu Quantum Hub emulator: backends, jobs, sessions, workloads, minutes.

Every route lives under ``/quantum`` and speaks the wire protocol of ``shared/specs/kipu.md``:
``X-Auth-Token`` (``GET /backends`` is public), snake_case bodies, camelCase query keys, pages
``{content, page, size, total_elements, total_pages}`` (zero-based), problem-JSON errors
``{"type", "title", "status", "detail"}``, 204 for empty optional answers, and the
``service-executions/{se}/`` twins.

Scoping: an ``X-OrganizationId`` header puts a request in that organization's context (without
it, the user's own); a job or session of another context answers 403. A token of the form
``se.<service-execution-id>.<anything>`` is a service-execution token: what it creates belongs to
that service execution (workload origin ``SERVICE_EXECUTION``) and is reachable through the twins.
Jobs and sessions belong to the token that created them: another token gets 404 for them and
does not see them in searches, workloads or runtime minutes.

On request: a job tagged ``qjobs:fail`` (or named ``...qjobs_fail...``) ends FAILED, tagged
``qjobs:abort`` ABORTED, ``qjobs:detach`` DETACHED; a session created with metadata
``{"qjobs_end": "ABORTED"|"DETACHED"}`` reads that status. ``fail_rate`` fails a share of jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from aiohttp import web

from qjobs._core.validation import is_int
from qjobs.emulators._common import (
    EmulatorContext,
    HTTPProblem,
    json_response,
    owner_key,
    query_int,
    read_json,
)
from qjobs.emulators.kipu.state import KipuJob, KipuSession
from qjobs.emulators.kipu.wire import (
    BACKENDS,
    BackendSpec,
    backend_json,
    calibration_json,
    calibration_times,
    decode_programs,
    token_of,
)

__all__ = ["KipuEmulator"]

_DEFAULT_SIZE: Final = 20
_MAX_SIZE: Final = 1000
_STREAM_PIECE: Final = 16 * 1024
_SDK_PROVIDERS: Final = frozenset({"QISKIT", "BRAKET", "PERCEVAL", "CLIENT"})
_JOB_SORT: Final = frozenset(
    {"created_at", "name", "status", "backend_id", "shots", "started_at", "ended_at", "id"}
)
_WORKLOAD_SORT: Final = _JOB_SORT | {"type", "provider"}
_ALLOWANCE_SECONDS: Final = 3600
_Owned = TypeVar("_Owned", KipuJob, KipuSession)


def _bad(detail: str) -> HTTPProblem:
    return HTTPProblem(400, detail)


def _query_int(request: web.Request, name: str, default: int, low: int) -> int:
    value = query_int(request, name, default, _bad)
    if value < low:
        raise _bad(f"{name}: must be >= {low}, got {value}")
    return value


def _query_time(request: web.Request, name: str, required: bool = False) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        if required:
            raise _bad(f"{name}: required")
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{name}: not an ISO-8601 date-time: {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _sort_key(raw: list[str], allowed: frozenset[str]) -> list[tuple[str, bool]]:
    out = []
    for item in raw:
        prop, _, direction = item.partition(",")
        prop = prop.strip()
        direction = direction.strip().lower() or "asc"
        if prop not in allowed or direction not in ("asc", "desc"):
            raise _bad(
                f"sort: unknown property or direction {item!r}; properties: {sorted(allowed)}"
            )
        out.append((prop, direction == "desc"))
    return out or [("created_at", True)]


def _sorted(items: list[dict[str, Any]], order: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    # Stable sorts from the last key to the first; seq keeps creation order among equals.
    out = sorted(items, key=lambda d: d["_seq"], reverse=True)
    for prop, desc in reversed(order):
        if prop == "created_at":
            out.sort(key=lambda d: d["_seq"], reverse=desc)
        else:
            out.sort(key=lambda d: (d.get(prop) is None, str(d.get(prop) or "")), reverse=desc)
    return out


def _page(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    page = _query_int(request, "page", 0, 0)
    size = min(_query_int(request, "size", _DEFAULT_SIZE, 1), _MAX_SIZE)
    total = len(items)
    chunk = items[page * size : (page + 1) * size]
    content = [{k: v for k, v in d.items() if k != "_seq"} for d in chunk]
    return json_response(
        {
            "content": content,
            "page": page,
            "size": size,
            "total_elements": total,
            "total_pages": -(-total // size),
        }
    )


class KipuEmulator:
    """The state and handlers of one Hub emulator app."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.jobs: dict[str, KipuJob] = {}
        self.sessions: dict[str, KipuSession] = {}
        self._seq = 0
        self._today = datetime.now(UTC)

    # -- request context ---------------------------------------------------------------
    @staticmethod
    def _context(request: web.Request) -> str:
        org = request.headers.get("X-OrganizationId", "").strip()
        return f"org:{org}" if org else "user"

    @staticmethod
    def _service_execution(request: web.Request) -> str | None:
        token = token_of(request) or ""
        if token.startswith("se."):
            parts = token.split(".", 2)
            if len(parts) == 3 and parts[1]:
                return parts[1]
        return None

    @staticmethod
    def _owner(request: web.Request) -> str:
        """The owner key of the request's token: what a token creates is reachable by it only."""
        return owner_key(token_of(request))

    def _mine(self, request: web.Request, record: KipuJob | KipuSession) -> bool:
        """Whether ``record`` is the caller's and in the request's context or service execution."""
        if record.owner != self._owner(request):
            return False
        se = self._scope(request)
        if se is not None:
            return record.service_execution_id == se
        return record.context == self._context(request)

    def _scope(self, request: web.Request) -> str | None:
        """The service execution of a twin route (``service-executions/{se}/...``)."""
        return request.match_info.get("se")

    def _now(self) -> float:
        return self.ctx.clock.now()

    def _owned(self, request: web.Request, table: Mapping[str, _Owned], kind: str) -> _Owned:
        """The ``{id}`` record of ``table``, if the request's context or service execution
        reaches it (404 when unknown, another token's or in another service execution, 403 in
        another context of the same token)."""
        rid = request.match_info["id"]
        record = table.get(rid)
        if record is None or record.owner != self._owner(request):
            raise HTTPProblem(404, f"{kind} {rid} not found")
        se = self._scope(request)
        if se is not None:
            if record.service_execution_id != se:
                raise HTTPProblem(404, f"{kind} {rid} not found in service execution {se}")
        elif record.context != self._context(request):
            raise HTTPProblem(403, f"{kind} {rid} belongs to another context")
        return record

    def _job(self, request: web.Request) -> KipuJob:
        return self._owned(request, self.jobs, "Job")

    def _session(self, request: web.Request) -> KipuSession:
        return self._owned(request, self.sessions, "Session")

    def _spec(self, request: web.Request) -> BackendSpec:
        bid = request.match_info["id"]
        spec = BACKENDS.get(bid)
        if spec is None:
            raise HTTPProblem(404, f"Backend {bid} not found")
        return spec

    def _queue(self, spec: BackendSpec) -> int:
        now = self._now()
        return sum(1 for j in self.jobs.values() if j.spec is spec and not j.is_final(now))

    # -- backends -------------------------------------------------------------------------
    async def list_backends(self, request: web.Request) -> web.Response:
        """``GET backends`` (public): ``provider`` filter, ``onlyPlanqkSdk``."""
        provider = request.query.get("provider")
        anonymous = token_of(request) is None
        now_iso = self.ctx.clock.iso(self._now())
        out = [
            backend_json(s, queue_size=None if anonymous else self._queue(s), now_iso=now_iso)
            for s in BACKENDS.values()
            if provider is None or s.provider.upper() == provider.upper()
        ]
        return json_response(out)

    async def get_backend(self, request: web.Request) -> web.Response:
        """``GET backends/{id}``."""
        spec = self._spec(request)
        now_iso = self.ctx.clock.iso(self._now())
        return json_response(backend_json(spec, queue_size=self._queue(spec), now_iso=now_iso))

    async def backend_status(self, request: web.Request) -> web.Response:
        """``GET backends/{id}/status``."""
        spec = self._spec(request)
        queue = self._queue(spec)
        wait = self.ctx.options.queue_time + self.ctx.options.exec_time
        # qhub-api types queue_avg_time as an int (seconds).
        return json_response(
            {"status": "ONLINE", "queue_avg_time": round(wait * queue), "queue_size": queue}
        )

    async def backend_config(self, request: web.Request) -> web.Response:
        """``GET backends/{id}/config``: the configuration object."""
        spec = self._spec(request)
        body = backend_json(spec, queue_size=0, now_iso="")
        return json_response({"backend_id": spec.id, **body["configuration"]})

    def _calibrations(self, spec: BackendSpec) -> list[dict[str, Any]]:
        if spec.calibration is None:
            return []
        times = calibration_times(self._today)
        return [calibration_json(spec, t, age) for age, t in enumerate(times)]

    def _calibration_at(self, spec: BackendSpec, when: datetime | None) -> dict[str, Any] | None:
        for cal in self._calibrations(spec):  # newest first
            at = datetime.fromisoformat(cal["calibrated_at"].replace("Z", "+00:00"))
            if when is None or at <= when:
                return cal
        return None

    async def backend_calibration(self, request: web.Request) -> web.StreamResponse:
        """``GET backends/{id}/calibration?effectiveAt=``; 204 when there is none."""
        spec = self._spec(request)
        cal = self._calibration_at(spec, _query_time(request, "effectiveAt"))
        return web.Response(status=204) if cal is None else json_response(cal)

    async def calibration_history(self, request: web.Request) -> web.Response:
        """``GET backends/{id}/calibration-history?from=&to=`` (both required), newest first."""
        spec = self._spec(request)
        start = _query_time(request, "from", required=True)
        end = _query_time(request, "to", required=True)
        assert start is not None
        assert end is not None
        if end < start:
            raise _bad("to: must not be before from")
        items = []
        for i, cal in enumerate(self._calibrations(spec)):
            at = datetime.fromisoformat(cal["calibrated_at"].replace("Z", "+00:00"))
            if start <= at <= end:
                items.append({**cal, "_seq": -i})
        order = _sort_key(
            request.query.getall("sort", []), frozenset({"calibrated_at"}) | {"created_at"}
        )
        if order[0][0] == "calibrated_at" and not order[0][1]:
            items.reverse()
        return _page(request, items)

    async def least_busy(self, request: web.Request) -> web.Response:
        """``GET backends/least-busy?provider=IBM&minQubits=``; other providers 400."""
        provider = request.query.get("provider")
        if not provider:
            raise _bad("provider: required")
        if provider.upper() != "IBM":
            raise _bad(
                f"provider: least-busy selection is supported for IBM only, got {provider!r}"
            )
        min_qubits = _query_int(request, "minQubits", 1, 1)
        candidates = [
            s for s in BACKENDS.values() if s.provider == "IBM" and s.qubits >= min_qubits
        ]
        if not candidates:
            raise HTTPProblem(404, f"No IBM backend with at least {min_qubits} qubits")
        best = min(candidates, key=lambda s: (self._queue(s), s.id))
        now_iso = self.ctx.clock.iso(self._now())
        return json_response(backend_json(best, queue_size=self._queue(best), now_iso=now_iso))

    # -- jobs -----------------------------------------------------------------------------
    def _open_session(
        self, request: web.Request, sid: Any, context: str, spec: BackendSpec
    ) -> KipuSession | None:
        """The session a new job joins (None without ``session_id``): the caller's, in this
        context, still accepting jobs, on the job's backend; else 404 or 400."""
        if sid is None:
            return None
        session = self.sessions.get(sid) if isinstance(sid, str) else None
        if session is None or session.context != context or not self._mine(request, session):
            raise HTTPProblem(404, f"Session {sid} not found")
        status = session.status(self._now())
        if status not in ("OPEN", "ACTIVE", "INACTIVE"):
            raise _bad(f"session_id: session {sid} is {status} and accepts no jobs")
        if session.spec is not spec:
            raise _bad(f"backend_id: session {sid} runs on {session.spec.id}")
        return session

    async def create_job(self, request: web.Request) -> web.Response:
        """``POST jobs``: validate, decode and store a job."""
        body = await read_json(request)
        if not isinstance(body, dict):
            raise _bad("request body must be a JSON object")
        bid = body.get("backend_id")
        if not isinstance(bid, str) or not bid:
            raise _bad("backend_id: required")
        spec = BACKENDS.get(bid)
        if spec is None:
            raise HTTPProblem(404, f"Backend {bid} not found")
        shots = body.get("shots")
        if not is_int(shots, low=1, high=spec.max_shots):
            raise _bad(f"shots: must be an integer from 1 to {spec.max_shots}, got {shots!r}")
        if "input" not in body:
            raise _bad("input: required")
        fmt = body.get("input_format")
        if fmt is not None and fmt not in spec.formats:
            raise _bad(
                f"input_format: {fmt!r} is not supported by {bid}; supported: {list(spec.formats)}"
            )
        params = body.get("input_params")
        if params is not None and not isinstance(params, dict):
            raise _bad("input_params: must be an object")
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise _bad("name: must be a string")
        tags = body.get("tags")
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
        ):
            raise _bad("tags: must be a list of strings")
        sdk = body.get("sdk_provider")
        if sdk is not None and sdk not in _SDK_PROVIDERS:
            raise _bad(f"sdk_provider: must be one of {sorted(_SDK_PROVIDERS)}")
        context = self._context(request)
        se = self._service_execution(request)
        session = self._open_session(request, body.get("session_id"), context, spec)
        programs = decode_programs(spec, body["input"], params or {}, body.get("qasm"))
        for i, program in enumerate(programs or []):
            if program.circuit.num_qubits > spec.qubits:
                raise _bad(
                    f"input: program {i} uses {program.circuit.num_qubits} qubits, "
                    f"{bid} has {spec.qubits}"
                )
        self._seq += 1
        tag_set = set(tags or [])
        end = "COMPLETED"
        if "qjobs:abort" in tag_set:
            end = "ABORTED"
        elif "qjobs:detach" in tag_set:
            end = "DETACHED"
        fails = "qjobs:fail" in tag_set or "qjobs_fail" in (name or "") or self.ctx.draw_failure()
        lifecycle = self.ctx.new_lifecycle()
        stored = dict(body)
        stored["shots"] = shots
        job = KipuJob(
            id=self.ctx.new_uuid(),
            seq=self._seq,
            spec=spec,
            body=stored,
            lifecycle=lifecycle,
            context=context,
            service_execution_id=se,
            programs=programs,
            rng=self.ctx.job_rng(self._seq),
            provider_job_id=self.ctx.new_uuid(),
            owner=self._owner(request),
            end_status=end,
        )
        if fails:
            job.failure = {
                "message": "the job asked to fail (qjobs:fail)",
                "code": "QJOBS_REQUESTED",
            }
        self.jobs[job.id] = job
        if session is not None:
            session.jobs.append(job)
        self.ctx.stats.track_job(lifecycle, [p.circuit for p in programs or []])
        return json_response(job.to_json(self.ctx.clock), status=201)

    def _visible_jobs(self, request: web.Request) -> Iterable[KipuJob]:
        wanted = request.query.getall("serviceExecutionId", [])
        if self._scope(request) is not None:
            wanted = []
        return [
            j
            for j in self.jobs.values()
            if self._mine(request, j) and (not wanted or j.service_execution_id in wanted)
        ]

    async def search_jobs(self, request: web.Request) -> web.Response:
        """``GET jobs?page=&size=&sort=&serviceExecutionId=``: a page of jobs."""
        order = _sort_key(request.query.getall("sort", []), _JOB_SORT)
        clock = self.ctx.clock
        items = [{**j.to_json(clock), "_seq": j.seq} for j in self._visible_jobs(request)]
        return _page(request, _sorted(items, order))

    async def get_job(self, request: web.Request) -> web.Response:
        """``GET jobs/{id}``."""
        return json_response(self._job(request).to_json(self.ctx.clock))

    async def job_status(self, request: web.Request) -> web.Response:
        """``GET jobs/{id}/status``."""
        return json_response({"status": self._job(request).status(self._now())})

    async def cancel_job(self, request: web.Request) -> web.Response:
        """``DELETE jobs/{id}``: PENDING -> CANCELLED, RUNNING -> CANCELLING -> CANCELLED."""
        self._job(request).cancel(self._now())
        return web.Response(status=204)

    def _finished(self, request: web.Request) -> KipuJob:
        job = self._job(request)
        status = job.status(self._now())
        if not job.has_result(self._now()):
            raise HTTPProblem(404, f"Job {job.id} has no result ({status})")
        return job

    async def job_result(self, request: web.Request) -> web.Response:
        """``GET jobs/{id}/result``: the native result (404 until COMPLETED or FAILED)."""
        return json_response(self._finished(request).native_result())

    async def normalized_result(self, request: web.Request) -> web.Response:
        """``GET jobs/{id}/result/normalized``; 204 when not normalizable."""
        data = self._finished(request).normalized_result()
        return web.Response(status=204) if data is None else json_response(data)

    async def normalized_memory(self, request: web.Request) -> web.Response:
        """``GET jobs/{id}/result/normalized/memory``; 204 without per-shot data."""
        data = self._finished(request).memory()
        return web.Response(status=204) if data is None else json_response(data)

    async def result_stream(self, request: web.Request) -> web.StreamResponse:
        """``GET jobs/{id}/result-stream``: the result file, sent in pieces."""
        import orjson

        raw = orjson.dumps(self._finished(request).native_result())
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/octet-stream"
        resp.content_length = len(raw)
        await resp.prepare(request)
        for start in range(0, len(raw), _STREAM_PIECE):
            await resp.write(raw[start : start + _STREAM_PIECE])
        self.ctx.stats.bytes_sent += len(raw)
        await resp.write_eof()
        return resp

    async def job_input(self, request: web.Request) -> web.Response:
        """``GET jobs/{id}/input``."""
        return json_response(self._job(request).stored_input())

    async def normalized_input(self, request: web.Request) -> web.Response:
        """``GET jobs/{id}/input/normalized``; 422 when not renderable as QASM."""
        job = self._job(request)
        data = job.normalized_input()
        if data is None:
            raise HTTPProblem(422, f"The input of job {job.id} cannot be rendered as OpenQASM")
        return json_response(data)

    async def job_calibration(self, request: web.Request) -> web.StreamResponse:
        """``GET jobs/{id}/calibration``: the backend's calibration when the job was created."""
        job = self._job(request)
        cal = self._calibration_at(job.spec, None)
        return web.Response(status=204) if cal is None else json_response(cal)

    # -- sessions -------------------------------------------------------------------------
    async def create_session(self, request: web.Request) -> web.Response:
        """``POST sessions``: 422 for a backend without sessions."""
        body = await read_json(request)
        if not isinstance(body, dict):
            raise _bad("request body must be a JSON object")
        bid = body.get("backend_id")
        mode = body.get("mode")
        provider = body.get("provider")
        if not isinstance(bid, str) or not bid:
            raise _bad("backend_id: required")
        if mode not in ("batch", "dedicated"):
            raise _bad(f"mode: must be 'batch' or 'dedicated', got {mode!r}")
        if not isinstance(provider, str) or not provider:
            raise _bad("provider: required")
        spec = BACKENDS.get(bid)
        if spec is None:
            raise _bad(f"backend_id: unknown backend {bid!r}")
        if not spec.sessions:
            raise HTTPProblem(422, f"Backend {bid} does not support sessions")
        if provider.upper() != spec.provider:
            raise _bad(f"provider: backend {bid} belongs to {spec.provider}")
        ttl = body.get("ttl")
        if ttl is not None and not is_int(ttl, low=1):
            raise _bad("ttl: must be a positive integer (seconds)")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise _bad("metadata: must be an object")
        self._seq += 1
        session = KipuSession(
            id=self.ctx.new_uuid(),
            seq=self._seq,
            spec=spec,
            mode=mode,
            provider=spec.provider,
            created=self._now(),
            context=self._context(request),
            service_execution_id=self._service_execution(request),
            owner=self._owner(request),
            ttl=ttl,
            metadata=metadata or {},
            sdk_provider=body.get("sdk_provider"),
            provider_id=self.ctx.new_uuid(),
        )
        self.sessions[session.id] = session
        return json_response(session.to_json(self.ctx.clock), status=201)

    async def get_session(self, request: web.Request) -> web.Response:
        """``GET sessions/{id}``."""
        return json_response(self._session(request).to_json(self.ctx.clock))

    async def session_status(self, request: web.Request) -> web.Response:
        """``GET sessions/{id}/status``."""
        return json_response({"status": self._session(request).status(self._now())})

    async def session_jobs(self, request: web.Request) -> web.Response:
        """``GET sessions/{id}/jobs``: a page object (a JSON object, as qhub-api parses it)."""
        session = self._session(request)
        clock = self.ctx.clock
        items = [{**j.to_json(clock), "_seq": j.seq} for j in session.jobs]
        return _page(request, _sorted(items, [("created_at", True)]))

    async def update_session(self, request: web.Request) -> web.Response:
        """``PATCH sessions/{id}`` ``{"accept_jobs": bool}``: DRAINING or ACTIVE again."""
        session = self._session(request)
        body = await read_json(request)
        accept = body.get("accept_jobs") if isinstance(body, dict) else None
        if not isinstance(accept, bool):
            raise _bad("accept_jobs: must be true or false")
        if session.status(self._now()) in ("CLOSED", "ABORTED", "DETACHED"):
            raise HTTPProblem(422, f"Session {session.id} is closed")
        session.accepting = accept
        return json_response(session.to_json(self.ctx.clock))

    async def close_session(self, request: web.Request) -> web.Response:
        """``DELETE sessions/{id}``: idempotent; in-flight jobs complete."""
        session = self._session(request)
        if session.closed_at is None:
            session.closed_at = self._now()
        return web.Response(status=204)

    # -- workloads, runtime minutes --------------------------------------------------------
    def _workloads(self, request: web.Request) -> list[dict[str, Any]]:
        clock = self.ctx.clock
        now = self._now()
        out: list[dict[str, Any]] = []
        for job in self.jobs.values():
            if not self._mine(request, job):
                continue
            j = job.to_json(clock)
            out.append(
                {
                    "id": job.id,
                    "type": "JOB",
                    "backend_id": job.spec.id,
                    "provider": job.spec.provider,
                    "status": j["status"],
                    "started_at": j["started_at"],
                    "ended_at": j["ended_at"],
                    "created_at": j["created_at"],
                    "sdk_provider": j["sdk_provider"],
                    "name": j["name"],
                    "tags": j["tags"],
                    "job_count": 1,
                    "usage_time_millis": j["usage_time_millis"],
                    "usage_time_state": j["usage_time_state"],
                    "service_execution_id": job.service_execution_id,
                    "mode": None,
                    "_seq": job.seq,
                }
            )
        for session in self.sessions.values():
            if not self._mine(request, session):
                continue
            s = session.to_json(clock)
            out.append(
                {
                    "id": session.id,
                    "type": "SESSION",
                    "backend_id": session.spec.id,
                    "provider": session.provider,
                    "status": session.status(now),
                    "started_at": s["started_at"],
                    "ended_at": s["closed_at"],
                    "created_at": s["created_at"],
                    "sdk_provider": s["sdk_provider"],
                    "name": None,
                    "tags": s["tags"],
                    "job_count": len(session.jobs),
                    "usage_time_millis": s["usage_time_millis"],
                    "usage_time_state": s["usage_time_state"],
                    "service_execution_id": session.service_execution_id,
                    "mode": session.mode,
                    "_seq": session.seq,
                }
            )
        return out

    async def workloads(self, request: web.Request) -> web.Response:
        """``GET workloads``: filters ANDed across keys, ORed within a repeated key."""
        q = request.query
        items = self._workloads(request)
        if self._scope(request) is None:
            filters: list[tuple[str, Callable[[dict[str, Any]], Any], bool]] = [
                ("type", lambda w: w["type"], True),
                ("status", lambda w: w["status"], True),
                ("provider", lambda w: w["provider"], True),
                ("backendId", lambda w: w["backend_id"], False),
                (
                    "origin",
                    lambda w: "SERVICE_EXECUTION" if w["service_execution_id"] else "STANDALONE",
                    True,
                ),
                ("serviceExecutionId", lambda w: w["service_execution_id"], False),
            ]
            for key, get, upper in filters:
                wanted = q.getall(key, [])
                if key == "type" and any(v.upper() not in ("JOB", "SESSION") for v in wanted):
                    raise _bad(f"type: must be JOB or SESSION, got {wanted}")
                if key == "origin" and any(
                    v.upper() not in ("STANDALONE", "SERVICE_EXECUTION") for v in wanted
                ):
                    raise _bad(f"origin: must be STANDALONE or SERVICE_EXECUTION, got {wanted}")
                if wanted:
                    values = {v.upper() for v in wanted} if upper else set(wanted)
                    items = [
                        w for w in items if (str(get(w)).upper() if upper else get(w)) in values
                    ]
            tags = q.getall("tag", [])
            if tags:
                items = [w for w in items if set(tags) & set(w["tags"])]
        order = _sort_key(q.getall("sort", []), _WORKLOAD_SORT)
        return _page(request, _sorted(items, order))

    async def runtime_minutes(self, request: web.Request) -> web.Response:
        """``GET runtime-minutes``: QPU allowances per provider, consumption from jobs run."""
        clock = self.ctx.clock
        out = []
        for provider in ("AWS", "IBM"):
            qpus = [
                s.id for s in BACKENDS.values() if s.provider == provider and not s.is_simulator
            ]
            used_ms = sum(
                j.to_json(clock).get("usage_time_millis") or 0
                for j in self.jobs.values()
                if self._mine(request, j) and j.spec.id in qpus
            )
            # qhub-api types every *_seconds field as an int.
            consumed = round(used_ms / 1000)
            out.append(
                {
                    "id": f"allowance-{provider.lower()}",
                    "provider": provider,
                    "backend_ids": qpus,
                    "allocated_seconds": _ALLOWANCE_SECONDS,
                    "consumed_seconds": consumed,
                    "remaining_seconds": max(0, _ALLOWANCE_SECONDS - consumed),
                    "limit_reached": consumed >= _ALLOWANCE_SECONDS,
                }
            )
        return json_response({"allowances": out})
