"""Numerical gradients by centred differences, and the relative error used to compare gradients."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6,
    max_entries: int | None = None, seed: int = 0,
) -> np.ndarray:
    """Gradient of a scalar function by centred differences, (f(x + eps e_i) - f(x - eps e_i)) / 2 eps.

    Computed in float64 whatever ``x``'s dtype (float32 differences lose most of their digits).
    ``x`` is not modified: each entry is perturbed in a float64 copy and restored.

    Args:
        f: maps an array shaped like ``x`` to a scalar.
        x: the point, any shape.
        eps: the step; 1e-6 balances truncation and rounding error in float64.
        max_entries: if given, only this many entries (chosen at random with ``seed``) are computed
            and the others are NaN: for large tensors, compare ``~np.isnan(g)`` entries.

    Returns:
        float64 array shaped like ``x``.

    Raises:
        ValueError: ``eps`` not positive, or ``f`` does not return a scalar.
    """
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    x = np.array(x, dtype=np.float64)  # a private copy
    grad = np.full(x.shape, np.nan) if max_entries is not None else np.zeros(x.shape)
    flat_idx = np.arange(x.size)
    if max_entries is not None and max_entries < x.size:
        flat_idx = np.random.default_rng(seed).choice(x.size, size=max_entries, replace=False)

    def value(arr: np.ndarray) -> float:
        out = np.asarray(f(arr), dtype=np.float64)
        if out.size != 1:
            raise ValueError(f"f must return a scalar, got an array of shape {out.shape}")
        return float(out.reshape(()))

    for k in flat_idx:
        i = np.unravel_index(k, x.shape)
        old = x[i]
        x[i] = old + eps
        plus = value(x)
        x[i] = old - eps
        minus = value(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-8) -> float:
    """max |a - b| / max(|a| + |b|, floor), elementwise, as one number.

    Around 1e-7 or less in float64 means two gradients agree; 1e-2 or more means a bug. The floor
    keeps entries where both are zero from dividing by zero.

    Raises:
        ValueError: the shapes differ.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))
