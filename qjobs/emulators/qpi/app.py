"""The QPI emulator app: PocketBase error bodies and the route tables (custom and collection).

Routes live at the server root (no prefix). Authentication differs per route family (API tokens
vs PocketBase JWTs): the handlers resolve the caller themselves, so the shared auth middleware
lets every request through.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from qjobs.emulators._common import AuthScheme, EmulatorContext, make_app
from qjobs.emulators.qpi.routes import Collections, QPIEmulator
from qjobs.emulators.qpi.state import QPIState
from qjobs.emulators.qpi.wire import error_response, token_of

__all__ = ["STATE_KEY", "create_app"]

#: Where the app keeps its :class:`QPIState` (tests reach users, balances and QPUs through it).
STATE_KEY: Final = web.AppKey("qjobs_qpi_state", QPIState)


def _public(_method: str, _template: str) -> bool:
    # Authentication differs per route family (API tokens vs PocketBase JWTs): the handlers
    # resolve the caller themselves, so the shared middleware lets every request through (the
    # rate limit still reads the token, see wire.token_of).
    return True


def _custom_routes(e: QPIEmulator) -> list[web.RouteDef]:
    """Every custom route."""
    return [
        web.post("/api/jobs", e.create_job),
        web.get("/api/jobs", e.list_jobs, allow_head=False),
        web.get("/api/jobs/{id}", e.get_job, allow_head=False),
        web.post("/api/jobs/{id}/cancel", e.cancel_job),
        web.get("/api/qpus", e.list_qpus, allow_head=False),
        web.get("/api/qpus/{name}", e.get_qpu, allow_head=False),
        web.post("/api/op/qpus/create", e.create_qpu),
        web.post("/api/op/qpus/connect", e.connect_qpu),
        web.post("/api/op/qpu/toggle", e.toggle_qpu),
        web.get("/api/op/version", e.version, allow_head=False),
        web.post("/api/notifications/{id}/dismiss", e.dismiss),
        web.post("/api/tokens", e.create_token),
        web.get("/api/tokens", e.list_tokens, allow_head=False),
        web.delete("/api/tokens/{id}", e.delete_token),
    ]


def _collection_routes(e: Collections) -> list[web.RouteDef]:
    """Every collection route."""
    base = "/api/collections/{collection}"
    return [
        web.post(f"{base}/auth-with-password", e.auth_with_password),
        web.get(f"{base}/records", e.list_records, allow_head=False),
        web.post(f"{base}/records", e.create_record),
        web.get(f"{base}/records/{{id}}", e.view_record, allow_head=False),
        web.patch(f"{base}/records/{{id}}", e.update_record),
        web.delete(f"{base}/records/{{id}}", e.delete_record),
    ]


def create_app(ctx: EmulatorContext) -> web.Application:
    """The QPI emulator app for :func:`qjobs.emulators.serve` (routes at the server root)."""
    app = make_app(ctx, prefix="", auth=AuthScheme(token_of, _public), errors=error_response)
    state = QPIState(ctx)
    app[STATE_KEY] = state
    custom = QPIEmulator(state)
    collections = Collections(state, custom.auth)
    app.router.add_routes(_custom_routes(custom))
    app.router.add_routes(_collection_routes(collections))
    return app
