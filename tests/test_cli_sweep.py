"""``qjobs sweep FILE.toml``: a real run in a subprocess on the IonQ emulator, and bad files."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs.cli import _sweep as _cli_sweep
from qjobs.sweep import Sweep, SweepResult

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
input float phi;
qubit[3] q;
bit[3] c;
ry(theta) q[0];
cx q[0], q[1];
rx(phi) q[2];
rzz(theta / 2) q[1], q[2];
c = measure q;
"""

TOML = """
template = "tpl.qasm"
provider = "ionq"
backend = "simulator"
shots = 200
out = "ignored-because-of-out-flag.npz"

[params]
theta = { start = 0, stop = "pi", num = 6 }
phi = [0.0, "pi/3", 1.0]

[limits]
max_in_flight = 8
batch_size = 4
poll_initial = 0.05
resubmit_lost = true

[emulator]
latency_ms = 1
seed = 5
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONQ_", "QISKIT_IONQ_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_cli_sweep_runs_on_the_emulator(tmp_path: Path) -> None:
    (tmp_path / "tpl.qasm").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "small.toml").write_text(TOML, encoding="utf-8")
    out = tmp_path / "results" / "small.npz"
    proc = subprocess.run(
        [sys.executable, "-m", "qjobs", "sweep", "small.toml", "--emulate", "--out", str(out)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sweep summary" in proc.stdout
    assert "results/small.npz" in proc.stdout
    assert "done 18/18" in proc.stdout  # the final progress line
    assert "failed 0  jobs 5" in proc.stdout
    assert "requests/circuit" in proc.stdout
    assert not (tmp_path / "ignored-because-of-out-flag.npz").exists()

    res = SweepResult.load(out)
    assert res.grid_shape == (6, 3)
    assert res.shots == 200
    assert res.metadata["emulated"] is True
    assert res.metadata["points"] == 18
    assert res.metadata["jobs"] == 5  # 18 circuits in batches of at most 4
    assert res.metadata["requests"] > 0
    np.testing.assert_allclose(res.axes["theta"], np.linspace(0, np.pi, 6))
    np.testing.assert_allclose(res.axes["phi"], [0.0, np.pi / 3, 1.0])
    circuits = Sweep(TEMPLATE, {"theta": res.axes["theta"], "phi": res.axes["phi"]}).circuits()
    expected = np.stack([qjobs.sim.probabilities(c) for c in circuits]).reshape(6, 3, 8)
    np.testing.assert_allclose(res.probabilities, expected, atol=1e-9)
    assert all(sum(c.values()) == 200 for c in res.counts)


def test_cli_quiet_prints_only_the_path(tmp_path: Path) -> None:
    (tmp_path / "q.toml").write_text(
        'qasm = """OPENQASM 3.0;\ninput float t;\nqubit[1] q;\nrx(t) q[0];\n"""\n'
        "shots = 10\n[params]\nt = [0.0, 3.141592653589793]\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "qjobs", "sweep", "q.toml", "--emulate", "--quiet"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "q.npz"
    res = SweepResult.load(tmp_path / "q.npz")
    np.testing.assert_allclose(res.probabilities, [[1.0, 0.0], [0.0, 1.0]], atol=1e-9)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="qjobs")
    sub = parser.add_subparsers(dest="command", required=True)
    _cli_sweep.add_parser(sub)
    return parser.parse_args(argv)


def test_parser_options() -> None:
    args = _parse(["sweep", "f.toml", "--emulate", "--out", "x.npz", "-q"])
    assert args.file == Path("f.toml")
    assert args.emulate
    assert args.quiet
    assert args.out == Path("x.npz")
    assert args.func is _cli_sweep.run
    args = _parse(["sweep", "f.toml"])
    assert not args.emulate
    assert not args.quiet
    assert args.out is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[params]\ntheta = [1.0]\n", "template"),
        (
            'template = "tpl.qasm"\n[params]\ntheta = {start = 0, stop = 1, num = 0}\n',
            "params.theta.num=0",
        ),
        ('template = "tpl.qasm"\n[params]\ntheta = [1.0]\n', "missing values for ['phi']"),
        ('template = "tpl.qasm"\n[params]\ntheta = [1.0]\nphi = [1]\nchi = [2]\n', "params.chi"),
        ('template = "tpl.qasm"\nshots = -3\n[params]\ntheta = [1.0]\nphi = [1]\n', "shots=-3"),
        (
            'template = "tpl.qasm"\n[params]\ntheta = [1.0]\nphi = [1]\n[limits]\nfoo = 1\n',
            "limits.foo",
        ),
        ('qasm = "OPENQASM 3.0; qubit[1] q; nosuch q[0];"\n[params]\nt = [1.0]\n', "qasm"),
        ("not = [valid", "invalid TOML"),
    ],
)
def test_bad_files_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    (tmp_path / "tpl.qasm").write_text(TEMPLATE, encoding="utf-8")
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    code = _cli_sweep.run(_parse(["sweep", str(path), "--emulate"]))
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err
    assert captured.err.startswith(f"qjobs sweep: {path}: ")
    assert captured.out == ""


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _cli_sweep.run(_parse(["sweep", str(tmp_path / "none.toml")]))
    assert code == 2
    assert "cannot read" in capsys.readouterr().err


def test_progress_display_plain_and_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from qjobs.cli._progress import ProgressDisplay, RichProgressDisplay, make_display
    from qjobs.scheduler import Progress
    from qjobs.transport import TransportStats

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stats = TransportStats()
    snap = Progress(
        total=10,
        pending=1,
        submitted=2,
        running=3,
        completed=4,
        failed=0,
        cancelled=0,
        retried=0,
        from_ledger=0,
        jobs_in_flight=2,
        jobs_submitted=3,
    )
    plain_stream = io.StringIO()
    plain = make_display(10, stats, stream=plain_stream)
    assert type(plain) is ProgressDisplay
    plain.update(snap)
    stats.started("GET /jobs", 0)
    plain.close()
    line = plain_stream.getvalue()
    assert "done 4/10" in line
    assert "running 3" in line
    assert "submitted 2" in line
    assert "failed 0" in line
    assert "jobs 3" in line
    assert "1 requests" in line
    assert "req/s" in line

    tty = Tty()
    fancy = make_display(10, stats, stream=tty)
    assert isinstance(fancy, RichProgressDisplay)
    fancy.start()
    fancy.update(snap)
    fancy.close()
    import re

    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", tty.getvalue())
    assert "4/10" in shown
    assert "running 3" in shown
    assert "submitted 2" in shown
    assert "failed 0" in shown
    assert "req/s" in shown

    monkeypatch.setitem(sys.modules, "rich", None)  # rich not installed: plain output
    assert type(make_display(10, stats, stream=Tty())) is ProgressDisplay


# --------------------------------------------------------------------------- Ctrl-C
class _Emulator:
    """``python -m qjobs emulate ionq`` in its own process, its jobs queued for a minute."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "qjobs", "emulate", "ionq"),
                *("--port", "0", "--queue-ms", "60000", "--seed", "2"),
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

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.root + "/_qjobs/stats", timeout=10) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


