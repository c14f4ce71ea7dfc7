"""Keeping secrets out of text and off the wire in clear.

:class:`Redactor` removes secrets from text before it reaches a log line, a repr or an exception;
:func:`check_endpoint` refuses a base URL that would carry credentials in its userinfo or send a
token over plain http to a host other than this machine.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from yarl import URL

from qjobs._core.errors import InputError

__all__ = ["MIN_FRAGMENT", "REDACTED", "Redactor", "check_endpoint", "is_loopback", "mask_userinfo"]

REDACTED = "***"
# Whole secrets shorter than this are not treated as secrets on their own (they would mangle text).
_MIN_SECRET_LEN = 4
#: Any run of at least this many characters of a credential is redacted: a server echoing a
#: truncated token ("abcdef12...", or the token with its last characters cut) must not leak its
#: prefix. Six characters of a random token already narrow a guess by 2**30 or more, while a
#: six-character accident in ordinary text is rare (over-redaction is the safe failure).
MIN_FRAGMENT = 6
_USERINFO = re.compile(r"(//)[^/?#@]*@")
#: Every fragment of a credential contains one of its pieces ``core[k*_PIECE:(k+1)*_PIECE]``,
#: so text holding none of them needs no window-by-window scan.
_PIECE = MIN_FRAGMENT // 2
#: Above this many pieces, looking for each costs more than the scan it would spare.
_MAX_PIECES = 64


class Redactor:
    """Replaces every known secret, and every fragment of one, in a string by ``***``.

    For a header value like ``"apiKey abc123"`` both the whole value and the credential after the
    scheme word are registered, so either form is caught. Any substring of a credential at
    least :data:`MIN_FRAGMENT` characters long is redacted too (a prefix, a suffix, the middle),
    so a server echoing a cut token does not leak part of it; the scheme word alone is not.
    """

    __slots__ = ("_fragments", "_pieces", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found: set[str] = set()
        fragments: set[str] = set()
        pieces: set[str] = set()
        for raw in secrets:
            value = raw.strip()
            _, _, credential = value.partition(" ")
            credential = credential.strip()
            for text in (value, credential):
                if len(text) >= _MIN_SECRET_LEN:
                    found.add(text)
            core = credential or value
            fragments.update(
                core[i : i + MIN_FRAGMENT] for i in range(len(core) - MIN_FRAGMENT + 1)
            )
            if len(core) >= MIN_FRAGMENT:
                pieces.update(
                    core[i : i + _PIECE] for i in range(0, len(core) - _PIECE + 1, _PIECE)
                )
        # Longest first, so that a secret containing another is replaced whole.
        self._secrets = tuple(sorted(found, key=len, reverse=True))
        self._fragments = frozenset(fragments)
        self._pieces = tuple(pieces) if len(pieces) <= _MAX_PIECES else None

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret, and every fragment of one, replaced by ``***``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if not self._fragments:
            return text
        pieces = self._pieces
        if pieces is not None and not any(piece in text for piece in pieces):
            return text  # no piece, so no fragment either
        return self._redact_fragments(text)

    def _redact_fragments(self, text: str) -> str:
        covered = bytearray(len(text))
        for i in range(len(text) - MIN_FRAGMENT + 1):
            if text[i : i + MIN_FRAGMENT] in self._fragments:
                covered[i : i + MIN_FRAGMENT] = b"\x01" * MIN_FRAGMENT
        if not any(covered):
            return text
        out: list[str] = []
        for i, ch in enumerate(text):
            if not covered[i]:
                out.append(ch)
            elif i == 0 or not covered[i - 1]:
                out.append(REDACTED)
        return "".join(out)


def mask_userinfo(text: str) -> str:
    """``text`` (a URL, parsable or not) with any ``user:password@`` part replaced by ``***@``."""
    return _USERINFO.sub(r"\1***@", text)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is this machine: ``localhost``, ``127.0.0.0/8`` or ``::1``.

    Names other than ``localhost`` are not resolved: the check is made on the URL alone.
    """
    if not host:
        return False
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_endpoint(url: URL, *, allow_insecure: bool) -> None:
    """Refuse a base URL holding credentials, or plain http to a non-loopback host.

    Userinfo (``https://user:pw@host``) would show in reprs and logs: :class:`~qjobs.InputError`
    (the URL is shown without it). Plain ``http`` to anything but ``localhost``, ``127.0.0.0/8``
    or ``::1`` would send the token in clear: InputError unless ``allow_insecure`` is true. Both
    are decided on the URL, before any connection (no name is resolved).
    """
    if url.user is not None or url.password is not None:
        raise InputError(
            "base_url",
            str(url.with_user(None)),
            "must not hold credentials (user:password@); give the token with token= or the "
            "provider's environment variable",
        )
    if url.scheme == "http" and not allow_insecure and not is_loopback(url.host):
        raise InputError(
            "base_url",
            str(url),
            "is plain http to a host other than this machine, so the token would travel in "
            "clear; use https, or pass allow_insecure=True to accept that",
        )
