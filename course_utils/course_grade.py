"""``course-grade``: grade a class with nbgrader, one command per step (issue 8).

Run in a course directory (``--course DIR``, default the current directory)::

    course-grade release [ASSIGNMENT...]        # nbgrader generate_assignment A --force (all of solutions/)
    course-grade collect ASSIGNMENT PATH        # a folder or a .zip of submissions -> submitted/
    course-grade autograde ASSIGNMENT [--jobs N] [--timeout S] [--wall-limit S] [--memory MB]
                                      [--sandbox auto|bwrap|none] [--shard K/N] [--student S]
    course-grade feedback ASSIGNMENT            # nbgrader generate_feedback (hidden tests removed)
    course-grade export [--csv FILE]            # quoted CSV of the results

Accepted submission names (a student id is ``[A-Za-z0-9_.-]+``):

- folder: ``<student>.ipynb``, or ``<student>/<anything>.ipynb`` (exactly one notebook in that folder);
- zip: ``<student>.ipynb`` or ``<student>_<anything>.ipynb`` anywhere in the archive; the student id is the
  part of the name before the first ``_`` (so ids collected from a zip cannot contain ``_``).

Anything else (other extensions, bad ids, two files for one student) is reported as unmatched and left
out: the tool never guesses.

Autograding (README, "Grading a class"): a template is made once per run (the source with a guard
cell before each test and a token printed by each, ``submission.harden``; its release and gradebook, by
``nbgrader generate_assignment``). Each submission is rebuilt on that release
(``submission.canonical_submission``) and graded by ``nbgrader autograde`` (through its API, in a
long-lived worker, :mod:`course_utils.grade_worker`) in its own copy of the template, its kernel in the
sandbox (:mod:`course_utils.sandbox`). Statuses:

- ``graded``: the tests ran; each scores nbgrader's points if its guard and itself printed their tokens;
- ``crashed``: the kernel died (the cell that killed it scores 0, the rest is graded in a new kernel), or
  nbgrader failed (0);
- ``timed out``: over the wall-clock limit; the worker and its kernel are killed; 0;
- ``invalid file``: empty, not JSON, not a notebook, or none of the assignment's cells; 0.

Scores are written by this process only, one submission at a time, into the course's gradebook
(nbgrader's API) and ``grades/ASSIGNMENT.json``; graded notebooks, without guards and tokens, go to
``autograded/STUDENT/ASSIGNMENT/``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from course_utils import grading
from course_utils.submission import (
    assignment_cells,
    canonical_submission,
    harden,
    kernel_deaths,
    load_submission,
    trusted_scores,
    unharden,
)

STUDENT_ID = re.compile(r"[A-Za-z0-9_.-]+")
ZIP_NAME = re.compile(r"([A-Za-z0-9.-]+)(?:_[^/]*)?\.ipynb")
UNSANDBOXED = "UNSANDBOXED: student code runs with your permissions"
SANDBOXED = ("sandboxed (bubblewrap): student code cannot read solutions/, the gradebook or other submissions, "
             "cannot write outside its folder, and has no network")


# ---------------------------------------------------------------- release

def release(course: Path, assignments: Sequence[str] = ()) -> list[str]:
    """Regenerate the release of each assignment (all of ``solutions/`` when none is given).

    Returns:
        the assignment ids released.
    """
    names = list(assignments) or sorted(p.name for p in (course / "solutions").iterdir() if p.is_dir()
                                        and not p.name.startswith("."))
    for name in names:
        grading.nbgrader(course, "generate_assignment", name, "--force")
    return names


# ---------------------------------------------------------------- collect

def match_folder(path: Path) -> tuple[dict[str, Path], list[str]]:
    """Match a folder's files to students: ``<student>.ipynb`` or ``<student>/<one notebook>.ipynb``.

    Returns:
        (student -> file, names of the entries that could not be matched).
    """
    found: dict[str, list[Path]] = {}
    unmatched: list[str] = []
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb" and STUDENT_ID.fullmatch(entry.stem):
            found.setdefault(entry.stem, []).append(entry)
        elif entry.is_dir() and STUDENT_ID.fullmatch(entry.name):
            notebooks = sorted(p for p in entry.iterdir() if p.is_file() and p.suffix == ".ipynb")
            if len(notebooks) == 1:
                found.setdefault(entry.name, []).append(notebooks[0])
            else:
                unmatched.append(f"{entry.name}/ ({len(notebooks)} notebooks)")
        else:
            unmatched.append(entry.name)
    matched = {}
    for student, files in found.items():
        if len(files) == 1:
            matched[student] = files[0]
        else:
            unmatched.extend(f"{f.relative_to(path)} (several files for {student})" for f in files)
    return matched, unmatched


def match_zip(path: Path, dest: Path) -> tuple[dict[str, Path], list[str]]:
    """Extract a zip's notebooks named ``<student>.ipynb`` or ``<student>_<anything>.ipynb`` into ``dest``.

    Returns:
        (student -> extracted file, names of the members that could not be matched).
    """
    found: dict[str, list[zipfile.ZipInfo]] = {}
    unmatched: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir() or info.filename.startswith("__MACOSX/"):
                continue
            match = ZIP_NAME.fullmatch(Path(info.filename).name)
            if match:
                found.setdefault(match.group(1), []).append(info)
            else:
                unmatched.append(info.filename)
        matched = {}
        for student, infos in found.items():
            if len(infos) != 1:
                unmatched.extend(f"{i.filename} (several files for {student})" for i in infos)
                continue
            target = dest / f"{student}.ipynb"
            target.write_bytes(zf.read(infos[0]))
            matched[student] = target
    return matched, unmatched


def collect(course: Path, assignment: str, source: Path) -> tuple[list[str], list[str]]:
    """Copy submissions from a folder or a zip into ``submitted/STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb`` and
    add their students to the gradebook.

    Returns:
        (students collected, entries that could not be matched).
    """
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory() as tmp:
        if source.is_dir():
            matched, unmatched = match_folder(source)
        elif zipfile.is_zipfile(source):
            matched, unmatched = match_zip(source, Path(tmp))
        else:
            raise SystemExit(f"course-grade: {source} is neither a folder nor a zip file")
        for student, file in matched.items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, folder / f"{assignment}.ipynb")
    with Gradebook(grading.gradebook_url(course)) as gb:
        for student in sorted(matched):
            gb.update_or_create_student(student)
    return sorted(matched), unmatched


# ---------------------------------------------------------------- autograde

class Grader:
    """Grades the submissions of one assignment: a template (the hardened source, its release and its
    gradebook, made once by ``nbgrader generate_assignment``) copied for each submission.

    Args:
        sandbox: "bwrap" or "none" (see :mod:`course_utils.sandbox`).
        memory: the kernel's memory cap in MB (0: none).
    """

    def __init__(self, course: Path, assignment: str, root: Path, timeout: int = 60, wall_limit: float = 600,
                 sandbox: str = "none", memory: int = 0) -> None:
        from course_utils.sandbox import nbgrader_config_lines

        self.course, self.assignment, self.root = course, assignment, root
        self.timeout, self.wall_limit, self.sandbox, self.memory = timeout, wall_limit, sandbox, memory
        self.grade_ids, self.points = assignment_cells(course, assignment)
        self.template = root / "template"
        (self.template / "solutions").mkdir(parents=True)
        config = (course / "nbgrader_config.py").read_text() + nbgrader_config_lines()
        config += ("import os as _os\nc.CourseDirectory.db_url = 'sqlite:///' + _os.path.join("
                   "_os.path.dirname(_os.path.abspath(__file__)), 'gradebook.db')  # this copy's own gradebook\n")
        (self.template / "nbgrader_config.py").write_text(config)
        shutil.copytree(course / "solutions" / assignment, self.template / "solutions" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.ipynb"))
        source = grading.read_notebook(course / "solutions" / assignment / f"{assignment}.ipynb")
        hardened, self.tokens = harden(source)
        grading.write_notebook(hardened, self.template / "solutions" / assignment / f"{assignment}.ipynb")
        try:
            grading.nbgrader(self.template, "generate_assignment", assignment, "--force")
        except RuntimeError as err:
            raise RuntimeError(f"could not prepare the grading template of {assignment}: {err}") from err
        self.release = grading.read_notebook(self.template / "assignments" / assignment / f"{assignment}.ipynb")
        self._idle: queue.Queue[subprocess.Popen] = queue.Queue()
        self._workers: list[subprocess.Popen] = []

    def _run(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Send one request to an idle worker (:mod:`course_utils.grade_worker`, started when none is idle).

        Returns:
            its reply, or None when the wall-clock limit passed (that worker, its kernel with it, is killed).
        """
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            worker = subprocess.Popen([sys.executable, "-m", "course_utils.grade_worker"], env=grading.tool_env(),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True, start_new_session=True)
            self._workers.append(worker)
        assert worker.stdin is not None and worker.stdout is not None
        try:
            worker.stdin.write(json.dumps(request) + "\n")
            worker.stdin.flush()
            ready, _, _ = select.select([worker.stdout], [], [], self.wall_limit)
            line = worker.stdout.readline() if ready else ""
        except (BrokenPipeError, OSError):
            line, ready = "", [True]
        if not line:  # over the limit, or the worker died
            self._kill(worker)
            return None if not ready else {"success": False, "log": "the grading worker stopped"}
        self._idle.put(worker)
        return json.loads(line)

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

    def grade(self, student: str) -> dict[str, Any]:
        """Grade one collected submission (see the module docstring).

        Returns:
            {"student", "score", "max_score", "status", "detail", "cells": {grade_id: points}, ...}.
        """
        from course_utils import sandbox

        a = self.assignment
        result: dict[str, Any] = {"student": student, "score": 0.0, "max_score": float(sum(self.points.values())),
                                  "status": "invalid file", "detail": "", "cells": {gid: 0.0 for gid in self.points}}
        submitted = self.course / "submitted" / student / a / f"{a}.ipynb"
        nb, problem = load_submission(submitted, self.grade_ids)
        if problem:
            result["detail"] = problem
            return result
        work = Path(tempfile.mkdtemp(prefix="w", dir=self.root))
        try:
            shutil.copytree(self.template / "solutions", work / "solutions")
            shutil.copy2(self.template / "nbgrader_config.py", work / "nbgrader_config.py")
            shutil.copy2(self.template / "gradebook.db", work / "gradebook.db")
            grading.write_notebook(canonical_submission(self.release, nb),
                                   work / "submitted" / student / a / f"{a}.ipynb")
            sockets = work / "s"
            sockets.mkdir()
            env = {sandbox.ENV_SANDBOX: self.sandbox, sandbox.ENV_SOCKETS: str(sockets),
                   sandbox.ENV_MEMORY: str(self.memory)}
            request = {"course": str(work), "assignment": a, "student": student, "timeout": self.timeout, "env": env}
            reply = self._run(request)
            if reply is None:
                result.update(status="timed out", detail=f"over the wall-clock limit of {self.wall_limit:g} s")
                return result
            log = reply["log"]
            result["log"] = log[-4000:]
            graded_path = work / "autograded" / student / a / f"{a}.ipynb"
            scores = grading.gradebook_scores(work, a, [student]).get(student)
            if not reply["success"] or scores is None or not graded_path.is_file():
                errors = [ln for ln in log.splitlines() if ("Error" in ln or "died" in ln) and "Please see" not in ln]
                result.update(status="crashed", detail=(errors[-1] if errors else "nbgrader failed")[:300])
                return result
            graded = grading.read_notebook(graded_path)
            cells, voided = trusted_scores(graded, self.tokens, scores["cells"], self.points)
            deaths = kernel_deaths(graded)
            notes = []
            if deaths:
                notes.append(f"the kernel died in {', '.join(deaths)} and was restarted")
            if voided:
                notes.append(f"tests that did not run to their end: {', '.join(voided)} (0 points)")
            back = self.course / "autograded" / student / a
            shutil.rmtree(back, ignore_errors=True)
            grading.write_notebook(unharden(graded, self.tokens), back / f"{a}.ipynb")
            result.update(status="crashed" if deaths else "graded", score=float(sum(cells.values())), cells=cells,
                          detail="; ".join(notes), voided=voided)
            return result
        finally:
            shutil.rmtree(work, ignore_errors=True)


