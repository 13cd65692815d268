"""Self-study: reveal one exercise at a time, progress over the course, the student release bundle."""
import json
import re
import shutil
import subprocess
import sys

import pytest

from coursework import ROOT, error_names, fake_packages, perfect_submission, unactivated_env
from graders import reveal as rv
from authoring.bundle import make_bundle
from graders.layout import Course
from graders.progress import assess, from_json, plot, table

ALL_EXERCISES = [(a, e) for a, names in rv.exercises().items() for e in names]


@pytest.mark.parametrize("assignment, exercise", ALL_EXERCISES)
def test_every_exercise_has_a_hint_and_a_solution(assignment, exercise):
    hint = rv.reveal(exercise, topic=assignment)
    assert "No hint has been written" not in str(hint), f"write HINTS[{exercise!r}] in graders/{assignment[3:]}.py"
    assert 'solution=True' in str(hint) and "BEGIN" not in str(hint)
    sol = rv.reveal(exercise, solution=True, topic=assignment)
    assert sol.code and "### BEGIN" not in sol.code and "### END" not in sol.code and "HIDDEN" not in sol.code
    assert "<span" in sol._repr_html_()  # syntax-highlighted


def test_reveal_shows_only_the_requested_exercise():
    code = rv.reveal("softmax", solution=True).code
    assert code.startswith("def softmax(scores):")
    assert "def softmax_cross_entropy" not in code and "def cross_entropy_loss" not in code
    assert "shifted = scores - scores.max(axis=1, keepdims=True)" in code


def test_reveal_unknown_exercise_suggests_the_nearest_names():
    with pytest.raises(KeyError) as caught:
        rv.reveal("sofmax")
    message = str(caught.value)
    assert message.startswith("There is no exercise called 'sofmax'. Did you mean 'softmax'")
    assert len(message) < 400  # a few suggestions, not every name of the course
    rendered = caught.value._render_traceback_()  # in a notebook: the sentence, no frames
    assert "graders/" not in "\n".join(rendered) and "There is no exercise" in rendered[0]


def test_reveal_takes_the_check_names_progress_and_feedback_print():
    assert rv.reveal("test_softmax").title == "Hint for softmax"
    assert rv.reveal("test_softmax", solution=True).code.startswith("def softmax(scores):")
    assert rv.reveal("test_planted_bug").title == "Hint for planted_bug"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("bundle") / "course")


def _secret_lines():
    """Solution and hidden-test lines of every source notebook that appear nowhere public."""
    block = re.compile(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END (?:SOLUTION|HIDDEN TESTS)", re.S)
    secret, public = set(), set()
    for path in ROOT.glob("solutions/*/*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            secret |= {l.strip() for b in block.findall(src) for l in b.splitlines()}
            public |= {l.strip() for l in block.sub("", src).splitlines()}
    return {l for l in secret - public if len(l) > 25 and not l.startswith("#")}


# The course library: working versions of layers, optimizers and gradient checking that later notebooks
# and the training helper build on (as cs231n ships layers.py with later assignments). They are public by
# design (README, "The course library"), so the search for solution code skips exactly these files.
LIBRARY_VERSIONS = {"utils/layers.py", "utils/optim.py", "utils/gradcheck.py"}


def test_bundle_holds_no_solution_code_and_no_hidden_cases(bundle):
    assert not (bundle / "solutions").exists() and not (bundle / "authoring").exists() and not (bundle / "classroom").exists()
    secret = _secret_lines()
    assert len(secret) > 20  # the search has something to find
    for path in bundle.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="ignore")
            assert not re.search(r"^\s*# (BEGIN|END) HIDDEN CASES", text, re.M), path
            assert not re.search(r"^\s*### BEGIN (SOLUTION|HIDDEN TESTS)", text, re.M), path
            if str(path.relative_to(bundle)) in LIBRARY_VERSIONS:
                continue
            leaked = [l for l in secret if l in text]
            assert not leaked, f"{path.relative_to(bundle)} contains solution code: {leaked[:3]}"
    # the stripped check modules still import and run (visible cases only)
    done = subprocess.run([sys.executable, "-c", "import tnn_course; tnn_course.activate();"
                           "import graders.softmax, graders.reference as r; print(r.SOLUTIONS.exists())"],
                          cwd=bundle, text=True, capture_output=True, env=unactivated_env())
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr


def test_bundle_reveal_says_solutions_are_not_included_and_hints_still_work(bundle):
    code = ("import tnn_course; tnn_course.activate()\n"
            "from graders.reveal import reveal\n"
            "print(reveal('softmax'))\nprint('=====')\nprint(reveal('softmax', solution=True))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=bundle / "notebooks" / "01_softmax",
                          text=True, capture_output=True, env=unactivated_env(PYTHONPATH=str(bundle)))
    assert done.returncode == 0, done.stderr
    hint, sol = done.stdout.split("=====")
    assert "subtract each row's maximum" in hint
    assert "Solutions are not part of this release" in sol and "def softmax" not in sol


def test_bundle_notebook_runs_with_impostors_and_fails_only_with_not_implemented(bundle, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb_path = bundle / "notebooks" / "01_softmax" / "01_softmax.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    fakes = fake_packages(tmp_path / "fakes")
    import os
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(fakes)
    try:
        NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(nb_path.parent)}}).execute()
    finally:
        os.environ.pop("PYTHONPATH") if old is None else os.environ.__setitem__("PYTHONPATH", old)
    out = tmp_path / "run.ipynb"
    nbformat.write(nb, out)
    assert {e for _, e in error_names(out)} == {"NotImplementedError"}


