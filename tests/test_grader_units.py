"""Unit tests of the grader's pieces that need no kernel: what crosses the boundary (wire), how a proxy
turns the student's exceptions into the checker's, reading and rebuilding submissions (collect) and
sanitising the feedback notebook (feedback)."""
from __future__ import annotations

import copy

import nbformat
import numpy as np
import pytest
import torch
from conftest import release_path, source_path

from course_utils import grading
from course_utils.grader import wire
from course_utils.grader.collect import canonical_submission, load_submission
from course_utils.grader.feedback import sanitize
from course_utils.grader.proxy import StudentError, _student_exception

A = "01_perceptron_xor"


def _round_trip(value, handle=None, make_handle=None):
    return wire.decode(wire.loads(wire.dumps(wire.encode(value, handle))), make_handle)


@pytest.mark.parametrize("value", [None, True, 0, -3, 2**200, 1.5, -0.0, "text", b"\x00\xff", 1 + 2j,
                                   (1, [2.0, {"a": None}]), {(1, 2): "tuple key", 3: [4]}])
def test_plain_values_cross_unchanged(value):
    back = _round_trip(value)
    assert back == value and type(back) is type(value)


def test_non_finite_floats_cross_as_tagged_strict_json():
    text = wire.dumps(wire.encode([float("nan"), float("inf"), -float("inf")]))
    assert "NaN" not in text and "Infinity" not in text
    back = wire.decode(wire.loads(text))
    assert np.isnan(back[0]) and back[1] == float("inf") and back[2] == -float("inf")


@pytest.mark.parametrize("array", [np.arange(6.0).reshape(2, 3), np.array([True, False]), np.int32(7),
                                   np.float64(2.5), np.zeros((0, 3), np.float32), np.arange(12).reshape(3, 4)[:, ::2]])
def test_arrays_and_numpy_scalars_keep_dtype_shape_and_values(array):
    back = _round_trip(array)
    assert type(back) is type(array) and np.asarray(back).dtype == np.asarray(array).dtype
    np.testing.assert_array_equal(back, array)


def test_subclasses_arrive_as_their_plain_values():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), dtype=bool)

    class LyingInt(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    array, number = _round_trip(np.zeros(3).view(Liar)), _round_trip(LyingInt(5))
    assert type(array) is np.ndarray and not (array == np.ones(3)).any()
    assert type(number) is int and number == 5 and number != 6


def test_tensors_arrive_as_data_without_grad():
    t = torch.arange(4.0, requires_grad=True) * 2
    back = _round_trip(t)
    assert type(back) is torch.Tensor and back.dtype == torch.float32 and not back.requires_grad
    assert torch.equal(back, t.detach())
    assert _round_trip(torch.ones(2, dtype=torch.bfloat16)).dtype == torch.bfloat16


def test_generators_cross_with_their_state():
    rng = np.random.default_rng(5)
    rng.random(3)
    back = _round_trip(rng)
    assert back.random() == rng.random()


def test_other_objects_need_a_handle_and_come_back_through_it():
    with pytest.raises(wire.WireError, match="not plain data"):
        wire.encode(object())
    marker = {"made": []}
    back = _round_trip([len], handle=lambda obj: {"t": "h", "id": 7},
                       make_handle=lambda ref: marker["made"].append(ref["id"]) or "proxy")
    assert back == ["proxy"] and marker["made"] == [7]


@pytest.mark.parametrize("data, why", [
    ({"t": "nd", "v": "not base64!"}, "npy"),
    ({"t": "unknown"}, "unknown tag"),
    ({"t": "h", "id": 1}, "reference"),
    ({"t": "code", "source": "import os", "name": "x"}, "code"),
    ({"t": "dict", "v": [[{"t": "list", "v": []}, 1]]}, "unhashable"),
    ({"t": "tensor", "dtype": "__import__('os')", "v": ""}, "npy"),
    (["a", "list"], "unexpected list"),
])
def test_the_decoder_refuses_what_encode_never_makes(data, why):
    with pytest.raises(wire.WireError, match=why):
        wire.decode(data)


def test_the_decoder_refuses_object_arrays_deep_nesting_and_deep_json():
    import base64
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([1, "x"], dtype=object), allow_pickle=True)
    with pytest.raises(wire.WireError):
        wire.decode({"t": "nd", "v": base64.b64encode(buf.getvalue()).decode()})
    deep = {"t": "list", "v": []}
    for _ in range(wire.MAX_DEPTH + 5):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(wire.WireError, match="deeper"):
        wire.decode(deep)
    with pytest.raises(wire.WireError, match="not JSON"):
        wire.loads("[" * 200_000 + "]" * 200_000)


