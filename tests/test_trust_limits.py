"""Clean failures in the library: grids too large, unusable ledgers, huge numbers in sweep files."""

from __future__ import annotations

import sqlite3
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import qjobs
from qjobs import LedgerError
from qjobs.cli._sweep_config import load_spec
from qjobs.scheduler import Scheduler
from qjobs.scheduler._ledger import Ledger
from qjobs.sweep._result import MAX_POINTS, check_grid_size
from qjobs.testing import FakeProvider

SOURCE = "OPENQASM 3.0;\ninput float a;\ninput float b;\nqubit[1] q;\nrx(a + b) q[0];\n"


def test_a_grid_too_large_is_refused_before_allocating() -> None:
    a = np.zeros(100_000)
    b = np.zeros(100_000)
    tracemalloc.start()
    try:
        with pytest.raises(qjobs.InputError) as info:
            qjobs.Sweep(SOURCE, {"a": a, "b": b})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.field == "params"
    assert "10,000,000,000 points" in info.value.reason
    assert "limit of 1,000,000" in info.value.reason
    assert peak < 20 * 2**20  # the 80 GB grid was never allocated


def test_the_limit_itself_is_allowed_and_zip_counts_points() -> None:
    assert check_grid_size({"a": 1000, "b": 1000}, "product") == MAX_POINTS
    assert check_grid_size({"a": MAX_POINTS, "b": MAX_POINTS}, "zip") == MAX_POINTS
    with pytest.raises(qjobs.InputError, match="1,000,001 points"):
        check_grid_size({"a": MAX_POINTS + 1, "b": MAX_POINTS + 1}, "zip")
    with pytest.raises(qjobs.InputError) as info:
        qjobs.SweepResult(
            axes={"a": np.zeros(10_000), "b": np.zeros(10_000)},
            mode="product",
            shots=1,
            probabilities=[[1.0]],
            counts=[],
            job_ids=[],
        )
    assert info.value.field == "axes"


def _spec(tmp_path: Path, params: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(f'qasm = """{SOURCE}"""\n[params]\n{params}\n', encoding="utf-8")
    return path


def test_sweep_file_grid_checked_before_any_axis_is_built(tmp_path: Path) -> None:
    path = _spec(tmp_path, "a = {start=0, stop=1, num=900000}\nb = {start=0, stop=1, num=900000}")
    tracemalloc.start()
    try:
        with pytest.raises(qjobs.InputError) as info:
            load_spec(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.field == "params"
    assert "810,000,000,000 points" in info.value.reason
    assert peak < 2 * 2**20  # not even the two 7 MB axes


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ("a = [1" + "0" * 400 + "]\nb = [0.0]", "params.a[0]"),
        ("a = {start=0, stop=1" + "0" * 400 + ", num=2}\nb = [0.0]", "params.a.stop"),
        ("a = {start=0, stop=1, step=1e-300}\nb = [0.0]", "params.a.step"),
        ('a = ["10**400"]\nb = [0.0]', "params.a[0]"),
    ],
)
def test_sweep_file_huge_numbers(tmp_path: Path, params: str, field: str) -> None:
    with pytest.raises(qjobs.InputError) as info:
        load_spec(_spec(tmp_path, params))
    assert info.value.field == field


# ------------------------------------------------------------------------------ ledger
def _foreign(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()


def _old_format(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('version', '0')")
    con.commit()
    con.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b"\x00garbage" * 500), "not a SQLite database"),
        (_foreign, r"a SQLite file holding t\)"),
        (_old_format, "format '0'; this qjobs reads format '2'"),
    ],
    ids=["directory", "garbage", "foreign", "other-version"],
)
async def test_scheduler_with_an_unusable_ledger_raises_ledger_error(
    tmp_path: Path, make: object, needle: str
) -> None:
    path = tmp_path / "run.db"
    make(path)  # type: ignore[operator]
    before = path.read_bytes() if path.is_file() else None
    provider = FakeProvider()
    with pytest.raises(LedgerError, match=needle) as info:
        async with Scheduler(provider, shots=5, ledger=path):
            pass
    assert str(path) in str(info.value)
    assert provider.stats.total == 0
    if before is not None:
        assert path.read_bytes() == before
    # the lock was released: a good ledger path opens at once afterwards
    good = Ledger(tmp_path / "good.db")
    await good.open()
    await good.close()


@pytest.mark.anyio
async def test_an_empty_file_becomes_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    ledger = Ledger(path)
    assert await ledger.open() == ({}, {})
    await ledger.close()
    ledger = Ledger(path)  # and opens again as a qjobs ledger
    assert await ledger.open() == ({}, {})
    await ledger.close()
