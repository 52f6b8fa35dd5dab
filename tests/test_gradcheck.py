"""Unit tests for course_utils.gradcheck against closed forms and PyTorch autograd (float64)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from course_utils.gradcheck import numerical_gradient, relative_error

# Tight enough that a forward difference (error ~ eps/2 * f'') or a float32 computation would fail.
RTOL, ATOL = 1e-7, 1e-8


def _torch_grad(fn: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray) -> np.ndarray:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    fn(t).backward()
    return t.grad.numpy()


def _random_point(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # non-degenerate: no zeros, no ties, entries of both signs
    return rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


# ---------------------------------------------------------------- closed forms

@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_closed_forms(shape: tuple[int, ...]) -> None:
    x = _random_point(shape, seed=len(shape))
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v ** 2), x), 2 * x, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(np.sin(v)), x), np.cos(x),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(np.exp(v)), x), np.exp(x),
                               rtol=RTOL, atol=ATOL)


def test_quadratic_form() -> None:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    x = rng.standard_normal(6)
    got = numerical_gradient(lambda v: v @ A @ v, x)
    np.testing.assert_allclose(got, (A + A.T) @ x, rtol=RTOL, atol=ATOL)


def test_softmax_cross_entropy_gradient_is_probabilities_minus_one_hot() -> None:
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 5))
    y = np.array([0, 3, 1, 4])

    def loss(z: np.ndarray) -> float:
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -logp[np.arange(4), y].mean()

    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = (p - np.eye(5)[y]) / 4
    np.testing.assert_allclose(numerical_gradient(loss, logits), expected, rtol=1e-6, atol=1e-9)


def test_uses_centred_differences_with_step_eps() -> None:
    # For f = sum(x^3), (f(x+e) - f(x-e)) / 2e = 3 x^2 + e^2 exactly: checks the formula and that eps is used.
    x = _random_point((3, 2), seed=5)
    for eps in (0.1, 0.01):
        got = numerical_gradient(lambda v: np.sum(v ** 3), x, eps=eps)
        np.testing.assert_allclose(got, 3 * x ** 2 + eps ** 2, rtol=1e-9)


def test_zero_dimensional_input() -> None:
    g = numerical_gradient(lambda v: float(v) ** 2, np.array(1.5))
    assert g.shape == () and g.dtype == np.float64
    assert float(g) == pytest.approx(3.0, rel=1e-8)


# ---------------------------------------------------------------- against torch.autograd

TORCH_FUNCTIONS = {
    "tanh_weighted": lambda t: (torch.tanh(t) * torch.arange(t.numel(), dtype=t.dtype).view(t.shape)).sum(),
    "logsumexp": lambda t: torch.logsumexp(t.reshape(-1), 0),
    "norm_times_sigmoid": lambda t: t.norm() * torch.sigmoid(t).mean(),
    "mixed_axes": lambda t: (t.sum(0) ** 2).sum() + (t.cumsum(-1) * t).mean(),
}


@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
@pytest.mark.parametrize("name", sorted(TORCH_FUNCTIONS))
def test_matches_torch_autograd_in_float64(name: str, shape: tuple[int, ...]) -> None:
    fn = TORCH_FUNCTIONS[name]
    x = _random_point(shape, seed=len(name) * 100 + sum(shape))
    expected = _torch_grad(fn, x)
    got = numerical_gradient(lambda v: fn(torch.from_numpy(v)).item(), x)
    assert got.shape == x.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    assert relative_error(got, expected) < 1e-7


def test_f_may_return_a_zero_dim_tensor_or_a_one_element_array() -> None:
    x = _random_point((3,), seed=2)
    g1 = numerical_gradient(lambda v: torch.from_numpy(v).pow(2).sum(), x)
    g2 = numerical_gradient(lambda v: np.array([np.sum(v ** 2)]), x)
    np.testing.assert_allclose(g1, 2 * x, rtol=RTOL)
    np.testing.assert_allclose(g2, 2 * x, rtol=RTOL)


# ---------------------------------------------------------------- dtype and side effects

def test_float32_input_still_gives_an_accurate_float64_result() -> None:
    x32 = _random_point((3, 4), seed=3).astype(np.float32)
    seen: list[np.dtype] = []

    def f(v: np.ndarray) -> float:
        seen.append(v.dtype)
        return float(np.sum(np.sin(v)))

    g = numerical_gradient(f, x32)
    assert g.dtype == np.float64
    assert set(seen) == {np.dtype(np.float64)}
    # float32 differences with eps=1e-6 would be off by ~1e-1; float64 ones are accurate
    np.testing.assert_allclose(g, np.cos(x32.astype(np.float64)), rtol=RTOL, atol=ATOL)


def test_x_is_not_modified_and_each_call_perturbs_one_entry() -> None:
    x = _random_point((2, 3, 2), seed=4)
    original = x.copy()
    calls: list[np.ndarray] = []

    def f(v: np.ndarray) -> float:
        calls.append(v.copy())
        return float(np.sum(v ** 2))

    eps = 1e-3
    numerical_gradient(f, x, eps=eps)
    np.testing.assert_array_equal(x, original)
    assert len(calls) == 2 * x.size
    for v in calls:  # every evaluation is x with exactly one entry moved by +-eps (the rest restored)
        diff = v - original
        assert np.count_nonzero(diff) == 1
        np.testing.assert_allclose(np.abs(diff[diff != 0]), eps, rtol=1e-9)


def test_x_is_not_modified_when_f_modifies_its_argument() -> None:
    # a careless f that writes into its input must not corrupt the caller's x
    x = _random_point((4,), seed=6)
    original = x.copy()

    def f(v: np.ndarray) -> float:
        value = float(np.sum(v ** 2))
        v *= 0  # on purpose: the point of the test
        return value

    numerical_gradient(f, x)
    np.testing.assert_array_equal(x, original)


# ---------------------------------------------------------------- sampling

def test_max_entries_samples_and_leaves_nan_elsewhere() -> None:
    x = _random_point((4, 5, 3), seed=7)
    expected = 3 * x ** 2
    calls = []

    def f(v: np.ndarray) -> float:
        calls.append(1)
        return float(np.sum(v ** 3))

    g = numerical_gradient(f, x, max_entries=9, seed=1)
    assert g.shape == x.shape and g.dtype == np.float64
    done = ~np.isnan(g)
    assert done.sum() == 9
    assert len(calls) == 18  # only the sampled entries are evaluated
    np.testing.assert_allclose(g[done], expected[done], rtol=RTOL, atol=ATOL)

    again = numerical_gradient(lambda v: np.sum(v ** 3), x, max_entries=9, seed=1)
    np.testing.assert_array_equal(np.isnan(again), np.isnan(g))  # the seed fixes the sample
    other = numerical_gradient(lambda v: np.sum(v ** 3), x, max_entries=9, seed=2)
    assert not np.array_equal(np.isnan(other), np.isnan(g))


def test_max_entries_larger_than_size_computes_everything() -> None:
    x = _random_point((2, 3), seed=8)
    g = numerical_gradient(lambda v: np.sum(v ** 2), x, max_entries=100)
    assert not np.isnan(g).any()
    np.testing.assert_allclose(g, 2 * x, rtol=RTOL)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("eps", [0.0, -1e-6, float("nan")])
def test_rejects_non_positive_eps(eps: float) -> None:
    with pytest.raises(ValueError, match="eps must be > 0"):
        numerical_gradient(lambda v: np.sum(v), np.ones(3), eps=eps)


def test_rejects_non_scalar_f() -> None:
    with pytest.raises(ValueError, match=r"f must return a scalar, got an array of shape \(3,\)"):
        numerical_gradient(lambda v: v * 2, np.ones(3))


# ---------------------------------------------------------------- relative_error

def test_relative_error_is_zero_for_equal_arrays() -> None:
    a = _random_point((3, 4), seed=9)
    assert relative_error(a, a.copy()) == 0.0
    assert relative_error(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0  # the floor avoids 0/0
    assert relative_error(np.zeros(0), np.zeros(0)) == 0.0


def test_relative_error_known_values_and_symmetry() -> None:
    a, b = np.array([1.0, 2.0, -3.0]), np.array([1.0, 2.2, -3.0])
    assert relative_error(a, b) == pytest.approx(0.2 / 4.2, rel=1e-12)
    assert relative_error(b, a) == relative_error(a, b)
    assert relative_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)  # opposite signs: maximal
    assert relative_error(np.array([2.0]), np.array([0.0])) == pytest.approx(1.0)
    # scale invariant (above the floor)
    assert relative_error(1e3 * a, 1e3 * b) == pytest.approx(relative_error(a, b), rel=1e-12)
    # the maximum over entries, not a mean
    assert relative_error(np.array([1.0, 1.0, 1.0]), np.array([1.0, 1.0, 3.0])) == pytest.approx(0.5)


def test_relative_error_floor() -> None:
    tiny_a, tiny_b = np.array([1e-9]), np.array([0.0])
    assert relative_error(tiny_a, tiny_b) == pytest.approx(1e-9 / 1e-8)  # floor 1e-8 applies
    assert relative_error(tiny_a, tiny_b, floor=1e-12) == pytest.approx(1.0)
    assert relative_error(tiny_a, tiny_b, floor=1.0) == pytest.approx(1e-9)


def test_relative_error_accepts_lists_and_tensors() -> None:
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error(torch.tensor([1.0, 3.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)


@pytest.mark.parametrize("a_shape, b_shape", [((3,), (3, 1)), ((2, 3), (3, 2)), ((4,), (5,))])
def test_relative_error_rejects_shape_mismatch(a_shape: tuple, b_shape: tuple) -> None:
    with pytest.raises(ValueError, match=r"shapes differ: \(.*\) vs \(.*\)"):
        relative_error(np.ones(a_shape), np.ones(b_shape))
