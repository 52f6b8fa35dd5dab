"""Correct alternatives for assignment 07 (what networks can represent, and how they generalise): see __init__.py."""
from right_implementations import RightImplementation as R

ASSIGNMENT = "07_generalization"

RIGHT = [
    # Exercise 1 with units that face left, relu(x_i - x) for the knots x_1..x_n, and b2 = f(b); loops over the units
    # in relu_net. The same function on [a, b] (the tests look inside [a, b] only).
    R("relu_interpolant_units_facing_left_with_loops", cells={
        "relu_interpolant": '''
def relu_net(params, x):
    """sum_j w2[j] relu(W1[0, j] x + b1[j]) + b2, one unit at a time."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(len(x)) + float(params["b2"])
    for j in range(np.shape(params["W1"])[1]):
        out += params["w2"][j] * np.maximum(params["W1"][0, j] * x + params["b1"][j], 0.0)
    return out


def relu_interpolant(f, a, b, n_pieces):
    """g(x) = f(b) + sum_i c_i relu(x_i - x) over the knots x_1..x_n."""
    knots = [a + i * (b - a) / n_pieces for i in range(n_pieces + 1)]
    knots[-1] = b
    values = np.asarray(f(np.array(knots)), dtype=np.float64)
    slopes = [(values[i + 1] - values[i]) / (knots[i + 1] - knots[i]) for i in range(n_pieces)]
    coefficients = [slopes[i] - slopes[i - 1] for i in range(1, n_pieces)] + [-slopes[-1]]
    return {"W1": -np.ones((1, n_pieces)), "b1": np.array(knots[1:]), "w2": np.array(coefficients),
            "b2": float(values[-1])}
''',
    }),
    # Exercise 2 from t(x) = 1 - |2x - 1| = 1 - relu(2x - 1) - relu(1 - 2x): another pair of units, another layout.
    R("tent_network_absolute_value_form", cells={
        "tent_network": '''
def tent_network(depth):
    """Units relu(2t - 1) and relu(1 - 2t) of the previous t = 1 - h1 - h2, depth times."""
    layers = [(np.array([[2.0, -2.0]]), np.array([-1.0, 1.0]))]
    for _ in range(depth - 1):
        layers.append((np.array([[-2.0, 2.0], [-2.0, 2.0]]), np.array([1.0, -1.0])))
    layers.append((np.array([[-1.0], [-1.0]]), np.array([1.0])))
    return layers
''',
    }),
    # Exercises 3 and 4: ridge through the SVD with NumPy's rank cutoff (so lam = 0 gives the minimum-norm solution),
    # the folds from np.array_split.
    R("ridge_by_svd_and_folds_by_array_split", cells={
        "ridge_fit": '''
def ridge_fit(X, y, lam):
    """w = V diag(d / (d^2 + lam)) U^T y over the singular values above NumPy's cutoff."""
    if lam < 0:
        raise ValueError("lam must be >= 0")
    U, d, Vt = np.linalg.svd(X, full_matrices=False)
    keep = d > np.finfo(np.float64).eps * max(X.shape) * d.max()
    factors = np.zeros_like(d)
    factors[keep] = d[keep] / (d[keep] ** 2 + lam)
    return Vt.T @ (factors * (U.T @ y))
''',
        "kfold_indices": '''
def kfold_indices(n, k):
    """np.array_split puts the longer pieces first, as KFold does."""
    if k < 2 or k > n:
        raise ValueError("need 2 <= k <= n")
    everything = np.arange(n)
    folds = []
    for val in np.array_split(everything, k):
        train = everything[(everything < val[0]) | (everything > val[-1])]
        folds.append((train, val))
    return folds
''',
    }),
    # Exercise 5 with a binomial mask and np.multiply; exercise 10 by the pseudo-inverse.
    R("dropout_binomial_and_pinv", cells={
        "dropout": '''
def dropout_forward(x, p, rng, train=True):
    """A Bernoulli(1 - p) mask scaled by 1 / (1 - p)."""
    if p < 0 or p >= 1:
        raise ValueError("p must be in [0, 1)")
    if not train:
        return np.array(x, copy=True), np.ones(x.shape, dtype=x.dtype)
    mask = (rng.binomial(1, 1.0 - p, size=x.shape) / (1.0 - p)).astype(x.dtype)
    return np.multiply(x, mask), mask


def dropout_backward(dout, mask):
    return np.multiply(dout, mask)
''',
        "min_norm_lstsq": '''
def min_norm_lstsq(Phi, y):
    return np.linalg.pinv(Phi) @ y
''',
    }),
    # Exercise 6 with another state layout: one (m, v) pair per parameter and the step count, updated in place;
    # AdamW written as p - lr * (weight_decay * p + adam direction).
    R("adam_per_parameter_state_in_place", cells={
        "adam": '''
def adam_update(params, grads, state, lr, betas, eps):
    raise NotImplementedError("not used")


def _moments(grads, state, betas, eps):
    """Update state in place; return the bias-corrected direction of every parameter."""
    beta1, beta2 = betas
    state["step"] = state.get("step", 0) + 1
    direction = {}
    for name, g in grads.items():
        m, v = state.get(name, (0.0 * g, 0.0 * g))
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        state[name] = (m, v)
        m_hat = m / (1 - beta1 ** state["step"])
        v_hat = v / (1 - beta2 ** state["step"])
        direction[name] = m_hat / (np.sqrt(v_hat) + eps)
    return direction


def adamw_step(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    state = {} if state is None else state
    direction = _moments(grads, state, betas, eps)
    return {k: params[k] - lr * (weight_decay * params[k] + direction[k]) for k in params}, state


def adam_l2_step(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    state = {} if state is None else state
    direction = _moments({k: grads[k] + weight_decay * params[k] for k in grads}, state, betas, eps)
    return {k: params[k] - lr * direction[k] for k in params}, state
''',
    }),
    # Exercises 7, 8 and 9: early stopping with a while loop on an array; the loss from scipy's logsumexp; shifts
    # drawn one image at a time and applied by padding with zeros and cropping.
    R("while_loop_logsumexp_and_pad_crop", cells={
        "early_stopping": '''
def early_stopping(val_losses, patience, min_delta=0.0):
    losses = np.asarray(val_losses, dtype=np.float64)
    if patience < 1:
        raise ValueError("patience must be >= 1")
    best, epoch = 0, 1
    while epoch < len(losses):
        if losses[epoch] < losses[best] - min_delta:
            best = epoch
        if epoch - best == patience:
            return int(best), int(epoch)
        epoch += 1
    return int(best), int(len(losses) - 1)
''',
        "smoothed_cross_entropy": '''
def smoothed_cross_entropy(logits, targets, eps):
    from scipy.special import logsumexp

    N, K = logits.shape
    log_p = logits - logsumexp(logits, axis=1, keepdims=True)
    one_hot = np.eye(K)[targets]
    q = (1 - eps) * one_hot + eps / K
    loss = np.mean(-np.sum(q * log_p, axis=1))
    return loss, (np.exp(log_p) - q) / N
''',
        "random_shift": '''
def random_shift(images, max_shift, rng):
    m = max_shift
    N, H, W = images.shape
    padded = np.pad(images, ((0, 0), (m, m), (m, m)))
    out = np.empty_like(images)
    for n in range(N):
        dy, dx = rng.integers(-m, m + 1, size=2)
        out[n] = padded[n, m - dy:m - dy + H, m - dx:m - dx + W]
    return out
''',
    }),
    # Exercise 1 with scaled units relu((x - x_i) / h) for every knot, the last with weight 0 (H = n_pieces + 1),
    # the knots as a + i h; relu_net through np.outer. Exercise 2 at width 3:
    # t(x) = 2 relu(x) - 4 relu(x - 1/2) + 2 relu(x - 1).
    R("relu_interpolant_scaled_units_and_tent_width_3", cells={
        "relu_interpolant": '''
def relu_net(params, x):
    z = np.outer(np.asarray(x).astype(np.float64), params["W1"][0]) + params["b1"]
    return np.maximum(z, 0.0) @ params["w2"] + params["b2"]


def relu_interpolant(f, a, b, n_pieces):
    h = (b - a) / n_pieces
    i = np.arange(n_pieces + 1)
    knots = a + i * h
    knots[-1] = b
    values = f(knots)
    slopes = (values[1:] - values[:-1]) / (knots[1:] - knots[:-1])
    weights = np.zeros(n_pieces + 1)
    weights[0] = slopes[0]
    weights[1:n_pieces] = slopes[1:] - slopes[:-1]
    return {"W1": np.full((1, n_pieces + 1), 1.0 / h), "b1": -knots / h, "w2": weights * h,
            "b2": values[0]}
''',
        "tent_network": '''
def tent_network(depth):
    """Three units relu(t), relu(t - 1/2), relu(t - 1): on t >= 0 they give 2 h1 - 4 h2 + 2 h3 = t(t)."""
    first = (np.array([[1.0, 1.0, 1.0]]), np.array([0.0, -0.5, -1.0]))
    combine = np.array([[2.0], [-4.0], [2.0]])
    middle = (combine @ np.array([[1.0, 1.0, 1.0]]), np.array([0.0, -0.5, -1.0]))
    return [first] + [middle for _ in range(depth - 1)] + [(combine, np.zeros(1))]
''',
    }),
    # Exercise 2 with a linear layer between compositions (t >= 0, so its ReLU changes nothing: 2 depth layers);
    # exercise 3 by Cholesky for lam > 0 and the pseudo-inverse at lam = 0; exercise 4 with Python ranges, lists of
    # pairs and np.setdiff1d.
    R("tent_two_layers_per_composition_ridge_cholesky_kfold_ranges", cells={
        "tent_network": '''
def tent_network(depth):
    split = (np.array([[1.0, 1.0]]), np.array([0.0, -0.5]))
    merge = (np.array([[2.0], [-4.0]]), np.array([0.0]))
    layers = []
    for _ in range(depth):
        layers += [split, merge]
    return layers
''',
        "ridge_fit": '''
def ridge_fit(X, y, lam):
    if lam < 0:
        raise ValueError("the penalty lam must be non-negative")
    if lam == 0:
        return np.linalg.pinv(X) @ y
    L = np.linalg.cholesky(X.T @ X + lam * np.eye(X.shape[1]))
    return np.linalg.solve(L.T, np.linalg.solve(L, X.T @ y))
''',
        "kfold_indices": '''
def kfold_indices(n, k):
    if k < 2 or k > n:
        raise ValueError(f"need 2 <= k <= n, got k={k}, n={n}")
    result, start = [], 0
    for i in range(k):
        size = n // k + (1 if i < n % k else 0)
        val = np.array(range(start, start + size), dtype=int)
        result.append([np.setdiff1d(np.arange(n), val), val])
        start += size
    return result
''',
    }),
    # Exercise 3 as one least-squares problem for every lam, the rows sqrt(lam) I appended; exercise 5 with
    # rng.random(x.shape) < 1 - p and np.where, x itself returned when not training; exercise 6 with the state
    # a new tuple (t, m, v) at every call.
    R("ridge_augmented_dropout_where_adam_tuple_state", cells={
        "ridge_fit": '''
def ridge_fit(X, y, lam):
    if not lam >= 0:
        raise ValueError("lam < 0")
    D = X.shape[1]
    A = np.vstack([X, np.sqrt(lam) * np.eye(D)])
    return np.linalg.lstsq(A, np.concatenate([y, np.zeros(D)]), rcond=None)[0]
''',
        "dropout": '''
def dropout_forward(x, p, rng, train=True):
    if not (0 <= p < 1):
        raise ValueError("p must satisfy 0 <= p < 1")
    if not train:
        return x, np.ones_like(x)
    keep = rng.random(x.shape) < 1 - p
    mask = np.where(keep, 1 / (1 - p), 0).astype(x.dtype)
    return x * mask, mask


def dropout_backward(dout, mask):
    return mask * dout
''',
        "adam": '''
def adam_update(params, grads, state, lr, betas, eps):
    b1, b2 = betas
    t, m, v = state if state is not None else (0, {}, {})
    t += 1
    m = {k: b1 * m.get(k, 0.0) + (1 - b1) * grads[k] for k in grads}
    v = {k: b2 * v.get(k, 0.0) + (1 - b2) * np.square(grads[k]) for k in grads}
    step = lr / (1 - b1 ** t)
    out = {k: params[k] - step * m[k] / (np.sqrt(v[k]) / np.sqrt(1 - b2 ** t) + eps) for k in params}
    return out, (t, m, v)


def adamw_step(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    shrunk = {k: (1 - lr * weight_decay) * w for k, w in params.items()}
    return adam_update(shrunk, grads, state, lr, betas, eps)


def adam_l2_step(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return adam_update(params, {k: g + weight_decay * params[k] for k, g in grads.items()}, state, lr, betas, eps)
''',
    }),
    # Exercise 6 with the state an object of a small class; exercise 7 with a counter of epochs without improvement
    # (Keras' style); exercise 8 from loss = logsumexp(z) - sum_k q_k z_k; exercise 9 vectorised: dy and dx drawn as
    # two arrays, every output pixel read from its source pixel; exercise 10 by the SVD with NumPy's cutoff.
    R("adam_object_state_counter_stopping_formula_loss_gather_shift_svd", cells={
        "adam": '''
class AdamState:
    def __init__(self, params):
        self.t = 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}


def adam_update(params, grads, state, lr, betas, eps):
    if state is None:
        state = AdamState(params)
    state.t += 1
    new = {}
    for k in params:
        state.m[k] = betas[0] * state.m[k] + (1 - betas[0]) * grads[k]
        state.v[k] = betas[1] * state.v[k] + (1 - betas[1]) * grads[k] ** 2
        m_hat = state.m[k] / (1 - betas[0] ** state.t)
        v_hat = state.v[k] / (1 - betas[1] ** state.t)
        new[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new, state


def adamw_step(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return adam_update({k: p - lr * weight_decay * p for k, p in params.items()}, grads, state, lr, betas, eps)


def adam_l2_step(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    grads = {k: grads[k] + weight_decay * params[k] for k in params}
    return adam_update(params, grads, state, lr, betas, eps)
''',
        "early_stopping": '''
def early_stopping(val_losses, patience, min_delta=0.0):
    if patience < 1:
        raise ValueError("patience must be at least 1")
    best_epoch, best_loss, wait = 0, val_losses[0], 0
    for epoch, loss in enumerate(val_losses):
        if epoch == 0:
            continue
        if loss + min_delta < best_loss:
            best_epoch, best_loss, wait = epoch, loss, 0
        else:
            wait += 1
            if wait >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1
''',
        "smoothed_cross_entropy": '''
def smoothed_cross_entropy(logits, targets, eps):
    N, K = logits.shape
    top = logits.max(axis=1)
    lse = top + np.log(np.sum(np.exp(logits - top[:, None]), axis=1))       # (N,)
    picked = logits[np.arange(N), targets]
    per_example = lse - (1 - eps) * picked - eps / K * logits.sum(axis=1)
    softmax = np.exp(logits - lse[:, None])
    softmax[np.arange(N), targets] -= 1 - eps
    return per_example.mean(), (softmax - eps / K) / N
''',
        "random_shift": '''
def random_shift(images, max_shift, rng):
    N, H, W = images.shape
    dy = rng.integers(-max_shift, max_shift + 1, N)[:, None, None]
    dx = rng.integers(-max_shift, max_shift + 1, N)[:, None, None]
    rows = np.arange(H)[None, :, None] - dy                 # the source row of each output pixel
    cols = np.arange(W)[None, None, :] - dx
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
    source = images[np.arange(N)[:, None, None], np.clip(rows, 0, H - 1), np.clip(cols, 0, W - 1)]
    return np.where(inside, source, np.zeros((), dtype=images.dtype))
''',
        "min_norm_lstsq": '''
def min_norm_lstsq(Phi, y):
    U, d, Vt = np.linalg.svd(Phi, full_matrices=False)
    cutoff = np.finfo(d.dtype).eps * max(Phi.shape) * d.max()
    d_inv = np.zeros_like(d)
    d_inv[d > cutoff] = 1.0 / d[d > cutoff]
    return Vt.T @ (d_inv * (U.T @ y))
''',
    }),
]