def _student_copy(tmp_path, nb: dict):
    folder = tmp_path / "notebooks" / "01_softmax"
    folder.mkdir(parents=True)
    (folder / "01_softmax.ipynb").write_text(json.dumps(nb))
    return folder / "01_softmax.ipynb"


def test_progress_blank_perfect_and_partly_wrong(tmp_path):
    release = ROOT / "notebooks" / "01_softmax" / "01_softmax.ipynb"
    blank = assess(release)
    assert blank.points == 0 and blank.max_points == 17
    assert {e.status for e in blank.exercises} == {"not started"}

    perfect = perfect_submission("01_softmax", release)
    result = assess(_student_copy(tmp_path / "p", perfect))
    assert result.points == result.max_points == 17, table([result])

    partly = perfect_submission("01_softmax", release)
    for cell in partly["cells"]:
        if cell.get("id") == "softmax_jacobian":  # only the diagonal: a classic mistake
            cell["source"] = ("def softmax_jacobian(z):\n    a = np.exp(z - z.max()); a = a / a.sum()\n"
                              "    return np.diag(a * (1 - a))\n")
    result = assess(_student_copy(tmp_path / "w", partly))
    by_check = {e.check: e for e in result.exercises}
    assert by_check["test_softmax_jacobian"].status == "failed"
    assert by_check["test_softmax_jacobian"].message.startswith("CheckFailure: softmax_jacobian(z) is wrong")
    assert by_check["test_softmax"].status == "passed"
    assert result.points == 15
    text = table([result])
    assert "[!] test_softmax_jacobian" in text and re.search(r"15 / 17\s+points", text)
    fig = plot([result, blank], tmp_path / "progress.png")
    assert (tmp_path / "progress.png").stat().st_size > 5000 and len(fig.axes[0].patches) == 4


def _partly_wrong_course(folder):
    """01 done, with the planted-bug question answered wrongly and the Jacobian only on its diagonal."""
    release = ROOT / "notebooks" / "01_softmax" / "01_softmax.ipynb"
    nb = perfect_submission("01_softmax", release)
    for cell in nb["cells"]:
        if cell.get("id") == "planted_bug":
            cell["source"] = 'planted_bug = "A"\n'
    (folder / "01_softmax").mkdir(parents=True)
    (folder / "01_softmax" / "01_softmax.ipynb").write_text(json.dumps(nb))
    shutil.copytree(ROOT / "notebooks" / "02_activations", folder / "02_activations")


