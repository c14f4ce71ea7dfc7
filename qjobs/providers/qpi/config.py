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

#: Per job, QPI publishes no circuit count (neither its docs nor qpi-client name one), so
#: ``max_circuits_per_job`` is None and a job is bounded by its size. The bound is the server's:
#: qpi-ui stores the submitted body as the ``payload`` JSON field of ``quantum_jobs``, declared
#: without ``maxSize``, so PocketBase (v0.28 and later; QPI runs v0.39) refuses a payload above
#: its default JSON field size, 1 MiB (1,048,576 bytes), with a 500 "Failed to save job.". (The
#: request body limit, 32 MiB, is looser.) 1,000,000 bytes leaves room for the server's
#: re-encoding of the body. The scheduler packs as many circuits as fit (``docs/qpi.md``).
#:
#: Polling: ``GET /api/jobs?sort=-created&limit=N`` refreshes up to ``status_batch_size`` jobs in
#: one request, so a poll costs one request however many jobs are in flight and frequent early
#: polls are cheap. A short job (the emulator's 0.5 s queue and 0.2 s execution) is then seen
#: within a few tens of milliseconds of finishing: polls come 0.05 s after submission and after
#: each status change, growing x1.5 (a dozen polls in a job's first 10 s) up to every 15 s.
DEFAULT_CAPABILITIES: Final = Capabilities(
    max_circuits_per_job=None,
    max_payload_bytes=1_000_000,
    status_batch_size=100,
    poll_initial=0.05,
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
