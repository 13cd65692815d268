"""The course's command-line tool: ``python -m graders <command>``.

Commands for maintainers (they write into this checkout)
  build [--check]          regenerate notebooks/ (student versions) and graders/fixtures/ from solutions/;
                           with --check, regenerate into a temporary folder and report any difference

Commands for instructors (run in the course folder: the current folder if it holds nbgrader_config.py,
else this checkout)
  release [TOPIC ...]      write the student versions into notebooks/ and register the assignments
                           in nbgrader's gradebook (gradebook.db)
  import SOURCE [--assignment A]   student notebooks from a folder or a Canvas/Moodle zip into
                           submitted/<student>/<A>/<A>.ipynb
  grade [TOPIC ...] [--jobs N] [--force]   grade every submission robustly (graders/grading.py):
                           nbgrader autograde in a sandbox plus a trusted re-check; results in
                           grading/<TOPIC>/<student>.json and the gradebook; resumes where it stopped
  feedback TOPIC           HTML feedback in feedback/<student>/<TOPIC>/ (no hidden tests, no solutions)
  export [FILE]            grades with a status per notebook as CSV (default grades.csv)
  report [DIR]             HTML class report: score histograms, pass rate per exercise, commonest
                           failures, submissions to review (default report/)
  autograde TOPIC [nbgrader options]   plain nbgrader autograde (no sandbox, no re-check)
  nbgrader ARGS...         any nbgrader command

  bundle DIR               the student release bundle: notebooks, utils, datasets and the visible
                           checks; no solutions, no hidden cases, no reference data

Commands for students
  progress [--plot FILE]   run the visible checks of your saved notebooks; passed / failed / not started

nbgrader runs the ``alembic`` executable it finds on PATH when it creates a gradebook; from a virtual
environment that is not activated that is the wrong one or none at all. Every nbgrader call made
here puts the running interpreter's own script folder first on PATH.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import classroom_cli

ROOT = Path(__file__).resolve().parent.parent


def course_dir() -> Path:
    """The course folder instructor commands act on: the current folder if it is one, else this checkout."""
    cwd = Path.cwd()
    return cwd if (cwd / "nbgrader_config.py").is_file() else ROOT


def topics(root: Path = ROOT) -> list[str]:
    """Assignment names (``01_softmax``, ...) from the solutions folder, in course order."""
    return sorted(p.name for p in (root / "solutions").iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").is_file())


def topic_name(assignment: str) -> str:
    """``01_softmax`` -> ``softmax`` (the graders module and fixture name)."""
    return assignment.split("_", 1)[1]


def nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_nbgrader(args: list[str], cwd: Path = ROOT, check: bool = True,
                 capture: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in ``cwd`` (a course root) with a PATH that finds alembic."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=nbgrader_env(),
                          check=check, text=True, capture_output=capture)


def generate_notebooks(root: Path, assignments: list[str], db: bool = False) -> None:
    for a in assignments:
        args = ["generate_assignment", a, "--force", "--log-level=WARN"]
        if not db:
            args.append("--no-db")
        run_nbgrader(args, cwd=root, capture=True)


def write_fixtures(fixtures_dir: Path, assignments: list[str]) -> list[Path]:
    from . import fixtures
    import importlib

    written = []
    for a in assignments:
        name = topic_name(a)
        module = importlib.import_module(f"graders.{name}")
        if not getattr(module, "CASES", None):
            continue
        target = fixtures_dir / f"{name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fixtures.build(name), encoding="utf-8")
        written.append(target)
    return written


def build(check: bool = False, only: list[str] | None = None, committed: Path = ROOT) -> int:
    """Regenerate notebooks/ and graders/fixtures/; with ``check``, only compare (against the tree at
    ``committed``, this checkout by default). ``only`` limits the topics (``01_softmax`` or ``softmax``)."""
    assignments = topics()
    if only:
        assignments = [a for a in assignments if a in only or topic_name(a) in only]
    if not check:
        generate_notebooks(ROOT, assignments)
        for p in write_fixtures(ROOT / "graders" / "fixtures", assignments):
            print(f"wrote {p.relative_to(ROOT)}")
        print(f"generated notebooks/ for {', '.join(assignments)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", tmp)
        shutil.copytree(ROOT / "solutions", tmp / "solutions",
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
        print("Generated files are not in sync with solutions/ (run `python -m graders build`):")
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


# What a student release contains; graders modules that only instructors need stay out.
BUNDLE_ITEMS = ["tnn_course.py", "requirements.txt", "notebooks", "utils", "datasets", "graders"]
BUNDLE_EXCLUDED_GRADERS = {"authoring.py"}
HIDDEN_CASES = re.compile(r"^[ \t]*# BEGIN HIDDEN CASES.*?# END HIDDEN CASES[^\n]*\n", re.S | re.M)
BUNDLE_README = """# Training Neural Networks: student release

