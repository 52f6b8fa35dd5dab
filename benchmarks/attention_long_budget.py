"""Longer-budget measurements that lecture 05 quotes (too slow for the lecture's 60 s).

    python benchmarks/attention_long_budget.py            # both parts (a few minutes on one core)
    python benchmarks/attention_long_budget.py --part seq2seq
    python benchmarks/attention_long_budget.py --part lm

The models, data and training loops are the lecture's own: their definitions are read from
lectures/05_attention.ipynb (function and class definitions and a few named data assignments; no training
cell is run), so the numbers here are for exactly the code the lecture shows.

seq2seq: the GRU encoder-decoder without attention (seed 0) trained past the lecture's 1,400 steps, to 4,000;
exact match overall and at lengths 9-12 and the training loss (mean of the last 50 steps), at each budget.
lm: the causal Transformer and the LSTM language models at learning rates 1e-3, 3e-3 and 1e-2, seeds 0-2:
best validation bits/char (checkpoint chosen on the validation text, every 20 steps) and at step 200; the
Transformer with a 1-step warm-up instead of 50 at 3e-3; and, per seed, each model at its own best of the three
rates at step 200 and the difference.

The saved output is benchmarks/results/attention_long_budget.md.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "lectures" / "05_attention.ipynb"
# data and constants the definitions need (assignments kept from the lecture's code cells)
KEEP = {"PAD", "BOS", "EOS", "VOCAB", "L_MAX", "X_train", "Y_train", "X_test", "Y_test", "len_test", "BUDGETS",
        "text", "train_text", "val_text", "chars", "char_index", "N_CHARS", "train_ids", "val_ids", "T_CTX",
        "D_LM", "HEADS_LM", "LM_STEPS", "LM_WARMUP", "LM_EVERY", "show"}


def lecture_namespace() -> dict:
    """Imports, definitions and the KEEP assignments of the lecture's code cells, executed in order."""
    cells = json.loads(LECTURE.read_text())["cells"]
    sys.path.insert(0, str(ROOT))
    import course_utils

    ns: dict = {"course_utils": course_utils}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        if "%pip" in src:
            src = "\n".join(line for line in src.splitlines() if "%pip" not in line)
        tree = ast.parse(src)
        keep = []
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
                keep.append(node)
            elif isinstance(node, ast.Assign):
                names = {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                if names & KEEP:
                    keep.append(node)
        exec(compile(ast.Module(body=keep, type_ignores=[]), str(LECTURE), "exec"), ns)
    ns["torch"].set_num_threads(1)
    return ns


def seq2seq_part(ns: dict) -> None:
    budgets = (350, 1400, 2800, 4000)
    ns["torch"].manual_seed(0)
    model = ns["Seq2Seq"](attention=False, hidden=52)
    start = time.perf_counter()
    losses, results = ns["train_seq2seq"](model, budgets=budgets, seed=0)
    print(f"no attention, hidden 52, {ns['n_params'](model):,} parameters, seed 0 "
          f"({time.perf_counter() - start:.0f} s)")
    print("| steps | exact match | len 9 | len 10 | len 11 | len 12 | train loss (nats/token, last 50 steps) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for steps in budgets:
        acc, by_len = results[steps]
        loss = sum(losses[steps - 50:steps]) / 50
        print(f"| {steps} | {acc:.3f} | {by_len[8]:.2f} | {by_len[9]:.2f} | {by_len[10]:.2f} | {by_len[11]:.2f} "
              f"| {loss:.3f} |")


def lm_part(ns: dict) -> None:
    torch = ns["torch"]
    print("| model | lr | warm-up | seed | parameters | best val bits/char (step) | val at step 200 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    runs = [(lr, 50) for lr in (1e-3, 3e-3, 1e-2)] + [(3e-3, 1)]
    at_200: dict = {}                                   # (name, lr, seed) -> val bits/char at step 200 (warm-up 50)
    for lr, warmup in runs:
        ns["LM_WARMUP"] = warmup
        for seed in (0, 1, 2):
            torch.manual_seed(seed)
            models = {"Transformer": ns["CausalTransformerLM"](ns["N_CHARS"]), "LSTM": ns["LSTMLM"](ns["N_CHARS"])}
            for name, model in models.items():
                if warmup != 50 and name == "LSTM":
                    continue
                history, best_step, final_val, _ = ns["train_lm"](model, seed=seed, lr=lr)
                best = min(v for _, v in history)
                if warmup == 50:
                    at_200[name, lr, seed] = final_val
                print(f"| {name} | {lr:g} | {warmup} | {seed} | {ns['n_params'](model):,} | {best:.3f} ({best_step}) "
                      f"| {final_val:.3f} |", flush=True)
    ns["LM_WARMUP"] = 50
    print("\nval bits/char at step 200 (warm-up 50), each model at its own best of the three rates, per seed")
    print("| seed | Transformer: best lr, val at 200 | LSTM: best lr, val at 200 | Transformer - LSTM |")
    print("|---:|---:|---:|---:|")
    for seed in (0, 1, 2):
        best = {name: min((at_200[name, lr, seed], lr) for lr in (1e-3, 3e-3, 1e-2))
                for name in ("Transformer", "LSTM")}
        print(f"| {seed} | {best['Transformer'][1]:g}, {best['Transformer'][0]:.3f} | {best['LSTM'][1]:g}, "
              f"{best['LSTM'][0]:.3f} | {best['Transformer'][0] - best['LSTM'][0]:+.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("seq2seq", "lm", "all"), default="all")
    args = parser.parse_args()
    ns = lecture_namespace()
    if args.part in ("lm", "all"):
        lm_part(ns)
    if args.part in ("seq2seq", "all"):
        seq2seq_part(ns)


if __name__ == "__main__":
    sys.exit(main())