def test_progress_outside_the_course_tells_right_from_wrong_answers(tmp_path):
    folder = tmp_path / "my work"
    _partly_wrong_course(folder)
    done = subprocess.run([sys.executable, "-m", "graders", "progress", "--notebooks", str(folder), "--no-cache"],
                          cwd=tmp_path, text=True, capture_output=True,  # run from outside the course
                          env=dict(unactivated_env(), PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "ModuleNotFoundError" not in text
    assert re.search(r"\[!\] test_planted_bug\s+wrong\s+planted_bug is 'A'", text), text
    assert re.search(r"01_softmax\s+16 / 17\s+points", text), text  # the right answers count, the wrong one not
    assert "replace `raise NotImplementedError()`" not in text  # one line for what is not started
    assert max(len(l) for l in text.splitlines()) <= 110
    assert "not started: test_sigmoid_forward, test_sigmoid_backward" in text


def test_progress_without_solutions_says_an_answer_is_recorded_not_passed(tmp_path, monkeypatch):
    import graders.progress as progress

    _partly_wrong_course(tmp_path)
    monkeypatch.setattr(progress, "_solution_tests", lambda notebook: {})  # as in a student release
    result = assess(tmp_path / "01_softmax" / "01_softmax.ipynb")
    by_check = {e.check: e for e in result.exercises}
    assert by_check["test_planted_bug"].status == "answered"
    assert "graded later" in by_check["test_planted_bug"].message
    assert result.points == 14  # the three question points are not claimed


def test_progress_runs_a_notebook_again_only_when_it_changed(tmp_path, monkeypatch):
    import graders.progress as progress

    shutil.copytree(ROOT / "notebooks" / "02_activations", tmp_path / "nbs" / "02_activations")
    monkeypatch.setattr(progress, "_cache_path", lambda: tmp_path / "cache.json")
    runs = []
    real = progress.assess
    monkeypatch.setattr(progress, "assess", lambda p: runs.append(p) or real(p))
    first = progress.collect(tmp_path / "nbs")
    second = progress.collect(tmp_path / "nbs")
    assert len(runs) == 1 and progress.to_json(first) == progress.to_json(second)
    nb = tmp_path / "nbs" / "02_activations" / "02_activations.ipynb"
    nb.write_text(nb.read_text().replace("def sigmoid_forward", "def sigmoid_forward", 1) + "\n")
    progress.collect(tmp_path / "nbs")
    assert len(runs) == 2


def test_show_progress_returns_nothing_and_the_chart_keeps_its_labels(tmp_path):
    import inspect
    import graders.progress as progress

    assert inspect.signature(progress.show_progress).return_annotation in (None, "None")
    results = [progress.NotebookProgress(f"0{i}_topic", [progress.Exercise("t", 26 - i, "not started")])
               for i in range(1, 10)]
    fig = progress.plot(results, tmp_path / "p.png")
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes_box, legend_box = ax.get_window_extent(renderer), ax.get_legend().get_window_extent(renderer)
    assert legend_box.y0 >= axes_box.y1 - 1  # the legend sits above the bars, covering no label
    for text in ax.texts:  # every "0/26" label inside the axes, so inside the saved picture
        assert text.get_window_extent(renderer).x1 <= axes_box.x1, text.get_text()


def test_progress_command_and_json_round_trip(tmp_path):
    folder = tmp_path / "nbs"
    shutil.copytree(ROOT / "notebooks" / "01_softmax", folder / "01_softmax")
    done = subprocess.run([sys.executable, "-m", "graders", "progress", "--json", "--notebooks", str(folder),
                           "--plot", str(tmp_path / "p.png")], cwd=ROOT, text=True, capture_output=True,
                          env=unactivated_env())
    assert done.returncode == 0, done.stderr
    results = from_json(done.stdout)
    assert [r.notebook for r in results] == ["01_softmax"] and results[0].max_points == 17
    assert (tmp_path / "p.png").exists()


@pytest.mark.parametrize("command", [["graders", "--help"], ["graders", "progress", "--help"],
                                     ["classroom", "--help"], ["classroom", "grade", "--help"],
                                     ["authoring", "--help"], ["authoring", "build", "--help"],
                                     ["classroom.benchmark", "--help"]])
def test_command_help_is_plain_text(command):
    """--help is read in a terminal: no reST markup (``code``, :func:`x`) from docstrings."""
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, text=True, capture_output=True,
                          env=unactivated_env())
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr
    assert not re.search(r"``|:(?:func|class|meth|mod):`", done.stdout), done.stdout
