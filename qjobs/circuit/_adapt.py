"""Circuits from anywhere: a qjobs Circuit, OpenQASM text, or a Qiskit, Cirq, Qibo or Braket one.

Every entry point that takes circuits (``submit``, ``run``, ``Scheduler.submit``, the ``Sweep``
template) coerces them here, once. A foreign circuit is recognised by the top-level package of
its type (``type(obj).__module__``) and handed to ``Circuit.from_<framework>``: no framework is
imported to find out, so ``import qjobs`` stays free of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

from qjobs._core.errors import InputError, QasmError
from qjobs.circuit._ir import Circuit

if TYPE_CHECKING:  # optional extras: absent from the core venv, where they are Any
    from braket.circuits import (  # type: ignore[import-not-found, unused-ignore]
        Circuit as BraketCircuit,
    )
    from cirq import Circuit as CirqCircuit  # type: ignore[import-not-found, unused-ignore]
    from qibo.models import (  # type: ignore[import-not-found, unused-ignore]
        Circuit as QiboCircuit,
    )
    from qiskit.circuit import QuantumCircuit  # type: ignore[import-not-found, unused-ignore]

__all__ = ["FRAMEWORKS", "CircuitLike", "ForeignCircuit", "as_circuit", "as_circuits"]

#: A circuit of one of the frameworks qjobs reads (each an optional extra).
ForeignCircuit: TypeAlias = "QuantumCircuit | CirqCircuit | QiboCircuit | BraketCircuit"
#: What qjobs accepts as one circuit: a :class:`~qjobs.Circuit`, OpenQASM 2/3 text, or a
#: Qiskit, Cirq, Qibo or Braket circuit (converted with ``Circuit.from_qiskit`` and friends).
CircuitLike: TypeAlias = "Circuit | str | ForeignCircuit"

#: The top-level package of a foreign circuit's type -> the ``Circuit`` constructor reading it.
FRAMEWORKS: Final = {
    "qiskit": "from_qiskit",
    "cirq": "from_cirq",
    "qibo": "from_qibo",
    "braket": "from_braket",
}

_EXPECTED: Final = (
    "expected a qjobs.Circuit, OpenQASM text or a Qiskit, Cirq, Qibo or Braket circuit"
)


def framework_of(obj: object) -> str | None:
    """The framework whose circuit ``obj`` may be (``"qiskit"``...), from its type's package."""
    root = type(obj).__module__.partition(".")[0]
    return root if root in FRAMEWORKS else None


def as_circuit(obj: object, *, field: str = "circuits") -> Circuit:
    """``obj`` as one :class:`~qjobs.Circuit`.

    A ``Circuit`` is returned as it is; a ``str`` is read as OpenQASM 2 or 3 (a
    :class:`~qjobs.QasmError` then names ``field``); a Qiskit, Cirq, Qibo or Braket circuit goes
    through ``Circuit.from_qiskit``/``from_cirq``/``from_qibo``/``from_braket``, whose
    :class:`~qjobs.InputError` (an instruction qjobs refuses) gets a note naming ``field``.
    Anything else raises :class:`~qjobs.InputError` naming ``field`` and the type.
    """
    if isinstance(obj, Circuit):
        return obj
    if isinstance(obj, str):
        try:
            return Circuit.from_qasm(obj)
        except QasmError as exc:
            exc.field = field
            raise
    framework = framework_of(obj)
    if framework is None:
        raise InputError(field, type(obj).__name__, _EXPECTED)
    convert: Callable[[object], Circuit] = getattr(Circuit, FRAMEWORKS[framework])
    try:
        return convert(obj)
    except InputError as exc:
        exc.add_note(f"while converting {field} (a {framework} {type(obj).__name__})")
        raise


def as_circuits(obj: object, *, field: str = "circuits") -> Circuit | list[Circuit]:
    """One circuit as a :class:`~qjobs.Circuit`, a sequence of them as a list (see
    :func:`as_circuit`; the entries are named ``field[i]``).

    The shape is kept: a single circuit stays single (providers tell a one-circuit job from a
    batch of one). An empty sequence gives ``[]`` (the provider refuses it, naming ``field``).
    """
    if isinstance(obj, Circuit | str) or framework_of(obj) is not None:
        return as_circuit(obj, field=field)
    if isinstance(obj, Sequence) and not isinstance(obj, bytes | bytearray):
        return [as_circuit(c, field=f"{field}[{i}]") for i, c in enumerate(obj)]
    raise InputError(field, type(obj).__name__, _EXPECTED + ", or a list of them")
