"""Build throw-away nbgrader course folders for tests: release, simulated submissions, autograde."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINKED = ["tnn_course.py", "nbgrader_config.py", "utils", "graders", "datasets", "solutions", "authoring", "classroom"]


def make_course(where: Path) -> Path:
    """A course root in ``where`` whose code and solutions are symlinks to this checkout."""
    where.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        (where / name).symlink_to(ROOT / name)
    return where


def unactivated_env(**extra: str) -> dict[str, str]:
    """The environment of a shell whose virtual environment is *not* activated: the interpreter's
    script folder (where ``alembic`` and ``jupyter`` live) is removed from PATH."""
    env = dict(os.environ)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and Path(p).resolve() != Path(scripts).resolve()) or "/usr/bin:/bin"
    env.pop("VIRTUAL_ENV", None)
    env["MPLBACKEND"] = "Agg"
    env.update(extra)
    return env


def course_cli(args: list[str], cwd: Path, env: dict | None = None, package: str = "classroom") -> subprocess.CompletedProcess:
    """``python -m classroom ARGS`` (or another ``package``) run the way the README says, from a
    non-activated environment."""
    result = subprocess.run([sys.executable, "-m", package, *args], cwd=cwd, text=True,
                            capture_output=True, env=env or unactivated_env())
    if result.returncode != 0:
        raise AssertionError(f"python -m {package} {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def perfect_submission(assignment: str, release_nb: Path) -> dict:
    """The student notebook with every answer cell filled in from the solution notebook."""
    nb = json.loads(release_nb.read_text())
    source = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in source["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            src = "".join(answers[grade_id])
            cell["source"] = "\n".join(l for l in src.splitlines() if "### BEGIN SOLUTION" not in l
                                       and "### END SOLUTION" not in l)
    return nb


def submit(course: Path, student: str, assignment: str, nb: dict) -> None:
    target = course / "submitted" / student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(nb, indent=1))


def scores(course: Path, assignment: str) -> dict[str, tuple[float, float]]:
    """``{student: (score, max_score)}`` from the course's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: (s.score, s.max_score) for s in gb.assignment_submissions(assignment)}


def error_names(nb_path: Path) -> list[tuple[str, str]]:
    """``(cell id, exception name)`` for every error output in an executed notebook."""
    nb = json.loads(nb_path.read_text())
    return [(c.get("id"), o["ename"]) for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def stderr_outputs(nb_path: Path) -> list[tuple[str, str]]:
    nb = json.loads(nb_path.read_text())
    return [(c.get("id"), o["text"]) for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]


def fake_packages(where: Path) -> Path:
    """A folder with impostor ``utils``, ``datasets`` and ``graders`` packages (as if pip-installed)."""
    for name in ("utils", "datasets", "graders"):
        pkg = where / name
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / "__init__.py").write_text(f"IMPOSTOR = True  # not the course's {name}\n")
    return where


def run_notebook_cells(assignment: str, ref, markers, **functions) -> dict:
    """Run the solution notebook's imports cell (its second code cell) and its code cells that contain any
    of ``markers`` (an experiment's own code, plots and all) with the reference functions of ``ref``, or
    ``functions`` in their place, with one BLAS thread; return the namespace."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from threadpoolctl import threadpool_limits

    from graders.layout import Course
    cells = [c for c in json.loads(Course.checkout().source(assignment).read_text())["cells"]
             if c["cell_type"] == "code"]
    namespace = {name: getattr(ref, name) for name in dir(ref) if not name.startswith("_")}
    namespace.update(functions)
    sources = ["".join(cells[1]["source"])]                     # the imports
    sources += ["".join(c["source"]) for c in cells if any(m in "".join(c["source"]) for m in markers)]
    with threadpool_limits(1):   # tiny matrices: several BLAS threads only wait for each other
        for source in sources:
            exec(compile(source, "<notebook cell>", "exec"), namespace)
    plt.close("all")
    return namespace


def notebook(tag: str) -> bytes:
    """A minimal valid notebook whose one cell holds ``tag`` (to tell copies apart)."""
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": tag}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
