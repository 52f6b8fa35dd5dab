"""The README's instructor walkthrough works as written, on the bundled example class.

The commands are read from the README (the code block after ``<!-- walkthrough -->``) and run with bash in
a fresh copy of the course, and the scores they produce are compared with the README's table of the
example class (the one after ``<!-- walkthrough-scores -->``).
"""
from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

from course_utils import grading

pytestmark = pytest.mark.slow
EXAMPLES = ROOT / "examples"


def _section(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    assert marker in text, f"README.md has no {marker}"
    return text.split(marker, 1)[1]


def walkthrough_commands() -> list[str]:
    block = re.search(r"```(?:bash)?\n(.*?)```", _section("<!-- walkthrough -->"), re.S)
    assert block, "no code block after <!-- walkthrough -->"
    lines = [ln.split("#")[0].strip() for ln in block.group(1).splitlines()]
    return [ln for ln in lines if ln]


def walkthrough_scores() -> dict[str, tuple[float, str]]:
    rows = {}
    for line in _section("<!-- walkthrough-scores -->").strip().splitlines():
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        if cells[0] in ("student", "") or set(cells[0]) <= {"-", ":"}:
            continue
        rows[cells[0]] = (float(cells[1]), cells[2])
    return rows


def test_example_submissions_are_up_to_date():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_submissions
    finally:
        sys.path.remove(str(EXAMPLES))
    expected = make_submissions.submissions()
    folder = make_submissions.OUT
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert present == set(expected), f"examples differ from make_submissions.py: {sorted(present ^ set(expected))}"
    stale = [name for name, text in expected.items() if (folder / name).read_text() != text]
    assert not stale, f"stale example submissions (run python examples/make_submissions.py): {stale}"


def test_readme_walkthrough(tmp_path):
    course = grading.copy_course(ROOT, tmp_path / "course")
    shutil.copytree(EXAMPLES, course / "examples")
    commands = walkthrough_commands()
    assert any(c.startswith("course-grade autograde") for c in commands), commands
    for command in commands:
        proc = subprocess.run(["bash", "-c", command], cwd=course, capture_output=True, text=True, timeout=600,
                              env=grading.tool_env())
        assert proc.returncode == 0, f"{command!r} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    with open(course / "grades.csv", newline="") as f:
        got = {r["student"]: (float(r["score"]), r["status"]) for r in csv.DictReader(f)}
    assert got == walkthrough_scores()
    assert (course / "feedback" / "alice" / "01_perceptron_xor" / "01_perceptron_xor.html").is_file()
