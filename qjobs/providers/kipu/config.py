"""Kipu Quantum Hub settings as Kipu users know them: token, organization, base URL.

Order (spec §2; the first found wins):

- token: ``token=`` -> ``KQH_SERVICE_EXECUTION_TOKEN`` -> ``KQH_PERSONAL_ACCESS_TOKEN`` ->
  ``PLANQK_SERVICE_EXECUTION_TOKEN`` -> ``SERVICE_EXECUTION_TOKEN`` ->
  ``PLANQK_PERSONAL_ACCESS_TOKEN`` -> the ``qhubctl`` config file's ``auth.value``;
- organization: ``organization_id=`` -> ``KQH_ORGANIZATION_ID`` -> ``PLANQK_ORGANIZATION_ID`` ->
  the config file's ``context.id`` when ``context.isOrganization`` is true;
- base URL: ``base_url=`` -> ``QHUB_QUANTUM_BASE_URL`` -> ``PLANQK_QUANTUM_BASE_URL`` -> the
  production URL.

The config file is ``KQH_CONFIG_FILE_PATH`` (legacy ``PLANQK_CONFIG_FILE_PATH``), else
``~/.config/qhubctl/config.json`` (Windows: ``%LOCALAPPDATA%\\qhubctl\\config.json``), else the
legacy ``~/.config/planqk/config.json``. No value is ever put in a message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import orjson

from qjobs._core.config import Setting, resolve_setting
from qjobs._core.errors import CredentialsError
from qjobs.providers._base import Capabilities, Credentials

__all__ = [
    "CAPABILITIES",
    "CHUNK_BYTES",
    "CONFIG_PATH_VARIABLES",
    "DEFAULT_BACKEND",
    "DEFAULT_BASE_URL",
    "INPUT_FORMATS",
    "KEY_TAG",
    "MAX_KEY_LENGTH",
    "ORGANIZATION_VARIABLES",
    "QASM_FORMATS",
    "SDK_PROVIDERS",
    "SESSION_MODES",
    "TOKEN_VARIABLES",
    "URL_VARIABLES",
    "WORKLOAD_ORIGINS",
    "WORKLOAD_TYPES",
    "config_paths",
    "credentials",
    "read_config",
    "resolve",
]

#: The Hub's production quantum API (no version segment).
DEFAULT_BASE_URL: Final = "https://api.hub.kipu-quantum.com/quantum"
TOKEN_VARIABLES: Final = (
    "KQH_SERVICE_EXECUTION_TOKEN",
    "KQH_PERSONAL_ACCESS_TOKEN",
    "PLANQK_SERVICE_EXECUTION_TOKEN",
    "SERVICE_EXECUTION_TOKEN",
    "PLANQK_PERSONAL_ACCESS_TOKEN",
)
ORGANIZATION_VARIABLES: Final = ("KQH_ORGANIZATION_ID", "PLANQK_ORGANIZATION_ID")
URL_VARIABLES: Final = ("QHUB_QUANTUM_BASE_URL", "PLANQK_QUANTUM_BASE_URL")
CONFIG_PATH_VARIABLES: Final = ("KQH_CONFIG_FILE_PATH", "PLANQK_CONFIG_FILE_PATH")

#: The backend :meth:`KipuClient.submit` uses when none is given: Kipu's own simulator.
DEFAULT_BACKEND: Final = "kipu.sim.qsim"
#: The tag prefix carrying a client key (``qjobs_key:<key>``), found with ``GET workloads?tag=``.
KEY_TAG: Final = "qjobs_key"
#: The longest client key a job may carry.
MAX_KEY_LENGTH: Final = 128
#: The default chunk size (bytes) of a streamed result download.
CHUNK_BYTES: Final = 64 * 1024
#: ``input_format`` values the Hub knows (spec §6).
INPUT_FORMATS: Final = frozenset(
    {
        "OPEN_QASM_V1",
        "OPEN_QASM_V2",
        "OPEN_QASM_V3",
        "QIR_V1",
        "BRAKET_OPEN_QASM_V3",
        "BRAKET_AHS_PROGRAM",
        "IONQ_CIRCUIT_V1",
        "QISKIT_QPY",
        "QOQO",
        "PERCEVAL",
        "IQM_JOB_INPUT_V1",
        "AQT_JOB_INPUT_V1",
    }
)
#: ``sdk_provider`` values of a job or session.
SDK_PROVIDERS: Final = frozenset({"QISKIT", "BRAKET", "PERCEVAL", "CLIENT"})
#: Session modes.
SESSION_MODES: Final = frozenset({"batch", "dedicated"})
#: ``format`` values of a job's ``qasm`` rendering.
QASM_FORMATS: Final = frozenset({"openqasm.v2", "openqasm.v3"})
#: Workload ``type`` filter values.
WORKLOAD_TYPES: Final = frozenset({"JOB", "SESSION"})
#: Workload ``origin`` filter values.
WORKLOAD_ORIGINS: Final = frozenset({"STANDALONE", "SERVICE_EXECUTION"})

#: ``max_circuits_per_job`` is the most any backend takes in one job: IBM Sampler PUBs, Braket
#: program sets and Qudora take lists of up to 100 programs, every other backend one
#: (``KipuClient.max_circuits_for(backend)`` says which, and the scheduler packs that many).
#: Status polling pages through ``GET jobs`` (newest first, ``page_size`` per request);
#: jobs carry a ``qjobs_key:<key>`` tag found with ``GET workloads?tag=``.
CAPABILITIES: Final = Capabilities(
    max_circuits_per_job=100,
    max_payload_bytes=10_000_000,
    status_batch_size=100,
    poll_initial=1.0,
    poll_max=30.0,
    poll_factor=1.5,
    # No published request limits (docs/limits.md): the limiter adapts to the server.
    requests_per_second=None,
    max_concurrent_requests=None,
    max_in_flight_jobs=500,
    page_size=100,
    submit_key=True,
    cancel_batch=False,
)


def config_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The config files looked at, in order (an explicit path variable replaces the defaults)."""
    env = os.environ if environ is None else environ
    for name in CONFIG_PATH_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            return [Path(value).expanduser()]
    if os.name == "nt" and env.get("LOCALAPPDATA"):
        primary = Path(env["LOCALAPPDATA"]) / "qhubctl" / "config.json"
    else:
        primary = Path.home() / ".config" / "qhubctl" / "config.json"
    return [primary, Path.home() / ".config" / "planqk" / "config.json"]


