"""A class report from the grading results: ``python -m classroom report [DIR]`` (default ``report/``).

Reads the same results as :mod:`classroom.export` (``<course>/grading/<assignment>/<student>.json``
and the submission folders) and writes into DIR:

- ``report.html``: one self-contained page (figures embedded as base64 PNG ``data:`` URIs, no
  scripts, no external files) with, per assignment:

  * counts: submissions = graded + needs review + failed + not graded yet (no result file), and the
    mean and median score of the submissions with a score;
  * the score distribution: a histogram of the scores of every submission with a result, stacked by
    status (graded / needs review / failed), from 0 to the maximum score;
  * the per-exercise pass rate: one bar per grade id (in notebook order), the fraction of graded
    submissions whose cell passed, failed or needs review, stacked;
  * the most common failure messages per exercise: the top ``TOP_MESSAGES`` (5) messages (first line)
    of cells that did not pass, with their counts (ties in alphabetical order);
  * every submission that is not ``graded`` or carries flags (the importer's too, e.g. a Canvas LATE
    mark): student, status, reason, flags;
  * the cells the instructor scored by hand in the formgrader, and the comments entered there (the
    scores come from nbgrader's gradebook, see :mod:`classroom.results`).

- ``<assignment>_scores.png`` and ``<assignment>_exercises.png``: the same two figures.

Figures are drawn with matplotlib's Agg canvas (no pyplot, no display) in its default style, and PNGs
are written without the software/version metadata, so the same results give byte-identical files on
the same matplotlib version. Nothing in the report depends on the time or the course's location.
"""
from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter
from pathlib import Path

from .export import number
from .files import write_atomic
from .results import Result, load_results

TOP_MESSAGES = 5
STATUS_COLORS = {"graded": "#4c9a2a", "passed": "#4c9a2a", "needs review": "#e6a817", "failed": "#c0392b"}


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def exercise_order(results: list[Result]) -> list[str]:
    """Grade ids in notebook order: first appearance over the results (sorted by student)."""
    order: dict[str, None] = {}
    for r in results:
        for c in r.cells:
            order.setdefault(c.grade_id, None)
    return list(order)


def score_figure(results: list[Result], assignment: str) -> bytes:
    """PNG: histogram of scores stacked by submission status."""
    import matplotlib.style
    from matplotlib.figure import Figure

    scored = [r for r in results if r.score is not None]
    top = max([r.max_score or 0.0 for r in scored] + [r.score for r in scored] + [1.0])
    n_bins = int(min(20, max(1, round(top))))
    edges = [top * i / n_bins for i in range(n_bins + 1)]
    with matplotlib.style.context("default"):
        fig = Figure(figsize=(7, 3.2), layout="constrained")
        ax = fig.add_subplot()
        data, labels, colors = [], [], []
        for status in ("graded", "needs review", "failed"):
            data.append([r.score for r in scored if r.status == status])
            labels.append(f"{status} ({len(data[-1])})")
            colors.append(STATUS_COLORS[status])
        ax.hist(data, bins=edges, stacked=True, label=labels, color=colors, edgecolor="white")
        ax.set_xlim(0, top)
        ax.set_xlabel(f"score (out of {number(top)})")
        ax.set_ylabel("submissions")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(f"{assignment}: score distribution")
        fig.legend(loc="outside right upper", fontsize="small", frameon=False)
        if not scored:
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no graded submissions yet", ha="center", va="center", transform=ax.transAxes)
        return _png(fig)


def exercise_counts(results: list[Result]) -> dict[str, Counter]:
    """``{grade_id: Counter({"passed": n, "failed": n, "needs review": n})}`` in notebook order."""
    counts = {g: Counter() for g in exercise_order(results)}
    for r in results:
        for c in r.cells:
            counts[c.grade_id][c.status] += 1
    return counts


def exercise_figure(results: list[Result], assignment: str) -> bytes:
    """PNG: per grade id, the fraction of submissions whose cell passed / failed / needs review."""
    import matplotlib.style
    from matplotlib.figure import Figure

    counts = exercise_counts(results)
    ids = list(counts)
    with matplotlib.style.context("default"):
        fig = Figure(figsize=(6, 1.5 + 0.32 * max(1, len(ids))), layout="constrained")
        ax = fig.add_subplot()
        left = [0.0] * len(ids)
        for status in ("passed", "failed", "needs review"):
            widths = [counts[g][status] / max(1, sum(counts[g].values())) for g in ids]
            ax.barh(range(len(ids)), widths, left=left, color=STATUS_COLORS[status], label=status)
            left = [a + b for a, b in zip(left, widths)]
        ax.set_yticks(range(len(ids)), ids, fontsize="small")
        ax.invert_yaxis()                                   # first exercise at the top
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of graded submissions")
        ax.set_title(f"{assignment}: pass rate per exercise")
        fig.legend(loc="outside lower center", ncol=3, fontsize="small", frameon=False)
        if not ids:
            ax.text(0.5, 0.5, "no graded cells yet", ha="center", va="center", transform=ax.transAxes)
        return _png(fig)


