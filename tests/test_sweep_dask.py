"""One campaign on Dask: a ``LocalCluster`` of 2 worker processes, one emulator, the PG ledger.

The cluster listens on 127.0.0.1 only, with the dashboard off. One IonQ emulator process serves
every worker and counts the jobs created; one circuit per job (``batch_size = 1``), so "each
circuit submitted once" reads as "jobs created == points". Outcomes are exact at every point
(rotations by 0 or pi, then a phase), as in tests/test_sweep_workers.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

import qjobs
from qjobs.cli import main as cli_main

pytest.importorskip("distributed", reason="dask.distributed is not installed (qjobs[dask])")

import distributed
from test_sweep_workers import TOML, _check_exact, _Emulator, _env, _one

import qjobs_sync
from qjobs.sweep._dask import WorkerTask, require_distributed
from qjobs.transport import RateLimit

QASM = """OPENQASM 3.0; include "stdgates.inc";
input float a; input float b; input float u;
qubit[2] q; bit[2] c;
rx(a) q[0]; rx(b) q[1]; rz(u) q[0]; rz(u) q[1];
c = measure q;"""
LIMITS: dict[str, Any] = {"batch_size": 1, "poll_initial": 0.05, "poll_max": 0.2}
#: The workers' shared request budget (one token bucket in the ledger), as in the CLI tests.
RATE = RateLimit(requests_per_second=400)


def _sweep(n: int) -> Any:
    """``4 * n`` points: a and b in {0, pi}, u over n values (a qjobs_sync Sweep)."""
    return qjobs_sync.Sweep(QASM, {"a": [0, np.pi], "b": [0, np.pi], "u": np.linspace(0, 1, n)})


def _exact(res: qjobs.SweepResult, n: int) -> None:
    expected = np.zeros((2, 2, n, 4))
    for ia in range(2):
        for ib in range(2):
            expected[ia, ib, :, ia + 2 * ib] = 1.0
    np.testing.assert_allclose(res.probabilities, expected, atol=1e-12)
    assert len(set(res.job_ids)) == 4 * n


@pytest.fixture(scope="module")
def dask_client() -> Iterator[distributed.Client]:
    """2 single-threaded worker processes on 127.0.0.1, no dashboard, for this module."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def client(dask_client: distributed.Client) -> distributed.Client:
    """The module's client with both workers up (a killed worker's nanny restarts it)."""
    dask_client.wait_for_workers(2, timeout=120)
    return dask_client


@pytest.fixture
def emulator() -> Iterator[_Emulator]:
    emu = _Emulator("--seed", "5")
    try:
        yield emu
    finally:
        emu.close()


def test_two_dask_workers_run_a_2000_point_campaign_each_circuit_once(
    client: distributed.Client, emulator: _Emulator, pg_url: str
) -> None:
    seen: list[Any] = []
    out = qjobs_sync.sweep.run_on_dask(
        _sweep(500),
        "ionq",
        pg_url,
        client=client,
        connect_options={"token": "t", "base_url": emulator.base_url, "rate_limit": RATE},
        backend="simulator",
        shots=20,
        shard_size=100,
        progress=seen.append,
        **LIMITS,
    )
    assert emulator.stats()["jobs_created"] == 2000
    _exact(out, 500)
    assert out.metadata["dask_workers"] == 2
    assert out.metadata["requests"] >= 2 * 2000  # a POST and at least one look per job
    assert (seen[-1].completed, seen[-1].total) == (2000, 2000)
    assert _one(pg_url, "SELECT count(*) FROM qjobs_shards WHERE state = 'done'") == 20
    assert _one(pg_url, "SELECT count(DISTINCT job_id) FROM qjobs_batches") == 2000
    # every shard was worked by a task of this run, named host:pid:dask<index>
    owners = _one(pg_url, "SELECT array_agg(DISTINCT owner) FROM qjobs_shards")
    assert owners
    assert all(o.rsplit(":", 1)[1] in {"dask0", "dask1"} for o in owners), owners


