"""Sweep grids, validation and vectorised binding; SweepResult maths and .npz round trips."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qjobs
from qjobs.sweep import Sweep, SweepResult

SOURCE = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
input float phi;
qubit[2] q;
bit[2] c;
ry(theta) q[0];
rz(2 * phi) q[1];
cx q[0], q[1];
c = measure q;
"""


def _angles(circuit: qjobs.Circuit) -> tuple[float, float]:
    """(theta, phi) read back from a bound circuit of SOURCE."""
    ry, rz = circuit.instructions[0], circuit.instructions[1]
    assert isinstance(ry.params[0], float)
    assert isinstance(rz.params[0], float)
    return ry.params[0], rz.params[0] / 2


# ------------------------------------------------------------------------------- grids
def test_product_grid_shape_and_order() -> None:
    theta = [0.1, 0.2, 0.3]
    phi = [1.0, 2.0]
    sweep = Sweep(SOURCE, {"theta": theta, "phi": phi})
    assert sweep.grid_shape == (3, 2)
    assert sweep.size == 6
    assert sweep.params["theta"].shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert sweep.params["theta"][i, j] == theta[i]
            assert sweep.params["phi"][i, j] == phi[j]
    # circuits are flat in C order: the last axis (phi) varies fastest
    points = [_angles(c) for c in sweep.circuits()]
    expected = [(t, p) for t in theta for p in phi]
    np.testing.assert_allclose(points, expected)


def test_product_follows_key_order() -> None:
    sweep = Sweep(SOURCE, {"phi": [1.0, 2.0], "theta": [0.1, 0.2, 0.3]})
    assert sweep.grid_shape == (2, 3)
    assert list(sweep.axes) == ["phi", "theta"]
    points = [_angles(c) for c in sweep.circuits()]
    np.testing.assert_allclose(points, [(t, p) for p in (1.0, 2.0) for t in (0.1, 0.2, 0.3)])


def test_zip_pairs_point_by_point() -> None:
    theta = np.array([0.1, 0.2, 0.3, 0.4])
    phi = np.array([4.0, 3.0, 2.0, 1.0])
    sweep = Sweep(SOURCE, {"theta": theta, "phi": phi}, mode="zip")
    assert sweep.grid_shape == (4,)
    assert sweep.size == 4
    np.testing.assert_array_equal(sweep.params["theta"], theta)
    points = [_angles(c) for c in sweep.circuits()]
    np.testing.assert_allclose(points, np.stack([theta, phi], axis=1))


def test_grid_arrays_are_copies_and_read_only() -> None:
    theta = np.array([0.1, 0.2])
    sweep = Sweep(SOURCE, {"theta": theta, "phi": [0.0]})
    theta[0] = 99.0
    assert sweep.axes["theta"][0] == 0.1
    with pytest.raises(ValueError, match="read-only"):
        sweep.params["theta"][0, 0] = 1.0


def test_circuit_template_accepted() -> None:
    template = qjobs.Circuit.from_qasm(SOURCE)
    sweep = Sweep(template, {"theta": [0.5], "phi": [0.25]})
    (bound,) = sweep.circuits()
    assert bound.is_bound
    assert _angles(bound) == pytest.approx((0.5, 0.25))
    assert sweep.template is template


# -------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("params", "mode", "field", "reason"),
    [
        ({"theta": [1.0], "phi": [1.0], "gamma": [1.0]}, "product", "params['gamma']", "not a"),
        ({"theta": [1.0]}, "product", "params", "missing values for ['phi']"),
        ({"theta": [], "phi": [1.0]}, "product", "params['theta']", "empty"),
        ({"theta": [1.0, math.nan], "phi": [1.0]}, "product", "params['theta']", "non-finite"),
        ({"theta": [1.0], "phi": [math.inf]}, "product", "params['phi']", "non-finite"),
        ({"theta": [[1.0, 2.0]], "phi": [1.0]}, "product", "params['theta']", "1-D"),
        ({"theta": 1.0, "phi": [1.0]}, "product", "params['theta']", "1-D"),
        ({"theta": "abc", "phi": [1.0]}, "product", "params['theta']", "numbers"),
        ({"theta": ["x"], "phi": [1.0]}, "product", "params['theta']", "numbers"),
        ({"theta": [1.0, 2.0], "phi": [1.0]}, "zip", "params", "equal length"),
        ({"theta": [1.0], "phi": [1.0]}, "grid", "mode", "'product' or 'zip'"),
    ],
)
def test_validation(params: dict[str, Any], mode: Any, field: str, reason: str) -> None:
    with pytest.raises(qjobs.InputError) as info:
        Sweep(SOURCE, params, mode=mode)
    assert info.value.field == field
    assert reason in info.value.reason


