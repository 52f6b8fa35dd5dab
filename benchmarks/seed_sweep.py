"""Run a lecture's claim cells under other seeds: every claim's `assert` must hold for seeds 0-2.

    python benchmarks/seed_sweep.py lectures/04_lstm.ipynb            # seeds 1 and 2 (0 is the stored run)
    python benchmarks/seed_sweep.py lectures/04_lstm.ipynb --seeds 0 1 2

Every literal seed in the notebook's code is shifted by the same offset s: `set_seed(K)`,
`manual_seed(K)`, `default_rng(K)`, `RandomState(K)` and `seed=K` become K + s. Two places that share a
seed (the same initial weights for a fair comparison) still share it. The shifted notebook runs top to
bottom in a fresh kernel in the lecture's folder; the script prints, for each seed, the wall time and the
first error (a failed claim is an AssertionError), and exits 1 if any seed fails.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_utils import grading  # noqa: E402

_SEED = re.compile(r"(\b(?:set_seed|manual_seed|default_rng|RandomState)\(\s*|\bseed\s*=\s*)(\d+)\b")


def shift_seeds(source: str, offset: int) -> str:
    """``source`` with every literal seed K replaced by K + offset."""
    return _SEED.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + offset}", source)


def run(path: Path, offset: int) -> tuple[float, str | None]:
    nb = grading.read_notebook(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = shift_seeds(cell.source, offset)
            cell.outputs = []
    start = time.perf_counter()
    try:
        executed = grading.execute(nb, cwd=path.parent, timeout=600)
    except Exception as exc:  # nbclient stops at the first error unless told otherwise
        return time.perf_counter() - start, f"{type(exc).__name__}: {str(exc)[-1500:]}"
    elapsed = time.perf_counter() - start
    for i, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                return elapsed, f"code cell {i}: {out.ename}: {out.evalue}"
    return elapsed, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args(argv)
    ok = True
    for path in args.notebooks:
        for s in args.seeds:
            elapsed, error = run(path.resolve(), s)
            ok &= error is None
            print(f"{path.name} seed offset {s}: {elapsed:.1f} s, {'ok' if error is None else 'FAILED ' + error}",
                  flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
