"""Grade a whole class robustly: ``python -m classroom grade [ASSIGNMENT ...] [--jobs N]``.

For every submitted notebook (``submitted/<student>/<assignment>/<assignment>.ipynb``) one job:

1. **Read and repair.** A missing notebook or one that is not valid JSON fails with that reason. Every
   cell nbgrader owns (set-up, tests, locked cells) is taken from the release, not from the
   submission: edited, deleted or re-labelled test cells, changed points or ids are restored and
   flagged; the student's answers and own cells are kept; outputs are dropped.
2. **In-kernel run.** nbgrader's own autograde (its ``Autograde`` converter and gradebook) executes the
   repaired notebook, in a private course folder of its own (so parallel jobs never share a SQLite
   file or a kernel port: kernels talk over Unix sockets), with the kernel inside the sandbox
   (:mod:`classroom.sandbox`) under a memory limit and nbgrader's per-cell time limit.
3. **Trusted re-check.** After the last cell, while the kernel still holds the student's functions,
   :mod:`classroom.judge` runs the trusted tests (visible and hidden) in this process, where no student
   code ever runs: the kernel serves as the worker (:mod:`classroom.worker`), calling the student's
   functions on the judge's inputs and handing back plain data. Nothing is executed twice.
4. **Verdict.** A test cell's points are awarded only if it passed both in the kernel (an error
   output fails it; text on stderr alone does not) and in the re-check. A cell where the two disagree
   is "needs review" (0 points until an instructor looks; nbgrader's formgrader lists it for manual
   grading). The result, with a status and a reason, goes to ``grading/<assignment>/<student>.json``
   (written atomically), and the scores into nbgrader's gradebook.

Re-running skips submissions whose result is up to date (same submission bytes, same tests), so an
interrupted run resumes where it stopped and a repeated run changes nothing. ``--force`` regrades.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from authoring.nbgrader import generate_notebooks, scripts_on_path
from graders.layout import Course
from graders.reference import strip_hidden_tests

from .files import write_atomic
from .judge import Limits, RecheckTimeout, Worker, WorkerGone, judge_notebook
from .results import Cell, Result, load_results, write_result
from .sandbox import WORKER_FILES

CLASSROOM = Path(__file__).resolve().parent
MAX_OUTPUT_CHARS = 10_000      # per output, and per line: huge outputs are cut everywhere
MAX_LINE_CHARS = 2_000
MAX_CELL_OUTPUT = 2_000_000    # characters of output one cell may produce while it runs (the rest dropped)
JOB_MEMORY_BYTES = 6 * 1024 ** 3   # address space of one job's grading process (nbgrader, the judge)


def nbformat_output(text: str):
    import nbformat

    return nbformat.v4.new_output("stream", name="stdout", text=text)


# ------------------------------------------------------------------------------------------ helpers
def _cells(nb: dict) -> list[dict]:
    return [c for c in nb.get("cells", []) if isinstance(c, dict)]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _nbg(cell: dict) -> dict:
    meta = cell.get("metadata", {})
    nbg = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nbg if isinstance(nbg, dict) else {}


def truncate_text(text: str, limit: int = MAX_OUTPUT_CHARS, line_limit: int = MAX_LINE_CHARS) -> str:
    """Cut every line to ``line_limit`` characters and the whole text to ``limit``."""
    lines = []
    for line in text.splitlines(keepends=True):
        if len(line) > line_limit:
            line = line[:line_limit] + f"... [line cut: {len(line):,} characters]\n"
        lines.append(line)
    text = "".join(lines)
    if len(text) > limit:
        text = text[:limit] + f"\n... [output cut: {len(text):,} characters in all]\n"
    return text


def truncate_outputs(nb: dict) -> None:
    """Cut huge outputs of every cell in place (stream text, text/plain, HTML, tracebacks)."""
    for cell in _cells(nb):
        for out in cell.get("outputs", []) or []:
            if "text" in out:
                out["text"] = truncate_text(_join(out["text"]))
            for key, value in list((out.get("data") or {}).items()):
                if isinstance(value, (str, list)) and not key.startswith("image/"):
                    out["data"][key] = truncate_text(_join(value))
                elif key.startswith("image/") and len(_join(value)) > 2_000_000:
                    out["data"] = {"text/plain": "[image removed: larger than 2 MB]"}
                    break
            if "traceback" in out:
                out["traceback"] = [truncate_text(t, 3000, 2000) for t in out["traceback"][:40]]
            if "evalue" in out:
                out["evalue"] = truncate_text(str(out["evalue"]), 3000, 2000)


def _join(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def repair(submission: dict, release: dict) -> tuple[dict, list[str]]:
    """The submission rebuilt on the release: nbgrader's cells from the release, answers and the
    student's own cells from the submission. Returns the notebook and the list of repairs made."""
    flags: list[str] = []
    answers: dict[str, str] = {}
    own: dict[str | None, list[dict]] = {}
    release_ids = {c.get("id") for c in _cells(release)}
    release_grade_ids = {_nbg(c).get("grade_id") for c in _cells(release) if _nbg(c)}
    by_grade_id = {_nbg(c).get("grade_id"): c for c in _cells(release) if _nbg(c)}
    previous = None  # the release cell a student's own cell follows
    for cell in _cells(submission):
        gid = _nbg(cell).get("grade_id")
        rel = by_grade_id.get(gid)
        if rel is not None and _nbg(rel).get("solution") and cell.get("cell_type") == rel.get("cell_type"):
            answers[gid] = _source(cell)
            previous = rel.get("id")
        elif rel is None and cell.get("id") in release_ids and not _nbg(
                next(c for c in _cells(release) if c.get("id") == cell.get("id"))):
            # a plain cell of the release (text, demo, experiment): the student may change it
            if cell.get("cell_type") == "code":
                answers[f"id:{cell.get('id')}"] = _source(cell)
            previous = cell.get("id")
        elif rel is not None or cell.get("id") in release_ids:
            key = gid or cell.get("id")
            rel = rel or next(c for c in _cells(release) if c.get("id") == cell.get("id"))
            if _nbg(rel) and (_source(cell) != _source(rel) or _nbg(cell) != _nbg(rel)):
                what = "test cell" if _nbg(rel).get("grade") else "read-only cell"
                flags.append(f"{what} {key} was changed: restored from the release")
            previous = rel.get("id")
        elif gid and gid not in release_grade_ids:
            flags.append(f"cell with unknown grade id {gid!r} (a copied or re-labelled cell): kept as the student's own code")
            own.setdefault(previous, []).append(_plain_cell(cell))
        else:
            own.setdefault(previous, []).append(_plain_cell(cell))
    out_cells = []
    for cell in own.get(None, []):
        out_cells.append(cell)
    for rel in _cells(release):
        new = copy.deepcopy(rel)
        gid = _nbg(rel).get("grade_id")
        if _nbg(rel).get("solution"):
            if gid in answers:
                new["source"] = answers[gid]
            else:
                flags.append(f"answer cell {gid} is missing: counted as not answered")
        elif _nbg(rel).get("grade") and not any(_nbg(c).get("grade_id") == gid for c in _cells(submission)):
            flags.append(f"test cell {gid} was deleted: restored from the release")
        elif not _nbg(rel) and f"id:{rel.get('id')}" in answers:
            new["source"] = answers[f"id:{rel.get('id')}"]
        if new.get("cell_type") == "code":
            new["outputs"], new["execution_count"] = [], None
        out_cells.append(new)
        out_cells.extend(own.get(rel.get("id"), []))
    nb = copy.deepcopy(release)
    nb["cells"] = out_cells
    return nb, flags


