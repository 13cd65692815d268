"""HTML feedback for each student: ``python -m classroom feedback ASSIGNMENT``.

Built from nbgrader's executed notebooks (which never held hidden tests) with outputs already cut,
tracebacks reduced to their message, and the verdict of every test cell on top. No hidden test code
and no solution code can appear: neither was ever in these notebooks.
"""
from __future__ import annotations

from pathlib import Path

from graders.layout import Course
from graders.reference import strip_hidden_tests

from .files import write_atomic
from .grading import truncate_text
from .results import load_results


def feedback(course: Path, assignment: str) -> list[Path]:
    """HTML feedback per student, from nbgrader's executed notebooks (which never held hidden tests)
    with outputs already cut, tracebacks reduced to their message, and the verdict of every test cell
    on top. No hidden test code and no solution code can appear: neither was ever in these notebooks."""
    from nbconvert import HTMLExporter
    import nbformat

    layout = Course(course)
    written = []
    for r in load_results(layout, [assignment], with_missing=False):
        s = r.student
        src = layout.autograded(s, assignment)
        lines = [f"# Feedback: {assignment}, {s}", "",
                 f"**{r.score or 0:g} / {r.max_score or 0:g} points** ({r.status}"
                 + (f": {r.reason}" if r.reason else "") + ")", "",
                 "| test | points | result |", "|---|---|---|"]
        for cell in r.cells:
            msg = cell.message.replace("|", "\\|") if cell.message else ""
            lines.append(f"| {cell.grade_id} | {cell.points:g} / {cell.max_points:g} | "
                         f"{cell.status}{(': ' + msg) if msg else ''} |")
        for flag in r.flags:
            lines.append(f"\n* {flag}")
        summary = nbformat.v4.new_markdown_cell("\n".join(lines))
        if src.is_file():
            nb = nbformat.reads(src.read_text(encoding="utf-8"), as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.source = strip_hidden_tests(cell.source)
                    for out in cell.get("outputs", []):
                        if out.get("output_type") == "error":
                            out["traceback"] = [f"{out.get('ename')}: {truncate_text(str(out.get('evalue', '')), 2000, 500)}"]
            nb.cells.insert(0, summary)
        else:
            nb = nbformat.v4.new_notebook(cells=[summary])
        body, _ = HTMLExporter().from_notebook_node(nb)
        out_path = layout.feedback(s, assignment)
        write_atomic(out_path, body)
        written.append(out_path)
    return written
