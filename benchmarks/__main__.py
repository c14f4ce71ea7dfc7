"""``python -m benchmarks [--quick] [--only A,B] [--set NAME=VALUE ...] [--out-dir D] [--docs F]``.

Starts the IonQ emulator in its own process, runs the scenarios (each contestant in a fresh
worker process), writes ``<out-dir>/<scenario>.json`` and regenerates the Markdown report from
every result file in ``<out-dir>``.

Only a full run (the FULL preset, no ``--set``) writes the committed figures,
``benchmarks/results/`` and ``docs/benchmarks.md``, by default. A reduced run (``--quick`` or any
``--set``) writes to ``benchmarks/results-quick/`` (ignored by git), report included, and refuses
to write over the committed files.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

from benchmarks._config import FULL, QUICK, Config, apply_overrides
from benchmarks._emulator import EmulatorProcess
from benchmarks._machine import machine_info
from benchmarks._report import render
from benchmarks._runner import ROOT
from benchmarks._scenarios import SCENARIOS, Context
from qjobs.providers.ionq import IonQClient


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="reduced sizes (a smoke run)")
    p.add_argument(
        "--only", default="", help=f"comma-separated scenarios (default: all of {list(SCENARIOS)})"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one config field (see benchmarks/_config.py)",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="where the result files go (default: benchmarks/results, or "
        "benchmarks/results-quick for a reduced run)",
    )
    p.add_argument(
        "--docs",
        type=Path,
        default=None,
        help="the Markdown report (default: docs/benchmarks.md, or <out-dir>/benchmarks.md for a "
        "reduced run)",
    )
    p.add_argument("--no-docs", action="store_true", help="do not write the Markdown report")
    return p


#: The committed figures: written by full runs only.
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
#: Where reduced runs (--quick, --set) write by default; ignored by git.
QUICK_RESULTS = ROOT / "benchmarks" / "results-quick"


def _destinations(args: argparse.Namespace, config: Config) -> tuple[Path, Path]:
    """The result folder and report path; ValueError if a reduced run would hit committed files."""
    full = config == FULL
    out_dir: Path = args.out_dir or (RESULTS if full else QUICK_RESULTS)
    docs: Path = args.docs or (DOCS if full else out_dir / "benchmarks.md")
    if not full:
        if out_dir.resolve() == RESULTS.resolve():
            raise ValueError(f"a reduced run (--quick or --set) must not write to {RESULTS}")
        if not args.no_docs and docs.resolve() == DOCS.resolve():
            raise ValueError(f"a reduced run (--quick or --set) must not write {DOCS}")
    return out_dir, docs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; exit status 1 when a scenario failed (a missed target is not a failure)."""
    args = _parser().parse_args(argv)
    try:
        config = apply_overrides(QUICK if args.quick else FULL, args.set)
        out_dir, docs = _destinations(args, config)
    except ValueError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(
            f"benchmarks: unknown scenario(s) {unknown}; known: {list(SCENARIOS)}", file=sys.stderr
        )
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_info(ROOT)
    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    ionq_caps = attrs.asdict(IonQClient.default_capabilities)
    failed: list[str] = []
    with EmulatorProcess(
        latency_ms=config.latency_ms, queue_ms=config.queue_ms, exec_ms=config.exec_ms
    ) as emu:
        print(f"IonQ emulator at {emu.base_url} (separate process)", flush=True)
        ctx = Context(config, emu.base_url, lambda line: print(line, flush=True))
        for name in names:
            print(f"[{name}]", flush=True)
            t0 = time.perf_counter()
            try:
                result = SCENARIOS[name](ctx)
            except Exception as exc:  # recorded and reported; the other scenarios still run
                print(f"  FAILED: {exc}", file=sys.stderr, flush=True)
                failed.append(name)
                result = {"title": name, "error": str(exc), "runs": {}, "ratios": {}}
                result["targets"] = []
            doc = {
                "scenario": name,
                "date": date,
                "quick": bool(args.quick),
                "machine": machine,
                "config": config.as_dict(),
                "ionq_default_capabilities": ionq_caps,
                "seconds": round(time.perf_counter() - t0, 1),
                **result,
            }
            path = out_dir / f"{name}.json"
            path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
            for t in result["targets"]:
                verdict = "n/a" if t.get("applies") is False else "met" if t["met"] else "MISSED"
                print(f"  target {t['name']}: {t['value']:.4g} ({t['target']}) {verdict}")
    print(f"done in {time.perf_counter() - started:.0f} s; results in {out_dir}", flush=True)
    if not args.no_docs:
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(render(out_dir))
        print(f"report: {docs}", flush=True)
    if failed:
        print(f"benchmarks: scenario(s) failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
