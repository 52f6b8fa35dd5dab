"""How much a classmate's grading slows down when a submission burns CPU (issue 18).

    python benchmarks/hostile_load.py [--limits auto|cgroup|rlimits] [--burners 2]

Grades N honest copies of 01's solution alone (two at a time), then again with ``--burners`` copies of
tests/grading_corpus.py's ``cpu_burners`` submission (each starts 4 busy processes for 20 s) graded beside
them, all with ``--jobs`` = classmates + burners. Prints each honest submission's grading time (its
``seconds``) in both runs and the ratio, with the limits in force, and writes
benchmarks/results/hostile_load.json. With a cgroup per kernel (``--cpus 1``) a burner gets one CPU; with
the rlimit fallback the CPU is not limited.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import grading_corpus as corpus  # noqa: E402

from course_utils import grading  # noqa: E402
from course_utils.grader import limits as L  # noqa: E402

A = corpus.A


def run(classmates: int, burners: int, mode: str, cpus: float) -> dict[str, float]:
    """Seconds each honest classmate took (the checker's own measure), and the run's wall time."""
    import time

    from course_utils.grader.autograde import autograde
    from course_utils.grader.collect import release as make_release

    with tempfile.TemporaryDirectory() as tmp:
        course = grading.copy_course(ROOT, Path(tmp) / "course")
        make_release(course, [A])
        source = grading.read_notebook(course / "solutions" / A / f"{A}.ipynb")
        release = grading.read_notebook(course / "assignments" / A / f"{A}.ipynb")
        honest = grading.strip_solution_markers(grading.find_cell(source, "xor_network").source)
        for i in range(classmates):
            grading.submit(course, A, f"classmate{i}", {f"{A}.ipynb": grading.fill_release(release, source)})
        for i in range(burners):
            nb = grading.fill_release(release, source, {"xor_network": corpus.CPU_BURNERS + "\n" + honest})
            grading.submit(course, A, f"burner{i}", {f"{A}.ipynb": nb})
        lim = dict(corpus.LOAD_LIMITS, cpus=cpus)
        start = time.monotonic()
        results = autograde(course, A, jobs=classmates + burners, timeout=120, sandbox="bwrap",
                            memory=lim["memory_mb"], preflight=False, limits={"per_kernel": lim, "mode": mode})
        wall = time.monotonic() - start
    times = {r["student"]: r.get("seconds", float("nan")) for r in results if r["student"].startswith("classmate")}
    assert all(r["score"] == 100.0 for r in results), [(r["student"], r["score"], r["detail"]) for r in results]
    return {"classmates": times, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limits", choices=("auto", "cgroup", "rlimits"), default="auto")
    parser.add_argument("--classmates", type=int, default=2)
    parser.add_argument("--burners", type=int, default=2)
    parser.add_argument("--cpus", type=float, default=1.0)
    args = parser.parse_args()
    mech = L.mechanism(args.limits)
    print(L.describe(L.Limits(**dict(corpus.LOAD_LIMITS, cpus=args.cpus)), mech, True))
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)
    alone = run(args.classmates, 0, args.limits, args.cpus)
    beside = run(args.classmates, args.burners, args.limits, args.cpus)
    a, b = statistics.median(alone["classmates"].values()), statistics.median(beside["classmates"].values())
    print("| run | classmates' grading time (s, median) | wall (s) |\n|---|---:|---:|")
    print(f"| alone | {a:.1f} | {alone['wall']:.1f} |\n| beside {args.burners} CPU burners | {b:.1f} | "
          f"{beside['wall']:.1f} |")
    print(f"slow-down: x{b / a:.2f} ({mech.kind})")
    out = ROOT / "benchmarks" / "results" / "hostile_load.json"
    out.write_text(json.dumps({"mechanism": mech.kind, "cores": os.cpu_count(), "alone": alone, "beside": beside,
                               "slowdown": round(b / a, 2)}, indent=1))


if __name__ == "__main__":
    main()
