"""Regenerate the course's generated files from the single source, ``solutions/``:

- ``notebooks/<A>/<A>.ipynb``: the student versions (nbgrader's ``generate_assignment``);
- ``graders/fixtures/<topic>.json``: the visible checks' inputs and reference outputs, drawn by
  ``graders.<topic>.CASES`` with ``graders.fixtures.VISIBLE_SEED``.

``python -m authoring build`` writes them; ``python -m authoring build --check`` regenerates into a
temporary folder and lists every difference (``tests/test_build.py`` runs it).
"""
from __future__ import annotations

import filecmp
import importlib
import json
import shutil
import tempfile
from pathlib import Path

from graders import fixtures
from graders.layout import Course, topic_name

from .nbgrader import generate_notebooks


def fixture_text(topic: str) -> str:
    """The fixture file's text for ``topic``: the visible cases of every exercise in ``graders.<topic>.CASES``."""
    data = {}
    for exercise in fixtures.generators(topic, hidden=False):
        data[exercise] = [
            # args as [name, value] pairs: JSON objects are written with sorted keys, and the order of
            # positional arguments must survive
            {"label": c.label, "args": [[k, fixtures.encode(v)] for k, v in c.args.items()],
             "kwargs": fixtures.encode(c.kwargs), "expected": fixtures.encode(c.expected)}
            for c in fixtures.generate(topic, exercise, fixtures.VISIBLE_SEED, hidden=False)
        ]
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def write_fixtures(fixtures_dir: Path, assignments: list[str]) -> list[Path]:
    written = []
    for a in assignments:
        name = topic_name(a)
        if not getattr(importlib.import_module(f"graders.{name}"), "CASES", None):
            continue
        target = fixtures_dir / f"{name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fixture_text(name), encoding="utf-8")
        written.append(target)
    return written


def build(check: bool = False, only: list[str] | None = None, committed: Path | None = None) -> int:
    """Regenerate notebooks/ and graders/fixtures/; with ``check``, only compare (against the tree at
    ``committed``, this checkout by default). ``only`` limits the topics (``01_softmax`` or ``softmax``)."""
    course = Course.checkout()
    committed = Path(committed) if committed is not None else course.root
    assignments = course.assignments()
    if only:
        assignments = [a for a in assignments if a in only or topic_name(a) in only]
    fixtures_dir = course.root / "graders" / "fixtures"
    if not check:
        generate_notebooks(course.root, assignments)
        for p in write_fixtures(fixtures_dir, assignments):
            print(f"wrote {p.relative_to(course.root)}")
        print(f"generated notebooks/ for {', '.join(assignments)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy(course.config, tmp)
        shutil.copytree(course.root / "solutions", tmp / "solutions",
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        generate_notebooks(tmp, assignments)
        write_fixtures(tmp / "fixtures", assignments)
        problems = []
        for a in assignments:
            problems += _compare_tree(tmp / "notebooks" / a, committed / "notebooks" / a, f"notebooks/{a}")
        if not only:
            problems += _compare_tree(tmp / "notebooks", committed / "notebooks", "notebooks")
            problems += _compare_tree(tmp / "fixtures", committed / "graders" / "fixtures", "graders/fixtures")
        else:
            for a in assignments:
                name = f"{topic_name(a)}.json"
                fresh, kept = tmp / "fixtures" / name, committed / "graders" / "fixtures" / name
                if fresh.exists() != kept.exists() or (fresh.exists() and fresh.read_bytes() != kept.read_bytes()):
                    problems.append(f"graders/fixtures/{name}: differs from what the source generates")
    if problems:
        print("Generated files are not in sync with solutions/ (run `python -m authoring build`):")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print(f"notebooks/ and graders/fixtures/ are in sync with solutions/ ({len(assignments)} topics)")
    return 0


def _compare_tree(fresh: Path, committed: Path, label: str) -> list[str]:
    problems = []
    fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()} if fresh.exists() else set()
    committed_files = ({p.relative_to(committed) for p in committed.rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}
                       if committed.exists() else set())
    for rel in sorted(fresh_files - committed_files):
        problems.append(f"{label}/{rel}: missing")
    for rel in sorted(committed_files - fresh_files):
        problems.append(f"{label}/{rel}: not generated from any source (stale?)")
    for rel in sorted(fresh_files & committed_files):
        if not filecmp.cmp(fresh / rel, committed / rel, shallow=False):
            problems.append(f"{label}/{rel}: differs from what the source generates")
    return problems
