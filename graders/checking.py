"""The machinery every topic's checks are built from.

A check calls the student's function on a few :class:`Case` inputs through :func:`call`, which
- passes the inputs and afterwards verifies the function did not change them in place,
- turns a numpy floating-point warning (overflow in ``exp``, division by zero, ...) into a failure
  message instead of letting it reach stderr (nbgrader scores a test cell that writes to stderr as 0),
- lets ``NotImplementedError`` through unchanged, so an unstarted exercise reads as "not done yet".

Then it inspects the result with the ``expect_*`` helpers, each of which raises ``AssertionError``
with a sentence for the student: what was expected, what came back, and the input that broke it.
Results are converted to plain ``numpy.ndarray`` before any comparison, so an array subclass cannot
change how it is compared.
"""
from __future__ import annotations

import copy
import functools
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


class CheckFailure(AssertionError):
    """A check failed; the message is written for the student.

    In a notebook, IPython shows an exception that has ``_render_traceback_`` by calling it: a failure
    then reads as its message (what was expected, what came back, the input, a hint) and, when the
    student's own code raised, the lines of *their* code involved; never the check library's frames.
    nbgrader and pytest still see an ``AssertionError`` and count the cell or test as failed."""

    def _render_traceback_(self) -> list[str]:
        return render_failure(self)


# ------------------------------------------------------------------ how a failure looks in a notebook
_RED, _BOLD, _DIM, _RESET = "\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[0m"
_COURSE_ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def _is_course_frame(filename: str) -> bool:
    """A frame of the course's own packages (checks, library), of Python or of an installed package."""
    import sysconfig
    from pathlib import Path
    try:
        path = Path(filename).resolve()
    except (OSError, ValueError):
        return False
    if any(path.is_relative_to(_COURSE_ROOT / pkg) for pkg in ("graders", "classroom", "authoring")):
        return True
    prefixes = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return any(str(path).startswith(str(Path(p).resolve())) for p in prefixes)


def _where(filename: str, lineno: int) -> str:
    """``Cell In[5], line 3`` for a notebook cell (as IPython names it), else ``file.py, line 3``."""
    try:
        from IPython import get_ipython
        shell = get_ipython()
        if shell is not None:
            kind, name = shell.compile.format_code_name(filename) or (None, None)
            if name:
                return f"{kind} {name}, line {lineno}"
    except Exception:
        pass
    return f"{filename}, line {lineno}"


def _your_lines(err: BaseException | None, limit: int = 4) -> list[str]:
    """The frames of ``err``'s traceback that are the student's code (not the course's, not Python's)."""
    import linecache
    import traceback
    if err is None or err.__traceback__ is None:
        return []
    frames = [f for f in traceback.extract_tb(err.__traceback__) if not _is_course_frame(f.filename)]
    out = []
    for f in frames[-limit:]:
        line = (f.line or linecache.getline(f.filename, f.lineno)).strip()
        out.append(f"  {_where(f.filename, f.lineno)}, in {f.name}")
        if line:
            out.append(f"    {line}")
    return out


def _stopped_note() -> list[str]:
    """While a student runs the notebook (not while nbgrader grades it, where every cell runs anyway)."""
    import os
    if os.environ.get("NBGRADER_EXECUTION"):
        return []
    return ["", f"{_DIM}(Run All stops at a failing cell: the cells below have not run. Fix this one, "
                f"then use Run > Run Selected Cell and All Below.){_RESET}"]


def render_failure(err: BaseException) -> list[str]:
    """The lines a notebook shows for a failed check or an exercise not done yet: the message first."""
    name = "CheckFailure" if isinstance(err, CheckFailure) else type(err).__name__
    lines = str(err).splitlines() or [""]
    out = [f"{_RED}{_BOLD}{name}{_RESET}: {_BOLD}{lines[0]}{_RESET}", *lines[1:]]
    cause = err.__cause__
    if cause is not None and not isinstance(cause, (CheckFailure, NotImplementedError)):
        mine = _your_lines(cause)
        if mine:
            out += ["", f"Where it happened in your code ({type(cause).__name__}):", *mine]
    return out + _stopped_note()


