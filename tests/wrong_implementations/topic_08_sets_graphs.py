"""Wrong implementations of assignment 08 (sets and graphs): see __init__.py.

Every exercise is NumPy-only; the hidden tests compare with explicit loops, torch's index_add_ and
scatter_reduce, and networkx's Weisfeiler-Lehman hashes, under random permutations and with padding that
holds NaN, +-inf or +-1e30, repeated edges, nodes without incoming edges, isolated nodes and empty graphs, and
check that no input (arrays, edge lists, neighbour lists) is changed in place.
"""
from wrong_implementations import WrongImplementation as W

ASSIGNMENT = "08_sets_graphs"
RUNAWAY = ("global_pool", ("global_pool_test",))

# the body of deep_sets_forward from the selection of the present rows to the sum over the set
_DS_BODY = ('X = np.where(present, X, 0)                                         # NaN in the padding must not reach '
            'phi\n    h = np.maximum(X @ params["W1"] + params["b1"], 0)\n'
            '    h = np.maximum(h @ params["W2"] + params["b2"], 0)                  # (B, N, H): phi of every row\n'
            '    z = np.where(present, h, 0).sum(axis=1)')

# one round of the joint refinement in wl_colors
_WL_ROUND = ("        signatures = [[(c[i], tuple(sorted(c[j] for j in g[i]))) for i in range(len(g))]\n"
             "                      for g, c in zip(graphs, colors)]\n"
             "        table = {s: k for k, s in enumerate(sorted({s for sig in signatures for s in sig}))}   "
             "# shared by all graphs\n"
             "        colors = [[table[s] for s in sig] for sig in signatures]\n")

