"""Correct alternatives for assignment 03 (convolution): see __init__.py."""
from right_implementations import RightImplementation as R

ASSIGNMENT = "03_convolution"

RIGHT = [
    # Exercises 1 and 2: a loop over the outputs (allowed), and the Toeplitz matrix as a sum of shifted
    # identity matrices.
    R("conv1d_loop_and_toeplitz_from_shifted_eyes", cells={
        "conv1d": '''
def conv1d(x, u):
    """Valid cross-correlation, one output at a time."""
    k, M = len(u), len(x)
    out = np.empty(M - k + 1, dtype=np.result_type(x, u, np.float64))
    for i in range(M - k + 1):
        out[i] = np.dot(x[i:i + k], u)
    return out
''',
        "conv1d_matrix": '''
def conv1d_matrix(u, M):
    """T = sum_b u[b] * (the identity shifted b columns to the right)."""
    u = np.asarray(u, dtype=np.float64)
    k = len(u)
    return sum(u[b] * np.eye(M - k + 1, M, k=b) for b in range(k))
''',
    }),
    # Exercise 3: checks in another order, the floor taken with math.floor.
    R("conv_output_size_math_floor", cells={
        "conv_output_size": '''
import math


def conv_output_size(n, k, stride=1, padding=0):
    """floor((n + 2 padding - k) / stride) + 1."""
    if padding < 0:
        raise ValueError(f"negative padding {padding}")
    if stride < 1:
        raise ValueError(f"stride {stride} is below 1")
    padded = n + 2 * padding
    if k > padded:
        raise ValueError(f"the kernel ({k}) does not fit in the padded input ({padded})")
    return int(math.floor((padded - k) / stride)) + 1
''',
    }),
    # Exercise 4: loops over i, j outside and n, f inside, padding written by hand, the dot product over
    # (c, p, q) as np.tensordot.
    R("conv2d_naive_manual_padding_tensordot", cells={
        "conv2d_naive": '''
def conv2d_naive(x, w, b, stride=1, padding=0):
    """2-D cross-correlation by its definition."""
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho = (H + 2 * padding - kh) // stride + 1
    Wo = (W + 2 * padding - kw) // stride + 1
    dtype = np.result_type(x, w)
    xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=dtype)
    xp[:, :, padding:padding + H, padding:padding + W] = x
    out = np.empty((N, F, Ho, Wo), dtype=dtype)
    for i in range(Ho):
        for j in range(Wo):
            r, c = i * stride, j * stride
            for n in range(N):
                patch = xp[n, :, r:r + kh, c:c + kw]               # (C, kh, kw)
                for f in range(F):
                    out[n, f, i, j] = np.tensordot(patch, w[f], axes=3) + b[f]
    return out
''',
    }),
    # Exercise 5 with a loop over the kh * kw kernel offsets (allowed), writing each offset's strided slice;
    # the instructor's conv2d_forward then runs on it (the line count included).
    R("im2col_loop_over_kernel_offsets", cells={
        "im2col": '''
def im2col(x, kh, kw, stride=1, padding=0):
    """Rows (n, i, j), columns (c, p, q)."""
    N, C, H, W = x.shape
    Ho = conv_output_size(H, kh, stride, padding)
    Wo = conv_output_size(W, kw, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="constant")
    cols = np.empty((N, Ho, Wo, C, kh, kw), dtype=x.dtype)
    for p in range(kh):
        for q in range(kw):
            cols[..., p, q] = xp[:, :, p:p + stride * (Ho - 1) + 1:stride,
                                 q:q + stride * (Wo - 1) + 1:stride].transpose(0, 2, 3, 1)
    return cols.reshape(N * Ho * Wo, C * kh * kw)
''',
    }),
    # Exercise 5 with loops over the C channels and the kh * kw kernel offsets (allowed: their number does not
    # depend on N, H or W), one column of cols at a time; the instructor's conv2d_forward then runs on it. Its
    # executed-line count grows with C * kh * kw (246 lines for C = 3 and a 3x3 kernel, over the old limit of
    # 150) but not with the batch or the image.
    R("im2col_loop_over_channels_and_kernel_offsets", cells={
        "im2col": '''
def im2col(x, kh, kw, stride=1, padding=0):
    """Column (c, p, q) of cols is channel c's pixel at offset (p, q) of every window, windows in (n, i, j) order."""
    N, C, H, W = x.shape
    Ho = conv_output_size(H, kh, stride, padding)
    Wo = conv_output_size(W, kw, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((N * Ho * Wo, C * kh * kw), dtype=x.dtype)
    column = 0
    for c in range(C):
        for p in range(kh):
            for q in range(kw):
                cols[:, column] = xp[:, c, p:p + stride * (Ho - 1) + 1:stride,
                                     q:q + stride * (Wo - 1) + 1:stride].reshape(-1)
                column += 1
    return cols
''',
    }),
    # Exercises 6 and 7: the product in the row layout the recap describes ((N Ho Wo, F), then reshape and
    # move the axis), a cache without cols (recomputed), and col2im with np.add.at (no Python loop at all).
    R("conv2d_row_layout_and_col2im_add_at", cells={
        "conv2d_forward": '''
def conv2d_forward(x, w, b, stride=1, padding=0):
    """im2col, one matrix product, the bias, then (N, Ho, Wo, F) -> (N, F, Ho, Wo)."""
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho = conv_output_size(H, kh, stride, padding)
    Wo = conv_output_size(W, kw, stride, padding)
    out_mat = im2col(x, kh, kw, stride, padding) @ w.reshape(F, -1).T + b    # (N * Ho * Wo, F)
    out = np.moveaxis(out_mat.reshape(N, Ho, Wo, F), -1, 1)
    return out, (x, w, stride, padding)
''',
        "conv2d_backward": '''
def conv2d_backward(dout, cache):
    """dx, dw, db; col2im scatters every patch gradient back with np.add.at."""
    x, w, stride, padding = cache
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho, Wo = dout.shape[2], dout.shape[3]
    cols = im2col(x, kh, kw, stride, padding)                     # (N * Ho * Wo, C * kh * kw)
    dout_mat = dout.transpose(0, 2, 3, 1).reshape(-1, F)          # rows (n, i, j)
    db = dout_mat.sum(axis=0)
    dw = (dout_mat.T @ cols).reshape(w.shape)
    dcols = (dout_mat @ w.reshape(F, -1)).reshape(N, Ho, Wo, C, kh, kw)
    n = np.arange(N).reshape(N, 1, 1, 1, 1, 1)
    i = np.arange(Ho).reshape(1, Ho, 1, 1, 1, 1)
    j = np.arange(Wo).reshape(1, 1, Wo, 1, 1, 1)
    c = np.arange(C).reshape(1, 1, 1, C, 1, 1)
    p = np.arange(kh).reshape(1, 1, 1, 1, kh, 1)
    q = np.arange(kw).reshape(1, 1, 1, 1, 1, kw)
    dxp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=dcols.dtype)
    np.add.at(dxp, (n, c, i * stride + p, j * stride + q), dcols)
    return dxp[:, :, padding:padding + H, padding:padding + W], dw, db
''',
    }),
    # Exercises 8 and 9 with a loop over the size * size offsets (allowed): the maximum as a running
    # np.maximum, and a backward pass that gives each window's gradient to the first input in reading order
    # equal to its maximum.
    R("maxpool_loop_over_offsets_first_max", cells={
        "maxpool2d_forward": '''
def maxpool2d_forward(x, size=2, stride=2):
    """Running maximum over the size * size offsets; the cache keeps x and out."""
    N, C, H, W = x.shape
    Ho = (H - size) // stride + 1
    Wo = (W - size) // stride + 1
    out = None
    for p in range(size):
        for q in range(size):
            view = x[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride]
            out = view.copy() if out is None else np.maximum(out, view)
    return out, (x, size, stride, out)
''',
        "maxpool2d_backward": '''
def maxpool2d_backward(dout, cache):
    """Each window's gradient goes to the first of its inputs (reading order) equal to its maximum."""
    x, size, stride, out = cache
    Ho, Wo = out.shape[2], out.shape[3]
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    taken = np.zeros(out.shape, dtype=bool)
    for p in range(size):
        for q in range(size):
            where = (slice(None), slice(None), slice(p, p + stride * (Ho - 1) + 1, stride),
                     slice(q, q + stride * (Wo - 1) + 1, stride))
            first = (x[where] == out) & ~taken
            dx[where] += np.where(first, dout, 0.0)
            taken |= first
    return dx
''',
    }),
    # Exercises 8 and 9: argmax over flattened windows, a dict cache, and np.add.at to route the gradients.
    R("maxpool_argmax_dict_cache_add_at", cells={
        "maxpool2d_forward": '''
def maxpool2d_forward(x, size=2, stride=2):
    """Max over every stride-th window of a sliding_window_view."""
    N, C, H, W = x.shape
    Ho = conv_output_size(H, size, stride)
    Wo = conv_output_size(W, size, stride)
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    flat = windows.reshape(N, C, Ho, Wo, size * size)
    return flat.max(axis=-1), {"shape": x.shape, "size": size, "stride": stride, "arg": flat.argmax(axis=-1)}
''',
        "maxpool2d_backward": '''
def maxpool2d_backward(dout, cache):
    """Scatter-add each dout entry to the input position of its window's (first) maximum."""
    arg, size, stride = cache["arg"], cache["size"], cache["stride"]
    N, C, Ho, Wo = arg.shape
    p, q = np.divmod(arg, size)
    rows = stride * np.arange(Ho).reshape(1, 1, Ho, 1) + p
    cols = stride * np.arange(Wo).reshape(1, 1, 1, Wo) + q
    dx = np.zeros(tuple(cache["shape"]), dtype=dout.dtype)
    np.add.at(dx, (np.arange(N).reshape(N, 1, 1, 1), np.arange(C).reshape(1, C, 1, 1), rows, cols), dout)
    return dx
''',
    }),
]
