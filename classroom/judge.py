"""The trusted re-check: grade a notebook where no student code ever runs.

The student's code runs only in the student's kernel (sandboxed where a sandbox is available, see
:mod:`classroom.sandbox`), which nbgrader has used to execute the notebook and which then serves as the
*worker* (:mod:`classroom.worker`). This process, the judge, executes the *trusted* test cells from the
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
import select
import socket
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import hidden as _hidden  # noqa: F401  (registers the hidden cases the hidden tests draw)
from . import wire


class WorkerGone(BaseException):
    """The worker died, hung past its time limit, or broke the protocol. A BaseException: a check's
    ``except Exception`` (which turns a student's error into a message) lets it through to the judge,
    with its cause."""


class RecheckTimeout(BaseException):
    """The notebook's time limit ran out while the judge was working (raised by the grader's alarm; a
    BaseException, so that no check's ``except Exception`` swallows it)."""


@dataclass
class Limits:
    cell_timeout: float = 30.0        # one cell of student code, or one call of a student function
    notebook_timeout: float = 300.0   # everything for one notebook
    memory_bytes: int = 4 * 1024 ** 3  # address-space limit of the student's kernel


class Worker:
    """The channel to a worker: the student's kernel serving the judge's requests (see
    :mod:`classroom.worker`) over a connected Unix socket. ``kill`` ends the kernel when it stops answering."""

    def __init__(self, conn: socket.socket, limits: Limits, kill: Callable[[], None] | None = None,
                 deadline: float | None = None):
        self.conn, self.limits, self._kill = conn, limits, kill
        self.r = self.w = conn.fileno()
        self.deadline = deadline if deadline is not None else time.monotonic() + limits.notebook_timeout
        self.callbacks: dict = {}
        self.gone = False

    @classmethod
    def accept(cls, listener: socket.socket, limits: Limits, kill: Callable[[], None] | None = None,
               timeout: float = 15.0, deadline: float | None = None) -> "Worker":
        """Wait for the kernel to connect to ``listener`` (after it was asked to serve). ``deadline``
        (``time.monotonic()``) ends everything, as the notebook's time limit."""
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline - time.monotonic()))
        listener.settimeout(timeout)
        try:
            conn, _ = listener.accept()
        except OSError:  # socket.timeout included
            if kill:
                kill()
            raise WorkerGone(f"the student's kernel did not connect to the re-check within {timeout:.0f} s "
                             "(is the set-up cell intact?)") from None
        conn.setblocking(True)
        return cls(conn, limits, kill, deadline)

    # -- channel: every wait is bounded (a kernel that stalls mid-message is killed) ------------------
    def _send(self, message: dict) -> None:
        if self.gone:
            raise WorkerGone("the worker is gone")
        try:
            wire.send(self.w, message, deadline=self.deadline)
        except wire.WireError as err:
            self.kill()
            raise WorkerGone(f"the kernel stopped reading the re-check's requests ({err})") from None
        except OSError as err:
            self.kill()
            raise WorkerGone(f"the student's code ended the kernel ({err.strerror})") from None

    def _receive(self, timeout: float) -> dict:
        if self.gone:
            raise WorkerGone("the worker is gone")
        timeout = min(timeout, self.deadline - time.monotonic())
        if timeout <= 0:
            self.kill()
            raise WorkerGone("the notebook's time limit was reached")
        ready, _, _ = select.select([self.r], [], [], timeout)
        if not ready:
            self.kill()
            raise WorkerGone(f"no answer within {timeout:.0f} s (an endless loop, or input() waiting?)")
        try:
            return wire.receive(self.r, deadline=min(time.monotonic() + timeout, self.deadline))
        except (wire.WireError, OSError) as err:
            self.kill()
            raise WorkerGone(f"the kernel running the student's code stopped answering ({err})") from None

    def kill(self) -> None:
        """Stop talking and end the kernel (the student's code does not get another chance)."""
        if not self.gone:
            self.gone = True
            with contextlib.suppress(OSError):
                self.conn.close()
            if self._kill:
                with contextlib.suppress(Exception):
                    self._kill()

    def close(self) -> None:
        if not self.gone:
            with contextlib.suppress(Exception):
                wire.send(self.w, {"op": "exit"})
            self.gone = True
            with contextlib.suppress(OSError):
                self.conn.close()

    # -- requests --------------------------------------------------------------------------------
    def get(self, name: str):
        self._send({"op": "get", "name": name})
        reply = self._receive(self.limits.cell_timeout)
        kind = reply.get("kind")
        if kind == "function":
            return RemoteFunction(self, name)
        if kind == "value":
            return self.decode(reply.get("value"))
        return _MISSING

    def decode(self, value):
        """A value from the worker; one the wire refuses means the kernel broke the protocol (its replies
        can no longer be trusted to be in step): the worker is ended."""
        try:
            return wire.decode(value, remote_factory=self._remote)
        except wire.WireError:
            self.kill()
            raise WorkerGone("the student's kernel sent a value the re-check refuses (not plain data)") from None

    def _remote(self, handle: str) -> "RemoteFunction":
        return RemoteFunction(self, handle)

    def _request(self, message: dict, timeout: float) -> dict:
        """Send a call request; answer the worker's callbacks (the judge's own functions handed to a
        student's function, run here) until the result arrives. ``timeout`` bounds the wait for each
        message: the worker reports progress between the calls of a batch."""
        self.callbacks.clear()
        message = {**message, "timeout": self.limits.cell_timeout}
        for key in ("args", "kwargs"):
            if key in message:
                message[key] = wire.encode(message[key], self.callbacks)
        if "calls" in message:
            message["calls"] = [{"args": wire.encode(list(a), self.callbacks),
                                 "kwargs": wire.encode(dict(k), self.callbacks)} for a, k in message["calls"]]
        try:
            self._send(message)
            while True:
                reply = self._receive(timeout)
                if reply.get("op") == "progress":
                    continue
                if reply.get("op") != "callback":
                    return reply
                f = self.callbacks.get(str(reply.get("id")))
                try:  # the judge's own function (e.g. a loss handed to numerical_gradient), run here
                    result = f(*self.decode(reply.get("args")), **self.decode(reply.get("kwargs")))
                    answer = {"ok": True, "result": wire.encode(result)}
                except Exception as err:  # noqa: BLE001
                    answer = {"ok": False, "evalue": f"{type(err).__name__}: {err}"}
                self._send(answer)
        except WorkerGone:
            raise
        except BaseException:  # interrupted while a request is outstanding: the channel is out of step
            self.kill()
            raise

    def call(self, name: str, args: list, kwargs: dict) -> dict:
        return self._request({"op": "call", "name": name, "args": list(args), "kwargs": dict(kwargs)},
                             self.limits.cell_timeout + 5)

    def many(self, name: str, calls: list[tuple[list, dict]], keep: int | None = None) -> list[dict]:
        reply = self._request({"op": "many", "name": name, "calls": calls, "keep": keep},
                              self.limits.cell_timeout + 5)
        if not reply.get("ok"):
            return [reply]
        outcomes = reply.get("outcomes")
        if not isinstance(outcomes, list) or not 0 < len(outcomes) <= len(calls):
            raise WorkerGone("protocol error: malformed reply")
        return outcomes

    def repeat(self, name: str, n: int, args: list, kwargs: dict) -> dict:
        return self._request({"op": "repeat", "name": name, "n": int(n), "args": list(args),
                              "kwargs": dict(kwargs)}, self.limits.cell_timeout + 5)


