"""Foreign circuits and OpenQASM text are accepted wherever a Circuit is (core suite).

No framework is installed here: foreign circuits are small fake classes whose ``__module__``
names a framework, and ``Circuit.from_<framework>`` is replaced by a recorder. The real
frameworks are exercised in ``tests/frameworks/test_accept*.py``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs import Circuit, InputError, QasmError
from qjobs.circuit import as_circuit, as_circuits
from qjobs.providers.ionq import IonQClient
from qjobs.providers.qibo import QiboClient
from qjobs.testing import FakeProvider

PROVIDERS = ["ionq", "kipu", "qpi", "qbraid", "qibo"]
FRAMEWORK_MODULES = {
    "qiskit": "qiskit.circuit.quantumcircuit",
    "cirq": "cirq.circuits.circuit",
    "qibo": "qibo.models.circuit",
    "braket": "braket.circuits.circuit",
}
#: X on qubit 0 of 2: outcome 1, counts key "01" (bit 0 rightmost).
X0 = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; x q[0]; measure q -> c;'
X1 = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; x q[1]; measure q -> c;'
SWEPT = (
    'OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[1] q; bit[1] c; '
    "rx(theta) q[0]; c = measure q;"
)


def same(a: Any, b: str) -> bool:
    """Whether circuit ``a`` is the circuit of OpenQASM ``b`` (Circuit compares by identity)."""
    return isinstance(a, Circuit) and a.to_qasm3() == Circuit.from_qasm(b).to_qasm3()


def fake_circuit_class(framework: str) -> type:
    """A class that looks, by its module, like ``framework``'s circuit; it carries QASM."""

    class FakeForeign:
        def __init__(self, qasm: str) -> None:
            self.qasm = qasm

    FakeForeign.__module__ = FRAMEWORK_MODULES[framework]
    FakeForeign.__name__ = FakeForeign.__qualname__ = "QuantumCircuit"
    return FakeForeign


