"""Sweeps end to end: the real scheduler and IonQ client against the IonQ emulator on loopback.

The emulator's ideal simulator returns exact probabilities, so every point must equal
``qjobs.sim.probabilities`` of its bound circuit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs.sweep import Sweep, SweepResult

pytestmark = pytest.mark.anyio

TEMPLATE = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
input float phi;
qubit[3] q;
bit[3] c;
ry(theta) q[0];
cx q[0], q[1];
rx(phi) q[2];
rzz(theta / 2 + phi) q[1], q[2];
h q[1];
c = measure q;
"""


def _exact(sweep: Sweep) -> np.ndarray[Any, np.dtype[np.float64]]:
    probs = np.stack([qjobs.sim.probabilities(c) for c in sweep.circuits()])
    return probs.reshape(*sweep.grid_shape, -1)


def _direct_expectation(probs: np.ndarray[Any, Any], observable: str) -> np.ndarray[Any, Any]:
    n = len(observable)
    signs = np.array(
        [
            math.prod(
                -1 if ch == "Z" and (k >> (n - 1 - pos)) & 1 else 1
                for pos, ch in enumerate(observable)
            )
            for k in range(2**n)
        ],
        dtype=np.float64,
    )
    return np.asarray(probs @ signs)


async def test_product_sweep_matches_the_simulator(tmp_path: Path) -> None:
    sweep = Sweep(TEMPLATE, {"theta": np.linspace(0, np.pi, 7), "phi": np.linspace(-1, 1, 5)})
    snapshots: list[Any] = []
    events: list[Any] = []
    async with qjobs.emulators.serve("ionq", seed=11) as server:
        async with qjobs.connect("ionq", token="t", base_url=server.base_url) as client:
            out = await sweep.run(
                client,
                backend="simulator",
                shots=300,
                progress=snapshots.append,
                on_event=events.append,
                batch_size=10,
                poll_initial=0.05,
            )
            requests = client.transport.stats.total
        jobs_created = server.stats.jobs_created

    assert out.grid_shape == (7, 5)
    assert out.probabilities.shape == (7, 5, 8)
    np.testing.assert_allclose(out.probabilities, _exact(sweep), atol=1e-10)
    np.testing.assert_array_equal(out.params["theta"], sweep.params["theta"])
    for observable in ("ZZZ", "IIZ", "ZIZ", "IZI"):
        np.testing.assert_allclose(
            out.expectation(observable), _direct_expectation(_exact(sweep), observable), atol=1e-10
        )
    assert all(sum(c.values()) == 300 for c in out.counts)
    # 35 circuits in batches of 10 -> 4 provider jobs, each point's job id recorded
    assert jobs_created == 4
    assert out.metadata["jobs"] == 4
    assert len(out.job_ids) == 35
    assert all(j is not None for j in out.job_ids)
    assert out.metadata["requests"] == requests
    assert out.metadata["points"] == 35
    # progress is reported, ending with every circuit completed
    assert sum(1 for e in events if e.kind == "completed") == 35
    assert snapshots[-1].completed == 35
    assert snapshots[-1].failed == 0
    # the result survives a save/load round trip exactly
    assert SweepResult.load(out.save(tmp_path / "run.npz")) == out


async def test_zip_sweep_one_job_per_point() -> None:
    theta = np.array([0.0, 0.4, 1.3, 2.2, np.pi])
    sweep = Sweep(TEMPLATE, {"theta": theta, "phi": theta[::-1] - 1}, mode="zip")
    async with qjobs.emulators.serve("ionq", seed=2) as server:
        async with qjobs.connect("ionq", token="t", base_url=server.base_url) as client:
            out = await sweep.run(
                client, backend="simulator", shots=50, batch_size=1, poll_initial=0.05
            )
        assert server.stats.jobs_created == 5
    assert out.grid_shape == (5,)
    assert len(set(out.job_ids)) == 5
    np.testing.assert_allclose(out.probabilities, _exact(sweep), atol=1e-10)
    np.testing.assert_allclose(
        out.expectation("IIZ"), np.cos(theta), atol=1e-10
    )  # <Z0> of ry(theta)|0>


async def test_rerun_with_ledger_creates_no_new_jobs(tmp_path: Path) -> None:
    sweep = Sweep(TEMPLATE, {"theta": [0.1, 0.9, 1.7], "phi": [0.0, 0.5]})
    ledger = tmp_path / "sweep.db"
    async with qjobs.emulators.serve("ionq", seed=4) as server:
        async with qjobs.connect("ionq", token="t", base_url=server.base_url) as client:
            first = await sweep.run(
                client,
                backend="simulator",
                shots=100,
                ledger=ledger,
                batch_size=2,
                poll_initial=0.05,
            )
            created = server.stats.jobs_created
            second = await sweep.run(
                client,
                backend="simulator",
                shots=100,
                ledger=ledger,
                batch_size=2,
                poll_initial=0.05,
            )
        assert created == 3
        assert server.stats.jobs_created == created  # everything came from the ledger
    np.testing.assert_array_equal(second.probabilities, first.probabilities)
    assert second.counts == first.counts
    assert second.metadata["jobs"] == 0


async def test_failed_points_raise() -> None:
    sweep = Sweep(TEMPLATE, {"theta": [0.1, 0.2], "phi": [0.3]})
    async with qjobs.emulators.serve("ionq", fail_rate=1.0) as server:
        client = qjobs.connect("ionq", token="t", base_url=server.base_url)
        async with client:
            with pytest.raises(qjobs.JobFailedError):
                await sweep.run(
                    client, backend="simulator", shots=10, batch_size=1, poll_initial=0.05
                )
