"""1,000 Cirq, Qibo and Braket circuits (5 qubits, 41 instructions each) convert one by one with
nothing shared between them. Their speed is measured by benchmarks/conversions.py (make bench),
never asserted here."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

from qjobs import Circuit

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import cirq
    import qibo
    from braket.circuits import Circuit as BraketCircuit
    from qibo import gates

N, LAYERS, QUBITS = 1000, 4, 5


def cirq_circuit(i: int) -> cirq.Circuit:
    q = cirq.LineQubit.range(QUBITS)
    ops: list[Any] = []
    for layer in range(LAYERS):
        ops += [cirq.ry(0.01 * i + layer)(x) for x in q]
        ops += [cirq.CNOT(q[j], q[j + 1]) for j in range(QUBITS - 1)]
    return cirq.Circuit([*ops, cirq.measure(*q, key="m")])


def qibo_circuit(i: int) -> qibo.Circuit:
    circuit = qibo.Circuit(QUBITS)
    for layer in range(LAYERS):
        for x in range(QUBITS):
            circuit.add(gates.RY(x, 0.01 * i + layer))
        for j in range(QUBITS - 1):
            circuit.add(gates.CNOT(j, j + 1))
    circuit.add(gates.M(*range(QUBITS)))
    return circuit


def braket_circuit(i: int) -> BraketCircuit:
    circuit = BraketCircuit()
    for layer in range(LAYERS):
        for x in range(QUBITS):
            circuit.ry(x, 0.01 * i + layer)
        for j in range(QUBITS - 1):
            circuit.cnot(j, j + 1)
    return circuit.measure(list(range(QUBITS)))


@pytest.mark.parametrize(
    ("make", "convert"),
    [
        (cirq_circuit, Circuit.from_cirq),
        (qibo_circuit, Circuit.from_qibo),
        (braket_circuit, Circuit.from_braket),
    ],
    ids=["cirq", "qibo", "braket"],
)
def test_a_thousand_circuits_convert(
    make: Callable[[int], Any], convert: Callable[[Any], Circuit]
) -> None:
    converted = [convert(make(i)) for i in range(N)]
    assert all(len(c.instructions) == LAYERS * (2 * QUBITS - 1) + QUBITS for c in converted)
    assert all(c.num_qubits == QUBITS for c in converted)
    # Every circuit keeps its own first angle (0.01 * i): no parameters leak between conversions.
    firsts = [float(c.instructions[0].params[0]) for c in converted]
    assert firsts == pytest.approx([0.01 * i for i in range(N)])