_MISSING = object()


class RemoteFunction:
    """Stands for a student's function in the judge: calls go to the worker, plain data comes back."""

    def __init__(self, worker: Worker, name: str):
        self.worker, self.name = worker, name
        self.__name__ = self.__qualname__ = name if not name.startswith("#") else "<function it returned>"

    def __call__(self, *args, **kwargs):
        return self._outcome(self.worker.call(self.name, list(args), kwargs), args, kwargs)

    def many(self, calls: list[tuple[list, dict]], keep: int | None = None) -> list[Callable]:
        """Make the calls ``f(*args, **kwargs)`` up front, in one round trip, and return one stand-in
        per call (see :func:`graders.checking.prefetch`): the k-th, called with the k-th arguments,
        applies the call's in-place changes to them and returns its result or raises its exception.
        The worker stops at the first call that raises; the stand-ins after it raise the same. With
        ``keep``, only the first ``keep`` items of a tuple result come back (the others are None)."""
        if not calls:
            return []
        outcomes = self.worker.many(self.name, [(list(a), dict(k)) for a, k in calls], keep)
        outcomes = outcomes + [outcomes[-1]] * (len(calls) - len(outcomes))
        return [lambda *args, outcome=outcome, **kwargs: self._outcome(outcome, args, kwargs)
                for outcome in outcomes]

    def repeat(self, n: int, *args, **kwargs) -> list:
        """``[f(*args, **kwargs) for _ in range(n)]`` on the same argument objects, in one round trip."""
        results = self._outcome(self.worker.repeat(self.name, n, list(args), kwargs), args, kwargs)
        for item in results if isinstance(results, list) else []:
            if isinstance(item, wire.Unsupported):  # as one call returning it would have failed
                raise TypeError(f"{self.__name__} returned {item!r}; return numpy arrays, numbers or tuples of them")
        return results

    def _outcome(self, reply: dict, args, kwargs):
        if not reply.get("ok"):
            raise _exception(reply.get("ename", "Exception"), reply.get("evalue", ""))
        changed = reply.get("changed") or {}
        if not isinstance(changed, dict):
            raise WorkerGone("protocol error: malformed reply")
        for key, value in changed.items():
            if key.isdigit() and int(key) < len(args):
                _apply_in_place([args[int(key)]], [self.worker.decode(value)])
            elif key in kwargs:
                _apply_in_place([kwargs[key]], [self.worker.decode(value)])
        result = self.worker.decode(reply.get("result"))
        if isinstance(result, wire.Unsupported):
            raise TypeError(f"{self.__name__} returned {result!r}; return numpy arrays, numbers or tuples of them")
        return result

    def __repr__(self) -> str:
        return f"<the student's function {self.__name__}>"