def test_a_killed_dask_worker_then_a_rerun_still_exactly_once(
    client: distributed.Client, pg_url: str
) -> None:
    emu = _Emulator("--seed", "6", "--exec-ms", "300")
    n = 150  # 600 points
    options: dict[str, Any] = {
        "client": client,
        "connect_options": {"token": "t", "base_url": emu.base_url, "rate_limit": RATE},
        "backend": "simulator",
        "shots": 20,
        "shard_size": 50,
        "lease": 3.0,
        **LIMITS,
    }
    outcome: list[Any] = []

    def first_run() -> None:
        try:
            outcome.append(qjobs_sync.sweep.run_on_dask(_sweep(n), "ionq", pg_url, **options))
        except Exception as exc:  # the killed task may exhaust Dask's allowed failures
            outcome.append(exc)

    try:
        pids = set(client.run(os.getpid).values())
        runner = threading.Thread(target=first_run)
        runner.start()
        # wait until a Dask worker holds a shard with jobs in flight (intents, no results yet)
        in_flight = (
            "SELECT min(s.owner) FROM qjobs_shards s CROSS JOIN LATERAL unnest(s.keys) k(key) "
            "JOIN qjobs_circuits c ON c.key = k.key "
            "WHERE s.state = 'open' AND s.owner IS NOT NULL AND c.result IS NULL"
        )
        owner = None
        while owner is None:
            assert runner.is_alive(), outcome
            if _one(pg_url, "SELECT to_regclass('qjobs_shards') IS NOT NULL"):
                owner = _one(pg_url, in_flight)
            if owner is None:
                threading.Event().wait(0.05)
        victim = int(owner.split(":")[-2])
        assert victim in pids
        held = _one(pg_url, "SELECT min(shard) FROM qjobs_shards WHERE owner = %s", owner)
        os.kill(victim, signal.SIGKILL)
        runner.join(timeout=300)
        assert not runner.is_alive()
        # the rerun finishes whatever the first run left (nothing, when Dask reran the task)
        out = qjobs_sync.sweep.run_on_dask(_sweep(n), "ionq", pg_url, **options)
        assert emu.stats()["jobs_created"] == 4 * n
    finally:
        emu.close()
    _exact(out, n)
    assert _one(pg_url, "SELECT count(*) FROM qjobs_shards WHERE state = 'done'") == 12
    # the victim's shard was finished on a later lease, by another worker process
    claims, last = (
        _one(pg_url, "SELECT row(claims, owner)::text FROM qjobs_shards WHERE shard = %s", held)
        .strip("()")
        .split(",")
    )
    assert int(claims) >= 2, (claims, last, owner)
    assert last != owner
    if isinstance(outcome[0], qjobs.SweepResult):
        _exact(outcome[0], n)


def test_cli_dask_local_2(tmp_path: Path, emulator: _Emulator, pg_url: str) -> None:
    (tmp_path / "c.toml").write_text(TOML.format(base_url=emulator.base_url), encoding="utf-8")
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "qjobs", "sweep", "c.toml", "--ledger", pg_url),
            *("--dask", "local:2", "--shard-size", "250", "--out", "dask.npz"),
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "done 2000/2000" in proc.stdout, proc.stdout
    assert emulator.stats()["jobs_created"] == 2000
    _check_exact(tmp_path / "dask.npz")
    assert _one(pg_url, "SELECT count(*) FROM qjobs_shards WHERE state = 'done'") == 8


@pytest.mark.parametrize(
    ("value", "ledger", "reason"),
    [
        ("local", "postgresql://u@/db", "expected local:N"),
        ("local:0", "postgresql://u@/db", "N must be from 1 to 256"),
        ("local:two", "postgresql://u@/db", "expected local:N"),
        ("tcp://127.0.0.1", "postgresql://u@/db", "expected local:N"),
        ("tcp://127.0.0.1:70000", "postgresql://u@/db", "the port must be from 1 to 65535"),
        ("http://127.0.0.1:8786", "postgresql://u@/db", "expected local:N"),
        ("local:2", None, "add --ledger postgresql://"),
        ("local:2", "run.db", "add --ledger postgresql://"),
    ],
)
def test_bad_dask_values_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    ledger: str | None,
    reason: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(TOML.format(base_url="http://127.0.0.1:9/v0.4"), "utf-8")
    argv = ["sweep", "c.toml", "--dask", value, *(["--ledger", ledger] if ledger else [])]
    assert cli_main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"qjobs sweep: c.toml: --dask={value!r}: "), lines
    assert reason in lines[0]
    assert captured.out == ""


