"""Reference implementations, read from the solution notebooks (their one home).

``load("softmax").softmax`` executes the *solution* cells of ``solutions/01_softmax/01_softmax.ipynb``
(the cells nbgrader marks as answers: code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
plus the lines around it) in a fresh namespace that already holds ``np``, and returns that namespace.
No test cell, demo or hidden test is executed. Solution cells must therefore be self-contained: they
use only ``np`` and names defined by earlier solution cells. An answer that is computed from the
notebook's own variables is tagged ``uses-notebook-state`` (``in-context`` in
``authoring.notebook_text``) and skipped here.

The student release bundle has no ``solutions/``; there :func:`load` raises
:class:`ReferenceUnavailable` with a plain explanation.
"""
from __future__ import annotations

import json
import re
import types
from pathlib import Path

import numpy as np

from .layout import SOURCE, Course

IN_CONTEXT = "uses-notebook-state"  # tag of answer cells that load() skips (see authoring.notebook_text)

COURSE = Course.checkout()
SOLUTIONS = COURSE.step_dir(SOURCE)
_cache: dict[str, tuple[float, types.SimpleNamespace]] = {}


class ReferenceUnavailable(RuntimeError):
    """The solution notebooks are not part of this copy of the course (e.g. a student release)."""


def notebook_path(topic: str) -> Path:
    """The solution notebook of ``topic`` (``"softmax"`` or ``"01_softmax"``)."""
    if not SOLUTIONS.is_dir():
        raise ReferenceUnavailable(
            "Solutions are not part of this release of the course, so reference answers are not "
            "available here. (Instructors and self-study checkouts have a solutions/ folder.)")
    return COURSE.source(COURSE.find_assignment(topic))


def solution_cells(topic: str) -> list[dict]:
    """The code cells of the topic's solution notebook that nbgrader treats as answers."""
    nb = json.loads(notebook_path(topic).read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code"
            and c.get("metadata", {}).get("nbgrader", {}).get("solution", False)
            and IN_CONTEXT not in c.get("metadata", {}).get("tags", [])]


HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)


def strip_hidden_tests(source: str) -> str:
    """A cell's source without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks."""
    return HIDDEN_TESTS.sub("", source)


_MARKERS = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$", re.M)


def cell_source(cell: dict) -> str:
    src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return _MARKERS.sub("", src)


def load(topic: str) -> types.SimpleNamespace:
    """The reference functions and answers of ``topic`` as attributes of a namespace."""
    path = notebook_path(topic)
    mtime = path.stat().st_mtime
    if topic in _cache and _cache[topic][0] == mtime:
        return _cache[topic][1]
    namespace: dict = {"np": np, "__name__": f"reference_{topic}"}
    for cell in solution_cells(topic):
        code = compile(cell_source(cell), f"<{path.name}: {cell['metadata']['nbgrader'].get('grade_id')}>", "exec")
        exec(code, namespace)  # noqa: S102 - the course's own solution code
    ref = types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})
    _cache[topic] = (mtime, ref)
    return ref
