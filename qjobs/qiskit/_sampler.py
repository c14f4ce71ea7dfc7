"""``Sampler``: Qiskit's ``BaseSamplerV2`` over the qjobs scheduler.

Each PUB's circuit is converted once; its parameter value array (any shape) is bound in one
vectorised pass (:meth:`qjobs.Circuit.bind_many`) and every binding of every PUB with the same
shots runs as one scheduler campaign, so thousands of bindings become a handful of provider jobs
where the provider batches. Each classical register comes back as a ``BitArray`` shaped like the
PUB's parameter array, with Qiskit's bit order (register bit 0 is the lowest bit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives import (
    BaseSamplerV2,
    BitArray,
    DataBin,
    PrimitiveResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.primitives.primitive_job import PrimitiveJob

from qjobs import Circuit, InputError, MalformedResponseError, Result
from qjobs.qiskit._backend import QjobsBackend
from qjobs.qiskit._runner import run_circuits

__all__ = ["Sampler"]

#: Register values are built in int64: a register may not be wider.
_MAX_REGISTER_BITS = 63


def _template(circuit: QuantumCircuit) -> Circuit:
    """``circuit`` as a qjobs circuit whose parameter ``p{i}`` is ``circuit.parameters[i]``.

    Renaming first makes the names valid OpenQASM identifiers whatever Qiskit called them
    (``θ[0]``), and ties each to its column of the PUB's parameter array.
    """
    renamed = circuit.assign_parameters(
        {p: Parameter(f"p{i}") for i, p in enumerate(circuit.parameters)}
    )
    from_qiskit = getattr(Circuit, "from_qiskit", None)
    if from_qiskit is not None:
        converted: Circuit = from_qiskit(renamed)
    else:
        from qiskit import qasm3

        converted = Circuit.from_qasm(qasm3.dumps(renamed), name=circuit.name)
    if converted.num_clbits != circuit.num_clbits:
        raise InputError(
            "circuit", circuit.name, "its classical bits did not survive conversion one to one"
        )
    return converted


def _bound(pub: SamplerPub) -> list[Circuit]:
    """One qjobs circuit per point of the PUB's parameter array, in C order."""
    template = _template(pub.circuit)
    size = int(np.prod(pub.shape, dtype=np.int64))
    params = list(pub.circuit.parameters)
    if not params:
        return [template] * size
    values = pub.parameter_values.as_array(params).reshape(size, len(params))
    return template.bind_many({f"p{i}": values[:, i] for i in range(len(params))})


def _outcomes(results: Sequence[Result], shots: int, rng: np.random.Generator) -> Any:
    """The ``(points, shots)`` outcome integers: the provider's shots when it returned them,
    else its counts expanded and shuffled (so that any slice of shots is a fair sample)."""
    out = np.empty((len(results), shots), dtype=np.int64)
    for row, result in enumerate(results):
        if result.memory is not None and result.memory.size == shots:
            out[row] = result.memory
            continue
        keys = np.fromiter((int(k, 2) if k else 0 for k in result.counts), np.int64)
        counts = np.fromiter(result.counts.values(), np.int64)
        if int(counts.sum()) != shots:
            raise MalformedResponseError(
                f"job {result.job_id}: counts add up to {int(counts.sum())}, not {shots} shots",
                provider=result.job.provider if result.job else "unknown",
            )
        samples = np.repeat(keys, counts)
        rng.shuffle(samples)
        out[row] = samples
    return out


def _bit_array(outcomes: Any, clbits: Sequence[int], shape: tuple[int, ...]) -> BitArray:
    """The register made of global classical bits ``clbits`` (its bit 0 first) as a
    ``BitArray`` of shape ``shape``: big-endian bytes per shot, as Qiskit packs them."""
    if len(clbits) > _MAX_REGISTER_BITS:
        raise InputError("circuit.cregs", len(clbits), f"registers wider than {_MAX_REGISTER_BITS}")
    values = np.zeros(outcomes.shape, dtype=np.int64)
    for j, bit in enumerate(clbits):
        values |= ((outcomes >> bit) & 1) << j
    num_bytes = max(1, -(-len(clbits) // 8))
    shifts = np.arange(8 * (num_bytes - 1), -1, -8, dtype=np.int64)
    packed: npt.NDArray[np.uint8] = ((values[..., None] >> shifts) & 0xFF).astype(np.uint8)
    return BitArray(packed.reshape(*shape, outcomes.shape[1], num_bytes), len(clbits))


def _pub_result(pub: SamplerPub, results: Sequence[Result], rng: np.random.Generator) -> Any:
    outcomes = _outcomes(results, pub.shots, rng)
    circuit = pub.circuit
    data = {
        creg.name: _bit_array(outcomes, [circuit.find_bit(b).index for b in creg], pub.shape)
        for creg in circuit.cregs
    }
    return SamplerPubResult(
        DataBin(**data, shape=pub.shape),
        metadata={"shots": pub.shots, "circuit_metadata": circuit.metadata},
    )


class Sampler(BaseSamplerV2):
    """Qiskit's ``SamplerV2`` primitive on a qjobs backend: ``Sampler(backend).run(pubs)``.

    ``backend`` is a qjobs Qiskit backend (:func:`~qjobs.qiskit.get_backend`): all PUBs of
    one shot count run as one scheduler campaign on it. ``default_shots`` applies to PUBs that
    name none; ``seed`` seeds the shuffle that turns counts into shots (providers return counts).
    """

    def __init__(
        self, backend: QjobsBackend, *, default_shots: int = 1024, seed: int | None = None
    ):
        self._backend = backend
        self._default_shots = default_shots
        self._rng = np.random.default_rng(seed)

    @property
    def backend(self) -> QjobsBackend:
        """Where the circuits run."""
        return self._backend

    @property
    def default_shots(self) -> int:
        """Shots of a PUB that gives none."""
        return self._default_shots

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> Any:
        """Run the PUBs (``circuit`` or ``(circuit, parameter_values[, shots])``); returns a
        job whose ``result()`` is a ``PrimitiveResult`` of ``SamplerPubResult``."""
        count = self._default_shots if shots is None else shots
        coerced = [SamplerPub.coerce(pub, count) for pub in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[SamplerPub]) -> Any:
        bound = [_bound(pub) for pub in pubs]
        results: list[list[Result]] = [[] for _ in pubs]
        for shots in dict.fromkeys(pub.shots for pub in pubs):
            chosen = [i for i, pub in enumerate(pubs) if pub.shots == shots]
            flat = run_circuits(self._backend, [c for i in chosen for c in bound[i]], shots)
            start = 0
            for i in chosen:
                results[i] = flat[start : start + len(bound[i])]
                start += len(bound[i])
        return PrimitiveResult(
            [_pub_result(pub, res, self._rng) for pub, res in zip(pubs, results, strict=True)],
            metadata={"version": 2},
        )
