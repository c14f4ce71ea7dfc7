"""The picture in the docs is made by the code: scripts/make_doc_images.py draws it again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "docs" / "img" / "sweep-heatmap.png"


def test_the_docs_show_the_committed_picture() -> None:
    assert "](img/sweep-heatmap.png)" in (ROOT / "docs" / "results.md").read_text("utf-8")
    assert "](results.md)" in (ROOT / "docs" / "sweeps.md").read_text("utf-8")
    pixels = matplotlib.image.imread(IMAGE)
    assert pixels.shape == (480, 640, 4)
    assert pixels[..., :3].std() > 0.1


def test_the_script_draws_the_same_picture(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_doc_images.py"), "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    made = matplotlib.image.imread(tmp_path / "sweep-heatmap.png")
    committed = matplotlib.image.imread(IMAGE)
    assert made.shape == committed.shape
    # the same data and code: equal but for what another matplotlib may render differently
    # (text antialiasing); a stale picture of other data differs in most of its pixels.
    assert np.abs(made - committed).mean() < 0.01
