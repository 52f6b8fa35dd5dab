"""The checker's stand-ins for the student's names: calling one runs the student's code in the kernel.

A test cell runs in the checker with each name the student's notebook defines bound to a proxy
(:class:`RemoteObject`) or, for plain data, to a copy. Calls, attribute reads and writes, indexing, ``len``
and iteration become requests to the kernel (:mod:`course_utils.grader.agent`); what comes back is
decoded as plain data (:mod:`course_utils.grader.wire`): exact ``int``/``float``/``str``/..., exact
``np.ndarray``, tensors rebuilt from their data, and new proxies for everything else. A list or dict that
comes back is a :class:`RemoteList` or :class:`RemoteDict`: a real list or dict whose item assignments are
also made in the kernel (``net.params["W1"] = W`` changes the student's network).

Arguments go to the kernel by value, and nothing the student's code does to them reaches the checker's
objects (a test may compute its reference from them after the call). In a test that checks its inputs are
left unchanged (it uses ``assert_unchanged``), a call that changes an argument in place fails with a
:class:`~course_utils.checks.CheckError`. The one exception is an empty dict, which is a
container for the student's code to fill (an optimiser's ``state``): it is shared with the kernel and its
contents are copied back after each call.

Exceptions raised by the student's code are raised here as the builtin exception of the same name
(``ValueError``, ``KeyError``, ...; :class:`StudentError` for any other), with the student's message.
"""
from __future__ import annotations

import builtins
import inspect
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from course_utils.grader import wire


class StudentError(Exception):
    """The student's code raised an exception that is not a builtin one."""


class InstructorError(Exception):
    """A test asks for something the grader refuses (a fault in the test, not the student's)."""


class GraderError(Exception):
    """The kernel died, timed out or sent no valid reply while the checker waited for it (its message may
    quote what the kernel sent)."""


