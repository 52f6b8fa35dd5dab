"""Collecting submissions: the release, matching files to students, reading a submitted file, and the
notebook that is graded (the release with the student's work put in).

Who a file belongs to is read from the structure the source was made with, one rule per ``--format``;
a file's own name never decides it, except in the plain ``folder`` format, whose names the instructor
wrote:

- ``folder`` (a folder or a zip of one): ``<student>.ipynb`` at the top, or ``<student>/<file>.ipynb``.
- ``canvas`` (Canvas's "Download submissions" zip, or that zip unpacked): every file at the top is named
  ``<name>_<user id>_<submission id>_<the student's file name>`` (``<name>_LATE_<user id>_...`` when
  late, ``<name>`` the student's sortable name run together); the student is the numeric ``<user id>``,
  which a student cannot change, and ``<name>`` goes into the gradebook. One user id under two names is
  reported.
- ``moodle`` (Moodle's "Download all submissions" zip, or unpacked): a folder
  ``<Full Name>_<participant id>_assignsubmission_file_`` per student holds their files; the student is
  the participant id, and the full name goes into the gradebook.

A student id starts with a letter or a digit and has only letters, digits, ``_``, ``.`` and ``-`` (at
most 64 characters). Anything else (other extensions, bad ids, deeper folders) is reported as unmatched;
two notebooks for one student are reported and neither is collected (a notebook collected for them
earlier is replaced by ``REJECTED.txt`` with the reason): the tool never guesses. Nothing is written
outside ``submitted/``. Zip members must be stored or deflated (what LMSs and zip tools write).

Sizes are bounded while reading, before anything is parsed: a notebook over ``max_mb`` megabytes (by its
zip header's declared size, or by the bytes it actually inflates to, counted as they are extracted) is
not collected; its student is recorded with the reason and gets the status "invalid file".
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from course_utils import grading

FORMATS = ("folder", "canvas", "moodle")
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
CANVAS_NAME = re.compile(r"(?P<login>[^_/]+)(?:_LATE)?_(?P<uid>[0-9]+)_(?P<sub>[0-9]+)_(?P<file>[^/]+)")
MOODLE_FOLDER = re.compile(r"(?P<name>.+)_(?P<pid>[0-9]+)_assignsubmission_(?P<plugin>[a-z]+)_")
MAX_NOTEBOOK_MB = 20.0   # the default size limit of one submitted notebook
MAX_MEMBERS = 100_000    # a zip with more entries than this is refused as a whole, before they are read
COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
MAX_JSON_OBJECTS = 200_000  # JSON objects in one notebook (the course's notebooks have at most about 1,200)
MAX_CELLS = 5_000
REJECTED = "REJECTED.txt"  # beside a student's (missing) notebook in submitted/: why it was not collected
CHUNK = 1 << 20


@dataclass
class Entry:
    """A file of the source: its path (POSIX, relative), its declared size and how to open it."""

    path: str
    size: int
    open: Callable[[], Any]


@dataclass
class Matched:
    """One student's submission: the entry, and their full name when the LMS gives one."""

    entry: Entry
    first_name: str | None = None
    last_name: str | None = None
    notes: list[str] = field(default_factory=list)


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


def folder_entries(path: Path) -> Iterator[Entry]:
    """Every file under a folder (symbolic links and hidden names are left out)."""
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path)
        if any(part.startswith(".") for part in rel.parts) or file.is_symlink() or not file.is_file():
            continue
        yield Entry(rel.as_posix(), file.stat().st_size, lambda file=file: open(file, "rb"))


def zip_entries(zf: zipfile.ZipFile) -> Iterator[Entry]:
    """Every file member of a zip (folders and macOS's ``__MACOSX/`` metadata are left out)."""
    for info in zf.infolist():
        if info.is_dir() or info.filename.startswith("__MACOSX/"):
            continue
        yield Entry(info.filename, info.file_size, lambda info=info: _open_member(zf, info))


def _open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    # Python inflates bzip2 and LZMA a whole input chunk at a time (a 1 kB bzip2 member can take gigabytes);
    # Canvas, Moodle and every zip tool write stored or deflated members
    if info.compress_type not in COMPRESSIONS:
        raise NotImplementedError(f"compression method {info.compress_type} is not accepted (only stored and "
                                  "deflated members)")
    return zf.open(info)


def zip_member_count(path: Path) -> int | None:
    """The number of entries a zip's end-of-central-directory record declares (zip64 included), read before
    the central directory itself; None when there is no such record."""
    import struct

    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65_557))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    count = struct.unpack_from("<H", tail, at + 10)[0]
    locator = tail.rfind(b"PK\x06\x07", 0, at)
    if count == 0xFFFF and locator >= 0:
        offset = struct.unpack_from("<Q", tail, locator + 8)[0]
        with open(path, "rb") as f:
            f.seek(offset)
            record = f.read(56)
        if record[:4] == b"PK\x06\x06":
            count = struct.unpack_from("<Q", record, 32)[0]
    return count


