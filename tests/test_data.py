"""Unit tests for course_utils.data: shapes, dtypes, labels, determinism, global state, guarantees."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from course_utils import data

# One call per generator with small sizes, used by the tests that apply to all of them.
GENERATORS = {
    "xor": lambda seed: data.make_xor(16, noise=0.1, seed=seed),
    "blobs": lambda seed: data.make_blobs(40, margin=0.3, dim=3, seed=seed),
    "spirals": lambda seed: data.make_spirals(60, classes=3, seed=seed),
    "digits": lambda seed: data.load_digits(seed=seed),
    "mnist1d": lambda seed: data.make_mnist1d(num_samples=200, seed=seed),
}


def _global_states() -> tuple:
    np_state = np.random.get_state()
    return (np_state[0], np_state[1].copy(), *np_state[2:]), random.getstate(), torch.get_rng_state()


def _assert_same_states(before: tuple, after: tuple) -> None:
    (np_b, py_b, torch_b), (np_a, py_a, torch_a) = before, after
    assert np_b[0] == np_a[0] and np.array_equal(np_b[1], np_a[1]) and np_b[2:] == np_a[2:], \
        "numpy's global RNG state changed"
    assert py_b == py_a, "Python's `random` state changed"
    assert torch.equal(torch_b, torch_a), "torch's global RNG state changed"


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_gives_identical_arrays(name: str) -> None:
    first, second = GENERATORS[name](3), GENERATORS[name](3)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_different_seed_gives_different_arrays(name: str) -> None:
    first, second = GENERATORS[name](3), GENERATORS[name](4)
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_global_random_state_is_untouched(name: str) -> None:
    # Put every global generator in a known, non-default state first.
    np.random.seed(12345)
    random.seed(12345)
    torch.manual_seed(12345)
    before = _global_states()
    GENERATORS[name](7)
    _assert_same_states(before, _global_states())
    # ... and the global streams go on as if nothing had happened.
    np.random.seed(12345)
    random.seed(12345)
    expected = (np.random.random(3), random.random())
    np.random.seed(12345)
    random.seed(12345)
    GENERATORS[name](7)
    np.testing.assert_array_equal(np.random.random(3), expected[0])
    assert random.random() == expected[1]


# ---------------------------------------------------------------- make_xor

def test_make_xor_four_points_is_the_truth_table() -> None:
    X, y = data.make_xor(4)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert X.shape == (4, 2) and y.shape == (4,)


def test_make_xor_labels_follow_the_nearest_corner() -> None:
    X, y = data.make_xor(203, noise=0.1, seed=1)
    assert X.shape == (203, 2) and y.shape == (203,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    corner = np.round(X).clip(0, 1).astype(int)  # noise 0.1 keeps nearly all points in their quadrant
    xor = corner[:, 0] ^ corner[:, 1]
    assert np.mean(xor == y) > 0.99
    # corners used in turn: each appears 50 or 51 times out of 203
    counts = np.bincount(corner[:, 0] * 2 + corner[:, 1], minlength=4)
    assert counts.min() >= 48 and counts.max() <= 53
    assert abs(int(np.sum(y == 1)) - int(np.sum(y == 0))) <= 3


def test_make_xor_noise_has_the_requested_spread() -> None:
    X, y = data.make_xor(4000, noise=0.2, seed=0)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    # with noise 0.2 the nearest corner is the true one for the vast majority; estimate the std there
    nearest = corners[np.argmin(((X[:, None, :] - corners[None]) ** 2).sum(-1), axis=1)]
    assert abs(np.std(X - nearest) - 0.2) < 0.02
    X0, _ = data.make_xor(8, noise=0.0, seed=5)
    assert set(map(tuple, X0)) == set(map(tuple, corners))  # no noise: exactly the corners


@pytest.mark.parametrize(
    "kwargs, message",
    [({"n": 0}, "n must be an integer >= 1"), ({"n": -3}, "n must be"), ({"n": 2.5}, "n must be"),
     ({"n": True}, "n must be"), ({"noise": -0.1}, "noise must be a finite number >= 0"),
     ({"noise": float("nan")}, "noise must be")],
)
def test_make_xor_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        data.make_xor(**kwargs)


# ---------------------------------------------------------------- make_blobs

@pytest.mark.parametrize("n, dim, margin, spread", [(101, 2, 0.5, 1.0), (60, 5, 1.5, 0.3), (7, 1, 0.0, 2.0)])
def test_make_blobs_margin_guarantee_and_balance(n: int, dim: int, margin: float, spread: float) -> None:
    X, y, w = data.make_blobs(n, margin=margin, dim=dim, spread=spread, seed=2)
    assert X.shape == (n, dim) and y.shape == (n,) and w.shape == (dim,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert np.linalg.norm(w) == pytest.approx(1.0, abs=1e-12)
    signed_distance = (2 * y - 1) * (X @ w)
    assert np.all(signed_distance >= margin)
    assert abs(int(np.sum(y == 1)) - int(np.sum(y == 0))) <= 1
    # the classes are not ordered: labels are shuffled
    if n > 20:
        assert not np.array_equal(y, np.sort(y)) and not np.array_equal(y, np.arange(n) % 2)


def test_make_blobs_is_separable_by_a_perceptron_style_check() -> None:
    # Independent check of separability: scikit-learn's linear SVM separates it perfectly.
    from sklearn.svm import LinearSVC

    X, y, _ = data.make_blobs(200, margin=0.5, seed=0)
    assert LinearSVC(C=100.0, max_iter=20000).fit(X, y).score(X, y) == 1.0


def test_make_blobs_centres_follow_w() -> None:
    X, y, w = data.make_blobs(4000, margin=0.2, dim=3, spread=0.5, seed=4)
    # class means lie on the +-w side, far beyond the margin
    assert X[y == 1].mean(0) @ w > 0.2 and X[y == 0].mean(0) @ w < -0.2
    # the orthogonal spread is the requested one
    ortho = X - np.outer(X @ w, w)
    assert abs(ortho.std() * np.sqrt(3 / 2) - 0.5) < 0.05


@pytest.mark.parametrize(
    "kwargs, message",
    [({"n": 0}, "n must be an integer >= 1"), ({"dim": 0}, "dim must be an integer >= 1"),
     ({"margin": -1.0}, "margin must be a finite number >= 0"), ({"spread": 0.0}, "spread must be > 0"),
     ({"spread": -1.0}, "spread must be > 0"), ({"margin": float("inf")}, "margin must be")],
)
def test_make_blobs_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        data.make_blobs(**kwargs)


# ---------------------------------------------------------------- make_spirals

def test_make_spirals_shapes_labels_and_range() -> None:
    X, y = data.make_spirals(301, classes=3, seed=0)
    assert X.shape == (301, 2) and y.shape == (301,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(np.unique(y), [0, 1, 2])
    assert np.bincount(y).max() - np.bincount(y).min() <= 1
    assert np.all(np.abs(X) <= 1.0)


def test_make_spirals_is_not_linearly_separable_but_is_learnable() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    X, y = data.make_spirals(seed=0)
    X_test, y_test = data.make_spirals(seed=1)
    linear = LogisticRegression().fit(X, y).score(X, y)  # even on its own training data
    assert linear < 0.9
    assert KNeighborsClassifier(5).fit(X, y).score(X_test, y_test) > 0.95


@pytest.mark.parametrize(
    "kwargs, message",
    [({"classes": 1}, "classes must be an integer >= 2"),
     ({"n": 2, "classes": 3}, "n must be an integer >= 3"),
     ({"noise": -0.5}, "noise must be a finite number >= 0")],
)
def test_make_spirals_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        data.make_spirals(**kwargs)


# ---------------------------------------------------------------- load_digits

def test_load_digits_scaled_split_and_stratified() -> None:
    from sklearn.datasets import load_digits as sk_load_digits

    X_train, X_test, y_train, y_test = data.load_digits(seed=0)
    reference = sk_load_digits()
    n = len(reference.target)
    assert X_train.shape[1] == X_test.shape[1] == 64
    assert len(X_train) + len(X_test) == n and len(X_train) == len(y_train) and len(X_test) == len(y_test)
    assert len(X_test) == int(np.ceil(0.25 * n))
    assert X_train.dtype == X_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    both = np.concatenate([X_train, X_test])
    assert both.min() == 0.0 and both.max() == 1.0
    np.testing.assert_array_equal(np.unique(y_train), np.arange(10))
    np.testing.assert_array_equal(np.unique(y_test), np.arange(10))
    # the same images as scikit-learn's, scaled by 1/16
    ref_rows = {row.tobytes() for row in (reference.data / 16.0).astype(np.float32)}
    assert all(row.tobytes() in ref_rows for row in X_test)
    # stratified: each class's share of the test set is its share of the whole (within one image)
    expected = np.bincount(reference.target) * len(y_test) / n
    assert np.all(np.abs(np.bincount(y_test, minlength=10) - expected) <= 1.0)


def test_load_digits_split_is_fixed_by_seed() -> None:
    a = data.load_digits(seed=0)
    b = data.load_digits(seed=0)
    c = data.load_digits(seed=1)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[3], c[3])
    small = data.load_digits(test_size=0.1)
    assert len(small[1]) == int(np.ceil(0.1 * (len(small[0]) + len(small[1]))))


@pytest.mark.parametrize("test_size", [0, 1, 1.5, -0.2])
def test_load_digits_rejects_bad_test_size(test_size: float) -> None:
    with pytest.raises(ValueError, match="test_size must be between 0 and 1"):
        data.load_digits(test_size=test_size)


# ---------------------------------------------------------------- make_mnist1d

def test_make_mnist1d_shapes_and_labels() -> None:
    X_train, X_test, y_train, y_test = data.make_mnist1d(num_samples=200)
    assert X_train.shape == (160, 40) and X_test.shape == (40, 40)
    assert y_train.shape == (160,) and y_test.shape == (40,)
    assert X_train.dtype == X_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    assert set(np.unique(np.concatenate([y_train, y_test]))) == set(range(10))
    assert np.all(np.bincount(np.concatenate([y_train, y_test])) == 20)  # 200 / 10 per class
    assert np.all(np.isfinite(X_train)) and X_train.std() > 0.1


def test_make_mnist1d_default_size_is_4000_and_1000() -> None:
    # mnist1d's generator is linear in num_samples; check the default split arithmetic on a small
    # call with the default train_split, then the default num_samples from the signature.
    import inspect

    assert inspect.signature(data.make_mnist1d).parameters["num_samples"].default == 5000
    X_train, X_test, _, _ = data.make_mnist1d(num_samples=500)
    assert X_train.shape == (400, 40) and X_test.shape == (100, 40)


def test_datasets_need_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access: {args}")

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert len(data.make_mnist1d(num_samples=20, seed=3)[0]) == 16
    assert len(data.load_digits(seed=3)[0]) > 1000


@pytest.mark.parametrize(
    "kwargs, message",
    [({"num_samples": 5}, "num_samples must be an integer >= 10"),
     ({"num_samples": 100, "train_split": 1.0}, "train_split must be between 0 and 1"),
     ({"num_samples": 100, "train_split": 0}, "train_split must be between 0 and 1")],
)
def test_make_mnist1d_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        data.make_mnist1d(**kwargs)
