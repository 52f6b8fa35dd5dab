"""Recording results: nbgrader's gradebook (through its API, from the grading process only), the results
file ``grades/ASSIGNMENT.json`` (rewritten after each student) and the graded notebook in
``autograded/STUDENT/ASSIGNMENT/`` (sanitised by the worker, :func:`course_utils.grader.feedback.sanitize`).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from course_utils import grading


def ensure_in_gradebook(course: Path, assignment: str) -> None:
    """Release the assignment when the course's gradebook does not know it yet (nbgrader needs its cells)."""
    from nbgrader.api import Gradebook, MissingEntry

    from course_utils.grader.collect import release

    with Gradebook(grading.gradebook_url(course), grading.course_id(course)) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    release(course, [assignment])


def results_path(course: Path, assignment: str) -> Path:
    """Where ``autograde`` writes an assignment's results: ``grades/ASSIGNMENT.json``."""
    return course / "grades" / f"{assignment}.json"


def collected_students(course: Path, assignment: str) -> list[str]:
    """The students with a collected submission of ``assignment``."""
    root = course / "submitted"
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir()) if root.is_dir() else []


def recorded(course: Path, assignment: str) -> dict[str, dict[str, Any]]:
    """The results already recorded in the results file (student -> result); empty when there is none."""
    path = results_path(course, assignment)
    try:
        return {r["student"]: r for r in json.loads(path.read_text())["results"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def to_gradebook(course: Path, assignment: str, result: dict[str, Any]) -> None:
    """Write one result into the course's gradebook with nbgrader's API: each graded cell's ``auto_score``."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(grading.gradebook_url(course), grading.course_id(course)) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes about nbgrader's own objects
        gb.update_or_create_student(result["student"])
        try:
            submission = gb.find_submission(assignment, result["student"])
        except MissingEntry:
            submission = gb.add_submission(assignment, result["student"])
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.name in result["cells"]:
                    grade.auto_score = float(result["cells"][grade.name])
                    grade.needs_manual_grade = False
        gb.db.commit()


def save(course: Path, assignment: str, result: dict[str, Any]) -> None:
    """Record one student's result everywhere: the graded notebook, the gradebook, the results file."""
    student = result["student"]
    folder = course / "autograded" / student / assignment
    shutil.rmtree(folder, ignore_errors=True)
    graded = result.get("graded_notebook")
    if graded and Path(graded).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(graded, folder / f"{assignment}.ipynb")  # sanitised by the worker
    to_gradebook(course, assignment, result)
    out = results_path(course, assignment)
    previous = json.loads(out.read_text())["results"] if out.exists() else []
    keep = {k: v for k, v in result.items() if k != "graded_notebook"}
    merged = {r["student"]: r for r in previous} | {student: keep}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"assignment": assignment, "results": [merged[s] for s in sorted(merged)]}, indent=1))
    os.replace(tmp, out)  # a run killed while writing leaves the previous file whole
