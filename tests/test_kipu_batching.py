"""Kipu batches where the backend takes a list: the scheduler packs
``client.max_circuits_for(backend)`` circuits per job (IBM Sampler PUBs, Braket program sets),
one per job elsewhere, and every circuit gets its own result back."""

from __future__ import annotations

import math

import pytest

import qjobs
from qjobs import Circuit, InputError, Scheduler
from qjobs._core.errors import MalformedResponseError
from qjobs._core.models import Job, JobStatus
from qjobs.providers.kipu import KipuClient
from qjobs.providers.kipu.models import NormalizedResult, Pub
from qjobs.providers.kipu.results import normalized_results
from qjobs.testing import FakeProvider

pytestmark = pytest.mark.anyio

WIDTH = 8


def numbered(i: int) -> Circuit:
    """A circuit whose every shot reads ``i`` (classical bit j is bit j of ``i``)."""
    flips = "".join(f"x q[{j}];\n" for j in range(WIDTH) if i >> j & 1)
    text = (
        f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{WIDTH}];\ncreg c[{WIDTH}];\n'
        f"{flips}measure q -> c;\n"
    )
    return Circuit.from_qasm(text, name=f"n{i}")


def expected(i: int, shots: int) -> dict[str, int]:
    return {format(i, f"0{WIDTH}b"): shots}


async def test_max_circuits_for_each_backend() -> None:
    async with KipuClient(token="t", base_url="http://127.0.0.1:9") as client:
        assert client.capabilities.max_circuits_per_job == 100
        assert client.max_circuits_for("ibm.qpu.fez") == 100
        assert client.max_circuits_for("aws.sim.sv1") == 100
        assert client.max_circuits_for("qudora.sim.xg1") == 100
        assert client.max_circuits_for("kipu.sim.qsim") == 1
        assert client.max_circuits_for(None) == 1  # the default backend, kipu.sim.qsim
        assert client.max_circuits_for("azure.ionq.simulator") == 1
        assert client.max_circuits_for("iqm.qpu.garnet") == 1  # no encoding: one per job
    caps = qjobs.Capabilities(max_circuits_per_job=7)
    async with KipuClient(token="t", base_url="http://127.0.0.1:9", capabilities=caps) as client:
        assert client.max_circuits_for("ibm.qpu.fez") == 7
    fake = FakeProvider()
    assert fake.max_circuits_for("anything") == fake.capabilities.max_circuits_per_job


@pytest.mark.parametrize("backend", ["ibm.qpu.fez", "aws.sim.sv1"])
async def test_list_backend_packs_jobs(backend: str) -> None:
    shots = 5
    async with (
        qjobs.emulators.serve("kipu", seed=1) as server,
        KipuClient(token="t", base_url=server.base_url) as client,
    ):
        limit = client.max_circuits_for(backend)
        assert limit == 100
        async with Scheduler(client, backend=backend, shots=shots) as sched:
            futures = [sched.submit(numbered(i % 256)) for i in range(200)]
            results = await sched.gather()
        assert server.stats.jobs_created == math.ceil(200 / limit) == 2
    assert len(results) == 200
    for i, (fut, res) in enumerate(zip(futures, results, strict=True)):
        assert res.counts == expected(i, shots), i
        assert (await fut).counts == expected(i, shots)
    assert len({r.job_id for r in results}) == 2


async def test_batch_size_below_the_backend_limit() -> None:
    async with (
        qjobs.emulators.serve("kipu", seed=2) as server,
        KipuClient(token="t", base_url=server.base_url) as client,
    ):
        async with Scheduler(client, backend="ibm.qpu.fez", shots=3, batch_size=30) as sched:
            for i in range(200):
                sched.submit(numbered(i))
            results = await sched.gather()
        assert server.stats.jobs_created == math.ceil(200 / 30)
    assert [r.counts for r in results] == [expected(i, 3) for i in range(200)]


async def test_one_program_backend_gets_one_circuit_per_job() -> None:
    async with (
        qjobs.emulators.serve("kipu", seed=3) as server,
        KipuClient(token="t", base_url=server.base_url) as client,
    ):
        with pytest.raises(InputError, match="at most 1 circuits per job"):
            Scheduler(client, backend="kipu.sim.qsim", shots=2, batch_size=2)
        async with Scheduler(client, shots=2) as sched:  # default backend: kipu.sim.qsim
            for i in range(6):
                sched.submit(numbered(i))
            # a per-circuit backend gets its own figure: these share one job
            for i in range(6, 10):
                sched.submit(numbered(i), backend="aws.sim.sv1")
            results = await sched.gather()
        assert server.stats.jobs_created == 6 + 1
    assert [r.counts for r in results] == [expected(i, 2) for i in range(10)]


def _pub(index: int | None, key: str) -> Pub:
    return Pub(type="counts", index=index, counts={key: 4}, shots=4, qubits=2)


def test_pubs_map_back_by_index() -> None:
    job = Job(id="j", provider="kipu", status=JobStatus.COMPLETED, shots=4)
    shuffled = NormalizedResult(pubs=(_pub(2, "10"), _pub(0, "00"), _pub(1, "01")))
    out = normalized_results(shuffled, job)
    assert [r.counts for r in out] == [{"00": 4}, {"01": 4}, {"10": 4}]
    assert [r.index for r in out] == [0, 1, 2]
    unnumbered = NormalizedResult(pubs=(_pub(None, "11"), _pub(None, "00")))
    assert [r.counts for r in normalized_results(unnumbered, job)] == [{"11": 4}, {"00": 4}]
    for bad in ((_pub(0, "00"), _pub(0, "01")), (_pub(1, "00"),)):
        with pytest.raises(MalformedResponseError, match="PUB indices"):
            normalized_results(NormalizedResult(pubs=bad), job)
