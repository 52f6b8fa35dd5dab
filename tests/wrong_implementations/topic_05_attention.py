"""Wrong implementations of assignment 05 (attention): see __init__.py."""
from wrong_implementations import WrongImplementation as W

ASSIGNMENT = "05_attention"
RUNAWAY = ("causal_mask", ("causal_mask_test",))

# Exercises that call the student's softmax or scaled_dot_product_attention.
_USES_SOFTMAX = ("scaled_dot_product_attention_test", "additive_attention_test", "multi_head_attention_test")
_USES_SDPA = ("multi_head_attention_test",)

WRONG = [
    W("softmax_overflows", "softmax", "shifted = x - x.max(axis=axis, keepdims=True)", "shifted = x",
      loses=("softmax_test",), may_lose=_USES_SOFTMAX),
    W("softmax_through_torch", "softmax", "e = np.exp(shifted)\n    return e / e.sum(axis=axis, keepdims=True)",
      "return torch.softmax(torch.as_tensor(x), dim=axis).numpy()",   # right values, but NumPy-only
      loses=("softmax_test",), may_lose=_USES_SOFTMAX),
    W("attention_softmax_over_queries", "scaled_dot_product_attention", "weights = softmax(scores, axis=-1)",
      "weights = softmax(scores, axis=-2)", loses=("scaled_dot_product_attention_test",), may_lose=_USES_SDPA),
    W("attention_without_sqrt_d_scaling", "scaled_dot_product_attention",
      "scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d)", "scores = Q @ np.swapaxes(K, -1, -2)",
      loses=("scaled_dot_product_attention_test",), may_lose=_USES_SDPA),
    W("attention_mask_inverted", "scaled_dot_product_attention", "np.where(mask, scores, -np.inf)",
      "np.where(mask, -np.inf, scores)", loses=("scaled_dot_product_attention_test",), may_lose=_USES_SDPA),
    W("attention_keys_transposed_with_T", "scaled_dot_product_attention", "Q @ np.swapaxes(K, -1, -2)", "Q @ K.T",
      loses=("scaled_dot_product_attention_test",), may_lose=_USES_SDPA),
    W("attention_fully_masked_row_gives_nan", "scaled_dot_product_attention",
      '        if np.isneginf(scores).all(axis=-1).any():\n'
      '            raise ValueError("the mask leaves a query with no key to attend to")\n', "",
      loses=("scaled_dot_product_attention_test",)),
    W("causal_mask_strictly_below_diagonal", "causal_mask", "np.tril(np.ones((n, n), dtype=bool))",
      "np.tril(np.ones((n, n), dtype=bool), k=-1)", loses=("causal_mask_test",)),
    W("padding_mask_off_by_one", "padding_mask", "np.arange(m) < lengths[:, None]", "np.arange(m) <= lengths[:, None]",
      loses=("padding_mask_test",)),
    W("additive_attention_without_tanh", "additive_attention", "np.tanh((query @ W_q)[:, None, :] + keys @ W_k)",
      "(query @ W_q)[:, None, :] + keys @ W_k", loses=("additive_attention_test",)),
    W("additive_attention_sums_the_keys", "additive_attention", "(weights[:, :, None] * values)",
      "(weights[:, :, None] * keys)", loses=("additive_attention_test",)),
    W("heads_split_without_transpose", "multi_head_attention", "Z.reshape(N, T, n_heads, dh).transpose(0, 2, 1, 3)",
      "Z.reshape(N, n_heads, T, dh)", loses=("multi_head_attention_test",)),
    W("output_projection_missing", "multi_head_attention", "return concat @ W_o", "return concat",
      loses=("multi_head_attention_test",)),
    W("positional_encoding_sin_cos_swapped", "sinusoidal_positional_encoding",
      "P[:, 0::2] = np.sin(angles)\n    P[:, 1::2] = np.cos(angles[:, : d // 2])",
      "P[:, 0::2] = np.cos(angles)\n    P[:, 1::2] = np.sin(angles[:, : d // 2])",
      loses=("sinusoidal_positional_encoding_test",)),
    W("positional_encoding_frequency_per_column", "sinusoidal_positional_encoding",
      "10000.0 ** (np.arange(0, d, 2) / d)", "10000.0 ** (np.arange((d + 1) // 2) / d)",
      loses=("sinusoidal_positional_encoding_test",)),
]
