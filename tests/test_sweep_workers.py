"""Many workers, one campaign: ``qjobs sweep --ledger postgresql://...`` in three processes.

One IonQ emulator process serves every worker; its statistics count the jobs created. The
template's outcome is exact at every point (rotations by 0 or pi, then a phase that changes no
probability), so every result can be checked without sampling noise. One circuit per job
(``batch_size = 1``), so "each circuit submitted once" reads as "jobs created == points". The
workers share one request budget of 400/s (``requests_per_second``; IonQ's published 100/s
would make the 2,000-point campaign a minute long).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

import qjobs
from qjobs.sweep._workers import assemble, run_worker

ROOT = Path(__file__).resolve().parent.parent
POINTS = 2000

TOML = """
qasm = \"\"\"OPENQASM 3.0; include "stdgates.inc";
input float a; input float b; input float u;
qubit[2] q; bit[2] c;
rx(a) q[0]; rx(b) q[1]; rz(u) q[0]; rz(u) q[1];
c = measure q;\"\"\"
provider = "ionq"
backend = "simulator"
base_url = "{base_url}"
shots = 20

[params]
a = [0, "pi"]
b = [0, "pi"]
u = {{ start = 0, stop = 1, num = 500 }}

[limits]
batch_size = 1
poll_initial = 0.05
poll_max = 0.2
requests_per_second = 400
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONQ_", "QISKIT_IONQ_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["IONQ_API_KEY"] = "token-of-the-campaign"
    return env


class _Emulator:
    """``python -m qjobs emulate ionq`` in its own process."""

    def __init__(self, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qjobs", "emulate", "ionq", "--port", "0", *flags],
            stdout=subprocess.PIPE,
            env=_env(),
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        assert line[:1] == ["ionq"], line
        self.base_url = line[1]
        self.root = self.base_url.rsplit("/", 1)[0]

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.root + "/_qjobs/stats", timeout=10) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


def _worker(tmp_path: Path, url: str, name: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "qjobs", "sweep", "c.toml", "--ledger", url),
            *("--worker-id", name, "--out", f"out-{name}.npz", *extra),
        ],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _check_exact(path: Path) -> None:
    """Every point's outcome is bit 0 = (a == pi), bit 1 = (b == pi), with all the shots."""
    res = qjobs.SweepResult.load(path)
    assert res.probabilities.shape == (2, 2, 500, 4)
    expected = np.zeros((2, 2, 500, 4))
    for ia in range(2):
        for ib in range(2):
            expected[ia, ib, :, ia + 2 * ib] = 1.0
    np.testing.assert_allclose(res.probabilities, expected, atol=1e-12)
    assert len(set(res.job_ids)) == POINTS  # one job per point, none shared


def _one(url: str, sql: str, *params: Any) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql.encode(), params).fetchone()
    return None if row is None else row[0]


def test_three_workers_complete_one_campaign_each_circuit_once(tmp_path: Path, pg_url: str) -> None:
    emu = _Emulator("--seed", "3")
    try:
        (tmp_path / "c.toml").write_text(TOML.format(base_url=emu.base_url), encoding="utf-8")
        workers = [_worker(tmp_path, pg_url, f"w{i}", "--shard-size", "100") for i in range(3)]
        outputs = [w.communicate(timeout=600) for w in workers]
        for w, (out, err) in zip(workers, outputs, strict=True):
            assert w.returncode == 0, out + err
        assert emu.stats()["jobs_created"] == POINTS
    finally:
        emu.close()
    # every worker reports the whole campaign, and wrote the whole result
    for name, (out, _) in zip(("w0", "w1", "w2"), outputs, strict=True):
        assert f"done {POINTS}/{POINTS}" in out, out
        _check_exact(tmp_path / f"out-{name}.npz")
    assert _one(pg_url, "SELECT count(*) FROM qjobs_shards WHERE state = 'done'") == 20
    assert _one(pg_url, "SELECT count(DISTINCT job_id) FROM qjobs_batches") == POINTS


def test_a_killed_workers_shard_is_taken_over_after_its_lease(tmp_path: Path, pg_url: str) -> None:
    emu = _Emulator("--seed", "4", "--exec-ms", "300")
    lease = ("--shard-size", "100", "--lease", "3")
    try:
        (tmp_path / "c.toml").write_text(TOML.format(base_url=emu.base_url), encoding="utf-8")
        victim = _worker(tmp_path, pg_url, "victim", *lease)
        others = [_worker(tmp_path, pg_url, f"w{i}", *lease) for i in range(2)]
        # wait until the victim holds a shard with jobs in flight (intents, no results yet)
        in_flight = (
            "SELECT min(s.shard) FROM qjobs_shards s CROSS JOIN LATERAL unnest(s.keys) k(key) "
            "JOIN qjobs_circuits c ON c.key = k.key "
            "WHERE s.owner = 'victim' AND s.state = 'open' AND c.result IS NULL"
        )
        held = None
        while held is None:
            assert victim.poll() is None, victim.communicate()
            if _one(pg_url, "SELECT to_regclass('qjobs_shards') IS NOT NULL"):
                held = _one(pg_url, in_flight)
            if held is None:
                time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        outputs = [w.communicate(timeout=600) for w in others]
        for w, (out, err) in zip(others, outputs, strict=True):
            assert w.returncode == 0, out + err
        assert emu.stats()["jobs_created"] == POINTS
    finally:
        emu.close()
    for name in ("w0", "w1"):
        _check_exact(tmp_path / f"out-{name}.npz")
    # the victim's shard was finished by another worker, on a second lease
    row = _one(
        pg_url, "SELECT row(owner, claims, state)::text FROM qjobs_shards WHERE shard = %s", held
    )
    assert row in {"(w0,2,done)", "(w1,2,done)"}, row
    assert _one(pg_url, "SELECT count(*) FROM qjobs_shards WHERE state = 'done'") == 20


