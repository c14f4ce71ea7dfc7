"""Shared ground of the IonQ client's parts: constants, name checks and the HTTP helpers.

:class:`IonQBase` is the :class:`~qjobs.ProviderClient` the IonQ mixins
(:mod:`~qjobs.providers.ionq._catalogue`, :mod:`~qjobs.providers.ionq.pages`,
:mod:`~qjobs.providers.ionq.results`, :mod:`~qjobs.providers.ionq._artifacts`,
:mod:`~qjobs.providers.ionq._sessions`) build on; :class:`~qjobs.providers.ionq.IonQClient`
combines them.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

import anyio
from yarl import URL

from qjobs._core.models import Backend, Result
from qjobs.providers._base import ProviderClient, check_id

__all__ = [
    "DEFAULT_MAX_SHOTS",
    "META_KEY",
    "META_MAPS",
    "META_SHOTS",
    "IonQBase",
    "check_name",
    "logger",
]

#: One logger for the whole client, named after its public module.
logger = logging.getLogger("qjobs.providers.ionq")

#: Shot range when the backend catalogue states none.
DEFAULT_MAX_SHOTS: Final = 100_000
#: Metadata keys qjobs writes on every job (values are strings, as IonQ requires).
META_MAPS: Final = "qjobs_meas"
META_KEY: Final = "qjobs_key"
META_SHOTS: Final = "shots"
_VERSION_SEGMENT = re.compile(r"^v\d+(\.\d+)*$")


def check_name(value: Any, field: str) -> str:
    """``value`` as a path segment (backend, session, artifact), else :class:`~qjobs.InputError`."""
    return check_id(value, field, what="a name")


class IonQBase(ProviderClient):
    """The state and HTTP helpers every part of the IonQ client uses."""

    _catalogue: dict[str, Backend] | None
    _catalogue_lock: anyio.Lock
    _results_cache: dict[tuple[Any, ...], list[Result]]

    def _resolve(self, url: str) -> str:
        """Resolve a URL from a response (IonQ sends ``/v0.4/jobs/...``) against the base URL.

        An absolute URL is used as is; a path starting with the base URL's path is taken from
        the origin; a path starting with a version segment (``/v0.4/...``) replaces the base
        URL's version (so a base behind a prefix, ``http://h/ionq/v0.4``, keeps its prefix);
        any other path is origin-relative, and a relative one is base-relative.
        """
        if url.startswith(("http://", "https://")):
            return url
        if not url.startswith("/"):
            return self.base_url + "/" + url
        base = URL(self.base_url)
        origin = str(base.origin()).rstrip("/")
        path = base.path.rstrip("/")
        if path and (url == path or url.startswith(path + "/")):
            return origin + url
        first = url.split("/", 2)[1]
        prefix, _, last = path.rpartition("/")
        if _VERSION_SEGMENT.match(first) and _VERSION_SEGMENT.match(last):
            return origin + prefix + url
        return origin + url

    async def _get_json(
        self,
        path: str,
        *,
        params: Any = None,
        route: str,
    ) -> Any:
        resp = await self._transport.request("GET", path, params=params, route=route)
        return resp.json()
