"""While notebook N is graded, the course library must not answer N's exercises (classroom.library).

Proved by brute force, not by reading classroom.library.TABLE: for every assignment N,
``sandbox_utils(N, tmp)`` is imported in a fresh process with the stubbed ``utils`` first on
``sys.path``, and every function, class and method defined in it (public or not), plain and through
the adapters ``r[0]`` and ``r[1]`` of its result, is handed to every visible check of N whose first
argument is an exercise function: each check must reject each one. Backward checks get the reference
forward pass. Known one-line wrappers around later notebooks' functions (the "exposes" rows of the
table) are tried on their exercise too.

The brute force is sound only if the checks can accept something: the same processes show that the
reference answers still pass after the candidates ran, that with the real library the brute force
does find answers (01 and 02 at least, and the wrappers), and that every answer it finds there is a
row of the table. Finally each solution notebook runs, cells in order as its student's kernel would
run them (hidden tests stripped, ``TNN_FAST=1``), in a course folder whose ``utils/`` is the copy
stubbed for that notebook.

Run as a script, this file is the worker of those processes (``brute`` and ``notebook`` modes).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALL_TIMEOUT = 10.0           # seconds for one check on one candidate (a timeout counts as rejected)
CONCURRENCY = min(6, (os.cpu_count() or 2) + 1)   # notebook workers spend part of their time waiting


# ------------------------------------------------------------------------------------------- worker
def _wrappers(utils_pkg):
    """One-line answers built from library functions of other exercises (what TABLE calls exposing):
    ``{(topic, exercise): (function, forward or None)}``. With the real library each passes its check."""
    import numpy as np
    L, O, G = utils_pkg.layers, utils_pkg.optim, utils_pkg.gradcheck

    def softmax(s):
        s = np.asarray(s, dtype=np.float64)
        S = np.atleast_2d(s)
        y = np.zeros(len(S), dtype=int)
        _, d = L.softmax_cross_entropy(S, y)
        p = d * len(S)
        p[:, 0] += 1.0
        return p[0] if s.ndim == 1 else p

    def compute_mean_std(X):
        p = {"momentum": 0.0}
        L.batchnorm_forward(X, 1.0, 0.0, p)
        return p["running_mean"], np.sqrt(p["running_var"])

    def standardize(X, mean, std, eps=1e-8):
        p = {"mode": "test", "running_mean": mean, "running_var": std ** 2, "eps": 2 * std * eps + eps ** 2}
        return L.batchnorm_forward(X, 1.0, 0.0, p)[0]

    def layernorm_forward(x, gamma, beta, ln_param):
        out, cache = L.batchnorm_forward(x.T, 1.0, 0.0, {"eps": ln_param.get("eps", 1e-5)})
        return out.T * gamma + beta, (cache, out.T, gamma)

    def layernorm_backward(dout, cache):
        bn_cache, x_hat, gamma = cache
        dx_t = L.batchnorm_backward((dout * gamma).T, bn_cache)[0]
        return dx_t.T, (dout * x_hat).sum(axis=0), dout.sum(axis=0)

    def nesterov_momentum(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("momentum", 0.9)
        v_prev = config.get("v", np.zeros_like(w))
        w_new, config = O.sgd_momentum(w, dw, config)
        return w_new + config["momentum"] * (config["v"] - v_prev), config

    def rmsprop(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("lr", 1e-2)
        config.setdefault("decay", 0.99)
        config.setdefault("eps", 1e-8)
        c = {"lr": config["lr"], "beta1": 0.0, "beta2": config["decay"], "eps": config["eps"], "t": 10 ** 9,
             "v": config.get("cache", np.zeros_like(w))}
        w_new, c = O.adam(w, dw, c)
        config["cache"] = c["v"]
        return w_new, config

    def fc_net_loss(params, X, y, reg, keep_prob, rng):   # 07's network is an MLP with its params swapped in
        import importlib
        T = importlib.import_module(utils_pkg.__name__ + ".training")
        model = T.MLP(1, [], 1, np.random.default_rng(0), keep_prob=keep_prob, reg=reg)
        model.params, model.num_layers = dict(params), len(params) // 2
        return model.loss(X, y, rng=rng)

    return {
        ("regularization", "fc_net_loss"): (fc_net_loss, None),
        ("softmax", "softmax"): (softmax, None),
        ("softmax", "cross_entropy_loss"): (lambda probs, y: L.softmax_cross_entropy(np.log(probs), y)[0], None),
        ("softmax", "numerical_gradient"): (lambda f, x, h=1e-5: G.numerical_gradient_array(f, x, 1.0, h), None),
        ("preprocessing", "compute_mean_std"): (compute_mean_std, None),
        ("preprocessing", "standardize"): (standardize, None),
        ("batchnorm", "layernorm_forward"): (layernorm_forward, None),
        ("batchnorm", "layernorm_backward"): (layernorm_backward, layernorm_forward),
        ("optimizers", "nesterov_momentum"): (nesterov_momentum, None),
        ("optimizers", "rmsprop"): (rmsprop, None),
    }


def _candidates(utils_pkg) -> dict:
    """Every function, class and class-level function defined in the ``utils`` package."""
    import importlib
    import inspect
    import pkgutil

    for info in pkgutil.iter_modules(utils_pkg.__path__):
        importlib.import_module(f"{utils_pkg.__name__}.{info.name}")
    found, seen = {}, set()
    mods = sorted(m for m in sys.modules if m == utils_pkg.__name__ or m.startswith(utils_pkg.__name__ + "."))
    for mod_name in mods:
        for name, obj in sorted(vars(sys.modules[mod_name]).items()):
            if name.startswith("__") or getattr(obj, "__module__", None) != mod_name or id(obj) in seen:
                continue
            if inspect.isfunction(obj):
                seen.add(id(obj))
                found[f"{mod_name}.{name}"] = obj
            elif inspect.isclass(obj):
                seen.add(id(obj))
                found[f"{mod_name}.{name}"] = obj
                for attr, raw in sorted(vars(obj).items()):
                    f = getattr(obj, attr) if isinstance(raw, (staticmethod, classmethod)) else raw
                    if inspect.isfunction(raw) and (raw.__module__ != mod_name or id(raw) in seen):
                        continue                                  # e.g. Layers.loss: a library layer, seen already
                    if inspect.isfunction(raw) or isinstance(raw, (staticmethod, classmethod)):
                        seen.add(id(raw))
                        found[f"{mod_name}.{name}.{attr}"] = f
    return found


def _adapted(candidates: dict) -> dict:
    def pick(f, k):
        def adapter(*args, **kwargs):
            return f(*args, **kwargs)[k]
        return adapter

    out = {}
    for name, f in candidates.items():
        out[name] = f
        out[f"{name}(...)[0]"] = pick(f, 0)
        out[f"{name}(...)[1]"] = pick(f, 1)
    return out


class _Timeout(BaseException):
    pass


def _brute(out_path: str, stub_parent: str, assignments: list[str]) -> None:
    """Worker: try every candidate on every exercise check of ``assignments``; write JSON results."""
    import contextlib
    import importlib
    import inspect
    import io
    import signal
    import types
    import warnings

    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    sys.path.insert(0, str(ROOT))
    if stub_parent != "-":
        sys.path.insert(0, stub_parent)
    os.environ.setdefault("MPLBACKEND", "Agg")
    import numpy as np
    import utils
    expected_home = Path(stub_parent if stub_parent != "-" else ROOT).resolve() / "utils"
    assert Path(utils.__file__).resolve().parent == expected_home, (utils.__file__, expected_home)
    from graders import fixtures
    from graders.reference import load

    # Speed only: the checks re-read and decode their topic's whole fixture file on every call. Keep the
    # parsed file and decode just the requested exercise, afresh on every call (as before, so that a
    # candidate that writes into its inputs cannot spoil the next attempt).
    parsed = {}

    class _Lazy(dict):
        def __init__(self, topic):
            super().__init__()
            self.topic = topic

        def __missing__(self, exercise):
            return [fixtures.Case(d["label"], {k: fixtures.decode(v) for k, v in d["args"]},
                                  fixtures.decode(d["expected"]), fixtures.decode(d["kwargs"]))
                    for d in parsed[self.topic][exercise]]

    def load_visible(topic):
        if topic not in parsed:
            parsed[topic] = json.loads(fixtures.Course.checkout().fixture(topic).read_text(encoding="utf-8"))
        return _Lazy(topic)

    fixtures.load_visible = load_visible

    def on_alarm(signum, frame):
        raise _Timeout()

    signal.signal(signal.SIGALRM, on_alarm)

    def attempt(check, f, kwargs) -> tuple[bool, str, float]:
        """(accepted, what happened, seconds)."""
        start = time.perf_counter()
        sink = io.StringIO()
        signal.setitimer(signal.ITIMER_REAL, CALL_TIMEOUT)
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                    warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                check(f, **kwargs)
            return True, "accepted", time.perf_counter() - start
        except _Timeout:
            return False, "timeout", time.perf_counter() - start
        except BaseException as e:  # noqa: BLE001 - any failure is a rejection
            if isinstance(e, KeyboardInterrupt):
                raise
            return False, type(e).__name__, time.perf_counter() - start
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close("all")

    def warm_up(checks, ref) -> None:
        """Run every check once on the reference, with no timer, before any timed attempt. The first run
        of a check may import heavy modules lazily (sklearn through datasets.load_digits, matplotlib);
        a timeout in the middle of an import leaves half-initialised modules in sys.modules, and every
        later call that needs them fails (seen once as the 08 reference rejected with a NameError, when
        a loaded machine let the first candidate's sklearn import run past CALL_TIMEOUT)."""
        import matplotlib.pyplot  # noqa: F401  (the plotting candidates import it lazily)
        for exercise, impl in vars(ref).items():
            check = getattr(checks, f"check_{exercise}", None)
            if not isinstance(impl, types.FunctionType) or check is None:
                continue
            kwargs = {"forward": getattr(ref, exercise.split("_backward")[0] + "_forward")} \
                if "forward" in inspect.signature(check).parameters else {}
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                try:
                    check(impl, **kwargs)
                except Exception:  # noqa: BLE001 - judged after the candidates, as before
                    pass

    base = _candidates(utils)
    candidates = _adapted(base)
    # A backward check runs the student's backward on the caches of the student's forward, which may be
    # a library function too: besides the reference forward, pair every candidate with every library
    # function of the layer interface (``*_forward(...) -> (out, cache)``).
    library_forwards = {n: f for n, f in base.items() if n.rsplit(".", 1)[-1].endswith("_forward")}
    wrappers = _wrappers(utils)
    result = {"utils": str(Path(utils.__file__).parent), "candidates": len(candidates), "assignments": {}}
    t0 = time.perf_counter()
    for assignment in assignments:
        topic = assignment.split("_", 1)[1]
        ref = load(topic)
        checks = importlib.import_module(f"graders.{topic}")
        report = {"exercises": [], "accepted": [], "timeouts": [], "slow": [], "reference_failed": {},
                  "wrappers": {}, "attempts": 0}
        warm_up(checks, ref)
        for exercise, impl in vars(ref).items():
            check = getattr(checks, f"check_{exercise}", None)
            if not isinstance(impl, types.FunctionType) or check is None:
                continue                                      # an experiment or a value, not a function
            params = list(inspect.signature(check).parameters.values())
            if not params or params[0].kind is not params[0].POSITIONAL_OR_KEYWORD:
                continue
            forwards = {"": {}}
            for p in params[1:]:
                if p.kind is p.KEYWORD_ONLY and p.default is p.empty:
                    if p.name != "forward":
                        raise RuntimeError(f"check_{exercise} needs {p.name}=: teach this test about it")
                    forwards = {"reference": {"forward": getattr(ref, exercise.split("_backward")[0] + "_forward")},
                                **{n: {"forward": f} for n, f in library_forwards.items()}}
            report["exercises"].append(exercise)
            for fname, kwargs in forwards.items():
                for name, f in candidates.items():
                    ok, what, secs = attempt(check, f, kwargs)
                    report["attempts"] += 1
                    label = [exercise, name] + ([f"forward={fname}"] if fname else [])
                    if ok:
                        report["accepted"].append(label)
                    elif what == "timeout":
                        report["timeouts"].append(label)
                    if secs > 1.0:
                        report["slow"].append(label + [round(secs, 2)])
            if (topic, exercise) in wrappers:
                f, forward = wrappers[(topic, exercise)]
                ok, what, _ = attempt(check, f, {"forward": forward} if forward else forwards.get("reference", {}))
                report["wrappers"][exercise] = what
        for exercise in report["exercises"]:                 # the checks can still accept an answer
            kwargs = {"forward": getattr(ref, exercise.split("_backward")[0] + "_forward")} \
                if "forward" in inspect.signature(getattr(checks, f"check_{exercise}")).parameters else {}
            ok, what, _ = attempt(getattr(checks, f"check_{exercise}"), getattr(ref, exercise), kwargs)
            if not ok:
                report["reference_failed"][exercise] = what
        result["assignments"][assignment] = report
    result["seconds"] = round(time.perf_counter() - t0, 2)
    Path(out_path).write_text(json.dumps(result, indent=1))


def _notebook(out_path: str, course: str, assignment: str) -> None:
    """Worker: run the solution notebook of ``assignment`` inside ``course``, as its student's kernel
    would (hidden tests stripped); write the failing cells as JSON."""
    import nbformat
    from nbclient import NotebookClient

    sys.path.insert(0, str(ROOT))
    from graders.reference import strip_hidden_tests

    folder = Path(course) / "solutions" / assignment
    nb = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_hidden_tests(cell.source)
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    failures = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "raises-exception" in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                failures.append({"cell": i, "id": cell.get("id"), "ename": out.get("ename"),
                                 "evalue": str(out.get("evalue"))[:400],
                                 "source": cell.source[:300]})
    Path(out_path).write_text(json.dumps({"failures": failures, "seconds": round(time.perf_counter() - start, 1)}))


# ------------------------------------------------------------------------------------- test driver
def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TNN_COURSE_ROOT", "NBGRADER_EXECUTION")}
    env.update(MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **extra)
    return env


def _run_all(jobs: dict, timeout: float = 600.0) -> dict:
    """Run ``{key: (argv, env, out_path)}`` at most CONCURRENCY at a time; ``{key: parsed JSON}``."""
    pending, running, results = list(jobs.items()), {}, {}
    deadline = time.monotonic() + timeout
    try:
        while pending or running:
            while pending and len(running) < CONCURRENCY:
                key, (argv, env, out) = pending.pop(0)
                log = Path(out).with_suffix(".log")
                with open(log, "w") as sink:                  # a file, not a pipe: a chatty worker never blocks
                    running[key] = (subprocess.Popen(argv, env=env, cwd=ROOT, stdout=sink,
                                                     stderr=subprocess.STDOUT), out, log)
            for key, (proc, out, log) in list(running.items()):
                if proc.poll() is not None:
                    del running[key]
                    if proc.returncode != 0 or not Path(out).is_file():
                        raise RuntimeError(f"worker {key} failed (exit {proc.returncode}):\n"
                                           f"{log.read_text(errors='replace')[-3000:]}")
                    results[key] = json.loads(Path(out).read_text())
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers still running after {timeout:.0f} s: {sorted(running)}")
            time.sleep(0.05)
    finally:
        for proc, _, _ in running.values():
            proc.kill()
            proc.wait()
    return results


def _course_copy(dest: Path, assignment: str) -> Path:
    """A course folder for one assignment: real copies of tnn_course.py, graders/, datasets/ (the setup
    cell checks where they live), the stubbed utils/, and the assignment's solution notebook."""
    from classroom.library import sandbox_utils

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "tnn_course.py", dest / "tnn_course.py")
    for name in ("graders", "datasets"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    sandbox_utils(assignment, dest)
    (dest / "solutions" / assignment).mkdir(parents=True)
    shutil.copy2(ROOT / "solutions" / assignment / f"{assignment}.ipynb", dest / "solutions" / assignment)
    return dest


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "brute":
        _brute(rest[0], rest[1], rest[2:])
    elif mode == "notebook":
        _notebook(*rest)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    raise SystemExit(0)

import pytest  # noqa: E402  (after the worker code: the workers do not need it)

from classroom.library import ASSIGNMENTS, REVIEWED, TABLE, stubs_for  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every worker, run together (notebooks first: they take longest and wait on their kernels):
    ``{"stubbed": {assignment: brute force}, "real": {assignment: brute force with the real library},
    "notebooks": {assignment: failing cells}}``."""
    from classroom.library import sandbox_utils

    base = tmp_path_factory.mktemp("library")
    jobs = {}
    for a in ASSIGNMENTS:
        course = _course_copy(base / "courses" / a, a)
        out = base / f"notebook-{a}.json"
        jobs[f"notebook {a}"] = ([sys.executable, __file__, "notebook", str(out), str(course), a],
                                 _env(TNN_FAST="1", TNN_COURSE_ROOT=str(course)), out)
    out = base / "real.json"
    jobs["real"] = ([sys.executable, __file__, "brute", str(out), "-", *ASSIGNMENTS], _env(), out)
    for a in ASSIGNMENTS:
        sandbox_utils(a, base / a)
        out = base / f"{a}.json"
        jobs[a] = ([sys.executable, __file__, "brute", str(out), str(base / a), a], _env(), out)
    results = _run_all(jobs)
    return {"stubbed": {a: results[a] for a in ASSIGNMENTS}, "real": results["real"]["assignments"],
            "notebooks": {a: results[f"notebook {a}"] for a in ASSIGNMENTS}}


def _base(candidate: str) -> str:
    """``utils.layers.relu_forward(...)[0]`` -> ``layers.relu_forward`` (the table's spelling)."""
    return candidate.split("(...)")[0].split(".", 1)[1]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_library_function_answers_an_exercise_of_the_notebook_being_graded(runs, assignment):
    run = runs["stubbed"][assignment]
    report = run["assignments"][assignment]
    assert report["exercises"], f"no exercise check found for {assignment}"
    assert run["candidates"] > 100, run["candidates"]                 # ~55 callables, 3 ways each
    assert not report["accepted"], (
        f"while {assignment} is graded, these library functions pass its checks (stub them in "
        f"classroom.library.TABLE): {report['accepted']}")
    accepted_wrappers = sorted(e for e, w in report["wrappers"].items() if w == "accepted")
    assert not accepted_wrappers, f"one-line wrappers around the library still answer: {accepted_wrappers}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_checks_still_accept_the_reference_with_the_stubbed_library(runs, assignment):
    """Otherwise the brute force above proves nothing: a check that can no longer pass rejects all."""
    report = runs["stubbed"][assignment]["assignments"][assignment]
    assert not report["reference_failed"], (
        f"with utils stubbed for {assignment}, the checks reject the reference answers of "
        f"{report['reference_failed']}: a check (graders/) or the checking helpers it uses call a library "
        f"function stubbed for {assignment} ({sorted(stubs_for(assignment))}); the student's kernel would "
        "fail these visible tests whatever the answer")


def test_the_brute_force_finds_the_answers_the_real_library_holds(runs):
    real = runs["real"]
    for a in ("01_softmax", "02_activations"):
        assert real[a]["accepted"], f"with the real library no function passes a check of {a}: the brute force is blind"
        assert not real[a]["reference_failed"], real[a]["reference_failed"]
    wrappers = {(a, e): w for a, r in real.items() for e, w in r["wrappers"].items()}
    assert len(wrappers) == len(_wrappers_keys()) and set(wrappers.values()) == {"accepted"}, (
        f"every one-line wrapper must pass its check with the real library (else it tests nothing): {wrappers}")


def _wrappers_keys():
    import types
    fake = types.SimpleNamespace(layers=None, optim=None, gradcheck=None)
    return _wrappers(fake)


def test_every_answer_in_the_real_library_is_a_row_of_the_table(runs):
    real = runs["real"]
    rows = {(s.function, s.assignment, e) for s in TABLE for e in s.exercises}
    missing = sorted({(_base(c), a, e) for a, r in real.items() for e, c, *_ in r["accepted"]} - rows)
    assert not missing, f"classroom.library.TABLE lacks these (function, assignment, exercise) rows: {missing}"


def test_every_library_function_is_reviewed():
    """A new utils function must be judged (TABLE or REVIEWED) before it reaches a sandbox."""
    import utils
    home = Path(utils.__file__).resolve().parent
    found = {_base(name) for name, f in _candidates(utils).items()    # not what @dataclass generates
             if Path(getattr(getattr(f, "__code__", None), "co_filename", str(home / "x.py"))).parent == home}
    listed = {s.function for s in TABLE} | set(REVIEWED)
    assert found - listed == set(), f"not reviewed in classroom.library: {sorted(found - listed)}"
    assert listed - found == set(), f"classroom.library lists functions utils does not have: {sorted(listed - found)}"
    assert not {s.function for s in TABLE} & set(REVIEWED)


def test_the_table_names_real_exercises():
    from graders.reference import load
    for s in TABLE:
        ref = load(s.assignment.split("_", 1)[1])
        for e in s.exercises:
            assert callable(getattr(ref, e, None)), f"{s.function}: {s.assignment} has no exercise {e}"
    assert sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()) == list(ASSIGNMENTS)


def test_a_stub_keeps_signature_and_docstring_and_says_why(tmp_path):
    import inspect
    from classroom.library import sandbox_utils

    out = sandbox_utils("05_batchnorm", tmp_path)
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); sys.path.insert(1, {str(ROOT)!r})\n"
            "import inspect, utils.layers as L, utils.training as T\n"
            "print(inspect.signature(L.batchnorm_forward)); print(L.batchnorm_forward.__doc__.split()[0])\n"
            "print(T.Layers().batchnorm_forward is L.batchnorm_forward)\n"
            "try:\n    L.batchnorm_backward(None, None)\nexcept NotImplementedError as e:\n    print(e)\n"
            "print(L.relu_forward(__import__('numpy').array([-1.0, 2.0]))[0])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    from utils.layers import batchnorm_forward
    assert lines[0] == str(inspect.signature(batchnorm_forward)) and lines[1] == "Batch" and lines[2] == "True"
    assert lines[3] == ("utils.layers.batchnorm_backward is not available while 05_batchnorm is graded: "
                        "write your own")
    assert lines[4] == "[0. 2.]"
    assert not list(out.rglob("__pycache__"))
    assert sandbox_utils("batchnorm", tmp_path) == out          # the topic works too, and rewriting is fine
    with pytest.raises(ValueError):
        sandbox_utils("10_transformers", tmp_path)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_notebook_runs_with_the_library_stubbed_for_it(runs, assignment):
    failures = runs["notebooks"][assignment]["failures"]
    assert not failures, (
        f"{assignment} fails with utils stubbed for it ({sorted(stubs_for(assignment))}):\n"
        + "\n".join(f"cell {f['cell']} ({f['id']}): {f['ename']}: {f['evalue']}" for f in failures))



