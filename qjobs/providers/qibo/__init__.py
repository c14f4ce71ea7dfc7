"""The async Qibo cloud client (the protocol of qibo-client 0.2.x).

:class:`QiboClient` is defined in :mod:`qjobs.providers.qibo.client`; the settings in
:mod:`~qjobs.providers.qibo.config`, the models and errors in :mod:`~qjobs.providers.qibo.models`
and the archive reading in :mod:`~qjobs.providers.qibo.results`.
"""

from qjobs._core.public import publish as _publish
from qjobs.providers.qibo.client import QiboClient
from qjobs.providers.qibo.config import (
    CLIENT_VERSION,
    DEFAULT_BASE_URL,
    TOKEN_VARIABLES,
    URL_VARIABLES,
)
from qjobs.providers.qibo.models import (
    DiskQuota,
    JobPostServerError,
    Partition,
    ProjectQuota,
    QiboVersionError,
    ServerVersion,
)
from qjobs.providers.qibo.results import ArchiveLimits, UnsafeArchiveError, UnsafePickleError

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
