"""Collecting submissions: the release, matching files to students, reading a submitted file, and the
notebook that is graded (the release with the student's work put in).

Accepted submission names (a student id is ``[A-Za-z0-9_.-]+``):

- folder: ``<student>.ipynb``, or ``<student>/<anything>.ipynb`` (exactly one notebook in that folder);
- zip: ``<student>.ipynb`` or ``<student>_<anything>.ipynb`` anywhere in the archive; the student id is the
  part of the name before the first ``_`` (so ids collected from a zip cannot contain ``_``).

Anything else (other extensions, bad ids, two files for one student) is reported as unmatched and left
out: the tool never guesses.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course_utils import grading

STUDENT_ID = re.compile(r"[A-Za-z0-9_.-]+")
ZIP_NAME = re.compile(r"([A-Za-z0-9.-]+)(?:_[^/]*)?\.ipynb")


def release(course: Path, assignments: Sequence[str] = ()) -> list[str]:
    """Regenerate the release of each assignment (all of ``solutions/`` when none is given).

    Returns:
        the assignment ids released.
    """
    names = list(assignments) or sorted(p.name for p in (course / "solutions").iterdir() if p.is_dir()
                                        and not p.name.startswith("."))
    for name in names:
        grading.nbgrader(course, "generate_assignment", name, "--force")
    return names


def match_folder(path: Path) -> tuple[dict[str, Path], list[str]]:
    """Match a folder's files to students: ``<student>.ipynb`` or ``<student>/<one notebook>.ipynb``.

    Returns:
        (student -> file, names of the entries that could not be matched).
    """
    found: dict[str, list[Path]] = {}
    unmatched: list[str] = []
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb" and STUDENT_ID.fullmatch(entry.stem):
            found.setdefault(entry.stem, []).append(entry)
        elif entry.is_dir() and STUDENT_ID.fullmatch(entry.name):
            notebooks = sorted(p for p in entry.iterdir() if p.is_file() and p.suffix == ".ipynb")
            if len(notebooks) == 1:
                found.setdefault(entry.name, []).append(notebooks[0])
            else:
                unmatched.append(f"{entry.name}/ ({len(notebooks)} notebooks)")
        else:
            unmatched.append(entry.name)
    matched = {}
    for student, files in found.items():
        if len(files) == 1:
            matched[student] = files[0]
        else:
            unmatched.extend(f"{f.relative_to(path)} (several files for {student})" for f in files)
    return matched, unmatched


def match_zip(path: Path, dest: Path) -> tuple[dict[str, Path], list[str]]:
    """Extract a zip's notebooks named ``<student>.ipynb`` or ``<student>_<anything>.ipynb`` into ``dest``.

    Returns:
        (student -> extracted file, names of the members that could not be matched).
    """
    found: dict[str, list[zipfile.ZipInfo]] = {}
    unmatched: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir() or info.filename.startswith("__MACOSX/"):
                continue
            match = ZIP_NAME.fullmatch(Path(info.filename).name)
            if match:
                found.setdefault(match.group(1), []).append(info)
            else:
                unmatched.append(info.filename)
        matched = {}
        for student, infos in found.items():
            if len(infos) != 1:
                unmatched.extend(f"{i.filename} (several files for {student})" for i in infos)
                continue
            target = dest / f"{student}.ipynb"
            target.write_bytes(zf.read(infos[0]))
            matched[student] = target
    return matched, unmatched


def collect(course: Path, assignment: str, source: Path) -> tuple[list[str], list[str]]:
    """Copy submissions from a folder or a zip into ``submitted/STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb`` and
    add their students to the gradebook.

    Returns:
        (students collected, entries that could not be matched).
    """
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory() as tmp:
        if source.is_dir():
            matched, unmatched = match_folder(source)
        elif zipfile.is_zipfile(source):
            matched, unmatched = match_zip(source, Path(tmp))
        else:
            raise SystemExit(f"course-grade: {source} is neither a folder nor a zip file")
        for student, file in matched.items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, folder / f"{assignment}.ipynb")
    with Gradebook(grading.gradebook_url(course)) as gb:
        for student in sorted(matched):
            gb.update_or_create_student(student)
    return sorted(matched), unmatched


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
    except (ValueError, RecursionError) as err:
        return None, f"not JSON: {str(err)[:200]}"
    if not isinstance(data, dict) or data.get("nbformat") not in (3, 4):
        return None, "not a Jupyter notebook (nbformat 3 or 4)"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds of error on a damaged file
        return None, f"not a readable notebook: {str(err)[:200]}"
    ids = {_grade_id(c) for c in nb.cells}
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


def _grade_id(cell: Any) -> str | None:
    gid = grading.nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def _text(source: Any) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return ""


def canonical_submission(release: Any, submitted: Any) -> Any:
    """The notebook that is graded: the release with the student's work put in.

    - Every cell that has a grade id in the release (setup, solutions, tests) comes from the release, in
      the release's order, with its metadata: edited, emptied, deleted, reordered or re-typed locked cells
      and changed points or grade ids count for nothing.
    - A solution cell gets the source of the student's cell with the same grade id (the first one).
    - The student's other code and Markdown cells (notes, scratch work, experiments) are kept, as new cells
      with their source only (no metadata but string tags, no attachments), after the graded cell they
      followed in the student's notebook.
    """
    from nbformat.v4 import new_code_cell, new_markdown_cell

    known = {_grade_id(c) for c in release.cells} - {None}
    solutions = {_grade_id(c) for c in release.cells if grading.nbgrader_meta(c).get("solution")}
    answers: dict[str, str] = {}
    extras: dict[str | None, list[Any]] = {}
    anchor: str | None = None
    seen: set[str] = set()
    for cell in submitted.cells:
        if not isinstance(cell, dict):
            continue
        gid = _grade_id(cell)
        source = _text(cell.get("source", ""))
        if gid in known and gid not in seen:  # a later copy of the same grade id is a plain cell
            seen.add(gid)
            if gid in solutions:
                answers[gid] = source
            anchor = gid
            continue
        kind = cell.get("cell_type")
        if kind not in ("code", "markdown"):
            continue
        plain = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
        meta = cell.get("metadata")
        tags = meta.get("tags") if isinstance(meta, dict) else None
        if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
            plain.metadata["tags"] = list(tags)[:20]
        extras.setdefault(anchor, []).append(plain)
    out = list(extras.get(None, []))
    for cell in release.cells:
        gid = _grade_id(cell)
        if gid is None:
            continue  # the release's own plain cells: the student's copies of them are in extras
        cell = copy.deepcopy(cell)
        if gid in answers:
            cell.source = answers[gid]
        out.append(cell)
        out.extend(extras.get(gid, []))
    nb = copy.deepcopy(release)
    nb.cells = out
    return nb
