"""Correct alternatives for assignment 02 (backpropagation): see __init__.py."""
from right_implementations import RightImplementation as R

ASSIGNMENT = "02_backprop"

RIGHT = [
    # Exercises 1 and 2: einsum instead of @, and a cache that is a dict.
    R("linear_einsum_dict_cache", cells={
        "linear_forward": '''
def linear_forward(x, W, b):
    """out = x W + b, (N, M); the cache is a dict."""
    out = np.einsum("nd,dm->nm", x, W) + b[None, :]
    return out, {"x": x, "W": W}
''',
        "linear_backward": '''
def linear_backward(dout, cache):
    """dx, dW, db of the linear layer."""
    x, W = cache["x"], cache["W"]
    dx = np.einsum("nm,dm->nd", dout, W)
    dW = np.einsum("nd,nm->dm", x, dout)
    db = np.einsum("nm->m", dout)
    return dx, dW, db
''',
    }),
    # Exercise 3: other caches (a mask, the input) and a sigmoid from log-sum-exp whose backward pass uses
    # a (1 - a) of the sigmoid recomputed at the cached input.
    R("activations_logaddexp_sigmoid_input_caches", cells={
        "activations": '''
def relu_forward(x):
    """max(0, x); the cache is the mask of positive inputs."""
    positive = x > 0
    return np.where(positive, x, 0.0), positive


def relu_backward(dout, cache):
    """dout where the input was positive, else 0 (0 at x = 0)."""
    return np.where(cache, dout, 0.0)


def _stable_sigmoid(x):
    # sigma(x) = exp(-log(1 + exp(-x))) = exp(-logaddexp(0, -x)): logaddexp never overflows
    return np.exp(-np.logaddexp(0.0, -x))


def sigmoid_forward(x):
    """Logistic sigmoid without overflow; the cache is the input."""
    return _stable_sigmoid(x), x


def sigmoid_backward(dout, cache):
    """sigma'(x) = a (1 - a) with a = sigma(x) at the cached input."""
    a = _stable_sigmoid(cache)
    return dout * a * (1.0 - a)


def tanh_forward(x):
    """tanh; the cache is the input."""
    return np.tanh(x), x


def tanh_backward(dout, cache):
    """1 - tanh(x)^2 at the cached input."""
    t = np.tanh(cache)
    return dout * (1.0 - t * t)
''',
    }),
    # Exercise 3 again: the sigmoid's derivative taken at the input, as the recap says, in the stable form
    # exp(-|x|) / (1 + exp(-|x|))^2 (no cancellation in 1 - a). Mathematically the same as a (1 - a) and more
    # accurate for large x; the checks compare with a (1 - a) rounded in float64 at rtol 1e-9, which it
    # differs from by up to 1e-3 at x = 30 (and for x >= 37, where a rounds to 1, a (1 - a) is exactly 0).
    R("activations_sigmoid_derivative_at_input", cells={
        "activations": '''
def relu_forward(x):
    """max(0, x)."""
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    """dout where x > 0, else 0."""
    return dout * (cache > 0)


def sigmoid_forward(x):
    """Stable sigmoid; the cache is the input."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, z) / (1.0 + z), x


def sigmoid_backward(dout, cache):
    """sigma'(x) = exp(-|x|) / (1 + exp(-|x|))^2, at the cached input."""
    z = np.exp(-np.abs(cache))
    return dout * z / (1.0 + z) ** 2


def tanh_forward(x):
    """tanh; the cache is the output."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """1 - tanh^2 from the cached output."""
    return dout * (1.0 - cache ** 2)
''',
    }),
    # Exercise 3 again: tanh's derivative written as sech^2 x = 1 / cosh(x)^2 at the cached input (cosh
    # overflows to inf for |x| > 710, where 1 / inf = 0 is the right value: the spec asks only the sigmoid not
    # to overflow); ReLU through np.heaviside with 0 at the kink.
    R("activations_tanh_derivative_from_cosh", cells={
        "activations": '''
def relu_forward(x):
    """max(0, x); the cache is the input."""
    return x * np.heaviside(x, 0.0), x


def relu_backward(dout, cache):
    """dout times the step function, 0 at x = 0."""
    return dout * np.heaviside(cache, 0.0)


def sigmoid_forward(x):
    """Stable sigmoid; the cache is the output."""
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return out, out


def sigmoid_backward(dout, cache):
    """a (1 - a) from the cached output."""
    return dout * cache * (1.0 - cache)


def tanh_forward(x):
    """tanh; the cache is the input."""
    return np.tanh(x), x


def tanh_backward(dout, cache):
    """d tanh(x) / dx = 1 / cosh(x)^2, at the cached input."""
    return dout / np.cosh(cache) ** 2
''',
    }),
    # Exercises 4 and 5: SciPy's logsumexp and a one-hot matrix; the MSE written with np.sum and np.square.
    R("softmax_ce_logsumexp_and_mse_sum", cells={
        "softmax_cross_entropy": '''
from scipy.special import logsumexp


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy and its gradient, through log-sum-exp."""
    N, C = logits.shape
    one_hot = np.eye(C)[np.asarray(y)]                       # (N, C)
    lse = logsumexp(logits, axis=1)                          # (N,)
    loss = np.mean(lse - np.sum(one_hot * logits, axis=1))
    probs = np.exp(logits - lse[:, None])
    return loss, (probs - one_hot) / N
''',
        "mse_loss": '''
def mse_loss(pred, target):
    """Mean of the squared differences over every element, and its gradient."""
    K = np.size(pred)
    diff = np.subtract(pred, target)
    return np.sum(np.square(diff)) / K, (2.0 / K) * diff
''',
    }),
    # Exercise 6: parameters drawn with rng.normal(0, std), caches kept in two lists (inputs and
    # activation caches), the unknown activation caught as a KeyError.
    R("mlp_rng_normal_separate_cache_lists", cells={
        "mlp": '''
ACTIVATIONS = {"relu": (relu_forward, relu_backward),
               "sigmoid": (sigmoid_forward, sigmoid_backward),
               "tanh": (tanh_forward, tanh_backward)}


class MLP:
    """Linear layers with an activation between them (none after the last)."""

    def __init__(self, sizes, activation="relu", seed=0):
        try:
            self.act_forward, self.act_backward = ACTIVATIONS[activation]
        except KeyError:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, not {activation!r}") from None
        self.n_layers = len(sizes) - 1
        rng = np.random.default_rng(seed)
        self.params = {}
        for l in range(1, self.n_layers + 1):
            fan_in, fan_out = sizes[l - 1], sizes[l]
            std = np.sqrt(2.0 / fan_in) if activation == "relu" else np.sqrt(2.0 / (fan_in + fan_out))
            self.params["W%d" % l] = rng.normal(0.0, std, size=(fan_in, fan_out))
            self.params["b%d" % l] = np.zeros(fan_out)
        self.linear_caches, self.act_caches = [], []

    def forward(self, x):
        self.linear_caches, self.act_caches = [], []
        for l in range(1, self.n_layers + 1):
            x, cache = linear_forward(x, self.params["W%d" % l], self.params["b%d" % l])
            self.linear_caches.append(cache)
            if l != self.n_layers:
                x, cache = self.act_forward(x)
                self.act_caches.append(cache)
        return x

    def backward(self, dlogits):
        grads = {}
        d = dlogits
        for l in range(self.n_layers, 0, -1):
            if l != self.n_layers:
                d = self.act_backward(d, self.act_caches[l - 1])
            d, grads["W%d" % l], grads["b%d" % l] = linear_backward(d, self.linear_caches[l - 1])
        return grads
''',
    }),
    # Exercise 7: the velocity updated in place inside the state (never the caller's arrays).
    R("sgd_momentum_in_place_velocity", cells={
        "sgd_momentum": '''
def sgd_momentum(w, dw, state, lr, momentum=0.9):
    """v = momentum v + dw (v kept in state), then w - lr v as a new array."""
    if "v" not in state:
        state["v"] = np.array(dw, dtype=np.result_type(w, dw), copy=True)
    else:
        v = state["v"]
        v *= momentum
        v += dw
    return w - lr * state["v"]
''',
    }),
    # Exercise 8: the bias corrections folded into the step size and epsilon (an equivalent form), the
    # moments kept as a tuple.
    R("adam_corrections_in_step_size", cells={
        "adam": '''
def adam(w, dw, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam; m_hat / (sqrt(s_hat) + eps) rewritten as a step size on m / (sqrt(s) + eps')."""
    step = state.get("step", 0) + 1
    m, s = state.get("moments", (0.0, 0.0))
    m = beta1 * m + (1.0 - beta1) * dw
    s = beta2 * s + (1.0 - beta2) * np.square(dw)
    state["step"], state["moments"] = step, (m, s)
    c1, c2 = 1.0 - beta1 ** step, np.sqrt(1.0 - beta2 ** step)
    return w - (lr * c2 / c1) * m / (np.sqrt(s) + eps * c2)
''',
    }),
]
