"""QPI wire pieces of the emulator: PocketBase error bodies, JWTs, query parameters, records.

Errors are PocketBase's ``{"data": {}, "message": "...", "status": n}``; collection records carry
``collectionId``/``collectionName``; lists take PocketBase ``sort`` and a subset of its
``filter`` syntax.
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime
from typing import Any, Final

import orjson
from aiohttp import web

from qjobs.emulators._common import HTTPProblem, json_response

__all__ = [
    "FILTER_TERM",
    "collection_id",
    "error_response",
    "filter_records",
    "jwt_of",
    "parse_time",
    "problem",
    "query_int",
    "record_json",
    "sort_records",
    "token_of",
]

#: One term of a PocketBase filter: ``field = 'value'`` or ``field != value``.
FILTER_TERM: Final = re.compile(r"^\s*(\w+)\s*(!?=)\s*(?:'([^']*)'|\"([^\"]*)\"|(\w+))\s*$")


def error_response(status: int, message: str, error_type: str | None = None) -> web.Response:
    """PocketBase's error shape; ``error_type`` may carry the JSON of ``data`` field errors."""
    if status == 404 and message in ("Not Found", ""):
        message = "The requested resource wasn't found."
    elif status == 405:
        message = "Method not allowed."
    data: Any = {}
    if error_type and error_type.startswith("{"):
        data = orjson.loads(error_type)
    return json_response({"data": data, "message": message, "status": status}, status=status)


def problem(status: int, message: str, data: dict[str, Any] | None = None) -> HTTPProblem:
    """An error answer; ``data`` holds PocketBase field errors ``{field: {code, message}}``."""
    return HTTPProblem(status, message, orjson.dumps(data).decode() if data else None)


def jwt_of(request: web.Request) -> str | None:
    """The token in ``Authorization`` (``Bearer`` optional); None when empty."""
    header = request.headers.get("Authorization", "").strip()
    if header.lower().startswith("bearer "):
        header = header[7:].strip()
    return header or None


def token_of(request: web.Request) -> str | None:
    """The credential a request presents: ``X-API-Token``, else ``Authorization``; None if none."""
    return request.headers.get("X-API-Token", "").strip() or jwt_of(request)


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter clamped to ``[low, high]``; 400 when not an integer."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise problem(400, f"Invalid {name} parameter.") from None
    return min(max(value, low), high)


def sort_records(
    items: list[dict[str, Any]], sort: str, default: str = "-created"
) -> list[dict[str, Any]]:
    """Sort records by PocketBase sort fields (``-created,+name``); stable, last key first."""
    fields = [f.strip() for f in (sort or default).split(",") if f.strip()]
    for spec in reversed(fields):
        desc = spec.startswith("-")
        name = spec.lstrip("+-")
        items = sorted(items, key=lambda r: (r.get(name) is None, str(r.get(name))), reverse=desc)
    return items


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 / PocketBase time with a zone; None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def collection_id(name: str) -> str:
    """The PocketBase id of collection ``name`` (stable: a CRC of the name)."""
    return f"pbc_{zlib.crc32(name.encode()):010d}"


def record_json(collection: str, data: dict[str, Any]) -> dict[str, Any]:
    """A record of ``collection`` as PocketBase answers it (fields starting ``_`` left out)."""
    public = {k: v for k, v in data.items() if not k.startswith("_")}
    return {"collectionId": collection_id(collection), "collectionName": collection, **public}


def filter_records(items: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """A subset of PocketBase filters: ``a = 'x' && b != 'y'`` (strings, numbers, booleans)."""
    if not text.strip():
        return items
    for term in text.split("&&"):
        match = FILTER_TERM.match(term)
        if match is None:
            raise problem(400, "Invalid filter parameters.")
        field, op, s1, s2, bare = match.groups()
        wanted = s1 if s1 is not None else s2 if s2 is not None else bare

        def same(r: dict[str, Any], f: str = field, w: str = wanted) -> bool:
            value = r.get(f)
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            return shown == w

        items = [r for r in items if same(r) == (op == "=")]
    return items