def _exception(ename: str, evalue: str) -> BaseException:
    """The student's exception, rebuilt from its name and message: a built-in exception class where
    the name is one, otherwise a plain ``Exception`` subclass of the same name (never the student's
    own class, whose code stays in the kernel). So a check's message names it as a local call would."""
    cls = getattr(builtins, ename, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        with contextlib.suppress(Exception):
            return cls(evalue)
    if ename.isidentifier() and not ename.startswith("__"):
        return type(ename, (Exception,), {})(evalue)
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
                if k in old and _same_kind(old[k], v):
                    _apply_in_place([old[k]], [v])
                else:   # a new entry, or a value replaced by another kind of value
                    old[k] = v
        elif isinstance(old, list) and isinstance(new, list):
            old[:] = new
        elif isinstance(old, np.random.Generator) and isinstance(new, np.random.Generator):
            old.bit_generator.state = new.bit_generator.state
        elif hasattr(old, "__dict__") and type(old) is type(new) and not callable(old):
            for k, v in vars(new).items():
                object.__setattr__(old, k, v)


def _same_kind(old, new) -> bool:
    """Whether ``new`` can be copied into ``old`` in place without changing what ``old`` is."""
    if isinstance(old, np.ndarray):
        return isinstance(new, np.ndarray) and old.shape == new.shape and old.dtype == new.dtype
    return isinstance(old, (dict, list)) and type(old) is type(new)


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


def _first_line(text: str) -> str:
    lines = [l for l in str(text).strip().splitlines() if l.strip()]
    return lines[0][:300] if lines else ""


def hidden_summary(source: str) -> str:
    """What a cell's hidden part tests, in the judge's own words (the checks it calls), for feedback: a
    failing hidden part never shows text that the student's code produced (it could echo a hidden input)."""
    names = []
    try:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("check_") \
                    and node.func.id not in names:
                names.append(node.func.id)
    except SyntaxError:
        pass
    what = ", ".join(names) if names else "further assertions"
    return (f"the hidden tests of this cell failed ({what} on inputs that are not shown: edge cases, other "
            "shapes and seeds). Make sure your code follows the docstring for every input it allows.")


def judge_notebook(worker: Worker | None, test_cells: list[tuple[str, float, str]],
                   error: str = "") -> NotebookVerdict:
    """Run each trusted ``(grade_id, points, source)`` test cell here, fetching the names it needs from
    ``worker`` (the student's kernel). Without a worker, every cell fails with ``error``.

    Every cell's visible part runs first, and only then the hidden parts: no hidden input reaches the
    student's kernel before every message that can show the student's own text has been made. A
    failing hidden part, or the kernel failing during the hidden parts, gets the judge's own text. A
    :class:`RecheckTimeout` ends the re-check: the cells not yet judged fail with that reason."""
    verdict = NotebookVerdict(error=error if worker is None else "")
    if worker is None and not verdict.error:
        verdict.error = "the student's kernel was not available for the re-check"
    cells = [CellVerdict(grade_id, points, False) for grade_id, points, _ in test_cells]
    namespaces: list[dict | None] = [None] * len(test_cells)
    phase = "visible"

    def stop(message: str) -> None:
        verdict.error = message
        if worker is not None:
            worker.kill()

    try:
        for phase in ("visible", "hidden"):
            for k, (grade_id, points, source) in enumerate(test_cells):
                cell = cells[k]
                if verdict.error:
                    break
                if phase == "hidden" and not cell.visible_passed:
                    continue
                visible, _, hidden = source.partition("### BEGIN HIDDEN TESTS")
                try:
                    if phase == "visible":
                        namespace = {"__builtins__": builtins, "__name__": "__judge__", "np": np}
                        for name in free_names(source):
                            if name in namespace:
                                continue
                            value = worker.get(name)
                            if value is not _MISSING:
                                namespace[name] = value
                        namespaces[k] = namespace
                        code = visible
                    else:
                        code = "### BEGIN HIDDEN TESTS" + hidden
                    out = io.StringIO()
                    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
                            warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        exec(compile(code, f"<test {grade_id} ({phase})>", "exec"), namespaces[k])  # noqa: S102
                    if phase == "visible":
                        cell.visible_passed = True
                    else:
                        cell.passed = True
                except RecheckTimeout:
                    stop("the re-check ran past the notebook's time limit")
                except WorkerGone as err:
                    stop(str(err) if phase == "visible" else
                         "the student's kernel stopped answering during the hidden tests")
                except BaseException as err:  # noqa: BLE001
                    cell.message = (hidden_summary(hidden) if phase == "hidden"
                                    else f"{type(err).__name__}: {_first_line(err)}")
        for cell in cells:
            if verdict.error and not cell.passed and not cell.message:
                cell.message = verdict.error
    except RecheckTimeout:   # between two cells
        verdict.error = "the re-check ran past the notebook's time limit"
        for cell in cells:
            if not cell.passed:
                cell.message = cell.message or verdict.error
    finally:
        if worker is not None:
            worker.close()
    verdict.cells = cells
    return verdict
