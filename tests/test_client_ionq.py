"""IonQClient against the real IonQ emulator over loopback: every method, lifecycle, results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs import Circuit, Expr, InputError, Instruction, JobStatus
from qjobs.emulators import Clock, Server
from qjobs.providers.ionq import IonQClient
from qjobs.transport import RateLimit

pytestmark = pytest.mark.anyio

BELL_QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""


def bell() -> Circuit:
    return Circuit.from_qasm(BELL_QASM, name="bell")


def g(name: str, *qubits: int, params: tuple[Any, ...] = ()) -> Instruction:
    return Instruction(name, tuple(qubits), tuple(params))


def m(q: int, c: int) -> Instruction:
    return Instruction("measure", (q,), (), (c,))


@asynccontextmanager
async def ionq(
    *, client_options: dict[str, Any] | None = None, **serve_options: Any
) -> AsyncIterator[tuple[Server, IonQClient]]:
    async with qjobs.emulators.serve("ionq", **serve_options) as server:
        options: dict[str, Any] = {"rate_limit": RateLimit(requests_per_second=None)}
        options.update(client_options or {})
        client = qjobs.connect("ionq", token="t", base_url=server.base_url, **options)
        assert isinstance(client, IonQClient)
        async with client:
            yield server, client


# ------------------------------------------------------------------------------- lifecycle
async def test_lifecycle_statuses_follow_the_emulator_clock() -> None:
    clock = Clock(lambda: 0.0)
    async with ionq(clock=clock, queue_time=10.0, exec_time=5.0) as (server, client):
        job = await client.submit(bell(), shots=100)
        assert job.status is JobStatus.QUEUED
        assert job.provider_status == "submitted"
        assert job.backend == "simulator"
        assert job.tags["shots"] == "100"
        assert job.tags["qjobs_meas"] == "0,1"
        seen = [(await client.get_job(job.id)).provider_status]
        for step in (6.0, 5.0, 5.0):
            server.advance(step)
            seen.append((await client.get_job(job.id)).provider_status)
        assert seen == ["submitted", "ready", "started", "completed"]
        done = await client.get_job(job.id)
        assert done.status is JobStatus.COMPLETED
        assert done.is_final
        assert done.created_at is not None
        assert done.completed_at is not None
        res = await client.result(done)
        assert res.counts == {"00": 50, "11": 50}
        np.testing.assert_allclose(res.probabilities, [0.5, 0.0, 0.0, 0.5], rtol=0, atol=1e-12)
        assert res.shots == 100
        assert res.job_id == job.id


async def test_run_and_wait() -> None:
    async with ionq() as (server, client):
        res = await client.run(bell(), shots=1000)
        assert res.counts == {"00": 500, "11": 500}
        assert server.stats.jobs_created == 1
        job = await client.submit(bell(), shots=10)
        done = await client.wait(job, timeout=5)
        assert done.status is JobStatus.COMPLETED


async def test_wait_timeout_raises_without_cancelling() -> None:
    # The emulator's clock is frozen: the job stays queued however long the client polls.
    async with ionq(clock=Clock(lambda: 0.0), queue_time=60.0) as (server, client):
        job = await client.submit(bell(), shots=10)
        with pytest.raises(qjobs.JobTimeoutError) as info:
            await client.wait(job, timeout=0.05, poll_initial=0.01, poll_max=0.02)
        assert info.value.job_id == job.id
        assert server.stats.requests["GET /jobs/{id}"] >= 1
        assert server.stats.requests["PUT /jobs/{id}/status/cancel"] == 0
        assert server.stats.requests["PUT /jobs/status/cancel"] == 0
        assert (await client.get_job(job.id)).status is JobStatus.QUEUED
        server.advance(61.0)
        assert (await client.wait(job, timeout=5)).status is JobStatus.COMPLETED


async def test_results_are_cached_for_final_jobs() -> None:
    async with ionq() as (_server, client):
        job = await client.wait(await client.submit(bell(), shots=10))
        first = await client.results(job)
        before = client.transport.stats.requests["GET /jobs/{id}/results/probabilities"]
        second = await client.results(job)
        after = client.transport.stats.requests["GET /jobs/{id}/results/probabilities"]
        assert before == after == 1
        assert first[0].counts == second[0].counts


# ------------------------------------------------------------------- results vs. simulator
def _zoo() -> list[Circuit]:
    """Circuits with permuted, partial, repeated and absent measurements; several gates."""
    return [
        Circuit(
            3,
            3,
            (
                g("h", 0),
                g("ry", 1, params=(0.7,)),
                g("cx", 0, 2),
                g("cp", 1, 2, params=(1.1,)),
                g("h", 2),
                m(2, 0),
                m(0, 1),
                m(1, 2),
            ),
            name="permuted",
        ),
        Circuit(
            4,
            2,
            (g("u3", 3, params=(0.3, 0.4, 0.5)), g("ccx", 3, 0, 1), g("sx", 1), m(3, 1)),
            name="partial",
        ),
        Circuit(
            2,
            0,
            (g("u2", 0, params=(0.1, 0.9)), g("p", 0, params=(0.6,)), g("ch", 0, 1)),
            name="none",
        ),
        Circuit(
            3,
            2,
            (
                g("rxx", 0, 1, params=(0.4,)),
                g("ryy", 1, 2, params=(0.8,)),
                g("rzz", 0, 2, params=(0.2,)),
                g("cswap", 0, 1, 2),
                g("tdg", 2),
                g("h", 2),
                m(2, 1),
                m(2, 0),
            ),
            name="repeated",
        ),
    ]


async def test_multi_circuit_results_equal_the_simulator() -> None:
    circuits = _zoo()
    async with ionq() as (server, client):
        job = await client.submit(circuits, shots=1000, name="zoo")
        assert job.circuit_count == 4
        done = await client.wait(job)
        assert len(done.child_ids) == 4
        results = await client.results(done)
        assert server.stats.jobs_created == 1
    assert [r.index for r in results] == [0, 1, 2, 3]
    for circuit, res in zip(circuits, results, strict=True):
        expected = qjobs.sim.probabilities(circuit)
        assert res.probabilities.shape == expected.shape
        np.testing.assert_allclose(res.probabilities, expected, rtol=0, atol=1e-12)
        assert sum(res.counts.values()) == 1000
        assert res.num_clbits == (circuit.num_clbits or circuit.num_qubits)


async def test_single_circuit_results_equal_the_simulator() -> None:
    async with ionq() as (_server, client):
        for circuit in _zoo():
            res = await client.run(circuit, shots=333)
            expected = qjobs.sim.probabilities(circuit)
            np.testing.assert_allclose(res.probabilities, expected, rtol=0, atol=1e-12)
            assert sum(res.counts.values()) == 333


async def test_native_gates_results_equal_the_simulator() -> None:
    circuit = Circuit(
        3,
        0,
        (
            g("gpi2", 0, params=(0.1,)),
            g("gpi", 1, params=(0.3,)),
            g("ms", 0, 2, params=(0.0, 0.25, 0.25)),
            g("zz", 1, 2, params=(0.125,)),
            g("gpi2", 2, params=(0.5,)),
        ),
    )
    async with ionq() as (_server, client):
        job = await client.submit(circuit, shots=100)
        assert job.details["type"] == "ionq.circuit.v1"
        res = await client.result(await client.wait(job))
    np.testing.assert_allclose(res.probabilities, qjobs.sim.probabilities(circuit), atol=1e-12)


async def test_mid_circuit_measurement_goes_as_qasm3() -> None:
    source = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
c[0] = measure q[0];
cx q[0], q[1];
x q[0];
c[1] = measure q[1];
"""
    circuit = Circuit.from_qasm(source)
    async with ionq() as (_server, client):
        job = await client.submit(circuit, shots=200)
        assert job.details["type"] == "ionq.qasm3.v1"
        res = await client.result(await client.wait(job))
    np.testing.assert_allclose(res.probabilities, qjobs.sim.probabilities(circuit), atol=1e-12)
    assert sum(res.counts.values()) == 200


