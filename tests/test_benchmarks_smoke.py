"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` with tiny sizes.

Runs the real harness (emulator process, one worker process per contestant) with its default
destinations and checks the result files by counts — jobs created, results received, requests
made — never by times; and that a reduced run leaves the committed figures untouched.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import QUICK_RESULTS, main
from benchmarks._config import FULL, apply_overrides
from benchmarks.peers.scenario import PEERS, providers

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ["baselines", "unbatched", "batched", "sync", "memory", "rate_caps", "cpu_http"]
# Run by make bench only (the official SDKs, from the interop venv); see test_benchmarks_peers.
PEER_SCENARIOS = ["peers", "peers_limit"]
PEER_FILES = [ROOT / "benchmarks" / "results" / f"{name}.json" for name in PEER_SCENARIOS]
COMMITTED = [
    *sorted(p for p in (ROOT / "benchmarks" / "results").glob("*.json") if p not in PEER_FILES),
    ROOT / "docs/benchmarks.md",
]
RUN_KEYS = {
    "circuits",
    "results_ok",
    "wall_s",
    "cpu_s",
    "circuits_per_s",
    "requests",
    "requests_per_circuit",
    "cpu_per_circuit_ms",
    "peak_rss_mib",
    "rss_delta_per_circuit_bytes",
    "label",
}
TINY = [
    "latency_ms=2",
    "queue_ms=30",
    "exec_ms=20",
    "baseline_poll_s=0.05",
    "sequential_jobs=2",
    "pool_jobs=4",
    "pool_workers=2",
    "unbatched_jobs=20",
    "batched_circuits=250",
    "sync_jobs=10",
    "sync_repeats=1",
    "memory_jobs=500",
    "memory_queue_s=0.02",
    "memory_exec_s=0.01",
    "rate_caps=50",
    "rate_jobs=6",
    "cpu_http_jobs=12",
]


def _snapshot() -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in [*COMMITTED, *PEER_FILES]}


@pytest.fixture(scope="module")
def run() -> tuple[dict[str, dict[str, Any]], str]:
    """``--quick`` with default destinations: into benchmarks/results-quick/, nowhere else."""
    committed = _snapshot()
    for old in QUICK_RESULTS.glob("*"):
        old.unlink()  # the ignored scratch folder of earlier quick runs
    # The scenarios above only: the peer ones run the official SDKs (interop venv, make bench).
    args = [sys.executable, "-m", "benchmarks", "--quick", "--only", ",".join(SCENARIOS)]
    for pair in TINY:
        args += ["--set", pair]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=110, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _snapshot() == committed  # the committed figures are untouched
    assert f"results in {QUICK_RESULTS}" in proc.stdout
    assert f"report: {QUICK_RESULTS / 'benchmarks.md'}" in proc.stdout
    docs = {p.stem: json.loads(p.read_text()) for p in QUICK_RESULTS.glob("*.json")}
    return docs, (QUICK_RESULTS / "benchmarks.md").read_text()


