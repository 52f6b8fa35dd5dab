"""Throughput of ``course-grade autograde``: submissions per minute with ``--jobs 1`` and ``--jobs 2``.

    python benchmarks/grading_throughput.py                         # 40 submissions of every assignment
    python benchmarks/grading_throughput.py --only 01 --count 40    # topic 01 only
    python benchmarks/grading_throughput.py --jobs 1 2 4 --sandbox none
    python benchmarks/grading_throughput.py --only 01 --jobs 2 --dask 2      # local pool against Dask

For each assignment, a class of ``--count`` generated submissions is collected into a fresh copy of the
course and graded by the command an instructor runs (``course-grade autograde A --jobs J``), once per
``--jobs`` value, and once per ``--dask`` value on a Dask ``LocalCluster`` of that many worker processes (one
thread each, over TCP on 127.0.0.1, started before the clock starts, as an instructor's cluster would be
running already): ``course-grade autograde A --scheduler ADDRESS``. For a Dask run the table adds the
overhead per submission: the time from the client's submit to its result, less the worker's own time in the
task (scheduling, shipping the submission and the graded notebook back), in milliseconds.

The class: four in five students hand in the solution (100 points), one in five the
blank release (0 points); each result is checked, so a fast but wrong run cannot pass. Prints a Markdown
table and writes benchmarks/results/grading_throughput.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_utils import grading  # noqa: E402


def make_class(course: Path, assignment: str, count: int) -> dict[str, float]:
    """Submit ``count`` students; returns the score each must get."""
    source = grading.read_notebook(course / "solutions" / assignment / f"{assignment}.ipynb")
    release = grading.read_notebook(course / "assignments" / assignment / f"{assignment}.ipynb")
    honest = grading.fill_release(release, source)
    expected = {}
    for i in range(count):
        student = f"s{i:03d}"
        blank = i % 5 == 4
        grading.submit(course, assignment, student, {f"{assignment}.ipynb": release if blank else honest})
        expected[student] = 0.0 if blank else 100.0
    return expected


def run(assignment: str, count: int, jobs: int, sandbox: str, timeout: int, scheduler: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        course = grading.copy_course(ROOT, Path(tmp) / "course")
        expected = make_class(course, assignment, count)
        cmd = [sys.executable, "-m", "course_utils.grading", "--course", str(course), "autograde", assignment,
               "--jobs", str(jobs), "--sandbox", sandbox, "--timeout", str(timeout)]
        if scheduler:
            cmd += ["--scheduler", scheduler]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=grading.tool_env())
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"course-grade failed:\n{proc.stderr[-3000:]}")
        results = json.loads((course / "grades" / f"{assignment}.json").read_text())["results"]
        got = {r["student"]: r["score"] for r in results}
        wrong = {s: (got.get(s), want) for s, want in expected.items() if got.get(s) != want}
        sandboxed = "sandboxed (bubblewrap)" in proc.stdout
        overheads = [r["dask_ms"] for r in results if "dask_ms" in r]
    return {"assignment": assignment, "submissions": count, "jobs": jobs, "seconds": round(elapsed, 1),
            "per_minute": round(count / elapsed * 60, 1), "sandboxed": sandboxed, "wrong_scores": wrong,
            "engine": "dask" if scheduler else "local",
            "overhead_ms": round(statistics.median(overheads), 1) if overheads else None,
            "overhead_ms_max": round(max(overheads), 1) if overheads else None}


def run_dask(assignment: str, count: int, workers: int, sandbox: str, timeout: int) -> dict:
    """``run`` on a fresh LocalCluster of ``workers`` worker processes with one thread each."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        return run(assignment, count, workers, sandbox, timeout, cluster.scheduler_address)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="assignments whose id contains this text")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, nargs="*", default=[1, 2], help="local --jobs values (none: --jobs)")
    parser.add_argument("--dask", type=int, nargs="*", default=[2],
                        help="Dask LocalCluster sizes (worker processes) to run as well (none: --dask)")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto")
    parser.add_argument("--timeout", type=int, default=60)
    args = parser.parse_args()
    assignments = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and args.only in p.name)
    rows = []
    print(f"{os.cpu_count()} cores; {args.count} submissions per assignment", flush=True)
    print("| assignment | submissions | engine | jobs / workers | sandboxed | seconds | submissions / minute | "
          "speed-up | overhead per submission, ms (median, max) | scores |")
    print("|---|---:|---|---:|---|---:|---:|---:|---:|---|")
    for assignment in assignments:
        base = None
        # (a cluster is never graded unsandboxed: course-grade refuses --sandbox none with --scheduler)
        runs = [("local", j) for j in args.jobs] + [("dask", w) for w in args.dask if args.sandbox != "none"]
        for engine, jobs in runs:
            if engine == "local":
                row = run(assignment, args.count, jobs, args.sandbox, args.timeout)
            else:
                row = run_dask(assignment, args.count, jobs, args.sandbox, args.timeout)
            base = base or row["per_minute"]
            row["speedup"] = round(row["per_minute"] / base, 2)
            rows.append(row)
            scores = "all as expected" if not row["wrong_scores"] else f"WRONG: {row['wrong_scores']}"
            overhead = f"{row['overhead_ms']}, {row['overhead_ms_max']}" if row["overhead_ms"] is not None else ""
            print(f"| {assignment} | {row['submissions']} | {engine} | {jobs} | "
                  f"{'yes' if row['sandboxed'] else 'no'} | {row['seconds']} | {row['per_minute']} | "
                  f"{row['speedup']} | {overhead} | {scores} |", flush=True)
    out = ROOT / "benchmarks" / "results" / "grading_throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cores": os.cpu_count(), "rows": rows}, indent=1))
    if any(r["wrong_scores"] for r in rows):
        raise SystemExit("some submissions did not get the score they should")


if __name__ == "__main__":
    main()
