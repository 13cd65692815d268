"""Generated files are in sync with their source; notebooks are committed clean and well-formed."""
import json
import re
import subprocess
import sys

import pytest

import tnn_course
from coursework import ROOT, unactivated_env
from graders.layout import Course

ASSIGNMENTS = Course.checkout().assignments()
ALL_NOTEBOOKS = sorted(ROOT.glob("solutions/*/*.ipynb")) + sorted(ROOT.glob("notebooks/*/*.ipynb"))


def test_generated_files_in_sync_with_solutions():
    """`python -m authoring build --check` regenerates notebooks/ and fixtures/ and diffs them."""
    result = subprocess.run([sys.executable, "-m", "authoring", "build", "--check"], cwd=ROOT, text=True,
                            capture_output=True, env=unactivated_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_sync_check_can_fail(tmp_path):
    """The sync check notices an edited student notebook and an edited fixture (so it can fail)."""
    import shutil
    from authoring import build as cli
    a = ASSIGNMENTS[0]
    shutil.copytree(ROOT / "notebooks" / a, tmp_path / "notebooks" / a)
    shutil.copytree(ROOT / "graders" / "fixtures", tmp_path / "graders" / "fixtures")
    assert cli.build(check=True, only=[a], committed=tmp_path) == 0
    target = tmp_path / "notebooks" / a / f"{a}.ipynb"
    target.write_text(target.read_text().replace("raise NotImplementedError()", "pass", 1))
    assert cli.build(check=True, only=[a], committed=tmp_path) == 1
    shutil.copy(ROOT / "notebooks" / a / f"{a}.ipynb", target)
    fixture = tmp_path / "graders" / "fixtures" / f"{a.split('_', 1)[1]}.json"
    fixture.write_text(fixture.read_text().replace("1", "2", 1))
    assert cli.build(check=True, only=[a], committed=tmp_path) == 1


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_notebooks_have_no_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell.get("id")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebook_structure(assignment):
    nb = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]) == tnn_course.SETUP_CELL, "the first code cell must be the set-up cell"
    meta = [c["metadata"].get("nbgrader", {}) for c in nb["cells"]]
    ids = [m["grade_id"] for m in meta if m]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    tests = [c for c in code if c["metadata"].get("nbgrader", {}).get("grade")]
    solutions = [c for c in code if c["metadata"].get("nbgrader", {}).get("solution")]
    assert tests and solutions
    for c in tests:
        assert c["metadata"]["nbgrader"]["points"] > 0
        src = "".join(c["source"])
        assert src.startswith('"""'), f"{c['id']}: a test cell opens with a docstring saying what it checks"
        assert "### BEGIN HIDDEN TESTS" in src, f"{c['id']}: every graded cell has hidden tests"
    for c in solutions:
        src = "".join(c["source"])
        assert src.count("### BEGIN SOLUTION") == src.count("### END SOLUTION") == 1, c["id"]
    # every exercise function has a test cell calling its check
    defined = re.findall(r"^def (\w+)\(", "".join("".join(c["source"]) for c in solutions), re.M)
    all_tests = "".join("".join(c["source"]) for c in tests)
    for name in defined:
        assert f"check_{name}(" in all_tests, f"exercise {name} has no visible check"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_version_leaks_no_solution_or_hidden_test(assignment):
    text = (ROOT / "notebooks" / assignment / f"{assignment}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    source = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    block_re = re.compile(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END (?:SOLUTION|HIDDEN TESTS)", re.S)
    sources = ["".join(c["source"]) for c in source["cells"]]
    secret = {l.strip() for src in sources for block in block_re.findall(src) for l in block.splitlines()}
    public = {l.strip() for src in sources for l in block_re.sub("", src).splitlines()}
    for line in sorted(secret - public):
        if len(line) > 25 and not line.startswith("#"):
            assert line not in text, f"{assignment}: solution/hidden line leaked: {line}"


def test_reference_loader_reads_the_solution_notebook():
    from graders import reference
    ref = reference.load("softmax")
    assert callable(ref.softmax) and callable(ref.softmax_cross_entropy)
    assert "rel_err" not in vars(ref)  # in-context answers are not executed


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_cases_pass_arguments_in_the_signature_order(assignment):
    """The checks call the student's function with each case's arguments positionally, so every case
    (visible from the fixture, hidden from the reference) lists them in the order of the reference
    function's parameters."""
    import inspect

    from graders import reference
    from graders.fixtures import cases

    topic = assignment.split("_", 1)[1]
    ref = reference.load(topic)
    for exercise in json.loads(Course.checkout().fixture(topic).read_text()):
        params = [p.name for p in inspect.signature(getattr(ref, exercise)).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for hidden in (False, True):
            for case in cases(topic, exercise, hidden=hidden):
                assert tuple(case.args) == tuple(params[:len(case.args)]), (exercise, case.label, list(case.args), params)
