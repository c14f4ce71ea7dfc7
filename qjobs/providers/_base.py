"""The provider interface: what the scheduler, sweeps and the sync facade rely on.

Each provider module subclasses :class:`ProviderClient` and implements the abstract methods with
its own wire protocol; it also declares its :class:`Capabilities`, the one place where the
provider's numbers (batch limits, poll hints, rate limits) live. Nothing here knows any provider.
"""

from __future__ import annotations

import abc
import logging
import random
import re
import ssl as ssl_module
import urllib.parse
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Mapping,
    Sequence,
)
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self, TypedDict, TypeVar, overload
from urllib.parse import quote

import anyio
import attrs

from qjobs._core.config import user_agent as _user_agent
from qjobs._core.durations import factor, rate, seconds_or_none, seconds_validator
from qjobs._core.errors import (
    InputError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobTimeoutError,
    QJobsError,
    ServerError,
    SubmitUncertainError,
)
from qjobs._core.models import Backend, Job, JobStatus, Result
from qjobs._core.validation import is_int
from qjobs.transport import RateLimit, RetryPolicy, Timeouts, Transport

if TYPE_CHECKING:
    from qjobs.circuit._adapt import CircuitLike, ForeignCircuit
    from qjobs.circuit._ir import Circuit

__all__ = ["Capabilities", "ClientOptions", "Credentials", "ProviderClient", "open_transport"]

logger = logging.getLogger("qjobs.providers")

_T = TypeVar("_T")

#: How often a keyed submission is looked up (and, when a lookup finds nothing after a fault
#: that proves the server is done with the request, tried again) before the failure is raised.
SUBMIT_LOOKUPS: Final = 3
#: After a timeout the server may still be creating the job: the lookups are spaced by these
#: waits (seconds) and nothing is resubmitted.
TIMEOUT_LOOKUP_WAITS: Final = (0.5, 1.0, 2.0)
#: Characters no id may hold: they would end the path segment, start a query or fragment, or
#: (``%``) be decoded into one of those by a server.
_ID_FORBIDDEN: Final = frozenset("/?#%")
#: A forbidden character or whitespace (``\s`` is ``str.isspace``).
_ID_UNFIT: Final = re.compile(r"[\s/?#%]")


def _id_problem(value: Any) -> str | None:
    """What makes ``value`` unfit as one URL path segment, or ``None`` when it is fit."""
    if not isinstance(value, str):
        return "not a string"
    if not value:
        return "empty"
    if value in (".", ".."):
        return "a '.' or '..' path segment"
    if value.isprintable() and _ID_UNFIT.search(value) is None:
        return None  # the common case, decided without a loop over the characters
    for ch in value:
        if ch in _ID_FORBIDDEN:
            return f"contains {ch!r}"
        if ch.isspace() or not ch.isprintable():
            return "contains whitespace or a control character"
    return None


def check_id(value: Any, field: str, *, what: str = "an id") -> str:
    """``value`` as an id that is safe as one URL path segment; else InputError naming ``field``.

    Refused: anything but a non-empty string, ``.`` and ``..``, the characters ``/ ? # %``,
    whitespace and control (non-printable) characters. Build paths with :func:`segment`.
    """
    problem = _id_problem(value)
    if problem is not None:
        raise InputError(field, value, f"must be {what} ({problem})")
    return str(value)


def job_id(job: Job | str, field: str = "job", *, what: str = "a job id string") -> str:
    """The id of a :class:`~qjobs.Job`, or an id string, checked as :func:`check_id` does.

    A job's own id is checked too (it came from a server). InputError naming ``field``;
    ``what`` names the id the provider expects.
    """
    return check_id(job.id if isinstance(job, Job) else job, field, what=f"a qjobs.Job or {what}")


def segment(value: str, field: str = "id") -> str:
    """``value`` checked (:func:`check_id`) and percent-encoded as one URL path segment.

    Every id that goes into a path goes through here, ``quote(value, safe="")``; the callers
    check their arguments first, with the argument's own name in ``field``.
    """
    return quote(check_id(value, field), safe="")


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def endpoint_of(base_url: str) -> str:
    """The identity of the API at ``base_url``: ``scheme://host:port/path``, normalised.

    Scheme and host are lowercased, the port is always written (80 and 443 when implied), and
    userinfo, query, fragment and trailing slashes are dropped, so every spelling of one endpoint
    gives one string and no credential carried by the URL is part of it.
    """
    parts = urllib.parse.urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    netloc = host if port is None else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


