"""The grading kernel: an IPython kernel that can put back what student code tampered with.

``course-grade autograde`` starts every kernel as ``python -m course_utils.kernel_guard [--memory MB] -f
CONNECTION_FILE`` (inside the sandbox when there is one). Before the kernel runs any cell, this module

- caps the kernel's memory (``RLIMIT_DATA``, so a memory bomb raises ``MemoryError`` instead of taking
  the machine down) and ends the kernel after a cell that ran out of memory (the grader starts a new
  one and runs the earlier cells again);
- imports the modules that test cells rely on (numpy, torch, course_utils' checkers, ...) and records
  their attributes, the code of their Python functions, ``builtins`` and the IPython shell's hooks
  (input and AST transformers, event callbacks, ``sys`` hooks, methods of the shell and kernel classes).

``course-grade`` puts a locked *guard cell* before every graded test cell. It calls :func:`restore`,
which puts every recorded object back (a replaced ``numpy.allclose`` or ``assert_close``, a rebound
``builtins.AssertionError``, an input transformer that strips ``assert`` lines, a patched
``run_cell``...), and then prints a token that the grader looks for.

This runs in the same process as the student's code, so it is a guard against the known tricks, not a
wall: a student who studies this module can defeat it. What student code cannot do is covered by the
sandbox (:mod:`course_utils.sandbox`): read solutions or the gradebook, write outside its folder, use
the network.
"""
from __future__ import annotations

import builtins
import importlib
import sys
import types
from typing import Any

#: modules whose attributes the guard records and restores
GUARDED_MODULES = (
    "builtins", "math", "operator", "functools", "copy", "random", "inspect",
    "numpy", "numpy.linalg", "numpy.testing", "numpy.random",
    "scipy", "scipy.special", "scipy.linalg", "scipy.optimize",
    "torch", "torch.nn", "torch.nn.functional", "torch.testing", "torch.autograd", "torch.linalg",
    "course_utils", "course_utils.checks", "course_utils.gradcheck", "course_utils.data",
    "course_utils.runtime", "course_utils.plotting", "course_utils.training",
)
#: classes whose methods the guard records and restores (besides those of the shell and the kernel)
GUARDED_CLASSES = ("torch.Tensor", "course_utils.checks.CheckError")

_SNAPSHOT: dict[str, Any] = {}


def _resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _function_state(value: Any) -> tuple | None:
    if isinstance(value, types.FunctionType):
        return (value.__code__, value.__defaults__, value.__kwdefaults__)
    return None


def _guardable(value: Any) -> bool:
    """Functions, classes, modules and descriptors: what a cheat replaces. Plain values (caches, counters)
    are left alone, since libraries legitimately rebind them."""
    return callable(value) or isinstance(value, (types.ModuleType, property, classmethod, staticmethod))


def _record_namespace(ns: dict[str, Any]) -> dict[str, tuple[Any, tuple | None]]:
    return {k: (v, _function_state(v)) for k, v in list(ns.items()) if _guardable(v)}


def _restore_namespace(target: Any, saved: dict[str, tuple[Any, tuple | None]], is_class: bool) -> int:
    """Put back every recorded attribute of a module or class; returns how many were changed."""
    changed = 0
    current = vars(target)
    for key, (value, fstate) in saved.items():
        if key in ("__dict__", "__weakref__", "__doc__"):
            continue
        try:
            if current.get(key, _MISSING) is not value:
                setattr(target, key, value)
                changed += 1
            if fstate is not None and _function_state(value) != fstate:
                value.__code__, value.__defaults__, value.__kwdefaults__ = fstate
                changed += 1
        except (AttributeError, TypeError):  # read-only slots of C types
            pass
    if is_class:  # methods added to a class shadow the recorded ones of its bases
        added = (types.FunctionType, property, classmethod, staticmethod)
        for key in [k for k in list(current) if k not in saved and isinstance(current[k], added)]:
            try:
                delattr(target, key)
                changed += 1
            except (AttributeError, TypeError):
                pass
    return changed


class _Missing:
    pass


_MISSING = _Missing()


def snapshot_modules() -> None:
    """Import and record :data:`GUARDED_MODULES` and :data:`GUARDED_CLASSES` (before any student code)."""
    modules = {}
    for name in GUARDED_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional module that is not installed
            continue
        modules[name] = (module, _record_namespace(vars(module)))
    classes = {}
    for dotted in GUARDED_CLASSES:
        try:
            cls = _resolve(dotted)
        except Exception:  # noqa: BLE001
            continue
        classes[dotted] = (cls, _record_namespace(dict(vars(cls))))
    _SNAPSHOT.update(modules=modules, classes=classes,
                     sys={k: getattr(sys, k) for k in ("excepthook", "displayhook", "breakpointhook")})


def snapshot_shell(shell: Any, kernel: Any) -> None:
    """Record the IPython shell's hooks and the methods of the shell and kernel classes."""
    classes = {}
    for obj in (shell, kernel):
        for cls in type(obj).__mro__:
            if cls.__module__ != "builtins" and cls not in classes:
                classes[cls] = _record_namespace(dict(vars(cls)))
    _SNAPSHOT["shell"] = {
        "shell": shell, "kernel": kernel, "classes": classes,
        "instance": {k: v for k, v in vars(shell).items()},
        "kernel_instance": {k: v for k, v in vars(kernel).items()},
        "input_transformers_cleanup": list(shell.input_transformers_cleanup),
        "input_transformers_post": list(shell.input_transformers_post),
        "ast_transformers": list(shell.ast_transformers),
        "events": {name: list(cbs) for name, cbs in shell.events.callbacks.items()},
        "stdout": sys.stdout, "stderr": sys.stderr, "stdin": sys.stdin,
    }


