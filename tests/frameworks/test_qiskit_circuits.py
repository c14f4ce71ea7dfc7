"""Qiskit circuits in and out: ``Circuit.from_qiskit`` / ``Circuit.to_qiskit``.

Every gate is checked by state-vector equality between Qiskit's ``Statevector`` and qjobs's
simulator (up to global phase), bit order against Qiskit's ``BasicSimulator`` and the IonQ
emulator, parameters through a ``Sweep``, and refusals by the instruction they name.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Gate, Parameter, ParameterVector
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.quantum_info import Operator, Statevector

import qjobs
import qjobs_sync
from qjobs import Circuit, InputError
from qjobs.circuit._qiskit import QISKIT_TO_QJOBS
from qjobs.sweep import Sweep

TOKEN = "qiskit-circuits-token"

STANDARD = get_standard_gate_name_mapping()
DIRECTIVES = {"measure", "barrier", "reset"}
#: Standard gates mapped one to one.
DIRECT = sorted(set(QISKIT_TO_QJOBS) - DIRECTIVES)
#: Standard gates with no qjobs equivalent, taken through OpenQASM 3.
FALLBACK = sorted(set(STANDARD) - set(QISKIT_TO_QJOBS) - {"global_phase", "delay"})
ANGLES = (0.7, -1.3, 2.1, 0.4)


def _generic(n: int) -> QuantumCircuit:
    """A layer of distinct rotations on ``n`` qubits, so that no gate acts on a special state."""
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.ry(0.3 + 0.4 * q, q)
        qc.rz(0.5 - 0.35 * q, q)
    return qc


def _with_gate(name: str, width: int = 4) -> QuantumCircuit:
    """``name`` (with ANGLES) on the last qubits of ``width`` in reversed order, after a generic
    layer: asymmetric, so a swapped qubit or a reversed order shows."""
    gate = STANDARD[name]
    params = list(ANGLES[: len(gate.params)])
    qc = _generic(width)
    qc.append(
        type(gate)(*params) if params else gate, list(range(width - 1, -1, -1))[: gate.num_qubits]
    )
    return qc


def _same_state(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return bool(np.isclose(abs(np.vdot(a, b)), 1.0, atol=1e-9))


def _counts_key(counts: dict[str, int]) -> set[str]:
    return {key.replace(" ", "") for key in counts}


def test_import_qjobs_does_not_import_qiskit() -> None:
    code = "import sys, qjobs, qjobs_sync; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "qjobs" in loaded
    assert not {"qiskit", "qiskit_ionq", "sympy", "qjobs.circuit._qiskit"} & loaded


def test_the_direct_map_covers_qiskit_names() -> None:
    assert set(DIRECT) <= set(STANDARD)
    assert {"h", "cx", "rzz", "u", "u1", "cu1", "u2", "u3", "ccx", "cswap", "sxdg"} <= set(DIRECT)


@pytest.mark.parametrize("name", DIRECT)
def test_direct_gate_has_qiskit_state(name: str) -> None:
    qc = _with_gate(name)
    circuit = Circuit.from_qiskit(qc)
    assert circuit.instructions[-1].name == QISKIT_TO_QJOBS[name]
    assert len(circuit.instructions) == len(qc.data)
    assert _same_state(qjobs.sim.statevector(circuit), Statevector(qc).data)
    assert Operator(circuit.to_qiskit()).equiv(Operator(qc))


@pytest.mark.parametrize("name", FALLBACK)
def test_fallback_gate_has_qiskit_state(name: str) -> None:
    qc = _with_gate(name)
    circuit = Circuit.from_qiskit(qc)
    assert {ins.name for ins in circuit.instructions} <= set(qjobs.circuit._gates.GATES)
    assert _same_state(qjobs.sim.statevector(circuit), Statevector(qc).data)


@pytest.mark.parametrize("name", ["gpi", "gpi2", "ms", "zz"])
def test_ionq_native_gates_map_directly(name: str) -> None:
    import qiskit_ionq

    cls = {"gpi": "GPIGate", "gpi2": "GPI2Gate", "ms": "MSGate", "zz": "ZZGate"}[name]
    params = {"gpi": (0.1,), "gpi2": (0.3,), "ms": (0.1, 0.35, 0.2), "zz": (0.15,)}[name]
    gate = getattr(qiskit_ionq, cls)(*params)
    qc = _generic(3)
    qc.append(gate, [2, 0][: gate.num_qubits])
    circuit = Circuit.from_qiskit(qc)
    assert circuit.instructions[-1].name == name
    assert circuit.instructions[-1].params == params
    assert _same_state(qjobs.sim.statevector(circuit), Statevector(qc).data)
    assert type(circuit.to_qiskit().data[-1].operation) is type(gate)


def test_global_phase_is_dropped_not_the_rest() -> None:
    qc = QuantumCircuit(1, global_phase=0.4)
    qc.append(STANDARD["global_phase"].__class__(0.3), [])
    qc.h(0)
    circuit = Circuit.from_qiskit(qc)
    assert [ins.name for ins in circuit.instructions] == ["h"]


def test_round_trip_keeps_registers_measures_barriers_resets() -> None:
    a, b = QuantumRegister(2, "a"), QuantumRegister(1, "b")
    m, n = ClassicalRegister(1, "m"), ClassicalRegister(2, "n")
    qc = QuantumCircuit(a, b, m, n, name="regs")
    qc.h(a[1])
    qc.cx(a[1], b[0])
    qc.barrier(a[0], b[0])
    qc.measure(b[0], n[1])
    qc.reset(b[0])
    qc.measure(a[1], m[0])
    circuit = Circuit.from_qiskit(qc)
    assert circuit.name == "regs"
    assert [(r.name, r.size, r.start) for r in circuit.qregs] == [("a", 2, 0), ("b", 1, 2)]
    assert [(r.name, r.size, r.start) for r in circuit.cregs] == [("m", 1, 0), ("n", 2, 1)]
    assert [(i.name, i.qubits, i.clbits) for i in circuit.instructions] == [
        ("h", (1,), ()),
        ("cx", (1, 2), ()),
        ("barrier", (0, 2), ()),
        ("measure", (2,), (2,)),
        ("reset", (2,), ()),
        ("measure", (1,), (0,)),
    ]
    back = circuit.to_qiskit()
    assert [(r.name, r.size) for r in back.qregs] == [("a", 2), ("b", 1)]
    assert [(r.name, r.size) for r in back.cregs] == [("m", 1), ("n", 2)]
    assert back.name == "regs"
    assert [
        (
            ci.name,
            [back.find_bit(q).index for q in ci.qubits],
            [back.find_bit(c).index for c in ci.clbits],
        )
        for ci in back.data
    ] == [
        (
            ci.name,
            [qc.find_bit(q).index for q in ci.qubits],
            [qc.find_bit(c).index for c in ci.clbits],
        )
        for ci in qc.data
    ]
    assert Circuit.from_qiskit(back).instructions == circuit.instructions


def test_loose_bits_and_unregistered_layout() -> None:
    from qiskit.circuit import Clbit, Qubit

    qc = QuantumCircuit([Qubit(), Qubit()], [Clbit()])
    qc.x(1)
    qc.measure(1, 0)
    circuit = Circuit.from_qiskit(qc, name="loose")
    assert (circuit.num_qubits, circuit.num_clbits, circuit.qregs, circuit.name) == (
        2,
        1,
        (),
        "loose",
    )
    assert qjobs.sim.counts(circuit, 10, seed=1) == {"1": 10}
    back = circuit.to_qiskit()
    assert [r.name for r in back.qregs] == ["q"]
    assert [r.name for r in back.cregs] == ["c"]


# --- bit order -------------------------------------------------------------------------------

#: (clbit that qubit 0 is measured into, clbits of qubits 1 and 2): asymmetric placements.
PLACEMENTS = [(0, (1, 2)), (2, (0, 1)), (1, (2, 0))]


def _x_on_qubit0(target: int, others: tuple[int, int]) -> QuantumCircuit:
    qc = QuantumCircuit(3, 3)
    qc.x(0)
    qc.measure(0, target)
    qc.measure(1, others[0])
    qc.measure(2, others[1])
    return qc


@pytest.mark.parametrize(("target", "others"), PLACEMENTS)
def test_bit_order_matches_qiskit_simulators(target: int, others: tuple[int, int]) -> None:
    qc = _x_on_qubit0(target, others)
    expected = {"".join("1" if k == target else "0" for k in reversed(range(3)))}
    assert set(BasicSimulator().run(qc, shots=20).result().get_counts()) == expected
    assert set(Statevector(qc.remove_final_measurements(inplace=False)).sample_counts(5)) == {"001"}
    assert set(qjobs.sim.counts(Circuit.from_qiskit(qc), 20, seed=0)) == expected


def test_bit_order_with_two_registers() -> None:
    qc = QuantumCircuit(
        QuantumRegister(3, "q"), ClassicalRegister(1, "lo"), ClassicalRegister(2, "hi")
    )
    qc.x(0)
    qc.x(2)
    qc.measure([0, 1, 2], [2, 0, 1])
    qiskit_counts = BasicSimulator().run(qc, shots=10).result().get_counts()
    assert _counts_key(qiskit_counts) == set(qjobs.sim.counts(Circuit.from_qiskit(qc), 10, seed=0))


def test_bit_order_on_the_ionq_emulator(serve: Callable[..., Any]) -> None:
    server = serve("ionq", seed=5, tokens=[TOKEN])
    circuits = [_x_on_qubit0(t, o) for t, o in PLACEMENTS]
    with qjobs_sync.connect("ionq", token=TOKEN, base_url=server.base_url) as client:
        for qc in circuits:
            qiskit_keys = set(BasicSimulator().run(qc, shots=16).result().get_counts())
            result = client.run(Circuit.from_qiskit(qc), shots=16, backend="simulator")
            assert set(result.counts) == qiskit_keys


# --- parameters --------------------------------------------------------------------------------


def _expression_circuit() -> tuple[QuantumCircuit, Parameter, Parameter, Any]:
    a, b, v = Parameter("a"), Parameter("b"), ParameterVector("v", 2)
    qc = _generic(2)
    qc.rx(2 * a + 1, 0)
    qc.ry(a.sin() * v[0] ** 2 - b / 3, 1)
    qc.rz(-b, 0)
    qc.p(a.exp() + b.cos() * v[1], 1)
    qc.crx(a * b, 0, 1)
    qc.u(a, b, 0.25, 0)
    return qc, a, b, v


def test_parameter_expressions_bind_like_qiskit() -> None:
    qc, a, b, v = _expression_circuit()
    circuit = Circuit.from_qiskit(qc)
    assert circuit.parameters == ("a", "b", "v[0]", "v[1]")
    for values in (
        {"a": 0.3, "b": -1.1, "v[0]": 0.7, "v[1]": 2.0},
        {"a": 1.9, "b": 0.2, "v[0]": -0.4, "v[1]": 0.1},
    ):
        bound_qc = qc.assign_parameters(
            {a: values["a"], b: values["b"], v[0]: values["v[0]"], v[1]: values["v[1]"]}
        )
        assert _same_state(qjobs.sim.statevector(circuit.bind(values)), Statevector(bound_qc).data)
    back = circuit.to_qiskit()
    assert sorted(p.name for p in back.parameters) == ["a", "b", "v[0]", "v[1]"]
    by_name = {p.name: p for p in back.parameters}
    rebound = back.assign_parameters({by_name[k]: 0.5 + i for i, k in enumerate(sorted(by_name))})
    expect = qc.assign_parameters({a: 0.5, b: 1.5, v[0]: 2.5, v[1]: 3.5})
    assert Operator(rebound).equiv(Operator(expect))


def test_parametrised_circuit_is_a_sweep_template() -> None:
    theta, phi = Parameter("theta"), Parameter("phi")
    qc = QuantumCircuit(2, 2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.rz(phi, 1)
    qc.h(1)
    qc.measure([0, 1], [0, 1])
    sweep = Sweep(Circuit.from_qiskit(qc), {"theta": [0.1, 0.9, 2.0], "phi": [0.0, 1.2]})
    circuits = sweep.circuits()
    assert len(circuits) == 6
    grid = [(t, p) for t in (0.1, 0.9, 2.0) for p in (0.0, 1.2)]
    for circuit, (t, p) in zip(circuits, grid, strict=True):
        expect = Statevector(
            qc.assign_parameters({theta: t, phi: p}).remove_final_measurements(inplace=False)
        )
        assert np.allclose(qjobs.sim.probabilities(circuit), expect.probabilities())


def test_parametrised_fallback_gate_keeps_the_parameter() -> None:
    a = Parameter("a")
    qc = _generic(2)
    qc.append(STANDARD["rzx"].__class__(2 * a), [1, 0])
    circuit = Circuit.from_qiskit(qc)
    assert circuit.parameters == ("a",)
    for value in (0.3, -2.2):
        expect = Statevector(qc.assign_parameters({a: value})).data
        assert _same_state(qjobs.sim.statevector(circuit.bind({"a": value})), expect)


def test_bound_parameter_expression_and_numpy_numbers() -> None:
    a = Parameter("a")
    qc = QuantumCircuit(1)
    qc.rx(a * 2, 0)
    qc = qc.assign_parameters({a: 0.25})
    qc.ry(np.float32(0.5), 0)
    circuit = Circuit.from_qiskit(qc)
    assert circuit.is_bound
    assert [ins.params for ins in circuit.instructions] == [(0.5,), (0.5,)]


# --- refusals ------------------------------------------------------------------------------------


def _if_test() -> QuantumCircuit:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(0)
    return qc


def _for_loop() -> QuantumCircuit:
    qc = QuantumCircuit(1)
    with qc.for_loop(range(2)):
        qc.x(0)
    return qc


def _delay() -> QuantumCircuit:
    qc = QuantumCircuit(1)
    qc.h(0)
    qc.delay(100, 0)
    return qc


def _initialize() -> QuantumCircuit:
    qc = QuantumCircuit(1)
    qc.initialize([0, 1], 0)
    return qc


def _opaque() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.append(Gate("mystery", 2, []), [0, 1])
    return qc


@pytest.mark.parametrize(
    ("build", "name", "position"),
    [
        (_if_test, "if_else", 1),
        (_for_loop, "for_loop", 0),
        (_delay, "delay", 1),
        (_initialize, "initialize", 0),
        (_opaque, "mystery", 1),
    ],
)
def test_refusals_name_the_instruction(
    build: Callable[[], QuantumCircuit], name: str, position: int
) -> None:
    with pytest.raises(InputError) as info:
        Circuit.from_qiskit(build())
    assert info.value.value == name
    assert info.value.field == f"qc.data[{position}]"
    assert name in str(info.value)


def test_user_gate_with_a_standard_name_keeps_its_definition() -> None:
    body = QuantumCircuit(1, name="h")
    body.x(0)
    qc = QuantumCircuit(1)
    qc.append(body.to_gate(), [0])
    assert qc.data[0].name == "h"
    circuit = Circuit.from_qiskit(qc)
    assert [ins.name for ins in circuit.instructions] == ["x"]


def test_custom_and_multi_controlled_gates_convert_through_openqasm() -> None:
    from qiskit.circuit.library import MCXGate

    body = QuantumCircuit(2, name="entangle")
    body.rx(0.3, 0)
    body.cx(0, 1)
    qc = _generic(4)
    qc.append(body.to_gate(), [3, 1])
    qc.append(MCXGate(3), [2, 0, 3, 1])
    circuit = Circuit.from_qiskit(qc)
    assert _same_state(qjobs.sim.statevector(circuit), Statevector(qc).data)


def test_custom_gate_with_free_parameters_refused() -> None:
    a = Parameter("a")
    body = QuantumCircuit(1, name="turn")
    body.rx(a, 0)
    qc = QuantumCircuit(1)
    qc.append(body.to_gate(), [0])
    with pytest.raises(InputError, match="free parameters") as info:
        Circuit.from_qiskit(qc)
    assert info.value.value == "turn"
    qc = qc.assign_parameters({a: 0.4})
    assert _same_state(qjobs.sim.statevector(Circuit.from_qiskit(qc)), Statevector(qc).data)


def test_non_circuit_refused() -> None:
    with pytest.raises(InputError, match="QuantumCircuit"):
        Circuit.from_qiskit("OPENQASM 3.0; qubit q;")


# --- speed and transpiled input ------------------------------------------------------------------


def _typical(rng: random.Random) -> QuantumCircuit:
    qc = QuantumCircuit(4, 4)
    for _ in range(20):
        r = rng.random()
        if r < 0.3:
            qc.h(rng.randrange(4))
        elif r < 0.6:
            qc.rz(rng.random(), rng.randrange(4))
        else:
            a, b = rng.sample(range(4), 2)
            qc.cx(a, b)
    qc.measure(range(4), range(4))
    return qc


def test_a_thousand_typical_circuits_convert() -> None:
    # Their speed is measured by benchmarks/conversions.py (make bench), never asserted here.
    rng = random.Random(7)
    circuits = [_typical(rng) for _ in range(1000)]
    converted = [Circuit.from_qiskit(qc) for qc in circuits]
    assert all(len(c.instructions) == 24 for c in converted)
    assert all(c.num_qubits == 4 and c.num_clbits == 4 for c in converted)


def test_transpiled_circuit_converts() -> None:
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.measure(range(3), range(3))
    basis = transpile(
        qc, basis_gates=["rz", "sx", "x", "cx", "ecr"], optimization_level=1, seed_transpiler=1
    )
    circuit = Circuit.from_qiskit(basis)
    assert np.allclose(
        qjobs.sim.probabilities(circuit),
        Statevector(qc.remove_final_measurements(inplace=False)).probabilities(),
    )
