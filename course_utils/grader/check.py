"""The checker: grades one submission with the tests running in this process, never in the student's.

1. The whole submission (rebuilt on the release, :func:`course_utils.grader.collect.canonical_submission`)
   runs top to bottom in the student's kernel (:class:`course_utils.grader.runner.StudentKernel`): setup,
   answers, the student's own cells, and the *visible* tests, for the graded notebook's display only.
2. Then each test cell's whole code (visible and hidden, from the instructor's notebook) runs here, in a
   namespace made by the instructor's setup cell, with each name the test uses and the student's notebook
   defines bound to its value in the kernel: plain data by value, functions, classes and objects as proxies
   (:mod:`course_utils.grader.proxy`), served over a Unix socket by the kernel's agent. The test scores its
   points when it runs to its end; otherwise 0, with its assertion's message. A test that calls
   ``assert_numpy_only`` runs every call it makes NumPy-only.

Nothing the kernel prints or displays decides a score, and the tests run after the student's last cell,
so nothing the student's code sees during a test can reach an output of the graded notebook. A kernel
that dies (in a cell or during a test's call) is restarted and the cells before that point run again; a
cell or a call over the time limit is interrupted (the kernel restarted when it does not stop). A test
whose visible part already ran over the limit or killed the kernel in step 1 scores 0 without a second
wait.
"""
from __future__ import annotations

import builtins
import contextlib
import copy
import io
import itertools
import signal
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_utils import checks, grading
from course_utils.grader.proxy import GraderError, Session
from course_utils.grader.runner import MAX_NOTEBOOK_OUTPUT, KernelDied, KernelTimeout, StudentKernel

#: the per-cell limit of the setup cell is at least this (imports on a loaded machine are slow; a limit
#: meant for a runaway answer never applies to it)
SETUP_TIMEOUT = 300
RESULT_PREFIX = "course-grade:"
#: the hidden lines of each test's code, by its file name: a function defined there is never sent to the
#: student's kernel (in_kernel), where the student could read its source
HIDDEN_LINES: dict[str, set[int]] = {}
_CHECKERS = itertools.count(1)


@dataclass
class Report:
    """What grading one submission found."""

    cells: dict[str, float]
    messages: dict[str, str]
    deaths: list[str] = field(default_factory=list)
    notebook: Any = None
    seconds: float = 0.0




def _strip_markers(source: str) -> tuple[str, set[int]]:
    """The test's code without the hidden-test markers, and the (1-based) numbers of its hidden lines."""
    lines, hidden, inside = [], set(), False
    for line in source.splitlines():
        if line.strip() in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
            inside = line.strip() == "### BEGIN HIDDEN TESTS"
            continue
        lines.append(line)
        if inside:
            hidden.add(len(lines))
    return "\n".join(lines), hidden


