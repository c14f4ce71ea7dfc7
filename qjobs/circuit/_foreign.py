"""Helpers shared by the Cirq, Qibo and Braket adapters: controlled-gate names and the OpenQASM
fallback for one gate.

A foreign gate without a direct mapping is exported by its framework as OpenQASM, read with
:meth:`Circuit.from_qasm` and spliced in on the caller's qubits. When the export or the reading
fails, the gate is refused with :class:`~qjobs.InputError` naming it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Final

from qjobs._core.errors import InputError
from qjobs._core.optional import require
from qjobs.circuit._ir import Circuit, Instruction

__all__ = ["CONTROLLED", "load", "via_qasm"]

#: qjobs names of controlled gates, by (the target gate's qjobs name, number of controls). The
#: target gate must equal the qjobs gate exactly (global phase included).
CONTROLLED: Final[dict[tuple[str, int], str]] = {
    ("x", 1): "cx",
    ("y", 1): "cy",
    ("z", 1): "cz",
    ("h", 1): "ch",
    ("rx", 1): "crx",
    ("ry", 1): "cry",
    ("rz", 1): "crz",
    ("p", 1): "cp",
    ("swap", 1): "cswap",
    ("x", 2): "ccx",
}


#: The ``qjobs[...]`` extra that installs each framework, by top-level module.
_EXTRAS: Final = {"cirq": "cirq", "qibo": "qibo", "braket": "braket", "sympy": "cirq"}


@functools.cache
def load(module: str) -> Any:
    """Import an optional framework module (typed ``Any``: the core venv has no framework).

    A missing framework raises ImportError naming the ``qjobs[...]`` extra that installs it
    (:func:`qjobs._core.optional.require`). Cached: the adapters call this once per instruction.
    """
    top = module.partition(".")[0]
    return require(module, _EXTRAS.get(top, top))


def via_qasm(
    export: Callable[[], str], qubits: Sequence[int], *, where: str, label: Any
) -> list[Instruction]:
    """The instructions of the OpenQASM that ``export()`` returns, local qubit ``i`` mapped to
    ``qubits[i]``.

    Only unitary gates are accepted from the export; ``where``/``label`` name the foreign
    instruction in the :class:`~qjobs.InputError` raised when it cannot be converted.
    """
    try:
        local = Circuit.from_qasm(export())
    except Exception as exc:  # any failure of the framework's exporter or of our reader
        reason = f"no direct mapping and no OpenQASM fallback ({exc})"
        raise InputError(where, label, reason) from exc
    if local.num_qubits > len(qubits):
        raise InputError(where, label, "OpenQASM fallback uses more qubits than the gate")
    out: list[Instruction] = []
    for ins in local.instructions:
        if not ins.is_gate:
            if ins.name == "barrier":
                continue
            raise InputError(where, label, f"OpenQASM fallback produced '{ins.name}'")
        out.append(Instruction(ins.name, tuple(qubits[q] for q in ins.qubits), ins.params))
    return out
