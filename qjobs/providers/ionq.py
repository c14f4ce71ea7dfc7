"""The async IonQ client (Quantum Cloud API v0.4).

``IonQClient`` speaks IonQ's REST protocol over one :class:`~qjobs.transport.Transport`:
jobs (one circuit, multi-circuit batches, OpenQASM 3), batched status polls (``GET /jobs?ids=``),
paged listing, results with measurement maps applied, batched cancellation, backends,
characterizations, estimates and sessions. Circuit encoding lives in :mod:`qjobs.codecs.ionq`;
wire <-> model mapping in :mod:`qjobs.providers._ionq_models`.

Use it through :func:`qjobs.connect`::

    async with qjobs.connect("ionq") as ionq:         # IONQ_API_KEY etc. from .env / environment
        job = await ionq.submit(circuit, shots=100, backend="simulator")
"""

from __future__ import annotations

import logging
import re
import ssl as ssl_module
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, ClassVar, Final

import anyio
import numpy as np
import numpy.typing as npt
import orjson
from yarl import URL

from qjobs._circuit import Circuit
from qjobs._config import resolve_setting
from qjobs._errors import (
    ConflictError,
    InputError,
    JobError,
    MalformedResponseError,
    NotFoundError,
    ValidationError,
)
from qjobs._models import Backend, Job, JobStatus, Result
from qjobs.codecs import ionq as codec
from qjobs.codecs.ionq import MeasurementMap
from qjobs.providers._base import Capabilities, ProviderClient
from qjobs.providers._base import gather as _gather
from qjobs.providers._base import job_id as _job_id
from qjobs.providers._ionq_models import (
    PROVIDER,
    BatchStatus,
    Characterization,
    Estimate,
    Session,
    backend_from_wire,
    error_parser,
    job_from_wire,
    structure_model,
)
from qjobs.transport import RateLimit, RequestKind, RetryPolicy, Timeouts

__all__ = [
    "DEFAULT_BASE_URL",
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "BatchStatus",
    "Characterization",
    "Estimate",
    "IonQClient",
    "Session",
]

logger = logging.getLogger("qjobs.providers.ionq")

#: IonQ's production API (the version segment is part of the base).
DEFAULT_BASE_URL: Final = "https://api.ionq.co/v0.4"
#: Environment variables holding the API key, in lookup order (each: ``.env``, then environment).
TOKEN_VARIABLES: Final = ("QISKIT_IONQ_API_TOKEN", "IONQ_API_KEY", "IONQ_API_TOKEN")
#: Environment variables holding the API URL, in lookup order.
URL_VARIABLES: Final = ("QISKIT_IONQ_API_URL", "IONQ_API_URL")

#: Shot range when the backend catalogue states none.
DEFAULT_MAX_SHOTS: Final = 100_000
#: Metadata keys qjobs writes on every job (values are strings, as IonQ requires).
META_MAPS: Final = "qjobs_meas"
META_KEY: Final = "qjobs_key"
META_SHOTS: Final = "shots"
_MAX_KEY_LENGTH: Final = 128
_CANCEL_CHUNK: Final = 100
_FIND_PAGES: Final = 10
_VERSION_SEGMENT = re.compile(r"^v\d+(\.\d+)*$")
_QUEUED_RAW: Final = frozenset({"submitted", "ready", "queued"})


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or "/" in value or "?" in value:
        raise InputError(field, value, "must be a non-empty name without '/' or '?'")
    return value


def _encode_maps(maps: Sequence[MeasurementMap]) -> str:
    texts = [m.encode() for m in maps]
    if len(texts) > 1 and all(t == texts[0] for t in texts):
        return "*" + texts[0]  # one map shared by every circuit
    return ";".join(texts)


def _decode_maps(text: str, count: int) -> list[MeasurementMap] | None:
    try:
        if text.startswith("*"):
            return [MeasurementMap.decode(text[1:])] * count
        maps = [MeasurementMap.decode(t) for t in text.split(";")]
    except ValueError:
        return None
    return maps if len(maps) == count else None


def _probability_dict(data: Any, what: str) -> dict[int, float]:
    if not isinstance(data, Mapping):
        raise MalformedResponseError(f"{what} is not an object", provider=PROVIDER)
    out: dict[int, float] = {}
    for key, value in data.items():
        try:
            k = int(key)
            p = float(value)
        except (TypeError, ValueError):
            raise MalformedResponseError(
                f"{what} has a bad entry {key!r}: {value!r}", provider=PROVIDER
            ) from None
        if k < 0:
            raise MalformedResponseError(f"{what} has a negative outcome {k}", provider=PROVIDER)
        out[k] = out.get(k, 0.0) + p
    return out


