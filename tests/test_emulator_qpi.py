"""The QPI emulator on the wire: PocketBase shapes, balances, slot priority, rules, token hashes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import attrs
import pytest

import qjobs
from qjobs.emulators import Clock, Server
from qjobs.emulators.qpi import STATE_KEY
from qjobs.emulators.qpi.state import (
    DEFAULT_ADMIN_EMAIL,
    DEFAULT_ADMIN_PASSWORD,
    DEFAULT_USER_EMAIL,
    DEFAULT_USER_PASSWORD,
    QPIState,
    hash_secret,
)

pytestmark = pytest.mark.anyio

TOKEN = "qpi_" + "0f" * 32
BELL = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[2] c;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\n'
    "c[0] = measure q[0];\nc[1] = measure q[1];\n"
)


class Wire:
    """A raw HTTP session against the emulator."""

    def __init__(self, server: Server, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session
        self.state: QPIState = server.app[STATE_KEY]

    async def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> tuple[int, Any]:
        async with self.session.request(
            method, self.server.base_url + path, headers=headers or {}, **kw
        ) as resp:
            body = None if resp.status == 204 else await resp.json()
            return resp.status, body

    async def login(self, email: str, password: str, collection: str = "users") -> dict[str, str]:
        status, body = await self.call(
            "POST",
            f"/api/collections/{collection}/auth-with-password",
            json={"identity": email, "password": password},
        )
        assert status == 200
        return {"Authorization": f"Bearer {body['token']}"}


@asynccontextmanager
async def wire(**options: Any) -> AsyncIterator[Wire]:
    options.setdefault("tokens", [TOKEN])
    async with qjobs.emulators.serve("qpi", **options) as server, aiohttp.ClientSession() as s:
        yield Wire(server, s)


API = {"X-API-Token": TOKEN}


async def test_pocketbase_error_shape_and_auth() -> None:
    async with wire() as w:
        status, body = await w.call("GET", "/api/jobs")
        assert (status, body) == (
            401,
            {"data": {}, "message": "Authentication required.", "status": 401},
        )
        status, body = await w.call("GET", "/api/jobs", headers={"X-API-Token": "qpi_wrong"})
        assert status == 401
        status, body = await w.call(
            "GET", "/api/jobs", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert (status, body) == (200, [])  # an API token as Bearer works too
        status, body = await w.call("GET", "/api/nowhere")
        assert body["message"] == "The requested resource wasn't found."
        # Collection routes accept only PocketBase JWTs: an API token sees nothing.
        status, body = await w.call("GET", "/api/collections/notifications/records", headers=API)
        assert (status, body["items"]) == (200, [])
        status, body = await w.call(
            "POST",
            "/api/collections/users/auth-with-password",
            json={"identity": DEFAULT_USER_EMAIL, "password": "nope"},
        )
        assert (status, body["message"]) == (400, "Failed to authenticate.")


async def test_tokens_are_stored_only_as_hashes() -> None:
    async with wire() as w:
        status, made = await w.call("POST", "/api/tokens", headers=API, json={"name": "x"})
        assert status == 201
        token = made["token"]
        assert token.startswith("qpi_")
        assert len(token) == 68
        hashes = {t.token_hash for t in w.state.tokens.values()}
        assert hash_secret(token) in hashes
        stored = [str(attrs.asdict(t)) for t in w.state.tokens.values()]
        assert all(token not in text and TOKEN not in text for text in stored)
        status, listed = await w.call("GET", "/api/tokens", headers=API)
        assert all("token" not in t and "token_hash" not in t for t in listed)
        status, _ = await w.call("GET", "/api/qpus", headers={"X-API-Token": token})
        assert status == 200


async def test_submit_defaults_and_empty_target_routing() -> None:
    async with wire() as w:
        status, job = await w.call(
            "POST", "/api/jobs", headers=API, json={"circuits": [{"circuit": BELL}]}
        )
        assert status == 201
        assert job["payload"]["shots"] == 1024
        assert job["payload"]["meas_level"] == 2
        assert job["payload"]["meas_return"] == "single"
        assert job["qpu_target"] == "qiskit_aer"  # first online QPU
        assert "qpu_target" not in job["payload"]
        counts = job["results"]["circuit_results"][0]["counts"]
        assert set(counts) == {"00", "01", "10", "11"}  # every key, zeros included
        assert job["created"][10] == " "  # PocketBase timestamps
        bads: list[dict[str, Any]] = [
            {},
            {"circuits": []},
            {"circuits": [{"circuit": ""}]},
            {"circuits": [{}]},
        ]
        for bad in bads:
            status, body = await w.call("POST", "/api/jobs", headers=API, json=bad)
            assert (status, body["message"]) == (400, "Invalid request body.")
        for qpu in list(w.state.qpus.values()):
            qpu.enabled = False
        status, body = await w.call(
            "POST", "/api/jobs", headers=API, json={"circuits": [{"circuit": BELL}]}
        )
        assert (status, body["message"]) == (503, "No online QPU available.")


async def test_balance_is_deducted_and_exhaustion_gives_403() -> None:
    async with wire() as w:
        w.state.default_user.qpu_seconds = 1.5
        body = {"circuits": [{"circuit": BELL}], "shots": 1000, "qpu_target": "qpi"}
        status, job = await w.call("POST", "/api/jobs", headers=API, json=body)
        assert status == 201
        assert job["duration"] == 1.0  # nominal 1 ms per shot
        assert w.state.default_user.qpu_seconds == 0.5
        await w.call("POST", "/api/jobs", headers=API, json=body)
        assert w.state.default_user.qpu_seconds == -0.5
        status, err = await w.call("POST", "/api/jobs", headers=API, json=body)
        assert (status, err["message"]) == (403, "Insufficient QPU seconds balance.")
        # Approval of a time request adds seconds back.
        user = await w.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        request = {"user": w.state.default_user.id, "status": "pending", "seconds": 10}
        status, rec = await w.call(
            "POST", "/api/collections/qpu_time_requests/records", headers=user, json=request
        )
        assert status == 200
        path = f"/api/collections/qpu_time_requests/records/{rec['id']}"
        status, err = await w.call("PATCH", path, headers=user, json={"status": "approved"})
        assert (status, err["message"]) == (403, "Only administrators can update time requests.")
        admin = await w.login(DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, "_superusers")
        status, _ = await w.call("PATCH", path, headers=admin, json={"status": "approved"})
        assert status == 200
        assert w.state.default_user.qpu_seconds == 9.5
        status, err = await w.call("PATCH", path, headers=admin, json={"status": "rejected"})
        assert status == 400  # already reviewed


async def test_time_request_body_must_satisfy_the_create_rule() -> None:
    async with wire() as w:
        user = await w.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        status, err = await w.call(
            "POST",
            "/api/collections/qpu_time_requests/records",
            headers=user,
            json={"seconds": 10, "requested_reason": "as qpi-client sends it"},
        )
        assert (status, err["message"]) == (400, "Failed to create record.")


async def test_booked_slot_gives_its_owner_priority() -> None:
    clock = Clock(lambda: 0.0)
    async with wire(clock=clock, exec_time=10.0) as w:
        other = w.state.add_user("other@qpi.local", "pw-other", qpu_seconds=100)
        w.state.add_token(other.id, "qpi_other")
        owner_hdr = await w.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        start = w.state.wall() + timedelta(seconds=5)
        slot = {
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=1)).isoformat(),
            "booked_by": w.state.default_user.id,
        }
        status, _ = await w.call(
            "POST", "/api/collections/time_slots/records", headers=owner_hdr, json=slot
        )
        assert status == 200
        body = {"circuits": [{"circuit": BELL}], "shots": 10, "qpu_target": "qpi"}
        theirs = {"X-API-Token": "qpi_other"}
        _, first = await w.call("POST", "/api/jobs", headers=theirs, json=body)
        _, second = await w.call("POST", "/api/jobs", headers=theirs, json=body)
        _, mine = await w.call("POST", "/api/jobs", headers=API, json=body)
        assert first["status"] == "running"
        w.server.advance(10.0)  # first finishes inside the owner's slot: the owner goes next
        statuses = {
            name: (await w.call("GET", f"/api/jobs/{j['id']}", headers=h))[1]["status"]
            for name, j, h in (
                ("first", first, theirs),
                ("second", second, theirs),
                ("mine", mine, API),
            )
        }
        assert statuses == {"first": "completed", "second": "pending", "mine": "running"}
        # Other users' jobs are invisible.
        status, err = await w.call("GET", f"/api/jobs/{mine['id']}", headers=theirs)
        assert (status, err["message"]) == (404, "Job not found.")


async def test_slot_validation() -> None:
    async with wire() as w:
        hdr = await w.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        me = w.state.default_user.id
        now = w.state.wall()
        path = "/api/collections/time_slots/records"

        def slot(a: float, b: float, owner: str | None = me) -> dict[str, Any]:
            out = {
                "start_time": (now + timedelta(hours=a)).isoformat(),
                "end_time": (now + timedelta(hours=b)).isoformat(),
            }
            if owner is not None:
                out["booked_by"] = owner
            return out

        cases = [
            (slot(-1, 1), "Cannot book a slot in the past."),
            (slot(2, 1), "End time must be after start time."),
            (slot(1, 2, owner=None), "Failed to create record."),  # create rule on the body
            (
                {"start_time": "soon", "end_time": "later", "booked_by": me},
                "Failed to create record.",
            ),
        ]
        for body, message in cases:
            status, err = await w.call("POST", path, headers=hdr, json=body)
            assert (status, err["message"]) == (400, message)
        status, ok = await w.call("POST", path, headers=hdr, json=slot(1, 2))
        assert status == 200
        status, err = await w.call("POST", path, headers=hdr, json=slot(1.5, 3))
        assert err["message"] == "Time slot overlaps with an existing booking."
        status, _ = await w.call("DELETE", f"{path}/{ok['id']}", headers=hdr)
        assert status == 204


async def test_admin_routes_refuse_ordinary_users_and_qpu_admin_flow() -> None:
    async with wire() as w:
        user = await w.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        for hdr in (API, user):
            status, err = await w.call(
                "POST", "/api/op/qpus/create", headers=hdr, json={"name": "x"}
            )
            assert (status, err["message"]) == (403, "Admin access required.")
            status, err = await w.call(
                "POST", "/api/op/qpu/toggle", headers=hdr, json={"id": "qpi", "enabled": False}
            )
            assert status == 403
        status, err = await w.call(
            "PATCH",
            f"/api/collections/users/records/{w.state.default_user.id}",
            headers=user,
            json={"qpu_seconds": 1e9},
        )
        assert (status, err["message"]) == (403, "Only administrators can allocate QPU time.")
        admin = await w.login(DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, "_superusers")
        status, made = await w.call(
            "POST", "/api/op/qpus/create", headers=admin, json={"name": "lab", "num_qubits": 2}
        )
        assert status == 201
        assert w.state.qpus["lab"].access_hash == hash_secret(made["access_token"])
        status, _ = await w.call(
            "POST",
            "/api/op/qpus/connect",
            json={"name": "lab", "access_token": made["access_token"]},
        )
        assert status == 200
        status, qpus = await w.call("GET", "/api/qpus")
        assert [q["name"] for q in qpus] == ["qiskit_aer", "qpi", "lab"]


async def test_collection_pages_and_records() -> None:
    async with wire() as w:
        admin = await w.login(DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, "_superusers")
        for i in range(4):
            await w.call(
                "POST",
                "/api/collections/notifications/records",
                headers=admin,
                json={"title": f"n{i}", "message": "m", "target_users": []},
            )
        user = await w.login(DEFAULT_USER_EMAIL, DEFAULT_USER_PASSWORD)
        status, page = await w.call(
            "GET", "/api/collections/notifications/records?perPage=2&page=3", headers=user
        )
        assert status == 200
        assert (page["page"], page["perPage"], page["totalPages"], page["totalItems"]) == (
            3,
            2,
            3,
            5,
        )
        assert len(page["items"]) == 1
        assert page["items"][0]["collectionName"] == "notifications"
        status, jobs = await w.call("GET", "/api/collections/quantum_jobs/records", headers=user)
        assert jobs["items"] == []
        status, _ = await w.call(
            "POST",
            "/api/collections/notifications/records",
            headers=user,
            json={"title": "t", "message": "m"},
        )
        assert status == 403
