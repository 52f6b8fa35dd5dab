"""Correct alternatives for assignment 08 (sets and graphs): see __init__.py."""
from right_implementations import RightImplementation as R

ASSIGNMENT = "08_sets_graphs"

RIGHT = [
    # Exercises 1 and 2 with einsum and a float mask (the padding zeroed first, so the product is safe), a loop over
    # the sets in Deep Sets (loops are allowed there), the mean as sum / count.
    R("deep_sets_loop_over_sets_and_equivariant_einsum", cells={
        "deep_sets_forward": '''
def deep_sets_forward(params, X, mask):
    """rho(sum of phi over the present rows), one set at a time."""
    rows = []
    for b in range(X.shape[0]):
        x = X[b][mask[b]]                                   # (n_b, D), present rows only
        h = np.maximum(np.maximum(x @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"], 0)
        z = h.sum(axis=0) if len(x) else np.zeros(params["W2"].shape[1], dtype=X.dtype)
        rows.append(np.maximum(z @ params["W3"] + params["b3"], 0) @ params["W4"] + params["b4"])
    return np.stack(rows).astype(X.dtype)
''',
        "equivariant_layer": '''
def equivariant_layer(X, mask, Lam, Gam, beta):
    m = mask.astype(X.dtype)                                # (B, N)
    clean = np.where(mask[:, :, None], X, np.zeros((), dtype=X.dtype))
    total = np.einsum("bn,bnd->bd", m, clean)
    count = np.bincount(np.nonzero(mask)[0], minlength=X.shape[0]).astype(X.dtype)
    mean = total / np.where(count > 0, count, 1)[:, None]
    Y = np.einsum("bnd,dh->bnh", clean, Lam) + np.einsum("bd,dh->bh", mean, Gam)[:, None, :] + beta
    return (Y * m[:, :, None]).astype(X.dtype)
''',
    }),
    # Exercises 3 and 4 with diagonal matrices and (A H) W; the degree-0 case with np.where on a safe divisor.
    R("gcn_with_diagonal_matrices", cells={
        "gcn_normalize": '''
def gcn_normalize(A, self_loops=True):
    if np.ndim(A) != 2 or np.shape(A)[0] != np.shape(A)[1]:
        raise ValueError("A must be square")
    if not np.allclose(A, A.T):
        raise ValueError("A must be symmetric")
    if not np.all(np.diagonal(A) == 0):
        raise ValueError("A must have a zero diagonal")
    M = A + np.eye(A.shape[0], dtype=A.dtype) if self_loops else A.copy()
    d = M.sum(axis=1)
    inv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0).astype(A.dtype)
    D = np.diag(inv)
    return (D @ M @ D).astype(A.dtype)
''',
        "gcn_layer": '''
def gcn_layer(A_norm, H, W, b):
    return np.einsum("ij,jf->if", A_norm, H) @ W + b
''',
    }),
    # Exercises 5 and 6: the sum through a one-hot (N, E) matrix product, the max by sorting the messages by target
    # and np.maximum.reduceat, the counts with np.bincount; global_pool loops over the graphs (allowed there).
    R("one_hot_sum_and_sorted_max", cells={
        "message_passing": '''
def message_passing(H, edge_index, W_self, W_msg, aggr="sum"):
    if aggr != "sum" and aggr != "mean" and aggr != "max":
        raise ValueError("unknown aggregation")
    N = H.shape[0]
    src, dst = np.asarray(edge_index[0], dtype=np.int64), np.asarray(edge_index[1], dtype=np.int64)
    msg = H[src] @ W_msg
    if aggr == "max":
        agg = np.zeros((N, W_msg.shape[1]), dtype=msg.dtype)
        if len(dst):
            order = np.argsort(dst, kind="stable")
            nodes, starts = np.unique(dst[order], return_index=True)
            agg[nodes] = np.maximum.reduceat(msg[order], starts, axis=0)
    else:
        one_hot = (np.arange(N)[:, None] == dst[None, :]).astype(msg.dtype)      # (N, E)
        agg = one_hot @ msg
        if aggr == "mean":
            agg = agg / np.maximum(one_hot.sum(axis=1), 1)[:, None]
    return np.maximum(H @ W_self + agg, 0).astype(H.dtype)
''',
        "global_pool": '''
def global_pool(H, batch, num_graphs, op):
    ops = {"sum": np.sum, "mean": np.mean, "max": np.max}
    if op not in ops:
        raise ValueError(op)
    out = np.zeros((num_graphs, H.shape[1]), dtype=H.dtype)
    for g in range(num_graphs):
        rows = H[batch == g]
        if len(rows):
            out[g] = ops[op](rows, axis=0)
    return out
''',
    }),
    # Exercise 7 with Python's hash of (own colour, sorted neighbour colours) as the new colour (shared across
    # graphs without a table), and wl_equivalent comparing only the last round's histograms with Counter: the
    # last colours determine every earlier colour, so the last histograms agree exactly when all rounds agree.
    R("wl_by_hashing", cells={
        "wl": '''
from collections import Counter


def wl_colors(graphs, iterations):
    colors = [np.zeros(len(g), dtype=np.int64) for g in graphs]
    out = []
    for _ in range(iterations):
        colors = [np.array([hash((int(c[v]), tuple(sorted(int(c[u]) for u in g[v])))) for v in range(len(g))],
                           dtype=np.int64) for g, c in zip(graphs, colors)]
        out.append(colors)
    return out


def wl_equivalent(g1, g2, iterations):
    last = wl_colors([g1, g2], iterations)[-1]
    return Counter(last[0].tolist()) == Counter(last[1].tolist())
''',
    }),
    # Exercises 5 and 6 with np.add.at / np.maximum.at on float64 and a cast back, the mean as bincount-weighted
    # sums per feature; global_pool's max by sorting the nodes by graph.
    R("bincount_weights_and_sorted_pool", cells={
        "message_passing": '''
def message_passing(H, edge_index, W_self, W_msg, aggr="sum"):
    if aggr not in {"sum", "mean", "max"}:
        raise ValueError(f"bad aggr {aggr}")
    N, E = H.shape[0], edge_index.shape[1]
    m = (H[edge_index[0]] @ W_msg).astype(np.float64)
    t = edge_index[1]
    deg = np.bincount(t, minlength=N)
    if aggr == "max":
        agg = np.full((N, m.shape[1]), -np.inf)
        np.maximum.at(agg, t, m)
        agg = np.where(deg[:, None] > 0, agg, 0.0)
    else:
        agg = np.stack([np.bincount(t, weights=m[:, k], minlength=N) for k in range(m.shape[1])], axis=1) \\
            if E else np.zeros((N, m.shape[1]))
        if aggr == "mean":
            agg = np.divide(agg, deg[:, None], out=np.zeros_like(agg), where=deg[:, None] > 0)
    return np.maximum(H @ W_self + agg.astype(H.dtype), 0).astype(H.dtype)
''',
        "global_pool": '''
def global_pool(H, batch, num_graphs, op):
    if op not in ("sum", "mean", "max"):
        raise ValueError(op)
    out = np.zeros((num_graphs, H.shape[1]), dtype=H.dtype)
    if len(batch) == 0:
        return out
    order = np.argsort(batch, kind="stable")
    graphs, starts, counts = np.unique(batch[order], return_index=True, return_counts=True)
    reduce = np.maximum if op == "max" else np.add
    pooled = reduce.reduceat(H[order], starts, axis=0)
    if op == "mean":
        pooled = pooled / counts[:, None].astype(H.dtype)
    out[graphs] = pooled
    return out
''',
    }),
]