def read_config(environ: Mapping[str, str] | None = None) -> tuple[Path | None, dict[str, Any]]:
    """The first existing config file and its JSON object (``(None, {})`` when there is none).

    A file that exists but is not a JSON object raises :class:`~qjobs.CredentialsError`
    naming the file (never its content).
    """
    for path in config_paths(environ):
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            continue
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise CredentialsError(f"config file {path} is not valid JSON") from None
        if not isinstance(data, dict):
            raise CredentialsError(f"config file {path} does not hold a JSON object")
        return path, data
    return None, {}


def _config_token(data: Mapping[str, Any]) -> str | None:
    auth = data.get("auth")
    value = auth.get("value") if isinstance(auth, Mapping) else None
    return value if isinstance(value, str) else None


def _config_organization(data: Mapping[str, Any]) -> str | None:
    context = data.get("context")
    if not isinstance(context, Mapping) or context.get("isOrganization") is not True:
        return None
    value = context.get("id")
    return value if isinstance(value, str) else None


class _FromFile:
    """A lazy reader of one value of the config file (read at most once per resolution)."""

    def __init__(self, cache: dict[str, Any], key: str, *, strict: bool) -> None:
        self._cache = cache
        self._key = key
        self._strict = strict
        paths = config_paths()
        self.description = f"{paths[0]} ({key})"

    def __call__(self) -> str | None:
        if "data" not in self._cache:
            try:
                self._cache["path"], self._cache["data"] = read_config()
            except CredentialsError:
                if self._strict:
                    raise
                return None
        data = self._cache["data"]
        if self._key == "auth.value":
            return _config_token(data)
        return _config_organization(data)


def resolve(
    token: str | None, organization_id: str | None, base_url: str | None
) -> tuple[Setting, Setting, Setting]:
    """Resolve ``(token, organization, base_url)``; the organization may be unset.

    The config file is read only when an earlier source has no value.
    """
    cache: dict[str, Any] = {}
    secret = resolve_setting(
        "token",
        token,
        TOKEN_VARIABLES,
        dotenv=False,
        files=[_FromFile(cache, "auth.value", strict=True)],
        required=True,
    )
    org = resolve_setting(
        "organization_id",
        organization_id,
        ORGANIZATION_VARIABLES,
        dotenv=False,
        files=[_FromFile(cache, "context.id", strict=False)],
    )
    url = resolve_setting(
        "base_url", base_url, URL_VARIABLES, dotenv=False, default=DEFAULT_BASE_URL
    )
    return secret, org, url


def credentials(secret: Setting, org: Setting, url: Setting) -> Credentials:
    """The transport's credentials: ``X-Auth-Token`` and, with an organization,
    ``X-OrganizationId``."""
    assert secret.value is not None
    assert url.value is not None
    return Credentials(
        url.value,
        {"X-Auth-Token": secret.value},
        {} if org.value is None else {"X-OrganizationId": org.value},
    )
