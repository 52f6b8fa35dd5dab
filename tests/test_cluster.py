"""Grading past one machine (issue 19): a real Dask cluster (worker processes over TCP on 127.0.0.1) and a
real PostgreSQL gradebook (a server this test run starts, :mod:`postgres`).

- The example class plus 20 generated submissions, graded on a two-worker ``LocalCluster`` into PostgreSQL
  while one worker is killed half-way, give the gradebook a local ``--jobs 1`` SQLite run gives, cell by
  cell, and each student is recorded once.
- A submission that kills the worker grading it is graded on three workers, then "crashed"; its classmates
  are graded as usual.
- The README's several-process setup (``dask scheduler`` + ``dask worker``, ``course-grade autograde
  --scheduler``): the client killed with SIGKILL half-way and started again grades only what was not
  finished, and ends with the gradebook of an uninterrupted run.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import grading_corpus as corpus
import pytest
from conftest import ROOT, free_port, release_path, source_path
from test_resume import _class as honest_blank_wrong
from test_resume import _cli, kill_after_two_results
from wrong_implementations import topic_01_perceptron_xor as wrong01

from course_utils import grading
from course_utils.grader.autograde import autograde
from course_utils.grader.collect import collect
from course_utils.grader.collect import release as make_release

pytestmark = pytest.mark.slow
A = "01_perceptron_xor"
#: seconds per cell: dave's ``predict`` loops forever (topic 01's cells take under 2 s)
TIMEOUT = 10


def _require(what: str, problem: str | None) -> None:
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must test {what} ({problem}); .ci/run installs it")
    pytest.skip(f"{what}: {problem}")


@pytest.fixture(scope="module")
def postgres():
    import postgres as pg

    _require("against a PostgreSQL server", None if pg.bindir() else "PostgreSQL is not installed")
    server = pg.Server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed") if not os.environ.get("CI") else __import__("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as local, distributed.Client(local) as client:
        assert local.scheduler_address.startswith("tcp://127.0.0.1:")
        yield local, client


def _course(tmp_path, name: str, db_url: str | None = None) -> Path:
    course = grading.copy_course(ROOT, tmp_path / name)
    if db_url:
        with open(course / "nbgrader_config.py", "a") as f:
            f.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
        assert grading.gradebook_url(course) == db_url
    make_release(course, [A])
    return course


def _generated_class(course: Path, n: int = 20) -> None:
    """n students, each handing in the solution with one of the wrong implementations of topic 01."""
    source, release = grading.read_notebook(source_path(A)), grading.read_notebook(release_path(A))
    solutions = {grading.nbgrader_meta(c)["grade_id"]: grading.strip_solution_markers(c.source)
                 for c in source.cells if grading.nbgrader_meta(c).get("solution")}
    for i, w in enumerate(wrong01.WRONG[:n]):
        answer = solutions[w.cell].replace(w.old, w.new)
        assert answer != solutions[w.cell], w.name
        grading.submit(course, A, f"gen{i:02d}", {f"{A}.ipynb": grading.fill_release(release, source,
                                                                                     {w.cell: answer})})


def _sandbox() -> str:
    from course_utils.grader.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem and os.environ.get("CI"):
        pytest.fail(f"CI must grade in the sandbox (.ci/run installs bubblewrap): {problem}")
    return "none" if problem else "bwrap"


def _book(course: Path) -> dict[str, dict]:
    return grading.gradebook_scores(course, A)


def _results(course: Path) -> dict[str, dict]:
    return {r["student"]: r for r in json.loads((course / "grades" / f"{A}.json").read_text())["results"]}


def test_cluster_and_postgres_give_the_local_sqlite_scores_with_a_worker_killed(tmp_path, postgres, cluster):
    local, client = cluster
    sandbox = _sandbox()
    courses = {}
    for name, url in (("sqlite", None), ("pg", postgres.create("course"))):
        course = courses[name] = _course(tmp_path, name, url)
        students, _ = collect(course, A, ROOT / "examples" / "submissions" / A)
        assert len(students) == 6, students
        _generated_class(course)
    n = 26
    reference = autograde(courses["sqlite"], A, jobs=1, timeout=TIMEOUT, sandbox=sandbox)
    assert len(reference) == n

    before = client.run(os.getpid)  # worker address -> pid
    assert len(before) == 2
    seen: list[str] = []
    killed: list[int] = []

    def progress(result):
        seen.append(result["student"])
        if len(seen) == 5:  # half-way: kill a worker process (both are busy: as many in flight as threads)
            pid = next(iter(before.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    lines: list[str] = []
    results = autograde(courses["pg"], A, timeout=TIMEOUT, sandbox=sandbox, scheduler=local.scheduler_address,
                        progress=progress, status=lines.append, throwaway_cluster=sandbox == "none")
    assert killed, "no worker was killed"
    assert any("a submission whose worker dies is graded again at most 2 times" in line for line in lines), lines
    if sandbox == "bwrap":
        assert any("sandboxed (bubblewrap)" in line for line in lines), lines
    # the killed worker had a submission in hand: the scheduler counted it against that task and ran it again
    suspicious = client.run_on_scheduler(
        lambda dask_scheduler: sum(tp.suspicious for tp in dask_scheduler.task_prefixes.values()))
    assert suspicious >= 1, "the killed worker was grading nothing"
    client.wait_for_workers(2, timeout=120)  # the nanny started a new worker process
    assert set(client.run(os.getpid).values()) != set(before.values())

    assert sorted(seen) == sorted(set(seen)) and len(seen) == n, "a student was recorded twice or not at all"
    assert all(r["receipt"]["torch"] and len(r["receipt"]["submission_sha256"]) == 64 for r in results
               if r["status"] != "invalid file")
    book_pg, book_sqlite = _book(courses["pg"]), _book(courses["sqlite"])
    assert set(book_pg) == set(book_sqlite) and len(book_pg) == n
    for student in book_sqlite:
        assert book_pg[student]["cells"] == book_sqlite[student]["cells"], student
        assert book_pg[student]["score"] == book_sqlite[student]["score"], student
    res_pg, res_sqlite = _results(courses["pg"]), _results(courses["sqlite"])
    for student, r in res_sqlite.items():
        assert (res_pg[student]["status"], res_pg[student]["cells"]) == (r["status"], r["cells"]), student
    # an independent check of the reference: the example class's known scores, and each generated student
    # lost the points of the exercise their wrong implementation breaks
    assert {s: res_sqlite[s]["score"] for s in ("alice", "bob", "carol", "erin")} == {
        "alice": 100.0, "bob": 90.0, "carol": 0.0, "erin": 90.0}
    assert res_sqlite["frank"]["status"] == "invalid file" and res_sqlite["dave"]["cells"]["predict_test"] == 0
    for i, w in enumerate(wrong01.WRONG[:20]):
        cells = res_sqlite[f"gen{i:02d}"]["cells"]
        assert all(cells[gid] == 0.0 for gid in w.loses), (w.name, cells)
    # the graded notebooks came back from the workers
    assert (courses["pg"] / "autograded" / "alice" / A / f"{A}.ipynb").is_file()


KILLER = '''import os, signal
with open({attempts!r}, "a") as _f:
    _f.write(str(os.getpid()) + "\\n")
def _cmdline(pid):
    with open(f"/proc/{{pid}}/cmdline", "rb") as f:
        return f.read().replace(b"\\0", b" ").decode(errors="replace")
def _parent(pid):
    with open(f"/proc/{{pid}}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])
_pid = os.getpid()   # up to the checker process, then its parent: the Dask worker
while _pid > 1 and "course_utils.grader.worker" not in _cmdline(_pid):
    _pid = _parent(_pid)
_worker = _parent(_pid) if _pid > 1 else 0
if _worker > 1 and "pytest" not in _cmdline(_worker):
    os.kill(_worker, signal.SIGKILL)
'''


def test_a_submission_that_kills_its_worker_is_crashed_after_three_workers(tmp_path, postgres, cluster):
    local, client = cluster
    course = _course(tmp_path, "course", postgres.create("killer"))
    source, release = grading.read_notebook(source_path(A)), grading.read_notebook(release_path(A))
    attempts = tmp_path / "attempts.txt"
    predict = grading.strip_solution_markers(grading.find_cell(source, "predict").source)
    grading.submit(course, A, "killer", {f"{A}.ipynb": grading.fill_release(
        release, source, {"predict": KILLER.format(attempts=str(attempts)) + predict})})
    expected = {"honest": 100.0, "blank": 0.0, "wrong": 90.0}
    grading.submit(course, A, "honest", {f"{A}.ipynb": grading.fill_release(release, source)})
    grading.submit(course, A, "blank", {f"{A}.ipynb": release})
    grading.submit(course, A, "wrong", {f"{A}.ipynb": grading.fill_release(release, source,
                                                                           {"xor_network": corpus.WRONG_XOR})})
    # unsandboxed on purpose, which only a throwaway cluster allows: in the sandbox (its own PID namespace) the
    # kernel cannot see the worker at all
    results = {r["student"]: r for r in autograde(course, A, sandbox="none", scheduler=local.scheduler_address,
                                                  throwaway_cluster=True)}
    killer = results.pop("killer")
    assert killer["status"] == "crashed" and killer["score"] == 0.0, killer
    assert "the worker process ended each time it graded this submission (3 workers" in killer["detail"], killer
    assert len(attempts.read_text().split()) == 3, "graded on other than three workers"
    assert {s: (r["score"], r["status"]) for s, r in results.items()} == {s: (v, "graded") for s, v in
                                                                         expected.items()}
    assert {s: b["score"] for s, b in _book(course).items()} == expected | {"killer": 0.0}
    client.wait_for_workers(2, timeout=120)


def test_every_worker_lost_at_once_and_a_worker_without_a_sandbox(tmp_path, postgres, cluster):
    local, client = cluster
    sandbox = _sandbox()
    course = _course(tmp_path, "course", postgres.create("lost"))
    source, release = grading.read_notebook(source_path(A)), grading.read_notebook(release_path(A))
    expected = {}
    for i in range(4):
        honest = i % 2 == 0
        grading.submit(course, A, f"s{i}", {f"{A}.ipynb": grading.fill_release(release, source) if honest else release})
        expected[f"s{i}"] = 100.0 if honest else 0.0
    # both worker processes, with the assignment they hold, killed at the first result (a machine gone)
    pids = list(client.run(os.getpid).values())
    lines: list[str] = []

    def progress(result):
        if pids:
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            pids.clear()

    results = autograde(course, A, timeout=TIMEOUT, sandbox=sandbox, scheduler=local.scheduler_address,
                        progress=progress, status=lines.append, throwaway_cluster=sandbox == "none")
    assert not pids, "no worker was killed"
    assert {r["student"]: (r["score"], r["status"]) for r in results} == {s: (v, "graded") for s, v in
                                                                          expected.items()}, results
    client.wait_for_workers(2, timeout=120)

    # a worker that cannot sandbox (here: told bubblewrap is missing) stops the run before anyone is recorded
    def no_bwrap():
        from course_utils.grader import sandbox as sb

        sb.sandbox_problem = lambda: "bubblewrap (bwrap) is not installed"

    client.run(no_bwrap)
    try:
        grading.submit(course, A, "s9", {f"{A}.ipynb": release})
        # (other settings: a grader the workers have not made yet, so each one checks its sandbox)
        for preflight in (True, False):  # found by the preflight, or else by the first submission
            with pytest.raises(RuntimeError, match="a worker cannot sandbox the student's kernel"):
                autograde(course, A, timeout=TIMEOUT + 1 + preflight, sandbox="auto", preflight=preflight,
                          scheduler=local.scheduler_address)
        assert "s9" not in _results(course)
    finally:
        client.restart()
    client.wait_for_workers(2, timeout=120)


def test_the_client_trusts_only_what_a_result_may_hold():
    from types import SimpleNamespace

    from course_utils.grader.cluster import checked

    grader = SimpleNamespace(points={"a": 10.0, "b": 5.0})
    good = {"student": "mallory", "status": "graded", "cells": {"a": 10, "b": 2.5}, "score": 99.0,
            "environment": {"torch": "2.13.0", "submission_sha256": "forged", "python": 3}, "worker": "w1",
            "graded_bytes": b"{}", "task_seconds": 1.0}
    result = checked(good, "alice", grader)
    assert result["student"] == "alice" and result["score"] == 12.5 and result["max_score"] == 15.0
    assert result["environment"]["torch"] == "2.13.0" and result["environment"]["python"] is None
    assert "submission_sha256" not in result["environment"]
    for bad in ({**good, "cells": {"a": 11.0}}, {**good, "cells": {"a": -1.0}}, {**good, "cells": {"c": 1.0}},
                {**good, "cells": {"a": True}}, {**good, "status": "excellent"}, ["not", "a", "dict"]):
        with pytest.raises(ValueError):
            checked(bad, "alice", grader)


def _dask(*args: str) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "dask"
    return subprocess.Popen([str(exe), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=grading.tool_env())


def test_readme_cluster_setup_and_a_client_killed_half_way(tmp_path, postgres):
    readme = (ROOT / "README.md").read_text()
    for line in ("dask scheduler --host", "dask worker tcp://", "--nworkers", "--nthreads 1",
                 "course-grade autograde 01_perceptron_xor --scheduler tcp://"):
        assert line in readme, f"the README's setup no longer says {line!r}"
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    refused = _cli(ROOT, "autograde", A, "--scheduler", address, "--sandbox", "none")
    out, err = refused.communicate(timeout=300)
    assert refused.returncode == 1 and "a cluster is never graded unsandboxed" in err, out + err
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")]
    try:
        procs.append(_dask("worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"))
        course = _course(tmp_path, "course", postgres.create("resume"))
        expected = honest_blank_wrong(course, 8)
        before = kill_after_two_results(_cli(course, "autograde", A, "--scheduler", address),
                                        course / "grades" / f"{A}.json")
        assert 2 <= len(before) < 8, f"{len(before)} results when the client was killed"
        proc = _cli(course, "autograde", A, "--scheduler", address)
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, out[-2000:] + err[-2000:]
        assert f"Dask cluster at {address}: 2 worker(s), 2 thread(s)" in out, out
        assert f"{len(before)} of them already graded with the same submission and tests" in out, out
        final = _results(course)
        assert {s: r["score"] for s, r in final.items()} == expected
        assert all(final[s] == before[s] for s in before), "a finished result was graded again"
        book = _book(course)
        assert {s: b["score"] for s, b in book.items()} == expected
        for s, r in final.items():
            assert book[s]["cells"] == r["cells"], s
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)
