"""Conversion benchmark: foreign circuits into qjobs, direct mapping vs the OpenQASM path.

``python -m benchmarks.conversions [--count 1000] [--qubits 5] [--layers 10] [--repeat 3]``,
in the frameworks venv (``make .venv-frameworks/.installed``). For each of Qiskit, Cirq, Qibo
and Braket it builds ``count`` circuits (``layers`` layers of ``rx`` on every qubit and a ``cx``
chain, then every qubit measured), converts them with ``Circuit.from_<framework>`` and, as the
baseline in the same run, through the framework's own OpenQASM export read back with
``Circuit.from_qasm``. It prints the best time of ``repeat`` runs per 1,000 circuits for both and
their ratio. Braket's export writes Braket gate names, which qjobs does not read: its baseline is
the export alone (a lower bound of that path, so its ratio is a lower bound too).

A framework that is not installed, or a ``Circuit`` without its ``from_<framework>``, is
reported as such; the module imports no framework at import time.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from qjobs import Circuit

FRAMEWORKS = ("qiskit", "cirq", "qibo", "braket")


@attrs.frozen
class Shape:
    """The benchmark circuits: ``count`` circuits of ``qubits`` qubits and ``layers`` layers."""

    count: int = 1000
    qubits: int = 5
    layers: int = 10

    def angles(self, index: int) -> list[list[float]]:
        """The ``rx`` angles of circuit ``index``, by layer then qubit (deterministic)."""
        return [
            [
                math.fmod(0.37 * index + 0.11 * layer + 0.05 * q, 2 * math.pi)
                for q in range(self.qubits)
            ]
            for layer in range(self.layers)
        ]


@attrs.frozen
class Row:
    """One framework's figures (seconds per 1,000 circuits), or why there are none."""

    framework: str
    direct: float | None = None
    baseline: float | None = None
    baseline_kind: str = "export + Circuit.from_qasm"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times faster the direct mapping is than the baseline."""
        if self.direct is None or self.baseline is None or self.direct <= 0:
            return None
        return self.baseline / self.direct


def _load(module: str) -> Any:
    return importlib.import_module(module)


# ------------------------------------------------------------------ circuits per framework
def qiskit_circuit(shape: Shape, index: int) -> Any:
    """The benchmark circuit ``index`` as a Qiskit ``QuantumCircuit``."""
    qc = _load("qiskit").QuantumCircuit(shape.qubits, shape.qubits)
    for layer in shape.angles(index):
        for q, angle in enumerate(layer):
            qc.rx(angle, q)
        for q in range(shape.qubits - 1):
            qc.cx(q, q + 1)
    qc.measure(range(shape.qubits), range(shape.qubits))
    return qc


def cirq_circuit(shape: Shape, index: int) -> Any:
    """The benchmark circuit ``index`` as a ``cirq.Circuit``."""
    cirq = _load("cirq")
    qs = cirq.LineQubit.range(shape.qubits)
    ops: list[Any] = []
    for layer in shape.angles(index):
        ops += [cirq.rx(angle).on(q) for q, angle in zip(qs, layer, strict=True)]
        ops += [cirq.CNOT(qs[q], qs[q + 1]) for q in range(shape.qubits - 1)]
    ops.append(cirq.measure(*qs, key="m"))
    return cirq.Circuit(ops)


def qibo_circuit(shape: Shape, index: int) -> Any:
    """The benchmark circuit ``index`` as a qibo ``Circuit``."""
    qibo = _load("qibo")
    gates = qibo.gates
    c = qibo.Circuit(shape.qubits)
    for layer in shape.angles(index):
        c.add([gates.RX(q, theta=angle) for q, angle in enumerate(layer)])
        c.add([gates.CNOT(q, q + 1) for q in range(shape.qubits - 1)])
    c.add(gates.M(*range(shape.qubits)))
    return c


def braket_circuit(shape: Shape, index: int) -> Any:
    """The benchmark circuit ``index`` as a Braket ``Circuit`` (every qubit measured)."""
    c = _load("braket.circuits").Circuit()
    for layer in shape.angles(index):
        for q, angle in enumerate(layer):
            c.rx(q, angle)
        for q in range(shape.qubits - 1):
            c.cnot(q, q + 1)
    return c


def _braket_qasm(c: Any) -> str:
    ir_type = _load("braket.circuits.serialization").IRType
    return str(c.to_ir(ir_type.OPENQASM).source)


#: framework -> (circuit builder, the framework's own OpenQASM export).
BUILDERS: dict[str, tuple[Callable[[Shape, int], Any], Callable[[Any], str]]] = {
    "qiskit": (qiskit_circuit, lambda qc: str(_load("qiskit.qasm2").dumps(qc))),
    "cirq": (cirq_circuit, lambda c: str(_load("cirq").qasm(c))),
    "qibo": (qibo_circuit, lambda c: str(c.to_qasm())),
    "braket": (braket_circuit, _braket_qasm),
}


# ----------------------------------------------------------------------------- measuring
def best_of(repeat: int, work: Callable[[], object]) -> float:
    """The shortest wall time of ``repeat`` runs of ``work``, in seconds."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def measure(framework: str, shape: Shape, repeat: int) -> Row:
    """Time ``Circuit.from_<framework>`` and the OpenQASM baseline on ``shape.count`` circuits."""
    try:
        _load(framework)
    except ImportError:
        return Row(framework, note=f"{framework} is not installed")
    convert: Callable[[Any], Circuit] | None = getattr(Circuit, f"from_{framework}", None)
    if convert is None:
        return Row(framework, note=f"Circuit.from_{framework} does not exist here")
    build, export = BUILDERS[framework]
    circuits = [build(shape, i) for i in range(shape.count)]
    per_thousand = 1000 / shape.count
    converted = [convert(c) for c in circuits]  # warm-up, and the shape check below
    if converted[0].num_qubits != shape.qubits:
        raise AssertionError(f"{framework}: {converted[0].num_qubits} qubits, not {shape.qubits}")
    direct = best_of(repeat, lambda: [convert(c) for c in circuits]) * per_thousand
    if framework == "braket":
        baseline = best_of(repeat, lambda: [export(c) for c in circuits]) * per_thousand
        return Row(framework, direct, baseline, "export only (qjobs cannot read it)")
    baseline = (
        best_of(repeat, lambda: [Circuit.from_qasm(export(c)) for c in circuits]) * per_thousand
    )
    return Row(framework, direct, baseline)