def student_facing(err: BaseException) -> BaseException:
    """``err`` (a ``NotImplementedError``, say) made to render like a failure in a notebook; returned."""
    try:
        err._render_traceback_ = lambda: render_failure(err)
    except AttributeError:  # an exception type without a __dict__: IPython's own rendering then
        pass
    return err


@dataclass
class Case:
    """One input to an exercise function: a description, positional ``args`` (a name for each, in
    order) and, once known, the reference output ``expected``."""
    label: str
    args: dict[str, Any]
    expected: Any = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def describe(self, limit: int = 6) -> str:
        parts = [f"{name} = {_short(value, limit)}" for name, value in {**self.args, **self.kwargs}.items()]
        return f"{self.label}:\n    " + "\n    ".join(parts)


def _short(value, limit: int = 6) -> str:
    if isinstance(value, np.ndarray):
        head = f"array of shape {value.shape}, dtype {value.dtype}"
        if value.size <= 40:
            body = np.array2string(value, precision=4, separator=", ", threshold=40,
                                   edgeitems=2, max_line_width=100).replace("\n", "\n      ")
            return f"{head}\n      {body}"
        return f"{head}, values from {value.min():.4g} to {value.max():.4g}"
    if callable(value):
        return getattr(value, "__doc__", None) and value.__doc__.strip().splitlines()[0] or repr(value)
    return repr(value)


def fail(message: str, case: Case | None = None, hint: str | None = None) -> None:
    """Raise a :class:`CheckFailure` with the message, the input that broke it and a hint."""
    __tracebackhide__ = True
    text = message
    if case is not None:
        text += f"\nInput: {case.describe()}"
    if hint:
        text += f"\nHint: {hint}"
    raise CheckFailure(text) from None  # raised while handling another error: that one is not the news


def call(f: Callable, name: str, case: Case, copy_args: bool = False):
    """Call ``f(*case.args.values(), **case.kwargs)`` the way a check should.

    Fails (with a message) on a numpy floating-point warning or error and on mutated inputs; any other
    exception but ``NotImplementedError`` becomes a failure that names the input, chained to the
    original so its traceback stays visible. ``copy_args`` hands ``f`` copies instead (for inputs
    that ``f`` is allowed to change, such as a state dict).
    """
    __tracebackhide__ = True
    args = [copy.deepcopy(v) for v in case.args.values()] if copy_args else list(case.args.values())
    kwargs = dict(case.kwargs)
    before = [copy.deepcopy(v) for v in args]
    numeric_problem = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            # numpy's floating-point problems fail the check (they mean wrong numbers); any other warning
            # (a DeprecationWarning, a UserWarning) is kept off stderr and does not cost points
            warnings.simplefilter("always")
            warnings.filterwarnings("error", category=RuntimeWarning)
            with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                out = f(*args, **kwargs)
    except NotImplementedError as err:
        if str(err):  # already explained (e.g. by a nested check)
            raise student_facing(err)
        raise student_facing(NotImplementedError(
            f"{name} is not implemented yet: replace `raise NotImplementedError()` in its cell with your "
            "code, run that cell, then this check again.")) from None
    except (FloatingPointError, RuntimeWarning) as err:
        numeric_problem = str(err)  # failed below, outside this handler: one error, not two chained
    except CheckFailure:
        raise
    except Exception as err:  # the student's own bug: name the input; the notebook shows their lines
        raise CheckFailure(f"{name} raised {type(err).__name__}: {err}\nInput: {case.describe()}") from err
    if numeric_problem is not None:
        fail(f"{name} ran into a floating-point problem: {numeric_problem}. A correct implementation stays "
             "finite and raises no warning on this input.", case, _warning_hint(numeric_problem))
    if not copy_args:
        for arg_name, old, new in zip(case.args, before, args):
            if not _same(old, new):
                for original, changed in zip(before, args):  # undo, so that no later check sees the change
                    _restore(changed, original)
                fail(f"{name} changed its input `{arg_name}` in place. Work on a copy (for example "
                     f"`{arg_name} = {arg_name} - something` instead of `{arg_name} -= something`).", case)
    return out


