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


def _cells(notebooks: Path | None = None) -> dict[str, list[tuple[str, str]]]:
    """``{assignment: [("solution" | "test", grade id), ...]}`` of every student notebook, in order."""
    folder = notebooks or Course.checkout().step_dir(RELEASE)
    found = {}
    for nb_path in sorted(folder.glob("*/*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        found[nb_path.parent.name] = [("solution" if meta.get("solution") else "test", meta["grade_id"])
                                      for c in nb["cells"]
                                      for meta in [c.get("metadata", {}).get("nbgrader", {})]
                                      if meta.get("solution") or meta.get("grade")]
    return found


def exercises(notebooks: Path | None = None) -> dict[str, list[str]]:
    """``{assignment: [exercise, ...]}``: the answer cells of every student notebook, in order."""
    return {a: [gid for kind, gid in cells if kind == "solution"] for a, cells in _cells(notebooks).items()}


def checked_by(check: str, notebooks: Path | None = None) -> dict[str, list[str]]:
    """``{assignment: [exercise, ...]}``: the exercises the check cell ``check`` (``test_softmax``, as
    progress and feedback name it) follows, i.e. the answer cells between it and the check before it."""
    out = {}
    for assignment, cells in _cells(notebooks).items():
        pending = []
        for kind, gid in cells:
            if kind == "solution":
                pending.append(gid)
            elif gid == check:
                out[assignment] = pending or [gid]
                break
            else:
                pending = []
    return out


class UnknownExercise(KeyError):
    """No exercise (or check) of that name; the message suggests the nearest names."""

    def __str__(self) -> str:  # a KeyError would show its message in quotes
        return str(self.args[0])


def _unknown(name: str) -> UnknownExercise:
    import difflib
    from .checking import student_facing
    names = sorted({gid for cells in _cells().values() for _, gid in cells})
    close = difflib.get_close_matches(name, names, n=4, cutoff=0.6)
    return student_facing(UnknownExercise(
        f"There is no exercise called {name!r}." + (f" Did you mean {', '.join(map(repr, close))}?" if close else "")
        + " Use the name of the function or answer an exercise asks for (reveal(\"softmax\")) or of its "
        "check, as progress and feedback print it (reveal(\"test_softmax\"))."))


def _find(exercise: str, topic: str | None) -> str:
    owners = [a for a, names in exercises().items() if exercise in names
              and (topic is None or topic in (a, a.split("_", 1)[1]))]
    if not owners:
        raise _unknown(exercise)
    if len(owners) > 1:
        raise student_facing_key(f"{exercise!r} is an exercise of several notebooks ({', '.join(owners)}); "
                                 "say which with topic=...")
    return owners[0]


def student_facing_key(message: str) -> UnknownExercise:
    from .checking import student_facing
    return student_facing(UnknownExercise(message))


def _resolve(name: str, topic: str | None) -> list[tuple[str, str]]:
    """``[(exercise, assignment), ...]`` that ``name`` (an exercise, or a check such as ``test_softmax``) means."""
    if any(name in names for names in exercises().values()):
        return [(name, _find(name, topic))]
    owners = {a: ex for a, ex in checked_by(name).items() if topic is None or topic in (a, a.split("_", 1)[1])}
    if len(owners) == 1:
        (assignment, names), = owners.items()
        return [(n, assignment) for n in names]
    if len(owners) > 1:
        raise student_facing_key(f"{name!r} is a check of several notebooks ({', '.join(owners)}); say which "
                                 "with topic=...")
    raise _unknown(name)


def hint(exercise: str, topic: str | None = None) -> str:
    """The hint written for ``exercise`` (or for the exercises the check ``exercise`` follows)."""
    texts = []
    for name, assignment in _resolve(exercise, topic):
        module = importlib.import_module(f"graders.{assignment.split('_', 1)[1]}")
        texts.append(getattr(module, "HINTS", {}).get(name) or "No hint has been written for this exercise yet.")
    return "\n\n".join(texts)


def solution_code(exercise: str, topic: str | None = None) -> str:
    """The reference code of ``exercise`` (solution markers removed, hidden tests stripped)."""
    codes = []
    for name, assignment in _resolve(exercise, topic):
        topic_name = assignment.split("_", 1)[1]
        cells = [c for c in json.loads(reference.notebook_path(topic_name).read_text(encoding="utf-8"))["cells"]
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == name]
        src = strip_hidden_tests("".join(cells[0]["source"]))
        codes.append("\n".join(l for l in src.splitlines()
                                if l.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")).strip())
    return "\n\n".join(codes) + "\n"


def reveal(exercise: str, solution: bool = False, topic: str | None = None) -> Revealed:
    """A hint for ``exercise``; with ``solution=True`` its reference code as well. ``exercise`` is the
    name of what an exercise asks for (``"softmax"``) or of its check (``"test_softmax"``)."""
    names = [n for n, _ in _resolve(exercise, topic)]
    what = ", ".join(names)
    text = hint(exercise, topic)
    if not solution:
        return Revealed(f"Hint for {what}", text + f'\n\nStill stuck? reveal("{exercise}", '
                        "solution=True) shows the reference solution of this exercise only.")
    try:
        code = solution_code(exercise, topic)
    except reference.ReferenceUnavailable:
        return Revealed(f"Solution for {what}",
                        "Solutions are not part of this release of the course, so there is no "
                        "reference code to show here. The hint: " + text)
    return Revealed(f"Reference solution for {what}",
                    "Compare it with yours; then run the check cell again with your own version.", code)
