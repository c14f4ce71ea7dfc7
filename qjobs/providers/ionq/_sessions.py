"""IonQ sessions: create, read, end, and the ``session()`` context manager (part of
``IonQClient``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import anyio

from qjobs._core.errors import InputError, MalformedResponseError
from qjobs._core.validation import is_int
from qjobs.providers._base import segment
from qjobs.providers.ionq._base import IonQBase
from qjobs.providers.ionq._base import check_name as _name
from qjobs.providers.ionq.models import Session, structure_model
from qjobs.transport import RequestKind

__all__ = ["SessionsMixin"]

_QUEUED_RAW: Final = frozenset({"submitted", "ready", "queued"})


class SessionsMixin(IonQBase):
    """Sessions on QPU backends (``POST /sessions`` and friends)."""

    async def create_session(
        self,
        backend: str,
        *,
        job_count_limit: int | None = None,
        duration_limit_min: int | None = None,
        cost_limit: float | None = None,
    ) -> Session:
        """Open a session on a QPU backend (``POST /sessions``); pass its ``id`` to submit."""
        backend = _name(backend, "backend")
        settings: dict[str, Any] = {}
        for field, value in (
            ("job_count_limit", job_count_limit),
            ("duration_limit_min", duration_limit_min),
        ):
            if value is not None:
                if not is_int(value, low=1):
                    raise InputError(field, value, "must be an int >= 1")
                settings[field] = value
        if cost_limit is not None:
            if (
                isinstance(cost_limit, bool)
                or not isinstance(cost_limit, int | float)
                or not cost_limit > 0
            ):
                raise InputError("cost_limit", cost_limit, "must be a number > 0 (USD)")
            settings["cost_limit"] = {"unit": "usd", "value": cost_limit}
        body: dict[str, Any] = {"backend": backend}
        if settings:
            body["settings"] = settings
        resp = await self._transport.request(
            "POST", "sessions", json=body, kind=RequestKind.WRITE, route="POST /sessions"
        )
        data = resp.json()
        if isinstance(data, Mapping):
            data = {"backend": backend, "settings": settings, **data}
        return structure_model(data, Session, "session")

    async def get_session(self, session_id: str) -> Session:
        """A session's current state (``GET /sessions/{id}``)."""
        sid = _name(session_id, "session_id")
        data = await self._get_json(f"sessions/{segment(sid)}", route="GET /sessions/{id}")
        return structure_model(data, Session, "session")

    async def end_session(self, session_id: Session | str) -> Session | None:
        """End a session (``POST /sessions/{id}/end``); queued jobs of it still run."""
        sid = session_id.id if isinstance(session_id, Session) else _name(session_id, "session_id")
        resp = await self._transport.request(
            "POST",
            f"sessions/{segment(sid)}/end",
            kind=RequestKind.READ,
            route="POST /sessions/{id}/end",
        )
        try:
            data = resp.json() if resp.content else None
        except MalformedResponseError:
            return None
        if isinstance(data, Mapping) and isinstance(data.get("id"), str):
            return structure_model(data, Session, "session")
        return None

    @asynccontextmanager
    async def session(
        self,
        backend: str,
        *,
        job_count_limit: int | None = None,
        duration_limit_min: int | None = None,
        cost_limit: float | None = None,
    ) -> AsyncIterator[Session]:
        """``async with ionq.session("qpu.forte-1") as s: await ionq.submit(..., session_id=s.id)``.

        The session is ended on exit. If the block raised, its queued jobs are cancelled first
        (as qiskit-ionq does), then the session is ended and the error propagates.
        """
        opened = await self.create_session(
            backend,
            job_count_limit=job_count_limit,
            duration_limit_min=duration_limit_min,
            cost_limit=cost_limit,
        )
        try:
            yield opened
        except BaseException:
            with anyio.CancelScope(shield=True):
                try:
                    queued = [
                        job
                        async for job in self.iter_jobs(session_id=opened.id)
                        if job.session_id == opened.id
                        and job.provider_status.lower() in _QUEUED_RAW
                    ]
                    if queued:
                        await self.cancel_many(queued)
                finally:
                    await self.end_session(opened.id)
            raise
        else:
            await self.end_session(opened.id)
