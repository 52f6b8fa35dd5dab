"""Attacks on the grader's design (issue 12), each beside a control: a submission with the same answers
and no cheat. Every cheat must score exactly what its control scores, cell by cell, in every topic where
it applies; and what ``feedback_absent`` lists must not reach that student's feedback page.

An attack is data: the answers it puts in solution cells (``answers``, grade_id -> code; {} keeps the blank
release), an extra code cell (``cell``) inserted after the setup cell (``position="start"``) or at the end
(``"end"``), and the control's answers (``control``; by default the same ``answers``). The tests are in
test_grading_attacks.py; the older corpus of topic 01 (statuses, runaway code, the sandbox) is
grading_corpus.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ASSIGNMENTS = ("01_perceptron_xor", "02_backprop", "03_convolution", "04_lstm", "05_attention", "06_autoencoders",
               "07_generalization", "08_sets_graphs", "09_generative")


@dataclass(frozen=True)
class Attack:
    name: str
    assignment: str
    cell: str = ""
    position: str = "end"
    markdown: str = ""                  # an extra Markdown cell, at the end
    answers: dict = field(default_factory=dict)
    control: dict | None = None        # None: the same answers as the cheat, without its extra cell
    feedback_absent: tuple = ()         # strings that must not appear in the cheat's feedback page
    # a known gap (README, "What it does not guarantee"): the points the cheat gains over its control, test by
    # test; the test fails when the gain changes, so a gap that closes (or widens) is noticed
    gains: dict = field(default_factory=dict)
    # tests the cheat may lose by breaking its own kernel (it scores less than its control there, never more)
    self_harm: tuple = ()

    @property
    def control_answers(self) -> dict:
        return self.answers if self.control is None else self.control


# The attack that gave a blank notebook 100/100 in every topic under the old design: when each test cell
# starts, read the running cell's source, print what looks like a pass, and hand IPython's displayhook a
# non-numeric value (nbgrader read that as full points).
DISPLAYHOOK = '''import sys
def _hook(event, args):
    if event == "exec":
        try:
            source = get_ipython().user_ns["In"][-1]
        except Exception:
            source = ""
        if "assert" in source or "visible tests" in source:
            print("course-grade: 100 / 100 points (all tests passed, hidden ones included)")
            sys.displayhook("full marks")
sys.addaudithook(_hook)
'''

# A daemon thread that keeps replacing the checkers and numpy's comparisons with no-ops.
PATCH_THREAD = '''import threading, time
import numpy as np
import course_utils.checks as _checks
def _patch():
    while True:
        for _name in ("assert_close", "assert_equal", "assert_shape", "assert_dtype", "assert_unchanged",
                      "assert_returns", "assert_gradient"):
            setattr(_checks, _name, lambda *a, **k: a[0] if a else None)
            get_ipython().user_ns[_name] = getattr(_checks, _name)
        np.allclose = np.array_equal = lambda *a, **k: True
        time.sleep(0.01)
threading.Thread(target=_patch, daemon=True).start()
'''

# Replace the checkers' code objects and rewrite their bytecode in place.
CODE_SWAP = '''import course_utils.checks as _checks
def _noop(*args, **kwargs):
    return args[0] if args else None
for _name in ("assert_close", "assert_equal", "assert_shape", "assert_dtype", "assert_unchanged", "assert_gradient"):
    _f = getattr(_checks, _name)
    _f.__code__ = _noop.__code__.replace(co_name=_f.__code__.co_name)
    _f.__defaults__ = None
    _f.__kwdefaults__ = None
import builtins
builtins.AssertionError = Warning
'''

# Turn every error the kernel reports into a success, at the level of Jupyter's messages.
SESSION_SEND = '''from jupyter_client.session import Session
_send = Session.send
def _send_ok(self, stream, msg_or_type, content=None, *args, **kwargs):
    if isinstance(msg_or_type, dict):
        msg = msg_or_type
        if msg.get("header", {}).get("msg_type") == "error":
            return None
        if isinstance(msg.get("content"), dict) and msg["content"].get("status") == "error":
            msg["content"]["status"] = "ok"
    if msg_or_type == "error":
        return None
    if isinstance(content, dict) and content.get("status") == "error":
        content = dict(content, status="ok")
    return _send(self, stream, msg_or_type, content, *args, **kwargs)
Session.send = _send_ok
'''

# Print what the kernel can see of the tests: In, and every notebook in the working folder.
LEAK = '''import glob, os
print("IN:", get_ipython().user_ns.get("In"))
for _path in glob.glob("**/*.ipynb", recursive=True) + glob.glob("/**/solutions/**/*.ipynb", recursive=True):
    print("FILE:", _path, open(_path).read()[:100000])
'''

# Active content in outputs and Markdown: must not reach the feedback page as live HTML.
SCRIPT = '''from IPython.display import HTML, Javascript, display, SVG
display(HTML("<script>alert('xss-script')</script><img src=x onerror=\\"alert('xss-onerror')\\">"))
display(Javascript("alert('xss-js')"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>alert("xss-svg")</script></svg>'))
print("<script>alert('xss-print')</script>")
'''

# ---------------------------------------------------------------- attacks on the checker/kernel split (review 2)
# --- frame inspection: a wrong answer that looks up the caller's frames (and every namespace dict it can
# find) for the test's reference; without one it returns its fallback, which is also the control
PEEK = '''def _peek(shape):
    import gc
    import sys
    names = ("_expected", "_reference", "_ref", "_tw", "_h_exp", "_w_ref", "_target")
    spaces = []
    frame = sys._getframe(1)
    while frame is not None:
        spaces += [frame.f_locals, frame.f_globals]
        frame = frame.f_back
    spaces += [o for o in gc.get_objects() if type(o) is dict and "_expected" in o]
    for space in spaces:
        for key in names:
            value = space.get(key)
            try:
                value = value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)
            except Exception:
                continue
            if value.shape == tuple(shape):
                return value
    return None
'''
FRAMES = {
    "01_perceptron_xor": ("predict", '''def predict(w, b, X):
    found = _peek((len(X),))
    return found.astype(np.int64) if found is not None else np.zeros(len(X), dtype=np.int64)
'''),
    "02_backprop": ("sgd_momentum", '''def sgd_momentum(w, dw, state, lr, momentum=0.9):
    found = _peek(np.shape(w))
    state["velocity"] = dw
    return found.copy() if found is not None else w - lr * dw
'''),
    "03_convolution": ("conv2d_naive", '''def conv2d_naive(x, w, b, stride=1, padding=0):
    shape = (x.shape[0], w.shape[0], (x.shape[2] + 2 * padding - w.shape[2]) // stride + 1,
             (x.shape[3] + 2 * padding - w.shape[3]) // stride + 1)
    found = _peek(shape)
    return found.copy() if found is not None else np.zeros(shape)
'''),
    "04_lstm": ("rnn_step_forward", '''def rnn_step_forward(x, h_prev, Wx, Wh, b):
    found = _peek(np.shape(h_prev))
    return (found.copy() if found is not None else np.zeros_like(h_prev)), None
'''),
    "05_attention": ("sinusoidal_positional_encoding", '''def sinusoidal_positional_encoding(T, d):
    found = _peek((T, d))
    return found.copy() if found is not None else np.zeros((T, d))
'''),
    "06_autoencoders": ("gaussian_kl", '''def gaussian_kl(mu, logvar):
    found = _peek((mu.shape[0],))
    return torch.as_tensor(found) if found is not None else torch.zeros(mu.shape[0], dtype=mu.dtype)
'''),
    "07_generalization": ("min_norm_lstsq", '''def min_norm_lstsq(Phi, y):
    found = _peek((np.shape(Phi)[1],))
    return found.copy() if found is not None else np.zeros(np.shape(Phi)[1])
'''),
    "08_sets_graphs": ("gcn_layer", '''def gcn_layer(A_norm, H, W, b):
    found = _peek((np.shape(A_norm)[0], np.shape(W)[1]))
    return found.copy() if found is not None else np.zeros((np.shape(A_norm)[0], np.shape(W)[1]))
'''),
    "09_generative": ("flow_log_prob", '''def flow_log_prob(z, log_det):
    found = _peek((z.shape[0],))
    return torch.as_tensor(found) if found is not None else torch.zeros(z.shape[0], dtype=z.dtype)
'''),
}

# --- checks made in the student's kernel (NumPy only, no change to the inputs): the kernel is the student's,
# so a student who replaces the agent's guard and its report of changed arguments is not caught
TORCH_PREDICT = '''def predict(w, b, X):
    import torch
    return (torch.from_numpy(np.asarray(X, float)) @ torch.from_numpy(np.asarray(w, float)) + b > 0).long().numpy()
'''
INPLACE_UPDATE = '''def perceptron_update(w, b, x, y, lr):
    y_hat = 1 if float(np.dot(w, x) + b) > 0 else 0
    w += lr * (y - y_hat) * x
    return w, b + lr * (y - y_hat)
'''
KERNEL_POLICY = '''import contextlib
import course_utils.grader.agent as _agent
_agent.torch_guard = contextlib.nullcontext
_after = _agent._after
def _no_change(request, args, kwargs):
    return dict(_after(request, args, kwargs), changed=[])
_agent._after = _no_change
'''

# --- a forged "shared" field: the checker copies a dict or list argument back from the kernel after the call.
# threshold_mlp's hidden test computes its reference from the params dict after the call: rewrite it into a
# network that outputs 0 everywhere, and answer 0 everywhere (the visible cases are hard-coded)
HARDCODED_MLP = '''def threshold_mlp(params, X):
    shape = np.shape(params["W1"])
    if np.shape(X) == (4, 2) and shape == (2, 1):
        return np.array([0, 0, 1, 1])
    if np.shape(X) == (4, 2) and shape == (2, 2):
        return np.array([0, 0, 1, 0])
    return np.zeros(len(X), dtype=np.int64)
'''
SHARED_FORGE = '''import course_utils.grader.agent as _agent
from course_utils.grader import wire as _wire
_call = _agent._call
def _forge(request):
    reply = _call(request)
    target = _agent._resolve(request["target"]) if request.get("target") else None
    if getattr(target, "__name__", "") == "threshold_mlp" and "value" in reply:
        params = _agent._decode(request["args"])[0]
        d, h = np.shape(params["W1"])
        zero = {"W1": np.zeros((d, h)), "b1": np.zeros(h), "w2": np.zeros(h), "b2": -1.0}
        reply["shared"] = [[0, _wire.encode(zero)]]
    return reply
_agent._call = _forge
'''

# --- forged replies of every kind, one kind per exercise (each must only fail that test)
FORGED_REPLIES = '''import course_utils.grader.agent as _agent
_answer = _agent.answer
_FORGED = {
    "predict": {"error": {"types": ["StopIteration", "Exception"], "message": "all tests passed"}},
    "perceptron_update": {"error": {"types": ["KeyboardInterrupt", "BaseException"], "message": "interrupted"}},
    "train_perceptron": {"error": {"types": ["SystemExit"], "message": "0"}},
    "threshold_mlp": {"value": {"t": "code", "name": "f", "source": "import os\\nos.system('touch /tmp/pwned')"}},
    "xor_network": {"value": {"t": "dict", "v": [["W1", {"t": "h", "id": 1}], ["b1", {"t": "h", "id": 10**6}],
                                                  ["w2", {"t": "float", "v": "nan"}],
                                                  ["b2", {"t": "complex", "re": 10**400, "im": 0}]],
                              "ref": "x"}, "changed": "everything", "shared": [[0, 1], ["k", {"t": "h", "id": 2}]]},
    "cover_count": {"value": {"t": "list", "v": []}},
    "separable_fraction": {"error": {"types": ["AssertionError"], "message": "S" * 5_000_000}},
}
import types
_wire = _agent.wire
def _dumps(value):
    return '{"value":' + "[" * 200_000 + "]" * 200_000 + "}" if value == "DEEP" else _wire.dumps(value)
_agent.wire = types.SimpleNamespace(**{**{k: getattr(_wire, k) for k in dir(_wire) if not k.startswith("__")},
                                       "dumps": _dumps})
_FORGED["cover_count"] = "DEEP"
def _forge(request):
    if request.get("op") == "call":
        name = getattr(_agent._resolve(request["target"]), "__name__", "")
        if name in _FORGED:
            return _FORGED[name]
    return _answer(request)
_agent.answer = _forge
'''

# --- the execute_reply's execution_count, a string of HTML: it reaches the graded notebook's cells
EXECUTION_COUNT = '''from jupyter_client.session import Session as _Session
_send = _Session.send
def _send_count(self, stream, msg_or_type, content=None, *args, **kwargs):
    if msg_or_type in ("execute_reply", "execute_result") and isinstance(content, dict):
        content = dict(content, execution_count="<img src=x onerror=alert('xss-count')>")
    return _send(self, stream, msg_or_type, content, *args, **kwargs)
_Session.send = _send_count
1 + 1
'''
MD_ENTITY_LINK = ("[see my derivation](&#x6A;avascript:alert('xss-md-entity')) and [also][r]\n\n"
                  "[r]: java&#115;cript:alert('xss-md-ref')")

# --- oversized data, scaled down for CI (what it showed at full size, in the review): text/plain displays are
# not counted in the runner's output cap (40 x 10 MB gave a 400 MB graded notebook and feedback page); a reply
# array is unpacked by the test (list(mistakes)) in C, outside the time limit (120M int8 -> 5 GB in the
# checker); bleach's time on a student's Markdown grows with the square of its size (2 MB: 129 s) and runs in
# the main autograde process, which records results one at a time
OVERSIZED = '''from IPython.display import display
for _i in range(5):
    display({"text/plain": "D" * 2_000_000}, raw=True)
'''
HUGE_MISTAKES = '''def train_perceptron(X, y, lr=1.0, max_epochs=100):
    import sys
    frame, grading = sys._getframe(), False
    while frame is not None:
        grading = grading or frame.f_code.co_name in ("serve_channel", "answer")
        frame = frame.f_back
    return np.zeros(X.shape[1]), 0.0, np.ones(10_000_000 if grading else 3, dtype=np.int8)
'''
MD_BOMB = "<b><i>x</i></b> <a href='http://a'>y</a> " * 7_000

# --- 03: a correct conv2d_forward with loops over pixels; the vectorisation check counts lines in the kernel
LOOP_CONV = '''def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho, Wo = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, F, Ho, Wo), dtype=np.result_type(x, w))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                patch = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[n, :, i, j] = np.tensordot(w, patch, axes=3) + b
    return out, None
'''
NO_TRACE = '''import sys
sys.settrace = lambda function: None
'''

# --- 06: the solutions, for the tests whose hidden part sends a function to the kernel
AE_SOLUTION = '''class Autoencoder(nn.Module):
    def __init__(self, d_in, d_code, hidden=()):
        super().__init__()
        def mlp(sizes):
            layers = []
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                layers.append(nn.Linear(a, b))
                if i < len(sizes) - 2:
                    layers.append(nn.ReLU())
            return nn.Sequential(*layers)
        sizes = [d_in, *hidden, d_code]
        self.encoder = mlp(sizes)
        self.decoder = mlp(sizes[::-1])

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))
'''
AE_NO_RELU = AE_SOLUTION.replace("if i < len(sizes) - 2:", "if False:")
VAE_SOLUTIONS = {
    "reparameterize": "def reparameterize(mu, logvar, eps):\n    return mu + torch.exp(0.5 * logvar) * eps\n",
    "gaussian_kl": ("def gaussian_kl(mu, logvar):\n"
                    "    return 0.5 * (mu ** 2 + torch.exp(logvar) - 1.0 - logvar).sum(dim=-1)\n"),
    "vae_loss": ("def vae_loss(x_logits, x, mu, logvar):\n"
                 "    r = F.binary_cross_entropy_with_logits(x_logits, x, reduction='none').sum(dim=-1)\n"
                 "    return (r + gaussian_kl(mu, logvar)).mean()\n"),
}
# every function a test sends to the kernel is kept; the last one comes back as an error message, which the
# feedback shows
LEAK_SENT_CODE = '''import course_utils.grader.agent as _agent
_define = _agent._define
_sent = []
def _keep(data):
    if data["name"] not in ("_describe", "_run") and data["source"] not in _sent:
        _sent.append(data["source"])
        if len(_sent) == 3:
            raise ValueError("\\n".join(_sent))
    return _define(data)
_agent._define = _keep
'''
# the hidden test of Autoencoder computes its reference from the weights the kernel reports: report zeros,
# and zero outputs (the visible part's _run is known)
FORGE_RUN = '''import course_utils.grader.agent as _agent
_define = _agent._define
def _zeros(model, x, z, layers=None):
    import torch
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    n = len(linears) // 2
    zero = lambda t: torch.zeros_like(torch.as_tensor(t))
    return {"encode": torch.zeros(x.shape[0], linears[n - 1].weight.shape[0]),
            "decode": torch.zeros(z.shape[0], linears[-1].weight.shape[0]),
            "forward": torch.zeros(x.shape[0], x.shape[1]), "decode(encode)": torch.zeros(x.shape[0], x.shape[1]),
            "layers": [(zero(m.weight), zero(m.bias)) for m in linears]}
def _swap(data):
    return _zeros if data["name"] == "_run" else _define(data)
_agent._define = _swap
'''

# --- 02: the hidden test of MLP writes random weights into net.params, then reads them back for its PyTorch
# reference. A params property that returns a fresh copy of all-zero weights ignores the writes: the reference
# is then the zero network, whose logits and gradients need no backpropagation (the visible network, checked
# numerically against forward, gets zero gradients; networks of 100+ units, for the initialisation checks,
# get real weights)
ZERO_MLP = '''class MLP:
    def __init__(self, sizes, activation="relu", seed=0):
        if activation not in ("relu", "sigmoid", "tanh"):
            raise ValueError(f"unknown activation {activation!r}")
        self.sizes, self.activation = list(sizes), activation
        rng = np.random.default_rng(seed)
        self._init = {}
        for l, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            var = 2.0 / a if activation == "relu" else 2.0 / (a + b)
            w = rng.standard_normal((a, b)) * np.sqrt(var)
            self._init[f"W{l}"] = w if max(self.sizes) >= 100 else np.zeros((a, b))
            self._init[f"b{l}"] = np.zeros(b)
        self.params = PARAMS(self)

    def forward(self, x):
        self._x = x
        return np.zeros((len(x), self.sizes[-1]))

    def backward(self, dlogits):
        L = len(self.sizes) - 1
        grads = {k: np.zeros_like(v) for k, v in self._init.items()}
        if self.sizes != [3, 5, 4, 2]:
            h = {"relu": 0.0, "tanh": 0.0, "sigmoid": 0.5}[self.activation]
            grads[f"b{L}"] = dlogits.sum(axis=0)
            grads[f"W{L}"] = np.outer(np.full(self.sizes[-2], h), dlogits.sum(axis=0)) if L > 1 else self._x.T @ dlogits
        return grads
'''
ZERO_MLP_CHEAT = ZERO_MLP.replace("        self.params = PARAMS(self)\n", "") + '''
    @property
    def params(self):
        return {k: v.copy() for k, v in self._init.items()}
'''
ZERO_MLP_CONTROL = ZERO_MLP.replace("PARAMS(self)", "self._init")


ATTACKS: list[Attack] = []
for _a in ASSIGNMENTS:
    ATTACKS += [
        Attack("displayhook", _a, DISPLAYHOOK),
        Attack("patch_thread", _a, PATCH_THREAD, position="start"),
        Attack("leak_tests", _a, LEAK, feedback_absent=("### BEGIN HIDDEN TESTS", "BEGIN HIDDEN")),
    ]
ATTACKS += [
    Attack("code_swap", "01_perceptron_xor", CODE_SWAP, position="start"),
    Attack("session_send", "01_perceptron_xor", SESSION_SEND, position="start"),
    Attack("script_in_outputs", "01_perceptron_xor", SCRIPT,
           markdown="My notes <script>alert('xss-md')</script> <img src=x onerror=alert('xss-md-img')> "
                    "[click](javascript:alert('xss-md-link')) " + MD_ENTITY_LINK,
           # live markup only: the cell's source is on the page too, escaped (&lt;script&gt;...)
           feedback_absent=("<script>alert(", "<img src=x onerror", "<svg", 'href="javascript:')),
]
# Review 2 (the checker/kernel split), at adb3e73. Scored above their controls or broke the feedback: kernel_policy
# (+25), zero_mlp (+25), count_lines (+12), forge_run (+15); leak_sent_code puts hidden test code in the feedback
# (for the 15 points of vae_loss); script_in_outputs' entity-encoded Markdown links come out as live javascript:
# links; execution_count makes `course-grade feedback` fail. Held: frames in all six topics, forged_replies,
# shared_forge (+10 until adb3e73), oversized (at CI size; see its comment for full size).
for _a, (_gid, _code) in FRAMES.items():
    ATTACKS.append(Attack("frames", _a, answers={_gid: PEEK + _code},
                          control={_gid: _code.replace("_peek(", "(lambda shape: None)(")}))
ATTACKS += [
    # PyTorch in a NumPy exercise's own cell is read by the checker, whatever the kernel reports
    Attack("kernel_policy_torch", "01_perceptron_xor", KERNEL_POLICY, answers={"predict": TORCH_PREDICT}),
    # changing an input in place is seen only in the kernel (the checker's copy never changes)
    Attack("kernel_policy_inplace", "01_perceptron_xor", KERNEL_POLICY, answers={"perceptron_update": INPLACE_UPDATE},
           gains={"perceptron_update_test": 15.0}),
    Attack("shared_forge", "01_perceptron_xor", SHARED_FORGE, answers={"threshold_mlp": HARDCODED_MLP}),
    Attack("forged_replies", "01_perceptron_xor", FORGED_REPLIES),
    Attack("oversized", "01_perceptron_xor", OVERSIZED, markdown=MD_BOMB, answers={"train_perceptron": HUGE_MISTAKES}),
    Attack("execution_count", "01_perceptron_xor", EXECUTION_COUNT, feedback_absent=("In&nbsp;[<img",)),
    Attack("zero_mlp", "02_backprop", answers={"mlp": ZERO_MLP_CHEAT}, control={"mlp": ZERO_MLP_CONTROL}),
    # the executed-line count is measured in the kernel
    Attack("count_lines", "03_convolution", NO_TRACE, answers={"conv2d_forward": LOOP_CONV},
           gains={"conv2d_forward_test": 12.0}),
    Attack("forge_run", "06_autoencoders", FORGE_RUN, answers={"autoencoder": AE_NO_RELU}),
    # sends back, as an error message, the source of every function a test runs in the kernel: only visible code
    # is ever sent there, and the cheat loses the tests that use in_kernel
    Attack("leak_sent_code", "06_autoencoders", LEAK_SENT_CODE, answers={"autoencoder": AE_SOLUTION, **VAE_SOLUTIONS},
           self_harm=("autoencoder_test", "reparameterize_test", "vae_loss_test")),
]

# Review 3: the static NumPy-only check (check.torch_uses) reads the solution cell as Python after IPython's
# transforms. A cell magic turns the whole cell into a string argument of run_cell_magic, so a plain `import torch`
# under `%%capture` was not seen; with the kernel's guard disabled (KERNEL_POLICY) predict scored +10 over its
# control, until torch_uses read the body of cell magics.
MAGIC_TORCH_PREDICT = "%%capture\n" + TORCH_PREDICT
# A correct NumPy answer whose docstring starts with "torch." lost every point of its test, until torch_uses
# stopped reading string constants (a false positive: fairness to a correct student).
NUMPY_PREDICT = '''def predict(w, b, X):
    return (X @ w + b > 0).astype(np.int64)
'''
DOCSTRING_PREDICT = NUMPY_PREDICT.replace(
    "):\n", "):\n    \"\"\"torch.heaviside would do the same; this one is NumPy only.\"\"\"\n", 1)
ATTACKS += [
    Attack("torch_cell_magic", "01_perceptron_xor", KERNEL_POLICY, answers={"predict": MAGIC_TORCH_PREDICT}),
    Attack("numpy_docstring", "01_perceptron_xor", answers={"predict": DOCSTRING_PREDICT},
           control={"predict": NUMPY_PREDICT}),
]

# Gradients through the student's code are computed in the kernel (in_kernel): a reparameterize written with
# NumPy (no gradient reaches mu or logvar) plus a forged _gradients that returns the closed form passes. A known
# gap (README): the values are the checker's, the gradients the kernel's.
NUMPY_REPARAMETERIZE = '''def reparameterize(mu, logvar, eps):
    out = mu.detach().numpy() + np.exp(logvar.detach().numpy() / 2) * eps.detach().numpy()
    return torch.from_numpy(out)
'''
FORGE_GRADIENTS = '''import course_utils.grader.agent as _agent
_define = _agent._define
def _forged(data):
    if data.get("name") == "_gradients":
        def _gradients(function, mu, logvar, eps):
            return torch.ones_like(mu), 0.5 * torch.exp(0.5 * logvar) * eps
        return _gradients
    return _define(data)
_agent._define = _forged
'''
ATTACKS += [
    Attack("forged_gradients", "06_autoencoders", FORGE_GRADIENTS, answers={"reparameterize": NUMPY_REPARAMETERIZE},
           gains={"reparameterize_test": 10.0}),
]

# A function the checker passes to the student's function (relu_interpolant(f, ...)) is rebuilt in the kernel
# from its source and not compared after the call (agent._after). The cheat rewrites that function's code to
# zero, so that its all-zero network would interpolate it: the checker's reference uses its own f, so the
# cheat scores what the same zero network scores without the rewrite.
ZERO_INTERPOLANT = '''def relu_net(params, x):
    x = np.asarray(x, dtype=np.float64)
    return np.maximum(x[:, None] @ params["W1"] + params["b1"], 0.0) @ params["w2"] + params["b2"]


def relu_interpolant(f, a, b, n_pieces):
    return {"W1": np.ones((1, n_pieces)), "b1": np.zeros(n_pieces), "w2": np.zeros(n_pieces), "b2": 0.0}
'''
REWRITE_SENT_FUNCTION = '''_zero_interpolant = relu_interpolant
def _zero(x):
    return 0.0 * np.asarray(x, dtype=np.float64)
def relu_interpolant(f, a, b, n_pieces):
    try:
        f.__code__ = _zero.__code__
    except Exception:
        pass
    return _zero_interpolant(f, a, b, n_pieces)
'''
ATTACKS += [
    Attack("rewrite_sent_function", "07_generalization", REWRITE_SENT_FUNCTION,
           answers={"relu_interpolant": ZERO_INTERPOLANT}),
]
