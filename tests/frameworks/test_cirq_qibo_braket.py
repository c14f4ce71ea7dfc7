"""Cirq, Qibo and Braket circuits in: ``Circuit.from_cirq``, ``from_qibo``, ``from_braket``.

Every mapped gate is checked against the framework's own unitary (through qjobs' simulator),
the bit order against each framework's simulator on asymmetric circuits, one circuit of each
runs on an emulator, and what cannot be converted is refused naming the instruction.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest

import qjobs_sync
from qjobs import Circuit, InputError
from qjobs.circuit import Instruction
from qjobs.sim import counts, probabilities, statevector

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import cirq
    import qibo
    import sympy
    from braket.circuits import Circuit as BraketCircuit
    from braket.circuits import FreeParameter
    from braket.devices import LocalSimulator
    from qibo import gates

qibo.set_backend("numpy")
TOKEN = "frameworks-token"
Q3 = cirq.LineQubit.range(3)


def qjobs_unitary(circuit: Circuit) -> np.ndarray:
    """The circuit's unitary in the frameworks' big-endian order (qubit 0 most significant).

    Column k is the final state from basis state k, prepared with X gates (exact, no phase)."""
    n = circuit.num_qubits
    cols = []
    for k in range(2**n):
        prep = tuple(Instruction("x", (i,)) for i in range(n) if k >> (n - 1 - i) & 1)
        psi = statevector(Circuit(n, 0, prep + circuit.instructions))
        # little-endian amplitude index -> big-endian
        cols.append(psi.reshape((2,) * n).transpose(range(n - 1, -1, -1)).reshape(-1))
    return np.array(cols).T


def assert_equal_up_to_phase(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal matrices up to one global phase."""
    overlap = np.vdot(expected, actual)
    assert abs(overlap) == pytest.approx(expected.shape[0], abs=1e-7)
    np.testing.assert_allclose(actual * (abs(overlap) / overlap), expected, atol=1e-7)


def key_from_bits(bits: Iterable[int]) -> str:
    """A qjobs counts key from classical bits 0, 1, ... (bit 0 rightmost)."""
    return "".join(str(int(b)) for b in bits)[::-1]


# --- Cirq -------------------------------------------------------------------------------------

a, b, c = Q3
CIRQ_OPS = [
    cirq.I(a),
    cirq.X(b),
    cirq.Y(a),
    cirq.Z(c),
    cirq.H(a),
    cirq.S(b),
    cirq.S(b) ** -1,
    cirq.T(c),
    cirq.T(a) ** -1,
    cirq.X(a) ** 0.5,
    cirq.X(a) ** -0.5,
    cirq.X(b) ** 0.3,
    cirq.Y(c) ** 0.7,
    cirq.Z(a) ** 0.3,
    cirq.rx(0.4)(a),
    cirq.ry(-1.1)(b),
    cirq.rz(2.3)(c),
    cirq.CNOT(c, a),
    cirq.CZ(b, a),
    cirq.CZ(a, c) ** 0.3,
    cirq.SWAP(a, c),
    cirq.CCX(c, a, b),
    cirq.CSWAP(b, c, a),
    cirq.XX(a, b) ** 0.3,
    cirq.YY(c, b) ** 0.6,
    cirq.ZZ(a, c) ** -0.2,
    cirq.ms(0.3)(b, a),
    cirq.rx(0.4).controlled()(c, a),
    cirq.rx(math.pi).controlled()(b, c),
    cirq.rz(math.pi / 2).controlled()(a, b),
    (cirq.X**0.5).controlled()(a, b),
    cirq.ry(0.5).controlled()(a, b),
    cirq.rz(0.6).controlled()(b, c),
    (cirq.Z**0.3).controlled()(c, b),
    cirq.Y.controlled()(b, a),
    cirq.H.controlled()(a, c),
    cirq.SWAP.controlled()(c, a, b),
    cirq.X(a).controlled_by(b, c),
    cirq.IdentityGate(2)(a, c),
    cirq.GlobalPhaseGate(1j).on(),
    # No direct mapping: through cirq's OpenQASM export.
    cirq.ISWAP(a, c),
    cirq.CCZ(c, b, a),
    cirq.H(b) ** 0.5,
    cirq.PhasedXPowGate(phase_exponent=0.3, exponent=0.4)(c),
    cirq.MatrixGate(cirq.testing.random_unitary(2, random_state=3))(b),
]