def _python(source: str) -> str:
    """A cell's source as plain Python (IPython's magics turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _referenced(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _referenced(const)
    return names


def is_test(cell: Any) -> bool:
    meta = grading.nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_setup(cell: Any) -> bool:
    meta = grading.nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("locked")) and not meta.get("grade")


class Checker:
    """The tests of one assignment, ready to grade submissions.

    Args:
        source: the instructor's notebook (solutions/): its setup cell and its test cells are what the
            checker runs.
        timeout: seconds per cell and per test (all of a test's calls together).

    Raises:
        ValueError: the source has no setup cell, or a test that does not compile.
    """

    def __init__(self, source: Any, timeout: float = 60, sandbox: str = "none", memory: int = 0,
                 limits: Any = None, limits_mode: str = "auto") -> None:
        self.timeout, self.sandbox, self.memory = timeout, sandbox, memory
        self.limits, self.limits_mode = limits, limits_mode  # course_utils.grader.limits.Limits or None
        setups = [c for c in source.cells if is_setup(c)]
        if not setups:
            raise ValueError("the source notebook has no locked setup cell")
        self.setup = compile(_python(setups[0].source), "<setup>", "exec")
        self.tests: dict[str, types.CodeType] = {}
        self.points: dict[str, float] = {}
        import linecache  # so that inspect.getsource finds the functions a test sends to the kernel

        for cell in source.cells:
            if is_test(cell):
                gid = grading.nbgrader_meta(cell)["grade_id"]
                stripped, hidden = _strip_markers(cell.source)
                text = _python(stripped)
                filename = f"<test {gid} of checker {next(_CHECKERS)}>"  # one per checker: several may share a process
                HIDDEN_LINES[filename] = hidden
                self.tests[gid] = compile(text, filename, "exec")
                self.points[gid] = float(grading.nbgrader_meta(cell).get("points", 0))
                linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace = self._fresh_namespace()
        self.setup_names: set[str] = set(namespace)
        self.torch_names = {"torch"} | {name for name, value in namespace.items() if _from_torch(value)}

    def _fresh_namespace(self) -> dict[str, Any]:
        ns: dict[str, Any] = {"__name__": "__course_grade_checker__"}
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(self.setup, ns)
        return ns

    # ------------------------------------------------------------------ one test
    def _run_test(self, gid: str, ns: dict[str, Any], session: Session) -> str | None:
        """Run one test in the checker; returns None when it passed, else the reason."""
        code = self.tests[gid]
        wanted = sorted(n for n in _referenced(code) if not n.startswith("_") and n not in self.setup_names
                        and not hasattr(builtins, n))
        deadline = time.monotonic() + self.timeout
        session.seconds_left = lambda: deadline - time.monotonic()
        if "assert_numpy_only" in _referenced(code):  # a NumPy exercise: every call of this test, not one
            session.numpy_only = 1
        # the checker's copies never change: a test that checks its inputs are left alone learns it from the kernel
        session.inputs_unchanged = "assert_unchanged" in _referenced(code)
        checks._GRADING["session"] = session
        previous = signal.signal(signal.SIGALRM, _alarm) if _main_thread() else None
        if previous is not None:
            signal.setitimer(signal.ITIMER_REAL, self.timeout + 10)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                found = session.names(wanted)
                for name in wanted:
                    if name in found:
                        ns[name] = found[name]
                    else:
                        ns.pop(name, None)
                exec(code, ns)
            return None
        except _TestTimeout:
            session.failure = session.failure or "the test ran over its time limit"
            return f"stopped: over the time limit of {self.timeout:g} s"
        except Exception as err:  # noqa: BLE001 - any failure of the test is the student's score
            if _on_hidden_line(err, code.co_filename) and (isinstance(err, GraderError)
                                                           or hasattr(err, "course_student_what")):
                # a message written by the student's code on a hidden test's inputs could show those inputs
                what = getattr(err, "course_student_what", "the student's code")
                return (f"{what} failed on a hidden test's inputs with {type(err).__name__} (its message is not "
                        "shown: it comes from the student's code)")
            return _reason(err)
        finally:
            if previous is not None:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
            checks._GRADING.pop("session", None)


    # ------------------------------------------------------------------ one submission
    def grade(self, notebook: Any, workdir: Path, sockets: Path, kernel: StudentKernel | None = None) -> Report:
        """Grade a canonical submission (the release with the student's work) in ``workdir``.

        Returns:
            a :class:`Report`; its notebook is the executed submission with each test's result appended.

        Raises:
            KernelDied: the kernel cannot be started at all.
        """
        start = time.monotonic()
        nb = copy.deepcopy(notebook)
        for cell in nb.cells:
            if cell.get("cell_type") == "code":
                cell.outputs, cell.execution_count = [], None
        own_kernel = kernel is None
        kernel = kernel or StudentKernel(workdir, sockets, self.sandbox, self.memory, self.limits, self.limits_mode)
        if own_kernel or not kernel.alive():
            kernel.start()
        else:  # a kernel shared by many notebooks (the test suite): a clean namespace for this one
            kernel.run_cell("%reset -f", self.timeout)
        report = Report(cells={gid: 0.0 for gid in self.tests}, messages={}, notebook=nb)
        kernel.output_left = MAX_NOTEBOOK_OUTPUT
        ns = self._fresh_namespace()
        dead: set[int] = set()
        try:
            # 1. the whole notebook in the kernel, as the student wrote it (visible tests for display only)
            stopped: dict[str, str] = {}  # tests whose visible part already killed the kernel or ran too long
            for index, cell in enumerate(nb.cells):
                if cell.get("cell_type") == "code":
                    why = self._run_in_kernel(kernel, nb, index, dead, report)
                    if why and is_test(cell):
                        stopped[grading.nbgrader_meta(cell)["grade_id"]] = why
            # 2. then every test in the checker, on the kernel's final state: nothing the student's code sees
            #    during a test (its inputs) can reach an output of the graded notebook
            answers: dict[str, list[str]] = {}  # test -> the sources of the solution cells of its exercise
            pending: list[str] = []
            for cell in nb.cells:
                if grading.nbgrader_meta(cell).get("solution") and cell.get("cell_type") == "code":
                    pending.append(cell.source)
                elif is_test(cell):
                    answers[grading.nbgrader_meta(cell)["grade_id"]], pending = pending, []
            if kernel.alive():
                kernel.open_channel()
            for cell in nb.cells:
                if not is_test(cell) or grading.nbgrader_meta(cell)["grade_id"] not in self.tests:
                    continue
                gid = grading.nbgrader_meta(cell)["grade_id"]
                session = Session(kernel, lambda: self.timeout)
                uses = [u for src in answers.get(gid, []) for u in torch_uses(src, self.torch_names)] \
                    if "assert_numpy_only" in _referenced(self.tests[gid]) else []
                if gid in stopped:  # the whole test would call the same code again: no second wait
                    reason = f"{stopped[gid]} while running the visible test in the notebook"
                elif uses:  # read in the checker: the student's kernel cannot hide it
                    reason = (f"the answer uses PyTorch ({'; '.join(uses[:3])}): this exercise must be written "
                              "with NumPy only")
                else:
                    reason = self._run_test(gid, ns, session)
                points = self.points[gid]
                report.cells[gid] = points if reason is None else 0.0
                if reason is not None:
                    report.messages[gid] = reason[:2000]
                cell.outputs.append(_result_output(report.cells[gid], points, reason))
                if session.failure:
                    if session.failure == "the kernel died":
                        report.deaths.append(gid)
                    self._restart(kernel, nb, len(nb.cells), dead)
                    kernel.open_channel()
            kernel.close_channel()
        finally:
            if own_kernel:
                kernel.shutdown()
        report.seconds = time.monotonic() - start
        return report

    def _run_in_kernel(self, kernel: StudentKernel, nb: Any, index: int, dead: set[int], report: Report) -> str:
        """Run cell ``index`` in the kernel; when it kills the kernel or runs over the limit, record an
        error output and go on in a new kernel with the cells before it run again.

        Returns:
            "" when the cell ran (with or without an error), else what stopped it.
        """
        cell = nb.cells[index]
        limit = max(self.timeout, SETUP_TIMEOUT) if is_setup(cell) else self.timeout
        try:
            cell.outputs, cell.execution_count = kernel.run_cell(cell.source, limit)
        except (KernelDied, KernelTimeout) as err:
            dead.add(index)
            died = isinstance(err, KernelDied)
            if died:
                report.deaths.append(grading.nbgrader_meta(cell).get("grade_id") or f"cell {index}")
            restarted = died or not kernel.alive()
            note = "; the grader restarted the kernel and ran the cells before this one again" if restarted else ""
            cell.outputs = [_error_output("KernelDied" if died else "Timeout", f"{err}{note}")]
            if restarted:
                self._restart(kernel, nb, index, dead)
            return "the kernel died" if died else f"stopped: over the time limit of {limit:g} s"
        return ""

    def _restart(self, kernel: StudentKernel, nb: Any, upto: int, dead: set[int]) -> None:
        """A new kernel with the student's cells before ``upto`` run again (visible tests and cells that
        killed the kernel are skipped)."""
        kernel.start()
        for index, cell in enumerate(nb.cells[:upto]):
            if cell.get("cell_type") != "code" or index in dead or is_test(cell):
                continue
            limit = max(self.timeout, SETUP_TIMEOUT) if is_setup(cell) else self.timeout
            try:
                kernel.run_cell(cell.source, limit)
            except (KernelDied, KernelTimeout):
                dead.add(index)
                if not kernel.alive():
                    self._restart(kernel, nb, upto, dead)
                    return


def _from_torch(value: Any) -> bool:
    name = getattr(value, "__name__", "") if isinstance(value, types.ModuleType) else getattr(value, "__module__", "")
    return isinstance(name, str) and (name == "torch" or name.startswith("torch."))


#: what reaches a module or code by a computed name: never needed in a NumPy exercise's answer
_DYNAMIC_CALLS = {"__import__", "exec", "eval", "compile"}
_DYNAMIC_ATTRIBUTES = {"import_module", "run_cell_magic", "run_line_magic"}


def torch_uses(source: str, torch_names: set[str]) -> list[str]:
    """Where a cell's code uses PyTorch, read without running it: imports of torch; the names the setup cell
    binds to PyTorch (``torch``, ``nn``, ``F``, ...) where they are not the cell's own names (a parameter, a
    local variable, a function or a name the cell assigns at its top level); and calls that reach a module by
    a computed name (``__import__``, ``importlib``, ``sys.modules``, ``exec``, ``eval``, magics). A cell magic's
    body is read too. Returns "line N: what" for each use."""
    import ast
    import symtable

    text = source
    if text.lstrip().startswith("%%"):  # a cell magic: IPython passes the body on as a string
        text = text.lstrip().split("\n", 1)[1] if "\n" in text.lstrip() else ""
    try:
        code = _python(text)
        tree = ast.parse(code)
        table = symtable.symtable(code, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return []
    top = {sym.get_name() for sym in table.get_symbols() if sym.is_assigned() or sym.is_imported()}
    uses: list[str] = []

    def visit(scope: Any) -> None:
        for sym in scope.get_symbols():
            name = sym.get_name()
            if name not in torch_names or not sym.is_referenced():
                continue
            own = sym.is_parameter() or sym.is_free() or (sym.is_local() and scope.get_type() != "module")
            if not own and name not in top:
                uses.append(name)
        for child in scope.get_children():
            visit(child)

    visit(table)
    found = [f"line {n.lineno}: {n.id}" for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in set(uses)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "torch" for a in node.names):
            found.append(f"line {node.lineno}: import torch")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("torch", "importlib"):
            found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "importlib" for a in node.names):
            found.append(f"line {node.lineno}: import importlib")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _DYNAMIC_CALLS:
            found.append(f"line {node.lineno}: {node.func.id}(...)")
        elif isinstance(node, ast.Attribute) and (node.attr in _DYNAMIC_ATTRIBUTES or (
                node.attr == "modules" and isinstance(node.value, ast.Name) and node.value.id == "sys")):
            found.append(f"line {node.lineno}: {node.attr}")
    return sorted(set(found), key=lambda u: (int(u.split(":")[0][5:]), u))


class _TestTimeout(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _TestTimeout()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _error_output(ename: str, evalue: str) -> Any:
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _result_output(score: float, points: float, reason: str | None) -> Any:
    from nbformat.v4 import new_output

    text = f"{RESULT_PREFIX} {score:g} / {points:g} points"
    text += " (all tests passed, hidden ones included)" if reason is None else f"\n{reason[:2000]}"
    return new_output("display_data", data={"text/plain": text})


def _on_hidden_line(err: BaseException, filename: str) -> bool:
    """Whether the test's line that raised ``err`` is in its hidden part."""
    tb, line = err.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line is not None and line in HIDDEN_LINES.get(filename, ())


def _reason(err: BaseException) -> str:
    """A failed test's reason: its message, the way the student's notebook would show it."""
    if isinstance(err, GraderError):
        return str(err)
    if isinstance(err, NotImplementedError):
        return str(err) or "exercise not attempted"
    if isinstance(err, AssertionError):
        return str(err) or "an assertion failed"
    name = type(err).__name__
    return f"{name}: {err}" if name != "CheckError" else str(err)
