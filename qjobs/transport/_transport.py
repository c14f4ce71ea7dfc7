"""The HTTP transport every provider client uses: one aiohttp session, retries, limits, stats."""

from __future__ import annotations

import itertools
import logging
import re
import ssl as ssl_module
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    aclosing,
    asynccontextmanager,
)
from types import TracebackType
from typing import Any, NoReturn, Self, TypeVar

import aiohttp
import anyio
import backoff
import orjson
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from qjobs._core.durations import seconds_or_none
from qjobs._core.errors import (
    ConnectError,
    InputError,
    MalformedResponseError,
    QJobsError,
    RequestTimeoutError,
    SubmitUncertainError,
    TransportError,
)
from qjobs._core.validation import is_int, is_mapping
from qjobs.transport._budget import RequestBudget
from qjobs.transport._errormap import (
    ErrorParser,
    default_error_parser,
    error_class,
    parse_retry_after,
)
from qjobs.transport._ratelimit import RateLimiter
from qjobs.transport._redact import Redactor, check_endpoint, mask_userinfo
from qjobs.transport._response import Response
from qjobs.transport._retry import Retrier
from qjobs.transport._stats import RetryWait, TransportStats
from qjobs.transport._types import MISSING, RateLimit, RequestKind, RetryPolicy, Timeouts
from qjobs.transport._watchdog import Watchdog

__all__ = ["Transport"]

logger = logging.getLogger("qjobs.transport")

_METHOD = re.compile(r"^[A-Z]{1,16}$")
#: Method names as the clients write them: no regex match needed.
_COMMON_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
#: What aiohttp and the OS raise that :meth:`Transport._raise_mapped` turns into qjobs errors.
_MAPPED = (aiohttp.ClientError, OSError, TimeoutError)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_KEEPALIVE = 30.0
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ParamValue = str | int | float | bool
Params = Mapping[str, ParamValue | None] | Sequence[tuple[str, ParamValue]]


T = TypeVar("T")

#: A listener told each time a request starts waiting to be retried.
RetryListener = Callable[[RetryWait], None]

_Prepared = tuple[
    str,  # method
    URL,
    "list[tuple[str, str]] | None",  # query
    "bytes | None",  # body
    "CIMultiDictProxy[str]",  # headers
    RequestKind,
    str,  # route
    str,  # error path (no query, redacted)
    bool,  # same origin as the base URL
]


class _TLSError(ConnectError):
    """TLS verification failed: the server did nothing, and retrying will not help."""

    permanent = True


class _OnWire:
    """One attempt's way onto the wire, the start both request paths share.

    ``async with _OnWire(...):`` leaves the retry waits, takes the shared budget and a limiter
    slot, and counts the attempt in the stats; leaving gives the slot back (the limiter reads the
    exception the attempt left with) and counts the attempt off the wire.
    """

    __slots__ = ("_body", "_route", "_slot", "_token", "_transport")

    def __init__(self, transport: Transport, prepared: _Prepared, token: int, *, timed: bool):
        self._transport = transport
        body = prepared[3]
        self._body = len(body) if body else 0
        self._route = prepared[6]
        self._token = token
        self._slot = transport.limiter.slot(timed=timed)

    async def __aenter__(self) -> None:
        t = self._transport
        if t._waits:
            t._waits.pop(self._token, None)  # no longer waiting to be retried
        if t.budget is not None:
            await t.budget.take()
        await self._slot.__aenter__()
        t.stats.started(self._route, self._body)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._transport.stats.finished()
        await self._slot.__aexit__(exc_type, exc, tb)


def _warn_if_unverified(provider: str, ssl: ssl_module.SSLContext | bool | None) -> None:
    """Log a warning when ``ssl`` turns certificate or host name verification off."""
    if ssl is False:
        what = "ssl=False"
    elif isinstance(ssl, ssl_module.SSLContext) and (
        ssl.verify_mode == ssl_module.CERT_NONE or not ssl.check_hostname
    ):
        what = "the ssl context given"
    else:
        return
    logger.warning(
        "%s: TLS certificate verification is off (%s): anyone on the network path can read "
        "and change the traffic, token included",
        provider,
        what,
    )


