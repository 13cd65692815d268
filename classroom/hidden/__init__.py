"""Hidden cases, one module per topic: ``classroom/hidden/<topic>.py``.

Each module defines ``CASES = {exercise: draw(rng) -> [graders.checking.Case, ...]}`` (the inputs the
hidden tests try; expected outputs come from the reference solutions) and, where an experiment or
question check has a hidden part, ``CRITERIA = {name: function}``. They are never part of the student
release and never visible inside the grading sandbox. Importing this package registers it with
:func:`graders.fixtures.register_hidden`, so that ``check_<exercise>(f, hidden=True)`` finds them.
"""
from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

from graders.fixtures import register_hidden


def module(topic: str) -> ModuleType:
    """The hidden module of ``topic`` (``softmax`` or ``01_softmax``)."""
    from graders.layout import topic_name

    return importlib.import_module(f"{__name__}.{topic_name(topic)}")


# ---------------------------------------------------------------- comparing a value with its rerun
RERUN_HINT = ("the hidden test ran that computation again, with your own functions and the notebook's seeds, and "
              "got another result. Run the cells as given, top to bottom, and do not change or type in their "
              "results.")


def expect_rerun(got, rerun, what: str, *, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """``got`` (a value the notebook computed) equals ``rerun`` (the same computation redone by the hidden
    test with the student's functions) within ``rtol``/``atol``: same shape, entry by entry. The tolerances
    cover floating-point noise only (the rerun uses the notebook's seeds); a typed-in number fails."""
    from graders.checking import expect_close, fail, plain

    __tracebackhide__ = True
    try:
        arr = plain(got).astype(np.float64)
    except (TypeError, ValueError):
        fail(f"{what} should be a number or a list of numbers, but it is {got!r:.80}.", None, RERUN_HINT)
    ref = plain(rerun).astype(np.float64)
    if arr.shape != ref.shape:
        fail(f"{what} has shape {arr.shape}, but the rerun of the experiment gives shape {ref.shape}.", None,
             RERUN_HINT)
    expect_close(arr, ref, f"{what} (compared with the rerun of the experiment)", None, rtol=rtol, atol=atol,
                 hint=RERUN_HINT)


register_hidden(module)
