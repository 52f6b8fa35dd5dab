"""Unit tests for course_utils.plotting (rendered off-screen with the Agg backend)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba
from matplotlib.contour import ContourSet

from course_utils import plotting
from course_utils.plotting import (
    CLASS_COLOURS,
    plot_decision_boundary,
    plot_history,
    plot_images,
    plot_line,
    use_course_style,
)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    with matplotlib.rc_context():  # whatever a test does to rcParams is undone
        yield
    plt.close("all")


def _pixel(fig, ax, x: float, y: float) -> np.ndarray:
    """RGB (0..1) of the rendered figure at data coordinates (x, y), averaged over a 3x3 patch."""
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3] / 255.0
    px, py = ax.transData.transform((x, y))
    row, col = int(round(img.shape[0] - py)), int(round(px))
    return img[row - 1:row + 2, col - 1:col + 2].reshape(-1, 3).mean(0)


def _blend(colour: str, alpha: float = 0.25) -> np.ndarray:
    return alpha * np.array(to_rgba(colour)[:3]) + (1 - alpha)  # over a white background


def _linear_data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(seed).uniform(-1, 1, (n, 2))
    return X, (X[:, 0] > 0.2).astype(int)


def _linear_predict(grid: np.ndarray) -> np.ndarray:
    return (grid[:, 0] > 0.2).astype(int)


# ---------------------------------------------------------------- plot_decision_boundary

def test_decision_boundary_colours_each_region_by_its_class() -> None:
    X, y = _linear_data()
    fig, ax = plt.subplots(figsize=(4, 4), dpi=80)
    out = plot_decision_boundary(_linear_predict, X, y, ax=ax, title="linear")
    assert out is ax and ax.get_title() == "linear"
    contours = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(contours) == 1
    # the limits cover the data with the padding
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 <= X[:, 0].min() - 0.5 + 1e-9 and x1 >= X[:, 0].max() + 0.5 - 1e-9
    assert y0 <= X[:, 1].min() - 0.5 + 1e-9 and y1 >= X[:, 1].max() + 0.5 - 1e-9
    # rendered colours in the padding (no points there): class 0 left of x = 0.2, class 1 right of it
    left, right = _pixel(fig, ax, x0 + 0.2, 0.0), _pixel(fig, ax, x1 - 0.2, 0.0)
    np.testing.assert_allclose(left, _blend(CLASS_COLOURS[0]), atol=0.03)
    np.testing.assert_allclose(right, _blend(CLASS_COLOURS[1]), atol=0.03)


def test_decision_boundary_points_use_the_class_colours() -> None:
    X, y = _linear_data()
    fig, ax = plt.subplots()
    plot_decision_boundary(_linear_predict, X, y, ax=ax)
    fig.canvas.draw()
    (points,) = [c for c in ax.collections if not isinstance(c, ContourSet)]
    np.testing.assert_allclose(points.get_offsets(), X)
    face = points.get_facecolors()[:, :3]
    expected = np.array([to_rgba(CLASS_COLOURS[k])[:3] for k in y])
    np.testing.assert_allclose(face, expected, atol=1e-6)


def test_decision_boundary_thresholds_scores_and_accepts_tensors() -> None:
    X, y = _linear_data()
    lin = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[10.0, 0.0]]))
        lin.bias.fill_(-2.0)  # sigmoid(10 x0 - 2) > 0.5  <=>  x0 > 0.2

    images = []
    for predict in (_linear_predict,
                    lambda g: 1 / (1 + np.exp(-(10 * g[:, 0] - 2))),               # probabilities
                    lambda g: torch.sigmoid(lin(torch.from_numpy(g))),              # tensor with grad
                    lambda g: torch.from_numpy(g[:, 0] > 0.2)):                     # bool tensor
        fig, ax = plt.subplots(figsize=(3, 3), dpi=50)
        plot_decision_boundary(predict, X, y, ax=ax, resolution=60)
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba()).copy())
    for img in images[1:]:
        assert np.mean(np.any(img != images[0], axis=-1)) < 0.01  # the same picture (up to the boundary)


def test_decision_boundary_three_classes_get_three_colours() -> None:
    X = np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.1, 0.5]])
    y = np.array([0, 1, 2, 1])
    fig, ax = plt.subplots(figsize=(4, 4), dpi=80)
    plot_decision_boundary(lambda g: np.digitize(g[:, 0], [-0.5, 0.5]), X, y, ax=ax)
    (contour,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(contour.levels) == 4
    colours = [_pixel(fig, ax, x, -0.3) for x in (-1.2, 0.0, 1.2)]
    assert min(np.abs(a - b).max() for i, a in enumerate(colours) for b in colours[i + 1:]) > 0.05


def test_decision_boundary_makes_its_own_axes() -> None:
    X, y = _linear_data(10)
    ax = plot_decision_boundary(_linear_predict, X, y, resolution=20)
    assert ax.figure is plt.gcf()


@pytest.mark.parametrize(
    "X, y, predict, message",
    [(np.zeros((5, 3)), np.zeros(5), _linear_predict, r"X must have shape \(n, 2\), got \(5, 3\)"),
     (np.zeros(10), np.zeros(5), _linear_predict, r"X must have shape \(n, 2\), got \(10,\)"),
     (np.zeros((5, 2)), np.zeros(4), _linear_predict, r"y must have shape \(5,\), got \(4,\)"),
     (np.zeros((5, 2)), np.zeros((5, 1)), _linear_predict, r"y must have shape \(5,\), got \(5, 1\)"),
     (np.zeros((5, 2)), np.zeros(5), lambda g: np.zeros(3), r"predict_fn returned 3 values for 400 points")],
)
def test_decision_boundary_rejects_bad_shapes(X, y, predict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plot_decision_boundary(predict, X, y, resolution=20)


# ---------------------------------------------------------------- plot_line

@pytest.mark.parametrize(
    "w, b", [((1.0, 2.0), 0.5), ((3.0, -1.0), -1.0), ((1.0, 0.0), -0.5), ((0.0, 2.0), 1.0)],
    ids=["steep", "shallow", "vertical", "horizontal"],
)
def test_plot_line_draws_the_line_across_the_axes(w: tuple, b: float) -> None:
    fig, ax = plt.subplots()
    ax.set_xlim(-2, 2)
    ax.set_ylim(-3, 3)
    line = plot_line(w, b, ax, color="k", linestyle="--")
    assert line in ax.lines and line.get_color() == "k" and line.get_linestyle() == "--"
    xs, ys = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(w[0] * np.asarray(xs) + w[1] * np.asarray(ys) + b, 0.0, atol=1e-12)
    assert ax.get_xlim() == (-2, 2) and ax.get_ylim() == (-3, 3)
    # it spans the view: its ends are on opposite sides of the box along one axis
    spans_x = np.isclose(min(xs), -2) and np.isclose(max(xs), 2)
    spans_y = np.isclose(min(ys), -3) and np.isclose(max(ys), 3)
    assert spans_x or spans_y


def test_plot_line_zero_weights_and_bad_shape() -> None:
    _, ax = plt.subplots()
    assert plot_line([0.0, 0.0], 1.0, ax) is None
    assert len(ax.lines) == 0
    with pytest.raises(ValueError, match=r"w must have shape \(2,\), got \(3,\)"):
        plot_line([1.0, 2.0, 3.0], 0.0, ax)


# ---------------------------------------------------------------- plot_history

def test_plot_history_loss_and_accuracy_panels() -> None:
    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.2, 0.7, 0.4], "acc": [0.5, 0.8, 0.9],
               "val_acc": [0.4, 0.7, 0.85]}
    axes = plot_history(history, title="run 1")
    assert len(axes) == 2
    loss_ax, acc_ax = axes
    assert [ln.get_label() for ln in loss_ax.lines] == ["loss", "val_loss"]
    assert [ln.get_label() for ln in acc_ax.lines] == ["acc", "val_acc"]
    for ax in axes:
        for ln in ax.lines:
            np.testing.assert_array_equal(ln.get_xdata(), [1, 2, 3])
            np.testing.assert_allclose(ln.get_ydata(), history[ln.get_label()])
        assert ax.get_xlabel() == "epoch" and ax.get_legend() is not None
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert loss_ax.get_yscale() == "log" and acc_ax.get_yscale() == "linear"
    assert loss_ax.figure._suptitle.get_text() == "run 1"


def test_plot_history_loss_only_and_non_positive_loss() -> None:
    axes = plot_history({"loss": [0.3, 0.0, -0.1]})
    assert len(axes) == 1
    assert axes[0].get_yscale() == "linear"  # log scale only for a positive loss
    _, given = plt.subplots()
    out = plot_history({"acc": [0.1, 0.2]}, axes=given)
    assert out[0] is given and given.get_ylabel() == "accuracy"


@pytest.mark.parametrize("history", [{}, {"lr": [0.1, 0.01]}])
def test_plot_history_rejects_empty_history(history: dict) -> None:
    with pytest.raises(ValueError, match=r"history has no 'loss' or 'acc' series \(keys: \[.*\]\)"):
        plot_history(history)


# ---------------------------------------------------------------- plot_images

def _shown(fig) -> list[np.ndarray]:
    return [np.asarray(ax.images[0].get_array()) for ax in fig.axes if ax.images]


def test_plot_images_from_flat_rows() -> None:
    imgs = np.random.default_rng(0).random((12, 64))
    fig = plot_images(imgs, ncols=5)
    assert len(fig.axes) == 15  # 3 rows of 5
    shown = _shown(fig)
    assert len(shown) == 12
    for got, want in zip(shown, imgs, strict=True):
        np.testing.assert_array_equal(got, want.reshape(8, 8))
    assert all(not ax.axison for ax in fig.axes)


def test_plot_images_from_3d_with_labels() -> None:
    imgs = np.random.default_rng(1).random((3, 5, 7))
    fig = plot_images(imgs, labels=["a", 1, "c"])
    assert len(fig.axes) == 3  # ncols is capped at n
    assert [ax.get_title() for ax in fig.axes] == ["a", "1", "c"]
    for got, want in zip(_shown(fig), imgs, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "images, labels, message",
    [(np.zeros((3, 10)), None, "flat images of length 10 are not square"),
     (np.zeros((3, 1, 8, 8)), None, r"images must be \(n, H, W\), got shape \(3, 1, 8, 8\)"),
     (np.zeros(5), None, r"images must be \(n, H, W\)"),
     (np.zeros((3, 8, 8)), ["a", "b"], "2 labels for 3 images")],
)
def test_plot_images_rejects_bad_input(images: np.ndarray, labels, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plot_images(images, labels=labels)


def _limits(fig) -> set[tuple[float, float]]:
    return {tuple(float(v) for v in ax.images[0].get_clim()) for ax in fig.axes if ax.images}


@pytest.mark.parametrize("cmap", ["RdBu", "RdBu_r", "coolwarm", "bwr"])
def test_plot_images_centres_a_diverging_map_on_zero(cmap: str) -> None:
    # values in [-0.2, 0.5]: one shared scale (-0.5, 0.5), so white means 0 in every tile
    imgs = np.stack([np.linspace(-0.2, 0.1, 16), np.linspace(0.0, 0.5, 16)]).reshape(2, 4, 4)
    assert _limits(plot_images(imgs, cmap=cmap)) == {(-0.5, 0.5)}
    assert _limits(plot_images(imgs, cmap=cmap, vmax=2.0)) == {(-2.0, 2.0)}
    assert _limits(plot_images(imgs, cmap=cmap, vmin=-3.0)) == {(-3.0, 3.0)}


def test_plot_images_sequential_map_shares_one_scale() -> None:
    imgs = np.stack([np.full((3, 3), 0.2), np.full((3, 3), 0.6), np.eye(3) * 0.9])
    assert _limits(plot_images(imgs)) == {(0.0, 0.9)}
    assert _limits(plot_images(imgs, cmap="viridis", vmin=0.0, vmax=1.0)) == {(0.0, 1.0)}
    assert _limits(plot_images(np.full((2, 3, 3), 0.4))) == {(0.4, 1.4)}   # constant images: a valid range


def test_plot_images_widens_only_the_limit_taken_from_the_data() -> None:
    # one limit passed, the other from constant data equal to it: the data's limit moves, the passed one stays
    assert _limits(plot_images(np.zeros((4, 8, 8)), vmin=0)) == {(0.0, 1.0)}
    assert _limits(plot_images(np.ones((4, 8, 8)), vmax=1)) == {(0.0, 1.0)}
    assert _limits(plot_images(np.full((2, 3, 3), 0.3), vmin=0.5)) == {(0.5, 1.5)}   # data below vmin
    with pytest.raises(ValueError, match="vmin must be below vmax, got vmin=0, vmax=0"):
        plot_images(np.zeros((4, 8, 8)), vmin=0, vmax=0)                            # both passed: raise


def test_plot_images_colorbar_and_row_labels() -> None:
    imgs = np.random.default_rng(2).standard_normal((6, 4, 4))
    fig = plot_images(imgs, ncols=3, cmap="RdBu", colorbar=True, colorbar_label="weight",
                      row_labels=["first", "second"])
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1 and bars[0].get_ylabel() == "weight"
    lo, hi = bars[0].get_ylim()
    assert np.isclose(lo, -hi) and np.isclose(hi, np.abs(imgs).max())
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["first", "second"]
    assert len(plot_images(imgs, ncols=3).axes) == 6          # sequential map: no colourbar unless asked
    assert len(plot_images(imgs, ncols=3, cmap="RdBu", colorbar=False).axes) == 6


def test_plot_images_draws_a_colourbar_by_default_for_a_diverging_map() -> None:
    imgs = np.random.default_rng(3).standard_normal((4, 3, 3))
    fig = plot_images(imgs, ncols=2, cmap="RdBu_r")
    assert [ax.get_label() for ax in fig.axes].count("<colorbar>") == 1
    assert not any(ax.get_label() == "<colorbar>" for ax in plot_images(np.abs(imgs), ncols=2).axes)


def test_plot_images_row_labels_lie_inside_the_saved_figure() -> None:
    imgs = np.random.default_rng(4).random((6, 8, 8))
    fig = plot_images(imgs, ncols=3, size=0.5, row_labels=["a rather long row label", "second"], colorbar=True)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    for ax in fig.axes:
        for text in ax.texts:
            box = text.get_window_extent(renderer)
            assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height, (text.get_text(), box)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"cmap": "RdBu", "vmin": 0.0, "vmax": 1.0}, "diverging colour map needs limits symmetric around 0"),
     ({"vmin": 1.0, "vmax": 0.5}, "vmin must be below vmax"),
     ({"vmin": 0.5, "vmax": 0.5}, r"vmin must be below vmax, got vmin=0.5, vmax=0.5"),   # not silently widened
     ({"cmap": "RdBu_r", "vmin": 0.5}, "diverging colour map's vmin alone .* must be negative, got vmin=0.5"),
     ({"cmap": "RdBu", "vmax": -0.5}, "diverging colour map's vmax .* must be positive, got vmax=-0.5"),
     ({"cmap": "RdBu", "vmax": 0.0}, "must be positive, got vmax=0.0"),
     ({"ncols": 2, "row_labels": ["a"]}, "1 row labels for 2 rows of 2 images")],
)
def test_plot_images_rejects_bad_scales(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plot_images(np.zeros((4, 3, 3)), **kwargs)


# ---------------------------------------------------------------- style

def test_use_course_style_sets_the_course_rcparams() -> None:
    before = dict(matplotlib.rcParams)
    use_course_style()
    for key, value in plotting.COURSE_STYLE.items():
        got = matplotlib.rcParams[key]
        assert (list(got) if isinstance(got, (list, tuple)) else got) == (
            list(value) if isinstance(value, tuple) else value), key
    changed = {k for k in before if matplotlib.rcParams[k] != before[k]}
    assert changed <= set(plotting.COURSE_STYLE)


def test_importing_plotting_changes_no_rcparams() -> None:
    code = textwrap.dedent("""
        import copy, matplotlib
        before = copy.deepcopy(dict(matplotlib.rcParams))
        import course_utils, course_utils.plotting
        after = dict(matplotlib.rcParams)
        print(sorted(k for k in before if before[k] != after[k]))
        course_utils.plotting.use_course_style()
        print(matplotlib.rcParams["figure.dpi"], matplotlib.rcParams["axes.grid"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    changed, style = out.stdout.splitlines()
    assert changed == "[]"
    assert style == f"{float(plotting.COURSE_STYLE['figure.dpi'])} True"
