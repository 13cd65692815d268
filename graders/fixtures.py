"""Expected outputs for the visible checks, generated from the reference and committed.

Visible checks must work in the student release, which has no ``solutions/``. So for the default
(visible) cases each check compares against ``graders/fixtures/<topic>.json``: the inputs and the
reference outputs, written by ``python -m graders build`` and proven in sync with the solution
notebooks by ``tests/test_build.py``. Hidden checks pass a ``seed`` (and ``strict=True``); their
cases are drawn fresh and compared against the live reference, which exists where grading happens.
"""
from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from .checking import Case

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VISIBLE_SEED = 0


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


def generate(topic: str, exercise: str, seed: int, strict: bool) -> list[Case]:
    """Draw the cases of ``exercise`` with ``default_rng(seed)`` and fill in the reference outputs."""
    from . import reference

    module = importlib.import_module(f"graders.{topic}")
    cases = module.CASES[exercise](np.random.default_rng(seed), strict)
    ref = getattr(reference.load(topic), exercise)
    for case in cases:
        # the reference gets copies, so that a generator in the inputs is still fresh for the student
        case.expected = ref(*copy.deepcopy(list(case.args.values())), **copy.deepcopy(case.kwargs))
    return cases


def build(topic: str) -> str:  # noqa: D401
    """The fixture file's text for ``topic`` (the visible cases of every exercise with a CASES entry)."""
    module = importlib.import_module(f"graders.{topic}")
    data = {}
    for exercise in module.CASES:
        data[exercise] = [
            # args as [name, value] pairs: JSON objects are written with sorted keys, and the order of
            # positional arguments must survive
            {"label": c.label, "args": [[k, encode(v)] for k, v in c.args.items()],
             "kwargs": encode(c.kwargs), "expected": encode(c.expected)}
            for c in generate(topic, exercise, VISIBLE_SEED, strict=False)
        ]
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def path(topic: str) -> Path:
    return FIXTURES / f"{topic}.json"


def cases(topic: str, exercise: str, seed: int | None = None, strict: bool = False) -> list[Case]:
    """Visible cases from the committed fixture (``seed=None``), or fresh hidden ones from the reference."""
    if seed is None and not strict:
        data = json.loads(path(topic).read_text(encoding="utf-8"))[exercise]
        return [Case(d["label"], {k: decode(v) for k, v in d["args"]}, decode(d["expected"]), decode(d["kwargs"]))
                for d in data]
    return generate(topic, exercise, VISIBLE_SEED if seed is None else seed, strict)
