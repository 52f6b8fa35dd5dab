"""The grading pipeline end to end for every assignment, through ``course-grade``'s own code (release,
autograde with the checker, the gradebook, feedback, export) on a temporary copy of the course.

Submissions are the release as a student would hand it in: filled with the solution (100), blank (0),
tampered with (a test cell edited to ``pass``, a test cell deleted, its points inflated, its type changed:
each graded as if untouched, so the wrong answer behind it still costs its points), and a runaway one (an
infinite loop: that exercise is stopped at the time limit and scores 0, the others keep their points).
Nothing here measures time: a limit meant for a runaway never applies to the setup cell, and the timings
live in benchmarks/.
"""
from __future__ import annotations

import csv

import nbformat
import pytest
from conftest import ASSIGNMENTS, ROOT, hidden_only_lines, page_text, release_path, source_path
from wrong_implementations import RUNAWAY, TAMPER, WRONG_IMPLEMENTATIONS

from course_utils import grading
from course_utils.grader import export
from course_utils.grader.autograde import autograde
from course_utils.grader.collect import release as make_release
from course_utils.grader.feedback import feedback

pytestmark = pytest.mark.slow
RUNAWAY_TIMEOUT = 10


def _clean_wrong(assignment):
    """Wrong implementations that affect only their own exercise."""
    return [w for w in WRONG_IMPLEMENTATIONS[assignment] if not w.may_lose and len(w.loses) == 1]


def _submissions(assignment):
    """student id -> (notebook, expected total score)."""
    source = grading.read_notebook(source_path(assignment))
    release = grading.read_notebook(release_path(assignment))
    filled = grading.fill_release(release, source)
    points = grading.max_points(source)
    subs = {"solution": (filled, 100.0), "blank": (release, 0.0)}
    if assignment not in TAMPER:
        return subs
    w1, w2, w3, w4 = _clean_wrong(assignment)[:4]

    def broken(w):
        return grading.edit_cell(filled, w.cell, w.old, w.new)

    nb = broken(w1)
    grading.find_cell(nb, w1.loses[0]).source = "pass"
    subs["test_edited_to_pass"] = (nb, 100.0 - points[w1.loses[0]])

    nb = broken(w2)
    nb.cells.remove(grading.find_cell(nb, w2.loses[0]))
    subs["test_cell_deleted"] = (nb, 100.0 - points[w2.loses[0]])

    nb = broken(w3)
    for cell in grading.graded_cells(nb).values():
        cell.metadata["nbgrader"]["points"] = 1000
    subs["points_inflated"] = (nb, 100.0 - points[w3.loses[0]])

    nb = broken(w4)
    test_cell = grading.find_cell(nb, w4.loses[0])
    index = nb.cells.index(test_cell)
    nb.cells[index] = nbformat.v4.new_markdown_cell("I turned the tests into text.", metadata=test_cell.metadata)
    subs["test_cell_made_markdown"] = (nb, 100.0 - points[w4.loses[0]])
    return subs


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    assignment = request.param
    course = grading.copy_course(ROOT, tmp_path_factory.mktemp(f"course_{assignment}"))
    make_release(course, [assignment])
    subs = _submissions(assignment)
    for student, (nb, _) in subs.items():
        grading.submit(course, assignment, student, {f"{assignment}.ipynb": nb})
    results = {r["student"]: r for r in autograde(course, assignment, jobs=1, timeout=60)}

    assert assignment in RUNAWAY, f"tests/wrong_implementations has no topic file for {assignment}"
    cell, fails = RUNAWAY[assignment]
    release = grading.read_notebook(release_path(assignment))
    runaway = grading.fill_release(release, grading.read_notebook(source_path(assignment)),
                                   {cell: "while True:\n    pass"})
    grading.submit(course, assignment, "runaway", {f"{assignment}.ipynb": runaway})
    results |= {r["student"]: r for r in autograde(course, assignment, timeout=RUNAWAY_TIMEOUT,
                                                   students=["runaway"], preflight=False)}
    points = grading.max_points(grading.read_notebook(source_path(assignment)))
    expected = {s: e for s, (_, e) in subs.items()}
    expected["runaway"] = 100.0 - sum(points[g] for g in fails)
    return {"assignment": assignment, "course": course, "expected": expected, "results": results,
            "runaway_fails": fails, "scores": grading.gradebook_scores(course, assignment)}


def _check_score(graded, student):
    scores = graded["scores"]
    assert student in scores, f"no graded submission for {student}: the grader skipped or crashed on it"
    got = scores[student]
    assert got["max_score"] == 100.0, f"{student}: max score {got['max_score']} (metadata tampering?)"
    assert got["score"] == graded["expected"][student], (
        f"{student}: scored {got['score']}, expected {graded['expected'][student]}; cells: {got['cells']}")


@pytest.mark.parametrize("student", ["solution", "blank", "runaway"])
def test_autograde_scores(graded, student):
    _check_score(graded, student)


# Tampering is nbgrader's business, the same for every assignment: proven on the assignments whose cases
# file sets TAMPER (each tampered submission costs a full autograde run).
@pytest.mark.parametrize("graded", sorted(TAMPER), indirect=True)
@pytest.mark.parametrize("student", ["test_edited_to_pass", "test_cell_deleted", "points_inflated",
                                     "test_cell_made_markdown"])
def test_tampered_submission_is_graded_as_if_untouched(graded, student):
    _check_score(graded, student)


def test_runaway_submission_is_stopped_at_the_time_limit(graded):
    # a loop that never ends costs its exercise, not a hung grader and not the other exercises
    result = graded["results"]["runaway"]
    assert result["status"] == "graded", result
    assert all(gid in result["messages"] for gid in graded["runaway_fails"]), result["messages"]
    course, a = graded["course"], graded["assignment"]
    nb = grading.read_notebook(course / "autograded" / "runaway" / a / f"{a}.ipynb")
    cell, _ = RUNAWAY[a]
    errors = [o for o in grading.find_cell(nb, cell).outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "Timeout" and "time limit" in errors[0].evalue, errors


def test_feedback_hides_hidden_tests(graded):
    course, assignment = graded["course"], graded["assignment"]
    feedback(course, assignment)
    distinctive = hidden_only_lines(assignment)
    assert distinctive, "no hidden test to look for"
    for student in ("solution", "blank"):
        page = next((course / "feedback" / student / assignment).glob("*.html")).read_text()
        text = page_text(page)
        assert "Visible tests for predict" in text or "visible tests" in text.lower(), \
            f"{student}: the visible tests are missing from the feedback"
        leaked = [ln for ln in distinctive if ln in text]
        assert not leaked, f"{student}: hidden test code in the feedback: {leaked[:3]}"


def test_grades_export_to_csv(graded):
    course, assignment = graded["course"], graded["assignment"]
    with open(course / "grades.csv", "w", newline="") as f:
        export.export(course, f)
    with open(course / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f) if r["assignment"] == assignment}
    assert float(rows["solution"]["score"]) == 100.0 and float(rows["blank"]["score"]) == 0.0, rows
