"""Build the corpus of bad and adversarial submissions from the real student notebook of 01_softmax.

    python tests/corpus/build_corpus.py          # rewrite tests/corpus/submitted/ and expected.json

Each student folder holds one way a submission can go wrong (or right); ``expected.json`` says what
grading must make of it: a status, a score, words the reason must contain, and anything else the test
must verify. ``tests/test_grading_corpus.py`` grades them all in one batch and checks every outcome, and
checks that this script still generates exactly the committed files.
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
A = "01_softmax"


def _answers() -> dict[str, str]:
    source = json.loads((ROOT / "solutions" / A / f"{A}.ipynb").read_text())
    out = {}
    for c in source["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("solution"):
            src = "".join(c["source"])
            out[c["metadata"]["nbgrader"]["grade_id"]] = "\n".join(
                l for l in src.splitlines() if "### BEGIN SOLUTION" not in l and "### END SOLUTION" not in l)
    return out


def release() -> dict:
    return json.loads((ROOT / "notebooks" / A / f"{A}.ipynb").read_text())


def filled(only: set[str] | None = None) -> dict:
    nb = release()
    answers = _answers()
    for c in nb["cells"]:
        gid = c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers and (only is None or gid in only):
            c["source"] = answers[gid]
    return nb


def cell(nb: dict, grade_id: str) -> dict:
    return next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id
                or c.get("id") == grade_id)


def own_cell(source: str, cid: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": cid, "metadata": {}, "outputs": [],
            "source": source}


def insert_after(nb: dict, grade_id: str, new: dict) -> None:
    i = nb["cells"].index(cell(nb, grade_id))
    nb["cells"].insert(i + 1, new)


FULL = 17.0


def build() -> tuple[dict[str, bytes], dict]:
    files: dict[str, bytes] = {}
    expected: dict[str, dict] = {}

    def add(student: str, nb, status: str, score: float | None, reason: str = "", **more):
        if nb is not None:
            data = nb if isinstance(nb, bytes) else (json.dumps(nb, indent=1) + "\n").encode()
            files[f"{student}/{A}/{A}.ipynb"] = data
        expected[student] = {"status": status, "score": score, "reason_contains": reason, **more}

    add("correct", filled(), "graded", FULL)
    add("blank", release(), "graded", 0.0)
    add("partly_correct", filled({"softmax", "cross_entropy_loss", "softmax_jacobian"}), "graded", 6.0)

    # --- cheating attempts -----------------------------------------------------------------------
    nb = filled()
    cell(nb, "softmax")["source"] = (
        "import numpy as np, numpy.testing\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "import graders.checking as _c\n"
        "_c.expect_close = lambda *a, **k: None\n"
        "def softmax(scores):\n    return np.full(scores.shape, 1.0 / scores.shape[1])\n")
    add("monkeypatch_comparisons", nb, "needs review", FULL - 2,
        "passed in one run", review_cells=["test_softmax"])

    nb = filled()
    cell(nb, "softmax_jacobian")["source"] = (
        "import numpy as np\nimport graders.softmax\n"
        "graders.softmax.check_softmax_jacobian = lambda *a, **k: print('[ok] looks fine')\n"
        "def softmax_jacobian(z):\n    return np.zeros((len(z), len(z)))\n")
    add("redefines_check", nb, "needs review", FULL - 2, "passed in one run",
        review_cells=["test_softmax_jacobian"])

    nb = filled()
    cell(nb, "softmax_cross_entropy")["source"] = (
        "import json, pathlib, os\n"
        "def _steal():\n"
        "    for base in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents, pathlib.Path(os.environ.get('TNN_COURSE_ROOT', '/'))]:\n"
        "        for rel in ['source', 'solutions', '../../../source', '../../../solutions']:\n"
        "            p = base / rel / '01_softmax' / '01_softmax.ipynb'\n"
        "            if p.exists():\n"
        "                nb = json.loads(p.read_text())\n"
        "                for c in nb['cells']:\n"
        "                    if 'def softmax_cross_entropy' in ''.join(c['source']):\n"
        "                        exec(''.join(c['source']), globals())\n"
        "                        return True\n"
        "    return False\n"
        "if not _steal():\n"
        "    def softmax_cross_entropy(scores, y):\n"
        "        raise NotImplementedError()\n")
    add("reads_solutions_from_disk", nb, "graded", FULL - 3 - 1 - 1,  # the gradient check and training need it
        "", failed_cells=["test_softmax_cross_entropy", "test_gradient_check", "test_training"])

    nb = filled()
    cell(nb, "softmax")["source"] = (
        "import numpy as np\n"
        "class Liar(np.ndarray):\n"
        "    def __array_ufunc__(self, *args, **kwargs):\n        return True\n"
        "    def __eq__(self, other):\n        return True\n"
        "    def __sub__(self, other):\n        return np.zeros(self.shape)\n"
        "def softmax(scores):\n    return np.zeros_like(scores).view(Liar)\n")
    add("ndarray_subclass", nb, "graded", FULL - 2, "", failed_cells=["test_softmax"])

    nb = filled()
    insert_after(nb, "softmax", own_cell(
        "import os, pathlib\n"
        "root = pathlib.Path(os.environ.get('TNN_COURSE_ROOT', '.'))\n"
        "for target in [root / 'PWNED.txt', root / 'gradebook.db', pathlib.Path.cwd().parents[2] / 'PWNED.txt']:\n"
        "    try:\n        target.write_text('pwned')\n    except OSError:\n        pass\n", "writes-files"))
    add("writes_outside", nb, "graded", FULL, "", files_must_not_exist=["PWNED.txt"])

    # --- submissions that break the run ----------------------------------------------------------
    nb = filled()
    nb["cells"].append(own_cell(
        "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n        pass\n",
        "ignores-interrupts"))
    add("ignores_interrupts", nb, "failed", 0.0, "time limit")

    nb = filled()
    insert_after(nb, "test_cross_entropy_loss", own_cell("import os\nos._exit(1)\n", "dies"))
    add("kills_kernel", nb, "failed", 0.0, "died")

    nb = filled()
    cell(nb, "softmax")["source"] = ("import sys, numpy as np\n"
                                     "def softmax(scores):\n    sys.exit(1)\n")
    add("sys_exit", nb, "graded", FULL - 2, "", failed_cells=["test_softmax"])

    nb = filled()
    insert_after(nb, "softmax", own_cell(
        "import numpy as np\ntry:\n    big = np.ones(30 * 1024 ** 3 // 8)   # 30 GB\nexcept MemoryError:\n"
        "    big = None\n", "allocates-30gb"))
    add("allocates_30gb", nb, "graded", FULL, "")

    nb = filled()
    cell(nb, "relative_error")["source"] = ("import numpy as np\n"
                                            "def relative_error(a, b):\n    x = np.ones(30 * 1024 ** 3 // 8)\n"
                                            "    return 0.0\n")
    add("allocates_30gb_in_exercise", nb, "graded", FULL - 2, "",  # the gradient check uses it too
        failed_cells=["test_relative_error", "test_gradient_check"])

    nb = filled()
    insert_after(nb, "softmax", own_cell("print('x' * 10_000_000)\n", "huge-output"))
    add("huge_output", nb, "graded", FULL, "", max_autograded_bytes=2_000_000)

    nb = filled()
    cell(nb, "softmax")["source"] = (
        "import sys, warnings, numpy as np\n"
        "def softmax(scores):\n"
        "    warnings.warn('softmax: this is my own debugging warning', UserWarning)\n"
        "    print('debug: called softmax', file=sys.stderr)\n"
        "    shifted = scores - scores.max(axis=1, keepdims=True)\n"
        "    e = np.exp(shifted)\n    return e / e.sum(axis=1, keepdims=True)\n")
    add("correct_with_warnings", nb, "graded", FULL, "")

    add("not_json", b'{"cells": [ {"cell_type": "code", "source": "oops"', "failed", 0.0, "not a valid notebook")
    add("not_a_notebook", b'["a list, not a notebook"]\n', "failed", 0.0, "not a valid notebook")

    # --- tampering with nbgrader's cells ------------------------------------------------------------
    nb = filled()
    nb["cells"].remove(cell(nb, "test_softmax"))
    nb["cells"].remove(cell(nb, "test_planted_bug"))
    add("deleted_test_cells", nb, "graded", FULL, "", flag_contains="deleted")

    nb = filled()
    cell(nb, "test_softmax_jacobian")["source"] = '"""Check"""\nprint("[ok] all good")\n'
    cell(nb, "test_relative_error")["source"] = "pass\n"
    add("edited_test_cells", nb, "graded", FULL, "", flag_contains="was changed")

    nb = filled()
    t = cell(nb, "test_softmax")
    t["metadata"]["nbgrader"]["points"] = 100.0
    t["metadata"]["nbgrader"]["checksum"] = "0" * 32
    t["id"] = "renamed-cell"
    cell(nb, "test_cross_entropy_loss")["metadata"]["nbgrader"]["grade"] = False
    add("tampered_metadata", nb, "graded", FULL, "", flag_contains="was changed")

    nb = filled()
    for c in nb["cells"]:
        if c.get("cell_type") == "code" and not c.get("metadata", {}).get("nbgrader"):
            c["id"] = "changed-" + str(c.get("id"))
    t = cell(nb, "test_numerical_gradient")
    t["metadata"]["nbgrader"]["grade_id"] = "test_numerical_gradient_v2"
    add("changed_ids_and_grade_id", nb, "graded", FULL, "", flag_contains="deleted")

    add("missing_notebook", None, "failed", 0.0, "missing notebook")
    return files, expected


def write(target: Path) -> None:
    files, expected = build()
    for rel, data in files.items():
        path = target / "submitted" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (target / "submitted" / "missing_notebook").mkdir(parents=True, exist_ok=True)
    (target / "submitted" / "missing_notebook" / ".keep").write_text("this student submitted nothing\n")
    (target / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    import shutil
    if (out / "submitted").exists():
        shutil.rmtree(out / "submitted")
    write(out)
    print(f"corpus written to {out}")
