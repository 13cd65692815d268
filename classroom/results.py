"""One submission's grading result: written by ``grade`` and read by ``export``, ``report`` and
``feedback``. One JSON file per submission at ``<course>/grading/<assignment>/<student>.json``::

    {"student": "alice", "assignment": "01_softmax",
     "status": "graded" | "needs review" | "failed",
     "reason": "...", "score": 12.0, "max_score": 17.0, "flags": ["..."],
     "cells": [{"grade_id": "test_softmax", "points": 2.0, "max_points": 2.0,
                "in_kernel": true, "recheck": true,
                "status": "passed" | "failed" | "needs review", "message": "..."}],
     "tests_sha256": "...", "submission_sha256": "..."}

The student and the assignment of a file read back are taken from its path, not from its content.

nbgrader's gradebook (``gradebook.db``) is the one source of truth for scores: :func:`load_results`,
which every course command reads through (``export``, ``feedback``, ``report``), takes each test cell's
score from it (:func:`from_gradebook`), so a manual score and comment entered in the formgrader reach
them all; a cell graded by hand no longer needs review.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from graders.layout import Course

from .files import write_atomic

STATUSES = ("graded", "needs review", "failed")
CELL_STATUSES = ("passed", "failed", "needs review")


@dataclass
class Cell:
    """One test cell's outcome."""
    grade_id: str
    points: float
    max_points: float
    status: str = "failed"       # "passed" | "failed" | "needs review"
    message: str = ""
    in_kernel: bool = False      # its visible tests passed in the student's kernel (nbgrader)
    recheck: bool = False        # its visible and hidden tests passed in the trusted re-check
    manual: bool = False         # scored by hand in the formgrader (the gradebook's manual score)


@dataclass
class Result:
    """One submission's grading result. ``has_result`` is False for a submission that has no result
    file yet (then ``status`` is ``failed``, ``reason`` ``not graded yet``, ``score``/``max_score`` None)."""
    student: str
    assignment: str
    status: str = "failed"
    reason: str = ""
    score: float | None = 0.0
    max_score: float | None = 0.0
    flags: list[str] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    tests_sha256: str | None = None        # what the result depends on (see classroom.grading.up_to_date)
    submission_sha256: str | None = None
    has_result: bool = True
    comments: list[str] = field(default_factory=list)   # the instructor's, from the gradebook ("cell: text")

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("has_result")
        data.pop("comments")
        for cell in data["cells"]:
            cell.pop("manual")
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    def summary(self) -> str:
        return (f"{self.assignment} {self.student}: {self.status} {self.score or 0:g}/{self.max_score or 0:g}"
                + (f" ({self.reason})" if self.reason else ""))


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def read_result(path: Path, student: str, assignment: str, max_bytes: int = 16 * 2**20) -> Result:
    """Parse one result file; anything malformed gives a ``failed`` result saying what is wrong.
    A cell with an unknown status counts as ``needs review``. Never raises for the file's doing: a file
    larger than ``max_bytes`` (a real result is a few KB) is not read, and whatever else goes wrong
    (JSON nested too deeply, fields of the wrong type...) fails this one result, not its caller."""
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
        if len(raw) > max_bytes:
            return Result(student, assignment, "failed",
                          f"result file unreadable: larger than {max_bytes:,} bytes", None, None)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, MemoryError) as e:
        return Result(student, assignment, "failed", f"result file unreadable: {str(e)[:200]}", None, None)
    try:
        return read_result_text(text, student, assignment)
    except Exception as e:  # noqa: BLE001 - wrong field types, out of memory...: this result only
        return Result(student, assignment, "failed",
                      f"result file malformed: {type(e).__name__}: {str(e)[:200]}", None, None)


