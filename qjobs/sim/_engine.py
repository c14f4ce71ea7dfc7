"""Plan a circuit for simulation and run it: exact distributions and grouped trajectories.

A :class:`Plan` is a circuit compiled to in-place gate appliers plus the measurements that must
be simulated where they occur ("dynamic": a measurement whose qubit is later acted on, and every
``reset``). All other measurements are read from the final state. Each of a qubit's later
measurements commutes with everything that happens afterwards, so those are deferred and computed
once from the final state's marginal distribution.

Running walks the tree of dynamic outcomes depth first. For exact probabilities each branch carries
its probability; for sampling each branch carries a number of shots, split at every dynamic
measurement with a binomial draw, so identical trajectories are simulated once per group rather
than once per shot. Memory stays at one state per pending branch along the current path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

from qjobs._core.errors import InputError
from qjobs.circuit._expr import Expr
from qjobs.circuit._ir import Circuit
from qjobs.sim._apply import Applier, State, compile_gate, fixed_index

__all__ = [
    "MAX_EXACT_WORK",
    "MAX_OUTCOME_BITS",
    "MAX_QUBITS",
    "Plan",
    "exact_probabilities",
    "sample_outcomes",
]

#: Widest circuit the simulator accepts (2**24 amplitudes take 256 MiB).
MAX_QUBITS: Final = 24
#: Widest outcome register: outcomes are int64.
MAX_OUTCOME_BITS: Final = 63
#: Branches less likely than this are dropped from exact distributions.
_EPS: Final = 1e-15
#: Exact distributions of dynamic circuits stop at this many branches times amplitudes.
MAX_EXACT_WORK: Final = 1 << 30

_GATE, _MEASURE, _RESET = 0, 1, 2
_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]
W = TypeVar("W", int, float)


class _Step:
    """One simulated operation: a gate, or a dynamic measurement/reset of one qubit."""

    __slots__ = ("apply", "clbit", "ix0", "ix1", "kind")

    def __init__(
        self, kind: int, apply: Applier | None = None, n: int = 0, qubit: int = 0, clbit: int = 0
    ) -> None:
        self.kind = kind
        self.apply = apply
        self.clbit = clbit
        measured = kind != _GATE
        self.ix0 = fixed_index(n, [(n - 1 - qubit, 0)] if measured else [])
        self.ix1 = fixed_index(n, [(n - 1 - qubit, 1)] if measured else [])


def _check_params(circuit: Circuit) -> list[list[float]]:
    """Every instruction's parameters as floats; unbound or non-finite ones raise InputError."""
    if not circuit.is_bound:
        names = ", ".join(repr(n) for n in circuit.parameters)
        for pos, ins in enumerate(circuit.instructions):
            if any(isinstance(p, Expr) for p in ins.params):
                raise InputError(
                    f"instructions[{pos}].params",
                    [str(p) for p in ins.params],
                    f"unbound parameter(s) {names}: bind values with Circuit.bind() first",
                )
    out: list[list[float]] = []
    for pos, ins in enumerate(circuit.instructions):
        values = [float(p) for p in ins.params]  # type: ignore[arg-type]
        if not all(math.isfinite(v) for v in values):
            raise InputError(f"instructions[{pos}].params", values, "parameters must be finite")
        out.append(values)
    return out