async def test_memory_sharpen_and_raw_probabilities() -> None:
    circuit = Circuit(3, 2, (g("h", 1), g("cx", 1, 2), m(2, 0), m(1, 1)))
    async with ionq() as (_server, client):
        job = await client.wait(await client.submit(circuit, shots=64))
        (res,) = await client.results(job, memory=True, sharpen=True)
        assert res.memory is not None
        assert res.memory.shape == (64,)
        assert set(res.memory.tolist()) <= {0b00, 0b11}
        assert sum(res.counts.values()) == 64
        assert res.counts == {
            format(k, "02b"): int(n)
            for k, n in enumerate(np.bincount(res.memory, minlength=4))
            if n
        }
        raw = await client.probabilities(job, sharpen=False)
        # Qubit outcomes (bit i = qubit i), before the measurement map is applied.
        assert raw == pytest.approx({"0": 0.5, "6": 0.5}, abs=1e-12)
        multi = await client.wait(await client.submit([circuit, bell()], shots=16))
        results = await client.results(multi, memory=True)
        assert [r.memory.shape for r in results if r.memory is not None] == [(16,), (16,)]
        aggregated = await client.probabilities(multi)
        assert list(aggregated) == list(multi.child_ids)


async def test_failed_job_raises() -> None:
    async with ionq() as (_server, client):
        with pytest.raises(qjobs.JobFailedError) as info:
            await client.run(bell(), shots=10, name="qjobs_fail")
        assert info.value.code == "QJobsRequestedFailure"
        job = await client.submit(bell(), shots=10, name="qjobs_fail")
        failed = await client.wait(job)
        assert failed.status is JobStatus.FAILED
        assert failed.failure is not None
        with pytest.raises(qjobs.JobFailedError):
            await client.results(failed)


