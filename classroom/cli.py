"""The instructor's commands: python -m classroom <command>, run in the course folder (the current
folder if it holds nbgrader_config.py, else this checkout).

  release [A ...]                  write the student versions into notebooks/, register the assignments
                                   in nbgrader's gradebook (gradebook.db) and release them into the
                                   course's exchange (exchange/: JupyterLab's Assignment List)
  import SOURCE [--assignment A]   student notebooks from a folder or a Canvas/Moodle zip into
                                   submitted/<student>/<A>/<A>.ipynb (see classroom.importer)
  grade [A ...] [--jobs N] [--force]   grade every submission: nbgrader autograde in a sandbox plus a
                                   trusted re-check; results in grading/<A>/<student>.json and the
                                   gradebook; resumes where it stopped (see classroom.grading)
  feedback A [--reveal-answers]    HTML feedback in feedback/<student>/<A>/ (no hidden tests, no solutions;
                                   hints only with --reveal-answers)
  export [FILE]                    grades with a status per notebook as CSV (default grades.csv)
  report [DIR]                     HTML class report: score histograms, pass rate per exercise, commonest
                                   failures, submissions to review (default report/)
  autograde A [nbgrader options]   plain nbgrader autograde (no sandbox, no re-check)
  nbgrader ARGS...                 any nbgrader command, with this environment's alembic on PATH

Relative FILE, DIR and SOURCE paths are taken from the current folder.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from authoring.nbgrader import generate_notebooks, run_nbgrader
from graders.layout import Course


def parser() -> argparse.ArgumentParser:
    p0 = argparse.ArgumentParser(prog="python -m classroom", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p0.add_subparsers(dest="command", required=True, metavar="command")
    p = sub.add_parser("release", help="write the student versions and register the assignments")
    p.add_argument("assignments", nargs="*")
    p = sub.add_parser("import", help="copy student notebooks (folder or LMS zip) into submitted/")
    p.add_argument("source", help="a folder (<student>/<assignment>/<file>.ipynb or <student>/<file>.ipynb) "
                                  "or a Canvas/Moodle zip")
    p.add_argument("--assignment", help="the assignment for every notebook (default: from folder or file names)")
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
    p.add_argument("--reveal-answers", action="store_true",
                   help="keep the checks' hints, which show the way to an answer (left out by default)")
    p = sub.add_parser("export", help="export grades (grading results) to CSV")
    p.add_argument("file", nargs="?", default="grades.csv")
    p = sub.add_parser("report", help="HTML class report: score histograms, pass rates, failures")
    p.add_argument("dir", nargs="?", default="report")
    p = sub.add_parser("autograde", help="plain nbgrader autograde of an assignment")
    p.add_argument("assignment")
    sub.add_parser("nbgrader", help="run any nbgrader command in the course folder", add_help=False)
    return p0


def main(argv: list[str] | None = None) -> int:
    p0 = parser()
    args, rest = p0.parse_known_args(argv)
    if rest and args.command not in ("autograde", "nbgrader"):
        p0.error(f"unrecognized arguments: {' '.join(rest)}")
    course = Course.current()
    if args.command == "release":
        assignments = args.assignments or course.assignments()
        generate_notebooks(course.root, assignments, db=True)
        for a in assignments:   # into the course's exchange, for JupyterLab's Assignment List (nbgrader_config.py)
            run_nbgrader(["release_assignment", a, "--force", "--log-level=WARN"], cwd=course.root, capture=True)
        print(f"released {', '.join(assignments)} into {course.step_dir('notebooks')}, {course.gradebook} "
              f"and nbgrader's exchange ({course.root / 'exchange'})")
        return 0
    if args.command == "import":
        from .importer import import_submissions

        try:
            result = import_submissions(Path(args.source), course.root, args.assignment)
        except (FileNotFoundError, ValueError) as e:
            print(f"import: {e}")
            return 2
        print(result.summary())
        return 0 if result else 1
    if args.command == "grade":
        from . import grading
        from .judge import Limits
        from .sandbox import detect

        assignments = args.assignments or course.assignments()
        ok, sentence = detect()
        print(sentence if not args.no_sandbox else "sandbox switched off: student code runs unconfined")
        grading.ensure_released(course.root, assignments)
        limits = Limits(args.cell_timeout, args.notebook_timeout, args.memory_mb * 1024 ** 2)
        results = grading.grade(course.root, assignments, jobs=args.jobs, force=args.force, limits=limits,
                                use_sandbox=not args.no_sandbox)
        grading.record_in_gradebook(course.root, results)
        from .results import load_results
        results = load_results(course, assignments, with_missing=False)   # with grades given by hand
        counts = {k: sum(r.status == k for r in results) for k in ("graded", "needs review", "failed")}
        print(f"{len(results)} result(s): " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        return 0
    if args.command == "feedback":
        from .feedback import feedback

        written = feedback(course.root, args.assignment, reveal_answers=args.reveal_answers)
        print(written.summary(course.step_dir('feedback')))
        return 0 if not written.failed else 1
    if args.command == "export":
        from .export import export_csv
        from .results import load_results

        path = export_csv(course.root, Path(args.file))
        rows = load_results(course)
        counts = {s: sum(1 for r in rows if r.status == s) for s in ("graded", "needs review", "failed")}
        print(f"wrote {path}: {len(rows)} row(s); " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        return 0
    if args.command == "report":
        from .report import class_report

        print(f"wrote {class_report(course.root, Path(args.dir))}")
        return 0
    if args.command == "autograde":
        return run_nbgrader(["autograde", args.assignment, *rest], cwd=course.root, check=False).returncode
    if args.command == "nbgrader":
        return run_nbgrader(rest, cwd=course.root, check=False).returncode
    p0.error(f"unknown command {args.command}")
    return 2
