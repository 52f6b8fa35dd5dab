"""``course-grade``: grade a class with nbgrader, one command per step (first slice of issue 8).

Run in a course directory (``--course DIR``, default the current directory)::

    course-grade release [ASSIGNMENT...]        # nbgrader generate_assignment A --force (all of solutions/)
    course-grade collect ASSIGNMENT PATH        # a folder or a .zip of submissions -> submitted/
    course-grade autograde ASSIGNMENT [--jobs N] [--timeout S] [--wall-limit S]
    course-grade export [--csv FILE]            # quoted CSV of the results

Accepted submission names (a student id is ``[A-Za-z0-9_.-]+``):

- folder: ``<student>.ipynb``, or ``<student>/<anything>.ipynb`` (exactly one notebook in that folder);
- zip: ``<student>.ipynb`` or ``<student>_<anything>.ipynb`` anywhere in the archive; the student id is the
  part of the name before the first ``_`` (so ids collected from a zip cannot contain ``_``).

Anything else (other extensions, bad ids, two files for one student) is reported as unmatched and left
out: the tool never guesses.

Autograding: each submission is graded in its own throwaway course copy (``nbgrader_config.py``,
``solutions/ASSIGNMENT``, the release and a fresh gradebook made by ``nbgrader generate_assignment``
there, and only that student's submission), by ``nbgrader autograde`` in a subprocess with a per-cell
timeout (``--timeout``) and a wall-clock limit for the whole submission (``--wall-limit``). Statuses:

- ``graded``: nbgrader finished; the score is read from the copy's gradebook by this (parent) process;
- ``timed out``: the wall-clock limit passed; the process group is killed; score 0;
- ``crashed``: nbgrader failed (a kernel that died, ``os._exit``, ...); score 0;
- ``invalid file``: not JSON, not nbformat 4, empty, or none of the assignment's grade ids; score 0.

Results are written by the parent process only, sequentially, to ``grades/ASSIGNMENT.json``
(this slice does not write grades into the main sqlite gradebook, which is unsafe for concurrent
writers); each graded notebook is copied back to ``autograded/STUDENT/ASSIGNMENT/``.

There is no sandbox yet: student code runs with the instructor's permissions.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
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

STUDENT_ID = re.compile(r"[A-Za-z0-9_.-]+")
ZIP_NAME = re.compile(r"([A-Za-z0-9.-]+)(?:_[^/]*)?\.ipynb")
UNSANDBOXED = "UNSANDBOXED: student code runs with your permissions"
STATUSES = ("graded", "timed out", "crashed", "invalid file")


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

def check_submission(path: Path, grade_ids: set[str]) -> str | None:
    """Why a submitted file cannot be graded, or None when it can.

    Args:
        grade_ids: the assignment's grade ids; a notebook must carry at least one of them.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return f"unreadable: {err}"
    if not text.strip():
        return "empty file"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return f"not JSON: {err}"
    if not isinstance(data, dict) or data.get("nbformat") != 4 or not isinstance(data.get("cells"), list):
        return "not an nbformat 4 notebook"
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in data["cells"] if isinstance(c, dict)}
    if not ids & grade_ids:
        return "none of this assignment's cells (another assignment's notebook?)"
    return None


def assignment_cells(course: Path, assignment: str) -> tuple[set[str], dict[str, float]]:
    """The grade ids of an assignment's source notebook, and the points of its graded cells."""
    source = grading.read_notebook(course / "solutions" / assignment / f"{assignment}.ipynb")
    ids = {grading.nbgrader_meta(c)["grade_id"] for c in source.cells if grading.nbgrader_meta(c).get("grade_id")}
    return ids, grading.max_points(source)


