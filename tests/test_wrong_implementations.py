"""Wrong implementations lose the points of their own exercise, and only those; right implementations
(another algorithm, loops where loops are allowed, another valid parameterisation) keep every point.

Each case is a student's notebook: the release with the solution cells filled from an edited copy of the
instructor's solution. It is graded by the grader's own checker (course_utils.grader.check: the notebook
in a kernel, the instructor's visible and hidden tests in this process, through proxies), on what the
exercises need (setup, solution and test cells; the experiments are skipped). The cases of one assignment
share a kernel, its namespace reset before each case: a fresh kernel per case would spend most of its time
starting and importing. The full ``course-grade autograde`` runs are in test_autograde.py and
test_course_grade.py.
"""
from __future__ import annotations

import pytest
from conftest import ASSIGNMENTS, release_path, source_path
from right_implementations import RIGHT_IMPLEMENTATIONS
from wrong_implementations import WRONG_IMPLEMENTATIONS

from course_utils import grading
from course_utils.grader.check import Checker
from course_utils.grader.runner import StudentKernel


class Shared:
    """The checker of one assignment and one kernel that grades many notebooks in turn."""

    def __init__(self, assignment, tmp):
        self.source = grading.read_notebook(source_path(assignment))
        self.release = grading.read_notebook(release_path(assignment))
        self.checker = Checker(self.source, timeout=60)
        (tmp / "k").mkdir()
        self.kernel = StudentKernel(tmp / "k", tmp / "s")
        self.kernel.start()

    def grade(self, source):
        """Grade the release filled with ``source``'s solution cells."""
        nb = grading.without_experiments(grading.fill_release(self.release, source))
        return self.checker.grade(nb, self.kernel.workdir, self.kernel.sockets, kernel=self.kernel)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    sessions = {}

    def get(assignment):
        if assignment not in sessions:
            sessions[assignment] = Shared(assignment, tmp_path_factory.mktemp(f"k{assignment[:2]}"))
        return sessions[assignment]

    yield get
    for session in sessions.values():
        session.kernel.shutdown()


WRONG = [(a, w) for a, ws in WRONG_IMPLEMENTATIONS.items() for w in ws]
RIGHT = [(a, r) for a, rs in RIGHT_IMPLEMENTATIONS.items() for r in rs]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_assignment_has_wrong_and_right_implementations(assignment):
    assert assignment in WRONG_IMPLEMENTATIONS, f"no tests/wrong_implementations/topic_{assignment}.py"
    assert len(WRONG_IMPLEMENTATIONS[assignment]) >= 6
    graded = set(grading.max_points(grading.read_notebook(source_path(assignment))))
    covered = {g for w in WRONG_IMPLEMENTATIONS[assignment] for g in w.loses}
    assert graded <= covered, f"exercises with no wrong implementation: {sorted(graded - covered)}"
    assert len(RIGHT_IMPLEMENTATIONS.get(assignment, [])) >= 4, \
        f"fewer than four correct alternatives in tests/right_implementations for {assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_unedited_solution_scores_full_marks_on_the_exercises(assignment, shared):
    session = shared(assignment)
    report = session.grade(session.source)
    assert not report.messages, f"the solution itself loses points: {report.messages}"
    assert sum(report.cells.values()) == 100.0


@pytest.mark.parametrize("assignment,wrong", WRONG, ids=[f"{a}-{w.name}" for a, w in WRONG])
def test_wrong_implementation_loses_its_exercise_points(assignment, wrong, shared):
    session = shared(assignment)
    report = session.grade(grading.edit_cell(session.source, wrong.cell, wrong.old, wrong.new))
    for gid in wrong.loses:
        assert report.cells[gid] == 0, f"{wrong.name}: {gid} still scores {report.cells[gid]}"
        # the failure is explained: the message names what differs, not a bare AssertionError
        assert report.messages.get(gid, "").strip(), f"{wrong.name}: {gid} fails without a message"
    kept_expected = set(report.cells) - set(wrong.loses) - set(wrong.may_lose)
    points = session.checker.points
    unfair = {gid: report.messages.get(gid) for gid in kept_expected if report.cells[gid] != points[gid]}
    assert not unfair, f"{wrong.name}: unrelated exercises lost points too: {unfair}"


@pytest.mark.parametrize("assignment,right", RIGHT, ids=[f"{a}-{r.name}" for a, r in RIGHT])
def test_right_implementation_keeps_every_point(assignment, right, shared):
    session = shared(assignment)
    source = session.source
    for cell, code in right.cells.items():
        source = grading.replace_solution(source, cell, code)
    report = session.grade(source)
    assert not report.messages, f"{right.name}: a correct alternative loses points: {report.messages}"
    assert sum(report.cells.values()) == 100.0
