"""Feedback: one HTML page per graded student with nbgrader's ``generate_feedback``, from graded notebooks
that are sanitised first (in the checker's worker, under the submission's wall-clock limit).

What a student controls in a graded notebook is the source of their cells and their kernel's outputs.
:func:`sanitize` keeps outputs of type text (stream, error, ``text/plain``) and PNG/JPEG images only (the
runner already drops HTML, JavaScript, SVG and other rich outputs), removes attachments, and shows every
Markdown cell that is not one of the release's own, word for word, as plain text in a code block: no HTML,
link, image or entity in it is interpreted, so nothing active can reach the page, however it is encoded.
Hidden tests are never in a graded notebook: they run in the checker.
"""
from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from course_utils import grading
from course_utils.grader.runner import KEPT_MIME

#: the longest Markdown cell of a student's shown in the feedback (characters)
MAX_MARKDOWN = 20_000


def _is_base64(text: Any) -> bool:
    try:
        base64.b64decode(str(text).replace("\n", ""), validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def as_text_block(text: str) -> str:
    """Markdown that shows ``text`` verbatim: a fenced code block longer than any run of backticks in it."""
    if len(text) > MAX_MARKDOWN:
        text = text[:MAX_MARKDOWN] + "\n... (cut by the grader)"
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


def sanitize(nb: Any, trusted_markdown: Collection[str] = ()) -> Any:
    """A copy of a graded notebook that is safe to render as HTML (see the module docstring).

    Args:
        trusted_markdown: the sources of the release's Markdown cells, kept as they are.
    """
    nb = copy.deepcopy(nb)
    trusted = set(trusted_markdown)
    for cell in nb.cells:
        cell.pop("attachments", None)
        if cell.cell_type == "markdown" and cell.source not in trusted:
            cell.source = as_text_block(cell.source)
        if cell.cell_type != "code":
            continue
        if not isinstance(cell.get("execution_count"), int):
            cell.execution_count = None
        kept = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind in ("display_data", "execute_result"):
                data = {k: v for k, v in out.get("data", {}).items() if k in KEPT_MIME and isinstance(v, str)
                        and (k == "text/plain" or _is_base64(v))}
                if not data:
                    continue
                out["data"] = data
                out["metadata"] = {}
                if kind == "execute_result" and not isinstance(out.get("execution_count"), int):
                    out["execution_count"] = None
            elif kind == "stream":
                out["name"] = "stderr" if out.get("name") == "stderr" else "stdout"
            elif kind != "error":
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
