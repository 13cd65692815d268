"""Where everything of a course lives: one object builds every path (as nbgrader's
``CourseDirectory.format_path`` does for its own steps).

A course folder holds the course's code (``tnn_course.py``, ``utils/``, ``datasets/``, ``graders/``),
nbgrader's folders for each step of an assignment's life and the course's own outputs::

    solutions/<A>/<A>.ipynb                 the single source (nbgrader's source folder)
    notebooks/<A>/<A>.ipynb                 student versions (nbgrader's release folder; regenerated)
    workspace/<A>/<A>.ipynb                 where a student works: copies of the release, never
                                            regenerated (``python -m graders workspace``; ignored by git)
    backups/<time>/...                      what a command would have overwritten or deleted, kept
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

import filecmp
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent   # the course folder this copy of graders/ belongs to

SOURCE, RELEASE, SUBMITTED, AUTOGRADED, FEEDBACK = "solutions", "notebooks", "submitted", "autograded", "feedback"
STEPS = (SOURCE, RELEASE, SUBMITTED, AUTOGRADED, FEEDBACK)
RESULTS = "grading"
WORKSPACE, BACKUPS = "workspace", "backups"
JUPYTER_CACHES = ("__pycache__", ".ipynb_checkpoints")


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
        """The current folder if it is a course (holds ``nbgrader_config.py``, or ``tnn_course.py`` as a
        student release does), else this checkout."""
        cwd = Path.cwd()
        is_course = (cwd / "nbgrader_config.py").is_file() or (cwd / "tnn_course.py").is_file()
        return cls(cwd if is_course else CHECKOUT)

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

    # ------------------------------------------------------------------ the student's own files
    def workspace(self, assignment: str) -> Path:
        """The student's working copy of ``assignment`` (``workspace/<A>/<A>.ipynb``)."""
        return self.root / WORKSPACE / assignment / f"{assignment}.ipynb"

    def student_notebooks(self) -> Path:
        """The folder a student's notebooks are in: ``workspace/`` once it exists, else the release."""
        folder = self.root / WORKSPACE
        return folder if folder.is_dir() else self.root / RELEASE

    def keep(self, files: dict[Path, bytes], why: str) -> Path | None:
        """Save ``files`` (path in the course -> content) under ``backups/<date-time>/<same path>``
        before a command replaces or deletes them; returns the backup folder (None if nothing to keep).
        An existing backup is never overwritten: a second backup in the same second gets a suffix."""
        if not files:
            return None
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S")
        folder, n = self.root / BACKUPS / stamp, 1
        while folder.exists():
            n += 1
            folder = self.root / BACKUPS / f"{stamp}-{n}"
        for path, data in files.items():
            rel = Path(path).resolve().relative_to(self.root.resolve()) if Path(path).is_absolute() else Path(path)
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (folder / "WHY.txt").write_text(why.rstrip() + "\n", encoding="utf-8")
        return folder

    def committed(self, path: Path) -> bytes | None:
        """The content of ``path`` at git's HEAD when the course is a git checkout (else None)."""
        if not (self.root / ".git").exists():
            return None
        try:
            rel = Path(path).resolve().relative_to(self.root.resolve()).as_posix()
            out = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=self.root, capture_output=True, timeout=30)
        except (OSError, ValueError, subprocess.SubprocessError):
            return None
        return out.stdout if out.returncode == 0 else None

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


def snapshot(folder: Path) -> dict[Path, bytes]:
    """Every file under ``folder`` (Jupyter's caches left out) with its content."""
    if not folder.is_dir():
        return {}
    return {p: p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part in JUPYTER_CACHES for part in p.relative_to(folder).parts)}


def keep_changed(course: Course, before: dict[Path, bytes], why: str) -> tuple[Path | None, list[Path]]:
    """After a command rewrote some folders: keep every file of ``before`` (a :func:`snapshot`) that
    is now gone or different, unless it was exactly what git holds (a generated file nobody edited).
    Returns the backup folder and the files kept."""
    lost = {}
    for path, data in before.items():
        now = path.read_bytes() if path.is_file() else None
        if now != data and course.committed(path) != data:
            lost[path] = data
    return course.keep(lost, why), sorted(lost)


def _settle_metadata(path: Path) -> None:
    """Give a student's fresh copy this machine's kernel ``language_info``, so that JupyterLab does not
    mark it modified the moment it opens (see ``graders.notebook_meta``)."""
    import json
    from .notebook_meta import for_this_machine
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    path.write_text(json.dumps(for_this_machine(nb), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _same_notebook(a: Path, b: Path) -> bool:
    """The same notebook but for the kernel's ``language_info`` (which the workspace copy gets)."""
    import json
    try:
        x, y = (json.loads(p.read_text(encoding="utf-8")) for p in (a, b))
    except (OSError, ValueError):
        return filecmp.cmp(a, b, shallow=False)
    for nb in (x, y):
        nb.get("metadata", {}).pop("language_info", None)
    return x == y


def make_workspace(course: Course | None = None, assignments: list[str] | None = None) -> list[str]:
    """Copy every released notebook folder (``notebooks/<A>/``) that the student does not have yet
    into ``workspace/<A>/``. Nothing in ``workspace/`` is ever replaced or deleted: a notebook the
    student has is kept as it is, even when the release has changed since. Returns one line per
    assignment saying what was done."""
    course = course or Course.current()
    lines = []
    for a in assignments or course.assignments(RELEASE):
        release, mine = course.release(a).parent, course.workspace(a).parent
        if not mine.exists():
            shutil.copytree(release, mine, ignore=shutil.ignore_patterns(*JUPYTER_CACHES))
            for nb in mine.rglob("*.ipynb"):
                _settle_metadata(nb)
            lines.append(f"{a}: copied into {mine.relative_to(course.root)}/")
            continue
        added = []
        for src in sorted(release.rglob("*")):
            rel = src.relative_to(release)
            if src.is_file() and not any(p in JUPYTER_CACHES for p in rel.parts) and not (mine / rel).exists():
                (mine / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, mine / rel)
                if src.suffix == ".ipynb":
                    _settle_metadata(mine / rel)
                added.append(rel.as_posix())
        changed = course.workspace(a).is_file() and not _same_notebook(course.workspace(a), course.release(a))
        lines.append(f"{a}: yours kept in {mine.relative_to(course.root)}/"
                     + (f" (added {', '.join(added)})" if added else "")
                     + (f"; the released version is {course.release(a).relative_to(course.root)}" if changed else ""))
    return lines
