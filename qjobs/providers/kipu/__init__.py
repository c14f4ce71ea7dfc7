"""The async Kipu Quantum Hub client (the Hub's quantum API, formerly PlanQK).

The names of this package are defined in :mod:`qjobs.providers.kipu.client`.
"""

from qjobs._core.public import publish as _publish
from qjobs.providers.kipu.client import (
    DEFAULT_BACKEND,
    DEFAULT_BASE_URL,
    KEY_TAG,
    Allowance,
    BackendsAPI,
    BackendState,
    Calibration,
    JobsAPI,
    JobState,
    KipuClient,
    NormalizedInput,
    NormalizedMemory,
    NormalizedResult,
    Pub,
    RuntimeMinutesAPI,
    ServiceExecution,
    Session,
    SessionsAPI,
    Workload,
    WorkloadsAPI,
)

__all__ = [
    "DEFAULT_BACKEND",
    "DEFAULT_BASE_URL",
    "KEY_TAG",
    "Allowance",
    "BackendState",
    "BackendsAPI",
    "Calibration",
    "JobState",
    "JobsAPI",
    "KipuClient",
    "NormalizedInput",
    "NormalizedMemory",
    "NormalizedResult",
    "Pub",
    "RuntimeMinutesAPI",
    "ServiceExecution",
    "Session",
    "SessionsAPI",
    "Workload",
    "WorkloadsAPI",
]

_publish(globals())