def record(course: Path, assignment: str, results: Sequence[dict[str, Any]]) -> None:
    """Write results into the course's gradebook with nbgrader's API, from this process only: each graded
    cell's ``auto_score`` (0 for a submission that timed out or could not be read)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(grading.gradebook_url(course), grading.course_id(course)) as gb:
        for r in results:
            gb.update_or_create_student(r["student"])
            try:
                submission = gb.find_submission(assignment, r["student"])
            except MissingEntry:
                submission = gb.add_submission(assignment, r["student"])
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name in r["cells"]:
                        grade.auto_score = float(r["cells"][grade.name])
                        grade.needs_manual_grade = False
            gb.db.commit()


def ensure_in_gradebook(course: Path, assignment: str) -> None:
    """Release the assignment when the course's gradebook does not know it yet (nbgrader needs its cells)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(grading.gradebook_url(course), grading.course_id(course)) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    release(course, [assignment])


def results_path(course: Path, assignment: str, shard: tuple[int, int] | None = None) -> Path:
    """Where ``autograde`` writes an assignment's results (``grades/ASSIGNMENT.json``, one file per shard when
    grading is split over machines: outside nbgrader's ``autograded/STUDENT/`` folders)."""
    suffix = f".shard-{shard[0]}-of-{shard[1]}" if shard and shard[1] > 1 else ""
    return course / "grades" / f"{assignment}{suffix}.json"