def _restore(obj, original) -> None:
    """Put ``original``'s contents back into ``obj`` where that can be done in place."""
    if isinstance(obj, np.ndarray) and isinstance(original, np.ndarray) and obj.shape == original.shape:
        if obj.flags.writeable:
            obj[...] = original
    elif isinstance(obj, dict) and isinstance(original, dict):
        obj.clear()
        obj.update(original)
    elif isinstance(obj, list) and isinstance(original, list):
        obj[:] = original


def prefetch(f: Callable, calls: list[tuple[list, dict]], keep: int | None = None) -> list[Callable]:
    """Stand-ins for ``f``, one per ``(args, kwargs)`` in ``calls``: the k-th, called once with the k-th
    arguments (through :func:`call`, say), returns or raises what ``f`` would, and makes the same
    in-place changes to them.

    For a student's function in the trusted re-check (a :class:`graders.judge.RemoteFunction`) every
    call is made up front, in one round trip to the student's kernel instead of one each; for any
    other function the stand-ins are ``f`` itself. ``keep=1`` says the caller uses only the first item
    of a tuple result (a forward pass's output, not its cache): the others may then come back as None."""
    many = getattr(f, "many", None)
    if many is None or len(calls) < 2:
        return [f] * len(calls)
    return many(calls, keep=keep)


def repeat(f: Callable, n: int, *args, **kwargs) -> list:
    """``[f(*args, **kwargs) for _ in range(n)]``: ``n`` calls on the same argument objects (a generator
    advancing from call to call, say); one round trip for a student's function in the trusted re-check."""
    many = getattr(f, "repeat", None)
    return many(n, *args, **kwargs) if many is not None else [f(*args, **kwargs) for _ in range(n)]


def _warning_hint(text: str) -> str | None:
    text = text.lower()
    if "overflow" in text:
        return "exp of a large number overflows; shift the inputs first (e.g. subtract the row maximum)."
    if "divide by zero" in text and "log" in text:
        return ("log(0): a probability underflowed to 0. Compute log-probabilities directly (log-softmax: "
                "shifted scores minus the log of the sum of their exponentials) instead of log(softmax).")
    if "divide" in text or "invalid" in text:
        return "a division by zero or 0/0 happened; guard the denominator."
    return None


def _same(a, b) -> bool:
    if isinstance(a, np.random.Generator):
        return isinstance(b, np.random.Generator)  # a generator is meant to advance
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:
        return a is b


def plain(value) -> np.ndarray:
    """``value`` as a plain float64-compatible ``numpy.ndarray`` (subclasses stripped, data copied)."""
    if isinstance(value, np.ndarray):
        return np.array(np.ndarray.view(value, np.ndarray), copy=True, subok=False)
    return np.array(value, copy=True, subok=False)


def expect_array(value, what: str, case: Case, shape: tuple | None = None, floating: bool = True,
                 finite: bool = True) -> np.ndarray:
    """Check that ``value`` is an ndarray of the given shape, floating dtype, all finite; return it plain."""
    __tracebackhide__ = True
    if not isinstance(value, np.ndarray):
        fail(f"{what} should be a numpy array, but it is a {type(value).__name__}.", case,
             "build the result with numpy operations (or wrap it in np.array).")
    arr = plain(value)
    if shape is not None and arr.shape != tuple(shape):
        fail(f"{what} should have shape {tuple(shape)}, but it has shape {arr.shape}.", case)
    if floating and not np.issubdtype(arr.dtype, np.floating):
        fail(f"{what} should hold floating-point numbers, but its dtype is {arr.dtype}.", case,
             "integer arithmetic truncates; make sure the result is computed in floating point.")
    if finite and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        fail(f"{what} contains a non-finite value ({arr[tuple(bad)]}) at index {tuple(int(i) for i in bad)}.",
             case)
    return arr


