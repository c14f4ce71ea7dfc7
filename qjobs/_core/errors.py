"""The qjobs exception tree.

Every exception qjobs raises derives from :class:`QJobsError`. Input errors are raised before any
request is sent; API errors carry the HTTP status, provider, method, path (never a query string)
and the server's message. No exception ever holds a credential: messages are built from parts the
transport has already redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qjobs._core.models import Job

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConflictError",
    "ConnectError",
    "CredentialsError",
    "ForbiddenError",
    "InputError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobLostError",
    "JobTimeoutError",
    "LedgerError",
    "MalformedResponseError",
    "NotFoundError",
    "QJobsError",
    "QasmError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ServerError",
    "SubmitUncertainError",
    "TransportError",
    "ValidationError",
]


def _rebuild(cls: type[QJobsError], args: tuple[Any, ...], state: dict[str, Any]) -> QJobsError:
    """Unpickle a qjobs error without calling its (keyword-only) constructor."""
    error = cls.__new__(cls, *args)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class QJobsError(Exception):
    """Base class of every error raised by qjobs.

    Every subclass pickles and copies with its attributes (``status``, ``field``, ``job_id``, ...)
    intact, so errors cross process and thread pools unchanged.
    """

    #: True when repeating the failed request cannot help (TLS verification failed, a retry
    #: budget for connection failures is spent): the transport's retrier gives up at once.
    #: A class default; an instance may set its own.
    permanent: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class InputError(QJobsError, ValueError):
    """Bad user input, detected before any request is sent.

    ``field`` names the argument or attribute at fault, ``value`` is the offending value (a short
    repr of it) and ``reason`` says what is wrong with it.
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}={shown}: {reason}")


class QasmError(InputError):
    """OpenQASM source that qjobs cannot read; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.line = line
        self.column = column
        self.message = message
        QJobsError.__init__(self, f"line {line}, column {column}: {message}")
        self.field = "source"
        self.value = None
        self.reason = message


class CredentialsError(QJobsError):
    """No credentials could be found, or the configuration holding them is unusable.

    The message names every place that was looked at (arguments, environment variables, files).
    """


class APIError(QJobsError):
    """The provider answered with an HTTP error status.

    Attributes: ``status`` (int), ``provider``, ``method``, ``path`` (no query string),
    ``message`` (the server's message, or a summary), ``code`` (the provider's error type or code,
    when given) and ``retry_after`` (seconds, from the ``Retry-After`` header, when given).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        provider: str,
        method: str,
        path: str,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.provider = provider
        self.method = method
        self.path = path
        self.code = code
        self.retry_after = retry_after
        super().__init__(f"{provider} {method} {path} -> {status}: {message}")


class ValidationError(APIError):
    """400 or 422: the server rejected the request's content."""


class AuthenticationError(APIError):
    """401: the credentials are missing, wrong or expired."""


class ForbiddenError(APIError):
    """403: authenticated, but not allowed (permissions, quota, organization)."""


class NotFoundError(APIError):
    """404: no such job, backend or resource."""


class ConflictError(APIError):
    """409: the resource is not in a state that allows the request (e.g. result not ready)."""


class RateLimitedError(APIError):
    """429: too many requests; ``retry_after`` holds the server's hint when it gave one."""


class ServerError(APIError):
    """5xx: the provider failed."""


class TransportError(QJobsError):
    """The request did not get an HTTP answer: connection failure, reset, or timeout."""

    def __init__(self, message: str, *, provider: str, method: str, path: str) -> None:
        self.provider = provider
        self.method = method
        self.path = path
        super().__init__(f"{provider} {method} {path}: {message}")


class ConnectError(TransportError):
    """The connection could not be established; the server provably did nothing."""


class RequestTimeoutError(TransportError, TimeoutError):
    """No complete answer arrived within the request timeout."""


class SubmitUncertainError(TransportError):
    """A job-creating request may or may not have created a job.

    Raised instead of resubmitting blindly. ``key`` is the client key the job carries (when the
    provider supports one), so the job can be looked up later; ``cause`` is the underlying fault.
    """

    def __init__(
        self, message: str, *, provider: str, method: str, path: str, key: str | None = None
    ) -> None:
        self.key = key
        super().__init__(message, provider=provider, method=method, path=path)


class MalformedResponseError(QJobsError):
    """The provider answered 2xx with a body qjobs cannot understand (bad JSON, missing keys)."""

    def __init__(self, message: str, *, provider: str, method: str = "", path: str = "") -> None:
        self.provider = provider
        self.method = method
        self.path = path
        where = f" {method} {path}" if method else ""
        super().__init__(f"{provider}{where}: malformed response: {message}")


class JobError(QJobsError):
    """A job did not produce a result. ``job_id`` and ``provider`` identify it."""

    def __init__(self, message: str, *, job_id: str | None, provider: str) -> None:
        self.job_id = job_id
        self.provider = provider
        super().__init__(message)


class JobFailedError(JobError):
    """The provider reports the job as failed; ``code`` and ``message`` are the provider's."""

    def __init__(
        self, message: str, *, job_id: str | None, provider: str, code: str | None = None
    ) -> None:
        self.code = code
        self.message = message
        text = f"{provider} job {job_id} failed"
        if code:
            text += f" ({code})"
        super().__init__(f"{text}: {message}", job_id=job_id, provider=provider)

    @classmethod
    def from_job(cls, job: Job, provider: str | None = None) -> JobFailedError:
        """The error for a job the provider reports as FAILED, from its ``failure`` record.

        ``provider`` defaults to the job's own; the message is the provider's or "no reason
        given", the code the provider's failure code.
        """
        failure = job.failure
        return cls(
            failure.message if failure else "no reason given",
            job_id=job.id,
            provider=provider or job.provider,
            code=failure.code if failure else None,
        )


class JobCancelledError(JobError):
    """The job was cancelled before it produced a result."""


class JobTimeoutError(JobError, TimeoutError):
    """Waiting for the job took longer than the caller allowed. The job is not cancelled."""


class JobLostError(JobError):
    """The provider no longer knows a job qjobs created (404 confirmed over several reads).

    Raised for the job's circuits instead of polling a job that will never finish (deleted in a
    web console, lost in a provider restart). Pass ``resubmit_lost=True`` to the ``Scheduler`` or
    ``Sweep`` to resubmit such circuits once, as a new job.
    """


class LedgerError(QJobsError):
    """The ledger file cannot be used: not a ledger, corrupt, a directory, or unwritable.

    The message names the path and says what to do (move the file aside, pick another path).
    """
