"""Removing secrets from text before it reaches a log line, a repr or an exception."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["REDACTED", "Redactor"]

REDACTED = "***"
# Fragments shorter than this are not treated as secrets on their own (they would mangle text).
_MIN_SECRET_LEN = 4


class Redactor:
    """Replaces every known secret value in a string by ``***``.

    For a header value like ``"apiKey abc123"`` both the whole value and the credential after the
    scheme word are registered, so either form is caught.
    """

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found: set[str] = set()
        for raw in secrets:
            value = raw.strip()
            if len(value) >= _MIN_SECRET_LEN:
                found.add(value)
            _, _, credential = value.partition(" ")
            credential = credential.strip()
            if len(credential) >= _MIN_SECRET_LEN:
                found.add(credential)
        # Longest first, so that a secret containing another is replaced whole.
        self._secrets = tuple(sorted(found, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret replaced by ``***``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text
