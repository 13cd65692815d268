"""The inputs of every check: visible cases from committed fixtures, hidden ones from the grader.

Visible checks must work in the student release, which has no ``solutions/``. So the visible cases of
each exercise are drawn by ``graders.<topic>.CASES[exercise](rng)`` with ``default_rng(VISIBLE_SEED)``
and written, with the reference outputs, to ``graders/fixtures/<topic>.json`` by
``python -m authoring build``; ``tests/test_build.py`` proves the files in sync with the solutions.

Hidden cases are not in this package at all: they live in the instructor's package
(``classroom/hidden/<topic>.py``), which registers itself here with :func:`register_hidden` when it is
imported. A check called with ``hidden=True`` asks that provider for the topic's hidden module, draws
its cases with ``default_rng(HIDDEN_SEED)`` and compares against the live reference (the solution
notebooks, present where grading happens). In a student release there is no provider and
``hidden=True`` says so.
"""
from __future__ import annotations

import contextlib
import copy
import importlib
import json
from types import ModuleType
from typing import Any, Callable

import numpy as np

from .checking import Case
from .layout import Course

VISIBLE_SEED = 0
HIDDEN_SEED = 2026

_hidden_provider: Callable[[str], ModuleType] | None = None
_hidden_seed = [HIDDEN_SEED]


class HiddenUnavailable(RuntimeError):
    """Hidden cases are asked for where the course is not graded (e.g. a student release)."""


def register_hidden(provider: Callable[[str], ModuleType] | None) -> None:
    """Install ``provider(topic) -> module`` that holds the topic's hidden cases (``CASES``) and hidden
    criteria of experiment checks (``CRITERIA``). ``classroom.hidden`` does this on import."""
    global _hidden_provider
    _hidden_provider = provider


# Where the course is graded, the instructor's package provides the hidden cases. It registers itself on
# import (the trusted re-check imports it); a plain `nbgrader autograde` of a solution-holding course
# finds it here by name. A student release has no such package, and the grading sandbox shows only the
# re-check worker's files of it, so there the lookup fails and hidden=True says so.
HIDDEN_PROVIDER = "classroom.hidden"


def hidden_module(topic: str) -> ModuleType:
    if _hidden_provider is None:
        try:
            importlib.import_module(HIDDEN_PROVIDER)    # registers itself
        except ImportError:
            pass
    if _hidden_provider is None:
        raise HiddenUnavailable("Hidden tests run only when the notebook is graded; they are not part of this "
                                "copy of the course. Use the visible check (without hidden=True).")
    return _hidden_provider(topic)


def hidden_criterion(topic: str, name: str) -> Callable:
    """The hidden part of an experiment or question check: ``CRITERIA[name]`` of the hidden module."""
    return hidden_module(topic).CRITERIA[name]


@contextlib.contextmanager
def hidden_seed(seed: int):
    """Draw hidden cases with another seed inside the block (for tests over many seeds)."""
    _hidden_seed.append(int(seed))
    try:
        yield
    finally:
        _hidden_seed.pop()


def current_hidden_seed() -> int:
    """The seed hidden cases are drawn with now (``HIDDEN_SEED`` unless inside :func:`hidden_seed`)."""
    return _hidden_seed[-1]


# ---------------------------------------------------------------- the fixture files' JSON form
def encode(value: Any) -> Any:
    """JSON-ready form of arrays, tuples, dicts, lists, numbers, strings, None and numpy Generators."""
    if isinstance(value, np.random.Generator):
        return {"__rng__": value.bit_generator.state}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__array__" in value:
            return np.array(value["__array__"], dtype=value["dtype"]).reshape(value["shape"])
        if "__rng__" in value:
            rng = np.random.default_rng()
            rng.bit_generator.state = value["__rng__"]
            return rng
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


# ---------------------------------------------------------------- drawing cases
def generators(topic: str, hidden: bool) -> dict[str, Callable[[np.random.Generator], list[Case]]]:
    """``{exercise: draw(rng) -> [Case, ...]}``: visible ones from ``graders.<topic>``, hidden ones from
    the registered hidden module."""
    module = hidden_module(topic) if hidden else importlib.import_module(f"graders.{topic}")
    return getattr(module, "CASES", {})


def generate(topic: str, exercise: str, seed: int, hidden: bool) -> list[Case]:
    """Draw the cases of ``exercise`` with ``default_rng(seed)`` and fill in the reference outputs."""
    from . import reference

    found = generators(topic, hidden)
    if exercise not in found:
        raise KeyError(f"graders.{topic} has no {'hidden' if hidden else 'visible'} cases for {exercise!r}")
    cases_ = found[exercise](np.random.default_rng(seed))
    ref = getattr(reference.load(topic), exercise)
    # an exercise whose inputs include functions (a training loop) has plain cases that describe the call;
    # graders.<topic>.REFERENCE_CALLS[exercise](ref, *args) makes it (the same way its check calls the student's)
    run = getattr(importlib.import_module(f"graders.{topic}"), "REFERENCE_CALLS", {}).get(exercise)
    for case in cases_:
        # the reference gets copies, so that a generator in the inputs is still fresh for the student
        args, kwargs = copy.deepcopy(list(case.args.values())), copy.deepcopy(case.kwargs)
        case.expected = run(ref, *args, **kwargs) if run else ref(*args, **kwargs)
    return cases_


def load_visible(topic: str) -> dict[str, list[Case]]:
    data = json.loads(Course.checkout().fixture(topic).read_text(encoding="utf-8"))
    return {exercise: [Case(d["label"], {k: decode(v) for k, v in d["args"]}, decode(d["expected"]),
                            decode(d["kwargs"])) for d in items]
            for exercise, items in data.items()}


def cases(topic: str, exercise: str, hidden: bool = False) -> list[Case]:
    """The visible cases of ``exercise`` from the committed fixture, or (``hidden=True``) its hidden
    cases, drawn fresh and compared against the reference."""
    if hidden:
        return generate(topic, exercise, current_hidden_seed(), hidden=True)
    return load_visible(topic)[exercise]