async def gather(calls: Sequence[Callable[[], Coroutine[Any, Any, None]]]) -> None:
    """Run calls concurrently; the first failure is raised as itself (not in a group)."""
    try:
        async with anyio.create_task_group() as tg:
            for call in calls:
                tg.start_soon(call)
    except BaseExceptionGroup as group:
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
            leaf = leaf.exceptions[0]
        raise leaf from None


@attrs.frozen(slots=True)
class Capabilities:
    """What a provider can do and the numbers the scheduler should respect.

    ``max_circuits_per_job`` > 1 means several circuits can travel in one job (a batch); ``None``
    means the provider publishes no count, so a job is bounded only by ``max_payload_bytes``,
    which bounds one submission's body. ``status_batch_size`` > 1 means
    :meth:`ProviderClient.get_jobs` can learn that many jobs' states in one request.
    ``poll_initial``/``poll_max``/``poll_factor`` shape polling backoff (seconds).
    ``requests_per_second`` and ``max_concurrent_requests`` are the request limits the provider
    *publishes*, ``None`` where it publishes none: a published number is the transport limiter's
    default hard cap, and below the caps (or with none) the limiter adapts to the server by
    congestion control (``docs/limits.md``); a ``rate_limit=`` given to the client replaces both.
    ``max_in_flight_jobs`` bounds jobs submitted but not final. ``submit_key`` says a job can carry
    a client key that :meth:`ProviderClient.find_by_key` can look up, which makes submission
    idempotent. ``cancel_batch`` says many jobs can be cancelled in one request.
    ``lost_reads`` is how many reads of a job created by qjobs must answer 404 before the job is
    taken as lost (:class:`~qjobs.JobLostError`); the reads are spaced by ``lost_read_delay``
    seconds, doubling (3 reads and 1 s: the last read comes 3 s after the first 404).
    """

    max_circuits_per_job: int | None = 1
    max_payload_bytes: int = 10_000_000
    status_batch_size: int = 1
    poll_initial: float = attrs.field(default=0.5, validator=seconds_validator())
    poll_max: float = attrs.field(default=30.0, validator=seconds_validator())
    poll_factor: float = attrs.field(default=2.0)
    requests_per_second: float | None = attrs.field(default=None)
    max_concurrent_requests: int | None = attrs.field(default=None)
    max_in_flight_jobs: int = 1000
    page_size: int = 100
    submit_key: bool = False
    cancel_batch: bool = False
    lost_reads: int = 3
    lost_read_delay: float = 1.0

    @poll_factor.validator
    def _check_poll_factor(self, attribute: attrs.Attribute[float], value: float) -> None:
        factor("poll_factor", value)

    @requests_per_second.validator
    def _check_rps(self, attribute: attrs.Attribute[float | None], value: float | None) -> None:
        rate("requests_per_second", value)

    @max_concurrent_requests.validator
    def _check_concurrent(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and not is_int(value, low=1):
            raise InputError("max_concurrent_requests", value, "must be an int >= 1 or None")


class ClientOptions(TypedDict, total=False):
    """The keyword arguments every client takes beside its credentials.

    ``timeouts``, ``retry`` and ``rate_limit`` shape the transport (the rate limit defaults to the
    capabilities' numbers); ``headers`` are extra headers on every request; ``ssl`` is an
    :class:`ssl.SSLContext` or ``False`` (which logs a warning); ``allow_insecure=True`` lets the
    token travel over plain http to a host other than this machine; ``capabilities`` overrides
    the provider's defaults; ``user_agent`` is appended to qjobs' User-Agent;
    ``transport_options`` passes extra keyword arguments to the
    :class:`~qjobs.transport.Transport` (e.g. ``sleep=`` in tests).
    """

    timeouts: Timeouts | None
    retry: RetryPolicy | None
    rate_limit: RateLimit | None
    headers: Mapping[str, str] | None
    ssl: ssl_module.SSLContext | bool | None
    allow_insecure: bool
    capabilities: Capabilities | None
    user_agent: str | None
    transport_options: Mapping[str, Any] | None


@attrs.frozen(slots=True)
class Credentials:
    """What a client resolved from ``token=``, ``base_url=``, its environment and config files.

    ``auth_headers`` are secret (sent only to the base URL's origin, redacted everywhere);
    ``headers`` are the provider's own fixed headers, which the user's ``headers=`` may override.
    """

    base_url: str
    auth_headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict)