class Plan:
    """A circuit compiled for simulation.

    ``width`` is the outcome register's width: ``num_clbits``, or ``num_qubits`` when the circuit
    has no ``measure``. ``final`` maps clbits to the qubits they read from the final state.
    """

    __slots__ = (
        "dynamic",
        "final",
        "final_mask",
        "final_qubits",
        "num_qubits",
        "steps",
        "table",
        "terminal",
        "width",
    )

    def __init__(self, circuit: Circuit) -> None:
        if not isinstance(circuit, Circuit):
            raise InputError("circuit", circuit, "expected a qjobs.Circuit")
        n = circuit.num_qubits
        if n > MAX_QUBITS:
            raise InputError(
                "circuit.num_qubits", n, f"the simulator handles at most {MAX_QUBITS} qubits"
            )
        params = _check_params(circuit)
        ops = circuit.instructions
        for pos, ins in enumerate(ops):
            if ins.name == "measure" and (len(ins.qubits) != 1 or len(ins.clbits) != 1):
                raise InputError(f"instructions[{pos}]", ins, "measure takes 1 qubit and 1 clbit")
            if ins.name == "reset" and len(ins.qubits) != 1:
                raise InputError(f"instructions[{pos}]", ins, "reset takes 1 qubit")

        # Drop no-ops: barriers, identities, and resets of qubits no gate has touched yet.
        gated: set[int] = set()
        kept: list[int] = []
        for pos, ins in enumerate(ops):
            if ins.name in ("barrier", "id") or (
                ins.name == "reset" and ins.qubits[0] not in gated
            ):
                continue
            if ins.name != "measure":
                gated.update(ins.qubits)
            kept.append(pos)

        # A measurement is deferrable when nothing but measurements touches its qubit afterwards.
        deferrable: set[int] = set()
        modified_after: set[int] = set()
        for pos in reversed(kept):
            ins = ops[pos]
            if ins.name == "measure":
                if ins.qubits[0] not in modified_after:
                    deferrable.add(pos)
            else:
                modified_after.update(ins.qubits)

        steps: list[_Step] = []
        writer: dict[int, int | None] = {}  # clbit -> qubit read at the end, None if dynamic
        for pos in kept:
            ins = ops[pos]
            if ins.name == "measure":
                q, c = ins.qubits[0], ins.clbits[0]
                if pos in deferrable:
                    writer[c] = q
                else:
                    writer[c] = None
                    steps.append(_Step(_MEASURE, n=n, qubit=q, clbit=c))
            elif ins.name == "reset":
                steps.append(_Step(_RESET, n=n, qubit=ins.qubits[0]))
            else:
                steps.append(_Step(_GATE, compile_gate(ins.name, ins.qubits, params[pos], n)))

        has_measure = any(ins.name == "measure" for ins in ops)
        self.num_qubits = n
        self.width = circuit.num_clbits if has_measure else n
        self.steps = tuple(steps)
        self.dynamic = any(s.kind != _GATE for s in steps)
        if has_measure:
            self.final = tuple((c, q) for c, q in sorted(writer.items()) if q is not None)
        else:
            self.final = tuple((q, q) for q in range(n))
        self.final_qubits = tuple(sorted({q for _, q in self.final}))
        self.final_mask = sum(1 << c for c, _ in self.final)
        # Outcome bits for each index of the final-qubit marginal (little-endian over
        # final_qubits); None when that index already is the outcome.
        self.table: _I64 | None
        self.table = None
        if self.final != tuple((q, q) for q in range(self.width)) or self.width != n:
            idx = np.arange(1 << len(self.final_qubits), dtype=np.int64)
            table = np.zeros_like(idx)
            for c, q in self.final:
                table |= ((idx >> self.final_qubits.index(q)) & 1) << c
            self.table = table
        # The final-qubit marginal of a circuit without dynamic steps, once computed (small
        # ones only), so that probabilities() followed by sample() simulates once.
        self.terminal: _F64 | None = None

    def marginal(self, psi: State) -> _F64:
        """The final-qubit distribution of state ``psi`` (little-endian over final_qubits)."""
        probs: _F64 = psi.real**2 + psi.imag**2
        n = self.num_qubits
        if len(self.final_qubits) != n:
            others = tuple(n - 1 - q for q in range(n) if q not in self.final_qubits)
            probs = np.asarray(probs.sum(axis=others))
        return probs.reshape(-1)

    def outcomes(self, indices: _I64, bits: int) -> _I64:
        """Outcome ints for marginal ``indices`` with dynamic clbit values ``bits``."""
        out = indices if self.table is None else self.table[indices]
        fixed = bits & ~self.final_mask
        return out | fixed if fixed else out

    def leaves(
        self, weight: W, split: Callable[[W, float], tuple[W, W]]
    ) -> Iterator[tuple[State, int, W]]:
        """Final states of every trajectory branch with its dynamic clbit values and weight.

        ``split(weight, p1)`` divides a branch's weight between outcomes 0 and 1 of a dynamic
        measurement whose outcome 1 has probability ``p1``; zero-weight branches are dropped.
        """
        n = self.num_qubits
        psi = np.zeros((2,) * n, dtype=np.complex128)
        psi[(0,) * n] = 1.0
        steps = self.steps
        stack: list[tuple[int, State, int, W]] = [(0, psi, 0, weight)]
        while stack:
            pc, psi, bits, w = stack.pop()
            while pc < len(steps) and steps[pc].kind == _GATE:
                steps[pc].apply(psi)  # type: ignore[misc]
                pc += 1
            if pc == len(steps):
                yield psi, bits, w
                continue
            step = steps[pc]
            norms = (_norm2(psi[step.ix0]), _norm2(psi[step.ix1]))
            w0, w1 = split(w, norms[1] / (norms[0] + norms[1]))
            children = [(b, wb) for b, wb in ((1, w1), (0, w0)) if wb]
            for i, (b, wb) in enumerate(children):
                state = psi if i == len(children) - 1 else psi.copy()
                _collapse(state, step, b, norms[b])
                child_bits = bits
                if step.kind == _MEASURE:
                    child_bits = (bits & ~(1 << step.clbit)) | (b << step.clbit)
                stack.append((pc + 1, state, child_bits, wb))


