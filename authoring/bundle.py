"""The student release: ``python -m authoring bundle DIR``.

A student needs the notebooks and what they import, nothing else. By construction the bundle is
exactly the packages in :data:`BUNDLE_ITEMS` (the student-facing ``graders/`` check library, ``utils/``,
``datasets/``), the student notebooks and the import set-up. Hidden cases live in
``classroom/hidden/``, solutions in ``solutions/``, the grading machinery in ``classroom/`` and this
tooling in ``authoring/``: none of them is copied, so a new file there can never leak into the release.
``tests/test_layout.py`` proves the bundle holds no hidden case, no solution code and no grading code.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from graders.layout import Course

BUNDLE_ITEMS = ["tnn_course.py", "requirements.txt", "notebooks", "utils", "datasets", "graders"]
BUNDLE_README = """# Training Neural Networks: student release

Install once (into any Python environment):

    pip install -r requirements.txt

then, from this folder, make your own copies of the notebooks and work through them there:

    python -m graders workspace
    jupyter lab workspace/

`notebooks/` is the release: work in `workspace/`, which nothing ever overwrites (run
`python -m graders workspace` again after an update: it adds new notebooks and keeps yours).

Each exercise has a check cell under it: `[ok] ...` means it passed; an error message says what was
expected and what your function returned. `python -m graders progress` shows your progress over the
course, and `from graders.reveal import reveal; reveal("softmax")` gives a hint for an exercise.
Solutions are not part of this release.
"""
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


def make_bundle(target: Path, course: Course | None = None) -> Path:
    """Write the student release bundle into ``target`` (which must not exist yet)."""
    course = course or Course.checkout()
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose a new folder")
    target.mkdir(parents=True)
    for item in BUNDLE_ITEMS:
        src = course.root / item
        if src.is_dir():
            shutil.copytree(src, target / item, ignore=IGNORE)
        else:
            shutil.copy2(src, target / item)
    (target / "README.md").write_text(BUNDLE_README, encoding="utf-8")
    return target