class Session:
    """The checker's link to one student kernel: sends requests, decodes replies into checker values.

    Args:
        kernel: a :class:`course_utils.grader.runner.StudentKernel`.
        deadline: a callable returning the seconds left for the current test cell.
    """

    def __init__(self, kernel: Any, seconds_left: Any) -> None:
        self.kernel = kernel
        self.seconds_left = seconds_left
        self.numpy_only = 0
        self.inputs_unchanged = True  # a call that changes an argument in place fails (tests that check it)
        self.failure: str | None = None  # set when the kernel died or hung during a request
        self.shared: dict[int, tuple[dict, int, int]] = {}  # id(checker dict) -> (it, kernel ref, generation)

    # ------------------------------------------------------------------ encode / decode
    def _send_handle(self, obj: Any) -> dict:
        if isinstance(obj, RemoteObject):
            obj._check_generation()
            return {"t": "h", "id": object.__getattribute__(obj, "_ref")}
        if isinstance(obj, (RemoteDict, RemoteList)):
            if obj._session is self and obj._generation == self.kernel.generation:
                return {"t": "h", "id": obj._ref}
            return wire.encode(list(obj) if isinstance(obj, list) else dict(obj), self._send_handle)
        if isinstance(obj, types.FunctionType):
            return {"t": "code", "name": obj.__name__, "source": _function_source(obj)}
        raise wire.WireError(f"a {type(obj).__name__} cannot be sent to the student's code")

    def encode(self, value: Any) -> Any:
        return wire.encode(value, self._send_handle)

    def decode(self, data: Any) -> Any:
        generation = self.kernel.generation
        return wire.decode(data, lambda ref: RemoteObject._make(self, ref, generation),
                           make_ref=lambda container, ref: _container(self, container, ref, generation))

    # ------------------------------------------------------------------ requests
    def request(self, request: dict, what: str) -> dict:
        """Send a request; returns the reply (a dict) or raises what the student's code raised."""
        from course_utils.grader.runner import KernelDied, KernelTimeout

        if self.failure:
            raise GraderError(f"{what}: not run, {self.failure}")
        if self.numpy_only:
            request["numpy_only"] = True
        if request.get("op") in ("call", "run"):
            # the checker's floating-point error handling (a test's np.errstate(over="raise")) applies there too
            request["errstate"] = {k: v for k, v in np.geterr().items() if isinstance(v, str)}
        timeout = max(1.0, float(self.seconds_left()))
        try:
            reply = self.kernel.request(request, timeout)
        except KernelTimeout as err:
            self.failure = f"the student's code ran over the time limit ({err})"
            raise GraderError(f"{what}: stopped, over the time limit of {timeout:.0f} s") from None
        except KernelDied:
            self.failure = "the kernel died"
            raise GraderError(f"{what}: the kernel died while running the student's code") from None
        except wire.WireError as err:
            raise GraderError(f"{what}: no valid answer from the student's kernel ({err})") from None
        if "torch" in reply:
            from course_utils.checks import CheckError

            raise CheckError(f"{what} called PyTorch ({str(reply['torch'])[:100]}): this exercise must be "
                             "written with NumPy only")
        if "error" in reply:
            raise _student_exception(reply["error"], what)
        return reply

    def value(self, request: dict, what: str) -> Any:
        reply = self.request(request, what)
        try:
            return self.decode(reply.get("value"))
        except wire.WireError as err:
            raise GraderError(f"{what} returned something that is not plain data: {err}") from None

    def _shared_dict(self, value: dict) -> dict:
        """The reference of the kernel's dict that stands for ``value``, an empty dict the test passes for
        the student's code to fill (an optimiser's ``state``), made at its first use."""
        entry = self.shared.get(id(value))
        if entry is None or entry[2] != self.kernel.generation:
            ref = self.value({"op": "newdict"}, "making a dict in the student's kernel")
            if type(ref) is not int:
                raise GraderError("the kernel sent no reference for a new dict")
            dict.clear(value)
            entry = self.shared[id(value)] = (value, ref, self.kernel.generation)
        return {"t": "h", "id": entry[1]}

    def _argument(self, value: Any) -> Any:
        if type(value) is dict and (not value or id(value) in self.shared):
            return self._shared_dict(value)
        return self.encode(value)

    def call(self, target: int, args: tuple, kwargs: dict, what: str) -> Any:
        """Call a kernel object. Arguments go by value, except an empty dict, which is shared with the
        kernel (the student's code fills it; its contents are copied back after each call), and kernel
        lists and dicts read earlier (:class:`RemoteDict`), which go by reference.

        Raises:
            CheckError: the student's code changed an argument it was given by value, in a test that checks
                its inputs are left unchanged (``inputs_unchanged``).
        """
        from course_utils.checks import CheckError

        try:
            sent_args = [self._argument(a) for a in args]
            sent_kwargs = [[k, self._argument(v)] for k, v in kwargs.items()]
            request = {"op": "call", "target": {"t": "h", "id": target}, "args": {"t": "list", "v": sent_args},
                       "kwargs": {"t": "dict", "v": sent_kwargs}}
        except wire.WireError as err:
            raise GraderError(f"{what}: {err}") from None
        # only what went by reference may be updated from the kernel's answer
        by_reference: set = {i for i, e in enumerate(sent_args) if isinstance(e, dict) and e.get("t") == "h"}
        by_reference |= {k for k, e in sent_kwargs if isinstance(e, dict) and e.get("t") == "h"}
        reply = self.request(request, what)
        changed = reply.get("changed") or []
        if changed and self.inputs_unchanged:
            names = ", ".join(f"argument {k + 1}" if type(k) is int else f"argument {k!s}" for k in changed[:5])
            raise CheckError(f"{what} changed its input in place ({names}): the function must not modify the "
                             "arrays or containers it is given; work on a copy")
        try:
            result = self.decode(reply.get("value"))
            shared = reply.get("shared") or []
            for pair in shared if isinstance(shared, list) else []:
                key, content = pair if isinstance(pair, list) and len(pair) == 2 else (None, None)
                if type(key) not in (int, str) or key not in by_reference:
                    continue
                local = args[key] if type(key) is int and 0 <= key < len(args) else kwargs.get(key) if isinstance(
                    key, str) else None
                if isinstance(local, dict):
                    new = self.decode(content)
                    if isinstance(new, dict):
                        dict.clear(local)
                        dict.update(local, new)
                elif isinstance(local, list):
                    new = self.decode(content)
                    if isinstance(new, list):
                        list.__setitem__(local, slice(None), new)
        except wire.WireError as err:
            raise GraderError(f"{what} returned something that is not plain data: {err}") from None
        return result

    def run(self, function: Any, args: tuple, kwargs: dict) -> Any:
        """Run a function of the checker's (sent as source) in the kernel, on arguments that may be proxies."""
        what = f"{function.__name__}(...) in the student's kernel"
        try:
            request = {"op": "run", "source": _function_source(function), "name": function.__name__,
                       "args": self.encode(list(args)), "kwargs": self.encode(dict(kwargs))}
        except (wire.WireError, OSError, TypeError) as err:
            raise GraderError(f"{what}: {err}") from None
        return self.decode(self.request(request, what).get("value"))

    def names(self, wanted: list[str]) -> dict[str, Any]:
        """The student's current values of ``wanted`` (those it defines)."""
        public = self.value({"op": "public"}, "listing the notebook's names")
        if not isinstance(public, list):
            raise GraderError("the kernel's list of names is not a list")
        wanted = sorted(set(wanted) & {n for n in public if type(n) is str})  # nothing about the test is sent
        found = self.value({"op": "names", "wanted": wanted}, "reading the notebook's names")
        if type(found) is not dict:
            raise GraderError("the kernel's list of names is not a dict")
        return found


