"""Qibo codec: qibo's exact gate dicts, measurement maps and bit order, round trips, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qjobs import Circuit, Expr, InputError, Instruction, sim
from qjobs.emulators.qibo.wire import decode_circuit
from qjobs.providers.qibo import circuits as codec


def ins(name: str, *qubits: int, params: tuple[float | Expr, ...] = ()) -> Instruction:
    return Instruction(name, qubits, params)


# What qibo 0.3.2's Gate.raw writes (dumped from qibo itself).
QIBO_RAW = {
    "cx": {
        "name": "cx",
        "init_args": [0, 1],
        "init_kwargs": {},
        "_target_qubits": [1],
        "_control_qubits": [0],
        "_class": "CNOT",
    },
    "ch": {
        "name": "h",
        "init_args": [1],
        "init_kwargs": {},
        "_target_qubits": [1],
        "_control_qubits": [0],
        "_class": "H",
    },
    "u3": {
        "name": "u3",
        "init_args": [0],
        "init_kwargs": {"theta": 0.7, "phi": 0.8, "lam": 0.9},
        "_target_qubits": [0],
        "_control_qubits": [],
        "_class": "U3",
    },
    "cp": {
        "name": "cu1",
        "init_args": [0, 1],
        "init_kwargs": {"theta": 0.4},
        "_target_qubits": [1],
        "_control_qubits": [0],
        "_class": "CU1",
    },
    "ccx": {
        "name": "ccx",
        "init_args": [0, 1, 2],
        "init_kwargs": {},
        "_target_qubits": [2],
        "_control_qubits": [0, 1],
        "_class": "TOFFOLI",
    },
    "cswap": {
        "name": "swap",
        "init_args": [1, 2],
        "init_kwargs": {},
        "_target_qubits": [1, 2],
        "_control_qubits": [0],
        "_class": "SWAP",
    },
    "rzz": {
        "name": "rzz",
        "init_args": [0, 1],
        "init_kwargs": {"theta": 0.7},
        "_target_qubits": [0, 1],
        "_control_qubits": [],
        "_class": "RZZ",
    },
}
CASES = {
    "cx": ins("cx", 0, 1),
    "ch": ins("ch", 0, 1),
    "u3": ins("u3", 0, params=(0.7, 0.8, 0.9)),
    "cp": ins("cp", 0, 1, params=(0.4,)),
    "ccx": ins("ccx", 0, 1, 2),
    "cswap": ins("cswap", 0, 1, 2),
    "rzz": ins("rzz", 0, 1, params=(0.7,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gate_dicts_match_qibo(name: str) -> None:
    raw = codec.encode(Circuit(3, 0, (CASES[name],))).circuit
    assert raw["queue"][0] == QIBO_RAW[name]
    assert raw["nqubits"] == 3
    assert raw["qibo_version"] == codec.FORMAT_VERSION


def test_turn_gates_become_radians() -> None:
    raw = codec.encode(
        Circuit(2, 0, (ins("gpi", 0, params=(0.25,)), ins("ms", 0, 1, params=(0.5, 0.0, 0.25))))
    ).circuit
    assert raw["queue"][0]["init_kwargs"] == {"phi": math.pi / 2}
    assert raw["queue"][1]["init_kwargs"] == {"phi0": math.pi, "phi1": 0.0, "theta": math.pi / 2}


def test_measurement_map_and_bit_order() -> None:
    circuit = Circuit(
        3,
        4,
        (
            ins("x", 2),
            Instruction("measure", (2,), (), (3,)),
            Instruction("measure", (0,), (), (1,)),
        ),
    )
    enc = codec.encode(circuit)
    mgates = [g for g in enc.circuit["queue"] if g["_class"] == "M"]
    assert [g["_target_qubits"] for g in mgates] == [[2], [0]]
    assert [g["init_kwargs"]["register_name"] for g in mgates] == ["qjobs_c3_n4", "qjobs_c1_n4"]
    assert enc.map == codec.map_from_gates(mgates)
    # Qibo "10": qubit 2 -> 1 (clbit 3), qubit 0 -> 0 (clbit 1): outcome 0b1000.
    assert enc.map.apply_frequencies({"10": 7}) == {8: 7}
    samples = np.array([[1, 0], [1, 1]])
    assert enc.map.apply_samples(samples).tolist() == [8, 10]
    assert enc.map.apply_probabilities(np.array([0.0, 0.0, 0.25, 0.75])).tolist()[8:11] == [
        0.25,
        0.0,
        0.75,
    ]
    # Foreign gates (no qjobs register): identity over measured qubits.
    assert codec.map_from_gates([{"_class": "M", "_target_qubits": [4, 1]}]) == (
        codec.MeasurementMap.identity(2)
    )


def test_no_measurement_measures_every_qubit() -> None:
    enc = codec.encode(Circuit(2, 0, (ins("x", 1),)))
    assert enc.circuit["queue"][-1]["_target_qubits"] == [0, 1]
    assert enc.map.apply_frequencies({"01": 3}) == {2: 3}


def test_round_trip_and_emulator_reading_agree_with_the_simulator() -> None:
    rng = np.random.default_rng(4)
    names = ["h", "rx", "ry", "cx", "cz", "crz", "rzz", "swap", "u3", "sx", "gpi2", "ch"]
    for _ in range(20):
        ops = []
        for _ in range(12):
            name = str(rng.choice(names))
            qubits = tuple(
                int(q)
                for q in rng.permutation(3)[
                    : 2 if name in {"cx", "cz", "crz", "rzz", "swap", "ch"} else 1
                ]
            )
            nparams = {"rx": 1, "ry": 1, "crz": 1, "rzz": 1, "u3": 3, "gpi2": 1}.get(name, 0)
            ops.append(
                ins(name, *qubits, params=tuple(float(x) for x in rng.uniform(-3, 3, nparams)))
            )
        ops += [Instruction("measure", (q,), (), (2 - q,)) for q in range(3)]
        circuit = Circuit(3, 3, tuple(ops))
        enc = codec.encode(circuit)
        back = codec.decode(enc.circuit)
        np.testing.assert_allclose(sim.probabilities(back), sim.probabilities(circuit), atol=1e-9)
        wire = decode_circuit(enc.circuit).circuit  # the emulator's independent reading
        by_column = sim.probabilities(wire)
        np.testing.assert_allclose(
            enc.map.apply_probabilities(
                np.array([by_column[int(format(k, "03b")[::-1], 2)] for k in range(8)])
            ),
            sim.probabilities(circuit),
            atol=1e-9,
        )


@pytest.mark.parametrize(
    ("circuit", "field"),
    [
        (Circuit(1, 1, (ins("rx", 0, params=(Expr.sym("a"),)),)), "instructions[0].params[0]"),
        (Circuit(1, 1, (Instruction("measure", (0,), (), (0,)), ins("h", 0))), "instructions[1]"),
        (Circuit(1, 0, (Instruction("reset", (0,)),)), "instructions[0]"),
        (Circuit(2, 0, (ins("ms", 0, 1, params=(0.0, 0.0, 0.3)),)), "instructions[0].params[2]"),
        (Circuit(1, 0, (ins("rx", 0, params=(math.inf,)),)), "instructions[0].params[0]"),
    ],
)
def test_refusals_name_the_field(circuit: Circuit, field: str) -> None:
    with pytest.raises(InputError) as info:
        codec.encode(circuit)
    assert info.value.field == field
