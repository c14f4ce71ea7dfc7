"""The Qibo cloud emulator app: auth scheme, DRF error bodies and the route table.

Every route is under ``/api/`` at the server root; ``GET /api/qibo_version/`` needs no token.
"""

from __future__ import annotations

from aiohttp import web

from qjobs.emulators._common import AuthScheme, EmulatorContext, make_app
from qjobs.emulators.qibo.routes import QiboEmulator
from qjobs.emulators.qibo.wire import PREFIX, error_response, token_of

__all__ = ["EMULATOR_KEY", "PREFIX", "create_app"]

#: The :class:`QiboEmulator` behind an app (tests change versions or archives through it).
EMULATOR_KEY = web.AppKey("qjobs_qibo_emulator", QiboEmulator)


def _is_public(method: str, template: str) -> bool:
    return method == "GET" and template == "/api/qibo_version/"


def _route_table(e: QiboEmulator) -> list[web.RouteDef]:
    """Every route (fixed paths before ``{pid}`` paths)."""
    p = PREFIX
    return [
        web.get(f"{p}/api/qibo_version/", e.version, allow_head=False),
        web.post(f"{p}/api/jobs/", e.create_job),
        web.get(f"{p}/api/jobs/", e.list_jobs, allow_head=False),
        web.delete(f"{p}/api/jobs/bulk_delete/", e.bulk_delete),
        web.get(f"{p}/api/jobs/{{pid}}/", e.get_job, allow_head=False),
        web.delete(f"{p}/api/jobs/{{pid}}/", e.delete_job),
        web.get(f"{p}/api/jobs/{{pid}}/download/", e.download, allow_head=False),
        web.get(f"{p}/api/disk_quota/", e.disk_quota, allow_head=False),
        web.get(f"{p}/api/projectquotas/", e.project_quotas, allow_head=False),
    ]


def create_app(ctx: EmulatorContext) -> web.Application:
    """The Qibo cloud emulator app for :func:`qjobs.emulators.serve`."""
    auth = AuthScheme(token_of, _is_public)
    app = make_app(ctx, prefix=PREFIX, auth=auth, errors=error_response)
    emulator = QiboEmulator(ctx)
    app[EMULATOR_KEY] = emulator
    app.router.add_routes(_route_table(emulator))
    return app
