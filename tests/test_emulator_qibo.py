"""The Qibo emulator over raw HTTP: routes, trailing slashes, DRF errors, users, archives."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import aiohttp
import numpy as np
import pytest

import qjobs
from qjobs.emulators import Clock

pytestmark = pytest.mark.anyio

BELL = {
    "queue": [
        {
            "name": "h",
            "init_args": [0],
            "init_kwargs": {},
            "_target_qubits": [0],
            "_control_qubits": [],
            "_class": "H",
        },
        {
            "name": "cx",
            "init_args": [0, 1],
            "init_kwargs": {},
            "_target_qubits": [1],
            "_control_qubits": [0],
            "_class": "CNOT",
        },
        {
            "name": "measure",
            "init_args": [0, 1],
            "init_kwargs": {
                "register_name": None,
                "collapse": False,
                "basis": ["Z", "Z"],
                "p0": None,
                "p1": None,
            },
            "_target_qubits": [0, 1],
            "_control_qubits": [],
            "_class": "M",
            "measurement_result": {"samples": None},
        },
    ],
    "nqubits": 2,
    "density_matrix": False,
    "wire_names": [0, 1],
    "qibo_version": "0.3.2",
}


def body(**change: Any) -> dict[str, Any]:
    return {
        "circuit": BELL,
        "nshots": 200,
        "device": "sim",
        "project": "personal",
        "verbatim": False,
        **change,
    }


async def test_sdk_flow_statuses_and_archive() -> None:
    clock = Clock(lambda: 0.0)
    async with qjobs.emulators.serve("qibo", clock=clock, queue_time=4, exec_time=4) as server:
        base = server.base_url
        async with aiohttp.ClientSession(headers={"x-api-token": "a"}) as http:
            async with http.get(f"{base}/api/qibo_version/", headers={"x-api-token": ""}) as r:
                assert await r.json() == {
                    "server_qibo_version": "0.3.2",
                    "minimum_client_qibo_version": "0.3.0",
                }
            async with http.post(f"{base}/api/jobs/", json=body()) as r:
                assert r.status == 201
                posted = await r.json()
            pid = posted["pid"]
            assert posted["message"] == "Job posted"
            seen = []
            for step in (0, 3, 2, 2, 1):
                server.advance(step)
                async with http.get(f"{base}/api/jobs/{pid}/") as r:
                    job = await r.json()
                seen.append((job["status"], job["queue_position"], job["etd_seconds"]))
            assert seen == [
                ("queueing", None, None),
                ("pending", 1, 1),
                ("running", None, None),
                ("postprocessing", None, None),
                ("success", None, None),
            ]
            assert job["projectquota"]["partition"]["name"] == "sim"
            assert sum(job["frequencies"].values()) == 200
            async with http.get(f"{base}/api/jobs/{pid}/download/") as r:
                assert r.content_type == "application/gzip"
                data = await r.read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["results.npy", "stderr.txt", "stdout.txt"]
        npy = tar.extractfile("results.npy").read()  # type: ignore[union-attr]
    payload = np.load(io.BytesIO(npy), allow_pickle=True).item()  # the trusted side
    assert payload["dtype"] == "MeasurementOutcomes"
    assert payload["samples"].shape == (200, 2)
    assert json.loads(payload["measurements"][0])["_class"] == "M"
    assert set(map(tuple, payload["samples"].tolist())) <= {(0, 0), (1, 1)}


async def test_drf_errors_trailing_slashes_and_users() -> None:
    async with qjobs.emulators.serve("qibo", queue_time=60) as server:
        base = server.base_url
        async with aiohttp.ClientSession() as http:

            async def call(method: str, path: str, token: str = "a", **kw: Any) -> tuple[int, Any]:
                headers = {"x-api-token": token} if token else {}
                async with http.request(method, base + path, headers=headers, **kw) as r:
                    return r.status, (await r.json() if r.status != 204 else None)

            assert await call("GET", "/api/jobs/", token="") == (
                401,
                {"detail": "Authentication credentials were not provided."},
            )
            assert (await call("GET", "/api/jobs"))[0] == 404  # no trailing slash: no route
            assert await call("POST", "/api/jobs/", json=body(device="nope")) == (
                400,
                {"detail": "Device 'nope' does not exist."},
            )
            assert (await call("POST", "/api/jobs/", json=body(project="x")))[0] == 404
            assert (await call("POST", "/api/jobs/", json=body(nshots=0)))[0] == 400
            bad = {**BELL, "queue": [{"_class": "Nope", "_target_qubits": [0]}]}
            status, err = await call("POST", "/api/jobs/", json=body(circuit=bad))
            assert status == 400
            assert "unsupported gate" in err["detail"]
            status, posted = await call("POST", "/api/jobs/", json=body())
            pid = posted["pid"]
            assert (await call("GET", f"/api/jobs/{pid}/download/"))[0] == 400  # not finished
            assert (await call("GET", f"/api/jobs/{pid}/", token="b"))[0] == 404  # other user
            assert await call("GET", "/api/jobs/", token="b") == (200, [])
            assert await call("DELETE", "/api/jobs/bulk_delete/", token="b") == (
                200,
                {"deleted": []},
            )
            status, disk = await call("GET", "/api/disk_quota/")
            assert disk[0]["kbs_max"] == 1_000_000
            status, quotas = await call("GET", "/api/projectquotas/")
            sim = next(
                q for q in quotas if q["project"] == "personal" and q["partition"]["name"] == "sim"
            )
            assert sim["jobs_left"] == sim["jobs_max"] - 1
            assert sim["shots_left"] == sim["shots_max"] - 200
            assert await call("DELETE", f"/api/jobs/{pid}/") == (204, None)
            assert await call("GET", f"/api/jobs/{pid}/") == (
                404,
                {"detail": "No Job matches the given query."},
            )
        assert server.stats.requests["POST /api/jobs/"] == 5


async def test_list_positions_and_frequencies_match_each_job() -> None:
    """The list counts the queue once for all its jobs: the same positions as each job's own
    route (jobs of another user ahead count too), and the same frequencies on every read."""
    clock = Clock(lambda: 0.0)
    async with qjobs.emulators.serve("qibo", clock=clock, queue_time=4, exec_time=4) as server:
        base = server.base_url
        async with aiohttp.ClientSession() as http:
            pids = []
            for i, token in enumerate(["a", "b", "a", "b", "a"]):
                server.advance(0.5 if i else 0.0)
                async with http.post(
                    f"{base}/api/jobs/", json=body(), headers={"x-api-token": token}
                ) as r:
                    pids.append(((await r.json())["pid"], token))
            server.advance(1.6)  # four pending (two of them a's), the last still queueing
            async with http.get(f"{base}/api/jobs/", headers={"x-api-token": "a"}) as r:
                listed = {job["pid"]: job for job in await r.json()}
            assert len(listed) == 3
            for pid, token in pids:
                async with http.get(f"{base}/api/jobs/{pid}/", headers={"x-api-token": token}) as r:
                    own = await r.json()
                if token == "a":
                    assert listed[pid]["queue_position"] == own["queue_position"]
                    assert listed[pid]["status"] == own["status"]
            assert [listed[p]["queue_position"] for p, t in pids if t == "a"] == [1, 3, None]
            server.advance(10)  # all done
            reads = []
            for _ in range(2):
                async with http.get(f"{base}/api/jobs/", headers={"x-api-token": "b"}) as r:
                    reads.append({job["pid"]: job["frequencies"] for job in await r.json()})
            assert reads[0] == reads[1]
            assert all(sum(f.values()) == 200 for f in reads[0].values())
