"""``course-grade`` end to end on a temporary copy of the course: release, collect a generated class from a
folder and from a zip, autograde it two at a time, export CSV.

The class for ``01_perceptron_xor``: an honest student (100), a blank release (0), a runaway loop in
``predict`` (stopped by the per-cell timeout: loses ``predict_test`` and ``train_perceptron_test``, 70), a
kernel killed by ``os._exit(1)`` (crashed, 0), and broken files (invalid JSON, empty, plain text, a lecture
notebook: invalid file, 0).
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, release_path, source_path

from course_utils import grading

pytestmark = pytest.mark.slow
A = "01_perceptron_xor"
EXPECTED = {
    "honest": (100.0, "graded"),
    "blank": (0.0, "graded"),
    "runaway": (70.0, "graded"),
    "crash": (0.0, "crashed"),
    "badjson": (0.0, "invalid file"),
    "empty": (0.0, "invalid file"),
    "text": (0.0, "invalid file"),
    "lecture": (0.0, "invalid file"),
}


def course_grade(course: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course_utils.grading", "--course", str(course), *args],
                          capture_output=True, text=True, timeout=timeout, env=grading.tool_env(), cwd=ROOT)


def _json(nb) -> str:
    import nbformat

    return nbformat.writes(nb)


def _grade_class(tmp: Path) -> dict:
    course = grading.copy_course(ROOT, tmp / "course")
    proc = course_grade(course, "release", A)
    assert proc.returncode == 0, proc.stderr

    source = grading.read_notebook(source_path(A))
    release = grading.read_notebook(release_path(A))
    honest = grading.fill_release(release, source)
    runaway = grading.fill_release(release, source, {"predict": "while True:\n    pass"})
    crash = grading.fill_release(release, source, {"threshold_mlp": "import os\nos._exit(1)"})

    folder = tmp / "folder"
    (folder / "blank").mkdir(parents=True)
    (folder / "honest.ipynb").write_text(_json(honest))
    (folder / "blank" / "my_work.ipynb").write_text(_json(release))
    (folder / "runaway.ipynb").write_text(_json(runaway))
    (folder / "bad name!.ipynb").write_text(_json(honest))
    (folder / "notes.txt").write_text("not a submission")

    archive = tmp / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("crash_01_perceptron_xor.ipynb", _json(crash))
        zf.writestr("badjson.ipynb", '{"cells": [')
        zf.writestr("empty_attempt1.ipynb", "")
        zf.writestr("text.ipynb", "I did not have time, sorry.\n")
        zf.writestr("lecture_01.ipynb", (ROOT / "lectures" / f"{A}.ipynb").read_text())
        zf.writestr("readme.md", "hello")

    collect_folder = course_grade(course, "collect", A, str(folder))
    collect_zip = course_grade(course, "collect", A, str(archive))
    auto = course_grade(course, "autograde", A, "--jobs", "2", "--timeout", "20", "--wall-limit", "180",
                        timeout=600)
    csv_path = tmp / "grades.csv"
    export = course_grade(course, "export", "--csv", str(csv_path))
    return {"course": course, "folder": collect_folder, "zip": collect_zip, "auto": auto, "export": export,
            "csv": csv_path}


def test_course_grade_end_to_end(tmp_path):
    # one test, not a module fixture: pytest-xdist would build a fixture once per worker, grading the class
    # twice at once on 2 cores
    graded = _grade_class(tmp_path)
    _check_collect(graded)
    _check_autograde(graded)
    _check_export(graded)

    # the wall-clock limit: the runaway submission again, with a cell timeout longer than the limit
    from course_utils import course_grade as cg

    start = time.monotonic()
    result = cg.grade_one(graded["course"], A, "runaway", 60, 3, *cg.assignment_cells(graded["course"], A))
    assert result["status"] == "timed out" and result["score"] == 0.0, result
    assert time.monotonic() - start < 30


def _check_collect(graded):
    folder, zipped = graded["folder"], graded["zip"]
    assert folder.returncode == 0 and zipped.returncode == 0, folder.stderr + zipped.stderr
    assert "collected 3 submission(s): blank honest runaway" in folder.stdout, folder.stdout
    assert "unmatched: bad name!.ipynb" in folder.stdout and "unmatched: notes.txt" in folder.stdout
    assert "collected 5 submission(s): badjson crash empty lecture text" in zipped.stdout, zipped.stdout
    assert "unmatched: readme.md" in zipped.stdout
    for student in EXPECTED:
        assert (graded["course"] / "submitted" / student / A / f"{A}.ipynb").is_file(), student
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['course'] / 'gradebook.db'}") as gb:
        assert {s.id for s in gb.students} == set(EXPECTED)


def _check_autograde(graded):
    auto = graded["auto"]
    assert auto.returncode == 0, auto.stderr[-3000:]
    assert "UNSANDBOXED: student code runs with your permissions" in auto.stdout
    results = json.loads((graded["course"] / "grades" / f"{A}.json").read_text())["results"]
    got = {r["student"]: (r["score"], r["status"]) for r in results}
    assert got == EXPECTED, results
    assert all(r["max_score"] == 100.0 for r in results)
    table = {ln.split()[0]: ln for ln in auto.stdout.splitlines()[2:]}
    assert "invalid file" in table["empty"] and "crashed" in table["crash"] and " 100 " in table["honest"]
    assert (graded["course"] / "autograded" / "honest" / A / f"{A}.ipynb").is_file()


def _check_export(graded):
    assert graded["export"].returncode == 0, graded["export"].stderr
    text = graded["csv"].read_text()
    assert text.startswith('"student","assignment","score","max_score","status","predict_test"'), text[:200]
    with open(graded["csv"], newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(EXPECTED)
    assert float(rows["honest"]["score"]) == 100.0 and rows["crash"]["status"] == "crashed"
    assert float(rows["runaway"]["predict_test"]) == 0.0 and float(rows["runaway"]["cover_count_test"]) == 15.0
