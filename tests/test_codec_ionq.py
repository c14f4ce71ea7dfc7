"""The IonQ codec: IR -> ionq.circuit.v1 / multi-circuit / qasm3, measurement maps, decoding."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest

from qjobs import Circuit, Expr, InputError, Instruction
from qjobs._core.models import counts_from_probabilities
from qjobs.providers.ionq import circuits as codec
from qjobs.providers.ionq.circuits import MeasurementMap


def circ(n: int, *ops: Instruction, clbits: int = 0, name: str | None = None) -> Circuit:
    return Circuit(n, clbits, tuple(ops), name=name)


def g(name: str, *qubits: int, params: tuple[Any, ...] = ()) -> Instruction:
    return Instruction(name, tuple(qubits), tuple(params))


def m(q: int, c: int) -> Instruction:
    return Instruction("measure", (q,), (), (c,))


BELL = circ(2, g("h", 0), g("cx", 0, 1), m(0, 0), m(1, 1), clbits=2, name="bell")


# --------------------------------------------------------------------------- single circuits
def test_bell_is_exactly_the_documented_input() -> None:
    enc = codec.encode(BELL)
    assert enc.type == "ionq.circuit.v1"
    assert enc.input == {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [
            {"gate": "h", "targets": [0]},
            {"gate": "x", "targets": [1], "controls": [0]},
        ],
    }
    assert enc.maps == (MeasurementMap((0, 1)),)
    assert enc.gateset == "qis"
    assert enc.qubits == 2


@pytest.mark.parametrize(
    ("ins", "expected"),
    [
        (g("x", 0), [{"gate": "x", "targets": [0]}]),
        (g("y", 0), [{"gate": "y", "targets": [0]}]),
        (g("z", 0), [{"gate": "z", "targets": [0]}]),
        (g("s", 0), [{"gate": "s", "targets": [0]}]),
        (g("sdg", 0), [{"gate": "si", "targets": [0]}]),
        (g("t", 0), [{"gate": "t", "targets": [0]}]),
        (g("tdg", 0), [{"gate": "ti", "targets": [0]}]),
        (g("sx", 0), [{"gate": "v", "targets": [0]}]),
        (g("sxdg", 0), [{"gate": "vi", "targets": [0]}]),
        (g("rx", 0, params=(0.5,)), [{"gate": "rx", "targets": [0], "rotation": 0.5}]),
        (g("ry", 0, params=(0.5,)), [{"gate": "ry", "targets": [0], "rotation": 0.5}]),
        (g("rz", 0, params=(0.5,)), [{"gate": "rz", "targets": [0], "rotation": 0.5}]),
        (g("p", 0, params=(0.5,)), [{"gate": "rz", "targets": [0], "rotation": 0.5}]),
        (g("swap", 0, 2), [{"gate": "swap", "targets": [0, 2]}]),
        (g("rxx", 1, 0, params=(0.3,)), [{"gate": "xx", "targets": [1, 0], "rotation": 0.3}]),
        (g("ryy", 0, 1, params=(0.3,)), [{"gate": "yy", "targets": [0, 1], "rotation": 0.3}]),
        (g("rzz", 0, 1, params=(0.3,)), [{"gate": "zz", "targets": [0, 1], "rotation": 0.3}]),
        (g("cx", 2, 0), [{"gate": "x", "targets": [0], "controls": [2]}]),
        (g("cy", 0, 1), [{"gate": "y", "targets": [1], "controls": [0]}]),
        (g("cz", 0, 1), [{"gate": "z", "targets": [1], "controls": [0]}]),
        (g("ch", 0, 1), [{"gate": "h", "targets": [1], "controls": [0]}]),
        (
            g("crx", 0, 1, params=(0.2,)),
            [{"gate": "rx", "targets": [1], "controls": [0], "rotation": 0.2}],
        ),
        (
            g("cry", 0, 1, params=(0.2,)),
            [{"gate": "ry", "targets": [1], "controls": [0], "rotation": 0.2}],
        ),
        (
            g("crz", 0, 1, params=(0.2,)),
            [{"gate": "rz", "targets": [1], "controls": [0], "rotation": 0.2}],
        ),
        (g("ccx", 0, 1, 2), [{"gate": "x", "targets": [2], "controls": [0, 1]}]),
        (g("cswap", 2, 0, 1), [{"gate": "swap", "targets": [0, 1], "controls": [2]}]),
        (
            g("cp", 0, 1, params=(0.8,)),
            [
                {"gate": "rz", "targets": [0], "rotation": 0.4},
                {"gate": "rz", "targets": [1], "controls": [0], "rotation": 0.8},
            ],
        ),
        (
            g("u3", 1, params=(0.1, 0.2, 0.3)),
            [
                {"gate": "rz", "targets": [1], "rotation": 0.3},
                {"gate": "ry", "targets": [1], "rotation": 0.1},
                {"gate": "rz", "targets": [1], "rotation": 0.2},
            ],
        ),
        (
            g("u2", 0, params=(0.2, 0.3)),
            [
                {"gate": "rz", "targets": [0], "rotation": 0.3},
                {"gate": "ry", "targets": [0], "rotation": math.pi / 2},
                {"gate": "rz", "targets": [0], "rotation": 0.2},
            ],
        ),
    ],
)
def test_qis_gate_encoding(ins: Instruction, expected: list[dict[str, Any]]) -> None:
    enc = codec.encode(circ(3, ins))
    assert enc.input["gateset"] == "qis"
    assert enc.input["circuit"] == expected


def test_id_barrier_measure_are_not_sent() -> None:
    c = circ(
        3,
        g("id", 0),
        g("h", 1),
        Instruction("barrier", (0, 1, 2)),
        m(1, 0),
        clbits=1,
    )
    enc = codec.encode(c)
    assert enc.input["circuit"] == [{"gate": "h", "targets": [1]}]
    assert enc.maps[0].sources == (1,)


def test_width_is_highest_used_qubit_plus_one() -> None:
    # Six declared qubits; gates on 0 and 2; barrier on 5 does not count; a measure on 3 does.
    c = circ(6, g("h", 0), g("x", 2), Instruction("barrier", (5,)), clbits=1)
    assert codec.width(c) == 3
    assert codec.encode(c).input["qubits"] == 3
    c2 = circ(6, g("h", 0), m(3, 0), clbits=1)
    assert codec.width(c2) == 4
    assert codec.width(circ(4)) == 1


def test_native_gateset() -> None:
    c = circ(
        3,
        g("gpi", 0, params=(0.1,)),
        g("gpi2", 2, params=(0.25,)),
        g("ms", 1, 2, params=(0.0, 0.5, 0.25)),
        g("zz", 0, 2, params=(0.125,)),
    )
    enc = codec.encode(c)
    assert enc.gateset == "native"
    assert enc.input == {
        "gateset": "native",
        "qubits": 3,
        "circuit": [
            {"gate": "gpi", "target": 0, "phase": 0.1},
            {"gate": "gpi2", "target": 2, "phase": 0.25},
            {"gate": "ms", "targets": [1, 2], "phases": [0.0, 0.5], "angle": 0.25},
            {"gate": "zz", "targets": [0, 2], "angle": 0.125},
        ],
    }
    assert codec.decode(enc.input)[0].instructions == c.instructions


def test_mixing_native_and_qis_is_an_input_error() -> None:
    c = circ(2, g("h", 0), g("gpi", 1, params=(0.1,)))
    with pytest.raises(InputError) as info:
        codec.encode(c)
    assert info.value.field == "circuit.instructions[1]"
    assert "native" in str(info.value)


def test_forced_gateset_must_match() -> None:
    with pytest.raises(InputError) as info:
        codec.encode(BELL, gateset="native")
    assert info.value.field == "gateset"
    with pytest.raises(InputError):
        codec.encode(BELL, gateset="fancy")
    assert codec.encode(circ(1), gateset="native").input["gateset"] == "native"


def test_unbound_and_nonfinite_parameters_are_rejected() -> None:
    theta = Expr("*", (Expr.sym("theta"), Expr.num(2.0)))
    with pytest.raises(InputError) as info:
        codec.encode(circ(1, g("rx", 0, params=(theta,))))
    assert info.value.field == "circuit.parameters"
    assert info.value.value == ["theta"]
    with pytest.raises(InputError) as info:
        codec.encode(circ(1, g("rx", 0, params=(float("nan"),))))
    assert info.value.field == "circuit.instructions[0].params[0]"
    # A constant expression is fine.
    const = Expr("/", (Expr.num(math.pi), Expr.num(2.0)))
    enc = codec.encode(circ(1, g("rx", 0, params=(const,))))
    assert enc.input["circuit"][0]["rotation"] == math.pi / 2


# ----------------------------------------------------------------------- measurement maps
def test_measurement_map_permuted_partial_and_repeated() -> None:
    c = circ(4, g("x", 2), m(2, 0), m(0, 2), m(2, 3), clbits=5)
    mm = codec.measurement_map(c)
    assert mm.sources == (2, None, 0, 2, None)
    assert mm.num_clbits == 5
    assert not codec.needs_qasm3(c)
    # qubit outcome 0b0100 (qubit 2 = 1) -> clbits 0 and 3 set.
    assert mm.apply([0b0100, 0b0001, 0b0101]).tolist() == [0b01001, 0b00100, 0b01101]
    dense = mm.apply_probabilities({4: 0.25, 1: 0.5, 5: 0.25})
    assert dense.shape == (32,)
    assert dense[0b01001] == 0.25
    assert dense[0b00100] == 0.5
    assert dense[0b01101] == 0.25
    assert dense.sum() == 1.0


def test_measurement_map_last_write_wins_and_identity_without_measure() -> None:
    c = circ(2, g("h", 0), m(0, 0), m(1, 0), clbits=1)
    assert codec.measurement_map(c).sources == (1,)
    no_measure = circ(3, g("h", 0))
    mm = codec.measurement_map(no_measure)
    assert mm.sources == (0, 1, 2)
    assert mm.is_identity


@pytest.mark.parametrize(
    ("sources", "text"),
    [
        ((), ""),
        ((0,), "0"),
        ((0, 1), "0,1"),
        ((0, 1, 2, 3), "0-3"),
        ((3, 2, 1), "3,2,1"),
        ((0, 1, 2, None, 7, 8, 9, 10, 4), "0-2,_,7-10,4"),
        ((None, None), "_,_"),
        ((5, 6, 7, 9), "5-7,9"),
    ],
)
def test_measurement_map_text_round_trip(sources: tuple[int | None, ...], text: str) -> None:
    mm = MeasurementMap(sources)
    assert mm.encode() == text
    assert MeasurementMap.decode(text) == mm


@pytest.mark.parametrize("text", ["x", "3-1", "-1", "1,,2"])
def test_measurement_map_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        MeasurementMap.decode(text)


def test_measurement_map_is_compact_for_wide_circuits() -> None:
    mm = MeasurementMap.identity(100)
    assert mm.encode() == "0-99"


# -------------------------------------------------------------------------- qasm3 fallback
def test_mid_circuit_measurement_and_reset_need_qasm3() -> None:
    mid = circ(2, g("h", 0), m(0, 0), g("cx", 0, 1), m(1, 1), clbits=2)
    assert codec.needs_qasm3(mid)
    reset = circ(1, Instruction("reset", (0,)), g("x", 0))
    assert codec.needs_qasm3(reset)
    terminal = circ(
        2, g("h", 0), m(0, 0), g("x", 1), Instruction("barrier", (0, 1)), m(1, 1), clbits=2
    )
    assert not codec.needs_qasm3(terminal)
    assert codec.encode(terminal).type == "ionq.circuit.v1"


def test_multi_circuit_rejects_qasm3_circuits() -> None:
    mid = circ(2, g("h", 0), m(0, 0), g("x", 0), clbits=1)
    with pytest.raises(InputError) as info:
        codec.encode([BELL, mid])
    assert info.value.field == "circuits[1]"


# ---------------------------------------------------------------------------- multi-circuit
def test_multi_circuit_input() -> None:
    one = circ(1, g("x", 0), m(0, 0), clbits=1)
    three = circ(5, g("h", 2), clbits=0, name="wide")
    enc = codec.encode([BELL, one, three])
    assert enc.type == "ionq.multi-circuit.v1"
    assert enc.input["gateset"] == "qis"
    assert enc.input["qubits"] == 3
    assert [e["name"] for e in enc.input["circuits"]] == ["bell", "circuit-1", "wide"]
    assert enc.input["circuits"][1]["circuit"] == [{"gate": "x", "targets": [0]}]
    assert [mm.sources for mm in enc.maps] == [(0, 1), (0,), (0, 1, 2, 3, 4)]
    # A list of one is still a multi-circuit job.
    assert codec.encode([BELL]).type == "ionq.multi-circuit.v1"
    named = codec.encode([BELL, one], names=["a", "b"])
    assert [e["name"] for e in named.input["circuits"]] == ["a", "b"]


def test_multi_circuit_input_errors() -> None:
    with pytest.raises(InputError) as info:
        codec.encode([])
    assert info.value.field == "circuits"
    native = circ(1, g("gpi", 0, params=(0.0,)))
    with pytest.raises(InputError) as info:
        codec.encode([BELL, native])
    assert info.value.field == "circuits[1]"
    with pytest.raises(InputError) as info:
        codec.encode([BELL, "OPENQASM 2.0;"])  # type: ignore[list-item]
    assert info.value.field == "circuits[1]"
    with pytest.raises(InputError) as info:
        codec.encode([BELL], names=["a", "b"])
    assert info.value.field == "names"
    theta = Expr.sym("t")
    with pytest.raises(InputError) as info:
        codec.encode([BELL, circ(1, g("rx", 0, params=(theta,)))])
    assert info.value.field == "circuits[1].parameters"


# ------------------------------------------------------------------------------- decoding
def test_decode_reads_sdk_forms() -> None:
    ops = [
        {"gate": "h", "targets": [0]},
        {"gate": "not", "targets": [1], "controls": [0]},
        {"gate": "z", "targets": [1], "rotation": 0.5},
        {"gate": "z", "targets": [1], "controls": [0], "rotation": 0.25},
        {"gate": "x", "targets": [2], "controls": [0, 1]},
        {"gate": "v", "targets": [0, 1]},
        {"gate": "zz", "targets": [0, 1], "rotation": 0.1},
        {"gate": "swap", "targets": [1, 2], "controls": [0]},
    ]
    (c,) = codec.decode({"gateset": "qis", "qubits": 4, "circuit": ops})
    assert c.num_qubits == 4
    assert [(i.name, i.qubits, i.params) for i in c.instructions] == [
        ("h", (0,), ()),
        ("cx", (0, 1), ()),
        ("p", (1,), (0.5,)),
        ("cp", (0, 1), (0.25,)),
        ("ccx", (0, 1, 2), ()),
        ("sx", (0,), ()),
        ("sx", (1,), ()),
        ("rzz", (0, 1), (0.1,)),
        ("cswap", (0, 1, 2), ()),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"gateset": "qis", "circuit": [{"gate": "frob", "targets": [0]}]},
        {"gateset": "qis", "circuit": [{"gate": "s", "targets": [1], "controls": [0]}]},
        {"gateset": "qis", "circuit": [{"gate": "rx", "targets": [0]}]},
        {"gateset": "qis", "circuit": [{"gate": "swap", "targets": [0]}]},
        {"gateset": "qis", "circuit": "h 0"},
        {"gateset": "other", "circuit": []},
        {"gateset": "native", "circuit": [{"gate": "h", "targets": [0]}]},
        {"gateset": "qis", "circuits": [1]},
    ],
)
def test_decode_rejects_bad_input(bad: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        codec.decode(bad)


def test_encode_decode_round_trip_is_structural() -> None:
    c = circ(
        3,
        g("h", 0),
        g("cx", 0, 1),
        g("rx", 2, params=(0.3,)),
        g("ccx", 0, 1, 2),
        g("cswap", 0, 1, 2),
        g("sdg", 1),
        g("rzz", 0, 2, params=(0.7,)),
    )
    (back,) = codec.decode(codec.encode(c).input)
    assert back.instructions == c.instructions
    multi = codec.decode(codec.encode([c, BELL]).input)
    assert [b.name for b in multi] == ["circuit-0", "bell"]
    assert multi[1].instructions == tuple(i for i in BELL.instructions if i.is_gate)


# ---------------------------------------------------------------------------------- counts
def test_counts_from_probabilities_sums_to_shots() -> None:
    rng = np.random.default_rng(7)
    for shots in (1, 3, 100, 1000, 12345):
        p = rng.dirichlet(np.ones(16))
        counts = counts_from_probabilities(p, shots)
        assert counts.sum() == shots
        assert np.all(np.abs(counts - p * shots) < 1.0)


def test_counts_from_probabilities_exact_and_ties() -> None:
    assert counts_from_probabilities([0.5, 0.0, 0.0, 0.5], 100).tolist() == [50, 0, 0, 50]
    # Three equal thirds of 100 shots: the leftover shot goes to the lowest outcome.
    assert counts_from_probabilities([1 / 3, 1 / 3, 1 / 3], 100).tolist() == [34, 33, 33]
    assert counts_from_probabilities([0.0, 0.0], 10).tolist() == [0, 0]
    # Unnormalised input is normalised first.
    assert counts_from_probabilities([2.0, 2.0], 4).tolist() == [2, 2]


# -------------------------------------------------------------- semantics (via qjobs.sim)
def _same_state_up_to_phase(a: Circuit, b: Circuit) -> None:
    from qjobs import sim

    sa, sb = sim.statevector(a), sim.statevector(b)
    overlap = np.vdot(sa, sb)
    assert abs(abs(overlap) - 1.0) < 1e-9, f"fidelity {abs(overlap) ** 2}"


_ALL_QIS = [
    ("x", 1, 0),
    ("y", 1, 0),
    ("z", 1, 0),
    ("h", 1, 0),
    ("s", 1, 0),
    ("sdg", 1, 0),
    ("t", 1, 0),
    ("tdg", 1, 0),
    ("sx", 1, 0),
    ("sxdg", 1, 0),
    ("rx", 1, 1),
    ("ry", 1, 1),
    ("rz", 1, 1),
    ("p", 1, 1),
    ("u2", 1, 2),
    ("u3", 1, 3),
    ("cx", 2, 0),
    ("cy", 2, 0),
    ("cz", 2, 0),
    ("ch", 2, 0),
    ("swap", 2, 0),
    ("crx", 2, 1),
    ("cry", 2, 1),
    ("crz", 2, 1),
    ("cp", 2, 1),
    ("rxx", 2, 1),
    ("ryy", 2, 1),
    ("rzz", 2, 1),
    ("ccx", 3, 0),
    ("cswap", 3, 0),
]


@pytest.mark.parametrize(("name", "nq", "npar"), _ALL_QIS)
def test_each_gate_keeps_its_meaning(name: str, nq: int, npar: int) -> None:
    rng = np.random.default_rng(sum(map(ord, name)))
    # A random product-ish state first, so phases and controls matter.
    prep = [g("u3", q, params=tuple(rng.uniform(-3, 3, 3))) for q in range(3)]
    qubits = tuple(int(q) for q in rng.permutation(3)[:nq])
    ins = g(name, *qubits, params=tuple(float(x) for x in rng.uniform(-3, 3, npar)))
    c = circ(3, *prep, g("cx", 0, 1), g("cx", 1, 2), ins)
    (back,) = codec.decode(codec.encode(c).input)
    _same_state_up_to_phase(c, Circuit(3, 0, back.instructions))


def test_random_circuits_round_trip_through_the_wire_form() -> None:
    rng = np.random.default_rng(2024)
    for _ in range(20):
        ops = []
        for _ in range(25):
            name, nq, npar = _ALL_QIS[int(rng.integers(len(_ALL_QIS)))]
            qubits = tuple(int(q) for q in rng.permutation(4)[:nq])
            ops.append(g(name, *qubits, params=tuple(float(x) for x in rng.uniform(-3, 3, npar))))
        c = circ(4, *ops)
        (back,) = codec.decode(codec.encode(c).input)
        _same_state_up_to_phase(c, Circuit(4, 0, back.instructions))


def test_native_round_trip_keeps_meaning() -> None:
    c = circ(
        2,
        g("gpi2", 0, params=(0.1,)),
        g("gpi", 1, params=(0.7,)),
        g("ms", 0, 1, params=(0.2, 0.6, 0.25)),
        g("zz", 0, 1, params=(0.3,)),
        g("gpi2", 1, params=(0.9,)),
    )
    (back,) = codec.decode(codec.encode(c).input)
    _same_state_up_to_phase(c, back)


def test_measurement_map_few_and_many_outcomes_agree() -> None:
    # Up to 64 outcomes the map is applied key by key, above with numpy: the same dense array.
    mm = codec.MeasurementMap((2, None, 0, 5, 1, 3))
    rng = random.Random(5)
    for size in (1, 5, 64):
        keys = rng.sample(range(1 << 7), size)
        probs = {k: rng.random() for k in keys}
        many = {**probs, **{k: 0.0 for k in range(1 << 7) if k not in probs}}  # > 64 keys
        assert len(many) > 64
        few = mm.apply_probabilities(probs)
        assert few.tolist() == mm.apply_probabilities(many).tolist()
        expected = np.zeros(64)
        np.add.at(expected, mm.apply(np.array(keys)), [probs[k] for k in keys])
        assert few.tolist() == expected.tolist()
