"""The qBraid emulator over raw HTTP: envelope, job objects, statuses, 409, errors, listing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest

import qjobs
from qjobs.emulators import Clock, Server

pytestmark = pytest.mark.anyio

SIM = "qbraid:qbraid:sim:qasm-sim"
X0 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[0];\nmeasure q -> c;\n'
HEADERS = {"X-API-Key": "k", "X-Domain": "qbraid"}


class Http:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def __call__(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"headers": HEADERS if headers is None else headers}
        if body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.base + path, **kwargs) as resp:
            return resp.status, orjson.loads(await resp.read())


@asynccontextmanager
async def emulator(**options: Any) -> AsyncIterator[tuple[Server, Http]]:
    async with (
        qjobs.emulators.serve("qbraid", **options) as server,
        aiohttp.ClientSession() as session,
    ):
        yield server, Http(session, server.base_url)


def job_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "x",
        "shots": 10,
        "deviceQrn": SIM,
        "tags": {},
        "runtimeOptions": {},
        "groupJobQrn": None,
        "program": {"format": "qasm2", "data": X0},
    }
    body.update(extra)
    return body


async def test_create_answers_the_full_job_object_initializing() -> None:
    async with emulator() as (server, http):
        status, payload = await http("POST", "/jobs", job_body(tags={"a": 1}))
        assert status == 201
        assert payload["success"] is True
        job = payload["data"]
        assert job["status"] == "INITIALIZING"
        assert job["timeStamps"] is None
        assert job["cost"] is None
        assert job["estimatedCost"] == 0
        assert job["jobQrn"].startswith(SIM + "-37f5-qjob-")
        for field in ("deviceQrn", "vendor", "provider", "experimentType", "numCircuits"):
            assert field in job
        assert server.stats.jobs_created == 1


async def test_status_path_result_409_then_counts() -> None:
    clock = Clock(lambda: 0.0)
    async with emulator(clock=clock, queue_time=3.0, exec_time=1.0) as (server, http):
        _, created = await http("POST", "/jobs", job_body())
        qrn = created["data"]["jobQrn"]
        seen = []
        for step in (0.0, 1.0, 1.0, 1.0, 1.0):
            server.advance(step)
            _, got = await http("GET", f"/jobs/{qrn}")
            seen.append(got["data"]["status"])
            if got["data"]["status"] != "COMPLETED":
                status, err = await http("GET", f"/jobs/{qrn}/result")
                assert status == 409
                assert err["success"] is False
                assert err["error"]["code"] == "RESULTS_NOT_AVAILABLE"
        assert seen == ["INITIALIZING", "VALIDATING", "QUEUED", "RUNNING", "COMPLETED"]
        done = got["data"]
        assert done["cost"] == 0.0
        assert done["timeStamps"]["executionDuration"] == 1000
        status, result = await http("GET", f"/jobs/{qrn}/result")
        assert status == 200
        data = result["data"]
        assert data["status"] == "COMPLETED"
        assert data["resultData"]["measurementCounts"] == {"01": 10}
        assert data["resultData"]["measurements"] == [[1, 0]] * 10


async def test_batch_results_programs_and_non_batch_device() -> None:
    async with emulator() as (_server, http):
        programs = [{"format": "qasm2", "data": X0}, {"format": "qasm3", "data": X0}]
        _, created = await http("POST", "/jobs", job_body(program=programs))
        qrn = created["data"]["jobQrn"]
        assert created["data"]["numCircuits"] == 2
        _, result = await http("GET", f"/jobs/{qrn}/result")
        assert [r["resultData"]["measurementCounts"] for r in result["data"]["results"]] == [
            {"01": 10}
        ] * 2
        _, program = await http("GET", f"/jobs/{qrn}/program")
        assert program["data"] == programs
        status, err = await http(
            "POST", "/jobs", job_body(deviceQrn="qbraid:qbraid:sim:qir-sv", program=programs)
        )
        assert status == 400
        assert err["error"]["code"] == "BATCH_NOT_SUPPORTED"


async def test_hold_fail_and_cancel_carry_cost_and_timestamps() -> None:
    clock = Clock(lambda: 0.0)
    async with emulator(clock=clock, queue_time=5.0) as (server, http):
        _, hold = await http("POST", "/jobs", job_body(tags={"qjobs_hold": True}))
        _, fail = await http("POST", "/jobs", job_body(name="qjobs_fail"))
        _, cancel = await http("POST", "/jobs", job_body())
        cq = cancel["data"]["jobQrn"]
        status, answer = await http("POST", f"/jobs/{cq}/cancel")
        assert status == 202
        assert answer["data"]["status"] == "CANCELLING"
        server.advance(6.0)
        for created, expected in ((hold, "HOLD"), (fail, "FAILED"), (cancel, "CANCELLED")):
            _, got = await http("GET", f"/jobs/{created['data']['jobQrn']}")
            job = got["data"]
            assert job["status"] == expected
            assert job["cost"] is not None
            assert job["timeStamps"]["endedAt"] is not None
        status, err = await http("POST", f"/jobs/{cq}/cancel")
        assert status == 400
        assert err["error"]["code"] == "INVALID_JOB_STATE"


async def test_error_bodies_and_auth() -> None:
    async with emulator(tokens={"k"}) as (_server, http):
        status, err = await http("GET", "/devices", headers={"X-API-Key": "wrong"})
        assert status == 401
        assert err == {
            "success": False,
            "message": "invalid credentials",
            "error": {"message": "invalid credentials", "code": "UNAUTHORIZED"},
        }
        status, _ = await http("GET", "/devices", headers={"X-Access-Token": "k"})
        assert status == 200
        status, err = await http("POST", "/jobs", {"shots": -1})
        assert status == 422
        assert err["detail"][0]["loc"] == ["body", "deviceQrn"]
        status, err = await http("GET", "/jobs/nope")
        assert status == 404
        assert err["error"]["code"] == "JOB_NOT_FOUND"
        status, err = await http(
            "POST", "/jobs", job_body(deviceQrn="ionq:ionq:qpu:aria-1", shots=10_000)
        )
        assert status == 403
        assert err["error"]["code"] == "INSUFFICIENT_CREDITS"
        assert err["error"]["balance"] == 10_000.0
        status, err = await http("POST", "/jobs", job_body(deviceQrn="aws:rigetti:qpu:aspen-m-3"))
        assert status == 400
        assert err["error"]["code"] == "DEVICE_UNAVAILABLE"


async def test_devices_listing_pagination_and_bulk_delete() -> None:
    async with emulator() as (_server, http):
        _, every = await http("GET", "/devices")
        _, active = await http("GET", "/devices?retired=false")
        assert len(every["data"]) == len(active["data"]) + 1
        _, device = await http("GET", f"/devices/{SIM}")
        assert device["data"]["batchJobSupport"] is True
        assert device["data"]["numberQubits"] == 20
        _, calib = await http("GET", "/devices/ionq:ionq:qpu:aria-1/calibrations")
        assert calib["data"]["deviceQRNs"] == ["ionq:ionq:qpu:aria-1"]
        qrns = [
            (await http("POST", "/jobs", job_body(tags={"i": i})))[1]["data"]["jobQrn"]
            for i in range(5)
        ]
        _, page = await http("GET", "/jobs?page=2&limit=2")
        assert [j["jobQrn"] for j in page["data"]] == qrns[::-1][2:4]
        assert page["pagination"] == {
            "page": 2,
            "limit": 2,
            "total": 5,
            "totalPages": 3,
            "hasNext": True,
            "hasPrev": True,
        }
        _, tagged = await http("GET", "/jobs?tags=%7B%22i%22%3A%203%7D")
        assert [j["jobQrn"] for j in tagged["data"]] == [qrns[3]]
        _, statuses = await http("GET", "/jobs/statuses")
        assert "HOLD" in statuses["data"]["statuses"]
        _, estimate = await http(
            "GET", "/jobs/cost-estimate?deviceQrn=ionq:ionq:qpu:aria-1&shots=100"
        )
        assert estimate["data"]["estimatedCost"] == 330.0
        status, _ = await http("GET", f"/jobs/{qrns[0]}/compiled-program")
        assert status == 404
        qs = orjson.dumps(qrns[:3]).decode()
        async with http.session.delete(
            http.base + "/jobs", params={"qrns": qs}, headers=HEADERS
        ) as resp:
            assert resp.status == 200
        _, left = await http("GET", "/jobs")
        assert [j["jobQrn"] for j in left["data"]] == qrns[:2:-1]


async def test_account_routes_answer_the_documented_shapes() -> None:
    async with emulator(tokens={"k", "tok"}) as (_server, http):
        _, ctx = await http("GET", "/users/context")
        assert ctx["success"] is True
        assert ctx["data"]["user"]["isAdmin"] is False
        _, user = await http("GET", "/users/verify")
        org = user["data"]["organizationId"]
        _, bal = await http("GET", f"/billing/credits/balance?organizationId={org}")
        assert set(bal["data"]) == {
            "qbraidCredits",
            "awsCredits",
            "autoRecharge",
            "organizationId",
            "userId",
        }
        status, err = await http("GET", "/billing/credits/balance")
        assert status == 422
        assert err["success"] is False
        status, err = await http("GET", "/billing/credits/balance?organizationId=x")
        assert (status, err["error"]["code"]) == (403, "FORBIDDEN")
        _, providers = await http("GET", "/providers")
        assert {p["provider"] for p in providers["data"]["providers"]} >= {"qbraid", "aws", "ionq"}
        status, refreshed = await http(
            "POST", "/access-tokens/refresh", headers={"X-Access-Token": "tok"}
        )
        assert status == 200
        assert set(refreshed["data"]) == {"expiresAt", "profileSlug"}
        status, err = await http("POST", "/access-tokens/refresh")
        assert (status, err["error"]["code"]) == (400, "ACCESS_TOKEN_REQUIRED")


async def test_group_routes_envelope_errors_and_job_membership() -> None:
    clock = Clock(lambda: 0.0)
    async with emulator(clock=clock) as (server, http):
        status, created = await http("POST", "/jobs/group", {"name": "g", "maxTTL": 30})
        assert status == 201
        group = created["data"]
        qrn = group["groupJobQrn"]
        assert group["status"] == "OPEN"
        assert group["maxTTL"] == 30
        for field in ("jobCount", "completedCount", "failedCount", "cancelledCount"):
            assert group[field] == 0
        status, err = await http("POST", "/jobs/group", {"maxTTL": 0})
        assert status == 422
        assert err["detail"][0]["loc"] == ["body", "maxTTL"]
        _, job = await http("POST", "/jobs", job_body(groupJobQrn=qrn))
        assert job["data"]["groupJobQrn"] == qrn
        _, members = await http("GET", f"/jobs/group/{qrn}/jobs")
        assert [j["jobQrn"] for j in members["data"]] == [job["data"]["jobQrn"]]
        _, listed = await http("GET", "/jobs/group?status=OPEN&limit=1")
        assert [g["groupJobQrn"] for g in listed["data"]] == [qrn]
        assert listed["pagination"]["total"] == 1
        status, err = await http("GET", "/jobs/group?status=DONE")
        assert status == 422
        server.advance(31.0)  # maxTTL passed: closed, and its one job is done
        _, got = await http("GET", f"/jobs/group/{qrn}")
        assert got["data"]["status"] == "COMPLETED"
        assert got["data"]["timeStamps"]["endedAt"] is not None
        status, err = await http("POST", "/jobs", job_body(groupJobQrn=qrn))
        assert (status, err["error"]["code"]) == (400, "GROUP_NOT_OPEN")
        _, closed = await http("POST", f"/jobs/group/{qrn}/close")
        assert closed["data"]["status"] == "COMPLETED"
        status, err = await http("POST", f"/jobs/group/{qrn}/cancel")
        assert (status, err["error"]["code"]) == (400, "INVALID_GROUP_STATE")
        status, _ = await http("DELETE", f"/jobs/group/{qrn}")
        assert status == 200
        status, err = await http("GET", f"/jobs/group/{qrn}")
        assert (status, err["error"]["code"]) == (404, "GROUP_NOT_FOUND")
        async with http.session.post(http.base + "/jobs/group", headers=HEADERS) as resp:
            assert resp.status == 201  # no body: every field is optional


async def test_compiled_program_and_cost_estimate_without_pricing() -> None:
    clock = Clock(lambda: 0.0)
    async with emulator(clock=clock, queue_time=1.0) as (server, http):
        _, job = await http("POST", "/jobs", job_body(deviceQrn="ionq:ionq:qpu:aria-1"))
        qrn = job["data"]["jobQrn"]
        status, _ = await http("GET", f"/jobs/{qrn}/compiled-program")
        assert status == 404
        server.advance(2.0)
        status, compiled = await http("GET", f"/jobs/{qrn}/compiled-program")
        assert status == 200
        assert compiled["data"]["format"] == "qasm3"
        assert compiled["data"]["data"].startswith("OPENQASM 3")
        _, est = await http("GET", "/jobs/cost-estimate?deviceQrn=aws:aws:sim:sv1")
        assert est["data"]["pricingAvailable"] is False
        assert "estimatedCost" not in est["data"]
        assert est["data"]["reason"]
