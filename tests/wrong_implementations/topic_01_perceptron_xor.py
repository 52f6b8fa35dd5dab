"""Wrong implementations of assignment 01 (perceptron and XOR): see __init__.py."""
from wrong_implementations import WrongImplementation as W

ASSIGNMENT = "01_perceptron_xor"
TAMPER = True
RUNAWAY = ("predict", ("predict_test", "train_perceptron_test"))

WRONG = [
    W("predict_ge_instead_of_gt", "predict", "scores > 0", "scores >= 0",
      loses=("predict_test",), may_lose=("train_perceptron_test",)),
    W("predict_returns_bool", "predict", "(scores > 0).astype(np.int64)", "scores > 0",
      loses=("predict_test",), may_lose=("train_perceptron_test",)),
    W("predict_through_torch", "predict", "scores = X @ w + b",   # right values, but the exercise is NumPy-only
      "import torch\n    scores = (torch.as_tensor(X) @ torch.as_tensor(w) + b).numpy()",
      loses=("predict_test",), may_lose=("train_perceptron_test",)),
    W("update_modifies_w_in_place", "perceptron_update",
      "return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)",
      "w += lr * (y - y_hat) * x\n    return w, b + lr * (y - y_hat)",
      loses=("perceptron_update_test",), may_lose=("train_perceptron_test",)),
    W("update_forgets_bias", "perceptron_update", "x, b + lr * (y - y_hat)", "x, b",
      loses=("perceptron_update_test",), may_lose=("train_perceptron_test",)),
    W("update_flipped_sign", "perceptron_update", "return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)",
      "return w - lr * (y - y_hat) * x, b - lr * (y - y_hat)",
      loses=("perceptron_update_test",), may_lose=("train_perceptron_test",)),
    W("update_boundary_counts_as_positive", "perceptron_update",
      "1 if float(np.dot(w, x) + b) > 0 else 0", "1 if float(np.dot(w, x) + b) >= 0 else 0",
      loses=("perceptron_update_test",), may_lose=("train_perceptron_test",)),
    W("train_drops_final_zero_epoch", "train_perceptron",
      "mistakes.append(count)\n        if count == 0:\n            break",
      "if count == 0:\n            break\n        mistakes.append(count)",
      loses=("train_perceptron_test",)),
    W("train_shuffles_examples", "train_perceptron", "for x_i, y_i in zip(X, y):",
      "for i in np.random.default_rng(0).permutation(len(y)):\n            x_i, y_i = X[i], y[i]",
      loses=("train_perceptron_test",)),
    W("train_one_epoch_too_many", "train_perceptron", "range(max_epochs)", "range(max_epochs + 1)",
      loses=("train_perceptron_test",)),
    W("mlp_transposed_W1", "threshold_mlp", 'X @ params["W1"]', 'X @ params["W1"].T',
      loses=("threshold_mlp_test",)),
    W("mlp_hidden_without_threshold", "threshold_mlp",
      'H = (X @ params["W1"] + params["b1"] > 0).astype(np.float64)', 'H = X @ params["W1"] + params["b1"]',
      loses=("threshold_mlp_test",)),
    W("xor_hidden_and_instead_of_or", "xor_network", "b1 = np.array([-0.5, 1.5])",
      "b1 = np.array([-1.5, 1.5])", loses=("xor_network_test",)),
    W("xor_without_slack", "xor_network", "b1 = np.array([-0.5, 1.5])",
      "b1 = np.array([0.0, 2.0])", loses=("xor_network_test",)),
    W("xor_or_bias_minus_0_15", "xor_network", "b1 = np.array([-0.5, 1.5])",   # margin 0.106 < 0.2
      "b1 = np.array([-0.15, 1.5])", loses=("xor_network_test",)),
    W("xor_margin_0_18_below_required_0_2", "xor_network", "b1 = np.array([-0.5, 1.5])",   # 0.25 / sqrt(2)
      "b1 = np.array([-0.25, 1.75])", loses=("xor_network_test",)),
    W("cover_sum_one_term_too_many", "cover_count", "for k in range(d))", "for k in range(d + 1))",
      loses=("cover_count_test",)),
    W("cover_binom_n_instead_of_n_minus_1", "cover_count", "math.comb(n - 1, k)", "math.comb(n, k)",
      loses=("cover_count_test",)),
    W("cover_in_floating_point", "cover_count", "2 * sum(math.comb(n - 1, k) for k in range(d))",
      "int(2 * sum(float(math.comb(n - 1, k)) for k in range(d)))", loses=("cover_count_test",)),
    W("cover_accepts_d_zero", "cover_count", "if n < 1 or d < 1:", "if n < 1:",
      loses=("cover_count_test",)),
    W("separable_without_bias", "separable_fraction", "np.ones((n, 1))", "np.zeros((n, 1))",
      loses=("separable_fraction_test",)),
    W("separable_margin_zero", "separable_fraction", "b_ub=-np.ones(n)", "b_ub=np.zeros(n)",
      loses=("separable_fraction_test",)),
]
