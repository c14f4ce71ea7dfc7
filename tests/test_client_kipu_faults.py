"""KipuClient under injected faults (retries, Retry-After, idempotent submit), and Scheduler +
Sweep runs on the Kipu emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import numpy as np
import pytest

import qjobs
from qjobs import Circuit
from qjobs.emulators import Server
from qjobs.providers.kipu import KipuClient
from qjobs.sweep import Sweep
from qjobs.transport import RateLimit, RetryPolicy

pytestmark = pytest.mark.anyio

BELL = Circuit.from_qasm(
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n'
    "measure q -> c;\n",
    name="bell",
)


class Waits:
    """A recording replacement for the transport's sleep: no real waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@asynccontextmanager
async def hub(
    faults: list[dict[str, Any]] | None = None, **serve_options: Any
) -> AsyncIterator[tuple[Server, KipuClient, Waits]]:
    waits = Waits()
    async with qjobs.emulators.serve("kipu", faults=faults, **serve_options) as server:
        client = KipuClient(
            token="t",
            base_url=server.base_url,
            rate_limit=RateLimit(requests_per_second=None),
            retry=RetryPolicy(max_attempts=4, base_delay=0.01),
            transport_options={"sleep": waits},
        )
        async with client:
            await client.submit(BELL, shots=1)  # the catalogue is fetched once, here
            server.stats.reset()
            client.transport.stats.reset()
            yield server, client, waits


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_reads_retry_server_errors(status: int) -> None:
    async with hub() as (server, client, _waits):
        job = await client.submit(BELL, shots=1)
        server.set_faults([{"route": "GET /jobs/{id}", "status": status, "count": 2}])
        assert (await client.get_job(job.id)).id == job.id
        assert server.stats.requests["GET /jobs/{id}"] == 3
        assert client.transport.stats.retries == 2


async def test_dropped_connections_and_429_with_retry_after() -> None:
    async with hub() as (server, client, waits):
        server.set_faults(
            [
                {"route": "GET /workloads", "kind": "drop", "count": 1},
                {"route": "GET /workloads", "kind": "rate_limit", "retry_after": 7, "count": 1},
            ]
        )
        rows = [w async for w in client.workloads.search()]
        assert len(rows) == 1
        assert server.stats.requests["GET /workloads"] == 3
        assert 7.0 in waits.waits


async def test_retries_are_bounded_and_result_stream_retried_on_open() -> None:
    async with hub() as (server, client, _waits):
        job = await client.submit(BELL, shots=1)
        server.set_faults([{"route": "GET /runtime-minutes", "status": 502}])
        with pytest.raises(qjobs.ServerError):
            await client.runtime_minutes.get()
        assert server.stats.requests["GET /runtime-minutes"] == 4
        server.set_faults([{"route": "GET /jobs/{id}/result-stream", "status": 503, "count": 1}])
        import io

        sink = io.BytesIO()
        assert await client.jobs.stream_result(job, sink) > 0
        assert server.stats.requests["GET /jobs/{id}/result-stream"] == 2


async def test_malformed_body_raises() -> None:
    async with hub() as (server, client, _waits):
        server.set_faults([{"route": "GET /backends/{id}", "kind": "malformed", "count": 1}])
        with pytest.raises(qjobs.MalformedResponseError):
            await client.backends.get("aws.sim.sv1")


async def test_post_retried_only_when_nothing_happened() -> None:
    async with hub() as (server, client, waits):
        server.set_faults(
            [{"route": "POST /jobs", "kind": "rate_limit", "retry_after": 3, "count": 1}]
        )
        await client.submit(BELL, shots=1)
        assert server.stats.jobs_created == 1
        assert waits.waits == [3.0]
        server.set_faults([{"route": "POST /jobs", "kind": "drop_after", "count": 1}])
        with pytest.raises(qjobs.SubmitUncertainError):
            await client.submit(BELL, shots=1)
        assert server.stats.jobs_created == 2  # created once, never resent
        server.set_faults([{"route": "POST /jobs", "status": 500, "count": 1}])
        with pytest.raises(qjobs.ServerError):
            await client.jobs.create("aws.sim.sv1", shots=1, input=BELL)
        assert server.stats.requests["POST /jobs"] == 4