def expect_scalar(value, what: str, case: Case | None = None, finite: bool = True) -> float:
    """Check that ``value`` is one real number (a Python or numpy scalar, or a 0-d/size-1 array)."""
    __tracebackhide__ = True
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number, np.ndarray)):
        fail(f"{what} should be a single number, but it is a {type(value).__name__} ({value!r:.80}).", case)
    arr = plain(value)
    if arr.size != 1:
        fail(f"{what} should be a single number, but it is an array of shape {arr.shape}.", case,
             "reduce it to a scalar (e.g. with np.mean or np.sum).")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        fail(f"{what} should be a real number, but its dtype is {arr.dtype}.", case)
    result = float(arr.reshape(()))
    if finite and not np.isfinite(result):
        fail(f"{what} should be finite, but it is {result}.", case)
    return result


def expect_close(got, expected, what: str, case: Case | None = None, rtol: float = 1e-6,
                 atol: float = 1e-9, hint: str | None = None) -> None:
    """Check ``|got - expected| <= atol + rtol * |expected|`` everywhere; report the worst entry."""
    __tracebackhide__ = True
    got_a = plain(got).astype(np.float64)
    exp_a = plain(expected).astype(np.float64)
    if got_a.shape != exp_a.shape:
        fail(f"{what} should have shape {exp_a.shape}, but it has shape {got_a.shape}.", case, hint)
    err = np.abs(got_a - exp_a)
    excess = err - (atol + rtol * np.abs(exp_a))
    if got_a.size and (not np.all(np.isfinite(got_a)) or np.max(excess) > 0):
        excess = np.where(np.isfinite(excess), excess, np.inf)
        i = np.unravel_index(int(np.argmax(excess)), got_a.shape) if got_a.ndim else ()
        where = f" at index {tuple(int(k) for k in i)}" if got_a.ndim else ""
        fail(f"{what} is wrong{where}: expected {exp_a[i]:.8g}, got {got_a[i]:.8g} (tolerance: "
             f"rtol={rtol:g}, atol={atol:g}; {int(np.sum(excess > 0))} of {got_a.size} entries are off).",
             case, hint)


def describe_kind(value) -> str:
    """``a tuple of 3 items``, ``a list of 2 items``, ``an ndarray``, ``None``: what came back, for messages."""
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def expect_tuple(value, names: tuple[str, ...] | list[str], what: str, case: Case | None = None,
                 hint: str | None = None) -> tuple:
    """Check that ``what`` returned a tuple of exactly ``len(names)`` items (a list is not a tuple: the
    docstrings say tuple); return it. ``names`` name the items in the message: ``(out, cache)``."""
    __tracebackhide__ = True
    if not isinstance(value, tuple) or len(value) != len(names):
        fail(f"{what} should return a tuple ({', '.join(names)}), but it returned {describe_kind(value)}.",
             case, hint)
    return tuple(value)


def ratio(got, expected) -> float | None:
    """If ``got`` is (nearly) a constant multiple of ``expected``, that multiple; else None. For hints."""
    g = plain(got).astype(np.float64).ravel()
    e = plain(expected).astype(np.float64).ravel()
    if g.shape != e.shape or not np.all(np.isfinite(g)):
        return None
    denom = float(e @ e)
    if denom == 0.0:
        return None
    r = float(g @ e) / denom
    return r if np.allclose(g, r * e, rtol=1e-6, atol=1e-12) else None


def withheld(function) -> bool:
    """Whether ``function`` (of the course library) is held back here: while a notebook is graded, the
    sandbox's library has no working version of that notebook's exercises (``classroom.library``), and
    a visible check that would need one leaves that part to the trusted re-check."""
    return bool(getattr(function, "__withheld__", False))


