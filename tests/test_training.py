"""Unit tests for course_utils.training.fit and accuracy."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.training import accuracy, fit


def _separable(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = (X @ np.array([1.0, -2.0]) > 0).astype(np.int64)
    X += 0.3 * (2 * y[:, None] - 1) * np.array([1.0, -2.0]) / np.sqrt(5)  # open a margin
    return X, y


def _model(seed: int = 0, out: int = 2) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, out))


def test_fit_learns_a_separable_problem() -> None:
    X, y = _separable()
    model = _model()
    history = fit(model, X, y, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.05),
                  epochs=60, batch_size=16, progress=False)
    assert set(history) == {"loss", "acc"}
    assert len(history["loss"]) == len(history["acc"]) == 60
    assert history["acc"][-1] == 1.0
    assert history["loss"][-1] < 0.25 * history["loss"][0]
    assert np.mean(history["loss"][-5:]) < np.mean(history["loss"][:5])
    # the model really learned: evaluate it independently of fit's bookkeeping
    assert not model.training
    with torch.no_grad():
        pred = model(torch.tensor(X, dtype=torch.float32)).argmax(1).numpy()
    np.testing.assert_array_equal(pred, y)


def test_fit_history_is_the_mean_loss_over_the_epoch() -> None:
    # full batch, plain SGD with lr=0: every epoch's loss is the loss of the initial model
    X, y = _separable(20)
    model = _model(1)
    with torch.no_grad():
        logits = model(torch.tensor(X, dtype=torch.float32))
        expected_loss = float(nn.functional.cross_entropy(logits, torch.tensor(y)))
        expected_acc = float((logits.argmax(1).numpy() == y).mean())
    history = fit(model, X, y, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.0),
                  epochs=3, batch_size=7, progress=False)  # 7 + 7 + 6: a weighted mean over batches
    np.testing.assert_allclose(history["loss"], [expected_loss] * 3, rtol=1e-5)
    np.testing.assert_allclose(history["acc"], [expected_acc] * 3, rtol=1e-6)


def test_fit_with_validation_data() -> None:
    X, y = _separable(80)
    X_val, y_val = _separable(40, seed=1)
    model = _model()
    history = fit(model, X, y, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.05),
                  epochs=40, X_val=X_val, y_val=y_val, progress=False)
    assert set(history) == {"loss", "acc", "val_loss", "val_acc"}
    assert all(len(v) == 40 for v in history.values())
    assert history["val_acc"][-1] >= 0.95
    with torch.no_grad():
        logits = model(torch.tensor(X_val, dtype=torch.float32))
        val_loss = float(nn.functional.cross_entropy(logits, torch.tensor(y_val)))
    assert history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)


def test_fit_regression_has_no_accuracy() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2)).astype(np.float32)
    y = (X @ np.array([2.0, -1.0], dtype=np.float32) + 0.5)[:, None]
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    history = fit(model, X, y, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=100,
                  X_val=X[:10], y_val=y[:10], progress=False)
    assert set(history) == {"loss", "val_loss"}
    assert history["loss"][-1] < 1e-3 < history["loss"][0]
    np.testing.assert_allclose(model.weight.detach().numpy(), [[2.0, -1.0]], atol=0.02)


def test_fit_accepts_tensors() -> None:
    X, y = _separable(32)
    model = _model()
    history = fit(model, torch.tensor(X, dtype=torch.float32), torch.tensor(y), nn.CrossEntropyLoss(),
                  torch.optim.Adam(model.parameters(), lr=0.05), epochs=30, progress=False)
    assert history["acc"][-1] == 1.0


def test_fit_is_deterministic_given_the_seeds() -> None:
    X, y = _separable()

    def run(init_seed: int, order_seed: int) -> tuple[dict, list[torch.Tensor]]:
        model = _model(init_seed)
        h = fit(model, X, y, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                epochs=5, batch_size=8, seed=order_seed, progress=False)
        return h, [p.detach().clone() for p in model.parameters()]

    (h1, p1), (h2, p2) = run(0, 0), run(0, 0)
    assert h1 == h2
    assert all(torch.equal(a, b) for a, b in zip(p1, p2, strict=True))
    h3, _ = run(0, 1)  # another mini-batch order
    assert h3["loss"] != h1["loss"]
    h4, _ = run(1, 0)  # another initialisation
    assert h4["loss"] != h1["loss"]


def test_fit_does_not_touch_the_global_torch_generator() -> None:
    X, y = _separable(16)
    model = _model()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    fit(model, X, y, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
        batch_size=4, progress=False)
    assert torch.equal(state, torch.get_rng_state())


def test_fit_without_progress_writes_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    X, y = _separable(16)
    model = _model()
    fit(model, X, y, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=3,
        progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_fit_with_progress_writes_a_bar_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    # the counterpart of the silent case: this is why graded cells must pass progress=False
    X, y = _separable(16)
    model = _model()
    fit(model, X, y, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=3,
        progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "training" in err


@pytest.mark.parametrize(
    "kwargs, message",
    [({"y": np.zeros(5, dtype=np.int64)}, "X has 8 rows but y has 5"),
     ({"epochs": 0}, "epochs must be >= 1, got 0"),
     ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
     ({"batch_size": -4}, "batch_size must be >= 1, got -4")],
)
def test_fit_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    model = _model()
    args = {"X": np.zeros((8, 2)), "y": np.zeros(8, dtype=np.int64), "epochs": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit(model, loss_fn=nn.CrossEntropyLoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            progress=False, **args)


def test_accuracy() -> None:
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.2, 0.1]])
    assert accuracy(logits, torch.tensor([0, 1, 1, 0])) == 0.75
    # one output column: the sign decides
    assert accuracy(torch.tensor([[0.5], [-1.0], [2.0]]), torch.tensor([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(torch.tensor([0.5, -1.0]), torch.tensor([1.0, 0.0])) == 1.0
