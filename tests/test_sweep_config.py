"""The sweep TOML reader: ranges, lists, paths, limits and errors naming the TOML key."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import qjobs
from qjobs.cli._sweep_config import load_spec

QASM = "OPENQASM 3.0;\ninput float theta;\nqubit[1] q;\nrx(theta) q[0];\n"


def _load_and_build(path: Path) -> None:
    """Read the file, then build the Sweep (which checks names against the template)."""
    from qjobs.cli._sweep import _make_sweep

    _make_sweep(load_spec(path))


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file(tmp_path: Path) -> None:
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "a.qasm").write_text(QASM, encoding="utf-8")
    path = _write(
        tmp_path,
        """
template = "tpl/a.qasm"
mode = "zip"
provider = "ionq"
backend = "simulator"
shots = 250
ledger = "run.db"
out = "res/out.npz"
base_url = "http://127.0.0.1:1/v0.4"

[params]
theta = { start = 0, stop = "pi", num = 5 }
phi = [0.5, "pi/2", -1, 2, "2**-1"]
gamma = { start = 1, stop = 2, step = 0.25 }

[limits]
max_in_flight = 10
batch_size = 4
batch_linger = 0.01
requests_per_second = 20
max_concurrent_requests = 4
retry_failed = 0
resubmit_lost = true

[emulator]
latency_ms = 20
queue_ms = 300
exec_ms = 400
seed = 3

