"""Correct alternatives for assignment 01 (perceptron and XOR): see __init__.py."""
from right_implementations import RightImplementation as R

ASSIGNMENT = "01_perceptron_xor"

RIGHT = [
    # Exercise 1 with np.where (no loops, as the exercise asks), exercise 4 with np.heaviside (0 at exactly 0).
    R("predict_np_where_and_mlp_heaviside", cells={
        "predict": '''
def predict(w, b, X):
    """Threshold unit on a batch: 1 where X @ w + b > 0, else 0."""
    return np.where(np.dot(X, w) + b > 0, 1, 0)
''',
        "threshold_mlp": '''
def threshold_mlp(params, X):
    """Two-layer threshold network: step(step(X @ W1 + b1) @ w2 + b2)."""
    def step(z):
        return np.heaviside(z, 0.0)   # 1 where z > 0, 0 where z <= 0

    hidden = step(np.einsum("nd,dh->nh", X, params["W1"]) + params["b1"])
    return step(hidden @ params["w2"] + params["b2"]).astype(int)
''',
    }),
    # Exercises 2 and 3: the update written with the error term always applied (zero when right), and a
    # training loop over indices that calls predict on one row and counts the updates itself.
    R("update_with_error_term_and_index_loop", cells={
        "perceptron_update": '''
def perceptron_update(w, b, x, y, lr):
    """One step of the perceptron rule; returns new (w, b)."""
    score = sum(float(wi) * float(xi) for wi, xi in zip(w, x)) + b
    error = y - (1 if score > 0 else 0)   # 0 when the unit is right: then nothing moves
    return w + (lr * error) * x, b + lr * error
''',
        "train_perceptron": '''
def train_perceptron(X, y, lr=1.0, max_epochs=100):
    """Mistake-driven training from zero weights; returns (w, b, mistakes per epoch)."""
    N, D = X.shape
    w = np.zeros(D)
    b = 0.0
    mistakes = []
    epoch = 0
    while epoch < max_epochs:
        updates = 0
        for i in range(N):
            if predict(w, b, X[i:i + 1])[0] != y[i]:
                w, b = perceptron_update(w, b, X[i], y[i], lr)
                updates += 1
        mistakes.append(int(updates))
        epoch += 1
        if updates == 0:
            break
    return w, b, mistakes
''',
    }),
    # Exercise 5: another valid parameterisation, hidden units in the other order (NAND first) and scaled up.
    R("xor_network_nand_first", cells={
        "xor_network": '''
def xor_network():
    """Hidden NAND (column 0) and OR (column 1), output AND, every score at least 1 away from 0."""
    return {"W1": np.array([[-2.0, 2.0], [-2.0, 2.0]]),
            "b1": np.array([3.0, -1.0]),
            "w2": np.array([2.0, 2.0]),
            "b2": -3.0}
''',
    }),
    # Exercise 5 with exactly the required margin 0.2: OR fires when x1 + x2 > 0.2 sqrt(2), NAND when
    # x1 + x2 < 1 + 0.2 sqrt(2); the corners (0,0), (0,1) and (1,0) are 0.2 from a hidden line.
    R("xor_network_margin_exactly_0_2", cells={
        "xor_network": '''
def xor_network():
    """OR and NAND lines parallel to the anti-diagonal, each 0.2 from its nearest corner; output AND."""
    shift = 0.2 * np.sqrt(2.0)          # distance 0.2 along the normal (1, 1) / sqrt(2)
    return {"W1": np.array([[1.0, -1.0], [1.0, -1.0]]),
            "b1": np.array([-shift, 1.0 + shift]),
            "w2": np.array([1.0, 1.0]),
            "b2": -1.5}
''',
    }),
    # Exercise 5 with tilted hidden lines 2 x1 + x2 = 0.2 sqrt(5) (OR) and x1 + 2 x2 = 3 - 0.2 sqrt(5) (NAND):
    # margin exactly 0.2 at (0,0) and (1,1), more at the other corners; the output unit is scaled.
    R("xor_network_tilted_lines_margin_0_2", cells={
        "xor_network": '''
def xor_network():
    """Hidden OR and NAND whose lines are not parallel to a diagonal; both 0.2 from the nearest corner."""
    shift = 0.2 * np.sqrt(5.0)          # ||(2, 1)|| = ||(1, 2)|| = sqrt(5)
    W1 = np.array([[2.0, -1.0],
                   [1.0, -2.0]])         # column 0: OR, column 1: NAND
    return {"W1": W1, "b1": np.array([-shift, 3.0 - shift]), "w2": np.array([3.0, 3.0]), "b2": -4.0}
''',
    }),
    # Exercise 6 by Cover's own recursion C(n, d) = C(n - 1, d) + C(n - 1, d - 1), memoised.
    R("cover_count_recursion_memoised", cells={
        "cover_count": '''
from functools import lru_cache


@lru_cache(maxsize=None)
def _cover(n, d):
    if n == 1 or d == 1:
        return 2
    return _cover(n - 1, d) + _cover(n - 1, d - 1)


def cover_count(n, d):
    """Cover's count C(n, d) by its recursion, exact."""
    if n < 1 or d < 1:
        raise ValueError(f"need n >= 1 and d >= 1, got n={n}, d={d}")
    for m in range(1, n):   # fill the table bottom-up so that the recursion never runs deep
        _cover(m, d)
    return _cover(n, d)
''',
    }),
    # Exercise 6 again with binomials built one from the next in exact integer arithmetic (no math.comb).
    R("cover_count_incremental_binomials", cells={
        "cover_count": '''
def cover_count(n, d):
    """2 * sum_{k < d} binom(n - 1, k), each binomial from the previous one."""
    if n < 1 or d < 1:
        raise ValueError("n and d must be at least 1")
    total, binom = 0, 1
    for k in range(min(d, n)):          # binom(n - 1, k) = 0 for k > n - 1
        total += binom
        binom = binom * (n - 1 - k) // (k + 1)
    return 2 * total
''',
    }),
    # Exercise 7 by another linear program: maximise the margin t with (w, b) in a box; separable iff t > 0.
    R("separable_fraction_max_margin_lp", cells={
        "separable_fraction": '''
from scipy.optimize import linprog


def separable_fraction(n, d, trials, seed):
    """Fraction of random labelings that some (w, b) separates, decided by a max-margin LP."""
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(trials):
        y = rng.choice([-1.0, 1.0], size=n)
        X = rng.standard_normal((n, d))
        # variables (w, b, t): maximise t subject to y_i (w . x_i + b) >= t, -1 <= w, b <= 1, t <= 1
        A = np.hstack([-y[:, None] * X, -y[:, None], np.ones((n, 1))])
        c = np.zeros(d + 2)
        c[-1] = -1.0
        res = linprog(c, A_ub=A, b_ub=np.zeros(n), bounds=[(-1, 1)] * (d + 1) + [(None, 1)], method="highs")
        if res.status == 0 and -res.fun > 1e-9:
            count += 1
    return float(count / trials)
''',
    }),
]
