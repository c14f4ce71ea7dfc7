"""The async qBraid client (Quantum Runtime API, ``/api/v1``).

The names of this package are defined in :mod:`qjobs.providers.qbraid.client`.
"""

from qjobs._core.public import publish as _publish
from qjobs.providers.qbraid.client import (
    DEFAULT_BASE_URL,
    DEFAULT_DEVICE,
    GROUP_STATUSES,
    STATUS_MAP,
    AccessToken,
    Calibration,
    CostEstimate,
    CreditBalance,
    Device,
    DeviceStatus,
    GroupJob,
    JobStatusOptions,
    Pagination,
    Program,
    ProviderInfo,
    QbraidClient,
    User,
    UserContext,
)

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

_publish(globals())
