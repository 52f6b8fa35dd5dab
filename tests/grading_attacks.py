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

ASSIGNMENTS = ("01_perceptron_xor", "02_backprop", "03_convolution", "04_lstm", "05_attention", "06_autoencoders")


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
                    "[click](javascript:alert('xss-md-link'))",
           feedback_absent=("alert('xss-script')", "onerror=", "alert('xss-js')", "alert(\"xss-svg\")",
                            "<script>alert('xss-print')", "<script>alert('xss-md')", "javascript:alert")),
]
