"""``course-grade autograde``: grade every collected submission of an assignment, several at a time.

For each student: read the file (:func:`collect.load_submission`), rebuild it on the release
(:func:`collect.canonical_submission`), and send it to an idle checker process (:mod:`.worker`) that runs
the notebook in a sandboxed kernel and the tests in the checker. Any failure while reading, rebuilding or
grading one submission becomes that student's status; it never stops the class. Each result is recorded
in the gradebook (:mod:`.record`, from this process only) and in ``grades/ASSIGNMENT.json`` as soon as it
is known, so a run killed half-way keeps every finished result.

Before anyone is graded, the instructor's own solution goes through the same path (the *preflight*): a
failure that is not a student's (no kernel can start, the sandbox does not mount what the kernel imports,
the checker cannot load the tests) then stops the run before any score is recorded, with its reason.

Statuses: ``graded``; ``crashed`` (the kernel died: the cell or test that killed it scores 0, a new kernel
runs the cells before it again and grading goes on; or the grader failed on this submission, with the
reason); ``timed out`` (over the wall-clock limit: 0); ``invalid file`` (empty, not JSON, not a notebook,
another assignment's notebook, over the size limit or not collected for it: 0).
"""
from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from course_utils import grading
from course_utils.grader import collect, record

#: the smallest memory cap (RLIMIT_DATA, MB) of each checker process (twice ``--memory`` when that is more):
#: a student who makes the checker hold more (huge replies or output) gets "crashed", not the grading machine
CHECKER_MB = 4096


class PreflightError(RuntimeError):
    """The instructor's solution does not get full marks through the grader: the fault is not a student's."""


