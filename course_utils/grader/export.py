"""``course-grade export``: the results of every assignment as CSV, every field quoted (nbgrader's own
export does not quote), with each result's receipt (:mod:`.receipt`) in the last columns."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from course_utils.grader.receipt import FIELDS


def export_rows(course: Path) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of the export, from every ``grades/*.json``."""
    records, grade_ids = [], []
    for path in sorted((course / "grades").glob("*.json")):
        data = json.loads(path.read_text())
        for r in data["results"]:
            records.append((data["assignment"], r))
            grade_ids.extend(g for g in r["cells"] if g not in grade_ids)
    header = ["student", "assignment", "score", "max_score", "status", *grade_ids, *FIELDS]
    rows = [[r["student"], assignment, r["score"], r["max_score"], r["status"],
             *(r["cells"].get(g, "") for g in grade_ids),
             *((r.get("receipt") or {}).get(f, "") for f in FIELDS)] for assignment, r in records]
    return header, rows


def export(course: Path, out: Any) -> int:
    """Write the export as CSV (every field quoted) to a text stream; returns the number of rows."""
    header, rows = export_rows(course)
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return len(rows)
