"""The class grader against a corpus of bad and adversarial submissions (tests/corpus/): every
expected outcome holds, nobody affects anybody else, parallel equals sequential, re-runs are
idempotent and an interrupted run resumes, nothing outside the sandbox changes, and nothing secret
(the grader's environment, files the students may not read, hidden inputs) reaches the feedback.

The submissions are imported and their feedback written with the instructor's commands, as the README
says (``python -m classroom import`` / ``feedback``); grading runs in this process with small limits.

Memory of the grader (measured once, not asserted: the test cannot see the peak of a forked job): the
grading process of c3_print_400mb_once (one print of 400 MB) peaked at VmHWM 1.31 GB, c3_print_400mb_loop
(400 prints of 1 MB) at 1.31 GB, c3_huge_replies (a 64 MB reply) at 330 MB, against 146 MB for the
correct submission (grade_one in a forked job, /proc/self/status read at its end, --jobs 1, 2-core machine).
"""
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from coursework import LINKED, ROOT, unactivated_env

CORPUS = ROOT / "tests" / "corpus"
A = "01_softmax"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
CANARY = "tnn-canary-"          # files an attack tries to create outside the sandbox (tests/corpus/build_corpus.py)
ECHO = "HIDDEN-ECHO"            # the marker an attack puts before a hidden input it tries to leak
OUTPUTS = ("grading", "autograded", "feedback", "gradebook.db")   # what grading and feedback write in the course

# Submissions whose expected (correct) outcome the grader does not reach yet: student -> the bug. The
# lead removes an entry once the bug is fixed (the xfail is strict, so a fix makes the test fail until then).
KNOWN_BUGS: dict[str, str] = {}
# Submissions that get something secret into their feedback, result or executed notebook: (student, what
# leaks) -> the bug.
LEAK_BUGS: dict[tuple[str, str], str] = {}
SECRETS = ("environment", "private files", "/etc/shadow", "hidden inputs")


def _xfail(names, bugs):
    """The parameters ``names`` (a student, or a tuple of arguments), those in ``bugs`` as strict xfails."""
    return [pytest.param(*(n if isinstance(n, tuple) else (n,)), marks=pytest.mark.xfail(strict=True, reason=bugs[n]))
            if n in bugs else n for n in sorted(names)]


