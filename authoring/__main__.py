"""``python -m authoring <command>``: the maintainer's commands (see authoring/cli.py)."""
from .cli import main

raise SystemExit(main())
