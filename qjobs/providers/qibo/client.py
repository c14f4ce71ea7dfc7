"""The async Qibo cloud client (the protocol of qibo-client 0.2.x): :class:`QiboClient`.

``QiboClient`` speaks Qibo cloud's REST protocol over one :class:`~qjobs.transport.Transport`:
the server version check (once per client), job submission (one circuit per job, encoded as
Qibo's circuit JSON by :mod:`qjobs.providers.qibo.circuits`), job reads with queue position and
estimated start, the job list, deletion (one job or all), disk and project quotas, and results.
Results come from the job's ``frequencies`` when the server sends them, otherwise from the result
archive, which is **untrusted input**: it is streamed to a private spooled buffer, read without
touching the disk, and its ``results.npy`` pickle is loaded by a restricted unpickler that builds
numpy arrays and plain data only (:mod:`qjobs.providers.qibo.results`). Qibo's bitstrings put the
first measured qubit leftmost; results follow the qjobs convention (bit 0 rightmost). Settings
live in :mod:`~qjobs.providers.qibo.config`, request bodies in :mod:`~qjobs.providers.qibo.bodies`.

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
from typing import IO, Any, ClassVar, Unpack

import anyio

from qjobs._core.errors import InputError, MalformedResponseError, NotFoundError
from qjobs._core.models import Backend, Job, Result
from qjobs.circuit._adapt import CircuitLike, as_circuits
from qjobs.providers._base import (
    Capabilities,
    ClientOptions,
    ProviderClient,
    job_id,
    open_transport,
    require_completed,
    segment,
)
from qjobs.providers.qibo import bodies, config, pages
from qjobs.providers.qibo import circuits as codec
from qjobs.providers.qibo import results as parts
from qjobs.providers.qibo.models import (
    PROVIDER,
    DiskQuota,
    ProjectQuota,
    ServerVersion,
    backend_from_quota,
    created_pid,
    disk_quota_from_wire,
    error_parser,
    job_from_wire,
    quotas_from_wire,
    server_version_from_wire,
    submitted_job,
)
from qjobs.providers.qibo.results import ArchiveLimits, QiboResults, ResultSource
from qjobs.transport import RequestKind

__all__ = ["QiboClient"]

logger = logging.getLogger("qjobs.providers.qibo")

_ON_UPDATE: ContextVar[Callable[[Job], None] | None] = ContextVar("qibo_on_update", default=None)


def _job_id(job: Job | str, field: str = "job") -> str:
    return job_id(job, field, what="a Qibo job pid")


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
    #: See :data:`qjobs.providers.qibo.config.CAPABILITIES`.
    default_capabilities: ClassVar[Capabilities] = config.CAPABILITIES

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        project: str = config.DEFAULT_PROJECT,
        cancel_deletes: bool = False,
        validate: bool = True,
        archive_limits: ArchiveLimits | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        secret, url = config.resolve(token, base_url)
        bodies.check_flag(cancel_deletes, "cancel_deletes")
        bodies.check_flag(validate, "validate")
        if archive_limits is not None and not isinstance(archive_limits, ArchiveLimits):
            raise InputError("archive_limits", archive_limits, "must be an ArchiveLimits")
        credentials = config.credentials(secret, url)
        transport, caps = open_transport(type(self), credentials, options, error_parser)
        super().__init__(transport, capabilities=caps)
        self.project = bodies.check_name(project, "project")
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

    # ------------------------------------------------------------------------------ submit
    def build_body(
        self,
        circuit: CircuitLike | Sequence[CircuitLike],
        *,
        shots: int,
        backend: str = config.DEFAULT_DEVICE,
        project: str | None = None,
        verbatim: bool = False,
    ) -> tuple[dict[str, Any], codec.Encoded]:
        """Validate and build the ``POST /api/jobs/`` body (no request is made); circuits are
        taken as :meth:`submit` takes them."""
        return bodies.job_body(
            as_circuits(circuit),
            shots=shots,
            device=backend,
            project=self.project if project is None else project,
            verbatim=verbatim,
            max_payload_bytes=self.capabilities.max_payload_bytes,
        )

    async def submit(
        self,
        circuits: CircuitLike | Sequence[CircuitLike],
        *,
        shots: int,
        backend: str | None = config.DEFAULT_DEVICE,
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
        circuits = as_circuits(circuits)
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for Qibo")
        if name is not None and not isinstance(name, str):
            raise InputError("name", name, "must be a string")
        if key is not None and not isinstance(key, str):
            raise InputError("key", key, "must be a string")
        body, encoded = self.build_body(
            circuits,
            shots=shots,
            backend=config.DEFAULT_DEVICE if backend is None else backend,
            project=project,
            verbatim=verbatim,
        )
        await self.check_version()
        if self.validate:
            quota = await self._quota_for(body["project"], body["device"])
            if quota is not None:
                bodies.check_quota(quota, encoded.qubits, shots)
        resp = await self._transport.request(
            "POST", "api/jobs/", json=body, kind=RequestKind.CREATE, route="POST /api/jobs/"
        )
        job = submitted_job(created_pid(resp.json()), body)
        logger.debug("qibo: submitted job %s (%d shots, device %s)", job.id, shots, body["device"])
        return job

    async def server_version(self) -> ServerVersion:
        """``GET /api/qibo_version/``: the server's qibo version and the oldest it accepts.

        Missing keys raise :class:`~qjobs.MalformedResponseError` (as qibo-client does).
        """
        data = await self._get_json("api/qibo_version/", "GET /api/qibo_version/")
        return server_version_from_wire(data)

    async def check_version(self) -> ServerVersion:
        """Check once per client that the server accepts the circuit format qjobs writes.

        A server whose ``minimum_client_qibo_version`` is newer than
        :data:`qjobs.providers.qibo.circuits.FORMAT_VERSION` raises :class:`QiboVersionError`
        (nothing is submitted); a newer server version is only logged.
        """
        async with self._version_lock:
            if self._version is None:
                found = await self.server_version()
                if config.check_server_version(found):
                    logger.warning(
                        "qibo: the server runs qibo %s; qjobs writes the %s circuit format",
                        found.server_qibo_version,
                        codec.FORMAT_VERSION,
                    )
                self._version = found
            return self._version

    async def _quota_for(self, project: str, device: str) -> ProjectQuota | None:
        async with self._quota_lock:
            if self._quotas is None:
                try:
                    await self.project_quotas()
                except NotFoundError:
                    logger.debug("qibo: no project quotas at %s; skipping checks", self.base_url)
                    self._quotas = []
        return bodies.find_quota(self._quotas or [], project, device)

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

    async def list_jobs(self) -> list[Job]:
        """Every job of the user (``GET /api/jobs/``: one bare array, no pages)."""
        return pages.jobs_from_list(await self._get_json("api/jobs/", "GET /api/jobs/"))

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over the user's jobs (one request; Qibo has no pages).

        Filters, applied here: ``status`` (a qjobs status, raw Qibo status or a list of them)
        and ``backend`` (the device).
        """
        pages.check_filters(filters)
        wanted = pages.status_filter(filters.get("status"))
        backend = filters.get("backend")
        for job in await self.list_jobs():
            if pages.matches(job, wanted, backend):
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

    # ------------------------------------------------------------------------------ results
    async def results(
        self, job: Job | str, *, source: ResultSource = "auto", memory: bool = False
    ) -> list[Result]:
        """The result of a completed job, as a one-element list.

        ``source="auto"`` uses the job's ``frequencies`` when the server sent them (no download)
        and the result archive otherwise; ``"archive"`` always reads the archive (restricted
        unpickling), ``"frequencies"`` never does. ``memory=True`` reads per-shot outcomes from
        the archive's samples. Counts use qjobs' bit order (bit 0 rightmost). A failed job
        raises :class:`~qjobs.JobFailedError`, an unfinished one :class:`~qjobs.JobError`.
        """
        parts.check_result_options(source, memory)
        current = job if isinstance(job, Job) and job.is_final else await self.get_job(_job_id(job))
        require_completed(current, PROVIDER)
        cache_key = (current.id, source, memory)
        cached = self._results_cache.get(cache_key)
        if cached is not None:
            return [cached]
        freqs = current.details.get("frequencies")
        if source != "archive" and not memory and isinstance(freqs, Mapping) and freqs:
            result = parts.from_frequencies(current, freqs)
        elif source == "frequencies":
            raise MalformedResponseError(f"job {current.id} has no frequencies", provider=PROVIDER)
        else:
            result = parts.from_archive(current, await self.raw_results(current), memory)
        self._results_cache[cache_key] = result
        if len(self._results_cache) > 1024:
            self._results_cache.pop(next(iter(self._results_cache)))
        return [result]

    async def raw_results(self, job: Job | str) -> QiboResults:
        """The validated contents of the job's ``results.npy`` (restricted unpickling)."""
        pid = _job_id(job)
        return parts.results_of(await self._read_archive(pid), pid)

    async def logs(self, job: Job | str) -> dict[str, str]:
        """``stdout.txt`` and ``stderr.txt`` of a finished job's archive (also after an error)."""
        return parts.logs_of(await self._read_archive(_job_id(job)))

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
                parts.extract_archive, spool, Path(target), self.archive_limits
            )

    async def _read_archive(self, pid: str) -> dict[str, bytes]:
        """The known members of the job's archive, read in a worker thread."""
        with await self._spool_archive(pid) as spool:
            return await anyio.to_thread.run_sync(parts.read_archive, spool, self.archive_limits)

    async def _spool_archive(self, pid: str) -> IO[bytes]:
        limit = self.archive_limits.max_archive_bytes
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=config.SPOOL_BYTES)  # noqa: SIM115
        try:
            received = 0
            async with self._transport.stream(
                "GET", f"api/jobs/{segment(pid)}/download/", route="GET /api/jobs/{pid}/download/"
            ) as chunks:
                async for chunk in chunks:
                    received += len(chunk)
                    if received > limit:
                        raise parts.UnsafeArchiveError(
                            f"the result archive of job {pid} exceeds {limit} bytes"
                        )
                    spool.write(chunk)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool

    # --------------------------------------------------------------------------- catalogue
    async def backends(self, project: str | None = None) -> list[Backend]:
        """The devices of ``project`` (default: the client's), from the project quotas."""
        chosen = self.project if project is None else bodies.check_name(project, "project")
        return [backend_from_quota(q) for q in await self.project_quotas() if q.project == chosen]

    async def project_quotas(self) -> list[ProjectQuota]:
        """``GET /api/projectquotas/``: every (project, device) quota of the user."""
        data = await self._get_json("api/projectquotas/", "GET /api/projectquotas/")
        self._quotas = quotas_from_wire(data)
        return self._quotas

    async def disk_quota(self) -> DiskQuota:
        """``GET /api/disk_quota/``: kilobytes left for result archives."""
        return disk_quota_from_wire(await self._get_json("api/disk_quota/", "GET /api/disk_quota/"))
