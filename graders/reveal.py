"""Self-study help, one exercise at a time: first a hint, then, only when asked for explicitly, the
reference solution of that exercise (and of no other).

In a notebook::

    from graders.reveal import reveal
    reveal("softmax")                  # the hint for the exercise `softmax`
    reveal("softmax", solution=True)   # the reference code, syntax-highlighted

The exercise name is the name of the function (or answer variable) the exercise asks for. The code
comes from the solution notebook in ``solutions/`` with the solution markers removed; hidden tests
are never shown. A student release of the course has no ``solutions/``: there the hint still works and
the solution request says plainly that solutions are not part of the release.
"""
from __future__ import annotations

import html
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

from . import reference
from .reference import strip_hidden_tests

from .layout import RELEASE, Course

ROOT = Course.checkout().root


@dataclass
class Revealed:
    """What :func:`reveal` returns; shows itself as HTML in a notebook and as text elsewhere."""
    title: str
    text: str
    code: str | None = None

    def __str__(self) -> str:
        return f"{self.title}\n\n{self.text}" + (f"\n\n{self.code}" if self.code else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        parts = [f"<p><b>{html.escape(self.title)}</b></p>", f"<p>{html.escape(self.text)}</p>"]
        if self.code:
            parts.append(highlight(self.code))
        return "\n".join(parts)


def highlight(code: str) -> str:
    """Python code as HTML with inline-styled syntax highlighting (pygments ships with IPython)."""
    try:
        from pygments import highlight as _highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # pragma: no cover - IPython always brings pygments
        return f"<pre>{html.escape(code)}</pre>"
    return _highlight(code, PythonLexer(), HtmlFormatter(noclasses=True, style="friendly"))


def exercises(notebooks: Path | None = None) -> dict[str, list[str]]:
    """``{assignment: [exercise, ...]}``: the answer cells of every student notebook, in order."""
    folder = notebooks or Course.checkout().step_dir(RELEASE)
    found = {}
    for nb_path in sorted(folder.glob("*/*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        found[nb_path.parent.name] = [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
                                      if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    return found


def _find(exercise: str, topic: str | None) -> str:
    owners = [a for a, names in exercises().items() if exercise in names
              and (topic is None or topic in (a, a.split("_", 1)[1]))]
    if not owners:
        known = ", ".join(sorted({n for names in exercises().values() for n in names}))
        raise KeyError(f"There is no exercise called {exercise!r}. Exercises: {known}")
    if len(owners) > 1:
        raise KeyError(f"{exercise!r} is an exercise of several notebooks ({', '.join(owners)}); "
                       "say which with topic=...")
    return owners[0]


def hint(exercise: str, topic: str | None = None) -> str:
    """The hint written for ``exercise``."""
    assignment = _find(exercise, topic)
    module = importlib.import_module(f"graders.{assignment.split('_', 1)[1]}")
    return getattr(module, "HINTS", {}).get(exercise) or "No hint has been written for this exercise yet."


def solution_code(exercise: str, topic: str | None = None) -> str:
    """The reference code of ``exercise`` (solution markers removed, hidden tests stripped)."""
    assignment = _find(exercise, topic)
    topic_name = assignment.split("_", 1)[1]
    cells = [c for c in json.loads(reference.notebook_path(topic_name).read_text(encoding="utf-8"))["cells"]
             if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == exercise]
    src = "".join(cells[0]["source"])
    src = strip_hidden_tests(src)
    return "\n".join(l for l in src.splitlines()
                     if l.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")).strip() + "\n"


def reveal(exercise: str, solution: bool = False, topic: str | None = None) -> Revealed:
    """A hint for ``exercise``; with ``solution=True`` its reference code as well."""
    text = hint(exercise, topic)
    if not solution:
        return Revealed(f"Hint for {exercise}", text + f'\n\nStill stuck? reveal("{exercise}", '
                        "solution=True) shows the reference solution of this exercise only.")
    try:
        code = solution_code(exercise, topic)
    except reference.ReferenceUnavailable:
        return Revealed(f"Solution for {exercise}",
                        "Solutions are not part of this release of the course, so there is no "
                        "reference code to show here. The hint: " + text)
    return Revealed(f"Reference solution for {exercise}",
                    "Compare it with yours; then run the check cell again with your own version.", code)
