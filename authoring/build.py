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
from graders.layout import RELEASE, SOURCE, Course, topic_name

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
        shutil.copytree(course.step_dir(SOURCE), tmp / SOURCE,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        generate_notebooks(tmp, assignments)
        write_fixtures(tmp / "fixtures", assignments)
        problems = []
        for a in assignments:
            problems += _compare_tree(Course(tmp).release(a).parent, Course(committed).release(a).parent,
                                      f"{RELEASE}/{a}")
        if not only:
            problems += _compare_tree(tmp / RELEASE, committed / RELEASE, RELEASE)
            problems += _compare_tree(tmp / "fixtures", committed / "graders" / "fixtures", "graders/fixtures")
        else:
            for a in assignments:
                name = f"{topic_name(a)}.json"
                fresh, kept = tmp / "fixtures" / name, committed / "graders" / "fixtures" / name
                if fresh.exists() != kept.exists() or (fresh.exists() and not same_fixture(fresh, kept)):
                    problems.append(f"graders/fixtures/{name}: differs from what the source generates")
    if problems:
        print("Generated files are not in sync with solutions/ (run `python -m authoring build`):")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print(f"notebooks/ and graders/fixtures/ are in sync with solutions/ ({len(assignments)} topics)")
    return 0


# Fixtures hold numbers computed through BLAS and LAPACK (QR, eigh, matrix products), whose last bits
# depend on the kernel OpenBLAS picks for the CPU (or on Accelerate, MKL): measured up to 3e-14 relative.
# The visible checks compare a student's output with these numbers at rtol >= 1e-6, so a difference
# below FIXTURE_RTOL (1e-10, with FIXTURE_ATOL for values near 0) cannot change any verdict; everything
# else (labels, shapes, dtypes, integers, the structure) must match exactly.
FIXTURE_RTOL = 1e-10
FIXTURE_ATOL = 1e-12


def same_fixture(a: Path, b: Path) -> bool:
    """Whether two fixture files agree: equal structure and non-float values, floats within the
    tolerance above (byte-identical files need no parsing)."""
    if filecmp.cmp(a, b, shallow=False):
        return True
    try:
        return _same_value(json.loads(a.read_text(encoding="utf-8")), json.loads(b.read_text(encoding="utf-8")))
    except ValueError:
        return False


def _same_value(x, y) -> bool:
    if isinstance(x, float) or isinstance(y, float):
        if not (isinstance(x, float) and isinstance(y, float)):   # 3 and 3.0: another dtype
            return False
        if x != x or y != y:            # NaN (never written by json.dumps with allow_nan, but be exact)
            return x != x and y != y
        return abs(x - y) <= FIXTURE_ATOL + FIXTURE_RTOL * max(abs(x), abs(y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same_value(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same_value(u, v) for u, v in zip(x, y))
    return type(x) is type(y) and x == y


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
        same = same_fixture if rel.suffix == ".json" else (lambda x, y: filecmp.cmp(x, y, shallow=False))
        if not same(fresh / rel, committed / rel):
            problems.append(f"{label}/{rel}: differs from what the source generates")
    return problems