def test_an_unreachable_scheduler_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    pg_url: str,
) -> None:
    import socket

    from qjobs.cli import _sweep_dask

    monkeypatch.setattr(_sweep_dask, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.chdir(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "c.toml").write_text(TOML.format(base_url="http://127.0.0.1:9/v0.4"), "utf-8")
    value = f"tcp://127.0.0.1:{port}"
    assert cli_main(["sweep", "c.toml", "-q", "--ledger", pg_url, "--dask", value]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"qjobs sweep: c.toml: --dask={value!r}: no Dask scheduler"), lines


def test_without_dask_the_error_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'qjobs\[dask\]'"):
        require_distributed()
    with pytest.raises(ImportError, match=r"qjobs\[dask\]"):
        qjobs_sync.sweep.run_on_dask(
            _sweep(1), "ionq", "postgresql://u@/db", client=cast(Any, None), shots=1
        )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(TOML.format(base_url="http://127.0.0.1:9/v0.4"), "utf-8")
    argv = ["sweep", "c.toml", "--ledger", "postgresql://u@/db", "--dask", "local:2"]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "qjobs sweep: c.toml: --dask='local:2': needs dask.distributed: pip install 'qjobs[dask]'"
    ]


def test_bad_input_is_refused_before_any_task(client: distributed.Client, tmp_path: Path) -> None:
    sweep = _sweep(1)
    with pytest.raises(qjobs.InputError, match="ledger"):
        qjobs_sync.sweep.run_on_dask(
            sweep, "ionq", str(tmp_path / "run.db"), client=client, shots=1
        )
    with pytest.raises(qjobs.InputError, match="shard_size"):
        qjobs_sync.sweep.run_on_dask(
            sweep, "ionq", "postgresql://u@/db", client=client, shots=1, shard_size=0
        )
    with pytest.raises(qjobs.InputError, match="ledger_url"):
        qjobs_sync.sweep.run_on_dask(
            sweep, "ionq", "postgresql://u@/db", client=client, shots=1, ledger="x.db"
        )


def test_a_worker_task_repr_shows_no_secret() -> None:
    sweep = qjobs.Sweep(QASM, {"a": [0.0], "b": [0.0], "u": [0.0]})
    task = WorkerTask(
        sweep,
        "ionq",
        "postgresql://user:pw-secret@/db?host=/tmp",
        {"token": "tok-secret", "base_url": "http://127.0.0.1:9/v0.4"},
        "simulator",
        10,
        100,
        30.0,
        {},
    )
    text = repr(task)
    assert "tok-secret" not in text
    assert "pw-secret" not in text
    assert "provider='ionq'" in text
    assert "points=1" in text


def _doc_example() -> str:
    """The ``python no-run`` example of docs/dask.md (it needs a PostgreSQL server)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "dask.md").read_text("utf-8")
    blocks = re.findall(r"^```python no-run\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "docs/dask.md has one example that needs PostgreSQL"
    return str(blocks[0])


def test_the_docs_example_runs(tmp_path: Path, pg_url: str) -> None:
    script = tmp_path / "example.py"
    script.write_text(_doc_example(), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**_env(), "QJOBS_LEDGER_URL": pg_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = _one(pg_url, "SELECT count(DISTINCT job_id) FROM qjobs_batches")
    assert proc.stdout.splitlines()[-1] == f"(200, 2) 2 workers, {jobs} jobs"
    assert _one(pg_url, "SELECT count(*) FROM qjobs_circuits WHERE result IS NOT NULL") == 200


@pytest.mark.anyio
async def test_the_async_api_on_an_asynchronous_client(
    dask_client: distributed.Client, pg_url: str
) -> None:
    """``qjobs.sweep.run_on_dask`` awaited with ``Client(asynchronous=True)`` in this loop."""
    address = str(dask_client.scheduler_info()["address"])
    seen: list[Any] = []
    async with (
        qjobs.emulators.serve("ionq") as server,
        distributed.Client(address, asynchronous=True, set_as_default=False) as client,
    ):
        await client.wait_for_workers(2)
        out = await qjobs.sweep.run_on_dask(
            qjobs.Sweep(QASM, {"a": [0, np.pi], "b": [0, np.pi], "u": np.linspace(0, 1, 10)}),
            "ionq",
            pg_url,
            client=client,
            connect_options={"token": "t", "base_url": server.base_url, "rate_limit": RATE},
            backend="simulator",
            shots=10,
            shard_size=8,
            progress=seen.append,
            **LIMITS,
        )
        assert server.stats.jobs_created == 40
    _exact(out, 10)
    assert out.metadata["dask_workers"] == 2
    assert seen[-1].completed == 40
