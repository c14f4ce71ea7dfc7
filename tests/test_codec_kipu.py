"""Circuit -> Kipu Quantum Hub input per backend (qjobs.providers.kipu.circuits)."""

from __future__ import annotations

import json

import pytest

from qjobs import Circuit, InputError, Instruction
from qjobs.providers.kipu import circuits as kipu

BELL = Circuit(
    2,
    2,
    (
        Instruction("h", (0,)),
        Instruction("cx", (0, 1)),
        Instruction("measure", (1,), (), (0,)),
        Instruction("measure", (0,), (), (1,)),
    ),
    name="bell",
)


def test_ionq_json_uses_type_and_carries_the_measurement_map() -> None:
    enc = kipu.encode(BELL, "azure.ionq.simulator")
    assert enc.input_format == "IONQ_CIRCUIT_V1"
    assert enc.input["gateset"] == "qis"
    assert enc.input["qubits"] == 2
    assert enc.input["circuit"][0] == {"type": "h", "targets": [0]}
    assert enc.input["circuit"][1]["type"] in ("cnot", "x")
    assert json.loads(enc.input_params["meas_map"]) == [1, 0]
    assert enc.num_clbits == (2,)


def test_qasm_backends() -> None:
    braket = kipu.encode([BELL, BELL], "aws.sim.sv1")
    assert braket.input_format == "BRAKET_OPEN_QASM_V3"
    assert isinstance(braket.input["qasm"], list)
    assert braket.input["qasm"][0].startswith("OPENQASM 3")
    qsim = kipu.encode(BELL, "kipu.sim.qsim")
    assert qsim.input_format == "OPEN_QASM_V2"
    assert qsim.input["qasm"].startswith("OPENQASM 2.0")
    assert Circuit.from_qasm(qsim.input["qasm"]).instructions == BELL.instructions
    qudora = kipu.encode(BELL, "qudora.sim.xg1")
    assert qudora.input_params == {"language": "OpenQASM2"}
    ibm = kipu.encode(BELL, "ibm.qpu.fez")
    assert ibm.input_format is None
    assert ibm.input["pubs"][0][0].startswith("OPENQASM 3")
    assert ibm.qasm is not None
    assert ibm.qasm["programs"][0]["name"] == "bell"
    mid = Circuit(1, 1, (Instruction("measure", (0,), (), (0,)), Instruction("x", (0,))))
    text = kipu.encode(mid, "kipu.sim.qsim").input["qasm"]
    assert Circuit.from_qasm(text).instructions == mid.instructions


def test_capabilities_per_backend() -> None:
    assert kipu.supports("aws.ionq.forte")
    assert not kipu.supports("aws.quera.aquila")
    assert kipu.max_circuits("aws.sim.sv1") == 100
    assert kipu.max_circuits("kipu.sim.qsim") == 1
    assert kipu.max_circuits("quandela.sim.belenos") == 0


@pytest.mark.parametrize(
    ("circuits", "backend", "field"),
    [
        (BELL, "iqm.qpu.garnet", "backend"),
        ([BELL, BELL], "azure.ionq.simulator", "circuits"),
        ([], "aws.sim.sv1", "circuits"),
        ("OPENQASM 2.0;", "aws.sim.sv1", "circuits"),
        (Circuit(1, 0, (Instruction("reset", (0,)),)), "azure.ionq.simulator", "circuit"),
    ],
)
def test_bad_input(circuits: object, backend: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        kipu.encode(circuits, backend)  # type: ignore[arg-type]
    assert info.value.field == field
