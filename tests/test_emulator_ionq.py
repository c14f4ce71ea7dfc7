"""The IonQ v0.4 emulator over raw HTTP: every route, lifecycle, results, errors, faults."""

from __future__ import annotations

import ast
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from qjobs import Circuit, Instruction, sim
from qjobs.emulators import Clock, Server, serve
from qjobs.emulators._common import HTTPProblem
from qjobs.emulators._common.ionq_circuits import decode_circuit

AUTH = {"Authorization": "apiKey test-token"}
BELL = [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]


def job_body(circuit: list[dict[str, Any]] | None = None, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 100,
        "name": "bell",
        "input": {"gateset": "qis", "qubits": 2, "circuit": circuit or BELL},
        "metadata": {"shots": "100", "sampler_seed": "None", "qiskit_header": "H4sIabc"},
        "noise": {"model": "ideal", "seed": None},
    }
    body.update(over)
    return body


class Api:
    """A tiny raw-HTTP helper bound to one server."""

    def __init__(self, server: Server, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http

    async def call(
        self, method: str, path: str, *, json: Any = None, auth: bool = True, **kw: Any
    ) -> tuple[int, Any]:
        url = path if path.startswith("http") else self.server.base_url + path
        headers = AUTH if auth else {}
        async with self.http.request(method, url, json=json, headers=headers, **kw) as r:
            body = await r.json(content_type=None) if await r.read() else None
            return r.status, body

    async def ok(self, method: str, path: str, **kw: Any) -> Any:
        status, body = await self.call(method, path, **kw)
        assert status < 300, (status, body)
        return body

    async def submit(self, body: dict[str, Any] | None = None, **over: Any) -> str:
        created = await self.ok("POST", "/jobs", json=body or job_body(**over))
        assert created["status"] == "submitted"
        return str(created["id"])

    async def job(self, job_id: str) -> dict[str, Any]:
        body: dict[str, Any] = await self.ok("GET", f"/jobs/{job_id}")
        return body

    async def url(self, relative: str) -> Any:
        # Result URLs start with /v0.4/: join them to the server root, as a client would.
        assert relative.startswith("/v0.4/")
        return await self.ok("GET", self.server.root_url + relative)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def api(http: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async with serve("ionq", clock=Clock(lambda: 0.0), seed=5) as server:
        yield Api(server, http)


@pytest.fixture
async def slow_api(http: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async with serve("ionq", clock=Clock(lambda: 0.0), queue_time=2.0, exec_time=3.0) as server:
        yield Api(server, http)


def exact(circuit: Circuit) -> dict[str, float]:
    probs = sim.probabilities(circuit)
    return {str(k): float(p) for k, p in enumerate(probs) if p > 1e-12}


def assert_probs(got: dict[str, float], want: dict[str, float]) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9)


# -- circuit decoding ----------------------------------------------------------------------------


def test_decode_qis_aliases_and_controls() -> None:
    gates = [
        {"gate": "not", "targets": [0]},
        {"gate": "cnot", "targets": [1], "controls": [0]},
        {"gate": "v", "targets": [0]},
        {"gate": "vi", "targets": [0]},
        {"gate": "si", "targets": [0]},
        {"gate": "ti", "targets": [0]},
        {"gate": "z", "targets": [2], "rotation": 0.5},
        {"gate": "z", "targets": [2], "controls": [0], "rotation": 0.25},
        {"gate": "xx", "targets": [0, 1], "rotation": 0.1},
        {"gate": "yy", "targets": [0, 1], "rotation": 0.2},
        {"gate": "zz", "targets": [0, 1], "rotation": 0.3},
        {"gate": "x", "targets": [2], "controls": [0, 1]},
        {"gate": "rx", "targets": [1], "controls": [2], "rotation": 1.0},
        {"gate": "swap", "targets": [1, 2], "controls": [0]},
        {"gate": "H", "targets": [1]},
    ]
    circuit = decode_circuit(gates, "qis", 4, "input.circuit")
    assert circuit.num_qubits == 4
    assert [(i.name, i.qubits, i.params) for i in circuit.instructions] == [
        ("x", (0,), ()),
        ("cx", (0, 1), ()),
        ("sx", (0,), ()),
        ("sxdg", (0,), ()),
        ("sdg", (0,), ()),
        ("tdg", (0,), ()),
        ("p", (2,), (0.5,)),
        ("cp", (0, 2), (0.25,)),
        ("rxx", (0, 1), (0.1,)),
        ("ryy", (0, 1), (0.2,)),
        ("rzz", (0, 1), (0.3,)),
        ("ccx", (0, 1, 2), ()),
        ("crx", (2, 1), (1.0,)),
        ("cswap", (0, 1, 2), ()),
        ("h", (1,), ()),
    ]


def test_decode_native_gates_and_defaults() -> None:
    gates = [
        {"gate": "gpi", "target": 0, "phase": 0.1},
        {"gate": "gpi2", "target": 1, "phase": 0.2},
        {"gate": "ms", "targets": [0, 1], "phases": [0.3, 0.4], "angle": 0.1},
        {"gate": "ms", "targets": [1, 2]},
        {"gate": "zz", "targets": [0, 2], "angle": 0.05},
    ]
    circuit = decode_circuit(gates, "native", None, "input.circuit")
    assert circuit.num_qubits == 3
    assert [(i.name, i.qubits, i.params) for i in circuit.instructions] == [
        ("gpi", (0,), (0.1,)),
        ("gpi2", (1,), (0.2,)),
        ("ms", (0, 1), (0.3, 0.4, 0.1)),
        ("ms", (1, 2), (0.0, 0.0, 0.25)),
        ("zz", (0, 2), (0.05,)),
    ]


@pytest.mark.parametrize(
    ("gates", "gateset", "needle"),
    [
        ([{"gate": "foo", "targets": [0]}], "qis", "unknown gate 'foo'"),
        ([{"gate": "gpi", "target": 0, "phase": 0}], "qis", "unknown gate 'gpi'"),
        ([{"gate": "h", "targets": [0]}], "native", "unknown gate 'h'"),
        ([{"gate": "x", "targets": [3], "controls": [0, 1, 2]}], "qis", "3 control(s)"),
        ([{"gate": "v", "targets": [1], "controls": [0]}], "qis", "1 control(s)"),
        ([{"gate": "rx", "targets": [0]}], "qis", "needs a rotation"),
        ([{"gate": "h", "targets": [0], "rotation": 1}], "qis", "takes no rotation"),
        ([{"gate": "rx", "targets": [0], "rotation": "pi"}], "qis", "finite number"),
        ([{"gate": "h", "targets": [-1]}], "qis", "qubit index"),
        ([{"gate": "swap", "targets": [0]}], "qis", "2 target(s)"),
        ([{"gate": "cnot", "targets": [0], "controls": [0]}], "qis", "repeated qubit"),
        ("h", "qis", "must be a list"),
        ([{"gate": "h", "targets": [0]}], "pulse", "gateset"),
    ],
)
def test_decode_rejects(gates: Any, gateset: str, needle: str) -> None:
    with pytest.raises(HTTPProblem) as info:
        decode_circuit(gates, gateset, None, "input.circuit")
    assert info.value.status == 400
    assert needle in info.value.message


def test_emulator_is_independent_of_client_code() -> None:
    root = Path(__file__).resolve().parents[1] / "qjobs" / "emulators"
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("qjobs.providers", "qjobs.codecs")), (path, name)


# -- jobs and results ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bell_job_round_trip(api: Api) -> None:
    job_id = await api.submit()
    job = await api.job(job_id)
    assert job["status"] == "completed"
    assert job["type"] == "ionq.circuit.v1"
    assert job["metadata"] == job_body()["metadata"]
    assert job["noise"] == {"model": "ideal", "seed": None}
    assert job["stats"] == {"qubits": 2, "circuits": 1, "gate_counts": {"1q": 1, "2q": 1}}
    assert job["child_job_ids"] is None
    assert job["failure"] is None
    urls = job["results"]
    assert urls["probabilities"]["url"] == f"/v0.4/jobs/{job_id}/results/probabilities"
    probs = await api.url(urls["probabilities"]["url"])
    bell = Circuit(2, 0, (Instruction("h", (0,)), Instruction("cx", (0, 1))))
    assert_probs(probs, exact(bell))
    assert_probs(probs, {"0": 0.5, "3": 0.5})
    shots = await api.url(urls["shots"]["url"])
    assert len(shots) == 100
    assert set(shots) <= {"0", "3"}
    histogram = await api.url(urls["histogram"]["url"])
    assert histogram == {k: shots.count(k) for k in sorted(set(shots))}
    assert sum(histogram.values()) == 100


@pytest.mark.anyio
async def test_exact_distributions_and_idle_qubits(api: Api) -> None:
    # X on qubit 1 of 3: outcome 2 with certainty; qubit 2 is idle but counted in the width.
    job_id = await api.submit(
        job_body([{"gate": "x", "targets": [1]}], input=None)
        | {"input": {"gateset": "qis", "qubits": 3, "circuit": [{"gate": "x", "targets": [1]}]}}
    )
    job = await api.job(job_id)
    assert await api.url(job["results"]["probabilities"]["url"]) == {"2": 1.0}
    assert job["stats"]["qubits"] == 3
    # A wide, sparse circuit on qubit 20 of 25 still simulates (idle qubits stay |0>).
    wide = {"gateset": "qis", "qubits": 25, "circuit": [{"gate": "h", "targets": [20]}]}
    wide_id = await api.submit(job_body(input=wide, backend="qpu.aria-1", noise=None))
    probs = await api.ok("GET", f"/jobs/{wide_id}/results/probabilities")
    assert set(probs) <= {"0", str(1 << 20)}
    assert sum(probs.values()) == pytest.approx(1.0)


@pytest.mark.anyio
async def test_native_gateset_matches_simulator(api: Api) -> None:
    gates = [
        {"gate": "gpi2", "target": 0, "phase": 0.0},
        {"gate": "gpi", "target": 1, "phase": 0.25},
        {"gate": "ms", "targets": [0, 1], "phases": [0.0, 0.25], "angle": 0.25},
        {"gate": "zz", "targets": [1, 2], "angle": 0.125},
        {"gate": "gpi2", "target": 2, "phase": 0.5},
    ]
    body = job_body(input={"gateset": "native", "qubits": 3, "circuit": gates})
    job_id = await api.submit(body)
    probs = await api.ok("GET", f"/jobs/{job_id}/results/probabilities")
    want = Circuit(
        3,
        0,
        (
            Instruction("gpi2", (0,), (0.0,)),
            Instruction("gpi", (1,), (0.25,)),
            Instruction("ms", (0, 1), (0.0, 0.25, 0.25)),
            Instruction("zz", (1, 2), (0.125,)),
            Instruction("gpi2", (2,), (0.5,)),
        ),
    )
    assert_probs(probs, exact(want))


@pytest.mark.anyio
async def test_multi_circuit_children_and_aggregated(api: Api) -> None:
    circuits = [
        {"name": "bell", "circuit": BELL},
        {"name": "x1", "circuit": [{"gate": "x", "targets": [1]}]},
        {"name": "rot", "circuit": [{"gate": "ry", "targets": [0], "rotation": 1.0}]},
    ]
    body = job_body(
        type="ionq.multi-circuit.v1",
        name=None,
        input={"gateset": "qis", "qubits": 2, "circuits": circuits},
    )
    del body["name"]
    parent_id = await api.submit(body)
    parent = await api.job(parent_id)
    assert parent["name"] == "3 circuits"
    assert parent["stats"]["circuits"] == 3
    children = parent["child_job_ids"]
    assert len(children) == 3
    url = parent["results"]["probabilities"]["url"]
    assert url == f"/v0.4/jobs/{parent_id}/results/probabilities/aggregated"
    aggregated = await api.url(url)
    assert list(aggregated) == children
    wants = [
        Circuit(2, 0, (Instruction("h", (0,)), Instruction("cx", (0, 1)))),
        Circuit(2, 0, (Instruction("x", (1,)),)),
        Circuit(2, 0, (Instruction("ry", (0,), (1.0,)),)),
    ]
    for child_id, want in zip(children, wants, strict=True):
        assert_probs(aggregated[child_id], exact(want))
        child = await api.job(child_id)
        assert child["parent_job_id"] == parent_id
        assert child["status"] == "completed"
        assert_probs(await api.url(child["results"]["probabilities"]["url"]), exact(want))
        assert len(await api.url(child["results"]["shots"]["url"])) == 100
    listed = await api.ok("GET", "/jobs", params={"parent_job_id": parent_id})
    assert {j["id"] for j in listed["jobs"]} == set(children)
    histogram = await api.ok("GET", f"/jobs/{parent_id}/results/histogram")
    assert list(histogram) == children
    status, body = await api.call("GET", f"/jobs/{parent_id}/results/shots")
    assert status == 400
    assert api.server.stats.jobs_created == 1


@pytest.mark.anyio
async def test_qasm3_job_and_shot_registers(api: Api) -> None:
    source = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[1] mid;\nbit[2] result;\n'
        "x q[0];\nmid[0] = measure q[0];\nreset q[0];\nh q[1];\nresult = measure q;\n"
    )
    body = job_body(
        type="ionq.qasm3.v1",
        input={"qubits": 2, "data": source},
        settings={"compilation": {"service_version": "v0.4"}},
    )
    job_id = await api.submit(body)
    job = await api.job(job_id)
    assert job["settings"] == {"compilation": {"service_version": "v0.4"}}
    artifact = job["results"]["ionq.result.shots.json.v2"]["id"]
    probs = await api.url(job["results"]["probabilities"]["url"])
    circuit = Circuit.from_qasm(source)
    assert_probs(probs, exact(circuit))
    shots = (await api.ok("GET", f"/jobs/{job_id}/artifacts/{artifact}"))["shots"]
    assert len(shots) == 100
    for shot in shots:
        regs = shot["registers"]
        assert regs["mid"] == [1]
        assert regs["result"][0] == 0
        assert regs["result"][1] in (0, 1)
    status, _ = await api.call("GET", f"/jobs/{job_id}/artifacts/nope")
    assert status == 404
    status, err = await api.call(
        "POST",
        "/jobs",
        json=job_body(
            type="ionq.qasm3.v1", input={"qubits": 2, "data": "OPENQASM 3.0; qubit q; frob q;"}
        ),
    )
    assert status == 400
    assert "input.data" in err["message"]


