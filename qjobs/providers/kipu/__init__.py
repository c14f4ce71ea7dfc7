"""The async Kipu Quantum Hub client (the Hub's quantum API, formerly PlanQK).

:class:`KipuClient` is defined in :mod:`qjobs.providers.kipu.client`, its namespaces in
:mod:`~qjobs.providers.kipu.resources`, the settings in :mod:`~qjobs.providers.kipu.config` and
the models in :mod:`~qjobs.providers.kipu.models`.
"""

from qjobs._core.public import publish as _publish
from qjobs.providers.kipu.client import KipuClient
from qjobs.providers.kipu.config import DEFAULT_BACKEND, DEFAULT_BASE_URL, KEY_TAG
from qjobs.providers.kipu.models import (
    Allowance,
    BackendState,
    Calibration,
    JobState,
    NormalizedInput,
    NormalizedMemory,
    NormalizedResult,
    Pub,
    Session,
    Workload,
)
from qjobs.providers.kipu.resources import (
    BackendsAPI,
    JobsAPI,
    RuntimeMinutesAPI,
    ServiceExecution,
    SessionsAPI,
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
