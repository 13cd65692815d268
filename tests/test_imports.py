"""`utils`, `graders` and `datasets` always resolve to this course's packages, even when packages
of the same names are installed or already imported (Hugging Face's `datasets` is common)."""
import json
import subprocess
import sys
import textwrap

import pytest

import tnn_course
from coursework import ROOT, error_names, fake_packages, unactivated_env


def run_setup_cell(cwd, fakes, preimport=True, extra_env=None):
    code = ""
    if preimport:  # the impostors are imported first, as another library might do
        code += "import utils, datasets, graders\nprint('preimported-impostors', getattr(datasets, 'IMPOSTOR', False))\n"
    code += tnn_course.SETUP_CELL + textwrap.dedent("""
        import utils, graders, datasets, graders.softmax, utils.gradcheck
        for m in (utils, graders, datasets, graders.softmax, utils.gradcheck):
            print(m.__name__, m.__file__)
        assert not hasattr(datasets, "IMPOSTOR") and callable(datasets.load_digits)
    """)
    env = unactivated_env(PYTHONPATH=str(fakes), **(extra_env or {}))
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, text=True, capture_output=True)


@pytest.mark.parametrize("where", ["notebooks/01_softmax", "solutions/01_softmax", "."])
@pytest.mark.parametrize("preimport", [True, False], ids=["impostors-imported-first", "impostors-on-path"])
def test_setup_cell_picks_the_course_packages(tmp_path, where, preimport):
    result = run_setup_cell(ROOT / where, fake_packages(tmp_path / "fakes"), preimport)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    if preimport and where != ".":  # (from the root itself, python -c finds the course's own first)
        assert lines.pop(0) == "preimported-impostors True"
    for line in lines:
        if not line.startswith("preimported"):
            assert line.split()[1].startswith(str(ROOT)), line


def test_setup_cell_in_a_copy_elsewhere_uses_env_override(tmp_path):
    """A sandbox that runs a notebook outside the course tree points TNN_COURSE_ROOT at the course."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = run_setup_cell(outside, fake_packages(tmp_path / "fakes"), extra_env={"TNN_COURSE_ROOT": str(ROOT)})
    assert result.returncode == 0, result.stderr


def test_activate_refuses_a_namespace_package(tmp_path):
    """A course folder without graders/__init__.py must not silently import something else."""
    (tmp_path / "utils").mkdir()
    (tmp_path / "graders").mkdir()
    (tmp_path / "datasets").mkdir()
    code = f"import tnn_course; tnn_course.activate({str(tmp_path)!r})"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, text=True, capture_output=True)
    assert result.returncode != 0 and "not the course's" in result.stderr


def test_tests_import_the_course_packages():
    import datasets
    import graders
    import utils
    for m in (utils, graders, datasets):
        assert m.__file__.startswith(str(ROOT)), m.__file__


def test_student_notebook_runs_with_impostors_installed(tmp_path):
    """Execute the student notebook in its folder, as JupyterLab does, with impostors on the path."""
    nbclient = pytest.importorskip("nbclient")
    import nbformat
    import os

    nb = nbformat.read(ROOT / "notebooks/01_softmax/01_softmax.ipynb", as_version=4)
    fakes = fake_packages(tmp_path / "fakes")
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(fakes)
    try:
        nbclient.NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT / "notebooks/01_softmax")}}).execute()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = old
    out = tmp_path / "executed.ipynb"
    out.write_text(json.dumps(nb))
    errors = error_names(out)
    assert errors and {e for _, e in errors} == {"NotImplementedError"}, errors
