"""The conversion benchmark imports no framework and says which ones it could not measure."""

from __future__ import annotations

import sys

import pytest

from benchmarks import conversions


def test_importable_without_the_frameworks() -> None:
    assert not {"qiskit", "cirq", "qibo", "braket"} & set(sys.modules)


def test_a_missing_framework_is_reported_not_measured(capsys: pytest.CaptureFixture[str]) -> None:
    assert conversions.main(["--count", "3", "--repeat", "1"]) == 1
    out = capsys.readouterr().out
    for framework in conversions.FRAMEWORKS:
        assert f"{framework} is not installed" in out


def test_the_ratio_is_baseline_over_direct() -> None:
    row = conversions.Row("qiskit", direct=0.02, baseline=0.5)
    assert row.ratio == pytest.approx(25.0)
    assert conversions.Row("cirq", note="n/a").ratio is None
    assert "25.0x" in conversions.render([row], conversions.Shape())


def test_unknown_frameworks_are_refused() -> None:
    with pytest.raises(SystemExit):
        conversions.main(["--only", "pennylane"])
