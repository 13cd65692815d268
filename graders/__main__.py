"""The student's commands: ``python -m graders workspace`` (copy the released notebooks you do not
have yet into ``workspace/``, where you work; nothing there is ever replaced) and
``python -m graders progress``.

Instructors run ``python -m classroom ...`` (release, import, grade, feedback, export, report) and
maintainers ``python -m authoring ...`` (build, bundle).
"""
import sys

from .progress import main

MOVED = {"build": "authoring", "bundle": "authoring", "release": "classroom", "import": "classroom",
         "grade": "classroom", "feedback": "classroom", "export": "classroom", "report": "classroom",
         "autograde": "classroom", "nbgrader": "classroom"}

argv = sys.argv[1:]
if argv and argv[0] in MOVED:
    print(f"`{argv[0]}` is not a student command: run `python -m {MOVED[argv[0]]} {' '.join(argv)}`"
          + ("" if MOVED[argv[0]] == "authoring" else " (instructors)") + ".")
    raise SystemExit(2)
if argv and argv[0] == "workspace":
    from .layout import make_workspace

    lines = make_workspace()
    print("\n".join(lines) if lines else "no released notebooks under notebooks/")
    raise SystemExit(0)
if argv and argv[0] == "progress":
    argv = argv[1:]
elif argv and argv[0] not in ("-h", "--help") and not argv[0].startswith("--"):
    print(f"unknown command {argv[0]!r}: the student commands are `python -m graders workspace` and "
          "`python -m graders progress [--plot FILE]`")
    raise SystemExit(2)
raise SystemExit(main(argv))
