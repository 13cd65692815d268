"""Make this course's own ``utils``, ``graders`` and ``datasets`` packages importable.

``utils`` and ``datasets`` are also the names of popular packages on PyPI (Hugging Face's
``datasets`` above all). A plain ``sys.path`` entry at the end of the path would silently pick up
whichever one is installed, so :func:`activate` puts the course folder *first* on ``sys.path``,
evicts any same-named module that was imported from elsewhere, imports ours and verifies where each
came from. Every notebook's first cell finds this file by walking up from its own folder, so the same
cell works in ``notebooks/<topic>/``, in ``solutions/<topic>/``, in nbgrader's ``autograded/<student>/
<topic>/`` copy and in the student bundle. ``TNN_COURSE_ROOT`` overrides the search (for sandboxes
that run a notebook outside the course tree).
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGES = ("utils", "graders", "datasets")


def _inside(path: str | None, root: Path) -> bool:
    if not path:
        return False
    try:
        Path(path).resolve().relative_to(root)
        return True
    except ValueError:
        return False


def activate(root: str | os.PathLike | None = None) -> None:
    """Put the course folder first on ``sys.path`` and import its packages.

    Returns None on purpose: it is the last expression of every notebook's set-up cell, and a returned
    path would be echoed under it (the folder is ``ROOT``, or ``os.environ["TNN_COURSE_ROOT"]`` after)."""
    root = Path(root).resolve() if root else ROOT
    entry = str(root)
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != root]
    sys.path.insert(0, entry)
    for name in PACKAGES:
        for mod_name in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            mod = sys.modules[mod_name]
            if not _inside(getattr(mod, "__file__", None), root):
                del sys.modules[mod_name]  # someone else's `utils`/`datasets`: forget it
    importlib.invalidate_caches()
    for name in PACKAGES:
        mod = importlib.import_module(name)
        if not _inside(getattr(mod, "__file__", None), root):
            raise ImportError(
                f"`import {name}` found {getattr(mod, '__file__', mod)!r}, not the course's "
                f"{root / name}. Open the notebook from inside the course folder."
            )
    os.environ["TNN_COURSE_ROOT"] = entry
    _one_blas_thread()


def _one_blas_thread() -> None:
    """Run numpy's BLAS on one thread. The course's matrices are small: on a busy 2-core machine a
    multi-threaded BLAS made single products up to 5x slower and run times unpredictable."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # for processes started from here
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:
        return
    threadpool_limits(1)


# The first code cell of every notebook, verbatim (tests/test_build.py checks each notebook uses it).
SETUP_CELL = '''\
# Course set-up (the same cell in every notebook): import this course's utils/, graders/, datasets/.
import os, sys, pathlib
_cwd = pathlib.Path.cwd().resolve()
_root = next((d for d in [pathlib.Path(os.environ.get("TNN_COURSE_ROOT", _cwd)), _cwd, *_cwd.parents]
              if (d / "tnn_course.py").is_file()), _cwd)
sys.path.insert(0, str(_root))
import tnn_course; tnn_course.activate(_root)'''
