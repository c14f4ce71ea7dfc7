"""QPI publishes no per-job circuit count: the scheduler packs as many circuits into one job as
the server's size bound takes (PocketBase's 1 MiB JSON fields for the stored payload and results),
a status page of job records stays under the transport's response cap, and early polls stay
few."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

import qjobs
from qjobs import Circuit
from qjobs.emulators.qpi import STATE_KEY
from qjobs.providers.qpi import QPIClient
from qjobs.providers.qpi.results import result_bytes
from qjobs.testing import FakeProvider

pytestmark = pytest.mark.anyio

#: PocketBase's default JSON field bound (v0.28+), which qpi-ui's ``payload`` and ``results`` get.
JSON_FIELD_BYTES = 1 << 20


def _small(i: int) -> Circuit:
    """A distinct 2-qubit circuit whose outcome is known: bits of ``i % 4``."""
    qasm = ['OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n']
    qasm += [f"x q[{b}];\n" for b in range(2) if i % 4 >> b & 1]
    qasm.append(f"rz({i}) q[0];\nc = measure q;\n")
    return Circuit.from_qasm("".join(qasm))


def _classical(i: int) -> Circuit:
    """A 2-qubit circuit of X gates only (what FakeProvider runs)."""
    flips = "".join(f"x q[{b}];\n" for b in range(2) if i % 4 >> b & 1)
    return Circuit.from_qasm(
        f'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n{flips}c = measure q;\n'
    )


def _wide(i: int) -> Circuit:
    """A distinct 10-qubit circuit: its results hold 1,024 count keys."""
    qasm = ['OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[10] q;\nbit[10] c;\n']
    qasm += [f"x q[{b}];\n" for b in range(10) if i >> b & 1]
    qasm.append(f"rz({i}) q[0];\nc = measure q;\n")
    return Circuit.from_qasm("".join(qasm))


def _greedy_jobs(sizes: list[int], limit: int) -> int:
    """How many jobs packing ``sizes`` in order within ``limit`` makes (each job >= 1 circuit)."""
    jobs, used = 0, limit + 1
    for size in sizes:
        if used + size > limit:
            jobs, used = jobs + 1, 0
        used += size
    return jobs


async def _run(
    circuits: list[Circuit], shots: int, **options: Any
) -> tuple[int, list[dict[str, int]], list[tuple[int, int]]]:
    """Run ``circuits`` through a Scheduler with QPI's defaults: (jobs created, counts, and the
    stored (payload, results) JSON sizes of every job)."""
    async with (
        qjobs.emulators.serve("qpi", tokens=["t"]) as server,
        qjobs.connect("qpi", token="t", base_url=server.base_url) as client,
    ):
        assert isinstance(client, QPIClient)
        async with qjobs.Scheduler(client, backend="qiskit_aer", shots=shots, **options) as sched:
            for c in circuits:
                sched.submit(c)
            results = await sched.gather()
        state = server.app[STATE_KEY]
        stored = [
            (len(orjson.dumps(j.payload)), len(orjson.dumps(j.results)))
            for j in state.jobs.values()
        ]
        return server.stats.jobs_created, [r.counts for r in results], stored


def _expected_small(i: int, shots: int) -> dict[str, int]:
    return {format(i % 4, "02b"): shots}


async def test_the_count_is_not_published_so_the_payload_bound_packs() -> None:
    caps = QPIClient.default_capabilities
    assert caps.max_circuits_per_job is None
    assert caps.max_payload_bytes == 1_000_000 < JSON_FIELD_BYTES
    client = QPIClient(token="t", base_url="http://127.0.0.1:9")
    assert client.max_circuits_for("qiskit_aer") is None
    # A circuit costs its share of the body and of the stored results (all 2^n count keys).
    assert client.circuit_bytes(_small(0)) == 96 + 48 * 3 + result_bytes(_small(0))
    assert result_bytes(_small(0)) == 48 + 14 * 4
    assert result_bytes(_wide(0)) == 48 + 22 * 1024
    await client.aclose()


async def test_500_small_circuits_make_one_qpi_job() -> None:
    circuits = [_small(i) for i in range(500)]
    jobs, counts, stored = await _run(circuits, 20)
    assert jobs == 1
    assert counts == [_expected_small(i, 20) for i in range(500)]
    assert len(stored) == 1
    assert stored[0][0] < 1_000_000
    assert stored[0][1] < JSON_FIELD_BYTES


async def test_5000_circuits_make_the_jobs_the_size_bound_implies() -> None:
    circuits = [_small(i) for i in range(5000)]
    client = QPIClient(token="t", base_url="http://127.0.0.1:9")
    sizes = [client.circuit_bytes(c) for c in circuits]
    limit = int(client.capabilities.max_payload_bytes * 0.8)
    await client.aclose()
    expected = _greedy_jobs(sizes, limit)
    assert expected == math.ceil(sum(sizes) / limit) == 3  # ~2,000 circuits per job
    jobs, counts, stored = await _run(circuits, 10)
    assert jobs == expected
    assert counts == [_expected_small(i, 10) for i in range(5000)]
    # Every job the server stores fits PocketBase's JSON fields, payload and results alike.
    assert all(p <= 1_000_000 and r <= JSON_FIELD_BYTES for p, r in stored), stored


async def test_wide_circuits_pack_by_their_results() -> None:
    circuits = [_wide(i) for i in range(120)]
    client = QPIClient(token="t", base_url="http://127.0.0.1:9")
    sizes = [client.circuit_bytes(c) for c in circuits]
    limit = int(client.capabilities.max_payload_bytes * 0.8)
    await client.aclose()
    expected = _greedy_jobs(sizes, limit)
    assert expected == 4  # ~35 circuits per job: 1,024 count keys each
    jobs, counts, stored = await _run(circuits, 8)
    assert jobs == expected
    assert counts == [{format(i, "010b"): 8} for i in range(120)]
    assert all(r <= JSON_FIELD_BYTES for _, r in stored), stored


async def test_an_explicit_batch_size_still_bounds_the_count() -> None:
    jobs, counts, _ = await _run([_small(i) for i in range(20)], 5, batch_size=7)
    assert jobs == 3  # 7 + 7 + 6
    assert counts == [_expected_small(i, 5) for i in range(20)]


async def test_a_status_page_of_the_largest_jobs_fits_the_response_cap() -> None:
    async with qjobs.connect("qpi", token="t", base_url="http://127.0.0.1:9") as client:
        page = client.capabilities.status_batch_size * (2 * JSON_FIELD_BYTES + 4096)
        assert page <= client.transport.max_response_bytes


async def test_no_count_bound_on_a_fake_provider_packs_by_bytes() -> None:
    caps = qjobs.Capabilities(max_circuits_per_job=None, max_payload_bytes=10_000)
    fake = FakeProvider(capabilities=caps)
    circuits = [_classical(i) for i in range(100)]
    expected = _greedy_jobs([fake.circuit_bytes(c) for c in circuits], int(10_000 * 0.8))
    async with qjobs.Scheduler(fake, shots=4) as sched:
        for c in circuits:
            sched.submit(c)
        await sched.gather()
        progress = sched.progress()
    assert fake.max_circuits_for(None) is None
    assert progress.jobs_submitted == expected == 4  # 100 circuits of 192-288 bytes


async def test_a_short_job_is_polled_a_handful_of_times() -> None:
    # Queue 0.5 s, run 0.2 s: polls at 0.05 s x1.5 (and again from 0.05 s once it runs) see it
    # done after about 6 status reads; a schedule polling much more often would read far more.
    circuits = [_small(i) for i in range(50)]
    async with (
        qjobs.emulators.serve("qpi", tokens=["t"], queue_time=0.5, exec_time=0.2) as server,
        qjobs.connect("qpi", token="t", base_url=server.base_url) as client,
        qjobs.Scheduler(client, backend="qiskit_aer", shots=10) as sched,
    ):
        for c in circuits:
            sched.submit(c)
        results = await sched.gather()
        reads = {route: n for route, n in server.stats.requests.items() if "GET" in route}
    assert [r.counts for r in results] == [_expected_small(i, 10) for i in range(50)]
    assert server.stats.jobs_created == 1
    status_reads = sum(n for route, n in reads.items() if "/jobs" in route)
    assert 1 <= status_reads <= 9, reads
