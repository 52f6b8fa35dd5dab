"""Feedback: one HTML page per graded student with nbgrader's ``generate_feedback``, from graded notebooks
that are sanitised first.

What a student controls in a graded notebook is the source of their cells and their kernel's outputs.
:func:`sanitize` keeps outputs of type text (stream, error, ``text/plain``) and PNG/JPEG images only (the
runner already drops HTML, JavaScript, SVG and other rich outputs), removes attachments and non-string
metadata from cells, and passes every Markdown cell that does not come from the release through bleach
(nbconvert's SanitizeHTML), which drops ``<script>``, event handlers
(``onerror=``), ``javascript:`` links and every tag or attribute not on its allow-list. Hidden tests are
never in a graded notebook: they run in the checker.
"""
from __future__ import annotations

import base64
import binascii
import copy
import re
from pathlib import Path
from typing import Any

from course_utils import grading

KEPT_MIME = ("text/plain", "image/png", "image/jpeg")
_URL_SCHEMES = re.compile(r"(?i)\b(javascript|vbscript|data)\s*:")


def _is_base64(text: Any) -> bool:
    try:
        base64.b64decode(str(text).replace("\n", ""), validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def sanitize(nb: Any) -> Any:
    """A copy of a graded notebook that is safe to render as HTML (see the module docstring)."""
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    nb = copy.deepcopy(nb)
    cleaner = SanitizeHTML()
    for cell in nb.cells:
        cell.pop("attachments", None)
        if cell.cell_type == "markdown" and not grading.nbgrader_meta(cell).get("grade_id"):
            cell.source = _URL_SCHEMES.sub(r"\1-blocked:", cleaner.sanitize_html_tags(cell.source))
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind in ("display_data", "execute_result"):
                data = {k: v for k, v in out.get("data", {}).items() if k in KEPT_MIME
                        and (k == "text/plain" or _is_base64(v))}
                if not data:
                    continue
                out["data"] = data
                out["metadata"] = {}
            elif kind not in ("stream", "error"):
                continue
            kept.append(out)
        cell.outputs = kept
    return nb


def feedback(course: Path, assignment: str) -> list[Path]:
    """Per-student HTML feedback with nbgrader's ``generate_feedback`` for every autograded submission.

    Returns:
        the feedback files written.
    """
    if not any((course / "autograded").glob(f"*/{assignment}")):
        raise RuntimeError(f"nothing autograded for {assignment} yet: run `course-grade autograde {assignment}`")
    grading.nbgrader(course, "generate_feedback", assignment, "--force")
    return sorted((course / "feedback").glob(f"*/{assignment}/*.html"))
