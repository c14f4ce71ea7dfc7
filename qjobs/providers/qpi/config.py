"""QPI's constants and settings: provider name, environment variables, capabilities, credentials.

QPI is self-hosted, so there is no default base URL: it comes from ``base_url=`` or from
:data:`URL_VARIABLES`. The API token (:data:`TOKEN_VARIABLES`) is optional, since a password
login authenticates too. :func:`resolve` looks both up; :func:`credentials` turns them (and a
login's JWT) into the headers the transport sends.
"""

from __future__ import annotations

from typing import Final

from qjobs._core.config import Setting, resolve_setting
from qjobs.providers._base import Capabilities, Credentials

__all__ = [
    "DEFAULT_CAPABILITIES",
    "PROVIDER",
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "credentials",
    "resolve",
]

PROVIDER: Final = "qpi"

#: Environment variables holding the API token, in lookup order (each: ``.env``, then env).
TOKEN_VARIABLES: Final = ("QPI_API_TOKEN",)
#: Environment variables holding the server URL (QPI is self-hosted: there is no default).
URL_VARIABLES: Final = ("QPI_BASE_URL", "QPI_URL")

#: QPI documents no per-job circuit limit; 100 keeps one job's payload and results modest.
#: ``GET /api/jobs?sort=-created&limit=N`` refreshes many jobs in one request. Dispatchers
#: poll the database every second, so polling starts at 1 s.
DEFAULT_CAPABILITIES: Final = Capabilities(
    max_circuits_per_job=100,
    max_payload_bytes=5_000_000,
    status_batch_size=100,
    poll_initial=1.0,
    poll_max=15.0,
    poll_factor=1.5,
    # No published request limits (docs/limits.md): the limiter adapts to the server.
    requests_per_second=None,
    max_concurrent_requests=None,
    max_in_flight_jobs=500,
    page_size=100,
    submit_key=True,
    cancel_batch=False,
)


def resolve(token: str | None, base_url: str | None) -> tuple[Setting, str]:
    """``(API token setting, base URL)`` from the arguments, else the environment and ``.env``.

    The token may be absent (its setting's value is then None); a missing base URL raises
    :class:`~qjobs.CredentialsError` naming every place looked at.
    """
    secret = resolve_setting("token", token, TOKEN_VARIABLES, dotenv=True)
    url = resolve_setting("base_url", base_url, URL_VARIABLES, dotenv=True, required=True)
    assert url.value is not None
    return secret, url.value


def credentials(base_url: str, api_token: str | None, jwt: str | None) -> Credentials:
    """The base URL and auth headers: ``X-API-Token``, and after a login ``Bearer <jwt>``."""
    auth: dict[str, str] = {}
    if api_token:
        auth["X-API-Token"] = api_token
    if jwt:
        auth["Authorization"] = f"Bearer {jwt}"
    return Credentials(base_url, auth)
