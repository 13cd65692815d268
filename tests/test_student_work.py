"""Nothing a student makes is lost: every README command a student or an instructor may run, run over a
student's edited work, leaves the student's workspace as it was, and whatever a command replaces in
the release folder (a student who worked there after all) is kept under backups/ and named in its
output. The course is a copy of this checkout (one notebook, 01_softmax), so that `authoring build`
acts on the copy."""
import json
import shutil

import pytest

from coursework import ROOT, course_cli, perfect_submission

A = "01_softmax"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _copy_course(target):
    keep = ["tnn_course.py", "nbgrader_config.py", "requirements.txt", "README.md", "utils", "graders",
            "datasets", "authoring", "classroom"]
    target.mkdir(parents=True)
    for name in keep:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, target / name)
    for step in ("solutions", "notebooks"):
        shutil.copytree(ROOT / step / A, target / step / A)
    for fixture in (target / "graders" / "fixtures").glob("*.json"):   # one topic: its fixture only
        if fixture.name != "softmax.json":
            fixture.unlink()
    return target


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
            and ".ipynb_checkpoints" not in p.parts}


def _edit(path, text):
    """A student's edit: the answer cell of softmax filled in, and an output as JupyterLab saves it."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "softmax":
            cell["source"] = f"# {text}\ndef softmax(scores):\n    return scores\n"
            cell["execution_count"] = 3
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _ran(command, course):
    assert command in README, f"not a README command: {command}"
    package, *args = command.split()[2:]
    return course_cli(args, course, package=package)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return _copy_course(tmp_path_factory.mktemp("student") / "course")


def test_every_command_keeps_a_students_work(course):
    # the student makes a workspace, works in it, adds files of their own
    out = _ran("python -m graders workspace", course)
    assert f"{A}: copied into workspace/{A}/" in out.stdout
    mine = course / "workspace" / A / f"{A}.ipynb"
    _edit(mine, "my own softmax, half done")
    (course / "workspace" / A / "scratch.ipynb").write_text('{"cells": []}')
    (course / "workspace" / "notes.md").write_text("questions for the tutorial")
    before = _files(course / "workspace")

    # ... and also, by mistake, in the release folder (as the README used to say)
    release = course / "notebooks" / A / f"{A}.ipynb"
    _edit(release, "worked in notebooks/ by mistake")
    (course / "notebooks" / A / "extra.ipynb").write_text('{"cells": ["mine"]}')
    wrong_place = {"notebooks/01_softmax/01_softmax.ipynb": release.read_bytes(),
                   "notebooks/01_softmax/extra.ipynb": (course / "notebooks" / A / "extra.ipynb").read_bytes()}

    # a student's commands
    assert "yours kept in workspace/01_softmax/" in _ran("python -m graders workspace", course).stdout
    assert _ran("python -m graders progress", course).returncode == 0

    # a maintainer's: regenerating the release keeps what it replaces, and says where
    out = _ran("python -m authoring build 01_softmax", course)
    backups = sorted((course / "backups").iterdir())
    assert len(backups) == 1 and str(backups[0]) in out.stdout
    assert {k: (backups[0] / k).read_bytes() for k in wrong_place} == wrong_place
    assert not (course / "notebooks" / A / "extra.ipynb").exists()
    _ran("python -m authoring build --check", course)      # the sync test passes: notebooks/ is the release

    # an instructor's (the student edits the release folder once more before it is released again)
    _edit(release, "again in notebooks/")
    again = release.read_bytes()
    out = _ran("python -m classroom release", course)
    assert len(list((course / "backups").iterdir())) == 2
    assert any((b / "notebooks" / A / f"{A}.ipynb").read_bytes() == again for b in (course / "backups").iterdir())
    assert "kept 1 changed or added file(s)" in out.stdout
    _ran("python -m authoring bundle dist/student", course)
    incoming = course / "incoming" / "alice" / A / f"{A}.ipynb"
    incoming.parent.mkdir(parents=True)
    incoming.write_text(json.dumps(perfect_submission(A, course / "notebooks" / A / f"{A}.ipynb")))
    for command in ["python -m classroom import incoming/", f"python -m classroom grade {A} --jobs 2",
                    f"python -m classroom feedback {A}", "python -m classroom export grades.csv",
                    "python -m classroom report report/"]:
        _ran(command, course)
    _ran("python -m classroom import incoming/", course)     # the same files again: nothing replaced

    # every file of the workspace is as the student left it (`graders workspace` only ever adds files)
    after = _files(course / "workspace")
    assert {k: after.get(k) for k in before} == before
    assert (course / "feedback" / "alice" / A / f"{A}.html").is_file()