def test_committed_figures_exist_and_quick_ones_are_ignored_by_git() -> None:
    assert len(COMMITTED) == len(SCENARIOS) + 1
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(QUICK_RESULTS / "batched.json")], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["--quick", "--out-dir", str(ROOT / "benchmarks" / "results")],
        ["--quick", "--out-dir", str(ROOT / "benchmarks" / "results" / ".." / "results")],
        ["--quick", "--docs", str(ROOT / "docs" / "benchmarks.md")],
        ["--set", "unbatched_jobs=5", "--out-dir", "benchmarks/results"],
    ],
)
def test_reduced_runs_refuse_the_committed_paths(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    committed = _snapshot()
    assert main(argv) == 2
    assert "reduced run" in capsys.readouterr().err
    assert _snapshot() == committed


def _sane(r: dict[str, Any]) -> None:
    assert r.keys() >= RUN_KEYS
    assert r["results_ok"] == r["circuits"]
    assert r["wall_s"] > 0
    assert r["cpu_s"] >= 0
    assert math.isfinite(r["circuits_per_s"])
    assert r["circuits_per_s"] > 0
    assert r["peak_rss_mib"] > 0


def test_every_scenario_writes_its_file(run: tuple[dict[str, dict[str, Any]], str]) -> None:
    docs, _ = run
    assert sorted(docs) == sorted(SCENARIOS)
    for name, doc in docs.items():
        assert doc["scenario"] == name
        assert {"date", "machine", "config", "runs", "ratios", "targets", "title"} <= doc.keys()
        assert doc["quick"] is True
        assert doc["config"]["unbatched_jobs"] == 20
        assert doc["machine"]["usable_cores"] >= 1
        for r in doc["runs"].values():
            _sane(r)
        for t in doc["targets"]:
            assert isinstance(t["met"], bool)
            assert math.isfinite(t["value"])


def test_baselines_count_their_requests(run: tuple[dict[str, dict[str, Any]], str]) -> None:
    runs = run[0]["baselines"]["runs"]
    assert runs["sequential"]["circuits"] == 2
    assert runs["pool"]["circuits"] == 4
    for r in runs.values():
        # submit, at least one poll, the probabilities: at least 3 requests per job
        assert r["client_requests"] >= 3 * r["circuits"]
        assert r["emulator"]["total_requests"] == r["client_requests"]
        assert r["emulator"]["jobs_created"] == r["circuits"]


def test_qjobs_runs_create_the_expected_jobs(run: tuple[dict[str, dict[str, Any]], str]) -> None:
    docs = run[0]
    unb = docs["unbatched"]["runs"]["qjobs"]
    assert unb["emulator"]["jobs_created"] == 20
    assert unb["progress"]["completed"] == 20
    assert unb["client_requests"] == unb["emulator"]["total_requests"]
    assert set(docs["unbatched"]["ratios"]["qjobs"]) == {"sequential", "pool"}

    bat = docs["batched"]["runs"]["qjobs"]
    assert bat["progress"]["completed"] == 250
    assert 3 <= bat["emulator"]["jobs_created"] == bat["progress"]["jobs_submitted"] < 250
    assert bat["requests"] < bat["circuits"]

    sync = docs["sync"]["runs"]
    assert set(sync) == {"async_1", "sync_1"}
    assert sync["sync_1"]["emulator"]["jobs_created"] == 10
    assert sync["async_1"]["emulator"]["jobs_created"] == 10

    mem = docs["memory"]["runs"]["qjobs"]
    assert mem["provider_jobs_created"] == 500
    assert "emulator" not in mem

    caps = docs["rate_caps"]["runs"]
    assert caps["rps_50"]["emulator"]["jobs_created"] == 6


def test_cpu_http_runs_qjobs_and_plain_aiohttp(run: tuple[dict[str, dict[str, Any]], str]) -> None:
    doc = run[0]["cpu_http"]
    assert set(doc["runs"]) == {"qjobs", "aiohttp"}
    for r in doc["runs"].values():
        assert r["emulator"]["jobs_created"] == 12
        # create and results for each job, and at least one status poll
        assert r["client_requests"] == r["emulator"]["total_requests"] >= 2 * 12 + 1
    assert doc["runs"]["qjobs"]["progress"]["completed"] == 12
    assert set(doc["ratios"]["qjobs_vs_aiohttp"]) == {"cpu_per_job", "cpu_per_request"}
    assert [t["name"] for t in doc["targets"]] == ["client CPU per unbatched job over HTTP (ms)"]


def test_report_lists_every_scenario(run: tuple[dict[str, dict[str, Any]], str]) -> None:
    docs, md = run
    assert "## Results" in md
    assert "## Targets" in md
    for doc in docs.values():
        assert doc["title"] in md
    assert "```python" not in md  # nothing for the docs example runner to execute


def test_overrides_are_validated() -> None:
    cfg = apply_overrides(FULL, ["unbatched_jobs=7", "rate_caps=10,20", "requests_per_second=5"])
    assert (cfg.unbatched_jobs, cfg.rate_caps, cfg.requests_per_second) == (7, (10.0, 20.0), 5.0)
    assert apply_overrides(FULL, ["requests_per_second=none"]).requests_per_second is None
    only = apply_overrides(FULL, ["peer_providers=qibo, kipu"]).peer_providers
    assert providers(only) == ["kipu", "qibo"]
    assert providers(FULL.peer_providers) == list(PEERS)
    with pytest.raises(ValueError, match="unknown"):
        providers("kipu,qbit")
    for bad in ["nope=1", "unbatched_jobs", "unbatched_jobs=x", "shots=-1"]:
        with pytest.raises(ValueError, match="--set"):
            apply_overrides(FULL, [bad])
