"""qBraid configuration: arguments > environment > qbraidrc, white-label keys, save_config()."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

import qjobs
from qjobs.providers.qbraid import QbraidClient
from qjobs.providers.qbraid.config import DEFAULT_BASE_URL, host_of_key

pytestmark = pytest.mark.anyio

_VARS = ("QBRAID_API_KEY", "QBRAID_ACCESS_TOKEN", "QBRAID_API_URL", "QBRAID_CONFIG_FILE")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME with no qBraid variables set."""
    for name in _VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _rc(path: Path, **values: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[default]", *(f"{k.replace('_', '-')} = {v}" for k, v in values.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _auth(client: QbraidClient) -> dict[str, str]:
    return dict(client.transport._auth_headers)


def test_default_file_in_home(home: Path) -> None:
    _rc(home / ".qbraid" / "qbraidrc", api_key="file-key", url="http://127.0.0.1:9/api/v1/")
    client = QbraidClient()
    assert _auth(client) == {"X-API-Key": "file-key"}
    assert client.base_url == "http://127.0.0.1:9/api/v1"
    assert client.token_source.startswith("file:api-key in")
    assert client.url_source.startswith("file:url in")


def test_order_argument_env_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _rc(home / ".qbraid" / "qbraidrc", api_key="file-key", url="https://file.invalid/api/v1")
    monkeypatch.setenv("QBRAID_API_KEY", "env-key")
    monkeypatch.setenv("QBRAID_API_URL", "https://env.invalid/api/v1")
    env = QbraidClient()
    assert _auth(env) == {"X-API-Key": "env-key"}
    assert env.token_source == "env:QBRAID_API_KEY"
    assert env.base_url == "https://env.invalid/api/v1"
    arg = QbraidClient(token="arg-key", base_url="https://arg.invalid/api/v1")
    assert _auth(arg) == {"X-API-Key": "arg-key"}
    assert arg.token_source == "argument"
    assert arg.base_url == "https://arg.invalid/api/v1"
    assert QbraidClient(api_key="alias-key").token_source == "argument"
    with pytest.raises(qjobs.InputError):
        QbraidClient(token="a", api_key="b")


def test_config_file_variable_and_argument(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = _rc(home / "elsewhere.ini", api_key="elsewhere-key")
    monkeypatch.setenv("QBRAID_CONFIG_FILE", str(elsewhere))
    assert _auth(QbraidClient()) == {"X-API-Key": "elsewhere-key"}
    assert QbraidClient().base_url == DEFAULT_BASE_URL
    explicit = _rc(home / "explicit.ini", api_key="explicit-key")
    client = QbraidClient(config_file=explicit)
    assert _auth(client) == {"X-API-Key": "explicit-key"}
    assert client.config_file == explicit


def test_access_token_wins_at_the_same_rank(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _rc(home / ".qbraid" / "qbraidrc", api_key="file-key", access_token="file-token")
    assert _auth(QbraidClient()) == {"X-Access-Token": "file-token"}
    monkeypatch.setenv("QBRAID_API_KEY", "env-key")
    assert _auth(QbraidClient()) == {"X-API-Key": "env-key"}  # env outranks the file
    assert _auth(QbraidClient(access_token="arg-token")) == {"X-Access-Token": "arg-token"}


def test_access_token_from_the_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _rc(home / ".qbraid" / "qbraidrc", api_key="file-key", access_token="file-token")
    monkeypatch.setenv("QBRAID_ACCESS_TOKEN", "env-token")
    env = QbraidClient()
    assert _auth(env) == {"X-Access-Token": "env-token"}  # env outranks both file values
    assert env.token_source == "env:QBRAID_ACCESS_TOKEN"
    monkeypatch.setenv("QBRAID_API_KEY", "env-key")
    assert _auth(QbraidClient()) == {"X-Access-Token": "env-token"}  # same rank: token wins
    assert _auth(QbraidClient(token="arg-key")) == {"X-API-Key": "arg-key"}  # argument wins
    assert "env-token" not in repr(QbraidClient())


def test_white_label_key_names_its_host(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host = base64.b32encode(b"qbraid.example.org").decode().rstrip("=").lower()
    key = f"acme_{host}.{'ab' * 32}"
    assert host_of_key(key) == "qbraid.example.org"
    assert host_of_key("qbr_" + "ab" * 32) is None
    _rc(home / ".qbraid" / "qbraidrc", url="https://file.invalid/api/v1")
    client = QbraidClient(token=key)
    assert client.base_url == "https://qbraid.example.org/api/v1"
    monkeypatch.setenv("QBRAID_API_URL", "https://env.invalid/api/v1")
    assert QbraidClient(token=key).base_url == "https://env.invalid/api/v1"


def test_missing_credentials_name_every_place(home: Path) -> None:
    with pytest.raises(qjobs.CredentialsError) as exc:
        QbraidClient()
    text = str(exc.value)
    for place in ("QBRAID_API_KEY", "QBRAID_ACCESS_TOKEN", "qbraidrc", "token="):
        assert place in text


def test_legacy_file_explains_the_api_key(home: Path) -> None:
    _rc(
        home / ".qbraid" / "qbraidrc",
        email="me@example.org",
        refresh_token="legacy-secret",
        url="https://api.qbraid.com/api",
    )
    with pytest.raises(qjobs.CredentialsError) as exc:
        QbraidClient()
    assert "refresh-token and email" in str(exc.value)
    assert "legacy-secret" not in str(exc.value)
    client = QbraidClient(token="k")  # the legacy url is ignored, not used
    assert client.base_url == DEFAULT_BASE_URL


async def test_save_config_writes_owner_only_and_keeps_other_keys(home: Path) -> None:
    rc = _rc(home / ".qbraid" / "qbraidrc", email="me@example.org", refresh_token="old")
    async with qjobs.emulators.serve("qbraid") as server:
        client = QbraidClient(token="saved-key", base_url=server.base_url)
        async with client:
            written = await client.save_config()
            assert written == rc
            assert server.stats.requests["GET /users/verify"] == 1
    assert stat.S_IMODE(rc.stat().st_mode) == 0o600
    text = rc.read_text(encoding="utf-8")
    assert "api-key = saved-key" in text
    assert "email = me@example.org" in text
    assert "refresh-token = old" in text
    assert f"url = {server.base_url}/" in text
    again = QbraidClient()
    assert _auth(again) == {"X-API-Key": "saved-key"}
    assert again.base_url == server.base_url


async def test_save_config_refuses_conflicts_unless_overwrite(home: Path) -> None:
    fresh = home / "new-dir" / "qbraidrc"
    async with qjobs.emulators.serve("qbraid") as server:
        async with QbraidClient(token="one", base_url=server.base_url) as client:
            await client.save_config(fresh, verify=False)
            assert stat.S_IMODE(fresh.parent.stat().st_mode) == 0o700
        async with QbraidClient(token="two", base_url=server.base_url) as client:
            with pytest.raises(qjobs.InputError) as exc:
                await client.save_config(fresh, verify=False)
            assert "one" not in str(exc.value)
            assert "two" not in str(exc.value)
            await client.save_config(fresh, verify=False, overwrite=True)
        assert server.stats.total_requests == 0
    assert "api-key = two" in fresh.read_text(encoding="utf-8")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


async def test_save_config_verifies_first(home: Path) -> None:
    async with qjobs.emulators.serve("qbraid", tokens={"good"}) as server:
        client = QbraidClient(token="bad", base_url=server.base_url)
        async with client:
            with pytest.raises(qjobs.AuthenticationError):
                await client.save_config()
    assert not (home / ".qbraid" / "qbraidrc").exists()