class Grader:
    """Grades the submissions of one assignment with a pool of checker processes.

    Args:
        root: a short temporary folder (Unix socket paths are limited to 107 bytes).
        sandbox: "bwrap" or "none"; memory: the kernel's memory cap in MB (0: none).
    """

    def __init__(self, course: Path, assignment: str, root: Path, timeout: int = 60, wall_limit: float = 600,
                 sandbox: str = "none", memory: int = 0, max_mb: float = collect.MAX_NOTEBOOK_MB,
                 limits: dict[str, Any] | None = None, release_path: Path | None = None) -> None:
        self.course, self.assignment, self.root, self.max_mb = course, assignment, root, max_mb
        self.limits = limits  # {"per_kernel": Limits fields, "mode": "auto"|"cgroup"|"rlimits"}; None: --memory only
        self.timeout, self.wall_limit, self.sandbox, self.memory = timeout, wall_limit, sandbox, memory
        self.grade_ids, self.points = collect.assignment_cells(course, assignment)
        self.source_path = course / "solutions" / assignment / f"{assignment}.ipynb"
        self.source = grading.read_notebook(self.source_path)
        if release_path is None:
            self.release = self._fresh_release()
        else:  # made by the instructor's process and shipped here (a Dask worker: :mod:`.cluster`)
            self.release_path, self.release = release_path, grading.read_notebook(release_path)
        self._idle: queue.Queue[subprocess.Popen] = queue.Queue()
        self._workers: list[subprocess.Popen] = []
        self._lock = threading.Lock()

    def _fresh_release(self) -> Any:
        """The release made now from solutions/ by ``nbgrader generate_assignment`` (in a scratch course)."""
        scratch = self.root / "release"
        (scratch / "solutions").mkdir(parents=True)
        shutil.copy2(self.course / "nbgrader_config.py", scratch / "nbgrader_config.py")
        shutil.copytree(self.source_path.parent, scratch / "solutions" / self.assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        try:
            grading.nbgrader(scratch, "generate_assignment", self.assignment, "--force", "--no-db",
                             f"--CourseDirectory.root={scratch}")
        except RuntimeError as err:
            raise RuntimeError(f"could not make the release of {self.assignment}: {err}") from err
        self.release_path = scratch / "assignments" / self.assignment / f"{self.assignment}.ipynb"
        return grading.read_notebook(self.release_path)

    # ------------------------------------------------------------------ workers
    def _run(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Send one request to an idle worker. Returns its reply, or None over the wall-clock limit (the
        worker and its kernel are killed)."""
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            env = grading.tool_env() | {"COURSE_GRADE_CHECKER_MB": str(max(CHECKER_MB, 2 * self.memory)),
                                        "COURSE_GRADE_PARENT": str(os.getpid())}
            worker = subprocess.Popen([sys.executable, "-m", "course_utils.grader.worker"], env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True, start_new_session=True)
            with self._lock:
                self._workers.append(worker)
        assert worker.stdin is not None and worker.stdout is not None
        try:
            worker.stdin.write(json.dumps(request) + "\n")
            worker.stdin.flush()
            ready, _, _ = select.select([worker.stdout], [], [], self.wall_limit)
            line = worker.stdout.readline() if ready else ""
        except (BrokenPipeError, OSError):
            line, ready = "", [True]
        if not line:
            self._kill(worker)
            return None if not ready else {"error": "the checker process stopped"}
        self._idle.put(worker)
        try:
            reply = json.loads(line)
        except ValueError:
            return {"error": "the checker process sent no valid reply"}
        return reply if isinstance(reply, dict) else {"error": "the checker process sent no valid reply"}

    @staticmethod
    def _kill(worker: subprocess.Popen) -> None:
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.wait()

    def close(self) -> None:
        """Stop the workers."""
        for worker in self._workers:
            if worker.poll() is None:
                assert worker.stdin is not None
                try:
                    worker.stdin.close()
                    worker.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    self._kill(worker)

    # ------------------------------------------------------------------ one submission
    def _empty(self, student: str) -> dict[str, Any]:
        return {"student": student, "score": 0.0, "max_score": float(sum(self.points.values())),
                "status": "invalid file", "detail": "", "cells": {gid: 0.0 for gid in self.points}, "messages": {}}

    def grade(self, student: str, path: Path | None = None) -> dict[str, Any]:
        """Grade one submission (``submitted/STUDENT/A/A.ipynb`` unless ``path`` is given); never raises.

        Returns:
            {"student", "score", "max_score", "status", "detail", "cells": {grade_id: points},
            "messages": {grade_id: why it failed}, "notebook": the graded notebook's path or None}.
        """
        result = self._empty(student)
        work = None
        try:
            a = self.assignment
            submitted = path or self.course / "submitted" / student / a / f"{a}.ipynb"
            nb, problem = collect.load_submission(submitted, self.grade_ids, self.max_mb)
            if problem:
                result["detail"] = problem
                return result
            try:
                canonical = collect.canonical_submission(self.release, nb)
            except Exception as err:  # noqa: BLE001 - a damaged file that nbformat still read
                result["detail"] = f"could not be rebuilt on the release: {type(err).__name__}: {str(err)[:200]}"
                return result
            work = Path(tempfile.mkdtemp(prefix="w", dir=self.root))
            (work / "k").mkdir()
            grading.write_notebook(canonical, work / "k" / f"{a}.ipynb")
            request = {"source": str(self.source_path), "release": str(self.release_path),
                       "notebook": str(work / "k" / f"{a}.ipynb"),
                       "workdir": str(work / "k"), "sockets": str(work / "s"), "out": str(work / "graded.ipynb"),
                       "timeout": self.timeout, "sandbox": self.sandbox, "memory": self.memory}
            if self.limits is not None:
                request["limits"] = self.limits
            reply = self._run(request)
            if reply is None:
                result.update(status="timed out", detail=f"over the wall-clock limit of {self.wall_limit:g} s")
                return result
            if "error" in reply:
                result.update(status="crashed", detail=f"grading failed: {str(reply['error'])[:300]}",
                              log=str(reply.get("log", ""))[-3000:])
                return result
            cells = {gid: float(reply["cells"].get(gid, 0.0)) for gid in self.points}
            deaths = list(reply.get("deaths", []))
            result.update(status="crashed" if deaths else "graded", score=float(sum(cells.values())), cells=cells,
                          messages=dict(reply.get("messages", {})),
                          detail=f"the kernel died in {', '.join(deaths)} and was restarted" if deaths else "")
            result["graded_notebook"] = str(work / "graded.ipynb")
            if isinstance(reply.get("seconds"), (int, float)):
                result["seconds"] = round(float(reply["seconds"]), 2)  # the checker's time on it
            return result
        except Exception as err:  # noqa: BLE001 - one submission never stops the class
            result.update(status="crashed", detail=f"grading failed: {type(err).__name__}: {str(err)[:300]}")
            return result
        finally:
            if work is not None and "graded_notebook" not in result:
                shutil.rmtree(work, ignore_errors=True)

    def preflight(self) -> dict[str, Any]:
        """Grade the instructor's solution through the same path.

        Raises:
            PreflightError: it does not score full marks (the message says what failed).
        """
        solution = grading.fill_release(self.release, self.source)
        path = self.root / "preflight.ipynb"
        grading.write_notebook(solution, path)
        return check_preflight(self.assignment, self.grade(PREFLIGHT, path))


#: the student name of the preflight's result
PREFLIGHT = "(instructor's solution)"


def check_preflight(assignment: str, result: dict[str, Any], where: str = "") -> dict[str, Any]:
    """``result`` (the instructor's solution through the grader) when it has full marks.

    Raises:
        PreflightError: it has not (the message says why, and what to check).
    """
    if result["score"] != result["max_score"]:
        reasons = "; ".join(f"{gid}: {msg[:200]}" for gid, msg in result["messages"].items())
        raise PreflightError(
            f"the instructor's solution of {assignment} scores {result['score']:g}/{result['max_score']:g} "
            f"through the grader{where} ({result['status']}: {result['detail'] or reasons or 'no reason given'}). "
            "Nothing was recorded. Check that the kernel can start (bubblewrap, or --sandbox none), that "
            "`python -c 'import course_utils; print(course_utils.__file__)'` is this course's copy, and that "
            "the solution passes its own tests (make test).")
    return result


def _local(grader: Grader, students: Sequence[str], jobs: int, preflight: bool) -> Iterator[dict[str, Any]]:
    """The results of ``students`` graded on this machine by ``jobs`` checker processes, as they finish."""
    if preflight:
        grader.preflight()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(grader.grade, s) for s in students]
        for future in as_completed(futures):
            yield future.result()


def autograde(course: Path, assignment: str, jobs: int = 1, timeout: int = 60, wall_limit: float = 600,
              sandbox: str = "none", memory: int = 0, students: Sequence[str] | None = None,
              preflight: bool = True, progress: Callable[[dict[str, Any]], None] | None = None,
              max_mb: float = collect.MAX_NOTEBOOK_MB, limits: dict[str, Any] | None = None,
              force: bool = False, scheduler: str | None = None,
              status: Callable[[str], None] | None = None, throwaway_cluster: bool = False) -> list[dict[str, Any]]:
    """Grade every collected submission of ``assignment``, ``jobs`` at a time on this machine, or on the Dask
    cluster whose scheduler is at ``scheduler`` (:mod:`.cluster`); record each result in the gradebook and
    the results file as soon as it is known (from this process only). A student whose recorded result has
    the same receipt key (their submission's and the assignment source's SHA-256, :mod:`.receipt`) is
    skipped unless ``force``: a rerun resumes an interrupted one.

    Args:
        status: called with a line about the cluster (its workers, its retry setting) when there is one.
        throwaway_cluster: allows ``sandbox="none"`` with a ``scheduler`` (refused otherwise: a student's
            code would reach the cluster); only for a cluster discarded after the run, as in the tests.

    Returns:
        one result per student (see :meth:`Grader.grade`; skipped ones are the recorded result with
        ``"skipped": True``), sorted by student.

    Raises:
        PreflightError: the instructor's solution fails through the grader (nothing is recorded).
        RuntimeError: ``sandbox="none"`` with a ``scheduler`` and not ``throwaway_cluster``.
    """
    from course_utils.grader import receipt

    if scheduler is not None and sandbox == "none" and not throwaway_cluster:
        from course_utils.grader.cluster import UNSANDBOXED_CLUSTER

        raise RuntimeError(f"--sandbox none with --scheduler: {UNSANDBOXED_CLUSTER}")
    record.ensure_in_gradebook(course, assignment)
    chosen = list(students) if students else record.collected_students(course, assignment)
    env, source = receipt.environment(course), receipt.source_hash(course, assignment)
    # what a score depends on besides the submission and the tests (on a cluster the sandbox is bubblewrap
    # unless it is "none": :func:`.cluster.grade`)
    mode = sandbox if scheduler is None or sandbox == "none" else "bwrap"
    settings = receipt.settings_hash({"timeout": timeout, "wall_limit": wall_limit, "sandbox": mode,
                                      "memory": memory, "max_mb": max_mb, "limits": limits})
    receipts = {s: receipt.make(course, assignment, s, env, source, settings) for s in chosen}
    previous = record.recorded(course, assignment)
    results: list[dict[str, Any]] = []
    todo = []
    for student in chosen:
        if not force and receipt.already_graded(previous.get(student), receipts[student]):
            results.append(dict(previous[student], skipped=True))
            if progress:
                progress(results[-1])
        else:
            todo.append(student)
    if not todo:
        results.sort(key=lambda r: r["student"])
        return results
    with tempfile.TemporaryDirectory(prefix="cg") as tmp:
        grader = Grader(course, assignment, Path(tmp), timeout, wall_limit, sandbox, memory, max_mb, limits)
        try:
            if scheduler is None:
                graded = _local(grader, todo, jobs, preflight)
            else:
                from course_utils.grader import cluster

                graded = cluster.grade(grader, todo, scheduler, preflight, status)
            with contextlib.closing(graded):
                for result in graded:
                    # the environment the score came from: a worker's own, on a cluster
                    where = result.pop("environment", {})
                    result["receipt"] = receipts[result["student"]] | {k: where[k] for k in receipt.ENV_FIELDS
                                                                       if k in where}
                    try:
                        record.save(course, assignment, result)
                    except Exception as err:  # noqa: BLE001 - one student's record never stops the class
                        result.update(status="crashed", detail=f"could not be recorded: {type(err).__name__}: "
                                                               f"{str(err)[:200]}")
                        print(f"course-grade: {result['student']}: {result['detail']}", file=sys.stderr)
                    graded_path = result.pop("graded_notebook", None)
                    if graded_path:
                        shutil.rmtree(Path(graded_path).parent, ignore_errors=True)  # the submission's work folder
                    results.append(result)
                    if progress:
                        progress(result)
        finally:
            grader.close()
    results.sort(key=lambda r: r["student"])
    return results
