"""``python -m benchmarks.qiskit_backend [--circuits N] [--shots S]``: qjobs vs qiskit-ionq.

One IonQ emulator process (``qjobs emulate ionq`` with the FULL preset's latency, queue and
execution times) serves both contestants, side by side in one run, on the same N distinct
circuits:

- qjobs: ``qjobs.qiskit.get_backend("ionq", ...).run(circuits, shots=S).result()`` when the
  Qiskit backend is installed; otherwise ``qjobs.qiskit.Sampler`` over the same scheduler path
  (every circuit a PUB, one campaign), which is what is measured and said in the output.
- qiskit-ionq, as its users write it at their best: ``IonQProvider(token, url=...)
  .get_backend("simulator")``, ``backend.run(circuit, shots=S)`` for each circuit, then
  ``job.result(wait=0.05)`` for each (the SDK's default poll interval is 5 s).

Both SDKs are imported before the timed runs. Prints both wall times, HTTP requests per circuit
and the ratio. Needs the frameworks venv
(``make .venv-frameworks/.installed``).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks._config import FULL
from benchmarks._emulator import EmulatorProcess, reset_stats, stats

TOKEN = "benchmark-token"
#: qiskit-ionq's ``result(wait=...)`` poll interval, as the interop tests use it.
IONQ_WAIT = 0.05


def circuits(count: int, seed: int = 0) -> list[Any]:
    """``count`` distinct 3-qubit circuits (random angles), each measuring all qubits."""
    from qiskit import QuantumCircuit

    rng = np.random.default_rng(seed)
    out = []
    for i, (a, b, c) in enumerate(rng.uniform(0, np.pi, size=(count, 3))):
        qc = QuantumCircuit(3, 3, name=f"c{i}")
        qc.rx(float(a), 0)
        qc.ry(float(b), 1)
        qc.h(2)
        qc.cx(0, 1)
        qc.rz(float(c), 2)
        qc.cx(1, 2)
        qc.measure([0, 1, 2], [0, 1, 2])
        out.append(qc)
    return out


def run_qjobs(base_url: str, batch: Sequence[Any], shots: int) -> tuple[str, list[int]]:
    """Run ``batch`` through qjobs; the path taken and each circuit's total count."""
    import qjobs.qiskit

    with qjobs.qiskit.get_backend("ionq", token=TOKEN, base_url=base_url) as backend:
        result = backend.run(list(batch), shots=shots).result()
    totals = [sum(result.get_counts(i).values()) for i in range(len(batch))]
    return "qjobs.qiskit.get_backend('ionq').run(circuits).result()", totals


def run_qiskit_ionq(base_url: str, batch: Sequence[Any], shots: int) -> list[int]:
    """Run ``batch`` through qiskit-ionq: one job per circuit, then each result."""
    from qiskit_ionq import IonQProvider

    # The SDK also reads its endpoint from the environment (for the backend's qubit count).
    os.environ.pop("QISKIT_IONQ_API_URL", None)
    os.environ.pop("QISKIT_IONQ_API_TOKEN", None)
    os.environ["IONQ_API_URL"] = base_url
    os.environ["IONQ_API_KEY"] = TOKEN
    backend = IonQProvider(token=TOKEN, url=base_url).get_backend("simulator")
    jobs = [backend.run(qc, shots=shots) for qc in batch]
    return [sum(job.result(wait=IONQ_WAIT).get_counts().values()) for job in jobs]


def _timed(base_url: str, fn: Callable[[], Any]) -> tuple[float, Any, int]:
    reset_stats(base_url)
    start = time.perf_counter()
    value = fn()
    elapsed = time.perf_counter() - start
    return elapsed, value, int(stats(base_url)["total_requests"])


def main(argv: Sequence[str] | None = None) -> None:
    """Run both contestants on one emulator and print the comparison."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.qiskit_backend", description=__doc__
    )
    parser.add_argument("--circuits", type=int, default=1000, help="circuits per contestant")
    parser.add_argument("--shots", type=int, default=FULL.shots, help="shots per circuit")
    args = parser.parse_args(argv)
    # Both SDKs are imported before anything is timed: the race is the run, not the import.
    import qiskit_ionq  # noqa: F401

    import qjobs.qiskit  # noqa: F401

    batch = circuits(args.circuits)
    config = FULL
    print(
        f"IonQ emulator: latency {config.latency_ms:g} ms, queue {config.queue_ms:g} ms, "
        f"execution {config.exec_ms:g} ms; {args.circuits} circuits x {args.shots} shots"
    )
    with EmulatorProcess(
        latency_ms=config.latency_ms, queue_ms=config.queue_ms, exec_ms=config.exec_ms
    ) as emu:
        q_time, (path, q_totals), q_requests = _timed(
            emu.base_url, lambda: run_qjobs(emu.base_url, batch, args.shots)
        )
        print(
            f"qjobs       {q_time:8.2f} s  {q_requests / len(batch):6.3f} requests/circuit  {path}"
        )
        i_time, i_totals, i_requests = _timed(
            emu.base_url, lambda: run_qiskit_ionq(emu.base_url, batch, args.shots)
        )
        print(
            f"qiskit-ionq {i_time:8.2f} s  {i_requests / len(batch):6.3f} requests/circuit  "
            "IonQProvider(...).get_backend('simulator').run(circuit) each, result() each"
        )
    for name, totals in (("qjobs", q_totals), ("qiskit-ionq", i_totals)):
        if totals != [args.shots] * len(batch):
            raise SystemExit(f"{name}: some circuit did not get {args.shots} shots")
    print(f"ratio       {i_time / q_time:8.1f}x  (qiskit-ionq time / qjobs time)")


if __name__ == "__main__":
    main()
