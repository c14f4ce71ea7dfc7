"""SweepResult.to_xarray() and .to_pandas(): labels and values checked against the arrays."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import qjobs
from qjobs import SweepResult
from qjobs._core.models import counts_from_probabilities
from qjobs.sweep._labelled import default_observables, outcome_labels

THETA = [0.0, 0.5, 1.25]
PHI = [2.0, -1.0]  # deliberately not sorted: coordinates keep the order given


def _probabilities(shape: tuple[int, ...], width: int, seed: int = 3) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(width), size=shape)


def _counts(probs: np.ndarray[Any, Any], shots: int) -> list[dict[str, int]]:
    n = probs.shape[-1].bit_length() - 1
    flat = probs.reshape(-1, probs.shape[-1])
    out = []
    for row in flat:
        counts = counts_from_probabilities(row, shots)
        out.append({format(k, f"0{n}b"): int(c) for k, c in enumerate(counts) if c})
    return out


@pytest.fixture
def product() -> SweepResult:
    probs = _probabilities((3, 2), 8)
    return SweepResult(
        axes={"theta": THETA, "phi": PHI},
        mode="product",
        shots=1000,
        probabilities=probs,
        counts=_counts(probs, 1000),
        job_ids=[f"job-{i}" for i in range(5)] + [None],
        metadata={"provider": "ionq", "backend": None, "points": 6, "elapsed_s": 0.5,
                  "emulated": True, "extra": {"a": [1, 2]}},
    )  # fmt: skip


@pytest.fixture
def zipped() -> SweepResult:
    probs = _probabilities((4,), 2, seed=9)
    return SweepResult(
        axes={"a": [0.1, 0.2, 0.3, 0.4], "b": [4.0, 3.0, 2.0, 1.0]},
        mode="zip",
        shots=50,
        probabilities=probs,
        counts=_counts(probs, 50),
        job_ids=["j0", "j1", "j2", "j3"],
    )


# ------------------------------------------------------------------------------- xarray
def test_xarray_dims_and_coordinates_are_the_grid(product: SweepResult) -> None:
    ds = product.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert dict(ds.sizes) == {"theta": 3, "phi": 2, "outcome": 8}
    assert ds["probabilities"].dims == ("theta", "phi", "outcome")
    assert ds["counts"].dims == ("theta", "phi", "outcome")
    assert ds["job_id"].dims == ("theta", "phi")
    np.testing.assert_array_equal(ds.coords["theta"].values, THETA)
    np.testing.assert_array_equal(ds.coords["phi"].values, PHI)
    assert ds.coords["outcome"].values.tolist() == [
        "000", "001", "010", "011", "100", "101", "110", "111",
    ]  # fmt: skip
    assert set(ds.indexes) == {"theta", "phi", "outcome"}


def test_xarray_values_are_the_arrays(product: SweepResult) -> None:
    ds = product.to_xarray()
    np.testing.assert_array_equal(ds["probabilities"].values, product.probabilities)
    for i, theta in enumerate(THETA):
        for j, phi in enumerate(PHI):
            point = ds.sel(theta=theta, phi=phi)
            for label, n in product.counts[i * 2 + j].items():
                assert int(point["counts"].sel(outcome=label)) == n
            assert int(point["counts"].sum()) == 1000
            assert (
                float(point["probabilities"].sel(outcome="101"))
                == (product.probabilities[i, j, 0b101])
            )
    assert ds["job_id"].values.tolist() == [["job-0", "job-1"], ["job-2", "job-3"], ["job-4", ""]]


def test_xarray_expectations_are_variables(product: SweepResult) -> None:
    ds = product.to_xarray()
    assert list(ds.data_vars) == ["probabilities", "counts", "job_id", "ZZZ", "IIZ", "IZI", "ZII"]
    for name in ("ZZZ", "IIZ", "IZI", "ZII"):
        assert ds[name].dims == ("theta", "phi")
        np.testing.assert_array_equal(ds[name].values, product.expectation(name))
        assert ds[name].attrs == {"long_name": f"<{name}>", "observable": name}
    chosen = product.to_xarray(["ZZI"])
    assert [v for v in chosen.data_vars if v not in ("probabilities", "counts", "job_id")] == [
        "ZZI"
    ]
    np.testing.assert_array_equal(chosen["ZZI"].values, product.expectation("ZZI"))
    assert list(product.to_xarray("IZZ").data_vars)[-1] == "IZZ"
    assert list(product.to_xarray([]).data_vars) == ["probabilities", "counts", "job_id"]


def test_xarray_attrs_are_plain_values(product: SweepResult) -> None:
    attrs = product.to_xarray().attrs
    assert attrs == {
        "provider": "ionq",
        "points": 6,
        "elapsed_s": 0.5,
        "emulated": True,
        "extra": '{"a": [1, 2]}',
        "mode": "product",
        "shots": 1000,
        "num_clbits": 3,
    }
    assert all(type(v) in (str, int, float, bool) for v in attrs.values())


def test_xarray_zip_mode_has_a_point_dimension(zipped: SweepResult) -> None:
    ds = zipped.to_xarray()
    assert dict(ds.sizes) == {"point": 4, "outcome": 2}
    assert ds["probabilities"].dims == ("point", "outcome")
    assert ds.coords["a"].dims == ("point",)
    assert ds.coords["b"].dims == ("point",)
    np.testing.assert_array_equal(ds.coords["point"].values, [0, 1, 2, 3])
    np.testing.assert_array_equal(ds.coords["a"].values, [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(ds.coords["b"].values, [4.0, 3.0, 2.0, 1.0])
    assert ds.coords["outcome"].values.tolist() == ["0", "1"]
    assert list(ds.data_vars)[3:] == ["Z"]
    np.testing.assert_array_equal(ds["Z"].values, zipped.expectation("Z"))
    # the point whose b is 2.0 is the third one
    np.testing.assert_array_equal(
        ds["probabilities"].where(ds.b == 2.0, drop=True).values[0], zipped.probabilities[2]
    )


def test_xarray_survives_save_and_load(product: SweepResult, tmp_path: Any) -> None:
    loaded = SweepResult.load(product.save(tmp_path / "r.npz"))
    xr.testing.assert_identical(loaded.to_xarray(), product.to_xarray())


# ------------------------------------------------------------------------------- pandas
def test_pandas_long_form_one_row_per_point_and_outcome(product: SweepResult) -> None:
    df = product.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == [
        "point", "theta", "phi", "outcome", "count", "probability", "job_id",
        "ZZZ", "IIZ", "IZI", "ZII",
    ]  # fmt: skip
    assert len(df) == 6 * 8
    flat = product.probabilities.reshape(6, 8)
    thetas = product.params["theta"].reshape(-1)
    phis = product.params["phi"].reshape(-1)
    for row in df.itertuples(index=False):
        point, k = int(row.point), int(row.outcome, 2)
        assert row.theta == thetas[point]
        assert row.phi == phis[point]
        assert row.probability == flat[point, k]
        assert row.count == product.counts[point].get(row.outcome, 0)
        if point == 5:  # no job id: missing, as pandas marks it
            assert pd.isna(row.job_id)
        else:
            assert row.job_id == product.job_ids[point]
        assert product.expectation("ZZZ").reshape(-1)[point] == row.ZZZ
    assert df["outcome"].tolist()[:8] == outcome_labels(3)
    assert df.groupby("point")["count"].sum().tolist() == [1000] * 6
    assert df.attrs["shots"] == 1000
    assert df.attrs["provider"] == "ionq"


def test_pandas_matches_xarray(product: SweepResult) -> None:
    df = product.to_pandas(expectations=["ZZZ"])
    ds = product.to_xarray(expectations=["ZZZ"])
    back = df.set_index(["theta", "phi", "outcome"])["probability"].to_xarray()
    back = back.sel(theta=ds.theta, phi=ds.phi, outcome=ds.outcome)
    np.testing.assert_array_equal(back.values, ds["probabilities"].values)
    per_point = df.drop_duplicates("point").set_index(["theta", "phi"])["ZZZ"].to_xarray()
    np.testing.assert_array_equal(
        per_point.sel(theta=ds.theta, phi=ds.phi).values, ds["ZZZ"].values
    )


def test_pandas_zip_mode(zipped: SweepResult) -> None:
    df = zipped.to_pandas(expectations=())
    assert list(df.columns) == ["point", "a", "b", "outcome", "count", "probability", "job_id"]
    assert df["a"].tolist() == [0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4]
    assert df["b"].tolist() == [4.0, 4.0, 3.0, 3.0, 2.0, 2.0, 1.0, 1.0]
    assert df["outcome"].tolist() == ["0", "1"] * 4
    np.testing.assert_array_equal(df["probability"].to_numpy(), zipped.probabilities.reshape(-1))


# -------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("method", ["to_xarray", "to_pandas"])
@pytest.mark.parametrize(
    ("expectations", "bad"),
    [(["ZZ"], "ZZ"), (["ZXZ"], "ZXZ"), (["ZZZ", "ZZZ"], "ZZZ"), ([3], 3), ("zzz", "zzz")],
)
def test_a_bad_observable_names_expectations(
    product: SweepResult, method: str, expectations: Any, bad: Any
) -> None:
    with pytest.raises(qjobs.InputError) as info:
        getattr(product, method)(expectations)
    assert info.value.field == "expectations"
    assert info.value.value == bad


@pytest.mark.parametrize(("method", "name"), [("to_xarray", "outcome"), ("to_pandas", "count")])
def test_a_parameter_named_like_a_label_is_refused(method: str, name: str) -> None:
    res = SweepResult(
        axes={name: [0.0, 1.0]},
        mode="product",
        shots=1,
        probabilities=[[1.0, 0.0], [0.0, 1.0]],
        counts=[{"0": 1}, {"1": 1}],
        job_ids=[None, None],
    )
    with pytest.raises(qjobs.InputError) as info:
        getattr(res, method)()
    assert (info.value.field, info.value.value) == ("params", name)


def test_an_observable_named_like_a_parameter_is_refused() -> None:
    res = SweepResult(
        axes={"Z": [0.0, 1.0]},
        mode="product",
        shots=1,
        probabilities=[[1.0, 0.0], [0.0, 1.0]],
        counts=[{"0": 1}, {"1": 1}],
        job_ids=[None, None],
    )
    with pytest.raises(qjobs.InputError) as info:
        res.to_xarray()
    assert (info.value.field, info.value.value) == ("expectations", "Z")
    assert list(res.to_xarray([]).coords["Z"].values) == [0.0, 1.0]


def test_default_observables() -> None:
    assert default_observables(0) == []
    assert default_observables(1) == ["Z"]
    assert default_observables(2) == ["ZZ", "IZ", "ZI"]


@pytest.mark.parametrize(("method", "module", "extra"), [
    ("to_xarray", "xarray", "xarray"), ("to_pandas", "pandas", "pandas"),
])  # fmt: skip
def test_a_missing_package_names_the_extra(
    product: SweepResult, method: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf"pip install 'qjobs\[{extra}\]'"):
        getattr(product, method)()
