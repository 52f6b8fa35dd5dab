"""What ``course-grade`` grades and how it scores it: reading a submitted file, the hardened source (guard
cells and tokens), the submission rebuilt on the release, and the scores the grader trusts.

A test counts only when its guard cell and the test itself ran to their last line: each prints a random
token (:func:`harden`) that the grader looks for in the graded notebook (:func:`trusted_scores`). The
tokens and guards are removed again from what the instructor and the student see (:func:`unharden`).
"""
from __future__ import annotations

import copy
import json
import secrets
from pathlib import Path
from typing import Any

from course_utils import grading

GUARD_PREFIX = "course_grade_guard_"
TOKEN_TEXT = "course-grade {kind} {token}"
MARK = "  # course-grade"  # ends every line that harden() adds to a cell of the source


def load_submission(path: Path, grade_ids: set[str]) -> tuple[Any, str | None]:
    """Read a submitted file as an nbformat 4 notebook (an nbformat 3 notebook is upgraded).

    Args:
        grade_ids: the assignment's grade ids; a notebook must carry at least one of them.

    Returns:
        (notebook, None), or (None, why the file cannot be graded).
    """
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return None, f"unreadable: {err}"
    if not text.strip():
        return None, "empty file"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return None, f"not JSON: {err}"
    if not isinstance(data, dict) or data.get("nbformat") not in (3, 4):
        return None, "not a Jupyter notebook (nbformat 3 or 4)"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds of error on a damaged file
        return None, f"not a readable notebook: {str(err)[:200]}"
    ids = {grading.nbgrader_meta(c).get("grade_id") for c in nb.cells}
    if not ids & grade_ids:
        return None, "none of this assignment's cells (another assignment's notebook?)"
    return nb, None


def assignment_cells(course: Path, assignment: str) -> tuple[set[str], dict[str, float]]:
    """The grade ids of an assignment's exercises (its solution and graded cells: a setup cell's id is
    shared with other assignments), and the points of its graded cells."""
    source = grading.read_notebook(course / "solutions" / assignment / f"{assignment}.ipynb")
    ids = {grading.nbgrader_meta(c)["grade_id"] for c in source.cells
           if grading.nbgrader_meta(c).get("solution") or grading.nbgrader_meta(c).get("grade")}
    return ids, grading.max_points(source)


def harden(source: Any) -> tuple[Any, dict[str, tuple[str, str]]]:
    """The source notebook as ``course-grade`` grades it: before each graded test cell a locked *guard cell*
    that restores what student code may have tampered with (:func:`course_utils.kernel_guard.restore`) and
    prints a random token; at the end of each test cell a line that prints a second token. A test counts
    only when both tokens appear in the graded notebook: a test that was stopped, skipped or rewritten
    does not print them, whatever the kernel reports.

    Returns:
        (the hardened copy, {grade_id: (guard token, test token)}).
    """
    from nbformat.v4 import new_code_cell

    nb = copy.deepcopy(source)
    tokens: dict[str, tuple[str, str]] = {}
    cells = []
    setup = next((c for c in nb.cells if c.cell_type == "code" and grading.nbgrader_meta(c).get("locked")
                  and not grading.nbgrader_meta(c).get("grade")), None)
    if setup is not None:  # restore before it, and record the names it defines after it
        setup.source = f"__course_guard__(){MARK}\n{setup.source.rstrip()}\n__course_guard__(record=True){MARK}"
    for cell in nb.cells:
        meta = grading.nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            gid = meta["grade_id"]
            guard_token, test_token = secrets.token_hex(16), secrets.token_hex(16)
            tokens[gid] = (guard_token, test_token)
            guard = new_code_cell(f"__course_guard__(){MARK}\n"
                                  f"print({TOKEN_TEXT.format(kind='guard', token=guard_token)!r}){MARK}")
            guard.metadata = {"editable": False, "deletable": False, "nbgrader": {
                "grade": False, "grade_id": GUARD_PREFIX + gid, "locked": True, "schema_version": 3,
                "solution": False, "task": False}}
            cells.append(guard)
            cell.source = f"{cell.source.rstrip()}\nprint({TOKEN_TEXT.format(kind='check', token=test_token)!r}){MARK}"
        cells.append(cell)
    nb.cells = cells
    return nb, tokens