def collected_students(course: Path, assignment: str, shard: tuple[int, int] | None = None) -> list[str]:
    """The students with a collected submission of ``assignment`` (those of one shard when given: shard
    ``k`` of ``n`` takes every n-th student, starting from the k-th)."""
    root = course / "submitted"
    students = sorted(p.name for p in root.iterdir() if (p / assignment).is_dir()) if root.is_dir() else []
    if shard:
        k, n = shard
        students = students[k - 1::n]
    return students


def autograde(course: Path, assignment: str, jobs: int = 1, timeout: int = 60, wall_limit: float = 600,
              sandbox: str = "none", memory: int = 0, shard: tuple[int, int] | None = None,
              students: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Grade every collected submission of ``assignment``, ``jobs`` at a time, record the scores in the
    gradebook (from this process only, one at a time) and in the results file.

    Returns:
        one result per student (see :meth:`Grader.grade`), sorted by student.
    """
    from tqdm import tqdm

    ensure_in_gradebook(course, assignment)
    chosen = list(students) if students else collected_students(course, assignment, shard)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cg") as tmp:  # short: Unix socket paths are limited to 107 bytes
        grader = Grader(course, assignment, Path(tmp), timeout, wall_limit, sandbox, memory)
        try:
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
                    tqdm(total=len(chosen), desc=f"autograde {assignment}", unit="sub", file=sys.stderr) as bar:
                futures = [pool.submit(grader.grade, s) for s in chosen]
                for future in as_completed(futures):
                    result = future.result()
                    record(course, assignment, [result])
                    results.append(result)
                    bar.update(1)
        finally:
            grader.close()
    results.sort(key=lambda r: r["student"])
    out = results_path(course, assignment, shard)
    previous = json.loads(out.read_text())["results"] if out.exists() else []
    merged = {r["student"]: r for r in previous} | {r["student"]: r for r in results}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"assignment": assignment, "results": [merged[s] for s in sorted(merged)]}, indent=1))
    return results


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """A plain-text table: student, score, max, status, detail."""
    rows = [("student", "score", "max", "status", "detail")]
    rows += [(r["student"], f"{r['score']:g}", f"{r['max_score']:g}", r["status"], r.get("detail", "")[:90])
             for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


# ---------------------------------------------------------------- feedback

def feedback(course: Path, assignment: str) -> list[Path]:
    """Per-student HTML feedback with nbgrader's ``generate_feedback`` (hidden tests removed, as configured
    in nbgrader_config.py), for every autograded submission.

    Returns:
        the feedback files written.
    """
    if not any((course / "autograded").glob(f"*/{assignment}")):
        raise RuntimeError(f"nothing autograded for {assignment} yet: run `course-grade autograde {assignment}`")
    grading.nbgrader(course, "generate_feedback", assignment, "--force")
    return sorted((course / "feedback").glob(f"*/{assignment}/*.html"))


# ---------------------------------------------------------------- export

def export_rows(course: Path) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of the export, from every ``grades/*.json``."""
    records, grade_ids = [], []
    for path in sorted((course / "grades").glob("*.json")):
        data = json.loads(path.read_text())
        for r in data["results"]:
            records.append((data["assignment"], r))
            grade_ids.extend(g for g in r["cells"] if g not in grade_ids)
    header = ["student", "assignment", "score", "max_score", "status", *grade_ids]
    rows = [[r["student"], assignment, r["score"], r["max_score"], r["status"],
             *(r["cells"].get(g, "") for g in grade_ids)] for assignment, r in records]
    return header, rows


