"""The handlers of the Qibo cloud REST emulator (the protocol of qibo-client 0.2.x).

Every route is under ``/api/`` and ends with ``/`` (Django REST framework style); the base URL
handed to clients is the server root (``Client(token, "http://127.0.0.1:PORT")``). Requests
authenticate with ``x-api-token``; errors are DRF's ``{"detail": "..."}``. Statuses go
``queueing -> pending -> running -> postprocessing -> success`` (or ``error``); pending jobs carry
``queue_position`` and ``etd_seconds``. A finished job's ``/download/`` is a tar.gz holding
``results.npy`` -- a pickled dict written with ``np.save(..., allow_pickle=True)``, exactly what
qibo's ``result.dump`` writes and the official client loads -- plus ``stdout.txt`` and
``stderr.txt``. Finished jobs also carry ``frequencies`` (first measured qubit leftmost).

Each token is its own user (jobs and quotas are per user; tokens are kept only as hashes).
Projects and devices: ``personal`` has ``sim`` (simulator, 30 qubits), ``qw5q`` (hardware,
5 qubits) and ``qjobs_fail`` (a simulator whose jobs always end in ``error``, for tests);
``team`` has ``sim``. A ``fail_rate`` share of all jobs also ends in ``error``.

Test hooks (not part of the wire protocol): ``app[EMULATOR_KEY]`` is the :class:`QiboEmulator`,
whose ``server_version``/``minimum_client_version`` can be changed and whose
:meth:`QiboEmulator.replace_archive` serves chosen bytes as a job's archive.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from qjobs._core.validation import is_int
from qjobs.emulators._common import (
    EmulatorContext,
    HTTPProblem,
    json_response,
    owner_key,
    read_json,
)
from qjobs.emulators._common.clock import Phase
from qjobs.emulators.qibo.state import (
    DISK_KB,
    PROJECTS,
    QIBO_VERSION,
    QiboJob,
    QiboUser,
    Quota,
    build_archive,
    status_of,
)
from qjobs.emulators.qibo.wire import DEFAULT_SHOTS, MAX_SHOTS, decode_circuit, token_of

__all__ = ["QiboEmulator"]


class QiboEmulator:
    """The state and handlers of one Qibo cloud emulator app."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.jobs: dict[str, QiboJob] = {}
        self.users: dict[str, QiboUser] = {}
        self.server_version = QIBO_VERSION
        self.minimum_client_version = "0.3.0"
        self._replaced: dict[str, bytes] = {}
        self._seq = 0

    # -- helpers -----------------------------------------------------------------------------

    def _user(self, request: web.Request) -> QiboUser:
        key = owner_key(token_of(request))
        user = self.users.get(key)
        if user is None:
            quotas: list[Quota] = []
            for project, parts in PROJECTS.items():
                for part in parts:
                    quotas.append(Quota(len(quotas) + 1, project, part))
            user = QiboUser(key, f"user-{key[:8]}@qibo.emulator", quotas)
            self.users[key] = user
        return user

    def _job(self, request: web.Request, user: QiboUser) -> QiboJob:
        pid = request.match_info["pid"]
        job = self.jobs.get(pid)
        if job is None or job.owner != user.key:
            raise HTTPProblem(404, "No Job matches the given query.")
        return job

    def _queue_position(self, job: QiboJob, now: float) -> int:
        ahead = sum(
            1
            for other in self.jobs.values()
            if other.seq < job.seq and other.lifecycle.phase(now) is Phase.QUEUED
        )
        return ahead + 1

    def _job_json(self, job: QiboJob, queued: list[int] | None = None) -> dict[str, Any]:
        """The job's JSON; ``queued``: the sequence numbers of every queued job, sorted (a list
        answer counts them once, not once a job)."""
        now = self.ctx.clock.now()
        position = None
        if job.lifecycle.phase(now) is Phase.QUEUED:
            position = (
                self._queue_position(job, now)
                if queued is None
                else bisect.bisect_left(queued, job.seq) + 1
            )
        return job.to_json(self.ctx.clock, queue_position=position)

    def replace_archive(self, pid: str, data: bytes) -> None:
        """Test hook: serve ``data`` as the download of job ``pid`` (e.g. a hostile archive)."""
        self._replaced[pid] = data

    # -- handlers ------------------------------------------------------------------------------

    async def version(self, request: web.Request) -> web.Response:
        """``GET /api/qibo_version/``."""
        return json_response(
            {
                "server_qibo_version": self.server_version,
                "minimum_client_qibo_version": self.minimum_client_version,
            }
        )

    async def create_job(self, request: web.Request) -> web.Response:
        """``POST /api/jobs/``: validate, decode, charge the quota, store."""
        user = self._user(request)
        body = await read_json(request)
        if not isinstance(body, Mapping):
            raise HTTPProblem(400, "Request body must be a JSON object.")
        device = body.get("device")
        if not isinstance(device, str) or not device:
            raise HTTPProblem(400, "device: This field is required.")
        project = body.get("project", "personal")
        if not isinstance(project, str) or not project:
            raise HTTPProblem(400, "project: must be a project name.")
        if project not in PROJECTS:
            raise HTTPProblem(404, f"Project '{project}' does not exist.")
        quota = next(
            (q for q in user.quotas if q.project == project and q.partition.name == device), None
        )
        if quota is None:
            raise HTTPProblem(400, f"Device '{device}' does not exist.")
        nshots = body.get("nshots")
        if nshots is None:
            nshots = DEFAULT_SHOTS
        if not is_int(nshots, low=1, high=MAX_SHOTS):
            raise HTTPProblem(400, f"nshots: must be an integer from 1 to {MAX_SHOTS}.")
        verbatim = body.get("verbatim", False)
        if not isinstance(verbatim, bool):
            raise HTTPProblem(400, "verbatim: must be a boolean.")
        if quota.partition.status != "available":
            raise HTTPProblem(400, f"Device '{device}' is not available.")
        decoded = decode_circuit(body.get("circuit"))
        if decoded.circuit.num_qubits > quota.partition.max_num_qubits:
            raise HTTPProblem(
                400,
                f"The circuit has {decoded.circuit.num_qubits} qubits; device '{device}' has "
                f"{quota.partition.max_num_qubits}.",
            )
        if quota.jobs_left < 1:
            raise HTTPProblem(
                403, f"No jobs left in the quota of project '{project}' on '{device}'."
            )
        if quota.shots_left < nshots:
            raise HTTPProblem(
                403, f"Not enough shots left in the quota of project '{project}' on '{device}'."
            )
        quota.jobs_left -= 1
        quota.shots_left -= nshots
        opts = self.ctx.options
        fails = quota.partition.always_fails or self.ctx.draw_failure()
        lifecycle = self.ctx.new_lifecycle(fails)
        self._seq += 1
        pid = self.ctx.new_uuid().replace("-", "")
        job = QiboJob(
            pid=pid,
            seq=self._seq,
            owner=user.key,
            email=user.email,
            raw_circuit=body.get("circuit"),
            decoded=decoded,
            nshots=nshots,
            device=quota.partition,
            project=project,
            verbatim=verbatim,
            lifecycle=lifecycle,
            created=lifecycle.submitted,
            rng=self.ctx.job_rng(self._seq),
            projectquota=quota.to_json(),
            error="RuntimeError: the job was asked to fail (device qjobs_fail)"
            if quota.partition.always_fails
            else ("RuntimeError: simulated failure (fail_rate)" if fails else None),
        )
        quota.seconds_left = max(0.0, quota.seconds_left - opts.exec_time)
        self.jobs[pid] = job
        self.ctx.stats.track_job(lifecycle, [decoded.circuit])
        return json_response({"pid": pid, "message": "Job posted"}, status=201)

    async def list_jobs(self, request: web.Request) -> web.Response:
        """``GET /api/jobs/``: the user's jobs, newest first, as a bare array."""
        user = self._user(request)
        mine = [j for j in self.jobs.values() if j.owner == user.key]
        mine.sort(key=lambda j: j.seq, reverse=True)
        now = self.ctx.clock.now()
        queued = sorted(j.seq for j in self.jobs.values() if j.lifecycle.phase(now) is Phase.QUEUED)
        return json_response([self._job_json(j, queued) for j in mine])

    async def get_job(self, request: web.Request) -> web.Response:
        """``GET /api/jobs/{pid}/``."""
        return json_response(self._job_json(self._job(request, self._user(request))))

    async def delete_job(self, request: web.Request) -> web.Response:
        """``DELETE /api/jobs/{pid}/``: the job and its results are gone (204)."""
        job = self._job(request, self._user(request))
        self._remove(job)
        return web.Response(status=204)

    def _remove(self, job: QiboJob) -> None:
        job.lifecycle.remove(self.ctx.clock.now())
        self.jobs.pop(job.pid, None)
        self._replaced.pop(job.pid, None)

    async def bulk_delete(self, request: web.Request) -> web.Response:
        """``DELETE /api/jobs/bulk_delete/``: every job of the user; ``{"deleted": [pid]}``."""
        user = self._user(request)
        mine = sorted((j for j in self.jobs.values() if j.owner == user.key), key=lambda j: j.seq)
        for job in mine:
            self._remove(job)
        return json_response({"deleted": [j.pid for j in mine]})

    async def download(self, request: web.Request) -> web.Response:
        """``GET /api/jobs/{pid}/download/``: the tar.gz of a finished job."""
        user = self._user(request)
        job = self._job(request, user)
        now = self.ctx.clock.now()
        status = status_of(job, now)
        if status not in ("success", "error"):
            raise HTTPProblem(400, f"Job {job.pid} is {status}; results are not ready.")
        data = self._replaced.get(job.pid)
        if data is None:
            if job.archive is None:
                job.archive = build_archive(job)
                user.kbs_left = max(0.0, user.kbs_left - len(job.archive) / 1024)
            data = job.archive
        return web.Response(
            body=data,
            content_type="application/gzip",
            headers={"Content-Disposition": f'attachment; filename="{job.pid}.tar.gz"'},
        )

    async def disk_quota(self, request: web.Request) -> web.Response:
        """``GET /api/disk_quota/``: a one-element array."""
        user = self._user(request)
        return json_response(
            [
                {
                    "user": {"email": user.email},
                    "kbs_left": round(user.kbs_left, 3),
                    "kbs_max": DISK_KB,
                }
            ]
        )

    async def project_quotas(self, request: web.Request) -> web.Response:
        """``GET /api/projectquotas/``: one entry per (project, partition)."""
        user = self._user(request)
        return json_response([q.to_json() for q in user.quotas])