async def test_dropped_answer_with_key_creates_exactly_one_job() -> None:
    async with hub() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "kind": "drop_after", "count": 1}])
        job = await client.submit(BELL, shots=1, key="exp-1")
        assert server.stats.jobs_created == 1
        assert server.stats.requests["POST /jobs"] == 1
        assert server.stats.requests["GET /workloads"] == 1
        assert job.tags["qjobs_key"] == "exp-1"


async def test_server_error_with_key_looks_up_then_resubmits_once() -> None:
    async with hub() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "status": 502, "count": 1}])
        job = await client.submit(BELL, shots=1, key="exp-2")
        assert server.stats.jobs_created == 1
        assert server.stats.requests["POST /jobs"] == 2
        assert await client.find_by_key("exp-2") == job


async def test_persistent_failure_with_key_gives_up_bounded() -> None:
    async with hub() as (server, client, _waits):
        server.set_faults([{"route": "POST /jobs", "kind": "drop"}])
        with pytest.raises(qjobs.TransportError):
            await client.submit(BELL, shots=1, key="exp-3")
        assert server.stats.jobs_created == 0


# -------------------------------------------------------------------- scheduler and sweep
async def test_scheduler_polls_by_pages_of_the_job_list() -> None:
    circuits = [
        Circuit(
            1,
            1,
            (
                qjobs.Instruction("ry", (0,), (0.1 * i,)),
                qjobs.Instruction("measure", (0,), (), (0,)),
            ),
        )
        for i in range(30)
    ]
    async with qjobs.emulators.serve("kipu", queue_time=0.05, seed=1) as server:
        async with (
            KipuClient(token="t", base_url=server.base_url, rate_limit=RateLimit(None)) as client,
            qjobs.scheduler.Scheduler(
                client,
                backend="aws.sim.sv1",
                shots=200,
                batch_size=1,  # one job per circuit: this test is about polling many jobs
                poll_initial=0.02,
                poll_max=0.05,
            ) as sched,
        ):
            for c in circuits:
                sched.submit(c)
            results = await sched.gather()
        assert server.stats.jobs_created == 30
        polls = server.stats.requests["GET /jobs"] + server.stats.requests["GET /jobs/{id}"]
        assert server.stats.requests["GET /jobs"] >= 1
        assert polls < 30 * 3  # list pages, not one request per job per round
    assert [r.shots for r in results] == [200] * 30
    assert results[0].counts == {"0": 200}


async def test_sweep_on_kipu_is_exact_on_qsim_statevector_and_batches_on_sv1() -> None:
    template = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float theta;\nqubit[2] q;\nbit[2] c;\n'
        "ry(theta) q[0];\ncx q[0], q[1];\nc = measure q;\n"
    )
    theta = np.linspace(0, np.pi, 6)
    sweep = Sweep(template, {"theta": theta})
    exact = np.stack([qjobs.sim.probabilities(c) for c in sweep.circuits()])
    async with qjobs.emulators.serve("kipu", seed=3) as server:
        async with KipuClient(token="t", base_url=server.base_url) as client:
            out = await sweep.run(
                client, backend="kipu.sim.qsim", shots=100, input_params={"mode": "statevector"}
            )
            assert server.stats.jobs_created == 6
            np.testing.assert_allclose(out.probabilities, exact, atol=1e-12)
            np.testing.assert_allclose(out.expectation("IZ"), np.cos(theta), atol=1e-12)
            caps = attrs.evolve(client.capabilities, max_circuits_per_job=3)
        async with KipuClient(token="t", base_url=server.base_url, capabilities=caps) as batched:
            sampled = await sweep.run(batched, backend="aws.sim.sv1", shots=500, batch_size=3)
        assert server.stats.jobs_created == 6 + 2  # two program-set jobs of three circuits
    assert sampled.probabilities.shape == (6, 4)
    np.testing.assert_allclose(sampled.probabilities, exact, atol=0.1)
    assert all(sum(c.values()) == 500 for c in sampled.counts)