@pytest.mark.anyio
async def test_noisy_and_qpu_probabilities_are_counts_over_shots(api: Api) -> None:
    circuit = [{"gate": "h", "targets": [0]}, {"gate": "h", "targets": [1]}]
    noisy = await api.submit(job_body(circuit, noise={"model": "aria-1", "seed": 11}, shots=1000))
    qpu = await api.submit(job_body(circuit, backend="qpu.forte-1", noise=None, shots=1000))
    for job_id in (noisy, qpu):
        probs = await api.ok("GET", f"/jobs/{job_id}/results/probabilities")
        histogram = await api.ok("GET", f"/jobs/{job_id}/results/histogram")
        assert {k: round(p * 1000) for k, p in probs.items()} == histogram
        for p in probs.values():
            assert math.isclose(p * 1000, round(p * 1000))
        assert sum(histogram.values()) == 1000
        assert len(probs) == 4
    assert (await api.job(qpu))["noise"] is None
    # noise.seed makes sampling reproducible across jobs
    again = await api.submit(job_body(circuit, noise={"model": "aria-1", "seed": 11}, shots=1000))
    assert await api.ok("GET", f"/jobs/{again}/results/shots") == await api.ok(
        "GET", f"/jobs/{noisy}/results/shots"
    )


@pytest.mark.anyio
async def test_same_seed_same_results_across_servers(http: aiohttp.ClientSession) -> None:
    outs = []
    for _ in range(2):
        async with serve("ionq", seed=42) as server:
            api = Api(server, http)
            job_id = await api.submit(job_body(noise={"model": "harmony"}))
            outs.append((job_id, await api.ok("GET", f"/jobs/{job_id}/results/shots")))
    assert outs[0] == outs[1]


