"""Unit tests of what course-grade grades and how it scores it (course_utils.submission), and of the kernel
guard's restore (course_utils.kernel_guard), without running nbgrader."""
from __future__ import annotations

import copy
import json

import nbformat
import pytest
from conftest import release_path, source_path

from course_utils import grading, kernel_guard
from course_utils.submission import (
    GUARD_PREFIX,
    TOKEN_TEXT,
    canonical_submission,
    harden,
    load_submission,
    trusted_scores,
    unharden,
)

A = "01_perceptron_xor"


@pytest.fixture(scope="module")
def notebooks():
    source = grading.read_notebook(source_path(A))
    hardened, tokens = harden(source)
    release = grading.read_notebook(release_path(A))
    # the template release: the release with the guard cells (what nbgrader would generate from `hardened`)
    template = copy.deepcopy(release)
    cells = []
    for cell in template.cells:
        gid = grading.nbgrader_meta(cell).get("grade_id")
        if gid in tokens:
            cells.append(copy.deepcopy(grading.find_cell(hardened, GUARD_PREFIX + gid)))
        cells.append(cell)
    template.cells = cells
    return {"source": source, "hardened": hardened, "tokens": tokens, "release": release, "template": template,
            "points": grading.max_points(source)}


def _ids(nb) -> list:
    return [grading.nbgrader_meta(c).get("grade_id") for c in nb.cells]


def test_harden_puts_a_guard_before_every_test_and_tokens_in_both(notebooks):
    hardened, tokens = notebooks["hardened"], notebooks["tokens"]
    assert set(tokens) == set(notebooks["points"])
    ids = _ids(hardened)
    for gid, (guard_token, test_token) in tokens.items():
        assert ids[ids.index(gid) - 1] == GUARD_PREFIX + gid
        assert guard_token in grading.find_cell(hardened, GUARD_PREFIX + gid).source
        assert grading.find_cell(hardened, gid).source.rstrip().endswith(f"{test_token}')  # course-grade")
    assert len({t for pair in tokens.values() for t in pair}) == 2 * len(tokens)  # all different
    assert harden(notebooks["source"])[1] != tokens  # new tokens every time


def test_canonical_submission_restores_locked_cells_and_keeps_answers(notebooks):
    template, release = notebooks["template"], notebooks["release"]
    student = grading.fill_release(release, notebooks["source"], {"xor_network": "def xor_network():\n    return 1"})
    grading.find_cell(student, "xor_network_test").source = "pass"                      # edited test
    grading.find_cell(student, "predict_test").metadata.nbgrader["points"] = 1000        # inflated points
    student.cells.remove(grading.find_cell(student, "cover_count_test"))                 # deleted test
    moved = grading.find_cell(student, "threshold_mlp_test")                             # reordered
    student.cells.remove(moved)
    student.cells.insert(0, moved)
    student.cells.insert(5, nbformat.v4.new_code_cell("my_scratch = 1"))                 # the student's own
    graded = canonical_submission(template, student)
    assert [i for i in _ids(graded) if i] == [i for i in _ids(template) if i]
    for gid in ("xor_network_test", "predict_test", "cover_count_test", "threshold_mlp_test", "setup"):
        assert grading.find_cell(graded, gid).source == grading.find_cell(template, gid).source
        assert grading.find_cell(graded, gid).metadata == grading.find_cell(template, gid).metadata
    assert grading.find_cell(graded, "xor_network").source == "def xor_network():\n    return 1"
    assert sum(c.source == "my_scratch = 1" for c in graded.cells) == 1


