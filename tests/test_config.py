"""Credential/endpoint resolution: argument, environment, .env, files, defaults."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

import qjobs
from qjobs._core.config import parse_dotenv, read_dotenv, resolve_setting, user_agent

NAMES = ("QISKIT_IONQ_API_TOKEN", "IONQ_API_KEY", "IONQ_API_TOKEN")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_parse_dotenv_forms() -> None:
    text = """
# a comment
PLAIN=value
export EXPORTED=exp
SPACED = spaced value   # trailing comment
HASH=abc#def
DQ="double # not a comment \\"q\\" \\n"
SQ='single \\n literal'
EMPTY=
not an assignment
BROKEN="unterminated
"""
    values = parse_dotenv(text)
    assert values == {
        "PLAIN": "value",
        "EXPORTED": "exp",
        "SPACED": "spaced value",
        "HASH": "abc#def",
        "DQ": 'double # not a comment "q" \n',
        "SQ": "single \\n literal",
        "EMPTY": "",
    }


def test_read_dotenv_missing_file(clean_env: Path) -> None:
    assert read_dotenv() == {}
    (clean_env / ".env").write_text("A=1\n")
    assert read_dotenv() == {"A": "1"}
    assert read_dotenv(clean_env / "nope") == {}


def test_precedence(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing anywhere: the default.
    got = resolve_setting("token", None, NAMES, dotenv=True, default="dflt")
    assert (got.value, got.source) == ("dflt", "default")
    # .env alone: used, first name found in it.
    (clean_env / ".env").write_text("IONQ_API_KEY='from-dotenv-key'\nIONQ_API_TOKEN=later\n")
    got = resolve_setting("token", None, NAMES, dotenv=True)
    assert (got.value, got.source) == ("from-dotenv-key", ".env:IONQ_API_KEY")
    # ... unless .env reading is off.
    assert resolve_setting("token", None, NAMES, dotenv=False).source == "unset"
    # The environment beats .env for the same name ...
    monkeypatch.setenv("IONQ_API_KEY", "from-env-key")
    got = resolve_setting("token", None, NAMES, dotenv=True)
    assert (got.value, got.source) == ("from-env-key", "env:IONQ_API_KEY")
    # ... and any name in the environment beats an earlier-ranked name in .env.
    (clean_env / ".env").write_text("QISKIT_IONQ_API_TOKEN=dotenv-first-name\n")
    got = resolve_setting("token", None, NAMES, dotenv=True)
    assert (got.value, got.source) == ("from-env-key", "env:IONQ_API_KEY")
    # Within the environment, names keep their order.
    monkeypatch.setenv("QISKIT_IONQ_API_TOKEN", "first-name")
    got = resolve_setting("token", None, NAMES, dotenv=True)
    assert (got.value, got.source) == ("first-name", "env:QISKIT_IONQ_API_TOKEN")
    # The explicit argument beats everything.
    got = resolve_setting("token", "explicit-tok", NAMES, dotenv=True)
    assert (got.value, got.source) == ("explicit-tok", "argument")
    assert "explicit-tok" not in repr(got)


def test_empty_values_are_unset(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QISKIT_IONQ_API_TOKEN", "  ")
    (clean_env / ".env").write_text("IONQ_API_KEY=\n")
    monkeypatch.setenv("IONQ_API_TOKEN", "real")
    got = resolve_setting("token", None, NAMES, dotenv=True)
    assert got.source == "env:IONQ_API_TOKEN"
    with pytest.raises(qjobs.InputError) as info:
        resolve_setting("token", "", NAMES, dotenv=True)
    assert info.value.field == "token"


def test_files_after_environment(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def from_file() -> str | None:
        return "file-token"

    from_file.description = "~/.provider/config.json"  # type: ignore[attr-defined]
    got = resolve_setting("token", None, NAMES, dotenv=True, files=[lambda: None, from_file])
    assert (got.value, got.source) == ("file-token", "file:~/.provider/config.json")
    monkeypatch.setenv("IONQ_API_TOKEN", "env-wins")
    got = resolve_setting("token", None, NAMES, dotenv=True, files=[from_file])
    assert got.value == "env-wins"


def test_missing_required_names_every_place(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def config_file() -> str | None:
        return None

    config_file.description = "~/.qbraid/qbraidrc"  # type: ignore[attr-defined]
    (clean_env / ".env").write_text("UNRELATED=secret-value-xyz\n")
    monkeypatch.setenv("OTHER", "secret-value-abc")
    with pytest.raises(qjobs.CredentialsError) as info:
        resolve_setting("token", None, NAMES, dotenv=True, files=[config_file], required=True)
    message = str(info.value)
    for place in (*NAMES, "token=", ".env", "~/.qbraid/qbraidrc"):
        assert place in message
    assert "secret-value" not in message
    # Not required: an unset setting.
    got = resolve_setting("url", None, NAMES, dotenv=True)
    assert (got.value, got.source) == (None, "unset")


def test_explicit_environ_mapping(clean_env: Path) -> None:
    got = resolve_setting("token", None, NAMES, dotenv=False, environ={"IONQ_API_TOKEN": "m"})
    assert (got.value, got.source) == ("m", "env:IONQ_API_TOKEN")


def test_user_agent() -> None:
    python = ".".join(map(str, sys.version_info[:3]))
    base = f"qjobs/{qjobs.__version__} python/{python} {platform.system()}"
    assert user_agent() == base
    assert user_agent("ionq") == base + " ionq"