def _cli(args: list[str], course: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m classroom ARGS`` in the course folder, as the README says (bounded in time)."""
    done = subprocess.run([sys.executable, "-m", "classroom", *args], cwd=course, text=True, capture_output=True,
                          env=unactivated_env(), timeout=timeout)
    assert done.returncode == 0, f"python -m classroom {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _snapshot(course: Path) -> dict[str, tuple[str, int]]:
    """``{path: (sha256, mode)}`` of every file and link in the course folder but what grading writes, and
    of the files beside it."""
    out = {}
    for p in sorted([*course.rglob("*"), *course.parent.glob("*")]):
        rel = p.relative_to(course.parent)
        if rel.parts[0] == course.name and len(rel.parts) > 1 and rel.parts[1] in OUTPUTS \
                or "__pycache__" in rel.parts or p.is_dir() and not p.is_symlink():
            continue
        st = os.lstat(p)
        data = os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        out[str(rel)] = (hashlib.sha256(data).hexdigest(), stat.S_IMODE(st.st_mode) | stat.S_IFMT(st.st_mode))
    return out


def _canaries(course: Path) -> list[Path]:
    """Files named tnn-canary-* wherever an attack running in the grader's process would have put them."""
    places = {Path("/tmp"), Path.home(), Path.cwd(), course.parent, ROOT, ROOT.parent}
    found = [p for d in places if d.is_dir() for p in d.glob(CANARY + "*")]
    return found + list(course.rglob(CANARY + "*"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from classroom import grading
    from classroom.judge import Limits
    from classroom.sandbox import detect

    ok, sentence = detect()
    if not ok:  # the expected outcomes assume the sandbox (CI installs bubblewrap)
        (pytest.fail if os.environ.get("CI") else pytest.skip)(sentence)

    # a course folder of its own (copies, not links to this checkout, so that its files can be compared
    # byte for byte and mode for mode while others edit the checkout), a 0600 file inside it and one beside it
    course = tmp_path_factory.mktemp("class") / "course"
    course.mkdir()
    for name in LINKED + ["notebooks"]:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, course / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, course / name)
    stale = _canaries(course)
    assert not stale, f"remove {stale} (left by an earlier run) first"
    private = {"inside": course / "instructor_notes.txt", "beside": course.parent / "instructor_private.txt"}
    tokens = {}
    for where, path in private.items():
        tokens[where] = f"TNN-PRIVATE-{where}-{secrets.token_hex(8)}"
        path.write_text(tokens[where] + "\n")
        path.chmod(0o600)
    # a secret in the grader's environment (inherited by every job; never by student code)
    tokens["environment"] = f"TNN-SECRET-{secrets.token_hex(12)}"
    saved = os.environ.get("TNN_TEST_SECRET")
    os.environ["TNN_TEST_SECRET"] = tokens["environment"]
    try:
        # collect the class as the README does; a student folder without a notebook is not imported
        shutil.copytree(CORPUS / "submitted", course / "incoming")
        _cli(["import", "incoming"], course)
        (course / "submitted" / "missing_notebook").mkdir(parents=True, exist_ok=True)
        before = _snapshot(course)
        limits = Limits(cell_timeout=6, notebook_timeout=90, memory_bytes=3 * 1024 ** 3)
        results = grading.grade(course, [A], jobs=2, limits=limits, progress=None)
        yield course, {r.student: asdict(r) for r in results}, limits, before, tokens
    finally:
        if saved is None:
            os.environ.pop("TNN_TEST_SECRET", None)
        else:
            os.environ["TNN_TEST_SECRET"] = saved
        for p in Path("/tmp").glob(CANARY + "*"):   # never expected; removed so that reruns see fresh ones
            p.unlink()


def test_corpus_is_generated_from_the_student_notebook(tmp_path):
    subprocess.run([sys.executable, str(CORPUS / "build_corpus.py"), str(tmp_path)], check=True,
                   capture_output=True)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    kept = sorted(p.relative_to(CORPUS) for p in CORPUS.rglob("*") if p.is_file()
                  and p.name != "build_corpus.py" and "__pycache__" not in p.parts)
    assert fresh == kept
    for rel in fresh:
        assert (tmp_path / rel).read_bytes() == (CORPUS / rel).read_bytes(), f"{rel} is stale: rebuild the corpus"


def _outputs(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text())
    return "\n".join("".join(o.get("text", "")) if isinstance(o.get("text"), list) else str(o.get("text", ""))
                     for c in nb["cells"] for o in c.get("outputs", []))


@pytest.mark.parametrize("student", _xfail(EXPECTED, KNOWN_BUGS))
def test_expected_outcome(graded, student):
    course, results, _, _, _ = graded
    exp, got = EXPECTED[student], results[student]
    summary = json.dumps({k: got[k] for k in ("status", "reason", "score", "flags")}, indent=1)
    cells = {c["grade_id"]: c for c in got["cells"]}
    detail = summary + "\n" + json.dumps([c for c in got["cells"] if c["status"] != "passed"], indent=1)
    assert got["status"] == exp["status"], detail
    assert got["score"] == exp["score"], detail
    assert exp["reason_contains"].lower() in got["reason"].lower(), summary
    if exp["status"] != "graded":
        assert got["reason"], "a submission that is not simply graded must say why"
    for gid in exp.get("review_cells", []):
        assert cells[gid]["status"] == "needs review" and cells[gid]["points"] == 0, detail
    for gid in exp.get("failed_cells", []):
        assert cells[gid]["status"] == "failed" and cells[gid]["message"], detail
    for gid in exp.get("zero_cells", []):     # after the re-check lost its worker: 0, failed or needs review
        assert cells[gid]["points"] == 0 and cells[gid]["status"] != "passed" and cells[gid]["message"], detail
    for gid in exp.get("passed_cells", []):   # the honest cells of an attacking notebook keep their points
        assert cells[gid]["status"] == "passed" and cells[gid]["points"] == cells[gid]["max_points"], detail
    if "flag_contains" in exp:
        assert any(exp["flag_contains"] in f for f in got["flags"]), summary
    for name in exp.get("files_must_not_exist", []):
        assert not (course / name).exists() and not (ROOT / name).exists()
    if "canary" in exp:
        assert not [p for p in _canaries(course) if p.name == CANARY + exp["canary"]]
    executed = course / "autograded" / student / A / f"{A}.ipynb"
    if "max_autograded_bytes" in exp:
        assert executed.stat().st_size < exp["max_autograded_bytes"]
    for pattern, most in exp.get("output_int_at_most", []):
        found = [int(n) for n in re.findall(pattern, _outputs(executed))]
        assert found and max(found) <= most, f"{pattern}: {found} (at most {most})"


def test_course_files_untouched_by_students(graded):
    course, _, _, before, _ = graded
    assert not (course / "gradebook.db").exists() or (course / "gradebook.db").stat().st_size > 0
    assert not list(course.glob("PWNED*"))
    assert not _canaries(course)
    after = _snapshot(course)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"changed, added or removed during grading: {changed[:20]}"


def test_rerun_is_idempotent_and_resumes(graded):
    from classroom import grading

    course, _, limits, _, _ = graded
    files = sorted((course / "grading" / A).glob("*.json"))
    before = {p.name: p.read_bytes() for p in files}
    # an interrupted run: two results never got written
    (course / "grading" / A / "correct.json").unlink()
    (course / "grading" / A / "sys_exit.json").unlink()
    seen = []
    grading.grade(course, [A], jobs=1, limits=limits, progress=seen.append)
    # (a result that is not up to date by a known bug is regraded each time: test_result_is_up_to_date)
    regraded = lambda: sorted(s for s in (line.split()[1].rstrip(":") for line in seen) if s not in STALE)  # noqa: E731
    assert regraded() == ["correct", "sys_exit"]
    after = {p.name: p.read_bytes() for p in sorted((course / "grading" / A).glob("*.json"))}
    assert after == before  # byte-identical, sequential after parallel
    seen.clear()
    grading.grade(course, [A], jobs=2, limits=limits, progress=seen.append)
    assert regraded() == []  # nothing left to do


STALE: dict[str, str] = {}   # student -> the bug that leaves its result not up to date


@pytest.mark.parametrize("student", _xfail(EXPECTED, STALE))
def test_result_is_up_to_date(graded, student):
    """A repeated run changes nothing: every result records what it depends on."""
    from classroom import grading

    assert grading.up_to_date(graded[0], A, student)


@pytest.fixture(scope="module")
def feedback_html(graded):
    course, results, _, _, _ = graded
    _cli(["feedback", A], course, timeout=600)
    return {s: course / "feedback" / s / A / f"{A}.html" for s in results}


def test_feedback_and_gradebook(graded, feedback_html):
    from authoring.nbgrader import generate_notebooks
    from classroom import grading
    from classroom.results import load_results
    from coursework import scores

    course, results, _, _, _ = graded
    generate_notebooks(course, [A], db=True)
    grading.record_in_gradebook(course, load_results(course, [A], with_missing=False))
    got = scores(course, A)
    assert got["correct"] == (17.0, 17.0) and got["monkeypatch_comparisons"][0] == 15.0
    assert all(p.is_file() for p in feedback_html.values()), [s for s, p in feedback_html.items() if not p.is_file()]
    hidden = ["check_softmax(softmax, hidden=True)", "HIDDEN TESTS", 'expected="C"']
    solution_lines = ["shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C), largest entry of each row is 0"]
    for student, path in feedback_html.items():
        html = path.read_text()
        for text in hidden:
            assert text not in html, f"{path}: hidden test leaked"
        if student != "correct":
            for line in solution_lines:
                assert line not in html
        assert len(html) < 3_000_000


@pytest.fixture(scope="module")
def secret_texts(graded) -> dict[str, list[str]]:
    return _secrets(graded[4])


def _secrets(tokens: dict) -> dict[str, list[str]]:
    """What must never reach a student: the grader's environment secret, the private files' contents,
    the first line of /etc/shadow (when this process can read it), and the hidden inputs of softmax."""
    import numpy as np

    import classroom.hidden  # noqa: F401  (registers the hidden cases)
    from graders.fixtures import HIDDEN_SEED, generate

    out = {"environment": [tokens["environment"]], "private files": [tokens["inside"], tokens["beside"]]}
    try:
        first = next(l for l in Path("/etc/shadow").read_text().splitlines() if l.strip())
        out["/etc/shadow"] = [first]
    except (OSError, StopIteration):
        pass
    values = [float(v) for case in generate("softmax", "softmax", HIDDEN_SEED, hidden=True)
              for v in np.asarray(case.args["scores"]).ravel()]
    out["hidden inputs"] = [ECHO] + [repr(v) for v in values if len(repr(v)) >= 12] + [
        str(int.from_bytes(np.float64(v).tobytes(), "big")) for v in values[:4]]
    return out


@pytest.fixture(scope="module")
def student_texts(graded, feedback_html) -> dict[str, dict[str, str]]:
    """What each student gets to see (the feedback) and what records their grading."""
    course = graded[0]
    out = {}
    for student in EXPECTED:
        paths = {"feedback": feedback_html[student], "result": course / "grading" / A / f"{student}.json",
                 "executed notebook": course / "autograded" / student / A / f"{A}.ipynb"}
        out[student] = {k: p.read_text(errors="replace") if p.is_file() else "" for k, p in paths.items()}
    return out


@pytest.mark.parametrize("student, kind", _xfail([(s, k) for s in EXPECTED for k in SECRETS], LEAK_BUGS),
                         ids=lambda v: v.replace("/", "").replace(" ", "_"))
def test_nothing_secret_reaches_the_student(student_texts, secret_texts, student, kind):
    leaks = [f"{kind} in the {where}: {v[:60]}" for where, text in student_texts[student].items()
             for v in secret_texts.get(kind, []) if v in text]
    assert not leaks, leaks
