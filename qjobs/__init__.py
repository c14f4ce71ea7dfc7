"""qjobs: run quantum jobs on cloud providers from asyncio, at scale.

The public surface is re-exported here; modules with a leading underscore are private.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qjobs._core.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    ConnectError,
    CredentialsError,
    ForbiddenError,
    InputError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobLostError,
    JobTimeoutError,
    LedgerError,
    MalformedResponseError,
    NotFoundError,
    QasmError,
    QJobsError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    SubmitUncertainError,
    TransportError,
    ValidationError,
)
from qjobs._core.models import Backend, Job, JobFailure, JobStatus, Result
from qjobs._core.public import publish as _publish
from qjobs.circuit._adapt import CircuitLike, ForeignCircuit
from qjobs.circuit._expr import Expr
from qjobs.circuit._ir import Circuit, Instruction
from qjobs.providers import Capabilities, ProviderClient, connect
from qjobs.scheduler import CancelReport, JobFuture, Progress, Scheduler, SchedulerEvent
from qjobs.sweep import Sweep, SweepResult

if TYPE_CHECKING:
    from qjobs import emulators, sim

from qjobs._core.version import __version__

__all__ = [
    "APIError",
    "AuthenticationError",
    "Backend",
    "CancelReport",
    "Capabilities",
    "Circuit",
    "CircuitLike",
    "ConflictError",
    "ConnectError",
    "CredentialsError",
    "Expr",
    "ForbiddenError",
    "ForeignCircuit",
    "InputError",
    "Instruction",
    "Job",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobLostError",
    "JobFailure",
    "JobFuture",
    "JobStatus",
    "JobTimeoutError",
    "LedgerError",
    "MalformedResponseError",
    "NotFoundError",
    "Progress",
    "ProviderClient",
    "QJobsError",
    "QasmError",
    "RateLimitedError",
    "RequestTimeoutError",
    "Result",
    "Scheduler",
    "SchedulerEvent",
    "ServerError",
    "SubmitUncertainError",
    "Sweep",
    "SweepResult",
    "TransportError",
    "ValidationError",
    "__version__",
    "connect",
    "emulators",
    "sim",
]

_LAZY_MODULES = frozenset({"emulators", "sim"})


def __getattr__(name: str) -> Any:
    # qjobs.emulators and qjobs.sim are not needed by clients; import them on first use.
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"qjobs.{name}")
    raise AttributeError(f"module 'qjobs' has no attribute {name!r}")


_publish(globals())
