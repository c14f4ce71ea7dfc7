"""`make run`'s demo, as a new user runs it: the sweep's results and its picture are written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_demo_writes_the_results_and_the_heat_map(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.image

    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--quiet", "--out", "out/sweep.npz"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["out/sweep.npz", "out/sweep.png"]
    with np.load(tmp_path / "out" / "sweep.npz") as data:
        assert data["probabilities"].shape[:2] == (50, 40)
    image = matplotlib.image.imread(tmp_path / "out" / "sweep.png")
    assert image.ndim == 3
    assert image.shape[0] > 200
    assert image.shape[1] > 200
    assert float(image[..., :3].std()) > 0.05  # a picture, not a blank canvas