@pytest.mark.anyio
async def test_sharpen_parsed_case_insensitively(api: Api) -> None:
    job_id = await api.submit()
    base = f"/jobs/{job_id}/results/probabilities"
    plain = await api.ok("GET", base)
    for value in ("True", "FALSE", "true", "false"):
        assert await api.ok("GET", base, params={"sharpen": value}) == plain
    status, err = await api.call("GET", base, params={"sharpen": "maybe"})
    assert status == 400
    assert "sharpen" in err["message"]


@pytest.mark.anyio
async def test_verbatim_fields_and_dry_run(api: Api) -> None:
    metadata = {"shots": "100", "qjobs_key": "k-1", "nested": {"a": [1, 2]}, "n": 3}
    settings = {"error_mitigation": {"debiasing": True}, "custom": [1]}
    body = job_body(metadata=metadata, settings=settings, extra_flag="x")
    job = await api.job(await api.submit(body))
    assert job["metadata"] == metadata
    assert job["settings"] == settings
    dry = await api.job(await api.submit(job_body(dry_run=True)))
    assert dry["dry_run"] is True
    assert dry["results"] is None
    compiled = dry["output"]["compilation"]["compiled_circuits"]["ionq.circuit.v1"]
    artifact = await api.ok("GET", f"/jobs/{dry['id']}/artifacts/{compiled['id']}")
    assert artifact["input"]["circuit"] == BELL
    status, _ = await api.call("GET", f"/jobs/{dry['id']}/results/probabilities")
    assert status == 400


