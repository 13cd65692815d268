"""Instructor commands around grading, for ``python -m graders``:

  import SOURCE [--assignment A]   copy student notebooks from a folder or an LMS zip (Canvas, Moodle)
                                   into submitted/<student>/<A>/<A>.ipynb (see graders.importer)
  export [FILE]                    the class's grades from grading/*/*.json as CSV, default grades.csv
                                   (see graders.export)
  report [DIR]                     HTML class report with figures, default report/ (see graders.report)

All act on the course folder ``graders.cli.course_dir()``; relative FILE/DIR/SOURCE paths are taken
from the current folder. ``graders.cli`` registers these with :func:`add_commands` and hands the
parsed arguments of any command in :data:`COMMANDS` to :func:`run`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

COMMANDS = ("import", "export", "report")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import``, ``export`` and ``report`` sub-commands to ``subparsers``
    (created with ``dest="command"``)."""
    p = subparsers.add_parser("import", help="copy student notebooks (folder or LMS zip) into submitted/")
    p.add_argument("source", help="a folder (<student>/<assignment>/<file>.ipynb or <student>/<file>.ipynb) "
                                  "or a Canvas/Moodle zip")
    p.add_argument("--assignment", help="the assignment for every notebook (default: from folder or file names)")
    p = subparsers.add_parser("export", help="export grades (grading results) to CSV")
    p.add_argument("file", nargs="?", default="grades.csv")
    p = subparsers.add_parser("report", help="HTML class report: score histograms, pass rates, failures")
    p.add_argument("dir", nargs="?", default="report")


def run(args: argparse.Namespace) -> int:
    """Run the command in ``args.command`` (one of :data:`COMMANDS`); return the exit status."""
    from .cli import course_dir

    course = course_dir()
    if args.command == "import":
        from .importer import import_submissions

        try:
            result = import_submissions(Path(args.source), course, args.assignment)
        except (FileNotFoundError, ValueError) as e:
            print(f"import: {e}")
            return 2
        print(result.summary())
        return 0 if result else 1
    if args.command == "export":
        from .export import export_csv, load_results

        path = export_csv(course, Path(args.file))
        rows = load_results(course)
        counts = {s: sum(1 for r in rows if r.status == s) for s in ("graded", "needs review", "failed")}
        print(f"wrote {path}: {len(rows)} row(s); " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        return 0
    if args.command == "report":
        from .report import class_report

        print(f"wrote {class_report(course, Path(args.dir))}")
        return 0
    raise ValueError(f"not a classroom command: {args.command}")
