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


@pytest.mark.parametrize("kernel", ["", "Sandybridge", "Prescott"], ids=["auto", "Sandybridge", "Prescott"])
def test_generated_files_in_sync_whatever_the_blas_kernel(kernel):
    """Fixtures go through BLAS and LAPACK, whose last bits depend on the CPU kernel OpenBLAS selects:
    the sync check must pass on every machine (OPENBLAS_CORETYPE picks another kernel here)."""
    env = unactivated_env()
    env.pop("OPENBLAS_L2_SIZE", None)
    if kernel:
        env["OPENBLAS_CORETYPE"] = kernel
    else:
        env.pop("OPENBLAS_CORETYPE", None)
    result = subprocess.run([sys.executable, "-m", "authoring", "build", "--check", "preprocessing", "regularization"],
                            cwd=ROOT, text=True, capture_output=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fixture_comparison_tolerates_only_blas_noise(tmp_path):
    """Last-bit differences pass; a change a check could notice, or in a label, shape or dtype, fails."""
    from authoring.build import same_fixture

    base = {"pca_fit": [{"label": "a batch", "expected": {"__array__": [[1.0, -2.5e-3], [0.0, 3.0]],
                                                          "dtype": "float64", "shape": [2, 2]}}]}
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(base))

    def variant(change):
        data = json.loads(json.dumps(base))
        change(data["pca_fit"][0])
        b.write_text(json.dumps(data))
        return same_fixture(a, b)

    assert variant(lambda c: c["expected"]["__array__"][0].__setitem__(1, -2.5e-3 * (1 + 3e-14)))
    assert variant(lambda c: c["expected"]["__array__"][1].__setitem__(0, 1e-15))
    assert not variant(lambda c: c["expected"]["__array__"][0].__setitem__(1, -2.5e-3 * (1 + 1e-7)))
    assert not variant(lambda c: c.__setitem__("label", "another batch"))
    assert not variant(lambda c: c["expected"].__setitem__("dtype", "float32"))
    assert not variant(lambda c: c["expected"]["__array__"][1].__setitem__(1, 3))


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
    fixture.write_text(fixture.read_text().replace('"label": "', '"label": "changed ', 1))
    assert cli.build(check=True, only=[a], committed=tmp_path) == 1
    shutil.copy(ROOT / "graders" / "fixtures" / fixture.name, fixture)
    data = json.loads(fixture.read_text())

    def nudge(node):  # change the first float by 1e-6: more than BLAS noise, a check could notice
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for k, v in items:
            if isinstance(v, float):
                node[k] = v * (1 + 1e-6) + 1e-6
                return True
            if nudge(v):
                return True
        return False

    assert nudge(data)
    fixture.write_text(json.dumps(data))
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
    import importlib
    import inspect

    from graders import reference
    from graders.fixtures import cases

    topic = assignment.split("_", 1)[1]
    ref = reference.load(topic)
    described = getattr(importlib.import_module(f"graders.{topic}"), "REFERENCE_CALLS", {})
    for exercise in json.loads(Course.checkout().fixture(topic).read_text()):
        if exercise in described:   # its cases describe a call with functions in it (graders.fixtures.generate)
            continue
        params = [p.name for p in inspect.signature(getattr(ref, exercise)).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for hidden in (False, True):
            for case in cases(topic, exercise, hidden=hidden):
                assert tuple(case.args) == tuple(params[:len(case.args)]), (exercise, case.label, list(case.args), params)