async def test_results_of_unfinished_job_raise_job_error() -> None:
    async with ionq(clock=Clock(lambda: 0.0), queue_time=10.0) as (_server, client):
        job = await client.submit(bell(), shots=10)
        with pytest.raises(qjobs.JobError, match="not completed"):
            await client.results(job)


# ------------------------------------------------------------------------- listing, batches
async def test_get_jobs_batches_ids() -> None:
    caps = qjobs.Capabilities(status_batch_size=3, submit_key=True)
    async with ionq(client_options={"capabilities": caps}) as (_server, client):
        jobs = [await client.submit(bell(), shots=5) for _ in range(7)]
        ids = [j.id for j in reversed(jobs)]
        client.transport.stats.reset()
        got = await client.get_jobs(ids)
        assert [j.id for j in got] == ids
        assert all(j.status is JobStatus.COMPLETED for j in got)
        assert client.transport.stats.requests == {"GET /jobs": 3}
        with pytest.raises(qjobs.NotFoundError):
            await client.get_jobs([ids[0], "00000000-0000-0000-0000-000000000000"])
        assert await client.get_jobs([]) == []


async def test_iter_jobs_follows_every_page_and_filters() -> None:
    async with ionq() as (_server, client):
        made = [await client.submit(bell(), shots=5, name=f"j{i}") for i in range(5)]
        await client.submit(bell(), shots=5, backend="qpu.aria-1")
        client.transport.stats.reset()
        seen = [j.id async for j in client.iter_jobs(backend="simulator", limit=2)]
        assert sorted(seen) == sorted(j.id for j in made)
        assert client.transport.stats.requests["GET /jobs"] == 3
        done = [j async for j in client.iter_jobs(status="completed", max_pages=1, limit=2)]
        assert len(done) == 2
        with pytest.raises(InputError):
            [j async for j in client.iter_jobs(ids="not-a-list")]


async def test_find_by_key() -> None:
    async with ionq() as (_server, client):
        job = await client.submit(bell(), shots=5, key="exp-42")
        await client.submit(bell(), shots=5, key="exp-43")
        found = await client.find_by_key("exp-42")
        assert found is not None
        assert found.id == job.id
        assert found.tags["qjobs_key"] == "exp-42"
        assert await client.find_by_key("nope") is None


