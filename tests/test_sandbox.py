"""The grading sandbox holds what classroom/sandbox.py says, tested with a plain Python process in it:
a clean environment, capped /tmp and working folder that the grader never sees, the course covered
even inside a bound folder, a process cap, no network."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from coursework import ROOT

sandbox = pytest.importorskip("classroom.sandbox")
OK, WHY = sandbox.detect()
pytestmark = pytest.mark.skipif(not OK and not os.environ.get("CI"), reason=WHY)


def run_inside(box, workdir: Path, code: str, timeout: float = 60, env: dict | None = None):
    argv = box.wrap([sys.executable, "-c", textwrap.dedent(code)], workdir=workdir)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def box(tmp_path):
    assert OK, WHY
    course = tmp_path / "course"
    course.mkdir()
    for name in ("utils", "datasets", "graders", "tnn_course.py", "solutions"):
        (course / name).symlink_to(ROOT / name)
    (course / "gradebook.db").write_text("secret grades")
    workdir = tmp_path / "job" / "autograded" / "s" / "01_softmax"
    workdir.mkdir(parents=True)
    return sandbox.Sandbox(course, ROOT / "classroom", bwrap="bwrap"), workdir


def test_environment_is_clean(box, monkeypatch):
    b, workdir = box
    monkeypatch.setenv("TNN_TEST_SECRET", "hunter2-token")
    done = run_inside(b, workdir, "import os; print(sorted(os.environ.items()))")
    assert done.returncode == 0, done.stderr
    assert "hunter2-token" not in done.stdout and "NBGRADER_EXECUTION', 'autograde'" in done.stdout
    assert "TNN_COURSE_ROOT" in done.stdout


def test_only_the_students_code_is_visible(box):
    b, workdir = box
    done = run_inside(b, workdir, f"""
        import os
        root = {str(b.course_root)!r}
        print(sorted(os.listdir(root)), sorted(os.listdir(root + "/classroom")))
        """)
    assert done.returncode == 0, done.stderr
    assert "solutions" not in done.stdout and "gradebook.db" not in done.stdout and "hidden" not in done.stdout
    assert "'graders'" in done.stdout and "'worker.py'" in done.stdout


def test_course_inside_a_bound_folder_is_covered(box, tmp_path, monkeypatch):
    """A course under a folder the sandbox binds (as under a Python prefix) is still hidden."""
    b, workdir = box
    parent = tmp_path / "prefix"
    inner = parent / "share" / "course"
    inner.mkdir(parents=True)
    for name in ("utils", "datasets", "graders", "tnn_course.py", "solutions"):
        (inner / name).symlink_to(ROOT / name)
    (inner / "private.txt").write_text("answers")
    dirs = sandbox._python_dirs()
    monkeypatch.setattr(sandbox, "_python_dirs", lambda: dirs + [str(parent)])
    inside = sandbox.Sandbox(inner, ROOT / "classroom", bwrap="bwrap")
    done = run_inside(inside, workdir, f"""
        import os
        print(sorted(os.listdir({str(inner)!r})))
        print(os.path.exists({str(inner / 'private.txt')!r}), os.path.exists({str(parent / 'share')!r}))
        """)
    assert done.returncode == 0, done.stderr
    assert "solutions" not in done.stdout and "private.txt" not in done.stdout.splitlines()[0]
    assert done.stdout.splitlines()[1] == "False True"


def test_storage_is_capped_and_never_reaches_the_grader(box):
    b, workdir = box
    done = run_inside(b, workdir, """
        import os
        for where in ("/tmp/big", "big"):
            try:
                with open(where, "wb") as f:
                    for _ in range(400):
                        f.write(b"x" * 2 ** 20)
                print(where, "wrote 400 MiB")
            except OSError as err:
                print(where, "stopped:", err.strerror)
        os.symlink("/etc/passwd", "01_softmax.ipynb")
        """, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "/tmp/big stopped" in done.stdout and "big stopped" in done.stdout.splitlines()[1]
    assert list(workdir.iterdir()) == []        # the grader's folder never saw the files or the link


def test_processes_are_capped(box):
    b, workdir = box
    group, _, sentence = sandbox.process_cap("tnn-test-cap", limit=40)
    if group is None:
        pytest.skip(sentence)
    connection = workdir.parent / "kernel.json"
    connection.write_text("{}")
    try:
        launcher = [a.replace("{connection_file}", str(connection)) for a in sandbox.launcher(group)]
        argv = launcher + b.wrap([sys.executable, "-c", textwrap.dedent("""
            import os, time
            started = 0
            for _ in range(200):
                try:
                    if os.fork() == 0:
                        time.sleep(3)
                        os._exit(0)
                    started += 1
                except OSError:
                    break
            print("started", started)
            """)], workdir=workdir)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        started = int(done.stdout.split()[-1])
        assert started < 40, done.stdout
    finally:
        sandbox.remove_cgroup(group)
    assert not group.exists()


def test_no_network(box):
    b, workdir = box
    done = run_inside(b, workdir, """
        import socket
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", 22))
            print("connected")
        except OSError as err:
            print("refused:", type(err).__name__)
        """)
    assert done.returncode == 0 and "refused" in done.stdout, done.stdout + done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the grader is not root: student code runs as the grader's own user")
def test_a_root_grader_runs_student_code_unprivileged(box):
    """Under a root grader the kernel runs as nobody: root-only files in the bound system folders
    (/etc/shadow) stay unreadable, and bwrap's own environment (PID 1) holds nothing."""
    b, workdir = box
    done = run_inside(b, workdir, """
        import os
        print(os.getuid(), os.getgid())
        for path in ("/etc/shadow", "/proc/1/environ"):
            try:
                print(path, len(open(path, "rb").read()))
            except OSError as err:
                print(path, "refused", err.errno)
        """)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{sandbox.STUDENT_UID} {sandbox.STUDENT_UID}"
    assert "refused" in lines[1] and ("refused" in lines[2] or lines[2].endswith(" 20")), done.stdout
