"""``course-grade`` end to end on a temporary copy of the course: release, collect a generated class from a
folder and from a zip, add the adversarial corpus (tests/grading_corpus.py), autograde everything two at a
time in the sandbox, check every score, the gradebook, the files student code must not touch, the
feedback and the CSV export.

The collected class for ``01_perceptron_xor``: an honest student (100), a blank release (0), a runaway loop
in ``predict`` (stopped by the per-cell timeout: loses ``predict_test`` and ``train_perceptron_test``, 70), a
kernel killed by ``os._exit(1)`` in ``threshold_mlp`` (crashed; the kernel is restarted and only that
exercise is lost, 90), and broken files (invalid JSON, empty, plain text, a lecture notebook: invalid
file, 0).
"""
from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path

import grading_corpus as corpus
import pytest
from conftest import ROOT, hidden_only_lines, page_text, release_path, source_path

from course_utils import grading

pytestmark = pytest.mark.slow
A = "01_perceptron_xor"
EXPECTED = {
    "honest": (100.0, "graded"),
    "blank": (0.0, "graded"),
    "runaway": (70.0, "graded"),
    "crash": (90.0, "crashed"),
    "badjson": (0.0, "invalid file"),
    "empty": (0.0, "invalid file"),
    "text": (0.0, "invalid file"),
    "lecture": (0.0, "invalid file"),
    "bomb": (0.0, "invalid file"),
}


def course_grade(course: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course_utils.grading", "--course", str(course), *args],
                          capture_output=True, text=True, timeout=timeout, env=grading.tool_env(), cwd=ROOT)


def _json(nb) -> str:
    import nbformat

    return nbformat.writes(nb)


