#!/usr/bin/env python3
"""Regenerate the pictures in docs/img/ with qjobs itself: ``python scripts/make_doc_images.py``.

``sweep-heatmap.png`` is the sweep of ``make run`` (``examples/sweep.toml``: the 4-qubit ansatz
over a 50 x 40 grid of theta and phi) run on the in-process IonQ emulator without its latencies,
drawn by :meth:`qjobs.SweepResult.plot` as the heat map of ``<ZZII>`` (the parity of clbits 2
and 3; the parity of all four is 0 everywhere for this circuit). ``--out DIR`` writes elsewhere
(the tests use it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import anyio

import qjobs
from qjobs.cli._sweep_config import load_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sweep.toml"
#: The expectation drawn.
OBSERVABLE = "ZZII"


async def sweep_result() -> qjobs.SweepResult:
    """The example sweep's result, from the emulator (its exact simulator, no latency)."""
    spec = load_spec(EXAMPLE)
    sweep = qjobs.Sweep(spec.source, spec.params, mode=spec.mode)
    async with (
        qjobs.emulators.serve(spec.provider, seed=spec.emulator.seed) as server,
        qjobs.connect(spec.provider, token="docs", base_url=server.base_url) as client,
    ):
        return await sweep.run(client, backend=spec.backend, shots=spec.shots, max_in_flight=400)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    result = anyio.run(sweep_result)
    path = args.out / "sweep-heatmap.png"
    result.plot(OBSERVABLE, path=path)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
