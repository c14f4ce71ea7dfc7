"""Qibo cloud settings: server, token variables, protocol version, capabilities, credentials.

Pure (no I/O beyond reading the environment and ``./.env`` through
:func:`qjobs._core.config.resolve_setting`). The token comes from ``token=``, else
``QIBO_CLIENT_TOKEN``, ``QIBO_TOKEN``; the server from ``base_url=``, else ``QIBO_CLIENT_URL``,
``QIBO_URL``, else :data:`DEFAULT_BASE_URL` (the server root, without ``/api``).
"""

from __future__ import annotations

from typing import Final

from qjobs._core.config import Setting, resolve_setting
from qjobs._core.errors import InputError
from qjobs.providers._base import Capabilities, Credentials
from qjobs.providers.qibo.circuits import FORMAT_VERSION
from qjobs.providers.qibo.models import QiboVersionError, ServerVersion

__all__ = [
    "CAPABILITIES",
    "CLIENT_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_DEVICE",
    "DEFAULT_PROJECT",
    "SPOOL_BYTES",
    "TOKEN_HEADER",
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "check_server_version",
    "credentials",
    "resolve",
    "version_tuple",
]

#: Qibo's public cloud (qibo-client 0.2.4 has no default; older clients used this one).
DEFAULT_BASE_URL: Final = "https://cloud.qibo.science"
#: Environment variables holding the API token, in lookup order (each: ``.env``, then env).
TOKEN_VARIABLES: Final = ("QIBO_CLIENT_TOKEN", "QIBO_TOKEN")
#: Environment variables holding the server URL, in lookup order.
URL_VARIABLES: Final = ("QIBO_CLIENT_URL", "QIBO_URL")
#: The qibo-client protocol version qjobs speaks (sent as ``x-qibo-client-version``).
CLIENT_VERSION: Final = "0.2.4"
#: The header carrying the API token.
TOKEN_HEADER: Final = "x-api-token"
#: The device used when a submission names none.
DEFAULT_DEVICE: Final = "sim"
#: The project (quota) charged when neither the client nor the submission names one.
DEFAULT_PROJECT: Final = "personal"
#: Result archives larger than this are spooled to a private temporary file, not memory.
SPOOL_BYTES: Final = 8 * 2**20

#: One circuit per job (the protocol has no batch). The job list returns every job of the
#: user in one request, so many statuses cost one ``GET /api/jobs/``. No client key can be
#: stored with a job, so submission is not idempotent (``submit_key`` is false).
CAPABILITIES: Final = Capabilities(
    max_circuits_per_job=1,
    max_payload_bytes=5_000_000,
    status_batch_size=500,
    poll_initial=0.5,
    poll_max=10.0,
    poll_factor=1.5,
    # No published request limits (docs/limits.md): the limiter adapts to the server.
    requests_per_second=None,
    max_concurrent_requests=None,
    max_in_flight_jobs=200,
    page_size=1000,
    submit_key=False,
    cancel_batch=False,
)


def resolve(token: str | None, base_url: str | None) -> tuple[Setting, Setting]:
    """The token (required) and the server URL, each with where it came from."""
    secret = resolve_setting("token", token, TOKEN_VARIABLES, dotenv=True, required=True)
    url = resolve_setting(
        "base_url", base_url, URL_VARIABLES, dotenv=True, default=DEFAULT_BASE_URL
    )
    return secret, url


def credentials(secret: Setting, url: Setting) -> Credentials:
    """The transport's credentials: the server root (``/api`` refused) and the headers."""
    assert secret.value is not None
    assert url.value is not None
    base = url.value.rstrip("/")
    if base.endswith("/api"):
        raise InputError("base_url", base, "give the server root, without /api")
    return Credentials(
        base, {TOKEN_HEADER: secret.value}, {"x-qibo-client-version": CLIENT_VERSION}
    )


def version_tuple(text: str) -> tuple[int, ...]:
    """A version string as comparable ints: ``"0.3.2rc1"`` -> ``(0, 3, 2)``; trailing zeros
    dropped (``"1.0"`` == ``"1"``); reading stops at the first piece that is not all digits."""
    parts: list[int] = []
    for piece in text.strip().split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits) if digits else 0)
        if digits != piece:
            break
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def check_server_version(found: ServerVersion, supported: str = FORMAT_VERSION) -> bool:
    """Raise :class:`QiboVersionError` when the server needs a newer circuit format than
    ``supported``; return whether the server runs a newer qibo (worth a warning)."""
    if version_tuple(found.minimum_client_qibo_version) > version_tuple(supported):
        raise QiboVersionError(found.minimum_client_qibo_version, supported)
    return version_tuple(found.server_qibo_version) > version_tuple(supported)