def open_transport(
    cls: type[ProviderClient],
    credentials: Credentials,
    options: ClientOptions,
    error_parser: Callable[[int, bytes], tuple[str, str | None]],
) -> tuple[Transport, Capabilities]:
    """The transport and capabilities of a ``cls`` client built from its constructor's options.

    An unknown option is a :class:`TypeError`, as for any keyword argument; ``headers`` that are
    not a mapping an :class:`~qjobs.InputError`. The User-Agent names ``<provider>-client``
    (then ``user_agent``).
    """
    unknown = sorted(set(options) - set(ClientOptions.__annotations__))
    if unknown:
        raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {unknown[0]!r}")
    caps = options.get("capabilities") or cls.default_capabilities
    if not isinstance(caps, Capabilities):
        raise InputError("capabilities", caps, "must be a qjobs.providers.Capabilities")
    headers = options.get("headers")
    if headers is not None and not isinstance(headers, Mapping):
        raise InputError("headers", type(headers).__name__, "must be a mapping of strings")
    agent = options.get("user_agent")
    client = f"{cls.provider}-client"
    transport = Transport(
        provider=cls.provider,
        base_url=credentials.base_url,
        auth_headers=credentials.auth_headers,
        headers={**credentials.headers, **(headers or {})},
        user_agent=_user_agent(f"{client} {agent}" if agent else client),
        timeouts=options.get("timeouts"),
        retry=options.get("retry"),
        rate_limit=options.get("rate_limit")
        or RateLimit(
            requests_per_second=caps.requests_per_second,
            max_concurrent=caps.max_concurrent_requests,
        ),
        ssl=options.get("ssl"),
        error_parser=error_parser,
        allow_insecure=options.get("allow_insecure", False),
        **dict(options.get("transport_options") or {}),
    )
    return transport, caps


def require_completed(job: Job, provider: str) -> None:
    """Raise unless ``job`` completed: :class:`~qjobs.JobFailedError` for a failed job,
    :class:`~qjobs.JobCancelledError` for a cancelled one, :class:`~qjobs.JobError` otherwise."""
    if job.status is JobStatus.FAILED:
        raise JobFailedError.from_job(job, provider)
    if job.status is JobStatus.CANCELLED:
        raise JobCancelledError(
            f"{provider} job {job.id} was cancelled", job_id=job.id, provider=provider
        )
    if job.status is not JobStatus.COMPLETED:
        raise JobError(
            f"{provider} job {job.id} is {job.provider_status or job.status.value}, not completed",
            job_id=job.id,
            provider=provider,
        )


