"""The gate set of the circuit IR: canonical names, qubit counts and parameter counts.

Plain data shared by the QASM reader, the codecs and the simulator. Parameters of the standard
gates are angles in radians. The IonQ native gates (``gpi``, ``gpi2``, ``ms``, ``zz``) take their
phases and angles in turns (fractions of 2*pi), as IonQ defines them.
"""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["DIRECTIVES", "GATES", "GateSpec", "NATIVE_GATES"]


@attrs.frozen(slots=True)
class GateSpec:
    """A gate's canonical name, how many qubits it acts on and how many parameters it takes."""

    name: str
    num_qubits: int
    num_params: int


def _table(*rows: tuple[str, int, int]) -> dict[str, GateSpec]:
    return {name: GateSpec(name, nq, np_) for name, nq, np_ in rows}


#: Every unitary gate the IR knows, by canonical name.
GATES: Final[dict[str, GateSpec]] = _table(
    ("id", 1, 0),
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
    # IonQ native gates; phases and angles in turns.
    ("gpi", 1, 1),
    ("gpi2", 1, 1),
    ("ms", 2, 3),  # (phi0, phi1, theta); theta = 0.25 is the fully entangling MS gate
    ("zz", 2, 1),
)

#: The IonQ native gate names (the ``native`` gateset).
NATIVE_GATES: Final[frozenset[str]] = frozenset({"gpi", "gpi2", "ms", "zz"})

#: Non-unitary instructions: ``measure`` (one qubit, one clbit), ``barrier`` (any qubits),
#: ``reset`` (one qubit).
DIRECTIVES: Final[frozenset[str]] = frozenset({"measure", "barrier", "reset"})
