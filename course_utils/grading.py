"""Instructor tools on top of nbgrader's own commands and gradebook.

Everything here drives nbgrader as an instructor would (``nbgrader generate_assignment``, ``nbgrader
autograde``, the sqlite gradebook through :class:`nbgrader.api.Gradebook`), on a course directory laid
out as in README.md (Repository layout): ``solutions/`` (source), ``assignments/`` (release),
``submitted/`` (collected).
The test suite and ``benchmarks/run.py`` use it to prove the graders hold, and ``course-grade`` builds on it;
nbgrader and nbclient come with the ``instructor`` extra (and ``dev``), imported only when a function needs
them.
"""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: what a course directory needs for nbgrader to generate and grade
COURSE_FILES = ("nbgrader_config.py", "solutions", "assignments")
#: the cell tag of a notebook's ungraded experiments (training runs, plots)
EXPERIMENT_TAG = "experiment"


def _nbformat() -> Any:
    import nbformat

    return nbformat


def nbgrader_meta(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The ``nbgrader`` metadata of a cell ({} when it has none, or when it is not a mapping, as in a
    damaged or tampered file)."""
    meta = cell.get("metadata", {}) if isinstance(cell, Mapping) else {}
    found = meta.get("nbgrader", {}) if isinstance(meta, Mapping) else {}
    return dict(found) if isinstance(found, Mapping) else {}


def graded_cells(nb: Any) -> dict[str, Any]:
    """Map grade_id -> cell for every graded cell of a notebook, in order."""
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if nbgrader_meta(c).get("grade")}


def max_points(nb: Any) -> dict[str, float]:
    """Map grade_id -> points for every graded cell of a notebook."""
    return {gid: float(nbgrader_meta(c)["points"]) for gid, c in graded_cells(nb).items()}


def find_cell(nb: Any, grade_id: str) -> Any:
    """The cell with this grade_id.

    Raises:
        KeyError: no cell has it (the message lists the grade ids that exist).
    """
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            return cell
    ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c).get("grade_id")]
    raise KeyError(f"no cell with grade_id {grade_id!r}; the notebook has {ids}")


def read_notebook(path: str | Path) -> Any:
    """Read a notebook as nbformat v4."""
    return _nbformat().read(str(path), as_version=4)


def write_notebook(nb: Any, path: str | Path) -> Path:
    """Write a notebook, creating parent folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _nbformat().write(nb, str(path))
    return path


def fill_release(release: Any, source: Any, answers: Mapping[str, str] | None = None) -> Any:
    """A submission as a student who did the work would hand it in.

    Takes the release notebook and puts in each solution cell the source's code for the same grade_id
    with the ``### BEGIN/END SOLUTION`` markers removed, or ``answers[grade_id]`` when given.
    Test cells stay as released (no hidden tests), so a grader has to restore them.

    Raises:
        KeyError: an answer names a grade_id that is not a solution cell of the release.
    """
    nb = copy.deepcopy(release)
    sources = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if nbgrader_meta(c).get("solution")}
    answers = dict(answers or {})
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("solution"):
            continue
        gid = meta["grade_id"]
        if gid in answers:
            cell.source = answers.pop(gid)
        elif gid in sources:
            cell.source = strip_solution_markers(sources[gid])
    if answers:
        raise KeyError(f"answers for unknown solution cells: {sorted(answers)}")
    return nb


