"""A student's progress over the whole course, from their saved notebooks.

Each notebook in ``workspace/`` (``notebooks/`` before it exists) is executed top to bottom in a fresh
kernel (demos shrunk, as while grading; several notebooks at a time), and every graded check cell is
classified:

- ``passed``: the check ran without an error;
- ``failed``: it raised an error; the first line of its message is kept;
- ``not started``: it stopped at ``NotImplementedError`` (the exercise, or one it needs, is a stub);
- ``answered``: a question's answer is recorded, but a visible check cannot say whether it is right
  (that is graded later). Where the course's solutions are at hand (the full repository, not a student
  release), the question's full test is run as well and the answer reads ``right`` or ``wrong``.

Points are the visible checks' points (hidden tests run only when the notebook is graded; an answered
question counts once it is known to be right). A notebook whose file has not changed since the last
report is not run again. Use ``python -m graders progress`` from a terminal, or ``show_progress()`` in
a notebook (it starts a separate process, so it sees your *saved* notebooks: save first).
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .layout import Course

ROOT = Course.checkout().root
STATUSES = ("passed", "right", "answered", "failed", "wrong", "not started")
MARKS = {"passed": "[x]", "right": "[x]", "answered": "[?]", "failed": "[!]", "wrong": "[!]", "not started": "[ ]"}
QUESTION_CHECKS = ("check_choice(", "check_number(")
MESSAGE_WIDTH = 100


@dataclass
class Exercise:
    check: str            # grade id of the check cell
    points: float
    status: str           # one of STATUSES
    message: str = ""
    exercises: list[str] = field(default_factory=list)   # what the student writes for it (reveal's names)

    @property
    def earned(self) -> bool:
        return self.status in ("passed", "right")


@dataclass
class NotebookProgress:
    notebook: str
    exercises: list[Exercise] = field(default_factory=list)
    error: str = ""       # the notebook could not be run at all

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises if e.earned)

    @property
    def max_points(self) -> float:
        return sum(e.points for e in self.exercises)

    def count(self, *statuses: str) -> int:
        return sum(e.status in statuses for e in self.exercises)


def _first_line(text: str) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[0] if lines else ""


def _short(text: str, width: int = MESSAGE_WIDTH) -> str:
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def _solution_tests(notebook: str) -> dict[str, str]:
    """``{grade id: source}`` of the question test cells of the solution notebook (hidden part included),
    or ``{}`` where solutions are not at hand (a student release)."""
    from .layout import topic_name
    from .reference import ReferenceUnavailable, notebook_path
    try:
        path = notebook_path(topic_name(notebook))
    except (ReferenceUnavailable, KeyError, ValueError, LookupError):
        return {}
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return {}
    out = {}
    for c in cells:
        meta = c.get("metadata", {}).get("nbgrader", {})
        src = "".join(c.get("source", ""))
        if meta.get("grade") and not meta.get("solution") and any(q in src for q in QUESTION_CHECKS):
            out[meta["grade_id"]] = src
    return out


def _error_status(err: dict) -> tuple[str, str]:
    if err.get("ename") == "NotImplementedError":
        return "not started", _first_line(err.get("evalue", ""))
    return "failed", f"{err.get('ename')}: {_first_line(err.get('evalue', ''))}"


def assess(nb_path: Path, timeout: int = 120) -> NotebookProgress:
    """Run one saved notebook in a fresh kernel and classify its check cells."""
    import nbformat
    from nbclient import NotebookClient

    nb_path = Path(nb_path)
    result = NotebookProgress(nb_path.parent.name)
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception as err:  # unreadable: say so instead of crashing the report
        result.error = f"cannot read {nb_path.name}: {_first_line(str(err))}"
        return result
    answers = _solution_tests(result.notebook)
    verdicts: dict[str, tuple[str, str]] = {}
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(nb_path.parent)}})
    env = dict(os.environ, TNN_FAST="1",  # demos shrunk, as while grading
               TNN_COURSE_ROOT=str(ROOT))  # a folder outside the course: the set-up cell finds it so
    try:
        with client.setup_kernel(env=env):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            # with the solutions at hand, a question's full test says whether a recorded answer is right
            graded = list(nb.cells)
            for cell in graded:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                gid = meta.get("grade_id")
                if gid in answers and meta.get("grade") and not _errors(cell):
                    probe = nbformat.v4.new_code_cell(answers[gid])
                    nb.cells.append(probe)  # run as a cell of its own, after the notebook's last
                    client.execute_cell(probe, len(nb.cells) - 1)
                    nb.cells.pop()
                    errs = _errors(probe)
                    verdicts[gid] = ("right", "") if not errs else (
                        ("wrong", _first_line(errs[0].get("evalue", "")))
                        if errs[0].get("ename") not in ("NotImplementedError",) else _error_status(errs[0]))
    except Exception as err:
        result.error = f"could not run: {_first_line(str(err))}"
    pending: list[str] = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            pending.append(meta.get("grade_id", ""))
        if not meta.get("grade"):
            continue
        errors = _errors(cell)
        ran = cell.get("execution_count") is not None or cell.get("outputs")
        if errors:
            status, message = _error_status(errors[0])
        elif not ran:
            status, message = "not started", "not run"
        elif any(q in "".join(cell.source) for q in QUESTION_CHECKS):
            status, message = verdicts.get(meta["grade_id"], (
                "answered", "answer recorded; whether it is right is graded later"))
        else:
            status, message = "passed", ""
        result.exercises.append(Exercise(meta["grade_id"], float(meta.get("points", 0)), status, message,
                                         [p for p in pending if p]))
        pending = []
    return result


def _errors(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


# ---------------------------------------------------------------------------------------------- caching
def _course_fingerprint() -> str:
    """Changes when the checks, the library or the solutions change: cached results are then stale."""
    h = hashlib.sha256()
    for folder in ("graders", "utils", "datasets", "classroom/hidden", "solutions"):
        for p in sorted((ROOT / folder).rglob("*")):
            if p.suffix in (".py", ".json", ".ipynb") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(ROOT)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def _cache_path() -> Path:
    return ROOT / ".cache" / "progress.json"


def _load_cache() -> dict:
    try:
        return json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _save_cache(cache: dict) -> None:
    try:
        _cache_path().parent.mkdir(exist_ok=True)
        tmp = _cache_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(cache), encoding="utf-8")
        tmp.replace(_cache_path())
    except OSError:
        pass  # a read-only course folder: no cache, same results


def _notebooks(folder: Path) -> list[Path]:
    """``NN_topic/NN_topic.ipynb`` in each subfolder (any notebook there if it has none of that name)."""
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        own = sub / f"{sub.name}.ipynb"
        found += [own] if own.is_file() else sorted(sub.glob("*.ipynb"))
    return found


def collect(notebooks: Path | None = None, *, jobs: int | None = None, use_cache: bool = True) -> list[NotebookProgress]:
    """Progress of every ``NN_topic/NN_topic.ipynb`` under ``notebooks`` (default: the student notebooks).

    Notebooks run ``jobs`` at a time (default: the number of CPUs, at most 4); one whose saved file and
    the course are unchanged since the last report is taken from the cache (``.cache/progress.json``)."""
    folder = Path(notebooks) if notebooks else Course.current().student_notebooks()
    paths = _notebooks(folder)
    cache = _load_cache() if use_cache else {}
    course = _course_fingerprint() if use_cache else ""
    keys = {p: hashlib.sha256(p.read_bytes() + course.encode()).hexdigest() for p in paths}
    todo = [p for p in paths if keys[p] not in cache]
    jobs = jobs or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        fresh = dict(zip(todo, pool.map(assess, todo)))
    results = []
    for p in paths:
        if p in fresh:
            results.append(fresh[p])
            if not fresh[p].error:
                cache[keys[p]] = asdict(fresh[p])
        else:
            results.append(_from_dict(cache[keys[p]]))
    if use_cache:
        _save_cache(dict(list(cache.items())[-200:]))  # newest entries last
    return results


# ------------------------------------------------------------------------------------------ presenting
def _summary(r: NotebookProgress) -> str:
    parts = [f"{r.count('passed', 'right')} passed"]
    for label, statuses in (("failed", ("failed", "wrong")), ("answered", ("answered",)),
                            ("not started", ("not started",))):
        if r.count(*statuses):
            parts.append(f"{r.count(*statuses)} {label}")
    return ", ".join(parts)


def table(results: list[NotebookProgress]) -> str:
    """Plain text, at most ~100 columns: a line per notebook, then what needs attention."""
    lines = []
    total, total_max = sum(r.points for r in results), sum(r.max_points for r in results)
    for r in results:
        bar = _text_bar(r.points, r.max_points)
        lines.append(f"{r.notebook:<26} {r.points:>4g} / {r.max_points:<4g} points {bar}  {_summary(r)}"
                     + (f"  ({_short(r.error, 60)})" if r.error else ""))
        for e in r.exercises:
            if e.status in ("failed", "wrong", "answered"):
                lines.append(f"  {MARKS[e.status]} {e.check:<30} {e.status:<8} {_short(e.message, 60)}".rstrip())
        waiting = [e.check for e in r.exercises if e.status == "not started"]
        if waiting:
            lines.append(_short(f"  [ ] not started: {', '.join(waiting)}", MESSAGE_WIDTH))
    lines.append(f"Course total: {total:g} / {total_max:g} points")
    lines.append('Stuck? In a notebook: from graders.reveal import reveal; reveal("test_softmax")')
    return "\n".join(lines)


def _text_bar(points: float, max_points: float, width: int = 20) -> str:
    filled = round(width * points / max_points) if max_points else 0
    return "[" + "#" * filled + "." * (width - filled) + "]"


class ProgressView:
    """What :func:`show_progress` displays: an HTML table in a notebook, the text table elsewhere."""

    def __init__(self, results: list[NotebookProgress]):
        self.results = results

    def __repr__(self) -> str:
        return table(self.results)

    def _repr_html_(self) -> str:
        rows = []
        for r in self.results:
            share = 100 * r.points / r.max_points if r.max_points else 0
            bar = (f'<div style="width:140px;height:10px;background:#ddd;display:inline-block">'
                   f'<div style="width:{share:.0f}%;height:10px;background:#2a9d8f"></div></div>')
            attention = [e for e in r.exercises if e.status in ("failed", "wrong", "answered")]
            notes = "<br>".join(f"{html.escape(MARKS[e.status])} <code>{html.escape(e.check)}</code> "
                                f"{html.escape(e.status)}: {html.escape(_short(e.message, 90))}" for e in attention)
            waiting = [e.check for e in r.exercises if e.status == "not started"]
            if waiting:
                notes += ("<br>" if notes else "") + html.escape(_short("not started: " + ", ".join(waiting), 110))
            if r.error:
                notes += ("<br>" if notes else "") + html.escape(_short(r.error, 110))
            rows.append(f"<tr><td style='text-align:left'>{html.escape(r.notebook)}</td>"
                        f"<td>{r.points:g}&nbsp;/&nbsp;{r.max_points:g}</td><td>{bar}</td>"
                        f"<td style='text-align:left'>{html.escape(_summary(r))}</td>"
                        f"<td style='text-align:left;font-size:90%'>{notes}</td></tr>")
        total, total_max = sum(r.points for r in self.results), sum(r.max_points for r in self.results)
        return ("<table style='font-size:13px'><thead><tr><th>notebook</th><th>points</th><th></th>"
                "<th>checks</th><th>needs attention</th></tr></thead><tbody>" + "".join(rows) +
                f"</tbody></table><p><b>Course total: {total:g} / {total_max:g} points</b> (visible checks). "
                "Stuck? <code>reveal(\"test_softmax\")</code> (any name above) shows a hint.</p>")


def plot(results: list[NotebookProgress], path: str | Path | None = None):
    """A horizontal bar per notebook: passed points out of the visible total."""
    import matplotlib.pyplot as plt

    names = [r.notebook for r in results]
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(results) + 1.6))
    ax.barh(names, [r.max_points for r in results], color="#dddddd", label="available")
    ax.barh(names, [r.points for r in results], color="#2a9d8f", label="passed")
    most = max([r.max_points for r in results] + [1])
    for i, r in enumerate(results):
        ax.text(r.max_points + 0.01 * most, i, f"{r.points:g}/{r.max_points:g}", va="center", fontsize=9)
    ax.set_xlim(0, most * 1.18)  # room for the labels right of the longest bar
    ax.invert_yaxis()
    ax.set_xlabel("points (visible checks)")
    ax.set_title("Course progress")
    # the legend above the plot, where no bar or label can sit under it
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.02), ncol=2, frameon=False, fontsize=9)
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig


def to_json(results: list[NotebookProgress]) -> str:
    return json.dumps([{**asdict(r), "points": r.points, "max_points": r.max_points} for r in results], indent=1)


def _from_dict(d: dict) -> NotebookProgress:
    return NotebookProgress(d["notebook"], [Exercise(**e) for e in d["exercises"]], d.get("error", ""))


def from_json(text: str) -> list[NotebookProgress]:
    return [_from_dict(d) for d in json.loads(text)]


def show_progress(notebooks: str | Path | None = None, *, plot_chart: bool = False) -> None:
    """From inside a notebook: run the progress report in a fresh process and show it as one table.

    Shows the table and returns nothing (so nothing else is echoed under it); ``plot_chart=True`` adds
    the bar chart. For the data, use :func:`collect`."""
    args = [sys.executable, "-m", "graders", "progress", "--json"]
    if notebooks:
        args += ["--notebooks", str(Path(notebooks).resolve())]
    done = subprocess.run(args, cwd=ROOT, text=True, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"the progress report failed:\n{done.stderr[-2000:]}")
    results = from_json(done.stdout)
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - a notebook always has IPython
        print(table(results))
    else:
        display(ProgressView(results))
    if plot_chart:
        import matplotlib.pyplot as plt
        plot(results)
        plt.show()


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m graders progress",
        description="Run your saved notebooks' visible checks (in fresh kernels) and list, per notebook, "
                    "the points, the failed checks with their first line, and what is not started.")
    parser.add_argument("--notebooks", default=str(Course.current().student_notebooks()),
                        help="folder of NN_topic/NN_topic.ipynb (default: workspace/, or notebooks/ before it exists)")
    parser.add_argument("--plot", help="also save the bar chart to this PNG file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--no-cache", action="store_true", help="run every notebook, even unchanged ones")
    parser.add_argument("--jobs", type=int, default=None, help="notebooks run at a time (default: CPUs, at most 4)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    results = collect(Path(args.notebooks), jobs=args.jobs, use_cache=not args.no_cache)
    print(to_json(results) if args.json else table(results))
    if args.plot:
        plot(results, args.plot)
    return 0
