"""Benchmark: 1,000 Cirq, Qibo and Braket circuits (5 qubits, about 40 gates each) convert in
well under a second each (CPU time of this process, so other load on the machine does not count).
The figures are printed (``pytest -s``)."""

from __future__ import annotations

import time
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
def test_thousand_circuits_convert_in_under_a_second(
    make: Callable[[int], Any], convert: Callable[[Any], Circuit]
) -> None:
    circuits = [make(i) for i in range(N)]
    start = time.process_time()
    converted = [convert(c) for c in circuits]
    seconds = time.process_time() - start
    print(f"{N} circuits of {len(converted[0].instructions)} instructions: {seconds:.3f} s CPU")
    assert len({c.instructions[0].params for c in converted}) == N
    assert seconds < 1.0