def _restore_instance(obj: Any, saved: dict[str, Any]) -> int:
    changed = 0
    current = vars(obj)
    for key in list(current):  # a method patched on the instance shadows the class's own
        if key not in saved and callable(current[key]) and callable(getattr(type(obj), key, None)):
            del current[key]
            changed += 1
    for key, value in saved.items():
        if callable(value) and current.get(key, _MISSING) is not value:
            current[key] = value
            changed += 1
    return changed


def restore(record: bool = False) -> int:
    """Put back everything :func:`snapshot_modules` and :func:`snapshot_shell` recorded, and the names the
    setup cell defined in the notebook's namespace (``np``, ``assert_close``, ...).

    Args:
        record: record the notebook's names instead (called at the end of the locked setup cell).

    Never raises (a guard that failed would cost an honest student the test that follows).

    Returns:
        the number of objects that had been changed.
    """
    if record:
        try:
            ns = _SNAPSHOT["shell"]["shell"].user_ns
            _SNAPSHOT["user_ns"] = {k: v for k, v in ns.items() if not k.startswith("_") and _guardable(v)}
        except Exception:  # noqa: BLE001
            pass
        return 0
    changed = 0
    steps = [_restore_sys, _restore_modules, _restore_shell, _restore_user_ns]
    for step in steps:
        try:
            changed += step()
        except Exception:  # noqa: BLE001 - keep going; the grader's token still tells what ran
            pass
    return changed


def _restore_sys() -> int:
    changed = 0
    sys.settrace(None)
    sys.setprofile(None)
    for key, value in _SNAPSHOT.get("sys", {}).items():
        if getattr(sys, key) is not value:
            setattr(sys, key, value)
            changed += 1
    shell_state = _SNAPSHOT.get("shell")
    if shell_state:
        for key in ("stdout", "stderr", "stdin"):
            if getattr(sys, key) is not shell_state[key]:
                setattr(sys, key, shell_state[key])
                changed += 1
    return changed


def _restore_modules() -> int:
    changed = 0
    for name, (module, saved) in _SNAPSHOT.get("modules", {}).items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            changed += 1
        changed += _restore_namespace(module, saved, is_class=False)
    for cls, saved in _SNAPSHOT.get("classes", {}).values():
        changed += _restore_namespace(cls, saved, is_class=True)
    return changed


def _restore_shell() -> int:
    state = _SNAPSHOT.get("shell")
    if not state:
        return 0
    shell, kernel, changed = state["shell"], state["kernel"], 0
    for cls, saved in state["classes"].items():
        changed += _restore_namespace(cls, saved, is_class=True)
    changed += _restore_instance(shell, state["instance"])
    changed += _restore_instance(kernel, state["kernel_instance"])
    for key in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        if getattr(shell, key) != state[key]:
            getattr(shell, key)[:] = state[key]
            changed += 1
    for name, cbs in state["events"].items():
        if shell.events.callbacks.get(name) != cbs:
            shell.events.callbacks[name] = list(cbs)
            changed += 1
    ns = shell.user_ns
    if ns.get("__builtins__") is not builtins:
        ns["__builtins__"] = builtins
        changed += 1
    # the course's one-line messages for failed checks (the setup cell installed them; put them back)
    shell.custom_exceptions = ()
    sys.modules["course_utils.checks"].enable_friendly_errors()
    return changed


def _restore_user_ns() -> int:
    changed = 0
    ns = _SNAPSHOT["shell"]["shell"].user_ns
    for key, value in _SNAPSHOT.get("user_ns", {}).items():
        if ns.get(key, _MISSING) is not value:
            ns[key] = value
            changed += 1
    return changed


def _set_memory_limit(megabytes: int) -> None:
    import resource

    limit = megabytes * 1024 * 1024
    for which in (resource.RLIMIT_DATA,):
        soft, hard = resource.getrlimit(which)
        new_hard = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(which, (min(limit, new_hard), new_hard))


def _exit_on_memory_error(result: Any) -> None:
    """End the kernel after a cell that ran out of memory: libraries can be left broken by a failed
    allocation (a solver that hangs later), so the grader starts a new kernel and runs the earlier cells
    again rather than go on in this one."""
    if isinstance(getattr(result, "error_in_exec", None), MemoryError):
        import os
        import time

        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.3)  # let the error output reach the grader
        os._exit(3)


def main(argv: list[str] | None = None) -> None:
    """``python -m course_utils.kernel_guard [--memory MB] KERNEL-ARGS...``: start the guarded kernel."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--memory"]:
        _set_memory_limit(int(args[1]))
        args = args[2:]
    snapshot_modules()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.log_connection_info = lambda: None  # the "NOTE: ... ipython kernel entry point" banner
    app.initialize(args)
    app.shell.events.register("post_run_cell", _exit_on_memory_error)
    snapshot_shell(app.shell, app.kernel)
    builtins.__course_guard__ = restore  # type: ignore[attr-defined]
    _SNAPSHOT["modules"]["builtins"][1]["__course_guard__"] = (restore, _function_state(restore))
    app.start()


if __name__ == "__main__":
    main()
