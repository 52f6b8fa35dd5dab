"""Speed of assignment 03's reference convolution against PyTorch's.

Times the instructor solution's ``conv2d_forward`` (im2col and one matrix product) and ``conv2d_naive``
(loops) against ``torch.nn.functional.conv2d`` on x (64, 16, 32, 32), w (32, 16, 3, 3), padding 1, in
float32, and prints each as a multiple of PyTorch's time (best of several interleaved runs). The naive
version is timed on one image and its time multiplied by 64 (it is linear in the batch size).

The functions are taken from the solution notebook itself (the cells with grade ids ``conv_output_size``,
``conv2d_naive``, ``im2col`` and ``conv2d_forward``), so this measures exactly what the course ships.
NumPy's BLAS and PyTorch get the same number of threads (threadpoolctl and ``torch.set_num_threads``): by
default 1, then 2. On a shared machine the one-thread figures are the stable ones; with two threads,
other load on the cores makes PyTorch's time jump.

Run from anywhere:  python benchmarks/conv_speed.py [--repeats 10] [--threads 1 2]
The issue's target: conv2d_forward within 3x of PyTorch on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "03_convolution" / "03_convolution.ipynb"
CELLS = ("conv_output_size", "conv2d_naive", "im2col", "conv2d_forward")


def load_solution() -> dict:
    """Execute the solution cells that define the convolution functions; return their namespace."""
    nb = json.loads(SOLUTION.read_text())
    by_id = {}
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid:
            by_id[gid] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    namespace = {"np": np}
    for gid in CELLS:
        exec(compile(by_id[gid], f"{SOLUTION.name}:{gid}", "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace


def best_time(f, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per method (best is kept)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts to compare at")
    args = parser.parse_args()

    sol = load_solution()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 16, 32, 32)).astype(np.float32)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    xt, wt, bt = map(torch.from_numpy, (x, w, b))

    def run_torch():
        return torch.nn.functional.conv2d(xt, wt, bt, padding=1)

    def run_forward():
        return sol["conv2d_forward"](x, w, b, stride=1, padding=1)[0]

    reference = run_torch().numpy()
    error = np.abs(run_forward() - reference).max()
    naive_error = np.abs(sol["conv2d_naive"](x[:1], w, b, padding=1) - reference[:1]).max()
    assert error < 1e-3 and naive_error < 1e-3, (error, naive_error)

    print(f"x {x.shape}, w {w.shape}, padding 1, float32; best of {args.repeats} interleaved runs")
    print(f"max abs difference to torch: conv2d_forward {error:.1e}, conv2d_naive {naive_error:.1e}")
    t_naive = 64 * best_time(lambda: sol["conv2d_naive"](x[:1], w, b, padding=1), 2)  # no BLAS: threads idle
    print(f"{'threads':>7s} {'method':<36s} {'ms':>10s} {'x torch':>9s}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            t_torch, t_forward = [], []
            for _ in range(args.repeats):   # interleaved, so that a burst of load hits both
                t_torch.append(best_time(run_torch, 1))
                t_forward.append(best_time(run_forward, 1))
        t_torch, t_forward = min(t_torch), min(t_forward)
        for name, seconds in [("torch.nn.functional.conv2d", t_torch),
                              ("conv2d_forward (im2col + matmul)", t_forward),
                              ("conv2d_naive (1 image, x 64)", t_naive)]:
            print(f"{threads:>7d} {name:<36s} {seconds * 1e3:10.1f} {seconds / t_torch:9.1f}")


if __name__ == "__main__":
    main()
