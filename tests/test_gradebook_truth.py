"""nbgrader's gradebook is the one source of truth for grades: a manual score and a comment entered the
way the formgrader enters them (nbgrader's Gradebook API, as its grade and comment API handlers do)
reach `export`, `feedback` and `report`; a manual grade settles "needs review"; the reason a cell needs
review is in the gradebook where the formgrader shows it (the auto comment of the answer cell above the
test). `grade` prints no SQLAlchemy warning. One real notebook (01_softmax) is graded end to end."""
import csv
import io
import json

import pytest
from nbgrader.api import Gradebook

from classroom.grading import record_in_gradebook
from classroom.results import load_results
from coursework import course_cli, make_course, perfect_submission, submit

A = "01_softmax"
CELL, ANSWER = "test_softmax", "softmax"        # a test cell and the answer cell above it
COMMENT = "Right idea; subtract the row maximum before exp next time."


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("truth") / "course")
    course_cli(["release", A], course)
    release = course / "notebooks" / A / f"{A}.ipynb"
    submit(course, "alice", A, perfect_submission(A, release))
    submit(course, "bob", A, perfect_submission(A, release))
    out = course_cli(["grade", A, "--jobs", "2"], course)
    return course, out


def _rows(course):
    course_cli(["export", "grades.csv"], course)
    return {r["student"]: r for r in csv.DictReader(io.StringIO((course / "grades.csv").read_text()))}


def test_grade_prints_no_sqlalchemy_warning(graded):
    _, out = graded
    assert "SAWarning" not in out.stdout + out.stderr and "not in session" not in out.stdout + out.stderr


def test_a_manual_grade_and_comment_reach_export_feedback_and_report(graded):
    course, _ = graded
    # bob's test_softmax disagreed between the two runs (as a disagreement is recorded by grade)
    path = course / "grading" / A / "bob.json"
    result = json.loads(path.read_text())
    for cell in result["cells"]:
        if cell["grade_id"] == CELL:
            cell.update(status="needs review", points=0.0, recheck=False,
                        message="the visible tests passed only in the student's kernel")
            max_points = cell["max_points"]
    result.update(status="needs review", reason="1 test cell(s) passed in one run and failed in the other",
                  score=result["score"] - max_points)
    path.write_text(json.dumps(result))
    record_in_gradebook(course, load_results(course, [A], with_missing=False, gradebook=False))
    rows = _rows(course)
    assert rows["bob"]["status"] == "needs review" and rows["bob"]["needs_review_cells"] == CELL

    # the formgrader lists the cell for manual grading, with the reason under the answer it tests
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade(CELL, A, A, "bob")
        assert grade.needs_manual_grade and grade.auto_score == 0
        assert "Needs review (test_softmax" in gb.find_comment(ANSWER, A, A, "bob").auto_comment
        assert "passed only in the student's kernel" in gb.find_comment(ANSWER, A, A, "bob").auto_comment
        assert not gb.find_comment(ANSWER, A, A, "alice").auto_comment
        # the instructor grades it, as the formgrader's API handlers do
        grade.manual_score = max_points
        grade.needs_manual_grade = False
        gb.find_comment(ANSWER, A, A, "bob").manual_comment = COMMENT
        gb.db.commit()
        total = gb.find_submission(A, "bob").score

    rows = _rows(course)
    bob = rows["bob"]
    assert bob["status"] == "graded" and bob["reason"] == "" and bob["needs_review_cells"] == ""
    assert float(bob["score"]) == total == float(bob["max_score"]) == float(rows["alice"]["score"])
    assert bob["manual_cells"] == f"{CELL}={max_points:g}" and bob["comments"] == f"{ANSWER}: {COMMENT}"
    assert rows["alice"]["manual_cells"] == rows["alice"]["comments"] == ""

    course_cli(["feedback", A], course)
    page = (course / "feedback" / "bob" / A / f"{A}.html").read_text()
    assert f"{total:g} / {total:g} points</strong> (graded)" in page
    assert "graded by hand" in page and "Comments from your instructor" in page
    assert COMMENT.replace(";", ";") in page.replace("&#x27;", "'")

    course_cli(["report", "report"], course)
    report = (course / "report" / "report.html").read_text()
    attention = report.split("Submissions to look at")[1].split("<h3")[0]
    assert "<td>bob</td>" not in attention
    assert "Graded by hand" in report and COMMENT in report.replace("&#x27;", "'")

    # grading again (resumes: nothing to regrade) keeps the manual grade; nbgrader's own export agrees
    course_cli(["grade", A], course)
    assert _rows(course)["bob"]["status"] == "graded"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_grade(CELL, A, A, "bob").manual_score == max_points
        assert not gb.find_grade(CELL, A, A, "bob").needs_manual_grade
    course_cli(["nbgrader", "export", "--CsvExportPlugin.to=nbgrader.csv"], course)
    theirs = {r["student_id"]: r for r in csv.DictReader(io.StringIO((course / "nbgrader.csv").read_text()))}
    assert float(theirs["bob"]["raw_score"]) == float(bob["score"])
