"""Jobs belong to the token that created them, on every emulator.

With several accepted tokens (``serve(tokens=[A, B])``), token B is told that A's jobs, sessions
and groups do not exist -- the provider's own 404 in its own error shape -- on every route that
reads or changes them, and B's listings omit them. A's view is unchanged by B's attempts.
(Qibo's per-user jobs are covered in ``test_emulator_qibo.py``.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest

import qjobs
from qjobs.emulators import Server

pytestmark = pytest.mark.anyio

A = "token-of-alice"
B = "token-of-bob"
QASM2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[0];\nmeasure q -> c;\n'
QASM3 = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nbit[1] c;\nx q[0];\n'
    "c[0] = measure q[0];\n"
)


class Wire:
    """Raw HTTP against one emulator, as token A or B (``headers(token)`` builds the auth)."""

    def __init__(self, server: Server, http: aiohttp.ClientSession, scheme: Any) -> None:
        self.server = server
        self.http = http
        self.scheme = scheme

    async def __call__(
        self, token: str, method: str, path: str, body: Any = None
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"headers": self.scheme(token)}
        if body is not None:
            kwargs["json"] = body
        async with self.http.request(method, self.server.base_url + path, **kwargs) as r:
            raw = await r.read()
            return r.status, orjson.loads(raw) if raw else None


@asynccontextmanager
async def wire(name: str, scheme: Any) -> AsyncIterator[Wire]:
    # Jobs queue for a minute: they are cancellable and have no results while B pokes at them.
    async with (
        qjobs.emulators.serve(name, tokens=[A, B], queue_time=60.0) as server,
        aiohttp.ClientSession() as http,
    ):
        yield Wire(server, http, scheme)


async def test_ionq_jobs_and_sessions_belong_to_their_token() -> None:
    async with wire("ionq", lambda t: {"Authorization": f"apiKey {t}"}) as call:
        status, session = await call(A, "POST", "/sessions", {"backend": "simulator"})
        assert status == 201
        body = {
            "type": "ionq.circuit.v1",
            "backend": "simulator",
            "shots": 10,
            "session_id": session["id"],
            "input": {"gateset": "qis", "qubits": 1, "circuit": [{"gate": "x", "targets": [0]}]},
        }
        status, created = await call(A, "POST", "/jobs", body)
        assert status == 201
        jid, sid = created["id"], session["id"]
        for method, path in [
            ("GET", f"/jobs/{jid}"),
            ("GET", f"/jobs/{jid}/results/probabilities"),
            ("GET", f"/jobs/{jid}/results/shots"),
            ("GET", f"/jobs/{jid}/results/histogram"),
            ("PUT", f"/jobs/{jid}/status/cancel"),
            ("DELETE", f"/jobs/{jid}"),
            ("GET", f"/sessions/{sid}"),
            ("POST", f"/sessions/{sid}/end"),
        ]:
            status, err = await call(B, method, path)
            assert (status, err["statusCode"], err["error"]) == (404, 404, "Not Found"), path
            assert set(err) == {"statusCode", "error", "message"}
        assert await call(B, "GET", "/jobs") == (200, {"jobs": [], "next": None})
        assert await call(B, "GET", f"/jobs?ids={jid}") == (200, {"jobs": [], "next": None})
        status, bulk = await call(B, "PUT", "/jobs/status/cancel", {"ids": [jid]})
        assert (status, bulk["ids"]) == (200, [])
        status, err = await call(B, "POST", "/jobs", body)  # B cannot join A's session
        assert status == 400
        assert "unknown session" in err["message"]
        # A sees its job untouched, its session still active.
        status, job = await call(A, "GET", f"/jobs/{jid}")
        assert (status, job["status"]) == (200, "submitted")
        assert [j["id"] for j in (await call(A, "GET", "/jobs"))[1]["jobs"]] == [jid]
        assert (await call(A, "GET", f"/sessions/{sid}"))[1]["state"] == "active"


async def test_qbraid_jobs_and_groups_belong_to_their_token() -> None:
    async with wire("qbraid", lambda t: {"X-API-Key": t}) as call:
        status, group = await call(A, "POST", "/jobs/group", {"name": "g"})
        assert status == 201
        gid = group["data"]["groupJobQrn"]
        body = {
            "name": "x",
            "shots": 10,
            "deviceQrn": "qbraid:qbraid:sim:qasm-sim",
            "tags": {},
            "runtimeOptions": {},
            "groupJobQrn": gid,
            "program": {"format": "qasm2", "data": QASM2},
        }
        status, created = await call(A, "POST", "/jobs", body)
        assert status == 201
        qrn = created["data"]["jobQrn"]
        checks = [
            ("GET", f"/jobs/{qrn}", "JOB_NOT_FOUND"),
            ("GET", f"/jobs/{qrn}/result", "JOB_NOT_FOUND"),
            ("GET", f"/jobs/{qrn}/program", "JOB_NOT_FOUND"),
            ("GET", f"/jobs/{qrn}/compiled-program", "JOB_NOT_FOUND"),
            ("POST", f"/jobs/{qrn}/cancel", "JOB_NOT_FOUND"),
            ("DELETE", f"/jobs/{qrn}", "JOB_NOT_FOUND"),
            ("GET", f"/jobs/group/{gid}", "GROUP_NOT_FOUND"),
            ("GET", f"/jobs/group/{gid}/jobs", "GROUP_NOT_FOUND"),
            ("POST", f"/jobs/group/{gid}/close", "GROUP_NOT_FOUND"),
            ("POST", f"/jobs/group/{gid}/cancel", "GROUP_NOT_FOUND"),
            ("DELETE", f"/jobs/group/{gid}", "GROUP_NOT_FOUND"),
        ]
        for method, path, code in checks:
            status, err = await call(B, method, path)
            assert (status, err["success"], err["error"]["code"]) == (404, False, code), path
            assert err["message"] == err["error"]["message"]
        status, page = await call(B, "GET", "/jobs")
        assert (status, page["data"], page["pagination"]["total"]) == (200, [], 0)
        status, page = await call(B, "GET", "/jobs/group")
        assert (status, page["data"]) == (200, [])
        status, bulk = await call(B, "DELETE", f"/jobs?qrns=%5B%22{qrn}%22%5D")
        assert (status, bulk["data"]["deleted"]) == (200, [])
        status, err = await call(B, "POST", "/jobs", body)  # B cannot join A's group
        assert (status, err["error"]["code"]) == (404, "GROUP_NOT_FOUND")
        status, job = await call(A, "GET", f"/jobs/{qrn}")
        assert (status, job["data"]["status"]) == (200, "INITIALIZING")
        status, page = await call(A, "GET", "/jobs/group")
        assert [g["groupJobQrn"] for g in page["data"]] == [gid]
        assert page["data"][0]["status"] == "OPEN"


async def test_kipu_jobs_and_sessions_belong_to_their_token() -> None:
    async with wire("kipu", lambda t: {"X-Auth-Token": t}) as call:
        status, session = await call(
            A,
            "POST",
            "/sessions",
            {"backend_id": "ibm.qpu.fez", "mode": "batch", "provider": "IBM"},
        )
        assert status == 201
        body = {
            "backend_id": "ibm.qpu.fez",
            "shots": 10,
            "input": {"pubs": [[QASM3]]},
            "session_id": session["id"],
        }
        status, job = await call(A, "POST", "/jobs", body)
        assert status == 201, job
        jid, sid = job["id"], session["id"]
        for method, path in [
            ("GET", f"/jobs/{jid}"),
            ("GET", f"/jobs/{jid}/status"),
            ("GET", f"/jobs/{jid}/result"),
            ("GET", f"/jobs/{jid}/result/normalized"),
            ("GET", f"/jobs/{jid}/input"),
            ("GET", f"/jobs/{jid}/calibration"),
            ("DELETE", f"/jobs/{jid}"),
            ("GET", f"/sessions/{sid}"),
            ("GET", f"/sessions/{sid}/status"),
            ("GET", f"/sessions/{sid}/jobs"),
            ("PATCH", f"/sessions/{sid}"),
            ("DELETE", f"/sessions/{sid}"),
        ]:
            status, err = await call(B, method, path)
            assert (status, err["status"], err["title"]) == (404, 404, "Not Found"), path
            assert set(err) == {"type", "title", "status", "detail"}
        for path in ("/jobs", "/workloads"):
            status, page = await call(B, "GET", path)
            assert (status, page["content"], page["total_elements"]) == (200, [], 0), path
        status, err = await call(B, "POST", "/jobs", body)  # B cannot join A's session
        assert (status, err["title"]) == (404, "Not Found")
        status, mine = await call(A, "GET", f"/jobs/{jid}/status")
        assert (status, mine) == (200, {"status": "PENDING"})
        status, page = await call(A, "GET", "/workloads")
        assert {w["id"] for w in page["content"]} == {jid, sid}


async def test_qpi_jobs_belong_to_their_token() -> None:
    async with wire("qpi", lambda t: {"X-API-Token": t}) as call:
        body = {"circuits": [{"circuit": QASM3}], "shots": 10}
        status, job = await call(A, "POST", "/api/jobs", body)
        assert status == 201
        jid = job["id"]
        status, err = await call(B, "GET", f"/api/jobs/{jid}")
        assert (status, err) == (404, {"data": {}, "message": "Job not found.", "status": 404})
        status, err = await call(B, "POST", f"/api/jobs/{jid}/cancel")
        assert (status, err["status"], err["data"]) == (404, 404, {})
        assert await call(B, "GET", "/api/jobs") == (200, [])
        status, mine = await call(A, "GET", f"/api/jobs/{jid}")
        assert (status, mine["status"]) == (200, "pending")
        assert [j["id"] for j in (await call(A, "GET", "/api/jobs"))[1]] == [jid]