class Listener:
    """A TCP server on 127.0.0.1 that records what anyone sends it (student code must not reach it)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(1024) or b"<connected>")
                except OSError:
                    self.received.append(b"<connected>")

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.server.close()


def _corpus(course: Path, listener: Listener, sandboxed: bool) -> dict[str, corpus.Case]:
    """Submit every case of the corpus (those that need the sandbox only when there is one)."""
    source = grading.read_notebook(course / "solutions" / A / f"{A}.ipynb")
    release = grading.read_notebook(course / "assignments" / A / f"{A}.ipynb")
    ctx = corpus.Ctx(
        release=release, source=source, other_release=grading.read_notebook(release_path("02_backprop")),
        values={"course": course, "gradebook": course / "gradebook.db", "port": listener.port,
                "solution": course / "solutions" / A / f"{A}.ipynb"},
        fill=lambda answers: grading.fill_release(release, source, answers))
    cases = {}
    for case in corpus.CASES:
        if case.sandboxed and not sandboxed:
            continue
        grading.submit(course, A, case.name, {f"{A}.ipynb": case.make(ctx)})
        cases[case.name] = case
    return cases


def _grade_class(tmp: Path, listener: Listener, sandboxed: bool) -> dict:
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

    archive = tmp / "class.zip"  # the folder format, zipped; a zip bomb (250 MB of spaces in 0.25 MB)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"crash/{A}.ipynb", _json(crash))
        zf.writestr("badjson.ipynb", '{"cells": [')
        zf.writestr("empty/attempt1.ipynb", "")
        zf.writestr("text.ipynb", "I did not have time, sorry.\n")
        zf.writestr("lecture/lecture_01.ipynb", (ROOT / "lectures" / f"{A}.ipynb").read_text())
        zf.writestr("readme.md", "hello")
        with zf.open("bomb.ipynb", "w", force_zip64=True) as member:
            for _ in range(250):
                member.write(b" " * 1_000_000)

    collect_folder = course_grade(course, "collect", A, str(folder))
    collect_zip = course_grade(course, "collect", A, str(archive))
    cases = _corpus(course, listener, sandboxed)
    protected = {p: p.read_bytes() for p in [course / "solutions" / A / f"{A}.ipynb"]}
    auto = course_grade(course, "autograde", A, "--jobs", "2", "--timeout", "15", "--wall-limit", "240",
                        "--memory", "1536", timeout=1200)
    feedback = course_grade(course, "feedback", A)
    csv_path = tmp / "grades.csv"
    export = course_grade(course, "export", "--csv", str(csv_path))
    return {"course": course, "folder": collect_folder, "zip": collect_zip, "auto": auto, "export": export,
            "csv": csv_path, "cases": cases, "protected": protected, "feedback": feedback}


def test_course_grade_end_to_end(tmp_path):
    # one test, not a module fixture: pytest-xdist would build a fixture once per worker, grading the class
    # twice at once on 2 cores
    from course_utils.grader.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem and os.environ.get("CI"):
        pytest.fail(f"CI must grade in the sandbox (.ci/run installs bubblewrap): {problem}")
    listener = Listener()
    try:
        graded = _grade_class(tmp_path, listener, sandboxed=problem is None)
    finally:
        listener.close()
    _check_collect(graded)
    _check_autograde(graded, sandboxed=problem is None)
    _check_corpus(graded, listener)
    _check_feedback(graded)
    _check_export(graded)
    if problem:
        warnings.warn(f"the corpus cases that need the sandbox did not run: {problem}", stacklevel=1)

    # the wall-clock limit: the runaway submission again, with a cell timeout longer than the limit
    from course_utils.grader.autograde import autograde

    start = time.monotonic()
    result = autograde(graded["course"], A, timeout=60, wall_limit=3, students=["runaway"], preflight=False,
                       force=True)[0]  # graded already: --force grades it again
    assert result["status"] == "timed out" and result["score"] == 0.0, result
    assert time.monotonic() - start < 40


def _check_collect(graded):
    folder, zipped = graded["folder"], graded["zip"]
    assert folder.returncode == 0 and zipped.returncode == 0, folder.stderr + zipped.stderr
    assert "collected 3 submission(s): blank honest runaway" in folder.stdout, folder.stdout
    assert "unmatched: bad name!.ipynb" in folder.stdout and "unmatched: notes.txt" in folder.stdout
    assert "collected 6 submission(s): badjson bomb crash empty lecture text" in zipped.stdout, zipped.stdout
    assert "unmatched: readme.md" in zipped.stdout
    assert "unmatched: bomb.ipynb (bomb: too large: 250.0 MB, over the limit of 20 MB" in zipped.stdout
    for student in set(EXPECTED) - {"bomb"}:
        assert (graded["course"] / "submitted" / student / A / f"{A}.ipynb").is_file(), student
    assert not (graded["course"] / "submitted" / "bomb" / A / f"{A}.ipynb").exists()


def _results(graded) -> dict[str, dict]:
    data = json.loads((graded["course"] / "grades" / f"{A}.json").read_text())
    return {r["student"]: r for r in data["results"]}


def _check_autograde(graded, sandboxed):
    auto = graded["auto"]
    assert auto.returncode == 0, auto.stderr[-3000:]
    assert "limits per kernel (" in auto.stdout, auto.stdout[:500]  # which limits are in force, said first
    if sandboxed:
        assert "sandboxed (bubblewrap)" in auto.stdout, auto.stdout[:500]
    else:
        assert "UNSANDBOXED: student code runs with your permissions" in auto.stdout
    results = _results(graded)
    got = {s: (r["score"], r["status"]) for s, r in results.items() if s in EXPECTED}
    assert got == EXPECTED, {s: (r["score"], r["status"], r["detail"]) for s, r in results.items() if s in EXPECTED}
    assert all(r["max_score"] == 100.0 for r in results.values())
    table = {ln.split()[0]: ln for ln in auto.stdout.splitlines() if ln.split()}
    assert "invalid file" in table["empty"] and "crashed" in table["crash"] and " 100 " in table["honest"]
    assert results["bomb"]["detail"].startswith("not collected: bomb.ipynb: too large: 250.0 MB"), results["bomb"]
    assert (graded["course"] / "autograded" / "honest" / A / f"{A}.ipynb").is_file()
    # the gradebook holds exactly the results, cell by cell, for every student (nothing lost or mixed up)
    book = grading.gradebook_scores(graded["course"], A)
    assert set(book) == set(results)
    for student, r in results.items():
        assert book[student]["cells"] == r["cells"], (student, book[student], r["cells"])
        assert book[student]["score"] == r["score"] and book[student]["max_score"] == 100.0, student


def _check_corpus(graded, listener):
    results = _results(graded)
    points = grading.max_points(grading.read_notebook(source_path(A)))
    wrong = []
    for name, case in graded["cases"].items():
        r = results[name]
        want = {gid: 0.0 if gid in case.lose else pts for gid, pts in points.items()}
        if r["status"] != case.status or r["cells"] != want:
            lost = sorted(g for g, v in r["cells"].items() if v < points[g])
            wrong.append(f"{name}: {r['status']} losing {lost}, expected {case.status} losing {sorted(case.lose)} "
                         f"({r['detail']})")
    assert not wrong, "\n".join(wrong)
    assert listener.received == [], f"student code reached the grader's network: {listener.received}"
    for path, content in graded["protected"].items():
        assert path.read_bytes() == content, f"student code changed {path}"


def _check_feedback(graded):
    fb = graded["feedback"]
    assert fb.returncode == 0, fb.stderr[-3000:]
    results = _results(graded)
    have = {p.parts[-3] for p in (graded["course"] / "feedback").glob(f"*/{A}/{A}.html")}
    assert have == {s for s, r in results.items() if r["status"] in ("graded", "crashed")}
    hidden = hidden_only_lines(A)
    for path in (graded["course"] / "feedback").glob(f"*/{A}/{A}.html"):
        text = page_text(path.read_text())
        shown = [ln for ln in hidden if ln in text]
        assert not shown, f"{path} shows the hidden tests: {shown[:2]}"
    honest = (graded["course"] / "feedback" / "honest" / A / f"{A}.html").read_text()
    assert "100" in honest and "predict: visible tests passed" in honest
    assert "course-grade: 10 / 10 points (all tests passed, hidden ones included)" in honest


def _check_export(graded):
    assert graded["export"].returncode == 0, graded["export"].stderr
    text = graded["csv"].read_text()
    assert text.startswith('"student","assignment","score","max_score","status","predict_test"'), text[:200]
    with open(graded["csv"], newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(_results(graded))
    assert float(rows["honest"]["score"]) == 100.0 and rows["crash"]["status"] == "crashed"
    assert float(rows["runaway"]["predict_test"]) == 0.0 and float(rows["runaway"]["cover_count_test"]) == 15.0


def test_a_fault_that_is_not_the_students_stops_the_run_before_any_score(tmp_path):
    # a kernel that cannot start (here: a memory cap too small to import anything) fails the instructor's own
    # solution in the preflight: exit 3, the reason, and nothing recorded for the students
    course = grading.copy_course(ROOT, tmp_path / "course")
    assert course_grade(course, "release", A).returncode == 0
    release = grading.read_notebook(release_path(A))
    grading.submit(course, A, "someone", {f"{A}.ipynb": grading.fill_release(release, grading.read_notebook(
        source_path(A)))})
    proc = course_grade(course, "autograde", A, "--memory", "30", "--jobs", "1")
    assert proc.returncode == 3, (proc.returncode, proc.stderr[-2000:])
    assert "stopped before grading anyone" in proc.stderr and "instructor's solution" in proc.stderr, proc.stderr
    assert not (course / "grades" / f"{A}.json").exists()
    assert "someone" not in grading.gradebook_scores(course, A)
    # a test that does not compile: the same
    course2 = grading.copy_course(ROOT, tmp_path / "course2")
    source = grading.read_notebook(course2 / "solutions" / A / f"{A}.ipynb")
    grading.find_cell(source, "predict_test").source += "\n    this is not Python"
    grading.write_notebook(source, course2 / "solutions" / A / f"{A}.ipynb")
    grading.submit(course2, A, "someone", {f"{A}.ipynb": release})
    proc = course_grade(course2, "autograde", A, "--jobs", "1")
    assert proc.returncode == 3 and "stopped before grading anyone" in proc.stderr, proc.stderr[-2000:]
    assert not (course2 / "grades" / f"{A}.json").exists()
