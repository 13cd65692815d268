"""The trusted re-check: grade a notebook where no student code ever runs.

The student's code runs in a :mod:`graders.worker` process (sandboxed where a sandbox is available,
see :mod:`graders.sandbox`). This process, the judge, executes the *trusted* test cells from the
solution notebook (visible and hidden tests) with the course's own checks. Every name a test cell
needs from the student's notebook is fetched from the worker: a function becomes a
:class:`RemoteFunction` that sends plain inputs to the worker and gets plain outputs back; any other
value arrives as plain data. So the comparisons, the numpy that makes them and the check code are all
the judge's own: monkeypatching numpy, redefining a check, or returning an ndarray subclass in the
student's notebook changes nothing here.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import os
import select
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import wire

ROOT = Path(__file__).resolve().parent.parent


class WorkerGone(RuntimeError):
    """The worker died, hung past its time limit, or broke the protocol."""


@dataclass
class Limits:
    cell_timeout: float = 30.0        # one cell of student code, or one call of a student function
    notebook_timeout: float = 300.0   # everything for one notebook
    memory_bytes: int = 4 * 1024 ** 3  # address-space limit of the worker


class Worker:
    """A worker process running one student's code, and the channel to it."""

    def __init__(self, cwd: Path, limits: Limits, sandbox=None, env: dict | None = None):
        course_root = sandbox.course_root if sandbox is not None else ROOT
        self.limits = limits
        self.deadline = time.monotonic() + limits.notebook_timeout
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        cmd = [sys.executable, "-m", "graders.worker", str(to_worker_r), str(from_worker_w)]
        if sandbox is not None:
            cmd = sandbox.wrap(cmd, workdir=cwd)
        memory = limits.memory_bytes

        def limit_resources():  # runs in the child before exec: applies to the sandbox and the worker
            import resource
            os.setsid()
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        child_env = dict(env or os.environ)
        child_env["PYTHONPATH"] = str(course_root)
        child_env["TNN_COURSE_ROOT"] = str(course_root)
        child_env["MPLBACKEND"] = "Agg"
        child_env["TNN_FAST"] = "1"
        self.proc = subprocess.Popen(cmd, cwd=cwd, pass_fds=(to_worker_r, from_worker_w),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=child_env, preexec_fn=limit_resources)
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.w, self.r = to_worker_w, from_worker_r
        self.callbacks: dict = {}

    # -- channel ---------------------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        try:
            wire.send(self.w, message)
        except OSError as err:
            raise WorkerGone(f"the student's code ended the worker ({err.strerror})") from None

    def _receive(self, timeout: float) -> dict:
        timeout = min(timeout, self.deadline - time.monotonic())
        if timeout <= 0:
            self.kill()
            raise WorkerGone("the notebook's time limit was reached")
        ready, _, _ = select.select([self.r], [], [], timeout)
        if not ready:
            self.kill()
            raise WorkerGone(f"no answer within {timeout:.0f} s (an endless loop, or input() waiting?)")
        try:
            return wire.receive(self.r)
        except wire.WireError as err:
            code = self.proc.poll()
            self.kill()
            if code is not None:
                raise WorkerGone(f"the worker running the student's code died (exit code {code})") from None
            raise WorkerGone(f"protocol error: {err}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._send({"op": "exit"})
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=2)
        self.kill()
        for fd in (self.w, self.r):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- requests --------------------------------------------------------------------------------
    def run(self, cells: list[str]) -> list[dict]:
        self._send({"op": "run", "cells": cells, "cell_timeout": self.limits.cell_timeout})
        reply = self._receive(self.limits.cell_timeout * max(len(cells), 1) + 10)
        return reply.get("results", [])

    def get(self, name: str):
        self._send({"op": "get", "name": name})
        reply = self._receive(self.limits.cell_timeout)
        kind = reply.get("kind")
        if kind == "function":
            return RemoteFunction(self, name)
        if kind == "value":
            return wire.decode(reply["value"])
        return _MISSING

    def call(self, name: str, args: list, kwargs: dict):
        self.callbacks.clear()
        self._send({"op": "call", "name": name, "args": wire.encode(list(args), self.callbacks),
                    "kwargs": wire.encode(dict(kwargs), self.callbacks), "timeout": self.limits.cell_timeout})
        while True:
            reply = self._receive(self.limits.cell_timeout + 5)
            if reply.get("op") != "callback":
                return reply
            f = self.callbacks.get(str(reply.get("id")))
            try:  # the judge's own function (e.g. a loss handed to numerical_gradient), run here
                result = f(*wire.decode(reply["args"]), **wire.decode(reply["kwargs"]))
                self._send({"ok": True, "result": wire.encode(result)})
            except Exception as err:  # noqa: BLE001
                self._send({"ok": False, "evalue": f"{type(err).__name__}: {err}"})


_MISSING = object()