# ------------------------------------------------------------------------- cancel, delete
async def test_cancel_cancel_many_and_delete() -> None:
    async with ionq(clock=Clock(lambda: 0.0), queue_time=100.0) as (server, client):
        jobs = [await client.submit(bell(), shots=5) for _ in range(4)]
        await client.cancel(jobs[0])
        assert (await client.get_job(jobs[0].id)).status is JobStatus.CANCELLED
        client.transport.stats.reset()
        await client.cancel_many([*jobs[1:], jobs[1].id])
        assert client.transport.stats.requests == {"PUT /jobs/status/cancel": 1}
        states = await client.get_jobs([j.id for j in jobs])
        assert {j.status for j in states} == {JobStatus.CANCELLED}
        assert {j.provider_status for j in states} == {"canceled"}
        with pytest.raises(qjobs.JobCancelledError):
            client.raise_for_job(states[0])
        await client.cancel(jobs[0])  # cancelling a final job is not an error
        await client.delete(jobs[0])
        with pytest.raises(qjobs.NotFoundError):
            await client.get_job(jobs[0].id)
        server.advance(1000.0)


async def test_cancel_many_chunks_by_hundred() -> None:
    async with ionq(clock=Clock(lambda: 0.0), queue_time=100.0) as (_server, client):
        ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(250)]
        await client.cancel_many(ids)
        assert client.transport.stats.requests == {"PUT /jobs/status/cancel": 3}


# ------------------------------------------------------------- backends, characterizations
async def test_backends_and_characterizations() -> None:
    async with ionq() as (_server, client):
        backends = await client.backends()
        names = {b.name for b in backends}
        assert {"simulator", "qpu.aria-1", "qpu.forte-1"} <= names
        sim = next(b for b in backends if b.name == "simulator")
        assert sim.simulator
        assert sim.qubits == 29
        assert sim.max_shots == 100_000
        one = await client.backend("qpu.forte-1")
        assert one.qubits == 36
        assert not one.simulator
        chars = await client.characterizations("qpu.aria-1", limit=2)
        assert len(chars) == 2
        assert chars[0].date is not None
        assert chars[1].date is not None
        assert chars[0].date > chars[1].date
        latest = await client.characterization("qpu.aria-1")
        assert latest is not None
        assert latest.id == chars[0].id
        assert latest.fidelity["spam"]["median"] > 0.9
        assert latest.connectivity[0] == (0, 1)
        with pytest.raises(qjobs.NotFoundError):
            await client.backend("qpu.nope")
        with pytest.raises(InputError):
            await client.characterizations("qpu.aria-1", limit=0)


async def test_estimate_counts_gates_from_circuits() -> None:
    async with ionq() as (_server, client):
        est = await client.estimate(bell(), backend="qpu.forte-1", shots=100)
        assert est.input_values["1q_gates"] == 1
        assert est.input_values["2q_gates"] == 1
        assert est.input_values["qubits"] == 2
        assert est.cost_unit == "usd"
        assert est.estimated_cost is not None
        assert est.estimated_cost > 0
        free = await client.estimate(backend="simulator", shots=10, one_qubit_gates=3, qubits=1)
        assert free.estimated_cost == 0