def strip_solution_markers(source: str) -> str:
    """Remove the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines, keeping the code between them."""
    keep = [ln for ln in source.splitlines() if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(keep)


def edit_cell(nb: Any, grade_id: str, old: str, new: str) -> Any:
    """A copy of ``nb`` with ``old`` replaced by ``new`` (exactly once) in the cell ``grade_id``.

    Raises:
        ValueError: ``old`` does not occur exactly once in that cell (the edit has gone stale).
    """
    nb = copy.deepcopy(nb)
    cell = find_cell(nb, grade_id)
    count = cell.source.count(old)
    if count != 1:
        raise ValueError(f"{old!r} occurs {count} times in cell {grade_id!r}; expected exactly once")
    cell.source = cell.source.replace(old, new)
    return nb


def replace_solution(nb: Any, grade_id: str, code: str) -> Any:
    """A copy of ``nb`` whose solution cell ``grade_id`` holds ``code`` (between the solution markers, so
    that the release and the filled submission see it as the student's answer).

    Raises:
        KeyError: no cell has that grade id.
    """
    nb = copy.deepcopy(nb)
    cell = find_cell(nb, grade_id)
    cell.source = f"### BEGIN SOLUTION\n{code.strip()}\n### END SOLUTION"
    return nb


def without_experiments(nb: Any) -> Any:
    """A copy of ``nb`` without its Markdown cells and its cells tagged ``experiment``: what the exercises
    need (setup, solutions, tests), for checking an implementation without its training runs."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.cell_type == "code"
                and EXPERIMENT_TAG not in c.get("metadata", {}).get("tags", [])]
    return nb


def execute(nb: Any, cwd: str | Path | None = None, timeout: int = 60) -> Any:
    """Run every cell of a copy of ``nb`` in a fresh python3 kernel, continuing past errors.

    Returns:
        the executed copy (its outputs are what nbgrader would score).
    """
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd or Path.cwd())}}).execute()
    return nb


def copy_course(src_root: str | Path, dest: str | Path) -> Path:
    """Copy what nbgrader needs of a course (config, solutions/, assignments/) into ``dest``."""
    src_root, dest = Path(src_root), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for name in COURSE_FILES:
        src = src_root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dest / name)
        else:
            raise FileNotFoundError(f"{src} is missing: is {src_root} the course root?")
    return dest


def tool_env() -> dict[str, str]:
    """The environment for nbgrader and the course's tools: this interpreter's ``bin`` first on PATH, since
    nbgrader starts helper programs (``alembic``) by name and they must come from the same environment
    even when it is not activated."""
    bindir = Path(sys.executable).parent
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}


def nbgrader_command(*args: str) -> list[str]:
    """The command line running ``nbgrader ARGS`` with the nbgrader next to this Python."""
    exe = Path(sys.executable).with_name("nbgrader")
    return [str(exe) if exe.exists() else "nbgrader", *args]


def course_config(course_dir: str | Path) -> Any:
    """The course's ``nbgrader_config.py``, loaded as nbgrader loads it (a traitlets ``Config``; empty when
    the file is missing)."""
    from traitlets.config.loader import Config, PyFileConfigLoader

    path = Path(course_dir).resolve()
    if not (path / "nbgrader_config.py").exists():
        return Config()
    return PyFileConfigLoader("nbgrader_config.py", path=str(path)).load_config()


def gradebook_url(course_dir: str | Path) -> str:
    """The SQLAlchemy URL of a course's gradebook: ``CourseDirectory.db_url`` from its nbgrader_config.py
    when set there (a database server, for grading on several machines), else nbgrader's default, the
    sqlite file ``gradebook.db`` at the course root."""
    url = course_config(course_dir).get("CourseDirectory", {}).get("db_url")
    if isinstance(url, str) and url:
        return url
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def course_id(course_dir: str | Path) -> str:
    """The course id of a course's nbgrader_config.py (nbgrader's ``default_course`` when unset)."""
    value = course_config(course_dir).get("CourseDirectory", {}).get("course_id")
    return value if isinstance(value, str) and value else "default_course"


def nbgrader(course_dir: str | Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run an ``nbgrader`` command in ``course_dir`` (the nbgrader next to this Python), capturing output.

    It runs with :func:`tool_env` (this environment's ``bin`` first on PATH).

    Raises:
        RuntimeError: the command exits non-zero (the message carries its log, INFO lines left out).
    """
    cmd = nbgrader_command(*args)
    proc = subprocess.run(cmd, cwd=course_dir, capture_output=True, text=True, timeout=timeout, env=tool_env())
    if proc.returncode != 0:
        log = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "| INFO]" not in ln]
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n" + "\n".join(log)[-6000:])
    return proc


def submit(course_dir: str | Path, assignment: str, student: str, notebooks: Mapping[str, Any]) -> Path:
    """Place a student's notebooks where ``nbgrader autograde`` looks: submitted/STUDENT/ASSIGNMENT/.

    Args:
        notebooks: file name (``NN_topic.ipynb``) -> notebook node, or raw text for a broken file.
    """
    folder = Path(course_dir) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        if isinstance(nb, str):
            (folder / name).write_text(nb)
        else:
            write_notebook(nb, folder / name)
    return folder


def gradebook_scores(course_dir: str | Path, assignment: str,
                     students: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Read the autograded scores from the course's gradebook.

    Returns:
        student -> {"score": float, "max_score": float, "cells": {grade_id: score}}; students without a
        graded submission are left out.
    """
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, dict[str, Any]] = {}
    with Gradebook(gradebook_url(course_dir)) as gb:
        ids = list(students) if students is not None else [s.id for s in gb.students]
        for sid in ids:
            try:
                sub = gb.find_submission(assignment, sid)
            except MissingEntry:
                continue
            cells = {}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    cells[grade.name] = float(grade.score)
            out[sid] = {"score": float(sub.score), "max_score": float(sub.max_score), "cells": cells}
    return out


def notebook_differences(a: Any, b: Any) -> list[str]:
    """How two notebooks differ in what a student sees and nbgrader reads (cell types, sources, nbgrader
    metadata, editable/deletable flags), ignoring outputs and ids. Empty when they match."""
    diffs = []
    if len(a.cells) != len(b.cells):
        diffs.append(f"{len(a.cells)} cells vs {len(b.cells)} cells")
    for i, (ca, cb) in enumerate(zip(a.cells, b.cells)):
        for key in ("cell_type", "source"):
            if ca.get(key) != cb.get(key):
                diffs.append(f"cell {i}: {key} differs")
        ma, mb = ca.get("metadata", {}), cb.get("metadata", {})
        for key in ("nbgrader", "editable", "deletable", "tags"):
            if ma.get(key) != mb.get(key):
                diffs.append(f"cell {i}: metadata {key!r} differs: {ma.get(key)!r} vs {mb.get(key)!r}")
    return diffs


if __name__ == "__main__":  # python -m course_utils.grading: the same as course-grade
    from course_utils.grader.cli import main

    sys.exit(main())
