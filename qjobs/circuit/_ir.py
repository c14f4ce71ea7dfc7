"""The circuit IR: an immutable list of instructions on numbered qubits and classical bits.

A :class:`Circuit` is built by :meth:`Circuit.from_qasm` (OpenQASM 2 or 3) or directly from
:class:`Instruction` objects. Gate parameters are floats or symbolic :class:`~qjobs.Expr`
expressions over free parameter names; :meth:`Circuit.bind` substitutes values without re-reading
any source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs
import numpy.typing as npt

from qjobs._core.errors import InputError
from qjobs._core.validation import is_int
from qjobs.circuit._expr import Expr
from qjobs.circuit._gates import DIRECTIVES, GATES

__all__ = ["MAX_CLBITS", "MAX_QUBITS", "Circuit", "Instruction", "Param", "Register"]

#: The most qubits a circuit may have: above the largest devices offered today (about 1,200
#: qubits), far below what would strain memory when registers are expanded to index lists.
MAX_QUBITS: Final = 2048

#: The most classical bits a circuit may have.
MAX_CLBITS: Final = 2048

#: A gate parameter: a number, or an expression over free parameter names.
Param = float | Expr


def _check_count(field: str, value: object, low: int, high: int) -> None:
    """Raise :class:`~qjobs.InputError` unless ``value`` is an int from ``low`` to ``high``."""
    if not is_int(value, low=low, high=high):
        reason = f"must be an integer from {low} to {high}"
        if value == 0 and field == "num_qubits":
            reason += ": a circuit with no qubits cannot run"
        raise InputError(field, value, reason)


@attrs.frozen(slots=True)
class Instruction:
    """One operation: a gate from :data:`qjobs.circuit._gates.GATES`, or
    ``measure``/``barrier``/``reset``.

    ``qubits`` are indices into the circuit's qubits (controls first, as in OpenQASM);
    ``params`` are the gate's parameters; ``clbits`` is set for ``measure`` only (one clbit).
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[Param, ...] = ()
    clbits: tuple[int, ...] = ()

    @property
    def is_gate(self) -> bool:
        """True for unitary gates, False for measure, barrier and reset."""
        return self.name not in DIRECTIVES


@attrs.frozen(slots=True)
class Register:
    """A named register of ``size`` consecutive bits starting at index ``start``."""

    name: str
    size: int
    start: int