# ---------------------------------------------------------------------------------- sessions
async def test_sessions() -> None:
    async with ionq(clock=Clock(lambda: 0.0), queue_time=50.0) as (_server, client):
        s = await client.create_session("qpu.aria-1", job_count_limit=5, cost_limit=100.0)
        assert s.backend == "qpu.aria-1"
        assert s.is_active
        job = await client.submit(bell(), shots=10, backend="qpu.aria-1", session_id=s.id)
        assert job.session_id == s.id
        again = await client.get_session(s.id)
        assert again.settings["job_count_limit"] == 5
        ended = await client.end_session(s)
        assert ended is not None
        assert not ended.is_active

        async with client.session("qpu.aria-1") as ok:
            await client.submit(bell(), shots=10, backend="qpu.aria-1", session_id=ok.id)
        assert not (await client.get_session(ok.id)).is_active

        other = await client.submit(bell(), shots=10, backend="qpu.aria-1")
        made: list[tuple[str, str]] = []

        async def failing_block() -> None:
            async with client.session("qpu.aria-1") as bad:
                queued = await client.submit(
                    bell(), shots=10, backend="qpu.aria-1", session_id=bad.id
                )
                made.append((bad.id, queued.id))
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await failing_block()
        ((bad_id, queued_id),) = made
        assert (await client.get_job(queued_id)).status is JobStatus.CANCELLED
        assert (await client.get_job(other.id)).status is JobStatus.QUEUED
        assert not (await client.get_session(bad_id)).is_active


# ------------------------------------------------------------------ input checked up front
async def _no_requests(client: IonQClient, server: Server) -> None:
    assert client.transport.stats.total == 0
    assert server.stats.total_requests == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"shots": 0}, "shots"),
        ({"shots": 100_001}, "shots"),
        ({"shots": 1.5}, "shots"),
        ({"shots": 10, "metadata": {"a": 1}}, "metadata['a']"),
        ({"shots": 10, "metadata": {"qjobs_key": "x"}}, "metadata['qjobs_key']"),
        ({"shots": 10, "key": ""}, "key"),
        ({"shots": 10, "key": "k" * 200}, "key"),
        ({"shots": 10, "backend": "qpu.aria-1", "noise": "ideal"}, "noise"),
        ({"shots": 10, "noise": 3}, "noise"),
        ({"shots": 10, "gateset": "native"}, "gateset"),
        ({"shots": 10, "backend": "a/b"}, "backend"),
        ({"shots": 10, "error_mitigation": "yes"}, "error_mitigation"),
        ({"shots": 10, "frobnicate": True}, "frobnicate"),
        ({"shots": 10, "dry_run": "no"}, "dry_run"),
    ],
)
async def test_bad_submit_arguments_make_no_request(kwargs: dict[str, Any], field: str) -> None:
    async with ionq() as (server, client):
        with pytest.raises(InputError) as info:
            await client.submit(bell(), **kwargs)
        assert info.value.field == field
        await _no_requests(client, server)


async def test_bad_circuits_make_no_request() -> None:
    theta = Expr.sym("theta")
    unbound = Circuit(1, 0, (g("rx", 0, params=(theta,)),))
    mixed = Circuit(2, 0, (g("h", 0), g("gpi", 1, params=(0.1,))))
    async with ionq() as (server, client):
        for circuits, field in (
            (unbound, "circuit.parameters"),
            ([bell(), unbound], "circuits[1].parameters"),
            (mixed, "circuit.instructions[1]"),
            ([], "circuits"),
            ("OPENQASM 2.0;", "circuits"),
            ([bell()] * 101, "circuits"),
        ):
            with pytest.raises(InputError) as info:
                await client.submit(circuits, shots=10)
            assert info.value.field == field
        await _no_requests(client, server)


async def test_payload_limit_is_checked_before_sending() -> None:
    caps = qjobs.Capabilities(max_payload_bytes=500, max_circuits_per_job=10)
    async with ionq(client_options={"capabilities": caps}) as (server, client):
        with pytest.raises(InputError, match="max_payload_bytes"):
            await client.submit([bell()] * 10, shots=10)
        await _no_requests(client, server)


async def test_backend_limits_come_from_the_catalogue_fetched_once() -> None:
    wide = Circuit(30, 0, (g("h", 29),))
    async with ionq() as (server, client):
        with pytest.raises(InputError) as info:
            await client.submit(wide, shots=10)
        assert "29 qubits" in str(info.value)
        with pytest.raises(InputError) as info:
            await client.submit(bell(), shots=10, backend="qpu.nope")
        assert info.value.field == "backend"
        await client.submit(bell(), shots=10, backend="qpu.forte-1")
        await client.submit(wide, shots=10, backend="qpu.forte-1")
        assert server.stats.requests["GET /backends"] == 1
        assert server.stats.requests["POST /jobs"] == 2
        assert server.stats.jobs_created == 2


