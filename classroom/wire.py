"""Plain-data messages between the judge and a worker that runs student code (no pickle, ever).

A value crosses the boundary as JSON, and what the judge accepts from the worker is plain data only:

- None, bool, int, float (NaN and infinities included), str;
- lists, tuples, dicts (keys: scalars or tuples of them), sets of scalars;
- numpy arrays and scalars of numeric, boolean or unicode-string dtypes (dtype, shape and raw bytes,
  rebuilt with ``np.frombuffer``: no object arrays, no structured, bytes or date dtypes);
- a numpy ``Generator`` as its PCG64 state (rebuilt by ``np.random.default_rng``);
- the course types of :data:`COURSE_TYPES` (a ``utils.training.MLP`` and its training ``History``), which the receiver
  rebuilds from plain fields with its *own* class (``from_plain``, which validates every field);
- ``__remote__`` handles: a function that a student's function returned (a learning-rate schedule)
  stays in the worker; the judge holds a handle and calls it with plain data.

Nothing the worker sends is ever imported by name, looked up by attribute or called in the judge:
:func:`decode` with ``from_worker=True`` (the judge's side) refuses functions by name and callback
handles, and anything it cannot rebuild arrives as :class:`Unsupported`. The other direction is
trusted (the judge's own data): the judge may send the course's functions by name (the worker imports
them in the kernel) and its own functions as callbacks (the worker asks the judge to run them).

Decoding is bounded: a frame is at most :data:`MAX_FRAME` bytes and holds at most
:data:`MAX_CONTAINERS` lists and dicts, nested at most :data:`MAX_DEPTH` deep; an array at most
:data:`MAX_ARRAY_BYTES`. Messages are length-prefixed JSON frames on one file descriptor (the judge's
Unix socket).
"""
from __future__ import annotations

import base64
import importlib
import json
import math
import os
import select
import struct
import time
import types
from typing import Any, Callable

import numpy as np

TRUSTED_PREFIXES = ("utils.", "graders.", "datasets.")
MAX_FRAME = 64 * 1024 * 1024          # bytes of one message
MAX_CONTAINERS = 1_000_000            # lists and dicts in one message (JSON objects and arrays)
MAX_DEPTH = 64                        # nesting of values
MAX_ARRAY_BYTES = 256 * 1024 * 1024   # one array's data
ARRAY_KINDS = "biufcU"                # bool, int, uint, float, complex, unicode strings
SCALAR_KEYS = (str, int, float, bool, type(None))
# course types that cross as plain fields, rebuilt by the receiver's own class: name -> (module, class)
COURSE_TYPES = {"MLP": ("utils.training", "MLP"), "History": ("utils.training", "History")}


