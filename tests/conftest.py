"""Test set-up: the course's own packages first on the import path, a headless matplotlib."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(ROOT))

import tnn_course  # noqa: E402

tnn_course.activate(ROOT)

import classroom.hidden  # noqa: E402,F401  (registers the hidden cases: checks' hidden=True works in tests)