# -- lifecycle -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_lifecycle_driven_by_the_clock(slow_api: Api) -> None:
    api = slow_api
    job_id = await api.submit()
    job = await api.job(job_id)
    assert job["status"] == "submitted"
    assert job["results"] is None
    assert job["started_at"] is None
    assert job["predicted_wait_time_ms"] == 2000
    status, err = await api.call("GET", f"/jobs/{job_id}/results/probabilities")
    assert status == 409
    assert "no results yet" in err["message"]
    api.server.advance(1.0)
    assert (await api.job(job_id))["status"] == "ready"
    assert api.server.stats.active_jobs == 1
    api.server.advance(1.0)
    job = await api.job(job_id)
    assert job["status"] == "started"
    assert job["started_at"] is not None
    assert job["completed_at"] is None
    api.server.advance(2.9)
    assert (await api.job(job_id))["status"] == "started"
    api.server.advance(0.1)
    job = await api.job(job_id)
    assert job["status"] == "completed"
    assert job["execution_duration_ms"] == 3000
    assert job["completed_at"] is not None
    assert api.server.stats.active_jobs == 0
    assert api.server.stats.peak_active_jobs == 1


@pytest.mark.anyio
async def test_peak_active_jobs_counts_overlap(slow_api: Api) -> None:
    api = slow_api
    first = await api.submit()
    api.server.advance(1.0)
    await api.submit()
    api.server.advance(1.0)
    await api.submit()
    assert api.server.stats.active_jobs == 3
    await api.ok("PUT", f"/jobs/{first}/status/cancel")
    assert api.server.stats.active_jobs == 2
    api.server.advance(10.0)
    snap = await api.ok("GET", api.server.root_url + "/_qjobs/stats")
    assert snap["jobs_created"] == 3
    assert snap["peak_active_jobs"] == 3
    assert snap["active_jobs"] == 0