class IonQClient(ProviderClient):
    """Async client for IonQ's Quantum Cloud API v0.4.

    The token comes from ``token=``, else ``QISKIT_IONQ_API_TOKEN``, ``IONQ_API_KEY``,
    ``IONQ_API_TOKEN`` (each looked up in ``./.env`` first, then the environment); the base URL
    from ``base_url=``, else ``QISKIT_IONQ_API_URL``, ``IONQ_API_URL``, else
    ``https://api.ionq.co/v0.4``. Requests carry ``Authorization: apiKey <token>``; the token
    never appears in a repr, a log line or an exception. ``transport_options`` passes extra
    keyword arguments to the :class:`~qjobs.transport.Transport` (e.g. ``sleep=`` in tests).
    """

    provider: ClassVar[str] = PROVIDER
    #: IonQ documents no per-job circuit limit; 100 circuits keep one job's payload, its result
    #: download and the cost of one failure modest. ``status_batch_size`` is the number of ids
    #: per ``GET /jobs?ids=`` (about 4 KB of query).
    default_capabilities: ClassVar[Capabilities] = Capabilities(
        max_circuits_per_job=100,
        max_payload_bytes=5_000_000,
        status_batch_size=100,
        poll_initial=0.5,
        poll_max=15.0,
        poll_factor=1.5,
        # IonQ publishes no rate limit. 100 requests/s lets one client outpace a 10-thread
        # pool of blocking SDK calls (docs/benchmarks.md) and the limiter halves it on a 429.
        requests_per_second=100.0,
        max_concurrent_requests=16,
        max_in_flight_jobs=1000,
        page_size=100,
        submit_key=True,
        cancel_batch=True,
    )

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        headers: Mapping[str, str] | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        capabilities: Capabilities | None = None,
        user_agent: str | None = None,
        transport_options: Mapping[str, Any] | None = None,
    ) -> None:
        caps = capabilities or self.default_capabilities
        secret = resolve_setting("token", token, TOKEN_VARIABLES, dotenv=True, required=True)
        url = resolve_setting(
            "base_url", base_url, URL_VARIABLES, dotenv=True, default=DEFAULT_BASE_URL
        )
        assert secret.value is not None
        assert url.value is not None
        transport = self._build_transport(
            caps,
            base_url=url.value,
            auth_headers={"Authorization": f"apiKey {secret.value}"},
            headers=self._user_headers(headers),
            user_agent=user_agent,
            timeouts=timeouts,
            retry=retry,
            rate_limit=rate_limit,
            ssl=ssl,
            error_parser=error_parser,
            transport_options=transport_options,
        )
        super().__init__(transport, capabilities=caps)
        self.token_source = secret.source
        self._catalogue: dict[str, Backend] | None = None
        self._catalogue_lock = anyio.Lock()
        self._results_cache: dict[tuple[Any, ...], list[Result]] = {}

    # ----------------------------------------------------------------------------- helpers
    def _resolve(self, url: str) -> str:
        """Resolve a URL from a response (IonQ sends ``/v0.4/jobs/...``) against the base URL.

        An absolute URL is used as is; a path starting with the base URL's path is taken from
        the origin; a path starting with a version segment (``/v0.4/...``) replaces the base
        URL's version (so a base behind a prefix, ``http://h/ionq/v0.4``, keeps its prefix);
        any other path is origin-relative, and a relative one is base-relative.
        """
        if url.startswith(("http://", "https://")):
            return url
        if not url.startswith("/"):
            return self.base_url + "/" + url
        base = URL(self.base_url)
        origin = str(base.origin()).rstrip("/")
        path = base.path.rstrip("/")
        if path and (url == path or url.startswith(path + "/")):
            return origin + url
        first = url.split("/", 2)[1]
        prefix, _, last = path.rpartition("/")
        if _VERSION_SEGMENT.match(first) and _VERSION_SEGMENT.match(last):
            return origin + prefix + url
        return origin + url

    async def _get_json(
        self,
        path: str,
        *,
        params: Any = None,
        route: str,
    ) -> Any:
        resp = await self._transport.request("GET", path, params=params, route=route)
        return resp.json()

    # ------------------------------------------------------------------------- catalogue
    async def backends(self) -> list[Backend]:
        """Every backend IonQ offers (``GET /backends``); cached for submit-time checks."""
        data = await self._get_json("backends", route="GET /backends")
        items = data.get("backends") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise MalformedResponseError("backend list is not a list", provider=PROVIDER)
        out = [backend_from_wire(item, max_shots=DEFAULT_MAX_SHOTS) for item in items]
        self._catalogue = {b.name: b for b in out}
        return out

    async def backend(self, name: str) -> Backend:
        """One backend (``GET /backends/{name}``)."""
        name = _name(name, "backend")
        data = await self._get_json(f"backends/{name}", route="GET /backends/{backend}")
        if isinstance(data, Mapping) and "backend" not in data:
            data = {**data, "backend": name}
        return backend_from_wire(data, max_shots=DEFAULT_MAX_SHOTS)

    async def _catalogue_entry(self, name: str) -> Backend | None:
        """The cached catalogue entry for ``name``; None when the server has no catalogue."""
        if self._catalogue is None:  # fetched once; later calls skip the lock
            async with self._catalogue_lock:
                if self._catalogue is None:
                    try:
                        await self.backends()
                    except NotFoundError:
                        logger.debug(
                            "ionq: no backend catalogue at %s; skipping checks", self.base_url
                        )
                        self._catalogue = {}
        catalogue = self._catalogue or {}
        if not catalogue:
            return None
        entry = catalogue.get(name)
        if entry is None:
            raise InputError("backend", name, f"unknown IonQ backend; known: {sorted(catalogue)}")
        return entry

    async def characterizations(
        self, backend: str, limit: int | None = None
    ) -> list[Characterization]:
        """Calibration records of a backend, newest first (``limit`` bounds how many)."""
        backend = _name(backend, "backend")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise InputError("limit", limit, "must be an int >= 1")
        data = await self._get_json(
            f"backends/{backend}/characterizations",
            params={"limit": limit},
            route="GET /backends/{backend}/characterizations",
        )
        items = data.get("characterizations") if isinstance(data, Mapping) else data
        if items is None:
            return []
        if not isinstance(items, list):
            raise MalformedResponseError("characterizations is not a list", provider=PROVIDER)
        return [structure_model(c, Characterization, "characterization") for c in items]

    async def characterization(self, backend: str) -> Characterization | None:
        """The latest calibration record of a backend, or None when there is none."""
        found = await self.characterizations(backend, limit=1)
        return found[0] if found else None

    # ------------------------------------------------------------------------------ submit
    def _build_body(
        self,
        circuits: Circuit | Sequence[Circuit],
        *,
        shots: int,
        backend: str,
        name: str | None,
        key: str | None,
        noise: str | Mapping[str, Any] | None,
        error_mitigation: bool | Mapping[str, Any] | None,
        settings: Mapping[str, Any] | None,
        dry_run: bool,
        metadata: Mapping[str, str] | None,
        session_id: str | None,
        gateset: str | None,
    ) -> tuple[dict[str, Any], codec.Encoded]:
        """Validate everything that needs no request and build the ``POST /jobs`` body."""
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise InputError("shots", shots, "must be an int >= 1")
        if shots > DEFAULT_MAX_SHOTS:
            raise InputError("shots", shots, f"must be <= {DEFAULT_MAX_SHOTS}")
        backend = _name(backend, "backend")
        if key is not None and (not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH):
            raise InputError("key", key, f"must be a non-empty string of <= {_MAX_KEY_LENGTH}")
        if name is not None and not isinstance(name, str):
            raise InputError("name", name, "must be a string")
        if not isinstance(dry_run, bool):
            raise InputError("dry_run", dry_run, "must be a bool")
        if session_id is not None:
            _name(session_id, "session_id")
        obj: object = circuits
        if isinstance(obj, str) or not isinstance(obj, Circuit | Sequence):
            raise InputError(
                "circuits", type(obj).__name__, "must be a Circuit or a list of Circuits"
            )
        if not isinstance(circuits, Circuit):
            circuits = list(circuits)
            limit = self.capabilities.max_circuits_per_job
            if len(circuits) > limit:
                raise InputError(
                    "circuits", f"{len(circuits)} circuits", f"at most {limit} per job"
                )
        encoded = codec.encode(circuits, gateset=gateset)
        user_meta: dict[str, str] = {}
        for k, v in (metadata or {}).items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise InputError(f"metadata[{k!r}]", v, "metadata keys and values must be strings")
            if k.startswith("qjobs_") or k == META_SHOTS:
                raise InputError(f"metadata[{k!r}]", v, "key is reserved by qjobs")
            user_meta[k] = v
        meta = {**user_meta, META_SHOTS: str(shots), META_MAPS: _encode_maps(encoded.maps)}
        if key is not None:
            meta[META_KEY] = key
        if name is None:
            if isinstance(circuits, Circuit):
                name = circuits.name
            else:
                name = f"{len(encoded.maps)} circuits"
        body: dict[str, Any] = {"type": encoded.type, "backend": backend, "shots": shots}
        if name:
            body["name"] = name
        body["input"] = encoded.input
        if session_id is not None:
            body["session_id"] = session_id
        body["metadata"] = meta
        if noise is not None:
            if not backend.startswith("simulator"):
                raise InputError("noise", noise, "noise models apply to the simulator only")
            if isinstance(noise, str):
                body["noise"] = {"model": noise}
            elif isinstance(noise, Mapping) and isinstance(noise.get("model"), str):
                body["noise"] = dict(noise)
            else:
                raise InputError("noise", noise, "must be a model name or {'model': ..., 'seed'}")
        merged: dict[str, Any] = {}
        if settings is not None:
            if not isinstance(settings, Mapping):
                raise InputError("settings", settings, "must be a mapping")
            merged.update(settings)
        if error_mitigation is not None:
            if isinstance(error_mitigation, bool):
                merged["error_mitigation"] = {"debiasing": error_mitigation}
            elif isinstance(error_mitigation, Mapping):
                merged["error_mitigation"] = dict(error_mitigation)
            else:
                raise InputError(
                    "error_mitigation", error_mitigation, "must be a bool or a mapping"
                )
        if encoded.type == codec.TYPE_QASM3:
            compilation = dict(merged.get("compilation") or {})
            compilation.setdefault("service_version", "v0.4")
            merged["compilation"] = compilation
        if merged:
            body["settings"] = merged
        if dry_run:
            body["dry_run"] = True
        try:
            size = len(orjson.dumps(body))
        except TypeError as exc:
            raise InputError("settings", "<body>", f"not JSON-serializable: {exc}") from None
        if size > self.capabilities.max_payload_bytes:
            raise InputError(
                "circuits",
                f"{size} bytes",
                f"payload exceeds max_payload_bytes={self.capabilities.max_payload_bytes}",
            )
        return body, encoded

    async def submit(
        self,
        circuits: Circuit | Sequence[Circuit],
        *,
        shots: int,
        backend: str | None = "simulator",
        name: str | None = None,
        key: str | None = None,
        noise: str | Mapping[str, Any] | None = None,
        error_mitigation: bool | Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        metadata: Mapping[str, str] | None = None,
        session_id: str | None = None,
        gateset: str | None = None,
        **options: Any,
    ) -> Job:
        """Submit one circuit (``ionq.circuit.v1``/``ionq.qasm3.v1``) or a list (multi-circuit).

        Everything is validated before the job is sent: shots (1..100000, or the backend's
        range), circuit width against the backend's qubits (the backend catalogue is fetched
        once and cached), unbound parameters, gatesets, string metadata. ``noise`` (simulator
        only) is a model name or ``{"model", "seed"}``; ``error_mitigation=True`` asks for
        debiasing; ``settings`` is merged into IonQ's ``settings``.

        With ``key``, the job carries ``metadata.qjobs_key`` and submission is idempotent: if
        the POST fails ambiguously or with a 5xx, the key is looked up (:meth:`find_by_key`)
        before trying again, so one call never creates two jobs. Without a key such failures are
        raised as they are (:class:`~qjobs.SubmitUncertainError`, :class:`~qjobs.ServerError`).
        """
        if options:
            raise InputError(next(iter(options)), "...", "unknown submit option for IonQ")
        backend = "simulator" if backend is None else backend
        body, encoded = self._build_body(
            circuits,
            shots=shots,
            backend=backend,
            name=name,
            key=key,
            noise=noise,
            error_mitigation=error_mitigation,
            settings=settings,
            dry_run=dry_run,
            metadata=metadata,
            session_id=session_id,
            gateset=gateset,
        )
        entry = await self._catalogue_entry(backend)
        if entry is not None:
            if entry.qubits is not None and encoded.qubits > entry.qubits:
                raise InputError(
                    "circuits",
                    f"{encoded.qubits} qubits",
                    f"backend {backend!r} has {entry.qubits} qubits",
                )
            if entry.max_shots is not None and shots > entry.max_shots:
                raise InputError("shots", shots, f"backend {backend!r} allows <= {entry.max_shots}")
            if shots < entry.min_shots:
                raise InputError("shots", shots, f"backend {backend!r} needs >= {entry.min_shots}")
        created = await self._create_once(
            lambda: self._transport.request(
                "POST", "jobs", json=body, kind=RequestKind.CREATE, route="POST /jobs"
            ),
            key,
        )
        if isinstance(created, Job):
            return created
        resp = created
        data = resp.json()
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            raise MalformedResponseError(
                "job creation answer has no id", provider=PROVIDER, method="POST", path="/jobs"
            )
        merged = {
            "status": "submitted",
            "backend": backend,
            "shots": shots,
            "name": body.get("name"),
            "metadata": body["metadata"],
            "type": body["type"],
            "stats": {"circuits": len(encoded.maps)},
            **{k: v for k, v in data.items() if v is not None},
        }
        job = job_from_wire(merged)
        logger.debug(
            "ionq: submitted job %s (%s, %d circuit(s), %d shots, backend %s)",
            job.id,
            body["type"],
            len(encoded.maps),
            shots,
            backend,
        )
        return job

    # ------------------------------------------------------------------------------- jobs
    async def get_job(self, job_id: str) -> Job:
        """Fetch one job's current state (``GET /jobs/{id}``)."""
        jid = _job_id(job_id, "job_id")
        data = await self._get_json(f"jobs/{jid}", route="GET /jobs/{id}")
        return job_from_wire(data)

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """Fetch many jobs in the order given, ``status_batch_size`` ids per ``GET /jobs``.

        Chunks are fetched concurrently; an id the list does not return is fetched on its own
        (so a job that does not exist raises :class:`~qjobs.NotFoundError`).
        """
        ids = [_job_id(j, f"job_ids[{i}]") for i, j in enumerate(job_ids)]
        if not ids:
            return []
        size = max(1, self.capabilities.status_batch_size)
        found: dict[str, Job] = {}

        async def chunk(part: list[str]) -> None:
            params: list[tuple[str, str | int]] = [("ids", jid) for jid in part]
            params.append(("limit", len(part)))
            cursor: str | None = None
            for _ in range(len(part) + 1):  # bounded: at least one job per page
                page = params + ([("next", cursor)] if cursor else [])
                data = await self._get_json("jobs", params=page, route="GET /jobs")
                jobs, cursor = self._page(data)
                for job in jobs:
                    found[job.id] = job
                if not cursor or all(jid in found for jid in part):
                    break

        unique = list(dict.fromkeys(ids))
        await _gather(
            [partial(chunk, unique[start : start + size]) for start in range(0, len(unique), size)]
        )
        missing = [jid for jid in unique if jid not in found]
        if missing:

            async def single(jid: str) -> None:
                found[jid] = await self.get_job(jid)

            await _gather([partial(single, jid) for jid in missing])
        return [found[jid] for jid in ids]

    @staticmethod
    def _page(data: Any) -> tuple[list[Job], str | None]:
        if isinstance(data, list):
            return [job_from_wire(j) for j in data], None
        if not isinstance(data, Mapping) or not isinstance(data.get("jobs"), list):
            raise MalformedResponseError("job list without 'jobs'", provider=PROVIDER)
        cursor = data.get("next")
        return [job_from_wire(j) for j in data["jobs"]], cursor if isinstance(cursor, str) else None

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over jobs following every page (cursor ``next``).

        Filters: ``status``, ``backend`` (sent as ``target``; a list is comma-joined),
        ``parent_job_id``, ``session_id``, ``ids`` (a list), ``limit`` (page size, default
        ``capabilities.page_size``) and ``max_pages`` (stop after that many pages).
        """
        max_pages = filters.pop("max_pages", None)
        if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
            raise InputError("max_pages", max_pages, "must be an int >= 1")
        params: list[tuple[str, str | int | float | bool]] = []
        if "backend" in filters:
            filters["target"] = filters.pop("backend")
        filters.setdefault("limit", self.capabilities.page_size)
        for key, value in filters.items():
            if value is None:
                continue
            if key == "ids":
                if isinstance(value, str) or not isinstance(value, Sequence):
                    raise InputError("ids", value, "must be a list of job ids")
                params.extend(("ids", _job_id(v, "ids")) for v in value)
            elif isinstance(value, list | tuple):
                params.append((key, ",".join(str(v) for v in value)))
            elif isinstance(value, str | int | float | bool):
                params.append((key, value))
            else:
                raise InputError(key, value, "filter values must be strings, numbers or lists")
        cursor: str | None = None
        pages = 0
        while True:
            page = params + ([("next", cursor)] if cursor else [])
            data = await self._get_json("jobs", params=page, route="GET /jobs")
            jobs, next_cursor = self._page(data)
            pages += 1
            for job in jobs:
                yield job
            if not next_cursor or next_cursor == cursor:
                return
            if max_pages is not None and pages >= max_pages:
                return
            cursor = next_cursor

    async def find_by_key(
        self, key: str, *, backend: str | None = None, max_pages: int = _FIND_PAGES
    ) -> Job | None:
        """The most recent job whose ``metadata.qjobs_key`` is ``key``, or None.

        Scans at most ``max_pages`` pages of the newest jobs (``backend`` narrows the listing),
        which covers the jobs an interrupted submission could have created.
        """
        if not isinstance(key, str) or not key:
            raise InputError("key", key, "must be a non-empty string")
        async for job in self.iter_jobs(backend=backend, max_pages=max_pages):
            if job.tags.get(META_KEY) == key and job.parent_id is None:
                return job
        return None

    # ----------------------------------------------------------------------------- results
    async def probabilities(
        self, job: Job | str, sharpen: bool | None = None, **params: Any
    ) -> dict[str, Any]:
        """The raw probabilities IonQ returns for a job (decimal-string keys over qubits).

        A multi-circuit job returns ``{child_id: {key: p}}``. ``sharpen`` and any extra query
        parameters are passed through.
        """
        current = job if isinstance(job, Job) else await self.get_job(_job_id(job))
        data = await self._fetch_probabilities(current, sharpen, params)
        if not isinstance(data, dict):
            raise MalformedResponseError("probabilities are not an object", provider=PROVIDER)
        return data

    async def _fetch_probabilities(
        self, job: Job, sharpen: bool | None, params: Mapping[str, Any]
    ) -> Any:
        url = self._result_url(job, "probabilities")
        if url is None:
            suffix = "/aggregated" if job.child_ids else ""
            url = f"jobs/{job.id}/results/probabilities{suffix}"
        query: dict[str, Any] = dict(params)
        if sharpen is not None:
            if not isinstance(sharpen, bool):
                raise InputError("sharpen", sharpen, "must be a bool or None")
            query["sharpen"] = sharpen
        route = (
            "GET /jobs/{id}/results/probabilities/aggregated"
            if job.child_ids
            else "GET /jobs/{id}/results/probabilities"
        )
        resp = await self._transport.request("GET", self._resolve(url), params=query, route=route)
        return resp.json()

    @staticmethod
    def _result_url(job: Job, kind: str) -> str | None:
        results = job.details.get("results")
        if isinstance(results, Mapping):
            entry = results.get(kind)
            if isinstance(entry, Mapping) and isinstance(entry.get("url"), str):
                return str(entry["url"])
        return None

    def _maps_for(
        self, job: Job, count: int, probs: Sequence[Mapping[int, float]]
    ) -> list[MeasurementMap]:
        text = job.tags.get(META_MAPS)
        if text is not None:
            maps = _decode_maps(text, count)
            if maps is not None:
                return maps
        # A job qjobs did not submit: outcomes over every qubit IonQ reports.
        stats = job.details.get("stats")
        width = stats.get("qubits") if isinstance(stats, Mapping) else None
        out = []
        for p in probs:
            n = width if isinstance(width, int) and width > 0 else 0
            top = max(p, default=0)
            n = max(n, int(top).bit_length(), 1)
            out.append(MeasurementMap.identity(n))
        return out

    def _shots_of(self, job: Job) -> int:
        text = job.tags.get(META_SHOTS)
        if text is not None and text.isdigit():
            return int(text)
        if job.shots is not None:
            return job.shots
        raise MalformedResponseError(f"job {job.id} has no shot count", provider=PROVIDER)

    async def _fetch_memory(self, job_id: str, url: str | None) -> npt.NDArray[np.int64] | None:
        target = self._resolve(url) if url else f"jobs/{job_id}/results/shots"
        try:
            resp = await self._transport.request(
                "GET", target, route="GET /jobs/{id}/results/shots"
            )
        except (NotFoundError, ConflictError, ValidationError) as exc:
            logger.warning("ionq: per-shot outcomes of job %s unavailable: %s", job_id, exc)
            return None
        data = resp.json()
        if not isinstance(data, list):
            raise MalformedResponseError("shots are not a list", provider=PROVIDER)
        try:
            return np.array([int(v) for v in data], dtype=np.int64)
        except (TypeError, ValueError):
            raise MalformedResponseError("shots hold a non-integer", provider=PROVIDER) from None

    async def results(
        self,
        job: Job | str,
        *,
        sharpen: bool | None = None,
        memory: bool = False,
        **params: Any,
    ) -> list[Result]:
        """The results of a completed job, one per circuit, in circuit order.

        ``Result.probabilities`` is over the circuit's classical bits (the measurement map the
        job carries is applied); counts are ``probabilities x shots`` rounded so they sum to
        exactly ``shots`` (largest remainder). ``memory=True`` also fetches the per-shot
        outcomes (``results/shots``) where IonQ has them; counts then come from those outcomes.
        ``sharpen`` and extra query parameters go to the probabilities request. Results of a
        job are cached. A failed or cancelled job raises :class:`~qjobs.JobFailedError` /
        :class:`~qjobs.JobCancelledError`; an unfinished one :class:`~qjobs.JobError`.
        """
        current = job if isinstance(job, Job) else await self.get_job(_job_id(job))
        if not current.is_final:
            current = await self.get_job(current.id)
        self.raise_for_job(current)
        if current.status is not JobStatus.COMPLETED:
            raise JobError(
                f"ionq job {current.id} is {current.provider_status or current.status.value}, "
                "not completed",
                job_id=current.id,
                provider=PROVIDER,
            )
        if current.details.get("dry_run") is True or current.details.get("results", 0) is None:
            raise JobError(
                f"ionq job {current.id} has no results (dry run); "
                "compiled_circuits() fetches what it compiled to",
                job_id=current.id,
                provider=PROVIDER,
            )
        cache_key = (
            current.id,
            sharpen,
            memory,
            tuple(sorted((k, str(v)) for k, v in params.items())),
        )
        cached = self._results_cache.get(cache_key)
        if cached is not None:
            return list(cached)
        data = await self._fetch_probabilities(current, sharpen, params)
        shots = self._shots_of(current)
        children: list[str | None]
        if current.child_ids or (
            isinstance(data, Mapping)
            and data
            and all(isinstance(v, Mapping) for v in data.values())
        ):
            if not isinstance(data, Mapping):
                raise MalformedResponseError(
                    "aggregated results are not an object", provider=PROVIDER
                )
            order = list(current.child_ids) or [str(k) for k in data]
            probs = []
            for cid in order:
                if cid not in data:
                    raise MalformedResponseError(
                        f"aggregated results lack child job {cid}", provider=PROVIDER
                    )
                probs.append(_probability_dict(data[cid], f"results of child {cid}"))
            children = list(order)
        else:
            probs = [_probability_dict(data, "probabilities")]
            children = [None]
        maps = self._maps_for(current, len(probs), probs)
        memories: list[npt.NDArray[np.int64] | None] = [None] * len(probs)
        if memory:
            if children == [None]:
                memories[0] = await self._fetch_memory(
                    current.id, self._result_url(current, "shots")
                )
            else:

                async def fetch(i: int, cid: str) -> None:
                    memories[i] = await self._fetch_memory(cid, None)

                await _gather([partial(fetch, i, str(child)) for i, child in enumerate(children)])
        out: list[Result] = []
        for i, (p, mm) in enumerate(zip(probs, maps, strict=True)):
            dense = mm.apply_probabilities(p)
            n = mm.num_clbits
            mem = None if memories[i] is None else mm.apply(memories[i])  # type: ignore[arg-type]
            if mem is not None:
                counts_arr = np.bincount(mem, minlength=1 << n).astype(np.int64)
                used_shots = int(mem.size)
            else:
                counts_arr = codec.counts_from_probabilities(dense, shots)
                used_shots = shots
            counts = {
                format(int(k), f"0{n}b") if n else "": int(counts_arr[k])
                for k in np.flatnonzero(counts_arr)
            }
            out.append(
                Result(
                    counts=counts,
                    probabilities=dense,
                    shots=used_shots,
                    num_clbits=n,
                    memory=mem,
                    job_id=current.id,
                    index=i,
                    job=current,
                )
            )
        self._results_cache[cache_key] = out
        if len(self._results_cache) > 1024:
            self._results_cache.pop(next(iter(self._results_cache)))
        return list(out)

    async def batch_status(self, job: Job | str) -> BatchStatus:
        """The parent and every child of a multi-circuit job, fetched now.

        One ``GET /jobs/{id}`` for the parent, then the children through the batched
        ``GET /jobs?ids=`` (``status_batch_size`` ids per request), in circuit order. A job without
        children is its own single child. See :class:`BatchStatus` for the summary numbers.
        """
        parent = await self.get_job(_job_id(job))
        children = await self.get_jobs(list(parent.child_ids)) if parent.child_ids else [parent]
        return BatchStatus(job=parent, children=tuple(children))

    # --------------------------------------------------------------------------- artifacts
    async def artifact(self, job: Job | str, artifact_id: str, **params: Any) -> Any:
        """One job artifact (``GET /jobs/{id}/artifacts/{artifact_id}``), extra query passed on.

        JSON bodies are decoded; ``text/*`` bodies are returned as ``str`` and anything else
        (``application/octet-stream``) as ``bytes``.
        """
        jid = _job_id(job)
        aid = _name(artifact_id, "artifact_id")
        resp = await self._transport.request(
            "GET",
            f"jobs/{jid}/artifacts/{aid}",
            params=params or None,
            route="GET /jobs/{id}/artifacts/{artifact_id}",
        )
        media = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            return resp.json()
        if media.startswith("text/"):
            return resp.text
        if not media:
            try:
                return resp.json()
            except MalformedResponseError:
                return resp.content
        return resp.content

    async def compiled_circuits(self, job: Job | str) -> dict[str, Any]:
        """What a completed job (typically a ``dry_run``) was compiled to, by format.

        Reads ``output.compilation.compiled_circuits`` of the job (fetched again unless it is
        final) and downloads each artifact concurrently: ``{"ionq.circuit.v1": {...}}``. A job
        that is not completed raises :class:`~qjobs.JobError`; a completed one without compiled
        circuits gives ``{}``.
        """
        current = job if isinstance(job, Job) and job.is_final else await self.get_job(_job_id(job))
        self.raise_for_job(current)
        if current.status is not JobStatus.COMPLETED:
            raise JobError(
                f"ionq job {current.id} is {current.provider_status or current.status.value}, "
                "not completed",
                job_id=current.id,
                provider=PROVIDER,
            )
        output = current.details.get("output")
        compilation = output.get("compilation") if isinstance(output, Mapping) else None
        compiled = (
            compilation.get("compiled_circuits") if isinstance(compilation, Mapping) else None
        )
        if compiled is None:
            return {}
        if not isinstance(compiled, Mapping):
            raise MalformedResponseError("compiled_circuits is not an object", provider=PROVIDER)
        wanted: dict[str, str] = {}
        for fmt, entry in compiled.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
                raise MalformedResponseError(
                    f"compiled circuit {fmt!r} has no artifact id", provider=PROVIDER
                )
            wanted[str(fmt)] = entry["id"]
        out: dict[str, Any] = {}

        async def fetch(fmt: str, artifact_id: str) -> None:
            out[fmt] = await self.artifact(current.id, artifact_id)

        await _gather([partial(fetch, fmt, aid) for fmt, aid in wanted.items()])
        return {fmt: out[fmt] for fmt in wanted}

    # ---------------------------------------------------------------------- cancel, delete
    async def cancel(self, job: Job | str) -> None:
        """Cancel a job (``PUT /jobs/{id}/status/cancel``); a final job is left as it is."""
        jid = _job_id(job)
        try:
            await self._transport.request(
                "PUT",
                f"jobs/{jid}/status/cancel",
                kind=RequestKind.READ,
                route="PUT /jobs/{id}/status/cancel",
            )
        except (ConflictError, ValidationError) as exc:
            logger.debug("ionq: cancel of job %s refused (%s); job is final", jid, exc.status)

    async def cancel_many(self, jobs: Sequence[Job | str]) -> None:
        """Cancel many jobs with ``PUT /jobs/status/cancel {"ids"}``, 100 ids per request,
        the requests concurrent."""
        ids = list(dict.fromkeys(_job_id(j, f"jobs[{i}]") for i, j in enumerate(jobs)))

        async def chunk(part: list[str]) -> None:
            await self._transport.request(
                "PUT",
                "jobs/status/cancel",
                json={"ids": part},
                kind=RequestKind.READ,
                route="PUT /jobs/status/cancel",
            )

        await _gather(
            [
                partial(chunk, ids[start : start + _CANCEL_CHUNK])
                for start in range(0, len(ids), _CANCEL_CHUNK)
            ]
        )

    async def delete(self, job: Job | str) -> None:
        """Delete a job and its results (``DELETE /jobs/{id}``)."""
        jid = _job_id(job)
        await self._transport.request(
            "DELETE", f"jobs/{jid}", kind=RequestKind.READ, route="DELETE /jobs/{id}"
        )
        for k in [k for k in self._results_cache if k[0] == jid]:
            del self._results_cache[k]

    # ---------------------------------------------------------------------------- estimate
    async def estimate(
        self,
        circuits: Circuit | Sequence[Circuit] | None = None,
        *,
        backend: str,
        shots: int,
        one_qubit_gates: int | None = None,
        two_qubit_gates: int | None = None,
        qubits: int | None = None,
        error_mitigation: bool = False,
        session: bool = False,
    ) -> Estimate:
        """Cost and time estimate (``GET /jobs/estimate``).

        Gate and qubit counts are taken from ``circuits`` (as they would be sent) unless given.
        """
        backend = _name(backend, "backend")
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise InputError("shots", shots, "must be an int >= 1")
        job_type = codec.TYPE_CIRCUIT
        n1 = n2 = 0
        width = 0
        if circuits is not None:
            encoded = codec.encode(circuits)
            job_type = encoded.type
            width = encoded.qubits
            lists = (
                [encoded.input.get("circuit", [])]
                if "circuit" in encoded.input
                else [c["circuit"] for c in encoded.input.get("circuits", [])]
            )
            for ops in lists:
                for op in ops:
                    arity = len(op.get("targets", [op.get("target")])) + len(op.get("controls", []))
                    if arity == 1:
                        n1 += 1
                    else:
                        n2 += 1
        for field, value in (
            ("one_qubit_gates", one_qubit_gates),
            ("two_qubit_gates", two_qubit_gates),
            ("qubits", qubits),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise InputError(field, value, "must be an int >= 0")
        params = {
            "type": job_type,
            "backend": backend,
            "1q_gates": n1 if one_qubit_gates is None else one_qubit_gates,
            "2q_gates": n2 if two_qubit_gates is None else two_qubit_gates,
            "qubits": width if qubits is None else qubits,
            "shots": shots,
            "error_mitigation": bool(error_mitigation),
            "session": bool(session),
        }
        data = await self._get_json("jobs/estimate", params=params, route="GET /jobs/estimate")
        return structure_model(data, Estimate, "estimate")  # type: ignore[no-any-return]

    # ---------------------------------------------------------------------------- sessions
    async def create_session(
        self,
        backend: str,
        *,
        job_count_limit: int | None = None,
        duration_limit_min: int | None = None,
        cost_limit: float | None = None,
    ) -> Session:
        """Open a session on a QPU backend (``POST /sessions``); pass its ``id`` to submit."""
        backend = _name(backend, "backend")
        settings: dict[str, Any] = {}
        for field, value in (
            ("job_count_limit", job_count_limit),
            ("duration_limit_min", duration_limit_min),
        ):
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise InputError(field, value, "must be an int >= 1")
                settings[field] = value
        if cost_limit is not None:
            if (
                isinstance(cost_limit, bool)
                or not isinstance(cost_limit, int | float)
                or not cost_limit > 0
            ):
                raise InputError("cost_limit", cost_limit, "must be a number > 0 (USD)")
            settings["cost_limit"] = {"unit": "usd", "value": cost_limit}
        body: dict[str, Any] = {"backend": backend}
        if settings:
            body["settings"] = settings
        resp = await self._transport.request(
            "POST", "sessions", json=body, kind=RequestKind.WRITE, route="POST /sessions"
        )
        data = resp.json()
        if isinstance(data, Mapping):
            data = {"backend": backend, "settings": settings, **data}
        return structure_model(data, Session, "session")  # type: ignore[no-any-return]

    async def get_session(self, session_id: str) -> Session:
        """A session's current state (``GET /sessions/{id}``)."""
        sid = _name(session_id, "session_id")
        data = await self._get_json(f"sessions/{sid}", route="GET /sessions/{id}")
        return structure_model(data, Session, "session")  # type: ignore[no-any-return]

    async def end_session(self, session_id: Session | str) -> Session | None:
        """End a session (``POST /sessions/{id}/end``); queued jobs of it still run."""
        sid = session_id.id if isinstance(session_id, Session) else _name(session_id, "session_id")
        resp = await self._transport.request(
            "POST", f"sessions/{sid}/end", kind=RequestKind.READ, route="POST /sessions/{id}/end"
        )
        try:
            data = resp.json() if resp.content else None
        except MalformedResponseError:
            return None
        if isinstance(data, Mapping) and isinstance(data.get("id"), str):
            return structure_model(data, Session, "session")  # type: ignore[no-any-return]
        return None

    @asynccontextmanager
    async def session(
        self,
        backend: str,
        *,
        job_count_limit: int | None = None,
        duration_limit_min: int | None = None,
        cost_limit: float | None = None,
    ) -> AsyncIterator[Session]:
        """``async with ionq.session("qpu.forte-1") as s: await ionq.submit(..., session_id=s.id)``.

        The session is ended on exit. If the block raised, its queued jobs are cancelled first
        (as qiskit-ionq does), then the session is ended and the error propagates.
        """
        opened = await self.create_session(
            backend,
            job_count_limit=job_count_limit,
            duration_limit_min=duration_limit_min,
            cost_limit=cost_limit,
        )
        try:
            yield opened
        except BaseException:
            with anyio.CancelScope(shield=True):
                try:
                    queued = [
                        job
                        async for job in self.iter_jobs(session_id=opened.id)
                        if job.session_id == opened.id
                        and job.provider_status.lower() in _QUEUED_RAW
                    ]
                    if queued:
                        await self.cancel_many(queued)
                finally:
                    await self.end_session(opened.id)
            raise
        else:
            await self.end_session(opened.id)
