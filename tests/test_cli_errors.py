"""``qjobs sweep`` errors: one stderr line naming the cause, the right exit status, no traceback.

Every case runs ``python -m qjobs sweep`` as a real subprocess: against its in-process emulator
(``--emulate``) or against a ``qjobs emulate ionq`` subprocess that accepts one token and fails
every job, whose statistics tell how many jobs were created.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "the-one-good-token"

HEAD = '''qasm = """OPENQASM 3.0;
input float t;
qubit[1] q;
rx(t) q[0];
"""
provider = "ionq"
'''
PARAMS = "[params]\nt = [0.0, 0.5, 1.0, 1.5]\n"


def _env(token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONQ_", "QISKIT_IONQ_"))}
    env["PYTHONPATH"] = str(ROOT)
    if token is not None:
        env["IONQ_API_KEY"] = token
    return env


class Emulator:
    """``qjobs emulate ionq --token TOKEN --fail-rate 1`` in its own process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "qjobs", "emulate", "ionq", "--port", "0"),
                *("--token", TOKEN, "--fail-rate", "1", "--seed", "3"),
            ],
            stdout=subprocess.PIPE,
            env=_env(),
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        assert line[:1] == ["ionq"], line
        self.base_url = line[1]
        self.root = self.base_url.rsplit("/", 1)[0]

    def _call(self, method: str) -> dict[str, Any]:
        req = urllib.request.Request(self.root + "/_qjobs/stats", method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else {}

    def stats(self) -> dict[str, Any]:
        return self._call("GET")

    def reset(self) -> None:
        self._call("DELETE")

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    try:
        yield emu
    finally:
        emu.close()


def sweep(
    tmp_path: Path, body: str, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Write ``body`` to s.toml in ``tmp_path`` and run ``qjobs sweep s.toml ARGS`` there."""
    (tmp_path / "s.toml").write_text(body, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "qjobs", "sweep", "s.toml", *args],
        cwd=tmp_path,
        env=_env(token),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Exit ``code``, exactly one stderr line holding every needle, no traceback, no token."""
    err = proc.stderr
    assert proc.returncode == code, proc.stdout + err
    assert "Traceback" not in err
    assert "ExceptionGroup" not in err
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    assert TOKEN not in proc.stdout + err
    return err


# ------------------------------------------------------------------ errors once the run started
@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        ('backend = "simulator"\n[options]\nbogus = 1\n', ["s.toml: options.bogus=", "unknown"]),
        ('backend = "no-such-backend"\n', ["s.toml: backend='no-such-backend'", "unknown IonQ"]),
        ('backend = "simulator"\nshots = 10000000000\n', ["s.toml: shots=10000000000", "<="]),
    ],
    ids=["unknown-option", "wrong-backend", "too-many-shots"],
)
def test_bad_input_seen_by_the_client_exits_2(
    tmp_path: Path, emulator: Emulator, extra: str, needles: list[str]
) -> None:
    emulator.reset()
    body = HEAD + f'base_url = "{emulator.base_url}"\n' + extra + PARAMS
    proc = sweep(tmp_path, body, token=TOKEN)
    assert_one_line(proc, 2, "qjobs sweep: ", *needles)
    assert emulator.stats()["jobs_created"] == 0
    assert not (tmp_path / "s.npz").exists()


def test_bad_input_with_emulate_exits_2(tmp_path: Path) -> None:
    proc = sweep(
        tmp_path, HEAD + 'backend = "simulator"\n[options]\nbogus = 1\n' + PARAMS, "--emulate"
    )
    assert_one_line(proc, 2, "s.toml: options.bogus=", "unknown submit option")


