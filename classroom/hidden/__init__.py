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

from graders.fixtures import register_hidden


def module(topic: str) -> ModuleType:
    """The hidden module of ``topic`` (``softmax`` or ``01_softmax``)."""
    from graders.layout import topic_name

    return importlib.import_module(f"{__name__}.{topic_name(topic)}")


register_hidden(module)
