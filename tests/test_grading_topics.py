"""The class grader (sandbox, in-kernel run, trusted re-check) on every topic: a perfect submission
earns full marks with every test cell passing in the student's kernel *and* in the re-check, and a
blank one earns nothing without being flagged. (tests/test_grading_corpus.py covers the bad and
adversarial submissions on one notebook.)"""
import json
from dataclasses import asdict
import os
import shutil

import pytest

from coursework import ROOT, make_course, perfect_submission, submit
from graders.layout import Course

ASSIGNMENTS = [a for a in Course.checkout().assignments() if not os.environ.get("TNN_TOPICS") or a in os.environ["TNN_TOPICS"].split(",")]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from classroom import grading
    from classroom.sandbox import detect

    ok, sentence = detect()
    if not ok:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(sentence)
    course = make_course(tmp_path_factory.mktemp("class") / "course")
    shutil.copytree(ROOT / "notebooks", course / "notebooks")
    for a in ASSIGNMENTS:
        release = course / "notebooks" / a / f"{a}.ipynb"
        submit(course, "perfect", a, perfect_submission(a, release))
        submit(course, "blank", a, json.loads(release.read_text()))
    graded = grading.grade(course, ASSIGNMENTS, jobs=2, progress=None)
    return {(r.assignment, r.student): asdict(r) for r in graded}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_perfect_submission_full_marks_in_kernel_and_recheck(results, assignment):
    r = results[(assignment, "perfect")]
    problems = [(c["grade_id"], c["status"], c["in_kernel"], c["recheck"], c["message"][:300])
                for c in r["cells"] if c["status"] != "passed"]
    assert (r["status"], r["reason"], problems) == ("graded", "", [])
    assert r["score"] == r["max_score"] > 0
    assert all(c["in_kernel"] and c["recheck"] for c in r["cells"])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_submission_scores_zero_without_review(results, assignment):
    r = results[(assignment, "blank")]
    assert r["status"] == "graded" and r["score"] == 0, (r["status"], r["reason"])
    assert all(c["status"] == "failed" and not c["in_kernel"] and not c["recheck"] for c in r["cells"])
    others = [(c["grade_id"], c["message"][:200]) for c in r["cells"]
              if not c["message"].startswith("NotImplementedError")]
    assert others == [], "a blank notebook should fail only because nothing is implemented yet"
