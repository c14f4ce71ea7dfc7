"""The async Qibo cloud client (the protocol of qibo-client 0.2.x).

``QiboClient`` speaks Qibo cloud's REST protocol over one :class:`~qjobs.transport.Transport`:
the server version check (once per client), job submission (one circuit per job, encoded as
Qibo's circuit JSON by :mod:`qjobs.providers.qibo.circuits`), job reads with queue position and
estimated start, the job list, deletion (one job or all), disk and project quotas, and results.
Results come from the job's ``frequencies`` when the server sends them, otherwise from the result
archive, which is **untrusted input**: it is streamed to a private spooled buffer, read without
touching the disk, and its ``results.npy`` pickle is loaded by a restricted unpickler that builds
numpy arrays and plain data only (:mod:`qjobs.providers.qibo.archive`). Qibo's bitstrings put the
first measured qubit leftmost; results follow the qjobs convention (bit 0 rightmost).

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("qibo") as qibo:       # QIBO_CLIENT_TOKEN etc. from .env / env
        job = await qibo.submit(circuit, shots=100, backend="sim")
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any, ClassVar, Final, Literal, Unpack

import anyio
import numpy as np
import orjson

from qjobs._core.config import resolve_setting
from qjobs._core.errors import InputError, JobError, MalformedResponseError, NotFoundError
from qjobs._core.models import (
    Backend,
    Job,
    JobStatus,
    OutcomeCheck,
    Result,
    counts_from_probabilities,
)
from qjobs._core.validation import is_int
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import (
    Capabilities,
    ClientOptions,
    Credentials,
    ProviderClient,
    job_id,
    open_transport,
    segment,
)
from qjobs.providers.qibo import circuits as codec
from qjobs.providers.qibo.archive import (
    RESULTS_FILE,
    ArchiveLimits,
    QiboResults,
    UnsafeArchiveError,
    UnsafePickleError,
    extract_archive,
    load_npy_dict,
    parse_results,
    read_archive,
)
from qjobs.providers.qibo.circuits import MeasurementMap
from qjobs.providers.qibo.models import (
    PROVIDER,
    DiskQuota,
    JobPostServerError,
    Partition,
    ProjectQuota,
    QiboVersionError,
    ServerVersion,
    backend_from_quota,
    error_parser,
    job_from_wire,
    quota_from_wire,
    require_keys,
)
from qjobs.transport import RequestKind

__all__ = [
    "CLIENT_VERSION",
    "DEFAULT_BASE_URL",
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "ArchiveLimits",
    "DiskQuota",
    "JobPostServerError",
    "Partition",
    "ProjectQuota",
    "QiboClient",
    "QiboVersionError",
    "ServerVersion",
    "UnsafeArchiveError",
    "UnsafePickleError",
]

logger = logging.getLogger("qjobs.providers.qibo")

#: Qibo's public cloud (qibo-client 0.2.4 has no default; older clients used this one).
DEFAULT_BASE_URL: Final = "https://cloud.qibo.science"
#: Environment variables holding the API token, in lookup order (each: ``.env``, then env).
TOKEN_VARIABLES: Final = ("QIBO_CLIENT_TOKEN", "QIBO_TOKEN")
#: Environment variables holding the server URL, in lookup order.
URL_VARIABLES: Final = ("QIBO_CLIENT_URL", "QIBO_URL")
#: The qibo-client protocol version qjobs speaks (sent as ``x-qibo-client-version``).
CLIENT_VERSION: Final = "0.2.4"
TOKEN_HEADER: Final = "x-api-token"
DEFAULT_DEVICE: Final = "sim"
DEFAULT_PROJECT: Final = "personal"

_ResultSource = Literal["auto", "frequencies", "archive"]
_ON_UPDATE: ContextVar[Callable[[Job], None] | None] = ContextVar("qibo_on_update", default=None)
_SPOOL_BYTES: Final = 8 * 2**20


def _job_id(job: Job | str, field: str = "job") -> str:
    return job_id(job, field, what="a Qibo job pid")


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InputError(field, value, "must be a non-empty string of <= 200 characters")
    return value


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.strip().split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits) if digits else 0)
        if digits != piece:
            break
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


class QiboClient(ProviderClient):
    """Async client for Qibo cloud.

    The token comes from ``token=``, else ``QIBO_CLIENT_TOKEN``, ``QIBO_TOKEN`` (all looked up
    in the environment first, then in ``./.env``); the server from ``base_url=``, else
    ``QIBO_CLIENT_URL``, ``QIBO_URL``, else ``https://cloud.qibo.science`` -- the server root,
    without ``/api``, as given to qibo-client's ``Client(token, url)``. Requests carry
    ``x-api-token: <token>`` (never in a repr, a log line or an exception) and
    ``x-qibo-client-version``. ``project`` is the quota charged by default; ``cancel_deletes``
    lets :meth:`cancel` delete an unfinished job (Qibo has no cancel, and deleting loses the
    record); ``archive_limits`` bounds downloaded archives; ``validate`` checks device, width
    and shots against the project quotas (fetched once) before submitting.
    """

    provider: ClassVar[str] = PROVIDER
    #: One circuit per job (the protocol has no batch). The job list returns every job of the
    #: user in one request, so many statuses cost one ``GET /api/jobs/``. No client key can be
    #: stored with a job, so submission is not idempotent (``submit_key`` is false).
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        max_circuits_per_job=1,
        max_payload_bytes=5_000_000,
        status_batch_size=500,
        poll_initial=0.5,
        poll_max=10.0,
        poll_factor=1.5,
        requests_per_second=10.0,
        max_concurrent_requests=8,
        max_in_flight_jobs=200,
        page_size=1000,
        submit_key=False,
        cancel_batch=False,
    )

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        project: str = DEFAULT_PROJECT,
        cancel_deletes: bool = False,
        validate: bool = True,
        archive_limits: ArchiveLimits | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        secret = resolve_setting("token", token, TOKEN_VARIABLES, dotenv=True, required=True)
        url = resolve_setting(
            "base_url", base_url, URL_VARIABLES, dotenv=True, default=DEFAULT_BASE_URL
        )
        assert secret.value is not None
        assert url.value is not None
        if not isinstance(cancel_deletes, bool):
            raise InputError("cancel_deletes", cancel_deletes, "must be a bool")
        if not isinstance(validate, bool):
            raise InputError("validate", validate, "must be a bool")
        if archive_limits is not None and not isinstance(archive_limits, ArchiveLimits):
            raise InputError("archive_limits", archive_limits, "must be an ArchiveLimits")
        base = url.value.rstrip("/")
        if base.endswith("/api"):
            raise InputError("base_url", base, "give the server root, without /api")
        credentials = Credentials(
            base, {TOKEN_HEADER: secret.value}, {"x-qibo-client-version": CLIENT_VERSION}
        )
        transport, caps = open_transport(type(self), credentials, options, error_parser)
        super().__init__(transport, capabilities=caps)
        self.project = _name(project, "project")
        self.cancel_deletes = cancel_deletes
        self.validate = validate
        self.archive_limits = archive_limits or ArchiveLimits()
        self.token_source = secret.source
        self._version: ServerVersion | None = None
        self._version_lock = anyio.Lock()
        self._quotas: list[ProjectQuota] | None = None
        self._quota_lock = anyio.Lock()
        self._results_cache: dict[tuple[str, str, bool], Result] = {}

    async def _get_json(self, path: str, route: str) -> Any:
        resp = await self._transport.request("GET", path, route=route)
        return resp.json()

    # ----------------------------------------------------------------------------- version
    async def server_version(self) -> ServerVersion:
        """``GET /api/qibo_version/``: the server's qibo version and the oldest it accepts.

        Missing keys raise :class:`~qjobs.MalformedResponseError` (as qibo-client does).
        """
        path = "/api/qibo_version/"
        data = require_keys(
            await self._get_json("api/qibo_version/", "GET /api/qibo_version/"),
            ("server_qibo_version", "minimum_client_qibo_version"),
            "version answer",
            path,
        )
        return ServerVersion(
            server_qibo_version=str(data["server_qibo_version"]),
            minimum_client_qibo_version=str(data["minimum_client_qibo_version"]),
        )

    async def check_version(self) -> ServerVersion:
        """Check once per client that the server accepts the circuit format qjobs writes.

        A server whose ``minimum_client_qibo_version`` is newer than
        :data:`qjobs.providers.qibo.circuits.FORMAT_VERSION` raises :class:`QiboVersionError`
        (nothing is submitted); a newer server version is only logged.
        """
        async with self._version_lock:
            if self._version is None:
                found = await self.server_version()
                supported = codec.FORMAT_VERSION
                if _version_tuple(found.minimum_client_qibo_version) > _version_tuple(supported):
                    raise QiboVersionError(found.minimum_client_qibo_version, supported)
                if _version_tuple(found.server_qibo_version) > _version_tuple(supported):
                    logger.warning(
                        "qibo: the server runs qibo %s; qjobs writes the %s circuit format",
                        found.server_qibo_version,
                        supported,
                    )
                self._version = found
            return self._version

    # ------------------------------------------------------------------------------ quotas
    async def project_quotas(self) -> list[ProjectQuota]:
        """``GET /api/projectquotas/``: every (project, device) quota of the user."""
        data = await self._get_json("api/projectquotas/", "GET /api/projectquotas/")
        if not isinstance(data, list):
            raise MalformedResponseError("project quotas are not a list", provider=PROVIDER)
        out = [quota_from_wire(item) for item in data]
        self._quotas = out
        return out

    async def disk_quota(self) -> DiskQuota:
        """``GET /api/disk_quota/``: kilobytes left for result archives."""
        data = await self._get_json("api/disk_quota/", "GET /api/disk_quota/")
        first = data[0] if isinstance(data, list) and data else data
        if not isinstance(first, Mapping):
            raise MalformedResponseError("disk quota is not an object", provider=PROVIDER)
        user = first.get("user")
        email = user.get("email") if isinstance(user, Mapping) else None

        def number(key: str) -> float | None:
            value = first.get(key)
            return (
                float(value)
                if isinstance(value, int | float) and not isinstance(value, bool)
                else None
            )

        return DiskQuota(
            email=email if isinstance(email, str) else None,
            kbs_left=number("kbs_left"),
            kbs_max=number("kbs_max"),
        )

    async def backends(self, project: str | None = None) -> list[Backend]:
        """The devices of ``project`` (default: the client's), from the project quotas."""
        chosen = self.project if project is None else _name(project, "project")
        return [backend_from_quota(q) for q in await self.project_quotas() if q.project == chosen]

    async def _quota_for(self, project: str, device: str) -> ProjectQuota | None:
        async with self._quota_lock:
            if self._quotas is None:
                try:
                    await self.project_quotas()
                except NotFoundError:
                    logger.debug("qibo: no project quotas at %s; skipping checks", self.base_url)
                    self._quotas = []
        quotas = self._quotas or []
        if not quotas:
            return None
        found = next(
            (q for q in quotas if q.project == project and q.partition.name == device), None
        )
        if found is None:
            known = sorted({q.partition.name for q in quotas if q.project == project})
            if not known:
                projects = sorted({q.project for q in quotas})
                raise InputError("project", project, f"unknown project; yours: {projects}")
            raise InputError("backend", device, f"not in project {project!r}; devices: {known}")
        return found

    # ------------------------------------------------------------------------------ submit
    def build_body(
        self,
        circuit: Circuit | Sequence[Circuit],
        *,
        shots: int,
        backend: str = DEFAULT_DEVICE,
        project: str | None = None,
        verbatim: bool = False,
    ) -> tuple[dict[str, Any], codec.Encoded]:
        """Validate and build the ``POST /api/jobs/`` body (no request is made)."""
        if not is_int(shots, low=1):
            raise InputError("shots", shots, "must be an int >= 1")
        device = _name(backend, "backend")
        chosen = self.project if project is None else _name(project, "project")
        if not isinstance(verbatim, bool):
            raise InputError("verbatim", verbatim, "must be a bool")
        obj: object = circuit
        if not isinstance(circuit, Circuit):
            if isinstance(obj, str) or not isinstance(obj, Sequence):
                raise InputError("circuits", type(circuit).__name__, "must be a Circuit")
            if len(circuit) != 1:
                raise InputError(
                    "circuits", f"{len(circuit)} circuits", "Qibo cloud runs one circuit per job"
                )
            circuit = circuit[0]
        encoded = codec.encode(circuit)
        body = {
            "circuit": encoded.circuit,
            "nshots": shots,
            "device": device,
            "project": chosen,
            "verbatim": verbatim,
        }
        size = len(orjson.dumps(body))
        if size > self.capabilities.max_payload_bytes:
            raise InputError(
                "circuits",
                f"{size} bytes",
                f"exceeds max_payload_bytes={self.capabilities.max_payload_bytes}",
            )
        return body, encoded

    async def submit(
        self,
        circuits: Circuit | Sequence[Circuit],
        *,
        shots: int,
        backend: str | None = DEFAULT_DEVICE,
        name: str | None = None,
        key: str | None = None,
        project: str | None = None,
        verbatim: bool = False,
        **options: Any,
    ) -> Job:
        """Submit one circuit (``POST /api/jobs/``) and return the new job without waiting.

        ``backend`` is Qibo's ``device`` (default ``"sim"``), ``project`` the quota to charge
        (default: the client's), ``verbatim`` asks the server not to transpile. Input is checked
        first (shots, circuit encodability, one circuit); then, once per client, the server
        version and (with ``validate``) the device, width and shot limits of the project.
        ``name`` and ``key`` cannot be stored by Qibo and are ignored (``submit_key`` is false).
        The POST is never repeated once it may have reached the server. An answer without a
        ``pid`` raises :class:`JobPostServerError` with the server's ``detail``.
        """
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for Qibo")
        if name is not None and not isinstance(name, str):
            raise InputError("name", name, "must be a string")
        if key is not None and not isinstance(key, str):
            raise InputError("key", key, "must be a string")
        body, encoded = self.build_body(
            circuits,
            shots=shots,
            backend=DEFAULT_DEVICE if backend is None else backend,
            project=project,
            verbatim=verbatim,
        )
        await self.check_version()
        if self.validate:
            quota = await self._quota_for(body["project"], body["device"])
            if quota is not None:
                part = quota.partition
                if part.max_num_qubits is not None and encoded.qubits > part.max_num_qubits:
                    raise InputError(
                        "circuits",
                        f"{encoded.qubits} qubits",
                        f"device {part.name!r} has {part.max_num_qubits} qubits",
                    )
                if quota.max_num_shots is not None and shots > quota.max_num_shots:
                    raise InputError(
                        "shots", shots, f"device {part.name!r} allows <= {quota.max_num_shots}"
                    )
                if not part.available:
                    raise InputError("backend", part.name, f"device is {part.status}")
        resp = await self._transport.request(
            "POST", "api/jobs/", json=body, kind=RequestKind.CREATE, route="POST /api/jobs/"
        )
        data = resp.json()
        pid = data.get("pid") if isinstance(data, Mapping) else None
        if not isinstance(pid, str) or not pid:
            detail = data.get("detail") if isinstance(data, Mapping) else None
            raise JobPostServerError(detail if isinstance(detail, str) else None)
        job = job_from_wire(
            {
                "pid": pid,
                "status": "queueing",
                "nshots": shots,
                "circuit": body["circuit"],
                "projectquota": {"partition": {"name": body["device"]}},
                "project": body["project"],
            }
        )
        logger.debug("qibo: submitted job %s (%d shots, device %s)", pid, shots, body["device"])
        return job

    # -------------------------------------------------------------------------------- jobs
    async def get_job(self, job_id: str) -> Job:
        """One job's current state (``GET /api/jobs/{pid}/``), with queue position and ETD."""
        pid = _job_id(job_id, "job_id")
        job = job_from_wire(
            await self._get_json(f"api/jobs/{segment(pid)}/", "GET /api/jobs/{pid}/")
        )
        callback = _ON_UPDATE.get()
        if callback is not None:
            callback(job)
        return job

    async def list_jobs(self) -> list[Job]:
        """Every job of the user (``GET /api/jobs/``: one bare array, no pages)."""
        data = await self._get_json("api/jobs/", "GET /api/jobs/")
        if not isinstance(data, list):
            raise MalformedResponseError("job list is not a list", provider=PROVIDER)
        return [job_from_wire(item) for item in data]

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """Many jobs' states in the order given: one ``GET /api/jobs/`` for all of them; an id
        the list lacks is fetched on its own (so an unknown id raises NotFoundError)."""
        ids = [_job_id(j, f"job_ids[{i}]") for i, j in enumerate(job_ids)]
        if len(set(ids)) <= 1:
            return [await self.get_job(ids[0])] * len(ids) if ids else []
        found = {job.id: job for job in await self.list_jobs()}
        for pid in dict.fromkeys(ids):
            if pid not in found:
                found[pid] = await self.get_job(pid)
        return [found[pid] for pid in ids]

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over the user's jobs (one request; Qibo has no pages).

        Filters, applied here: ``status`` (a qjobs status, raw Qibo status or a list of them)
        and ``backend`` (the device).
        """
        status = filters.pop("status", None)
        backend = filters.pop("backend", None)
        if filters:
            raise InputError(next(iter(filters)), "...", "unknown filter for Qibo jobs")
        wanted: set[str] | None = None
        if status is not None:
            items = [status] if isinstance(status, str | JobStatus) else list(status)
            wanted = {s.value if isinstance(s, JobStatus) else str(s).lower() for s in items}
        for job in await self.list_jobs():
            if wanted is not None and not (
                job.status.value in wanted or job.provider_status.lower() in wanted
            ):
                continue
            if backend is not None and job.backend != backend:
                continue
            yield job

    async def wait(
        self,
        job: Job | str,
        *,
        timeout: float | None = None,
        poll_initial: float | None = None,
        poll_max: float | None = None,
        on_update: Callable[[Job], None] | None = None,
    ) -> Job:
        """Poll until the job is final (see :meth:`ProviderClient.wait`).

        ``on_update`` is called with every polled state, e.g. to show
        ``job.details["queue_position"]`` and ``job.details["estimated_start"]`` while pending.
        """
        token = _ON_UPDATE.set(on_update)
        try:
            return await super().wait(
                job, timeout=timeout, poll_initial=poll_initial, poll_max=poll_max
            )
        finally:
            _ON_UPDATE.reset(token)

    # ------------------------------------------------------------------------- deletion
    async def delete(self, job: Job | str) -> None:
        """Delete a job and its results (``DELETE /api/jobs/{pid}/``)."""
        pid = _job_id(job)
        await self._transport.request(
            "DELETE",
            f"api/jobs/{segment(pid)}/",
            kind=RequestKind.READ,
            route="DELETE /api/jobs/{pid}/",
        )
        for k in [k for k in self._results_cache if k[0] == pid]:
            del self._results_cache[k]

    async def delete_all(self) -> list[str]:
        """Delete every job of the user (``DELETE /api/jobs/bulk_delete/``); the deleted pids."""
        resp = await self._transport.request(
            "DELETE",
            "api/jobs/bulk_delete/",
            kind=RequestKind.READ,
            route="DELETE /api/jobs/bulk_delete/",
        )
        data = resp.json()
        deleted = data.get("deleted") if isinstance(data, Mapping) else None
        if not isinstance(deleted, list):
            raise MalformedResponseError(
                "The server response is missing the following keys: deleted", provider=PROVIDER
            )
        self._results_cache.clear()
        return [str(pid) for pid in deleted]

    async def cancel(self, job: Job | str) -> None:
        """Qibo cloud has no cancel. With ``cancel_deletes=True`` an unfinished job is deleted
        instead (its record is lost); a final job is left alone. Without it, InputError."""
        pid = _job_id(job)
        if not self.cancel_deletes:
            raise InputError(
                "cancel_deletes",
                False,
                "Qibo cloud cannot cancel; create the client with cancel_deletes=True to delete "
                "unfinished jobs instead",
            )
        try:
            current = await self.get_job(pid)
        except NotFoundError:
            return
        if not current.is_final:
            await self.delete(pid)

    # ------------------------------------------------------------------------------ results
    async def _spool_archive(self, pid: str) -> IO[bytes]:
        limit = self.archive_limits.max_archive_bytes
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        try:
            received = 0
            async with self._transport.stream(
                "GET", f"api/jobs/{segment(pid)}/download/", route="GET /api/jobs/{pid}/download/"
            ) as chunks:
                async for chunk in chunks:
                    received += len(chunk)
                    if received > limit:
                        raise UnsafeArchiveError(
                            f"the result archive of job {pid} exceeds {limit} bytes"
                        )
                    spool.write(chunk)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool

    async def download_archive(self, job: Job | str) -> bytes:
        """The raw result archive (``GET /api/jobs/{pid}/download/``), size-limited, unread."""
        with await self._spool_archive(_job_id(job)) as spool:
            return spool.read()

    async def extract_archive(self, job: Job | str, target: str | Path) -> list[Path]:
        """Download the archive and extract it safely into ``target``; the written files.

        Every member is checked first (no absolute paths, no ``..``, no links, no devices, size
        limits) and nothing is written when one is unsafe (:class:`UnsafeArchiveError`).
        """
        if not isinstance(target, str | Path):
            raise InputError("target", target, "must be a path")
        with await self._spool_archive(_job_id(job)) as spool:
            return await anyio.to_thread.run_sync(
                extract_archive, spool, Path(target), self.archive_limits
            )

    async def logs(self, job: Job | str) -> dict[str, str]:
        """``stdout.txt`` and ``stderr.txt`` of a finished job's archive (also after an error)."""
        with await self._spool_archive(_job_id(job)) as spool:
            members = await anyio.to_thread.run_sync(read_archive, spool, self.archive_limits)
        return {
            name: data.decode("utf-8", errors="replace")
            for name, data in members.items()
            if name != RESULTS_FILE
        }

    async def raw_results(self, job: Job | str) -> QiboResults:
        """The validated contents of the job's ``results.npy`` (restricted unpickling)."""
        pid = _job_id(job)
        with await self._spool_archive(pid) as spool:
            members = await anyio.to_thread.run_sync(read_archive, spool, self.archive_limits)
        data = members.get(RESULTS_FILE)
        if data is None:
            raise MalformedResponseError(
                f"the result archive of job {pid} has no {RESULTS_FILE}", provider=PROVIDER
            )
        return parse_results(load_npy_dict(data))

    @staticmethod
    def _map_of(job: Job) -> MeasurementMap | None:
        circuit = job.details.get("circuit")
        if isinstance(circuit, str):
            try:
                circuit = orjson.loads(circuit)
            except orjson.JSONDecodeError:
                return None
        if not isinstance(circuit, Mapping) or not isinstance(circuit.get("queue"), list):
            return None
        gates = [g for g in circuit["queue"] if isinstance(g, Mapping)]
        return codec.map_from_gates(gates)

    @staticmethod
    def _checked_map(job: Job, mmap: MeasurementMap) -> tuple[MeasurementMap, OutcomeCheck]:
        """The map, once its widths are readable; the check for Qibo's column bitstrings."""
        OutcomeCheck.for_result(mmap.num_clbits, PROVIDER, f"job {job.id} result")
        return mmap, OutcomeCheck.for_result(len(mmap.columns), PROVIDER, f"job {job.id} result")

    def _from_frequencies(self, job: Job, freqs: Mapping[str, Any]) -> Result:
        """Counts from the job's ``frequencies``, checked against the submitted circuit."""
        mmap = self._map_of(job)
        if mmap is None:  # a job qjobs did not submit: one column per bitstring character
            widths = {len(k) if isinstance(k, str) else -1 for k in freqs}
            mmap = MeasurementMap.identity(widths.pop() if len(widths) == 1 else -1)
        mmap, check = self._checked_map(job, mmap)
        counts = check.counts(freqs, shots=job.shots)
        width = len(mmap.columns)
        outcomes: dict[int, int] = {}
        for k, n in counts.items():
            out = mmap.outcome_of(format(k, f"0{width}b") if width else "")
            outcomes[out] = outcomes.get(out, 0) + n
        return Result.from_outcomes(outcomes, mmap.num_clbits, job_id=job.id, job=job)

    def _archive_map(self, job: Job, raw: QiboResults) -> MeasurementMap:
        """The submitted circuit's map; for a job qjobs did not submit, the archive's own."""
        width = raw.samples.shape[1] if raw.samples is not None else None
        submitted = self._map_of(job)
        if submitted is not None:
            if width is not None and width != len(submitted.columns):
                raise MalformedResponseError(
                    f"job {job.id} returned samples of {width} columns for a circuit measuring "
                    f"{len(submitted.columns)} qubits",
                    provider=PROVIDER,
                )
            return submitted
        mmap = codec.map_from_gates(raw.measurements) if raw.measurements else None
        if mmap is None or (width is not None and width != len(mmap.columns)):
            if width is None and raw.probabilities is not None:
                width = max(int(raw.probabilities.size).bit_length() - 1, 0)
            mmap = MeasurementMap.identity(width or 0)
        return mmap

    def _from_archive(self, job: Job, raw: QiboResults, memory: bool) -> Result:
        if raw.samples is None and raw.probabilities is None:
            raise MalformedResponseError(
                f"job {job.id} returned a {raw.dtype} without measurements", provider=PROVIDER
            )
        mmap, check = self._checked_map(job, self._archive_map(job, raw))
        n = mmap.num_clbits
        if raw.samples is not None:
            outcomes = mmap.apply_samples(raw.samples)
            counts = np.bincount(outcomes, minlength=1 << n)
            shots = int(outcomes.size)
            probs = counts / shots if shots else counts.astype(np.float64)
            mem = outcomes if memory else None
        else:
            assert raw.probabilities is not None
            probs = mmap.apply_probabilities(check.dense(raw.probabilities))
            shots = raw.nshots or job.shots or 0
            counts = counts_from_probabilities(probs, shots)
            mem = None
        return Result(
            counts={
                format(int(k), f"0{n}b") if n else "": int(counts[k])
                for k in np.flatnonzero(counts)
            },
            probabilities=probs,
            shots=shots,
            num_clbits=n,
            memory=mem,
            job_id=job.id,
            job=job,
        )

    async def results(
        self, job: Job | str, *, source: _ResultSource = "auto", memory: bool = False
    ) -> list[Result]:
        """The result of a completed job, as a one-element list.

        ``source="auto"`` uses the job's ``frequencies`` when the server sent them (no download)
        and the result archive otherwise; ``"archive"`` always reads the archive (restricted
        unpickling), ``"frequencies"`` never does. ``memory=True`` reads per-shot outcomes from
        the archive's samples. Counts use qjobs' bit order (bit 0 rightmost). A failed job
        raises :class:`~qjobs.JobFailedError`, an unfinished one :class:`~qjobs.JobError`.
        """
        if source not in ("auto", "frequencies", "archive"):
            raise InputError("source", source, "must be 'auto', 'frequencies' or 'archive'")
        if not isinstance(memory, bool):
            raise InputError("memory", memory, "must be a bool")
        if memory and source == "frequencies":
            raise InputError("memory", memory, "per-shot outcomes come from the archive only")
        current = job if isinstance(job, Job) and job.is_final else await self.get_job(_job_id(job))
        self.raise_for_job(current)
        if current.status is not JobStatus.COMPLETED:
            raise JobError(
                f"qibo job {current.id} is {current.provider_status or current.status.value}, "
                "not completed",
                job_id=current.id,
                provider=PROVIDER,
            )
        cache_key = (current.id, source, memory)
        cached = self._results_cache.get(cache_key)
        if cached is not None:
            return [cached]
        freqs = current.details.get("frequencies")
        if source != "archive" and not memory and isinstance(freqs, Mapping) and freqs:
            result = self._from_frequencies(current, freqs)
        elif source == "frequencies":
            raise MalformedResponseError(f"job {current.id} has no frequencies", provider=PROVIDER)
        else:
            result = self._from_archive(current, await self.raw_results(current), memory)
        self._results_cache[cache_key] = result
        if len(self._results_cache) > 1024:
            self._results_cache.pop(next(iter(self._results_cache)))
        return [result]