@pytest.mark.anyio
async def test_cancel_one_many_and_delete(slow_api: Api) -> None:
    api = slow_api
    a, b, c = [await api.submit() for _ in range(3)]
    assert await api.ok("PUT", f"/jobs/{a}/status/cancel") == {"id": a, "status": "canceled"}
    api.server.advance(100.0)
    assert (await api.job(a))["status"] == "canceled"
    assert (await api.job(a))["started_at"] is None
    status, _ = await api.call("GET", f"/jobs/{a}/results/probabilities")
    assert status == 400
    d, e = await api.submit(), await api.submit()
    out = await api.ok("PUT", "/jobs/status/cancel", json={"ids": [d, e, "unknown"]})
    assert out == {"ids": [d, e], "status": "canceled"}
    assert {(await api.job(x))["status"] for x in (d, e)} == {"canceled"}
    # a completed job is not cancelled
    assert (await api.ok("PUT", f"/jobs/{b}/status/cancel"))["status"] == "completed"
    status, _ = await api.call("PUT", "/jobs/status/cancel", json={"ids": "x"})
    assert status == 400
    assert await api.ok("DELETE", f"/jobs/{c}") == {"id": c, "status": "deleted"}
    status, err = await api.call("GET", f"/jobs/{c}")
    assert status == 404
    assert err == {"statusCode": 404, "error": "Not Found", "message": f"job {c} not found"}
    status, _ = await api.call("PUT", "/jobs/nope/status/cancel")
    assert status == 404


@pytest.mark.anyio
async def test_cancel_parent_cancels_children_and_delete_removes_them(slow_api: Api) -> None:
    api = slow_api
    body = job_body(
        type="ionq.multi-circuit.v1",
        input={"gateset": "qis", "qubits": 2, "circuits": [{"circuit": BELL}, {"circuit": BELL}]},
    )
    parent = await api.submit(body)
    children = (await api.job(parent))["child_job_ids"]
    await api.ok("PUT", f"/jobs/{parent}/status/cancel")
    for child in children:
        assert (await api.job(child))["status"] == "canceled"
    await api.ok("DELETE", f"/jobs/{parent}")
    for child in children:
        assert (await api.call("GET", f"/jobs/{child}"))[0] == 404


@pytest.mark.anyio
async def test_failed_jobs_on_request(http: aiohttp.ClientSession) -> None:
    async with serve("ionq") as server:
        api = Api(server, http)
        by_name = await api.job(await api.submit(job_body(name="please qjobs_fail")))
        assert by_name["status"] == "failed"
        assert by_name["failure"]["code"] == "QJobsRequestedFailure"
        assert by_name["results"] is None
        by_meta = await api.job(await api.submit(job_body(metadata={"qjobs_fail": "1"})))
        assert by_meta["status"] == "failed"
        fine = await api.job(await api.submit())
        assert fine["status"] == "completed"
        status, _ = await api.call("GET", f"/jobs/{by_name['id']}/results/probabilities")
        assert status == 400
    async with serve("ionq", fail_rate=1.0) as server:
        api = Api(server, http)
        assert (await api.job(await api.submit()))["status"] == "failed"


# -- listing -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_filters_and_pagination(slow_api: Api) -> None:
    api = slow_api
    sim_ids = [await api.submit() for _ in range(3)]
    qpu_id = await api.submit(job_body(backend="qpu.aria-1", noise=None))
    api.server.advance(1.5)  # all "ready"
    listed = await api.ok("GET", "/jobs")
    assert [j["id"] for j in listed["jobs"]] == [qpu_id, *reversed(sim_ids)]
    assert listed["next"] is None
    repeated = await api.ok("GET", "/jobs", params=[("ids", sim_ids[0]), ("ids", sim_ids[2])])
    assert {j["id"] for j in repeated["jobs"]} == {sim_ids[0], sim_ids[2]}
    comma = await api.ok("GET", "/jobs", params={"ids": f"{sim_ids[1]},{qpu_id}"})
    assert {j["id"] for j in comma["jobs"]} == {sim_ids[1], qpu_id}
    target = await api.ok("GET", "/jobs", params={"target": "qpu.aria-1,qpu.forte-1"})
    assert [j["id"] for j in target["jobs"]] == [qpu_id]
    await api.ok("PUT", f"/jobs/{sim_ids[0]}/status/cancel")
    ready = await api.ok("GET", "/jobs", params={"status": "ready"})
    assert len(ready["jobs"]) == 3
    queued = await api.ok("GET", "/jobs", params={"status": "queued"})
    assert len(queued["jobs"]) == 3
    canceled = await api.ok("GET", "/jobs", params={"status": "canceled,completed"})
    assert [j["id"] for j in canceled["jobs"]] == [sim_ids[0]]
    pages: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "3"} | ({"next": cursor} if cursor else {})
        page = await api.ok("GET", "/jobs", params=params)
        pages.extend(j["id"] for j in page["jobs"])
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == [qpu_id, *reversed(sim_ids)]
    for bad in ({"limit": "0"}, {"limit": "x"}, {"next": "bogus"}, {"status": "running-ish"}):
        status, err = await api.call("GET", "/jobs", params=bad)
        assert status == 400, bad
        assert err["statusCode"] == 400


