"""Unit tests for course_utils.checks: each check passes on good input and explains a failure."""
from __future__ import annotations

import re
import warnings

import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient

from course_utils.checks import (
    CheckError,
    assert_close,
    assert_dtype,
    assert_equal,
    assert_gradient,
    assert_returns,
    assert_shape,
    assert_unchanged,
    enable_friendly_errors,
)


def test_check_error_is_an_assertion_error() -> None:
    assert issubclass(CheckError, AssertionError)
    with pytest.raises(AssertionError):
        assert_close(1.0, 2.0)


# ---------------------------------------------------------------- assert_shape

def test_assert_shape_passes() -> None:
    assert_shape(np.zeros((2, 3)), (2, 3))
    assert_shape(torch.zeros(4, 1, 2), [4, 1, 2])
    assert_shape(torch.zeros(4, 5), torch.Size([4, 5]))
    assert_shape(3.0, ())
    assert_shape([[1, 2, 3]], (1, 3))


def test_assert_shape_reports_both_shapes_and_the_name() -> None:
    with pytest.raises(CheckError, match=re.escape("logits has shape (2, 5), expected (2, 4)")):
        assert_shape(np.zeros((2, 5)), (2, 4), name="logits")


def test_assert_shape_hints_at_a_transpose() -> None:
    with pytest.raises(CheckError, match=r"W has shape \(3, 2\), expected \(2, 3\).*swapped.*transpose"):
        assert_shape(np.zeros((3, 2)), (2, 3), name="W")
    with pytest.raises(CheckError, match=r"\(4, 3, 2\), expected \(2, 3, 4\).*transpose"):
        assert_shape(torch.zeros(4, 3, 2), (2, 3, 4))


def test_assert_shape_hints_at_a_reshape() -> None:
    with pytest.raises(CheckError, match=r"y_hat has shape \(6, 1\), expected \(6,\).*same number of"):
        assert_shape(np.zeros((6, 1)), (6,), name="y_hat")
    with pytest.raises(CheckError) as info:  # different size: no hint
        assert_shape(np.zeros((5,)), (6,), name="y_hat")
    assert str(info.value) == "y_hat has shape (5,), expected (6,)"


def test_none_means_a_missing_return() -> None:
    for check in (lambda: assert_shape(None, (2,), name="out"),
                  lambda: assert_close(None, [1.0], name="out"),
                  lambda: assert_dtype(None, "floating", name="out"),
                  lambda: assert_equal(None, [1], name="out"),
                  lambda: assert_gradient(None, np.sum, np.ones(2), name="out"),
                  lambda: assert_unchanged(np.ones(2), None, name="out")):
        with pytest.raises(CheckError, match=r"out is None: did the function forget to `return`"):
            check()


def test_unreadable_values_are_reported() -> None:
    with pytest.raises(CheckError, match=r"out is not a numeric array"):
        assert_shape([object(), object()], (2,), name="out")
    with pytest.raises(CheckError, match=r"out could not be read as an array|out is not a numeric array"):
        assert_shape([[1, 2], [3]], (2, 2), name="out")


# ---------------------------------------------------------------- assert_dtype

def test_assert_dtype_passes() -> None:
    assert_dtype(np.arange(3), "integer")
    assert_dtype(torch.arange(3), "integer")
    assert_dtype(np.zeros(2, dtype=np.float32), "floating")
    assert_dtype(torch.zeros(2), "floating")
    assert_dtype(np.array([True]), "bool")
    assert_dtype(np.zeros(2, dtype=np.float32), np.float32)
    assert_dtype(np.zeros(2), "float64")
    assert_dtype(np.zeros(2, dtype=np.int32), np.dtype("int32"))


def test_assert_dtype_failures() -> None:
    with pytest.raises(CheckError, match=r"labels has dtype float64, expected an integer dtype"):
        assert_dtype(np.zeros(3), "integer", name="labels")
    with pytest.raises(CheckError, match=r"x has dtype int64, expected a floating dtype"):
        assert_dtype(torch.arange(3), "floating", name="x")
    with pytest.raises(CheckError, match=r"x has dtype float64, expected dtype float32"):
        assert_dtype(np.zeros(3), np.float32, name="x")
    with pytest.raises(CheckError, match=r"mask has dtype int64, expected a bool dtype"):
        assert_dtype(np.zeros(3, dtype=np.int64), "bool", name="mask")


@pytest.mark.parametrize("kind", ["nonsense", 3.5])
def test_assert_dtype_rejects_unknown_kind(kind: object) -> None:
    with pytest.raises(ValueError, match="unknown dtype kind"):
        assert_dtype(np.zeros(3), kind)  # type: ignore[arg-type]


# ---------------------------------------------------------------- assert_close

