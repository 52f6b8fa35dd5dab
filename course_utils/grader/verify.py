"""``course-grade verify A STUDENT``: grade one recorded submission again, in a scratch folder, and compare
the score, cell by cell, with the recorded one and the receipt (:mod:`.receipt`) with today's."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from course_utils.grader import receipt, record


def verify(course: Path, assignment: str, student: str, sandbox: str = "none") -> tuple[bool, str]:
    """Returns (whether the recorded score is reproduced cell by cell, a report to print).

    Raises:
        KeyError: no recorded result for the student.
    """
    from course_utils.grader.autograde import Grader

    recorded = record.recorded(course, assignment).get(student)
    if recorded is None:
        raise KeyError(f"no recorded result of {assignment} for {student!r} (autograde it first)")
    then: dict[str, Any] = recorded.get("receipt") or {}
    now = receipt.make(course, assignment, student, receipt.environment(course), receipt.source_hash(course,
                                                                                                    assignment))
    lines = [f"recorded: {recorded['score']:g}/{recorded['max_score']:g} ({recorded['status']})"]
    # (graded again here with the default settings and this machine's environment)
    changed = [f"{k}: {then.get(k)} then, {now[k]} now" for k in receipt.FIELDS
               if k != "settings_sha256" and then.get(k) != now[k]]
    lines += [f"  differs from the receipt: {c}" for c in changed] or ["  receipt: the same submission, tests and "
                                                                        "environment"]
    with tempfile.TemporaryDirectory(prefix="cv") as tmp:
        grader = Grader(course, assignment, Path(tmp), sandbox=sandbox)
        try:
            again = grader.grade(student)
        finally:
            grader.close()
    lines.append(f"graded again: {again['score']:g}/{again['max_score']:g} ({again['status']})")
    cells = {g: (recorded["cells"].get(g), again["cells"].get(g)) for g in set(recorded["cells"]) | set(again["cells"])}
    differ = {g: v for g, v in sorted(cells.items()) if v[0] != v[1]}
    same = not differ and again["status"] == recorded["status"]
    lines += [f"  {g}: {a} recorded, {b} now" for g, (a, b) in differ.items()]
    lines.append("reproduced: the same score, cell by cell" if same else "NOT reproduced")
    return same, "\n".join(lines)
