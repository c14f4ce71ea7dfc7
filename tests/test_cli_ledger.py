"""``qjobs ledger show|verify`` and ``qjobs jobs ... --ledger``: a ledger inspected after SIGKILL.

A ``qjobs sweep --ledger`` subprocess runs against an IonQ emulator the test serves on a frozen
clock (jobs finish only when the test advances it). The test polls the ledger file (read-only,
as the CLI reads it) until the run has recorded what it waits for, kills the sweep with SIGKILL,
inspects the ledger with the CLI, then lets the jobs finish and reruns the sweep to completion.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import numpy as np
import pytest
from cli_runner import TOKEN, env, one_line, qjobs_cli

import qjobs
from qjobs.emulators import Clock
from qjobs.scheduler._ledger_inspect import LedgerView, read_ledger
from qjobs.sweep import Sweep, SweepResult

pytestmark = pytest.mark.anyio

QASM = "OPENQASM 3.0;\ninput float t;\nqubit[1] q;\nbit[1] c;\nrx(t) q[0];\nc[0] = measure q[0];\n"


def sweep_toml(tmp_path: Path, url: str) -> Path:
    """A sweep of 8 points in jobs of 2, at most 2 jobs in flight, with a ledger."""
    path = tmp_path / "s.toml"
    path.write_text(
        f'qasm = """{QASM}"""\nprovider = "ionq"\nbackend = "simulator"\n'
        f'base_url = "{url}"\nledger = "run.db"\nout = "s.npz"\nshots = 64\n'
        "[params]\nt = { start = 0, stop = 3.0, num = 8 }\n"
        "[limits]\nbatch_size = 2\nmax_in_flight = 2\npoll_initial = 0.02\n",
        encoding="utf-8",
    )
    return path


async def wait_for_ledger(path: Path, done: Callable[[LedgerView], bool]) -> LedgerView:
    """Poll the ledger file (read-only) until ``done`` holds for what it records."""
    with anyio.fail_after(60):
        while True:
            try:
                view = read_ledger(path)
            except qjobs.LedgerError:
                pass  # the run has not created the file and its tables yet
            else:
                if done(view):
                    return view
            await anyio.sleep(0.02)


async def killed_sweep(
    tmp_path: Path, url: str, until: Callable[[], Awaitable[LedgerView]]
) -> LedgerView:
    """Run ``qjobs sweep`` until ``until()`` returns (what the ledger shows), then SIGKILL it."""
    sweep_toml(tmp_path, url)
    proc = await anyio.open_process(
        [sys.executable, "-m", "qjobs", "sweep", "s.toml", "-q"],
        cwd=tmp_path,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        view = await until()
    finally:
        # One SIGKILL only. Popen.send_signal polls the child first (waitpid WNOHANG); a second
        # signal sent before asyncio's watcher thread reported the first one's exit can reap
        # the child in this thread, and the watcher then reports returncode 255 instead of -9.
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return view


def two_done_two_in_flight(view: LedgerView) -> bool:
    """Two jobs completed with their 4 results stored, two more created and queued."""
    return view.results == 4 and len(view.in_flight) == 2


def expected_probabilities() -> np.ndarray:
    """The exact probabilities of the sweep's 8 points."""
    circuits = Sweep(QASM, {"t": np.linspace(0, 3.0, 8)}).circuits()
    return np.stack([qjobs.sim.probabilities(c) for c in circuits])


