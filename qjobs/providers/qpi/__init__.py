"""The async QPI client (qpi-ui server, PocketBase-based).

:class:`QPIClient` is defined in :mod:`qjobs.providers.qpi.client`, the records it returns in
:mod:`qjobs.providers.qpi.models` and the environment variables it reads in
:mod:`qjobs.providers.qpi.config`.
"""

from qjobs._core.public import publish as _publish
from qjobs.providers.qpi.client import QPIClient
from qjobs.providers.qpi.config import TOKEN_VARIABLES, URL_VARIABLES
from qjobs.providers.qpi.models import (
    ApiToken,
    Notification,
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