def _default_user_agent() -> str:
    from qjobs._core.config import user_agent

    return user_agent()


def _strip_query(path: str) -> str:
    return path.split("#", 1)[0].split("?", 1)[0]


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return (url.scheme, url.host, url.port)


def _param_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise InputError(f"params[{key!r}]", value, "must be a str, int, float or bool")


def _encode_params(params: Params | None) -> list[tuple[str, str]] | None:
    if params is None:
        return None
    pairs: Iterable[tuple[str, Any]]
    if is_mapping(params):
        pairs = [(k, v) for k, v in params.items() if v is not None]
    elif isinstance(params, list | tuple):
        pairs = params
    else:
        raise InputError("params", params, "must be a mapping or a list of (key, value) pairs")
    out: list[tuple[str, str]] = []
    for item in pairs:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise InputError("params", item, "each item must be a (str, value) pair")
        out.append((item[0], _param_value(item[0], item[1])))
    return out or None  # no query: aiohttp is given None, as when there are no params


class Transport:
    """One provider's HTTP connection: base URL, auth, retries, rate limit, statistics.

    Holds one long-lived :class:`aiohttp.ClientSession`, created inside the running loop on first
    use (or by ``async with``) and closed by :meth:`aclose`. ``auth_headers`` are secret: they are
    only sent to the base URL's origin and never appear in logs, reprs or exceptions (nor do the
    extra ``secrets``; any fragment of six or more characters of one is redacted too). A
    ``base_url`` with ``user:password@`` is refused, and so is plain ``http`` to a host other
    than ``localhost``, ``127.0.0.0/8`` or ``::1`` unless ``allow_insecure=True``
    (:class:`qjobs.InputError`, before any connection). ``ssl=False`` (or a context that does not
    verify) logs a warning on ``qjobs.transport``. ``retrier`` replaces the :class:`Retrier` built
    from ``retry`` (its policy is then the transport's); ``sleep`` and ``clock`` are injectable
    for the retry layer's waits.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        auth_headers: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        user_agent: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        error_parser: ErrorParser | None = None,
        max_response_bytes: int = 256 * 2**20,
        max_request_bytes: int = 64 * 2**20,
        secrets: Iterable[str] = (),
        allow_insecure: bool = False,
        retrier: Retrier | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[float], float] = backoff.full_jitter,
    ) -> None:
        if not isinstance(provider, str) or not provider:
            raise InputError("provider", provider, "must be a non-empty string")
        try:
            url = URL(base_url) if isinstance(base_url, str) else None
        except ValueError:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            shown = mask_userinfo(base_url) if isinstance(base_url, str) else base_url
            raise InputError("base_url", shown, "must be an absolute http(s) URL")
        for name, value, cls in (
            ("timeouts", timeouts, Timeouts),
            ("retry", retry, RetryPolicy),
            ("rate_limit", rate_limit, RateLimit),
        ):
            if value is not None and not isinstance(value, cls):
                raise InputError(name, value, f"must be a {cls.__name__}")
        if not (isinstance(ssl, bool | ssl_module.SSLContext) or ssl is None):
            raise InputError("ssl", ssl, "must be an ssl.SSLContext, a bool or None")
        for name, cap in (
            ("max_response_bytes", max_response_bytes),
            ("max_request_bytes", max_request_bytes),
        ):
            if not is_int(cap, low=1):
                raise InputError(name, cap, "must be an int >= 1")
        if not isinstance(allow_insecure, bool):
            raise InputError("allow_insecure", allow_insecure, "must be a bool")
        check_endpoint(url, allow_insecure=allow_insecure)
        _warn_if_unverified(provider, ssl)
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self._base = URL(self.base_url)
        self._auth_headers = dict(auth_headers or {})
        self._secrets = [*self._auth_headers.values(), *secrets]
        self._redactor = Redactor(self._secrets)
        self._headers: dict[str, str] = {
            "Accept": "application/json",
            "User-Agent": user_agent or _default_user_agent(),
        }
        self._headers.update(headers or {})
        # The headers of a request without extra ones, by (content type, auth sent): built once.
        self._header_sets: dict[tuple[str | None, bool], CIMultiDictProxy[str]] = {}
        self.timeouts = timeouts or Timeouts()
        self._timeout_cache: tuple[Timeouts, aiohttp.ClientTimeout] | None = None
        if retrier is not None and not isinstance(retrier, Retrier):
            raise InputError("retrier", retrier, "must be a qjobs.transport Retrier")
        self.retry = retrier.policy if retrier is not None else (retry or RetryPolicy())
        self.rate_limit = rate_limit or RateLimit()
        self._ssl: ssl_module.SSLContext | bool = True if ssl is None else ssl
        self._error_parser = error_parser or default_error_parser
        self.max_response_bytes = max_response_bytes
        self.max_request_bytes = max_request_bytes
        self.stats = TransportStats()
        self.limiter = RateLimiter(
            self.rate_limit, clock=clock, sleep=sleep, max_retry_after=self.retry.max_retry_after
        )
        #: A budget shared with other clients (campaign workers on one account), taken before
        #: every request; None: this transport's own limiter only.
        self.budget: RequestBudget | None = None
        self.retrier = retrier or Retrier(self.retry, sleep=sleep, clock=clock, jitter=jitter)
        self._clock = clock
        # Requests waiting to be retried: token -> (what, error, attempt, max, next at, give up at).
        self._waits: dict[int, tuple[str, str, int, int, float, float]] = {}
        self._tokens = itertools.count()
        self._retry_listeners: list[RetryListener] = []
        #: A 429 was logged at WARNING already (later ones go to INFO: the retries say the rest).
        self._warned_429 = False
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<Transport provider={self.provider!r} base_url={self.redact(self.base_url)!r}>"

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._ensure_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def aclose(self) -> None:
        """Close the session and its connections; calling it again does nothing."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TransportError("transport is closed", provider=self.provider, method="", path="")
        if self._session is None:
            limit = self.rate_limit.max_concurrent or 0  # 0: aiohttp's unlimited
            connector = aiohttp.TCPConnector(
                limit=limit,
                limit_per_host=limit,
                keepalive_timeout=_KEEPALIVE,
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._client_timeout(None, stream=False),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
                trust_env=False,
            )
            # aiohttp silently resends idempotent-method requests (GET, PUT, DELETE) once when a
            # pooled connection drops. That would bypass RequestKind (a PUT may create a job) and
            # the retry accounting, so it is turned off: every resend is this transport's choice.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    def _client_timeout(self, total: float | None, *, stream: bool) -> aiohttp.ClientTimeout:
        """aiohttp's timeouts: a stream's all three; a buffered request's only ``sock_connect``
        (its :class:`Watchdog` keeps the total and idle-read ones with one timer)."""
        t = self.timeouts
        # sock_connect rather than connect: waiting for a pooled connection is not counted.
        if stream:
            return aiohttp.ClientTimeout(total=total, sock_connect=t.connect, sock_read=t.read)
        cached = self._timeout_cache
        if cached is not None and cached[0] is t:
            return cached[1]
        made = aiohttp.ClientTimeout(total=None, sock_connect=t.connect, sock_read=None)
        self._timeout_cache = (t, made)
        return made

    # -- retries in progress ------------------------------------------------------------------

    def retrying(self) -> list[RetryWait]:
        """The requests now waiting to be retried, the soonest next attempt first."""
        now = self._clock()
        waits = [
            RetryWait(what, error, attempt, most, max(0.0, at - now), max(0.0, end - now))
            for what, error, attempt, most, at, end in list(self._waits.values())
        ]
        return sorted(waits, key=lambda w: w.next_attempt_in)

    def add_retry_listener(self, listener: RetryListener) -> Callable[[], None]:
        """Call ``listener`` each time a request starts waiting to be retried.

        Returns the function that removes it. A listener that raises is logged and ignored: a
        progress display must never fail a request.
        """
        self._retry_listeners.append(listener)

        def remove() -> None:
            if listener in self._retry_listeners:
                self._retry_listeners.remove(listener)

        return remove

    def _waiting(self, token: int, entry: tuple[str, str, int, int, float, float]) -> None:
        self._waits[token] = entry
        what, error, attempt, most, at, end = entry
        now = self._clock()
        wait = RetryWait(what, error, attempt, most, max(0.0, at - now), max(0.0, end - now))
        for listener in list(self._retry_listeners):
            try:
                listener(wait)
            except Exception:
                logger.exception("%s: a retry listener failed", self.provider)

    # -- helpers ------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with every secret of this transport (or fragment of one) replaced by ``***``."""
        return self._redactor.redact(text)

    def add_secret(self, value: str) -> None:
        """Redact ``value`` too from now on (e.g. a password about to be sent in a body)."""
        self._secrets.append(value)
        self._redactor = Redactor(self._secrets)

    def _url(self, path: str) -> tuple[URL, bool]:
        if not isinstance(path, str):
            raise InputError("path", path, "must be a string")
        if path.startswith(("http://", "https://")):
            try:
                url = URL(path)
            except ValueError:
                raise InputError("path", self.redact(path), "is not a valid URL") from None
            return url, _origin(url) == _origin(self._base)
        try:
            url = URL(self.base_url + "/" + path.lstrip("/"), encoded=False)
        except ValueError:
            raise InputError("path", self.redact(path), "is not a valid URL path") from None
        return url, True

    def _body(self, json: Any, data: bytes | str | None) -> tuple[bytes | None, str | None]:
        if json is not MISSING and data is not None:
            raise InputError("data", "<body>", "give either json= or data=, not both")
        body: bytes | None
        content_type: str | None = None
        if json is not MISSING:
            try:
                body = orjson.dumps(json, option=orjson.OPT_SERIALIZE_NUMPY)
            except TypeError as exc:
                raise InputError(
                    "json", type(json).__name__, f"not JSON-serializable: {exc}"
                ) from None
            content_type = "application/json"
        elif data is None:
            body = None
        elif isinstance(data, str):
            body = data.encode("utf-8")
        elif isinstance(data, bytes | bytearray | memoryview):
            body = bytes(data)
        else:
            raise InputError("data", type(data).__name__, "must be bytes or str")
        if body is not None and len(body) > self.max_request_bytes:
            raise InputError(
                "body",
                f"{len(body)} bytes",
                f"exceeds max_request_bytes={self.max_request_bytes}",
            )
        return body, content_type

    def _headers_for(
        self, extra: Mapping[str, str] | None, content_type: str | None, send_auth: bool
    ) -> CIMultiDictProxy[str]:
        if not extra:
            cached = self._header_sets.get((content_type, send_auth))
            if cached is None:
                cached = self._header_sets[content_type, send_auth] = self._build_headers(
                    None, content_type, send_auth
                )
            return cached
        return self._build_headers(extra, content_type, send_auth)

    def _build_headers(
        self, extra: Mapping[str, str] | None, content_type: str | None, send_auth: bool
    ) -> CIMultiDictProxy[str]:
        out: CIMultiDict[str] = CIMultiDict(self._headers)
        if content_type is not None:
            out["Content-Type"] = content_type
        for key, value in (extra or {}).items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InputError("headers", key, "header names and values must be strings")
            out[key] = value
        if send_auth:
            out.update(self._auth_headers)
        return CIMultiDictProxy(out)

    def _without_auth(self, headers: CIMultiDictProxy[str]) -> CIMultiDictProxy[str]:
        out = CIMultiDict(headers)
        for key in self._auth_headers:
            out.popall(key, None)
        out.popall("Authorization", None)
        out.popall("Cookie", None)
        return CIMultiDictProxy(out)

    def _fail(self, cls: type[TransportError], message: str, method: str, path: str) -> NoReturn:
        raise cls(self.redact(message), provider=self.provider, method=method, path=path)

    # -- requests ------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = MISSING,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        kind: RequestKind | None = None,
        route: str | None = None,
        auth: bool = True,
        timeout: float | None = None,
    ) -> Response:
        """Send one request (retried per ``kind``) and return the complete answer.

        ``json`` is serialized with orjson; ``data`` is sent as is. HTTP errors raise the
        :class:`qjobs.APIError` subclass for the status; see :class:`RequestKind` for retries.
        ``timeout`` overrides ``Timeouts.total`` for each attempt.
        """
        prepared = self._prepare(method, path, params, json, data, headers, kind, route, auth)
        if timeout is not None:
            self._check_timeout(timeout)
        session = self._ensure_session()
        t = self.timeouts
        total = t.total if timeout is None else timeout
        client_timeout = self._client_timeout(None, stream=False)
        token = next(self._tokens)
        method, err_path = prepared[0], prepared[7]

        async def attempt() -> Response:
            async with _OnWire(self, prepared, token, timed=True):
                try:
                    # One timer for the total and idle-read timeouts (aiohttp's are off here).
                    with Watchdog(total, t.read, t.connect) as watchdog:
                        resp = await self._open(session, prepared, client_timeout, watchdog)
                        try:
                            content = await self._read(resp, method, err_path)
                        finally:
                            resp.release()
                except QJobsError:
                    raise
                except _MAPPED as exc:
                    self._raise_mapped(exc, method, err_path)
            return Response(
                status=resp.status,
                headers=resp.headers,  # aiohttp's own read-only view, not changed after this
                content=content,
                method=method,
                path=err_path,
                provider=self.provider,
            )

        return await self._run(attempt, token, prepared)

    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = MISSING,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        kind: RequestKind | None = None,
        route: str | None = None,
        auth: bool = True,
        timeout: float | None = None,
        chunk_size: int = _CHUNK,
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Open a request whose body is read in chunks: ``async with t.stream(...) as chunks:``.

        Opening (up to the response headers) is retried like :meth:`request`; a failure while
        reading chunks raises :class:`qjobs.TransportError`. The body is still capped at
        ``max_response_bytes``. Without ``timeout`` only the connect and idle-read timeouts apply.
        """
        prepared = self._prepare(method, path, params, json, data, headers, kind, route, auth)
        self._check_timeout(timeout)
        if not is_int(chunk_size, low=1):
            raise InputError("chunk_size", chunk_size, "must be an int >= 1")
        return self._stream(prepared, timeout, chunk_size)

    @asynccontextmanager
    async def _stream(
        self, prepared: _Prepared, total: float | None, chunk_size: int
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        method, err_path = prepared[0], prepared[7]
        session = self._ensure_session()
        # aiohttp's own timers here: the idle read pauses while the caller does not read.
        client_timeout = self._client_timeout(total, stream=True)
        token = next(self._tokens)

        async def attempt() -> tuple[aiohttp.ClientResponse, AsyncExitStack]:
            stack = AsyncExitStack()
            await stack.enter_async_context(_OnWire(self, prepared, token, timed=False))
            try:
                try:
                    resp = await self._open(session, prepared, client_timeout, None)
                except QJobsError:
                    raise
                except _MAPPED as exc:
                    self._raise_mapped(exc, method, err_path)
                stack.callback(resp.release)
            except BaseException:
                await stack.aclose()
                raise
            return resp, stack

        resp, stack = await self._run(attempt, token, prepared)

        async def chunks() -> AsyncGenerator[bytes, None]:
            received = 0
            try:
                async for chunk in resp.content.iter_chunked(chunk_size):
                    received += len(chunk)
                    self.stats.bytes_received += len(chunk)
                    if received > self.max_response_bytes:
                        self._too_large(method, err_path)
                    yield chunk
            except QJobsError:
                raise
            except _MAPPED as exc:
                self._raise_mapped(exc, method, err_path)

        async with stack, aclosing(chunks()) as iterator:
            yield iterator

    # -- internals -----------------------------------------------------------------------------

    def _check_timeout(self, timeout: float | None) -> None:
        seconds_or_none("timeout", timeout)

    def _prepare(
        self,
        method: str,
        path: str,
        params: Params | None,
        json: Any,
        data: bytes | str | None,
        headers: Mapping[str, str] | None,
        kind: RequestKind | None,
        route: str | None,
        auth: bool,
    ) -> _Prepared:
        if not (isinstance(method, str) and method in _COMMON_METHODS):
            if not isinstance(method, str) or not _METHOD.match(method.upper()):
                raise InputError("method", method, "must be an HTTP method name")
            method = method.upper()
        if kind is not None and not isinstance(kind, RequestKind):
            raise InputError("kind", kind, "must be a RequestKind")
        url, same_origin = self._url(path)
        query = _encode_params(params)
        body, content_type = self._body(json, data)
        hdrs = self._headers_for(headers, content_type, auth and same_origin)
        if kind is None:
            kind = RequestKind.READ if method in _READ_METHODS else RequestKind.WRITE
        shown = path if path.startswith(("http://", "https://")) else "/" + path.lstrip("/")
        err_path = self.redact(_strip_query(shown))
        route = route or f"{method} {err_path}"
        return (method, url, query, body, hdrs, kind, route, err_path, same_origin)

    async def _run(self, attempt: Callable[[], Awaitable[T]], token: int, prepared: _Prepared) -> T:
        """Run ``attempt`` under the retrier; ``attempt`` removes entry ``token`` of ``_waits``
        when it starts (:class:`_OnWire`)."""
        method, kind, route, err_path = prepared[0], prepared[5], prepared[6], prepared[7]
        policy = self.retrier.policy
        max_attempts = policy.max_attempts
        gives_up_at = self._clock() + policy.max_time

        def on_retry(exc: QJobsError, number: int, wait: float) -> None:
            self.stats.retries += 1
            status = getattr(exc, "status", None)
            reason = f"status {status}" if status is not None else type(exc).__name__
            entry = (route, reason, number, max_attempts, self._clock() + wait, gives_up_at)
            self._waiting(token, entry)
            logger.info(
                "%s: retrying %s (%s) after %s, attempt %d/%d, waiting %.3fs",
                self.provider,
                route,
                method,
                reason,
                number + 1,
                max_attempts,
                wait,
            )

        try:
            return await self.retrier.run(attempt, kind, on_retry)
        except (ConnectError, MalformedResponseError):
            raise
        except TransportError as exc:
            # Ambiguous: the server may have received and acted on the request.
            if kind is RequestKind.CREATE:
                raise SubmitUncertainError(
                    self.redact(
                        f"the request may or may not have been processed ({exc}); not resubmitting"
                    ),
                    provider=self.provider,
                    method=method,
                    path=err_path,
                ) from exc
            raise
        finally:
            self._waits.pop(token, None)

    @staticmethod
    def _too_large_message(limit: int) -> str:
        return f"response body exceeds max_response_bytes={limit}"

    def _too_large(self, method: str, path: str) -> NoReturn:
        raise MalformedResponseError(
            self._too_large_message(self.max_response_bytes),
            provider=self.provider,
            method=method,
            path=path,
        )

    async def _read(self, resp: aiohttp.ClientResponse, method: str, path: str) -> bytes:
        length = resp.content_length
        if length is not None and length > self.max_response_bytes:
            self._too_large(method, path)
        if length is not None and "Content-Encoding" not in resp.headers:
            # Not decoded, so the body is exactly Content-Length bytes (aiohttp's parser stops
            # there and fails on a short body): read at once, within the cap.
            content = await resp.content.read()
            self.stats.bytes_received += len(content)
            return content
        buf = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            buf += chunk
            self.stats.bytes_received += len(chunk)
            if len(buf) > self.max_response_bytes:
                self._too_large(method, path)
        return bytes(buf)

    async def _open(
        self,
        session: aiohttp.ClientSession,
        prepared: _Prepared,
        client_timeout: aiohttp.ClientTimeout,
        watchdog: Watchdog | None,
    ) -> aiohttp.ClientResponse:
        """Send; follow GET/HEAD redirects (auth only to the base origin); raise for >= 400.

        ``watchdog`` (a buffered request's timeouts) is shown each answer's body stream."""
        method, url, query, body, headers, _, _, err_path, _ = prepared
        hops = 0
        while True:
            resp = await session.request(
                method,
                url,
                params=query,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=client_timeout,
            )
            if watchdog is not None:
                watchdog.watch(resp.content)
            self.stats.answered(resp.status)
            location = resp.headers.get("Location")
            if (
                resp.status in _REDIRECTS
                and method in ("GET", "HEAD")
                and location
                and hops < _MAX_REDIRECTS
            ):
                resp.release()
                hops += 1
                try:
                    url = resp.url.join(URL(location))
                except ValueError:
                    raise MalformedResponseError(
                        "invalid redirect Location",
                        provider=self.provider,
                        method=method,
                        path=err_path,
                    ) from None
                query = None  # the Location carries its own query
                if url.scheme not in ("http", "https"):
                    raise MalformedResponseError(
                        "redirect to a non-HTTP URL",
                        provider=self.provider,
                        method=method,
                        path=err_path,
                    )
                if _origin(url) != _origin(self._base):
                    headers = self._without_auth(headers)
                if watchdog is not None:
                    watchdog.restart()
                logger.debug(
                    "%s: %s %s redirected (%d)", self.provider, method, err_path, resp.status
                )
                continue
            if resp.status >= 400:
                try:
                    await self._raise_for_status(resp, method, err_path)
                finally:
                    resp.release()
            if resp.status in _REDIRECTS and method in ("GET", "HEAD") and location:
                resp.release()
                raise MalformedResponseError(
                    f"more than {_MAX_REDIRECTS} redirects",
                    provider=self.provider,
                    method=method,
                    path=err_path,
                )
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s: %s %s -> %d", self.provider, method, err_path, resp.status)
            return resp

    async def _raise_for_status(
        self, resp: aiohttp.ClientResponse, method: str, path: str
    ) -> NoReturn:
        try:
            body = await self._read(resp, method, path)
        except MalformedResponseError:
            body = b""
        try:
            message, code = self._error_parser(resp.status, body)
        except Exception:  # a provider parser must never hide the HTTP error
            message, code = default_error_parser(resp.status, body)
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if resp.status == 429:
            logger.log(
                logging.INFO if self._warned_429 else logging.WARNING,
                "%s: %s %s -> 429 rate limited (Retry-After: %s); the limiter slows down",
                self.provider,
                method,
                path,
                "none" if retry_after is None else f"{retry_after:g} s",
            )
            self._warned_429 = True
        else:
            logger.debug("%s: %s %s -> %d", self.provider, method, path, resp.status)
        raise error_class(resp.status)(
            self.redact(message),
            status=resp.status,
            provider=self.provider,
            method=method,
            path=path,
            code=self.redact(code) if code is not None else None,
            retry_after=retry_after,
        )

    def _raise_mapped(self, exc: BaseException, method: str, path: str) -> NoReturn:
        """Turn an aiohttp/OS failure (one of ``_MAPPED``), being handled, into a qjobs
        transport error with a redacted message (the failure is its ``__context__``)."""
        if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
            self._fail(_TLSError, f"TLS failure: {exc}", method, path)
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            self._fail(ConnectError, "connection timed out", method, path)
        if isinstance(exc, aiohttp.ClientConnectorError):
            reason = exc.strerror or str(exc.os_error)
            self._fail(
                ConnectError, f"cannot connect to {exc.host}:{exc.port}: {reason}", method, path
            )
        if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
            self._fail(RequestTimeoutError, "no complete answer within the timeout", method, path)
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            self._fail(
                TransportError, "server closed the connection without answering", method, path
            )
        if isinstance(exc, aiohttp.ClientPayloadError):
            self._fail(TransportError, f"incomplete response body: {exc}", method, path)
        self._fail(TransportError, f"{type(exc).__name__}: {exc}", method, path)
