"""Correct alternatives for assignment 05 (attention): see __init__.py."""
from right_implementations import RightImplementation as R

ASSIGNMENT = "05_attention"

RIGHT = [
    # Exercise 1 through SciPy's log-sum-exp (imported in the cell: the setup cell does not).
    R("softmax_logsumexp", cells={
        "softmax": '''
from scipy.special import logsumexp


def softmax(x, axis=-1):
    """exp(x - logsumexp(x)) along axis."""
    x = np.asarray(x, dtype=np.float64)
    return np.exp(x - logsumexp(x, axis=axis, keepdims=True))
''',
    }),
    # Exercise 2 with einsum, the mask broadcast to the scores and applied as zeros after the exponential
    # (no -inf at all), and the check for empty rows before anything is computed.
    R("attention_einsum_mask_as_zeros", cells={
        "scaled_dot_product_attention": '''
def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(d)) V; masked pairs get weight exactly 0."""
    scores = np.einsum("...nd,...md->...nm", Q, K) / np.sqrt(Q.shape[-1])
    if mask is None:
        allowed = np.ones(scores.shape, dtype=bool)
    else:
        allowed = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
        if not allowed.any(axis=-1).all():
            raise ValueError("some query has no key it may attend to")
    top = np.max(np.where(allowed, scores, -np.inf), axis=-1, keepdims=True)
    e = np.where(allowed, np.exp(np.where(allowed, scores - top, 0.0)), 0.0)
    weights = e / e.sum(axis=-1, keepdims=True)
    return np.einsum("...nm,...mv->...nv", weights, V), weights
''',
    }),
    # Exercises 3 and 4 by comparing index grids.
    R("masks_from_index_comparisons", cells={
        "causal_mask": '''
def causal_mask(n):
    """True where key j <= query i."""
    positions = np.arange(n)
    return positions[:, None] >= positions[None, :]
''',
        "padding_mask": '''
def padding_mask(lengths, m):
    """(N, 1, m): True at keys j < L_n."""
    lengths = np.asarray(lengths).reshape(-1)
    if lengths.size and (lengths.min() < 1 or lengths.max() > m):
        raise ValueError(f"every length must lie between 1 and {m}: got {lengths.tolist()}")
    return np.arange(m)[None, None, :] < lengths[:, None, None]
''',
    }),
    # Exercise 5 with einsum throughout and a batched matrix product for the context.
    R("additive_attention_einsum", cells={
        "additive_attention": '''
def additive_attention(query, keys, values, W_q, W_k, v):
    """Scores v . tanh(q W_q + k_j W_k), softmax over the keys, weighted sum of the values."""
    q_proj = np.einsum("nq,qh->nh", query, W_q)              # (N, h)
    k_proj = np.einsum("nmk,kh->nmh", keys, W_k)             # (N, m, h)
    scores = np.einsum("nmh,h->nm", np.tanh(q_proj[:, None, :] + k_proj), v)
    weights = softmax(scores, axis=1)
    context = (weights[:, None, :] @ values)[:, 0, :]        # (N, 1, m) @ (N, m, dv)
    return context, weights
''',
    }),
    # Exercise 6 with a loop over the heads, each a slice of columns given to scaled_dot_product_attention.
    R("multi_head_loop_over_heads", cells={
        "multi_head_attention": '''
def multi_head_attention(X, W_q, W_k, W_v, W_o, n_heads, mask=None):
    """Self-attention head by head on consecutive column blocks, concatenated, then W_o."""
    D = X.shape[-1]
    if D % n_heads != 0:
        raise ValueError(f"n_heads = {n_heads} does not divide D = {D}")
    dh = D // n_heads
    Q, K, V = X @ W_q, X @ W_k, X @ W_v
    heads = []
    for h in range(n_heads):
        block = slice(h * dh, (h + 1) * dh)
        out, _ = scaled_dot_product_attention(Q[..., block], K[..., block], V[..., block], mask)
        heads.append(out)
    return np.concatenate(heads, axis=-1) @ W_o
''',
    }),
    # Exercise 7: sines and cosines of every column pair interleaved with stack and reshape, the last column
    # dropped for an odd d.
    R("positional_encoding_interleaved_stack", cells={
        "sinusoidal_positional_encoding": '''
def sinusoidal_positional_encoding(T, d):
    """P[t, 2i] = sin(t / 10000^(2i/d)), P[t, 2i + 1] = cos(t / 10000^(2i/d))."""
    pairs = (d + 1) // 2
    angles = np.arange(T, dtype=np.float64)[:, None] / np.power(10000.0, 2.0 * np.arange(pairs) / d)
    return np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(T, 2 * pairs)[:, :d]
''',
    }),
    # Exercise 7 with plain loops and the math module.
    R("positional_encoding_loops", cells={
        "sinusoidal_positional_encoding": '''
import math


def sinusoidal_positional_encoding(T, d):
    """The encoding entry by entry."""
    P = np.zeros((T, d))
    for t in range(T):
        for col in range(d):
            angle = t / 10000 ** ((col - col % 2) / d)
            P[t, col] = math.sin(angle) if col % 2 == 0 else math.cos(angle)
    return P
''',
    }),
]