@pytest.mark.parametrize("op", CIRQ_OPS, ids=str)
def test_cirq_gate_unitary(op: Any) -> None:
    circuit = cirq.Circuit(cirq.I.on_each(*Q3), op)
    ours = Circuit.from_cirq(circuit)
    assert ours.num_qubits == 3
    assert_equal_up_to_phase(qjobs_unitary(ours), cirq.unitary(circuit))


def test_cirq_direct_mapping_names() -> None:
    ours = Circuit.from_cirq(cirq.Circuit(cirq.S(a) ** -1, cirq.X(a) ** 0.5, cirq.CZ(a, b) ** 0.5))
    assert [(i.name, i.qubits) for i in ours.instructions] == [
        ("sdg", (0,)),
        ("sx", (0,)),
        ("cp", (0, 1)),
    ]


def test_cirq_symbols_become_parameters() -> None:
    t, u = sympy.symbols("t u")
    circuit = cirq.Circuit(cirq.rx(t)(a), cirq.X(b) ** (u / 2), cirq.CZ(a, b) ** t)
    ours = Circuit.from_cirq(circuit)
    assert ours.parameters == ("t", "u")
    values = {"t": 0.7, "u": -0.4}
    resolved = cirq.resolve_parameters(circuit, values)
    assert_equal_up_to_phase(qjobs_unitary(ours.bind(values)), cirq.unitary(resolved))


def test_cirq_subcircuits_are_flattened() -> None:
    sub = cirq.FrozenCircuit(cirq.H(a), cirq.CNOT(a, b))
    circuit = cirq.Circuit(cirq.CircuitOperation(sub, repetitions=2), cirq.T(b))
    ours = Circuit.from_cirq(circuit.freeze())
    assert [i.name for i in ours.instructions] == ["h", "cx", "h", "cx", "t"]
    assert_equal_up_to_phase(qjobs_unitary(ours), cirq.unitary(circuit))


def cirq_key(circuit: cirq.Circuit, measurements: dict[str, np.ndarray], shot: int) -> str:
    """A qjobs counts key from one cirq shot: keys in order of first measurement."""
    order = [str(op.gate.key) for op in circuit.all_operations() if cirq.is_measurement(op)]
    return key_from_bits(bit for k in order for bit in measurements[k][shot])


CIRQ_ASYMMETRIC = [
    cirq.Circuit(cirq.X(a), cirq.measure(a, b, c, key="m")),
    cirq.Circuit(cirq.X(a), cirq.X(b), cirq.measure(c, a, b, key="m")),
    cirq.Circuit(cirq.X(a), cirq.measure(c, key="z"), cirq.measure(a, b, key="y")),
    cirq.Circuit(
        cirq.X(cirq.GridQubit(0, 1)),
        cirq.measure(cirq.GridQubit(1, 0), cirq.GridQubit(0, 1), cirq.GridQubit(0, 0), key="g"),
    ),
]


@pytest.mark.parametrize("circuit", CIRQ_ASYMMETRIC, ids=lambda c: repr(str(c))[:40])
def test_cirq_bit_order_matches_cirq_simulator(circuit: cirq.Circuit) -> None:
    result = cirq.Simulator(seed=1).run(circuit, repetitions=5)
    expected = {cirq_key(circuit, result.measurements, s) for s in range(5)}
    assert len(expected) == 1
    assert counts(Circuit.from_cirq(circuit), 5, seed=1) == {expected.pop(): 5}


def test_cirq_probabilities_match_cirq_frequencies() -> None:
    circuit = cirq.Circuit(
        cirq.ry(0.9)(a), cirq.CNOT(a, c), cirq.ry(2.1)(b), cirq.measure(a, b, c, key="m")
    )
    shots = 4000
    result = cirq.Simulator(seed=2).run(circuit, repetitions=shots)
    freq = np.zeros(8)
    for s in range(shots):
        freq[int(cirq_key(circuit, result.measurements, s), 2)] += 1 / shots
    np.testing.assert_allclose(probabilities(Circuit.from_cirq(circuit)), freq, atol=0.03)


