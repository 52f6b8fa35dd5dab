"""A grading run that cannot lose work (issue 19, part 3): results keyed by the submission's and the
assignment source's SHA-256 are skipped by a rerun, a changed submission is graded again, a client killed
with SIGKILL half-way resumes where it stopped and ends with the gradebook an uninterrupted run gives, and
``verify`` reproduces a recorded score; ``export`` carries each result's receipt.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import grading_corpus as corpus
import pytest
from conftest import ROOT, release_path, source_path

from course_utils import grading
from course_utils.grader import export, receipt
from course_utils.grader.autograde import autograde
from course_utils.grader.collect import release as make_release

pytestmark = pytest.mark.slow
A = "01_perceptron_xor"



def _class(course, n: int) -> dict[str, float]:
    """n students: honest ones (100), blank ones (0) and wrong ones (90); returns their expected scores."""
    source, release = grading.read_notebook(source_path(A)), grading.read_notebook(release_path(A))
    kinds = [(grading.fill_release(release, source), 100.0), (release, 0.0),
             (grading.fill_release(release, source, {"xor_network": corpus.WRONG_XOR}), 90.0)]
    expected = {}
    for i in range(n):
        nb, score = kinds[i % 3]
        grading.submit(course, A, f"s{i:02d}", {f"{A}.ipynb": nb})
        expected[f"s{i:02d}"] = score
    return expected


def _cli(course, *args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "course_utils.grader", "--course", str(course), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=grading.tool_env(),
                            start_new_session=True, **kwargs)


def kill_after_two_results(proc: subprocess.Popen, results) -> dict[str, dict]:
    """SIGKILL the client ``proc`` (its whole session) once the results file holds two results; returns the
    results it had recorded."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        done = json.loads(results.read_text())["results"] if results.exists() else []
        if len(done) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return {r["student"]: r for r in json.loads(results.read_text())["results"]}


def test_rerun_skips_what_is_graded_and_verify_reproduces(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", grading.tool_env()["PATH"])
    course = grading.copy_course(ROOT, tmp_path / "course")
    make_release(course, [A])
    expected = _class(course, 3)
    first = {r["student"]: r for r in autograde(course, A, jobs=2, timeout=60)}
    assert {s: r["score"] for s, r in first.items()} == expected
    source_sha = receipt.source_hash(course, A)
    file = course / "constraints.txt" if (course / "constraints.txt").exists() else ROOT / "constraints.txt"
    constraints = hashlib.sha256(file.read_bytes()).hexdigest()
    for s, r in first.items():
        rec = r["receipt"]
        assert rec["submission_sha256"] == receipt.submission_hash(course, A, s) and rec["source_sha256"] == source_sha
        assert rec["python"] and rec["numpy"] and rec["torch"] and rec["course_version"]
        assert rec["constraints_sha256"] == constraints, rec
    # a rerun grades nobody
    again = {r["student"]: r for r in autograde(course, A, jobs=2, timeout=60)}
    assert all(r.get("skipped") for r in again.values()) and {s: r["cells"] for s, r in again.items()} == \
        {s: r["cells"] for s, r in first.items()}
    # s01 hands in a new notebook: only s01 is graded again
    grading.submit(course, A, "s01", {f"{A}.ipynb": grading.fill_release(
        grading.read_notebook(release_path(A)), grading.read_notebook(source_path(A)))})
    third = {r["student"]: r for r in autograde(course, A, jobs=2, timeout=60)}
    assert [s for s, r in third.items() if not r.get("skipped")] == ["s01"] and third["s01"]["score"] == 100.0
    assert grading.gradebook_scores(course, A)["s01"]["score"] == 100.0
    # other grading settings (here the time per cell) are part of the key: graded again
    other = autograde(course, A, students=["s00"], timeout=30, preflight=False)
    assert not other[0].get("skipped") and other[0]["score"] == 100.0
    # --force grades again what is unchanged
    forced = autograde(course, A, students=["s02"], force=True, preflight=False)
    assert not forced[0].get("skipped") and forced[0]["score"] == 90.0
    # verify: reproduced; after the recorded score is forged, not
    proc = _cli(course, "verify", A, "s02")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "reproduced: the same score, cell by cell" in out, out + err
    path = course / "grades" / f"{A}.json"
    data = json.loads(path.read_text())
    for r in data["results"]:
        if r["student"] == "s02":
            r["cells"]["xor_network_test"] = 10.0
    path.write_text(json.dumps(data))
    proc = _cli(course, "verify", A, "s02")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1 and "xor_network_test: 10.0 recorded, 0.0 now" in out and "NOT reproduced" in out, out
    # export: the receipt's fields, for every row
    buf = io.StringIO()
    export.export(course, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert all(len(r["submission_sha256"]) == 64 and r["source_sha256"] == source_sha for r in rows), rows[0]


def test_a_client_killed_half_way_resumes_where_it_stopped(tmp_path):
    course = grading.copy_course(ROOT, tmp_path / "course")
    assert _cli(course, "release", A).wait(timeout=600) == 0
    expected = _class(course, 6)
    results = course / "grades" / f"{A}.json"
    before = kill_after_two_results(_cli(course, "autograde", A, "--jobs", "1", "--sandbox", "none"), results)
    assert 2 <= len(before) < 6, f"{len(before)} results when the client was killed"
    proc = _cli(course, "autograde", A, "--jobs", "2", "--sandbox", "none")
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-2000:]
    assert f"{len(before)} of them already graded with the same submission and tests" in out, out
    final = {r["student"]: r for r in json.loads(results.read_text())["results"]}
    assert {s: r["score"] for s, r in final.items()} == expected
    assert all(final[s] == before[s] for s in before), "a finished result was graded again"
    book = grading.gradebook_scores(course, A)
    assert {s: b["score"] for s, b in book.items()} == expected
    for s, r in final.items():
        assert book[s]["cells"] == r["cells"], s
