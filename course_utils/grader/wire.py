"""What crosses between the student's kernel and the checker: plain data, as JSON, never a pickle.

Encoded (:func:`encode`, in either process) and decoded (:func:`decode`, the checker's side is the one
that matters: it builds only the exact types below, whatever the kernel sent):

- ``None``, ``bool``, ``int``, ``float``, ``str`` as JSON values (an ``int`` or ``float`` subclass is
  sent as its plain value, so its own ``==`` never reaches the checker);
- ``complex``, ``bytes``, ``tuple``, ``list``, ``dict`` (any plain keys) as tagged objects;
- NumPy arrays of bool or numeric dtype as ``.npy`` bytes (``np.save(allow_pickle=False)``), rebuilt as
  an exact ``np.ndarray``; NumPy scalars as 0-d arrays, rebuilt as the same scalar type;
- ``np.random.Generator`` (PCG64, NumPy's default) as the state of its bit generator;
- torch tensors as their data (``.npy`` bytes) and dtype, rebuilt with ``torch.from_numpy``: no
  ``grad``, no ``requires_grad``, no subclass;
- anything else (a function, a class, a module, an instance of the student's class, a generator) is not
  sent: the encoder asks ``handle(obj)`` for a reference, ``{"t": "h", ...}``, that the decoder turns
  into whatever ``make_handle`` builds (a proxy in the checker, the object itself in the kernel).

The decoder refuses more than :data:`MAX_DEPTH` levels of nesting, more than :data:`MAX_ITEMS` values
and arrays of object, string or structured dtype, with :class:`WireError`.
"""
from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_DEPTH = 64
MAX_ITEMS = 1_000_000
MAX_BYTES = 128 * 2**20
_NUMERIC_KINDS = "biufc"


class WireError(ValueError):
    """A message that is not plain data (too deep, too large, an unknown tag, an array of objects)."""


def _npy(array: np.ndarray) -> str:
    buf = io.BytesIO()
    array = np.asarray(array)
    np.save(buf, array if array.flags.c_contiguous else array.copy(order="C"), allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _from_npy(text: str) -> np.ndarray:
    if not isinstance(text, str) or len(text) > MAX_BYTES:
        raise WireError("array data is not a string of at most 128 MB")
    try:
        array = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - NumPy raises many kinds of error on damaged data
        raise WireError(f"array data is not an .npy without objects: {str(err)[:200]}") from None
    if type(array) is not np.ndarray or array.dtype.kind not in _NUMERIC_KINDS or array.dtype.fields:
        raise WireError(f"arrays must have a bool or numeric dtype, got {array.dtype}")
    return array


def _torch() -> Any:
    import sys

    return sys.modules.get("torch")


def encode(value: Any, handle: Callable[[Any], dict] | None = None, depth: int = 0,
           ref: Callable[[Any], int] | None = None, rng_state: bool = True) -> Any:
    """``value`` as a JSON-ready structure. Objects that are not plain data become ``handle(obj)`` (a dict
    with ``"t": "h"``); without ``handle`` they raise :class:`WireError`. With ``ref``, every list and dict
    also carries ``"ref": ref(obj)`` (the kernel's id of that container, so that the checker can write
    into it). With ``rng_state=False`` a generator is encoded without its state (to compare arguments
    before and after a call that may draw from it)."""
    if depth > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and not isinstance(value, np.integer):
        return int.__int__(value) if type(value) is not int else value
    if isinstance(value, float) and not isinstance(value, np.floating):
        value = float.__float__(value)
        if math.isfinite(value):
            return value
        return {"t": "float", "v": repr(value)}
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, complex) and not isinstance(value, np.complexfloating):
        return {"t": "complex", "re": encode(value.real), "im": encode(value.imag)}
    if isinstance(value, (bytes, bytearray)):
        return {"t": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, np.generic) and np.dtype(type(value)).kind in _NUMERIC_KINDS:
        return {"t": "npscalar", "v": _npy(np.asarray(value))}
    if isinstance(value, np.ndarray) and value.dtype.kind in _NUMERIC_KINDS and not value.dtype.fields:
        return {"t": "nd", "v": _npy(np.asarray(value).view(np.ndarray))}
    if type(value) is np.random.Generator and type(value.bit_generator) is np.random.PCG64:
        return {"t": "rng", "v": encode(value.bit_generator.state, None, depth + 1) if rng_state else None}
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        data = value.detach().cpu()
        dtype = str(data.dtype).replace("torch.", "")
        if data.dtype == torch.bfloat16:
            data = data.float()
        return {"t": "tensor", "dtype": dtype, "v": _npy(data.resolve_conj().resolve_neg().numpy())}
    if type(value) in (tuple, list) or (isinstance(value, (tuple, list)) and handle is None):
        items = [encode(v, handle, depth + 1, ref, rng_state) for v in value]
        out = {"t": "tuple" if isinstance(value, tuple) else "list", "v": items}
        if ref is not None and type(value) is list:
            out["ref"] = ref(value)
        return out
    if type(value) is dict or (isinstance(value, dict) and handle is None):
        out = {"t": "dict", "v": [[encode(k, handle, depth + 1, ref, rng_state),
                                   encode(v, handle, depth + 1, ref, rng_state)] for k, v in dict.items(value)]}
        if ref is not None and type(value) is dict:
            out["ref"] = ref(value)
        return out
    if handle is None:
        raise WireError(f"{type(value).__name__} is not plain data")
    return handle(value)


