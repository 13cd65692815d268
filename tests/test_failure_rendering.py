"""A failed check reads like a tutor's note wherever it runs: in a notebook (IPython renders it as its
message, with no check-library frames), under nbgrader (the cell still fails and scores 0) and under
pytest (the test still fails, with the message)."""
import json
import os
import re
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient

from coursework import ROOT, unactivated_env

A = "01_softmax"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NAIVE = ("def softmax(scores):\n    e = np.exp(scores)  # no shift\n"
         "    return e / e.sum(axis=1, keepdims=True)\n")
CRASHING = ("def softmax(scores):\n    top = scores.max(axis=1)\n"
            "    return np.exp(scores - top)  # (N, C) minus (N,)\n")
WRONG_VALUES = ("def softmax(scores):\n    e = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
                "    return e / e.sum()  # sums over the whole batch\n")


def _run(softmax_source: str | None, tmp_path, nbgrader: bool = False) -> dict:
    """The student notebook of 01 with ``softmax`` replaced, run up to its check; the check cell."""
    nb = nbformat.read(ROOT / "notebooks" / A / f"{A}.ipynb", as_version=4)
    ids = [c.get("id") for c in nb.cells]
    nb.cells = nb.cells[:ids.index("test_softmax") + 1]
    if softmax_source is not None:
        nb.cells[ids.index("softmax")].source = softmax_source
    env = dict(os.environ, TNN_FAST="1")
    env.pop("NBGRADER_EXECUTION", None)
    if nbgrader:
        env["NBGRADER_EXECUTION"] = "autograde"
    folder = tmp_path / A
    folder.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks" / A)}})
    with client.setup_kernel(env=env):
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
    return nb.cells[-1]


def _error(cell) -> tuple[dict, list[str]]:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert len(errors) == 1, cell.outputs
    return errors[0], [ANSI.sub("", l) for line in errors[0].traceback for l in line.splitlines()]


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("render")
    return {name: _run(src, tmp / name) for name, src in
            [("naive", NAIVE), ("crashing", CRASHING), ("wrong", WRONG_VALUES), ("stub", None)]}


def test_in_a_notebook_the_message_comes_first_without_check_library_frames(cells):
    err, lines = _error(cells["naive"])
    assert err.ename == "CheckFailure"
    assert lines[0].startswith("CheckFailure: softmax ran into a floating-point problem: overflow"), lines
    assert lines[1].startswith("Input: large scores"), lines
    assert any(l.startswith("Hint: exp of a large number overflows") for l in lines)
    text = "\n".join(lines)
    for internal in ("graders/", "checking.py", "Traceback", "During handling", "File \""):
        assert internal not in text, (internal, text)
    assert "Run All stops at a failing cell" in text
    assert len(lines) <= 14


def test_wrong_values_show_expected_got_and_input(cells):
    _, lines = _error(cells["wrong"])
    assert lines[0].startswith("CheckFailure: the sum of each row of softmax(scores) is wrong"), lines
    text = "\n".join(lines)
    assert "expected" in text and "got" in text and "Input: " in text and "graders/" not in text


def test_an_exception_in_the_students_code_shows_their_line_only(cells):
    _, lines = _error(cells["crashing"])
    text = "\n".join(lines)
    assert lines[0].startswith("CheckFailure: softmax raised ValueError"), lines
    assert "Where it happened in your code (ValueError):" in text
    assert re.search(r"Cell In\[\d+\], line 3, in softmax", text), text
    assert "return np.exp(scores - top)" in text
    assert "graders/" not in text and "site-packages" not in text


def test_an_exercise_not_started_reads_as_one_sentence(cells):
    err, lines = _error(cells["stub"])
    assert err.ename == "NotImplementedError"  # progress and the pipeline tests count it by this name
    assert lines[0] == ("NotImplementedError: softmax is not implemented yet: replace `raise NotImplementedError()` "
                        "in its cell with your code, run that cell, then this check again.")
    assert "graders/" not in "\n".join(lines)


def test_under_nbgrader_the_cell_still_fails_and_scores_zero(tmp_path):
    from nbgrader.utils import determine_grade

    cell = _run(NAIVE, tmp_path, nbgrader=True)
    err, lines = _error(cell)
    assert err.ename == "CheckFailure" and lines[0].startswith("CheckFailure: softmax ran into")
    assert "Run All stops" not in "\n".join(lines)  # nbgrader runs every cell anyway
    assert determine_grade(cell) == (0, cell.metadata.nbgrader["points"])


def test_under_pytest_the_test_fails_with_the_message(tmp_path):
    test = tmp_path / "test_student.py"
    test.write_text(textwrap.dedent(f"""
        import numpy as np
        import tnn_course; tnn_course.activate({str(ROOT)!r})
        from graders.softmax import check_softmax

        {textwrap.indent(NAIVE, '        ').strip()}

        def test_softmax():
            check_softmax(softmax)
    """))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                          cwd=tmp_path, capture_output=True, text=True, env=dict(unactivated_env(), PYTHONPATH=str(ROOT)))
    assert done.returncode == 1, done.stdout
    assert "1 failed" in done.stdout
    assert "softmax ran into a floating-point problem" in done.stdout
    assert "During handling of the above exception" not in done.stdout
