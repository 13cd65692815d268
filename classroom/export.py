"""Grades of the whole class as CSV: ``python -m graders export [FILE]`` (default ``grades.csv``).

Reads the grading results, one JSON file per submission at
``<course>/grading/<assignment>/<student>.json``::

    {"student": "alice", "assignment": "01_softmax",
     "status": "graded" | "needs review" | "failed",
     "reason": "...", "score": 12.0, "max_score": 17.0, "flags": ["..."],
     "cells": [{"grade_id": "test_softmax", "points": 2.0, "max_points": 2.0,
                "in_kernel": true, "recheck": true,
                "status": "passed" | "failed" | "needs review", "message": "..."}]}

and every submission folder ``<course>/submitted/<student>/<assignment>/``. The student and the
assignment are taken from the file's path, not from its content.

The CSV (UTF-8, no BOM, ``\\n`` line ends, header first) has one row per (student, assignment) that
has a result file or a submission folder, sorted by assignment then student, with the columns

==================== =========================================================================
``student``          the student id
``assignment``       the assignment name
``status``           ``graded``, ``needs review`` or ``failed``
``reason``           why it is not ``graded``; empty when graded. A submission without a result
                     file is ``failed`` / ``not graded yet``; an unreadable result file is
                     ``failed`` / ``result file unreadable: ...``
``score``            points awarded, e.g. ``12`` or ``12.5`` (empty when there is no result)
``max_score``        points available (empty when there is no result)
``needs_review_cells`` grade ids of the cells whose status is ``needs review``, joined by ``;``
``failed_cells``     grade ids of the cells whose status is ``failed``, joined by ``;``
``flags``            the result's flags, joined by `` | ``
==================== =========================================================================

Line breaks inside text fields are replaced by spaces, so every row is one line. The same results
give a byte-identical file.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ["student", "assignment", "status", "reason", "score", "max_score",
           "needs_review_cells", "failed_cells", "flags"]
STATUSES = ("graded", "needs review", "failed")
CELL_STATUSES = ("passed", "failed", "needs review")


@dataclass
class Cell:
    grade_id: str
    points: float
    max_points: float
    status: str          # "passed" | "failed" | "needs review"
    message: str = ""


@dataclass
class Result:
    """One submission's grading result. ``has_result`` is False for a submission without a result file
    (then ``status`` is ``failed``, ``reason`` ``not graded yet``, ``score``/``max_score`` None)."""
    student: str
    assignment: str
    status: str
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    flags: list[str] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    has_result: bool = True


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def read_result(path: Path, student: str, assignment: str) -> Result:
    """Parse one result file; anything malformed gives a ``failed`` result saying what is wrong.
    A cell with an unknown status counts as ``needs review``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return Result(student, assignment, "failed", f"result file unreadable: {e}")
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
                          _float(c.get("max_points")) or 0.0, cell_status, str(c.get("message") or "")))
    flags = [str(f) for f in data.get("flags") or []]
    return Result(student, assignment, status, reason, _float(data.get("score")),
                  _float(data.get("max_score")), flags, cells)


def load_results(course) -> list[Result]:
    """Every result file and every submission folder without one (names starting with ``.`` are
    ignored), sorted by (assignment, student)."""
    course = Path(course)
    found: dict[tuple[str, str], Result] = {}
    grading = course / "grading"
    if grading.is_dir():
        for path in grading.glob("*/*.json"):
            if path.is_file() and not path.name.startswith(".") and not path.parent.name.startswith("."):
                a, s = path.parent.name, path.stem
                found[(a, s)] = read_result(path, s, a)
    submitted = course / "submitted"
    if submitted.is_dir():
        for folder in submitted.glob("*/*"):
            if folder.is_dir() and not folder.name.startswith(".") and not folder.parent.name.startswith("."):
                a, s = folder.name, folder.parent.name
                found.setdefault((a, s), Result(s, a, "failed", "not graded yet", has_result=False))
    return [found[k] for k in sorted(found)]


def number(x: float | None) -> str:
    """``12.0`` -> ``"12"``, ``12.5`` -> ``"12.5"``, None -> ``""`` (rounded to 6 decimals)."""
    if x is None:
        return ""
    x = round(float(x), 6)
    return str(int(x)) if x.is_integer() else repr(x)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def csv_text(results: list[Result]) -> str:
    """The CSV described in the module docstring, as text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in results:
        writer.writerow([
            r.student, r.assignment, r.status, _one_line(r.reason), number(r.score), number(r.max_score),
            ";".join(c.grade_id for c in r.cells if c.status == "needs review"),
            ";".join(c.grade_id for c in r.cells if c.status == "failed"),
            " | ".join(_one_line(f) for f in r.flags),
        ])
    return buf.getvalue()


def export_csv(course, path) -> Path:
    """Write the class's grades to ``path`` (relative paths are taken from the current folder), replacing
    it atomically; return the path. Format: see the module docstring."""
    path = Path(path)
    write_atomic(path, csv_text(load_results(course)).encode("utf-8"))
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file next to it, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