[options]
noise = { model = "ideal" }
""",
    )
    spec = load_spec(path)
    assert spec.source == QASM
    assert spec.template_name == "a"
    assert spec.mode == "zip"
    assert spec.shots == 250
    assert spec.backend == "simulator"
    np.testing.assert_allclose(spec.params["theta"], np.linspace(0, math.pi, 5))
    np.testing.assert_allclose(spec.params["phi"], [0.5, math.pi / 2, -1, 2, 0.5])
    np.testing.assert_allclose(spec.params["gamma"], [1.0, 1.25, 1.5, 1.75, 2.0])
    assert list(spec.params) == ["theta", "phi", "gamma"]
    assert spec.ledger == tmp_path / "run.db"
    assert spec.out == tmp_path / "res" / "out.npz"
    assert spec.scheduler_limits == {
        "max_in_flight": 10,
        "batch_size": 4,
        "batch_linger": 0.01,
        "retry_failed": 0,
        "resubmit_lost": True,
    }
    assert spec.client_limits == {"requests_per_second": 20.0, "max_concurrent_requests": 4}
    assert spec.emulator.latency == pytest.approx(0.02)
    assert spec.emulator.queue_time == pytest.approx(0.3)
    assert spec.emulator.exec_time == pytest.approx(0.4)
    assert spec.emulator.seed == 3
    assert spec.job_options == {"noise": {"model": "ideal"}}
    assert spec.base_url == "http://127.0.0.1:1/v0.4"


def test_defaults_and_inline_qasm(tmp_path: Path) -> None:
    path = _write(tmp_path, f'qasm = """{QASM}"""\n[params]\ntheta = [1.0]\n', "mine.toml")
    spec = load_spec(path)
    assert spec.source.strip() == QASM.strip()
    assert spec.mode == "product"
    assert spec.provider == "ionq"
    assert spec.backend is None
    assert spec.shots == 100
    assert spec.ledger is None
    assert spec.out == Path("mine.npz")
    assert spec.emulator == type(spec.emulator)()


def test_step_range_excludes_stop_off_grid(tmp_path: Path) -> None:
    path = _write(
        tmp_path, f'qasm = """{QASM}"""\n[params]\ntheta = {{start=0, stop=1, step=0.3}}\n'
    )
    np.testing.assert_allclose(load_spec(path).params["theta"], [0.0, 0.3, 0.6, 0.9])
    path = _write(
        tmp_path, f'qasm = """{QASM}"""\n[params]\ntheta = {{start=1, stop=0, step=-0.5}}\n'
    )
    np.testing.assert_allclose(load_spec(path).params["theta"], [1.0, 0.5, 0.0])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("[params]\ntheta = [1.0]\n", "template"),  # neither template nor qasm
        ('template = "a.qasm"\nqasm = "x"\n[params]\ntheta = [1.0]\n', "template"),
        ('template = "missing.qasm"\n[params]\ntheta = [1.0]\n', "template"),
        ("QASM\n", "params"),
        ("QASM\n[params]\n", "params"),
        ("QASM\nparams = 3\n", "params"),
        ("QASM\n[params]\ntheta = []\n", "params.theta"),
        ("QASM\n[params]\ntheta = [1, true]\n", "params.theta[1]"),
        ('QASM\n[params]\ntheta = [1, "pi+"]\n', "params.theta[1]"),
        ("QASM\n[params]\ntheta = [\"__import__('os')\"]\n", "params.theta[0]"),
        ("QASM\n[params]\ntheta = 3\n", "params.theta"),
        ("QASM\n[params]\ntheta = {stop = 1, num = 3}\n", "params.theta.start"),
        ("QASM\n[params]\ntheta = {start = 0, stop = 1}\n", "params.theta"),
        ("QASM\n[params]\ntheta = {start = 0, stop = 1, num = 3, step = 1}\n", "params.theta"),
        ("QASM\n[params]\ntheta = {start = 0, stop = 1, num = 0}\n", "params.theta.num"),
        ("QASM\n[params]\ntheta = {start = 0, stop = 1, num = 2.5}\n", "params.theta.num"),
        ("QASM\n[params]\ntheta = {start = 0, stop = 1, step = 0}\n", "params.theta.step"),
        ("QASM\n[params]\ntheta = {start = 0, stop = 1, step = -1}\n", "params.theta.step"),
        ("QASM\n[params]\ntheta = {start = 0, stop = 1, num = 3, by = 1}\n", "params.theta.by"),
        ("QASM\n[params]\ntheta = {start = nan, stop = 1, num = 3}\n", "params.theta.start"),
        ("QASM\n[params]\ntheta = [inf]\n", "params.theta[0]"),
        ("QASM\n[params]\ngamma = [1.0]\n", "params.gamma"),
        ("QASM\n[params]\ntheta = [1.0]\nphi = [2.0]\n", "params.phi"),
        ('QASM\nmode = "grid"\n[params]\ntheta = [1.0]\n', "mode"),
        ("QASM\nshots = 0\n[params]\ntheta = [1.0]\n", "shots"),
        ('QASM\nshots = "10"\n[params]\ntheta = [1.0]\n', "shots"),
        ('QASM\nprovider = ""\n[params]\ntheta = [1.0]\n', "provider"),
        ("QASM\nbackend = 3\n[params]\ntheta = [1.0]\n", "backend"),
        ("QASM\nshot = 10\n[params]\ntheta = [1.0]\n", "shot"),
        ("QASM\n[params]\ntheta = [1.0]\n[limits]\nbatch_size = 0\n", "limits.batch_size"),
        ("QASM\n[params]\ntheta = [1.0]\n[limits]\nmax_in_flight = 1.5\n", "limits.max_in_flight"),
        ("QASM\n[params]\ntheta = [1.0]\n[limits]\nmax_inflight = 5\n", "limits.max_inflight"),
        ("QASM\n[params]\ntheta = [1.0]\n[limits]\nresubmit_lost = 1\n", "limits.resubmit_lost"),
        (
            "QASM\n[params]\ntheta = [1.0]\n[limits]\nrequests_per_second = -1\n",
            "limits.requests_per_second",
        ),
        ("QASM\n[params]\ntheta = [1.0]\n[emulator]\nlatency_ms = -5\n", "emulator.latency_ms"),
        ("QASM\n[params]\ntheta = [1.0]\n[emulator]\nseed = 1.5\n", "emulator.seed"),
        ("QASM\n[params]\ntheta = [1.0]\n[emulator]\nlatency = 5\n", "emulator.latency"),
        ("QASM\nledger = 5\n[params]\ntheta = [1.0]\n", "ledger"),
        ('QASM\nout = ""\n[params]\ntheta = [1.0]\n', "out"),
        ("QASM\noptions = 1\n[params]\ntheta = [1.0]\n", "options"),
        ("this is = not toml [", "file"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, body: str, field: str) -> None:
    path = _write(tmp_path, body.replace("QASM\n", f'qasm = """{QASM}"""\n'))
    with pytest.raises(qjobs.InputError) as info:
        _load_and_build(path)
    assert info.value.field == field, str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(qjobs.InputError) as info:
        load_spec(tmp_path / "nope.toml")
    assert info.value.field == "file"


def test_example_sweep_is_valid_and_large_enough() -> None:
    from qjobs.cli._sweep import _make_sweep

    root = Path(__file__).resolve().parent.parent
    spec = load_spec(root / "examples" / "sweep.toml")
    sweep = _make_sweep(spec)
    assert sweep.size >= 2000
    assert spec.provider == "ionq"
    assert spec.emulator.latency == pytest.approx(0.02)
    assert 0.2 <= spec.emulator.queue_time + spec.emulator.exec_time <= 1.0
    assert len(sweep.circuits()) == sweep.size


def _spec_with(tmp_path: Path, extra: str) -> Path:
    return _write(tmp_path, f'qasm = """{QASM}"""\n[params]\ntheta = [0.0, 1.0]\n{extra}')


def test_emulator_fail_rate_faults_and_unknown_state_timeout(tmp_path: Path) -> None:
    path = _spec_with(
        tmp_path,
        """