def render(rows: Sequence[Row], shape: Shape) -> str:
    """The result table as text, times in milliseconds per 1,000 circuits."""
    lines = [
        f"{shape.count} circuits per framework, {shape.qubits} qubits, {shape.layers} layers "
        f"({shape.layers * (2 * shape.qubits - 1) + shape.qubits} instructions each); "
        "ms per 1,000 circuits",
        f"{'framework':<10} {'from_<fw>':>10} {'OpenQASM path':>14} {'ratio':>7}  baseline",
    ]
    for row in rows:
        if row.direct is None or row.baseline is None:
            lines.append(f"{row.framework:<10} {'n/a':>10} {'n/a':>14} {'':>7}  {row.note}")
            continue
        ratio = f"{row.ratio:.1f}x" if row.ratio is not None else ""
        lines.append(
            f"{row.framework:<10} {row.direct * 1e3:>10.1f} {row.baseline * 1e3:>14.1f} "
            f"{ratio:>7}  {row.baseline_kind}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; 0 when every framework could be measured."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conversions", description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="circuits per framework")
    parser.add_argument("--qubits", type=int, default=5)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is kept")
    parser.add_argument("--only", default=",".join(FRAMEWORKS), help="comma-separated frameworks")
    args = parser.parse_args(argv)
    shape = Shape(count=args.count, qubits=args.qubits, layers=args.layers)
    wanted = [f for f in args.only.split(",") if f]
    unknown = sorted(set(wanted) - set(FRAMEWORKS))
    if unknown:
        parser.error(f"unknown frameworks {unknown}; known: {list(FRAMEWORKS)}")
    rows = [measure(framework, shape, args.repeat) for framework in wanted]
    print(render(rows, shape))
    return 0 if all(row.ratio is not None for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