def top_failures(results: list[Result], n: int = TOP_MESSAGES) -> dict[str, list[tuple[str, int]]]:
    """``{grade_id: [(message, count), ...]}``: the ``n`` commonest first lines of the messages of cells
    that did not pass, most common first, ties alphabetical; exercises without failures are left out."""
    messages: dict[str, Counter] = {}
    for r in results:
        for c in r.cells:
            if c.status != "passed":
                lines = [line.strip() for line in c.message.splitlines() if line.strip()]
                msg = lines[0] if lines else "(no message)"
                messages.setdefault(c.grade_id, Counter())[msg] += 1
    order = exercise_order(results)
    return {g: sorted(messages[g].items(), key=lambda kv: (-kv[1], kv[0]))[:n]
            for g in order if g in messages}


def _e(text) -> str:
    return html.escape(str(text), quote=True)


CSS = """body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}img{max-width:100%}
.graded{color:#4c9a2a}.needs-review{color:#a87400}.failed{color:#c0392b}code{font-size:90%}"""


def _points(x: float) -> str:
    """A score as people write it: ``7.67``, ``8``, ``8.5`` (two decimals at most)."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _assignment_section(assignment: str, results: list[Result], pngs: dict[str, bytes]) -> list[str]:
    by_status = Counter(r.status for r in results)
    not_graded = sum(1 for r in results if not r.has_result)
    scores = [r.score for r in results if r.score is not None]
    out = [f'<h2 id="{_e(assignment)}">{_e(assignment)}</h2>',
           "<table><tr><th>submissions</th><th>graded</th><th>needs review</th><th>failed</th>"
           "<th>not graded yet</th><th>mean score</th><th>median score</th></tr>",
           f"<tr><td>{len(results)}</td><td>{by_status['graded']}</td><td>{by_status['needs review']}</td>"
           f"<td>{by_status['failed'] - not_graded}</td><td>{not_graded}</td>"
           f"<td>{_points(statistics.fmean(scores)) if scores else ''}</td>"
           f"<td>{_points(statistics.median(scores)) if scores else ''}</td></tr></table>"]
    for kind, title in (("scores", "Score distribution"), ("exercises", "Pass rate per exercise")):
        data = base64.b64encode(pngs[kind]).decode("ascii")
        out.append(f"<h3>{title}</h3>")
        out.append(f'<img alt="{_e(assignment)}: {title.lower()}" src="data:image/png;base64,{data}">')

    out.append("<h3>Most common failure messages</h3>")
    failures = top_failures(results)
    if failures:
        out.append("<table><tr><th>exercise</th><th>count</th><th>message</th></tr>")
        for grade_id, rows in failures.items():
            for i, (msg, count) in enumerate(rows):
                head = f'<td rowspan="{len(rows)}"><code>{_e(grade_id)}</code></td>' if i == 0 else ""
                out.append(f"<tr>{head}<td>{count}</td><td>{_e(msg)}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>No failed cells.</p>")

    out.append("<h3>Submissions to look at</h3>")
    attention = [r for r in results if r.status != "graded" or r.flags]
    if attention:
        out.append("<table><tr><th>student</th><th>status</th><th>score</th><th>reason</th><th>flags</th></tr>")
        for r in attention:
            cls = r.status.replace(" ", "-")
            flags = "<br>".join(_e(f) for f in r.flags)
            score = f"{number(r.score)} / {number(r.max_score)}" if r.score is not None else ""
            out.append(f'<tr><td>{_e(r.student)}</td><td class="{cls}">{_e(r.status)}</td><td>{score}</td>'
                       f"<td>{_e(r.reason)}</td><td>{flags}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>Every submission was graded without flags.</p>")

    by_hand = [r for r in results if r.comments or any(c.manual for c in r.cells)]
    if by_hand:
        out.append("<h3>Graded by hand (formgrader)</h3>")
        out.append("<table><tr><th>student</th><th>cells scored by hand</th><th>comments</th></tr>")
        for r in by_hand:
            cells = "<br>".join(f"<code>{_e(c.grade_id)}</code>: {number(c.points)} / {number(c.max_points)}"
                                for c in r.cells if c.manual)
            comments = "<br>".join(_e(c) for c in r.comments)
            out.append(f"<tr><td>{_e(r.student)}</td><td>{cells}</td><td>{comments}</td></tr>")
        out.append("</table>")
    return out


def class_report(course, out_dir) -> Path:
    """Write ``report.html`` and two PNGs per assignment into ``out_dir`` (created if needed) from the
    results under ``course``; return the HTML's path. Contents: see the module docstring."""
    out_dir = Path(out_dir)
    results = load_results(course)
    assignments = sorted({r.assignment for r in results})
    body = ["<h1>Class report</h1>"]
    if not assignments:
        body.append("<p>No submissions or grading results found.</p>")
    else:
        body.append("<p>" + " · ".join(f'<a href="#{_e(a)}">{_e(a)}</a>' for a in assignments) + "</p>")
    for a in assignments:
        rows = [r for r in results if r.assignment == a]
        pngs = {"scores": score_figure(rows, a), "exercises": exercise_figure(rows, a)}
        for kind, data in pngs.items():
            write_atomic(out_dir / f"{a}_{kind}.png", data)
        body += _assignment_section(a, rows, pngs)
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Class report</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    target = out_dir / "report.html"
    write_atomic(target, page.encode("utf-8"))
    return target
