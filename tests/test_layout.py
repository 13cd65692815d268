"""The repository's layout holds: one package per audience, no import cycles, one signature per check
family, the student bundle free of hidden cases, solutions and grading code by construction, and every
touch point of a notebook present."""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from coursework import ROOT, unactivated_env
from graders.layout import Course, topic_name

COURSE = Course.checkout()
ASSIGNMENTS = COURSE.assignments()
TOPICS = [topic_name(a) for a in ASSIGNMENTS]
PACKAGES = ["graders", "authoring", "classroom", "utils", "datasets"]
# who may import whom (statically or inside a function): students' code never reaches the instructor's
ALLOWED = {"utils": {"utils"}, "datasets": {"datasets", "utils"},
           "graders": {"graders", "utils", "datasets"},
           "authoring": {"authoring", "graders", "utils", "datasets"},
           "classroom": {"classroom", "authoring", "graders", "utils", "datasets"}}


# ---------------------------------------------------------------- imports
def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: {course modules it imports}}`` for every module of the course's packages, counting
    imports inside functions too (they hide cycles, they do not remove them)."""
    modules = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    found.add(t)
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles (imports inside functions count): " + "; ".join(" <-> ".join(c) for c in found)


def test_cycle_detector_can_fail():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_packages_import_only_what_their_audience_may():
    bad = [f"{m} imports {t}" for m, targets in import_graph().items() for t in targets
           if t.split(".")[0] not in ALLOWED[m.split(".")[0]]]
    assert not bad, "a package reaches beyond its audience:\n" + "\n".join(bad)


def test_top_level_folders_say_who_they_serve():
    """Every top-level folder with code is one of the known packages (a newcomer reads the README's table)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for pkg in PACKAGES:
        assert f"`{pkg}/`" in readme, f"README's repository layout does not describe {pkg}/"
    code_dirs = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert code_dirs == set(PACKAGES), f"unexpected top-level packages: {code_dirs ^ set(PACKAGES)}"


# ---------------------------------------------------------------- one signature per check family
def _checks():
    for topic in TOPICS:
        module = importlib.import_module(f"graders.{topic}")
        for name, fn in vars(module).items():
            if name.startswith("check_") and callable(fn) and getattr(fn, "__module__", "") == module.__name__:
                yield f"graders.{topic}.{name}", inspect.signature(inspect.unwrap(fn))
    from graders import checking
    for name in ("check_number", "check_choice"):
        yield f"graders.checking.{name}", inspect.signature(getattr(checking, name))


@pytest.mark.parametrize("name, sig", list(_checks()), ids=lambda v: v if isinstance(v, str) else "")
def test_check_signature(name, sig):
    """What is checked comes first (positional), everything else keyword-only, and ``hidden=False``;
    no ``seed`` or ``strict``."""
    params = list(sig.parameters.values())
    assert params and params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, f"{name}: no value under test first"
    assert "hidden" in sig.parameters, f"{name}: no hidden= parameter"
    hidden = sig.parameters["hidden"]
    assert hidden.kind is inspect.Parameter.KEYWORD_ONLY and hidden.default is False, name
    assert not {"seed", "strict"} & set(sig.parameters), f"{name}: takes seed/strict; use hidden=True"
    positional = [p for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    # a few experiment checks take several recorded values positionally; functions never follow values
    for p in positional[1:]:
        assert not p.name.endswith(("_forward", "_backward")), f"{name}: pass {p.name} keyword-only"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebooks_call_checks_with_hidden_true(assignment):
    text = COURSE.source(assignment).read_text(encoding="utf-8")
    assert "strict=True" not in text and "seed=2026" not in text, f"{assignment}: old hidden-test call form"


# ---------------------------------------------------------------- hidden cases live apart
@pytest.mark.parametrize("topic", TOPICS)
def test_hidden_module_covers_every_visible_exercise(topic):
    from classroom import hidden
    from graders import fixtures

    visible = set(fixtures.generators(topic, hidden=False))
    missing = visible - set(hidden.module(topic).CASES)
    assert not missing, f"classroom/hidden/{topic}.py: CASES has no hidden cases for {sorted(missing)}"


def test_visible_modules_hold_no_hidden_markers():
    for path in sorted((ROOT / "graders").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "HIDDEN CASES" not in text and not re.search(r"\bstrict\b", text), path.name


# ---------------------------------------------------------------- the student bundle
def hidden_labels() -> dict[str, set[str]]:
    """Every label of a hidden case that no visible case shares (drawn with the hidden seed and two
    others), per topic."""
    from classroom import hidden
    from graders import fixtures

    labels: dict[str, set[str]] = {}
    for topic in TOPICS:
        visible = {c.label for exercise, draw in fixtures.generators(topic, hidden=False).items()
                   for seed in (fixtures.VISIBLE_SEED, 5) for c in draw(np.random.default_rng(seed))}
        for draw in hidden.module(topic).CASES.values():
            for seed in (fixtures.HIDDEN_SEED, 0, 5):
                # a hidden draw may repeat the visible kinds (same label, other numbers): those are no secret
                labels.setdefault(topic, set()).update(c.label for c in draw(np.random.default_rng(seed))
                                                       if c.label not in visible)
    return labels


def solution_lines() -> set[str]:
    """Lines of solution code (inside ### BEGIN/END SOLUTION, 25+ characters, not a comment) that do
    not also appear outside those blocks. (Hidden *tests* are calls such as ``check_x(f, hidden=True)``,
    no secret; their cases are.)"""
    block = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
    secret, public = set(), set()
    for a in ASSIGNMENTS:
        for cell in json.loads(COURSE.source(a).read_text(encoding="utf-8"))["cells"]:
            src = "".join(cell["source"])
            secret |= {l.strip() for b in block.findall(src) for l in b.splitlines()}
            public |= {l.strip() for l in block.sub("", src).splitlines()}
    return {l for l in secret - public if len(l) > 25 and not l.startswith("#")}


# The course library: working versions of earlier notebooks' parts, public by design (README, "The
# course library"); they repeat solution lines. Everything else in the bundle must not.
LIBRARY = {"utils/layers.py", "utils/optim.py", "utils/gradcheck.py"}


def audit_bundle(bundle: Path, labels: dict[str, set[str]], secret: set[str]) -> list[str]:
    """What a student bundle must not hold, by what it is rather than by a marker: anything outside
    the student packages, a module or import of the grading or authoring packages, a hidden case's
    label, a solution line, and visible cases that are not the committed visible fixtures."""
    from authoring.bundle import BUNDLE_ITEMS

    problems = []
    allowed = set(BUNDLE_ITEMS) | {"README.md"}
    for item in bundle.iterdir():
        if item.name not in allowed:
            problems.append(f"{item.name}: not a student item")
    classroom_modules = {p.stem for p in (ROOT / "classroom").glob("*.py")} - {"__init__", "__main__", "cli"}
    for path in sorted(bundle.rglob("*")):
        if not path.is_file() or path.suffix not in (".py", ".json", ".ipynb", ".md", ".txt"):
            continue
        rel = path.relative_to(bundle)
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".py":
            if rel.parts[0] == "graders" and path.stem in classroom_modules:
                problems.append(f"{rel}: grading machinery")
            if re.search(r"^\s*(from|import)\s+(classroom|authoring)\b", text, re.M):
                problems.append(f"{rel}: imports the grading or authoring package")
        own = {t for t in labels if rel.parts[0] == "graders" and rel.name in (f"{t}.py", f"{t}.json")}
        if path.suffix in (".py", ".json"):
            for topic, names in labels.items():
                for label in names:
                    # a topic's own module and fixture: any telling label; elsewhere only long ones
                    # (short labels such as "a single example" recur in other topics' visible cases)
                    if len(label) >= (12 if topic in own else 30) and label in text:
                        problems.append(f"{rel}: holds the hidden case {label!r} of {topic}")
        if rel.as_posix() not in LIBRARY:
            for line in secret:
                if line in text:
                    problems.append(f"{rel}: holds solution code: {line}")
    # the visible generators draw nothing beyond the visible fixtures
    code = ("import json, sys\nsys.path.insert(0, sys.argv[1])\nimport tnn_course\ntnn_course.activate(sys.argv[1])\n"
            "import importlib, numpy as np\nfrom graders import fixtures\nfrom graders.layout import Course\n"
            "out = {}\nfor t in sys.argv[2:]:\n"
            "    m = importlib.import_module('graders.' + t)\n"
            "    for ex, draw in getattr(m, 'CASES', {}).items():\n"
            "        out.setdefault(t, {})[ex] = sorted({c.label for s in (0, 1, 2, 2026) for c in draw(np.random.default_rng(s))})\n"
            "    try:\n        fixtures.hidden_module(t)\n        out.setdefault('__hidden__', []).append(t)\n"
            "    except fixtures.HiddenUnavailable:\n        pass\n"
            "print(json.dumps(out))\n")
    # visible generators of backward passes run the reference forward: give a copy the solutions
    with tempfile.TemporaryDirectory() as tmp:
        work = shutil.copytree(bundle, Path(tmp) / "b", symlinks=True)
        (work / "solutions").symlink_to(ROOT / "solutions")
        done = subprocess.run([sys.executable, "-c", code, str(work), *TOPICS], capture_output=True, text=True,
                              cwd=work, env=unactivated_env(PYTHONPATH=""))
    if done.returncode != 0:
        return problems + [f"the bundle's checks do not import: {done.stderr[-1500:]}"]
    drawn = json.loads(done.stdout)
    for topic in drawn.pop("__hidden__", []):
        problems.append(f"graders/{topic}: hidden cases are reachable in the bundle")
    for topic, exercises in drawn.items():
        fixture = json.loads((bundle / "graders" / "fixtures" / f"{topic}.json").read_text(encoding="utf-8"))
        for ex, got in exercises.items():
            # labels may quote drawn numbers (a seed, a size): compare what they say, not the numbers
            kind = lambda label: re.sub(r"\d+", "#", label)  # noqa: E731
            committed = {kind(c["label"]) for c in fixture.get(ex, [])}
            for label in sorted({l for l in got if kind(l) not in committed}):
                problems.append(f"graders/{topic}.py: {ex} draws a case that is not a committed visible case: {label!r}")
    return problems


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from authoring.bundle import make_bundle

    return make_bundle(tmp_path_factory.mktemp("release") / "bundle")


@pytest.fixture(scope="module")
def secrets():
    return hidden_labels(), solution_lines()


def test_bundle_is_the_student_packages_and_nothing_else(bundle, secrets):
    problems = audit_bundle(bundle, *secrets)
    assert not problems, "the student bundle leaks:\n" + "\n".join(problems)
    assert {p.name for p in bundle.iterdir()} == {"README.md", "tnn_course.py", "requirements.txt", "notebooks",
                                                  "utils", "datasets", "graders"}


def test_bundle_audit_catches_a_planted_hidden_case(bundle, secrets, tmp_path):
    """Move one hidden case into a visible module (as a careless edit would): the audit must object,
    whether the case is drawn by a visible generator or only sits in the file."""
    labels, secret = secrets
    topic = "activations"
    label = sorted(l for l in labels[topic] if len(l) > 12)[0]
    planted = shutil.copytree(bundle, tmp_path / "planted")
    module = planted / "graders" / f"{topic}.py"
    module.write_text(module.read_text(encoding="utf-8") + (
        "\n\n_draw_relu = CASES['relu_forward']\n"
        f"CASES['relu_forward'] = lambda rng: _draw_relu(rng) + [Case({label!r}, {{'x': -np.ones((3, 4))}})]\n"),
        encoding="utf-8")
    problems = audit_bundle(planted, labels, secret)
    assert any(label in p for p in problems), problems
    assert any("not a committed visible case" in p for p in problems), problems


def test_bundle_audit_catches_grading_code_and_solutions(bundle, secrets, tmp_path):
    labels, secret = secrets
    planted = shutil.copytree(bundle, tmp_path / "planted")
    shutil.copy(ROOT / "classroom" / "judge.py", planted / "graders" / "judge.py")
    (planted / "classroom").mkdir()
    line = sorted(secret)[0]
    (planted / "utils" / "leak.py").write_text(f"def f(x):\n    {line}\n", encoding="utf-8")
    problems = "\n".join(audit_bundle(planted, labels, secret))
    assert "graders/judge.py: grading machinery" in problems
    assert "classroom: not a student item" in problems
    assert "utils/leak.py: holds solution code" in problems


# ---------------------------------------------------------------- adding a notebook
def touch_points(course_root: Path, assignment: str) -> list[str]:
    """The README's "Adding a notebook" list, checked for one assignment: what is missing, each with the
    step that adds it."""
    course, topic = Course(course_root), topic_name(assignment)
    missing = []

    def need(ok: bool, what: str):
        if not ok:
            missing.append(f"{assignment}: {what} (README, 'Adding a notebook')")

    need(re.fullmatch(r"\d\d_[a-z][a-z0-9_]*", assignment) is not None, "name it NN_topic")
    need(course.source(assignment).is_file(), f"step 1: the solution notebook {course.source(assignment).relative_to(course.root)}")
    module = course.root / "graders" / f"{topic}.py"
    need(module.is_file(), f"step 2: the check module graders/{topic}.py")
    text = module.read_text(encoding="utf-8") if module.is_file() else ""
    need("HINTS" in text, f"step 2: HINTS in graders/{topic}.py")
    has_cases = "CASES" in text
    need(not has_cases or (course.root / "classroom" / "hidden" / f"{topic}.py").is_file(),
         f"step 3: the hidden cases classroom/hidden/{topic}.py")
    need((course.root / "tests" / f"test_checks_{topic}.py").is_file(),
         f"step 4: the check tests tests/test_checks_{topic}.py (reference passes, bank of wrong implementations)")
    need(course.release(assignment).is_file(), "step 5: the student version (python -m authoring build)")
    need(not has_cases or course.fixture(topic).is_file(), f"step 5: the fixture graders/fixtures/{topic}.json "
                                                           "(python -m authoring build)")
    readme = (course.root / "README.md").read_text(encoding="utf-8") if (course.root / "README.md").is_file() else ""
    need(f"`{assignment}`" in readme, "step 6: a row in the README's table of notebooks")
    return missing


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_touch_point_of_a_notebook_is_there(assignment):
    missing = touch_points(ROOT, assignment)
    assert not missing, "\n".join(missing)


def test_touch_point_check_names_what_is_missing(tmp_path):
    """A new notebook with only its solution: the check lists each missing step by name."""
    course = tmp_path / "course"
    (course / "solutions" / "10_frameworks").mkdir(parents=True)
    (course / "solutions" / "10_frameworks" / "10_frameworks.ipynb").write_text("{}")
    (course / "graders").mkdir()
    (course / "graders" / "frameworks.py").write_text("CASES = {}\n")
    missing = "\n".join(touch_points(course, "10_frameworks"))
    for what in ("HINTS in graders/frameworks.py", "classroom/hidden/frameworks.py", "tests/test_checks_frameworks.py",
                 "student version", "graders/fixtures/frameworks.json", "README's table"):
        assert what in missing, what