def _norm2(view: State) -> float:
    return float(np.vdot(view, view).real)


def _collapse(psi: State, step: _Step, bit: int, norm2: float) -> None:
    scale = 1.0 / math.sqrt(norm2)
    if step.kind == _RESET and bit == 1:
        psi[step.ix0] = psi[step.ix1] * scale
        psi[step.ix1] = 0.0
        return
    keep, drop = (step.ix1, step.ix0) if bit else (step.ix0, step.ix1)
    psi[keep] *= scale
    psi[drop] = 0.0


def _split_exact(w: float, p1: float) -> tuple[float, float]:
    p1 = min(max(p1, 0.0), 1.0)
    return (w * (1.0 - p1) if 1.0 - p1 > _EPS else 0.0, w * p1 if p1 > _EPS else 0.0)


_TERMINAL_CACHE_MAX: Final = 1 << 16


def _terminal_leaves(plan: Plan, weight: W) -> Iterator[tuple[_F64, int, W]]:
    """Marginals of the leaves of a plan without dynamic steps (one leaf, reused if cached)."""
    p = plan.terminal
    if p is None:
        ((psi, _, _),) = plan.leaves(1.0, _split_exact)
        p = plan.marginal(psi)
        p.setflags(write=False)
        if p.size <= _TERMINAL_CACHE_MAX:
            plan.terminal = p
    yield p, 0, weight


def exact_probabilities(plan: Plan) -> _F64:
    """The exact outcome distribution (length ``2**plan.width``)."""
    acc = np.zeros(1 << plan.width, dtype=np.float64)
    if not plan.dynamic:
        leaves = _terminal_leaves(plan, 1.0)
    else:
        leaves = ((plan.marginal(psi), bits, w) for psi, bits, w in plan.leaves(1.0, _split_exact))
    for leaf, (p, bits, w) in enumerate(leaves, 1):
        if leaf << plan.num_qubits > MAX_EXACT_WORK:
            raise InputError(
                "circuit",
                f"{leaf}+ outcome branches",
                "too many mid-circuit measurement outcomes for an exact distribution; use sample()",
            )
        if plan.table is None and not bits:
            acc += p * w if w != 1.0 else p
        else:
            # Distinct marginal indices give distinct outcomes, so plain fancy indexing is safe.
            acc[plan.outcomes(np.arange(p.size, dtype=np.int64), bits)] += p * w
    return acc


def sample_outcomes(plan: Plan, shots: int, rng: np.random.Generator) -> _I64:
    """``shots`` outcomes drawn with ``rng``; dynamic measurements split groups of shots."""

    def split(w: int, p1: float) -> tuple[int, int]:
        k1 = int(rng.binomial(w, min(max(p1, 0.0), 1.0)))
        return w - k1, k1

    parts: list[_I64] = []
    if not plan.dynamic:
        leaves = _terminal_leaves(plan, shots)
    else:
        leaves = ((plan.marginal(psi), bits, w) for psi, bits, w in plan.leaves(shots, split))
    for p, bits, w in leaves:
        p = p / p.sum()
        draws = np.asarray(rng.choice(p.size, size=w, p=p), dtype=np.int64)
        parts.append(plan.outcomes(draws, bits))
    if len(parts) == 1:
        return parts[0]
    return np.asarray(rng.permutation(np.concatenate(parts)), dtype=np.int64)
