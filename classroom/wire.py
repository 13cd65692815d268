"""Plain-data messages between the judge and a worker that runs student code (no pickle, ever).

A value crosses the boundary as JSON. Supported: None, bool, int, float, str, list, tuple, dict, set,
numpy arrays (numeric, bool or string dtypes; object arrays are refused), numpy scalars,
``np.random.Generator`` (its state), functions of the course's own packages (by name), instances of the
course's own classes (their attributes, rebuilt without running ``__init__``), and callables as
handles: the judge's own functions handed to a student's function become *callbacks* (the worker asks
the judge to run them), and a function a student's function returns (a learning-rate schedule, say)
becomes a *remote* handle (the judge asks the worker to run it). Anything else arrives as
:class:`Unsupported`, so the judge never runs code that came from a student.

Arrays travel as dtype, shape and raw bytes (base64), restricted to plain numeric, boolean, string and
date dtypes, and are rebuilt with ``np.frombuffer``: no pickle, no object arrays.

Messages are length-prefixed JSON frames on one file descriptor (the judge's Unix socket).
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
MAX_FRAME = 512 * 1024 * 1024
ARRAY_KINDS = "biufcUSmM"   # bool, int, uint, float, complex, str, bytes, timedelta, datetime


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
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)) and _trusted_module(
            getattr(value, "__module__", None)) and "<" not in value.__qualname__:
        return {"__func__": [value.__module__, value.__qualname__]}
    if callable(value) and callbacks is not None and not isinstance(value, type):
        handle = str(len(callbacks))
        callbacks[handle] = value
        return {"__callback__": handle}
    if callable(value) and remotes is not None and not isinstance(value, type):
        handle = f"#{len(remotes)}"
        remotes[handle] = value
        return {"__remote__": handle}
    cls = type(value)
    if _trusted_module(cls.__module__) and hasattr(value, "__dict__"):
        return {"__obj__": [cls.__module__, cls.__qualname__], "attrs": enc(dict(vars(value)))}
    return {"__unsupported__": f"{cls.__module__}.{cls.__qualname__}"}


def decode(value: Any, callback_factory: Callable[[str], Callable] | None = None,
           remote_factory: Callable[[str], Callable] | None = None) -> Any:
    dec = lambda v: decode(v, callback_factory, remote_factory)  # noqa: E731
    if not isinstance(value, dict):
        return value
    if not value:
        raise WireError("empty value tag")
    (key, inner), = list(value.items())[:1]
    if key == "__nd__":
        return _array(inner)
    if key == "__np__":
        return dec(inner)[()]
    if key == "__float__":
        return float(inner)
    if key == "__rng__":
        rng = np.random.default_rng()
        rng.bit_generator.state = inner
        return rng
    if key in ("__list__", "__tuple__", "__set__", "__frozenset__"):
        items = [dec(v) for v in inner]
        return {"__list__": list, "__tuple__": tuple, "__set__": set, "__frozenset__": frozenset}[key](items)
    if key == "__dict__":
        return {dec(k) if not isinstance(k, dict) else _hashable(dec(k)): dec(v) for k, v in inner}
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
    if key == "__remote__":
        if remote_factory is None:
            return Unsupported("function")
        return remote_factory(str(inner))
    if key == "__obj__":
        module, qualname = inner
        if not _trusted_module(module):
            return Unsupported(qualname)
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        obj = cls.__new__(cls)
        for k, v in dec(value["attrs"]).items():
            object.__setattr__(obj, k, v)
        return obj
    if key == "__unsupported__":
        return Unsupported(str(inner))
    raise WireError(f"unknown value tag {key!r}")


def _plain_dtype(dtype: np.dtype) -> bool:
    """Numeric, boolean, string or date, without fields and not empty: the dtypes arrays cross in."""
    return dtype.kind in ARRAY_KINDS and dtype.fields is None and dtype.itemsize > 0


def _array(inner) -> np.ndarray:
    try:
        dtype_str, shape, data = inner
        dtype = np.dtype(str(dtype_str))
        shape = tuple(int(n) for n in shape)
        raw = base64.b64decode(data, validate=True)
        if not _plain_dtype(dtype) or any(n < 0 for n in shape) or len(shape) > 32:
            raise WireError(f"refused array of dtype {dtype} and shape {shape}")
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise WireError("array bytes do not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    except WireError:
        raise
    except (TypeError, ValueError, OverflowError, MemoryError) as err:
        raise WireError(f"malformed array: {err}") from None


def _hashable(v):
    if isinstance(v, list):
        return tuple(v)
    return v


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
    try:
        message = json.loads(_read_exact(fd, length, deadline))
    except ValueError as err:
        raise WireError(f"malformed message: {err}") from None
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
