"""Grades of the whole class as CSV: ``python -m classroom export [FILE]`` (default ``grades.csv``).

Reads the grading results (:mod:`classroom.results`, one JSON file per submission at
``<course>/grading/<assignment>/<student>.json``) and every submission folder
``<course>/submitted/<student>/<assignment>/``.

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
``flags``            the result's flags (the importer's too, e.g. a Canvas LATE mark), joined by `` | ``
``manual_cells``     grade ids of the cells the instructor scored by hand in the formgrader,
                     as ``id=points``, joined by ``;``
``comments``         the instructor's comments from the formgrader (``cell: text``), joined by `` | ``
==================== =========================================================================

Scores come from nbgrader's gradebook (see :mod:`classroom.results`): a manual score replaces the
cell's auto score, and a submission whose every "needs review" cell was graded by hand is ``graded``.

Line breaks inside text fields are replaced by spaces, so every row is one line. The same results
give a byte-identical file.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from .files import write_atomic
from .results import Result, load_results

COLUMNS = ["student", "assignment", "status", "reason", "score", "max_score",
           "needs_review_cells", "failed_cells", "flags", "manual_cells", "comments"]


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
            ";".join(f"{c.grade_id}={number(c.points)}" for c in r.cells if c.manual),
            " | ".join(_one_line(c) for c in r.comments),
        ])
    return buf.getvalue()


def export_csv(course, path) -> Path:
    """Write the class's grades to ``path`` (relative paths are taken from the current folder), replacing
    it atomically; return the path. Format: see the module docstring."""
    path = Path(path)
    write_atomic(path, csv_text(load_results(course)).encode("utf-8"))
    return path
