"""Grade receipts: what a result was computed from, so that a rerun skips what is already graded and a
score can be reproduced later.

A result is keyed by (assignment, student, SHA-256 of the submission, SHA-256 of the assignment's source,
SHA-256 of the grading settings: timeouts, limits, the sandbox):
``course-grade autograde`` skips a student whose recorded result has the same key (``--force`` regrades),
so an interrupted run resumes where it stopped, and a changed submission or changed tests are regraded.
The receipt also records the environment the score came from: the course package's version, the SHA-256 of
``constraints.txt`` (the course's, else the one beside the installed package) and the versions of Python,
NumPy and PyTorch. ``course-grade verify A STUDENT`` grades
one submission again and says whether the recorded score is reproduced.
"""
from __future__ import annotations

import hashlib
import platform
from pathlib import Path
from typing import Any

#: results with these statuses are graded again by a rerun: the grader, not the student, failed
RETRY_DETAIL = ("grading failed", "could not be recorded")
FIELDS = ("submission_sha256", "source_sha256", "settings_sha256", "course_version", "constraints_sha256",
          "python", "numpy", "torch")
#: the fields that say where a score was computed (a worker's own, on a cluster)
ENV_FIELDS = FIELDS[3:]
#: the fields a rerun compares: a result is graded again when one of them changed
KEY_FIELDS = FIELDS[:3]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def submission_hash(course: Path, assignment: str, student: str) -> str | None:
    """SHA-256 of what ``collect`` stored for the student (their notebook, or the reason it was refused)."""
    from course_utils.grader.collect import REJECTED

    folder = course / "submitted" / student / assignment
    for name, prefix in ((f"{assignment}.ipynb", b""), (REJECTED, b"rejected:")):
        try:
            return _sha256(prefix + (folder / name).read_bytes())
        except OSError:
            continue
    return None


def source_hash(course: Path, assignment: str) -> str:
    """SHA-256 over every file of ``solutions/ASSIGNMENT/`` (names and bytes, in order): its tests and setup."""
    digest = hashlib.sha256()
    root = course / "solutions" / assignment
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts
                       and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(_sha256(path.read_bytes()).encode())
    return digest.hexdigest()


def environment(course: Path) -> dict[str, Any]:
    """The course package's version, the constraints file's SHA-256 and the library versions."""
    import numpy
    import torch

    import course_utils

    found = [p for p in (course / "constraints.txt", constraints_of_package()) if p.is_file()]
    return {"course_version": course_utils.__version__,
            "constraints_sha256": _sha256(found[0].read_bytes()) if found else None,
            "python": platform.python_version(), "numpy": numpy.__version__, "torch": torch.__version__}


def constraints_of_package() -> Path:
    """The ``constraints.txt`` beside the installed ``course_utils`` (a source checkout's, when editable)."""
    import course_utils

    return Path(course_utils.__file__).resolve().parents[1] / "constraints.txt"


def settings_hash(settings: dict[str, Any]) -> str:
    """SHA-256 of the grading settings a score depends on (timeouts, limits, the sandbox)."""
    import json

    return _sha256(json.dumps(settings, sort_keys=True, default=str).encode())


def make(course: Path, assignment: str, student: str, env: dict[str, Any], source: str,
         settings: str | None = None) -> dict[str, Any]:
    """The receipt of one student's result (computed before grading: the key is what was graded)."""
    return {"submission_sha256": submission_hash(course, assignment, student), "source_sha256": source,
            "settings_sha256": settings, **env}


def already_graded(previous: dict[str, Any] | None, receipt: dict[str, Any]) -> bool:
    """Whether a recorded result has the same key and was not a failure of the grader's own."""
    if not previous or not isinstance(previous.get("receipt"), dict):
        return False
    old = previous["receipt"]
    if receipt["submission_sha256"] is None:
        return False
    same = all(old.get(k) == receipt[k] for k in KEY_FIELDS)
    return same and not str(previous.get("detail", "")).startswith(RETRY_DETAIL)
