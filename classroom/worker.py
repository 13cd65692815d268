"""The worker side of the trusted re-check: serve the judge's requests with plain data.

It runs inside the student's own kernel, the sandboxed one that nbgrader has just used to execute the
notebook, so the student's code is never executed a second time. When nbgrader has run the last cell,
:mod:`classroom.grading` asks the kernel to execute ``classroom.worker.serve(PATH, globals())``: the
kernel connects to the judge's Unix socket at ``PATH`` (in the job's own runtime folder, the one
folder besides its working folder that the sandbox lets it write) and answers requests until the
judge says ``exit``. It never sees solutions, hidden checks' expected values or the gradebook: it
only looks up names in the notebook's namespace and calls the student's functions on the inputs the
judge sends. While it serves, ``sys.stdout`` and ``sys.stderr`` point at /dev/null, so printing cannot
flood the kernel's output.

Requests (JSON frames, see :mod:`classroom.wire`):
- ``{"op": "get", "name": n}`` -> ``{"kind": "function" | "value" | "missing", "value": ...}``
- ``{"op": "call", "name": n, "args": [...], "kwargs": {...}, "timeout": s}`` -> ``{"ok": True,
  "result": ..., "changed": {position or keyword: value after the call}}`` (only the arguments the
  call changed in place) or ``{"ok": False, "ename": ..., "evalue": ...}``.
- ``{"op": "many", "name": n, "calls": [{"args": ..., "kwargs": ...}, ...], "keep": k, "timeout": s}`` ->
  ``{"ok": True, "outcomes": [one reply as for "call", per call]}``: independent calls in one message,
  up to the first that fails; with ``keep``, only the first k items of a tuple result are sent.
- ``{"op": "repeat", "name": n, "n": k, "args": ..., "kwargs": ..., "timeout": s}`` -> as for
  "call", with the list of the k results: k calls on the same argument objects.
- ``{"op": "exit"}``

``n`` is a name of the notebook's namespace or the handle of a function that an earlier call
returned (``"#3"``). While a call runs, the worker may send ``{"op": "callback", ...}`` (the judge's
own function handed to the student's) and wait for its answer. Each call has a time limit
(``SIGALRM``) and runs with numpy's floating-point warnings turned into errors, as in the checks.
During "many" and "repeat", the worker sends ``{"op": "progress"}`` after a call when a second or
more has passed since its last message: the judge then allows each call its own time limit instead
of one limit for the whole batch, so a call that escapes the alarm is given up as quickly in a batch
as alone.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
import traceback
import warnings


def serve(path: str, namespace: dict) -> None:
    """Connect to the judge at ``path`` and answer its requests about ``namespace``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    saved = sys.stdout, sys.stderr
    devnull = open(os.devnull, "w")
    sys.stdout = sys.stderr = devnull
    try:
        _loop(sock.fileno(), namespace)
    finally:
        sys.stdout, sys.stderr = saved
        devnull.close()
        with contextlib.suppress(OSError):
            sock.close()