def test_assert_close_passes_within_tolerance() -> None:
    rng = np.random.default_rng(0)
    expected = rng.standard_normal((3, 4))
    assert_close(expected * (1 + 5e-7), expected)
    assert_close(expected + 0.05, expected, rtol=0, atol=0.051)
    assert_close(torch.tensor(expected), expected)
    assert_close(torch.tensor(expected, requires_grad=True) * 1.0, torch.tensor(expected))
    assert_close(2.0, 2)
    assert_close([1.0, 2.0], (1.0, 2.0))
    assert_close(np.array([True, False]), np.array([1, 0]))
    assert_close(np.array([np.nan, np.inf, -np.inf]), np.array([np.nan, np.inf, -np.inf]))


def test_assert_close_with_infinities_writes_no_warning() -> None:
    # nbgrader scores a cell that writes to stderr 0: a passing check must not warn (inf - inf)
    scores = np.array([[0.5, -np.inf], [np.inf, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(scores.copy(), scores, name="masked_scores")
        with pytest.raises(CheckError, match=r"(?s)4 of 4 entries.*largest absolute error inf at index \(0,"):
            assert_close(-scores, scores)


def test_assert_close_message_has_name_index_values_error_and_tolerance() -> None:
    expected = np.arange(12, dtype=float).reshape(3, 4)
    actual = expected.copy()
    actual[1, 2] += 0.5     # first mismatch in row-major order
    actual[2, 3] -= 4.0     # largest error
    with pytest.raises(CheckError) as info:
        assert_close(actual, expected, name="dW", rtol=1e-5, atol=1e-7)
    msg = str(info.value)
    assert msg.startswith("dW differs from the expected value at 2 of 12 entries")
    assert "first mismatch at index (1, 2): got 6.5, expected 6" in msg
    assert "largest absolute error 4 at index (2, 3)" in msg
    assert "atol=1e-07" in msg and "rtol=1e-05" in msg


def test_assert_close_tolerance_boundary_is_atol_plus_rtol_times_expected() -> None:
    expected = np.array([100.0])
    assert_close(expected + 0.0099, expected, rtol=1e-4, atol=0.0)     # tol = 0.01
    with pytest.raises(CheckError):
        assert_close(expected + 0.0101, expected, rtol=1e-4, atol=0.0)
    assert_close(np.array([0.0]) + 0.9e-3, np.array([0.0]), rtol=1.0, atol=1e-3)  # rtol * 0 adds nothing
    with pytest.raises(CheckError):
        assert_close(np.array([0.0]) + 1.1e-3, np.array([0.0]), rtol=1.0, atol=1e-3)


def test_assert_close_scalar() -> None:
    with pytest.raises(CheckError) as info:
        assert_close(1.5, 1.0, name="loss")
    msg = str(info.value)
    assert msg.startswith("loss differs from the expected value at the value.\n")
    assert "got 1.5, expected 1\n" in msg and "largest absolute error 0.5" in msg


def test_assert_close_shape_mismatch_is_reported_before_values() -> None:
    with pytest.raises(CheckError, match=r"probs has shape \(3, 1\), expected \(3,\).*same number of"):
        assert_close(np.ones((3, 1)), np.ones(3), name="probs")
    with pytest.raises(CheckError, match=r"h has shape \(4, 2\), expected \(2, 4\).*transpose"):
        assert_close(torch.zeros(4, 2), np.zeros((2, 4)), name="h")


def test_assert_close_reports_nan_and_inf() -> None:
    expected = np.ones((2, 3))
    actual = expected.copy()
    actual[0, 2] = np.nan
    actual[1, 0] = np.inf
    with pytest.raises(CheckError) as info:
        assert_close(actual, expected, name="softmax")
    msg = str(info.value)
    assert "softmax has 2 non-finite value(s)" in msg
    assert "first at index (0, 2): got nan, expected 1" in msg
    with pytest.raises(CheckError, match=r"non-finite.*got -inf"):
        assert_close(torch.tensor([-np.inf]), [0.0])
    with pytest.raises(CheckError, match=r"index \(0,\): got inf, expected -inf"):  # wrong infinity
        assert_close([np.inf], [-np.inf])
    with pytest.raises(CheckError, match=r"got 1, expected nan"):  # a NaN is expected, a number came back
        assert_close([1.0], [np.nan])


def test_assert_close_hint_is_appended() -> None:
    with pytest.raises(CheckError, match=r"\n  hint: did you divide by N\?$"):
        assert_close([1.0], [2.0], hint="did you divide by N?")


def test_assert_close_non_numeric() -> None:
    with pytest.raises(CheckError, match="non-numeric dtype"):
        assert_close("abc", 1.0, name="answer")


# ---------------------------------------------------------------- assert_equal

def test_assert_equal_passes() -> None:
    assert_equal(np.array([0, 1, 2]), [0, 1, 2])
    assert_equal(torch.tensor([1, 0]), np.array([1, 0]))
    assert_equal(3, 3)
    assert_equal(np.int64(3), 3)
    assert_equal(np.array([True, False]), [True, False])


def test_assert_equal_is_exact() -> None:
    with pytest.raises(CheckError, match=r"(?s)pred differs .* 1 of 3 entries.*\(2,\): got 1, expected 2"):
        assert_equal(np.array([0, 1, 1]), [0, 1, 2], name="pred")
    with pytest.raises(CheckError):
        assert_equal(np.array([1.0 + 1e-12]), [1.0])


def test_assert_equal_wants_an_int_for_an_int() -> None:
    with pytest.raises(CheckError, match=r"count should be an int, got float 3\.0"):
        assert_equal(3.0, 3, name="count")
    with pytest.raises(CheckError, match=r"count should be an int, got str"):
        assert_equal("3", 3, name="count")


def test_assert_equal_hint() -> None:
    with pytest.raises(CheckError, match="hint: labels start at 0"):
        assert_equal([1, 2], [0, 1], hint="labels start at 0")


# ---------------------------------------------------------------- assert_returns

def test_assert_returns() -> None:
    w, b = assert_returns((np.ones(2), 0.5), 2)
    assert b == 0.5
    assert assert_returns([1, 2, 3], 3) == (1, 2, 3)
    with pytest.raises(CheckError, match=r"train should return 2 values \(w, b\), got 3"):
        assert_returns((1, 2, 3), 2, name="train", names="(w, b)")
    with pytest.raises(CheckError, match=r"conv_forward should return 2 values, got one ndarray"):
        assert_returns(np.zeros(3), 2, name="conv_forward")
    with pytest.raises(CheckError, match=r"should return 2 values \(out, cache\), got one NoneType"):
        assert_returns(None, 2, names="(out, cache)")


# ---------------------------------------------------------------- assert_unchanged

def test_assert_unchanged() -> None:
    x = np.arange(12.0).reshape(3, 4)
    assert_unchanged(x.copy(), x)
    assert_unchanged(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert_unchanged(torch.arange(3), torch.arange(3))
    after = x.copy()
    after[2, 1] = -1
    with pytest.raises(CheckError, match=r"X was modified in place \(first change at index \(2, 1\)\)"):
        assert_unchanged(x, after, name="X")
    with pytest.raises(CheckError, match=r"X was modified in place \(its shape changed\)"):
        assert_unchanged(x, x.reshape(4, 3), name="X")


def test_assert_unchanged_ignores_nan_that_did_not_change() -> None:
    before = np.array([np.nan, 1.0, 2.0, 3.0])
    after = before.copy()
    after[2] = 5.0
    with pytest.raises(CheckError, match=r"first change at index \(2,\)"):
        assert_unchanged(before, after)


# ---------------------------------------------------------------- assert_gradient

def _f(v: np.ndarray) -> float:
    return float(np.sum(v ** 2) + np.sum(np.sin(v)))


def test_assert_gradient_accepts_the_right_gradient() -> None:
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert_gradient(2 * x + np.cos(x), _f, x)
    assert_gradient(torch.tensor(2 * x + np.cos(x)), _f, x.astype(np.float32))  # tensors, float32 x
    t = torch.tensor(x, requires_grad=True)
    (t.pow(2).sum() + t.sin().sum()).backward()
    assert_gradient(t.grad, _f, x)


def test_assert_gradient_catches_a_missing_factor_two() -> None:
    x = np.random.default_rng(1).standard_normal((2, 3, 2))
    with pytest.raises(CheckError) as info:
        assert_gradient(x + np.cos(x), _f, x, name="dx")
    msg = str(info.value)
    assert msg.startswith("dx disagrees with the numerical gradient: relative error")
    assert re.search(r"relative error [0-9.e+-]+ > 1e-06; worst at index \(\d, \d, \d\): "
                     r"analytic [0-9.e+-]+, numerical [0-9.e+-]+$", msg)


def test_assert_gradient_catches_a_small_error_in_one_entry() -> None:
    x = np.random.default_rng(2).standard_normal(5)
    g = 2 * x + np.cos(x)
    g[3] += 1e-3
    with pytest.raises(CheckError, match=r"worst at index \(3,\)"):
        assert_gradient(g, _f, x)


def test_assert_gradient_shape_and_none() -> None:
    x = np.random.default_rng(3).standard_normal((2, 3))
    with pytest.raises(CheckError, match=r"dW has shape \(3, 2\), expected \(2, 3\).*transpose"):
        assert_gradient((2 * x + np.cos(x)).T, _f, x, name="dW")
    with pytest.raises(CheckError, match=r"dW is None: did the function forget to `return`"):
        assert_gradient(None, _f, x, name="dW")


def test_assert_gradient_reports_nan_gradient() -> None:
    x = np.ones(3)
    with pytest.raises(CheckError, match="relative error nan"):
        assert_gradient(np.full(3, np.nan), _f, x)


# ---------------------------------------------------------------- friendly errors

def test_enable_friendly_errors_is_a_no_op_outside_ipython() -> None:
    assert enable_friendly_errors() is False


def test_friendly_errors_in_a_real_kernel(tmp_path) -> None:
    cells = [
        "from course_utils.checks import enable_friendly_errors\nok = enable_friendly_errors()\nprint(ok)",
        "def predict():\n    raise NotImplementedError()\n\npredict()",
        "from course_utils.checks import assert_close\nassert_close([1.0, 2.0], [1.0, 3.0], name='y_hat')",
        "1 / 0",
        "print('still running')",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=60,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outs = [cell.outputs for cell in nb.cells]

    assert outs[0][0]["text"].strip() == "True"

    # a blank exercise: one error output, a one-line traceback naming the stub
    (err,) = outs[1]
    assert err["output_type"] == "error" and err["ename"] == "NotImplementedError"
    assert len(err["traceback"]) == 1 and "\n" not in err["traceback"][0]
    assert "exercise not attempted" in err["traceback"][0] and "`predict`" in err["traceback"][0]

    # a failed check: still an error output (nbgrader scores the cell 0), with the explanation only
    (err,) = outs[2]
    assert err["output_type"] == "error" and err["ename"] == "CheckError"
    assert len(err["traceback"]) == 1
    assert err["traceback"][0].startswith("CheckError: y_hat differs from the expected value")
    assert "first mismatch at index (1,)" in err["traceback"][0]

    # other errors keep IPython's full traceback
    (err,) = outs[3]
    assert err["ename"] == "ZeroDivisionError" and len(err["traceback"]) > 1

    assert outs[4][0]["text"] == "still running\n"


def test_assert_numpy_only_passes_numpy_and_names_the_pytorch_function_used():
    from course_utils.checks import assert_numpy_only, in_kernel

    assert_close(assert_numpy_only(lambda x: np.maximum(x, 0), np.array([-1.0, 2.0])), [0.0, 2.0])

    def relu(x):
        return torch.relu(torch.from_numpy(x)).numpy()

    with pytest.raises(CheckError, match=r"relu\(\.\.\.\) called PyTorch \(.*relu.*\): .*NumPy only"):
        assert_numpy_only(relu, np.array([-1.0, 2.0]))

    def hides_it(x):  # catching the guard's error does not hide the use
        try:
            return torch.tensor(x).numpy()
        except Exception:
            return np.asarray(x)

    with pytest.raises(CheckError, match="called PyTorch"):
        assert_numpy_only(hides_it, [1.0])
    assert torch.relu(torch.tensor([-1.0])).item() == 0.0  # the guard is gone afterwards
    assert in_kernel(lambda a, b=1: a + b, 2, b=3) == 5     # outside the grader, a plain call


def test_short_validation_results_keeps_the_first_line_and_the_errors_last():
    from course_utils.checks import short_validation_results

    results = {"failed": [{"source": "# Visible tests for predict\n_w = 1\n\nassert_shape(_w, (1,))",
                           "error": "<pre>long</pre>",
                           "raw_error": "Traceback (most recent call last)\n  File x\n"
                                        "\x1b[0;31mCheckError\x1b[0m: predict(w, b, X) differs at index 2"}],
               "changed": [{"source": "one line"}]}
    short = short_validation_results(results)
    assert short["failed"] == [{"source": "# Visible tests for predict\n... (2 more lines)",
                                "raw_error": "CheckError: predict(w, b, X) differs at index 2",
                                "error": "CheckError: predict(w, b, X) differs at index 2"}]
    assert short["changed"] == [{"source": "one line"}]
    assert results["failed"][0]["source"].endswith("(1,))"), "the input was changed"
    assert short_validation_results({"failed": [{"source": "x", "raw_error": "a < b", "error": ""}]}
                                    )["failed"][0]["error"] == "a &lt; b"
    # a check's message spans lines: what differs first, then the tolerance and the hint; all are kept
    multi = ("Traceback\n  File y\n\x1b[0;31mCheckError\x1b[0m: w differs at index (2,): got 1, expected 0\n"
             "largest absolute error 1 at index (2,) (tolerance: 1e-08)\nhint: the bias moves too")
    assert short_validation_results({"failed": [{"source": "x", "raw_error": multi, "error": ""}]}
                                    )["failed"][0]["raw_error"].splitlines() == [
        "CheckError: w differs at index (2,): got 1, expected 0",
        "largest absolute error 1 at index (2,) (tolerance: 1e-08)", "hint: the bias moves too"]
