"""Wrong implementations of assignment 03 (convolution): see __init__.py."""
from wrong_implementations import WrongImplementation as W

ASSIGNMENT = "03_convolution"
RUNAWAY = ("conv1d", ("conv1d_test",))

# exercises that call conv_output_size (directly or through im2col) and fail with a wrong output size
_USES_OUTPUT_SIZE = ("conv2d_naive_test", "im2col_test", "conv2d_forward_test", "conv2d_backward_test",
                     "maxpool2d_forward_test", "maxpool2d_backward_test")

WRONG = [
    # 1-D
    W("conv1d_kernel_flipped", "conv1d", "return windows @ u", "return windows @ u[::-1]",
      loses=("conv1d_test",)),
    W("conv1d_matrix_kernel_flipped", "conv1d_matrix", "T[i, i:i + k] = u", "T[i, i:i + k] = u[::-1]",
      loses=("conv1d_matrix_test",)),
    W("conv1d_matrix_last_row_missing", "conv1d_matrix", "for i in range(M - k + 1):", "for i in range(M - k):",
      loses=("conv1d_matrix_test",)),
    # output size
    W("output_size_stride_ignored", "conv_output_size", "return (n + 2 * padding - k) // stride + 1",
      "return n + 2 * padding - k + 1", loses=("conv_output_size_test",), may_lose=_USES_OUTPUT_SIZE),
    W("output_size_off_by_one", "conv_output_size", "return (n + 2 * padding - k) // stride + 1",
      "return (n + 2 * padding - k) // stride", loses=("conv_output_size_test",), may_lose=_USES_OUTPUT_SIZE),
    W("output_size_padding_on_one_side", "conv_output_size", "return (n + 2 * padding - k) // stride + 1",
      "return (n + padding - k) // stride + 1", loses=("conv_output_size_test",), may_lose=_USES_OUTPUT_SIZE),
    W("output_size_rounds_up", "conv_output_size", "return (n + 2 * padding - k) // stride + 1",
      "return -(-(n + 2 * padding - k) // stride) + 1", loses=("conv_output_size_test",),
      may_lose=_USES_OUTPUT_SIZE),
    W("output_size_accepts_kernel_too_large", "conv_output_size", "if k > n + 2 * padding:", "if False:",
      loses=("conv_output_size_test",)),
    # naive 2-D convolution
    W("naive_kernel_flipped", "conv2d_naive", "np.sum(window * w[f])", "np.sum(window * w[f, :, ::-1, ::-1])",
      loses=("conv2d_naive_test",)),
    W("naive_padding_on_one_side", "conv2d_naive",
      "np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))",
      "np.pad(x, ((0, 0), (0, 0), (2 * padding, 0), (2 * padding, 0)))", loses=("conv2d_naive_test",)),
    W("naive_channels_summed_before_the_product", "conv2d_naive", "np.sum(window * w[f])",
      "np.sum(window.sum(axis=0) * w[f].sum(axis=0))", loses=("conv2d_naive_test",)),
    W("naive_window_ignores_stride", "conv2d_naive",
      "xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]", "xp[n, :, i:i + kh, j:j + kw]",
      loses=("conv2d_naive_test",)),
    # im2col and the fast forward pass
    W("im2col_columns_ordered_p_q_c", "im2col", "windows.transpose(1, 4, 5, 0, 2, 3)",
      "windows.transpose(4, 5, 1, 0, 2, 3)", loses=("im2col_test",),
      may_lose=("conv2d_forward_test", "conv2d_backward_test")),
    W("im2col_rows_ordered_i_j_n", "im2col", "windows.transpose(1, 4, 5, 0, 2, 3)",
      "windows.transpose(1, 4, 5, 2, 3, 0)", loses=("im2col_test",),
      may_lose=("conv2d_forward_test", "conv2d_backward_test")),
    W("forward_reshaped_without_moving_the_axis", "conv2d_forward",
      "out = out.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)", "out = out.reshape(N, F, Ho, Wo)",
      loses=("conv2d_forward_test",), may_lose=("conv2d_backward_test",)),
    W("forward_loops_over_pixels", "conv2d_forward", "return out, cache",
      "return conv2d_naive(x, w, b, stride, padding), cache", loses=("conv2d_forward_test",)),
    # the same values with a Python loop over the batch, or over the output positions: the number of lines
    # executed grows with N, or with H * W
    W("forward_loops_over_batch", "conv2d_forward",
      "    cols = im2col(x, kh, kw, stride, padding)                 # (N * Ho * Wo, C * kh * kw)\n",
      "    cols = im2col(x[:1], kh, kw, stride, padding)\n"
      "    for n in range(1, N):\n"
      "        cols = np.concatenate([cols, im2col(x[n:n + 1], kh, kw, stride, padding)])\n",
      loses=("conv2d_forward_test",)),
    W("forward_loops_over_output_positions", "conv2d_forward",
      "    out = w.reshape(F, -1) @ cols.T + b.reshape(F, 1)         # (F, N * Ho * Wo)\n"
      "    out = out.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)    # (N, F, Ho, Wo)\n",
      "    patches = cols.reshape(N, Ho, Wo, -1)\n"
      "    out = np.empty((N, F, Ho, Wo), dtype=np.result_type(x, w))\n"
      "    for i in range(Ho):\n"
      "        for j in range(Wo):\n"
      "            out[:, :, i, j] = patches[:, i, j] @ w.reshape(F, -1).T + b\n",
      loses=("conv2d_forward_test",)),
    # a loop over output rows with a one-line body, and over pairs of rows: few lines per iteration, but
    # their number grows with H (8 against 32 rows in the visible test, 4 against 17 in the hidden one)
    W("forward_loops_over_output_rows", "conv2d_forward",
      "    out = w.reshape(F, -1) @ cols.T + b.reshape(F, 1)         # (F, N * Ho * Wo)\n"
      "    out = out.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)    # (N, F, Ho, Wo)\n",
      "    patches, out = cols.reshape(N, Ho, Wo, -1), np.empty((N, F, Ho, Wo), dtype=np.result_type(x, w))\n"
      "    for i in range(Ho):\n"
      "        out[:, :, i] = (patches[:, i] @ w.reshape(F, -1).T + b).transpose(0, 2, 1)\n",
      loses=("conv2d_forward_test",)),
    W("forward_loops_over_pairs_of_output_rows", "conv2d_forward",
      "    out = w.reshape(F, -1) @ cols.T + b.reshape(F, 1)         # (F, N * Ho * Wo)\n"
      "    out = out.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)    # (N, F, Ho, Wo)\n",
      "    patches, out = cols.reshape(N, Ho, Wo, -1), np.empty((N, F, Ho, Wo), dtype=np.result_type(x, w))\n"
      "    for i in range(0, Ho, 2):\n"
      "        out[:, :, i:i + 2] = (patches[:, i:i + 2] @ w.reshape(F, -1).T + b).transpose(0, 3, 1, 2)\n",
      loses=("conv2d_forward_test",)),
    W("forward_through_torch", "conv2d_forward", "return out, cache",   # right values, but NumPy-only
      "return torch.nn.functional.conv2d(torch.as_tensor(x), torch.as_tensor(w), torch.as_tensor(b), stride=stride,\n"
      "                                      padding=padding).numpy(), cache",
      loses=("conv2d_forward_test",), may_lose=("conv2d_backward_test",)),
    # backward pass
    W("backward_db_not_summed_over_batch", "conv2d_backward", "db = dout_mat.sum(axis=1)",
      "db = dout[0].sum(axis=(1, 2))", loses=("conv2d_backward_test",)),
    W("backward_db_averaged_over_positions", "conv2d_backward", "db = dout_mat.sum(axis=1)",
      "db = dout_mat.mean(axis=1)", loses=("conv2d_backward_test",)),
    W("backward_dx_overlaps_overwritten", "conv2d_backward", "] += \\", "] = \\",
      loses=("conv2d_backward_test",)),
    # max pooling
    W("maxpool_forward_averages", "maxpool2d_forward",
      "out = np.take_along_axis(windows, arg[..., None], axis=-1)[..., 0]", "out = windows.mean(axis=-1)",
      loses=("maxpool2d_forward_test",)),
    W("maxpool_forward_stride_taken_as_size", "maxpool2d_forward", "windows[:, :, ::stride, ::stride]",
      "windows[:, :, ::size, ::size]", loses=("maxpool2d_forward_test",), may_lose=("maxpool2d_backward_test",)),
    W("maxpool_backward_to_every_element_of_the_window", "maxpool2d_backward",
      "np.where(arg == p * size + q, dout, 0)", "dout", loses=("maxpool2d_backward_test",)),
    W("maxpool_backward_overlaps_overwritten", "maxpool2d_backward", "] += \\", "] = \\",
      loses=("maxpool2d_backward_test",)),
]