def _loop(chan: int, namespace: dict) -> None:
    import numpy as np

    from . import wire

    remotes: dict = {}     # functions returned by the student's functions, by handle
    last_sent = [time.monotonic()]

    def send(message: dict) -> None:
        wire.send(chan, message)
        last_sent[0] = time.monotonic()

    def progress() -> None:
        """Between the calls of a batch: tell the judge that the worker is still going."""
        if time.monotonic() - last_sent[0] >= 1.0:
            send({"op": "progress"})

    def callback_factory(handle: str):
        def callback(*args, **kwargs):
            send({"op": "callback", "id": handle, "args": wire.encode(list(args), remotes=remotes),
                  "kwargs": wire.encode(kwargs, remotes=remotes)})
            reply = wire.receive(chan)
            if not reply.get("ok"):
                raise RuntimeError(reply.get("evalue", "callback failed"))
            return wire.decode(reply["result"], from_worker=False)
        return callback

    def on_alarm(signum, frame):
        raise TimeoutError("this call ran longer than its time limit")

    def invoke(f, encoded_args, encoded_kwargs, timeout: int, repeat: int | None = None, keep=None) -> dict:
        """Call ``f`` once (or ``repeat`` times, returning the list of results) on the decoded arguments.
        ``keep``: of a tuple result, send only the first ``keep`` items (the rest as None)."""
        try:
            args = wire.decode(encoded_args, callback_factory, from_worker=False)
            kwargs = wire.decode(encoded_kwargs, callback_factory, from_worker=False)
            results = []
            for _ in range(1 if repeat is None else repeat):
                if alarms:
                    signal.alarm(timeout)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        warnings.filterwarnings("error", category=RuntimeWarning)
                        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                            results.append(f(*args, **kwargs))
                finally:
                    if alarms:
                        signal.alarm(0)
                if repeat is not None:
                    progress()
            # the arguments the call changed in place (most calls change none)
            changed = {str(i): wire.encode(arg, remotes=remotes) for i, (before, arg) in enumerate(zip(
                encoded_args["__list__"], args)) if before != wire.encode(arg)}
            changed.update({k: wire.encode(v, remotes=remotes) for k, v in kwargs.items()
                            if wire.encode(v) != _kwarg(encoded_kwargs, k)})
            result = results[0] if repeat is None else results
            if keep is not None and type(result) is tuple:
                result = result[:int(keep)] + (None,) * max(0, len(result) - int(keep))
            return {"ok": True, "result": wire.encode(result, remotes=remotes), "changed": changed}
        except BaseException as err:  # noqa: BLE001 - student code may raise anything
            return {"ok": False, "ename": type(err).__name__, "evalue": _short(err)}

    alarms = threading.current_thread() is threading.main_thread()
    if alarms:
        signal.signal(signal.SIGALRM, on_alarm)
    while True:
        try:
            request = wire.receive(chan)
        except wire.WireError:
            return
        last_sent[0] = time.monotonic()
        op = request.get("op")
        if op == "get":
            name = request["name"]
            if name not in namespace:
                send({"kind": "missing"})
            elif callable(namespace[name]) and not isinstance(namespace[name], type):
                send({"kind": "function"})
            else:
                send({"kind": "value", "value": wire.encode(namespace[name], remotes=remotes)})
        elif op in ("call", "many", "repeat"):
            name = str(request["name"])
            f = remotes.get(name) if name.startswith("#") else namespace.get(name)
            timeout = max(1, int(request.get("timeout", 30)))
            if not callable(f):
                send({"op": "result", "ok": False, "ename": "NameError",
                      "evalue": f"name {name!r} is not a function of the notebook"})
            elif op == "call":
                send({"op": "result", **invoke(f, request["args"], request["kwargs"], timeout)})
            elif op == "many":    # independent calls, each on its own copy of its arguments
                outcomes = []
                for c in request["calls"]:
                    outcomes.append(invoke(f, c["args"], c["kwargs"], timeout, keep=request.get("keep")))
                    if not outcomes[-1]["ok"]:
                        break     # the check stops at the first failing call anyway
                    progress()
                send({"op": "result", "ok": True, "outcomes": outcomes})
            else:                 # n calls on the same argument objects (a generator advancing, say)
                send({"op": "result", **invoke(f, request["args"], request["kwargs"], timeout,
                                               repeat=int(request["n"]))})
        elif op == "exit":
            return


def _kwarg(encoded: dict, key: str):
    """The encoded value of keyword ``key`` in an encoded dict of keyword arguments."""
    for k, v in encoded.get("__dict__", []):
        if k == key:
            return v
    return None


def _short(err: BaseException, limit: int = 2000) -> str:
    text = str(err)
    if not text and not isinstance(err, NotImplementedError):
        text = traceback.format_exception_only(type(err), err)[-1].strip()
    return text[:limit]