WRONG = [
    # Deep Sets
    W("deep_sets_padding_multiplied_by_mask", "deep_sets_forward", _DS_BODY,
      'h = np.maximum(X @ params["W1"] + params["b1"], 0)\n    h = np.maximum(h @ params["W2"] + params["b2"], 0)\n'
      '    z = (h * present).sum(axis=1)', loses=("deep_sets_forward_test",)),
    W("deep_sets_phi_of_padding_summed", "deep_sets_forward", "z = np.where(present, h, 0).sum(axis=1)",
      "z = h.sum(axis=1)", loses=("deep_sets_forward_test",)),
    W("deep_sets_mean_pooling", "deep_sets_forward", "z = np.where(present, h, 0).sum(axis=1)",
      "z = np.where(present, h, 0).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)",
      loses=("deep_sets_forward_test",)),
    W("deep_sets_max_pooling", "deep_sets_forward", "z = np.where(present, h, 0).sum(axis=1)",
      "z = np.where(present, h, 0).max(axis=1)", loses=("deep_sets_forward_test",)),
    W("deep_sets_float32_upcast", "deep_sets_forward", 'params["W4"] + params["b4"]',
      '(params["W4"] + params["b4"]).astype(np.float64)', loses=("deep_sets_forward_test",)),
    # equivariant layer
    W("equivariant_mean_over_all_n", "equivariant_layer", "n = np.maximum(mask.sum(axis=1), 1).astype(X.dtype)",
      "n = np.full(mask.shape[0], mask.shape[1]).astype(X.dtype)", loses=("equivariant_layer_test",)),
    W("equivariant_padding_rows_not_zeroed", "equivariant_layer",
      "return np.where(present, Y, 0).astype(X.dtype, copy=False)", "return Y.astype(X.dtype, copy=False)",
      loses=("equivariant_layer_test",)),
    W("equivariant_nan_leaks_through_mask_product", "equivariant_layer", "    X = np.where(present, X, 0)\n",
      "    X = X * present\n", loses=("equivariant_layer_test",)),
    W("equivariant_padding_zeroed_in_place", "equivariant_layer", "    X = np.where(present, X, 0)\n",
      "    X[~mask] = 0\n", loses=("equivariant_layer_test",)),
    # only the NaN of the padding replaced, then a product with the mask: inf padding gives 0 * inf = NaN
    W("deep_sets_nan_zeroed_then_mask_product", "deep_sets_forward", _DS_BODY,
      'X = np.where(np.isnan(X), 0, X)\n    h = np.maximum(X @ params["W1"] + params["b1"], 0)\n'
      '    h = np.maximum(h @ params["W2"] + params["b2"], 0)\n    z = (h * present).sum(axis=1)',
      loses=("deep_sets_forward_test",)),
    W("deep_sets_nan_to_num_then_mask_product", "deep_sets_forward", _DS_BODY,
      'X = np.nan_to_num(X)\n    h = np.maximum(X @ params["W1"] + params["b1"], 0)\n'
      '    h = np.maximum(h @ params["W2"] + params["b2"], 0)\n    z = (h * present).sum(axis=1)',
      loses=("deep_sets_forward_test",)),
    W("deep_sets_padding_zeroed_in_place", "deep_sets_forward", "X = np.where(present, X, 0)     ",
      "X[~mask] = 0                    ", loses=("deep_sets_forward_test",)),
    # the mean over the rows that are not NaN: right for NaN padding only, the padding reaches the mean otherwise
    W("equivariant_nan_zeroed_sum_over_all_rows", "equivariant_layer", "    X = np.where(present, X, 0)\n",
      "    X = np.where(np.isnan(X), 0, X)\n", loses=("equivariant_layer_test",)),
    W("equivariant_float64_output", "equivariant_layer", "return np.where(present, Y, 0).astype(X.dtype, copy=False)",
      "return np.where(present, Y, 0.0).astype(np.float64)", loses=("equivariant_layer_test",)),
    W("equivariant_nanmean", "equivariant_layer",
      "    X = np.where(present, X, 0)\n    n = np.maximum(mask.sum(axis=1), 1).astype(X.dtype)                 "
      "# (B,): an empty set divides by 1\n    mean = X.sum(axis=1) / n[:, None]                                   "
      "# (B, D)\n", "    mean = np.nan_to_num(np.nanmean(X, axis=1))\n    X = np.nan_to_num(X)\n",
      loses=("equivariant_layer_test",)),
    # GCN normalisation
    W("gcn_degrees_without_self_loops", "gcn_normalize",
      "    if self_loops:\n        A = A + np.eye(len(A), dtype=A.dtype)\n    degree = A.sum(axis=1)\n",
      "    degree = A.sum(axis=1)\n    if self_loops:\n        A = A + np.eye(len(A), dtype=A.dtype)\n",
      loses=("gcn_normalize_test",)),
    W("gcn_random_walk_normalisation", "gcn_normalize", "return scale[:, None] * A * scale[None, :]",
      "return (scale ** 2)[:, None] * A", loses=("gcn_normalize_test",)),
    W("gcn_no_symmetry_check", "gcn_normalize", "if not np.allclose(A, A.T):", "if False:",
      loses=("gcn_normalize_test",)),
    W("gcn_exact_symmetry_check", "gcn_normalize", "if not np.allclose(A, A.T):", "if not np.array_equal(A, A.T):",
      loses=("gcn_normalize_test",)),
    W("gcn_no_diagonal_check", "gcn_normalize", "if np.any(np.diag(A) != 0):", "if False:",
      loses=("gcn_normalize_test",)),
    W("gcn_degree_zero_divides", "gcn_normalize", "np.divide(1, np.sqrt(degree), out=scale, where=degree > 0)",
      "scale = 1 / np.sqrt(degree)", loses=("gcn_normalize_test",)),
    W("gcn_float32_upcast", "gcn_normalize", "A = A + np.eye(len(A), dtype=A.dtype)", "A = A + np.eye(len(A))",
      loses=("gcn_normalize_test",)),
    W("gcn_self_loops_added_in_place", "gcn_normalize", "A = A + np.eye(len(A), dtype=A.dtype)",
      "A += np.eye(len(A), dtype=A.dtype)", loses=("gcn_normalize_test",)),
    W("gcn_degrees_count_edges_not_weights", "gcn_normalize", "    degree = A.sum(axis=1)\n",
      "    degree = (A > 0).sum(axis=1).astype(A.dtype)\n", loses=("gcn_normalize_test",)),
    # GCN layer
    W("gcn_layer_adjacency_transposed", "gcn_layer", "return A_norm @ (H @ W) + b", "return A_norm.T @ (H @ W) + b",
      loses=("gcn_layer_test",)),
    W("gcn_layer_with_relu", "gcn_layer", "return A_norm @ (H @ W) + b", "return np.maximum(A_norm @ (H @ W) + b, 0)",
      loses=("gcn_layer_test",)),
    # message passing
    W("message_passing_sources_and_targets_swapped", "message_passing",
      "source, target = edge_index[0], edge_index[1]", "target, source = edge_index[0], edge_index[1]",
      loses=("message_passing_test",)),
    W("message_passing_repeated_edges_deduplicated", "message_passing",
      "source, target = edge_index[0], edge_index[1]", "source, target = np.unique(edge_index, axis=1)",
      loses=("message_passing_test",)),
    # agg[target] += messages keeps one message per target: the classic buffered fancy-index bug
    W("message_passing_fancy_index_add", "message_passing", "np.add.at(agg, target, messages)",
      "agg[target] += messages", loses=("message_passing_test",)),
    W("message_passing_mean_over_all_nodes", "message_passing",
      "agg = agg / np.maximum(count, 1).astype(agg.dtype)[:, None]", "agg = agg / agg.dtype.type(N)",
      loses=("message_passing_test",)),
    W("message_passing_max_minus_inf_for_isolated_nodes", "message_passing", "agg[count == 0] = 0", "agg = agg",
      loses=("message_passing_test",)),
    W("message_passing_accepts_any_aggr", "message_passing", 'if aggr not in ("sum", "mean", "max"):', "if False:",
      loses=("message_passing_test",)),
    W("message_passing_mean_by_out_degree", "message_passing", "count = np.bincount(target, minlength=N)",
      "count = np.bincount(source, minlength=N)", loses=("message_passing_test",)),
    W("message_passing_max_starts_at_zero", "message_passing",
      "agg = np.full((N, messages.shape[1]), -np.inf, dtype=messages.dtype)",
      "agg = np.zeros((N, messages.shape[1]), dtype=messages.dtype)", loses=("message_passing_test",)),
    # float32 sum divided by an int64 count: float64 comes out
    # the node itself counted in the mean's denominator
    W("message_passing_mean_counts_the_node_itself", "message_passing",
      "agg = agg / np.maximum(count, 1).astype(agg.dtype)[:, None]",
      "agg = agg / (count + 1).astype(agg.dtype)[:, None]", loses=("message_passing_test",)),
    W("message_passing_mean_upcast_by_int_count", "message_passing",
      "agg = agg / np.maximum(count, 1).astype(agg.dtype)[:, None]", "agg = agg / np.maximum(count, 1)[:, None]",
      loses=("message_passing_test",)),
    # right values, but edge_index reordered in place
    W("message_passing_sorts_edge_index_in_place", "message_passing",
      "source, target = edge_index[0], edge_index[1]",
      "edge_index[:] = edge_index[:, np.argsort(edge_index[1], kind='stable')]\n"
      "    source, target = edge_index[0], edge_index[1]", loses=("message_passing_test",)),
    # correct values, but a Python loop over the edges: the executed-line count grows with E
    W("message_passing_loop_over_edges", "message_passing", "np.add.at(agg, target, messages)",
      "for e in range(len(target)):\n            agg[target[e]] += messages[e]", loses=("message_passing_test",)),
    # a loop over the nodes inside a comprehension: one line per node all the same
    W("message_passing_comprehension_over_nodes", "message_passing", "        np.add.at(agg, target, messages)\n",
      "        agg = np.array([messages[target == i].sum(axis=0) for i in range(N)],\n"
      "                       dtype=messages.dtype).reshape(N, -1)\n", loses=("message_passing_test",)),
    # readout
    W("global_pool_empty_graph_nan", "global_pool", "out = out / np.maximum(count, 1).astype(H.dtype)[:, None]",
      "out = out / count.astype(H.dtype)[:, None]", loses=("global_pool_test",)),
    W("global_pool_max_starts_at_zero", "global_pool",
      "out = np.full((num_graphs, H.shape[1]), -np.inf, dtype=H.dtype)",
      "out = np.zeros((num_graphs, H.shape[1]), dtype=H.dtype)", loses=("global_pool_test",)),
    W("global_pool_max_empty_graph_minus_inf", "global_pool", "out[count == 0] = 0", "out = out",
      loses=("global_pool_test",)),
    W("global_pool_mean_upcast_by_int_count", "global_pool",
      "out = out / np.maximum(count, 1).astype(H.dtype)[:, None]", "out = out / np.maximum(count, 1)[:, None]",
      loses=("global_pool_test",)),
    # Weisfeiler-Lehman
    W("wl_colours_refined_per_graph", "wl", "colors = [[table[s] for s in sig] for sig in signatures]",
      "colors = [[{s: k for k, s in enumerate(sorted(set(sig)))}[s] for s in sig] for sig in signatures]",
      loses=("wl_test",)),
    W("wl_stops_one_round_early", "wl", "for _ in range(iterations):", "for _ in range(iterations - 1):",
      loses=("wl_test",)),
    W("wl_equivalent_one_round_short", "wl", "for c1, c2 in wl_colors([g1, g2], iterations):",
      "for c1, c2 in wl_colors([g1, g2], max(iterations - 1, 1)):", loses=("wl_test",)),
    W("wl_neighbour_colours_as_a_set", "wl", "tuple(sorted(c[j] for j in g[i]))", "tuple(sorted({c[j] for j in g[i]}))",
      loses=("wl_test",)),
    W("wl_equivalent_compares_colour_sets", "wl", "if not np.array_equal(np.sort(c1), np.sort(c2)):",
      "if set(c1.tolist()) != set(c2.tolist()):", loses=("wl_test",)),
    # the neighbours' colours in the order of the neighbour list: the tests shuffle the lists
    W("wl_neighbour_colours_unsorted", "wl", "tuple(sorted(c[j] for j in g[i]))", "tuple(c[j] for j in g[i])",
      loses=("wl_test",)),
    W("wl_starts_from_the_degrees", "wl", "colors = [[0] * len(g) for g in graphs]",
      "colors = [[len(neighbours) for neighbours in g] for g in graphs]", loses=("wl_test",)),
    # a table per graph inside wl_equivalent: colours of the two graphs are not comparable
    W("wl_equivalent_refines_each_graph_alone", "wl", "for c1, c2 in wl_colors([g1, g2], iterations):",
      "for (c1,), (c2,) in zip(wl_colors([g1], iterations), wl_colors([g2], iterations)):", loses=("wl_test",)),
    # the sizes of the colour classes without their colours
    W("wl_equivalent_compares_class_sizes", "wl", "if not np.array_equal(np.sort(c1), np.sort(c2)):",
      "if sorted(np.unique(c1, return_counts=True)[1].tolist()) != "
      "sorted(np.unique(c2, return_counts=True)[1].tolist()):", loses=("wl_test",)),
    # new colours written over the old ones while the round is still reading them
    W("wl_updates_colours_during_the_round", "wl", _WL_ROUND,
      "        table = {}\n        colors = [list(c) for c in colors]\n        for g, c in zip(graphs, colors):\n"
      "            for i in range(len(g)):\n"
      "                c[i] = table.setdefault((c[i], tuple(sorted(c[j] for j in g[i]))),\n"
      "                                        1000 * (_ + 1) + len(table))\n",
      loses=("wl_test",)),
    # right colours, but the neighbour lists sorted in place
    W("wl_sorts_neighbour_lists_in_place", "wl", "    rounds = []\n",
      "    rounds = []\n    for g in graphs:\n        for neighbours in g:\n            neighbours.sort()\n",
      loses=("wl_test",)),
    # networkx's own WL hashes, renumbered: the tests' oracle, not the student's refinement
    W("wl_calls_networkx", "wl",
      "    colors = [[0] * len(g) for g in graphs]                             # one colour for every node\n",
      "    import networkx as nx\n    hashes = []\n    for g in graphs:\n        G = nx.Graph()\n"
      "        G.add_nodes_from(range(len(g)))\n        G.add_edges_from((i, j) for i in range(len(g)) for j in g[i])\n"
      "        hashes.append(nx.weisfeiler_lehman_subgraph_hashes(G, iterations=iterations))\n    table = {}\n"
      "    return [[np.array([table.setdefault(h[i][r], len(table)) for i in range(len(h))]) for h in hashes]\n"
      "            for r in range(iterations)]\n", loses=("wl_test",)),
]