@pytest.mark.parametrize("types, cls", [(["ValueError", "Exception"], ValueError),
                                        (["MyError", "KeyError", "LookupError"], KeyError),
                                        (["KeyboardInterrupt", "BaseException"], StudentError),
                                        (["SystemExit", "BaseException"], StudentError),
                                        (["Nonsense"], StudentError), ("not a list", StudentError)])
def test_student_exceptions_become_builtin_ones_or_student_errors(types, cls):
    err = _student_exception({"types": types, "message": "why"}, "f(...)")
    assert type(err) is cls and "why" in str(err)


def test_a_blank_exercise_says_so():
    err = _student_exception({"types": ["NotImplementedError"], "message": ""}, "predict(...)")
    assert isinstance(err, NotImplementedError) and "not attempted" in str(err)


@pytest.fixture(scope="module")
def notebooks():
    return {"source": grading.read_notebook(source_path(A)), "release": grading.read_notebook(release_path(A)),
            "points": grading.max_points(grading.read_notebook(source_path(A)))}


def _ids(nb) -> list:
    return [grading.nbgrader_meta(c).get("grade_id") for c in nb.cells]


def test_canonical_submission_restores_locked_cells_and_keeps_answers(notebooks):
    release = notebooks["release"]
    student = grading.fill_release(release, notebooks["source"], {"xor_network": "def xor_network():\n    return 1"})
    grading.find_cell(student, "xor_network_test").source = "pass"                      # edited test
    grading.find_cell(student, "predict_test").metadata.nbgrader["points"] = 1000        # inflated points
    student.cells.remove(grading.find_cell(student, "cover_count_test"))                 # deleted test
    moved = grading.find_cell(student, "threshold_mlp_test")                             # reordered
    student.cells.remove(moved)
    student.cells.insert(0, moved)
    student.cells.insert(5, nbformat.v4.new_code_cell("my_scratch = 1"))                 # the student's own
    graded = canonical_submission(release, student)
    assert [i for i in _ids(graded) if i] == [i for i in _ids(release) if i]
    for gid in ("xor_network_test", "predict_test", "cover_count_test", "threshold_mlp_test", "setup"):
        assert grading.find_cell(graded, gid).source == grading.find_cell(release, gid).source
        assert grading.find_cell(graded, gid).metadata == grading.find_cell(release, gid).metadata
    assert grading.find_cell(graded, "xor_network").source == "def xor_network():\n    return 1"
    assert sum(c.source == "my_scratch = 1" for c in graded.cells) == 1


def test_canonical_submission_survives_damaged_metadata(notebooks):
    student = grading.fill_release(notebooks["release"], notebooks["source"])
    grading.find_cell(student, "predict").metadata["nbgrader"] = 5
    grading.find_cell(student, "cover_count").metadata = ["not", "a", "dict"]
    grading.find_cell(student, "xor_network").metadata.nbgrader["grade_id"] = ["unhashable"]
    graded = canonical_submission(notebooks["release"], student)
    assert [i for i in _ids(graded) if i] == [i for i in _ids(notebooks["release"]) if i]


@pytest.mark.parametrize("text, why", [
    ("", "empty file"), ("{", "not JSON"), ("[1, 2]", "not a Jupyter notebook"),
    ('{"nbformat": 4, "cells": "x"}', "not a readable notebook"),
    ('{"nbformat": 4, "cells": ' + "[" * 200_000 + "]" * 200_000 + "}", "not JSON"),
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


def test_sanitize_keeps_text_and_images_and_drops_active_content(notebooks):
    nb = copy.deepcopy(notebooks["release"])
    code = grading.find_cell(nb, "predict")
    png = "iVBORw0KGgo="
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<script>alert(1)</script>", "text/plain": "ok",
                                                     "image/svg+xml": "<svg onload=alert(1)>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)"}),
        nbformat.v4.new_output("display_data", data={"image/png": png}),
        nbformat.v4.new_output("display_data", data={"image/png": "\"><script>alert(1)</script>"}),
        nbformat.v4.new_output("stream", name="stdout", text="<script>printed</script>"),
    ]
    attack = ("<script>alert(2)</script><img src=x onerror=alert(3)> [x](javascript:alert(4)) "
              "[y](&#x6A;avascript:alert(5)) ```` **bold**")
    nb.cells.append(nbformat.v4.new_markdown_cell(attack))
    trusted = [c.source for c in notebooks["release"].cells if c.cell_type == "markdown"]
    clean = sanitize(nb, trusted)
    outputs = grading.find_cell(clean, "predict").outputs
    assert [o.get("data", {}) for o in outputs[:2]] == [{"text/plain": "ok"}, {"image/png": png}]
    assert outputs[2]["text"] == "<script>printed</script>"  # text is escaped when rendered
    # a student's Markdown is shown verbatim in a code block (a fence longer than any run of backticks in it)
    assert clean.cells[-1].source == f"`````text\n{attack}\n`````"
    # the release's own Markdown is kept as it is
    assert [c.source for c in clean.cells if c.cell_type == "markdown"][:-1] == [
        c.source for c in nb.cells if c.cell_type == "markdown"][:-1]