def test_a_wrong_token_exits_1(tmp_path: Path, emulator: Emulator) -> None:
    emulator.reset()
    body = HEAD + f'base_url = "{emulator.base_url}"\nbackend = "simulator"\n' + PARAMS
    proc = sweep(tmp_path, body, token="a-wrong-token")
    assert_one_line(proc, 1, "qjobs sweep: failed: AuthenticationError:", "401")
    assert "a-wrong-token" not in proc.stderr
    assert emulator.stats()["jobs_created"] == 0


def test_a_failed_job_exits_1_and_the_rest_is_cancelled(tmp_path: Path, emulator: Emulator) -> None:
    emulator.reset()
    body = (
        HEAD
        + f'base_url = "{emulator.base_url}"\nbackend = "simulator"\n'
        + "[limits]\nbatch_size = 1\npoll_initial = 0.01\n"
        + PARAMS
    )
    proc = sweep(tmp_path, body, token=TOKEN)
    assert_one_line(proc, 1, "qjobs sweep: failed: JobFailedError:", "failed")
    stats = emulator.stats()
    assert 1 <= stats["jobs_created"] <= 4
    assert stats["active_jobs"] == 0
    assert not (tmp_path / "s.npz").exists()


def test_missing_credentials_exit_2(tmp_path: Path, emulator: Emulator) -> None:
    emulator.reset()
    body = HEAD + f'base_url = "{emulator.base_url}"\nbackend = "simulator"\n' + PARAMS
    (tmp_path / "s.toml").write_text(body, encoding="utf-8")
    env = _env()
    env["HOME"] = str(tmp_path)  # no credentials file either
    proc = subprocess.run(
        [sys.executable, "-m", "qjobs", "sweep", "s.toml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_one_line(proc, 2, "qjobs sweep: s.toml: ", "IONQ_API_KEY")
    assert emulator.stats()["total_requests"] == 0


# ------------------------------------------------------------------------------- ledger
def _write_foreign_sqlite(path: Path) -> bytes:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (name TEXT)")
    con.execute("INSERT INTO people VALUES ('ada')")
    con.commit()
    con.close()
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["directory", "garbage", "foreign-sqlite", "missing-folder"])
def test_an_unusable_ledger_exits_2_before_any_job(
    tmp_path: Path, emulator: Emulator, kind: str
) -> None:
    emulator.reset()
    ledger = tmp_path / "run.db"
    before: bytes | None = None
    if kind == "directory":
        ledger.mkdir()
        needles = ["is a directory", "give the path of a file"]
    elif kind == "garbage":
        ledger.write_bytes(bytes(range(256)) * 40)
        before = ledger.read_bytes()
        needles = ["is not a qjobs ledger", "not a SQLite database", "move it aside"]
    elif kind == "foreign-sqlite":
        before = _write_foreign_sqlite(ledger)
        needles = ["is not a qjobs ledger", "people", "move it aside"]
    else:
        ledger = tmp_path / "nowhere" / "run.db"
        needles = ["does not exist", "create it first"]
    body = (
        HEAD
        + f'base_url = "{emulator.base_url}"\nbackend = "simulator"\n'
        + f'ledger = "{ledger}"\n'
        + PARAMS
    )
    proc = sweep(tmp_path, body, token=TOKEN)
    assert_one_line(proc, 2, f"s.toml: ledger '{ledger}'", *needles)
    stats = emulator.stats()
    assert stats["jobs_created"] == 0
    assert stats["total_requests"] == 0
    if before is not None:
        assert ledger.read_bytes() == before  # the file was not touched
        assert not Path(f"{ledger}-wal").exists()


# ------------------------------------------------------------------- the file's values
HUGE = "1" + "0" * 400


@pytest.mark.parametrize(
    ("params", "needles"),
    [
        (f"t = [0.0, {HUGE}]", ["params.t[1]=1000", "too large for a float"]),
        ("t = [0.0, inf]", ["params.t[1]=inf", "not a finite number"]),
        ("t = [nan]", ["params.t[0]=nan", "not a finite number"]),
        ("t = [-inf, 1.0]", ["params.t[0]=-inf", "not a finite number"]),
        ("t = [1e400]", ["params.t[0]=inf", "not a finite number"]),
        ('t = ["1e400"]', ["params.t[0]='1e400'", "not a finite number"]),
        ('t = ["10**400"]', ["params.t[0]='10**400'", "too large for a float"]),
        (f"t = {{ start = 0, stop = {HUGE}, num = 3 }}", ["params.t.stop=1000", "too large"]),
        ("t = { start = 0, stop = 1, step = 1e-300 }", ["params.t.step=", "1,000,000 points"]),
        (f"t = {{ start = 0, stop = 1, num = {HUGE} }}", ["params.t.num=1000", "1,000,000"]),
        ("t = [" + "1" + "0" * 5000 + "]", ["invalid TOML", "digits"]),
    ],
    ids=[
        "400-digit",
        "inf",
        "nan",
        "-inf",
        "1e400",
        "1e400-string",
        "10**400",
        "huge-stop",
        "tiny-step",
        "huge-num",
        "5000-digit",
    ],
)
def test_huge_or_non_finite_numbers_exit_2(tmp_path: Path, params: str, needles: list[str]) -> None:
    proc = sweep(tmp_path, HEAD + f"[params]\n{params}\n", "--emulate")
    assert_one_line(proc, 2, "qjobs sweep: s.toml: ", *needles)


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (f"shots = {HUGE}\n", ["shots=1000", "too large"]),
        (f"[limits]\nmax_in_flight = {HUGE}\n", ["limits.max_in_flight=1000", "too large"]),
        ("[limits]\npoll_initial = nan\n", ["limits.poll_initial=nan", "not a finite"]),
        (f"[emulator]\nlatency_ms = {HUGE}\n", ["emulator.latency_ms=1000", "too large"]),
        (f"[emulator]\nseed = {HUGE}\n", ["emulator.seed=1000", "too large"]),
        ("[options]\nnoise = { seed = inf }\n", ["options.noise.seed=inf", "not a finite"]),
        (f"[options]\nweights = [1, {HUGE}]\n", ["options.weights[1]=1000", "too large"]),
    ],
    ids=["shots", "limit-int", "limit-nan", "emulator-float", "emulator-seed", "option", "list"],
)
def test_huge_values_elsewhere_exit_2(tmp_path: Path, extra: str, needles: list[str]) -> None:
    params = "[params]\nt = [0.0]\n"
    body = HEAD + (params + extra if extra.startswith("[") else extra + params)
    proc = sweep(tmp_path, body, "--emulate")
    assert_one_line(proc, 2, "qjobs sweep: s.toml: ", *needles)


@pytest.mark.parametrize(
    ("params", "needles"),
    [
        (
            "a = { start = 0, stop = 1, num = 1000000 }\nb = { start = 0, stop = 1, num = 1000 }",
            ["params=", "1,000,000,000 points", "product of 1000000 x 1000", "limit of 1,000,000"],
        ),
        (
            "a = { start = 0, stop = 1, num = 2000000 }\nb = [1.0]",
            ["params.a.num=2000000", "more than 1,000,000 points"],
        ),
    ],
    ids=["product", "one-axis"],
)
def test_a_grid_too_large_exits_2_before_allocating(
    tmp_path: Path, params: str, needles: list[str]
) -> None:
    head = HEAD.replace("input float t;", "input float a;\ninput float b;").replace(
        "rx(t)", "rx(a + b)"
    )
    proc = sweep(tmp_path, head + f"[params]\n{params}\n", "--emulate")
    assert_one_line(proc, 2, "qjobs sweep: s.toml: ", *needles)


def test_invalid_toml_exits_2(tmp_path: Path) -> None:
    proc = sweep(tmp_path, "this is = not [toml", "--emulate")
    assert_one_line(proc, 2, "qjobs sweep: s.toml: file='s.toml': invalid TOML")