def canonical_submission(template: Any, submitted: Any) -> Any:
    """The notebook that is graded: the template (the hardened release) with the student's work put in.

    - Every cell that has a grade id in the template (setup, solutions, tests, guards) comes from the
      template, in the template's order, with its metadata: edited, emptied, deleted, reordered or
      re-typed locked cells and changed points or grade ids count for nothing.
    - A solution cell gets the source of the student's cell with the same grade id (the first one).
    - The student's other cells (notes, scratch work, experiments) are kept, without nbgrader metadata,
      after the graded cell they followed in the student's notebook.
    """
    known = {grading.nbgrader_meta(c).get("grade_id") for c in template.cells} - {None}
    solutions = {grading.nbgrader_meta(c)["grade_id"] for c in template.cells
                 if grading.nbgrader_meta(c).get("solution")}
    answers: dict[str, str] = {}
    extras: dict[str | None, list[Any]] = {}
    anchor: str | None = None
    seen: set[str] = set()
    for cell in submitted.cells:
        gid = grading.nbgrader_meta(cell).get("grade_id")
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if gid in known and gid not in seen:  # a later copy of the same grade id is a plain cell
            seen.add(gid)
            if gid in solutions:
                answers[gid] = source
            anchor = gid
            continue
        if cell.get("cell_type") not in ("code", "markdown"):
            continue
        plain = copy.deepcopy(cell)
        plain.source = source
        plain.metadata = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags",)}
        if plain.cell_type == "code":
            plain.outputs, plain.execution_count = [], None
        extras.setdefault(anchor, []).append(plain)
    out = list(extras.get(None, []))
    for cell in template.cells:
        gid = grading.nbgrader_meta(cell).get("grade_id")
        if gid is None:
            continue  # the template's own plain cells: the student's copies of them are in extras
        cell = copy.deepcopy(cell)
        if gid in answers:
            cell.source = answers[gid]
        out.append(cell)
        out.extend(extras.get(gid, []))
    nb = copy.deepcopy(template)
    nb.cells = out
    return nb


def unharden(nb: Any, tokens: dict[str, tuple[str, str]]) -> Any:
    """The graded notebook as the instructor and the student see it: without the guard cells and the token
    lines (the sources and the outputs)."""
    nb = copy.deepcopy(nb)
    lines = {TOKEN_TEXT.format(kind=k, token=t) for pair in tokens.values() for k, t in zip(("guard", "check"), pair)}
    cells = []
    for cell in nb.cells:
        if str(grading.nbgrader_meta(cell).get("grade_id", "")).startswith(GUARD_PREFIX):
            continue
        if cell.cell_type == "code":
            cell.source = "\n".join(ln for ln in cell.source.split("\n") if not ln.endswith(MARK))
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream":
                    out["text"] = "".join(ln for ln in out["text"].splitlines(True) if ln.strip() not in lines)
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream" or o["text"]]
        cells.append(cell)
    nb.cells = cells
    return nb


def _printed(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def trusted_scores(graded: Any, tokens: dict[str, tuple[str, str]], nbgrader_cells: dict[str, float],
                   points: dict[str, float]) -> tuple[dict[str, float], list[str]]:
    """Each test's points: nbgrader's score, kept only when the test's guard and the test itself ran to
    their last line (both tokens printed).

    Returns:
        ({grade_id: points}, grade ids whose score nbgrader gave but the tokens took away).
    """
    cells, voided = {}, []
    by_id = {grading.nbgrader_meta(c).get("grade_id"): c for c in graded.cells}
    for gid in points:
        guard_token, test_token = tokens[gid]
        guard, test = by_id.get(GUARD_PREFIX + gid), by_id.get(gid)
        ran = (guard is not None and test is not None
               and TOKEN_TEXT.format(kind="guard", token=guard_token) in _printed(guard)
               and TOKEN_TEXT.format(kind="check", token=test_token) in _printed(test))
        score = float(nbgrader_cells.get(gid, 0.0))
        cells[gid] = score if ran else 0.0
        if score > 0 and not ran:
            voided.append(gid)
    return cells, voided


def kernel_deaths(graded: Any) -> list[str]:
    """Where the kernel died while grading: the grade id (or position) of each cell that stopped it."""
    from course_utils.sandbox import KERNEL_DIED

    where = []
    for i, cell in enumerate(graded.cells):
        if any(o.get("ename") == KERNEL_DIED[0] for o in cell.get("outputs", [])):
            where.append(grading.nbgrader_meta(cell).get("grade_id") or f"cell {i}")
    return where
