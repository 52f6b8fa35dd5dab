"""Every attack of tests/grading_attacks.py scores exactly what its control scores, cell by cell (the known
gaps, exactly the gain they declare), through
``course-grade`` itself (sandboxed in CI), and leaves nothing it should not in its feedback page.

One course copy and one ``course-grade autograde`` run per assignment, with every attack and its control.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import grading_attacks as attacks
import pytest
from conftest import ROOT, hidden_only_lines, page_text, release_path

from course_utils import grading

pytestmark = pytest.mark.slow


def _submission(release, answers, attack=None):
    """The release with ``answers`` in its solution cells, and the attack's extra cells."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    nb = grading.fill_release(release, release, answers) if answers else copy.deepcopy(release)
    if attack is not None:
        if attack.cell:
            if attack.position == "start":
                setup = next(i for i, c in enumerate(nb.cells) if grading.nbgrader_meta(c).get("grade_id") == "setup")
                nb.cells.insert(setup + 1, new_code_cell(attack.cell))
            else:
                nb.cells.append(new_code_cell(attack.cell))
        if attack.markdown:
            nb.cells.append(new_markdown_cell(attack.markdown))
    return nb


@pytest.mark.parametrize("assignment", sorted({a.assignment for a in attacks.ATTACKS}))
def test_attacks_score_what_their_controls_score(assignment, tmp_path):
    from course_utils.grader.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem and os.environ.get("CI"):
        pytest.fail(f"CI must grade in the sandbox (.ci/run installs bubblewrap): {problem}")
    course = grading.copy_course(ROOT, tmp_path / "course")
    release = grading.read_notebook(release_path(assignment))
    cases = [a for a in attacks.ATTACKS if a.assignment == assignment]
    hidden = hidden_only_lines(assignment)
    assert hidden, "no hidden test to look for"
    controls: dict[str, str] = {}
    for attack in cases:
        key = json.dumps(attack.control_answers, sort_keys=True)
        if key not in controls:
            controls[key] = f"control{len(controls)}"
            nb = _submission(release, attack.control_answers)
            grading.submit(course, assignment, controls[key], {f"{assignment}.ipynb": nb})
        grading.submit(course, assignment, attack.name, {f"{assignment}.ipynb": _submission(
            release, attack.answers, attack)})
    env = grading.tool_env()
    run = [sys.executable, "-m", "course_utils.grader", "--course", str(course)]
    auto = subprocess.run([*run, "autograde", assignment, "--jobs", "2", "--timeout", "30", "--memory", "2048"],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert auto.returncode == 0, auto.stderr[-3000:]
    feedback = subprocess.run([*run, "feedback", assignment], capture_output=True, text=True, env=env, timeout=600)
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    results = {r["student"]: r for r in json.loads((course / "grades" / f"{assignment}.json").read_text())["results"]}
    wrong = []
    for attack in cases:
        cheat, control = results[attack.name], results[controls[json.dumps(attack.control_answers, sort_keys=True)]]
        gained = {g: v - control["cells"][g] for g, v in cheat["cells"].items() if v != control["cells"][g]
                  and not (g in attack.self_harm and v < control["cells"][g])}
        if gained != attack.gains:
            wrong.append(f"{attack.name}: gains {gained} over its control, expected {attack.gains} "
                         f"(cheat: {cheat['status']}, {cheat['messages']})")
        page = next((course / "feedback" / attack.name / assignment).glob("*.html"), None)
        assert page is not None, f"{attack.name}: no feedback page ({cheat['status']}: {cheat['detail']})"
        html = page.read_text()
        text = page_text(html)
        leaked = [s for s in attack.feedback_absent if s in html]
        if leaked:
            wrong.append(f"{attack.name}: its feedback page contains {leaked}")
        shown = [ln for ln in hidden if ln in text]
        if shown:
            wrong.append(f"{attack.name}: hidden test code in its feedback: {shown[:2]}")
    assert not wrong, "\n".join(wrong)