@attrs.frozen(slots=True, eq=False)
class Circuit:
    """An immutable quantum circuit.

    Qubits and classical bits are numbered from 0. ``qregs``/``cregs`` keep the register names
    read from OpenQASM so that serialising round-trips readable source. ``name`` is optional and
    used as the job name by default. A circuit has 1 to :data:`MAX_QUBITS` qubits and 0 to
    :data:`MAX_CLBITS` classical bits (:class:`~qjobs.InputError` otherwise), so a circuit
    without qubits can never reach a provider.
    """

    num_qubits: int
    num_clbits: int
    instructions: tuple[Instruction, ...]
    name: str | None = None
    qregs: tuple[Register, ...] = ()
    cregs: tuple[Register, ...] = ()

    def __attrs_post_init__(self) -> None:
        _check_count("num_qubits", self.num_qubits, 1, MAX_QUBITS)
        _check_count("num_clbits", self.num_clbits, 0, MAX_CLBITS)
        for pos, ins in enumerate(self.instructions):
            spec = GATES.get(ins.name)
            if spec is None and ins.name not in DIRECTIVES:
                raise InputError(f"instructions[{pos}].name", ins.name, "unknown gate")
            if spec is not None and (
                len(ins.qubits) != spec.num_qubits or len(ins.params) != spec.num_params
            ):
                raise InputError(
                    f"instructions[{pos}]",
                    ins,
                    f"{ins.name} takes {spec.num_qubits} qubit(s) and {spec.num_params} "
                    "parameter(s)",
                )
            for q in ins.qubits:
                if not 0 <= q < self.num_qubits:
                    raise InputError(f"instructions[{pos}].qubits", ins.qubits, "out of range")
            for c in ins.clbits:
                if not 0 <= c < self.num_clbits:
                    raise InputError(f"instructions[{pos}].clbits", ins.clbits, "out of range")
            if len(set(ins.qubits)) != len(ins.qubits):
                raise InputError(f"instructions[{pos}].qubits", ins.qubits, "repeated qubit")

    @classmethod
    def _trusted(
        cls,
        num_qubits: int,
        num_clbits: int,
        instructions: tuple[Instruction, ...],
        name: str | None = None,
        qregs: tuple[Register, ...] = (),
        cregs: tuple[Register, ...] = (),
    ) -> Circuit:
        # Private fast path for the QASM reader and the binder, which build only instructions
        # that are already known to be valid: skips the per-instruction checks of __init__.
        self = object.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(self, "num_qubits", num_qubits)
        setattr_(self, "num_clbits", num_clbits)
        setattr_(self, "instructions", instructions)
        setattr_(self, "name", name)
        setattr_(self, "qregs", qregs)
        setattr_(self, "cregs", cregs)
        return self

    # The methods below are implemented in the QASM/binding modules and attached here so that the
    # IR stays one class with a small surface.
    @classmethod
    def from_qasm(cls, source: str, *, name: str | None = None) -> Circuit:
        """Read OpenQASM 2 or 3 source (detected from its ``OPENQASM`` line)."""
        from qjobs.circuit._qasm import parse_qasm

        return parse_qasm(source, name=name)

    @classmethod
    def from_qiskit(cls, qc: Any, *, name: str | None = None) -> Circuit:
        """Convert a Qiskit ``QuantumCircuit`` (needs the ``qiskit`` extra).

        Gates map one to one where qjobs has the gate, others through OpenQASM 3 when that
        round-trips; ``Parameter``s become free parameters. Control flow, ``c_if`` and other
        instructions without a qjobs form raise :class:`~qjobs.InputError` naming them.
        """
        from qjobs.circuit._qiskit import from_qiskit

        return from_qiskit(qc, name=name)

    def to_qiskit(self) -> Any:
        """This circuit as a Qiskit ``QuantumCircuit`` (needs the ``qiskit`` extra)."""
        from qjobs.circuit._qiskit import to_qiskit

        return to_qiskit(self)

    @classmethod
    def from_cirq(cls, circuit: Any, *, name: str | None = None) -> Circuit:
        """Convert a ``cirq.Circuit``: qubits in cirq's sort order, measurement keys as registers
        (see :mod:`qjobs.circuit._cirq`); unsupported operations raise InputError naming them."""
        from qjobs.circuit._cirq import from_cirq

        return from_cirq(circuit, name=name)

    @classmethod
    def from_qibo(cls, circuit: Any, *, name: str | None = None) -> Circuit:
        """Convert a ``qibo.models.Circuit``: qubit numbers kept, ``gates.M`` registers as
        classical registers (see :mod:`qjobs.circuit._qibo`); unsupported gates raise InputError."""
        from qjobs.circuit._qibo import from_qibo

        return from_qibo(circuit, name=name)

    @classmethod
    def from_braket(cls, circuit: Any, *, name: str | None = None) -> Circuit:
        """Convert a ``braket.circuits.Circuit``: used qubits renumbered densely in sorted order
        (see :mod:`qjobs.circuit._braket`); result types and noise raise InputError."""
        from qjobs.circuit._braket import from_braket

        return from_braket(circuit, name=name)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The free parameter names, sorted."""
        names: set[str] = set()
        for ins in self.instructions:
            for p in ins.params:
                if isinstance(p, Expr):
                    names |= p.free_symbols
        return tuple(sorted(names))

    @property
    def is_bound(self) -> bool:
        """True when every parameter is a number."""
        return all(not isinstance(p, Expr) for ins in self.instructions for p in ins.params)

    def bind(self, values: Mapping[str, float]) -> Circuit:
        """Return a copy with parameters substituted; names not in the circuit are an error."""
        from qjobs.circuit._binding import bind

        return bind(self, values)

    def bind_many(self, columns: Mapping[str, npt.ArrayLike]) -> list[Circuit]:
        """Bind many points at once: ``columns[name][i]`` is the value at point ``i``.

        Each parameter expression is evaluated once over whole numpy arrays, so binding thousands
        of points costs little more than building the instruction tuples.
        """
        from qjobs.circuit._binding import bind_many

        return bind_many(self, columns)

    def to_qasm2(self) -> str:
        """Serialise as OpenQASM 2.0 with ``qelib1.inc`` (native IonQ gates are not expressible)."""
        from qjobs.circuit._qasm_out import to_qasm2

        return to_qasm2(self)

    def to_qasm3(self) -> str:
        """Serialise as OpenQASM 3.0 (``stdgates.inc``); free parameters become ``input float``."""
        from qjobs.circuit._qasm_out import to_qasm3

        return to_qasm3(self)

    @property
    def measured_clbits(self) -> tuple[int, ...]:
        """Classical bits written by a measurement, in order of first measurement."""
        seen: dict[int, None] = {}
        for ins in self.instructions:
            if ins.name == "measure":
                seen.setdefault(ins.clbits[0], None)
        return tuple(seen)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<Circuit{label} qubits={self.num_qubits} clbits={self.num_clbits} "
            f"ops={len(self.instructions)} params={list(self.parameters)}>"
        )