def test_the_check_librarys_own_answer_helpers_are_withheld_too(tmp_path):
    """graders/ is in the sandbox whole: its helpers that compute an exercise's answer (for hints) are
    stubbed while their notebook is graded, and the visible checks still accept the reference there."""
    import subprocess
    import sys

    from classroom.library import GRADERS_TABLE, sandbox_graders, sandbox_utils

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "tnn_course.py", course)
    shutil.copytree(ROOT / "datasets", course / "datasets", ignore=shutil.ignore_patterns("__pycache__"))
    (course / "solutions").symlink_to(ROOT / "solutions")
    for stub in GRADERS_TABLE:
        sandbox_utils(stub.assignment, course)     # course/utils and course/graders as the sandbox shows them
        sandbox_graders(stub.assignment, course)
        module, helper = stub.function.split(".", 1)
        exercises = ", ".join(repr(e) for e in stub.exercises)
        code = (f"import sys; sys.path.insert(0, {str(course)!r}); import tnn_course; tnn_course.activate({str(course)!r})\n"
                f"import graders.{module} as m, graders.reference as r\n"
                f"try:\n    m.{helper}\n    getattr(m, {helper!r})(*[None] * 5)\n    print('WORKS')\n"
                f"except NotImplementedError:\n    print('WITHHELD')\n"
                f"ref = r.load({module!r})\n"
                f"for ex in ({exercises},):\n"
                f"    check = getattr(m, 'check_' + ex)\n"
                f"    kw = {{'forward': getattr(ref, ex.replace('backward', 'forward'))}} if 'backward' in ex else {{}}\n"
                f"    check(getattr(ref, ex), **kw)\n")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=course)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.splitlines()[0] == "WITHHELD", done.stdout
        assert done.stdout.count("[ok]") == len(stub.exercises), done.stdout
