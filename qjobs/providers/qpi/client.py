"""The async QPI client (qpi-ui server, PocketBase-based).

``QPIClient`` speaks the protocol of ``shared/specs/qpi.md`` over one
:class:`~qjobs.transport.Transport`: jobs (OpenQASM 3 circuits with parameter values, shots,
measurement level and return mode, always with an explicit QPU target), paged job listing,
results per circuit and per parameter set, cancellation, QPUs, and the account surface
(password login, notifications, API tokens, time slots, QPU time requests, users and QPU
administration). The client sends requests; everything else is pure functions of its parts:
settings in :mod:`~qjobs.providers.qpi.config`, wire <-> model mapping in
:mod:`~qjobs.providers.qpi.models`, OpenQASM in :mod:`~qjobs.providers.qpi.circuits`, request
bodies in :mod:`~qjobs.providers.qpi.bodies`, paging in :mod:`~qjobs.providers.qpi.pages` and
results decoding in :mod:`~qjobs.providers.qpi.results`.

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("qpi", base_url="http://127.0.0.1:8090") as qpi:  # QPI_API_TOKEN
        job = await qpi.submit(circuit, shots=1000, backend="qiskit_aer")
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Unpack

import anyio
import numpy as np
import numpy.typing as npt

from qjobs._core.errors import (
    CredentialsError,
    InputError,
    MalformedResponseError,
    NotFoundError,
)
from qjobs._core.models import Backend, Job, Result
from qjobs.circuit._adapt import CircuitLike, as_circuits
from qjobs.circuit._ir import Circuit
from qjobs.providers._base import (
    Capabilities,
    ClientOptions,
    ProviderClient,
    open_transport,
    require_completed,
    segment,
)
from qjobs.providers._base import job_id as _job_id
from qjobs.providers.qpi import bodies, pages
from qjobs.providers.qpi.bodies import record_id as _record_id
from qjobs.providers.qpi.config import (
    DEFAULT_CAPABILITIES,
    PROVIDER,
    TOKEN_VARIABLES,
    URL_VARIABLES,
    credentials,
    resolve,
)
from qjobs.providers.qpi.models import (
    ApiToken,
    Notification,
    QPUConnection,
    QPUCreated,
    TimeRequest,
    TimeSlot,
    User,
    backend_from_wire,
    created_job_from_wire,
    error_parser,
    job_from_wire,
    qpu_connection_from_wire,
    qpu_created_from_wire,
    structure_record,
    token_from_wire,
)
from qjobs.providers.qpi.pages import FIND_PAGES
from qjobs.providers.qpi.results import iq_memory_of, is_payload_copy, result_bytes, results_of
from qjobs.transport import RequestKind, Transport

__all__ = [
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "ApiToken",
    "Notification",
    "QPIClient",
    "QPUConnection",
    "QPUCreated",
    "TimeRequest",
    "TimeSlot",
    "User",
]

logger = logging.getLogger("qjobs.providers.qpi")


class QPIClient(ProviderClient):
    """Async client for a QPI server (qpi-ui).

    The base URL comes from ``base_url=``, else ``QPI_BASE_URL``, ``QPI_URL`` (all looked up in
    the environment first, then in ``./.env``); there is no default, QPI being self-hosted. The API
    token comes from ``token=``, else ``QPI_API_TOKEN``; it is optional, since :meth:`login`
    (password) authenticates too. Requests carry ``X-API-Token: <token>`` and, after
    :meth:`login`, ``Authorization: Bearer <jwt>``; neither ever appears in a repr, a log line or
    an exception. The collection routes (notifications, time slots, time requests, users) accept
    only the login's JWT. ``transport_options`` passes extra keyword arguments to the
    :class:`~qjobs.transport.Transport` (e.g. ``sleep=`` in tests).
    """

    provider: ClassVar[str] = PROVIDER
    default_capabilities: ClassVar[Capabilities] = DEFAULT_CAPABILITIES

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        secret, self._base = resolve(token, base_url)
        self._api_token = secret.value
        self._options = options
        transport, caps = open_transport(
            type(self), credentials(self._base, self._api_token, None), options, error_parser
        )
        super().__init__(transport, capabilities=caps)
        self.token_source = secret.source
        #: The logged-in user (or superuser) record, after :meth:`login`.
        self.user: User | None = None
        self._jwt: str | None = None
        self._superuser = False
        self._catalogue: dict[str, Backend] | None = None
        self._catalogue_lock = anyio.Lock()

    @property
    def is_superuser(self) -> bool:
        """True after a superuser :meth:`login`."""
        return self._superuser

    # ----------------------------------------------------------------------------- submit
    async def submit(
        self,
        circuits: CircuitLike | Sequence[CircuitLike],
        *,
        shots: int,
        backend: str | None = None,
        name: str | None = None,
        key: str | None = None,
        meas_level: int = 2,
        meas_return: str = "single",
        parameter_values: Any = None,
        **options: Any,
    ) -> Job:
        """Submit one circuit, or several as one job, as OpenQASM 3 (``POST /api/jobs``).

        ``backend`` is the QPU target, always sent (default: the first online QPU); it is
        checked against the online QPUs, whose list is fetched once and cached, as is the
        circuits' width. ``parameter_values`` gives parameter sets for circuits with free
        parameters: for one circuit a list of sets, for a list of circuits one list (or None)
        per circuit; a set is a ``{name: value}`` mapping or values in ``circuit.parameters``
        order. Each set yields one result. ``meas_level=1`` asks for IQ memory (read it with
        :meth:`iq_memory`), with ``meas_return`` ``"single"`` or ``"avg"``. QPI jobs have no
        name: ``name`` is accepted for the common interface and not sent.

        With ``key``, the first circuit carries the comment ``// qjobs-key: <key>`` and a
        submission that fails ambiguously looks the key up (:meth:`find_by_key`) before trying
        again, so one call never creates two jobs; without a key such failures are raised.
        """
        circuits = as_circuits(circuits)
        body, items = bodies.build_body(
            self.capabilities,
            circuits,
            shots=shots,
            key=key,
            meas_level=meas_level,
            meas_return=meas_return,
            parameter_values=parameter_values,
            name=name,
            backend=backend,
            options=options,
        )
        target = await self._target(backend)
        bodies.check_fits(target, items)
        body["qpu_target"] = target.name
        created = await self._create_once(
            lambda: self._transport.request(
                "POST", "api/jobs", json=body, kind=RequestKind.CREATE, route="POST /api/jobs"
            ),
            key,
        )
        if isinstance(created, Job):
            return created
        job = created_job_from_wire(created.json(), body)
        logger.debug(
            "qpi: submitted job %s (%d circuit(s), %d shots, QPU %s)",
            job.id,
            len(items),
            shots,
            target.name,
        )
        return job

    def circuit_bytes(self, circuit: Circuit) -> int:
        """What ``circuit`` takes of a job's size bound: its share of the body plus its results.

        qpi-ui stores both the submitted payload and the driver's results in JSON fields that
        PocketBase bounds at 1 MiB each (``config.py``); results hold all 2^n count keys, so for
        wide circuits they, not the payload, decide how many circuits fit in one job. Counting
        both against ``max_payload_bytes`` keeps each under it.
        """
        return super().circuit_bytes(circuit) + result_bytes(circuit)

    # ------------------------------------------------------------------------------- jobs
    async def get_job(self, job_id: str) -> Job:
        """One job's current state (``GET /api/jobs/{id}``)."""
        jid = _job_id(job_id, "job_id")
        return job_from_wire(
            await self._json("GET", f"api/jobs/{segment(jid)}", route="GET /api/jobs/{id}")
        )

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """Many jobs in the order given, from the newest-first job list.

        Pages of ``status_batch_size`` jobs are read until every id was seen (at most one page
        per id, plus one); ids not found that way are fetched one by one, so an unknown id
        raises :class:`~qjobs.NotFoundError`.
        """
        ids = [_job_id(j, f"job_ids[{i}]") for i, j in enumerate(job_ids)]
        if not ids:
            return []
        wanted = set(ids)
        size = pages.page_size(self.capabilities.status_batch_size)
        found: dict[str, Job] = {}
        for page in range(pages.status_pages(len(wanted), size)):
            jobs = await self._jobs_page(page * size, size)
            found.update((job.id, job) for job in jobs if job.id in wanted)
            if len(jobs) < size or wanted <= found.keys():
                break
        for jid in dict.fromkeys(ids):
            if jid not in found:
                found[jid] = await self.get_job(jid)
        return [found[jid] for jid in ids]

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """The caller's jobs, newest first, following every page (``skip``/``limit``).

        Filters: ``status`` (a QPI status or a list of them), ``backend`` (QPU target),
        ``sort`` (default ``-created``), ``limit`` (page size, default
        ``capabilities.page_size``) and ``max_pages``. QPI filters nothing server-side: status
        and backend are applied to each page.
        """
        listing = pages.JobListing.from_filters(filters, self.capabilities.page_size)
        read = 0
        while True:
            jobs = await self._jobs_page(read * listing.size, listing.size, listing.sort)
            read += 1
            for job in jobs:
                if listing.keeps(job):
                    yield job
            if listing.last(jobs, read):
                return

    async def find_by_key(self, key: str, *, max_pages: int = FIND_PAGES) -> Job | None:
        """The newest job whose first circuit carries ``// qjobs-key: <key>``, or None."""
        if not isinstance(key, str) or not key:
            raise InputError("key", key, "must be a non-empty string")
        async for job in self.iter_jobs(max_pages=max_pages):
            if pages.key_of(job) == key:
                return job
        return None

    async def job_record(self, job: Job | str) -> Job:
        """A job read from the ``quantum_jobs`` collection (needs :meth:`login`).

        qpi-ui v0.1.x's ``/api/jobs*`` routes return the submitted payload as ``results``; the
        collection record holds the real ones. :meth:`results` falls back to this on its own.
        """
        jid = _job_id(job, "job")
        self._need_login("job_record()")
        data = await self._json(
            "GET",
            f"api/collections/quantum_jobs/records/{segment(jid)}",
            route="GET /api/collections/quantum_jobs/records/{id}",
        )
        return job_from_wire(data)

    async def cancel(self, job: Job | str) -> None:
        """Cancel a pending or running job (``POST /api/jobs/{id}/cancel``).

        QPI answers 404 for a job that is already final; the job is then read to tell that
        apart from a job that does not exist (which raises :class:`~qjobs.NotFoundError`).
        """
        jid = _job_id(job)
        try:
            await self._transport.request(
                "POST",
                f"api/jobs/{segment(jid)}/cancel",
                kind=RequestKind.READ,
                route="POST /api/jobs/{id}/cancel",
            )
        except NotFoundError:
            current = await self.get_job(jid)
            if not current.is_final:
                raise
            logger.debug("qpi: job %s is already %s", jid, current.provider_status)

    # ---------------------------------------------------------------------------- results
    async def results(self, job: Job | str) -> list[Result]:
        """The results of a completed job: one per circuit and per parameter set, in order.

        Counts are keyed by fixed-width bitstrings (bit 0 rightmost; the width is the circuit's
        classical bits, or its qubits when it measures nothing); per-shot ``memory`` is kept
        when the driver sent it. A failed job raises :class:`~qjobs.JobFailedError` with the
        server's message; a measurement-level-1 job raises :class:`~qjobs.JobError` (use
        :meth:`iq_memory`).
        """
        return results_of(await self._completed(job))

    async def iq_memory(self, job: Job | str) -> list[npt.NDArray[np.float64]]:
        """Measurement-level-1 memory per circuit and parameter set.

        Each array is ``(shots, clbits, 2)`` (I, Q) for ``meas_return="single"``, or
        ``(clbits, 2)`` for ``"avg"``.
        """
        return iq_memory_of(await self._completed(job))

    # ------------------------------------------------------------------------------- QPUs
    async def backends(self) -> list[Backend]:
        """Every online QPU (``GET /api/qpus``, all pages); cached for submit-time checks."""
        out: list[Backend] = []
        size = pages.page_size(self.capabilities.page_size)
        skip = 0
        while True:
            params = pages.skip_params(skip, size, "+created")
            page = pages.backends_of(
                await self._json("GET", "api/qpus", params=params, route="GET /api/qpus")
            )
            out.extend(page)
            if len(page) < size:
                break
            skip += size
        self._catalogue = {b.name: b for b in out}
        return out

    async def backend(self, name: str) -> Backend:
        """One QPU (``GET /api/qpus/{name}``)."""
        name = _record_id(name, "backend")
        data = await self._json("GET", f"api/qpus/{segment(name)}", route="GET /api/qpus/{name}")
        return backend_from_wire(data)

    # ---------------------------------------------------------------------------- account
    async def login(self, identity: str, password: str, *, superuser: bool = False) -> User:
        """Password login (``auth-with-password``); later requests also send the JWT as Bearer.

        ``superuser=True`` logs into PocketBase's ``_superusers`` (needed for QPU
        administration, approving time requests and allocating QPU time). Returns the record.
        Do this before starting concurrent requests: the client's connection is replaced.
        """
        body = bodies.login_body(identity, password)
        collection = "_superusers" if superuser else "users"
        # A server may echo the password in an error body (or the JWT in a later one).
        self._transport.add_secret(password)
        data = await self._json(
            "POST",
            f"api/collections/{collection}/auth-with-password",
            json=body,
            route=f"POST /api/collections/{collection}/auth-with-password",
            kind=RequestKind.WRITE,
        )
        if not isinstance(data, Mapping) or not isinstance(data.get("token"), str):
            raise MalformedResponseError("login answer without a token", provider=PROVIDER)
        user: User = structure_record(data.get("record"), User, "user record")
        old = self._transport
        fresh = self._make_transport(data["token"])
        fresh.add_secret(password)
        fresh.stats = old.stats
        await old.aclose()
        self._transport = fresh
        self._jwt = data["token"]
        self._superuser = superuser
        self.user = user
        logger.debug("qpi: logged in as %s (superuser=%s)", user.id, superuser)
        return user

    async def notifications(self) -> list[Notification]:
        """Notifications for the logged-in user, every page (needs :meth:`login`)."""
        self._need_login("notifications()")
        return [
            structure_record(item, Notification, "notification")
            async for item in self._collection("notifications", sort="-created")
        ]

    async def dismiss_notification(self, notification: Notification | str) -> None:
        """Dismiss a notification (``POST /api/notifications/{id}/dismiss``)."""
        nid = notification.id if isinstance(notification, Notification) else notification
        nid = _record_id(nid, "notification")
        await self._json(
            "POST",
            f"api/notifications/{segment(nid)}/dismiss",
            route="POST /api/notifications/{id}/dismiss",
            kind=RequestKind.READ,
        )

    async def create_api_token(
        self, name: str | None = None, *, expires_at: datetime | str | None = None
    ) -> ApiToken:
        """Create an API token (``POST /api/tokens``); its value is in ``.token``, shown once."""
        body = bodies.token_body(name, expires_at)
        data = await self._json(
            "POST", "api/tokens", json=body, route="POST /api/tokens", kind=RequestKind.WRITE
        )
        return token_from_wire(data)

    async def api_tokens(self) -> list[ApiToken]:
        """The caller's API tokens (``GET /api/tokens``; values are never listed)."""
        data = await self._json("GET", "api/tokens", route="GET /api/tokens")
        if not isinstance(data, list):
            raise MalformedResponseError("token list is not a list", provider=PROVIDER)
        return [token_from_wire(item) for item in data]

    async def delete_api_token(self, token: ApiToken | str) -> None:
        """Revoke an API token (``DELETE /api/tokens/{id}``)."""
        tid = _record_id(token.id if isinstance(token, ApiToken) else token, "token")
        await self._transport.request(
            "DELETE",
            f"api/tokens/{segment(tid)}",
            kind=RequestKind.READ,
            route="DELETE /api/tokens/{id}",
        )

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
        owner = booked_by
        if owner is None and self.user is not None and not self._superuser:
            owner = self.user.id
        data = await self._json(
            "POST",
            "api/collections/time_slots/records",
            json=bodies.time_slot_body(start, end, owner),
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
        data = await self._json(
            "PATCH",
            f"api/collections/time_slots/records/{segment(sid)}",
            json=bodies.time_slot_changes(start, end),
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
        query = bodies.time_requests_filter(status)
        return [
            structure_record(item, TimeRequest, "time request")
            async for item in self._collection("qpu_time_requests", filter=query, sort="-created")
        ]

    async def request_qpu_time(self, seconds: float, reason: str | None = None) -> TimeRequest:
        """Ask for more QPU seconds; an administrator approves or rejects the request."""
        self._need_login("request_qpu_time()")
        assert self.user is not None
        data = await self._json(
            "POST",
            "api/collections/qpu_time_requests/records",
            json=bodies.time_request_body(self.user.id, seconds, reason),
            route="POST /api/collections/qpu_time_requests/records",
            kind=RequestKind.WRITE,
        )
        return structure_record(data, TimeRequest, "time request")

    async def approve_time_request(self, request: TimeRequest | str) -> TimeRequest:
        """Approve a request (superuser): its seconds are added to the user's balance."""
        return await self._review(request, bodies.review_body(approve=True))

    async def reject_time_request(
        self, request: TimeRequest | str, reason: str | None = None
    ) -> TimeRequest:
        """Reject a request (superuser), optionally saying why."""
        return await self._review(request, bodies.review_body(approve=False, reason=reason))

    # ------------------------------------------------------------------------------ users
    async def users(self) -> list[User]:
        """Users (a superuser sees all, a user only themself), every page."""
        self._need_login("users()")
        return [
            structure_record(item, User, "user")
            async for item in self._collection("users", sort="created")
        ]

    async def allocate_qpu_time(self, user: User | str, seconds: float) -> User:
        """Set a user's QPU-seconds balance (an absolute value, not an increment; superuser)."""
        uid = _record_id(user.id if isinstance(user, User) else user, "user")
        self._need_superuser("allocate_qpu_time()")
        amount = bodies.seconds(seconds, "seconds", allow_zero=True)
        data = await self._json(
            "PATCH",
            f"api/collections/users/records/{segment(uid)}",
            json={"qpu_seconds": amount},
            route="PATCH /api/collections/users/records/{id}",
            kind=RequestKind.READ,
        )
        return structure_record(data, User, "user")

    # ---------------------------------------------------------------------- administration
    async def create_qpu(
        self,
        name: str,
        *,
        executor_type: str | None = None,
        num_qubits: int | None = None,
        enabled: bool | None = None,
    ) -> QPUCreated:
        """Create a QPU (superuser). The returned ``access_token`` is shown once, never logged."""
        self._need_superuser("create_qpu()")
        body = bodies.qpu_body(name, executor_type, num_qubits, enabled)
        data = await self._json(
            "POST",
            "api/op/qpus/create",
            json=body,
            route="POST /api/op/qpus/create",
            kind=RequestKind.WRITE,
        )
        return qpu_created_from_wire(data, name)

    async def connect_qpu(
        self,
        name: str,
        access_token: str,
        *,
        executor_type: str | None = None,
        device_config: Mapping[str, Any] | None = None,
    ) -> QPUConnection:
        """Connect a QPU driver with its access token (``POST /api/op/qpus/connect``)."""
        data = await self._json(
            "POST",
            "api/op/qpus/connect",
            json=bodies.connect_body(name, access_token, executor_type, device_config),
            route="POST /api/op/qpus/connect",
            kind=RequestKind.WRITE,
        )
        return qpu_connection_from_wire(data)

    async def set_qpu_enabled(self, qpu: str, enabled: bool) -> Backend:
        """Enable or disable a QPU (``POST /api/op/qpu/toggle``, superuser)."""
        qid = _record_id(qpu, "qpu")
        self._need_superuser("set_qpu_enabled()")
        data = await self._json(
            "POST",
            "api/op/qpu/toggle",
            json=bodies.toggle_body(qid, enabled),
            route="POST /api/op/qpu/toggle",
            kind=RequestKind.READ,
        )
        self._catalogue = None
        return backend_from_wire(data)

    async def server_version(self) -> str:
        """The server's version (``GET /api/op/version``, superuser)."""
        self._need_superuser("server_version()")
        data = await self._json("GET", "api/op/version", route="GET /api/op/version")
        if not isinstance(data, Mapping) or not isinstance(data.get("version"), str):
            raise MalformedResponseError("version answer without a version", provider=PROVIDER)
        return str(data["version"])

    # --------------------------------------------------------------------------- plumbing
    def _make_transport(self, jwt: str | None) -> Transport:
        """A new transport with the same options, authenticated with ``jwt`` when given."""
        creds = credentials(self._base, self._api_token, jwt)
        return open_transport(type(self), creds, self._options, error_parser)[0]

    async def _json(
        self,
        method: str,
        path: str,
        *,
        route: str,
        json: Any = None,
        params: Any = None,
        kind: RequestKind | None = None,
    ) -> Any:
        """Send one request and return its JSON answer (None for an empty body)."""
        options: dict[str, Any] = {"params": params, "route": route, "kind": kind}
        if json is not None:
            options["json"] = json
        resp = await self._transport.request(method, path, **options)
        if not resp.content:
            return None
        return resp.json()

    def _need_login(self, what: str) -> None:
        if self._jwt is None:
            raise CredentialsError(
                f"{what} uses QPI's collection routes, which accept only a login token: "
                "call login(identity, password) first"
            )

    def _need_superuser(self, what: str) -> None:
        self._need_login(what)
        if not self._superuser:
            raise CredentialsError(f"{what} needs a superuser: login(..., superuser=True)")

    async def _collection(
        self, collection: str, *, filter: str | None = None, sort: str | None = None
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every record of a PocketBase collection, page after page."""
        size = pages.page_size(self.capabilities.page_size)
        route = f"GET /api/collections/{collection}/records"
        page, more = 1, True
        while more:
            params = pages.collection_params(page, size, filter=filter, sort=sort)
            data = await self._json(
                "GET", f"api/collections/{collection}/records", params=params, route=route
            )
            items, more = pages.collection_page(data, collection, page)
            for item in items:
                yield item
            page += 1

    async def _jobs_page(self, skip: int, limit: int, sort: str = "-created") -> list[Job]:
        """One page of the newest-first job list (``GET /api/jobs``)."""
        params = pages.skip_params(skip, limit, sort)
        return pages.jobs_of(
            await self._json("GET", "api/jobs", params=params, route="GET /api/jobs")
        )

    async def _target(self, backend: str | None) -> Backend:
        """The QPU a job goes to: the named one, or the first online QPU."""
        async with self._catalogue_lock:
            if self._catalogue is None or (backend is not None and backend not in self._catalogue):
                await self.backends()
        catalogue = self._catalogue or {}
        if backend is None:
            if not catalogue:
                raise InputError("backend", None, "no QPU is online; name one explicitly")
            return next(iter(catalogue.values()))
        entry = catalogue.get(backend)
        if entry is None:
            raise InputError("backend", backend, f"not an online QPU; online: {sorted(catalogue)}")
        return entry

    async def _completed(self, job: Job | str) -> Job:
        """``job`` read again until final, with its real results; raises unless completed."""
        current = job if isinstance(job, Job) else await self.get_job(_job_id(job))
        if not current.is_final or current.details.get("results") is None:
            current = await self.get_job(current.id)
        if self._jwt is not None and is_payload_copy(current.details.get("results")):
            # qpi-ui v0.1.x answers the payload as "results" on /api/jobs*; the stored
            # results are only on the collection route, which needs the login token.
            current = await self.job_record(current.id)
        require_completed(current, PROVIDER)
        return current

    async def _review(self, request: TimeRequest | str, body: dict[str, Any]) -> TimeRequest:
        """Approve or reject a time request with ``body`` (superuser)."""
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
