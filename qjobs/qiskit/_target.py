"""A Qiskit ``Target`` from a provider's backend catalogue entry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qjobs._core.models import Backend
from qjobs.circuit._gates import GATES, NATIVE_GATES

__all__ = ["basis_gates", "build_target", "coupling"]

#: The qjobs gates every provider's codec takes (IonQ's native gates have no Qiskit standard gate).
_STANDARD = frozenset(GATES) - NATIVE_GATES


def _configuration(backend: Backend) -> Mapping[str, Any]:
    config = backend.details.get("configuration")
    return config if isinstance(config, Mapping) else {}


def basis_gates(backend: Backend) -> list[str]:
    """The qjobs gates ``backend`` accepts, by name (they are also Qiskit's standard names).

    Every provider's encoder takes all of the standard qjobs gates; a catalogue that lists the
    device's gates (the Kipu Hub's ``configuration.gates``) narrows them to those.
    """
    listed = {
        g.get("name") for g in _configuration(backend).get("gates") or () if isinstance(g, Mapping)
    }
    narrowed = _STANDARD & listed
    return sorted(narrowed or _STANDARD)


def coupling(backend: Backend) -> list[tuple[int, int]] | None:
    """The qubit pairs a two-qubit gate may act on (both directions), or None for all-to-all.

    Only a catalogue that says the device is not fully connected and gives its graph (the Kipu
    Hub's ``configuration.connectivity``) restricts the pairs.
    """
    conn = _configuration(backend).get("connectivity")
    if not isinstance(conn, Mapping) or conn.get("fully_connected", True):
        return None
    graph = conn.get("graph")
    if not isinstance(graph, Mapping):
        return None
    edges: set[tuple[int, int]] = set()
    for a, neighbours in graph.items():
        for b in neighbours:
            edges |= {(int(a), int(b)), (int(b), int(a))}
    return sorted(edges)


def build_target(backend: Backend, *, max_circuits: int | None = None) -> Any:
    """The ``qiskit.transpiler.Target`` of ``backend``: its qubits, basis gates and ``measure``.

    Gates are global (any qubits) when the device is all-to-all, so that ``transpile`` maps
    nothing; a restricted coupling lists each gate's qubits.
    """
    from qiskit.circuit.library import get_standard_gate_name_mapping
    from qiskit.transpiler import Target

    std = get_standard_gate_name_mapping()
    n = backend.qubits
    target = Target(
        description=f"{backend.provider}:{backend.name}", num_qubits=n, concurrent_measurements=None
    )
    edges = coupling(backend)
    restricted = edges is not None and n is not None
    singles = {(q,): None for q in range(n or 0)}
    for name in [*basis_gates(backend), "measure"]:
        gate = std[name]
        if not restricted:
            target.add_instruction(gate, properties=None)
        elif gate.num_qubits == 1:
            target.add_instruction(gate, properties=dict(singles))
        elif gate.num_qubits == 2:
            assert edges is not None
            target.add_instruction(gate, properties=dict.fromkeys(edges))
        # three-qubit gates on a restricted device are left to the transpiler to decompose
    return target
