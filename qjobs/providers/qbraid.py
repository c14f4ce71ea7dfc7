"""The async qBraid client (Quantum Runtime API, ``/api/v1``).

``QbraidClient`` speaks qBraid's current REST protocol over one
:class:`~qjobs.transport.Transport`: user verification and context, access-token refresh, credit
balance, providers, devices (list with filters, one, status, calibrations), jobs (one program or a
batch of programs in one job, OpenQASM 2 or 3 written from the Circuit IR, name, tags, runtime
options), cost estimates, status options, job listing with page-based pagination, cancel, delete,
results (a 409 "not ready" is waited out), programs and compiled programs, and job groups.
Every answer's ``{"success", "data"}`` envelope is opened in one place
(:meth:`QbraidClient._call`). Wire <-> model mapping lives in
:mod:`qjobs.providers._qbraid_models`, configuration in :mod:`qjobs.providers._qbraid_config`.

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("qbraid") as qb:        # QBRAID_API_KEY / ~/.qbraid/qbraidrc
        job = await qb.submit(circuit, shots=100, backend="qbraid:qbraid:sim:qasm-sim")
"""

from __future__ import annotations

import logging
import os
import ssl as ssl_module
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar, Final

import anyio
import attrs
import numpy as np
import orjson

from qjobs._circuit import Circuit
from qjobs._errors import (
    ConflictError,
    CredentialsError,
    InputError,
    JobError,
    JobTimeoutError,
    MalformedResponseError,
    NotFoundError,
    ValidationError,
)
from qjobs._models import Backend, Job, JobStatus, Result
from qjobs.providers._base import Capabilities, ProviderClient, job_id
from qjobs.providers._qbraid_config import (
    DEFAULT_BASE_URL,
    ConnectCappedRetrier,
    resolve,
    retry_policy,
    write_config,
)
from qjobs.providers._qbraid_models import (
    GROUP_STATUSES,
    HOLD,
    PROVIDER,
    STATUS_MAP,
    AccessToken,
    Calibration,
    CostEstimate,
    CreditBalance,
    Device,
    GroupJob,
    JobStatusOptions,
    Pagination,
    Program,
    ProviderInfo,
    User,
    UserContext,
    access_token_from_wire,
    backend_from_wire,
    calibration_from_wire,
    cost_estimate_from_wire,
    credits_from_wire,
    device_from_wire,
    error_parser,
    group_from_wire,
    job_from_wire,
    pagination_from_wire,
    program_from_wire,
    provider_from_wire,
    status_options_from_wire,
    unwrap,
    user_context_from_wire,
    user_from_wire,
)
from qjobs.transport import RateLimit, RequestKind, RetryPolicy, Timeouts

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEVICE",
    "GROUP_STATUSES",
    "STATUS_MAP",
    "AccessToken",
    "Calibration",
    "CostEstimate",
    "CreditBalance",
    "Device",
    "DeviceStatus",
    "GroupJob",
    "JobStatusOptions",
    "Pagination",
    "Program",
    "ProviderInfo",
    "QbraidClient",
    "User",
    "UserContext",
]

logger = logging.getLogger("qjobs.providers.qbraid")

#: The device used when ``backend`` is not given.
DEFAULT_DEVICE: Final = "qbraid:qbraid:sim:qasm-sim"
#: The tag carrying the qjobs idempotency key (``GET /jobs?tags=`` finds it).
TAG_KEY: Final = "qjobs_key"
_MAX_KEY_LENGTH: Final = 128
_MAX_PAGE: Final = 100
_FIND_PAGES: Final = 5
_RESULT_WAIT_FIRST: Final = 0.05
_BAD_ID_CHARS: Final = frozenset("/?#% \t\r\n")
_QASM_FORMATS: Final = {2: "qasm2", 3: "qasm3"}
_MAX_GROUP_TTL: Final = 86_400


@attrs.frozen(slots=True)
class DeviceStatus:
    """A device's availability (the ``status`` fields of ``GET /devices/{qrn}``).

    ``status`` is ``ONLINE``, ``UNAVAILABLE``, ``OFFLINE`` or ``RETIRED``; ``queue_depth`` is the
    number of jobs waiting (0 when qBraid does not say); ``avg_queue_time`` is in minutes.
    """

    qrn: str
    status: str | None
    online: bool
    queue_depth: int = 0
    status_msg: str | None = None
    avg_queue_time: float | None = None
    next_available: Any = None


def _job_id(job: Job | str, field: str = "job") -> str:
    return job_id(job, field, forbidden=_BAD_ID_CHARS, what="a qBraid job QRN")


def _qrn(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or set(value) & _BAD_ID_CHARS:
        raise InputError(field, value, "must be a qBraid QRN such as 'qbraid:qbraid:sim:qasm-sim'")
    return value


def _group_id(group: GroupJob | str, field: str = "group") -> str:
    if isinstance(group, GroupJob):
        return group.qrn
    return _qrn(group, field)


def _positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(field, value, "must be an int >= 1")
    return value


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str | int | bool]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InputError("tags", tags, "must be a mapping of str to str, int or bool")
    out: dict[str, str | int | bool] = {}
    for k, v in tags.items():
        if not isinstance(k, str) or not k:
            raise InputError("tags", k, "tag names must be non-empty strings")
        if k.startswith("qjobs_"):
            raise InputError(f"tags[{k!r}]", v, "tag names starting with 'qjobs_' are reserved")
        if not isinstance(v, str | int | bool):
            raise InputError(f"tags[{k!r}]", v, "tag values must be str, int or bool")
        out[k] = v
    return out