def _function_source(function: Any) -> str:
    """The source of a function of the checker's, to be run in the student's kernel.

    Raises:
        InstructorError: the function is defined in a hidden test (the student's code could read it there).
    """
    import textwrap

    from course_utils.grader.check import HIDDEN_LINES

    code = getattr(function, "__code__", None)
    if code is not None and code.co_firstlineno in HIDDEN_LINES.get(code.co_filename, ()):
        raise InstructorError(f"the test sends {function.__name__} to the student's kernel but defines it in its "
                              "hidden part, where the student's code could read it: define it in the visible part")
    return textwrap.dedent(inspect.getsource(function))


_BUILTIN_EXCEPTIONS = {name: obj for name, obj in vars(builtins).items()
                       if isinstance(obj, type) and issubclass(obj, Exception)}


def _student_exception(error: Any, what: str) -> Exception:
    err = _rebuild_exception(error, what)
    err.course_student_what = what  # type: ignore[attr-defined] - its message comes from the student's code
    return err


def _rebuild_exception(error: Any, what: str) -> Exception:
    names = error.get("types") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    message = message[:2000] if isinstance(message, str) else ""
    names = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
    for name in names:
        cls = _BUILTIN_EXCEPTIONS.get(name)
        if cls is not None and cls is not Exception:
            if cls is NotImplementedError:
                return NotImplementedError(f"{what}: exercise not attempted ({message or 'NotImplementedError'})")
            try:
                return cls(message)
            except Exception:  # noqa: BLE001 - an exception class with other arguments
                return StudentError(f"{name}: {message}")
    first = names[0][:100] if names else "an exception"
    return StudentError(f"{what} raised {first}: {message}")