# -- validation and auth -------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"backend": "qpu.nowhere"}, "unknown backend"),
        ({"backend": None}, "unknown backend"),
        ({"shots": 0}, "shots"),
        ({"shots": "100"}, "shots"),
        ({"shots": True}, "shots"),
        ({"type": "ionq.pulse.v1"}, "unknown job type"),
        ({"noise": {"model": "rainy"}}, "noise.model"),
        ({"metadata": "x"}, "metadata"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"session_id": "nope"}, "session_id"),
        ({"input": {"gateset": "qis", "qubits": 30, "circuit": BELL}}, "exceed"),
        ({"input": {"gateset": "qis", "qubits": 1, "circuit": BELL}}, "input.qubits"),
        ({"input": {"gateset": "qis", "circuit": [{"gate": "u9", "targets": [0]}]}}, "u9"),
        ({"input": []}, "input"),
    ],
)
async def test_bad_requests_are_400_with_ionq_error_body(
    api: Api, override: dict[str, Any], needle: str
) -> None:
    status, err = await api.call("POST", "/jobs", json=job_body(**override))
    assert status == 400
    assert err["statusCode"] == 400
    assert isinstance(err["error"], str)
    assert needle in err["message"]
    assert api.server.stats.jobs_created == 0


@pytest.mark.anyio
async def test_too_many_qubits_for_qpu_and_malformed_json(api: Api) -> None:
    body = job_body(backend="qpu.aria-1", noise=None)
    body["input"] = {"gateset": "qis", "qubits": 26, "circuit": [{"gate": "h", "targets": [25]}]}
    status, err = await api.call("POST", "/jobs", json=body)
    assert status == 400
    assert err["error"] == "TooManyQubits"
    status, err = await api.call("POST", "/jobs", data=b'{"type": ', json=None)
    assert status == 400
    assert "not valid JSON" in err["message"]
    status, err = await api.call("POST", "/jobs", json=[1, 2])
    assert status == 400


@pytest.mark.anyio
async def test_authentication(http: aiohttp.ClientSession) -> None:
    async with serve("ionq", tokens=["good"]) as server:
        api = Api(server, http)
        url = f"{server.base_url}/jobs"
        for headers in (
            {},
            {"Authorization": "apiKey bad"},
            {"Authorization": "Bearer good"},
            {"Authorization": "apiKey "},
        ):
            async with http.get(url, headers=headers) as r:
                assert r.status == 401, headers
                body = await r.json()
                assert body["statusCode"] == 401
                assert body["error"] == "Unauthorized"
                assert "good" not in body["message"]
        async with http.get(url, headers={"Authorization": "apiKey good"}) as r:
            assert r.status == 200
        # backends need no credentials
        status, backends = await api.call("GET", "/backends", auth=False)
        assert status == 200
        assert {b["backend"] for b in backends} >= {"simulator", "qpu.aria-1", "qpu.forte-1"}
        status, _ = await api.call("GET", "/backends/simulator/characterizations", auth=False)
        assert status == 401


# -- backends, characterizations, estimate, sessions --------------------------------------------


@pytest.mark.anyio
async def test_backends(api: Api) -> None:
    expected = {"simulator": 29, "qpu.aria-1": 25, "qpu.forte-1": 36, "qpu.qpu": 36}
    for name, qubits in expected.items():
        backend = await api.ok("GET", f"/backends/{name}", auth=False)
        assert backend["backend"] == name
        assert backend["qubits"] == qubits
        assert backend["status"] == "available"
    assert "ideal" in (await api.ok("GET", "/backends/simulator"))["noise_models"]
    status, err = await api.call("GET", "/backends/qpu.nowhere", auth=False)
    assert status == 404
    assert err["error"] == "Not Found"


@pytest.mark.anyio
async def test_characterizations(api: Api) -> None:
    body = await api.ok("GET", "/backends/qpu.aria-1/characterizations", params={"limit": "1"})
    assert body["pages"] == 0
    (latest,) = body["characterizations"]
    assert latest["backend"] == "qpu.aria-1"
    assert latest["qubits"] == 25
    assert latest["status"] == "available"
    assert [0, 1] in latest["connectivity"]
    assert 0.9 < latest["fidelity"]["spam"]["median"] <= 1.0
    every = await api.ok("GET", "/backends/qpu.aria-1/characterizations")
    dates = [c["date"] for c in every["characterizations"]]
    assert dates == sorted(dates, reverse=True)
    assert len(dates) > 1
    status, _ = await api.call("GET", "/backends/qpu.nowhere/characterizations")
    assert status == 404


