"""Plausible wrong implementations of each assignment's exercises, written as data.

Each entry is one small edit of the instructor's solution (``old`` -> ``new`` in the solution cell
``cell``), the mistake a student would really make. ``loses`` are the graded cells that must then score
0; ``may_lose`` are cells that call the broken function and may fail with it. Every other graded cell
must keep its points, so a mistake costs the points of its own exercise and no more.
Adding a case is one entry; an entry whose ``old`` text no longer occurs in the solution fails loudly.

One file per assignment in this folder, ``topic_NN_name.py``, defines ``ASSIGNMENT`` (the id),
``WRONG`` (a list of :class:`WrongImplementation`), ``RUNAWAY`` (the solution cell that is made to loop
forever in the runaway submission, and the graded cells that then fail) and ``TAMPER`` (True to grade
the tampered submissions of test_autograde.py for this assignment: they cost one autograde run each, so
the pattern assignment carries them).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WrongImplementation:
    name: str
    cell: str
    old: str
    new: str
    loses: tuple[str, ...]
    may_lose: tuple[str, ...] = ()




def _load() -> tuple[dict, dict, set]:
    import importlib.util
    from pathlib import Path

    wrong, runaway, tamper = {}, {}, set()
    for path in sorted(Path(__file__).parent.glob("topic_*.py")):
        spec = importlib.util.spec_from_file_location(f"wrong_implementations.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        wrong[module.ASSIGNMENT] = list(module.WRONG)
        runaway[module.ASSIGNMENT] = module.RUNAWAY
        if getattr(module, "TAMPER", False):
            tamper.add(module.ASSIGNMENT)
    return wrong, runaway, tamper


WRONG_IMPLEMENTATIONS, RUNAWAY, TAMPER = _load()
