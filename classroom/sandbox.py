"""Run student code where it cannot read solutions, hidden checks or the gradebook, cannot write
outside its own working folder, and has no network: bubblewrap (``bwrap``, Debian's ``bubblewrap``).

The sandbox's filesystem is built from scratch: the system's and Python's folders read-only, the
course's ``utils/``, ``datasets/``, ``graders/`` (the student-facing check library, which holds no
hidden case) and ``tnn_course.py`` read-only, of ``classroom/`` only the re-check worker's files
(:data:`WORKER_FILES`), a private ``/tmp``, and one writable working folder. Nothing else of the course
exists inside: no ``solutions/``, no ``classroom/hidden/``, no ``gradebook.db``, no other student's files.
Network, IPC, UTS, PID (so no process outlives the sandbox) and, where allowed, user namespaces are
unshared.

Where ``bwrap`` is missing or cannot create namespaces, :func:`detect` says so plainly and grading
goes on unconfined, with that fact recorded in every result it produces.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]
STUDENT_CODE = ("utils", "datasets", "graders", "tnn_course.py")      # bound whole, read-only
WORKER_FILES = ("__init__.py", "worker.py", "wire.py")                # of classroom/, read-only


def _python_dirs() -> list[str]:
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    dirs.update(p for p in site.getsitepackages() if os.path.isdir(p))
    user = site.getusersitepackages()
    if isinstance(user, str) and os.path.isdir(user):
        dirs.add(user)
    # never bind the course itself through a Python path (a venv inside the course is fine)
    return sorted(d for d in dirs if not (Path(d) / "solutions").exists())


@dataclass
class Sandbox:
    """A bubblewrap command line for one kind of job; ``wrap`` adds the per-job working folder."""
    course_root: Path
    classroom_dir: Path                    # the classroom package (only WORKER_FILES are bound)
    extra_ro: list[tuple[str, str]] = field(default_factory=list)
    extra_rw: list[str] = field(default_factory=list)
    bwrap: str = "bwrap"
    mpl_cache: Path | None = None           # matplotlib's font cache, built once (see font_cache)

    def wrap(self, cmd: list[str], workdir: Path, rw: list[str] | None = None) -> list[str]:
        args = [self.bwrap, "--die-with-parent", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-pid",
                "--unshare-cgroup-try", "--unshare-user-try", "--dev", "/dev", "--proc", "/proc",
                "--tmpfs", "/tmp", "--setenv", "HOME", "/tmp",
                # a kernel watches its parent's pid, which does not exist in the new PID namespace:
                # --die-with-parent ties it to its parent instead
                "--unsetenv", "JPY_PARENT_PID",
                # matplotlib's config folder: a writable /tmp/mpl holding the read-only font cache if any
                "--setenv", "MPLCONFIGDIR", "/tmp" if self.mpl_cache is None else "/tmp/mpl"]
        for d in SYSTEM_DIRS + _python_dirs():
            if os.path.exists(d):
                args += ["--ro-bind", d, d]
        root = str(self.course_root)
        for name in STUDENT_CODE:
            args += ["--ro-bind", str((self.course_root / name).resolve()), f"{root}/{name}"]
        for name in WORKER_FILES:
            args += ["--ro-bind", str((self.classroom_dir / name).resolve()), f"{root}/classroom/{name}"]
        for src, dst in self.extra_ro:
            args += ["--ro-bind", src, dst]
        if self.mpl_cache is not None:
            for f in sorted(self.mpl_cache.glob("*.json")):
                args += ["--ro-bind", str(f), f"/tmp/mpl/{f.name}"]
        for d in [str(workdir), *self.extra_rw, *(rw or [])]:
            args += ["--bind", d, d]
        args += ["--remount-ro", "/", "--chdir", str(workdir), "--"]  # the scratch root itself: read-only
        return args + cmd


def detect() -> tuple[bool, str]:
    """Whether bubblewrap works here, and a sentence saying so."""
    path = shutil.which("bwrap")
    if not path:
        return False, ("no sandbox available: bubblewrap (bwrap) is not installed, so student code runs "
                       "unconfined (apt-get install bubblewrap)")
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "--dev", "/dev", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return False, ("no sandbox available: bubblewrap cannot create namespaces here "
                       f"({probe.stderr.strip()[:200]}), so student code runs unconfined")
    return True, "student code runs in a bubblewrap sandbox (no network, no access to solutions or the gradebook)"


def make(course_root: Path, classroom_dir: Path, mpl_cache: Path | None = None) -> Sandbox | None:
    ok, _ = detect()
    return Sandbox(Path(course_root), Path(classroom_dir), bwrap=shutil.which("bwrap"),
                   mpl_cache=mpl_cache) if ok else None


def font_cache(folder: Path) -> Path | None:
    """Build matplotlib's font cache in ``folder``, once per grading run. Every sandbox starts with an
    empty ``/tmp``, so without it each kernel would rescan the system's fonts on its first plot."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MPLCONFIGDIR": str(folder), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                          capture_output=True, timeout=300)
    return folder if done.returncode == 0 and any(folder.glob("*.json")) else None
