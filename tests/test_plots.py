"""SweepResult.plot() and Result.plot(): rendered to PNG, the images and the drawn data checked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

import qjobs
from qjobs import Result, SweepResult
from qjobs.sweep._plot import MAX_TICKS, even_edges

# The small heat-map grid: rows are theta (axis 0, evenly spaced: a numeric axis), columns phi
# (axis 1, uneven: drawn by index, a labelled tick per value).
THETA = [0.0, 0.75, 1.5, 2.25]
PHI = [0.0, 1.0, 3.0]


def _two_qubit_probs(theta: np.ndarray[Any, Any], phi: np.ndarray[Any, Any]) -> Any:
    """A distinct, smooth distribution over 4 outcomes at every point."""
    a = np.cos(theta / 2) ** 2
    b = np.cos(phi / 2) ** 2
    return np.stack([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], axis=-1)


def _result(axes: dict[str, list[float]], mode: Any = "product", **meta: Any) -> SweepResult:
    arrays = [np.asarray(v, dtype=float) for v in axes.values()]
    if mode == "zip" or len(arrays) == 1:
        theta = arrays[0]
        phi = arrays[1] if len(arrays) > 1 else np.zeros_like(theta)
    else:
        grids = np.meshgrid(*arrays, indexing="ij")
        theta, phi = grids[0], grids[1]
        for extra in grids[2:]:  # a third axis changes nothing; only its shape matters
            theta = theta + 0 * extra
            phi = phi + 0 * extra
    probs = _two_qubit_probs(theta, phi)
    size = int(np.prod(probs.shape[:-1]))
    return SweepResult(
        axes=axes,
        mode=mode,
        shots=100,
        probabilities=probs,
        counts=[{"00": 100}] * size,
        job_ids=[None] * size,
        metadata=meta,
    )


def _image(path: Path, figure: Figure) -> np.ndarray[Any, Any]:
    """The decoded PNG, checked: a real file of the figure's size, not blank."""
    assert path.stat().st_size > 5_000
    pixels = matplotlib.image.imread(path)
    width, height = figure.get_size_inches() * figure.dpi
    assert pixels.shape == (round(height), round(width), 4)
    rgb = pixels[..., :3]
    assert rgb.std() > 0.05  # not a blank canvas
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 20
    return pixels


def _pixel(pixels: np.ndarray[Any, Any], ax: Axes, x: float, y: float) -> np.ndarray[Any, Any]:
    """The RGB colour of the pixel at data coordinates (x, y) of ``ax``."""
    px, py = ax.transData.transform((x, y))
    row = pixels.shape[0] - round(float(py))
    col = round(float(px))
    return np.asarray(pixels[row, col, :3])


