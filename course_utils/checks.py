"""Assertions for graded cells that say what differs.

Each check raises :class:`CheckError` (a subclass of ``AssertionError``, so nbgrader and pytest treat
it as a failed test) with a message that names the quantity and reports what was expected, what came
back and how far apart they are: the shape or dtype, the first mismatching index, the largest absolute
error and the tolerance. Every check accepts NumPy arrays, PyTorch tensors, Python numbers and nested
lists.

Call :func:`enable_friendly_errors` once in a notebook's setup cell: a blank exercise (one that still
raises ``NotImplementedError``) and a failed check then show one readable line instead of a traceback.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class CheckError(AssertionError):
    """A check in a test cell failed; the message says what differs."""


def _to_numpy(value: Any, name: str) -> np.ndarray:
    if value is None:
        raise CheckError(f"{name} is None: did the function forget to `return` its result?")
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor, without importing torch
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any failure to convert is the student's to see
        raise CheckError(f"{name} could not be read as an array ({type(value).__name__}: {exc})") from None
    if arr.dtype == object:
        raise CheckError(f"{name} is not a numeric array (got {type(value).__name__} with dtype object)")
    return arr


def _fmt(x: Any) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return repr(x.item()) if isinstance(x, np.generic) else repr(x)


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def assert_shape(actual: Any, expected: Sequence[int], name: str = "result") -> None:
    """Check that ``actual`` has exactly the shape ``expected`` (a tuple of ints).

    Raises:
        CheckError: the shapes differ (both are reported, with a hint for a transposed result).
    """
    arr = _to_numpy(actual, name)
    expected = tuple(int(s) for s in expected)
    if arr.shape != expected:
        hint = ""
        if arr.shape == expected[::-1] and len(expected) > 1:
            hint = " (the axes look swapped: a missing or extra transpose?)"
        elif arr.size == int(np.prod(expected)):
            hint = " (same number of entries: a reshape, or a reduction over the wrong axis?)"
        raise CheckError(f"{name} has shape {arr.shape}, expected {expected}{hint}")


def assert_dtype(actual: Any, kind: str | type | np.dtype, name: str = "result") -> None:
    """Check the element type: ``kind`` is "integer", "floating", "bool" or a NumPy dtype.

    Raises:
        CheckError: the dtype does not match.
        ValueError: ``kind`` is not understood.
    """
    arr = _to_numpy(actual, name)
    kinds = {"integer": np.integer, "floating": np.floating, "bool": np.bool_}
    if isinstance(kind, str) and kind in kinds:
        ok = np.issubdtype(arr.dtype, kinds[kind])
        label = f"an {kind} dtype" if kind == "integer" else f"a {kind} dtype"
    else:
        try:
            want = np.dtype(kind)
        except TypeError:
            raise ValueError(f"unknown dtype kind {kind!r}") from None
        ok, label = arr.dtype == want, f"dtype {want}"
    if not ok:
        raise CheckError(f"{name} has dtype {arr.dtype}, expected {label}")


def assert_close(
    actual: Any, expected: Any, name: str = "result", rtol: float = 1e-6, atol: float = 1e-8,
    hint: str = "",
) -> None:
    """Check that ``actual`` equals ``expected`` elementwise within ``atol + rtol * |expected|``.

    Shapes must match exactly (no broadcasting: a (3, 1) answer for a (3,) target is a mistake).
    NaN or infinity in ``actual`` where ``expected`` is finite is reported as such.

    Raises:
        CheckError: with the shape, the number of mismatching entries, the first mismatching index
        and both values there, the largest absolute error and the tolerance (and ``hint``).
    """
    exp = _to_numpy(expected, f"expected {name}")
    act = _to_numpy(actual, name)
    assert_shape(act, exp.shape, name)
    if act.dtype == np.bool_ or exp.dtype == np.bool_:
        act, exp = act.astype(np.int64), exp.astype(np.int64)
    try:
        act64, exp64 = act.astype(np.float64), exp.astype(np.float64)
    except (TypeError, ValueError):
        raise CheckError(f"{name} has non-numeric dtype {act.dtype}") from None
    tail = f"\n  hint: {hint}" if hint else ""
    bad_finite = ~np.isfinite(act64) & np.isfinite(exp64)
    if bad_finite.any():
        k = int(np.flatnonzero(bad_finite)[0])
        i = _index(k, exp.shape)
        raise CheckError(
            f"{name} has {int(bad_finite.sum())} non-finite value(s) (nan or inf) where finite values "
            f"were expected; first at index {i}: got {_fmt(act64.flat[k])}, expected {_fmt(exp64.flat[k])}"
            f" (overflow? an unstable exp or log?){tail}"
        )
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf: no RuntimeWarning on stderr
        err = np.abs(act64 - exp64)
    err = np.where(np.isnan(exp64) & np.isnan(act64), 0.0, err)
    err = np.where(np.isinf(exp64) & (act64 == exp64), 0.0, err)
    tol = atol + rtol * np.abs(np.where(np.isfinite(exp64), exp64, 0.0))
    bad = ~(err <= tol)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        worst = int(np.nanargmax(np.where(np.isnan(err), np.inf, err)))
        where = f"{int(bad.sum())} of {bad.size} entries" if exp.shape else "the value"
        raise CheckError(
            f"{name} differs from the expected value at {where}.\n"
            f"  first mismatch at index {_index(k, exp.shape)}: got {_fmt(act.flat[k])}, expected {_fmt(exp.flat[k])}\n"
            f"  largest absolute error {_fmt(err.flat[worst])} at index {_index(worst, exp.shape)}"
            f" (tolerance: atol={atol:g} + rtol={rtol:g} * |expected|){tail}"
        )


def assert_equal(actual: Any, expected: Any, name: str = "result", hint: str = "") -> None:
    """Exact equality for integer, boolean and label arrays (and Python ints, lists, tuples).

    Raises:
        CheckError: shapes differ, or values differ (count, first index, both values, ``hint``).
    """
    if isinstance(expected, (int, np.integer)) and not isinstance(expected, bool):
        if isinstance(actual, (float, np.floating)) or not isinstance(actual, (int, np.integer)):
            raise CheckError(f"{name} should be an int, got {type(actual).__name__} {actual!r}")
    assert_close(actual, expected, name, rtol=0.0, atol=0.0, hint=hint)


def assert_returns(result: Any, n: int, name: str = "the function", names: str = "") -> tuple:
    """Check that ``result`` is a tuple (or list) of ``n`` values, and return it as a tuple.

    Args:
        names: how the values are called in the contract, for example "(w, b)".

    Raises:
        CheckError: ``result`` is not a tuple or has another length.
    """
    what = f" {names}" if names else ""
    if not isinstance(result, (tuple, list)):
        raise CheckError(f"{name} should return {n} values{what}, got one {type(result).__name__}")
    if len(result) != n:
        raise CheckError(f"{name} should return {n} values{what}, got {len(result)}")
    return tuple(result)


def assert_unchanged(before: Any, after: Any, name: str = "input") -> None:
    """Check that an input array was not modified in place (pass a copy taken before the call).

    Raises:
        CheckError: the array changed, with the first changed index.
    """
    a, b = _to_numpy(before, name), _to_numpy(after, name)
    if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
        diff = (a != b) & ~((a != a) & (b != b)) if a.shape == b.shape else None  # NaN == NaN here
        changed = "its shape changed" if diff is None else (
            f"first change at index {_index(int(np.flatnonzero(diff)[0]), a.shape)}")
        raise CheckError(f"{name} was modified in place ({changed}): work on a copy, e.g. `x = x.copy()`")


def assert_gradient(
    analytic: Any, f: Callable[[np.ndarray], float], x: np.ndarray, name: str = "gradient",
    tol: float = 1e-6, eps: float = 1e-6,
) -> None:
    """Compare an analytic gradient of scalar ``f`` at ``x`` with centred differences (float64).

    Raises:
        CheckError: shapes differ, or the relative error exceeds ``tol`` (reported with the worst
        entry, the analytic and the numerical value there).
    """
    from course_utils.gradcheck import numerical_gradient, relative_error

    x = np.asarray(x, dtype=np.float64)
    ana = _to_numpy(analytic, name).astype(np.float64)
    assert_shape(ana, x.shape, name)
    num = numerical_gradient(f, x, eps=eps)
    rel = relative_error(ana, num)
    if not rel <= tol:
        worst = int(np.argmax(np.abs(ana - num) / np.maximum(np.abs(ana) + np.abs(num), 1e-8)))
        i = _index(worst, x.shape)
        raise CheckError(
            f"{name} disagrees with the numerical gradient: relative error {rel:.3g} > {tol:g}; "
            f"worst at index {i}: analytic {_fmt(ana.flat[worst])}, numerical {_fmt(num.flat[worst])}"
        )


def _blank_exercise_message(evalue: BaseException, tb: Any) -> str:
    func = None
    while tb is not None:  # the innermost frame is the stub that raised
        func, tb = tb.tb_frame.f_code.co_name, tb.tb_next
    where = f"`{func}`" if func and func != "<module>" else "this exercise"
    return (f"NotImplementedError: exercise not attempted: {where} still raises NotImplementedError. "
            "Replace `raise NotImplementedError()` with your code, then run this cell again.")


def enable_friendly_errors() -> bool:
    """Show a blank exercise and a failed check as one line instead of a long traceback.

    Registers an IPython handler for ``NotImplementedError`` and :class:`CheckError`. The cell still
    fails (an error output is produced, so nbgrader gives it 0 points and "Run all" stops there).

    Returns:
        True when running under IPython (the handler is installed), False otherwise (a no-op).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of every notebook setup
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def handler(shell: Any, etype: type, evalue: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
        if isinstance(evalue, NotImplementedError):
            text = _blank_exercise_message(evalue, tb)
        else:
            text = f"{etype.__name__}: {evalue}"
        shell._showtraceback(etype, evalue, [text])
        return [text]

    shell.set_custom_exc((NotImplementedError, CheckError), handler)
    return True


def short_validation_results(results: dict[str, Any], context: int = 1, width: int = 100) -> dict[str, Any]:
    """Shorten nbgrader's validation results for a student's eyes (the course's ``nbgrader_config.py``).

    nbgrader's Validate lists each failing cell with its whole source, which on a blank notebook is a
    dialog thousands of pixels tall. This keeps the first ``context`` non-empty lines of each cell's
    source (a test cell's first line names its exercise) with a count of the lines left out, and the
    exception's own message from each error (at most four lines from its ``SomeError:`` line: the
    "exercise not attempted" line, or the check that differs with its tolerance and hint), wrapped at
    ``width`` characters. The input is not changed.
    """
    import html
    import re
    import textwrap

    def first_lines(source: str) -> str:
        lines = [ln for ln in source.strip().splitlines() if ln.strip()]
        kept = lines[:context]
        if len(lines) > context:
            kept.append(f"... ({len(lines) - context} more lines)")
        return "\n".join(kept)

    def last_line(error: str) -> str:
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", error)
        lines = [ln.rstrip() for ln in plain.splitlines() if ln.strip()]
        # the exception's own message: from its last "SomeError: ..." line on (a check's message names the
        # quantity and what differs on its first line, then tolerances and hints), at most four lines
        starts = [i for i, ln in enumerate(lines) if re.match(r"\s*[A-Za-z_][\w.]*(Error|Exception|Warning)\b", ln)]
        kept = lines[starts[-1]:] if starts else lines[-1:]
        kept = [ln.strip() for ln in kept][:4]
        # wrapped, so that the dialog needs no sideways scrolling
        return "\n".join(textwrap.fill(ln, width, break_long_words=False, break_on_hyphens=False) for ln in kept)

    short: dict[str, Any] = {}
    for kind, cells in results.items():
        if not isinstance(cells, list):
            short[kind] = cells
            continue
        out = []
        for cell in cells:
            cell = dict(cell)
            if "source" in cell:
                cell["source"] = first_lines(str(cell["source"]))
            if "raw_error" in cell:
                cell["raw_error"] = last_line(str(cell["raw_error"]))
                cell["error"] = html.escape(cell["raw_error"])
            out.append(cell)
        short[kind] = out
    return short


#: set only in the grader's checker process, while a test runs (course_utils.grader.check): the link to
#: the student's kernel that :func:`in_kernel` and :func:`assert_numpy_only` use there
_GRADING: dict[str, Any] = {}


def in_kernel(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` where the student's code lives, and return its result.

    In the student's notebook this is a plain call. While grading, the tests run in a separate process
    and the student's functions and objects stay in the student's kernel: the grader sends the source of
    ``function`` there, runs it on the arguments and receives its result as plain data (numbers, arrays,
    tensors' values). Tests use it for what can only be computed next to the student's code, such as
    gradients through the student's ``nn.Module``. ``function`` must be self-contained: it imports what
    it uses, and reads nothing from the cell around it.
    """
    session = _GRADING.get("session")
    if session is not None:
        return session.run(function, args, kwargs)
    return function(*args, **kwargs)


def torch_guard() -> Any:
    """A context in which any PyTorch function raises; afterwards ``type(guard).used`` names the first one
    called (even when the code inside caught the exception). A no-op context when torch is not imported."""
    import contextlib
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return contextlib.nullcontext()
    from torch.overrides import TorchFunctionMode

    class NoTorch(TorchFunctionMode):
        used: str | None = None

        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
            module = getattr(func, "__module__", None) or "torch"
            NoTorch.used = NoTorch.used or f"{module}.{name}".replace("torch._C._nn.", "torch.nn.functional.")
            raise CheckError(f"PyTorch is not allowed here ({NoTorch.used})")

    return NoTorch()


def assert_numpy_only(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, failing with :class:`CheckError` when it calls any PyTorch function:
    the check of an exercise that must be written with NumPy. The grader makes the same check.

    Returns:
        the function's result.
    """
    session = _GRADING.get("session")
    if session is not None:
        session.numpy_only += 1
        try:
            return function(*args, **kwargs)
        finally:
            session.numpy_only -= 1
    guard = torch_guard()
    used = None
    try:
        with guard:
            result = function(*args, **kwargs)
    except BaseException:
        used = getattr(type(guard), "used", None)
        if used is None:
            raise
    used = used or getattr(type(guard), "used", None)
    if used:
        name = getattr(function, "__name__", "the function")
        raise CheckError(f"{name}(...) called PyTorch ({used}): this exercise must be written with NumPy only")
    return result
