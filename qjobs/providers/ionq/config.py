"""IonQ's constants and settings: base URL, environment variables, capabilities, credentials.

Everything here is pure (no request is made); :func:`credentials` reads the environment and
``./.env`` only.
"""

from __future__ import annotations

from typing import Final

from qjobs._core.config import resolve_setting
from qjobs.providers._base import Capabilities, Credentials

__all__ = [
    "CANCEL_CHUNK",
    "DEFAULT_BASE_URL",
    "DEFAULT_CAPABILITIES",
    "DEFAULT_MAX_SHOTS",
    "META_KEY",
    "META_MAPS",
    "META_SHOTS",
    "PROVIDER",
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "credentials",
]

#: The provider's short name, as given to :func:`qjobs.connect`.
PROVIDER: Final = "ionq"
#: IonQ's production API (the version segment is part of the base).
DEFAULT_BASE_URL: Final = "https://api.ionq.co/v0.4"
#: Environment variables holding the API key, in lookup order (all of them in the environment,
#: then all of them in ``./.env``).
TOKEN_VARIABLES: Final = ("QISKIT_IONQ_API_TOKEN", "IONQ_API_KEY", "IONQ_API_TOKEN")
#: Environment variables holding the API URL, in lookup order.
URL_VARIABLES: Final = ("QISKIT_IONQ_API_URL", "IONQ_API_URL")

#: Shot range when the backend catalogue states none.
DEFAULT_MAX_SHOTS: Final = 100_000
#: Metadata keys qjobs writes on every job (values are strings, as IonQ requires).
META_MAPS: Final = "qjobs_meas"
META_KEY: Final = "qjobs_key"
META_SHOTS: Final = "shots"
#: Job ids per ``PUT /jobs/status/cancel``.
CANCEL_CHUNK: Final = 100

#: IonQ documents no per-job circuit limit; 100 circuits keep one job's payload, its result
#: download and the cost of one failure modest. ``status_batch_size`` is the number of ids
#: per ``GET /jobs?ids=`` (about 4 KB of query). The first poll comes 0.25 s after a job is created
#: (and after each status change), growing 1.5x to 15 s: simulator jobs take well under a second,
#: and one ``GET /jobs?ids=`` polls up to 100 jobs, so early polls cost little.
DEFAULT_CAPABILITIES: Final = Capabilities(
    max_circuits_per_job=100,
    max_payload_bytes=5_000_000,
    status_batch_size=100,
    poll_initial=0.25,
    poll_max=15.0,
    poll_factor=1.5,
    # No published request limits (docs/limits.md): the limiter adapts to the server.
    requests_per_second=None,
    max_concurrent_requests=None,
    max_in_flight_jobs=1000,
    page_size=100,
    submit_key=True,
    cancel_batch=True,
)


def credentials(token: str | None, base_url: str | None) -> tuple[Credentials, str]:
    """The client's credentials and where its token came from (``"argument"``, ``"env"``, ...).

    The token comes from ``token``, else :data:`TOKEN_VARIABLES` (environment, then ``./.env``);
    the base URL from ``base_url``, else :data:`URL_VARIABLES`, else :data:`DEFAULT_BASE_URL`.
    Requests carry ``Authorization: apiKey <token>``.
    """
    secret = resolve_setting("token", token, TOKEN_VARIABLES, dotenv=True, required=True)
    url = resolve_setting(
        "base_url", base_url, URL_VARIABLES, dotenv=True, default=DEFAULT_BASE_URL
    )
    assert secret.value is not None
    assert url.value is not None
    return Credentials(url.value, {"Authorization": f"apiKey {secret.value}"}), secret.source