def test_cirq_registers_and_reset() -> None:
    ours = Circuit.from_cirq(
        cirq.Circuit(cirq.measure(c, key="z"), cirq.reset(a), cirq.measure(a, b, key="y"))
    )
    assert [(r.name, r.size, r.start) for r in ours.cregs] == [("z", 1, 0), ("y", 2, 1)]
    assert [(i.name, i.qubits, i.clbits) for i in ours.instructions] == [
        ("measure", (2,), (0,)),
        ("reset", (0,), ()),
        ("measure", (0,), (1,)),
        ("measure", (1,), (2,)),
    ]


@pytest.mark.parametrize(
    ("circuit", "named"),
    [
        (cirq.Circuit(cirq.H(a), cirq.depolarize(0.1)(a)), "depolarize"),
        (
            cirq.Circuit(cirq.X(a), cirq.measure(a, key="m", invert_mask=(True,))),
            "LineQubit(0), key=cirq.MeasurementKey(name='m'), invert_mas",
        ),
        (
            cirq.Circuit(cirq.measure(a, key="m"), cirq.X(b).with_classical_controls("m")),
            "ClassicallyControlledOperation(cirq.X(cirq.LineQubit(1))",
        ),
        (
            cirq.Circuit(cirq.measure(a, key="m"), cirq.measure(b, key="m")),
            "LineQubit(1), key=cirq.MeasurementKey(name='m')): measurement key 'm'",
        ),
        (
            cirq.Circuit(cirq.PhasedXPowGate(phase_exponent=sympy.Symbol("t"))(a)),
            "PhasedXPowGate(phase_exponent=sympy.Symbol('t'))",
        ),
    ],
    ids=["noise", "invert-mask", "classical-control", "repeated-key", "symbolic-fallback"],
)
def test_cirq_refusals_name_the_operation(circuit: cirq.Circuit, named: str) -> None:
    with pytest.raises(InputError) as err:
        Circuit.from_cirq(circuit)
    assert named in str(err.value)


# --- Qibo -------------------------------------------------------------------------------------

QIBO_GATES = [
    gates.I(0, 2),
    gates.H(1),
    gates.X(0),
    gates.Y(2),
    gates.Z(1),
    gates.S(0),
    gates.SDG(2),
    gates.T(1),
    gates.TDG(0),
    gates.SX(2),
    gates.SXDG(1),
    gates.RX(0, 0.4),
    gates.RY(1, -1.2),
    gates.RZ(2, 2.5),
    gates.U1(0, 0.7),
    gates.U2(1, 0.3, -0.8),
    gates.U3(2, 0.3, 1.1, -0.6),
    gates.CNOT(2, 0),
    gates.CY(0, 1),
    gates.CZ(1, 2),
    gates.CRX(2, 1, 0.4),
    gates.CRY(0, 2, 0.9),
    gates.CRZ(1, 0, -1.3),
    gates.CU1(2, 0, 0.6),
    gates.SWAP(0, 2),
    gates.RXX(1, 0, 0.3),
    gates.RYY(2, 1, 0.8),
    gates.RZZ(0, 2, -0.5),
    gates.TOFFOLI(2, 0, 1),
    gates.GPI(1, 0.7),
    gates.GPI2(2, -0.4),
    gates.MS(2, 0, 0.3, 1.2, 0.9),
    gates.X(0).controlled_by(1, 2),
    gates.RY(2, 0.4).controlled_by(1),
]


@pytest.mark.parametrize("gate", QIBO_GATES, ids=lambda g: type(g).__name__)
def test_qibo_gate_unitary(gate: Any) -> None:
    circuit = qibo.Circuit(3)
    circuit.add(gate)
    ours = Circuit.from_qibo(circuit)
    assert_equal_up_to_phase(qjobs_unitary(ours), np.asarray(circuit.unitary()))


def qibo_circuit(*ops: Any, nqubits: int = 3) -> qibo.Circuit:
    circuit = qibo.Circuit(nqubits)
    for op in ops:
        circuit.add(op)
    return circuit


