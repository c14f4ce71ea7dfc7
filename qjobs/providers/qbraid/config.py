"""qBraid's constants and configuration as qBraid users know it: the default device, limits and
capabilities, env variables, ``qbraidrc``, retry knobs.

Order (resolved when the client is created, never at import time):

1. explicit arguments (``token=``/``api_key=``, ``access_token=``, ``base_url=``);
2. the environment: ``QBRAID_API_KEY``, ``QBRAID_ACCESS_TOKEN``, ``QBRAID_API_URL``;
3. the config file: ``QBRAID_CONFIG_FILE``, else ``~/.qbraid/qbraidrc`` (INI, ``[default]`` with
   ``api-key``, ``access-token``, ``url``; the older ``email`` and ``refresh-token`` keys are read
   only to explain that the current API needs an API key).

For the URL, a white-label API key (``<prefix>_<base32 host>.<64 hex>``) names its host, which is
used after ``QBRAID_API_URL`` and before the file's ``url``. This differs from qbraid-core, which
reads the file at import time and ranks the file's ``api-key`` above ``QBRAID_API_KEY``.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from qjobs._core.config import Setting, resolve_setting
from qjobs._core.errors import CredentialsError, InputError
from qjobs._core.validation import is_int, is_number
from qjobs.providers._base import Capabilities
from qjobs.transport import Retrier, RetryPolicy

__all__ = [
    "CAPABILITIES",
    "CONFIG_FILE_VARIABLE",
    "DEFAULT_BASE_URL",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_DEVICE",
    "MAX_GROUP_TTL",
    "MAX_KEY_LENGTH",
    "MAX_PAGE",
    "TAG_KEY",
    "QbraidSettings",
    "config_path",
    "read_config",
    "resolve",
    "retry_policy",
    "write_config",
]

logger = logging.getLogger("qjobs.providers.qbraid")

#: qBraid's current API (the ``/api/v1`` segment is part of the base).
DEFAULT_BASE_URL: Final = "https://api-v2.qbraid.com/api/v1"
#: The device used when ``backend`` is not given.
DEFAULT_DEVICE: Final = "qbraid:qbraid:sim:qasm-sim"
#: The largest page qBraid's list endpoints serve (``limit``).
MAX_PAGE: Final = 100
#: The tag carrying the qjobs idempotency key (``GET /jobs?tags=`` finds it).
TAG_KEY: Final = "qjobs_key"
#: The longest idempotency key a job may carry.
MAX_KEY_LENGTH: Final = 128
#: The longest a job group may stay open (``maxTTL``, seconds).
MAX_GROUP_TTL: Final = 86_400
#: qBraid documents neither a per-job circuit limit nor rate limits; 100 programs per batch job
#: and 10 requests/s stay well inside what its platform answers. The job list cannot filter by
#: id, so states are polled one job per request; tags make submission idempotent.
CAPABILITIES: Final = Capabilities(
    max_circuits_per_job=100,
    max_payload_bytes=5_000_000,
    status_batch_size=1,
    poll_initial=1.0,
    poll_max=30.0,
    poll_factor=1.5,
    # No published request limits (docs/limits.md): the limiter adapts to the server.
    requests_per_second=None,
    max_concurrent_requests=None,
    max_in_flight_jobs=500,
    page_size=MAX_PAGE,
    submit_key=True,
    cancel_batch=False,
)
#: Where the config file is when ``QBRAID_CONFIG_FILE`` is not set (``~`` expanded at use).
DEFAULT_CONFIG_PATH: Final = "~/.qbraid/qbraidrc"
CONFIG_FILE_VARIABLE: Final = "QBRAID_CONFIG_FILE"
KEY_VARIABLE: Final = "QBRAID_API_KEY"
ACCESS_TOKEN_VARIABLE: Final = "QBRAID_ACCESS_TOKEN"
URL_VARIABLE: Final = "QBRAID_API_URL"
SECTION: Final = "default"
_LEGACY_HOSTS: Final = frozenset({"api.qbraid.com"})
_WHITE_LABEL = re.compile(r"^[A-Za-z0-9]+_([A-Za-z2-7]+=*)\.[0-9a-fA-F]{64}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")
_RANK: Final = {"argument": 0, "env": 1, "file": 2}

T = TypeVar("T")


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The qbraidrc path: ``explicit``, else ``QBRAID_CONFIG_FILE``, else ``~/.qbraid/qbraidrc``."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(CONFIG_FILE_VARIABLE, "").strip()
    return Path(env).expanduser() if env else Path(DEFAULT_CONFIG_PATH).expanduser()


def read_config(path: Path) -> dict[str, str]:
    """The ``[default]`` section of a qbraidrc file; ``{}`` when absent or unreadable."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        text = path.read_text(encoding="utf-8")
        parser.read_string(text, source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        if not isinstance(exc, FileNotFoundError | NotADirectoryError):
            logger.warning("qbraid: cannot read config file %s: %s", path, type(exc).__name__)
        return {}
    if not parser.has_section(SECTION):
        return {}
    return {k: v.strip() for k, v in parser.items(SECTION) if v.strip()}


def host_of_key(key: str) -> str | None:
    """The host a white-label API key names (``<prefix>_<base32(host)>.<64 hex>``), or None."""
    m = _WHITE_LABEL.match(key)
    if m is None:
        return None
    text = m.group(1).upper()
    try:
        host = base64.b32decode(text + "=" * (-len(text) % 8)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return host if _HOST.match(host) and "." in host else None


@attrs.frozen(slots=True, repr=False)
class QbraidSettings:
    """Resolved settings. ``auth_header`` is ``X-API-Key`` or ``X-Access-Token``; values secret."""

    auth_header: str
    secret: str
    secret_source: str
    base_url: str
    url_source: str
    config_file: Path

    def __repr__(self) -> str:
        return (
            f"QbraidSettings(auth_header={self.auth_header!r}, secret=<set>, "
            f"secret_source={self.secret_source!r}, base_url={self.base_url!r}, "
            f"url_source={self.url_source!r}, config_file={str(self.config_file)!r})"
        )


def _file_source(values: Mapping[str, str], key: str, path: Path) -> Callable[[], str | None]:
    def read() -> str | None:
        return values.get(key)

    read.description = f"{key} in {path}"  # type: ignore[attr-defined]
    return read


def _rank(setting: Setting) -> int:
    return _RANK.get(setting.source.partition(":")[0], 3)


def _is_legacy_url(url: str) -> bool:
    from yarl import URL

    try:
        parsed = URL(url)
    except ValueError:
        return False
    return parsed.host in _LEGACY_HOSTS and parsed.path.rstrip("/") in ("", "/api")


def resolve(
    *,
    token: str | None,
    access_token: str | None,
    base_url: str | None,
    config_file: str | os.PathLike[str] | None,
) -> QbraidSettings:
    """Resolve credentials and the base URL (arguments, then environment, then the file).

    Between an API key and an access token, the one from the higher-ranked place wins; from the
    same place, the access token wins (as in qbraid-core). Raises
    :class:`~qjobs.CredentialsError` naming every place looked at when neither is found.
    """
    path = config_path(config_file)
    values = read_config(path)
    key = resolve_setting(
        "token",
        token,
        (KEY_VARIABLE,),
        dotenv=False,
        files=(_file_source(values, "api-key", path),),
    )
    access = resolve_setting(
        "access_token",
        access_token,
        (ACCESS_TOKEN_VARIABLE,),
        dotenv=False,
        files=(_file_source(values, "access-token", path),),
    )
    chosen: tuple[str, Setting]
    if access.value is not None and (key.value is None or _rank(access) <= _rank(key)):
        chosen = ("X-Access-Token", access)
    elif key.value is not None:
        chosen = ("X-API-Key", key)
    else:
        legacy = [k for k in ("refresh-token", "email") if k in values]
        hint = ""
        if legacy:
            hint = (
                f" ({path} holds {' and '.join(legacy)} for qBraid's older API; the current API "
                "needs an api-key: create one in your qBraid account and run save_config())"
            )
        raise CredentialsError(
            "no qBraid API key found; looked at: the token= argument, the access_token= "
            f"argument, {KEY_VARIABLE} and {ACCESS_TOKEN_VARIABLE} (environment), api-key and "
            f"access-token in {path}{hint}"
        )
    header, secret = chosen
    assert secret.value is not None
    embedded = host_of_key(secret.value) if header == "X-API-Key" else None
    file_url = values.get("url")
    if file_url and _is_legacy_url(file_url):
        logger.warning(
            "qbraid: ignoring the legacy API url in %s (the current API is /api/v1)", path
        )
        file_url = None
    url_files: list[Callable[[], str | None]] = []
    if embedded is not None:

        def from_key() -> str | None:
            return f"https://{embedded}/api/v1"

        from_key.description = "the host embedded in the API key"  # type: ignore[attr-defined]
        url_files.append(from_key)
    url_files.append(_file_source({"url": file_url} if file_url else {}, "url", path))
    url = resolve_setting(
        "base_url",
        base_url,
        (URL_VARIABLE,),
        dotenv=False,
        files=url_files,
        default=DEFAULT_BASE_URL,
    )
    assert url.value is not None
    return QbraidSettings(
        auth_header=header,
        secret=secret.value,
        secret_source=secret.source,
        base_url=url.value.rstrip("/"),
        url_source=url.source,
        config_file=path,
    )


def write_config(
    path: Path,
    updates: Mapping[str, str],
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``updates`` into the ``[default]`` section of ``path``, keeping every other key.

    The file (and a new parent directory) is created owner-only: the file is written to a
    temporary file with mode 0600 in the same directory and moved into place, so it is never
    readable by others, even for an instant. A key already set to a different value raises
    :class:`~qjobs.InputError` unless ``overwrite=True``.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise InputError(
            "config_file", str(path), f"cannot read it: {type(exc).__name__}"
        ) from None
    if not parser.has_section(SECTION):
        parser.add_section(SECTION)
    for key, value in updates.items():
        current = parser.get(SECTION, key, fallback=None)
        if current is not None and current.strip() and current.strip() != value and not overwrite:
            shown = "<set>" if "key" in key or "token" in key else current
            raise InputError(
                f"config_file[{key}]",
                shown,
                f"{path} already holds a different {key}; pass overwrite=True to replace it",
            )
        parser.set(SECTION, key, value)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".qbraidrc-", dir=path.parent)  # mode 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            parser.write(handle)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.chmod(path, 0o600)
    return path


# ----------------------------------------------------------------------------- retries
def retry_policy(
    *, total: int = 3, backoff_factor: float = 0.5, base: RetryPolicy | None = None
) -> RetryPolicy:
    """The qjobs :class:`~qjobs.transport.RetryPolicy` for qBraid's session retry knobs.

    ``total`` retries mean ``total + 1`` attempts; ``backoff_factor`` is urllib3's (waits
    ``factor * 2**n``, capped at 120 s) and becomes the policy's ``base_delay`` with factor 2
    (qjobs adds full jitter). Which failures are retried stays qjobs' choice: a job-creating
    POST is never repeated on an ambiguous failure (qbraid-core repeats it on any 5xx).
    """
    if not is_int(total, low=0):
        raise InputError("retries_total", total, "must be an int >= 0")
    if not is_number(backoff_factor):
        raise InputError("backoff_factor", backoff_factor, "must be a number >= 0")
    if not backoff_factor >= 0:
        raise InputError("backoff_factor", backoff_factor, "must be a number >= 0")
    start = base or RetryPolicy()
    return attrs.evolve(
        start,
        max_attempts=total + 1,
        base_delay=float(backoff_factor),
        factor=2.0,
        max_delay=max(start.max_delay, 120.0) if base is None else start.max_delay,
    )


def connect_capped(
    policy: RetryPolicy, connect: int, transport_options: Mapping[str, Any]
) -> Retrier:
    """A :class:`Retrier` for ``policy`` that also bounds connection retries (urllib3 ``connect``).

    After ``connect`` retried connection failures within one request, the next one is raised.
    The test hooks ``sleep``, ``clock`` and ``jitter`` of ``transport_options`` are kept.
    """
    if not is_int(connect, low=0):
        raise InputError("retries_connect", connect, "must be an int >= 0")
    timing = {
        k: transport_options[k] for k in ("sleep", "clock", "jitter") if k in transport_options
    }
    return Retrier(policy, max_connect_retries=connect, **timing)
