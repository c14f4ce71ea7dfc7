"""The scheduler against the real IonQ client and emulator over loopback (requests counted).

Includes the SIGKILL test (a real child process, killed at several points, restarted with the
same ledger; the emulator, in a separate process, must have created every job exactly once) and
the fault storm (2,000 circuits through 5xx, 429, dropped connections and malformed bodies).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest

import qjobs
from qjobs.scheduler import Scheduler, SchedulerEvent
from qjobs.transport import RateLimit, RetryPolicy

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from scheduler_child import circuits  # noqa: E402

FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.1)
NO_RATE = RateLimit(requests_per_second=None, max_concurrent=16)


def exact(cs: list[qjobs.Circuit]) -> np.ndarray[Any, Any]:
    return np.stack([qjobs.sim.probabilities(c) for c in cs])


def counter(kind: str, n: int) -> tuple[anyio.Event, Callable[[SchedulerEvent], None]]:
    event = anyio.Event()
    seen = 0

    def on_event(ev: SchedulerEvent) -> None:
        nonlocal seen
        if ev.kind == kind:
            seen += 1
            if seen >= n:
                event.set()

    return event, on_event


# =========================================================================== in-process emulator
@pytest.mark.anyio
async def test_batches_split_back_and_match_the_simulator() -> None:
    cs = circuits(60)
    async with qjobs.emulators.serve("ionq", queue_time=0.02, seed=4) as server:
        async with (
            qjobs.connect(
                "ionq", token="t", base_url=server.base_url, rate_limit=NO_RATE
            ) as client,
            Scheduler(client, backend="simulator", shots=100, batch_size=6, poll_initial=0.02) as s,
        ):
            futs = [s.submit(c) for c in cs]
            results = await s.gather()
        stats = server.stats
        assert stats.jobs_created == 10
        assert stats.requests["POST /jobs"] == 10
    probs = np.stack([r.probabilities for r in results])
    np.testing.assert_allclose(probs, exact(cs), atol=1e-9)
    assert len({f.job_id for f in futs}) == 10


@pytest.mark.anyio
async def test_polling_uses_the_list_endpoint() -> None:
    async with qjobs.emulators.serve("ionq", seed=5) as server:
        async with qjobs.connect(
            "ionq", token="t", base_url=server.base_url, rate_limit=NO_RATE
        ) as client:
            async with Scheduler(
                client, backend="simulator", shots=10, batch_size=1, poll_initial=0.5
            ) as s:
                for c in circuits(40):
                    s.submit(c)
                await s.gather()
            requests = client.transport.stats.requests
        assert server.stats.jobs_created == 40
    # 40 jobs submitted within one coalescing window are polled together with GET /jobs?ids=
    assert requests["GET /jobs/{id}"] == 0
    assert 1 <= requests["GET /jobs"] <= 3


@pytest.mark.anyio
async def test_emulator_peak_active_jobs_never_exceeds_max_in_flight() -> None:
    cs = circuits(40)
    async with qjobs.emulators.serve("ionq", queue_time=0.02, exec_time=0.01, seed=6) as server:
        async with (
            qjobs.connect(
                "ionq", token="t", base_url=server.base_url, rate_limit=NO_RATE
            ) as client,
            Scheduler(
                client,
                backend="simulator",
                shots=10,
                batch_size=1,
                max_in_flight=4,
                poll_initial=0.01,
                poll_max=0.05,
            ) as s,
        ):
            for c in cs:
                s.submit(c)
            results = await s.gather()
        assert server.stats.jobs_created == 40
        assert 1 <= server.stats.peak_active_jobs <= 4
    np.testing.assert_allclose(np.stack([r.probabilities for r in results]), exact(cs), atol=1e-9)


@pytest.mark.anyio
async def test_cancel_leaves_no_job_running_at_the_emulator() -> None:
    async with qjobs.emulators.serve("ionq", queue_time=120.0, seed=7) as server:
        async with qjobs.connect(
            "ionq", token="t", base_url=server.base_url, rate_limit=NO_RATE
        ) as client:
            submitted, on_event = counter("submitted", 12)
            async with Scheduler(
                client, backend="simulator", shots=10, batch_size=1, on_event=on_event
            ) as s:
                futs = [s.submit(c) for c in circuits(12)]
                await submitted.wait()
                assert server.stats.active_jobs == 12
                report = await s.cancel()
        assert server.stats.active_jobs == 0
    assert sorted(report.cancelled) == sorted(str(f.job_id) for f in futs)
    assert report.failed == ()
    assert all(isinstance(f.exception(), qjobs.JobCancelledError) for f in futs)


@pytest.mark.anyio
async def test_ctrl_c_cancels_jobs_at_the_emulator() -> None:
    async with qjobs.emulators.serve("ionq", queue_time=120.0, seed=8) as server:
        async with qjobs.connect(
            "ionq", token="t", base_url=server.base_url, rate_limit=NO_RATE
        ) as client:
            submitted, on_event = counter("submitted", 6)
            with anyio.CancelScope() as scope:
                async with Scheduler(
                    client, backend="simulator", shots=10, batch_size=2, on_event=on_event
                ) as s:
                    for c in circuits(12):
                        s.submit(c)
                    await submitted.wait()
                    scope.cancel()  # what Ctrl-C does to the main task under asyncio.run
                    await s.gather()
        assert scope.cancelled_caught
        assert server.stats.jobs_created == 6
        assert server.stats.active_jobs == 0


@pytest.mark.anyio
async def test_fault_storm_loses_and_duplicates_nothing() -> None:
    faults = [
        {"kind": "status", "status": 500, "rate": 0.02},
        {"kind": "status", "status": 502, "rate": 0.015},
        {"kind": "status", "status": 503, "rate": 0.015},
        {"kind": "rate_limit", "rate": 0.02, "retry_after": 0.05},
        {"kind": "drop", "rate": 0.005},
        {"kind": "drop_after", "rate": 0.005},
        {"kind": "malformed", "rate": 0.01},
    ]
    cs = circuits(2000)
    # Injected 429s at random are not a server limit: the limiter is kept from adapting to them.
    fixed = RateLimit(max_concurrent=16, adaptive=False)
    async with qjobs.emulators.serve("ionq", seed=9, queue_time=0.02, faults=faults) as server:
        async with qjobs.connect(
            "ionq", token="t", base_url=server.base_url, retry=FAST_RETRY, rate_limit=fixed
        ) as client:
            async with Scheduler(
                client,
                backend="simulator",
                shots=100,
                batch_size=4,
                max_in_flight=64,
                poll_initial=0.02,
                poll_max=0.1,
            ) as s:
                for c in cs:
                    s.submit(c)
                results = await s.gather()
                progress = s.progress()
            jobs = [j async for j in client.iter_jobs(limit=1000) if j.parent_id is None]
        stats = server.stats
        injected = dict(stats.faults_injected)
        assert stats.jobs_created == 500  # 2,000 circuits in full batches of 4: none twice
        assert stats.peak_active_jobs <= 64
    assert sum(injected.values()) >= 50, injected
    kinds = {"status", "rate_limit", "drop", "drop_after", "malformed"}
    assert kinds <= {kind for kind, n in injected.items() if n > 0}, injected  # every kind hit
    assert len(jobs) == 500
    assert sum(j.circuit_count for j in jobs) == 2000
    assert progress.completed == 2000
    assert progress.jobs_submitted == 500
    np.testing.assert_allclose(np.stack([r.probabilities for r in results]), exact(cs), atol=1e-9)


# =========================================================================== SIGKILL
class Emulator:
    """``python -m qjobs emulate ionq`` in its own process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qjobs",
                "emulate",
                "ionq",
                "--port",
                "0",
                "--queue-ms",
                "150",
                "--exec-ms",
                "50",
                "--seed",
                "3",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        assert line[0] == "ionq", line
        self.base_url = line[1]
        self.root = self.base_url.rsplit("/", 1)[0]

    def faults(self, spec: list[dict[str, Any]]) -> None:
        method = "POST" if spec else "DELETE"
        req = urllib.request.Request(
            self.root + "/_qjobs/faults",
            data=json.dumps(spec).encode() if spec else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=10).read()

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.root + "/_qjobs/stats", timeout=10) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    try:
        yield emu
    finally:
        emu.close()