QIBO_ASYMMETRIC = [
    lambda: qibo_circuit(gates.X(0), gates.M(0, 1, 2)),
    lambda: qibo_circuit(gates.X(0), gates.X(1), gates.M(2, 0, 1)),
    lambda: qibo_circuit(
        gates.X(0), gates.M(2, register_name="z"), gates.M(0, 1, register_name="y")
    ),
]


@pytest.mark.parametrize("make", QIBO_ASYMMETRIC)
def test_qibo_bit_order_matches_qibo_simulator(make: Callable[[], qibo.Circuit]) -> None:
    circuit = make()
    frequencies = dict(circuit(nshots=5).frequencies(binary=True))
    assert len(frequencies) == 1
    (qibo_key,) = frequencies
    # qibo writes the first measured qubit leftmost; qjobs keys have bit 0 rightmost.
    assert counts(Circuit.from_qibo(circuit), 5, seed=1) == {qibo_key[::-1]: 5}


def test_qibo_probabilities_match_qibo_frequencies() -> None:
    circuit = qibo_circuit(
        gates.RY(0, 0.9), gates.CNOT(0, 2), gates.RY(1, 2.1), gates.M(2, 0), gates.M(1)
    )
    shots = 4000
    frequencies = circuit(nshots=shots).frequencies(binary=True)
    freq = np.zeros(8)
    for key, n in frequencies.items():
        freq[int(key[::-1], 2)] = n / shots
    ours = Circuit.from_qibo(circuit)
    assert [(r.name, r.size, r.start) for r in ours.cregs] == [
        ("register0", 2, 0),
        ("register1", 1, 2),
    ]
    np.testing.assert_allclose(probabilities(ours), freq, atol=0.03)


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (
            lambda: qibo_circuit(gates.H(0), gates.DepolarizingChannel((0,), 0.1)),
            "DepolarizingChannel",
        ),
        (lambda: qibo_circuit(gates.H(0).controlled_by(1, 2)), "H(1, 2, 0)"),
        (lambda: qibo_circuit(gates.FSWAP(0, 1)), "FSWAP(0, 1)"),
        (lambda: qibo_circuit(gates.CU3(0, 1, 0.3, 0.4, 0.5)), "CU3(0, 1)"),
        (lambda: qibo_circuit(gates.M(0, collapse=True), nqubits=1), "M(0,)"),
        (lambda: qibo_circuit(gates.M(0, basis=gates.X)), "M(0,)"),
        (lambda: qibo_circuit(gates.M(0, p0=0.1)), "M(0,)"),
    ],
    ids=[
        "noise",
        "controlled-by",
        "no-mapping",
        "no-qasm-fallback",
        "collapse",
        "basis",
        "bitflip",
    ],
)
def test_qibo_refusals_name_the_gate(make: Callable[[], qibo.Circuit], named: str) -> None:
    with pytest.raises(InputError) as err:
        Circuit.from_qibo(make())
    assert named in str(err.value)


# --- Braket -----------------------------------------------------------------------------------