class RemoteObject:
    """An object that lives in the student's kernel (a function, a class, an instance)."""

    __slots__ = ("_session", "_ref", "_generation", "_kind", "_name", "_type")

    @classmethod
    def _make(cls, session: Session, ref: dict, generation: int) -> RemoteObject:
        if type(ref.get("id")) is not int:
            raise wire.WireError("a reference without an id")
        obj = object.__new__(cls)
        for key, value in (("_session", session), ("_ref", ref["id"]), ("_generation", generation),
                           ("_kind", str(ref.get("kind", "object"))[:20]), ("_name", str(ref.get("name", "?"))[:100]),
                           ("_type", str(ref.get("type", "object"))[:100])):
            object.__setattr__(obj, key, value)
        return obj

    def _get(self, key: str) -> Any:
        return object.__getattribute__(self, key)

    def _check_generation(self) -> None:
        if self._get("_generation") != self._get("_session").kernel.generation:
            raise GraderError(f"{self._get('_name')} belongs to a kernel that has been restarted")

    def _target(self) -> dict:
        self._check_generation()
        return {"t": "h", "id": self._get("_ref")}

    def _what(self) -> str:
        return self._get("_name")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._check_generation()
        return self._get("_session").call(self._get("_ref"), args, kwargs, f"{self._what()}(...)")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = self._get("_session").value({"op": "getattr", "target": self._target(), "name": name},
                                            f"{self._what()}.{name}")
        if isinstance(value, RemoteObject):
            object.__setattr__(value, "_name", f"{self._what()}.{name}")
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        session = self._get("_session")
        session.request({"op": "setattr", "target": self._target(), "name": name, "value": session.encode(value)},
                        f"setting {self._what()}.{name}")

    def __getitem__(self, key: Any) -> Any:
        session = self._get("_session")
        return session.value({"op": "getitem", "target": self._target(), "key": session.encode(key)},
                             f"{self._what()}[{key!r}]")

    def __setitem__(self, key: Any, value: Any) -> None:
        session = self._get("_session")
        session.request({"op": "setitem", "target": self._target(), "key": session.encode(key),
                         "value": session.encode(value)}, f"setting {self._what()}[{key!r}]")

    def __len__(self) -> int:
        n = self._get("_session").value({"op": "len", "target": self._target()}, f"len({self._what()})")
        if type(n) is not int or n < 0:
            raise GraderError(f"len({self._what()}) is not a non-negative int")
        return n

    def __iter__(self) -> Iterator[Any]:
        items = self._get("_session").value({"op": "list", "target": self._target()}, f"list({self._what()})")
        if not isinstance(items, list):
            raise GraderError(f"list({self._what()}) is not a list")
        return iter(list(items))

    def __contains__(self, key: Any) -> bool:
        session = self._get("_session")
        found = session.value({"op": "contains", "target": self._target(), "key": session.encode(key)},
                              f"{key!r} in {self._what()}")
        return found is True

    def __str__(self) -> str:
        text = self._get("_session").value({"op": "str", "target": self._target()}, f"str({self._what()})")
        return text if type(text) is str else "?"

    def __repr__(self) -> str:
        return f"<{self._get('_type')} {self._what()} in the student's kernel>"


def _container(session: Session, container: Any, ref: int, generation: int) -> Any:
    cls = RemoteDict if isinstance(container, dict) else RemoteList
    out = cls(container)
    out._session, out._ref, out._generation = session, ref, generation
    return out


class _Writes:
    _session: Session
    _ref: int
    _generation: int

    def _remote(self, op: str, what: str, **fields: Any) -> None:
        session = self._session
        if self._generation != session.kernel.generation:
            raise GraderError(f"{what}: the container belongs to a kernel that has been restarted")
        request = {"op": op, "target": {"t": "h", "id": self._ref}}
        request.update({k: session.encode(v) for k, v in fields.items()})
        session.request(request, what)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._remote("setitem", f"setting [{key!r}]", key=key, value=value)
        super().__setitem__(key, value)  # type: ignore[misc] - dict's or list's

    def __delitem__(self, key: Any) -> None:
        self._remote("delitem", f"deleting [{key!r}]", key=key)
        super().__delitem__(key)  # type: ignore[misc]


class RemoteDict(_Writes, dict):
    """A dict read from the kernel; setting or deleting an item also does it in the kernel."""

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def pop(self, key: Any, *default: Any) -> Any:  # type: ignore[override]
        if key not in self and default:
            return default[0]
        value = dict.__getitem__(self, key)
        del self[key]
        return value

    def setdefault(self, key: Any, default: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def clear(self) -> None:
        for key in list(self):
            del self[key]


class RemoteList(_Writes, list):
    """A list read from the kernel; setting or deleting an item also does it in the kernel (other changes,
    such as ``append``, stay in the checker)."""
