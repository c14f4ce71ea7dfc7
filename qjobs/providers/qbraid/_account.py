"""The qBraid client's account calls: user verification and context, access-token refresh,
credit balance, providers and ``save_config``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import anyio

from qjobs._core.errors import CredentialsError, InputError, MalformedResponseError
from qjobs.providers.qbraid._base import QbraidBase
from qjobs.providers.qbraid.config import write_config
from qjobs.providers.qbraid.models import (
    PROVIDER,
    AccessToken,
    CreditBalance,
    ProviderInfo,
    User,
    UserContext,
    access_token_from_wire,
    credits_from_wire,
    provider_from_wire,
    user_context_from_wire,
    user_from_wire,
)
from qjobs.transport import RequestKind


class QbraidAccount(QbraidBase):
    """User, token, credit and provider calls of :class:`~qjobs.providers.qbraid.QbraidClient`."""

    async def verify_user(self) -> User:
        """Check the credentials (``GET /users/verify``) and return the account.

        An answer whose ``success`` is false or whose user is not ``valid`` raises
        :class:`~qjobs.CredentialsError`.
        """
        resp = await self._transport.request("GET", "users/verify", route="GET /users/verify")
        payload = resp.json()
        if not isinstance(payload, Mapping) or payload.get("success") is not True:
            raise CredentialsError("qBraid did not verify the credentials (success is not true)")
        user = user_from_wire(payload.get("data"))
        if not user.valid:
            raise CredentialsError("qBraid reports the credentials as not valid")
        return user

    async def save_config(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        verify: bool = True,
        overwrite: bool = False,
    ) -> Path:
        """Write this client's API key and URL to qbraidrc (``[default]``: ``api-key``, ``url``).

        With ``verify`` the credentials are checked first (``GET /users/verify``). Other keys
        of the file (``email``, ``refresh-token``, ...) are kept; the file is owner-only (0600).
        A different value already stored raises :class:`~qjobs.InputError` unless ``overwrite``.
        Writes to ``path``, else the file the client read its configuration from.
        """
        if self._settings.auth_header != "X-API-Key":
            raise InputError("token", "<access token>", "save_config() stores API keys only")
        if verify:
            await self.verify_user()
        updates = {"api-key": self._settings.secret, "url": self.base_url + "/"}
        default = self._settings.config_file

        def write() -> Path:
            target = Path(path).expanduser() if path is not None else default
            return write_config(target, updates, overwrite=overwrite)

        return await anyio.to_thread.run_sync(write)

    async def user_context(self) -> UserContext:
        """The signed-in user's context (``GET /users/context``), e.g. ``is_admin``."""
        data, _ = await self._call("GET", "users/context", route="GET /users/context")
        return user_context_from_wire(data)

    async def refresh_access_token(self) -> AccessToken:
        """Extend the access token's life (``POST /access-tokens/refresh``; qBraid gives 24 h).

        Only a client configured with an access token (``access_token=``,
        ``QBRAID_ACCESS_TOKEN`` or qbraidrc ``access-token``) has one to refresh; with an API
        key this raises :class:`~qjobs.InputError` before any request.
        """
        if self._settings.auth_header != "X-Access-Token":
            raise InputError(
                "access_token", None, "this client authenticates with an API key, not a token"
            )
        data, _ = await self._call(
            "POST",
            "access-tokens/refresh",
            kind=RequestKind.READ,
            route="POST /access-tokens/refresh",
        )
        return access_token_from_wire(data)

    async def credits(self, organization_id: str | None = None) -> CreditBalance:
        """The organization's credit balance (``GET /billing/credits/balance``).

        ``organization_id`` defaults to the account's own organization, learnt once from
        ``GET /users/verify``. Credits: 1 credit = $0.01.
        """
        if organization_id is None:
            if self._organization_id is None:
                user = await self.verify_user()
                if not user.organization_id:
                    raise MalformedResponseError(
                        "the verified user has no organizationId", provider=PROVIDER
                    )
                self._organization_id = user.organization_id
            organization_id = self._organization_id
        elif not isinstance(organization_id, str) or not organization_id:
            raise InputError("organization_id", organization_id, "must be a non-empty string")
        data, _ = await self._call(
            "GET",
            "billing/credits/balance",
            params={"organizationId": organization_id},
            route="GET /billing/credits/balance",
        )
        return credits_from_wire(data)

    async def providers(self) -> list[ProviderInfo]:
        """The providers qBraid offers devices from (``GET /providers``)."""
        data, _ = await self._call("GET", "providers", route="GET /providers")
        items = data.get("providers") if isinstance(data, Mapping) else data
        if not isinstance(items, list):
            raise MalformedResponseError("providers is not a list", provider=PROVIDER)
        return [provider_from_wire(item) for item in items]
