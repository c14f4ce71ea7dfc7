"""The IonQ v0.4 emulator app: auth scheme, error shape, route table and the request log.

Every route lives under ``/v0.4``; ``GET /backends`` and ``GET /backends/{backend}`` need no
credentials. The reserved ``/_qjobs/ionq/requests`` route lists the recent requests (headers
redacted); ``DELETE`` clears it.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from qjobs.emulators._common import AuthScheme, EmulatorContext, make_app
from qjobs.emulators.ionq.routes import IonQEmulator
from qjobs.emulators.ionq.wire import PREFIX, error_response, token_of

__all__ = ["EMULATOR_KEY", "PREFIX", "REQUESTS_ROUTE", "create_app"]

#: Reserved route listing the recent requests (headers redacted); ``DELETE`` clears the list.
REQUESTS_ROUTE: Final = "/_qjobs/ionq/requests"

#: The app key under which :func:`create_app` stores its :class:`IonQEmulator`
#: (``server.app[EMULATOR_KEY].requests.last.headers`` in tests).
EMULATOR_KEY: Final = web.AppKey("qjobs.emulators.ionq", IonQEmulator)


def _is_public(method: str, template: str) -> bool:
    return method in ("GET", "HEAD") and template in ("/backends", "/backends/{backend}")


def _route_table(e: IonQEmulator) -> list[web.RouteDef]:
    """Every IonQ route, under :data:`PREFIX` (fixed paths before ``{id}`` paths)."""
    p = PREFIX
    return [
        web.post(f"{p}/jobs", e.create_job),
        web.get(f"{p}/jobs", e.list_jobs, allow_head=False),
        web.get(f"{p}/jobs/estimate", e.estimate, allow_head=False),
        web.put(f"{p}/jobs/status/cancel", e.cancel_many),
        web.get(f"{p}/jobs/{{id}}", e.get_job, allow_head=False),
        web.delete(f"{p}/jobs/{{id}}", e.delete),
        web.put(f"{p}/jobs/{{id}}/status/cancel", e.cancel),
        web.get(f"{p}/jobs/{{id}}/results/probabilities", e.probabilities, allow_head=False),
        web.get(
            f"{p}/jobs/{{id}}/results/probabilities/aggregated",
            e.aggregated,
            allow_head=False,
        ),
        web.get(f"{p}/jobs/{{id}}/results/shots", e.shots, allow_head=False),
        web.get(f"{p}/jobs/{{id}}/results/histogram", e.histogram, allow_head=False),
        web.get(f"{p}/jobs/{{id}}/artifacts/{{artifact_id}}", e.artifact, allow_head=False),
        web.get(f"{p}/backends", e.list_backends, allow_head=False),
        web.get(f"{p}/backends/{{backend}}", e.get_backend, allow_head=False),
        web.get(
            f"{p}/backends/{{backend}}/characterizations",
            e.characterizations,
            allow_head=False,
        ),
        web.post(f"{p}/sessions", e.create_session),
        web.get(f"{p}/sessions/{{sid}}", e.get_session, allow_head=False),
        web.post(f"{p}/sessions/{{sid}}/end", e.end_session),
    ]


def create_app(ctx: EmulatorContext) -> web.Application:
    """The IonQ v0.4 emulator app for :func:`qjobs.emulators.serve`."""
    auth = AuthScheme(token_of, _is_public)
    app = make_app(ctx, prefix=PREFIX, auth=auth, errors=error_response)
    emulator = IonQEmulator(ctx)
    app[EMULATOR_KEY] = emulator
    app.router.add_routes(_route_table(emulator))
    app.router.add_get(REQUESTS_ROUTE, emulator.recorded_requests, allow_head=False)
    app.router.add_delete(REQUESTS_ROUTE, emulator.clear_requests)
    app.on_response_prepare.append(emulator.on_response_prepare)
    return app
