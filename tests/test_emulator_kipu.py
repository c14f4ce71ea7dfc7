"""The Kipu emulator on the wire (raw aiohttp): public routes, query keys, pages, errors."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

import qjobs

pytestmark = pytest.mark.anyio

QASM = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nbit[1] c;\nx q[0];\n'
    "c[0] = measure q[0];\n"
)
AUTH = {"X-Auth-Token": "t"}


async def test_public_backends_for_anonymous_callers() -> None:
    async with qjobs.emulators.serve("kipu") as server, aiohttp.ClientSession() as http:
        async with http.get(server.base_url + "/backends") as resp:
            assert resp.status == 200
            anonymous = await resp.json()
        async with http.get(server.base_url + "/backends", headers=AUTH) as resp:
            known = await resp.json()
        assert all("queue_size" not in b and b["has_calibration"] is False for b in anonymous)
        fez = next(b for b in known if b["id"] == "ibm.qpu.fez")
        assert fez["queue_size"] == 0
        assert fez["has_calibration"] is True
        async with http.get(server.base_url + "/jobs") as resp:
            assert resp.status == 401
            assert resp.content_type == "application/problem+json"
            body = await resp.json()
        assert body == {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": "missing or malformed credentials",
        }


async def test_pages_and_query_keys() -> None:
    async with qjobs.emulators.serve("kipu") as server, aiohttp.ClientSession(headers=AUTH) as http:
        ids = []
        for i in range(5):
            body: dict[str, Any] = {
                "backend_id": "aws.sim.sv1",
                "shots": 3,
                "input": QASM,
                "name": f"n{i}",
            }
            async with http.post(server.base_url + "/jobs", json=body) as resp:
                assert resp.status == 201
                ids.append((await resp.json())["id"])
        async with http.get(
            server.base_url + "/jobs", params=[("page", "1"), ("size", "2"), ("sort", "name,asc")]
        ) as resp:
            page = await resp.json()
        assert {k: page[k] for k in ("page", "size", "total_elements", "total_pages")} == {
            "page": 1,
            "size": 2,
            "total_elements": 5,
            "total_pages": 3,
        }
        assert [j["name"] for j in page["content"]] == ["n2", "n3"]
        assert set(page["content"][0]) >= {
            "backend_id",
            "created_at",
            "usage_time_state",
            "input_params",
        }
        async with http.get(server.base_url + "/jobs", params={"sort": "nope,asc"}) as resp:
            assert resp.status == 400
        params = [("type", "JOB"), ("backendId", "aws.sim.sv1"), ("origin", "STANDALONE")]
        async with http.get(server.base_url + "/workloads", params=params) as resp:
            assert (await resp.json())["total_elements"] == 5
        async with http.get(server.base_url + "/workloads", params={"type": "TASK"}) as resp:
            assert resp.status == 400
        async with http.get(f"{server.base_url}/jobs/{ids[0]}/result/normalized") as resp:
            pubs = (await resp.json())["pubs"]
        assert pubs == [
            {
                "index": 0,
                "name": "n0",
                "type": "counts",
                "key_format": "bitstring",
                "counts": {"1": 3},
                "shots": 3,
                "qubits": 1,
            }
        ]
        async with http.delete(f"{server.base_url}/jobs/{ids[0]}") as resp:
            assert resp.status == 204


async def test_calibration_history_needs_from_and_to() -> None:
    async with qjobs.emulators.serve("kipu") as server, aiohttp.ClientSession(headers=AUTH) as http:
        url = server.base_url + "/backends/ibm.qpu.fez/calibration-history"
        async with http.get(url, params={"from": "2020-01-01T00:00:00Z"}) as resp:
            assert resp.status == 400
            assert (await resp.json())["detail"] == "to: required"
        async with http.get(server.base_url + "/backends/aws.sim.sv1/calibration") as resp:
            assert resp.status == 204


async def test_bad_job_bodies_are_rejected_with_the_field() -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"shots": 1, "input": QASM}, 400, "backend_id"),
        ({"backend_id": "x.y", "shots": 1, "input": QASM}, 404, "Backend x.y"),
        ({"backend_id": "aws.sim.sv1", "shots": 0, "input": QASM}, 400, "shots"),
        ({"backend_id": "aws.sim.sv1", "shots": 1, "input": "nonsense"}, 400, "input"),
        (
            {"backend_id": "aws.sim.sv1", "shots": 1, "input": QASM, "input_format": "PERCEVAL"},
            400,
            "input_format",
        ),
        (
            {
                "backend_id": "azure.ionq.simulator",
                "shots": 1,
                "input": {"circuit": [{"type": "h"}]},
            },
            400,
            "targets",
        ),
        (
            {"backend_id": "aws.sim.sv1", "shots": 1, "input": QASM, "session_id": "s"},
            404,
            "Session s",
        ),
    ]
    async with qjobs.emulators.serve("kipu") as server, aiohttp.ClientSession(headers=AUTH) as http:
        for body, status, text in cases:
            async with http.post(server.base_url + "/jobs", json=body) as resp:
                assert resp.status == status, body
                assert text in (await resp.json())["detail"]
        assert server.stats.jobs_created == 0
