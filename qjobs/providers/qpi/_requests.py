"""QPI request plumbing shared by the client's parts: JSON requests, login checks, paging.

:class:`QPIRequests` is the base of :class:`~qjobs.providers.qpi.QPIClient` and of its
account, time and administration parts: it builds the transport (API token and login JWT),
sends JSON requests, checks that a login (or a superuser login) happened, and reads a
PocketBase collection page after page. ``record_id`` and ``seconds`` check ids and durations
before any request.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from qjobs._core.errors import CredentialsError, InputError, MalformedResponseError
from qjobs._core.models import Backend
from qjobs.providers._base import (
    ClientOptions,
    Credentials,
    ProviderClient,
    check_id,
    open_transport,
)
from qjobs.providers.qpi.models import PROVIDER, error_parser
from qjobs.transport import RequestKind, Transport

if TYPE_CHECKING:
    from qjobs.providers.qpi.models import User

__all__ = ["QPIRequests", "record_id", "seconds"]


def record_id(value: Any, field: str) -> str:
    """``value`` as a record id safe in a URL path; InputError naming ``field``."""
    return check_id(value, field)


def seconds(value: Any, field: str, *, allow_zero: bool) -> float:
    """``value`` as a finite number of seconds (``> 0``, or ``>= 0`` with ``allow_zero``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise InputError(
            field, value, "must be a finite number " + (">= 0" if allow_zero else "> 0")
        )
    return float(value)


class QPIRequests(ProviderClient):
    """The request plumbing of :class:`~qjobs.providers.qpi.QPIClient` (not used alone)."""

    _api_token: str | None
    _options: ClientOptions
    _base: str
    _jwt: str | None
    _superuser: bool
    _catalogue: dict[str, Backend] | None
    if TYPE_CHECKING:
        user: User | None

    def _credentials(self, jwt: str | None) -> Credentials:
        """The base URL and auth headers: the API token, and after a login its JWT."""
        auth: dict[str, str] = {}
        if self._api_token:
            auth["X-API-Token"] = self._api_token
        if jwt:
            auth["Authorization"] = f"Bearer {jwt}"
        return Credentials(self._base, auth)

    def _make_transport(self, jwt: str | None) -> Transport:
        """A new transport with the same options, authenticated with ``jwt`` when given."""
        return open_transport(type(self), self._credentials(jwt), self._options, error_parser)[0]

    # --------------------------------------------------------------------------- requests
    async def _json(
        self,
        method: str,
        path: str,
        *,
        route: str,
        json: Any = None,
        params: Any = None,
        kind: RequestKind | None = None,
    ) -> Any:
        options: dict[str, Any] = {"params": params, "route": route, "kind": kind}
        if json is not None:
            options["json"] = json
        resp = await self._transport.request(method, path, **options)
        if not resp.content:
            return None
        return resp.json()

    def _need_login(self, what: str) -> None:
        if self._jwt is None:
            raise CredentialsError(
                f"{what} uses QPI's collection routes, which accept only a login token: "
                "call login(identity, password) first"
            )

    def _need_superuser(self, what: str) -> None:
        self._need_login(what)
        if not self._superuser:
            raise CredentialsError(f"{what} needs a superuser: login(..., superuser=True)")

    async def _collection(
        self, collection: str, *, filter: str | None = None, sort: str | None = None
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every record of a PocketBase collection, page after page."""
        page = 1
        size = min(max(1, self.capabilities.page_size), 1000)
        route = f"GET /api/collections/{collection}/records"
        while True:
            params: dict[str, Any] = {"page": page, "perPage": size}
            if filter:
                params["filter"] = filter
            if sort:
                params["sort"] = sort
            data = await self._json(
                "GET", f"api/collections/{collection}/records", params=params, route=route
            )
            if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
                raise MalformedResponseError(
                    f"{collection} listing is not a PocketBase page", provider=PROVIDER
                )
            for item in data["items"]:
                yield item
            total = data.get("totalPages")
            if not data["items"] or not isinstance(total, int) or page >= total:
                return
            page += 1