@pytest.fixture
def converted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Installs ``Circuit.from_<framework>`` recorders that read the fake's QASM; returns the
    list of (framework, object) calls."""
    calls: list[tuple[str, Any]] = []
    for framework in FRAMEWORK_MODULES:

        def convert(obj: Any, framework: str = framework) -> Circuit:
            calls.append((framework, obj))
            if obj.qasm == "refuse":
                raise InputError("instructions[0]", "initialize", "not supported")
            return Circuit.from_qasm(obj.qasm)

        monkeypatch.setattr(Circuit, f"from_{framework}", staticmethod(convert), raising=False)
    return calls


# ------------------------------------------------------------------------- as_circuit
def test_a_circuit_is_returned_as_is() -> None:
    circ = Circuit.from_qasm(X0)
    assert as_circuit(circ) is circ
    assert as_circuits(circ) is circ


def test_openqasm_text_is_parsed() -> None:
    assert same(as_circuit(X0), X0)
    out = as_circuits([X0, X1])
    assert isinstance(out, list)
    assert same(out[0], X0)
    assert same(out[1], X1)


def test_unreadable_openqasm_names_the_field() -> None:
    with pytest.raises(QasmError) as info:
        as_circuit("OPENQASM 2.0; qreg q[1]; nope q[0];", field="template")
    assert info.value.field == "template"
    assert info.value.line == 1
    with pytest.raises(QasmError) as info:
        as_circuits([X0, "OPENQASM"])
    assert info.value.field == "circuits[1]"


@pytest.mark.parametrize("framework", sorted(FRAMEWORK_MODULES))
def test_a_foreign_circuit_goes_to_its_converter(
    framework: str, converted: list[tuple[str, Any]]
) -> None:
    obj = fake_circuit_class(framework)(X1)
    assert same(as_circuit(obj), X1)
    assert converted == [(framework, obj)]
    assert framework not in sys.modules  # recognised by name, never imported


def test_a_sequence_keeps_its_shape_and_mixes_kinds(converted: list[tuple[str, Any]]) -> None:
    qiskit_like = fake_circuit_class("qiskit")(X1)
    cirq_like = fake_circuit_class("cirq")(X0)
    out = as_circuits((Circuit.from_qasm(X0), X1, qiskit_like, cirq_like))
    assert isinstance(out, list)
    assert [same(c, q) for c, q in zip(out, (X0, X1, X1, X0), strict=True)] == [True] * 4
    assert [f for f, _ in converted] == ["qiskit", "cirq"]
    assert as_circuits([]) == []
    single = as_circuits(qiskit_like)
    assert isinstance(single, Circuit)


def test_a_refused_foreign_instruction_says_which_circuit(
    converted: list[tuple[str, Any]],
) -> None:
    good = fake_circuit_class("braket")(X0)
    bad = fake_circuit_class("braket")("refuse")
    with pytest.raises(InputError) as info:
        as_circuits([good, bad])
    assert info.value.field == "instructions[0]"
    assert "while converting circuits[1] (a braket QuantumCircuit)" in info.value.__notes__


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(42, "int"), (None, "NoneType"), (b"OPENQASM 2.0;", "bytes"), ({"a": 1}, "dict")],
)
def test_anything_else_is_refused_naming_field_and_type(value: Any, type_name: str) -> None:
    with pytest.raises(InputError) as info:
        as_circuits(value)
    assert (info.value.field, info.value.value) == ("circuits", type_name)
    assert "Qiskit, Cirq, Qibo or Braket" in info.value.reason
    with pytest.raises(InputError) as info:
        as_circuits([X0, value], field="batch")
    assert (info.value.field, info.value.value) == ("batch[1]", type_name)
    with pytest.raises(InputError) as info:
        as_circuit([X0], field="circuit")  # one circuit expected, not a list
    assert (info.value.field, info.value.value) == ("circuit", "list")


def test_a_module_merely_starting_like_a_framework_is_not_one() -> None:
    class Lookalike:
        pass

    Lookalike.__module__ = "qiskitish.circuit"
    with pytest.raises(InputError, match="Lookalike"):
        as_circuit(Lookalike())


# ---------------------------------------------------------------- every provider, end to end
@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_run_and_submit_take_text_and_foreign_circuits(
    provider: str, converted: list[tuple[str, Any]]
) -> None:
    foreign = fake_circuit_class("qiskit")(X0)
    async with (
        qjobs.emulators.serve(provider, tokens=["t"]) as server,
        qjobs.connect(provider, token="t", base_url=server.base_url) as client,
    ):
        res = await client.run(foreign, shots=20, timeout=30)
        assert res.counts == {"01": 20}
        res = await client.run(X1, shots=20, timeout=30)
        assert res.counts == {"10": 20}
        job = await client.submit(foreign, shots=10)
        done = await client.wait(job, timeout=30)
        assert (await client.result(done)).counts == {"01": 10}
        assert converted == [("qiskit", foreign)] * 2  # converted once per call
        if client.max_circuits_for(None) != 1:  # the default backend takes a list (None: any)
            both = await client.run([foreign, X1], shots=10, timeout=30)
            assert [r.counts for r in both] == [{"01": 10}, {"10": 10}]


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_bad_circuits_fail_before_any_request(
    provider: str, converted: list[tuple[str, Any]]
) -> None:
    refused = fake_circuit_class("cirq")("refuse")
    async with (
        qjobs.emulators.serve(provider, tokens=["t"]) as server,
        qjobs.connect(provider, token="t", base_url=server.base_url) as client,
    ):
        cases: list[tuple[Any, str]] = [
            (42, "circuits"),
            ([X0, object()], "circuits[1]"),
            ("OPENQASM 2.0; qreg q[1]; nope q[0];", "circuits"),
            (refused, "instructions[0]"),
        ]
        for circuits, field in cases:
            for call in (client.submit, client.run):
                with pytest.raises(InputError) as info:
                    await call(circuits, shots=10)
                assert info.value.field == field, (circuits, call)
        assert server.stats.total_requests == 0


# ------------------------------------------------------------------- scheduler and sweep
@pytest.mark.anyio
async def test_scheduler_submit_takes_text_and_foreign_circuits(
    converted: list[tuple[str, Any]],
) -> None:
    fake = FakeProvider()
    foreign = fake_circuit_class("qibo")(X0)
    async with qjobs.Scheduler(fake, shots=10, poll_initial=0.01, poll_max=0.01) as sched:
        futures = [sched.submit(foreign), sched.submit(X1), sched.submit(Circuit.from_qasm(X0))]
        results = await sched.gather()
        with pytest.raises(InputError) as info:
            sched.submit([X0])
        assert (info.value.field, info.value.value) == ("circuit", "list")
        with pytest.raises(QasmError) as qinfo:
            sched.submit("OPENQASM 2.0; qreg q[1]; nope q[0];")
        assert qinfo.value.field == "circuit"
    assert len(futures) == 3
    assert [r.counts for r in results] == [{"01": 10}, {"10": 10}, {"01": 10}]
    assert converted == [("qibo", foreign)]


def test_sweep_template_takes_a_foreign_circuit(converted: list[tuple[str, Any]]) -> None:
    foreign = fake_circuit_class("qiskit")(SWEPT)
    sweep = qjobs.Sweep(foreign, {"theta": np.linspace(0, np.pi, 3)})
    assert same(sweep.template, SWEPT)
    assert len(sweep.circuits()) == 3
    with pytest.raises(InputError) as info:
        qjobs.Sweep(fake_circuit_class("qiskit")("refuse"), {"theta": [0.0]})
    assert info.value.field == "instructions[0]"
    assert any("while converting template" in n for n in info.value.__notes__)


# ------------------------------------------------------------- the other circuit inputs
@pytest.mark.anyio
async def test_ionq_estimate_and_qibo_build_body_take_them_too(
    converted: list[tuple[str, Any]],
) -> None:
    bell = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1];'
    async with (
        qjobs.emulators.serve("ionq", tokens=["t"]) as server,
        qjobs.connect("ionq", token="t", base_url=server.base_url) as ionq,
    ):
        assert isinstance(ionq, IonQClient)
        braket_like = fake_circuit_class("braket")(bell)
        est = await ionq.estimate(braket_like, backend="qpu.forte-1", shots=9)
        assert (est.input_values["1q_gates"], est.input_values["2q_gates"]) == (1, 1)
        est = await ionq.estimate(bell, backend="qpu.forte-1", shots=9)
        assert est.input_values["qubits"] == 2
    assert [f for f, _ in converted] == ["braket"]
    qibo = QiboClient(token="t", base_url="http://127.0.0.1:1")
    body, _ = qibo.build_body(X1, shots=5)
    from_text = body["circuit"]
    body, _ = qibo.build_body(Circuit.from_qasm(X1), shots=5)
    assert from_text == body["circuit"]
