"""Correct alternatives the exercises' specs allow, written as data: each must keep every point.

Each entry replaces whole solution cells of the instructor's solution (``cells``: grade_id -> the cell's
new code) with another correct implementation a student could hand in: another algorithm, loops where the
spec allows loops, another valid parameterisation, other variable names. One file per assignment in this
folder, ``topic_NN_name.py``, defines ``ASSIGNMENT`` and ``RIGHT`` (a list of :class:`RightImplementation`).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RightImplementation:
    name: str
    cells: dict[str, str] = field(default_factory=dict)


def _load() -> dict:
    import importlib.util
    from pathlib import Path

    right = {}
    for path in sorted(Path(__file__).parent.glob("topic_*.py")):
        spec = importlib.util.spec_from_file_location(f"right_implementations.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        right[module.ASSIGNMENT] = list(module.RIGHT)
    return right


RIGHT_IMPLEMENTATIONS = _load()
