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
RIGHT += [
    # Exercise 1 on the gathered present rows only (X[mask], np.add.at into their sets); exercise 2 with a loop over
    # the sets (allowed) and the mean of the present rows.
    R("deep_sets_gathered_rows_and_equivariant_loop_over_sets", cells={
        "deep_sets_forward": '''
def deep_sets_forward(params, X, mask):
    """phi on the present rows only (the padding is never read), summed into their sets with np.add.at."""
    set_of_row, _ = np.nonzero(mask)
    rows = X[mask]                                          # (P, D)
    h = np.maximum(np.maximum(rows @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"], 0)
    z = np.zeros((X.shape[0], h.shape[1]), dtype=X.dtype)
    np.add.at(z, set_of_row, h)
    return np.maximum(z @ params["W3"] + params["b3"], 0) @ params["W4"] + params["b4"]
''',
        "equivariant_layer": '''
def equivariant_layer(X, mask, Lam, Gam, beta):
    B, N, _ = X.shape
    Y = np.zeros((B, N, Lam.shape[1]), dtype=X.dtype)
    for b in range(B):
        present = np.flatnonzero(mask[b])
        if len(present):
            rows = X[b, present]
            Y[b, present] = rows @ Lam + rows.mean(axis=0) @ Gam + beta
    return Y
''',
    }),
    # Exercise 3 by broadcasting d ** -0.5 under np.errstate, the degree-0 entries reset from inf to 0, the degrees
    # as column sums (A is symmetric), I added as eye * self_loops; exercise 4 as (A H) W with b added in place on the
    # new array.
    R("gcn_broadcast_power_and_layer_in_place_bias", cells={
        "gcn_normalize": '''
def gcn_normalize(A, self_loops=True):
    A = np.asarray(A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError("A must be square")
    if not np.allclose(A, A.T):
        raise ValueError("A must be symmetric")
    if np.any(A.diagonal()):
        raise ValueError("A must have a zero diagonal")
    M = A + np.eye(A.shape[0], dtype=A.dtype) * self_loops
    d = M.sum(axis=0)
    with np.errstate(divide="ignore"):
        s = d ** -0.5
    s[np.isinf(s)] = 0
    return (M * s[:, None] * s[None, :]).astype(A.dtype)
''',
        "gcn_layer": '''
def gcn_layer(A_norm, H, W, b):
    out = (A_norm @ H) @ W
    out += b
    return out
''',
    }),
    # Exercise 5 through a dense (N, N) count matrix built with np.add.at (Adj[i, j] = edges j -> i: repeats count),
    # the max over a masked (N, N, F') array; exercise 6 with a (G, N) membership matrix.
    R("dense_adjacency_and_membership_matrix", cells={
        "message_passing": '''
def message_passing(H, edge_index, W_self, W_msg, aggr="sum"):
    if aggr not in ("sum", "mean", "max"):
        raise ValueError(aggr)
    N = len(H)
    Adj = np.zeros((N, N), dtype=H.dtype)
    np.add.at(Adj, (edge_index[1], edge_index[0]), 1)
    M = H @ W_msg                                           # (N, F'): the message each node sends
    indeg = Adj.sum(axis=1)
    if aggr == "max":
        biggest = np.where(Adj[:, :, None] > 0, M[None, :, :], -np.inf).max(axis=1)
        agg = np.where(indeg[:, None] > 0, biggest, 0).astype(H.dtype)
    else:
        agg = Adj @ M
        if aggr == "mean":
            agg = agg / np.where(indeg > 0, indeg, 1)[:, None]
    return np.maximum(H @ W_self + agg, 0)
''',
        "global_pool": '''
def global_pool(H, batch, num_graphs, op):
    if op not in ("sum", "mean", "max"):
        raise ValueError(op)
    member = np.arange(num_graphs)[:, None] == np.asarray(batch)[None, :]      # (G, N)
    if op == "max":
        biggest = np.where(member[:, :, None], H[None, :, :], -np.inf).max(axis=1, initial=-np.inf)
        return np.where(member.any(axis=1)[:, None], biggest, 0).astype(H.dtype)
    out = member.astype(H.dtype) @ H
    if op == "mean":
        out = out / np.maximum(member.sum(axis=1), 1).astype(H.dtype)[:, None]
    return out
''',
    }),
    # Exercise 5 for all three aggregations by sorting the edges by target and one ufunc.reduceat.
    R("message_passing_sorted_reduceat", cells={
        "message_passing": '''
def message_passing(H, edge_index, W_self, W_msg, aggr="sum"):
    ufunc = {"sum": np.add, "mean": np.add, "max": np.maximum}.get(aggr)
    if ufunc is None:
        raise ValueError(aggr)
    src, dst = edge_index
    order = np.argsort(dst, kind="stable")
    msgs = (H @ W_msg)[src[order]]
    agg = np.zeros((H.shape[0], W_msg.shape[1]), dtype=H.dtype)
    if len(dst):
        nodes, starts, counts = np.unique(dst[order], return_index=True, return_counts=True)
        reduced = ufunc.reduceat(msgs, starts, axis=0)
        if aggr == "mean":
            reduced = reduced / counts[:, None].astype(H.dtype)
        agg[nodes] = reduced
    return np.maximum(H @ W_self + agg, 0)
''',
    }),
    # Exercise 7 with one palette for all rounds (colours numbered by first appearance, so they never repeat across
    # rounds), the neighbour multiset as a frozenset of Counter items, and wl_equivalent returning a NumPy bool.
    R("wl_palette_by_first_appearance_numpy_bool", cells={
        "wl": '''
from collections import Counter


def wl_colors(graphs, iterations):
    palette = {}
    colors = [np.zeros(len(g), dtype=np.int64) for g in graphs]
    rounds = []
    for r in range(iterations):
        new = []
        for g, c in zip(graphs, colors):
            out = np.empty(len(g), dtype=np.int64)
            for v, neighbours in enumerate(g):
                key = (r, int(c[v]), frozenset(Counter(int(c[u]) for u in neighbours).items()))
                out[v] = palette.setdefault(key, len(palette))
            new.append(out)
        colors = new
        rounds.append(colors)
    return rounds


def wl_equivalent(g1, g2, iterations):
    return np.all([len(a) == len(b) and np.all(np.sort(a) == np.sort(b)) for a, b in wl_colors([g1, g2], iterations)])
''',
    }),
    # Exercise 7 from the neighbours' colours alone, without the node's own: started from one colour, the multiset
    # of a node's neighbours' colours after round r - 1 determines its own colour after round r - 1 (by induction:
    # each neighbour's colour determines its earlier colour), so the partitions are the same. Colours as lists.
    R("wl_neighbour_multiset_only_as_lists", cells={
        "wl": '''
def wl_colors(graphs, iterations):
    colors = [[0] * len(g) for g in graphs]
    rounds = []
    for _ in range(iterations):
        signatures = [[tuple(sorted(c[j] for j in neighbours)) for neighbours in g] for g, c in zip(graphs, colors)]
        table = {}
        colors = [[table.setdefault(s, len(table)) for s in sig] for sig in signatures]
        rounds.append([list(c) for c in colors])
    return rounds


def wl_equivalent(g1, g2, iterations):
    return all(sorted(a) == sorted(b) for a, b in wl_colors([g1, g2], iterations))
''',
    }),
]
