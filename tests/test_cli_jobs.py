"""``qjobs jobs list|status|cancel|results --provider``: the CLI as a subprocess on an emulator.

The IonQ emulator is served by the test itself on a frozen clock (jobs move only when the test
advances it), so which job is queued and which completed is decided, not timed; the CLI runs
with ``anyio.run_process``, which leaves the event loop free to serve it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_runner import TOKEN, one_line, qjobs_cli

import qjobs
from qjobs.emulators import Clock
from qjobs.sweep import SweepResult

pytestmark = pytest.mark.anyio

BELL = qjobs.Circuit.from_qasm(
    'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; '
    "c = measure q;"
)
FLIP = qjobs.Circuit.from_qasm("OPENQASM 3.0; qubit[2] q; bit[2] c; x q[1]; c = measure q;")


async def test_list_status_cancel_results_against_the_provider(tmp_path: Path) -> None:
    clock = Clock(lambda: 0.0)
    async with qjobs.emulators.serve(
        "ionq", queue_time=10.0, clock=clock, tokens=[TOKEN], seed=4
    ) as server:
        url = server.base_url
        where = ["--provider", "ionq", "--base-url", url]
        async with qjobs.connect("ionq", token=TOKEN, base_url=url) as client:
            single = await client.submit(BELL, shots=100, backend="simulator")
            pair = await client.submit([BELL, FLIP], shots=100, backend="simulator")
            server.advance(20.0)  # both complete
            waiting = await client.submit(FLIP, shots=100, backend="simulator")
            other = await client.submit(FLIP, shots=100, backend="simulator")

        listed = await qjobs_cli(["jobs", "list", *where, "--json"], tmp_path)
        assert listed.code == 0, listed.err
        rows = {row["id"]: row for row in listed.json()}
        assert {single.id, pair.id, waiting.id, other.id} <= set(rows)
        assert rows[pair.id]["status"] == "completed"
        assert rows[pair.id]["circuits"] == 2
        assert rows[waiting.id]["status"] == "queued"
        limited = await qjobs_cli(["jobs", "list", *where, "--limit", "2", "--json"], tmp_path)
        assert len(limited.json()) == 2

        status = await qjobs_cli(["jobs", "status", *where, single.id, waiting.id], tmp_path)
        assert status.code == 0, status.err
        head, *lines = status.out.splitlines()
        assert head.split()[:2] == ["JOB", "ID"]
        column = head.index("STATUS")  # an aligned table: each status under its header
        assert [line[column:].split()[0] for line in lines] == ["completed", "queued"]
        assert [line.split()[0] for line in lines] == [single.id, waiting.id]

        cancelled = await qjobs_cli(["jobs", "cancel", *where, waiting.id, "--json"], tmp_path)
        assert cancelled.code == 0, cancelled.err
        assert [(j["id"], j["status"]) for j in cancelled.json()] == [(waiting.id, "cancelled")]
        assert server.stats.active_jobs == 1  # the other queued job runs on

        out = tmp_path / "res.npz"
        fetched = await qjobs_cli(
            ["jobs", "results", *where, single.id, pair.id, "-o", str(out)], tmp_path
        )
        assert fetched.code == 0, fetched.err
        assert f"wrote 3 result(s) to {out}" in fetched.out
        res = SweepResult.load(out)
        assert res.size == 3
        assert res.shots == 100
        assert res.job_ids == [single.id, pair.id, pair.id]
        assert res.metadata["provider"] == "ionq"
        assert res.metadata["circuits"] == [0, 0, 1]
        expected = [qjobs.sim.probabilities(c) for c in (BELL, BELL, FLIP)]
        np.testing.assert_allclose(res.probabilities, expected, atol=1e-9)
        assert all(sum(c.values()) == 100 for c in res.counts)

        # a job that has not completed cannot give results: the job's failure, status 1
        one_line(await qjobs_cli(["jobs", "results", *where, other.id], tmp_path), 1, other.id)
        assert server.stats.jobs_created == 4


#: Each other provider: its token variable (and settings), and a backend its emulator runs.
OTHERS: dict[str, tuple[dict[str, str], str | None]] = {
    "qbraid": (
        {"QBRAID_API_KEY": TOKEN, "QBRAID_CONFIG_FILE": "/nonexistent/qbraidrc"},
        "qbraid:qbraid:sim:qir-sv",
    ),
    "kipu": ({"KQH_PERSONAL_ACCESS_TOKEN": TOKEN}, None),
    "qpi": ({"QPI_API_TOKEN": TOKEN}, "qiskit_aer"),
    "qibo": ({"QIBO_CLIENT_TOKEN": TOKEN}, None),
}


@pytest.mark.parametrize("provider", sorted(OTHERS))
async def test_every_provider_lists_reads_and_fetches(tmp_path: Path, provider: str) -> None:
    settings, backend = OTHERS[provider]
    async with qjobs.emulators.serve(provider, tokens=[TOKEN]) as server:
        options: dict[str, Any] = {"token": TOKEN, "base_url": server.base_url}
        if provider == "qbraid":
            options["config_file"] = "/nonexistent/qbraidrc"
        async with qjobs.connect(provider, **options) as client:
            job = await client.submit(FLIP, shots=50, backend=backend)
            await client.wait(job, poll_initial=0.01)
        where = ["--provider", provider, "--base-url", server.base_url, "--json"]
        listed = await qjobs_cli(["jobs", "list", *where], tmp_path, None, settings)
        assert listed.code == 0, listed.err
        assert [j["id"] for j in listed.json()] == [job.id]
        status = await qjobs_cli(["jobs", "status", *where, job.id], tmp_path, None, settings)
        assert status.code == 0, status.err
        assert [(j["id"], j["status"]) for j in status.json()] == [(job.id, "completed")]
        out = tmp_path / "r.npz"
        fetched = await qjobs_cli(
            ["jobs", "results", *where, job.id, "-o", str(out)], tmp_path, None, settings
        )
        assert fetched.code == 0, fetched.err
        res = SweepResult.load(out)
        assert res.job_ids == [job.id]
        np.testing.assert_allclose(res.probabilities, [[0.0, 0.0, 1.0, 0.0]], atol=1e-9)
        missing = await qjobs_cli(["jobs", "list", *where], tmp_path, None, None)
        if provider == "qpi":  # a QPI token is optional: the server refuses the anonymous call
            one_line(missing, 1, "AuthenticationError", "401")
        else:  # no credentials in the environment: nothing is sent
            one_line(missing, 2, "qjobs jobs list: ")


async def test_bad_inputs_exit_2_with_one_line(tmp_path: Path) -> None:
    async with qjobs.emulators.serve("ionq", tokens=[TOKEN]) as server:
        url = server.base_url
        where = ["--provider", "ionq", "--base-url", url]
        cases: list[tuple[list[str], str | None, str]] = [
            (["jobs", "list"], TOKEN, "give --provider NAME or --ledger FILE"),
            (["jobs", "list", "--provider", "ionqq"], TOKEN, "unknown; choose one of"),
            (["jobs", "list", *where, "--limit", "0"], TOKEN, "--limit=0"),
            (["jobs", "list", *where, "--limit", "many"], TOKEN, "invalid int value"),
            (["jobs", "status", *where], TOKEN, "give at least one JOB_ID"),
            (["jobs", "status", *where, "no-such-job"], TOKEN, "no-such-job"),
            (["jobs", "cancel", *where, "a/b"], TOKEN, "contains '/'"),
            (["jobs", "list", *where], None, "IONQ_API_KEY"),
            (["jobs", "frobnicate"], TOKEN, "invalid choice"),
            (["ledger", "show", str(tmp_path / "none.db")], TOKEN, "does not exist"),
        ]
        for args, token, needle in cases:
            one_line(await qjobs_cli(args, tmp_path, token), 2, needle)
        assert server.stats.jobs_created == 0


async def test_an_unreachable_provider_exits_1(tmp_path: Path) -> None:
    async with qjobs.emulators.serve("ionq") as server:
        url = server.base_url  # closed when the block ends: nothing listens there any more
    ran = await qjobs_cli(
        ["jobs", "list", "--provider", "ionq", "--base-url", url, "--limit", "1"], tmp_path
    )
    one_line(ran, 1, "qjobs jobs list: failed: ")


async def test_version(tmp_path: Path) -> None:
    ran = await qjobs_cli(["--version"], tmp_path)
    assert ran.code == 0
    assert ran.out == f"qjobs {qjobs.__version__}\n"