def decode(data: Any, make_handle: Callable[[dict], Any] | None = None, _depth: int = 0,
           _count: list[int] | None = None, make_ref: Callable[[Any, int], Any] | None = None,
           make_code: Callable[[dict], Any] | None = None) -> Any:
    """The value an :func:`encode`d structure stands for, built only from exact plain types (and
    ``make_handle(ref)`` for references; ``make_ref(container, id)`` for a list or dict that carries the
    kernel's id, when given; ``make_code(data)`` for a function sent as source, only where given: the
    kernel accepts code from the checker, the checker never accepts code).

    Raises:
        WireError: the structure is not one :func:`encode` makes, or is too deep or too large.
    """
    count = _count if _count is not None else [0]
    count[0] += 1
    if count[0] > MAX_ITEMS:
        raise WireError(f"more than {MAX_ITEMS} values")
    if _depth > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is not dict or type(data.get("t")) is not str:
        raise WireError(f"unexpected {type(data).__name__} in a message")
    tag = data["t"]
    if tag in ("tuple", "list"):
        items = data.get("v")
        if type(items) is not list:
            raise WireError(f"{tag} without items")
        out = [decode(v, make_handle, _depth + 1, count, make_ref, make_code) for v in items]
        if tag == "tuple":
            return tuple(out)
        return _with_ref(out, data, make_ref)
    if tag == "dict":
        pairs = data.get("v")
        if type(pairs) is not list or any(type(p) is not list or len(p) != 2 for p in pairs):
            raise WireError("dict without [key, value] pairs")
        result = {}
        for k, v in pairs:
            key = decode(k, make_handle, _depth + 1, count, make_ref, make_code)
            try:
                hash(key)
            except TypeError:
                raise WireError(f"unhashable dict key of type {type(key).__name__}") from None
            result[key] = decode(v, make_handle, _depth + 1, count, make_ref, make_code)
        return _with_ref(result, data, make_ref)
    if tag == "float":
        if data.get("v") not in ("nan", "inf", "-inf"):
            raise WireError("a float tag holds nan, inf or -inf")
        return float(data["v"])
    if tag == "complex":
        re, im = decode(data.get("re"), None, _depth + 1, count), decode(data.get("im"), None, _depth + 1, count)
        if type(re) not in (int, float) or type(im) not in (int, float):
            raise WireError("complex parts must be numbers")
        return complex(re, im)
    if tag == "bytes":
        try:
            return base64.b64decode(data.get("v", ""), validate=True)
        except (ValueError, TypeError):
            raise WireError("bytes are not base64") from None
    if tag == "nd":
        return _from_npy(data.get("v"))
    if tag == "npscalar":
        array = _from_npy(data.get("v"))
        if array.shape != ():
            raise WireError("a NumPy scalar must be a 0-d array")
        return array[()]
    if tag == "rng":
        state = decode(data.get("v"), None, _depth + 1, count)
        generator = np.random.Generator(np.random.PCG64())
        try:
            generator.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as err:
            raise WireError(f"not the state of a PCG64 generator: {err}") from None
        return generator
    if tag == "tensor":
        import torch

        array = _from_npy(data.get("v"))
        name = data.get("dtype")
        dtype = getattr(torch, name, None) if isinstance(name, str) and name.isidentifier() else None
        if not isinstance(dtype, torch.dtype):
            raise WireError(f"unknown tensor dtype {name!r}")
        return torch.from_numpy(array.copy()).to(dtype)
    if tag == "code":
        if make_code is None:
            raise WireError("code where plain data was expected")
        return make_code(data)
    if tag == "h":
        if make_handle is None:
            raise WireError("a reference where plain data was expected")
        return make_handle(data)
    raise WireError(f"unknown tag {tag!r}")


def _with_ref(container: Any, data: dict, make_ref: Callable[[Any, int], Any] | None) -> Any:
    ref = data.get("ref")
    if make_ref is None or ref is None:
        return container
    if type(ref) is not int:
        raise WireError("a container reference must be an int")
    return make_ref(container, ref)


def dumps(value: Any) -> str:
    """JSON text of an already encoded structure (NaN and infinities are tagged, so strict JSON)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """Parse JSON text of at most :data:`MAX_BYTES` bytes.

    Raises:
        WireError: too long, not JSON, or nested too deep for the parser.
    """
    if len(text) > MAX_BYTES:
        raise WireError("message larger than 128 MB")
    # counted before parsing: 40 million empty lists fit in 128 MB and take gigabytes once built
    sep = b"," if isinstance(text, bytes) else ","
    if text.count(sep) > MAX_ITEMS:
        raise WireError(f"message with more than {MAX_ITEMS} values")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise WireError(f"not JSON: {str(err)[:200]}") from None
