"""QPI account operations: password login, notifications and API tokens.

:class:`QPIAccount` is a part of :class:`~qjobs.providers.qpi.QPIClient`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs.providers._base import segment
from qjobs.providers.qpi._requests import QPIRequests
from qjobs.providers.qpi._requests import record_id as _record_id
from qjobs.providers.qpi.models import (
    PROVIDER,
    ApiToken,
    Notification,
    User,
    format_time,
    parse_time,
    rfc3339,
    structure_record,
)
from qjobs.transport import RequestKind

__all__ = ["QPIAccount"]

logger = logging.getLogger("qjobs.providers.qpi")


class QPIAccount(QPIRequests):
    """Login, notifications and API tokens of :class:`~qjobs.providers.qpi.QPIClient`."""

    # ------------------------------------------------------------------------------ login
    async def login(self, identity: str, password: str, *, superuser: bool = False) -> User:
        """Password login (``auth-with-password``); later requests also send the JWT as Bearer.

        ``superuser=True`` logs into PocketBase's ``_superusers`` (needed for QPU
        administration, approving time requests and allocating QPU time). Returns the record.
        Do this before starting concurrent requests: the client's connection is replaced.
        """
        if not isinstance(identity, str) or not identity:
            raise InputError("identity", identity, "must be a non-empty string")
        if not isinstance(password, str) or not password:
            raise InputError("password", "***", "must be a non-empty string")
        collection = "_superusers" if superuser else "users"
        # A server may echo the password in an error body (or the JWT in a later one).
        self._transport.add_secret(password)
        data = await self._json(
            "POST",
            f"api/collections/{collection}/auth-with-password",
            json={"identity": identity, "password": password},
            route=f"POST /api/collections/{collection}/auth-with-password",
            kind=RequestKind.WRITE,
        )
        if not isinstance(data, Mapping) or not isinstance(data.get("token"), str):
            raise MalformedResponseError("login answer without a token", provider=PROVIDER)
        user: User = structure_record(data.get("record"), User, "user record")
        old = self._transport
        fresh = self._make_transport(data["token"])
        fresh.add_secret(password)
        fresh.stats = old.stats
        await old.aclose()
        self._transport = fresh
        self._jwt = data["token"]
        self._superuser = superuser
        self.user = user
        logger.debug("qpi: logged in as %s (superuser=%s)", user.id, superuser)
        return user

    # ---------------------------------------------------------------------- notifications
    async def notifications(self) -> list[Notification]:
        """Notifications for the logged-in user, every page (needs :meth:`login`)."""
        self._need_login("notifications()")
        return [
            structure_record(item, Notification, "notification")
            async for item in self._collection("notifications", sort="-created")
        ]

    async def dismiss_notification(self, notification: Notification | str) -> None:
        """Dismiss a notification (``POST /api/notifications/{id}/dismiss``)."""
        nid = notification.id if isinstance(notification, Notification) else notification
        nid = _record_id(nid, "notification")
        await self._json(
            "POST",
            f"api/notifications/{segment(nid)}/dismiss",
            route="POST /api/notifications/{id}/dismiss",
            kind=RequestKind.READ,
        )

    # ---------------------------------------------------------------------------- tokens
    async def create_api_token(
        self, name: str | None = None, *, expires_at: datetime | str | None = None
    ) -> ApiToken:
        """Create an API token (``POST /api/tokens``); its value is in ``.token``, shown once."""
        body: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str):
                raise InputError("name", name, "must be a string")
            body["name"] = name
        if expires_at is not None:
            body["expires_at"] = format_time(rfc3339(expires_at, "expires_at"))
        data = await self._json(
            "POST", "api/tokens", json=body, route="POST /api/tokens", kind=RequestKind.WRITE
        )
        return self._token(data)

    @staticmethod
    def _token(data: Any) -> ApiToken:
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            raise MalformedResponseError("token record without an id", provider=PROVIDER)
        token = data.get("token")
        return ApiToken(
            id=data["id"],
            name=None if data.get("name") is None else str(data["name"]),
            expires_at=parse_time(data.get("expires_at")),
            created_at=parse_time(data.get("created")),
            token=token if isinstance(token, str) else None,
        )

    async def api_tokens(self) -> list[ApiToken]:
        """The caller's API tokens (``GET /api/tokens``; values are never listed)."""
        data = await self._json("GET", "api/tokens", route="GET /api/tokens")
        if not isinstance(data, list):
            raise MalformedResponseError("token list is not a list", provider=PROVIDER)
        return [self._token(item) for item in data]

    async def delete_api_token(self, token: ApiToken | str) -> None:
        """Revoke an API token (``DELETE /api/tokens/{id}``)."""
        tid = _record_id(token.id if isinstance(token, ApiToken) else token, "token")
        await self._transport.request(
            "DELETE",
            f"api/tokens/{segment(tid)}",
            kind=RequestKind.READ,
            route="DELETE /api/tokens/{id}",
        )