def export(course: Path, out: Any) -> int:
    """Write the export as CSV (every field quoted) to a text stream; returns the number of rows."""
    header, rows = export_rows(course)
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return len(rows)


# ---------------------------------------------------------------- command line

def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` -> (K, N), 1 <= K <= N."""
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def choose_sandbox(requested: str) -> tuple[str, str]:
    """The sandbox to use ("bwrap" or "none") and a line that says so."""
    from course_utils.sandbox import sandbox_problem

    if requested == "none":
        return "none", UNSANDBOXED + " (--sandbox none)"
    problem = sandbox_problem()
    if problem is None:
        return "bwrap", SANDBOXED
    if requested == "bwrap":
        raise RuntimeError(f"--sandbox bwrap: {problem}")
    return "none", f"{UNSANDBOXED} ({problem}; on Debian or Ubuntu: apt-get install bubblewrap)"


def build_parser() -> argparse.ArgumentParser:
    """The ``course-grade`` argument parser."""
    parser = argparse.ArgumentParser(prog="course-grade", description=__doc__.split("\n")[0])
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course directory (default: cwd)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="regenerate assignments/ from solutions/")
    p.add_argument("assignments", nargs="*")
    p = sub.add_parser("collect", help="import submissions from a folder or a zip")
    p.add_argument("assignment")
    p.add_argument("path", type=Path)
    p = sub.add_parser("autograde", help="grade every collected submission")
    p.add_argument("assignment")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    p.add_argument("--timeout", type=int, default=60, help="seconds per cell (nbgrader's Execute.timeout)")
    p.add_argument("--wall-limit", type=float, default=600, help="seconds per submission before it is killed")
    p.add_argument("--memory", type=int, default=4096, help="memory cap of a student's kernel in MB (0: none)")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                   help="auto: bubblewrap when it works here, else unsandboxed with a warning")
    p.add_argument("--shard", type=parse_shard, default=None, metavar="K/N",
                   help="grade only every N-th student starting from the K-th (several machines, one gradebook)")
    p.add_argument("--student", action="append", default=None, help="grade only this student (repeatable)")
    p = sub.add_parser("feedback", help="write HTML feedback for every autograded submission")
    p.add_argument("assignment")
    p = sub.add_parser("export", help="write the results as CSV")
    p.add_argument("--csv", type=Path, default=None, help="output file (default: stdout)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``course-grade``; returns the exit code (0 unless the tool itself fails)."""
    args = build_parser().parse_args(argv)
    course: Path = args.course.resolve()
    if not (course / "nbgrader_config.py").exists():
        print(f"course-grade: {course} has no nbgrader_config.py (use --course)", file=sys.stderr)
        return 2
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        print("course-grade needs nbgrader: pip install 'course_utils[instructor]'", file=sys.stderr)
        return 2
    os.environ["PATH"] = grading.tool_env()["PATH"]
    try:
        if args.command == "release":
            for name in release(course, args.assignments):
                print(f"released {name}")
        elif args.command == "collect":
            students, unmatched = collect(course, args.assignment, args.path)
            print(f"collected {len(students)} submission(s): {' '.join(students)}")
            for name in unmatched:
                print(f"unmatched: {name}")
        elif args.command == "autograde":
            if not (course / "solutions" / args.assignment).is_dir():
                raise RuntimeError(f"no assignment {args.assignment!r} in {course / 'solutions'}")
            mode, line = choose_sandbox(args.sandbox)
            print(line, flush=True)
            results = autograde(course, args.assignment, args.jobs, args.timeout, args.wall_limit, mode,
                                args.memory, args.shard, args.student)
            print(format_table(results))
            print(f"results: {results_path(course, args.assignment, args.shard)}; scores are in the gradebook")
        elif args.command == "feedback":
            files = feedback(course, args.assignment)
            for path in files:
                print(path.relative_to(course))
            print(f"wrote {len(files)} feedback file(s)")
        elif args.command == "export":
            if args.csv is None:
                export(course, sys.stdout)
            else:
                with open(args.csv, "w", newline="") as f:
                    n = export(course, f)
                print(f"wrote {n} row(s) to {args.csv}")
    except (RuntimeError, OSError, KeyError) as err:
        print(f"course-grade: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
