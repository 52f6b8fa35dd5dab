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

import contextlib
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
    guard = torch_guard() if request.get("numpy_only") else contextlib.nullcontext()
    errstate = request.get("errstate") if isinstance(request.get("errstate"), dict) else {}
    try:
        with guard, _errstate(errstate):
            value = target(*args, **kwargs)
    except BaseException as err:  # noqa: BLE001 - the student's exception is the answer
        if getattr(type(guard), "used", None):
            return {"torch": type(guard).used}
        reply = _error(err)
        reply["traceback"] = "".join(traceback.format_exception_only(type(err), err))[-2000:]
        return reply
    if getattr(type(guard), "used", None):
        return {"torch": type(guard).used}
    return {"value": _encode(value), **_after(request, args, kwargs)}


def _errstate(state: dict) -> Any:
    """NumPy's floating-point error handling as the checker has it while calling (``np.errstate``)."""
    import numpy as np

    allowed = ("ignore", "warn", "raise", "call", "print", "log")
    return np.errstate(**{k: v for k, v in state.items() if k in ("divide", "over", "under", "invalid")
                          and v in allowed})


def _ref_only(obj: Any) -> dict:
    return {"t": "h", "id": _register(obj)}


def _without_rng_state(encoded: Any) -> Any:
    """An encoding with every generator's state left out (a call may draw from a generator it is given)."""
    if isinstance(encoded, dict):
        if encoded.get("t") == "rng":
            return {"t": "rng", "v": None}
        return {k: _without_rng_state(v) for k, v in encoded.items()}
    if isinstance(encoded, list):
        return [_without_rng_state(v) for v in encoded]
    return encoded


def _after(request: dict, args: list, kwargs: dict) -> dict:
    """Which arguments the call changed in place (those the checker sent by value), and the contents of
    the containers it sent by reference (an optimiser's ``state`` dict), after the call."""
    sent = list(request.get("args", {}).get("v", [])) if isinstance(request.get("args"), dict) else []
    sent_kw = dict((k, v) for k, v in request.get("kwargs", {}).get("v", [])) if isinstance(
        request.get("kwargs"), dict) else {}
    pairs = [(i, a, sent[i] if i < len(sent) else None) for i, a in enumerate(args)]
    pairs += [(k, a, sent_kw.get(k)) for k, a in kwargs.items()]
    changed, shared = [], []
    for key, value, encoded in pairs:
        if isinstance(encoded, dict) and encoded.get("t") == "code":
            continue  # a function the checker sent as source (such as f in relu_interpolant(f, ...)): no data
        if isinstance(encoded, dict) and encoded.get("t") == "h":
            if isinstance(value, (dict, list)):
                shared.append([key, wire.encode(value, _handle)])
        elif wire.encode(value, _ref_only, rng_state=False) != _without_rng_state(encoded):
            changed.append(key)
    return {"changed": changed, "shared": shared}


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
        if op == "public":  # the student's public names, so that the checker asks only for those it needs
            shell = sys.modules["IPython"].get_ipython()
            return {"value": wire.encode([n for n in list(shell.user_ns) if isinstance(n, str)
                                          and not n.startswith("_") and n not in _SKIP])}
        if op in ("call", "run"):
            return _call(request)
        if op == "newdict":
            return {"value": _register({})}
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


def serve_channel(path: str) -> None:
    """Serve requests over the Unix socket ``path`` (the checker listens there) until it sends ``end``:
    a length-prefixed JSON frame each way. The student's output during the calls is discarded."""
    import contextlib
    import io
    import socket

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)

    def read(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    try:
        while True:
            try:
                size = int.from_bytes(read(8), "big")
                request = wire.loads(read(size))
            except EOFError:
                return
            if not isinstance(request, dict) or request.get("op") == "end":
                return
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    reply = answer(request)
                payload = wire.dumps(reply).encode()
            except BaseException as err:  # noqa: BLE001 - an interrupt, or a reply that cannot be encoded
                payload = wire.dumps(_error(err)).encode()
            conn.sendall(len(payload).to_bytes(8, "big") + payload)
    finally:
        conn.close()