async def test_submit_body_carries_options() -> None:
    async with ionq() as (_server, client):
        job = await client.submit(
            bell(),
            shots=20,
            name="named",
            noise={"model": "aria-1", "seed": 7},
            settings={"compilation": {"opt": 1}},
            error_mitigation=True,
            metadata={"experiment": "e1"},
        )
        got = await client.get_job(job.id)
        assert got.name == "named"
        assert got.details["noise"] == {"model": "aria-1", "seed": 7}
        assert got.details["settings"] == {
            "compilation": {"opt": 1},
            "error_mitigation": {"debiasing": True},
        }
        assert got.tags == {"experiment": "e1", "shots": "20", "qjobs_meas": "0,1"}
        res = await client.result(await client.wait(got))
        assert sum(res.counts.values()) == 20  # sampled noise model: counts still sum to shots
        dry = await client.wait(await client.submit(bell(), shots=5, dry_run=True))
        assert dry.details["dry_run"] is True
        with pytest.raises(qjobs.JobError, match="dry run"):
            await client.results(dry)


# ------------------------------------------------------------------------- headers on the wire
async def test_custom_headers_and_user_agent_reach_the_server() -> None:
    from qjobs.emulators.ionq import EMULATOR_KEY

    secret = "sk-wire-check-31415926"
    options = {
        "token": secret,
        "headers": {"X-Team": "qjobs-tests", "X-Trace": "t-1"},
        "user_agent": "my-app/2.0",
    }
    async with ionq(tokens=[secret]) as (server, _unused):
        async with qjobs.connect(
            "ionq", base_url=server.base_url, rate_limit=RateLimit(), **options
        ) as client:
            log = server.app[EMULATOR_KEY].requests
            job = await client.submit(bell(), shots=10)
            await client.results(await client.wait(job))
            await client.cancel(job)
        entries = log.entries
        # backends (catalogue), POST /jobs, GET /jobs/{id}, probabilities, cancel
        assert [(e.method, e.status) for e in entries][1:] == [
            ("POST", 201),
            ("GET", 200),
            ("GET", 200),
            ("PUT", 200),
        ]
        for entry in entries:
            assert entry.headers["X-Team"] == "qjobs-tests"
            assert entry.headers["X-Trace"] == "t-1"
            ua = entry.headers["User-Agent"]
            assert ua.startswith(f"qjobs/{qjobs.__version__} ")
            assert ua.endswith("ionq-client my-app/2.0")
            assert entry.headers["Authorization"] == "apiKey ***"
            assert secret not in repr(entry)
        post = entries[1]
        assert post.headers["Content-Type"] == "application/json"


async def test_custom_headers_cannot_override_the_credentials() -> None:
    from qjobs.emulators.ionq import EMULATOR_KEY

    async with ionq(tokens=["right"]) as (server, _unused):
        async with qjobs.connect(
            "ionq",
            token="right",
            base_url=server.base_url,
            headers={"Authorization": "apiKey wrong"},
        ) as client:
            await client.get_jobs([])
            assert [j async for j in client.iter_jobs()] == []
        last = server.app[EMULATOR_KEY].requests.last
        assert last is not None
        assert last.status == 200


