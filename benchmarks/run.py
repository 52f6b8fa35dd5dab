"""Measure the course against the budgets in README.md (Development) and print a table.

    python benchmarks/run.py            # every lecture and solution notebook
    python benchmarks/run.py --only 01  # notebooks whose name contains "01"

For each notebook: the wall time of a top-to-bottom run in a fresh kernel (budget 60 s on 2 CPU cores),
and for each solution the time `course-grade autograde` takes to grade it as a submission (budget: the
notebook's own run time + 5 s). Also the time of `import course_utils` with PyTorch (budget 2 s) and the
total of all notebooks (budget 8 minutes). Results are printed as a Markdown table and written to
benchmarks/results/latest.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_utils import grading  # noqa: E402

NOTEBOOK_BUDGET_S = 60.0
TOTAL_BUDGET_S = 8 * 60.0
AUTOGRADE_MARGIN_S = 5.0
IMPORT_BUDGET_S = 2.0


def time_import() -> float:
    code = "import time; t = time.perf_counter(); import course_utils, torch; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(3))


def time_notebook(path: Path) -> tuple[float, int]:
    """Wall time of a fresh-kernel run (kernel start included) and the number of cells that errored."""
    nb = grading.read_notebook(path)
    start = time.perf_counter()
    executed = grading.execute(nb, cwd=path.parent, timeout=600)
    elapsed = time.perf_counter() - start
    errors = sum(1 for c in executed.cells if c.cell_type == "code"
                 for o in c.get("outputs", []) if o.output_type == "error")
    return elapsed, errors


def time_autograde(assignment: str) -> tuple[float, float]:
    """Seconds ``course-grade autograde`` takes on the solution handed in as a submission (one job,
    sandboxed where bubblewrap works, the preflight left out), and its score."""
    from course_utils.grader.autograde import autograde
    from course_utils.grader.cli import choose_sandbox
    from course_utils.grader.collect import release as make_release

    with tempfile.TemporaryDirectory() as tmp:
        course = grading.copy_course(ROOT, Path(tmp) / "course")
        make_release(course, [assignment])
        source = grading.read_notebook(ROOT / "solutions" / assignment / f"{assignment}.ipynb")
        release = grading.read_notebook(ROOT / "assignments" / assignment / f"{assignment}.ipynb")
        grading.submit(course, assignment, "bench", {f"{assignment}.ipynb": grading.fill_release(release, source)})
        start = time.perf_counter()
        result = autograde(course, assignment, jobs=1, sandbox=choose_sandbox("auto")[0], preflight=False)[0]
        elapsed = time.perf_counter() - start
    return elapsed, result["score"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="only notebooks whose path contains this text")
    parser.add_argument("--no-autograde", action="store_true", help="skip the autograde timings")
    args = parser.parse_args(argv)

    lectures = sorted((ROOT / "lectures").glob("*.ipynb"))
    solutions = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    paths = [p for p in lectures + solutions if args.only in str(p.relative_to(ROOT))]
    rows, total, ok = [], 0.0, True
    import_s = time_import()
    ok &= import_s <= IMPORT_BUDGET_S
    print(f"machine: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}", flush=True)
    for path in paths:
        rel = str(path.relative_to(ROOT))
        print(f"running {rel} ...", file=sys.stderr, flush=True)
        wall, errors = time_notebook(path)
        total += wall
        row = {"notebook": rel, "wall_s": round(wall, 1), "budget_s": NOTEBOOK_BUDGET_S, "errors": errors}
        within = wall <= NOTEBOOK_BUDGET_S and errors == 0
        if path.parent.name != "lectures" and not args.no_autograde:
            grade_s, score = time_autograde(path.parent.name)
            row.update(autograde_s=round(grade_s, 1), autograde_budget_s=round(wall + AUTOGRADE_MARGIN_S, 1),
                       score=score)
            within &= grade_s <= wall + AUTOGRADE_MARGIN_S and score == 100
        row["ok"] = within
        ok &= within
        rows.append(row)

    print()
    print("| notebook | run (s) | budget (s) | autograde (s) | autograde budget (s) | score | within budget |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['notebook']} | {r['wall_s']} | {r['budget_s']:.0f} | {r.get('autograde_s', '-')} | "
              f"{r.get('autograde_budget_s', '-')} | {r.get('score', '-')} | {'yes' if r['ok'] else 'NO'} |")
    total_ok = "yes" if total <= TOTAL_BUDGET_S else "NO"
    print(f"| all notebooks | {total:.1f} | {TOTAL_BUDGET_S:.0f} | | | | {total_ok} |")
    print(f"| import course_utils + torch | {import_s:.2f} | {IMPORT_BUDGET_S:.0f} | | | | "
          f"{'yes' if import_s <= IMPORT_BUDGET_S else 'NO'} |")
    ok &= total <= TOTAL_BUDGET_S
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"rows": rows, "total_s": total, "import_s": import_s}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
