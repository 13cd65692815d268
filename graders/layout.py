"""Where everything of a course lives: one object builds every path (as nbgrader's
``CourseDirectory.format_path`` does for its own steps).

A course folder holds the course's code (``tnn_course.py``, ``utils/``, ``datasets/``, ``graders/``),
nbgrader's folders for each step of an assignment's life and the course's own outputs::

    solutions/<A>/<A>.ipynb                 the single source (nbgrader's source folder)
    notebooks/<A>/<A>.ipynb                 student versions (nbgrader's release folder)
    submitted/<student>/<A>/<A>.ipynb       what a student handed in
    autograded/<student>/<A>/<A>.ipynb      nbgrader's executed copy
    feedback/<student>/<A>/<A>.html         feedback for the student
    grading/<A>/<student>.json              the grade's full result (``python -m classroom grade``)
    gradebook.db                            nbgrader's gradebook
    graders/fixtures/<topic>.json           inputs and expected outputs of the visible checks

``<A>`` is an assignment name such as ``01_softmax``; its *topic* is ``softmax`` (the name of its
check module ``graders.softmax`` and of its fixture file).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent   # the course folder this copy of graders/ belongs to

SOURCE, RELEASE, SUBMITTED, AUTOGRADED, FEEDBACK = "solutions", "notebooks", "submitted", "autograded", "feedback"
STEPS = (SOURCE, RELEASE, SUBMITTED, AUTOGRADED, FEEDBACK)
RESULTS = "grading"


def topic_name(assignment: str) -> str:
    """``01_softmax`` -> ``softmax`` (the check module's and the fixture's name)."""
    return assignment.split("_", 1)[1] if "_" in assignment and assignment.split("_", 1)[0].isdigit() else assignment


@dataclass(frozen=True)
class Course:
    """A course folder. ``Course.checkout()`` is the folder of this copy of the code;
    ``Course.current()`` the one instructor commands act on."""
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def checkout(cls) -> "Course":
        return cls(CHECKOUT)

    @classmethod
    def current(cls) -> "Course":
        """The current folder if it is a course (holds ``nbgrader_config.py``), else this checkout."""
        cwd = Path.cwd()
        return cls(cwd if (cwd / "nbgrader_config.py").is_file() else CHECKOUT)

    # ------------------------------------------------------------------ nbgrader's steps
    def format_path(self, step: str, student: str | None, assignment: str, ext: str = ".ipynb") -> Path:
        """The notebook (or, with ``ext``, another file) of ``assignment`` at ``step``; ``student`` for
        the per-student steps (submitted, autograded, feedback), ``None`` for source and release."""
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}; one of {', '.join(STEPS)}")
        per_student = step in (SUBMITTED, AUTOGRADED, FEEDBACK)
        if per_student != (student is not None):
            raise ValueError(f"step {step!r} {'needs' if per_student else 'takes no'} student")
        folder = self.root / step / student / assignment if per_student else self.root / step / assignment
        return folder / f"{assignment}{ext}"

    def source(self, assignment: str) -> Path:
        return self.format_path(SOURCE, None, assignment)

    def release(self, assignment: str) -> Path:
        return self.format_path(RELEASE, None, assignment)

    def submitted(self, student: str, assignment: str) -> Path:
        return self.format_path(SUBMITTED, student, assignment)

    def autograded(self, student: str, assignment: str) -> Path:
        return self.format_path(AUTOGRADED, student, assignment)

    def feedback(self, student: str, assignment: str) -> Path:
        return self.format_path(FEEDBACK, student, assignment, ext=".html")

    def step_dir(self, step: str) -> Path:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}; one of {', '.join(STEPS)}")
        return self.root / step

    # ------------------------------------------------------------------ the course's own files
    def result(self, assignment: str, student: str) -> Path:
        """The grading result of one submission (JSON, see ``classroom.results``)."""
        return self.root / RESULTS / assignment / f"{student}.json"

    def results_dir(self, assignment: str | None = None) -> Path:
        return self.root / RESULTS if assignment is None else self.root / RESULTS / assignment

    def fixture(self, topic: str) -> Path:
        return self.root / "graders" / "fixtures" / f"{topic_name(topic)}.json"

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def config(self) -> Path:
        return self.root / "nbgrader_config.py"

    # ------------------------------------------------------------------ what is there
    def assignments(self, step: str = SOURCE) -> list[str]:
        """Assignment names (``01_softmax``, ...) present at ``step`` (source by default; a student
        release has only the release folder), in course order."""
        folder = self.root / step
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").is_file())

    def students(self, step: str = SUBMITTED) -> list[str]:
        folder = self.root / step
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def find_assignment(self, topic: str, step: str = SOURCE) -> str:
        """``"softmax"`` or ``"01_softmax"`` -> ``"01_softmax"``."""
        for a in self.assignments(step) or self.assignments(RELEASE):
            if topic in (a, topic_name(a)):
                return a
        raise KeyError(f"no notebook for topic {topic!r} under {self.root / step}")