def test_validation_of_template() -> None:
    with pytest.raises(qjobs.InputError) as info:
        Sweep(42, {"theta": [1.0]})
    assert info.value.field == "template"
    fixed = "OPENQASM 3.0;\nqubit[1] q;\nh q[0];\n"
    with pytest.raises(qjobs.InputError) as info:
        Sweep(fixed, {})
    assert info.value.field == "template"
    assert "no free parameters" in info.value.reason
    with pytest.raises(qjobs.QasmError):
        Sweep("OPENQASM 3.0;\nqubit[1] q;\nnosuchgate q[0];\n", {"theta": [1.0]})
    with pytest.raises(qjobs.InputError) as info:
        Sweep(SOURCE, [("theta", [1.0])])  # type: ignore[arg-type]
    assert info.value.field == "params"


@pytest.mark.anyio
async def test_run_validates_shots_before_any_request() -> None:
    sweep = Sweep(SOURCE, {"theta": [1.0], "phi": [1.0]})
    for shots in (0, -1, 1.5, True):
        with pytest.raises(qjobs.InputError) as info:
            await sweep.run(object(), shots=shots)  # type: ignore[arg-type]
        assert info.value.field == "shots"


# -------------------------------------------------------------------- vectorised binding
def test_template_parsed_once_and_bound_in_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import qjobs.circuit._binding
    import qjobs.circuit._qasm

    parses: list[str] = []
    real_parse = qjobs.circuit._qasm.parse_qasm

    def counting_parse(source: str, *, name: str | None = None) -> qjobs.Circuit:
        parses.append(source)
        return real_parse(source, name=name)

    bind_calls: list[int] = []
    real_bind_many = qjobs.circuit._binding.bind_many

    def counting_bind_many(circuit: qjobs.Circuit, columns: Any) -> list[qjobs.Circuit]:
        bind_calls.append(len(next(iter(columns.values()))))
        return real_bind_many(circuit, columns)

    def no_single_bind(*_a: Any, **_k: Any) -> qjobs.Circuit:
        raise AssertionError("points must not be bound one at a time")

    monkeypatch.setattr(qjobs.circuit._qasm, "parse_qasm", counting_parse)
    monkeypatch.setattr(qjobs.circuit._binding, "bind_many", counting_bind_many)
    monkeypatch.setattr(qjobs.circuit._binding, "bind", no_single_bind)
    sweep = Sweep(SOURCE, {"theta": np.linspace(0, 1, 50), "phi": np.linspace(0, 2, 40)})
    first = sweep.circuits()
    second = sweep.circuits()
    assert len(first) == 2000
    assert first == second
    assert len(parses) == 1
    assert bind_calls == [2000]


# -------------------------------------------------------------------------- SweepResult
def _result(**overrides: Any) -> SweepResult:
    rng = np.random.default_rng(3)
    probs = rng.random((3, 2, 8))
    probs /= probs.sum(axis=-1, keepdims=True)
    counts = []
    for p in probs.reshape(6, 8):
        n = np.round(p * 100).astype(int)
        counts.append({format(k, "03b"): int(v) for k, v in enumerate(n) if v})
    kwargs: dict[str, Any] = {
        "axes": {"theta": [0.0, 0.5, 1.0], "phi": [-1.0, 1.0]},
        "mode": "product",
        "shots": 100,
        "probabilities": probs,
        "counts": counts,
        "job_ids": [f"job-{i // 2}" for i in range(6)],
        "metadata": {"provider": "ionq", "backend": "simulator", "requests": 12},
    }
    kwargs.update(overrides)
    return SweepResult(**kwargs)