def _safe_parts(path: str) -> tuple[str, ...] | None:
    """The parts of a relative path, or None for an absolute path or one with ``..`` or empty parts."""
    if path.startswith(("/", "\\")) or "\\" in path or re.match(r"[A-Za-z]:", path):
        return None
    parts = PurePosixPath(path).parts
    if not parts or any(p in ("", ".", "..") for p in parts):
        return None
    return parts


def match(entries: Iterator[Entry], fmt: str, ambiguous: dict[str, str] | None = None
          ) -> tuple[dict[str, Matched], list[str]]:
    """Match a source's files to students by the rule of ``fmt`` (see the module's docstring).

    Args:
        ambiguous: filled with the students that have several notebooks (or Canvas names), and why.

    Returns:
        (student -> their one notebook, the entries or students that could not be matched, with why).
    """
    ambiguous = {} if ambiguous is None else ambiguous
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    found: dict[str, list[Matched]] = {}
    unmatched: list[str] = []
    canvas_ids: dict[str, set[str]] = {}
    for entry in entries:
        parts = _safe_parts(entry.path)
        student, first, last = None, None, None
        if parts is None:
            unmatched.append(f"{entry.path} (not a plain relative path)")
            continue
        if not parts[-1].endswith(".ipynb"):
            unmatched.append(entry.path)
            continue
        if fmt == "folder":
            if len(parts) == 1:
                student = parts[0][: -len(".ipynb")]
            elif len(parts) == 2:
                student = parts[0]
        elif fmt == "canvas":
            m = CANVAS_NAME.fullmatch(parts[0]) if len(parts) == 1 else None
            if m:  # the user id, which a student cannot change (the name part is their own sortable name)
                student, last = m.group("uid"), m.group("login")
                canvas_ids.setdefault(student, set()).add(m.group("login"))
        else:  # moodle
            m = MOODLE_FOLDER.fullmatch(parts[0]) if len(parts) == 2 else None
            if m and m.group("plugin") == "file":
                student = m.group("pid")
                first, _, last = m.group("name").strip().partition(" ")
        if student is None:
            unmatched.append(f"{entry.path} (not {_RULES[fmt]})")
            continue
        if not STUDENT_ID.fullmatch(student):
            unmatched.append(f"{entry.path} (student id {student!r} is not a valid id)")
            continue
        found.setdefault(student, []).append(Matched(entry, first or None, last or None))
    matched: dict[str, Matched] = {}
    ambiguous.clear()
    for student, items in sorted(found.items()):
        if len(canvas_ids.get(student, ())) > 1:
            why = (f"Canvas user {student} under several names ({', '.join(sorted(canvas_ids[student]))}: "
                   f"{', '.join(i.entry.path for i in items)}); none collected")
        elif len(items) > 1:
            why = f"{len(items)} notebooks ({', '.join(i.entry.path for i in items)}); none collected"
        else:
            matched[student] = items[0]
            continue
        unmatched.append(f"{student}: {why}")
        ambiguous[student] = why
    return matched, unmatched


_RULES = {"folder": "<student>.ipynb or <student>/<file>.ipynb",
          "canvas": "<name>_<user id>_<submission id>_<file> at the top",
          "moodle": "<Full Name>_<id>_assignsubmission_file_/<file>"}


def extract(entry: Entry, target: Path, max_bytes: int) -> str | None:
    """Copy an entry to ``target``, reading at most ``max_bytes`` (+1) bytes in 1 MB chunks.

    Returns:
        None, or why it was refused (``target`` is then removed).
    """
    limit_mb = max_bytes / 1e6
    if entry.size > max_bytes:
        return f"too large: {entry.size / 1e6:.1f} MB, over the limit of {limit_mb:g} MB"
    total = 0
    try:
        with entry.open() as src, open(target, "wb") as dst:
            while chunk := src.read(min(CHUNK, max_bytes + 1 - total)):
                total += len(chunk)
                if total > max_bytes:
                    break
                dst.write(chunk)
    except (OSError, zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, ValueError) as err:
        target.unlink(missing_ok=True)
        return f"could not be extracted: {type(err).__name__}: {str(err)[:200]}"
    if total > max_bytes:
        target.unlink(missing_ok=True)
        return f"too large: inflates past the limit of {limit_mb:g} MB"
    return None