def test_ctrl_c_exits_130_and_cancels_every_job_at_the_provider(tmp_path: Path) -> None:
    emu = _Emulator()
    try:
        (tmp_path / "c.toml").write_text(
            'qasm = """OPENQASM 3.0;\ninput float t;\nqubit[1] q;\nrx(t) q[0];\n"""\n'
            f'provider = "ionq"\nbackend = "simulator"\nbase_url = "{emu.base_url}"\n'
            "shots = 10\n[params]\nt = { start = 0, stop = 1, num = 8 }\n"
            "[limits]\nbatch_size = 2\n",
            encoding="utf-8",
        )
        env = _env()
        env["IONQ_API_KEY"] = "secret-token-for-the-emulator"
        proc = subprocess.Popen(
            [sys.executable, "-m", "qjobs", "sweep", "c.toml"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            lines: list[str] = []
            # the plain progress line once all 4 jobs (8 points in pairs) exist at the provider
            while not any(" jobs 4 " in line for line in lines):
                line = proc.stdout.readline()
                assert line, f"qjobs sweep exited early: {lines}"
                lines.append(line)
            assert emu.stats()["active_jobs"] == 4
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 130, out + err
        assert "interrupted; unfinished jobs were cancelled" in err
        assert "cancelled 4 ionq job(s) (0 could not be cancelled) and 8 circuit(s)" in err
        assert "Traceback" not in err
        assert err.count("\n") == 1, err  # one line, the cancellation report included
        assert "secret-token" not in out + err
        assert not (tmp_path / "c.npz").exists()
        stats = emu.stats()
        assert stats["jobs_created"] == 4
        assert stats["active_jobs"] == 0  # every job was cancelled at the provider
        assert stats["requests"].get("PUT /jobs/status/cancel", 0) >= 1
    finally:
        emu.close()


@pytest.mark.parametrize(
    ("emulator", "error"),
    [
        ("fail_rate = 1.0\n", "JobFailedError"),
        (
            '[[emulator.faults]]\nkind = "status"\nroute = "POST *"\nstatus = 403\n',
            "ForbiddenError",
        ),
    ],
    ids=["fail_rate", "faults"],
)
def test_emulator_fail_rate_and_faults_reach_the_emulator(
    tmp_path: Path, emulator: str, error: str
) -> None:
    (tmp_path / "f.toml").write_text(
        'qasm = """OPENQASM 3.0;\ninput float t;\nqubit[1] q;\nrx(t) q[0];\n"""\n'
        "shots = 10\n[params]\nt = [0.0, 1.0]\n[emulator]\n" + emulator,
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "qjobs", "sweep", "f.toml", "--emulate", "--quiet"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"qjobs sweep: failed: {error}" in proc.stderr
    assert not (tmp_path / "f.npz").exists()