def test_result_shapes() -> None:
    res = _result()
    assert res.grid_shape == (3, 2)
    assert res.size == 6
    assert res.num_clbits == 3
    assert res.params["theta"].shape == (3, 2)
    assert res.params["phi"][2, 1] == 1.0
    assert res.parameter_names == ("theta", "phi")


def test_expectation_is_vectorised_and_matches_direct_computation() -> None:
    res = _result()
    flat = res.probabilities.reshape(6, 8)
    for observable in ("ZZZ", "IIZ", "ZII", "ZIZ", "III"):
        got = res.expectation(observable)
        assert got.shape == (3, 2)
        for point in range(6):
            direct = 0.0
            for k in range(8):
                sign = 1
                for pos, ch in enumerate(observable):
                    bit = 2 - pos  # rightmost character acts on clbit 0
                    if ch == "Z" and (k >> bit) & 1:
                        sign = -sign
                direct += sign * flat[point, k]
            assert got.reshape(6)[point] == pytest.approx(direct, abs=1e-12)
            single = qjobs.Result(
                counts={}, probabilities=flat[point], shots=100, num_clbits=3
            ).expectation(observable)
            assert got.reshape(6)[point] == pytest.approx(single, abs=1e-12)


@pytest.mark.parametrize("observable", ["ZZ", "ZZZZ", "ZXZ", "zzz", "", 3])
def test_expectation_rejects_bad_observables(observable: Any) -> None:
    with pytest.raises(qjobs.InputError) as info:
        _result().expectation(observable)
    assert info.value.field == "observable"


def test_save_load_round_trip_is_exact(tmp_path: Path) -> None:
    res = _result(job_ids=[None, "a", "a", "b", "c", "d"])
    path = res.save(tmp_path / "sub" / "run")
    assert path == tmp_path / "sub" / "run.npz"
    loaded = SweepResult.load(path)
    assert loaded == res
    assert loaded.probabilities.tobytes() == res.probabilities.tobytes()
    assert loaded.counts == res.counts
    assert loaded.job_ids == [None, "a", "a", "b", "c", "d"]
    assert loaded.metadata == res.metadata
    assert list(loaded.axes) == ["theta", "phi"]
    # only plain arrays in the file: loads without pickle, no object dtype anywhere
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)
    # zip mode round trip
    zres = SweepResult(
        axes={"a": [1.0, 2.0], "b": [3.0, 4.0]},
        mode="zip",
        shots=7,
        probabilities=[[1.0, 0.0], [0.25, 0.75]],
        counts=[{"0": 7}, {"1": 5, "0": 2}],
        job_ids=["x", "y"],
    )
    assert SweepResult.load(zres.save(tmp_path / "z.npz")) == zres


def test_counts_keys_normalised() -> None:
    res = _result(counts=[{"1": 3, "010": 0}, {}, {}, {}, {}, {"111": 1}])
    assert res.counts[0] == {"001": 3}
    with pytest.raises(qjobs.InputError):
        _result(counts=[{"1111": 1}, {}, {}, {}, {}, {}])


def test_load_rejects_other_files(tmp_path: Path) -> None:
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(qjobs.InputError) as info:
        SweepResult.load(other)
    assert info.value.field == "path"
    with pytest.raises(qjobs.InputError):
        SweepResult.load(tmp_path / "missing.npz")


def test_result_validation(tmp_path: Path) -> None:
    with pytest.raises(qjobs.InputError) as info:
        _result(probabilities=np.zeros((3, 2, 6)))
    assert info.value.field == "probabilities"
    with pytest.raises(qjobs.InputError) as info:
        _result(counts=[{}])
    assert info.value.field == "counts"
    with pytest.raises(qjobs.InputError) as info:
        _result(metadata={"bad": object()}).save(tmp_path / "never.npz")
    assert info.value.field == "metadata"