async def test_a_killed_sweep_is_inspected_then_completed_by_a_rerun(tmp_path: Path) -> None:
    async with qjobs.emulators.serve(
        "ionq", queue_time=10.0, clock=Clock(lambda: 0.0), tokens=[TOKEN], seed=7
    ) as server:
        url = server.base_url
        db = tmp_path / "run.db"

        async def two_jobs_done_two_queued() -> LedgerView:
            await wait_for_ledger(db, lambda v: len(v.in_flight) == 2)
            server.advance(20.0)  # the first two jobs complete; the last two are created
            return await wait_for_ledger(db, two_done_two_in_flight)

        seen = await killed_sweep(tmp_path, url, two_jobs_done_two_queued)
        assert server.stats.jobs_created == 4
        assert server.stats.active_jobs == 2
        flying = sorted(str(j.job_id) for j in seen.in_flight)

        shown = await qjobs_cli(["ledger", "show", "run.db", "--json"], tmp_path)
        assert shown.code == 0, shown.err
        data = shown.json()
        assert data["format"] == "2"
        assert data["circuits"] == 8
        assert data["results"] == 4
        assert [(t["provider"], t["endpoint"]) for t in data["targets"]] == [
            ("ionq", qjobs.providers._base.endpoint_of(url))
        ]
        assert data["targets"][0]["circuits"] == {"completed": 4, "queued": 4}
        assert data["targets"][0]["jobs"] == {"completed": 2, "queued": 2}
        assert sorted(data["in_flight"]) == flying
        text = await qjobs_cli(["ledger", "show", "run.db"], tmp_path)
        assert "8 circuit(s), 4 job(s), 2 in flight, 4 result(s) stored" in text.out
        assert f"target ionq {qjobs.providers._base.endpoint_of(url)}" in text.out
        assert "circuits  8: completed 4, queued 4" in text.out

        verified = await qjobs_cli(["ledger", "verify", "run.db"], tmp_path)
        assert verified.code == 0, verified.out + verified.err
        assert "is sound: 8 circuit(s), 4 result(s) stored and decoded, 4 job(s)" in verified.out

        listed = await qjobs_cli(["jobs", "list", "--ledger", "run.db"], tmp_path)
        assert listed.code == 0, listed.err
        head = next(line for line in listed.out.splitlines() if line.startswith("JOB ID"))
        rows = listed.out.splitlines()[listed.out.splitlines().index(head) + 1 :]
        column = head.index("IN FLIGHT")
        assert sorted(r.split()[0] for r in rows[:2]) == flying  # in flight first
        assert [r[column:].split()[0] for r in rows] == ["yes", "yes", "-", "-"]

        status = await qjobs_cli(
            ["jobs", "status", "--ledger", "run.db", "--base-url", url, "--json"], tmp_path
        )
        assert status.code == 0, status.err
        assert sorted((r["job_id"], r["status"]) for r in status.json()) == [
            (jid, "queued") for jid in flying
        ]

        partial = await qjobs_cli(
            ["jobs", "results", "--ledger", "run.db", "-o", "part.npz"], tmp_path
        )
        assert partial.code == 0, partial.err
        part = SweepResult.load(tmp_path / "part.npz")
        np.testing.assert_array_equal(part.axes["index"], [0, 1, 2, 3])
        np.testing.assert_allclose(part.probabilities, expected_probabilities()[:4], atol=1e-9)

        # The queued jobs complete; a rerun re-attaches them and creates no new job.
        server.advance(20.0)
        rerun = await anyio.run_process(
            [sys.executable, "-m", "qjobs", "sweep", "s.toml", "-q"],
            cwd=tmp_path,
            env=env(),
            check=False,
        )
        assert rerun.returncode == 0, rerun.stderr.decode()
        assert server.stats.jobs_created == 4
        result = SweepResult.load(tmp_path / "s.npz")
        np.testing.assert_allclose(result.probabilities, expected_probabilities(), atol=1e-9)

        verified = await qjobs_cli(["ledger", "verify", "run.db", "--json"], tmp_path)
        assert verified.code == 0
        assert verified.json()["sound"] is True
        full = await qjobs_cli(["jobs", "results", "--ledger", "run.db", "-o", "all"], tmp_path)
        assert full.code == 0, full.err
        every = SweepResult.load(tmp_path / "all.npz")
        np.testing.assert_array_equal(every.probabilities, result.probabilities)
        assert every.job_ids == result.job_ids
        assert every.counts == result.counts


async def test_cancel_from_the_ledger_goes_only_where_the_credentials_are_for(
    tmp_path: Path,
) -> None:
    async with qjobs.emulators.serve(
        "ionq", queue_time=10.0, clock=Clock(lambda: 0.0), tokens=[TOKEN], seed=8
    ) as server:
        url = server.base_url
        db = tmp_path / "run.db"
        seen = await killed_sweep(
            tmp_path, url, lambda: wait_for_ledger(db, lambda v: len(v.in_flight) == 2)
        )
        assert server.stats.active_jobs == 2
        # As if killed between the POST and recording its answer: one job is only an intent.
        con = sqlite3.connect(db)
        unconfirmed = seen.in_flight[0]
        con.execute(
            "UPDATE batches SET job_id = NULL, status = 'intent' WHERE key = ?", (unconfirmed.key,)
        )
        con.commit()
        con.close()

        # The credentials are set up for IonQ's own API, not the ledger's endpoint: refused.
        refused = await qjobs_cli(["jobs", "cancel", "--ledger", "run.db"], tmp_path)
        one_line(refused, 2, "credentials are set up for https://api.ionq.co:443", url)
        assert server.stats.active_jobs == 2

        cancelled = await qjobs_cli(
            ["jobs", "cancel", "--ledger", "run.db", "--base-url", url, "--json"], tmp_path
        )
        assert cancelled.code == 0, cancelled.err
        rows = {r["key"]: r for r in cancelled.json()}
        assert {r["status"] for r in rows.values()} == {"cancelled"}
        assert rows[unconfirmed.key]["ledger_status"] == "intent"
        assert rows[unconfirmed.key]["job_id"] == unconfirmed.job_id  # found by its key
        assert server.stats.active_jobs == 0
        again = await qjobs_cli(
            ["jobs", "cancel", "--ledger", "run.db", "--base-url", url], tmp_path
        )
        assert again.code == 0
        assert "cancelled" in again.out  # the ledger still says queued; the provider does not