def _zip_sweep(api: Any = qjobs) -> Any:
    """60 points alternating between |0> and |1> (``api``: qjobs or qjobs_sync)."""
    return api.Sweep(
        "OPENQASM 3.0; input float t; qubit[1] q; bit[1] c; rx(t) q[0]; c = measure q;",
        {"t": [0.0, np.pi] * 30},
        mode="zip",
    )


@pytest.mark.anyio
async def test_run_worker_and_assemble_from_python(pg_url: str) -> None:
    """The entry points a Dask task calls: two workers in one process, then assemble."""
    import anyio

    seen: list[Any] = []
    async with qjobs.emulators.serve("ionq") as server:

        async def work(name: str) -> None:
            await run_worker(
                _zip_sweep(),
                "ionq",
                pg_url,
                connect_options={"token": "t", "base_url": server.base_url},
                worker_id=name,
                backend="simulator",
                shots=10,
                shard_size=7,
                batch_size=1,
                progress=seen.append,
                poll_initial=0.02,
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(work, "a")
            tg.start_soon(work, "b")
        assert server.stats.jobs_created == 60
    out = await assemble(pg_url)
    assert out.probabilities.shape == (60, 2)
    np.testing.assert_array_equal(out.probabilities[:, 1], [0.0, 1.0] * 30)
    assert seen[-1].completed == 60
    assert seen[-1].total == 60


def test_blocking_twins_from_threads(pg_url: str) -> None:
    """``qjobs_sync.sweep.run_worker`` in two threads (what a Dask worker's task would call)."""
    import threading

    import qjobs_sync

    with qjobs_sync.emulators.serve("ionq") as server:
        options = {"token": "t", "base_url": server.base_url}
        threads = [
            threading.Thread(
                target=qjobs_sync.sweep.run_worker,
                args=(_zip_sweep(qjobs_sync), "ionq", pg_url),
                kwargs={
                    "connect_options": options,
                    "worker_id": name,
                    "backend": "simulator",
                    "shots": 10,
                    "shard_size": 5,
                    "batch_size": 1,
                },
            )
            for name in ("t1", "t2")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert server.stats.jobs_created == 60
    out = qjobs_sync.sweep.assemble(pg_url)
    np.testing.assert_array_equal(out.probabilities[:, 1], [0.0, 1.0] * 30)
    assert _one(pg_url, "SELECT count(*) FROM qjobs_shards WHERE state = 'done'") == 12


async def _budget_run(url: str, share: bool) -> tuple[int, int, int]:
    """Three workers on 120 points (a shard of 40 each) against an emulator allowing 40
    requests/s (burst 40), each client limited to 40/s; returns (429s, requests, jobs) as the
    emulator counts them. The clients' own limiters are fixed (``adaptive=False``), so what
    keeps the workers within the account's limit is the shared budget alone."""
    import anyio

    from qjobs.transport import RateLimit

    sweep = qjobs.Sweep(
        "OPENQASM 3.0; input float t; qubit[1] q; bit[1] c; rx(t) q[0]; c = measure q;",
        {"t": [0.0, np.pi] * 60},
        mode="zip",
    )
    async with qjobs.emulators.serve("ionq", rate_limit=40, burst=40) as server:
        options = {
            "token": "one-account",
            "base_url": server.base_url,
            "rate_limit": RateLimit(requests_per_second=40, adaptive=False),
        }
        async with anyio.create_task_group() as tg:
            for name in ("a", "b", "c"):
                tg.start_soon(
                    partial(
                        run_worker,
                        sweep,
                        "ionq",
                        url,
                        connect_options=options,
                        worker_id=name,
                        backend="simulator",
                        shots=10,
                        shard_size=40,
                        batch_size=1,
                        share_rate_limit=share,
                        poll_initial=0.05,
                    )
                )
        stats = server.stats
        return stats.total_rate_limited, stats.total_requests, stats.jobs_created


@pytest.mark.anyio
async def test_workers_share_one_request_budget(postgres_server: Any) -> None:
    """Sharing the account's 40 requests/s: the three workers together stay within it (the
    emulator refuses next to nothing); each on its own budget, they overrun it."""
    refused, requests, jobs = await _budget_run(postgres_server.new_database(), share=True)
    assert jobs == 120
    assert refused <= requests // 50, (refused, requests)
    refused_alone, _, jobs_alone = await _budget_run(postgres_server.new_database(), share=False)
    assert jobs_alone == 120
    # Alone, they overrun the limit until its first 429s (the Retry-After gate then holds each
    # client, so the count stays small; before the adaptive limiter it was ~75 here).
    assert refused_alone > refused, (refused_alone, refused)


def test_cli_ledger_url_password_is_redacted_in_errors(
    tmp_path: Path, postgres_server: Any
) -> None:
    """An unreachable ledger is one stderr line, exit 2, naming the URL without its password."""
    (tmp_path / "c.toml").write_text(
        TOML.format(base_url="http://127.0.0.1:9/v0.4"), encoding="utf-8"
    )
    url = f"postgresql://someone:pa55-w0rd-s3cret@/nodb?host={postgres_server.dir}"
    proc = _worker(tmp_path, url, "w0")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, out + err
    assert "someone:***@" in err
    assert "pa55-w0rd-s3cret" not in out + err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
