"""The qBraid ``/api/v1`` emulator app: auth scheme, error bodies and the route table.

qBraid alone answers some errors with extra fields (FastAPI 422 ``detail`` lists): its app adds
a middleware answering :class:`~qjobs.emulators.qbraid.wire.DetailedError` with its body.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from qjobs.emulators._common import AuthScheme, EmulatorContext, json_response, make_app
from qjobs.emulators.qbraid.routes import QbraidEmulator
from qjobs.emulators.qbraid.wire import PREFIX, DetailedError, error_response, token_of

__all__ = ["PREFIX", "create_app"]


@web.middleware
async def _detailed_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except DetailedError as exc:
        return json_response(exc.body, status=exc.status)
    return response


def _route_table(e: QbraidEmulator) -> list[web.RouteDef]:
    """Every qBraid route, under :data:`PREFIX` (fixed paths before ``{qrn}`` paths)."""
    p = PREFIX
    return [
        web.get(f"{p}/users/verify", e.verify, allow_head=False),
        web.get(f"{p}/users/context", e.user_context, allow_head=False),
        web.post(f"{p}/access-tokens/refresh", e.refresh_token),
        web.get(f"{p}/billing/credits/balance", e.credits, allow_head=False),
        web.get(f"{p}/providers", e.providers, allow_head=False),
        web.get(f"{p}/devices", e.list_devices, allow_head=False),
        web.get(f"{p}/devices/{{qrn}}", e.get_device, allow_head=False),
        web.get(f"{p}/devices/{{qrn}}/calibrations", e.calibrations, allow_head=False),
        web.post(f"{p}/jobs", e.create_job),
        web.get(f"{p}/jobs", e.list_jobs, allow_head=False),
        web.delete(f"{p}/jobs", e.delete_many),
        web.get(f"{p}/jobs/statuses", e.statuses, allow_head=False),
        web.get(f"{p}/jobs/cost-estimate", e.cost_estimate, allow_head=False),
        web.post(f"{p}/jobs/group", e.create_group),
        web.get(f"{p}/jobs/group", e.list_groups, allow_head=False),
        web.get(f"{p}/jobs/group/{{qrn}}", e.get_group, allow_head=False),
        web.delete(f"{p}/jobs/group/{{qrn}}", e.delete_group),
        web.get(f"{p}/jobs/group/{{qrn}}/jobs", e.group_jobs, allow_head=False),
        web.post(f"{p}/jobs/group/{{qrn}}/close", e.close_group),
        web.post(f"{p}/jobs/group/{{qrn}}/cancel", e.cancel_group),
        web.get(f"{p}/jobs/{{qrn}}", e.get_job, allow_head=False),
        web.delete(f"{p}/jobs/{{qrn}}", e.delete),
        web.post(f"{p}/jobs/{{qrn}}/cancel", e.cancel),
        web.get(f"{p}/jobs/{{qrn}}/result", e.result, allow_head=False),
        web.get(f"{p}/jobs/{{qrn}}/program", e.program, allow_head=False),
        web.get(f"{p}/jobs/{{qrn}}/compiled-program", e.compiled_program, allow_head=False),
    ]


def create_app(ctx: EmulatorContext) -> web.Application:
    """The qBraid ``/api/v1`` emulator app for :func:`qjobs.emulators.serve`."""
    app = make_app(ctx, prefix=PREFIX, auth=AuthScheme(token_of), errors=error_response)
    app.middlewares.append(_detailed_middleware)
    app.router.add_routes(_route_table(QbraidEmulator(ctx)))
    return app