Install once (into any Python environment):

    pip install -r requirements.txt

then work through the notebooks:

    jupyter lab notebooks/

Each exercise has a check cell under it: `[ok] ...` means it passed; an error message says what was
expected and what your function returned. `python -m graders progress` shows your progress over the
course, and `from graders.reveal import reveal; reveal("softmax")` gives a hint for an exercise.
Solutions are not part of this release.
"""


def make_bundle(target: Path) -> Path:
    """Write the student release bundle into ``target`` (which must not exist yet)."""
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose a new folder")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    target.mkdir(parents=True)
    for item in BUNDLE_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, target / item, ignore=ignore)
        else:
            shutil.copy2(src, target / item)
    for name in BUNDLE_EXCLUDED_GRADERS:
        (target / "graders" / name).unlink(missing_ok=True)
    for module in (target / "graders").glob("*.py"):
        text = module.read_text(encoding="utf-8")
        stripped = HIDDEN_CASES.sub("", text)
        if stripped != text:
            module.write_text(stripped, encoding="utf-8")
    (target / "README.md").write_text(BUNDLE_README, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="regenerate notebooks/ and graders/fixtures/ from solutions/")
    p.add_argument("--check", action="store_true", help="only report whether they are in sync")
    p.add_argument("only", nargs="*", help="limit to these topics (e.g. 02_activations)")
    p = sub.add_parser("release", help="build and register assignments in the gradebook")
    p.add_argument("assignments", nargs="*")
    p = sub.add_parser("autograde", help="nbgrader autograde an assignment")
    p.add_argument("assignment")
    p = sub.add_parser("grade", help="grade every submission (sandbox, trusted re-check, parallel)")
    p.add_argument("assignments", nargs="*", help="default: every assignment")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    p.add_argument("--force", action="store_true", help="regrade results that are up to date")
    p.add_argument("--no-sandbox", action="store_true", help="run student code unconfined (not advised)")
    p.add_argument("--cell-timeout", type=float, default=30.0)
    p.add_argument("--notebook-timeout", type=float, default=300.0)
    p.add_argument("--memory-mb", type=int, default=4096, help="memory limit of student code")
    p = sub.add_parser("feedback", help="HTML feedback for an assignment (after grade)")
    p.add_argument("assignment")
    classroom_cli.add_commands(sub)  # import, export, report
    sub.add_parser("nbgrader", help="run any nbgrader command in the current folder", add_help=False)
    p = sub.add_parser("bundle", help="write the student release bundle")
    p.add_argument("dir")
    sub.add_parser("progress", help="your progress over the course (visible checks)", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "progress":
        from .progress import main as progress_main
        return progress_main(rest)

    if args.command == "build":
        return build(check=args.check, only=args.only)
    if args.command == "bundle":
        print(f"student bundle written to {make_bundle(Path(args.dir))}")
        return 0
    if args.command in classroom_cli.COMMANDS:
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return classroom_cli.run(args)
    course = course_dir()
    if args.command == "grade":
        from . import grading
        from .judge import Limits
        from .sandbox import detect

        assignments = args.assignments or topics(course)
        ok, sentence = detect()
        print(sentence if args.no_sandbox is False else "sandbox switched off: student code runs unconfined")
        grading.ensure_released(course, assignments)
        limits = Limits(args.cell_timeout, args.notebook_timeout, args.memory_mb * 1024 ** 2)
        results = grading.grade(course, assignments, jobs=args.jobs, force=args.force, limits=limits,
                                use_sandbox=not args.no_sandbox)
        grading.record_in_gradebook(course, results)
        counts = {k: sum(r["status"] == k for r in results) for k in ("graded", "needs review", "failed")}
        print(f"{len(results)} result(s): " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        return 0
    if args.command == "feedback":
        from . import grading
        written = grading.feedback(course, args.assignment)
        print(f"wrote feedback for {len(written)} student(s) under {course / 'feedback'}")
        return 0
    if args.command == "release":
        assignments = args.assignments or topics(course)
        generate_notebooks(course, assignments, db=True)
        print(f"released {', '.join(assignments)} into {course / 'notebooks'} and {course / 'gradebook.db'}")
        return 0
    if args.command == "autograde":
        return run_nbgrader(["autograde", args.assignment, *rest], cwd=course, check=False).returncode
    if args.command == "nbgrader":
        return run_nbgrader(rest, cwd=course, check=False).returncode
    parser.error(f"unknown command {args.command}")
    return 2