def read_result_text(text: str, student: str, assignment: str) -> Result:
    """:func:`read_result` of a result's JSON text."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (ValueError, RecursionError) as e:
        return Result(student, assignment, "failed", f"result file unreadable: {str(e)[:200]}", None, None)
    status = data.get("status")
    reason = str(data.get("reason") or "")
    if status not in STATUSES:
        status, reason = "failed", f"result file has an unknown status {status!r}"
    cells = []
    for c in data.get("cells") or []:
        if not isinstance(c, dict):
            continue
        cell_status = c.get("status") if c.get("status") in CELL_STATUSES else "needs review"
        cells.append(Cell(str(c.get("grade_id", "?")), _float(c.get("points")) or 0.0,
                          _float(c.get("max_points")) or 0.0, cell_status, str(c.get("message") or ""),
                          bool(c.get("in_kernel")), bool(c.get("recheck"))))
    flags = [str(f) for f in data.get("flags") or []]
    return Result(student, assignment, status, reason, _float(data.get("score")), _float(data.get("max_score")),
                  flags, cells, data.get("tests_sha256"), data.get("submission_sha256"))


def write_result(course: Course, result: Result) -> Path:
    path = course.result(result.assignment, result.student)
    write_atomic(path, result.to_json())
    return path


def load_results(course: Course | Path, assignments: list[str] | None = None,
                 with_missing: bool = True, gradebook: bool = True) -> list[Result]:
    """Every result file (of ``assignments``, default all) and, with ``with_missing``, every submission
    folder without one (names starting with ``.`` are ignored), sorted by (assignment, student), with
    the flags ``import`` noted and, with ``gradebook``, the scores and comments of nbgrader's gradebook
    (:func:`from_gradebook`; ``grade`` itself reads its own verdicts without them)."""
    course = course if isinstance(course, Course) else Course(Path(course))
    found: dict[tuple[str, str], Result] = {}
    results = course.results_dir()
    if results.is_dir():
        for path in results.glob("*/*.json"):
            if path.is_file() and not path.name.startswith(".") and not path.parent.name.startswith("."):
                a, s = path.parent.name, path.stem
                found[(a, s)] = read_result(path, s, a)
    if with_missing:
        for s in course.students():
            try:
                folders = [f for f in (course.step_dir("submitted") / s).iterdir() if f.is_dir()]
            except OSError:   # an unreadable student folder is that student's problem alone
                continue
            for folder in folders:
                if not folder.name.startswith(".") and not s.startswith("."):
                    found.setdefault((folder.name, s), Result(s, folder.name, "failed", "not graded yet",
                                                              None, None, has_result=False))
    for (a, s), sidecar in _import_notes(course).items():
        if (a, s) in found:
            found[(a, s)].flags[:0] = [f for f in sidecar if f not in found[(a, s)].flags]
    chosen = [found[k] for k in sorted(found) if assignments is None or k[0] in assignments]
    return from_gradebook(course, chosen) if gradebook else chosen


def _import_notes(course: Course) -> dict[tuple[str, str], list[str]]:
    """The flags ``import`` left next to each submission (``submitted/<student>/<A>/flags.json``,
    e.g. a Canvas LATE mark): ``{(assignment, student): [flag, ...]}``."""
    notes = {}
    for path in course.step_dir("submitted").glob("*/*/" + IMPORT_FLAGS):
        try:
            flags = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(flags, list):
                notes[(path.parent.name, path.parent.parent.name)] = [str(f) for f in flags]
        except (OSError, ValueError, RecursionError):
            continue
    return notes


IMPORT_FLAGS = "flags.json"


def from_gradebook(course: Course, results: list[Result]) -> list[Result]:
    """``results`` with each test cell's score as nbgrader's gradebook holds it: the manual score where
    the instructor gave one in the formgrader (the cell is then ``passed`` with full points, else
    ``failed``, and no longer needs review), the auto score otherwise; the instructor's comments
    (manual comments in the gradebook) in ``Result.comments``. A ``needs review`` submission none of
    whose cells needs review any more is ``graded``. Without a gradebook, the results as they are."""
    if not course.gradebook.is_file() or not any(r.cells for r in results):
        return results
    from authoring.nbgrader import scripts_on_path
    from nbgrader.api import Gradebook, MissingEntry

    with scripts_on_path(), Gradebook(f"sqlite:///{course.gradebook}") as gb:
        for r in results:
            if not r.cells:
                continue
            try:
                notebook = gb.find_submission_notebook(r.assignment, r.assignment, r.student)
            except MissingEntry:
                continue
            grades = {g.name: g for g in notebook.grades}
            for cell in r.cells:
                grade = grades.get(cell.grade_id)
                if grade is None:
                    continue
                if grade.manual_score is not None:
                    cell.points, cell.manual = float(grade.manual_score), True
                    cell.status = "passed" if cell.points >= cell.max_points else "failed"
                    cell.message = (f"graded by hand: {cell.points:g} / {cell.max_points:g}"
                                    + (f" (was: {cell.message})" if cell.message else ""))
                elif grade.auto_score is not None:
                    cell.points = float(grade.auto_score)
            r.comments = [f"{c.name}: {c.manual_comment.strip()}" for c in notebook.comments
                          if c.manual_comment and c.manual_comment.strip()]
            r.score = sum(c.points for c in r.cells)
            if r.status == "needs review" and any(c.manual for c in r.cells) and not any(
                    c.status == "needs review" for c in r.cells):
                r.status, r.reason = "graded", ""
    return results