@pytest.mark.anyio
async def test_estimate(api: Api) -> None:
    params = {
        "type": "ionq.circuit.v1",
        "backend": "qpu.forte-1",
        "1q_gates": "10",
        "2q_gates": "5",
        "qubits": "2",
        "shots": "100",
        "error_mitigation": "false",
        "session": "false",
    }
    est = await api.ok("GET", "/jobs/estimate", params=params)
    assert est["input_values"]["backend"] == "qpu.forte-1"
    assert est["input_values"]["2q_gates"] == 5
    assert est["cost_unit"] == "usd"
    assert est["estimated_cost"] >= est["rate_information"]["minimum_cost"] > 0
    assert est["estimated_execution_time"] > 0
    free = await api.ok("GET", "/jobs/estimate", params=params | {"backend": "simulator"})
    assert free["estimated_cost"] == 0
    status, _ = await api.call("GET", "/jobs/estimate", params=params | {"qubits": "99"})
    assert status == 400
    status, _ = await api.call("GET", "/jobs/estimate", params=params | {"backend": "x"})
    assert status == 400


@pytest.mark.anyio
async def test_sessions(api: Api) -> None:
    session = await api.ok(
        "POST",
        "/sessions",
        json={"backend": "qpu.aria-1", "settings": {"job_count_limit": 2}},
    )
    sid = session["id"]
    assert session["state"] == "active"
    qpu = {"backend": "qpu.aria-1", "noise": None, "session_id": sid}
    created = await api.ok("POST", "/jobs", json=job_body(**qpu))
    assert created["session_id"] == sid
    await api.submit(job_body(**qpu))
    status, err = await api.call("POST", "/jobs", json=job_body(**qpu))
    assert status == 400
    assert "job_count_limit" in err["message"]
    status, err = await api.call("POST", "/jobs", json=job_body(session_id=sid))
    assert status == 400  # wrong backend for the session
    listed = await api.ok("GET", "/jobs", params={"session_id": sid})
    assert len(listed["jobs"]) == 2
    got = await api.ok("GET", f"/sessions/{sid}")
    assert got["job_count"] == 2
    assert got["usage_time"] == 0
    ended = await api.ok("POST", f"/sessions/{sid}/end")
    assert ended["state"] == "ended"
    assert ended["ended_at"] is not None
    other = await api.ok("POST", "/sessions", json={"backend": "qpu.aria-1"})
    await api.ok("POST", f"/sessions/{other['id']}/end")
    status, err = await api.call(
        "POST", "/jobs", json=job_body(**(qpu | {"session_id": other["id"]}))
    )
    assert status == 400
    assert "ended" in err["message"]
    assert (await api.call("GET", "/sessions/nope"))[0] == 404
    assert (await api.call("POST", "/sessions", json={"backend": "x"}))[0] == 400


# -- faults and stats on the IonQ routes ---------------------------------------------------------


@pytest.mark.anyio
async def test_drop_vs_drop_after_seen_in_jobs_created(api: Api) -> None:
    api.server.set_faults([{"route": "POST /jobs", "kind": "drop", "count": 1}])
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("POST", "/jobs", json=job_body())
    assert api.server.stats.jobs_created == 0
    api.server.set_faults([{"route": "POST /jobs", "kind": "drop_after", "count": 1}])
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("POST", "/jobs", json=job_body(metadata={"qjobs_key": "k-7"}))
    assert api.server.stats.jobs_created == 1
    listed = await api.ok("GET", "/jobs")
    assert listed["jobs"][0]["metadata"] == {"qjobs_key": "k-7"}


@pytest.mark.anyio
async def test_status_faults_use_ionq_error_shape(api: Api) -> None:
    await api.ok(
        "POST",
        api.server.root_url + "/_qjobs/faults",
        auth=False,
        json={"faults": [{"route": "GET /jobs/{id}", "kind": "status", "status": 502, "count": 1}]},
    )
    job_id = await api.submit()
    status, err = await api.call("GET", f"/jobs/{job_id}")
    assert status == 502
    assert err["statusCode"] == 502
    assert isinstance(err["error"], str)
    assert (await api.job(job_id))["status"] == "completed"
    api.server.set_faults([{"route": "GET /jobs/*/results/*", "kind": "malformed"}])
    async with api.http.get(
        f"{api.server.base_url}/jobs/{job_id}/results/probabilities", headers=AUTH
    ) as r:
        assert r.status == 200
        raw = await r.read()
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    await api.ok("DELETE", api.server.root_url + "/_qjobs/faults", auth=False)
    assert await api.ok("GET", f"/jobs/{job_id}/results/probabilities")


