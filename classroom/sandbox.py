"""Run student code where it cannot read solutions, hidden checks or the gradebook, cannot write
outside its own (throw-away) working folder, and has no network: bubblewrap (``bwrap``, Debian's
``bubblewrap``), plus the kernel's limits.

What holds, and by which mechanism (:class:`Sandbox`):

- filesystem (bubblewrap): built from scratch; the system's and Python's folders read-only; the course
  folder covered by an empty tmpfs wherever it lives (also inside a bound system or Python folder),
  with only ``utils/`` (the library without the graded notebook's answers), ``datasets/``,
  ``graders/`` (the student-facing checks, no hidden case) and ``tnn_course.py`` bound on it, and of
  ``classroom/`` only the re-check worker's files (:data:`WORKER_FILES`). No ``solutions/``, no
  ``classroom/hidden/``, no ``gradebook.db``, no other student's files;
- storage (bubblewrap ``--size``): ``/tmp`` and the working folder are tmpfs of :data:`TMP_BYTES` and
  :data:`WORK_BYTES`; the grader never reads the working folder, so a link made there leads nowhere;
- environment: cleared; only :data:`ENV_KEEP` (and BLAS settings) reach the kernel;
- namespaces: network, IPC, UTS, PID (no process outlives the sandbox) and, where allowed, user;
- processes (:func:`process_cap`): a pids cgroup of :data:`MAX_PROCESSES` tasks where this machine
  lets the grader create one (cgroup v1 ``pids`` or a delegated v2 tree), else ``prlimit --nproc`` for
  an unprivileged grader, else none, and the result's flags say so;
- memory: ``prlimit --as`` (address space) on the kernel, set by ``classroom.grading``.

Where ``bwrap`` is missing or cannot create namespaces, :func:`detect` says so plainly and grading
goes on unconfined, with that fact recorded in every result it produces.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import site
import subprocess
import sys
import time
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
    return sorted(os.path.realpath(d) for d in dirs if os.path.isdir(d))


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([os.path.realpath(path), os.path.realpath(folder)]) == os.path.realpath(folder)


# Environment variables the kernel keeps (the rest of the grader's environment, tokens included, never
# reaches student code): what nbgrader and the course need to run a notebook, and BLAS settings.
ENV_KEEP = ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "TNN_FAST", "LANG", "LC_ALL")
ENV_KEEP_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_")
TMP_BYTES = 256 * 1024 ** 2        # the sandbox's /tmp (a tmpfs, so in memory: capped)
WORK_BYTES = 256 * 1024 ** 2       # its working folder (a tmpfs too, never read by the grader)
SHM_BYTES = 64 * 1024 ** 2         # its /dev/shm
MAX_PROCESSES = 96                 # tasks (processes and threads) of one kernel, through a pids cgroup
STUDENT_UID = 65534                # a grader running as root runs the kernel as nobody (setpriv)


def unprivileged() -> list[str]:
    """The command prefix that runs the kernel as an unprivileged user when the grader is root (so that
    root-only files in the bound system folders stay unreadable: user namespaces alone map the kernel
    back to root); empty when the grader is not root."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return []
    return [shutil.which("setpriv"), f"--reuid={STUDENT_UID}", f"--regid={STUDENT_UID}", "--clear-groups", "--"]


def launcher(group: Path | None) -> list[str]:
    """The kernel command's first part, run by the grader's user: move into the job's pids cgroup (if
    any), let the student's user read the connection file (if the grader is root; it stays the
    grader's, so the kernel cannot write into it), then become the rest of the command.
    ``{connection_file}`` is filled in by jupyter_client."""
    script = ('cg="$1"; cf="$2"; shift 2; '
              'if [ -n "$cg" ]; then echo $$ > "$cg/cgroup.procs" || exit 1; fi; '
              'if [ "$(id -u)" = 0 ]; then chmod 0644 "$cf" || exit 1; fi; '
              'exec "$@"')
    return ["/bin/sh", "-c", script, "tnn-launcher", str(group or ""), "{connection_file}"]


def share_with_student(base: Path, readable: list[Path], runtime: Path | None = None) -> None:
    """Permissions for a kernel that runs as :data:`STUDENT_UID` (a root grader): it can pass through
    ``base`` (a job's private folder), read ``readable`` (the library copy, the font cache) and create its
    sockets in ``runtime`` (owned by the grader, so :func:`lock_runtime` can close it after start-up);
    nothing else of the job."""
    if os.geteuid() != 0:
        return
    os.chmod(base, 0o711)
    if runtime is not None:
        os.chmod(runtime, 0o777)          # until the kernel has made its sockets
    for folder in readable:
        for path in [folder, *folder.rglob("*")]:
            with contextlib.suppress(OSError):
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
        parent = folder.parent
        while parent != base and base in parent.parents:
            os.chmod(parent, 0o711)
            parent = parent.parent


