"""The class grader against a corpus of bad and adversarial submissions (tests/corpus/): every
expected outcome holds, nobody affects anybody else, parallel equals sequential, re-runs are
idempotent and an interrupted run resumes."""
import json
from dataclasses import asdict
import shutil
import subprocess
import sys

import pytest

from coursework import ROOT, make_course

CORPUS = ROOT / "tests" / "corpus"
A = "01_softmax"


def test_corpus_is_generated_from_the_student_notebook(tmp_path):
    subprocess.run([sys.executable, str(CORPUS / "build_corpus.py"), str(tmp_path)], check=True,
                   capture_output=True)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    kept = sorted(p.relative_to(CORPUS) for p in CORPUS.rglob("*") if p.is_file()
                  and p.name != "build_corpus.py" and "__pycache__" not in p.parts)
    assert fresh == kept
    for rel in fresh:
        assert (tmp_path / rel).read_bytes() == (CORPUS / rel).read_bytes(), f"{rel} is stale: rebuild the corpus"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    import os
    from classroom import grading
    from classroom.judge import Limits
    from classroom.sandbox import detect

    ok, sentence = detect()
    if not ok:  # the expected outcomes assume the sandbox (CI installs bubblewrap)
        (pytest.fail if os.environ.get("CI") else pytest.skip)(sentence)

    course = make_course(tmp_path_factory.mktemp("class") / "course")
    shutil.copytree(ROOT / "notebooks", course / "notebooks")
    shutil.copytree(CORPUS / "submitted", course / "submitted")
    limits = Limits(cell_timeout=6, notebook_timeout=90, memory_bytes=3 * 1024 ** 3)
    results = grading.grade(course, [A], jobs=2, limits=limits, progress=None)
    return course, {r.student: asdict(r) for r in results}, limits


EXPECTED = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_expected_outcome(graded, student):
    course, results, _ = graded
    exp, got = EXPECTED[student], results[student]
    summary = json.dumps({k: got[k] for k in ("status", "reason", "score", "flags")}, indent=1)
    cells = {c["grade_id"]: c for c in got["cells"]}
    assert got["status"] == exp["status"], summary + "\n" + json.dumps(
        [c for c in got["cells"] if c["status"] != "passed"], indent=1)
    assert got["score"] == exp["score"], summary + "\n" + json.dumps(
        [c for c in got["cells"] if c["status"] != "passed"], indent=1)
    assert exp["reason_contains"].lower() in got["reason"].lower(), summary
    if exp["status"] != "graded":
        assert got["reason"], "a submission that is not simply graded must say why"
    for gid in exp.get("review_cells", []):
        assert cells[gid]["status"] == "needs review" and cells[gid]["points"] == 0, summary
    for gid in exp.get("failed_cells", []):
        assert cells[gid]["status"] == "failed" and cells[gid]["message"], summary
    if "flag_contains" in exp:
        assert any(exp["flag_contains"] in f for f in got["flags"]), summary
    for name in exp.get("files_must_not_exist", []):
        assert not (course / name).exists() and not (ROOT / name).exists()
    if "max_autograded_bytes" in exp:
        nb = course / "autograded" / student / A / f"{A}.ipynb"
        assert nb.stat().st_size < exp["max_autograded_bytes"]


def test_course_files_untouched_by_students(graded):
    course, _, _ = graded
    assert not (course / "gradebook.db").exists() or (course / "gradebook.db").stat().st_size > 0
    assert not list(course.glob("PWNED*"))


def test_rerun_is_idempotent_and_resumes(graded):
    from classroom import grading

    course, _, limits = graded
    files = sorted((course / "grading" / A).glob("*.json"))
    before = {p.name: p.read_bytes() for p in files}
    # an interrupted run: two results never got written
    (course / "grading" / A / "correct.json").unlink()
    (course / "grading" / A / "sys_exit.json").unlink()
    seen = []
    grading.grade(course, [A], jobs=1, limits=limits, progress=seen.append)
    assert sorted(line.split()[1].rstrip(":") for line in seen) == ["correct", "sys_exit"]
    after = {p.name: p.read_bytes() for p in sorted((course / "grading" / A).glob("*.json"))}
    assert after == before  # byte-identical, sequential after parallel
    seen.clear()
    grading.grade(course, [A], jobs=2, limits=limits, progress=seen.append)
    assert seen == []  # nothing left to do


def test_feedback_and_gradebook(graded):
    from classroom import grading
    from classroom.feedback import feedback

    course, results, _ = graded
    from authoring.nbgrader import generate_notebooks
    generate_notebooks(course, [A], db=True)
    from classroom.results import load_results
    grading.record_in_gradebook(course, load_results(course, [A], with_missing=False))
    from coursework import scores
    got = scores(course, A)
    assert got["correct"] == (17.0, 17.0) and got["monkeypatch_comparisons"][0] == 15.0
    written = feedback(course, A)
    assert len(written) == len(results)
    source = json.loads((ROOT / "solutions" / A / f"{A}.ipynb").read_text())
    hidden = ["check_softmax(softmax, hidden=True)", "HIDDEN TESTS", 'expected="C"']
    solution_lines = ["shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C), largest entry of each row is 0"]
    for path in written:
        html = path.read_text()
        for text in hidden:
            assert text not in html, f"{path}: hidden test leaked"
        if "correct" not in path.parts[-3]:
            for line in solution_lines:
                assert line not in html
        assert len(html) < 3_000_000