@pytest.mark.anyio
async def test_stats_by_route_template(api: Api) -> None:
    job_id = await api.submit()
    await api.job(job_id)
    await api.job(job_id)
    await api.ok("GET", f"/jobs/{job_id}/results/probabilities")
    await api.call("GET", "/jobs/nope")
    stats = await api.ok("GET", api.server.root_url + "/_qjobs/stats", auth=False)
    assert stats["requests"] == {
        "POST /jobs": 1,
        "GET /jobs/{id}": 3,
        "GET /jobs/{id}/results/probabilities": 1,
    }
    assert stats["statuses"] == {"200": 3, "201": 1, "404": 1}
    assert stats["jobs_created"] == 1
    assert stats["bytes_received"] > 0
    assert stats["bytes_sent"] > 0


def test_probabilities_sum_to_one_for_random_circuits() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        gates = [
            {"gate": "ry", "targets": [int(rng.integers(3))], "rotation": float(rng.uniform(0, 3))}
            for _ in range(4)
        ] + [{"gate": "x", "targets": [2], "controls": [0]}]
        circuit = decode_circuit(gates, "qis", 3, "input.circuit")
        assert sum(sim.probabilities(circuit)) == pytest.approx(1.0)


# -- request record and secrecy -----------------------------------------------------------------


@pytest.mark.anyio
async def test_request_record_keeps_headers_but_never_the_token(
    http: aiohttp.ClientSession,
) -> None:
    from qjobs.emulators.ionq import EMULATOR_KEY, REQUESTS_ROUTE

    secret = "sk-ionq-very-secret-0123456789"
    async with serve("ionq", tokens=[secret]) as server:
        emulator = server.app[EMULATOR_KEY]
        headers = {
            "Authorization": f"apiKey {secret}",
            "X-Team": "qjobs-tests",
            "X-Api-Key": secret,
            "User-Agent": "probe/1.0",
        }
        async with http.post(
            f"{server.base_url}/jobs", json=job_body(), headers=headers, params={"a": "1"}
        ) as r:
            assert r.status == 201
        last = emulator.requests.last
        assert last is not None
        assert (last.method, last.path, last.query, last.status) == (
            "POST",
            "/v0.4/jobs",
            "a=1",
            201,
        )
        assert last.headers["X-Team"] == "qjobs-tests"
        assert last.headers["User-Agent"] == "probe/1.0"
        assert last.headers["Authorization"] == "apiKey ***"
        assert last.headers["X-Api-Key"] == "***"
        # A rejected request is recorded too (the bad token is not).
        async with http.get(
            f"{server.base_url}/jobs", headers={"Authorization": "apiKey wrong-secret"}
        ) as r:
            assert r.status == 401
        assert emulator.requests.last is not None
        assert emulator.requests.last.status == 401
        # The reserved route needs no credentials, is not itself recorded or counted.
        total = server.stats.total_requests
        async with http.get(server.root_url + REQUESTS_ROUTE) as r:
            assert r.status == 200
            served = await r.json()
        assert [e["status"] for e in served["requests"]] == [201, 401]
        assert len(emulator.requests) == 2
        assert server.stats.total_requests == total
        text = json.dumps(served) + repr(emulator.requests.entries)
        assert secret not in text
        assert "wrong-secret" not in text
        async with http.delete(server.root_url + REQUESTS_ROUTE) as r:
            assert r.status == 200
        assert emulator.requests.last is None


def test_request_record_is_bounded_and_redacts_secret_looking_headers() -> None:
    from qjobs.emulators.ionq.state import MAX_RECORDED, RequestLog, redact_headers

    log = RequestLog()
    for i in range(MAX_RECORDED + 5):
        log.record("GET", f"/v0.4/jobs/{i}", "", 200, {})
    assert len(log) == MAX_RECORDED
    assert log.entries[0].path == "/v0.4/jobs/5"
    assert redact_headers(
        {"authorization": "tok", "Cookie": "s=1", "X-Auth-Token": "t", "Accept": "*/*"}
    ) == {"authorization": "***", "Cookie": "***", "X-Auth-Token": "***", "Accept": "*/*"}


@pytest.mark.anyio
async def test_emulator_never_logs_or_echoes_tokens(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    secret = "sk-ionq-emulator-secret-42"
    async with serve("ionq", tokens=[secret], seed=1) as server:
        answers: list[str] = []
        for token in (secret, secret + "-wrong", ""):
            headers = {"Authorization": f"apiKey {token}"}
            for method, path, body in (
                ("POST", "/jobs", job_body()),
                ("GET", "/jobs", None),
                ("GET", "/jobs/nope", None),
                ("POST", "/jobs", {"type": "bogus"}),
            ):
                async with http.request(
                    method, server.base_url + path, json=body, headers=headers
                ) as r:
                    answers.append(await r.text())
                    answers.append(repr(dict(r.headers)))
        async with http.get(server.root_url + "/_qjobs/stats") as r:
            answers.append(await r.text())
        answers += [repr(server), repr(server.stats.snapshot())]
    assert len(answers) > 20
    for text in [*answers, caplog.text]:
        assert secret not in text