def test_unharden_removes_guards_and_tokens(notebooks):
    hardened, tokens = notebooks["hardened"], notebooks["tokens"]
    executed = copy.deepcopy(hardened)
    gid = "predict_test"
    token_line = TOKEN_TEXT.format(kind="check", token=tokens[gid][1])
    grading.find_cell(executed, gid).outputs = [nbformat.v4.new_output(
        "stream", name="stdout", text=f"predict: visible tests passed\n{token_line}\n")]
    shown = unharden(executed, tokens)
    text = json.dumps(shown)
    assert "course-grade" not in text and "__course_guard__" not in text
    assert grading.find_cell(shown, gid).outputs[0]["text"] == "predict: visible tests passed\n"
    assert grading.find_cell(shown, gid).source == grading.find_cell(notebooks["source"], gid).source.rstrip()


def test_trusted_scores_need_both_tokens(notebooks):
    hardened, tokens, points = notebooks["hardened"], notebooks["tokens"], notebooks["points"]
    executed = copy.deepcopy(hardened)
    for gid, (guard_token, test_token) in tokens.items():
        for cell_id, kind, token in ((GUARD_PREFIX + gid, "guard", guard_token), (gid, "check", test_token)):
            grading.find_cell(executed, cell_id).outputs = [nbformat.v4.new_output(
                "stream", name="stdout", text=TOKEN_TEXT.format(kind=kind, token=token) + "\n")]
    cells, voided = trusted_scores(executed, tokens, points, points)
    assert cells == points and voided == []
    grading.find_cell(executed, "predict_test").outputs = []                     # the test did not finish
    grading.find_cell(executed, GUARD_PREFIX + "cover_count_test").outputs = []  # its guard did not run
    cells, voided = trusted_scores(executed, tokens, points, points)
    assert cells["predict_test"] == cells["cover_count_test"] == 0.0
    assert sorted(voided) == ["cover_count_test", "predict_test"]
    assert sum(cells.values()) == 100 - points["predict_test"] - points["cover_count_test"]


@pytest.mark.parametrize("text, why", [
    ("", "empty file"), ("{", "not JSON"), ("[1, 2]", "not a Jupyter notebook"),
    ('{"nbformat": 4, "cells": "x"}', "not a readable notebook"),
])
def test_load_submission_says_why_a_file_cannot_be_graded(tmp_path, text, why):
    path = tmp_path / "s.ipynb"
    path.write_text(text)
    nb, problem = load_submission(path, {"predict"})
    assert nb is None and problem.startswith(why), problem


def test_load_submission_upgrades_nbformat_3_and_rejects_other_assignments(tmp_path, notebooks):
    honest = grading.fill_release(notebooks["release"], notebooks["source"])
    path = tmp_path / "v3.ipynb"
    path.write_text(nbformat.writes(nbformat.convert(copy.deepcopy(honest), 3), version=3))
    nb, problem = load_submission(path, set(notebooks["points"]))
    assert problem is None and nb.nbformat == 4
    assert grading.find_cell(nb, "predict").source == grading.find_cell(honest, "predict").source
    other = tmp_path / "other.ipynb"
    other.write_text(release_path("02_backprop").read_text())
    assert "another assignment" in load_submission(other, set(notebooks["points"]))[1]


def test_kernel_guard_restores_patched_functions_code_and_builtins():
    import builtins

    import numpy as np

    from course_utils import checks

    kernel_guard.snapshot_modules()
    allclose, assert_close, isinstance_ = np.allclose, checks.assert_close, isinstance
    code = checks.assert_equal.__code__
    try:
        np.allclose = lambda *a, **k: True
        checks.assert_close = lambda *a, **k: None
        checks.assert_equal.__code__ = (lambda *a, **k: None).__code__
        builtins.isinstance = lambda *a: True
        assert kernel_guard.restore() >= 4
        assert np.allclose is allclose and checks.assert_close is assert_close and builtins.isinstance is isinstance_
        assert checks.assert_equal.__code__ is code
        with pytest.raises(checks.CheckError):
            checks.assert_equal([1], [2])
        assert kernel_guard.restore() == 0  # nothing left to put back
    finally:
        np.allclose, checks.assert_close, builtins.isinstance = allclose, assert_close, isinstance_
        checks.assert_equal.__code__ = code
