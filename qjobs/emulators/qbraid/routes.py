"""The handlers of the qBraid Quantum Runtime API emulator (``/api/v1``): user, devices, jobs,
results, programs.

Every route lives under ``/api/v1`` and speaks the wire protocol of ``shared/specs/qbraid.md``:
``X-API-Key`` (or ``X-Access-Token``) authentication, the ``{"success": true, "data": ...}``
envelope (lists add ``pagination``), full job objects with cost and timestamps, statuses
``INITIALIZING -> VALIDATING -> QUEUED -> RUNNING -> COMPLETED`` (or ``FAILED``; cancel goes
``CANCELLING -> CANCELLED``), 409 while results are not available, and error bodies
``{"success": false, "message", "error": {"message", "code", ...}}`` (FastAPI's
``{"detail": [...]}`` for malformed request bodies, 422).

Jobs, groups and credit balances belong to the token (API key or access token) that created
them: another token gets 404 (``JOB_NOT_FOUND``, ``GROUP_NOT_FOUND``) and does not list them.

On request (tags or the job name): ``qjobs_fail`` ends the job ``FAILED``, ``qjobs_hold`` ends it
``HOLD`` (terminal, results withheld), and ``qjobs_result_lag=N`` makes the first N result requests
after completion answer 409 as the real platform does while results are being stored.

Also served: job groups (``/jobs/group...``, see
:class:`~qjobs.emulators.qbraid.state.QbraidGroup`), the credit balance (10 000 credits less what
final jobs cost), ``/users/context``, ``/providers``, ``/access-tokens/refresh`` (access tokens
only), cost estimates, status options, calibrations of QPUs, and compiled programs of QPU jobs once
they have started.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable
from typing import Any, Final

import orjson
from aiohttp import web

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.emulators._common import (
    EmulatorContext,
    HTTPProblem,
    json_response,
    owner_key,
    query_int,
    read_json,
)
from qjobs.emulators.qbraid.state import (
    DEFAULT_TTL,
    DEVICES,
    FINAL_STATUSES,
    GROUP_FINAL,
    GROUP_STATUSES,
    MAX_SIM_QUBITS,
    MAX_TTL,
    ORG_USER_ID,
    STATUSES,
    DeviceInfo,
    QbraidGroup,
    QbraidJob,
    result_data,
)
from qjobs.emulators.qbraid.wire import DetailedError, token_of, unprocessable

__all__ = ["QbraidEmulator"]


_MAX_PROGRAMS: Final = 100
_DEFAULT_SHOTS: Final = 1000
_DEFAULT_LIMIT: Final = 10
_MAX_LIMIT: Final = 100
_CREDITS: Final = 10_000.0
_FORMATS: Final = ("qasm2", "qasm3", "qir.bc", "qir.ll", "analog", "pulser.sequence", "quil")
_FORMATS_ALL: Final = (*_FORMATS, "ionq.circuit.v0", "problem", "gst")
_ORG_ID: Final = "6650a0b1c2d3e4f5a6b7c800"
_USER_ID: Final = "6650a0b1c2d3e4f5a6b7c8d9"
_TOKEN_LIFETIME: Final = 24 * 3600.0
_LAG = re.compile(r"qjobs_result_lag=(\d+)")


def _owner(request: web.Request) -> str:
    """The owner key of the request's credential: jobs and groups belong to their creator."""
    return owner_key(token_of(request))


def _ok(data: Any, status: int = 200, **extra: Any) -> web.Response:
    return json_response({"success": True, "data": data, **extra}, status=status)


def _bad(message: str, code: str = "BAD_REQUEST") -> HTTPProblem:
    return HTTPProblem(400, message, code)


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    value = query_int(request, name, default, lambda message: HTTPProblem(422, message))
    if not low <= value <= high:
        raise HTTPProblem(422, f"{name}: must be between {low} and {high}, got {value}")
    return value