class RemoteFunction:
    """Stands for a student's function in the judge: calls go to the worker, plain data comes back."""

    def __init__(self, worker: Worker, name: str):
        self.worker, self.name = worker, name
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        reply = self.worker.call(self.name, list(args), kwargs)
        if not reply.get("ok"):
            raise _exception(reply.get("ename", "Exception"), reply.get("evalue", ""))
        _apply_in_place(list(args), wire.decode(reply["args_after"]))
        _apply_in_place(list(kwargs.values()), list(wire.decode(reply["kwargs_after"]).values()))
        result = wire.decode(reply["result"])
        if isinstance(result, wire.Unsupported):
            raise TypeError(f"{self.name} returned {result!r}; return numpy arrays, numbers or tuples of them")
        return result

    def __repr__(self) -> str:
        return f"<the student's function {self.name}>"


def _exception(ename: str, evalue: str) -> BaseException:
    cls = getattr(builtins, ename, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls not in (SystemExit, KeyboardInterrupt):
        if cls in (FloatingPointError, NotImplementedError, ValueError, TypeError, IndexError, KeyError,
                   ZeroDivisionError, AttributeError, NameError, RuntimeError, MemoryError, TimeoutError,
                   AssertionError, ArithmeticError, OverflowError, LookupError):
            return cls(evalue)
    if ename == "RuntimeWarning":
        return RuntimeWarning(evalue)
    return RuntimeError(f"{ename}: {evalue}")


def _apply_in_place(originals: list, after: list) -> None:
    """Mirror the worker's in-place changes to the arguments onto the judge's own objects."""
    for old, new in zip(originals, after):
        if isinstance(old, np.ndarray) and isinstance(new, np.ndarray):
            if old.shape == new.shape:
                if not np.array_equal(old, new, equal_nan=True) or old.dtype != new.dtype:
                    old[...] = new
        elif isinstance(old, dict) and isinstance(new, dict):
            for k in list(old):
                if k not in new:
                    del old[k]
            for k, v in new.items():
                if k in old and isinstance(old[k], (np.ndarray, dict, list)):
                    _apply_in_place([old[k]], [v])
                    if isinstance(old[k], np.ndarray) and isinstance(v, np.ndarray) and old[k].shape != v.shape:
                        old[k] = v
                else:
                    old[k] = v
        elif isinstance(old, list) and isinstance(new, list):
            old[:] = new
        elif isinstance(old, np.random.Generator) and isinstance(new, np.random.Generator):
            old.bit_generator.state = new.bit_generator.state
        elif hasattr(old, "__dict__") and type(old) is type(new) and not callable(old):
            for k, v in vars(new).items():
                object.__setattr__(old, k, v)


def free_names(source: str) -> list[str]:
    """Names a test cell reads but does not define (and that are not builtins)."""
    tree = ast.parse(source)
    assigned, used = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                assigned.add(node.id)
            elif node.id not in used:
                used.append(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                assigned.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            assigned.add(node.name)
        elif isinstance(node, ast.arg):
            assigned.add(node.arg)
    return [n for n in used if n not in assigned and not hasattr(builtins, n)]


@dataclass
class CellVerdict:
    grade_id: str
    points: float
    passed: bool                 # visible and hidden tests of the cell
    message: str = ""
    visible_passed: bool = False  # the visible part alone (what the student's kernel also ran)


@dataclass
class NotebookVerdict:
    cells: list[CellVerdict] = field(default_factory=list)
    error: str = ""   # the whole notebook could not be checked (worker died, time limit, ...)
    cell_errors: list = field(default_factory=list)


def _first_line(text: str) -> str:
    lines = [l for l in str(text).strip().splitlines() if l.strip()]
    return lines[0][:300] if lines else ""


def judge_notebook(student_cells: list[str], test_cells: list[tuple[str, float, str]], cwd: Path,
                   limits: Limits | None = None, sandbox=None) -> NotebookVerdict:
    """Run ``student_cells`` in a worker; run each trusted ``(grade_id, points, source)`` test here."""
    limits = limits or Limits()
    verdict = NotebookVerdict()
    worker = Worker(cwd, limits, sandbox)
    try:
        try:
            verdict.cell_errors = [r for r in worker.run(student_cells) if not r.get("ok")]
        except WorkerGone as err:
            verdict.error = str(err)
        for grade_id, points, source in test_cells:
            if verdict.error:
                verdict.cells.append(CellVerdict(grade_id, points, False, verdict.error))
                continue
            visible, _, hidden = source.partition("### BEGIN HIDDEN TESTS")
            cell = CellVerdict(grade_id, points, False)
            try:
                namespace = {"__builtins__": builtins, "__name__": "__judge__", "np": np}
                for name in free_names(source):
                    if name in namespace:
                        continue
                    value = worker.get(name)
                    if value is not _MISSING:
                        namespace[name] = value
                for part in ("visible", "hidden"):
                    code = visible if part == "visible" else "### BEGIN HIDDEN TESTS" + hidden
                    out = io.StringIO()
                    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
                            warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        exec(compile(code, f"<test {grade_id} ({part})>", "exec"), namespace)  # noqa: S102
                    if part == "visible":
                        cell.visible_passed = True
                cell.passed = True
            except WorkerGone as err:
                verdict.error = str(err)
                cell.message = verdict.error
            except BaseException as err:  # noqa: BLE001
                cell.message = f"{type(err).__name__}: {_first_line(err)}"
            verdict.cells.append(cell)
    finally:
        worker.close()
    return verdict
