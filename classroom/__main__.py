"""``python -m classroom <command>``: the instructor's commands (see classroom/cli.py)."""
from .cli import main

raise SystemExit(main())
