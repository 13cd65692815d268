"""End to end with nbgrader, as an instructor runs it, from a virtual environment that is not
activated and with impostor `utils`/`datasets`/`graders` packages on the path:
release every topic, autograde a perfect and a blank submission, check the scores."""
import json
import os

import pytest

from coursework import (ROOT, error_names, fake_packages, course_cli, make_course, perfect_submission,
                        scores, stderr_outputs, submit, unactivated_env)
from graders.layout import Course

# TNN_TOPICS=02_activations,03_preprocessing limits the run while a notebook is being written.
ASSIGNMENTS = [a for a in Course.checkout().assignments() if not os.environ.get("TNN_TOPICS") or a in os.environ["TNN_TOPICS"].split(",")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("course"))
    fakes = fake_packages(tmp_path_factory.mktemp("impostors"))
    env = unactivated_env(PYTHONPATH=str(fakes))
    for a in ASSIGNMENTS:
        course_cli(["nbgrader", "generate_assignment", a, "--force"], cwd=course, env=env)
        release = course / "notebooks" / a / f"{a}.ipynb"
        submit(course, "perfect", a, perfect_submission(a, release))
        submit(course, "blank", a, json.loads(release.read_text()))
        course_cli(["nbgrader", "autograde", a, "--force"], cwd=course, env=env)
    return course


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_equals_committed_student_version(graded, assignment):
    fresh = (graded / "notebooks" / assignment / f"{assignment}.ipynb").read_text()
    assert fresh == (ROOT / "notebooks" / assignment / f"{assignment}.ipynb").read_text()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(graded, assignment):
    score, max_score = scores(graded, assignment)["perfect"]
    nb = graded / "autograded" / "perfect" / assignment / f"{assignment}.ipynb"
    assert max_score > 0
    assert score == max_score, f"{assignment}: {score}/{max_score}; errors: {error_names(nb)}"
    assert error_names(nb) == []
    assert stderr_outputs(nb) == [], "a cell wrote to stderr"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_scores_zero_and_fails_only_with_not_implemented(graded, assignment):
    score, max_score = scores(graded, assignment)["blank"]
    assert score == 0 and max_score > 0
    nb = graded / "autograded" / "blank" / assignment / f"{assignment}.ipynb"
    errors = error_names(nb)
    assert errors, "the blank notebook raised nothing"
    assert {name for _, name in errors} == {"NotImplementedError"}, errors
    assert not any(cell == "setup" for cell, _ in errors), "the set-up cell failed (imports)"
