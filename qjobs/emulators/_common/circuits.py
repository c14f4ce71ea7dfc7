"""Dropping the qubits no instruction touches before a simulation (shared by the emulators)."""

from __future__ import annotations

from qjobs.circuit._ir import Circuit, Instruction

__all__ = ["drop_idle_qubits"]


def drop_idle_qubits(circuit: Circuit) -> tuple[Circuit, list[int]]:
    """The circuit on the qubits some instruction touches (the others stay |0>), renumbered from
    0 in order, and those qubits' original indices; an idle circuit keeps one qubit."""
    used = sorted({q for ins in circuit.instructions for q in ins.qubits})
    where = {q: i for i, q in enumerate(used)}
    ops = tuple(
        Instruction(i.name, tuple(where[q] for q in i.qubits), i.params, i.clbits)
        for i in circuit.instructions
    )
    return Circuit(max(len(used), 1), circuit.num_clbits, ops), used