def _bits(key: Any) -> str:
    if not isinstance(key, str):
        raise MalformedResponseError(f"count key {key!r} is not a string", provider=PROVIDER)
    text = key.replace(" ", "")
    if text and set(text) - {"0", "1"}:
        raise MalformedResponseError(f"count key {key!r} is not a bitstring", provider=PROVIDER)
    return text


def _result_from_data(data: Any, *, job: Job, index: int, memory: bool) -> Result:
    """One circuit's ``resultData`` -> :class:`Result` (bit 0 rightmost, as qBraid documents)."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("resultData is not an object", provider=PROVIDER)
    raw = data.get("measurementCounts", data.get("measurement_counts"))
    if not isinstance(raw, Mapping):
        raise MalformedResponseError("resultData has no measurementCounts", provider=PROVIDER)
    counts: dict[str, int] = {}
    for key, value in raw.items():
        bits = _bits(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise MalformedResponseError(f"count {value!r} of {key!r} is bad", provider=PROVIDER)
        counts[bits] = counts.get(bits, 0) + value
    width = max((len(k) for k in counts), default=0)
    counts = {k.zfill(width): v for k, v in counts.items()}
    result = Result.from_counts(counts, width, job_id=job.id, index=index, job=job)
    probs = data.get("measurementProbabilities", data.get("measurement_probabilities"))
    if isinstance(probs, Mapping) and probs:
        dense = np.zeros(1 << width, dtype=np.float64)
        try:
            for key, p in probs.items():
                bits = _bits(key)
                if len(bits) > width:
                    raise ValueError(key)
                dense[int(bits, 2) if bits else 0] += float(p)
        except (TypeError, ValueError):
            raise MalformedResponseError(
                "bad measurementProbabilities", provider=PROVIDER
            ) from None
        if abs(dense.sum() - 1.0) < 1e-6:
            result.probabilities = dense
    shots_data = data.get("measurements")
    if memory and isinstance(shots_data, list) and shots_data:
        try:
            rows = np.asarray(shots_data, dtype=np.int64)
        except (TypeError, ValueError):
            raise MalformedResponseError(
                "measurements are not bit lists", provider=PROVIDER
            ) from None
        if rows.ndim == 2 and rows.shape[1] == width:
            weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
            result.memory = (rows * weights).sum(axis=1).astype(np.int64)
        else:
            logger.warning("qbraid: measurements of job %s have an unexpected shape", job.id)
    return result


class QbraidClient(ProviderClient):
    """Async client for qBraid's Quantum Runtime API (``https://api-v2.qbraid.com/api/v1``).

    Credentials and endpoint are resolved when the client is created: explicit arguments, then
    the environment (``QBRAID_API_KEY``, ``QBRAID_ACCESS_TOKEN``, ``QBRAID_API_URL``), then the
    config file (``config_file=``, ``QBRAID_CONFIG_FILE`` or ``~/.qbraid/qbraidrc``, section
    ``[default]``: ``api-key``, ``access-token``, ``url``). Requests carry ``X-API-Key`` (or
    ``X-Access-Token``) and ``X-Domain: qbraid``; the secret never appears in a repr, a log line
    or an exception. TLS verification stays on.

    qBraid's session retry knobs map onto the retry policy: ``retries_total`` (attempts - 1),
    ``retries_connect`` (connection failures retried per request) and ``backoff_factor``
    (urllib3's). Job creation keeps qjobs' safe semantics whatever the knobs say.
    """

    provider: ClassVar[str] = PROVIDER
    #: qBraid documents neither a per-job circuit limit nor rate limits; 100 programs per batch
    #: job and 10 requests/s stay well inside what its platform answers. The job list cannot
    #: filter by id, so states are polled one job per request; tags make submission idempotent.
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        max_circuits_per_job=100,
        max_payload_bytes=5_000_000,
        status_batch_size=1,
        poll_initial=1.0,
        poll_max=30.0,
        poll_factor=1.5,
        requests_per_second=10.0,
        max_concurrent_requests=8,
        max_in_flight_jobs=500,
        page_size=_MAX_PAGE,
        submit_key=True,
        cancel_batch=False,
    )

    def __init__(
        self,
        *,
        token: str | None = None,
        api_key: str | None = None,
        access_token: str | None = None,
        base_url: str | None = None,
        config_file: str | os.PathLike[str] | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        retries_total: int | None = None,
        retries_connect: int | None = None,
        backoff_factor: float | None = None,
        rate_limit: RateLimit | None = None,
        headers: Mapping[str, str] | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        capabilities: Capabilities | None = None,
        user_agent: str | None = None,
        transport_options: Mapping[str, Any] | None = None,
    ) -> None:
        if token is not None and api_key is not None:
            raise InputError("api_key", "<set>", "give token= or api_key=, not both")
        caps = capabilities or self.default_capabilities
        settings = resolve(
            token=token if token is not None else api_key,
            access_token=access_token,
            base_url=base_url,
            config_file=config_file,
        )
        extra = self._user_headers(headers)
        if retries_total is not None or backoff_factor is not None:
            retry = retry_policy(
                total=3 if retries_total is None else retries_total,
                backoff_factor=0.5 if backoff_factor is None else backoff_factor,
                base=retry,
            )
        transport = self._build_transport(
            caps,
            base_url=settings.base_url,
            auth_headers={settings.auth_header: settings.secret},
            headers={"X-Domain": "qbraid", **extra},
            user_agent=user_agent,
            timeouts=timeouts,
            retry=retry,
            rate_limit=rate_limit,
            ssl=ssl,
            error_parser=error_parser,
            transport_options=transport_options,
        )
        if retries_connect is not None:
            transport.retrier = ConnectCappedRetrier(transport.retrier, retries_connect)
        super().__init__(transport, capabilities=caps)
        self._settings = settings
        self.token_source = settings.secret_source
        self.url_source = settings.url_source
        self._devices: dict[str, Device] = {}
        self._devices_lock = anyio.Lock()
        self._results_cache: dict[str, list[Result]] = {}
        self._organization_id: str | None = None

    @property
    def config_file(self) -> Path:
        """The qbraidrc path this client read (and :meth:`save_config` writes by default)."""
        return self._settings.config_file

    # ----------------------------------------------------------------------------- envelope
    async def _call(
        self,
        method: str,
        path: str,
        *,
        route: str,
        params: Any = None,
        json: Any = None,
        kind: RequestKind | None = None,
    ) -> tuple[Any, Mapping[str, Any] | None]:
        """Make one request and open qBraid's ``{success, data}`` envelope (the only place)."""
        options: dict[str, Any] = {"params": params, "route": route, "kind": kind}
        if json is not None:
            options["json"] = json
        resp = await self._transport.request(method, path, **options)
        if not resp.content and method in ("DELETE", "POST"):
            return None, None
        return unwrap(resp.json(), method=method, path=route.partition(" ")[2])

    # --------------------------------------------------------------------------------- user
    async def verify_user(self) -> User:
        """Check the credentials (``GET /users/verify``) and return the account.

        An answer whose ``success`` is false or whose user is not ``valid`` raises
        :class:`~qjobs.CredentialsError`.
        """
        resp = await self._transport.request("GET", "users/verify", route="GET /users/verify")
        payload = resp.json()
        if not isinstance(payload, Mapping) or payload.get("success") is not True:
            raise CredentialsError("qBraid did not verify the credentials (success is not true)")
        user = user_from_wire(payload.get("data"))
        if not user.valid:
            raise CredentialsError("qBraid reports the credentials as not valid")
        return user

    async def save_config(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        verify: bool = True,
        overwrite: bool = False,
    ) -> Path:
        """Write this client's API key and URL to qbraidrc (``[default]``: ``api-key``, ``url``).

        With ``verify`` the credentials are checked first (``GET /users/verify``). Other keys
        of the file (``email``, ``refresh-token``, ...) are kept; the file is owner-only (0600).
        A different value already stored raises :class:`~qjobs.InputError` unless ``overwrite``.
        Writes to ``path``, else the file the client read its configuration from.
        """
        if self._settings.auth_header != "X-API-Key":
            raise InputError("token", "<access token>", "save_config() stores API keys only")
        if verify:
            await self.verify_user()
        updates = {"api-key": self._settings.secret, "url": self.base_url + "/"}
        default = self._settings.config_file

        def write() -> Path:
            target = Path(path).expanduser() if path is not None else default
            return write_config(target, updates, overwrite=overwrite)

        return await anyio.to_thread.run_sync(write)

    async def user_context(self) -> UserContext:
        """The signed-in user's context (``GET /users/context``), e.g. ``is_admin``."""
        data, _ = await self._call("GET", "users/context", route="GET /users/context")
        return user_context_from_wire(data)

    async def refresh_access_token(self) -> AccessToken:
        """Extend the access token's life (``POST /access-tokens/refresh``; qBraid gives 24 h).

        Only a client configured with an access token (``access_token=``,
        ``QBRAID_ACCESS_TOKEN`` or qbraidrc ``access-token``) has one to refresh; with an API
        key this raises :class:`~qjobs.InputError` before any request.
        """
        if self._settings.auth_header != "X-Access-Token":
            raise InputError(
                "access_token", None, "this client authenticates with an API key, not a token"
            )
        data, _ = await self._call(
            "POST",
            "access-tokens/refresh",
            kind=RequestKind.READ,
            route="POST /access-tokens/refresh",
        )
        return access_token_from_wire(data)

    async def credits(self, organization_id: str | None = None) -> CreditBalance:
        """The organization's credit balance (``GET /billing/credits/balance``).

        ``organization_id`` defaults to the account's own organization, learnt once from
        ``GET /users/verify``. Credits: 1 credit = $0.01.
        """
        if organization_id is None:
            if self._organization_id is None:
                user = await self.verify_user()
                if not user.organization_id:
                    raise MalformedResponseError(
                        "the verified user has no organizationId", provider=PROVIDER
                    )
                self._organization_id = user.organization_id
            organization_id = self._organization_id
        elif not isinstance(organization_id, str) or not organization_id:
            raise InputError("organization_id", organization_id, "must be a non-empty string")
        data, _ = await self._call(
            "GET",
            "billing/credits/balance",
            params={"organizationId": organization_id},
            route="GET /billing/credits/balance",
        )
        return credits_from_wire(data)

    async def providers(self) -> list[ProviderInfo]:
        """The providers qBraid offers devices from (``GET /providers``)."""
        data, _ = await self._call("GET", "providers", route="GET /providers")
        items = data.get("providers") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise MalformedResponseError("providers is not a list", provider=PROVIDER)
        return [provider_from_wire(item) for item in items]

    # ------------------------------------------------------------------------------ devices
    async def devices(
        self,
        *,
        include_retired: bool = False,
        vendor: str | None = None,
        provider: str | None = None,
        device_type: str | None = None,
        status: str | None = None,
        paradigm: str | None = None,
        run_input_type: str | None = None,
    ) -> list[Device]:
        """The devices qBraid offers (``GET /devices``; ``retired=false`` unless
        ``include_retired``). The other filters are applied to the answer (case-insensitive):
        ``vendor``, ``provider``, ``device_type`` (``SIMULATOR``/``QPU``), ``status``,
        ``paradigm`` and ``run_input_type`` (e.g. ``"qasm3"``). Devices are cached."""
        if not isinstance(include_retired, bool):
            raise InputError("include_retired", include_retired, "must be a bool")
        wanted: dict[str, str] = {}
        for field, value in (
            ("vendor", vendor),
            ("provider", provider),
            ("device_type", device_type),
            ("status", status),
            ("paradigm", paradigm),
            ("run_input_type", run_input_type),
        ):
            if value is not None:
                if not isinstance(value, str) or not value:
                    raise InputError(field, value, "must be a non-empty string")
                wanted[field] = value.lower()
        params = None if include_retired else {"retired": False}
        data, _ = await self._call("GET", "devices", params=params, route="GET /devices")
        if not isinstance(data, list):
            raise MalformedResponseError("device list is not a list", provider=PROVIDER)
        out: list[Device] = []
        for item in data:
            try:
                device = device_from_wire(item)
            except MalformedResponseError as exc:
                logger.warning("qbraid: skipping an invalid device: %s", exc)
                continue
            self._devices[device.qrn] = device
            values = {
                "vendor": device.vendor,
                "provider": device.provider,
                "device_type": device.device_type,
                "status": device.status,
                "paradigm": device.paradigm,
            }
            if any(
                (
                    field == "run_input_type"
                    and want not in {t.lower() for t in device.run_input_types}
                )
                or (field != "run_input_type" and (values[field] or "").lower() != want)
                for field, want in wanted.items()
            ):
                continue
            out.append(device)
        return out

    async def device(self, qrn: str) -> Device:
        """One device (``GET /devices/{qrn}``); refreshes the cached entry."""
        qrn = _qrn(qrn, "qrn")
        data, _ = await self._call("GET", f"devices/{qrn}", route="GET /devices/{qrn}")
        device = device_from_wire(data)
        self._devices[device.qrn] = device
        return device

    async def device_status(self, qrn: str) -> DeviceStatus:
        """A device's status and queue depth (qBraid has no separate status endpoint)."""
        d = await self.device(qrn)
        return DeviceStatus(
            qrn=d.qrn,
            status=d.status,
            online=d.online,
            queue_depth=d.queue_depth,
            status_msg=d.status_msg,
            avg_queue_time=d.avg_queue_time,
            next_available=d.next_available,
        )

    async def calibration(self, qrn: str) -> Calibration | None:
        """A device's latest calibration (``GET /devices/{qrn}/calibrations``): per-qubit and
        per-edge figures; None when qBraid has none (simulators)."""
        qrn = _qrn(qrn, "qrn")
        data, _ = await self._call(
            "GET", f"devices/{qrn}/calibrations", route="GET /devices/{qrn}/calibrations"
        )
        return calibration_from_wire(data)

    async def backends(self) -> list[Backend]:
        """Every non-retired device as a provider-neutral :class:`~qjobs.Backend`."""
        return [backend_from_wire(d) for d in await self.devices()]

    async def _cached_device(self, qrn: str) -> Device:
        async with self._devices_lock:
            cached = self._devices.get(qrn)
            if cached is not None:
                return cached
            try:
                return await self.device(qrn)
            except NotFoundError:
                raise InputError("backend", qrn, "no such qBraid device") from None

    # ------------------------------------------------------------------------------- submit
    def _programs(
        self, circuits: Circuit | Sequence[Circuit], qasm: int | None, device: Device
    ) -> list[dict[str, str]]:
        obj: object = circuits
        if isinstance(obj, str) or not isinstance(obj, Circuit | Sequence):
            raise InputError(
                "circuits", type(obj).__name__, "must be a Circuit or a list of Circuits"
            )
        items = [circuits] if isinstance(circuits, Circuit) else list(circuits)
        if not items:
            raise InputError("circuits", "[]", "must hold at least one circuit")
        for i, c in enumerate(items):
            if not isinstance(c, Circuit):
                raise InputError(f"circuits[{i}]", type(c).__name__, "must be a qjobs.Circuit")
            if not c.is_bound:
                raise InputError(f"circuits[{i}]", c.name, f"unbound parameters {c.parameters}")
        if not isinstance(circuits, Circuit):
            limit = self.capabilities.max_circuits_per_job
            if len(items) > limit:
                raise InputError("circuits", f"{len(items)} circuits", f"at most {limit} per job")
            if not device.batch_job_support:
                raise InputError(
                    "circuits",
                    f"{len(items)} circuits",
                    f"device {device.qrn!r} does not support batch jobs; submit one per job",
                )
        types = {t.lower() for t in device.run_input_types}
        if qasm is None:
            version = 3 if "qasm3" in types or not types else 2
        elif qasm in _QASM_FORMATS:
            version = qasm
        else:
            raise InputError("qasm", qasm, "must be 2, 3 or None")
        fmt = _QASM_FORMATS[version]
        if types and fmt not in types:
            raise InputError(
                "backend", device.qrn, f"does not accept {fmt}; it takes {sorted(types)}"
            )
        if device.number_qubits is not None:
            for i, c in enumerate(items):
                if c.num_qubits > device.number_qubits:
                    raise InputError(
                        f"circuits[{i}]",
                        f"{c.num_qubits} qubits",
                        f"device {device.qrn!r} has {device.number_qubits} qubits",
                    )
        return [
            {"format": fmt, "data": c.to_qasm3() if version == 3 else c.to_qasm2()} for c in items
        ]

    def _check_shots(self, value: Any, device: Device | None) -> int:
        shots = _positive_int(value, "shots")
        if device is not None:
            if device.max_shots is not None and shots > device.max_shots:
                raise InputError(
                    "shots", shots, f"device {device.qrn!r} allows <= {device.max_shots}"
                )
            if device.min_shots is not None and shots < device.min_shots:
                raise InputError(
                    "shots", shots, f"device {device.qrn!r} needs >= {device.min_shots}"
                )
        return shots

    async def submit(
        self,
        circuits: Circuit | Sequence[Circuit],
        *,
        shots: int,
        backend: str | None = None,
        name: str | None = None,
        key: str | None = None,
        tags: Mapping[str, str | int | bool] | None = None,
        runtime_options: Mapping[str, Any] | None = None,
        qasm: int | None = None,
        group: GroupJob | str | None = None,
        **options: Any,
    ) -> Job:
        """Submit one circuit, or a list as one batch job (``POST /jobs``), and return the job.

        Circuits travel as OpenQASM 3 (``qasm=2`` for OpenQASM 2; by default the device's
        ``runInputTypes`` decide). Checked before the job is sent: shots against the device's
        range, widths against its qubits, batch support, input types, direct access, bound
        parameters, tags (str/int/bool values; ``qjobs_*`` names are reserved). The device's
        metadata is fetched once and cached. ``runtime_options`` go to ``runtimeOptions``
        (e.g. ``{"noiseModel": ...}``); ``group`` is an open group (:meth:`create_group`) or
        its QRN.

        With ``key``, the job carries the tag ``qjobs_key`` and submission is idempotent: if the
        POST fails ambiguously or with a 5xx, the key is looked up (:meth:`find_by_key`) before
        trying again, so one call never creates two jobs. Without a key such failures are raised
        as they are (:class:`~qjobs.SubmitUncertainError`, :class:`~qjobs.ServerError`).
        """
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for qBraid")
        qrn = _qrn(DEFAULT_DEVICE if backend is None else backend, "backend")
        _positive_int(shots, "shots")
        if name is not None and not isinstance(name, str):
            raise InputError("name", name, "must be a string")
        if key is not None and (not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH):
            raise InputError("key", key, f"must be a non-empty string of <= {_MAX_KEY_LENGTH}")
        wire_tags = _tags(tags)
        if key is not None:
            wire_tags[TAG_KEY] = key
        if runtime_options is not None and not isinstance(runtime_options, Mapping):
            raise InputError("runtime_options", runtime_options, "must be a mapping")
        group_qrn = None if group is None else _group_id(group)
        device = await self._cached_device(qrn)
        if not device.direct_access:
            raise InputError("backend", qrn, "device has no direct access through the API")
        self._check_shots(shots, device)
        programs = self._programs(circuits, qasm, device)
        noise = (runtime_options or {}).get("noiseModel")
        if noise is not None and device.noise_models and noise not in device.noise_models:
            raise InputError(
                "runtime_options['noiseModel']", noise, f"device offers {list(device.noise_models)}"
            )
        if not device.online:
            logger.warning("qbraid: device %s is %s; the job may wait", qrn, device.status)
        if name is None:
            name = circuits.name if isinstance(circuits, Circuit) else None
        body: dict[str, Any] = {
            "name": name,
            "shots": shots,
            "deviceQrn": qrn,
            "tags": wire_tags,
            "runtimeOptions": dict(runtime_options or {}),
            "groupJobQrn": group_qrn,
            "program": programs[0] if isinstance(circuits, Circuit) else programs,
        }
        try:
            size = len(orjson.dumps(body))
        except TypeError as exc:
            raise InputError("runtime_options", "<body>", f"not JSON-serializable: {exc}") from None
        if size > self.capabilities.max_payload_bytes:
            raise InputError(
                "circuits",
                f"{size} bytes",
                f"payload exceeds max_payload_bytes={self.capabilities.max_payload_bytes}",
            )
        created = await self._create_once(
            lambda: self._call(
                "POST", "jobs", json=body, kind=RequestKind.CREATE, route="POST /jobs"
            ),
            key,
        )
        if isinstance(created, Job):
            return created
        data, _ = created
        job = job_from_wire(data)
        logger.debug(
            "qbraid: submitted job %s (%d program(s), %d shots, device %s)",
            job.id,
            len(programs),
            shots,
            qrn,
        )
        return job

    # -------------------------------------------------------------------------------- jobs
    async def get_job(self, job_id: str) -> Job:
        """Fetch one job's current state (``GET /jobs/{qrn}``)."""
        jid = _job_id(job_id, "job_id")
        data, _ = await self._call("GET", f"jobs/{jid}", route="GET /jobs/{qrn}")
        return job_from_wire(data)

    async def job_statuses(self) -> JobStatusOptions:
        """The job status names and status groups qBraid knows (``GET /jobs/statuses``)."""
        data, _ = await self._call("GET", "jobs/statuses", route="GET /jobs/statuses")
        return status_options_from_wire(data)

    async def estimate_cost(
        self, backend: str | None = None, *, shots: int | None = None
    ) -> CostEstimate:
        """What a job would cost, in credits (``GET /jobs/cost-estimate``).

        ``backend`` is a device QRN (default :data:`DEFAULT_DEVICE`); without ``shots`` qBraid
        assumes 1000. Devices priced per minute answer ``pricing_available=False`` and a
        ``reason``.
        """
        qrn = _qrn(DEFAULT_DEVICE if backend is None else backend, "backend")
        params: dict[str, Any] = {"deviceQrn": qrn}
        if shots is not None:
            params["shots"] = _positive_int(shots, "shots")
        data, _ = await self._call(
            "GET", "jobs/cost-estimate", params=params, route="GET /jobs/cost-estimate"
        )
        return cost_estimate_from_wire(data)

    def _list_params(self, filters: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for field, wire in (
            ("vendor", "vendor"),
            ("provider", "provider"),
            ("status", "status"),
            ("status_group", "statusGroup"),
            ("search", "search"),
        ):
            value = filters.pop(field, None)
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                raise InputError(field, value, "must be a non-empty string")
            if field == "status" and value.upper() not in STATUS_MAP:
                raise InputError(field, value, f"must be one of {sorted(STATUS_MAP)}")
            params[wire] = value.upper() if field == "status" else value
        tags = filters.pop("tags", None)
        if tags is not None:
            if not isinstance(tags, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str | int | bool) for k, v in tags.items()
            ):
                raise InputError("tags", tags, "must be a mapping of str to str, int or bool")
            params["tags"] = orjson.dumps(dict(tags)).decode()
        if filters:
            raise InputError(next(iter(filters)), "...", "unknown job filter for qBraid")
        return params

    async def list_jobs(
        self, *, page: int = 1, limit: int | None = None, **filters: Any
    ) -> tuple[list[Job], Pagination]:
        """One page of jobs (``GET /jobs``), newest first, and its :class:`Pagination`.

        Filters: ``vendor``, ``provider``, ``status`` (a qBraid status), ``status_group``
        (``pending``, ``returned``, ``all``), ``tags`` (a mapping; jobs carrying all of them),
        ``search``. ``limit`` is the page size (1..100, default ``capabilities.page_size``).
        """
        page = _positive_int(page, "page")
        size = _positive_int(self.capabilities.page_size if limit is None else limit, "limit")
        if size > _MAX_PAGE:
            raise InputError("limit", size, f"must be <= {_MAX_PAGE}")
        params = {**self._list_params(dict(filters)), "page": page, "limit": size}
        data, pagination = await self._call("GET", "jobs", params=params, route="GET /jobs")
        if not isinstance(data, list):
            raise MalformedResponseError("job list is not a list", provider=PROVIDER)
        return [job_from_wire(j) for j in data], pagination_from_wire(
            pagination, page=page, limit=size
        )

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over jobs, newest first, following every page (``hasNext``).

        Filters as in :meth:`list_jobs`, plus ``limit`` (page size) and ``max_pages``.
        """
        max_pages = filters.pop("max_pages", None)
        if max_pages is not None:
            _positive_int(max_pages, "max_pages")
        limit = filters.pop("limit", None)
        self._list_params(dict(filters))  # validate before the first request
        page = 1
        while True:
            jobs, info = await self.list_jobs(page=page, limit=limit, **filters)
            for job in jobs:
                yield job
            if not info.has_next or not jobs:
                return
            if max_pages is not None and page >= max_pages:
                return
            page += 1

    async def find_by_key(self, key: str, *, max_pages: int = _FIND_PAGES) -> Job | None:
        """The most recent job tagged ``qjobs_key=key`` (``GET /jobs?tags=...``), or None."""
        if not isinstance(key, str) or not key:
            raise InputError("key", key, "must be a non-empty string")
        async for job in self.iter_jobs(tags={TAG_KEY: key}, max_pages=max_pages):
            if job.tags.get(TAG_KEY) == key:
                return job
        return None

    # ------------------------------------------------------------------------------ results
    async def raw_result(
        self, job: Job | str, *, result_timeout: float = 60.0
    ) -> Mapping[str, Any]:
        """The ``data`` of ``GET /jobs/{qrn}/result``, waiting while qBraid answers 409.

        A 409 means the results are not available yet (they can lag the COMPLETED status);
        the request is repeated with growing pauses (from 50 ms up to ``capabilities.poll_max``)
        until ``result_timeout`` seconds have passed, then :class:`~qjobs.JobTimeoutError`.
        """
        jid = _job_id(job)
        deadline = anyio.current_time() + result_timeout
        delay = _RESULT_WAIT_FIRST
        while True:
            try:
                data, _ = await self._call(
                    "GET", f"jobs/{jid}/result", route="GET /jobs/{qrn}/result"
                )
            except ConflictError as exc:
                remaining = deadline - anyio.current_time()
                if remaining <= 0:
                    raise JobTimeoutError(
                        f"qbraid job {jid}: results still not available after {result_timeout} s "
                        f"({exc.message})",
                        job_id=jid,
                        provider=PROVIDER,
                    ) from None
                logger.debug("qbraid: results of %s not ready; waiting %.2f s", jid, delay)
                await anyio.sleep(min(delay, remaining))
                delay = min(delay * 2, self.capabilities.poll_max)
                continue
            if not isinstance(data, Mapping):
                raise MalformedResponseError("result is not an object", provider=PROVIDER)
            return data

    async def results(
        self, job: Job | str, *, memory: bool = False, result_timeout: float = 60.0
    ) -> list[Result]:
        """The results of a completed job, one per program, in program order.

        Counts are qBraid's ``measurementCounts`` (bit 0 rightmost); ``probabilities`` come from
        ``measurementProbabilities`` when qBraid sends them, else from the counts. ``memory``
        also reads the per-shot ``measurements`` (each a bit list, element i = classical bit i).
        A failed, cancelled or held (``HOLD``) job raises :class:`~qjobs.JobFailedError` /
        :class:`~qjobs.JobCancelledError`; an unfinished one :class:`~qjobs.JobError`; results
        that lag the COMPLETED status are waited for (see :meth:`raw_result`).
        """
        current = job if isinstance(job, Job) else await self.get_job(_job_id(job))
        if not current.is_final:
            current = await self.get_job(current.id)
        self.raise_for_job(current)
        if current.status is not JobStatus.COMPLETED:
            raise JobError(
                f"qbraid job {current.id} is {current.provider_status or current.status.value}, "
                "not completed",
                job_id=current.id,
                provider=PROVIDER,
            )
        cached = self._results_cache.get(current.id)
        if cached is not None and (not memory or all(r.memory is not None for r in cached)):
            return list(cached)
        data = await self.raw_result(current, result_timeout=result_timeout)
        items = data.get("results")
        if isinstance(items, list):
            payloads = []
            for i, item in enumerate(items):
                if not isinstance(item, Mapping):
                    raise MalformedResponseError(
                        f"results[{i}] is not an object", provider=PROVIDER
                    )
                payloads.append(item.get("resultData"))
        else:
            payloads = [data.get("resultData")]
        out = [
            _result_from_data(p, job=current, index=i, memory=memory)
            for i, p in enumerate(payloads)
        ]
        if current.circuit_count and len(out) != current.circuit_count:
            raise MalformedResponseError(
                f"job {current.id} has {current.circuit_count} programs but {len(out)} results",
                provider=PROVIDER,
            )
        self._results_cache[current.id] = out
        if len(self._results_cache) > 1024:
            self._results_cache.pop(next(iter(self._results_cache)))
        return list(out)

    async def program(self, job: Job | str) -> list[Program]:
        """The programs a job ran (``GET /jobs/{qrn}/program``), one per circuit, in order."""
        jid = _job_id(job)
        data, _ = await self._call("GET", f"jobs/{jid}/program", route="GET /jobs/{qrn}/program")
        items = data if isinstance(data, list) else [data]
        return [program_from_wire(p) for p in items]

    async def compiled_program(self, job: Job | str) -> list[Program] | None:
        """The programs as compiled for the device (``GET /jobs/{qrn}/compiled-program``), one
        per circuit; None when nothing was compiled (404, as the qbraid SDK does). A job that
        does not exist still raises :class:`~qjobs.NotFoundError`."""
        jid = _job_id(job)
        try:
            data, _ = await self._call(
                "GET", f"jobs/{jid}/compiled-program", route="GET /jobs/{qrn}/compiled-program"
            )
        except NotFoundError as exc:
            if exc.code == "JOB_NOT_FOUND":
                raise
            return None
        if data is None:
            return None
        items = data if isinstance(data, list) else [data]
        return [program_from_wire(p) for p in items]

    # ------------------------------------------------------------------------ cancel, delete
    async def cancel(self, job: Job | str) -> None:
        """Ask qBraid to cancel a job (``POST /jobs/{qrn}/cancel``; it goes ``CANCELLING`` then
        ``CANCELLED``). A job that is already final is left as it is."""
        jid = _job_id(job)
        try:
            await self._call(
                "POST", f"jobs/{jid}/cancel", kind=RequestKind.READ, route="POST /jobs/{qrn}/cancel"
            )
        except (ValidationError, ConflictError) as exc:
            current = await self.get_job(jid)
            if current.is_final or current.provider_status.upper() in ("CANCELLING", HOLD):
                logger.debug("qbraid: cancel of %s refused (%s); job is final", jid, exc.status)
                return
            raise

    async def delete(self, job: Job | str) -> None:
        """Delete a job (``DELETE /jobs/{qrn}``)."""
        jid = _job_id(job)
        await self._call("DELETE", f"jobs/{jid}", kind=RequestKind.READ, route="DELETE /jobs/{qrn}")
        self._results_cache.pop(jid, None)

    async def delete_many(self, jobs: Sequence[Job | str]) -> None:
        """Delete many jobs in one request (``DELETE /jobs?qrns=[...]``)."""
        ids = list(dict.fromkeys(_job_id(j, f"jobs[{i}]") for i, j in enumerate(jobs)))
        if not ids:
            return
        await self._call(
            "DELETE",
            "jobs",
            params={"qrns": orjson.dumps(ids).decode()},
            kind=RequestKind.READ,
            route="DELETE /jobs",
        )
        for jid in ids:
            self._results_cache.pop(jid, None)

    # -------------------------------------------------------------------------------- groups
    async def create_group(
        self,
        *,
        name: str | None = None,
        tags: Mapping[str, str | int | bool] | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_ttl: int | None = None,
    ) -> GroupJob:
        """Open a job group (``POST /jobs/group``); pass it as ``submit(..., group=g)``.

        ``max_ttl`` (seconds, 1..86400; qBraid's default 3600) bounds how long the group stays
        open. Tags follow the job rules (str/int/bool values, ``qjobs_*`` names reserved);
        ``metadata`` must be JSON-serializable.
        """
        if name is not None and not isinstance(name, str):
            raise InputError("name", name, "must be a string")
        wire_tags = _tags(tags)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InputError("metadata", metadata, "must be a mapping")
        if max_ttl is not None and (
            isinstance(max_ttl, bool)
            or not isinstance(max_ttl, int)
            or not 1 <= max_ttl <= _MAX_GROUP_TTL
        ):
            raise InputError("max_ttl", max_ttl, f"must be an int from 1 to {_MAX_GROUP_TTL}")
        body: dict[str, Any] = {"name": name, "tags": wire_tags, "metadata": dict(metadata or {})}
        if max_ttl is not None:
            body["maxTTL"] = max_ttl
        try:
            orjson.dumps(body)
        except TypeError as exc:
            raise InputError("metadata", "<metadata>", f"not JSON-serializable: {exc}") from None
        data, _ = await self._call(
            "POST", "jobs/group", json=body, kind=RequestKind.WRITE, route="POST /jobs/group"
        )
        return group_from_wire(data)

    async def get_group(self, group: GroupJob | str) -> GroupJob:
        """A group's current state and counts (``GET /jobs/group/{qrn}``)."""
        gid = _group_id(group)
        data, _ = await self._call("GET", f"jobs/group/{gid}", route="GET /jobs/group/{qrn}")
        return group_from_wire(data)

    async def list_groups(
        self, *, status: str | None = None, page: int = 1, limit: int | None = None
    ) -> tuple[list[GroupJob], Pagination]:
        """One page of groups (``GET /jobs/group``), newest first, and its :class:`Pagination`.

        ``status`` is one of :data:`GROUP_STATUSES`; ``limit`` the page size (1..100).
        """
        params: dict[str, Any] = {"page": _positive_int(page, "page")}
        size = _positive_int(self.capabilities.page_size if limit is None else limit, "limit")
        if size > _MAX_PAGE:
            raise InputError("limit", size, f"must be <= {_MAX_PAGE}")
        params["limit"] = size
        if status is not None:
            if not isinstance(status, str) or status.upper() not in GROUP_STATUSES:
                raise InputError("status", status, f"must be one of {list(GROUP_STATUSES)}")
            params["status"] = status.upper()
        data, pagination = await self._call(
            "GET", "jobs/group", params=params, route="GET /jobs/group"
        )
        if not isinstance(data, list):
            raise MalformedResponseError("group list is not a list", provider=PROVIDER)
        return [group_from_wire(g) for g in data], pagination_from_wire(
            pagination, page=page, limit=size
        )

    async def iter_groups(
        self, *, status: str | None = None, limit: int | None = None, max_pages: int | None = None
    ) -> AsyncIterator[GroupJob]:
        """Iterate over groups, newest first, following every page (``hasNext``)."""
        if max_pages is not None:
            _positive_int(max_pages, "max_pages")
        page = 1
        while True:
            groups, info = await self.list_groups(status=status, page=page, limit=limit)
            for group in groups:
                yield group
            if not info.has_next or not groups or (max_pages is not None and page >= max_pages):
                return
            page += 1

    async def group_jobs(self, group: GroupJob | str) -> list[Job]:
        """The jobs of a group (``GET /jobs/group/{qrn}/jobs``)."""
        gid = _group_id(group)
        data, _ = await self._call(
            "GET", f"jobs/group/{gid}/jobs", route="GET /jobs/group/{qrn}/jobs"
        )
        if not isinstance(data, list):
            raise MalformedResponseError("group job list is not a list", provider=PROVIDER)
        return [job_from_wire(j) for j in data]

    async def close_group(self, group: GroupJob | str) -> GroupJob:
        """Stop a group taking jobs (``POST /jobs/group/{qrn}/close``); its jobs run on."""
        gid = _group_id(group)
        data, _ = await self._call(
            "POST",
            f"jobs/group/{gid}/close",
            kind=RequestKind.READ,
            route="POST /jobs/group/{qrn}/close",
        )
        return group_from_wire(data) if data is not None else await self.get_group(gid)

    async def cancel_group(self, group: GroupJob | str) -> GroupJob:
        """Cancel a group and its unfinished jobs (``POST /jobs/group/{qrn}/cancel``).

        A group that is already final is left as it is and returned.
        """
        gid = _group_id(group)
        try:
            data, _ = await self._call(
                "POST",
                f"jobs/group/{gid}/cancel",
                kind=RequestKind.READ,
                route="POST /jobs/group/{qrn}/cancel",
            )
        except (ValidationError, ConflictError) as exc:
            current = await self.get_group(gid)
            if current.is_final:
                logger.debug("qbraid: cancel of group %s refused (%s); final", gid, exc.status)
                return current
            raise
        return group_from_wire(data) if data is not None else await self.get_group(gid)

    async def delete_group(self, group: GroupJob | str) -> None:
        """Delete a group (``DELETE /jobs/group/{qrn}``); one already gone (404) is ignored."""
        gid = _group_id(group)
        try:
            await self._call(
                "DELETE",
                f"jobs/group/{gid}",
                kind=RequestKind.READ,
                route="DELETE /jobs/group/{qrn}",
            )
        except NotFoundError:
            logger.debug("qbraid: group %s was already deleted", gid)

    @asynccontextmanager
    async def group(
        self,
        *,
        name: str | None = None,
        tags: Mapping[str, str | int | bool] | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_ttl: int | None = None,
    ) -> AsyncIterator[GroupJob]:
        """``async with qb.group(name="scan") as g: await qb.submit(..., group=g)``.

        The group is closed on exit (its jobs run on). If the block raised, the group and its
        unfinished jobs are cancelled instead, then the error propagates.
        """
        opened = await self.create_group(name=name, tags=tags, metadata=metadata, max_ttl=max_ttl)
        try:
            yield opened
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.cancel_group(opened)
            raise
        else:
            await self.close_group(opened)