def test_feedback_page_of_hostile_markdown_has_no_live_markup(tmp_path, notebooks):
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(notebooks["release"])
    for attack in ("<script>alert('x1')</script>", "<img src=x onerror=alert('x2')>", "[a](javascript:alert('x3'))",
                   "[b](&#x6A;avascript:alert('x4'))", "[c](jav\tascript:alert('x5'))", "<svg onload=alert('x6')>"):
        nb.cells.append(nbformat.v4.new_markdown_cell(attack))
    page, _ = HTMLExporter().from_notebook_node(sanitize(nb, []))
    for live in ("<script>alert", "<img src=x", "href=\"javascript", "href=\"&#x6A;", "<svg onload"):
        assert live not in page, live


def _tiny_assignment(solution: str, test: str):
    """A one-exercise source notebook in nbgrader's format, and its student notebook with ``solution``."""
    def cell(source, **meta):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["nbgrader"] = {"schema_version": 3, "grade": False, "solution": False, "locked": False, **meta}
        return c

    source = nbformat.v4.new_notebook()
    source.cells = [cell("import numpy as np\nfrom course_utils.checks import assert_close, in_kernel",
                         grade_id="setup", locked=True),
                    cell(solution, grade_id="answer", solution=True),
                    cell(test, grade_id="answer_test", grade=True, locked=True, points=10)]
    return source


def test_the_checker_never_sends_hidden_code_nor_shows_messages_written_on_hidden_inputs(tmp_path):
    from course_utils.grader.check import Checker

    test = ("def _visible(f, x):\n    return f(x)\n"
            "assert_close(in_kernel(_visible, double, 1.0), 2.0, 'double(1)')\n"
            "### BEGIN HIDDEN TESTS\n"
            "def _hidden(f, x):\n    return f(x)\n"
            "assert_close(in_kernel(_hidden, double, 3.0), 6.0, 'double(3)')\n"
            "### END HIDDEN TESTS\n")
    honest = _tiny_assignment("def double(x):\n    return 2 * x", test)
    (tmp_path / "k").mkdir()
    report = Checker(honest, timeout=30).grade(honest, tmp_path / "k", tmp_path / "s")
    assert report.cells == {"answer_test": 0.0}
    assert "defines it in its" in report.messages["answer_test"], report.messages
    # a student's error message on a hidden input is not shown; on a visible one it is
    test = ("assert_close(double(1.0), 2.0, 'double(1)')\n### BEGIN HIDDEN TESTS\n"
            "assert_close(double(3.25), 6.5, 'double(3.25)')\n### END HIDDEN TESTS\n")
    leaky = _tiny_assignment("def double(x):\n    if x != 1.0:\n        raise ValueError(f'secret {x!r}')\n"
                             "    return 2 * x", test)
    report = Checker(leaky, timeout=30).grade(leaky, tmp_path / "k", tmp_path / "s")
    assert report.cells == {"answer_test": 0.0} and "3.25" not in report.messages["answer_test"], report.messages
    assert "hidden test's inputs" in report.messages["answer_test"]
    visible = _tiny_assignment("def double(x):\n    raise ValueError(f'visible {x!r}')", test)
    report = Checker(visible, timeout=30).grade(visible, tmp_path / "k", tmp_path / "s")
    assert "visible 1.0" in report.messages["answer_test"], report.messages


def test_a_function_sent_as_code_is_not_an_input_changed_in_place():
    # a test that checks its inputs are unchanged and passes the student's function a function (topic 07's
    # relu_interpolant(f, ...)): the function is rebuilt in the kernel from source, so it never compares
    # equal to what was sent, and must not count as changed; an array changed in place still does
    import numpy as np

    from course_utils.grader import agent, wire

    sent = np.zeros(3)
    request = {"args": {"t": "list", "v": [{"t": "code", "name": "f", "source": "def f(x):\n    return x\n"},
                                           wire.encode(sent.copy()), wire.encode(sent.copy())]},
               "kwargs": {"t": "dict", "v": []}}
    changed = sent.copy()
    changed[0] = 1.0
    assert agent._after(request, [lambda x: x, sent.copy(), changed], {})["changed"] == [2]
