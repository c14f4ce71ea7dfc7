"""The handlers of the IonQ v0.4 REST emulator: jobs, results, backends, characterizations,
sessions, and the reserved request log.

Every route lives under ``/v0.4`` and speaks the wire protocol described in
``shared/specs/ionq.md``: ``Authorization: apiKey <token>``, statuses ``submitted -> ready ->
started -> completed`` (or ``failed``/``canceled``), relative ``/v0.4/...`` result URLs, results
keyed by decimal integers (bit i = qubit i), and error bodies
``{"statusCode", "error", "message"}``. The ideal simulator returns exact probabilities; noisy
models and QPUs return sampled counts divided by shots (seeded by the server seed, or by
``noise.seed``).

Jobs and sessions belong to the token that created them: another token gets 404 for them and
does not see them in listings.

Failed jobs on request: a job whose ``name`` contains ``qjobs_fail`` or whose ``metadata`` has a
``qjobs_fail`` key ends ``failed`` (so does a ``fail_rate`` share of all jobs).
"""

from __future__ import annotations

from typing import Any, Final

import attrs
import numpy as np
from aiohttp import web

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.emulators._common import (
    EmulatorContext,
    HTTPProblem,
    json_response,
    local_path,
    owner_key,
    query_int,
    read_json,
)
from qjobs.emulators._common.clock import Phase
from qjobs.emulators._common.ionq_circuits import decode_circuit
from qjobs.emulators.ionq.state import (
    MAX_SIM_QUBITS,
    SHOTS_ARTIFACT,
    IonQJob,
    IonQSession,
    RequestLog,
    status_of,
)
from qjobs.emulators.ionq.wire import (
    BACKENDS,
    CHARACTERIZATIONS,
    NOISE_MODELS,
    PREFIX,
    QIS_GATES,
    QIS_GATES_2Q,
    RATES,
    BackendInfo,
    characterization,
    characterization_id,
    register_shots,
    requested_failure,
    token_of,
)

__all__ = ["IonQEmulator"]


_TYPES: Final = ("ionq.circuit.v1", "ionq.multi-circuit.v1", "ionq.qasm3.v1")
_MAX_SHOTS: Final = 1_000_000
_DEFAULT_SHOTS: Final = 100
_DEFAULT_LIMIT: Final = 25
_MAX_LIMIT: Final = 1000
_STATUSES: Final = frozenset({"submitted", "ready", "started", "completed", "failed", "canceled"})
_STATUS_ALIASES: Final = {"queued": {"submitted", "ready"}, "running": {"started"}}


#: The top-level fields of a ``POST /jobs`` body; others are kept on the job as given.
_BODY_FIELDS: Final = frozenset(
    {"type", "backend", "shots", "name", "metadata", "noise", "settings", "dry_run"}
    | {"session_id", "input"}
)


@attrs.frozen
class _Submission:
    """A checked ``POST /jobs`` body, ready to be stored."""

    job_type: str
    name: str | None
    metadata: dict[str, Any] | None
    data: dict[str, Any]
    circuits: list[Circuit]
    session: IonQSession | None
    common: dict[str, Any]
    extra: dict[str, Any]


def _owner(request: web.Request) -> str:
    """The owner key of the request's token: jobs and sessions belong to their creator."""
    return owner_key(token_of(request))


def _bad(message: str, error_type: str = "Bad Request") -> HTTPProblem:
    return HTTPProblem(400, message, error_type)


def _int_field(value: Any, field: str, low: int, high: int) -> int:
    if not is_int(value, low=low, high=high):
        raise _bad(f"{field}: must be an integer from {low} to {high}, got {value!r}")
    return value


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    return _int_field(query_int(request, name, default, _bad), name, low, high)


