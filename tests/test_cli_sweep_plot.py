"""``qjobs sweep FILE --plot IMAGE``: a subprocess run on the IonQ emulator writes the picture."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np

from qjobs.sweep import SweepResult

ROOT = Path(__file__).resolve().parent.parent

QASM = '''qasm = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
input float phi;
qubit[2] q;
bit[2] c;
ry(theta) q[0];
cx q[0], q[1];
rx(phi) q[1];
c = measure q;
"""
shots = 100
'''

GRID_2D = """
[params]
theta = { start = 0, stop = "pi", num = 6 }
phi = [0.0, 1.0, 2.0, 3.0]
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONQ_", "QISKIT_IONQ_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.pop("DISPLAY", None)  # headless, as in CI
    return env


def _qjobs(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qjobs", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_plot_writes_the_heat_map_of_the_result(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(QASM + GRID_2D, encoding="utf-8")
    proc = _qjobs(tmp_path, "sweep", "s.toml", "--emulate", "--plot", "pics/s.png")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "plot              pics/s.png" in proc.stdout
    picture = tmp_path / "pics" / "s.png"
    assert picture.stat().st_size > 5_000
    pixels = matplotlib.image.imread(picture)
    assert pixels.shape == (480, 640, 4)  # matplotlib's default 6.4 x 4.8 in at 100 dpi
    assert pixels[..., :3].std() > 0.05

    # the CLI draws exactly what SweepResult.plot draws for the saved result
    result = SweepResult.load(tmp_path / "s.npz")
    ax = result.plot(path=tmp_path / "again.png")
    assert np.asarray(ax.collections[0].get_array()).shape == (6, 4)
    np.testing.assert_array_equal(matplotlib.image.imread(tmp_path / "again.png"), pixels)


def test_quiet_prints_both_paths(tmp_path: Path) -> None:
    zipped = 'mode = "zip"\n[params]\ntheta = [0.0, 1.0, 2.0]\nphi = [0.5, 1.5, 2.5]\n'
    (tmp_path / "z.toml").write_text(QASM + zipped, encoding="utf-8")
    proc = _qjobs(tmp_path, "sweep", "z.toml", "--emulate", "--quiet", "--plot", "z.svg")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == ["z.npz", "z.svg"]
    assert (tmp_path / "z.svg").read_text(encoding="utf-8").count("<path") > 3


def test_plot_of_chooses_an_outcome_or_an_expectation(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(QASM + GRID_2D, encoding="utf-8")
    for what, kwargs in [("01", {"outcome": "01"}), ("IZ", {"expectation": "IZ"})]:
        image = tmp_path / f"{what}.png"
        proc = _qjobs(
            tmp_path, "sweep", "s.toml", "--emulate", "-q", "--plot", image.name, "--plot-of", what
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = SweepResult.load(tmp_path / "s.npz")
        result.plot(path=tmp_path / "again.png", **kwargs)  # type: ignore[arg-type]
        np.testing.assert_array_equal(
            matplotlib.image.imread(image), matplotlib.image.imread(tmp_path / "again.png")
        )


def test_a_bad_plot_request_fails_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(QASM + GRID_2D, encoding="utf-8")
    proc = _qjobs(tmp_path, "sweep", "s.toml", "--emulate", "--plot", "s.txt")
    assert proc.returncode == 2
    assert proc.stderr.startswith("qjobs sweep: s.toml: --plot='s.txt': not an image file name")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "emulating" not in proc.stdout
    assert not (tmp_path / "s.npz").exists()

    three = QASM.replace("input float phi;", "input float phi;\ninput float lam;").replace(
        "rx(phi) q[1];", "rx(phi + lam) q[1];"
    )
    (tmp_path / "t.toml").write_text(three + GRID_2D + "lam = [0.0, 1.0]\n", encoding="utf-8")
    proc = _qjobs(tmp_path, "sweep", "t.toml", "--emulate", "--plot", "t.png")
    assert proc.returncode == 2
    assert "--plot='t.png': a plot draws a 1-D or 2-D grid; this sweep has 3 axes" in proc.stderr
    assert "(theta, phi, lam)" in proc.stderr
    assert not (tmp_path / "t.npz").exists()

    for args, start in [
        (["--plot-of", "ZZ"], "--plot-of='ZZ': needs --plot IMAGE"),
        (["--plot", "s.png", "--plot-of", "ZZZ"], "--plot-of='ZZZ': expected 2 characters"),
        (["--plot", "s.png", "--plot-of", "ZX"], "--plot-of='ZX': expected 2 characters"),
    ]:
        proc = _qjobs(tmp_path, "sweep", "s.toml", "--emulate", *args)
        assert proc.returncode == 2
        assert proc.stderr.startswith(f"qjobs sweep: s.toml: {start}"), proc.stderr
        assert not (tmp_path / "s.npz").exists()
        assert not (tmp_path / "s.png").exists()


def test_the_cli_does_not_load_matplotlib_until_it_plots() -> None:
    code = "import sys, qjobs.cli, qjobs.cli._sweep; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