def expect_gradient(analytic, numeric, what: str, case: Case | None = None, tol: float = 1e-6,
                    hint: str | None = None) -> float | None:
    """Compare an analytic gradient with a float64 centred-difference one by relative error. ``numeric``
    None (the library that computes it is withheld here): only the shape is checked, the rest is left
    to the trusted re-check."""
    __tracebackhide__ = True
    from utils.gradcheck import relative_error

    if numeric is None or withheld(relative_error):
        expect_array(analytic, what, case, shape=None if numeric is None else plain(numeric).shape)
        return None
    a = expect_array(analytic, what, case, shape=plain(numeric).shape)
    err = relative_error(a, numeric)
    if not err <= tol:
        n = plain(numeric)
        i = np.unravel_index(int(np.argmax(np.abs(a - n))), a.shape) if a.ndim else ()
        fail(f"{what} does not match the numeric gradient (centred differences in float64): relative "
             f"error {err:.2e}, more than the allowed {tol:g}. Worst entry{f' {i}' if a.ndim else ''}: "
             f"numeric {n[i]:.8g}, yours {a[i]:.8g}.", case, hint)
    return err


def reporting(summary: str):
    """Decorate a check so that, when it passes, it prints one line saying what was verified."""
    def wrap(check):
        @functools.wraps(check)
        def run(*args, **kwargs):
            __tracebackhide__ = True
            check(*args, **kwargs)
            mode = " (hidden cases)" if kwargs.get("hidden") else ""
            print(f"[ok] {check.__name__}{mode}: {summary}")
            # returns None on purpose: a number as a test cell's last value would be taken by nbgrader
            # as partial credit
        return run
    return wrap



# ---------------------------------------------------------------- questions with a numeric or lettered answer
def require_answer(value, name: str, cell: str = "exercise") -> None:
    """An answer still ``None`` (its cell not done yet) reads as ``NotImplementedError``, like a stub.
    ``cell="experiment"`` for a value that a demo cell computes with the student's functions."""
    __tracebackhide__ = True
    if value is None:
        if cell == "experiment":
            raise student_facing(NotImplementedError(
                f"{name} is not set yet: run the experiment cell above this check (it uses your functions, "
                "so finish the exercises it calls first)."))
        raise student_facing(NotImplementedError(f"{name} is not set yet: set it in the answer cell above "
                                                 "this check, run that cell, then this check again."))


def check_number(value, *, name: str, expected: float | None = None, tol: float | None = None,
                 hidden: bool = False) -> None:
    """Check a numeric question's answer ``value`` (the variable called ``name``).

    Visible: a finite number (its value is graded later). ``hidden=True`` (in a hidden test, with the
    answer in ``expected``): within ``tol`` (absolute) of ``expected``."""
    __tracebackhide__ = True
    require_answer(value, name)
    result = expect_scalar(value, name)
    if not hidden:
        print(f"[ok] {name} is a finite number ({result:.6g}); its value is graded when the notebook is graded.")
        return  # (no return value: nbgrader would read a number shown by a test cell as partial credit)
    if expected is None or tol is None:
        raise TypeError("check_number(..., hidden=True) needs expected= and tol=")
    if not abs(result - float(expected)) <= tol:
        fail(f"{name} is {result:.6g}, which is not the expected value (allowed error {tol:g}).")
    print(f"[ok] {name} (hidden cases): the expected value")


def check_choice(value, *, name: str, choices=("A", "B", "C", "D"), expected: str | None = None,
                 hidden: bool = False) -> None:
    """Check a multiple-choice question's answer ``value`` (the variable called ``name``).

    Visible: one of ``choices`` (whether it is right is graded later). ``hidden=True`` (in a hidden
    test, with the right letter in ``expected``): the right choice."""
    __tracebackhide__ = True
    require_answer(value, name)
    options = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str) or value.strip().upper() not in [c.upper() for c in choices]:
        fail(f"{name} should be one of {options}, but it is {value!r}.")
    if not hidden:
        print(f"[ok] {name} is one of {options}; whether it is right is graded when the notebook is graded.")
        return
    if expected is None:
        raise TypeError("check_choice(..., hidden=True) needs expected=")
    if value.strip().upper() != expected.strip().upper():
        fail(f"{name} is {value!r}, which is not the right answer. Reread the question and the cells above it.")
    print(f"[ok] {name} (hidden cases): the right answer")
