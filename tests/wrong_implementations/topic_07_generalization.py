"""Wrong implementations of assignment 07 (what networks can represent, and how they generalise): see __init__.py.

Every exercise is NumPy-only; the hidden tests compare with np.interp, scikit-learn's KFold, np.linalg.lstsq,
the SVD, torch.optim.AdamW / Adam(weight_decay=...) and F.cross_entropy(label_smoothing=...).
"""
from wrong_implementations import WrongImplementation as W

ASSIGNMENT = "07_generalization"
RUNAWAY = ("kfold_indices", ("kfold_indices_test",))

WRONG = [
    # ReLU interpolant and network
    W("relu_interpolant_kinks_one_knot_late", "relu_interpolant", '"b1": -knots[:-1]', '"b1": -knots[1:]',
      loses=("relu_interpolant_test",)),
    W("relu_net_without_output_bias", "relu_interpolant", 'return h @ params["w2"] + params["b2"]',
      'return h @ params["w2"]', loses=("relu_interpolant_test",)),
    # caught only by the in-place check on a float64 x (a float32 x is converted to a copy first)
    W("relu_net_output_written_into_x", "relu_interpolant", 'return h @ params["w2"] + params["b2"]',
      'x[:] = h @ params["w2"] + params["b2"]\n    return x', loses=("relu_interpolant_test",)),
    W("relu_interpolant_slopes_not_differenced", "relu_interpolant",
      '"w2": np.concatenate([slopes[:1], np.diff(slopes)])', '"w2": slopes', loses=("relu_interpolant_test",)),
    # tent map
    W("tent_network_half_slope_in_the_middle", "tent_network", "np.array([[2.0, 2.0], [-4.0, -4.0]])",
      "np.array([[2.0, 2.0], [-2.0, -2.0]])", loses=("tent_network_test",)),
    W("tent_network_one_composition_short", "tent_network", "[middle] * (depth - 1)", "[middle] * max(depth - 2, 0)",
      loses=("tent_network_test",)),
    # ridge
    W("ridge_lam_on_the_wrong_side", "ridge_fit", "X.T @ X + lam * np.eye(D)", "X.T @ X - lam * np.eye(D)",
      loses=("ridge_fit_test",)),
    W("ridge_normal_equations_at_lam_0", "ridge_fit", "    if lam == 0:\n", "    if False:\n",
      loses=("ridge_fit_test",)),
    W("ridge_accepts_negative_lam", "ridge_fit", "if lam < 0:", "if lam < -1:", loses=("ridge_fit_test",)),
    # k-fold
    W("kfold_last_folds_longer", "kfold_indices", "sizes[: n % k] += 1", "sizes[k - n % k:] += 1",
      loses=("kfold_indices_test",)),
    W("kfold_rejects_k_equal_n", "kfold_indices", "if not 2 <= k <= n:", "if not 2 <= k < n:",
      loses=("kfold_indices_test",)),
    # dropout
    W("dropout_without_inverse_scaling", "dropout", "mask = keep.astype(x.dtype) / x.dtype.type(1.0 - p)",
      "mask = keep.astype(x.dtype)", loses=("dropout_test",)),
    W("dropout_backward_mask_not_reused", "dropout", "    return dout * mask", "    return dout * (mask != 0)",
      loses=("dropout_test",)),
    W("dropout_keeps_with_probability_p", "dropout", "keep = rng.random(x.shape) >= p",
      "keep = rng.random(x.shape) < p",
      loses=("dropout_test",)),
    W("dropout_one_mask_per_row", "dropout", "keep = rng.random(x.shape) >= p",
      "keep = np.broadcast_to((rng.random(x.shape[:1]) >= p).reshape((-1,) + (1,) * (x.ndim - 1)), x.shape)",
      loses=("dropout_test",)),
    # exactly round(p * size) entries dropped, chosen by a permutation: right fraction, no correlation, not independent
    W("dropout_fixed_fraction_dropped", "dropout", "keep = rng.random(x.shape) >= p",
      "keep = rng.permutation(x.size).reshape(x.shape) >= round(p * x.size)", loses=("dropout_test",)),
    W("dropout_in_place", "dropout", "    return x * mask, mask", "    x *= mask\n    return x, mask",
      loses=("dropout_test",)),
    # Adam
    W("adamw_decay_applied_to_the_gradient", "adam",
      "decayed = {k: p * (1 - lr * weight_decay) for k, p in params.items()}\n"
      "    return adam_update(decayed, grads, state, lr, betas, eps)",
      "penalised = {k: grads[k] + weight_decay * params[k] for k in params}\n"
      "    return adam_update(params, penalised, state, lr, betas, eps)", loses=("adam_test",)),
    W("adam_l2_decoupled", "adam",
      "penalised = {k: grads[k] + weight_decay * params[k] for k in params}\n"
      "    return adam_update(params, penalised, state, lr, betas, eps)",
      "decayed = {k: p * (1 - lr * weight_decay) for k, p in params.items()}\n"
      "    return adam_update(decayed, grads, state, lr, betas, eps)", loses=("adam_test",)),
    W("adam_l2_gradient_updated_in_place", "adam",
      "    penalised = {k: grads[k] + weight_decay * params[k] for k in params}\n",
      "    for k in params:\n        grads[k] += weight_decay * params[k]\n    penalised = grads\n",
      loses=("adam_test",)),
    W("adam_without_bias_correction", "adam",
      "(m[k] / (1 - beta1 ** t)) / (np.sqrt(v[k] / (1 - beta2 ** t)) + eps)", "m[k] / (np.sqrt(v[k]) + eps)",
      loses=("adam_test",)),
    W("adam_eps_inside_the_root", "adam", "(np.sqrt(v[k] / (1 - beta2 ** t)) + eps)",
      "np.sqrt(v[k] / (1 - beta2 ** t) + eps)", loses=("adam_test",)),
    # early stopping
    W("early_stopping_off_by_one", "early_stopping", "elif epoch - best >= patience:", "elif epoch - best > patience:",
      loses=("early_stopping_test",)),
    W("early_stopping_ignores_min_delta", "early_stopping", "if val_losses[epoch] < val_losses[best] - min_delta:",
      "if val_losses[epoch] < val_losses[best]:", loses=("early_stopping_test",)),
    W("early_stopping_equal_loss_improves", "early_stopping", "if val_losses[epoch] < val_losses[best] - min_delta:",
      "if val_losses[epoch] <= val_losses[best] - min_delta:", loses=("early_stopping_test",)),
    # label smoothing
    W("label_smoothing_over_k_minus_1_classes", "smoothed_cross_entropy",
      "q = np.full((N, K), eps / K)\n    q[np.arange(N), targets] += 1.0 - eps",
      "q = np.full((N, K), eps / (K - 1))\n    q[np.arange(N), targets] = 1.0 - eps",
      loses=("smoothed_cross_entropy_test",)),
    W("cross_entropy_without_max_shift", "smoothed_cross_entropy",
      "shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits",
      loses=("smoothed_cross_entropy_test",)),
    W("cross_entropy_gradient_not_averaged", "smoothed_cross_entropy", "return float(loss), (np.exp(log_p) - q) / N",
      "return float(loss), np.exp(log_p) - q", loses=("smoothed_cross_entropy_test",)),
    # augmentation
    W("shift_wraps_around", "random_shift",
      "        out[n, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \\\n"
      "            images[n, max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]",
      "        out[n] = np.roll(images[n], (dy, dx), axis=(0, 1))", loses=("random_shift_test",)),
    W("shift_never_reaches_plus_max", "random_shift", "rng.integers(-max_shift, max_shift + 1, size=(N, 2))",
      "rng.integers(-max_shift, max_shift, size=(N, 2))", loses=("random_shift_test",)),
    W("shift_same_for_the_whole_batch", "random_shift", "rng.integers(-max_shift, max_shift + 1, size=(N, 2))",
      "np.repeat(rng.integers(-max_shift, max_shift + 1, size=(1, 2)), N, axis=0)", loses=("random_shift_test",)),
    # minimum-norm least squares
    W("min_norm_by_normal_equations", "min_norm_lstsq", "return np.linalg.lstsq(Phi, y, rcond=None)[0]",
      "return np.linalg.solve(Phi.T @ Phi, Phi.T @ y)", loses=("min_norm_lstsq_test",)),
    W("min_norm_pinv_truncated", "min_norm_lstsq", "return np.linalg.lstsq(Phi, y, rcond=None)[0]",
      "return np.linalg.pinv(Phi, rcond=1e-4) @ y", loses=("min_norm_lstsq_test",)),
]
