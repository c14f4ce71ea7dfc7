"""The Kipu Quantum Hub emulator app: auth scheme, problem-JSON errors and the route table.

Every route lives under ``/quantum`` (``GET /backends`` needs no credentials), with
``service-executions/{se}/`` twins of the session and job routes.
"""

from __future__ import annotations

from aiohttp import web

from qjobs.emulators._common import AuthScheme, EmulatorContext, make_app
from qjobs.emulators.kipu.routes import KipuEmulator
from qjobs.emulators.kipu.wire import PREFIX, error_response, token_of

__all__ = ["PREFIX", "create_app"]


def _is_public(method: str, template: str) -> bool:
    return method in ("GET", "HEAD") and template == "/backends"


def _route_table(e: KipuEmulator) -> list[web.RouteDef]:
    """Every Hub route under :data:`PREFIX` (fixed paths before ``{id}`` paths)."""
    p = PREFIX
    s = f"{p}/service-executions/{{se}}"
    return [
        web.get(f"{p}/backends", e.list_backends, allow_head=False),
        web.get(f"{p}/backends/least-busy", e.least_busy, allow_head=False),
        web.get(f"{p}/backends/{{id}}", e.get_backend, allow_head=False),
        web.get(f"{p}/backends/{{id}}/status", e.backend_status, allow_head=False),
        web.get(f"{p}/backends/{{id}}/config", e.backend_config, allow_head=False),
        web.get(f"{p}/backends/{{id}}/calibration", e.backend_calibration, allow_head=False),
        web.get(
            f"{p}/backends/{{id}}/calibration-history",
            e.calibration_history,
            allow_head=False,
        ),
        web.get(f"{p}/jobs", e.search_jobs, allow_head=False),
        web.post(f"{p}/jobs", e.create_job),
        web.get(f"{p}/jobs/{{id}}", e.get_job, allow_head=False),
        web.delete(f"{p}/jobs/{{id}}", e.cancel_job),
        web.get(f"{p}/jobs/{{id}}/status", e.job_status, allow_head=False),
        web.get(f"{p}/jobs/{{id}}/result", e.job_result, allow_head=False),
        web.get(f"{p}/jobs/{{id}}/result/normalized", e.normalized_result, allow_head=False),
        web.get(
            f"{p}/jobs/{{id}}/result/normalized/memory",
            e.normalized_memory,
            allow_head=False,
        ),
        web.get(f"{p}/jobs/{{id}}/result-stream", e.result_stream, allow_head=False),
        web.get(f"{p}/jobs/{{id}}/input", e.job_input, allow_head=False),
        web.get(f"{p}/jobs/{{id}}/input/normalized", e.normalized_input, allow_head=False),
        web.get(f"{p}/jobs/{{id}}/calibration", e.job_calibration, allow_head=False),
        web.post(f"{p}/sessions", e.create_session),
        web.get(f"{p}/sessions/{{id}}", e.get_session, allow_head=False),
        web.patch(f"{p}/sessions/{{id}}", e.update_session),
        web.delete(f"{p}/sessions/{{id}}", e.close_session),
        web.get(f"{p}/sessions/{{id}}/status", e.session_status, allow_head=False),
        web.get(f"{p}/sessions/{{id}}/jobs", e.session_jobs, allow_head=False),
        web.get(f"{p}/workloads", e.workloads, allow_head=False),
        web.get(f"{p}/runtime-minutes", e.runtime_minutes, allow_head=False),
        # service-execution twins
        web.get(f"{s}/sessions/{{id}}", e.get_session, allow_head=False),
        web.patch(f"{s}/sessions/{{id}}", e.update_session),
        web.delete(f"{s}/sessions/{{id}}", e.close_session),
        web.get(f"{s}/sessions/{{id}}/status", e.session_status, allow_head=False),
        web.get(f"{s}/sessions/{{id}}/jobs", e.session_jobs, allow_head=False),
        web.get(f"{s}/workloads", e.workloads, allow_head=False),
        web.get(f"{s}/jobs/{{id}}", e.get_job, allow_head=False),
        web.delete(f"{s}/jobs/{{id}}", e.cancel_job),
        web.get(f"{s}/jobs/{{id}}/status", e.job_status, allow_head=False),
        web.get(f"{s}/jobs/{{id}}/result/normalized", e.normalized_result, allow_head=False),
        web.get(f"{s}/jobs/{{id}}/result-stream", e.result_stream, allow_head=False),
        web.get(f"{s}/jobs/{{id}}/input", e.job_input, allow_head=False),
        web.get(f"{s}/jobs/{{id}}/input/normalized", e.normalized_input, allow_head=False),
        web.get(f"{s}/jobs/{{id}}/calibration", e.job_calibration, allow_head=False),
    ]


def create_app(ctx: EmulatorContext) -> web.Application:
    """The Kipu Quantum Hub emulator app for :func:`qjobs.emulators.serve`."""
    auth = AuthScheme(token_of, _is_public)
    app = make_app(ctx, prefix=PREFIX, auth=auth, errors=error_response)
    app.router.add_routes(_route_table(KipuEmulator(ctx)))
    return app
