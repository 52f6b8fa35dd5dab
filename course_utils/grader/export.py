"""``course-grade export``: the results of every assignment as CSV, every field quoted (nbgrader's own
export does not quote)."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any


def export_rows(course: Path) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of the export, from every ``grades/*.json``."""
    records, grade_ids = [], []
    for path in sorted((course / "grades").glob("*.json")):
        data = json.loads(path.read_text())
        for r in data["results"]:
            records.append((data["assignment"], r))
            grade_ids.extend(g for g in r["cells"] if g not in grade_ids)
    header = ["student", "assignment", "score", "max_score", "status", *grade_ids]
    rows = [[r["student"], assignment, r["score"], r["max_score"], r["status"],
             *(r["cells"].get(g, "") for g in grade_ids)] for assignment, r in records]
    return header, rows


def export(course: Path, out: Any) -> int:
    """Write the export as CSV (every field quoted) to a text stream; returns the number of rows."""
    header, rows = export_rows(course)
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return len(rows)
