"""The peer benchmark's figures, targets and tables on a tiny synthetic run (no SDK is run),
and the emulators' count of circuits created twice (what its duplicates column reads)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import qjobs
import qjobs.emulators
from benchmarks.peers import figures
from benchmarks.peers.qjobs_defaults import BACKENDS
from benchmarks.peers.report import peer_sections
from qjobs import Circuit, Instruction

pytestmark = pytest.mark.anyio


def _raw(**over: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "circuits": 100,
        "results_ok": 100,
        "wall_s": 2.0,
        "cpu_s": 0.1,
        "emulator": {
            "total_requests": 200,
            "total_rate_limited": 4,
            "jobs_created": 100,
            "circuits_created": 101,
            "duplicate_circuits": 1,
        },
    }
    raw.update(over)
    return raw


def _run(sdk: str, **over: Any) -> dict[str, Any]:
    run = figures.derive(_raw(**over))
    run.update(sdk=sdk, label=f"{sdk} (ionq)", provider="ionq")
    return run


def test_derive_counts_from_the_emulator() -> None:
    run = _run("qjobs")
    assert run["ok"] is True
    assert run["circuits_per_s"] == pytest.approx(50.0)
    assert run["jobs_per_s"] == pytest.approx(50.0)
    assert run["requests_per_job"] == pytest.approx(2.0)
    assert run["requests_per_circuit"] == pytest.approx(2.0)
    assert run["rate_limited"] == 4
    assert run["rate_limited_share"] == pytest.approx(0.02)
    assert run["jobs_per_circuit"] == pytest.approx(1.0)
    assert run["created_per_circuit"] == pytest.approx(1.01)
    assert run["duplicates"] == 1


def test_a_failed_or_wrong_run_has_no_throughput() -> None:
    failed = _run("qibo-client", error="QiboApiError: rate limit exceeded")
    assert failed["circuits_per_s"] is None
    assert failed["jobs_per_s"] is None
    assert failed["requests"] == 200  # how far it got
    wrong = _run("qjobs", results_ok=99)
    assert wrong["circuits_per_s"] is None
    assert wrong["error"] == "99 of 100 results correct"


def test_speedup_and_its_target() -> None:
    peer = _run("qiskit-ionq", wall_s=8.0)
    fast = _run("qjobs", wall_s=2.0)
    assert figures.speedup(fast, peer) == pytest.approx(4.0)
    t = figures.speedup_target("ionq", fast, peer)
    assert t == {
        "name": "throughput vs qiskit-ionq (ionq)",
        "value": pytest.approx(4.0),
        "target": ">= 3x",
        "met": True,
    }
    assert figures.speedup_target("ionq", _run("qjobs", wall_s=4.0), peer)["met"] is False
    broken = figures.speedup_target("ionq", fast, _run("qiskit-ionq", error="boom"))
    assert broken["met"] is False
    assert broken["value"] == 0.0
    assert "not measured: qiskit-ionq (ionq) failed: boom" in broken["name"]


def test_share_of_what_the_limit_allows() -> None:
    # 100 circuits in 200 requests of which 4 were refused: 196 answered, so 50 req/s allow
    # 50 * 100 / 196 circuits/s; the run made 100 / 4.0 = 25 circuits/s (98%).
    run = _run("qjobs", wall_s=4.0)
    share = figures.limit_share(run, 50.0)
    assert share == pytest.approx(25.0 / (50.0 * 100 / 196))
    assert share == pytest.approx(0.98)
    t = figures.limit_target("ionq", run, 50.0)
    assert t["value"] == pytest.approx(share)
    assert t["met"] is False  # a duplicate
    clean = {"total_requests": 200, "total_rate_limited": 4, "jobs_created": 100}
    ok = _run("qjobs", wall_s=4.0, emulator={**clean, "circuits_created": 100})
    assert figures.limit_target("ionq", ok, 50.0)["met"] is True
    refused = {**clean, "total_rate_limited": 10, "circuits_created": 100}
    assert (
        figures.limit_target("ionq", _run("qjobs", wall_s=4.0, emulator=refused), 50.0)["met"]
        is False
    )
    slow = _run("qjobs", wall_s=8.0, emulator={**clean, "circuits_created": 100})
    assert figures.limit_target("ionq", slow, 50.0)["met"] is False  # 49%
    assert "applies" not in figures.limit_target("ionq", slow, 50.0)  # 24.5 req/s: it binds


def test_a_run_the_limit_never_binds_is_not_judged_by_it() -> None:
    # A batched run: 10 requests over 1 s, none refused; 50 req/s would allow 500 circuits/s.
    emulator = {"total_requests": 10, "total_rate_limited": 0, "jobs_created": 1}
    batched = _run("qjobs", wall_s=1.0, emulator={**emulator, "circuits_created": 100})
    assert figures.request_rate(batched) == pytest.approx(10.0)
    t = figures.limit_target("ionq", batched, 50.0)
    assert t["met"] is False
    assert t["applies"] is False
    assert "not request-bound: 10.0 req/s used of 50" in t["name"]
    # One 429 says the limit was reached: judged as usual.
    once = {**emulator, "total_rate_limited": 1, "circuits_created": 100}
    assert "applies" not in figures.limit_target("ionq", _run("qjobs", emulator=once), 50.0)


def test_report_tables() -> None:
    peer, mine = _run("qiskit-ionq", wall_s=20.0), _run("qjobs", wall_s=4.0)
    doc: dict[str, Any] = {
        "scenario": "peers_limit",
        "title": "Official SDKs side by side, server limit 50 req/s",
        "description": "synthetic",
        "limited": True,
        "rate_limit": 50.0,
        "peers": {
            "ionq": {
                "peer": peer,
                "qjobs": mine,
                "speedup": figures.speedup(mine, peer),
                "limit_share": {"peer": 0.5, "qjobs": figures.limit_share(mine, 50.0)},
            }
        },
        "sdks": {"ionq": {"sdk": "qiskit-ionq", "how": "backend.run each"}},
        "qjobs_how": "Scheduler",
    }
    md = "\n".join(peer_sections([{"scenario": "batched"}, doc]))
    assert "### Official SDKs side by side, server limit 50 req/s" in md
    assert "| ionq | qiskit-ionq | 100 | 20.00 | 5.0 | 5.0 | 2.00 | 4 (2.0%) |" in md
    assert "| ionq | qjobs | 100 | 4.00 | 25.0 | 25.0 | 2.00 | 4 (2.0%) | 1.000 | 1.010 | 1 |" in md
    assert "| 5.00x | 98% |" in md
    assert peer_sections([{"scenario": "batched"}]) == []
    assert "without it" not in md  # no no-limit scenario to compare with

    free_mine = _run("qjobs", wall_s=3.2)
    free = {
        **doc,
        "scenario": "peers",
        "title": "Official SDKs side by side, no server limit",
        "limited": False,
        "rate_limit": None,
        "peers": {"ionq": {"peer": peer, "qjobs": free_mine, "speedup": None}},
    }
    both = "\n".join(peer_sections([free, doc]))
    # 25 circuits/s under the limit, 31.25 without it, on the same 100 circuits.
    assert "without it, on the same circuits" in both
    assert "ionq 0.80." in both
    other = {
        **free,
        "peers": {"ionq": {**free["peers"]["ionq"], "qjobs": _run("qjobs", circuits=7)}},
    }
    assert "without it" not in "\n".join(peer_sections([other, doc]))


def _circuit(angle: float) -> Circuit:
    return Circuit(
        2,
        2,
        (
            Instruction("rx", (0,), (angle,)),
            Instruction("cx", (0, 1)),
            Instruction("measure", (0,), (), (0,)),
            Instruction("measure", (1,), (), (1,)),
        ),
    )


@pytest.mark.parametrize("provider", sorted(BACKENDS))
async def test_emulators_count_circuits_created_twice(provider: str) -> None:
    async with (
        qjobs.emulators.serve(provider, seed=1) as server,
        qjobs.connect(provider, token="t", base_url=server.base_url) as client,
    ):
        for angle in (0.1, 0.2, 0.1):
            await client.submit(_circuit(angle), shots=10, backend=BACKENDS[provider])
        snap = server.stats.snapshot()
        assert (snap["jobs_created"], snap["circuits_created"]) == (3, 3)
        assert snap["duplicate_circuits"] == 1
        server.stats.reset()
        assert server.stats.snapshot()["duplicate_circuits"] == 0


def test_the_peer_figures_are_committed() -> None:
    from benchmarks._runner import ROOT

    for name in ("peers", "peers_limit"):
        doc = json.loads((ROOT / "benchmarks" / "results" / f"{name}.json").read_text())
        assert doc["scenario"] == name
        assert sorted(doc["peers"]) == sorted(BACKENDS)
        assert len(doc["targets"]) == len(BACKENDS)
