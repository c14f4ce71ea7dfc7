"""Caller resolution, errors and small helpers shared by the QPI emulator's route modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from qjobs.emulators._common import HTTPProblem
from qjobs.emulators.qpi.state import QPIState, UserRec

__all__ = ["Auth", "parse_time", "problem", "query_int", "sort_records"]


def problem(status: int, message: str, data: dict[str, Any] | None = None) -> HTTPProblem:
    """An error answer; ``data`` holds PocketBase field errors ``{field: {code, message}}``."""
    return HTTPProblem(status, message, orjson.dumps(data).decode() if data else None)


def _jwt_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "").strip()
    if header.lower().startswith("bearer "):
        header = header[7:].strip()
    return header or None


class Auth:
    """Resolves the caller the way qpi-ui does."""

    def __init__(self, state: QPIState) -> None:
        self.state = state

    def jwt_user(self, request: web.Request) -> UserRec | None:
        """The user or superuser of a PocketBase JWT in ``Authorization`` (Bearer optional)."""
        token = _jwt_of(request)
        found = self.state.jwts.get(token) if token else None
        if found is None:
            return None
        collection, user_id = found
        pool = self.state.superusers if collection == "_superusers" else self.state.users
        return pool.get(user_id)

    def api_user(self, request: web.Request) -> UserRec:
        """The caller of a custom route: JWT, then ``X-API-Token``, then Bearer API token."""
        user = self.jwt_user(request)
        if user is not None:
            return user
        state = self.state
        presented = request.headers.get("X-API-Token", "").strip() or _jwt_of(request)
        if presented:
            found = state.token_user(presented)
            if found is not None:
                return found
            if state.ctx.options.tokens is None and not presented.startswith("eyJ"):
                return state.default_user  # open mode: any non-empty token
        raise problem(401, "Authentication required.")

    def superuser(self, request: web.Request) -> UserRec:
        """The caller, who must hold a superuser JWT."""
        user = self.jwt_user(request)
        if user is None:
            try:
                self.api_user(request)
            except HTTPProblem:
                raise problem(401, "Authentication required.") from None
        if user is None or not user.superuser:
            raise problem(403, "Admin access required.")
        return user


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
