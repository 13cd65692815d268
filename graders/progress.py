"""A student's progress over the whole course, from their saved notebooks.

Each notebook in ``workspace/`` (``notebooks/`` before it exists) is executed top to bottom in a fresh
kernel (demos shrunk, as while grading), and every graded check cell is classified:

- ``passed``: the check ran without an error;
- ``not started``: it stopped at ``NotImplementedError`` (the exercise, or one it needs, is a stub);
- ``failed``: any other error; the first line of its message is kept.

Points are the visible checks' points (hidden tests run only when the notebook is graded). Use
``python -m graders progress`` from a terminal, or ``show_progress()`` in a notebook (it starts a
separate process, so it sees your *saved* notebooks: save first).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .layout import Course

ROOT = Course.checkout().root


@dataclass
class Exercise:
    check: str            # grade id of the check cell
    points: float
    status: str           # "passed" | "failed" | "not started"
    message: str = ""


@dataclass
class NotebookProgress:
    notebook: str
    exercises: list[Exercise] = field(default_factory=list)
    error: str = ""       # the notebook could not be run at all

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises if e.status == "passed")

    @property
    def max_points(self) -> float:
        return sum(e.points for e in self.exercises)


def _first_line(text: str) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[0] if lines else ""


def assess(nb_path: Path, timeout: int = 120) -> NotebookProgress:
    """Run one saved notebook in a fresh kernel and classify its check cells."""
    import nbformat
    from nbclient import NotebookClient

    result = NotebookProgress(nb_path.parent.name)
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception as err:  # unreadable: say so instead of crashing the report
        result.error = f"cannot read {nb_path.name}: {_first_line(str(err))}"
        return result
    env_before = os.environ.get("TNN_FAST")
    os.environ["TNN_FAST"] = "1"
    try:
        NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                       extra_arguments=["--IPKernelApp.log_level=ERROR"],
                       resources={"metadata": {"path": str(nb_path.parent)}}).execute()
    except Exception as err:
        result.error = f"could not run: {_first_line(str(err))}"
    finally:
        if env_before is None:
            os.environ.pop("TNN_FAST", None)
        else:
            os.environ["TNN_FAST"] = env_before
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        ran = cell.get("execution_count") is not None or cell.get("outputs")
        if errors:
            e = errors[0]
            if e.get("ename") == "NotImplementedError":
                status, message = "not started", _first_line(e.get("evalue", ""))
            else:
                status, message = "failed", f"{e.get('ename')}: {_first_line(e.get('evalue', ''))}"
        elif ran:
            status, message = "passed", ""
        else:
            status, message = "not started", "not run"
        result.exercises.append(Exercise(meta["grade_id"], float(meta.get("points", 0)), status, message))
    return result


def collect(notebooks: Path | None = None) -> list[NotebookProgress]:
    folder = Path(notebooks) if notebooks else Course.current().student_notebooks()
    return [assess(p) for p in sorted(folder.glob("*/*.ipynb"))]


def table(results: list[NotebookProgress]) -> str:
    lines = []
    total = sum(r.points for r in results)
    total_max = sum(r.max_points for r in results)
    for r in results:
        lines.append(f"{r.notebook}: {r.points:g} / {r.max_points:g} points" + (f"  ({r.error})" if r.error else ""))
        for e in r.exercises:
            mark = {"passed": "[x]", "failed": "[!]", "not started": "[ ]"}[e.status]
            lines.append(f"  {mark} {e.check:<32} {e.status:<12} {e.message}".rstrip())
    lines.append(f"Course total: {total:g} / {total_max:g} points")
    return "\n".join(lines)


def plot(results: list[NotebookProgress], path: str | Path | None = None):
    """A horizontal bar per notebook: passed points out of the visible total."""
    import matplotlib.pyplot as plt

    names = [r.notebook for r in results]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(results) + 1.2))
    ax.barh(names, [r.max_points for r in results], color="#dddddd", label="available")
    ax.barh(names, [r.points for r in results], color="#2a9d8f", label="passed")
    for i, r in enumerate(results):
        ax.text(r.max_points, i, f" {r.points:g}/{r.max_points:g}", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("points (visible checks)")
    ax.set_title("Course progress")
    ax.legend(loc="lower right")
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=100)
    return fig


def to_json(results: list[NotebookProgress]) -> str:
    return json.dumps([{**asdict(r), "points": r.points, "max_points": r.max_points} for r in results], indent=1)


def from_json(text: str) -> list[NotebookProgress]:
    out = []
    for d in json.loads(text):
        out.append(NotebookProgress(d["notebook"], [Exercise(**e) for e in d["exercises"]], d.get("error", "")))
    return out


def show_progress(notebooks: str | Path | None = None):
    """From inside a notebook: run the progress report in a fresh process and show table and picture."""
    args = [sys.executable, "-m", "graders", "progress", "--json"]
    if notebooks:
        args += ["--notebooks", str(notebooks)]
    done = subprocess.run(args, cwd=ROOT, text=True, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"the progress report failed:\n{done.stderr[-2000:]}")
    results = from_json(done.stdout)
    print(table(results))
    import matplotlib.pyplot as plt
    plot(results)
    plt.show()
    return results


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m graders progress")
    parser.add_argument("--notebooks", default=str(Course.current().student_notebooks()), help="folder of NN_topic/NN_topic.ipynb (default: workspace/, or notebooks/ before it exists)")
    parser.add_argument("--plot", help="also save the bar chart to this PNG file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    results = collect(Path(args.notebooks))
    print(to_json(results) if args.json else table(results))
    if args.plot:
        plot(results, args.plot)
    return 0