class Child:
    def __init__(self, emu: Emulator, tmp: Path, n: int, batch: int, limit: int) -> None:
        self.out = tmp / "out.json"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "scheduler_child.py"),
                emu.base_url,
                str(tmp / "ledger.db"),
                str(self.out),
                str(n),
                str(batch),
                str(limit),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def wait_for(self, prefix: str, count: int = 1) -> None:
        """Read the child's lines until ``count`` lines starting with ``prefix`` were seen."""
        assert self.proc.stdout is not None
        seen = sum(1 for line in self.lines if line.startswith(prefix))
        while seen < count:
            line = self.proc.stdout.readline()
            assert line, f"child exited early: {self.lines[-5:]}"
            self.lines.append(line.strip())
            seen += line.startswith(prefix)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL

    def finish(self) -> list[str]:
        out, _ = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0
        return self.lines + out.split("\n")


def wait_for_ledger(db: Path, sql: str, count: int = 1) -> None:
    """Return once ``sql`` (a count over committed ledger rows) reaches ``count``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if db.exists():
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                n = con.execute(sql).fetchone()[0]
            except sqlite3.OperationalError:
                n = 0  # tables not created yet
            finally:
                con.close()
            if n >= count:
                return
        time.sleep(0.002)
    raise AssertionError(f"the ledger never had {count} rows for {sql!r}")


INTENT_ONLY = "SELECT count(*) FROM batches WHERE status = 'intent' AND job_id IS NULL"
JOB_IDS = "SELECT count(*) FROM batches WHERE job_id IS NOT NULL"
RESULTS = "SELECT count(*) FROM circuits WHERE result IS NOT NULL"


def ledger_count(db: Path, sql: str) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        n: int = con.execute(sql).fetchone()[0]
    finally:
        con.close()
    return n


def wait_until(check: Callable[[], bool], what: str) -> None:
    """Return once ``check()`` holds (state observed at the emulator or in the ledger)."""
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.002)


def posts(emu: Emulator) -> int:
    return int(emu.stats()["requests"].get("POST /jobs", 0))


def polls(emu: Emulator) -> int:
    requests = emu.stats()["requests"]
    return int(requests.get("GET /jobs", 0) + requests.get("GET /jobs/{id}", 0))


def result_fetches(emu: Emulator) -> int:
    return sum(n for route, n in emu.stats()["requests"].items() if "/results" in route)


@pytest.mark.slow
@pytest.mark.parametrize(("n", "batch", "limit"), [(24, 1, 4), (24, 3, 2)])
def test_sigkill_at_any_point_runs_every_circuit_exactly_once(
    emulator: Emulator, tmp_path: Path, n: int, batch: int, limit: int
) -> None:
    db = tmp_path / "ledger.db"
    # 1. killed during submission: the emulator created the first job but its answer was lost
    #    (the connection dropped after handling), so the child is looking it up by key (slowed)
    #    when it is killed; the ledger holds that job's intent and no job id
    emulator.faults(
        [
            {"kind": "drop_after", "route": "POST /jobs", "count": 1},
            {"kind": "slow", "route": "GET /jobs", "delay_ms": 1000},
        ]
    )
    child = Child(emulator, tmp_path, n, batch, limit)
    wait_for_ledger(db, INTENT_ONLY)
    wait_until(
        lambda: emulator.stats()["faults_injected"].get("drop_after", 0) == 1, "the lost answer"
    )
    child.kill()
    orphans = emulator.stats()["jobs_created"] - ledger_count(db, JOB_IDS)
    assert orphans >= 1  # the restart must find it by key, not submit it again
    # 2. killed while polling: jobs created in this run are queued at the emulator and polled
    emulator.faults([])
    child = Child(emulator, tmp_path, n, batch, limit)
    child.wait_for("S ", 2)
    before = polls(emulator)
    wait_until(lambda: polls(emulator) > before, "a status poll after the submissions")
    assert emulator.stats()["active_jobs"] >= 1
    child.kill()
    # 3. killed during a result fetch: two fetches answer at once, the next ones hang at the
    #    emulator; the kill comes once a result is committed and a third fetch is on its way
    emulator.faults(
        [
            {
                "kind": "slow",
                "route": "GET /jobs/*/results*",
                "delay_ms": 2000,
                "skip": 2,
                "count": 999,
            }
        ]
    )
    committed, fetches = ledger_count(db, RESULTS), result_fetches(emulator)
    child = Child(emulator, tmp_path, n, batch, limit)
    wait_for_ledger(db, RESULTS, committed + 1)
    wait_until(lambda: result_fetches(emulator) >= fetches + 3, "a third result fetch")
    child.kill()
    assert emulator.stats()["faults_injected"].get("slow", 0) >= 1
    # 4. run to the end
    emulator.faults([])
    lines = Child(emulator, tmp_path, n, batch, limit).finish()
    done = next(line for line in lines if line.startswith("DONE")).split()
    assert int(done[1]) >= committed + 1  # results fetched before the last kill: from the ledger

    stats = emulator.stats()
    probs = np.array(json.loads((tmp_path / "out.json").read_text()))
    np.testing.assert_allclose(probs, exact(circuits(n)), atol=1e-9)
    circuits_run = anyio.run(count_circuits, emulator.base_url)
    assert circuits_run == n  # every circuit ran exactly once
    assert stats["jobs_created"] == n // batch
    assert stats["active_jobs"] == 0


async def count_circuits(base_url: str) -> int:
    async with qjobs.connect("ionq", token="t", base_url=base_url) as client:
        return sum([j.circuit_count async for j in client.iter_jobs() if j.parent_id is None])
