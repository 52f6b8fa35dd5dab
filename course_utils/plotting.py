"""Plots the notebooks share: decision boundaries, training curves, image grids, and the course style.

Nothing here changes matplotlib's global state on import; :func:`use_course_style` does, when called.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

COURSE_STYLE: dict[str, Any] = {
    "figure.figsize": (5.0, 3.6),
    "figure.dpi": 80,          # small stored PNGs
    "savefig.dpi": 80,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "image.cmap": "viridis",
}

#: two-class colours used by every decision-boundary plot (class 0, class 1)
CLASS_COLOURS = ("#1f77b4", "#d62728")


def use_course_style() -> None:
    """Apply the course's matplotlib style (small figures, light grid) for the rest of the session."""
    import matplotlib as mpl

    mpl.rcParams.update(COURSE_STYLE)


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def plot_decision_boundary(
    predict_fn: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray, ax: Any = None,
    resolution: int = 200, padding: float = 0.5, title: str | None = None,
) -> Any:
    """Colour the plane by ``predict_fn``'s class and scatter the labelled points on top.

    Args:
        predict_fn: maps an (m, 2) array to (m,) class labels (or scores; they are rounded after a
            threshold at 0.5 when they are not integers).
        X: (n, 2) points, y: (n,) integer labels.
        ax: the axes to draw on (a new figure when None).
        resolution: grid points per side.

    Returns:
        the matplotlib axes.

    Raises:
        ValueError: X is not (n, 2), y does not have n entries, or predict_fn returns the wrong size.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    ax = _axes(ax)
    (x0, y0), (x1, y1) = X.min(0) - padding, X.max(0) + padding
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.c_[gx.ravel(), gy.ravel()]
    z = predict_fn(grid)
    if hasattr(z, "detach"):  # a torch.Tensor, perhaps requiring grad or on the GPU
        z = z.detach().cpu().numpy()
    z = np.asarray(z).reshape(-1)
    if z.size != grid.shape[0]:
        raise ValueError(f"predict_fn returned {z.size} values for {grid.shape[0]} points")
    if not np.issubdtype(z.dtype, np.integer):
        z = (z > 0.5).astype(int)
    classes = np.unique(np.concatenate([np.unique(y), np.unique(z)]))
    from matplotlib.colors import ListedColormap

    colours = list(CLASS_COLOURS) if len(classes) <= 2 else [f"C{i}" for i in range(len(classes))]
    cmap = ListedColormap(colours[: len(classes)])
    levels = np.arange(len(classes) + 1) - 0.5
    ax.contourf(gx, gy, np.searchsorted(classes, z).reshape(gx.shape), levels=levels, cmap=cmap, alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=np.searchsorted(classes, y), cmap=cmap, vmin=-0.5,
               vmax=len(classes) - 0.5, s=18, edgecolors="k", linewidths=0.4)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def plot_line(w: Sequence[float], b: float, ax: Any, **kwargs: Any) -> Any:
    """Draw the line ``w[0] x1 + w[1] x2 + b = 0`` across the current axes limits.

    Returns the Line2D, or None when ``w`` is zero (no line).
    """
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (2,):
        raise ValueError(f"w must have shape (2,), got {w.shape}")
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    if np.allclose(w, 0):
        return None
    if abs(w[1]) > abs(w[0]):
        xs = np.array([x0, x1])
        ys = -(w[0] * xs + b) / w[1]
    else:
        ys = np.array([y0, y1])
        xs = -(w[1] * ys + b) / w[0]
    (line,) = ax.plot(xs, ys, **kwargs)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    return line


def plot_history(history: Mapping[str, Sequence[float]], axes: Any = None, title: str | None = None) -> Any:
    """Plot training curves: one panel for every key holding "loss", one for every "acc" key.

    ``history`` maps names (``"loss"``, ``"val_loss"``, ``"acc"``, ``"val_acc"``, ...) to one value per
    epoch, as :func:`course_utils.training.fit` returns it.

    Returns:
        the array of matplotlib axes.

    Raises:
        ValueError: ``history`` is empty or holds no loss and no accuracy series.
    """
    import matplotlib.pyplot as plt

    losses = [k for k in history if "loss" in k]
    accs = [k for k in history if "acc" in k]
    if not losses and not accs:
        raise ValueError(f"history has no 'loss' or 'acc' series (keys: {sorted(history)})")
    groups = [g for g in (losses, accs) if g]
    if axes is None:
        _, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.2), squeeze=False)
        axes = axes[0]
    axes = np.atleast_1d(axes)
    for ax, keys in zip(axes, groups):
        for k in keys:
            values = np.asarray(history[k], dtype=np.float64)
            ax.plot(np.arange(1, len(values) + 1), values, label=k)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if keys is losses else "accuracy")
        if keys is losses and all(np.all(np.asarray(history[k]) > 0) for k in keys):
            ax.set_yscale("log")
        ax.legend()
    if title:
        axes[0].figure.suptitle(title)
    return axes


#: colour maps whose middle colour means "zero": plot_images gives them limits symmetric around 0
DIVERGING_CMAPS = frozenset({
    "BrBG", "PiYG", "PRGn", "PuOr", "RdBu", "RdGy", "RdYlBu", "RdYlGn", "Spectral", "bwr", "coolwarm",
    "seismic", "berlin", "managua", "vanimo",
})


def _is_diverging(cmap: Any) -> bool:
    name = cmap if isinstance(cmap, str) else getattr(cmap, "name", "")
    return name.removesuffix("_r") in DIVERGING_CMAPS


def plot_images(
    images: np.ndarray, labels: Sequence[Any] | None = None, ncols: int = 10, cmap: Any = "gray_r",
    size: float = 0.9, *, vmin: float | None = None, vmax: float | None = None, colorbar: bool | None = None,
    colorbar_label: str | None = None, row_labels: Sequence[Any] | None = None,
) -> Any:
    """Show a grid of images (n, H, W) (or flat (n, H*W) with a square H = W) on one colour scale.

    Every tile shares one colour scale, so equal values look equal in every tile and one colourbar serves
    the grid. With a diverging map (``RdBu``, ``bwr``, ``coolwarm``, ... and their ``_r`` versions, see
    :data:`DIVERGING_CMAPS`) the limits are symmetric around 0, ``(-m, m)`` with ``m`` the largest
    ``|value|``, so the map's neutral middle colour is exactly 0. With a sequential map (the default
    ``gray_r``, for non-negative images such as pixel intensities) the limits are the smallest and the
    largest value. ``vmin`` and ``vmax`` override them (NaN entries are left blank).

    Args:
        images: (n, H, W), or (n, H*W) with H = W.
        labels: n titles, one above each tile (short ones: long titles overlap when ``size`` is small).
        ncols: tiles per row (at most n).
        cmap: a matplotlib colour map or its name.
        size: the side of one tile in inches.
        vmin, vmax: colour limits; for a diverging map they must be symmetric (``vmin == -vmax``), and one
            of them alone sets the other (so ``vmin`` alone must be negative, ``vmax`` alone positive).
            Only limits taken from the data are widened: constant images get ``(value, value + 1)``, and a
            limit taken from the data that would not lie beyond the one you passed becomes ``vmin + 1`` (or
            ``vmax - 1``); limits you pass are used as given.
        colorbar: draw one colourbar for the whole grid, to its right, labelled ``colorbar_label``. The
            default (None) draws one for a diverging map (its colours mean a signed value) and none for a
            sequential one.
        row_labels: one label per row of tiles, written to the left of the row inside the figure (a margin
            is reserved for them), for grids whose rows each show one kind of image: no titles to overlap.

    Returns:
        the matplotlib figure.

    Raises:
        ValueError: images are not (n, H, W) or square-flattened; labels do not match n or row_labels the
            number of rows; limits of a diverging map are not symmetric around 0, or a single limit of a
            diverging map has the wrong sign; you pass vmin >= vmax (also vmin == vmax).
    """
    import matplotlib.pyplot as plt

    imgs = np.asarray(images)
    if imgs.ndim == 2:
        side = int(round(np.sqrt(imgs.shape[1])))
        if side * side != imgs.shape[1]:
            raise ValueError(f"flat images of length {imgs.shape[1]} are not square; pass (n, H, W)")
        imgs = imgs.reshape(-1, side, side)
    if imgs.ndim != 3:
        raise ValueError(f"images must be (n, H, W), got shape {imgs.shape}")
    if labels is not None and len(labels) != len(imgs):
        raise ValueError(f"{len(labels)} labels for {len(imgs)} images")
    n = len(imgs)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(f"{len(row_labels)} row labels for {nrows} rows of {ncols} images")
    finite = imgs[np.isfinite(imgs)]
    if finite.size == 0:
        finite = np.zeros(1)
    if _is_diverging(cmap):
        if vmin is not None and vmax is not None and not np.isclose(vmin, -vmax):
            raise ValueError(f"a diverging colour map needs limits symmetric around 0, got vmin={vmin}, "
                             f"vmax={vmax}: pass vmax alone (vmin = -vmax) or use a sequential map")
        if vmax is not None and not vmax > 0:
            raise ValueError(f"a diverging colour map's vmax sets the limits (-vmax, vmax), so it must be "
                             f"positive, got vmax={vmax}")
        if vmax is None and vmin is not None and not vmin < 0:
            raise ValueError(f"a diverging colour map's vmin alone sets the limits (vmin, -vmin), so it must be "
                             f"negative, got vmin={vmin}")
        m = vmax if vmax is not None else (-vmin if vmin is not None else float(np.abs(finite).max()))
        vmin, vmax = -(m or 1.0), (m or 1.0)
    else:
        lo, hi = float(finite.min()), float(finite.max())
        if vmin is None and vmax is None:
            vmin, vmax = (lo, hi) if lo < hi else (lo, lo + 1.0)     # constant images: a valid range
        elif vmax is None:      # only the limit taken from the data is widened, never one you passed
            vmax = hi if hi > vmin else vmin + 1.0
        elif vmin is None:
            vmin = lo if lo < vmax else vmax - 1.0
    if not vmin < vmax:
        raise ValueError(f"vmin must be below vmax, got vmin={vmin}, vmax={vmax}")
    if colorbar is None:
        colorbar = _is_diverging(cmap)
    label_width = 0.0
    if row_labels is not None:      # inches for the longest row label (8-point text) and a small gap
        label_width = 0.07 * max(len(str(t)) for t in row_labels) + 0.1 if len(row_labels) else 0.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + label_width, size * nrows * 1.15),
                             squeeze=False)
    if label_width:
        fig.subplots_adjust(left=label_width / (size * ncols + label_width))
    shown = None
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < n:
            shown = ax.imshow(imgs[k], cmap=cmap, vmin=vmin, vmax=vmax)
            if labels is not None:
                ax.set_title(str(labels[k]), fontsize=8)
    for r, text in enumerate(row_labels or []):
        axes[r, 0].text(-0.05, 0.5, str(text), transform=axes[r, 0].transAxes, ha="right", va="center",
                        fontsize=8)
    if colorbar and shown is not None:
        bar = fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=min(1.0, 2.5 / nrows + 0.2), pad=0.02)
        if colorbar_label:
            bar.set_label(colorbar_label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    return fig
