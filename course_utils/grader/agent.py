"""The kernel's side of the proxies: runs inside the student's kernel and answers the checker.

The checker (:mod:`course_utils.grader.check`) sends one request per ``execute_request``, as the code
``__import__("course_utils.grader.agent", fromlist=["serve"]).serve("<json>")``; :func:`serve` answers with
one ``display_data`` output of type :data:`MIME` holding JSON (:mod:`course_utils.grader.wire`).

Nothing here is trusted by the checker: the student's code shares this process and may replace any of
it. What the checker receives is decoded as plain data and then compared with the checker's own
references; a reply that is missing or malformed fails the test that asked for it.

Requests (``op``):

- ``names``: the student's public names (values, or references to functions, classes and objects);
- ``call``: call a referenced object with arguments; the reply holds the result and the arguments as
  they are after the call (so that the checker sees in-place changes), or the exception's type names
  and message; with ``numpy_only`` the call fails when it reaches a PyTorch function;
- ``run``: define a function from source sent by the checker (the checker may send code, never
  receive it) and call it, for results a test can only compute in this process (gradients through the
  student's module);
- ``getattr``, ``setattr``, ``getitem``, ``setitem``, ``delitem``, ``len``, ``list``, ``contains``, ``str``.
"""
from __future__ import annotations

import sys
import traceback
from typing import Any

from course_utils.checks import torch_guard
from course_utils.grader import wire

MIME = "application/x-course-grade-reply+json"
_SKIP = {"In", "Out", "exit", "quit", "get_ipython"}

_objects: dict[int, Any] = {}
_ids: dict[int, int] = {}


def _register(obj: Any) -> int:
    key = id(obj)
    if key in _ids and _objects.get(_ids[key]) is obj:
        return _ids[key]
    ref = len(_objects) + 1
    _objects[ref] = obj
    _ids[key] = ref
    return ref


def _handle(obj: Any) -> dict:
    kind = "class" if isinstance(obj, type) else "function" if callable(obj) else "object"
    return {"t": "h", "id": _register(obj), "kind": kind, "type": type(obj).__name__,
            "name": str(getattr(obj, "__name__", type(obj).__name__))[:100]}


def _encode(value: Any) -> Any:
    return wire.encode(value, _handle, ref=_register)


def _resolve(ref: dict) -> Any:
    try:
        return _objects[ref["id"]]
    except (KeyError, TypeError):
        raise LookupError("a reference to an object this kernel does not hold (it was restarted?)") from None


def _define(data: dict) -> Any:
    """A function the checker sent as source, defined in a namespace of its own."""
    namespace: dict[str, Any] = {"__name__": "__course_grade_run__"}
    exec(compile(str(data["source"]), "<grader>", "exec"), namespace)  # the checker's code, not a student's
    return namespace[str(data["name"])]


def _decode(data: Any) -> Any:
    return wire.decode(data, _resolve, make_code=_define)


def _error(err: BaseException) -> dict:
    names = [cls.__name__ for cls in type(err).__mro__]
    try:
        message = str(err)
    except Exception:  # noqa: BLE001 - a student's exception whose __str__ fails
        message = ""
    return {"error": {"types": names, "message": message[:4000]}}


def _call(request: dict) -> dict:
    target = _resolve(request["target"]) if request.get("target") else None
    if request["op"] == "run":
        target = _define(request)
    args = _decode(request.get("args", {"t": "list", "v": []}))
    kwargs = _decode(request.get("kwargs", {"t": "dict", "v": []}))
    sent = (request.get("args"), request.get("kwargs"))
    guard = torch_guard() if request.get("numpy_only") else None
    try:
        if guard is not None:
            with guard:
                value = target(*args, **kwargs)
        else:
            value = target(*args, **kwargs)
    except BaseException as err:  # noqa: BLE001 - the student's exception is the answer
        if guard is not None and getattr(type(guard), "used", None):
            return {"torch": type(guard).used}
        reply = _error(err)
        reply["traceback"] = "".join(traceback.format_exception_only(type(err), err))[-2000:]
        return reply
    if guard is not None and getattr(type(guard), "used", None):
        return {"torch": type(guard).used}
    after_args, after_kwargs = wire.encode(args, _handle), wire.encode(kwargs, _handle)
    changed = [after_args != sent[0], after_kwargs != sent[1]]
    return {"value": _encode(value), "args": after_args if changed[0] else None,
            "kwargs": after_kwargs if changed[1] else None}


def _names(wanted: list) -> dict:
    shell = sys.modules["IPython"].get_ipython()
    names = {}
    for name in wanted:
        if not isinstance(name, str) or name.startswith("_") or name in _SKIP or name not in shell.user_ns:
            continue
        value = shell.user_ns[name]
        try:
            names[name] = _encode(value)
        except wire.WireError:
            names[name] = _handle(value)
    return {"value": {"t": "dict", "v": [[k, v] for k, v in names.items()]}}


def answer(request: dict) -> dict:
    """The reply to one request (see the module docstring)."""
    op = request.get("op")
    try:
        if op == "names":
            return _names(request.get("wanted", []))
        if op in ("call", "run"):
            return _call(request)
        obj = _resolve(request["target"])
        if op == "getattr":
            return {"value": _encode(getattr(obj, request["name"]))}
        if op == "setattr":
            setattr(obj, request["name"], _decode(request["value"]))
            return {"value": None}
        if op == "getitem":
            return {"value": _encode(obj[_decode(request["key"])])}
        if op == "setitem":
            obj[_decode(request["key"])] = _decode(request["value"])
            return {"value": None}
        if op == "delitem":
            del obj[_decode(request["key"])]
            return {"value": None}
        if op == "len":
            return {"value": len(obj)}
        if op == "list":
            return {"value": _encode(list(obj))}
        if op == "contains":
            return {"value": bool(_decode(request["key"]) in obj)}
        if op == "str":
            return {"value": str(obj)[:2000]}
        return _error(ValueError(f"unknown request {op!r}"))
    except BaseException as err:  # noqa: BLE001 - reported to the checker, which decides
        return _error(err)


def serve(text: str) -> None:
    """Answer one request (JSON text) with a ``display_data`` output of type :data:`MIME`."""
    from IPython.display import publish_display_data

    try:
        reply = answer(wire.loads(text))
        payload = wire.dumps(reply)
    except BaseException as err:  # noqa: BLE001
        payload = wire.dumps(_error(err))
    publish_display_data({MIME: payload})
