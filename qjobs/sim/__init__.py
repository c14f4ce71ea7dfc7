"""A numpy state-vector simulator for :class:`qjobs.Circuit`.

Conventions:

* Qubit ``i`` is bit ``i`` of a state-vector index (little-endian, as in Qiskit).
* An outcome is an int whose bit ``c`` is classical bit ``c``. A circuit without ``measure`` is
  read as measuring every qubit ``i`` into bit ``i`` (IonQ's convention); otherwise outcomes span
  ``num_clbits`` bits, unmeasured clbits read 0 and a later measurement into a clbit overwrites
  an earlier one.
* Gates are those of :data:`qjobs.circuit._gates.GATES`, with OpenQASM/Qiskit matrices; the IonQ
  native gates ``gpi``, ``gpi2``, ``ms`` and ``zz`` take turns and match qiskit-ionq (``ms`` applies
  ``phi0`` to its first qubit and ``phi1`` to its second). See :func:`gate_matrix`.
* At most :data:`MAX_QUBITS` (24) qubits; wider circuits raise :class:`~qjobs.InputError`, as do
  unbound parameters.

Measurements whose qubit is untouched afterwards are read once from the final state. A measurement
followed by more operations on its qubit, and ``reset``, are simulated where they occur: exactly
(branching over outcomes) by :func:`probabilities`, and by trajectories grouped by outcome by
:func:`sample`/:func:`counts`.
"""

from __future__ import annotations

import numbers
import threading
from collections import OrderedDict

import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError
from qjobs._core.public import publish as _publish
from qjobs.circuit._ir import Circuit
from qjobs.sim._engine import (
    MAX_OUTCOME_BITS,
    MAX_QUBITS,
    Plan,
    exact_probabilities,
    sample_outcomes,
)
from qjobs.sim._matrices import gate_matrix

__all__ = [
    "MAX_PROBABILITY_BITS",
    "MAX_QUBITS",
    "Seed",
    "counts",
    "gate_matrix",
    "probabilities",
    "sample",
    "statevector",
]

#: What ``seed`` accepts: None (fresh entropy), an int, or a numpy Generator (used as is).
Seed = int | np.random.Generator | np.random.SeedSequence | None

#: :func:`probabilities` returns ``2**width`` floats; wider outcome registers must be sampled.
MAX_PROBABILITY_BITS = 24


_PLANS: OrderedDict[int, tuple[Circuit, Plan]] = OrderedDict()
_PLANS_LOCK = threading.Lock()
_PLANS_SIZE = 8


def _plan(circuit: Circuit) -> Plan:
    """The compiled plan of ``circuit``; the last few circuits' plans are kept (by identity).

    Circuits are immutable, so a plan (and the final distribution it caches) stays valid; this
    makes ``probabilities(c)`` followed by ``sample(c, ...)`` simulate ``c`` once.
    """
    with _PLANS_LOCK:
        hit = _PLANS.get(id(circuit))
        if hit is not None and hit[0] is circuit:
            _PLANS.move_to_end(id(circuit))
            return hit[1]
    plan = Plan(circuit)
    with _PLANS_LOCK:
        _PLANS[id(circuit)] = (circuit, plan)
        while len(_PLANS) > _PLANS_SIZE:
            _PLANS.popitem(last=False)
    return plan


def statevector(circuit: Circuit) -> npt.NDArray[np.complex128]:
    """The final state: ``2**num_qubits`` complex128 amplitudes, qubit ``i`` = bit ``i``.

    Measurements that nothing follows on their qubit are ignored (the state is the one just
    before them). Circuits whose result depends on a mid-circuit outcome (a measured qubit used
    again, or ``reset`` of a used qubit) have no single final state and raise InputError.
    """
    plan = Plan(circuit)  # not cached: the state is returned to the caller
    if plan.dynamic:
        raise InputError(
            "circuit",
            circuit,
            "mid-circuit measurement or reset has no single final state; "
            "use probabilities() or sample()",
        )
    ((psi, _, _),) = plan.leaves(1.0, lambda w, p: (w, 0.0))
    return np.ascontiguousarray(psi).reshape(-1)


def probabilities(circuit: Circuit) -> npt.NDArray[np.float64]:
    """The exact outcome distribution: float64 of length ``2**width``, indexed by outcome.

    ``width`` is ``num_clbits``, or ``num_qubits`` if the circuit has no ``measure``.
    """
    plan = _plan(circuit)
    if plan.width > MAX_PROBABILITY_BITS:
        raise InputError(
            "circuit.num_clbits",
            plan.width,
            f"probabilities() covers at most {MAX_PROBABILITY_BITS} outcome bits; use sample()",
        )
    return exact_probabilities(plan)


def _shots(shots: object) -> int:
    if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or int(shots) < 0:
        raise InputError("shots", shots, "must be a non-negative integer")
    return int(shots)


def _rng(seed: object) -> np.random.Generator:
    if isinstance(seed, bool):
        raise InputError("seed", seed, "must be None, an int or a numpy.random.Generator")
    if isinstance(seed, int | np.integer):
        seed = int(seed)
    elif not (seed is None or isinstance(seed, np.random.Generator | np.random.SeedSequence)):
        raise InputError("seed", seed, "must be None, an int or a numpy.random.Generator")
    try:
        return np.random.default_rng(seed)  # a Generator is returned unchanged
    except ValueError as exc:
        raise InputError("seed", seed, str(exc)) from None


def sample(circuit: Circuit, shots: int, seed: Seed = None) -> npt.NDArray[np.int64]:
    """``shots`` outcomes (int64, bit ``c`` = clbit ``c``), one per shot, in shot order.

    The same ``seed`` always gives the same outcomes. A Generator passed as ``seed`` is advanced.
    """
    n_shots = _shots(shots)
    rng = _rng(seed)
    plan = _plan(circuit)
    if plan.width > MAX_OUTCOME_BITS:
        raise InputError(
            "circuit.num_clbits", plan.width, f"outcomes hold at most {MAX_OUTCOME_BITS} bits"
        )
    if n_shots == 0:
        return np.zeros(0, dtype=np.int64)
    return sample_outcomes(plan, n_shots, rng)


def counts(circuit: Circuit, shots: int, seed: Seed = None) -> dict[str, int]:
    """Histogram of :func:`sample`: bitstrings (clbit 0 rightmost) to counts, zeros omitted.

    Bitstrings are ``num_clbits`` wide (``num_qubits`` without ``measure``); keys are in
    increasing outcome order.
    """
    outcomes = sample(circuit, shots, seed)
    width = (
        circuit.num_clbits
        if any(i.name == "measure" for i in circuit.instructions)
        else (circuit.num_qubits)
    )
    if width == 0:
        return {"": int(outcomes.size)} if outcomes.size else {}
    if width <= MAX_PROBABILITY_BITS:
        freq = np.bincount(outcomes)
        values = np.flatnonzero(freq)
        freq = freq[values]
    else:
        values, freq = np.unique(outcomes, return_counts=True)
    return {format(int(v), f"0{width}b"): int(f) for v, f in zip(values, freq, strict=True)}


_publish(globals())
