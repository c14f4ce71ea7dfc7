"""The async IonQ client (Quantum Cloud API v0.4).

The names of this package are defined in :mod:`qjobs.providers.ionq.client`.
"""

from qjobs._core.public import publish as _publish
from qjobs.providers.ionq.client import (
    DEFAULT_BASE_URL,
    TOKEN_VARIABLES,
    URL_VARIABLES,
    BatchStatus,
    Characterization,
    Estimate,
    IonQClient,
    Session,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "BatchStatus",
    "Characterization",
    "Estimate",
    "IonQClient",
    "Session",
]

_publish(globals())