# ---------------------------------------------------------------------- unsound ledgers
async def finished_ledger(tmp_path: Path) -> Path:
    """A ledger of a finished 4-point sweep (2 jobs of 2)."""
    db = tmp_path / "done.db"
    async with (
        qjobs.emulators.serve("ionq") as server,
        qjobs.connect("ionq", token=TOKEN, base_url=server.base_url) as client,
    ):
        await Sweep(QASM, {"t": [0.0, 1.0, 2.0, 3.0]}).run(
            client, backend="simulator", shots=32, ledger=str(db), batch_size=2
        )
    return db


async def test_verify_reports_every_problem_and_exits_1(tmp_path: Path) -> None:
    db = await finished_ledger(tmp_path)
    assert (await qjobs_cli(["ledger", "verify", str(db)], tmp_path)).code == 0
    elsewhere = await qjobs_cli(
        ["jobs", "list", "--ledger", str(db), "--provider", "qbraid"], tmp_path
    )
    one_line(elsewhere, 2, "--provider qbraid names none of the ledger's targets (ionq http")
    con = sqlite3.connect(db)
    keys = [k for (k,) in con.execute("SELECT key FROM circuits ORDER BY idx")]
    job_ids = [j for (j,) in con.execute("SELECT job_id FROM batches ORDER BY rowid")]
    con.execute("UPDATE circuits SET result = NULL WHERE key = ?", (keys[0],))
    con.execute("UPDATE circuits SET result = ? WHERE key = ?", (b"\x05\x00\x00\x00{bad", keys[1]))
    con.execute("UPDATE batches SET job_id = ? WHERE job_id = ?", (job_ids[0], job_ids[1]))
    con.commit()
    con.close()
    ran = await qjobs_cli(["ledger", "verify", str(db)], tmp_path)
    assert ran.code == 1, ran.out + ran.err
    lines = ran.out.splitlines()
    assert lines[0] == f"ledger {db} is not sound: 3 problem(s)"
    assert "circuit 0" in lines[1]
    assert "has no result although its job" in lines[1]
    assert "circuit 1" in lines[2]
    assert "does not decode" in lines[2]
    assert f"job id {job_ids[0]} is recorded for 2 jobs" in lines[3]
    as_json = await qjobs_cli(["ledger", "verify", str(db), "--json"], tmp_path)
    assert as_json.code == 1
    assert len(as_json.json()["problems"]) == 3


async def test_a_ledger_without_targets_needs_provider_and_url(tmp_path: Path) -> None:
    db = await finished_ledger(tmp_path)
    con = sqlite3.connect(db)
    (job_id,) = con.execute("SELECT job_id FROM batches LIMIT 1").fetchone()
    con.execute("DROP TABLE batch_targets")
    con.execute("DROP TABLE targets")  # as an older qjobs wrote it
    con.commit()
    con.close()
    shown = await qjobs_cli(["ledger", "show", str(db)], tmp_path)
    assert shown.code == 0, shown.err
    assert "target (target not recorded)" in shown.out
    assert "circuits  4: completed 4" in shown.out
    ran = await qjobs_cli(["jobs", "status", "--ledger", str(db), job_id], tmp_path)
    one_line(ran, 2, "does not record where its jobs ran", "--provider NAME and --base-url URL")


async def test_unreadable_ledgers_exit_2_with_one_line(tmp_path: Path) -> None:
    db = await finished_ledger(tmp_path)
    (tmp_path / "garbage.db").write_bytes(bytes(range(256)) * 40)
    con = sqlite3.connect(tmp_path / "people.db")
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    corrupt = tmp_path / "corrupt.db"
    blob = bytearray(db.read_bytes())
    blob[4096:] = bytes(len(blob) - 4096)  # every page after the first zeroed
    corrupt.write_bytes(bytes(blob))
    (tmp_path / "adir.db").mkdir()
    cases = [
        ("garbage.db", "is not a qjobs ledger (not a SQLite database"),
        ("people.db", "is not a qjobs ledger (a SQLite file holding people)"),
        ("corrupt.db", "cannot be read (database disk image is malformed)"),
        ("adir.db", "is a directory"),
        ("missing.db", "does not exist"),
    ]
    for name, needle in cases:
        one_line(await qjobs_cli(["ledger", "show", name], tmp_path), 2, needle, name)
    for command in (["ledger", "verify"], ["jobs", "results", "--ledger"]):
        one_line(await qjobs_cli([*command, "corrupt.db"], tmp_path), 2, cases[2][1])
    assert (tmp_path / "garbage.db").read_bytes() == bytes(range(256)) * 40  # never written