# ------------------------------------------------------------------ dry runs, batch progress
async def test_dry_run_compiled_circuit_is_fetched_as_an_artifact() -> None:
    from qjobs.providers.ionq import circuits as codec

    async with ionq() as (server, client):
        dry = await client.wait(await client.submit(bell(), shots=5, dry_run=True))
        before = server.stats.requests["GET /jobs/{id}/artifacts/{artifact_id}"]
        compiled = await client.compiled_circuits(dry)
        assert server.stats.requests["GET /jobs/{id}/artifacts/{artifact_id}"] == before + 1
        assert list(compiled) == ["ionq.circuit.v1"]
        assert compiled["ionq.circuit.v1"]["input"] == codec.encode(bell()).input
        # by id too (the job is fetched first), and a real job has nothing compiled to show
        assert await client.compiled_circuits(dry.id) == compiled
        real = await client.wait(await client.submit(bell(), shots=5))
        assert await client.compiled_circuits(real) == {}
        with pytest.raises(qjobs.NotFoundError):
            await client.artifact(dry, "00000000-0000-4000-8000-000000000000")
        with pytest.raises(InputError) as info:
            await client.artifact(dry, "a/b")
        assert info.value.field == "artifact_id"


async def test_compiled_circuits_of_an_unfinished_job_raise() -> None:
    async with ionq(clock=Clock(lambda: 0.0), queue_time=10.0) as (_server, client):
        job = await client.submit(bell(), shots=5, dry_run=True)
        with pytest.raises(qjobs.JobError, match="not completed"):
            await client.compiled_circuits(job)


async def test_artifact_media_types() -> None:
    from aiohttp import web

    async def artifact(request: web.Request) -> web.Response:
        kind = request.match_info["aid"]
        assert request.query.get("extra") == "1"
        if kind == "text":
            return web.Response(text="OPENQASM 3.0;", content_type="text/plain")
        if kind == "bin":
            return web.Response(body=b"\x00\x01", content_type="application/octet-stream")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/v0.4/jobs/{id}/artifacts/{aid}", artifact)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with IonQClient(token="t", base_url=f"http://127.0.0.1:{port}/v0.4") as client:
            assert await client.artifact("j", "text", extra=1) == "OPENQASM 3.0;"
            assert await client.artifact("j", "bin", extra=1) == b"\x00\x01"
            assert await client.artifact("j", "json", extra=1) == {"ok": True}
    finally:
        await runner.cleanup()


async def test_batch_status_summarises_children() -> None:
    circuits = [bell(), bell(), bell()]
    async with ionq(clock=Clock(lambda: 0.0), queue_time=10.0, exec_time=5.0) as (server, client):
        job = await client.submit(circuits, shots=10)
        progress = await client.batch_status(job)
        assert progress.total == 3
        assert progress.counts == {JobStatus.QUEUED: 3}
        assert (progress.completed, progress.percentage_complete) == (0, 0.0)
        children = progress.job.child_ids
        assert [c.id for c in progress.children] == list(children)
        await client.cancel(children[1])
        server.advance(20.0)
        before = server.stats.total_requests
        progress = await client.batch_status(job.id)
        # one GET for the parent, one batched GET /jobs?ids= for the three children
        assert server.stats.total_requests == before + 2
        assert (progress.completed, progress.cancelled, progress.failed) == (2, 1, 0)
        assert progress.finished == 3
        assert progress.percentage_complete == pytest.approx(200 / 3)
        assert progress.statuses[children[1]] == "canceled"
        assert progress.statuses[children[0]] == "completed"
        single = await client.submit(bell(), shots=10)
        alone = await client.batch_status(single)
        assert alone.total == 1
        assert alone.children[0].id == single.id


async def test_sharpen_and_extra_query_parameters_reach_the_probabilities_request() -> None:
    from qjobs.emulators.ionq import EMULATOR_KEY

    async with ionq() as (server, client):
        job = await client.wait(await client.submit(bell(), shots=10))
        await client.results(job, sharpen=True, aggregation="voting")
        log = server.app[EMULATOR_KEY].requests
        last = log.last
        assert last is not None
        assert last.path == f"/v0.4/jobs/{job.id}/results/probabilities"
        assert sorted(last.query.split("&")) == ["aggregation=voting", "sharpen=true"]
        await client.probabilities(job, sharpen=False)
        assert log.last is not None
        assert log.last.query == "sharpen=false"
        with pytest.raises(InputError) as info:
            await client.results(job, sharpen="yes")  # type: ignore[arg-type]
        assert info.value.field == "sharpen"