[limits]
unknown_state_timeout = 45.5

[emulator]
fail_rate = 0.25

[[emulator.faults]]
kind = "status"
route = "GET /jobs/*"
status = 503
count = 2

[[emulator.faults]]
kind = "drop"
rate = 0.1
""",
    )
    spec = load_spec(path)
    assert spec.scheduler_limits == {"unknown_state_timeout": 45.5}
    assert spec.emulator.fail_rate == 0.25
    assert spec.emulator.faults == (
        {"kind": "status", "route": "GET /jobs/*", "status": 503, "count": 2},
        {"kind": "drop", "rate": 0.1},
    )
    assert load_spec(_spec_with(tmp_path, "")).emulator.faults == ()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("[emulator]\nfail_rate = 1.5\n", "emulator.fail_rate"),
        ("[emulator]\nfail_rate = -0.1\n", "emulator.fail_rate"),
        ('[emulator]\nfail_rate = "half"\n', "emulator.fail_rate"),
        ("[emulator]\nfaults = 3\n", "emulator.faults"),
        ("[emulator]\nfaults = [1]\n", "emulator.faults[0]"),
        ('[[emulator.faults]]\nkind = "explode"\n', "emulator.faults[0].kind"),
        ('[[emulator.faults]]\nkind = "status"\nstatus = 200\n', "emulator.faults[0].status"),
        ('[[emulator.faults]]\nkind = "drop"\nrate = 2\n', "emulator.faults[0].rate"),
        ('[[emulator.faults]]\nkind = "drop"\nwhen = 2\n', "emulator.faults[0]"),
        ('[[emulator.faults]]\nroute = "FETCH /x"\n', "emulator.faults[0].route"),
        ("[limits]\nunknown_state_timeout = 0\n", "limits.unknown_state_timeout"),
        ('[limits]\nunknown_state_timeout = "soon"\n', "limits.unknown_state_timeout"),
    ],
)
def test_bad_emulator_and_limits_name_the_field(tmp_path: Path, extra: str, field: str) -> None:
    with pytest.raises(qjobs.InputError) as info:
        load_spec(_spec_with(tmp_path, extra))
    assert info.value.field == field


def test_the_documented_toml_example_reads(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "sweeps.md").read_text("utf-8")
    block = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "ansatz.qasm").write_text(
        "OPENQASM 3.0;\ninput float theta;\ninput float phi;\nqubit[1] q;\n"
        "rx(theta) q[0];\nrz(phi) q[0];\n",
        encoding="utf-8",
    )
    spec = load_spec(_write(tmp_path, block))
    assert spec.emulator.fail_rate == 0.0
    assert spec.emulator.faults[0]["status"] == 503