def _query_bool(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    low = raw.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise _bad(f"{name}: must be true or false, got {raw!r}")


class IonQEmulator:
    """The state and handlers of one IonQ emulator app."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.jobs: dict[str, IonQJob] = {}
        self.sessions: dict[str, IonQSession] = {}
        #: The recent requests (credentials redacted), for tests: ``.last.headers``.
        self.requests = RequestLog()
        self._seq = 0

    # -- helpers -----------------------------------------------------------------------------

    def _job(self, request: web.Request) -> IonQJob:
        job_id = request.match_info["id"]
        job = self.jobs.get(job_id)
        if job is None or job.owner != _owner(request):
            raise HTTPProblem(404, f"job {job_id} not found", "Not Found")
        return job

    def _backend(self, name: Any, field: str = "backend") -> BackendInfo:
        if not isinstance(name, str) or name not in BACKENDS:
            raise _bad(f"{field}: unknown backend {name!r}; known: {sorted(BACKENDS)}")
        return BACKENDS[name]

    def _new_job(self, stream: int = 0, **kwargs: Any) -> IonQJob:
        self._seq += 1
        job = IonQJob(id=self.ctx.new_uuid(), seq=self._seq, **kwargs)
        seed = job.noise.get("seed") if isinstance(job.noise, dict) else None
        # noise.seed fixes the sampling of the job (each child of a batch gets its own stream).
        job.rng = (
            np.random.default_rng([seed, stream])
            if isinstance(seed, int)
            else self.ctx.job_rng(self._seq)
        )
        self.jobs[job.id] = job
        return job

    # -- POST /jobs ----------------------------------------------------------------------------

    async def create_job(self, request: web.Request) -> web.Response:
        """``POST /jobs``: validate, decode and store a job (or a multi-circuit parent)."""
        body = await read_json(request)
        if not isinstance(body, dict):
            raise _bad("request body must be a JSON object")
        submission = self._submission(body, _owner(request))
        job = self._store(submission)
        self.ctx.stats.track_job(job.lifecycle, submission.circuits)
        return json_response(
            {"id": job.id, "status": "submitted", "session_id": job.session_id}, status=201
        )

    def _submission(self, body: dict[str, Any], owner: str) -> _Submission:
        """The checked fields of a ``POST /jobs`` body (400 on the first bad one)."""
        job_type = body.get("type", "ionq.circuit.v1")
        if job_type not in _TYPES:
            raise _bad(f"type: unknown job type {job_type!r}; known: {list(_TYPES)}")
        backend = self._backend(body.get("backend"))
        shots = _int_field(body.get("shots", _DEFAULT_SHOTS), "shots", 1, _MAX_SHOTS)
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise _bad(f"name: must be a string, got {name!r}")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise _bad(f"metadata: must be an object, got {metadata!r}")
        noise = self._noise(body.get("noise"), backend)
        settings = body.get("settings")
        if settings is not None and not isinstance(settings, dict):
            raise _bad(f"settings: must be an object, got {settings!r}")
        dry_run = body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise _bad(f"dry_run: must be a boolean, got {dry_run!r}")
        session = self._session_for(body.get("session_id"), backend, owner)
        data = body.get("input")
        if not isinstance(data, dict):
            raise _bad(f"input: must be an object, got {data!r}")
        circuits = self._decode_input(job_type, data, backend)
        common: dict[str, Any] = {
            "backend": backend.name,
            "shots": shots,
            "noise": noise,
            "settings": settings,
            "dry_run": dry_run,
            "session_id": session.id if session else None,
            "owner": owner,
        }
        return _Submission(
            job_type=job_type,
            name=name,
            metadata=metadata,
            data=data,
            circuits=circuits,
            session=session,
            common=common,
            extra={k: v for k, v in body.items() if k not in _BODY_FIELDS},
        )

    def _store(self, sub: _Submission) -> IonQJob:
        """Create and register the job of a checked submission (a parent and its children for a
        multi-circuit job); a name or metadata containing ``qjobs_fail`` makes it fail."""
        asked_to_fail = "qjobs_fail" in (sub.name or "") or (
            isinstance(sub.metadata, dict) and "qjobs_fail" in sub.metadata
        )
        fails = asked_to_fail or self.ctx.draw_failure()
        multi = sub.job_type == "ionq.multi-circuit.v1"
        job = self._new_job(
            type=sub.job_type,
            name=sub.name if sub.name is not None or not multi else f"{len(sub.circuits)} circuits",
            lifecycle=self.ctx.new_lifecycle(fails),
            circuit=None if multi else sub.circuits[0],
            metadata=sub.metadata,
            extra=sub.extra,
            **sub.common,
        )
        if fails:
            job.failure = requested_failure()
        if multi:
            for index, circuit in enumerate(sub.circuits):
                child = self._new_job(
                    stream=index,
                    type="ionq.circuit.v1",
                    name=circuit.name,
                    lifecycle=self.ctx.new_lifecycle(),
                    circuit=circuit,
                    parent_id=job.id,
                    **sub.common,
                )
                self._check_size(child)
                job.children.append(child)
        else:
            self._check_size(job)
            if sub.job_type == "ionq.qasm3.v1":
                job.artifacts[self.ctx.new_uuid()] = {"kind": SHOTS_ARTIFACT}
        if sub.common["dry_run"]:
            job.artifacts[self.ctx.new_uuid()] = {
                "kind": "compiled",
                "format": "ionq.circuit.v1",
                "content": sub.data,
            }
        if sub.session is not None:
            sub.session.job_ids.append(job.id)
        return job

    def _noise(self, noise: Any, backend: BackendInfo) -> Any:
        if noise is None:
            return {"model": "ideal", "seed": None} if backend.is_simulator else None
        if not isinstance(noise, dict):
            raise _bad(f"noise: must be an object, got {noise!r}")
        model = noise.get("model", "ideal")
        if model not in NOISE_MODELS:
            raise _bad(f"noise.model: unknown noise model {model!r}; known: {list(NOISE_MODELS)}")
        seed = noise.get("seed")
        if seed is not None and not is_int(seed, low=0):
            raise _bad(f"noise.seed: must be a non-negative integer or null, got {seed!r}")
        return noise

    def _session_for(self, session_id: Any, backend: BackendInfo, owner: str) -> IonQSession | None:
        if session_id is None:
            return None
        session = self.sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None or session.owner != owner:
            raise _bad(f"session_id: unknown session {session_id!r}")
        if session.ended is not None:
            raise _bad(f"session_id: session {session_id} has ended")
        if session.backend != backend.name:
            raise _bad(f"backend: session {session_id} runs on {session.backend}")
        limit = session.settings.get("job_count_limit")
        if isinstance(limit, int) and len(session.job_ids) >= limit:
            raise _bad(f"session_id: session {session_id} reached its job_count_limit {limit}")
        return session

    def _decode_input(
        self, job_type: str, data: dict[str, Any], backend: BackendInfo
    ) -> list[Circuit]:
        qubits = data.get("qubits")
        if qubits is not None:
            qubits = _int_field(qubits, "input.qubits", 1, 10_000)
            if qubits > backend.qubits:
                raise _bad(
                    f"input.qubits: {qubits} qubits exceed backend {backend.name}'s "
                    f"{backend.qubits}",
                    "TooManyQubits",
                )
        circuits: list[Circuit]
        if job_type == "ionq.qasm3.v1":
            source = data.get("data")
            if not isinstance(source, str):
                raise _bad(f"input.data: must be an OpenQASM 3 string, got {source!r}")
            try:
                circuits = [Circuit.from_qasm(source)]
            except InputError as exc:
                raise _bad(f"input.data: {exc}", "InvalidCircuit") from exc
        else:
            gateset = data.get("gateset", "qis")
            if job_type == "ionq.circuit.v1":
                circuits = [decode_circuit(data.get("circuit"), gateset, qubits, "input.circuit")]
            else:
                items = data.get("circuits")
                if not isinstance(items, list) or not items:
                    raise _bad("input.circuits: must be a non-empty list")
                circuits = []
                for i, item in enumerate(items):
                    if not isinstance(item, dict):
                        raise _bad(f"input.circuits[{i}]: must be an object")
                    cname = item.get("name")
                    circuits.append(
                        decode_circuit(
                            item.get("circuit"),
                            gateset,
                            qubits,
                            f"input.circuits[{i}].circuit",
                            name=cname if isinstance(cname, str) else None,
                        )
                    )
        for circuit in circuits:
            if circuit.num_qubits > backend.qubits:
                raise _bad(
                    f"input: the circuit uses {circuit.num_qubits} qubits, backend "
                    f"{backend.name} has {backend.qubits}",
                    "TooManyQubits",
                )
        return circuits

    def _check_size(self, job: IonQJob) -> None:
        circuit = job.circuit
        if circuit is None:
            return
        width = circuit.num_qubits
        if circuit.num_clbits == 0:
            width = len({q for ins in circuit.instructions for q in ins.qubits})
        if width > MAX_SIM_QUBITS:
            job.lifecycle.fails = True
            job.failure = {
                "code": "EmulatorLimit",
                "error": f"the emulator simulates at most {MAX_SIM_QUBITS} active qubits",
            }

    # -- job reads -----------------------------------------------------------------------------

    async def get_job(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}``."""
        return json_response(self._job(request).to_json(self.ctx.clock, self.ctx.mount + PREFIX))

    async def list_jobs(self, request: web.Request) -> web.Response:
        """``GET /jobs`` with filters and a cursor; newest first."""
        q = request.query
        ids: set[str] | None = None
        raw_ids = q.getall("ids", []) + q.getall("ids[]", [])
        if raw_ids:
            ids = {part.strip() for raw in raw_ids for part in raw.split(",") if part.strip()}
        statuses: set[str] | None = None
        if "status" in q:
            statuses = set()
            for part in q["status"].split(","):
                s = part.strip().lower()
                if s in _STATUS_ALIASES:
                    statuses |= _STATUS_ALIASES[s]
                elif s in _STATUSES:
                    statuses.add(s)
                else:
                    raise _bad(f"status: unknown status {part!r}")
        targets = {t.strip() for t in q["target"].split(",")} if "target" in q else None
        parent = q.get("parent_job_id")
        session = q.get("session_id")
        limit = _query_int(request, "limit", _DEFAULT_LIMIT, 1, _MAX_LIMIT)
        before: int | None = None
        if q.get("next"):
            cursor = q["next"]
            if not (cursor.startswith("c") and cursor[1:].isdigit()):
                raise _bad(f"next: invalid cursor {cursor!r}")
            before = int(cursor[1:])
        now = self.ctx.clock.now()
        owner = _owner(request)
        found: list[IonQJob] = []
        has_more = False
        candidates: Any = self.jobs.values()
        if ids is not None:  # polling many jobs by id: no scan of the whole store
            candidates = [self.jobs[i] for i in ids if i in self.jobs]
        for job in sorted(candidates, key=lambda j: j.seq, reverse=True):
            if job.owner != owner:
                continue
            if before is not None and job.seq >= before:
                continue
            if ids is not None and job.id not in ids:
                continue
            if parent is not None and job.parent_id != parent:
                continue
            if session is not None and job.session_id != session:
                continue
            if targets is not None and job.backend not in targets:
                continue
            if statuses is not None and status_of(job, now) not in statuses:
                continue
            if len(found) == limit:
                has_more = True
                break
            found.append(job)
        cursor_out = f"c{found[-1].seq}" if has_more and found else None
        return json_response(
            {
                "jobs": [j.to_json(self.ctx.clock, self.ctx.mount + PREFIX) for j in found],
                "next": cursor_out,
            }
        )

    def _completed(self, job: IonQJob) -> None:
        phase = job.phase(self.ctx.clock.now())
        if phase is Phase.DONE and not job.dry_run:
            return
        status = status_of(job, self.ctx.clock.now())
        if not phase.is_final:
            raise HTTPProblem(409, f"job {job.id} has no results yet (status {status})", "Conflict")
        reason = "is a dry run" if job.dry_run else f"has no results (status {status})"
        raise _bad(f"job {job.id} {reason}")

    @staticmethod
    def _keyed(values: dict[int, Any]) -> dict[str, Any]:
        return {str(k): v for k, v in sorted(values.items())}

    def _probabilities(self, job: IonQJob) -> dict[str, float]:
        assert job.outcomes is not None
        return self._keyed(job.outcomes.probabilities)

    async def probabilities(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}/results/probabilities[?sharpen=true|false]``.

        ``sharpen`` is validated (case-insensitively) and accepted; it changes nothing because the
        emulator does not model error-mitigation aggregation.
        """
        job = self._job(request)
        _query_bool(request, "sharpen")
        self._completed(job)
        if job.children:
            return json_response({c.id: self._probabilities(c) for c in job.children})
        return json_response(self._probabilities(job))

    async def aggregated(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}/results/probabilities/aggregated``: ``{child_id: probs}``, in order."""
        job = self._job(request)
        _query_bool(request, "sharpen")
        self._completed(job)
        members = job.children or [job]
        return json_response({c.id: self._probabilities(c) for c in members})

    async def shots(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}/results/shots``: one decimal outcome string per shot."""
        job = self._job(request)
        self._completed(job)
        if job.children:
            raise _bad(f"job {job.id} is a multi-circuit job: fetch each child's shots")
        assert job.outcomes is not None
        return json_response([str(int(s)) for s in job.outcomes.samples])

    async def histogram(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}/results/histogram``: shot counts (per child for a batch)."""
        job = self._job(request)
        self._completed(job)
        if job.children:
            out: dict[str, Any] = {}
            for c in job.children:
                assert c.outcomes is not None
                out[c.id] = self._keyed(c.outcomes.counts())
            return json_response(out)
        assert job.outcomes is not None
        return json_response(self._keyed(job.outcomes.counts()))

    async def artifact(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}/artifacts/{artifact_id}``: qasm3 shot registers, compiled circuits."""
        job = self._job(request)
        artifact_id = request.match_info["artifact_id"]
        artifact = job.artifacts.get(artifact_id)
        if artifact is None:
            raise HTTPProblem(404, f"artifact {artifact_id} not found", "Not Found")
        if artifact["kind"] == "compiled":
            self._completed_or_dry(job)
            return json_response({"format": artifact["format"], "input": artifact["content"]})
        self._completed(job)
        assert job.outcomes is not None
        assert job.circuit is not None
        return json_response({"shots": register_shots(job.circuit, job.outcomes.samples)})

    def _completed_or_dry(self, job: IonQJob) -> None:
        if job.phase(self.ctx.clock.now()) is not Phase.DONE:
            raise HTTPProblem(409, f"job {job.id} is not completed", "Conflict")

    # -- cancel / delete -----------------------------------------------------------------------

    def _cancel(self, job: IonQJob) -> None:
        now = self.ctx.clock.now()
        job.lifecycle.cancel(now)
        for child in job.children:
            child.lifecycle.cancel(now)

    async def cancel(self, request: web.Request) -> web.Response:
        """``PUT /jobs/{id}/status/cancel``."""
        job = self._job(request)
        self._cancel(job)
        return json_response({"id": job.id, "status": status_of(job, self.ctx.clock.now())})

    async def cancel_many(self, request: web.Request) -> web.Response:
        """``PUT /jobs/status/cancel`` with ``{"ids": [...]}``; unknown ids are skipped."""
        body = await read_json(request)
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _bad("ids: must be a list of job ids")
        done: list[str] = []
        owner = _owner(request)
        for job_id in ids:
            job = self.jobs.get(job_id)
            if job is not None and job.owner == owner:
                self._cancel(job)
                done.append(job_id)
        return json_response({"ids": done, "status": "canceled"})

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /jobs/{id}`` (children go with their parent)."""
        job = self._job(request)
        now = self.ctx.clock.now()
        for j in [job, *job.children]:
            j.lifecycle.remove(now)
            self.jobs.pop(j.id, None)
        return json_response({"id": job.id, "status": "deleted"})

    # -- estimate ------------------------------------------------------------------------------

    async def estimate(self, request: web.Request) -> web.Response:
        """``GET /jobs/estimate``: a cost and time estimate from gate counts and shots."""
        q = request.query
        backend = self._backend(q.get("backend"))
        job_type = q.get("type", "ionq.circuit.v1")
        if job_type not in _TYPES:
            raise _bad(f"type: unknown job type {job_type!r}")
        one_q = _query_int(request, "1q_gates", 0, 0, 10**9)
        two_q = _query_int(request, "2q_gates", 0, 0, 10**9)
        qubits = _query_int(request, "qubits", 1, 1, 10_000)
        if qubits > backend.qubits:
            raise _bad(f"qubits: {qubits} exceed backend {backend.name}'s {backend.qubits}")
        shots = _query_int(request, "shots", _DEFAULT_SHOTS, 1, _MAX_SHOTS)
        mitigation = bool(_query_bool(request, "error_mitigation"))
        session = bool(_query_bool(request, "session"))
        rate_1q, rate_2q, minimum = RATES.get(backend.name, (0.0, 0.0, 0.0))
        cost = shots * (one_q * rate_1q + two_q * rate_2q)
        if cost > 0 or not backend.is_simulator:
            cost = max(cost, minimum * (2.5 if mitigation else 1.0))
        exec_s = 0.0 if backend.is_simulator else shots * (one_q * 1e-4 + two_q * 6e-4) + 1.0
        return json_response(
            {
                "input_values": {
                    "type": job_type,
                    "backend": backend.name,
                    "1q_gates": one_q,
                    "2q_gates": two_q,
                    "qubits": qubits,
                    "shots": shots,
                    "error_mitigation": mitigation,
                    "session": session,
                },
                "estimated_cost": round(cost, 6),
                "cost_unit": "usd",
                "estimated_execution_time": round(exec_s, 3),
                "current_predicted_queue_time": self.ctx.options.queue_time,
                "estimated_at": self.ctx.clock.iso(self.ctx.clock.now()),
                "rate_information": {
                    "1q_gate_shot_rate": rate_1q,
                    "2q_gate_shot_rate": rate_2q,
                    "minimum_cost": minimum,
                },
            }
        )

    # -- backends ------------------------------------------------------------------------------

    def _backend_json(self, b: BackendInfo) -> dict[str, Any]:
        now = self.ctx.clock.iso(self.ctx.clock.now())
        return {
            "backend": b.name,
            "status": "available",
            "qubits": b.qubits,
            "average_queue_time": round(self.ctx.options.queue_time * 1000),
            "last_updated": now,
            "characterization_id": None if b.is_simulator else characterization_id(b.name, 0),
            "degraded": False,
            "noise_models": list(NOISE_MODELS) if b.is_simulator else [],
            "supported_gates": [*QIS_GATES, *QIS_GATES_2Q],
            "supported_native_gates": ["gpi", "gpi2", "ms", "zz"],
            "supported_error_mitigations": [] if b.is_simulator else ["debiasing"],
        }

    async def list_backends(self, request: web.Request) -> web.Response:
        """``GET /backends`` (no auth needed)."""
        return json_response([self._backend_json(b) for b in BACKENDS.values()])

    async def get_backend(self, request: web.Request) -> web.Response:
        """``GET /backends/{backend}`` (no auth needed)."""
        name = request.match_info["backend"]
        if name not in BACKENDS:
            raise HTTPProblem(404, f"backend {name} not found", "Not Found")
        return json_response(self._backend_json(BACKENDS[name]))

    async def characterizations(self, request: web.Request) -> web.Response:
        """``GET /backends/{backend}/characterizations[?limit=N]``, newest first."""
        name = request.match_info["backend"]
        if name not in BACKENDS:
            raise HTTPProblem(404, f"backend {name} not found", "Not Found")
        limit = _query_int(request, "limit", 10, 1, 100)
        b = BACKENDS[name]
        items = [characterization(b, i) for i in range(min(limit, CHARACTERIZATIONS))]
        return json_response({"characterizations": items, "pages": 0})

    # -- sessions ------------------------------------------------------------------------------

    def _session_json(self, s: IonQSession) -> dict[str, Any]:
        clock = self.ctx.clock
        end = s.ended if s.ended is not None else clock.now()
        return {
            "id": s.id,
            "backend": s.backend,
            "state": "ended" if s.ended is not None else "active",
            "settings": s.settings,
            "created_at": clock.iso(s.created),
            "ended_at": clock.iso(s.ended) if s.ended is not None else None,
            "usage_time": round((end - s.created) * 1000),
            "job_count": len(s.job_ids),
            "organization_id": "qjobs-emulator",
            "project_id": "qjobs-emulator-project",
        }

    async def create_session(self, request: web.Request) -> web.Response:
        """``POST /sessions`` with ``{"backend", "settings"}``."""
        body = await read_json(request)
        if not isinstance(body, dict):
            raise _bad("request body must be a JSON object")
        backend = self._backend(body.get("backend"))
        settings = body.get("settings", {})
        if not isinstance(settings, dict):
            raise _bad(f"settings: must be an object, got {settings!r}")
        limit = settings.get("job_count_limit")
        if limit is not None:
            _int_field(limit, "settings.job_count_limit", 1, 10**6)
        session = IonQSession(
            self.ctx.new_uuid(), backend.name, settings, self.ctx.clock.now(), _owner(request)
        )
        self.sessions[session.id] = session
        return json_response(self._session_json(session), status=201)

    def _session(self, request: web.Request) -> IonQSession:
        sid = request.match_info["sid"]
        session = self.sessions.get(sid)
        if session is None or session.owner != _owner(request):
            raise HTTPProblem(404, f"session {sid} not found", "Not Found")
        return session

    async def get_session(self, request: web.Request) -> web.Response:
        """``GET /sessions/{sid}``."""
        return json_response(self._session_json(self._session(request)))

    async def end_session(self, request: web.Request) -> web.Response:
        """``POST /sessions/{sid}/end``: no new jobs; queued ones still run."""
        session = self._session(request)
        if session.ended is None:
            session.ended = self.ctx.clock.now()
        return json_response(self._session_json(session))

    # -- request record (reserved routes) -----------------------------------------------------

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Record every answered IonQ request (not the reserved ``/_qjobs/`` ones)."""
        path = local_path(request)
        if path.startswith(PREFIX + "/") or path == PREFIX:
            self.requests.record(
                request.method,
                request.path,
                request.query_string,
                response.status,
                request.headers,
            )

    async def recorded_requests(self, request: web.Request) -> web.Response:
        """``GET /_qjobs/ionq/requests``: the recent requests, oldest first, headers redacted."""
        return json_response({"requests": [r.to_json() for r in self.requests.entries]})

    async def clear_requests(self, request: web.Request) -> web.Response:
        """``DELETE /_qjobs/ionq/requests``: forget the recorded requests."""
        self.requests.clear()
        return json_response({"requests": []})
