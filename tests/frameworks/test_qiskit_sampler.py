"""``qjobs.qiskit.Sampler`` (Qiskit's BaseSamplerV2) on the IonQ emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from conftest import TOKEN
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter, ParameterVector
from qiskit.primitives import BitArray

import qjobs.qiskit
from qjobs.qiskit import QjobsBackend, Sampler, get_backend


def target(server: Any) -> QjobsBackend:
    """The qjobs Qiskit backend on the emulator's simulator (closed when collected)."""
    return get_backend("ionq", token=TOKEN, base_url=server.base_url)


def two_angles() -> QuantumCircuit:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(3, 3)
    qc.rx(a, 0)
    qc.rx(b, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


def test_a_50_by_40_grid_is_one_campaign_of_few_jobs(serve: Callable[..., Any]) -> None:
    server = serve("ionq")
    # a in {0, pi} along axis 0 and b in {0, pi} along axis 1: every outcome is certain.
    a = np.tile([0.0, np.pi], 25)
    b = np.tile([np.pi, 0.0], 20)
    grid = np.stack(np.meshgrid(a, b, indexing="ij"), axis=-1)
    result = Sampler(target(server)).run([(two_angles(), grid, 64)]).result()
    bits = result[0].data.c
    assert isinstance(bits, BitArray)
    assert bits.shape == (50, 40)
    assert bits.num_shots == 64
    assert bits.num_bits == 3
    for i in (0, 1, 2, 49):
        for j in (0, 1, 38, 39):
            # clbit 0 (rightmost) is qubit 0, clbit 2 (leftmost) is qubit 2; qubit 1 stays 0.
            expected = f"{int(b[j] > 1)}0{int(a[i] > 1)}"
            assert bits[i, j].get_counts() == {expected: 64}, (i, j)
    assert result[0].metadata["shots"] == 64
    requests = server.stats.requests
    assert requests["POST /jobs"] <= 30  # 2,000 bindings, batched


def test_pubs_of_different_shapes_and_shots_and_registers(serve: Callable[..., Any]) -> None:
    server = serve("ionq")
    theta = ParameterVector("θ", 2)
    low, high = QuantumRegister(2, "q"), ClassicalRegister(1, "low")
    top = ClassicalRegister(2, "top")
    qc = QuantumCircuit(low, high, top)
    qc.rx(theta[0], 0)
    qc.rx(2 * theta[1], 1)
    qc.measure(0, high[0])
    qc.measure(1, top[1])
    fixed = QuantumCircuit(2, 2)
    fixed.x(0)
    fixed.measure([0, 1], [0, 1])
    values = np.zeros((2, 3, 2))
    values[1, :, 0] = np.pi  # theta[0] = pi in row 1
    values[:, 2, 1] = np.pi / 2  # 2 * theta[1] = pi in column 2
    result = (
        Sampler(target(server), default_shots=10)
        .run([(qc, values), (fixed, None, 7), (qc, [np.pi, 0.0])])
        .result()
    )
    assert len(result) == 3
    first, second, third = result
    assert first.data.low.shape == (2, 3)
    assert first.data.top.shape == (2, 3)
    assert first.data.low.num_shots == 10
    assert first.data.low[0, 0].get_counts() == {"0": 10}
    assert first.data.low[1, 0].get_counts() == {"1": 10}
    assert first.data.top[0, 2].get_counts() == {"10": 10}
    assert first.data.top[1, 1].get_counts() == {"00": 10}
    assert second.data.c.shape == ()
    assert second.data.c.get_counts() == {"01": 7}
    assert third.data.low.shape == ()
    assert third.data.low.get_counts() == {"1": 10}
    assert third.data.top.get_counts() == {"00": 10}


def test_counts_match_the_provider_distribution(serve: Callable[..., Any]) -> None:
    server = serve("ionq")
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    bits = Sampler(target(server), seed=1).run([qc], shots=1000).result()[0].data.c
    counts = bits.get_counts()
    assert sum(counts.values()) == 1000
    assert 400 <= counts["0"] <= 600
    # shots are shuffled, not sorted by outcome: the first half is a fair sample too
    half = bits.slice_shots(range(500)).get_counts()
    assert 150 <= half["0"] <= 350


def test_backend_estimator_over_the_qjobs_backend(serve: Callable[..., Any]) -> None:
    from qiskit.primitives import BackendEstimatorV2
    from qiskit.quantum_info import SparsePauliOp

    server = serve("ionq")
    backend = get_backend("ionq", token=TOKEN, base_url=server.base_url)
    qc = QuantumCircuit(2)
    qc.x(0)
    estimator = BackendEstimatorV2(backend=backend, options={"default_precision": 0.05})
    observables = [SparsePauliOp(label) for label in ("IZ", "ZI", "ZZ")]  # one value each
    values = estimator.run([(qc, observables)]).result()[0].data.evs
    assert np.allclose(values, [-1.0, 1.0, -1.0])


def test_sampler_on_the_qjobs_backend(serve: Callable[..., Any]) -> None:
    server = serve("ionq")
    backend = get_backend("ionq", token=TOKEN, base_url=server.base_url)
    grid = np.array([[0.0, 0.0], [np.pi, np.pi]])
    bits = Sampler(backend).run([(two_angles(), grid, 5)]).result()[0].data.c
    assert bits[0].get_counts() == {"000": 5}
    assert bits[1].get_counts() == {"101": 5}


def test_public_names_report_qjobs_qiskit() -> None:
    assert Sampler.__module__ == "qjobs.qiskit"
    assert QjobsBackend.__module__ == "qjobs.qiskit"
    assert qjobs.qiskit.__all__ == ["QjobsBackend", "QjobsJob", "Sampler", "get_backend"]
