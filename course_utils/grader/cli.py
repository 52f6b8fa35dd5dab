"""``course-grade``: grade a class with nbgrader's formats and gradebook, one command per step.

Run in a course directory (``--course DIR``, default the current directory)::

    course-grade release [ASSIGNMENT...]        # nbgrader generate_assignment A --force (all of solutions/)
    course-grade collect ASSIGNMENT PATH [--format folder|canvas|moodle] [--max-notebook-mb MB]
                                                # a folder or a .zip of submissions -> submitted/
    course-grade autograde ASSIGNMENT [--jobs N] [--timeout S] [--wall-limit S] [--memory MB] [--cpus N]
                                      [--pids N] [--disk MB] [--limits auto|cgroup|rlimits]
                                      [--sandbox auto|bwrap|none] [--scheduler ADDRESS] [--student S]
                                      [--force] [--no-preflight]
    course-grade verify ASSIGNMENT STUDENT      # grade one submission again: is its recorded score reproduced?
    course-grade feedback ASSIGNMENT            # nbgrader generate_feedback on sanitised graded notebooks
    course-grade export [--csv FILE]            # quoted CSV of the results

The stages live in their own modules: :mod:`.collect`, :mod:`.autograde` (with :mod:`.cluster` for Dask, :mod:`.worker`,
:mod:`.check`, :mod:`.proxy`, :mod:`.runner`, :mod:`.sandbox`, :mod:`.agent`, :mod:`.wire`), :mod:`.record`,
:mod:`.feedback` and :mod:`.export`.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course_utils import grading
from course_utils.grader.autograde import PreflightError, autograde
from course_utils.grader.collect import FORMATS, MAX_NOTEBOOK_MB, collect, release
from course_utils.grader.export import export
from course_utils.grader.feedback import feedback
from course_utils.grader.limits import Limits, describe, mechanism
from course_utils.grader.record import collected_students, results_path

UNSANDBOXED = "UNSANDBOXED: student code runs with your permissions"
SANDBOXED = ("sandboxed (bubblewrap): student code cannot read solutions/, the gradebook or other submissions, "
             "cannot write outside its folder, and has no network")


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """A plain-text table: student, score, max, status, detail."""
    rows = [("student", "score", "max", "status", "detail")]
    rows += [(r["student"], f"{r['score']:g}", f"{r['max_score']:g}", r["status"], r.get("detail", "")[:90])
             for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def choose_sandbox(requested: str) -> tuple[str, str]:
    """The sandbox to use ("bwrap" or "none") and a line that says so."""
    from course_utils.grader.sandbox import sandbox_problem

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
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="folder",
                   help="who a file belongs to: folder (<student>.ipynb or <student>/<file>.ipynb, the default), "
                        "canvas or moodle (the LMS's download; see README)")
    p.add_argument("--max-notebook-mb", type=float, default=MAX_NOTEBOOK_MB,
                   help=f"a larger notebook is not collected: invalid file (default {MAX_NOTEBOOK_MB:g})")
    p = sub.add_parser("autograde", help="grade every collected submission")
    p.add_argument("assignment")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once on this machine (default: cores; not used with --scheduler)")
    p.add_argument("--timeout", type=int, default=60, help="seconds per cell (nbgrader's Execute.timeout)")
    p.add_argument("--wall-limit", type=float, default=600, help="seconds per submission before it is killed")
    p.add_argument("--memory", type=int, default=4096,
                   help="memory of a student's kernel with its children, mappings and tmpfs files, MB (0: none)")
    p.add_argument("--cpus", type=float, default=1.0, help="CPUs per kernel (cgroups only; 0: not limited)")
    p.add_argument("--pids", type=int, default=256, help="processes and threads per kernel (0: not limited)")
    p.add_argument("--disk", type=int, default=512,
                   help="MB of the kernel's /tmp and of its working folder, each (tmpfs in the sandbox)")
    p.add_argument("--limits", choices=("auto", "cgroup", "rlimits"), default="auto",
                   help="auto: a cgroup per kernel where this machine allows it, else per-process rlimits")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                   help="auto: bubblewrap when it works here, else unsandboxed with a warning")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="grade on the Dask cluster of this scheduler (tcp://HOST:8786) instead of --jobs local "
                        "processes; see README, Grading on several machines")
    p.add_argument("--student", action="append", default=None, help="grade only this student (repeatable)")
    p.add_argument("--max-notebook-mb", type=float, default=MAX_NOTEBOOK_MB,
                   help=f"a larger submitted notebook is not read: invalid file (default {MAX_NOTEBOOK_MB:g})")
    p.add_argument("--force", action="store_true",
                   help="grade again students whose submission and tests are unchanged since they were graded")
    p.add_argument("--no-preflight", dest="preflight", action="store_false",
                   help="skip grading the instructor's solution first (it must score full marks)")
    p = sub.add_parser("verify", help="grade one submission again and say whether its recorded score is reproduced")
    p.add_argument("assignment")
    p.add_argument("student")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto")
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
            students, unmatched = collect(course, args.assignment, args.path, args.fmt, args.max_notebook_mb)
            print(f"collected {len(students)} submission(s): {' '.join(students)}")
            for name in unmatched:
                print(f"unmatched: {name}")
        elif args.command == "autograde":
            if not (course / "solutions" / args.assignment).is_dir():
                raise RuntimeError(f"no assignment {args.assignment!r} in {course / 'solutions'}")
            per_kernel = Limits(memory_mb=args.memory, cpus=args.cpus, pids=args.pids, disk_mb=args.disk)
            limits = {"per_kernel": dataclasses.asdict(per_kernel), "mode": args.limits}
            if args.scheduler:  # each worker sandboxes with bubblewrap and says so, with its limits, below
                mode = args.sandbox  # ("none" is refused by autograde)
            else:
                mode, line = choose_sandbox(args.sandbox)
                print(line, flush=True)
                print(describe(per_kernel, mechanism(args.limits), mode == "bwrap"), flush=True)
            from tqdm import tqdm

            students = args.student or collected_students(course, args.assignment)
            with tqdm(total=len(students), desc=f"autograde {args.assignment}", unit="sub", file=sys.stderr) as bar:
                results = autograde(course, args.assignment, args.jobs, args.timeout, args.wall_limit, mode,
                                    args.memory, args.student, args.preflight,
                                    progress=lambda result: bar.update(1), max_mb=args.max_notebook_mb,
                                    limits=limits, force=args.force, scheduler=args.scheduler,
                                    status=lambda line: bar.write(line, file=sys.stdout))
            print(format_table(results))
            skipped = sum(1 for r in results if r.get("skipped"))
            if skipped:
                print(f"{skipped} of them already graded with the same submission and tests: not graded again "
                      "(--force grades them again)")
            print(f"results: {results_path(course, args.assignment)}; scores are in the gradebook")
        elif args.command == "verify":
            from course_utils.grader.verify import verify

            mode, line = choose_sandbox(args.sandbox)
            print(line, flush=True)
            reproduced, report = verify(course, args.assignment, args.student, mode)
            print(report)
            return 0 if reproduced else 1
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
    except PreflightError as err:
        print(f"course-grade: stopped before grading anyone: {err}", file=sys.stderr)
        return 3
    except (RuntimeError, OSError, KeyError) as err:
        print(f"course-grade: {err}", file=sys.stderr)
        return 1
    return 0




if __name__ == "__main__":
    sys.exit(main())