def _xy(ax: Axes) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The points of the one line drawn on ``ax``, shape (n, 2)."""
    lines = ax.get_lines()
    assert len(lines) == 1
    return np.asarray(lines[0].get_xydata(), dtype=np.float64)


def _mesh(ax: Axes) -> QuadMesh:
    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1
    return meshes[0]


# ----------------------------------------------------------------------------- heat map
def test_heat_map_has_one_cell_per_grid_point(tmp_path: Path) -> None:
    res = _result({"theta": THETA, "phi": PHI}, provider="ionq", backend="simulator")
    path = tmp_path / "heat.png"
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    open_figures = plt.get_fignums()
    ax = res.plot("ZZ", path=path)
    assert isinstance(ax, Axes)
    # saved without an ax: a figure of its own on the Agg canvas, no pyplot figure left open
    assert isinstance(ax.figure.canvas, FigureCanvasAgg)
    assert plt.get_fignums() == open_figures
    mesh = _mesh(ax)
    values = np.asarray(mesh.get_array())
    assert values.shape == res.grid_shape == (4, 3)
    np.testing.assert_allclose(values, res.expectation("ZZ"))
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("theta", "phi")
    assert ax.get_ylim() == (-0.375, 2.625)  # cells centred on the values
    assert ax.get_xlim() == (-0.5, 2.5)  # cells by index...
    assert list(ax.get_xticks()) == [0, 1, 2]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "3"]  # ...named by value
    assert ax.get_title() == "<ZZ>: ionq/simulator, 100 shots"
    colorbar = ax.figure.axes[1]
    assert colorbar.get_ylabel() == "<ZZ>"

    pixels = _image(path, ax.figure)  # type: ignore[arg-type]
    norm = Normalize(-1.0, 1.0)
    cmap = mesh.get_cmap()
    for i in range(4):
        for j in range(3):
            want = np.asarray(cmap(norm(res.expectation("ZZ")[i, j]))[:3])
            np.testing.assert_allclose(_pixel(pixels, ax, j, THETA[i]), want, atol=0.02)


def test_heat_map_of_an_outcome_probability(tmp_path: Path) -> None:
    res = _result({"theta": THETA, "phi": PHI})
    by_label = res.plot(outcome="10", path=tmp_path / "p.png")
    by_int = res.plot(outcome=2, path=tmp_path / "q.png")
    for ax in (by_label, by_int):
        np.testing.assert_allclose(np.asarray(_mesh(ax).get_array()), res.probabilities[..., 2])
        assert ax.figure.axes[1].get_ylabel() == "P(10)"
        assert _mesh(ax).get_clim() == (0.0, 1.0)
    _image(tmp_path / "p.png", by_label.figure)  # type: ignore[arg-type]


def test_long_axes_numeric_or_thinned_ticks_at_both_ends(tmp_path: Path) -> None:
    theta = list(np.linspace(0, np.pi, 50))  # even: numeric axis, matplotlib's ticks
    phi = list(np.geomspace(0.01, 1, 40))  # uneven: by index, MAX_TICKS labelled ticks
    res = _result({"theta": theta, "phi": phi})
    ax = res.plot(path=tmp_path / "big.png")
    assert np.asarray(_mesh(ax).get_array()).shape == (50, 40)
    half = np.pi / 49 / 2
    np.testing.assert_allclose(ax.get_ylim(), (-half, np.pi + half))
    ticks = list(ax.get_xticks())
    assert len(ticks) == MAX_TICKS
    assert (ticks[0], ticks[-1]) == (0, 39)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert (labels[0], labels[-1]) == ("0.01", "1")
    _image(tmp_path / "big.png", ax.figure)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "even"),
    [
        ([0.0, 0.5, 1.0], True),
        ([3.0, 2.0, 1.0], True),
        (list(np.linspace(0, 2 * np.pi, 40)), True),
        ([0.0], False),
        ([0.0, 1.0, 3.0], False),
        ([1.0, 1.0], False),
    ],
)
def test_even_edges(values: list[float], even: bool) -> None:
    edges = even_edges(np.asarray(values))
    if not even:
        assert edges is None
        return
    assert edges is not None
    assert len(edges) == len(values) + 1
    np.testing.assert_allclose((edges[:-1] + edges[1:]) / 2, values)


# --------------------------------------------------------------------------------- line
def test_line_over_a_1d_grid_has_one_point_per_value(tmp_path: Path) -> None:
    theta = [2.0, 0.0, 1.0, 3.0, 0.5]  # unsorted: drawn in increasing theta
    res = _result({"theta": theta})
    path = tmp_path / "line.png"
    ax = res.plot("IZ", path=path)
    xy = _xy(ax)
    assert xy.shape == (5, 2)
    order = np.argsort(theta)
    np.testing.assert_array_equal(xy[:, 0], np.asarray(theta)[order])
    np.testing.assert_allclose(xy[:, 1], res.expectation("IZ")[order])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("theta", "<IZ>")
    _image(path, ax.figure)  # type: ignore[arg-type]


def test_zip_of_several_parameters_is_drawn_point_after_point(tmp_path: Path) -> None:
    res = _result({"theta": [0.0, 1.0, 2.0], "phi": [3.0, 2.0, 1.0]}, mode="zip")
    ax = res.plot(path=tmp_path / "zip.png")
    xy = _xy(ax)
    np.testing.assert_array_equal(xy[:, 0], [0, 1, 2])
    np.testing.assert_allclose(xy[:, 1], res.expectation("ZZ"))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0\n3", "1\n2", "2\n1"]
    assert ax.get_xlabel() == "theta / phi (zipped)"
    _image(tmp_path / "zip.png", ax.figure)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- ax and path
def test_draws_on_a_given_ax_and_saves_only_with_path(tmp_path: Path) -> None:
    res = _result({"theta": THETA, "phi": PHI})
    figure = Figure(figsize=(4, 3), dpi=80)
    ax = figure.add_subplot()
    assert res.plot(ax=ax) is ax
    assert list(tmp_path.iterdir()) == []
    assert np.asarray(_mesh(ax).get_array()).shape == (4, 3)
    other = Figure(figsize=(4, 3), dpi=80).add_subplot()
    path = tmp_path / "sub" / "given.png"
    assert res.plot(ax=other, path=path) is other
    _image(path, other.figure)  # type: ignore[arg-type]


def test_without_ax_or_path_pyplot_makes_the_figure() -> None:
    import matplotlib.pyplot as plt

    res = _result({"theta": THETA})
    ax = res.plot()
    try:
        assert plt.gcf() is ax.figure
        assert _xy(ax).shape == (4, 2)
    finally:
        plt.close(ax.figure)  # type: ignore[arg-type]


def test_svg_is_written_too(tmp_path: Path) -> None:
    res = _result({"theta": THETA, "phi": PHI})
    res.plot(path=tmp_path / "heat.svg")
    assert (tmp_path / "heat.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"expectation": "XZ"}, "expectation"),
        ({"expectation": "ZZZ"}, "expectation"),
        ({"expectation": "ZZ", "outcome": "00"}, "outcome"),
        ({"outcome": "2"}, "outcome"),
        ({"outcome": "001"}, "outcome"),
        ({"outcome": 4}, "outcome"),
        ({"outcome": True}, "outcome"),
        ({"ax": "not axes"}, "ax"),
        ({"path": "heat.txt"}, "path"),
        ({"path": "heat"}, "path"),
    ],
)
def test_bad_choices_name_the_field(kwargs: dict[str, Any], field: str, tmp_path: Path) -> None:
    res = _result({"theta": THETA, "phi": PHI})
    if "path" in kwargs:
        kwargs["path"] = tmp_path / kwargs["path"]
    with pytest.raises(qjobs.InputError) as info:
        res.plot(**kwargs)
    assert info.value.field == field
    assert list(tmp_path.iterdir()) == []


def test_a_3d_grid_is_refused_naming_params(tmp_path: Path) -> None:
    res = _result({"theta": THETA, "phi": PHI, "lam": [0.0, 1.0]})
    with pytest.raises(qjobs.InputError) as info:
        res.plot(path=tmp_path / "x.png")
    assert info.value.field == "params"
    assert info.value.value == ["theta", "phi", "lam"]
    assert "1-D or 2-D" in info.value.reason
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------- Result.plot
def test_result_histogram_has_one_bar_per_outcome(tmp_path: Path) -> None:
    result = Result.from_counts({"000": 480, "111": 470, "010": 30, "101": 20}, 3, job_id="j-1")
    path = tmp_path / "hist.png"
    ax = result.plot(path=path)
    bars = ax.patches
    assert len(bars) == 4
    assert [bar.get_height() for bar in bars] == [480, 30, 20, 470]  # type: ignore[attr-defined]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["000", "010", "101", "111"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("outcome (clbit 0 rightmost)", "counts")
    assert ax.get_title() == "job j-1: 1000 shots"
    second = Result.from_counts({"1": 3}, 1, job_id="j-2", index=2)
    assert second.plot(ax=Figure().add_subplot()).get_title() == "job j-2 [circuit 2]: 3 shots"
    pixels = _image(path, ax.figure)  # type: ignore[arg-type]
    # the bar's colour fills the middle of the tallest bar
    blue = np.asarray(matplotlib.colors.to_rgb("tab:blue"))
    np.testing.assert_allclose(_pixel(pixels, ax, 0, 240), blue, atol=0.02)


def test_result_histogram_on_a_given_ax_and_errors(tmp_path: Path) -> None:
    ax = Figure().add_subplot()
    result = Result.from_counts({"1": 3}, 1)
    assert result.plot(ax=ax) is ax
    assert len(ax.patches) == 1
    with pytest.raises(qjobs.InputError) as info:
        Result.from_counts({}, 2).plot(path=tmp_path / "empty.png")
    assert info.value.field == "counts"
    with pytest.raises(qjobs.InputError) as info:
        result.plot(path=tmp_path / "hist.doc")
    assert info.value.field == "path"
    assert list(tmp_path.iterdir()) == []


def test_a_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'qjobs\[plot\]'"):
        _result({"theta": THETA}).plot()
    with pytest.raises(ImportError, match=r"pip install 'qjobs\[plot\]'"):
        Result.from_counts({"1": 3}, 1).plot()