#: Braket gates added by ``Circuit`` builder calls, on 3 qubits.
BRAKET_GATES = [
    pytest.param(lambda k: k.i(1), id="i(1)"),
    pytest.param(lambda k: k.h(0), id="h(0)"),
    pytest.param(lambda k: k.x(2), id="x(2)"),
    pytest.param(lambda k: k.y(1), id="y(1)"),
    pytest.param(lambda k: k.z(0), id="z(0)"),
    pytest.param(lambda k: k.s(2), id="s(2)"),
    pytest.param(lambda k: k.si(1), id="si(1)"),
    pytest.param(lambda k: k.t(0), id="t(0)"),
    pytest.param(lambda k: k.ti(2), id="ti(2)"),
    pytest.param(lambda k: k.v(1), id="v(1)"),
    pytest.param(lambda k: k.vi(0), id="vi(0)"),
    pytest.param(lambda k: k.rx(2, 0.4), id="rx(2, 0.4)"),
    pytest.param(lambda k: k.ry(0, -1.2), id="ry(0, -1.2)"),
    pytest.param(lambda k: k.rz(1, 2.5), id="rz(1, 2.5)"),
    pytest.param(lambda k: k.phaseshift(2, 0.7), id="phaseshift(2, 0.7)"),
    pytest.param(lambda k: k.u(1, 0.3, 1.1, -0.6), id="u(1, 0.3, 1.1, -0.6)"),
    pytest.param(lambda k: k.cnot(2, 0), id="cnot(2, 0)"),
    pytest.param(lambda k: k.cy(0, 1), id="cy(0, 1)"),
    pytest.param(lambda k: k.cz(1, 2), id="cz(1, 2)"),
    pytest.param(lambda k: k.cphaseshift(2, 0, 0.6), id="cphaseshift(2, 0, 0.6)"),
    pytest.param(lambda k: k.swap(0, 2), id="swap(0, 2)"),
    pytest.param(lambda k: k.xx(1, 0, 0.3), id="xx(1, 0, 0.3)"),
    pytest.param(lambda k: k.yy(2, 1, 0.8), id="yy(2, 1, 0.8)"),
    pytest.param(lambda k: k.zz(0, 2, -0.5), id="zz(0, 2, -0.5)"),
    pytest.param(lambda k: k.ccnot(2, 0, 1), id="ccnot(2, 0, 1)"),
    pytest.param(lambda k: k.cswap(1, 2, 0), id="cswap(1, 2, 0)"),
    pytest.param(lambda k: k.gpi(1, 0.7), id="gpi(1, 0.7)"),
    pytest.param(lambda k: k.gpi2(2, -0.4), id="gpi2(2, -0.4)"),
    pytest.param(lambda k: k.ms(2, 0, 0.3, 1.2, 0.9), id="ms(2, 0, 0.3, 1.2, 0.9)"),
    pytest.param(lambda k: k.x(0, control=2), id="x(0, control=2)"),
    pytest.param(lambda k: k.h(1, control=0), id="h(1, control=0)"),
    pytest.param(lambda k: k.rx(2, 0.4, control=1), id="rx(2, 0.4, control=1)"),
    pytest.param(lambda k: k.ry(0, 0.5, control=2), id="ry(0, 0.5, control=2)"),
    pytest.param(lambda k: k.rz(1, 0.6, control=0), id="rz(1, 0.6, control=0)"),
    pytest.param(lambda k: k.phaseshift(0, 0.3, control=1), id="phaseshift(0, 0.3, control=1)"),
    pytest.param(lambda k: k.swap(0, 2, control=1), id="swap(0, 2, control=1)"),
    pytest.param(lambda k: k.x(1, control=[2, 0]), id="x(1, control=[2, 0])"),
    pytest.param(lambda k: k.gphase(0.4), id="gphase(0.4)"),
]


@pytest.mark.parametrize("add", BRAKET_GATES)
def test_braket_gate_unitary(add: Callable[[BraketCircuit], Any]) -> None:
    circuit = BraketCircuit().i(0).i(1).i(2)
    add(circuit)
    ours = Circuit.from_braket(circuit)
    assert_equal_up_to_phase(qjobs_unitary(ours), circuit.to_unitary())


def test_braket_free_parameters_become_parameters() -> None:
    t, u = FreeParameter("t"), FreeParameter("u")
    circuit = BraketCircuit().rx(0, 2 * t).cphaseshift(0, 1, t - u).i(2)
    ours = Circuit.from_braket(circuit)
    assert ours.parameters == ("t", "u")
    values = {"t": 0.7, "u": -0.4}
    bound = circuit.make_bound_circuit(values)
    assert_equal_up_to_phase(qjobs_unitary(ours.bind(values)), bound.to_unitary())


def braket_circuits() -> list[BraketCircuit]:
    return [
        BraketCircuit().x(0).i(1).i(2),
        BraketCircuit().x(0).i(1).i(2).measure([0, 1, 2]),
        BraketCircuit().x(0).x(1).i(2).measure(2).measure(0).measure(1),
        BraketCircuit().x(0).i(2).i(5).measure(5).measure(0),  # sparse qubits 0, 2, 5
    ]