def grade_one(course: Path, assignment: str, student: str, timeout: int, wall_limit: float,
              grade_ids: set[str], points: dict[str, float]) -> dict[str, Any]:
    """Grade one collected submission in a throwaway course copy (see the module docstring).

    Returns:
        {"student", "score", "max_score", "status", "detail", "cells": {grade_id: points}}.
    """
    max_score = float(sum(points.values()))
    result: dict[str, Any] = {"student": student, "score": 0.0, "max_score": max_score, "status": "invalid file",
                              "detail": "", "cells": {gid: 0.0 for gid in points}}
    submitted = course / "submitted" / student / assignment / f"{assignment}.ipynb"
    problem = check_submission(submitted, grade_ids)
    if problem:
        result["detail"] = problem
        return result
    with tempfile.TemporaryDirectory(prefix=f"grade_{student}_") as tmp:
        work = Path(tmp)
        shutil.copy2(course / "nbgrader_config.py", work / "nbgrader_config.py")
        shutil.copytree(course / "solutions" / assignment, work / "solutions" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        try:
            grading.nbgrader(work, "generate_assignment", assignment, "--force")
        except RuntimeError as err:
            raise RuntimeError(f"could not prepare the grading copy for {student}: {err}") from err
        dest = work / "submitted" / student / assignment
        dest.mkdir(parents=True)
        shutil.copyfile(submitted, dest / f"{assignment}.ipynb")
        cmd = grading.nbgrader_command("autograde", assignment, f"--student={student}",
                                       f"--Execute.timeout={timeout}")
        proc = subprocess.Popen(cmd, cwd=work, env=grading.tool_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            log, _ = proc.communicate(timeout=wall_limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            result.update(status="timed out", detail=f"over the wall-clock limit of {wall_limit:g} s")
            return result
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        result["log"] = log[-4000:]
        scores = grading.gradebook_scores(work, assignment, [student]).get(student)
        autograded = work / "autograded" / student / assignment
        if proc.returncode != 0 or scores is None or not autograded.is_dir():
            errors = [ln for ln in log.splitlines() if ("Error" in ln or "died" in ln) and "Please see" not in ln]
            result.update(status="crashed", detail=(errors[-1] if errors else f"exit code {proc.returncode}")[:300])
            return result
        back = course / "autograded" / student / assignment
        shutil.rmtree(back, ignore_errors=True)
        shutil.copytree(autograded, back)
        result.update(status="graded", score=scores["score"], max_score=scores["max_score"],
                      cells={gid: scores["cells"].get(gid, 0.0) for gid in points})
    return result


def results_path(course: Path, assignment: str) -> Path:
    """Where ``autograde`` writes an assignment's results (``grades/ASSIGNMENT.json``: outside nbgrader's
    ``autograded/STUDENT/`` folders, so nbgrader never takes it for a student)."""
    return course / "grades" / f"{assignment}.json"


def autograde(course: Path, assignment: str, jobs: int = 1, timeout: int = 30,
              wall_limit: float = 600) -> list[dict[str, Any]]:
    """Grade every collected submission of ``assignment``, ``jobs`` at a time; write the results file.

    Returns:
        one result per student (see :func:`grade_one`), sorted by student.
    """
    from tqdm import tqdm

    root = course / "submitted"
    students = sorted(p.name for p in root.iterdir() if (p / assignment).is_dir()) if root.is_dir() else []
    grade_ids, points = assignment_cells(course, assignment)
    results: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
            tqdm(total=len(students), desc=f"autograde {assignment}", unit="sub", file=sys.stderr) as bar:
        futures = [pool.submit(grade_one, course, assignment, s, timeout, wall_limit, grade_ids, points)
                   for s in students]
        for future in as_completed(futures):
            results.append(future.result())
            bar.update(1)
    results.sort(key=lambda r: r["student"])
    out = results_path(course, assignment)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"assignment": assignment, "results": results}, indent=1))
    return results


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """A plain-text table: student, score, max, status."""
    rows = [("student", "score", "max", "status")]
    rows += [(r["student"], f"{r['score']:g}", f"{r['max_score']:g}", r["status"]) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


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
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--timeout", type=int, default=60, help="seconds per cell (nbgrader's Execute.timeout)")
    p.add_argument("--wall-limit", type=float, default=600, help="seconds per submission before it is killed")
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
            print(UNSANDBOXED, flush=True)
            results = autograde(course, args.assignment, args.jobs, args.timeout, args.wall_limit)
            print(format_table(results))
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