def collect(course: Path, assignment: str, source: Path, fmt: str = "folder",
            max_mb: float = MAX_NOTEBOOK_MB) -> tuple[list[str], list[str]]:
    """Copy submissions from a folder or a zip into ``submitted/STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb`` and
    add their students to the gradebook. A notebook over ``max_mb`` is not copied: its student gets a
    ``REJECTED.txt`` there instead, with the reason, and is graded "invalid file".

    Returns:
        (students collected, rejected ones included; entries that could not be matched, with why).
    """
    from nbgrader.api import Gradebook

    max_bytes = int(max_mb * 1e6)
    submitted = (course / "submitted").resolve()
    ambiguous: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp, _open_source(source) as entries:
        matched, unmatched = match(entries, fmt, ambiguous)
        for student, why in ambiguous.items():  # an earlier notebook of theirs must not be graded instead
            folder = submitted / student / assignment
            if folder.is_dir() and folder.resolve().parent.parent == submitted:
                (folder / f"{assignment}.ipynb").unlink(missing_ok=True)
                (folder / REJECTED).write_text(f"{why}\n")
        for student, item in matched.items():
            folder = (submitted / student / assignment).resolve()
            if not folder.is_relative_to(submitted) or folder.parent.parent != submitted:
                raise RuntimeError(f"refusing to write outside {submitted}: {student!r}")  # STUDENT_ID forbids it
            staged = Path(tmp) / "staged.ipynb"
            problem = extract(item.entry, staged, max_bytes)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{assignment}.ipynb").unlink(missing_ok=True)
            (folder / REJECTED).unlink(missing_ok=True)
            if problem:
                (folder / REJECTED).write_text(f"{item.entry.path}: {problem}\n")
                unmatched.append(f"{item.entry.path} ({student}: {problem}; graded as an invalid file)")
            else:
                shutil.move(staged, folder / f"{assignment}.ipynb")
    with Gradebook(grading.gradebook_url(course)) as gb:
        for student in sorted(matched):
            names = {k: v for k, v in (("first_name", matched[student].first_name),
                                       ("last_name", matched[student].last_name)) if v}
            gb.update_or_create_student(student, **names)
    return sorted(matched), unmatched


class _open_source:
    """``with _open_source(path) as entries``: the files of a folder or a zip."""

    def __init__(self, path: Path) -> None:
        self.path, self.zf = path, None

    def __enter__(self) -> Iterator[Entry]:
        if self.path.is_dir():
            return folder_entries(self.path)
        if zipfile.is_zipfile(self.path):
            count = zip_member_count(self.path)
            if count is not None and count > MAX_MEMBERS:
                raise SystemExit(f"course-grade: the zip declares {count} entries, more than {MAX_MEMBERS}: refused")
            self.zf = zipfile.ZipFile(self.path)
            return zip_entries(self.zf)
        raise SystemExit(f"course-grade: {self.path} is neither a folder nor a zip file")

    def __exit__(self, *exc: Any) -> None:
        if self.zf is not None:
            self.zf.close()


class _TooComplex(Exception):
    pass


def load_submission(path: Path, grade_ids: set[str], max_mb: float = MAX_NOTEBOOK_MB) -> tuple[Any, str | None]:
    """Read a submitted file as an nbformat 4 notebook (an nbformat 3 notebook is upgraded).

    Args:
        grade_ids: the assignment's grade ids; a notebook must carry at least one of them.
        max_mb: a larger file is not read (its size is checked before it is opened).

    Returns:
        (notebook, None), or (None, why the file cannot be graded).
    """
    import nbformat

    rejected = path.parent / REJECTED
    if not path.exists() and rejected.is_file():
        return None, f"not collected: {rejected.read_text(errors='replace')[:300].strip()}"
    try:
        size = path.stat().st_size
    except OSError as err:
        return None, f"unreadable: {err}"
    if size > max_mb * 1e6:
        return None, f"too large: {size / 1e6:.1f} MB, over the limit of {max_mb:g} MB"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return None, f"unreadable: {err}"
    if not text.strip():
        return None, "empty file"
    # millions of empty objects fit in a few MB and take gigabytes and minutes once built and validated:
    # parsing stops at MAX_JSON_OBJECTS
    objects = 0

    def count(pairs: list) -> dict:
        nonlocal objects
        objects += 1
        if objects > MAX_JSON_OBJECTS:
            raise _TooComplex
        return dict(pairs)

    try:
        data = json.loads(text, object_pairs_hook=count)
    except _TooComplex:
        return None, f"too complex: more than {MAX_JSON_OBJECTS} JSON objects"
    except (ValueError, RecursionError) as err:
        return None, f"not JSON: {str(err)[:200]}"
    if not isinstance(data, dict) or data.get("nbformat") not in (3, 4):
        return None, "not a Jupyter notebook (nbformat 3 or 4)"
    if len(data.get("cells") or data.get("worksheets") or ()) > MAX_CELLS:
        return None, f"too many cells: {len(data.get('cells') or data.get('worksheets'))} (at most {MAX_CELLS})"
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
