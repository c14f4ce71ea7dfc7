"""Credential and endpoint resolution shared by every provider, and the User-Agent string.

A setting is looked for, in order: the explicit argument; then each environment variable name in
turn in the process environment; then (when ``dotenv=True``) each name in turn in a ``.env`` file
in the current directory; then provider files (callables returning a value or ``None``); then a
default. The process environment always wins over ``.env``: a ``.env`` file in whatever directory
a program runs from must not redirect a token exported by the user to another endpoint (with
qiskit-ionq's order, ``.env`` first, it could). Values are never put in messages, only the places
looked at.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from qjobs._core.errors import CredentialsError, InputError

__all__ = ["Setting", "read_dotenv", "resolve_setting", "user_agent"]

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


@attrs.frozen(slots=True, repr=False)
class Setting:
    """A resolved value and where it came from (``"argument"``, ``".env:NAME"``, ...)."""

    value: str | None
    source: str

    def __repr__(self) -> str:
        # The value may be a credential: never shown.
        shown = "None" if self.value is None else "<set>"
        return f"Setting(value={shown}, source={self.source!r})"


def _unquote_double(text: str) -> tuple[str, int]:
    out: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == '"':
            return "".join(out), i
        out.append(ch)
        i += 1
    raise ValueError("unterminated double quote")


def _parse_value(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        value, _ = _unquote_double(raw)
        return value
    if raw.startswith("'"):
        end = raw.find("'", 1)
        if end < 0:
            raise ValueError("unterminated single quote")
        return raw[1:end]
    # Unquoted: a '#' preceded by whitespace starts a comment.
    for i, ch in enumerate(raw):
        if ch == "#" and (i == 0 or raw[i - 1].isspace()):
            raw = raw[:i]
            break
    return raw.strip()


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse ``.env`` text: ``KEY=VALUE`` lines, optional ``export``, quotes, ``#`` comments.

    Lines that are not assignments (or have broken quoting) are skipped, as python-dotenv does.
    Multi-line quoted values are not supported.
    """
    result: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[len("export") :].lstrip()
        key, sep, raw = stripped.partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "a").replace(".", "a").isalnum():
            continue
        try:
            result[key] = _parse_value(raw)
        except ValueError:
            continue
    return result


def read_dotenv(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Read a ``.env`` file (default: ``.env`` in the current directory); ``{}`` if absent."""
    target = Path(path) if path is not None else Path.cwd() / ".env"
    try:
        text = target.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError):
        return {}
    return parse_dotenv(text)


def _describe(source: Callable[[], str | None]) -> str:
    description = getattr(source, "description", None)
    if isinstance(description, str):
        return description
    return getattr(source, "__qualname__", None) or repr(source)


def _present(value: str | None) -> bool:
    return value is not None and value.strip() != ""


def resolve_setting(
    name_for_errors: str,
    explicit: str | None,
    env_names: Sequence[str],
    *,
    dotenv: bool,
    files: Sequence[Callable[[], str | None]] = (),
    default: str | None = None,
    required: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Setting:
    """Resolve one setting; returns the value and where it came from.

    ``name_for_errors`` names the argument (e.g. ``"token"``). An explicit empty string is an
    :class:`qjobs.InputError`; empty variables count as unset. With ``required=True`` and nothing
    found, :class:`qjobs.CredentialsError` names every variable, file and argument looked at.
    ``environ`` defaults to ``os.environ``; each callable in ``files`` may carry a
    ``description`` attribute used in that message.
    """
    if explicit is not None:
        if not isinstance(explicit, str) or not explicit.strip():
            shown = explicit if not isinstance(explicit, str) else ""
            raise InputError(name_for_errors, shown, "must be a non-empty string")
        return Setting(explicit.strip(), "argument")
    env = os.environ if environ is None else environ
    sources: list[tuple[str, Mapping[str, str]]] = [("env", env)]
    if dotenv:
        sources.append((".env", read_dotenv()))
    for place, values in sources:
        for name in env_names:
            value = values.get(name)
            if _present(value):
                assert value is not None
                return Setting(value.strip(), f"{place}:{name}")
    for source in files:
        value = source()
        if _present(value):
            assert value is not None
            return Setting(value.strip(), f"file:{_describe(source)}")
    if default is not None:
        return Setting(default, "default")
    if required:
        places = [f"the {name_for_errors}= argument"]
        if env_names:
            where = "the environment, then a .env file in the current directory"
            if not dotenv:
                where = "the environment"
            places.append(f"{', '.join(env_names)} (in {where})")
        places.extend(_describe(source) for source in files)
        raise CredentialsError(f"no {name_for_errors} found; looked at: {'; '.join(places)}")
    return Setting(None, "unset")


def user_agent(extra: str | None = None) -> str:
    """``qjobs/<version> python/<x.y.z> <os>``, followed by ``extra`` when given."""
    from qjobs._core.version import __version__

    python = ".".join(str(part) for part in sys.version_info[:3])
    text = f"qjobs/{__version__} python/{python} {platform.system() or 'unknown'}"
    return f"{text} {extra}" if extra else text
