"""The conversion benchmark runs with the real frameworks and measures all four."""

from __future__ import annotations

import pytest

import qjobs
from benchmarks import conversions


def test_every_framework_is_measured_against_its_openqasm_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = [f for f in conversions.FRAMEWORKS if not hasattr(qjobs.Circuit, f"from_{f}")]
    if missing:
        pytest.skip(f"Circuit.from_{missing[0]} (and others) not on this branch yet")
    assert conversions.main(["--count", "50", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("x  ") == len(conversions.FRAMEWORKS), out
