"""The async QPI client (qpi-ui server, PocketBase-based).

The names of this package are defined in :mod:`qjobs.providers.qpi.client`.
"""

from qjobs._core.public import publish as _publish
from qjobs.providers.qpi.client import (
    TOKEN_VARIABLES,
    URL_VARIABLES,
    ApiToken,
    Notification,
    QPIClient,
    QPUConnection,
    QPUCreated,
    TimeRequest,
    TimeSlot,
    User,
)

__all__ = [
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "ApiToken",
    "Notification",
    "QPIClient",
    "QPUConnection",
    "QPUCreated",
    "TimeRequest",
    "TimeSlot",
    "User",
]

_publish(globals())