@pytest.mark.parametrize("index", range(4))
def test_braket_bit_order_matches_local_simulator(index: int) -> None:
    circuit = braket_circuits()[index]
    result = LocalSimulator().run(circuit, shots=5).result()
    assert len(result.measurement_counts) == 1
    (braket_key,) = result.measurement_counts
    # Braket writes the first measured qubit leftmost; qjobs keys have bit 0 rightmost.
    assert counts(Circuit.from_braket(circuit), 5, seed=1) == {braket_key[::-1]: 5}


def test_braket_probabilities_match_local_simulator() -> None:
    circuit = BraketCircuit().ry(0, 0.9).cnot(0, 2).ry(1, 2.1).measure(2).measure(0).measure(1)
    shots = 4000
    result = LocalSimulator().run(circuit, shots=shots).result()
    freq = np.zeros(8)
    for key, n in result.measurement_counts.items():
        freq[int(key[::-1], 2)] = n / shots
    np.testing.assert_allclose(probabilities(Circuit.from_braket(circuit)), freq, atol=0.03)


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: BraketCircuit().h(0).probability(), "Probability"),
        (lambda: BraketCircuit().h(0).bit_flip(0, 0.1), "BitFlip"),
        (lambda: BraketCircuit().iswap(0, 1), "ISwap"),
        (lambda: BraketCircuit().x(0, power=0.5), "'X': power"),
        (lambda: BraketCircuit().x(0, control=1, control_state="0"), "'X': controls on |0>"),
        (lambda: BraketCircuit().s(0, control=2), "'S': this controlled gate"),
        (lambda: BraketCircuit().add_verbatim_box(BraketCircuit().h(0)), "StartVerbatimBox"),
    ],
    ids=["result-type", "noise", "no-mapping", "power", "control-on-0", "no-controlled", "box"],
)
def test_braket_refusals_name_the_instruction(
    make: Callable[[], BraketCircuit], named: str
) -> None:
    with pytest.raises(InputError) as err:
        Circuit.from_braket(make())
    assert named in str(err.value)


# --- On the emulators -------------------------------------------------------------------------


def run_on(serve: Callable[..., Any], provider: str, circuit: Circuit, shots: int) -> Any:
    server = serve(provider, seed=3)
    with qjobs_sync.connect(provider, token=TOKEN, base_url=server.base_url) as client:
        return client.run(circuit, shots=shots)


def test_cirq_circuit_on_the_qpi_emulator(serve: Callable[..., Any]) -> None:
    circuit = cirq.Circuit(
        cirq.X(a), cirq.CNOT(a, c), cirq.measure(c, key="z"), cirq.measure(a, b, key="y")
    )
    result = cirq.Simulator().run(circuit, repetitions=10)
    (expected,) = {cirq_key(circuit, result.measurements, s) for s in range(10)}
    assert run_on(serve, "qpi", Circuit.from_cirq(circuit), 10).counts == {expected: 10}


def test_qibo_circuit_on_the_qibo_emulator(serve: Callable[..., Any]) -> None:
    circuit = qibo_circuit(gates.X(0), gates.CNOT(0, 2), gates.M(2, 1), gates.M(0))
    (qibo_key,) = dict(circuit(nshots=10).frequencies(binary=True))
    assert run_on(serve, "qibo", Circuit.from_qibo(circuit), 10).counts == {qibo_key[::-1]: 10}


def test_braket_circuit_on_the_ionq_emulator(serve: Callable[..., Any]) -> None:
    circuit = BraketCircuit().x(0).cnot(0, 2).i(1)
    (braket_key,) = LocalSimulator().run(circuit, shots=10).result().measurement_counts
    assert run_on(serve, "ionq", Circuit.from_braket(circuit), 10).counts == {braket_key[::-1]: 10}


def test_braket_circuit_on_the_qbraid_emulator(serve: Callable[..., Any]) -> None:
    circuit = BraketCircuit().x(0).cnot(0, 2).i(1).measure(2).measure(0)
    (braket_key,) = LocalSimulator().run(circuit, shots=10).result().measurement_counts
    assert run_on(serve, "qbraid", Circuit.from_braket(circuit), 10).counts == {
        braket_key[::-1]: 10
    }