class Unsupported:
    """Stands in for a value that cannot cross the boundary as plain data."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<a {self.type_name} object, which cannot be checked>"


class WireError(RuntimeError):
    """The other side broke the protocol (for example, student code wrote to the channel)."""


def _trusted_module(name: str | None) -> bool:
    return bool(name) and (name.startswith(TRUSTED_PREFIXES) or name in ("utils", "graders", "datasets"))


def encode(value: Any, callbacks: dict | None = None, _depth: int = 0, remotes: dict | None = None) -> Any:
    """``value`` as plain JSON data. ``callbacks`` (judge side) and ``remotes`` (worker side) collect the
    callables that cross as handles."""
    if _depth > 50:
        return {"__unsupported__": "deeply nested value"}
    enc = lambda v: encode(v, callbacks, _depth + 1, remotes)  # noqa: E731
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) is int:
        return value
    if isinstance(value, float) and type(value) is float:
        if value != value or value in (float("inf"), float("-inf")):
            return {"__float__": repr(value)}
        return value
    if isinstance(value, np.ndarray):
        arr = np.ndarray.view(value, np.ndarray)
        if not _plain_dtype(arr.dtype):
            return {"__unsupported__": f"array of dtype {arr.dtype}"}
        raw = arr.tobytes(order="C")
        return {"__nd__": [arr.dtype.str, list(arr.shape), base64.b64encode(raw).decode("ascii")]}
    if isinstance(value, (np.str_, np.bytes_)):
        return str(value) if isinstance(value, np.str_) else {"__unsupported__": "bytes"}
    if isinstance(value, np.generic):
        if isinstance(value, np.object_):
            return {"__unsupported__": "numpy object"}
        return {"__np__": encode(np.asarray(value), callbacks, _depth + 1)}
    if isinstance(value, np.random.Generator):
        return {"__rng__": json.loads(json.dumps(value.bit_generator.state, default=int))}
    if isinstance(value, (list, tuple, set, frozenset)) and type(value) in (list, tuple, set, frozenset):
        return {"__" + type(value).__name__ + "__": [enc(v) for v in value]}
    if isinstance(value, dict) and type(value) is dict:
        return {"__dict__": [[enc(k), enc(v)] for k, v in value.items()]}
    course = _course_type_name(value)
    if course is not None:
        try:
            fields = value.to_plain()
        except Exception as err:  # noqa: BLE001 - a broken object (the worker's side) crosses as unsupported
            return {"__unsupported__": f"{course} ({type(err).__name__})"}
        return {"__course__": [course, enc(fields)]}
    if remotes is not None and callable(value) and not isinstance(value, type):
        # the worker's side: a function stays here, the judge gets a handle (never a name to import)
        handle = f"#{len(remotes)}"
        remotes[handle] = value
        return {"__remote__": handle}
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)) and _trusted_module(
            getattr(value, "__module__", None)) and "<" not in value.__qualname__:
        return {"__func__": [value.__module__, value.__qualname__]}
    if callable(value) and callbacks is not None and not isinstance(value, type):
        handle = str(len(callbacks))
        callbacks[handle] = value
        return {"__callback__": handle}
    cls = type(value)
    return {"__unsupported__": f"{cls.__module__}.{cls.__qualname__}"[:200]}


def decode(value: Any, callback_factory: Callable[[str], Callable] | None = None,
           remote_factory: Callable[[str], Callable] | None = None, from_worker: bool = True,
           _depth: int = 0) -> Any:
    """The value that ``encode`` made. ``from_worker`` (the judge decoding what the worker sent, the
    default): plain data, course types rebuilt by this side's own classes and remote handles only.
    The worker decodes the judge's messages with ``from_worker=False``: course functions by name and
    callbacks too."""
    if _depth > MAX_DEPTH:
        raise WireError(f"value nested more than {MAX_DEPTH} deep")
    dec = lambda v: decode(v, callback_factory, remote_factory, from_worker, _depth + 1)  # noqa: E731
    if isinstance(value, list):
        raise WireError("bare list (lists cross tagged)")
    if not isinstance(value, dict):
        if value is None or type(value) in (bool, int, float, str):
            return value
        raise WireError(f"unexpected value of type {type(value).__name__}")
    if len(value) != 1:
        raise WireError("a tagged value has exactly one tag")
    (key, inner), = value.items()
    if key == "__nd__":
        return _array(inner)
    if key == "__np__":
        arr = dec(inner)
        if not isinstance(arr, np.ndarray) or arr.ndim != 0:
            raise WireError("malformed numpy scalar")
        return arr[()]
    if key == "__float__":
        if inner not in ("nan", "inf", "-inf"):
            raise WireError("malformed float")
        return float(inner)
    if key == "__rng__":
        return _generator(inner)
    if key in ("__list__", "__tuple__", "__set__", "__frozenset__"):
        if not isinstance(inner, list):
            raise WireError("malformed sequence")
        items = [dec(v) for v in inner]
        if key in ("__set__", "__frozenset__"):
            if not all(isinstance(v, SCALAR_KEYS) for v in items):
                raise WireError("a set holds scalars only")
            return set(items) if key == "__set__" else frozenset(items)
        return items if key == "__list__" else tuple(items)
    if key == "__dict__":
        if not isinstance(inner, list) or not all(isinstance(kv, list) and len(kv) == 2 for kv in inner):
            raise WireError("malformed dict")
        out = {}
        for k, v in inner:
            k = dec(k)
            if not (isinstance(k, SCALAR_KEYS) or (isinstance(k, tuple) and all(isinstance(e, SCALAR_KEYS) for e in k))):
                raise WireError("a dict key is a scalar or a tuple of scalars")
            out[k] = dec(v)
        return out
    if key == "__course__":
        if not (isinstance(inner, list) and len(inner) == 2 and inner[0] in COURSE_TYPES):
            return Unsupported("object")
        module, name = COURSE_TYPES[inner[0]]
        cls = getattr(importlib.import_module(module), name)    # this side's own class, from a fixed table
        try:
            return cls.from_plain(dec(inner[1]))
        except WireError:
            raise
        except (TypeError, ValueError, KeyError) as err:
            return Unsupported(f"{inner[0]} with malformed fields ({str(err)[:120]})")
    if key == "__remote__":
        if remote_factory is None or not isinstance(inner, str) or not inner.startswith("#") \
                or not inner[1:].isdigit():
            return Unsupported("function")
        return remote_factory(inner)
    if key == "__unsupported__":
        return Unsupported(str(inner)[:200])
    if from_worker:
        raise WireError(f"refused value tag {key!r} from the worker")
    if key == "__func__":
        module, qualname = inner
        if not _trusted_module(module):
            return Unsupported("function")
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj
    if key == "__callback__":
        if callback_factory is None:
            return Unsupported("callback")
        return callback_factory(inner)
    raise WireError(f"unknown value tag {key!r}")


def _course_type_name(value) -> str | None:
    cls = type(value)
    for name, (module, qualname) in COURSE_TYPES.items():
        if cls.__module__ == module and cls.__qualname__ == qualname:
            return name
    return None


def _generator(state) -> np.random.Generator:
    """A Generator from a PCG64 state dict, validated field by field (never any other bit generator)."""
    try:
        if not (isinstance(state, dict) and state.get("bit_generator") == "PCG64"
                and set(state) == {"bit_generator", "state", "has_uint32", "uinteger"}
                and isinstance(state["state"], dict) and set(state["state"]) == {"state", "inc"}
                and all(type(state["state"][k]) is int for k in ("state", "inc"))
                and type(state["has_uint32"]) is int and type(state["uinteger"]) is int):
            raise ValueError("not a PCG64 state")
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        return rng
    except (TypeError, ValueError, OverflowError) as err:
        raise WireError(f"malformed generator state: {err}") from None


def _plain_dtype(dtype: np.dtype) -> bool:
    """Numeric, boolean or unicode, without fields and not empty: the dtypes arrays cross in."""
    return dtype.kind in ARRAY_KINDS and dtype.fields is None and dtype.itemsize > 0


def _array(inner) -> np.ndarray:
    try:
        dtype_str, shape, data = inner
        dtype = np.dtype(str(dtype_str))
        shape = tuple(int(n) for n in shape)
        raw = base64.b64decode(data, validate=True)
        if not _plain_dtype(dtype) or any(n < 0 for n in shape) or len(shape) > 32:
            raise WireError(f"refused array of dtype {dtype} and shape {shape}")
        if math.prod(shape) * dtype.itemsize > MAX_ARRAY_BYTES:
            raise WireError(f"array of shape {shape} is too large")
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise WireError("array bytes do not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    except WireError:
        raise
    except (TypeError, ValueError, OverflowError, MemoryError) as err:
        raise WireError(f"malformed array: {err}") from None


def send(fd: int, message: dict, deadline: float | None = None) -> None:
    """Write one frame. With ``deadline`` (``time.monotonic()``), a reader that stops reading makes it
    raise :class:`WireError` instead of blocking for ever."""
    data = json.dumps(message).encode()
    view = memoryview(struct.pack(">Q", len(data)) + data)
    while view:
        _wait(fd, deadline, write=True)
        n = os.write(fd, view[:1 << 20])
        view = view[n:]


def receive(fd: int, deadline: float | None = None) -> dict:
    """Read one frame (bounded by ``deadline`` as for :func:`send`)."""
    header = _read_exact(fd, 8, deadline)
    (length,) = struct.unpack(">Q", header)
    if length > MAX_FRAME:
        raise WireError(f"message of {length} bytes is too large")
    raw = _read_exact(fd, length, deadline)
    if raw.count(b"[") + raw.count(b"{") > MAX_CONTAINERS:   # before parsing: memory stays bounded
        raise WireError("message holds too many values")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise WireError(f"malformed message: {str(err)[:100]}") from None
    if not isinstance(message, dict):
        raise WireError("malformed message")
    return message


def _wait(fd: int, deadline: float | None, write: bool = False) -> None:
    if deadline is None:
        return
    left = deadline - time.monotonic()
    ready = select.select([], [fd], [], max(left, 0))[1] if write else select.select([fd], [], [], max(left, 0))[0]
    if not ready:
        raise WireError("the other side stalled in the middle of a message")


def _read_exact(fd: int, n: int, deadline: float | None = None) -> bytes:
    chunks, got = [], 0
    while got < n:
        _wait(fd, deadline)
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise WireError("the other side closed the channel")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