class ProviderClient(abc.ABC):
    """Base class of the async provider clients returned by :func:`qjobs.connect`.

    A client is an async context manager owning one transport (one aiohttp session). Use it as
    ``async with qjobs.connect("ionq") as client: ...``. Every client takes ``allow_insecure``:
    without it, a token is never sent over plain http to a host other than this machine.
    """

    #: The provider's short name, as given to :func:`qjobs.connect`.
    provider: ClassVar[str]
    #: The provider's default capabilities; an instance may carry overridden ones.
    default_capabilities: ClassVar[Capabilities]

    def __init__(self, transport: Transport, *, capabilities: Capabilities | None = None) -> None:
        self._transport = transport
        self.capabilities: Capabilities = capabilities or self.default_capabilities

    @property
    def transport(self) -> Transport:
        """The client's transport (its statistics are ``client.transport.stats``)."""
        return self._transport

    @property
    def base_url(self) -> str:
        """The base URL every request is made against."""
        return self._transport.base_url

    @property
    def endpoint(self) -> str:
        """The identity of the API this client talks to: its base URL, normalised.

        ``scheme://host:port/path`` (see :func:`endpoint_of`); never a token. The scheduler's
        ledger keys include it with :attr:`provider`, so one ledger never answers for another
        provider or another server.
        """
        return endpoint_of(self._transport.base_url)

    async def __aenter__(self) -> Self:
        await self._transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client's connections. Idempotent."""
        await self._transport.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    # ----------------------------------------------------------------- the provider interface
    @abc.abstractmethod
    async def submit(
        self,
        circuits: CircuitLike | Sequence[CircuitLike],
        *,
        shots: int,
        backend: str | None = None,
        name: str | None = None,
        key: str | None = None,
        **options: Any,
    ) -> Job:
        """Submit one circuit, or several as one multi-circuit job, and return the new job.

        A circuit is a :class:`~qjobs.Circuit`, OpenQASM text or a Qiskit, Cirq, Qibo or Braket
        circuit (:func:`qjobs.circuit.as_circuits` converts them first). ``key`` is a client-chosen
        idempotency key carried by the job (see :meth:`find_by_key`). Input is validated before any
        request is sent.
        """

    @abc.abstractmethod
    async def get_job(self, job_id: str) -> Job:
        """Fetch one job's current state."""

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """Fetch many jobs' states, in the order given.

        The default asks one job at a time (concurrently); providers with a list endpoint that
        filters by id override it to use fewer requests.
        """
        ids = [job_id(j, f"job_ids[{i}]") for i, j in enumerate(job_ids)]
        out: list[Job | None] = [None] * len(ids)

        async def one(i: int, jid: str) -> None:
            out[i] = await self.get_job(jid)

        await gather([partial(one, i, jid) for i, jid in enumerate(ids)])
        return [j for j in out if j is not None]

    @abc.abstractmethod
    async def results(self, job: Job | str) -> list[Result]:
        """The results of a completed job, one per circuit, in circuit order."""

    @abc.abstractmethod
    async def cancel(self, job: Job | str) -> None:
        """Ask the provider to cancel a job. Cancelling a final job is not an error."""

    async def cancel_many(self, jobs: Sequence[Job | str]) -> None:
        """Cancel many jobs; the default cancels them one by one, concurrently.

        Every id is checked before the first request (InputError naming ``jobs[i]``).
        """
        ids = [job_id(j, f"jobs[{i}]") for i, j in enumerate(jobs)]
        await gather([partial(self.cancel, jid) for jid in ids])

    async def find_by_key(self, key: str) -> Job | None:
        """Find a job submitted with ``key``; ``None`` when there is none.

        Only meaningful when ``capabilities.submit_key`` is true; the default finds nothing.
        """
        return None

    def max_circuits_for(self, backend: str | None) -> int | None:
        """How many circuits one job on ``backend`` can carry (None: the default backend).

        The scheduler packs this many per job unless told fewer; ``None`` means no published
        count (the payload size bounds a job). The default is
        ``capabilities.max_circuits_per_job``; a provider whose backends differ narrows it.
        """
        return self.capabilities.max_circuits_per_job

    def circuit_bytes(self, circuit: Circuit) -> int:
        """A cheap upper estimate, in bytes, of what ``circuit`` takes of one job's size bound.

        The scheduler packs circuits into a job while their sum stays within 80% of
        ``capabilities.max_payload_bytes``. The default is the circuit's share of the submission
        body, from its instruction count; a provider that stores a job's results under the same
        bound adds their size.
        """
        return 96 + 48 * len(circuit.instructions)

    @abc.abstractmethod
    async def backends(self) -> list[Backend]:
        """The backends the provider offers."""

    @abc.abstractmethod
    def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over the provider's jobs, following every page."""

    async def _create_once(
        self,
        post: Callable[[], Awaitable[_T]],
        key: str | None,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> _T | Job:
        """Send a job-creating request so that one key never makes two jobs.

        ``post`` sends the request (the transport already retried what provably did nothing).
        When it fails ambiguously (:class:`~qjobs.SubmitUncertainError`) or with a 5xx, and the
        job carries ``key``, the key is looked up with :meth:`find_by_key`: a found job is
        returned (``Job``), otherwise the request is sent again, at most :data:`SUBMIT_LOOKUPS`
        times. After a timeout the server may still be working on the request, so the client
        never resubmits: it looks the key up a few times, spaced by
        :data:`TIMEOUT_LOOKUP_WAITS`, and raises the failure (carrying the key) when the job
        has not appeared. Without a key nothing is ever sent twice.
        """
        attempts = 0
        while True:
            try:
                return await post()
            except (SubmitUncertainError, ServerError) as exc:
                if isinstance(exc, SubmitUncertainError):
                    exc.key = key
                if key is None:
                    raise  # never resubmit blindly
                attempts += 1
                timed_out = isinstance(exc.__cause__, TimeoutError)
                logger.info(
                    "%s: submit with a key failed (%s); looking the key up",
                    self.provider,
                    type(exc.__cause__ or exc).__name__,
                )
                waits = TIMEOUT_LOOKUP_WAITS if timed_out else (0.0,)
                for wait in waits:
                    if wait:
                        await sleep(wait)
                    try:
                        found = await self.find_by_key(key)
                    except QJobsError as lookup_error:
                        # Cannot tell whether the job exists: report the original failure, with
                        # the key, so the caller can reconcile later.
                        raise exc from lookup_error
                    if found is not None:
                        return found
                if timed_out or attempts >= SUBMIT_LOOKUPS:
                    raise

    # ------------------------------------------------------------ built on the interface
    async def result(self, job: Job | str) -> Result:
        """The result of a completed single-circuit job (see :meth:`results` for batches)."""
        res = await self.results(job)
        if len(res) != 1:
            from qjobs._core.errors import InputError

            raise InputError(
                "job", getattr(job, "id", job), f"has {len(res)} circuits; use results()"
            )
        return res[0]

    async def wait(
        self,
        job: Job | str,
        *,
        timeout: float | None = None,
        poll_initial: float | None = None,
        poll_max: float | None = None,
    ) -> Job:
        """Poll until the job is final and return it.

        Polls at once, then after ``poll_initial`` seconds, growing by the provider's factor with
        jitter up to ``poll_max``; the interval resets when the job changes state. Raises
        :class:`~qjobs.JobTimeoutError` after ``timeout`` seconds without cancelling the job.
        A ``timeout`` or poll interval that is not a finite number > 0 raises
        :class:`~qjobs.InputError` before any request.
        """
        seconds_or_none("timeout", timeout)
        caps = self.capabilities
        first = caps.poll_initial if poll_initial is None else poll_initial
        cap = caps.poll_max if poll_max is None else poll_max
        seconds_or_none("poll_initial", poll_initial)
        seconds_or_none("poll_max", poll_max)
        jid = job_id(job, "job")
        interval = first
        last_status: str | None = None
        deadline = None if timeout is None else anyio.current_time() + timeout
        while True:
            current = await self.get_job(jid)
            if current.is_final:
                return current
            if current.provider_status != last_status:
                last_status = current.provider_status
                interval = first
            delay = interval * random.uniform(0.8, 1.2)
            if deadline is not None:
                remaining = deadline - anyio.current_time()
                if remaining <= 0:
                    raise JobTimeoutError(
                        f"{self.provider} job {jid} still {current.provider_status} "
                        f"after {timeout} s (not cancelled)",
                        job_id=jid,
                        provider=self.provider,
                    )
                delay = min(delay, remaining)
            await anyio.sleep(delay)
            interval = min(interval * caps.poll_factor, cap)

    @overload
    async def run(
        self,
        circuits: Circuit | str,
        *,
        shots: int,
        backend: str | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> Result: ...

    @overload
    async def run(
        self,
        circuits: Sequence[CircuitLike],
        *,
        shots: int,
        backend: str | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> list[Result]: ...

    @overload
    async def run(
        self,
        circuits: ForeignCircuit,
        *,
        shots: int,
        backend: str | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> Result: ...

    async def run(
        self,
        circuits: CircuitLike | Sequence[CircuitLike],
        *,
        shots: int,
        backend: str | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> Result | list[Result]:
        """Submit, wait and fetch results in one call.

        One circuit gives one :class:`~qjobs.Result`; a sequence gives a list (one job holding all
        circuits). Circuits are taken as :meth:`submit` takes them (OpenQASM text, Qiskit, Cirq,
        Qibo and Braket circuits are converted once, before anything is sent). A failed job raises
        :class:`~qjobs.JobFailedError`, a cancelled one :class:`~qjobs.JobCancelledError`. A bad
        ``timeout`` raises :class:`~qjobs.InputError` before anything is submitted.
        """
        from qjobs.circuit._adapt import as_circuits

        seconds_or_none("timeout", timeout)
        coerced = as_circuits(circuits)
        job = await self.submit(coerced, shots=shots, backend=backend, **options)
        done = await self.wait(job, timeout=timeout)
        self.raise_for_job(done)
        res = await self.results(done)
        return res if isinstance(coerced, list) else res[0]

    def raise_for_job(self, job: Job) -> None:
        """Raise the matching error for a failed or cancelled job; do nothing otherwise."""
        if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            require_completed(job, self.provider)
