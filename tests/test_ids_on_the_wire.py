"""Ids on the wire: every id a method puts in a URL path is checked, then percent-encoded.

An id such as ``".."`` would be resolved by the URL library (``GET /v0.4/jobs/..`` is
``GET /v0.4/``), ``"."`` would turn ``PUT /jobs/./status/cancel`` into the bulk-cancel route,
``"x#frag"`` would request job ``x`` and ``"%2e%2e"`` may be decoded into ``..`` by a server. Each
provider x method x bad id raises :class:`qjobs.InputError` naming the argument, with 0 requests
sent; the same methods with a valid but unusual id send it as exactly one path segment.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

import qjobs
from qjobs import Job, JobStatus
from qjobs.providers._base import ProviderClient, check_id, segment
from qjobs.providers.qpi import QPIClient
from qjobs.transport import RetryPolicy

#: Ids no method may put in a path (20): empty, dot segments, separators, percent, whitespace,
#: control and invisible characters, and non-strings.
BAD_IDS: list[Any] = [
    "",
    ".",
    "..",
    "a/b",
    "../x",
    "a?b",
    "x#frag",
    "a%2e",
    "%2e%2e",
    "a b",
    " a",
    "a\t",
    "a\r\n",
    "\nb",
    "a\x00",
    "a\x7f",
    "a\u200b",
    "a\u2028",
    None,
    42,
]
#: Methods whose id travels in a query or a body, or that make no request of their own.
NOT_IN_PATH = {
    "get_jobs@ionq",
    "cancel_many@ionq",
    "get_jobs@qpi",
    "set_qpu_enabled@qpi",
    "delete_many@qbraid",
    "service_execution@kipu",
}
#: A valid id using characters that must be encoded (or are legal but unusual) in a path.
ODD_ID = "ok:id@1;x=é+(y)"

_T0 = datetime(2030, 1, 1, tzinfo=UTC)
Call = Callable[[Any, Any], Awaitable[Any]]


async def _drain(iterator: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in iterator]


# (provider, label, call(client, id), field named by the InputError)
METHODS: list[tuple[str, str, Call, str]] = [
    # IonQ
    ("ionq", "get_job", lambda c, j: c.get_job(j), "job_id"),
    ("ionq", "get_jobs", lambda c, j: c.get_jobs([j]), "job_ids[0]"),
    ("ionq", "wait", lambda c, j: c.wait(j), "job"),
    ("ionq", "results", lambda c, j: c.results(j), "job"),
    ("ionq", "result", lambda c, j: c.result(j), "job"),
    ("ionq", "probabilities", lambda c, j: c.probabilities(j), "job"),
    ("ionq", "cancel", lambda c, j: c.cancel(j), "job"),
    ("ionq", "cancel_many", lambda c, j: c.cancel_many(["fine", j]), "jobs[1]"),
    ("ionq", "delete", lambda c, j: c.delete(j), "job"),
    ("ionq", "batch_status", lambda c, j: c.batch_status(j), "job"),
    ("ionq", "compiled_circuits", lambda c, j: c.compiled_circuits(j), "job"),
    ("ionq", "artifact(job)", lambda c, j: c.artifact(j, "a1"), "job"),
    ("ionq", "artifact(id)", lambda c, j: c.artifact("job1", j), "artifact_id"),
    ("ionq", "backend", lambda c, j: c.backend(j), "backend"),
    ("ionq", "characterization", lambda c, j: c.characterization(j), "backend"),
    ("ionq", "characterizations", lambda c, j: c.characterizations(j), "backend"),
    ("ionq", "get_session", lambda c, j: c.get_session(j), "session_id"),
    ("ionq", "end_session", lambda c, j: c.end_session(j), "session_id"),
    # Kipu Quantum Hub
    ("kipu", "get_job", lambda c, j: c.get_job(j), "job_id"),
    ("kipu", "get_jobs", lambda c, j: c.get_jobs([j]), "job_ids[0]"),
    ("kipu", "wait", lambda c, j: c.wait(j), "job"),
    ("kipu", "results", lambda c, j: c.results(j), "job"),
    ("kipu", "result", lambda c, j: c.result(j), "job"),
    ("kipu", "cancel", lambda c, j: c.cancel(j), "job"),
    ("kipu", "cancel_many", lambda c, j: c.cancel_many([j]), "jobs[0]"),
    ("kipu", "jobs.get", lambda c, j: c.jobs.get(j), "job"),
    ("kipu", "jobs.status", lambda c, j: c.jobs.status(j), "job"),
    ("kipu", "jobs.result", lambda c, j: c.jobs.result(j), "job"),
    ("kipu", "jobs.normalized_result", lambda c, j: c.jobs.normalized_result(j), "job"),
    ("kipu", "jobs.normalized_memory", lambda c, j: c.jobs.normalized_memory(j), "job"),
    ("kipu", "jobs.input", lambda c, j: c.jobs.input(j), "job"),
    ("kipu", "jobs.normalized_input", lambda c, j: c.jobs.normalized_input(j), "job"),
    ("kipu", "jobs.calibration", lambda c, j: c.jobs.calibration(j), "job"),
    ("kipu", "jobs.cancel", lambda c, j: c.jobs.cancel(j), "job"),
    (
        "kipu",
        "jobs.stream_result",
        lambda c, j: c.jobs.stream_result(j, io.BytesIO()),
        "job",
    ),
    ("kipu", "sessions.get", lambda c, j: c.sessions.get(j), "session"),
    ("kipu", "sessions.status", lambda c, j: c.sessions.status(j), "session"),
    ("kipu", "sessions.jobs", lambda c, j: c.sessions.jobs(j), "session"),
    ("kipu", "sessions.accept_jobs", lambda c, j: c.sessions.accept_jobs(j), "session"),
    ("kipu", "sessions.stop_accepting", lambda c, j: c.sessions.stop_accepting(j), "session"),
    ("kipu", "sessions.close", lambda c, j: c.sessions.close(j), "session"),
    ("kipu", "backends.get", lambda c, j: c.backends.get(j), "backend_id"),
    ("kipu", "backends.status", lambda c, j: c.backends.status(j), "backend_id"),
    ("kipu", "backends.config", lambda c, j: c.backends.config(j), "backend_id"),
    ("kipu", "backends.calibration", lambda c, j: c.backends.calibration(j), "backend_id"),
    (
        "kipu",
        "backends.calibration_history",
        lambda c, j: _drain(c.backends.calibration_history(j, start=_T0, end=_T0)),
        "backend_id",
    ),
    (
        "kipu",
        "service_execution",
        lambda c, j: _async(c.service_execution, j),
        "service_execution_id",
    ),
    (
        "kipu",
        "service_execution.jobs.get",
        lambda c, j: c.service_execution("se1").jobs.get(j),
        "job",
    ),
    # QPI
    ("qpi", "get_job", lambda c, j: c.get_job(j), "job_id"),
    ("qpi", "get_jobs", lambda c, j: c.get_jobs([j]), "job_ids[0]"),
    ("qpi", "wait", lambda c, j: c.wait(j), "job"),
    ("qpi", "job_record", lambda c, j: c.job_record(j), "job"),
    ("qpi", "results", lambda c, j: c.results(j), "job"),
    ("qpi", "result", lambda c, j: c.result(j), "job"),
    ("qpi", "iq_memory", lambda c, j: c.iq_memory(j), "job"),
    ("qpi", "cancel", lambda c, j: c.cancel(j), "job"),
    ("qpi", "cancel_many", lambda c, j: c.cancel_many([j]), "jobs[0]"),
    ("qpi", "backend", lambda c, j: c.backend(j), "backend"),
    ("qpi", "dismiss_notification", lambda c, j: c.dismiss_notification(j), "notification"),
    ("qpi", "delete_api_token", lambda c, j: c.delete_api_token(j), "token"),
    ("qpi", "allocate_qpu_time", lambda c, j: c.allocate_qpu_time(j, 60), "user"),
    ("qpi", "set_qpu_enabled", lambda c, j: c.set_qpu_enabled(j, True), "qpu"),
    ("qpi", "update_time_slot", lambda c, j: c.update_time_slot(j, start=_T0), "slot"),
    ("qpi", "delete_time_slot", lambda c, j: c.delete_time_slot(j), "slot"),
    ("qpi", "approve_time_request", lambda c, j: c.approve_time_request(j), "request"),
    ("qpi", "reject_time_request", lambda c, j: c.reject_time_request(j), "request"),
    # qBraid
    ("qbraid", "get_job", lambda c, j: c.get_job(j), "job_id"),
    ("qbraid", "get_jobs", lambda c, j: c.get_jobs([j]), "job_ids[0]"),
    ("qbraid", "wait", lambda c, j: c.wait(j), "job"),
    ("qbraid", "results", lambda c, j: c.results(j), "job"),
    ("qbraid", "result", lambda c, j: c.result(j), "job"),
    ("qbraid", "raw_result", lambda c, j: c.raw_result(j), "job"),
    ("qbraid", "program", lambda c, j: c.program(j), "job"),
    ("qbraid", "compiled_program", lambda c, j: c.compiled_program(j), "job"),
    ("qbraid", "cancel", lambda c, j: c.cancel(j), "job"),
    ("qbraid", "cancel_many", lambda c, j: c.cancel_many([j]), "jobs[0]"),
    ("qbraid", "delete", lambda c, j: c.delete(j), "job"),
    ("qbraid", "delete_many", lambda c, j: c.delete_many([j]), "jobs[0]"),
    ("qbraid", "device", lambda c, j: c.device(j), "qrn"),
    ("qbraid", "device_status", lambda c, j: c.device_status(j), "qrn"),
    ("qbraid", "calibration", lambda c, j: c.calibration(j), "qrn"),
    ("qbraid", "get_group", lambda c, j: c.get_group(j), "group"),
    ("qbraid", "group_jobs", lambda c, j: c.group_jobs(j), "group"),
    ("qbraid", "close_group", lambda c, j: c.close_group(j), "group"),
    ("qbraid", "cancel_group", lambda c, j: c.cancel_group(j), "group"),
    ("qbraid", "delete_group", lambda c, j: c.delete_group(j), "group"),
    # Qibo cloud
    ("qibo", "get_job", lambda c, j: c.get_job(j), "job_id"),
    ("qibo", "get_jobs", lambda c, j: c.get_jobs([j]), "job_ids[0]"),
    ("qibo", "wait", lambda c, j: c.wait(j), "job"),
    ("qibo", "results", lambda c, j: c.results(j), "job"),
    ("qibo", "result", lambda c, j: c.result(j), "job"),
    ("qibo", "raw_results", lambda c, j: c.raw_results(j), "job"),
    ("qibo", "download_archive", lambda c, j: c.download_archive(j), "job"),
    ("qibo", "logs", lambda c, j: c.logs(j), "job"),
    ("qibo", "cancel", lambda c, j: c.cancel(j), "job"),
    ("qibo", "cancel_many", lambda c, j: c.cancel_many([j]), "jobs[0]"),
    ("qibo", "delete", lambda c, j: c.delete(j), "job"),
]


PATH_METHODS = [m for m in METHODS if f"{m[1]}@{m[0]}" not in NOT_IN_PATH]


async def _async(function: Callable[[Any], Any], value: Any) -> Any:
    return function(value)


def _client(provider: str, base_url: str) -> ProviderClient:
    options: dict[str, Any] = {"token": "t0ken-for-tests", "base_url": base_url}
    options["retry"] = RetryPolicy(max_attempts=1)
    if provider == "qibo":
        options["cancel_deletes"] = True  # so that cancel() reaches the wire at all
    return qjobs.connect(provider, **options)


@pytest.mark.anyio
@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
@pytest.mark.parametrize(
    ("provider", "label", "call", "field"), METHODS, ids=[m[1] + "@" + m[0] for m in METHODS]
)
async def test_bad_id_is_refused_before_any_request(
    provider: str, label: str, call: Call, field: str, bad: Any
) -> None:
    # Nothing listens on port 9: a request that got out would fail with a ConnectError.
    async with _client(provider, "http://127.0.0.1:9") as client:
        with pytest.raises(qjobs.InputError) as info:
            await call(client, bad)
        assert info.value.field == field, label
        assert client.transport.stats.total == 0


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 recording every decoded request path, answering 404 to all."""
    paths: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        paths.append(request.path)
        if request.path.endswith("/auth-with-password"):  # QPI's login
            return web.json_response({"token": "jwt-for-tests", "record": {"id": "u1"}})
        return web.json_response({"error": "not found", "message": "not found"}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", paths
    finally:
        await runner.cleanup()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("provider", "label", "call", "field"),
    PATH_METHODS,
    ids=[m[1] + "@" + m[0] for m in PATH_METHODS],
)
async def test_valid_id_travels_as_one_path_segment(
    provider: str,
    label: str,
    call: Call,
    field: str,
    recorder: tuple[str, list[str]],
) -> None:
    base, paths = recorder
    if provider == "ionq":
        base += "/v0.4"
    elif provider == "qbraid":
        base += "/api/v1"
    elif provider == "kipu":
        base += "/quantum"
    async with _client(provider, base) as client:
        if isinstance(client, QPIClient):
            await client.login("me@example.org", "pw-for-tests", superuser=True)
        try:
            await call(client, ODD_ID)
        except qjobs.InputError:
            raise
        except qjobs.QJobsError:
            pass  # the 404 (or what the method makes of it)
    assert paths, f"{label} sent nothing"
    assert any(ODD_ID in p.split("/") for p in paths), paths


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["ionq", "kipu", "qpi", "qbraid", "qibo"])
@pytest.mark.parametrize("bad", ["..", ".", "a/b", "x#y"])
async def test_a_job_object_with_a_bad_id_is_refused(provider: str, bad: str) -> None:
    job = Job(id=bad, provider=provider, status=JobStatus.COMPLETED)
    async with _client(provider, "http://127.0.0.1:9") as client:
        for call in (client.cancel, client.results):
            with pytest.raises(qjobs.InputError):
                await call(job)
        assert client.transport.stats.total == 0


def test_check_id_and_segment() -> None:
    assert (
        check_id("aws:aws:sim:sv1-37f5-qjob-696a9383", "job")
        == "aws:aws:sim:sv1-37f5-qjob-696a9383"
    )
    assert check_id("...", "job") == "..."  # only the exact dot segments are special
    assert segment(ODD_ID) == "ok%3Aid%401%3Bx%3D%C3%A9%2B%28y%29"
    for bad in BAD_IDS:
        with pytest.raises(qjobs.InputError) as info:
            segment(bad, "job")
        assert info.value.field == "job"
