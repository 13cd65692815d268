"""Running nbgrader from the course's commands.

nbgrader creates a gradebook by running the ``alembic`` executable it finds on PATH; from a virtual
environment that is not activated that is the wrong one or none at all. Every nbgrader call made by the
course therefore puts the running interpreter's script folder first on PATH: :func:`nbgrader_env` for a
subprocess, :func:`scripts_on_path` for nbgrader's API called in this process.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path


def with_scripts_first(path: str | None) -> str:
    """``path`` (a PATH value) with this interpreter's script folder in front."""
    return str(Path(sys.executable).parent) + os.pathsep + (path or "")


def nbgrader_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["PATH"] = with_scripts_first(env.get("PATH"))
    env.setdefault("MPLBACKEND", "Agg")
    return env


@contextlib.contextmanager
def scripts_on_path():
    """For nbgrader's API in this process: the interpreter's script folder first on PATH meanwhile."""
    old = os.environ.get("PATH")
    os.environ["PATH"] = with_scripts_first(old)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


def run_nbgrader(args: list[str], cwd: Path, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in the course folder ``cwd`` with a PATH that finds alembic."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=nbgrader_env(),
                          check=check, text=True, capture_output=capture)


def generate_notebooks(root: Path, assignments: list[str], db: bool = False) -> None:
    """nbgrader's ``generate_assignment`` for each assignment: ``notebooks/<A>/`` from ``solutions/<A>/``
    (and, with ``db``, the assignment registered in the gradebook)."""
    for a in assignments:
        args = ["generate_assignment", a, "--force", "--log-level=WARN"]
        if not db:
            args.append("--no-db")
        run_nbgrader(args, cwd=root, capture=True)
