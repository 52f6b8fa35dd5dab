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
]
