"""Wrong implementations lose the points of their own exercise, and only those.

Each case edits the instructor's solution (hidden tests included, as the autograder restores them), then
executes only what the exercises need (setup, solution and test cells; the experiments are skipped) and
scores each test cell exactly as nbgrader does (``nbgrader.utils.determine_grade``). The cases of one
assignment share a kernel, its namespace wiped (``%reset -f``) before each case: a fresh kernel per case
would spend most of its time starting and importing. The full ``nbgrader autograde`` runs are in
test_autograde.py.
"""
from __future__ import annotations

import copy

import nbformat
import pytest
from conftest import ASSIGNMENTS, ROOT, source_path
from wrong_implementations import WRONG_IMPLEMENTATIONS

from course_utils import grading

RESET = "%reset -f"


class SharedKernel:
    """One kernel that runs many notebooks in turn, each in a wiped namespace."""

    def __init__(self, cwd):
        from nbclient import NotebookClient

        self.client = NotebookClient(nbformat.v4.new_notebook(), timeout=60, kernel_name="python3",
                                     allow_errors=True, resources={"metadata": {"path": str(cwd)}})
        self._context = self.client.setup_kernel()
        self._context.__enter__()

    def run(self, nb):
        nb = copy.deepcopy(nb)
        nb.cells.insert(0, nbformat.v4.new_code_cell(RESET))
        self.client.nb = nb
        for index, cell in enumerate(nb.cells):
            self.client.execute_cell(cell, index)
        nb.cells.pop(0)
        return nb

    def close(self):
        self._context.__exit__(None, None, None)


@pytest.fixture(scope="module")
def kernels():
    sessions = {}
    yield lambda assignment: sessions.setdefault(assignment, SharedKernel(ROOT))
    for session in sessions.values():
        session.close()


CASES = [(a, w) for a, ws in WRONG_IMPLEMENTATIONS.items() for w in ws]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_assignment_has_six_or_more_wrong_implementations(assignment):
    assert assignment in WRONG_IMPLEMENTATIONS, f"no tests/wrong_implementations/topic_{assignment}.py"
    assert len(WRONG_IMPLEMENTATIONS[assignment]) >= 6
    graded = set(grading.max_points(grading.read_notebook(source_path(assignment))))
    covered = {g for w in WRONG_IMPLEMENTATIONS[assignment] for g in w.loses}
    assert graded <= covered, f"exercises with no wrong implementation: {sorted(graded - covered)}"


@pytest.mark.parametrize("assignment", sorted(WRONG_IMPLEMENTATIONS))
def test_unedited_solution_scores_full_marks_on_the_exercises(assignment, kernels):
    nb = grading.without_experiments(grading.read_notebook(source_path(assignment)))
    scores = grading.cell_scores(kernels(assignment).run(nb))
    lost = {gid: s for gid, s in scores.items() if s[0] != s[1]}
    assert not lost, f"the solution itself loses points: {lost}"


@pytest.mark.parametrize("assignment,wrong", CASES, ids=[f"{a}-{w.name}" for a, w in CASES])
def test_wrong_implementation_loses_its_exercise_points(assignment, wrong, kernels):
    source = grading.read_notebook(source_path(assignment))
    broken = grading.edit_cell(source, wrong.cell, wrong.old, wrong.new)
    executed = kernels(assignment).run(grading.without_experiments(broken))
    scores = grading.cell_scores(executed)
    for gid in wrong.loses:
        got, most = scores[gid]
        assert got == 0, f"{wrong.name}: {gid} still scores {got}/{most}"
    kept_expected = set(scores) - set(wrong.loses) - set(wrong.may_lose)
    unfair = {gid: scores[gid] for gid in kept_expected if scores[gid][0] != scores[gid][1]}
    assert not unfair, f"{wrong.name}: unrelated exercises lost points too: {unfair}"
    # the failure is explained: the error output names what differs, not a bare AssertionError
    cell = grading.find_cell(executed, wrong.loses[0])
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors, f"{wrong.name}: {wrong.loses[0]} has no error output"
    assert errors[0].evalue.strip(), f"{wrong.name}: {wrong.loses[0]} fails without a message"