def lock_runtime(runtime: Path) -> None:
    """Once the kernel is up: it may create nothing more in the runtime folder (which is the grader's
    disk, not a capped tmpfs). Holds where the kernel runs as another user than the grader."""
    if os.geteuid() == 0:
        os.chmod(runtime, 0o755)


@dataclass
class Sandbox:
    """A bubblewrap command line for one kind of job; ``wrap`` adds the per-job folders.

    Inside: the system's and Python's folders read-only; over the course folder (wherever it lives,
    also inside a bound folder) an empty tmpfs, on which only the student's code is bound read-only
    (``utils/`` as ``utils_dir``: the library without the graded notebook's answers, see
    ``classroom.library``); of ``classroom/`` only :data:`WORKER_FILES`; a private, capped ``/tmp``;
    the working folder as a capped tmpfs of its own (what the kernel writes there never reaches the
    grader's disk, so nothing outside can follow a link the student made); and one runtime folder
    (the kernel's sockets) read-write. A clean environment (:data:`ENV_KEEP`)."""
    course_root: Path
    classroom_dir: Path                    # the classroom package (only WORKER_FILES are bound)
    extra_ro: list[tuple[str, str]] = field(default_factory=list)
    bwrap: str = "bwrap"
    mpl_cache: Path | None = None           # matplotlib's font cache, built once (see font_cache)
    utils_dir: Path | None = None           # the library to show (default: the course's utils/)
    graders_dir: Path | None = None         # the check library to show (default: the course's graders/)

    def environment(self) -> list[str]:
        python_bin = os.path.dirname(sys.executable)
        env = {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "MPLBACKEND": "Agg",
               "MPLCONFIGDIR": "/tmp" if self.mpl_cache is None else "/tmp/mpl",
               "TNN_COURSE_ROOT": str(self.course_root), "PYTHONDONTWRITEBYTECODE": "1",
               # the kernel command is fixed before nbgrader sets this for its run: the sandbox is for autograde
               "NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION", "autograde")}
        for key, value in os.environ.items():
            if key in ENV_KEEP or key.startswith(ENV_KEEP_PREFIXES):
                env.setdefault(key, value)
        args = ["--clearenv"]
        for key, value in sorted(env.items()):
            args += ["--setenv", key, value]
        return args

    def wrap(self, cmd: list[str], workdir: Path, rw: list[str] | None = None) -> list[str]:
        """The bubblewrap command that runs ``cmd`` in the sandbox, in ``workdir`` (a capped tmpfs), with
        the folders ``rw`` (the kernel's runtime folder) bound read-write. A root grader runs ``cmd``
        as :data:`STUDENT_UID` (see :func:`unprivileged`): the sandbox is built as root, without a user
        namespace (which would map the student back to root), and the drop happens inside it."""
        root = str(self.course_root)
        root_grader = os.geteuid() == 0
        mounts = Mounts()
        # bwrap itself starts with an empty environment (it is PID 1 inside: /proc/1/environ is readable)
        args = ["env", "-i", "PATH=/usr/bin:/bin",
                self.bwrap, "--die-with-parent", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-pid",
                "--unshare-cgroup-try", *([] if root_grader else ["--unshare-user-try"]),
                "--dev", "/dev", "--proc", "/proc",
                *mounts.tmpfs("/dev/shm", SHM_BYTES, 0o1777), *mounts.tmpfs("/tmp", TMP_BYTES, 0o1777),
                *self.environment()]
        # (a kernel watches its parent's pid, which does not exist in the new PID namespace: the clean
        # environment has no JPY_PARENT_PID, and --die-with-parent ties it to its parent instead)
        python_dirs = _python_dirs()
        for d in SYSTEM_DIRS + python_dirs:
            if os.path.exists(d):
                args += mounts.bind(d, d)
        # the course folder may sit inside a bound folder: cover it, then show only the student's code
        args += mounts.tmpfs(root, 1024 ** 2, 0o755)
        for d in python_dirs:   # a virtual environment inside the course stays usable
            if _inside(d, root) and not _inside(root, d):
                args += mounts.bind(d, d)
        for name in STUDENT_CODE:
            src = {"utils": self.utils_dir, "graders": self.graders_dir}.get(name) or self.course_root / name
            args += mounts.bind(str(Path(src).resolve()), f"{root}/{name}")
        for name in WORKER_FILES:
            args += mounts.bind(str((self.classroom_dir / name).resolve()), f"{root}/classroom/{name}")
        for src, dst in self.extra_ro:
            args += mounts.bind(src, dst)
        if self.mpl_cache is not None:
            for f in sorted(self.mpl_cache.glob("*.json")):
                args += mounts.bind(str(f), f"/tmp/mpl/{f.name}")
        args += mounts.tmpfs(str(workdir), WORK_BYTES, 0o1777)
        for d in rw or []:
            args += mounts.bind(d, d, writable=True)
        # the scratch root and the cover over the course: read-only
        args += ["--remount-ro", root, "--remount-ro", "/", "--chdir", str(workdir), "--"]
        return args + (unprivileged() if root_grader else []) + cmd


