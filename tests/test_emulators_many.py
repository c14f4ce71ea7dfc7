"""``qjobs.emulators.serve_many``: every emulator on one port, each under ``/<name>``.

Real clients run a circuit against each mounted emulator; statistics, fault rules and the
reserved ``/_qjobs/...`` routes stay per emulator; IonQ's result URLs carry the mount.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from yarl import URL

import qjobs
from qjobs import Circuit
from qjobs.emulators import EmulatorContext, names, serve, serve_many
from qjobs.emulators._common import EmulatorOptions
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio

BELL = Circuit.from_qasm(
    'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2];'
    "h q[0]; cx q[0], q[1]; measure q -> c;"
)
X1 = Circuit.from_qasm(
    'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; x q[1]; measure q -> c;'
)

#: What each provider's client needs besides its base URL (see docs/<name>.md).
CLIENT_OPTIONS: dict[str, dict[str, Any]] = {
    "ionq": {"token": "t"},
    "kipu": {"token": "t"},
    "qbraid": {"token": "qb-token", "config_file": "/nonexistent/qbraidrc"},
    "qpi": {"token": "t"},
    "qibo": {"token": "t"},
}
#: A backend each provider's emulator runs (None: the client's default).
BACKENDS: dict[str, str | None] = {
    "ionq": "simulator",
    "kipu": None,
    "qbraid": "qbraid:qbraid:sim:qir-sv",
    "qpi": "qiskit_aer",
    "qibo": None,
}


def _client(name: str, base_url: str) -> Any:
    options = dict(CLIENT_OPTIONS[name], rate_limit=RateLimit(requests_per_second=None))
    return qjobs.connect(name, base_url=base_url, **options)


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_every_registered_emulator_on_one_port_runs_a_real_client() -> None:
    assert set(CLIENT_OPTIONS) == set(names())
    async with serve_many(seed=5) as servers:
        assert list(servers) == names()
        ports = {URL(s.base_url).port for s in servers.values()}
        assert len(ports) == 1
        for name, server in servers.items():
            assert server.name == name
            assert server.root_url.endswith(f"/{name}")
            assert server.base_url.startswith(server.root_url)
        assert URL(servers["ionq"].base_url).path == "/ionq/v0.4"
        assert URL(servers["qbraid"].base_url).path == "/qbraid/api/v1"
        assert URL(servers["kipu"].base_url).path == "/kipu/quantum"
        assert URL(servers["qpi"].base_url).path == "/qpi"
        assert URL(servers["qibo"].base_url).path == "/qibo"

        for name, server in servers.items():
            before = {n: s.stats.total_requests for n, s in servers.items()}
            async with _client(name, server.base_url) as client:
                result = await client.run(X1, shots=50, backend=BACKENDS[name])
            assert result.counts == {"10": 50}, name
            snap = server.stats.snapshot()
            assert snap["jobs_created"] == 1, name
            assert server.stats.total_requests > before[name], name
            assert snap["statuses"].get(404, 0) == 0, (name, snap["requests"])
            # Templates are relative to the provider's prefix, not to the mount.
            assert all(not key.split(" ", 1)[1].startswith(f"/{name}/") for key in snap["requests"])
            for other, count in before.items():
                if other != name:
                    assert servers[other].stats.total_requests == count, (name, other)
        # Every emulator created exactly its own job.
        assert [s.stats.jobs_created for s in servers.values()] == [1] * len(servers)


async def test_reserved_routes_are_per_emulator_under_its_mount() -> None:
    async with serve_many(["ionq", "qpi"]) as servers, aiohttp.ClientSession() as http:
        ionq, qpi = servers["ionq"], servers["qpi"]
        async with _client("ionq", ionq.base_url) as client:
            await client.run(BELL, shots=10, backend="simulator")
        status, stats = await _get(http, f"{ionq.root_url}/_qjobs/stats")
        assert status == 200
        assert stats["jobs_created"] == 1
        assert stats["requests"]["POST /jobs"] == 1
        assert stats["requests"]["GET /jobs/{id}/results/probabilities"] == 1
        status, stats = await _get(http, f"{qpi.root_url}/_qjobs/stats")
        assert (status, stats["jobs_created"], stats["requests"]) == (200, 0, {})
        # Reserved routes are not counted.
        assert "GET /_qjobs/stats" not in ionq.stats.snapshot()["requests"]

        async with http.delete(f"{ionq.root_url}/_qjobs/stats") as resp:
            assert resp.status == 200
        assert ionq.stats.total_requests == 0

        # IonQ's own reserved route records the requests with the path the client sent.
        status, recorded = await _get(http, f"{ionq.root_url}/_qjobs/ionq/requests")
        assert status == 200
        paths = [r["path"] for r in recorded["requests"]]
        assert "/ionq/v0.4/jobs" in paths

        # Unknown paths under a mount get that provider's error shape; outside, a plain 404.
        status, body = await _get(http, f"{qpi.base_url}/api/nowhere")
        assert status == 404
        assert body["status"] == 404  # PocketBase's shape
        assert qpi.stats.snapshot()["requests"] == {"GET /api/nowhere": 1}
        async with http.get(f"{qpi.root_url.rsplit('/', 1)[0]}/nowhere") as resp:
            assert resp.status == 404


async def test_ionq_result_urls_carry_the_mount() -> None:
    async with serve_many(["ionq", "kipu"]) as servers, aiohttp.ClientSession() as http:
        ionq = servers["ionq"]
        headers = {"Authorization": "apiKey t"}
        job = {
            "type": "ionq.circuit.v1",
            "backend": "simulator",
            "shots": 10,
            "input": {"gateset": "qis", "qubits": 2, "circuit": [{"gate": "x", "targets": [1]}]},
        }
        async with http.post(f"{ionq.base_url}/jobs", json=job, headers=headers) as resp:
            assert resp.status == 201
            job_id = (await resp.json())["id"]
        async with http.get(f"{ionq.base_url}/jobs/{job_id}", headers=headers) as resp:
            results = (await resp.json())["results"]
        url = results["probabilities"]["url"]
        assert url == f"/ionq/v0.4/jobs/{job_id}/results/probabilities"
        # Server-relative, as IonQ sends them: resolved against the origin it is the right route.
        origin = str(URL(ionq.base_url).origin())
        async with http.get(origin + url, headers=headers) as resp:
            assert resp.status == 200
            assert await resp.json() == {"2": 1.0}
    # Served alone, the URLs stay IonQ's own.
    async with serve("ionq") as alone, aiohttp.ClientSession() as http:
        async with http.post(f"{alone.base_url}/jobs", json=job, headers=headers) as resp:
            job_id = (await resp.json())["id"]
        async with http.get(f"{alone.base_url}/jobs/{job_id}", headers=headers) as resp:
            url = (await resp.json())["results"]["probabilities"]["url"]
        assert url == f"/v0.4/jobs/{job_id}/results/probabilities"


async def test_faults_on_one_emulator_leave_the_others_alone() -> None:
    async with serve_many(["ionq", "qibo", "kipu"]) as servers, aiohttp.ClientSession() as http:
        ionq, qibo, kipu = servers["ionq"], servers["qibo"], servers["kipu"]
        ionq.set_faults([{"kind": "status", "status": 400, "route": "GET /backends"}])
        # Over HTTP too, on another emulator's reserved route.
        rule = [{"kind": "status", "status": 400, "route": "GET /api/qibo_version/"}]
        async with http.post(f"{qibo.root_url}/_qjobs/faults", json=rule) as resp:
            assert resp.status == 200
        status, body = await _get(http, f"{kipu.root_url}/_qjobs/faults")
        assert (status, body) == (200, {"faults": []})

        async with http.get(f"{ionq.base_url}/backends") as resp:
            assert resp.status == 400
        async with http.get(f"{qibo.base_url}/api/qibo_version/") as resp:
            assert resp.status == 400
        async with _client("kipu", kipu.base_url) as client:
            result = await client.run(X1, shots=20)
        assert result.counts == {"10": 20}
        assert ionq.faults[0].fired == 1
        assert qibo.faults[0].fired == 1
        assert kipu.stats.snapshot()["faults_injected"] == {}
        assert ionq.stats.snapshot()["faults_injected"] == {"status": 1}

        async with http.delete(f"{ionq.root_url}/_qjobs/faults") as resp:
            assert resp.status == 200
        assert ionq.faults == []
        assert len(qibo.faults) == 1


async def test_initial_faults_are_copied_per_emulator() -> None:
    faults = [{"kind": "status", "status": 503, "route": "GET /jobs*", "count": 1}]
    async with serve_many(["ionq", "qbraid"], faults=faults) as servers:
        async with aiohttp.ClientSession() as http:
            for server in servers.values():
                async with http.get(f"{server.base_url}/jobs") as resp:
                    assert resp.status == 503
                async with http.get(f"{server.base_url}/jobs") as resp:
                    assert resp.status == 401  # the rule fired once, then auth answers
        assert [s.faults[0].fired for s in servers.values()] == [1, 1]
        assert servers["ionq"].faults[0] is not servers["qbraid"].faults[0]


async def test_serve_many_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="unknown emulator"):
        async with serve_many(["ionq", "nowhere"]):
            pass
    with pytest.raises(ValueError, match="once"):
        async with serve_many(["ionq", "ionq"]):
            pass
    with pytest.raises(ValueError, match="at least one"):
        async with serve_many([]):
            pass


def test_mount_must_be_a_path() -> None:
    options = EmulatorOptions()
    assert EmulatorContext(options).mount == ""
    assert EmulatorContext(options, mount="/ionq").mount == "/ionq"
    for bad in ("ionq", "/ionq/", "//x"):
        with pytest.raises(ValueError, match="mount"):
            EmulatorContext(options, mount=bad)