def _plain_cell(cell: dict) -> dict:
    kind = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown", "raw") else "raw"
    new = {"cell_type": kind, "metadata": {}, "source": _source(cell)}
    if kind == "code":
        new.update(outputs=[], execution_count=None)
    if cell.get("id"):
        new["id"] = f"own-{str(cell['id'])[:40]}"
    return new


def test_cells(source_nb: dict) -> list[tuple[str, float, str]]:
    return [(_nbg(c)["grade_id"], float(_nbg(c).get("points", 0)), _source(c))
            for c in _cells(source_nb) if c.get("cell_type") == "code" and _nbg(c).get("grade")]



def without_hidden_tests(nb: dict) -> dict:
    out = copy.deepcopy(nb)
    for cell in _cells(out):
        if _nbg(cell).get("grade"):
            cell["source"] = strip_hidden_tests(_source(cell))
    return out


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ one job
_JUDGED_EXECUTE = None


def _judged_execute():
    """nbgrader's ``Execute`` preprocessor, which after the notebook's last cell (the kernel still
    running) hands the executor (and its kernel) to the hook set in ``JudgedExecute.after_last_cell``."""
    global _JUDGED_EXECUTE
    if _JUDGED_EXECUTE is None:
        from nbgrader.preprocessors import Execute

        class JudgedExecute(Execute):
            after_last_cell = None   # set per job (one job at a time per process)
            after_start = None       # called once the kernel is up, before the first cell

            def start_new_kernel_client(self):   # (nbclient's sync setup_kernel calls this one)
                kc = super().start_new_kernel_client()
                if JudgedExecute.after_start is not None:
                    JudgedExecute.after_start()
                return kc

            def output(self, outs, msg, display_id, cell_index):
                """Keep at most MAX_CELL_OUTPUT characters of output per cell while it runs (nbclient
                would keep everything a cell prints, in the grader's memory); errors are always kept."""
                sizes = self.__dict__.setdefault("_tnn_sizes", {})
                content = msg.get("content") or {}
                size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in (content.get("data") or {}).values())
                used = sizes.get(cell_index, 0)
                if msg.get("msg_type") != "error" and used + size > MAX_CELL_OUTPUT:
                    if used <= MAX_CELL_OUTPUT:   # say it once
                        sizes[cell_index] = MAX_CELL_OUTPUT + 1
                        outs.append(nbformat_output(f"[output cut: this cell printed more than "
                                                    f"{MAX_CELL_OUTPUT:,} characters]\n"))
                    return None
                sizes[cell_index] = used + size
                return super().output(outs, msg, display_id, cell_index)

            def preprocess_cell(self, cell, resources, index):
                out = super().preprocess_cell(cell, resources, index)
                if index == len(self.nb.cells) - 1 and JudgedExecute.after_last_cell is not None:
                    try:
                        JudgedExecute.after_last_cell(self)
                    except BaseException:  # noqa: BLE001 - no verdict: grade_one reports "not re-checked"
                        pass
                return out

        _JUDGED_EXECUTE = JudgedExecute
    return _JUDGED_EXECUTE


