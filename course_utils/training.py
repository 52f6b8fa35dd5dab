"""A short PyTorch training loop with a progress bar and a history, for the notebooks' experiments."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _as_tensor(a: Any, device: Any, dtype: Any = None) -> Any:
    import torch

    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    if dtype is not None:
        t = t.to(dtype)
    return t.to(device)


def accuracy(logits: Any, y: Any) -> float:
    """Fraction of rows whose arg-max (or, for one output column, whose sign) matches ``y``."""
    import torch

    with torch.no_grad():
        if logits.ndim == 1 or logits.shape[-1] == 1:
            pred = (logits.reshape(-1) > 0).long()
        else:
            pred = logits.argmax(dim=-1)
        return float((pred == y.reshape(-1).long()).float().mean())


def fit(
    model: Any, X: Any, y: Any, loss_fn: Callable[[Any, Any], Any], optimizer: Any, epochs: int = 100,
    batch_size: int | None = None, X_val: Any = None, y_val: Any = None, seed: int = 0,
    progress: bool = True, device: Any = None,
) -> dict[str, list[float]]:
    """Train ``model`` on (X, y) with mini-batches, recording loss and accuracy per epoch.

    Args:
        model: a ``torch.nn.Module`` (moved to ``device``).
        X: (N, ...) inputs; y: (N,) integer labels (or float targets for a single-output model).
        loss_fn: called as ``loss_fn(model(xb), yb)``.
        optimizer: a ``torch.optim.Optimizer`` over ``model``'s parameters.
        epochs: passes over the data.
        batch_size: examples per step; None for full-batch gradient descent.
        X_val, y_val: optional held-out data, evaluated after each epoch.
        seed: fixes the order of the mini-batches.
        progress: show a tqdm progress bar (keep it False inside graded cells: it writes to stderr).
        device: where to train; the model's current device when None.

    Returns:
        history: ``{"loss": [...], "acc": [...]}`` plus ``"val_loss"``, ``"val_acc"`` with validation
        data; accuracy is recorded for classification targets (integer ``y``) only.

    Raises:
        ValueError: X and y differ in length, epochs < 1, or batch_size < 1.
    """
    import torch
    from tqdm.auto import tqdm

    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    model.to(device)
    Xt = _as_tensor(X, device, torch.float32 if not torch.is_tensor(X) else None)
    yt = _as_tensor(y, device)
    if len(Xt) != len(yt):
        raise ValueError(f"X has {len(Xt)} rows but y has {len(yt)}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    classify = not torch.is_floating_point(yt)
    has_val = X_val is not None and y_val is not None
    if has_val:
        Xv = _as_tensor(X_val, device, torch.float32 if not torch.is_tensor(X_val) else None)
        yv = _as_tensor(y_val, device)
    n = len(Xt)
    bs = n if batch_size is None else batch_size
    gen = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"loss": []}
    if classify:
        history["acc"] = []
    if has_val:
        history["val_loss"] = []
        if classify:
            history["val_acc"] = []
    bar = tqdm(range(epochs), disable=not progress, desc="training", leave=False)
    for _ in bar:
        model.train()
        order = torch.randperm(n, generator=gen).to(device) if bs < n else torch.arange(n, device=device)
        total, correct = 0.0, 0.0
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            xb, yb = Xt[idx], yt[idx]
            optimizer.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            if classify:
                correct += accuracy(out.detach(), yb) * len(idx)
        history["loss"].append(total / n)
        if classify:
            history["acc"].append(correct / n)
        if has_val:
            model.eval()
            with torch.no_grad():
                out = model(Xv)
                history["val_loss"].append(float(loss_fn(out, yv)))
                if classify:
                    history["val_acc"].append(accuracy(out, yv))
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}")
    model.eval()
    return history