def _page(request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """One page of ``items`` (``page``, ``limit`` query) and its ``pagination`` object."""
    page = _query_int(request, "page", 1, 1, 10**9)
    limit = _query_int(request, "limit", _DEFAULT_LIMIT, 1, _MAX_LIMIT)
    total = len(items)
    pages = max(1, math.ceil(total / limit))
    pagination = {
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": pages,
        "hasNext": page < pages,
        "hasPrev": page > 1,
    }
    return items[(page - 1) * limit : page * limit], pagination


def _name_and_tags(body: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The ``name`` and ``tags`` of a job or group body (422 when mistyped)."""
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise unprocessable(["name"], "name must be a string")
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(
        isinstance(v, str | int | bool) for v in tags.values()
    ):
        raise unprocessable(["tags"], "tags must map strings to str, int or bool")
    return name, tags


def _wanted_requests(name: str | None, tags: dict[str, Any]) -> tuple[bool, bool, int]:
    """(fail, hold, result lag) asked for by the job's tags or name."""
    text = name or ""
    fail = "qjobs_fail" in tags or "qjobs_fail" in text
    hold = "qjobs_hold" in tags or "qjobs_hold" in text
    lag = 0
    raw = tags.get("qjobs_result_lag")
    if is_int(raw, low=0):
        lag = raw
    else:
        m = _LAG.search(text)
        if m:
            lag = int(m.group(1))
    return fail, hold, lag


class QbraidEmulator:
    """The state and handlers of one qBraid emulator app."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.jobs: dict[str, QbraidJob] = {}
        self.groups: dict[str, QbraidGroup] = {}
        self._seq = 0
        self._spent_removed: dict[str, float] = {}

    # -- helpers -----------------------------------------------------------------------------

    def _job(self, request: web.Request) -> QbraidJob:
        qrn = request.match_info["qrn"]
        job = self.jobs.get(qrn)
        if job is None or job.owner != _owner(request):
            raise HTTPProblem(404, f"Job '{qrn}' not found", "JOB_NOT_FOUND")
        return job

    def _queue_position(self, job: QbraidJob, now: float) -> int | None:
        if job.status(now) != "QUEUED":
            return None
        return sum(
            1
            for other in self.jobs.values()
            if other.seq < job.seq
            and other.device.qrn == job.device.qrn
            and other.status(now) in ("QUEUED", "RUNNING")
        )

    def _queue_depth(self, device: DeviceInfo, now: float) -> int:
        return sum(
            1
            for j in self.jobs.values()
            if j.device.qrn == device.qrn
            and j.status(now) in ("INITIALIZING", "VALIDATING", "QUEUED")
        )

    def _job_json(self, job: QbraidJob) -> dict[str, Any]:
        now = self.ctx.clock.now()
        return job.to_json(self.ctx.clock, self._queue_position(job, now))

    def _device_json(self, device: DeviceInfo) -> dict[str, Any]:
        now = self.ctx.clock.now()
        # qbraid-core types avgQueueTime as an int (minutes): a float fails its validation.
        minutes = round(self.ctx.options.queue_time / 60.0)
        return device.to_json(self._queue_depth(device, now), minutes)

    def _balance(self, owner: str) -> float:
        """Credits left: the grant less what the owner's final jobs (kept or deleted) cost."""
        now = self.ctx.clock.now()
        spent = self._spent_removed.get(owner, 0.0)
        for job in self.jobs.values():
            if job.owner == owner:
                spent += job.cost(job.status(now)) or 0.0
        return round(_CREDITS - spent, 6)

    def _cancel_job(self, job: QbraidJob, now: float) -> None:
        if job.cancel_at is None:
            job.cancel_at = now
            job.lifecycle.cancel(now)

    # -- user --------------------------------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """``GET /users/verify``: the emulated account (any accepted key is valid)."""
        return _ok(
            {
                "valid": True,
                "userId": _USER_ID,
                "userName": "qjobs-emulator",
                "userEmail": "emulator@qjobs.invalid",
                "metadata": {},
                "userRoles": ["user"],
                "userPermissions": ["jobs:create", "jobs:read", "devices:read"],
                "organizationId": _ORG_ID,
                "organizationUserId": ORG_USER_ID,
            }
        )

    async def user_context(self, request: web.Request) -> web.Response:
        """``GET /users/context``: ``{user: {isAdmin, ...}}``."""
        return _ok(
            {
                "user": {
                    "_id": _USER_ID,
                    "userId": _USER_ID,
                    "userName": "qjobs-emulator",
                    "email": "emulator@qjobs.invalid",
                    "isAdmin": False,
                    "organizationId": _ORG_ID,
                    "organizationUserId": ORG_USER_ID,
                    "roles": ["user"],
                }
            }
        )

    async def refresh_token(self, request: web.Request) -> web.Response:
        """``POST /access-tokens/refresh``: the access token lives 24 h from now.

        Only a request authenticated with ``X-Access-Token`` has a token to refresh; an API
        key gets 400.
        """
        if not request.headers.get("X-Access-Token"):
            raise _bad("Only access tokens can be refreshed", "ACCESS_TOKEN_REQUIRED")
        clock = self.ctx.clock
        expires = clock.iso(clock.now() + _TOKEN_LIFETIME)
        return _ok({"expiresAt": expires, "profileSlug": "qjobs-emulator"})

    async def credits(self, request: web.Request) -> web.Response:
        """``GET /billing/credits/balance?organizationId=``: the emulated organization's credits."""
        org = request.query.get("organizationId")
        if not org:
            raise HTTPProblem(422, "organizationId: field required")
        if org != _ORG_ID:
            raise HTTPProblem(403, f"Not a member of organization '{org}'", "FORBIDDEN")
        return _ok(
            {
                "qbraidCredits": self._balance(_owner(request)),
                "awsCredits": 0.0,
                "autoRecharge": False,
                "organizationId": _ORG_ID,
                "userId": _USER_ID,
            }
        )

    async def providers(self, request: web.Request) -> web.Response:
        """``GET /providers``: one entry per provider of the device catalogue."""
        found: dict[str, dict[str, Any]] = {}
        for device in DEVICES.values():
            entry = found.setdefault(
                device.provider,
                {
                    "_id": f"{zlib.crc32(device.provider.encode()):024x}",
                    "provider": device.provider,
                    "vendor": device.vendor,
                    "deviceQrns": [],
                },
            )
            entry["deviceQrns"].append(device.qrn)
        return _ok({"providers": list(found.values())})

    # -- devices -----------------------------------------------------------------------------

    async def list_devices(self, request: web.Request) -> web.Response:
        """``GET /devices[?retired=false]``: every device, without retired ones when asked."""
        retired = request.query.get("retired")
        if retired is not None and retired.lower() not in ("true", "false"):
            raise HTTPProblem(422, f"retired: must be true or false, got {retired!r}")
        skip_retired = retired is not None and retired.lower() == "false"
        return _ok(
            [
                self._device_json(d)
                for d in DEVICES.values()
                if not (skip_retired and d.status == "RETIRED")
            ]
        )

    def _device(self, qrn: str) -> DeviceInfo:
        device = DEVICES.get(qrn)
        if device is None:
            raise HTTPProblem(404, f"Device '{qrn}' not found", "DEVICE_NOT_FOUND")
        return device

    async def get_device(self, request: web.Request) -> web.Response:
        """``GET /devices/{qrn}``."""
        return _ok(self._device_json(self._device(request.match_info["qrn"])))

    async def calibrations(self, request: web.Request) -> web.Response:
        """``GET /devices/{qrn}/calibrations``: simulators have none (``data: null``)."""
        device = self._device(request.match_info["qrn"])
        if device.device_type == "SIMULATOR":
            return _ok(None)
        now = self.ctx.clock.iso(self.ctx.clock.now())
        n = min(device.qubits, 32)
        return _ok(
            {
                "deviceQRNs": [device.qrn],
                "provider": device.provider,
                "lastCalibrated": now,
                "fetchedAt": now,
                "qubits": {
                    str(q): {"t1": 10.0, "t2": 1.0, "readoutFidelity": 0.995} for q in range(n)
                },
                "edges": {f"{q}-{q + 1}": {"fidelity2q": 0.993} for q in range(n - 1)},
            }
        )

    # -- create ------------------------------------------------------------------------------

    def _programs(self, body: dict[str, Any], device: DeviceInfo) -> list[Circuit]:
        program = body.get("program")
        items = program if isinstance(program, list) else [program]
        if program is None or (isinstance(program, list) and not program):
            raise unprocessable(["program"], "program must be an object or a non-empty list")
        if len(items) > _MAX_PROGRAMS:
            raise _bad(f"a batch job holds at most {_MAX_PROGRAMS} programs, got {len(items)}")
        if isinstance(program, list) and not device.batch:
            raise _bad(f"Device '{device.qrn}' does not support batch jobs", "BATCH_NOT_SUPPORTED")
        circuits: list[Circuit] = []
        for i, item in enumerate(items):
            loc: list[str | int] = ["program", i] if isinstance(program, list) else ["program"]
            if not isinstance(item, dict):
                raise unprocessable(loc, "program must be an object with format and data")
            fmt = item.get("format")
            if fmt not in _FORMATS_ALL:
                raise unprocessable([*loc, "format"], f"unknown program format {fmt!r}")
            if fmt not in device.run_input_types:
                raise _bad(
                    f"Device '{device.qrn}' does not accept {fmt} programs; it takes "
                    f"{list(device.run_input_types)}",
                    "UNSUPPORTED_PROGRAM_FORMAT",
                )
            if fmt not in ("qasm2", "qasm3"):
                raise _bad(f"the emulator runs OpenQASM programs only, not {fmt}", "UNSUPPORTED")
            data = item.get("data")
            if not isinstance(data, str) or not data.strip():
                raise unprocessable([*loc, "data"], "data must be an OpenQASM string")
            try:
                circuit = Circuit.from_qasm(data)
            except InputError as exc:
                raise _bad(f"program {i}: invalid OpenQASM: {exc}", "INVALID_PROGRAM") from None
            if circuit.num_qubits > device.qubits:
                raise _bad(
                    f"program {i} uses {circuit.num_qubits} qubits; device '{device.qrn}' has "
                    f"{device.qubits}",
                    "TOO_MANY_QUBITS",
                )
            if not circuit.is_bound:
                raise _bad(f"program {i} has unbound inputs {list(circuit.parameters)}")
            circuits.append(circuit)
        return circuits

    def _check_credits(self, owner: str, estimated: float) -> None:
        """403 ``INSUFFICIENT_CREDITS`` when ``owner``'s balance is below the job's estimate."""
        balance = self._balance(owner)
        if estimated > balance:
            raise DetailedError(
                403,
                {
                    "success": False,
                    "message": "Insufficient credits to submit this job",
                    "error": {
                        "message": "Insufficient credits to submit this job",
                        "code": "INSUFFICIENT_CREDITS",
                        "needed": estimated,
                        "minRequired": estimated,
                        "balance": balance,
                    },
                },
            )

    def _failure(self, asked: bool, circuits: list[Circuit]) -> dict[str, str] | None:
        """How a new job will fail, if it will: asked to (or drawn by ``fail_rate``), or wider
        than the simulator takes."""
        failure = None
        if asked or self.ctx.draw_failure():
            failure = {"message": "the job asked to fail (qjobs_fail)", "code": "QJOBS_FAIL"}
        widest = max(c.num_qubits for c in circuits)
        if widest > MAX_SIM_QUBITS:
            failure = {
                "message": f"the emulator simulates at most {MAX_SIM_QUBITS} qubits",
                "code": "EMULATOR_LIMIT",
            }
        return failure

    async def create_job(self, request: web.Request) -> web.Response:
        """``POST /jobs``: validate, store and answer the full job object (201, INITIALIZING)."""
        body = await read_json(request)
        if not isinstance(body, dict):
            raise unprocessable([], "request body must be a JSON object")
        qrn = body.get("deviceQrn")
        if not isinstance(qrn, str):
            raise unprocessable(["deviceQrn"], "field required")
        shots = body.get("shots")
        if shots is not None and (not is_int(shots, low=1)):
            raise unprocessable(["shots"], "shots must be an integer greater than 0")
        name, tags = _name_and_tags(body)
        options = body.get("runtimeOptions") or {}
        if not isinstance(options, dict):
            raise unprocessable(["runtimeOptions"], "runtimeOptions must be an object")
        group = body.get("groupJobQrn")
        if group is not None and not isinstance(group, str):
            raise unprocessable(["groupJobQrn"], "groupJobQrn must be a string")
        device = self._device(qrn)
        if group is not None:
            joined = self._group(request, group)
            if not joined.is_open(self.ctx.clock.now()):
                raise _bad(f"Group '{group}' is closed and accepts no jobs", "GROUP_NOT_OPEN")
        if device.status != "ONLINE":
            raise _bad(
                f"Device '{qrn}' is {device.status} and accepts no jobs", "DEVICE_UNAVAILABLE"
            )
        count = _DEFAULT_SHOTS if shots is None else shots
        if not device.min_shots <= count <= device.max_shots:
            raise _bad(
                f"shots must be between {device.min_shots} and {device.max_shots} on "
                f"'{qrn}', got {count}",
                "INVALID_SHOTS",
            )
        noise = options.get("noiseModel")
        if noise is not None and noise not in device.noise_models:
            raise _bad(f"noise model {noise!r} is not offered by '{qrn}'", "INVALID_NOISE_MODEL")
        circuits = self._programs(body, device)
        estimated = device.per_job_cost(count, len(circuits))
        owner = _owner(request)
        self._check_credits(owner, estimated)
        fail, hold, lag = _wanted_requests(name, tags)
        failure = self._failure(fail, circuits)
        lifecycle = self.ctx.new_lifecycle(fails=failure is not None)
        self._seq += 1
        job = QbraidJob(
            qrn=f"{device.qrn}-{ORG_USER_ID[-4:]}-qjob-{self.ctx.rng.getrandbits(96):024x}",
            seq=self._seq,
            device=device,
            name=name,
            shots=count,
            tags=tags,
            runtime_options=options,
            group=group,
            programs=body["program"],
            circuits=circuits,
            lifecycle=lifecycle,
            rng_seed=[self.ctx.options.seed, self._seq],
            owner=owner,
            hold=hold,
            result_lag=lag,
            failure=failure,
        )
        self.jobs[job.qrn] = job
        self.ctx.stats.track_job(lifecycle, circuits)
        created = self._job_json(job)
        created.update(status="INITIALIZING", timeStamps=None, cost=None, queuePosition=None)
        created["statusMsg"] = None
        created["error"] = None
        return _ok(created, status=201)

    # -- reads -------------------------------------------------------------------------------

    async def get_job(self, request: web.Request) -> web.Response:
        """``GET /jobs/{qrn}``."""
        return _ok(self._job_json(self._job(request)))

    async def list_jobs(self, request: web.Request) -> web.Response:
        """``GET /jobs``: filters, newest first, pages of ``limit`` with ``pagination``."""
        q = request.query
        status = q.get("status")
        if status is not None and status.upper() not in STATUSES:
            raise HTTPProblem(422, f"status: unknown status {status!r}")
        group = q.get("statusGroup")
        if group is not None and group not in ("pending", "returned", "all"):
            raise HTTPProblem(422, f"statusGroup: must be pending, returned or all, got {group!r}")
        tags: dict[str, Any] | None = None
        if "tags" in q:
            try:
                tags = orjson.loads(q["tags"])
            except orjson.JSONDecodeError:
                raise _bad(f"tags: not valid JSON: {q['tags']!r}") from None
            if not isinstance(tags, dict):
                raise _bad("tags: must be a JSON object")
        search = (q.get("search") or "").lower()
        vendor = q.get("vendor")
        provider = q.get("provider")
        now = self.ctx.clock.now()
        owner = _owner(request)
        found: list[QbraidJob] = []
        for job in sorted(self.jobs.values(), key=lambda j: j.seq, reverse=True):
            if job.owner != owner:
                continue
            current = job.status(now)
            if status is not None and current != status.upper():
                continue
            if group == "pending" and current in FINAL_STATUSES:
                continue
            if group == "returned" and current not in FINAL_STATUSES:
                continue
            if vendor not in (None, "all") and job.device.vendor != vendor:
                continue
            if provider is not None and job.device.provider != provider:
                continue
            if tags is not None and any(job.tags.get(k) != v for k, v in tags.items()):
                continue
            if search and search not in (job.name or "").lower() and search not in job.qrn:
                continue
            found.append(job)
        window, pagination = _page(request, found)
        return _ok(
            [self._job_json(j) for j in window],
            pagination=pagination,
            meta={"timestamp": self.ctx.clock.iso(now)},
        )

    async def statuses(self, request: web.Request) -> web.Response:
        """``GET /jobs/statuses``: the status names and their groups."""
        return _ok(
            {
                "statuses": list(STATUSES),
                "groups": {
                    "pending": [s for s in STATUSES if s not in FINAL_STATUSES and s != "UNKNOWN"],
                    "returned": sorted(FINAL_STATUSES),
                },
            }
        )

    async def cost_estimate(self, request: web.Request) -> web.Response:
        """``GET /jobs/cost-estimate?deviceQrn=&shots=`` (shots default 1000)."""
        qrn = request.query.get("deviceQrn")
        if not qrn:
            raise HTTPProblem(422, "deviceQrn: field required")
        device = self._device(qrn)
        shots = _query_int(request, "shots", _DEFAULT_SHOTS, 1, 10**7)
        p = device.pricing
        if p.get("perMinute", 0.0) > 0 and not p.get("perTask") and not p.get("perShot"):
            return _ok(
                {
                    "pricingAvailable": False,
                    "deviceQrn": device.qrn,
                    "reason": "priced per minute of execution; the cost is known after the run",
                }
            )
        return _ok(
            {
                "pricingAvailable": True,
                "deviceQrn": device.qrn,
                "estimatedCost": device.per_job_cost(shots, 1),
                "shots": shots,
                "pricingModel": "fixed",
            }
        )

    async def program(self, request: web.Request) -> web.Response:
        """``GET /jobs/{qrn}/program``: the program(s) as submitted."""
        return _ok(self._job(request).programs)

    async def compiled_program(self, request: web.Request) -> web.Response:
        """``GET /jobs/{qrn}/compiled-program``: QPU jobs are compiled (to OpenQASM 3 as the
        emulator reads them) when they start running; simulator jobs and jobs that never ran
        have none (404)."""
        job = self._job(request)
        status = job.status(self.ctx.clock.now())
        if job.device.device_type != "QPU" or status not in ("RUNNING", "COMPLETED", "HOLD"):
            raise HTTPProblem(404, f"Job '{job.qrn}' has no compiled program", "NOT_FOUND")
        compiled = [{"format": "qasm3", "data": c.to_qasm3()} for c in job.circuits]
        return _ok(compiled if job.is_batch else compiled[0])

    async def result(self, request: web.Request) -> web.Response:
        """``GET /jobs/{qrn}/result``: counts (a batch has ``results``); 409 until available."""
        job = self._job(request)
        clock = self.ctx.clock
        status = job.status(clock.now())
        if status != "COMPLETED":
            raise HTTPProblem(
                409, f"Job results are not available (status {status})", "RESULTS_NOT_AVAILABLE"
            )
        if job.result_lag > 0:
            job.result_lag -= 1
            raise HTTPProblem(409, "Job results are not yet available", "RESULTS_NOT_READY")
        cost = job.cost(status) or 0.0
        stamps = job.timestamps(clock, status)
        datas = [result_data(c, s) for c, s in zip(job.circuits, job.simulate(), strict=True)]
        if not job.is_batch:
            return _ok(
                {"status": status, "cost": cost, "timeStamps": stamps, "resultData": datas[0]}
            )
        share = round(cost / len(datas), 6)
        items = [
            {"status": status, "cost": share, "timeStamps": stamps, "resultData": d} for d in datas
        ]
        return _ok({"status": status, "cost": cost, "timeStamps": stamps, "results": items})

    # -- cancel / delete ---------------------------------------------------------------------

    async def cancel(self, request: web.Request) -> web.Response:
        """``POST /jobs/{qrn}/cancel``: 202 CANCELLING; 400 for a job already final."""
        job = self._job(request)
        now = self.ctx.clock.now()
        status = job.status(now)
        if status in FINAL_STATUSES:
            raise _bad(f"Job '{job.qrn}' cannot be cancelled: it is {status}", "INVALID_JOB_STATE")
        self._cancel_job(job, now)
        return _ok(
            {"message": "Job cancellation requested", "jobQrn": job.qrn, "status": "CANCELLING"},
            status=202,
        )

    def _remove(self, job: QbraidJob) -> None:
        now = self.ctx.clock.now()
        spent = self._spent_removed.get(job.owner, 0.0) + (job.cost(job.status(now)) or 0.0)
        self._spent_removed[job.owner] = spent
        job.lifecycle.remove(now)
        self.jobs.pop(job.qrn, None)

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /jobs/{qrn}``."""
        job = self._job(request)
        self._remove(job)
        return _ok({"message": "Job deleted", "jobQrn": job.qrn})

    async def delete_many(self, request: web.Request) -> web.Response:
        """``DELETE /jobs?qrns=<JSON array>``: unknown QRNs are skipped."""
        raw = request.query.get("qrns")
        try:
            qrns = orjson.loads(raw) if raw is not None else None
        except orjson.JSONDecodeError:
            qrns = None
        if not isinstance(qrns, list) or not all(isinstance(x, str) for x in qrns):
            raise HTTPProblem(422, "qrns: must be a JSON array of job QRNs")
        deleted = []
        owner = _owner(request)
        for qrn in qrns:
            job = self.jobs.get(qrn)
            if job is not None and job.owner == owner:
                self._remove(job)
                deleted.append(qrn)
        return _ok({"message": f"{len(deleted)} job(s) deleted", "deleted": deleted})

    # -- groups ------------------------------------------------------------------------------

    def _group(self, request: web.Request, qrn: str | None = None) -> QbraidGroup:
        """The group ``qrn`` (default: the route's ``{qrn}``) if the request's owner has it."""
        if qrn is None:
            qrn = request.match_info["qrn"]
        group = self.groups.get(qrn)
        if group is None or group.owner != _owner(request):
            raise HTTPProblem(404, f"Group job '{qrn}' not found", "GROUP_NOT_FOUND")
        return group

    def _members(self, group: QbraidGroup) -> list[QbraidJob]:
        return sorted((j for j in self.jobs.values() if j.group == group.qrn), key=lambda j: j.seq)

    def _group_json(self, group: QbraidGroup) -> dict[str, Any]:
        return group.to_json(self.ctx.clock, self._members(group))

    async def create_group(self, request: web.Request) -> web.Response:
        """``POST /jobs/group`` ``{name?, tags?, metadata?, maxTTL?}``: 201, the open group."""
        body = await read_json(request) if request.body_exists else {}
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise unprocessable([], "request body must be a JSON object")
        name, tags = _name_and_tags(body)
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise unprocessable(["metadata"], "metadata must be an object")
        ttl = body.get("maxTTL")
        if ttl is None:
            ttl = DEFAULT_TTL
        elif not is_int(ttl, low=1, high=MAX_TTL):
            raise unprocessable(["maxTTL"], f"maxTTL must be an integer from 1 to {MAX_TTL}")
        self._seq += 1
        group = QbraidGroup(
            qrn=f"qbraid-{ORG_USER_ID[-4:]}-qgroup-{self.ctx.rng.getrandbits(96):024x}",
            seq=self._seq,
            name=name,
            tags=tags,
            metadata=metadata,
            max_ttl=ttl,
            created=self.ctx.clock.now(),
            owner=_owner(request),
        )
        self.groups[group.qrn] = group
        return _ok(self._group_json(group), status=201)

    async def list_groups(self, request: web.Request) -> web.Response:
        """``GET /jobs/group?status&page&limit``: newest first, with ``pagination``."""
        status = request.query.get("status")
        if status is not None and status.upper() not in GROUP_STATUSES:
            raise HTTPProblem(422, f"status: unknown group status {status!r}")
        now = self.ctx.clock.now()
        owner = _owner(request)
        found = [
            g
            for g in sorted(self.groups.values(), key=lambda g: g.seq, reverse=True)
            if g.owner == owner
            and (status is None or g.status(now, self._members(g)) == status.upper())
        ]
        window, pagination = _page(request, found)
        return _ok([self._group_json(g) for g in window], pagination=pagination)

    async def get_group(self, request: web.Request) -> web.Response:
        """``GET /jobs/group/{qrn}``."""
        return _ok(self._group_json(self._group(request)))

    async def group_jobs(self, request: web.Request) -> web.Response:
        """``GET /jobs/group/{qrn}/jobs``: the group's jobs in submission order."""
        group = self._group(request)
        return _ok([self._job_json(j) for j in self._members(group)])

    async def close_group(self, request: web.Request) -> web.Response:
        """``POST /jobs/group/{qrn}/close``: no new jobs; running ones go on (idempotent)."""
        group = self._group(request)
        now = self.ctx.clock.now()
        if group.is_open(now):
            group.closed_at = now
        return _ok(self._group_json(group))

    async def cancel_group(self, request: web.Request) -> web.Response:
        """``POST /jobs/group/{qrn}/cancel``: cancel every unfinished job; 400 once final."""
        group = self._group(request)
        now = self.ctx.clock.now()
        members = self._members(group)
        status = group.status(now, members)
        if status in GROUP_FINAL:
            raise _bad(
                f"Group job '{group.qrn}' cannot be cancelled: it is {status}",
                "INVALID_GROUP_STATE",
            )
        for job in _unfinished(members, now):
            self._cancel_job(job, now)
        group.cancelled_at = now
        return _ok(self._group_json(group))

    async def delete_group(self, request: web.Request) -> web.Response:
        """``DELETE /jobs/group/{qrn}``: the group record goes; its jobs stay."""
        group = self._group(request)
        self.groups.pop(group.qrn, None)
        return _ok({"message": "Group job deleted", "groupJobQrn": group.qrn})


def _unfinished(jobs: Iterable[QbraidJob], now: float) -> list[QbraidJob]:
    return [j for j in jobs if j.status(now) not in FINAL_STATUSES]
