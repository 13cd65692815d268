"""The worker: runs one student's notebook code and answers the judge's requests with plain data.

Started by :mod:`graders.judge` (inside a sandbox where one is available) as
``python -m graders.worker IN_FD OUT_FD``. Before any student code runs, the worker moves its channel
to private file descriptors and points stdout/stderr at /dev/null, so printing cannot corrupt the
channel. It never sees solutions, hidden checks' expected values, or the gradebook: it only executes
the student's cells, and calls the student's functions on the inputs the judge sends.

Requests (JSON frames, see :mod:`graders.wire`):
- ``{"op": "run", "cells": [source, ...], "cell_timeout": s}`` -> per-cell ``{"ok"}`` or the error
- ``{"op": "get", "name": n}`` -> ``{"kind": "function" | "value" | "missing", "value": ...}``
- ``{"op": "call", "name": n, "args": [...], "kwargs": {...}}`` -> ``{"ok": True, "result": ...,
  "args_after": [...], "kwargs_after": {...}}`` or ``{"ok": False, "ename": ..., "evalue": ...}``;
  while a call runs, the worker may send ``{"op": "callback", ...}`` and wait for its answer.
"""
from __future__ import annotations

import os
import signal
import sys
import traceback
import warnings


def main(in_fd: int, out_fd: int) -> None:
    # private channel descriptors, then silence fd 1 and 2 for everything that follows
    chan_in, chan_out = os.dup(in_fd), os.dup(out_fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (in_fd, out_fd):
        if fd not in (0, 1, 2):
            os.close(fd)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    stdin_null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin_null, 0)
    sys.stdout = open(os.devnull, "w")
    sys.stderr = open(os.devnull, "w")

    import numpy as np

    from . import wire

    namespace: dict = {"__name__": "__main__"}
    send = lambda msg: wire.send(chan_out, msg)  # noqa: E731

    def callback_factory(handle: str):
        def callback(*args, **kwargs):
            send({"op": "callback", "id": handle, "args": wire.encode(list(args)),
                  "kwargs": wire.encode(kwargs)})
            reply = wire.receive(chan_in)
            if not reply.get("ok"):
                raise RuntimeError(reply.get("evalue", "callback failed"))
            return wire.decode(reply["result"])
        return callback

    def on_alarm(signum, frame):
        raise TimeoutError("this cell ran longer than its time limit")

    signal.signal(signal.SIGALRM, on_alarm)
    while True:
        try:
            request = wire.receive(chan_in)
        except wire.WireError:
            return
        op = request.get("op")
        if op == "run":
            results = []
            for source in request["cells"]:
                signal.alarm(int(request.get("cell_timeout", 30)))
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        exec(compile(source, "<student cell>", "exec"), namespace)  # noqa: S102
                    results.append({"ok": True})
                except BaseException as err:  # noqa: BLE001 - student code may raise anything
                    results.append({"ok": False, "ename": type(err).__name__, "evalue": _short(err)})
                finally:
                    signal.alarm(0)
            send({"op": "ran", "results": results})
        elif op == "get":
            name = request["name"]
            if name not in namespace:
                send({"kind": "missing"})
            elif callable(namespace[name]) and not isinstance(namespace[name], type):
                send({"kind": "function"})
            else:
                send({"kind": "value", "value": wire.encode(namespace[name])})
        elif op == "call":
            f = namespace.get(request["name"])
            try:
                args = wire.decode(request["args"], callback_factory)
                kwargs = wire.decode(request["kwargs"], callback_factory)
                signal.alarm(int(request.get("timeout", 30)))
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        warnings.filterwarnings("error", category=RuntimeWarning)
                        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                            result = f(*args, **kwargs)
                finally:
                    signal.alarm(0)
                send({"op": "result", "ok": True, "result": wire.encode(result),
                      "args_after": wire.encode(args), "kwargs_after": wire.encode(kwargs)})
            except BaseException as err:  # noqa: BLE001
                send({"op": "result", "ok": False, "ename": type(err).__name__, "evalue": _short(err)})
        elif op == "exit":
            return


def _short(err: BaseException, limit: int = 2000) -> str:
    text = str(err)
    if not text and not isinstance(err, NotImplementedError):
        text = traceback.format_exception_only(type(err), err)[-1].strip()
    return text[:limit]


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