class Mounts:
    """bwrap mount arguments, with every folder on the way to a mount point made first as 0755 (bwrap
    makes missing ones 0700, which a kernel running as another user could not pass through)."""

    def __init__(self):
        self.bound: list[str] = []          # host folders bound: what lies below them exists already
        self.made: set[str] = set()

    def _parents(self, dest: str) -> list[str]:
        out = []
        for parent in reversed(Path(dest).parents):
            p = str(parent)
            if p == "/" or p in self.made or any(p == b or _inside(p, b) for b in self.bound):
                continue
            out += ["--perms", "0755", "--dir", p]
            self.made.add(p)
        return out

    def bind(self, src: str, dest: str, writable: bool = False) -> list[str]:
        out = self._parents(dest) + ["--bind" if writable else "--ro-bind", src, dest]
        if os.path.isdir(src):
            self.bound.append(dest)
        return out

    def tmpfs(self, dest: str, size: int, mode: int) -> list[str]:
        out = self._parents(dest) + ["--perms", f"{mode:04o}", "--size", str(size), "--tmpfs", dest]
        # an empty folder: forget what was made below it, and what was bound there is covered
        self.made = {m for m in self.made if not _inside(m, dest)}
        self.bound = [b for b in self.bound if not _inside(b, dest)]
        self.made.add(dest)
        return out


# ------------------------------------------------------------------------------------------ process cap
def cgroup_root() -> Path | None:
    """A pids cgroup hierarchy this process may create groups in (cgroup v1 ``pids`` or the v2 unified
    one with the pids controller), or None."""
    candidates = [Path("/sys/fs/cgroup/pids")]
    unified = Path("/sys/fs/cgroup")
    if (unified / "cgroup.controllers").is_file() and "pids" in (unified / "cgroup.controllers").read_text():
        own = Path("/proc/self/cgroup").read_text().splitlines()
        path = next((l.split(":", 2)[2] for l in own if l.startswith("0::")), "/")
        candidates.insert(0, unified / path.lstrip("/"))
    for c in candidates:
        if (c / "cgroup.procs").is_file() and os.access(c, os.W_OK):
            return c
    return None


def process_cap(name: str, limit: int = MAX_PROCESSES) -> tuple[Path | None, list[str], str]:
    """A fresh pids cgroup ``name`` capped at ``limit`` tasks, the command prefix that moves a process
    into it, and a sentence saying what holds. Without cgroups, the prefix is empty and the sentence
    says so (``prlimit --nproc`` binds only unprivileged users)."""
    root = cgroup_root()
    if root is not None:
        group = root / name
        try:
            group.mkdir()
            (group / "pids.max").write_text(str(limit))
            # the launcher (see launcher()) moves the kernel's first process into the group
            return group, [], f"at most {limit} processes and threads (pids cgroup)"
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    if os.geteuid() != 0:
        return None, ["prlimit", f"--nproc={limit}", "--"], f"at most {limit} processes of this user (RLIMIT_NPROC)"
    return None, [], "no process cap: no writable pids cgroup here (and RLIMIT_NPROC does not bind root)"


def process_cap_sentence() -> str:
    """What :func:`process_cap` can do on this machine, in a sentence (without creating anything)."""
    if cgroup_root() is not None:
        return f"at most {MAX_PROCESSES} processes and threads per kernel (pids cgroup)"
    if os.geteuid() != 0:
        return f"at most {MAX_PROCESSES} processes of this user (RLIMIT_NPROC)"
    return "no process cap: no writable pids cgroup here (and RLIMIT_NPROC does not bind root)"


def remove_cgroup(group: Path | None) -> None:
    """Remove a job's cgroup once its processes are gone (killing any left)."""
    if group is None:
        return
    for _ in range(50):
        with contextlib.suppress(OSError):
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    os.kill(int(pid), 9)
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.05)


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
