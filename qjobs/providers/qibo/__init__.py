"""The async Qibo cloud client (the protocol of qibo-client 0.2.x).

The names of this package are defined in :mod:`qjobs.providers.qibo.client`.
"""

from qjobs._core.public import publish as _publish
from qjobs.providers.qibo.client import (
    CLIENT_VERSION,
    DEFAULT_BASE_URL,
    TOKEN_VARIABLES,
    URL_VARIABLES,
    ArchiveLimits,
    DiskQuota,
    JobPostServerError,
    Partition,
    ProjectQuota,
    QiboClient,
    QiboVersionError,
    ServerVersion,
    UnsafeArchiveError,
    UnsafePickleError,
)

__all__ = [
    "CLIENT_VERSION",
    "DEFAULT_BASE_URL",
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "ArchiveLimits",
    "DiskQuota",
    "JobPostServerError",
    "Partition",
    "ProjectQuota",
    "QiboClient",
    "QiboVersionError",
    "ServerVersion",
    "UnsafeArchiveError",
    "UnsafePickleError",
]

_publish(globals())