def _recheck_in_kernel(executor, tests, limits: Limits, runtime: Path, course_root: Path):
    """The trusted re-check, run while nbgrader's kernel is still alive: the kernel is asked to serve
    the judge over a Unix socket in the job's runtime folder, and the judge runs the tests here.

    The judge keeps the notebook's deadline on every wait for the kernel, and its own work (the
    checks' computations) runs under the same deadline: the notebook's alarm raises
    :class:`RecheckTimeout` here (not the TimeoutError of :func:`_with_deadline`), which ends the
    re-check with that reason. Any failure here becomes the verdict's error."""
    import secrets
    import socket

    left = signal.getitimer(signal.ITIMER_REAL)[0]     # seconds left of the notebook's limit (0: none)
    started = time.monotonic()
    deadline = started + (left if left > 0 else limits.notebook_timeout)

    def on_alarm(signum, frame):
        raise RecheckTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0.001) + 5.0)  # 5 s of grace

    def kill():
        km = executor.km
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is not None:
            with contextlib.suppress(OSError):  # the kernel has a session of its own (jupyter_client)
                if os.getpgid(process.pid) != os.getpgrp():
                    os.killpg(os.getpgid(process.pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                process.kill()

    path = runtime / f"judge-{secrets.token_hex(8)}.sock"
    listener = None
    try:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        os.chmod(path, 0o666)   # the kernel may run as another user (see classroom.sandbox.unprivileged)
        listener.listen(1)
        executor.kc.execute(
            f"(lambda: (__import__('sys').path.insert(0, {str(course_root)!r}), "
            f"__import__('classroom.worker', fromlist=['serve']).serve({str(path)!r}, globals())))()",
            silent=True, store_history=False, allow_stdin=False)
        worker = Worker.accept(listener, limits, kill, timeout=min(limits.cell_timeout, 15.0), deadline=deadline)
        return judge_notebook(worker, tests)
    except WorkerGone as err:
        return judge_notebook(None, tests, error=str(err))
    except RecheckTimeout:
        kill()
        return judge_notebook(None, tests, error="the re-check ran past the notebook's time limit")
    except Exception as err:  # noqa: BLE001 - the grader's own trouble: this notebook is not re-checked
        kill()
        return judge_notebook(None, tests, error=f"the re-check failed: {type(err).__name__}: {str(err)[:200]}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if listener is not None:
            listener.close()
        with contextlib.suppress(OSError):
            path.unlink()
        if left > 0:  # the rest of the notebook's limit, for what nbgrader still does
            signal.setitimer(signal.ITIMER_REAL, max(left - (time.monotonic() - started), 0.001))


def _in_kernel(job: Path, assignment: str, student: str, limits: Limits, sandbox, tests) -> tuple[dict, str, object]:
    """nbgrader autograde of one submission in the private course folder ``job``, with the trusted
    re-check after the last cell. Returns ``({grade_id: passed}, error, verdict)``: which visible test
    cells passed in the executed notebook, why nbgrader could not finish it, and the re-check's
    verdict (``None`` when nbgrader never reached the end of the notebook)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    runtime = job / "rt"
    runtime.mkdir()
    workdir = Course(job).autograded(student, assignment).parent
    workdir.mkdir(parents=True)
    executor_cls = _judged_execute()
    c = Config()
    c.CourseDirectory.root = str(job)
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "notebooks"
    c.Autograde.autograde_preprocessors = [executor_cls if p is Execute else p for p in
                                           Autograde.class_traits()["autograde_preprocessors"].default()]
    c.Execute.timeout = int(limits.cell_timeout)
    c.Execute.shutdown_kernel = "immediate"
    c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=CRITICAL"]
    c.KernelManager.transport = "ipc"      # Unix sockets in the job's folder: no ports to collide
    c.KernelManager.ip = str(runtime / "k")
    c.KernelManager.connection_file = str(runtime / "kernel.json")  # inside the sandbox's view
    env_keys = ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR", "TNN_COURSE_ROOT", "MPLBACKEND")
    saved = {k: os.environ.get(k) for k in env_keys}
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    os.environ["MPLBACKEND"] = "Agg"
    import sys
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    limit = [shutil.which("prlimit"), f"--as={int(limits.memory_bytes)}", "--"] if shutil.which("prlimit") else []
    from .sandbox import launcher, lock_runtime, process_cap, share_with_student
    group = process_cap(f"tnn-{job.name}")[0] if sandbox is not None else None
    if sandbox is not None:
        share_with_student(job, [p for p in (sandbox.utils_dir, sandbox.graders_dir) if p is not None], runtime)
        argv = launcher(group) + limit + sandbox.wrap(kernel, workdir=workdir, rw=[str(runtime)])
        executor_cls.after_start = lambda: lock_runtime(runtime)
    elif limit:
        argv = limit + kernel
    course_root = sandbox.course_root if sandbox else job
    if sandbox is not None or limit:
        spec = job / "jupyter" / "kernels" / "tnn-sandbox"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "sandboxed Python",
                                                      "language": "python",
                                                      "env": {"TNN_COURSE_ROOT": str(course_root)}}))
        os.environ["JUPYTER_PATH"] = str(job / "jupyter")
        c.Execute.kernel_name = "tnn-sandbox"
    if sandbox is None:
        os.environ["TNN_COURSE_ROOT"] = str(job)
    verdicts = []
    executor_cls.after_last_cell = lambda executor: verdicts.append(
        _recheck_in_kernel(executor, tests, limits, runtime, course_root))
    try:
        api = NbGraderAPI(config=c)
        outcome = api.autograde(assignment, student, force=True, create=True)
    finally:
        executor_cls.after_last_cell = executor_cls.after_start = None
        from .sandbox import remove_cgroup
        remove_cgroup(group)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    verdict = verdicts[-1] if verdicts else None
    executed = Course(job).autograded(student, assignment)
    if os.environ.get("TNN_GRADING_DEBUG"):
        print(outcome.get("log"), outcome.get("error"))
    if not executed.exists():
        return {}, _explain(f"{outcome.get('log') or ''}\n{outcome.get('error') or ''}", limits), verdict
    nb = json.loads(executed.read_text(encoding="utf-8"))
    passed = {}
    for cell in _cells(nb):
        if _nbg(cell).get("grade"):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            passed[_nbg(cell)["grade_id"]] = not errors and cell.get("execution_count") is not None
    timed_out = any(o.get("ename") in ("CellTimeoutError", "DeadKernelError") for c in _cells(nb)
                    for o in c.get("outputs", []) if o.get("output_type") == "error")
    died = "DeadKernelError" in (outcome.get("log") or "") or "Kernel died" in (outcome.get("log") or "")
    error = "the kernel died while running the notebook" if died else (
        "a cell ran past its time limit" if timed_out else "")
    return passed, error, verdict


def _start_failure(reason: str) -> bool:
    return reason.startswith("the kernel could not start")


def _explain(log: str, limits: Limits) -> str:
    """A sentence for an instructor from nbgrader's log of a notebook it could not finish."""
    if "Kernel didn't respond" in log or "Kernel died before replying to kernel_info" in log:
        return "the kernel could not start (no answer to kernel_info)"
    if "DeadKernelError" in log or "Kernel died" in log or "kernel died" in log:
        return ("the kernel died while running the notebook (the student's code ended the process: "
                "os._exit, a crash, or memory exhausted)")
    if any(k in log for k in ("CellTimeoutError", "UnresponsiveKernelError", "Timeout", "timed out", "didn't respond")):
        return (f"a cell ran past its time limit ({limits.cell_timeout:.0f} s) and the kernel did not answer an "
                "interrupt (an endless loop that catches KeyboardInterrupt?)")
    lines = [l.strip() for l in log.splitlines() if ("Error" in l or "error" in l) and "Please see" not in l
             and "There was an error" not in l]
    return "nbgrader could not run the notebook: " + (lines[-1][:300] if lines else "no reason given")


def grade_one(course: Path, assignment: str, student: str, limits: Limits, use_sandbox: bool = True,
              template: bytes | None = None, mpl_cache: Path | None = None) -> Result:
    """Grade one submission; always returns a result (never raises for the student's doing)."""
    layout = Course(course)
    release_path, source_path = layout.release(assignment), layout.source(assignment)
    sub_path = layout.submitted(student, assignment)
    release = json.loads(release_path.read_text(encoding="utf-8"))
    source = json.loads(source_path.read_text(encoding="utf-8"))
    tests = test_cells(source)
    # tests_sha256: what the result depends on besides the submission's bytes (see up_to_date)
    result = Result(student, assignment, max_score=sum(p for _, p, _ in tests),
                    cells=[Cell(g, 0.0, p) for g, p, _ in tests],
                    tests_sha256=_digest(source_path.read_bytes(), release_path.read_bytes()))
    if not sub_path.is_file():
        result.reason = "missing notebook: nothing was submitted under " + str(sub_path.relative_to(layout.root))
        return result
    raw = sub_path.read_bytes()
    result.submission_sha256 = hashlib.sha256(raw).hexdigest()
    try:
        submission = json.loads(raw.decode("utf-8"))
        if not isinstance(submission, dict) or not isinstance(submission.get("cells"), list):
            raise ValueError("it has no list of cells")
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        result.reason = f"not a valid notebook (not valid JSON or no cells: {str(err)[:120]})"
        return result
    nb, flags = repair(submission, release)
    result.flags = flags
    from . import sandbox as sb
    sandbox_obj = None
    if use_sandbox:
        ok, sentence = sb.detect()
        sandbox_obj = sb.make(layout.root, CLASSROOM, mpl_cache) if ok else None
        if sandbox_obj is None:
            result.flags.append(sentence)
        elif "no process cap" in sb.process_cap_sentence():
            result.flags.append(sb.process_cap_sentence())
    job = Path(tempfile.mkdtemp(prefix=f"tnn-grade-{student[:20]}-"))
    try:
        if sandbox_obj is not None:   # the library without working answers to this notebook's exercises
            from .library import sandbox_graders, sandbox_utils
            sandbox_obj.utils_dir = sandbox_utils(assignment, job / "library")
            sandbox_obj.graders_dir = sandbox_graders(assignment, job / "library")
        for name in ("tnn_course.py", "utils", "datasets", "graders"):
            (job / name).symlink_to((layout.root / name).resolve())
        (job / "classroom").mkdir()   # the worker's half of the re-check only: never classroom/hidden
        for name in WORKER_FILES:
            (job / "classroom" / name).symlink_to(CLASSROOM / name)
        (job / "nbgrader_config.py").write_text("c = get_config()\n")
        # nbgrader's source for this job: the solution notebook *without* its hidden tests, so that
        # neither hidden test code nor the data it needs ever reaches the student's kernel (the
        # trusted re-check runs them)
        job_source = Course(job).source(assignment)
        job_source.parent.mkdir(parents=True)
        job_source.write_text(
            json.dumps(without_hidden_tests(source), indent=1), encoding="utf-8")
        shutil.copytree(release_path.parent, Course(job).release(assignment).parent)
        target = Course(job).submitted(student, assignment)
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(nb), encoding="utf-8")
        Course(job).gradebook.write_bytes(template or gradebook_template(course, [assignment]))
        from nbgrader.api import Gradebook
        with scripts_on_path(), Gradebook(f"sqlite:///{Course(job).gradebook}") as gb:
            add_submission(gb, assignment, student)   # made whole here: nbgrader's own way warns
        verdict = None
        try:
            for attempt in range(3):  # a kernel that fails to *start* is the machine's fault: retry it
                in_kernel, kernel_error, verdict = _with_deadline(limits.notebook_timeout, _in_kernel, job,
                                                                  assignment, student, limits, sandbox_obj, tests)
                if in_kernel or not _start_failure(kernel_error):
                    break
                for sub in ("rt", "jupyter", "autograded"):
                    shutil.rmtree(job / sub, ignore_errors=True)
                result.flags.append(f"the kernel failed to start (attempt {attempt + 1}); retried")
        except TimeoutError:
            in_kernel, kernel_error = {}, f"the notebook ran past its time limit ({limits.notebook_timeout:.0f} s)"
        except Exception as err:  # noqa: BLE001 - a broken submission must not stop the class
            in_kernel, kernel_error = {}, f"nbgrader could not run the notebook: {type(err).__name__}: {str(err)[:200]}"
        if verdict is None:  # nbgrader never reached the end of the notebook: nothing to re-check
            verdict = judge_notebook(None, tests, error="not re-checked: " + (
                kernel_error or "the notebook did not run to its end"))
        executed = Course(job).autograded(student, assignment)
        if executed.exists():  # keep nbgrader's executed notebook (outputs cut) for feedback
            done = json.loads(executed.read_text(encoding="utf-8"))
            truncate_outputs(done)
            write_atomic(layout.autograded(student, assignment), json.dumps(done, indent=1))
    finally:
        shutil.rmtree(job, ignore_errors=True)
    rechecks = {c.grade_id: c for c in verdict.cells}
    total, disagreements = 0.0, 0
    for cell in result.cells:
        check = rechecks[cell.grade_id]
        cell.in_kernel = bool(in_kernel.get(cell.grade_id, False))   # visible tests, in the student's kernel
        cell.recheck = bool(check.passed)                            # visible and hidden tests, trusted
        cell.message = check.message if not check.passed else ""
        if cell.in_kernel != check.visible_passed:
            cell.status = "needs review"
            disagreements += 1
            side = "in the student's kernel" if cell.in_kernel else "in the trusted re-check"
            cell.message = f"the visible tests passed only {side}" + (
                f"; re-check: {cell.message}" if cell.message else "")
        elif cell.in_kernel and cell.recheck:
            cell.status, cell.points = "passed", cell.max_points
            total += cell.max_points
    result.score = total
    if kernel_error and not in_kernel:  # nbgrader could not finish this notebook: nothing to compare
        for cell in result.cells:
            cell.points, cell.status, cell.message = 0.0, "failed", f"not graded: {kernel_error}"
        result.score = 0.0
        result.status = "failed"
        result.reason = kernel_error + (f"; trusted re-check: {verdict.error}" if verdict.error else "")
    elif kernel_error and verdict.error:
        result.status, result.reason = "failed", f"{kernel_error}; trusted re-check: {verdict.error}"
    elif verdict.error and not kernel_error:
        result.status, result.reason = "needs review", f"trusted re-check: {verdict.error}"
    elif disagreements:
        result.status = "needs review"
        result.reason = (f"{disagreements} test cell(s) passed in one run and failed in the other"
                         + (f" ({kernel_error})" if kernel_error else ""))
    elif kernel_error:
        result.status, result.reason = "graded", ""
        result.flags.append(kernel_error)
    else:
        result.status = "graded"
    return result


def _with_deadline(seconds: float, fn, *args):
    """Run ``fn`` with a wall-clock limit (SIGALRM in this worker process; kernels are killed)."""
    def on_alarm(signum, frame):
        raise TimeoutError
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    except TimeoutError:
        _kill_children()
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _kill_children() -> None:
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == me:
                os.kill(int(pid), signal.SIGKILL)


_TEMPLATES: dict[tuple, bytes] = {}


def gradebook_template(course: Path, assignments: list[str]) -> bytes:
    """The bytes of a gradebook holding just ``assignments``, registered from their source notebooks
    without hidden tests. Made once per run, in the parent process, then copied into every job (one
    gradebook for all of them: nbgrader creates a new gradebook by running ``alembic``, which takes
    seconds)."""
    layout = Course(course)
    key = tuple((a, hashlib.sha256(layout.source(a).read_bytes()).hexdigest()) for a in sorted(assignments))
    if key not in _TEMPLATES:
        from nbgrader.apps import NbGraderAPI
        from traitlets.config import Config
        tmp = Path(tempfile.mkdtemp(prefix="tnn-template-"))
        try:
            for assignment in sorted(assignments):
                source = json.loads(layout.source(assignment).read_text(encoding="utf-8"))
                target = Course(tmp).source(assignment)
                target.parent.mkdir(parents=True)
                target.write_text(json.dumps(without_hidden_tests(source), indent=1), encoding="utf-8")
            (tmp / "nbgrader_config.py").write_text("c = get_config()\n")
            c = Config()
            c.CourseDirectory.root = str(tmp)
            c.CourseDirectory.source_directory = "solutions"
            c.CourseDirectory.release_directory = "release"
            with scripts_on_path():
                api = NbGraderAPI(config=c)
                for assignment in sorted(assignments):
                    out = api.generate_assignment(assignment, force=True, create=True)
                    if not out.get("success"):
                        raise RuntimeError(f"could not register {assignment}: {out.get('error') or out.get('log')}")
            _TEMPLATES[key] = Course(tmp).gradebook.read_bytes()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _TEMPLATES[key]


# ------------------------------------------------------------------------------------------ a class
def submissions(course: Path, assignments: list[str]) -> list[tuple[str, str]]:
    """``(assignment, student)`` for every student folder under submitted/ (missing notebooks included)."""
    students = Course(course).students()
    return [(a, s) for a in assignments for s in students]


def up_to_date(course: Path, assignment: str, student: str) -> bool:
    layout = Course(course)
    path = layout.result(assignment, student)
    if not path.is_file():
        return False
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(old, dict):
            return False
    except (OSError, ValueError, RecursionError):
        return False
    sub = layout.submitted(student, assignment)
    current = hashlib.sha256(sub.read_bytes()).hexdigest() if sub.is_file() else None
    tests = _digest(layout.source(assignment).read_bytes(), layout.release(assignment).read_bytes())
    return old.get("submission_sha256") == current and old.get("tests_sha256") == tests


def _job(args) -> Result:
    course, assignment, student, limits, use_sandbox, template, mpl_cache = args
    try:
        return grade_one(course, assignment, student, limits, use_sandbox, template, mpl_cache)
    except Exception as err:  # noqa: BLE001 - the grader's own failure, reported per submission
        return Result(student, assignment, "failed", f"grading error: {type(err).__name__}: {str(err)[:300]}")


def _child(conn, arg) -> None:
    """One job in a process of its own: the result goes back as JSON through ``conn``."""
    import resource

    os.setpgrp()   # its kernels and their sandboxes form one group the parent can end
    # a memory blow-up (a kernel's giant output message, say) fails this job alone, as a MemoryError
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (JOB_MEMORY_BYTES, JOB_MEMORY_BYTES))
    with contextlib.suppress(Exception):   # one BLAS thread per job: jobs run side by side on the cores
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    try:
        conn.send(_job(arg).to_json())
    finally:
        conn.close()
        _kill_children()


def run_isolated(args: list[tuple], jobs: int, job_limit: float):
    """Run ``_job(arg)`` for every arg, at most ``jobs`` at a time, each in a fresh process (forked from
    this one, never reused), and yield the results as they finish. A process that dies without a result
    (a crash in nbgrader, the judge or a library, the OOM killer), or that runs past ``job_limit``
    seconds, gives that submission a "failed" result saying so; every other job goes on."""
    import multiprocessing
    from multiprocessing.connection import wait

    from .results import read_result_text

    ctx = multiprocessing.get_context("fork")
    queue, running = list(args), {}
    while queue or running:
        while queue and len(running) < max(1, jobs):
            arg = queue.pop(0)
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(send, arg), daemon=False)
            proc.start()
            send.close()
            running[receive] = (proc, arg, time.monotonic())
        ready = wait(list(running), timeout=1.0)
        now = time.monotonic()
        for conn in list(running):
            proc, arg, started = running[conn]
            assignment, student = arg[1], arg[2]
            result = None
            if conn in ready:
                try:
                    result = read_result_text(conn.recv(), student, assignment)
                except (EOFError, OSError):
                    proc.join(5)
                    result = Result(student, assignment, "failed", "the grading process died while grading this "
                                    f"submission (exit code {proc.exitcode}); nothing else was affected")
            elif now - started > job_limit:
                result = Result(student, assignment, "failed",
                                f"grading this submission took longer than {job_limit:.0f} s and was stopped")
            if result is None:
                continue
            with contextlib.suppress(OSError, ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.join(5)
            conn.close()
            del running[conn]
            yield result


def grade(course: Path, assignments: list[str], jobs: int = 1, force: bool = False,
          limits: Limits | None = None, use_sandbox: bool = True, progress=print) -> list[Result]:
    """Grade every submission of ``assignments``; write results; return them (sorted)."""
    from . import sandbox as sb

    limits = limits or Limits()
    tasks = [(a, s) for a, s in submissions(course, assignments)
             if force or not up_to_date(course, a, s)]
    scratch = Path(tempfile.mkdtemp(prefix="tnn-grade-run-"))
    try:
        template = gradebook_template(course, sorted({a for a, _ in tasks})) if tasks else None
        mpl_cache = sb.font_cache(scratch / "mpl") if use_sandbox and tasks else None
        if mpl_cache is not None:
            sb.share_with_student(scratch, [mpl_cache])   # readable by the student's user
        args = [(course, a, s, limits, use_sandbox, template, mpl_cache) for a, s in tasks]
        for result in run_isolated(args, jobs, job_limit=3 * limits.notebook_timeout + 120):
            _finish(course, result, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return load_results(course, assignments, with_missing=False, gradebook=False)


def _finish(course: Path, result: Result, progress) -> None:
    write_result(Course(course), result)
    if progress:
        progress(result.summary())


# ------------------------------------------------------------------------------------------ gradebook and feedback
def add_submission(gb, assignment: str, student: str):
    """The student's submission of ``assignment`` in nbgrader's gradebook ``gb``, made if missing.

    nbgrader's ``Gradebook.add_submission`` builds the submission and walks its notebooks before adding
    it to the session; with SQLAlchemy 2 that walk autoflushes a half-made object ("SAWarning: Object
    of type <SubmittedAssignment> not in session"), twice per student. Building it with autoflush off
    adds the whole submission in one piece, as nbgrader means to."""
    from nbgrader.api import MissingEntry

    gb.update_or_create_student(student)
    try:
        return gb.find_submission(assignment, student)
    except MissingEntry:
        with gb.db.no_autoflush:
            return gb.add_submission(assignment, student)


def answer_cells(source_nb: dict) -> dict[str, str]:
    """``{test grade id: grade id of the answer cell above it}``: nbgrader keeps comments on answer
    cells, so the formgrader shows a test cell's review note under the answer it tests."""
    above, out = None, {}
    for cell in _cells(source_nb):
        nbg = _nbg(cell)
        if nbg.get("solution"):
            above = nbg.get("grade_id")
        elif nbg.get("grade") and above:
            out[nbg["grade_id"]] = above
    return out


REVIEW_NOTE = "Needs review"


def record_in_gradebook(course: Path, results: list[Result]) -> None:
    """Put the final scores into nbgrader's gradebook (one process, one writer), which every course
    command then reads (see :func:`classroom.results.from_gradebook`): each test cell's auto score is
    the verdict's points; a "needs review" cell is marked for manual grading, so that nbgrader's
    formgrader lists it, and why it needs review is the auto comment of the answer cell above it
    (shown in the formgrader where the instructor grades). A cell the instructor has graded by hand
    stays as graded: its manual score is never reset."""
    from nbgrader.api import Gradebook, MissingEntry

    layout = Course(course)
    answers: dict[str, dict[str, str]] = {}
    with scripts_on_path(), Gradebook(f"sqlite:///{layout.gradebook}") as gb:
        for r in results:
            if not r.cells:
                continue
            a, s = r.assignment, r.student
            if a not in answers:
                try:
                    answers[a] = answer_cells(json.loads(layout.source(a).read_text(encoding="utf-8")))
                except (OSError, ValueError):
                    answers[a] = {}
            add_submission(gb, a, s)
            notes: dict[str, list[str]] = {}
            for cell in r.cells:
                try:
                    grade = gb.find_grade(cell.grade_id, a, a, s)
                except MissingEntry:
                    continue
                grade.auto_score = float(cell.points)
                grade.needs_manual_grade = cell.status == "needs review" and grade.manual_score is None
                if cell.status == "needs review" and cell.grade_id in answers[a]:
                    notes.setdefault(answers[a][cell.grade_id], []).append(
                        f"{REVIEW_NOTE} ({cell.grade_id}, {cell.max_points:g} points): {cell.message}")
            for answer in set(answers[a].values()):
                try:
                    comment = gb.find_comment(answer, a, a, s)
                except MissingEntry:
                    continue
                comment.auto_comment = "\n".join(notes[answer]) if answer in notes else None
            gb.db.commit()


def ensure_released(course: Path, assignments: list[str]) -> None:
    """Register assignments in the gradebook if ``release`` has not done it yet."""
    from nbgrader.api import Gradebook, MissingEntry

    missing = []
    with scripts_on_path(), Gradebook(f"sqlite:///{Course(course).gradebook}") as gb:
        for a in assignments:
            try:
                gb.find_assignment(a)
            except MissingEntry:
                missing.append(a)
    if missing:
        generate_notebooks(Path(course), missing, db=True)
