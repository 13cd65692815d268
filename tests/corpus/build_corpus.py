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
from textwrap import dedent
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

    attacks(add)
    return files, expected


# ================================================================================================
# Attacks by a student who has read the grader (the student release ships graders/ and the README).
# Every student folder below tests one class of attack; the comments say what must hold. Cells a
# student leaves honest must keep their points; the cheated ones earn 0 (failed or needs review).
# ================================================================================================
POINTS = {"test_softmax": 2.0, "test_cross_entropy_loss": 2.0, "test_initial_loss_10_classes": 1.0,
          "test_softmax_jacobian": 2.0, "test_jacobian_row_sum": 1.0, "test_softmax_cross_entropy": 3.0,
          "test_numerical_gradient": 2.0, "test_relative_error": 1.0, "test_gradient_check": 1.0,
          "test_planted_bug": 1.0, "test_training": 1.0}
ORDER = list(POINTS)          # the order in which the trusted re-check judges the cells
CANARY = "tnn-canary-"        # files an attack tries to create outside the sandbox (the test looks for them)
ECHO = "HIDDEN-ECHO"          # the marker an attack puts before a hidden input it tries to leak

# An own cell after the imports: what a student who read classroom/worker.py and classroom/wire.py
# would write to find the re-check's channel and to plant files.
TOOLS = dedent(r'''
    # my helpers
    import json as _json, os as _os, socket as _socket, struct as _struct, sys as _sys, pathlib as _pathlib

    def _judge_fd():
        """The descriptor of the grader's re-check socket (a Unix socket whose peer is judge-*.sock), while
        the grader's judge is talking to this kernel; None otherwise (for example while nbgrader runs the cells)."""
        try:
            names = _os.listdir('/proc/self/fd')
        except OSError:
            return None
        for name in names:
            try:
                fd = int(name)
                if not _os.readlink(f'/proc/self/fd/{fd}').startswith('socket:'):
                    continue
                s = _socket.socket(fileno=_os.dup(fd))
            except (OSError, ValueError):
                continue
            try:
                peer = s.getpeername() if s.family == _socket.AF_UNIX else ''
            except OSError:
                peer = ''
            finally:
                s.close()
            if 'judge-' in (peer.decode(errors='replace') if isinstance(peer, bytes) else str(peer)):
                return fd
        return None

    def _send_raw(fd, data):
        s = _socket.socket(fileno=_os.dup(fd))
        try:
            s.sendall(data)
        finally:
            s.close()

    def _frame(message):
        """One frame of classroom.wire: an 8-byte big-endian length, then JSON."""
        data = message if isinstance(message, bytes) else _json.dumps(message).encode()
        return _struct.pack('>Q', len(data)) + data

    def _canary(tag):
        """Create tnn-canary-<tag> wherever this code can reach: if this ever runs in the grader's own
        process, the file appears in the grader's /tmp, course folder or checkout."""
        places = {_pathlib.Path('/tmp'), _pathlib.Path.cwd(), _pathlib.Path.home()}
        root = _os.environ.get('TNN_COURSE_ROOT')
        if root:
            places |= {_pathlib.Path(root), _pathlib.Path(root).parent}
        for m in ('graders', 'classroom', 'utils'):
            f = getattr(_sys.modules.get(m), '__file__', None)
            if f:
                p = _pathlib.Path(f).resolve().parent.parent
                places |= {p, p.parent}
        for p in places:
            try:
                (p / f'tnn-canary-{tag}').write_text(f'written by student code in process {_os.getpid()}')
            except OSError:
                pass
''')

CORRECT_RELATIVE_ERROR = "    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))\n"


def attacked(sources: dict[str, str], own: list[tuple[str, str, str]] = (), tools: bool = True) -> dict:
    """The correct notebook with ``sources`` ({grade_id or cell id: new source}) replaced and own code cells
    ``own`` ([(after grade_id or cell id, cell id, source)]) inserted; the helper cell after the imports."""
    nb = filled()
    for gid, src in sources.items():
        cell(nb, gid)["source"] = src
    for after, cid, src in own:
        insert_after(nb, after, own_cell(src, cid))
    if tools:
        insert_after(nb, "code-02", own_cell(TOOLS, "my-helpers"))
    return nb


def judged_only(function: str, attack: str) -> str:
    """An answer cell for relative_error: correct while nbgrader runs the notebook, ``attack`` (code that
    may use ``fd``, the re-check socket) when the grader's judge calls it."""
    return (f"import numpy as np\n\ndef {function}(a, b):\n    fd = _judge_fd()\n    if fd is not None:\n"
            + "".join(f"        {l}\n" for l in dedent(attack).strip().splitlines())
            + CORRECT_RELATIVE_ERROR)


def expect(add, student: str, nb, *, failed=(), review=(), zero=(), status=None, reason="", **more):
    """Register ``student``: the cells in ``failed`` fail, those in ``review`` need review, those in ``zero``
    earn 0 either way (cells after the re-check lost its worker); every other cell passes (an honest
    cell keeps its points). The score follows; the status is "needs review" when a cell needs review."""
    lost = set(failed) | set(review) | set(zero)
    score = sum(p for g, p in POINTS.items() if g not in lost)
    if status is None:
        status = "needs review" if review or reason.startswith("trusted re-check") else "graded"
    add(student, nb, status, score, reason, failed_cells=sorted(failed, key=ORDER.index),
        review_cells=sorted(review, key=ORDER.index), zero_cells=sorted(zero, key=ORDER.index),
        passed_cells=[g for g in ORDER if g not in lost], **more)


def after(gid: str) -> list[str]:
    """The cells the re-check judges after ``gid``."""
    return ORDER[ORDER.index(gid) + 1:]


def all_but(*gids: str) -> list[str]:
    """Every cell but ``gids``: the re-check judges every visible part before any hidden one, so a kernel
    that breaks the channel in a visible part costs the hidden parts of every cell (needs review, 0)."""
    return [g for g in ORDER if g not in gids]


def attacks(add) -> None:
    # --- 1. code execution in the judge ---------------------------------------------------------------
    # Objects and functions that claim a course module: a fake utils.training.MLP whose to_plain lies
    # (returns functions, a literal {"__func__": ...}, extra fields) and whose __array__/__eq__/__reduce__
    # would plant a canary; a function claiming graders.__main__.main; a float subclass claiming
    # graders.checking.Case (passes the kernel's visible check, arrives as nothing the judge can check);
    # a class claiming graders.__main__.main as an answer. None of their code may run in the grader.
    spoof = dedent(r'''
        import numpy as np

        class _FakeMLP:
            """Claims to be the course's MLP (classroom.wire.COURSE_TYPES): its to_plain lies."""
            def __init__(self, probs):
                self._probs = probs
            def to_plain(self):
                _canary('c1_spoofed_course_types')
                return {"params": {"W1": lambda: _canary('c1_spoofed_course_types'),
                                   "b1": {"__func__": ["graders.__main__", "main"]}},
                        "num_layers": 1, "batchnorm": False, "keep_prob": 1.0, "reg": 0.0, "frozen": [],
                        "bn_params": [], "rng": None, "code": "__import__('os').system('touch /tmp/x')"}
            def __array__(self, dtype=None, copy=None):
                _canary('c1_spoofed_course_types')
                return self._probs
            def __eq__(self, other):
                _canary('c1_spoofed_course_types')
                return True
            __hash__ = object.__hash__
            def __reduce__(self):
                return (_os.system, (f'touch /tmp/{CANARY}c1_spoofed_course_types',))

        _FakeMLP.__module__, _FakeMLP.__qualname__, _FakeMLP.__name__ = 'utils.training', 'MLP', 'MLP'
        CANARY = 'tnn-canary-'

        def softmax(scores):
            shifted = scores - scores.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            return _FakeMLP(e / e.sum(axis=1, keepdims=True))
    ''')
    cross_entropy = dedent(r'''
        import numpy as np

        def cross_entropy_loss(probs, y):
            def main(*args, **kwargs):
                _canary('c1_spoofed_course_types')
                return float(-np.mean(np.log(probs[np.arange(len(y)), y])))
            main.__module__, main.__qualname__ = 'graders.__main__', 'main'
            expect_close = type('expect_close', (), {'__module__': 'graders.checking', '__qualname__': 'expect_close',
                                                     '__call__': lambda self, *a, **k: None})
            return main, expect_close
    ''')
    number = dedent(r'''
        # Set initial_loss_10_classes to a float.
        class _Number(float):
            def __repr__(self):
                _canary('c1_spoofed_course_types')
                return float.__repr__(self)
        _Number.__module__, _Number.__qualname__ = 'graders.checking', 'Case'
        initial_loss_10_classes = _Number(2.302585092994046)
    ''')
    choice = dedent(r'''
        # Set planted_bug to "A", "B", "C" or "D".
        planted_bug = type('main', (), {'__module__': 'graders.__main__', '__qualname__': 'main',
                                        '__eq__': lambda self, other: True, 'strip': lambda self: 'C'})
    ''')
    nb = attacked({"softmax": spoof, "cross_entropy_loss": cross_entropy, "initial_loss_10_classes": number,
                   "planted_bug": choice})
    expect(add, "c1_spoofed_course_types", nb, failed=["test_softmax", "test_cross_entropy_loss", "test_planted_bug"],
           review=["test_initial_loss_10_classes"], canary="c1_spoofed_course_types")

    # Forged frames on the re-check's socket while the judge waits for a reply. Each is sent by a
    # function only when the judge calls it (in the kernel's own run it is correct): the worker is ended
    # at the first refused or malformed frame, in the visible parts (which all run before any hidden
    # part), so no cell earns points and the notebook needs review.
    nb = attacked({"relative_error": judged_only("relative_error", r'''
        # the judge waits for the result of this call: answer first, with a course function by name
        _send_raw(fd, _frame({"op": "result", "ok": True, "changed": {},
                              "result": {"__func__": ["graders.__main__", "main"]}}))
        _send_raw(fd, _frame({"op": "result", "ok": True, "changed": {"0": {"__func__": ["utils.layers", "softmax_cross_entropy"]}},
                              "result": {"__func__": ["utils.layers", "softmax_cross_entropy"]}}))
    ''')})
    expect(add, "c1_forged_reply_func", nb, review=["test_relative_error"], zero=all_but("test_relative_error"))

    # A forged reply to the judge's `get softmax_cross_entropy`: the library's function by name (which
    # would pass). The honest softmax, when the judge calls it, swaps softmax_cross_entropy for an object
    # whose to_plain (run while the worker encodes the reply) writes the forged frame first.
    softmax_src = "".join(cell(filled(), "softmax")["source"])
    nb = attacked({"softmax": softmax_src.replace('    """\n', dedent('''\
        """
            if _judge_fd() is not None and not isinstance(globals().get('softmax_cross_entropy'), _GetForger):
                globals()['softmax_cross_entropy'] = _GetForger()
    '''), 1) + dedent(r'''

        class _GetForger:
            def to_plain(self):
                fd = _judge_fd()
                if fd is not None:
                    _send_raw(fd, _frame({"kind": "value", "value": {"__func__": ["utils.layers", "softmax_cross_entropy"]}}))
                    _send_raw(fd, _frame({"kind": "function"}))
                return {}
        _GetForger.__module__, _GetForger.__qualname__ = 'utils.training', 'MLP'
    ''')})
    expect(add, "c1_forged_get_func", nb, review=["test_softmax_cross_entropy"],
           zero=all_but("test_softmax_cross_entropy"))

    # Frames that cost the judge memory or time: 100,000 nested lists, a million empty lists, a 60 MB
    # header followed by a few bytes (the judge waits for the rest), a header of 2**63 bytes.
    for student, attack in [
        ("c1_forged_nested", r'''
            body = b'{"op": "result", "ok": true, "changed": {}, "result": ' + b'[' * 100_000 + b']' * 100_000 + b'}'
            _send_raw(fd, _struct.pack('>Q', len(body)) + body)
        '''),
        ("c1_forged_million_lists", r'''
            body = b'{"op": "result", "ok": true, "changed": {}, "result": [' + b'[],' * 1_000_000 + b'[]]}'
            _send_raw(fd, _struct.pack('>Q', len(body)) + body)
        '''),
        ("c1_forged_huge_header", r'''
            _send_raw(fd, _struct.pack('>Q', 60 * 1024 ** 2) + b'{"op": "result", "ok": true, "result": "' + b'x' * 1000)
        '''),
        ("c1_forged_header_2_63", r'''
            _send_raw(fd, _struct.pack('>Q', 2 ** 63) + b'{}')
        '''),
    ]:
        nb = attacked({"relative_error": judged_only("relative_error", attack)})
        expect(add, student, nb, review=["test_relative_error"], zero=all_but("test_relative_error"),
               reason="trusted re-check")

    # Values whose special methods have side effects (__del__, __eq__, __hash__, __repr__, __array__,
    # __float__, __bool__, __len__, __iter__, __getattr__, __reduce__): the judge never holds them.
    evil = dedent(r'''
        import numpy as np

        class _Evil:
            def __init__(self, tag='c1_side_effect_values'):
                self.tag = tag
            def _act(self, *args, **kwargs):
                _canary(self.tag)
                return True
            def __del__(self):
                _canary(self.tag)
            def __eq__(self, other):
                return self._act()
            def __hash__(self):
                self._act()
                return 0
            def __repr__(self):
                self._act()
                return '0.0'
            def __array__(self, dtype=None, copy=None):
                self._act()
                return np.zeros((3, 3))
            def __float__(self):
                self._act()
                return 0.0
            def __bool__(self):
                return self._act()
            def __len__(self):
                self._act()
                return 3
            def __iter__(self):
                self._act()
                return iter([0.0, 0.0, 0.0])
            def __getattr__(self, name):
                if name.startswith('__'):
                    raise AttributeError(name)
                self._act()
                return self._act
            def __reduce__(self):
                return (_os.system, (f'touch /tmp/tnn-canary-{self.tag}',))
    ''')
    nb = attacked({"softmax_jacobian": evil + "\ndef softmax_jacobian(z):\n    return _Evil()\n",
                   "jacobian_row_sum": "# Set jacobian_row_sum to a number.\njacobian_row_sum = _Evil()\n"})
    expect(add, "c1_side_effect_values", nb, failed=["test_softmax_jacobian", "test_jacobian_row_sum"],
           canary="c1_side_effect_values")

    # --- 2. one job ends the run --------------------------------------------------------------------
    nb = attacked({}, own=[("test_cross_entropy_loss", "kill-my-group", "import os, signal\nos.killpg(0, signal.SIGKILL)\n")])
    add("c2_killpg", nb, "failed", 0.0, "died")

    nb = attacked({"relative_error": judged_only("relative_error", r'''
        import signal
        for kill in (lambda: _os.kill(_os.getppid(), signal.SIGKILL), lambda: _os.kill(1, signal.SIGKILL),
                     lambda: _os.kill(-1, signal.SIGKILL), lambda: _os.killpg(0, signal.SIGKILL)):
            try:
                kill()
            except OSError:
                pass
    ''')})
    expect(add, "c2_kill_all_in_recheck", nb, review=["test_relative_error"], zero=all_but("test_relative_error"),
           reason="trusted re-check")

    nb = attacked({"relative_error": judged_only("relative_error", r'''
        import signal, time
        for s in (signal.SIGALRM, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
        while True:
            try:
                signal.pause()
            except BaseException:
                time.sleep(1)
    ''')})
    expect(add, "c2_pause_in_recheck", nb, review=["test_relative_error"], zero=all_but("test_relative_error"),
           reason="trusted re-check")

    # A reply that is slow to encode and too large to send: 1e8 float64 (800 MB) from relative_error (the
    # worker runs out of memory encoding it: the call fails, the channel stays usable).
    nb = attacked({"relative_error": judged_only("relative_error", "return np.ones(10 ** 8)")})
    expect(add, "c2_slow_encode", nb, review=["test_relative_error"], failed=["test_gradient_check"])  # its rerun calls it

    # --- 3. memory in the grader ----------------------------------------------------------------------
    # 400 MB of output from one cell (nbgrader keeps 2 MB of it while the cell runs, 10,000 characters in
    # the notebook). A one-off measurement (grade_one of c3_print_400mb_once alone, VmHWM of the grading
    # process read from /proc/self/status at its end) is recorded in tests/test_grading_corpus.py.
    nb = attacked({}, own=[("test_softmax", "print-400mb-loop", "for _ in range(400):\n    print('x' * 1_000_000)\n")],
                  tools=False)
    add("c3_print_400mb_loop", nb, "graded", FULL, "", max_autograded_bytes=2_000_000)
    nb = attacked({}, own=[("test_softmax", "print-400mb-once", "print('x' * 400_000_000)\n")], tools=False)
    add("c3_print_400mb_once", nb, "graded", FULL, "", max_autograded_bytes=2_000_000)

    # Huge replies: softmax answers the judge with a 48 MB array (a 64 MB frame: accepted, and wrong);
    # relative_error with an 80 MB one (a 107 MB frame: refused, the re-check stops there).
    nb = attacked({"softmax": softmax_src.replace('    """\n', '    """\n    if _judge_fd() is not None:\n'
                                                  '        return np.ones(6_000_000)\n', 1),
                   "relative_error": judged_only("relative_error", "return np.ones(10_000_000)")})
    expect(add, "c3_huge_replies", nb, review=["test_softmax", "test_relative_error"],
           zero=all_but("test_softmax", "test_relative_error"), reason="trusted re-check")

    # --- 4. symbolic links, hard links and FIFOs in the working folder and the course folder -------------
    links = dedent(r'''
        import os, pathlib
        root = pathlib.Path(os.environ.get('TNN_COURSE_ROOT', '/'))
        here = pathlib.Path.cwd()
        targets = {'solution': root / 'solutions' / '01_softmax' / '01_softmax.ipynb',
                   'private_beside': root.parent / 'instructor_private.txt',
                   'private_inside': root / 'instructor_notes.txt',
                   'gradebook': root / 'gradebook.db', 'checks': root / 'graders' / 'softmax.py',
                   'hidden': root / 'classroom' / 'hidden' / 'softmax.py', 'shadow': pathlib.Path('/etc/shadow')}
        report = []
        def attempt(what, action):
            try:
                action()
                report.append(f'{what}: ok')
            except OSError as e:
                report.append(f'{what}: {e.strerror}')
        def replace_with_link(link, target):
            if link.is_symlink() or link.is_file():
                link.unlink()
            link.symlink_to(target)
        for name, target in targets.items():
            for link in (here / '01_softmax.ipynb', here / f'{name}.lnk', here.parent / '01_softmax.ipynb',
                         here.parent.parent / name, root / 'autograded' / name, root / 'gradebook.db'):
                attempt(f'symlink {link} -> {target}', lambda: replace_with_link(link, target))
            attempt(f'hard link to {target}', lambda: os.link(target, here / f'{name}.hard'))
            attempt(f'chmod 777 {target}', lambda: os.chmod(target, 0o777))
            attempt(f'append to {target}', lambda: open(target, 'a').write('student was here'))
            try:
                print(name, 'reads:', target.read_text()[:300])      # would leak it into the feedback
            except (OSError, UnicodeDecodeError) as e:
                print(name, 'unreadable:', type(e).__name__)
        for fifo in (here / 'timestamp.txt', here / '01_softmax.ipynb', root / 'gradebook.db'):
            def make_fifo(fifo=fifo):
                if fifo.is_symlink() or fifo.exists():
                    fifo.unlink()
                os.mkfifo(fifo)
            attempt(f'fifo {fifo}', make_fifo)
        print(f'{sum(r.endswith(": ok") for r in report)} of {len(report)} link operations succeeded')
    ''')
    nb = attacked({}, own=[("test_softmax", "links", links)], tools=False)
    add("c4_links", nb, "graded", FULL, "")

    # --- 5. the sandbox's limits -------------------------------------------------------------------------
    environ = dedent(r'''
        import glob, os
        print(dict(os.environ))
        for p in ['/proc/1/environ', '/proc/self/environ', f'/proc/{os.getppid()}/environ',
                  *glob.glob('/proc/[0-9]*/environ'), *glob.glob('/proc/[0-9]*/cmdline')]:
            try:
                print(p, open(p, 'rb').read()[:4000])
            except OSError as e:
                print(p, e.strerror)
    ''')
    nb = attacked({}, own=[("test_softmax", "environ", environ)], tools=False)
    add("c5_environ_and_proc", nb, "graded", FULL, "")

    # 600 processes (each sleeping, so that a runaway bomb does not starve the other job of CPU), after
    # killing the parent and pid 1 (inside the sandbox's PID namespace: no effect).
    forks = dedent(r'''
        import os, signal, time
        for pid in (os.getppid(), 1):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        children = []
        for i in range(600):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                try:
                    time.sleep(120)
                finally:
                    os._exit(0)
            children.append(pid)
        print(f'processes started: {len(children)} of 600')
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        for pid in children:
            os.waitpid(pid, 0)
    ''')
    nb = attacked({}, own=[("test_softmax", "many-processes", forks)], tools=False)
    add("c5_many_processes", nb, "graded", FULL, "", output_int_at_most=[["processes started: (\\d+)", 96]])

    # 1.25 GB written to /tmp and to the working folder, and 512 MiB (enough to show whether a cap of
    # 256 MiB holds) to every other writable place: the course folder's tmpfs, /dev/shm and the kernel's
    # runtime folder (named in its command line, on the grader's disk); one cell each.
    fills = []
    for label, where, size in [
            ("tmp", "'/tmp'", 1_250_000_000), ("work", "os.getcwd()", 1_250_000_000),
            ("course", "os.environ.get('TNN_COURSE_ROOT', '/')", 512 * 2 ** 20), ("shm", "'/dev/shm'", 512 * 2 ** 20),
            ("runtime", "os.path.dirname(next((a for a in sys.argv if a.endswith('.json')), '/nonexistent/x'))",
             512 * 2 ** 20)]:
        fills.append(("test_softmax", f"fill-{label}", dedent(f'''
            import os, sys
            chunk, total = b'\\0' * (16 * 1024 ** 2), 0
            try:
                with open(os.path.join({where}, 'fill-{label}.bin'), 'wb') as f:
                    while total < {size}:
                        f.write(chunk)
                        f.flush()
                        total += len(chunk)
            except OSError:
                pass
            print(f'wrote {{total // 2 ** 20}} MiB to {label}')
        ''')))
    nb = attacked({}, own=fills, tools=False)
    add("c5_fill_disk", nb, "graded", FULL, "",
        output_int_at_most=[[f"wrote (\\d+) MiB to {label}", 256] for label in ("tmp", "work", "course", "shm", "runtime")])

    # Looking for solutions anywhere: a walk of the file system (3 s), globs for solutions/ and
    # classroom/hidden/, the course's reference loader, reveal(), /proc of every visible process.
    hunt = dedent(r'''
        import glob, importlib, json, os, pathlib, time
        found = []
        root = pathlib.Path(os.environ.get('TNN_COURSE_ROOT', '/'))
        def look(path):
            try:
                text = pathlib.Path(path).read_text(errors='replace')
            except OSError:
                return
            if 'BEGIN SOLUTION' in text or 'BEGIN HIDDEN ' + 'TESTS' in text or 'HIDDEN_SEED' in text and 'CASES' in text:
                found.append(str(path))
        deadline = time.monotonic() + 3.0
        for top in [root, root.parent, pathlib.Path('/tmp'), pathlib.Path('/root'), pathlib.Path('/home'),
                    pathlib.Path('/work'), pathlib.Path('/srv'), pathlib.Path('/opt'), pathlib.Path('/mnt'),
                    pathlib.Path('/var'), pathlib.Path('/')]:
            for d, dirs, files in os.walk(top):
                dirs[:] = [x for x in dirs if x not in ('proc', 'sys', 'dev', 'usr', 'lib', 'lib64', 'bin', 'sbin')]
                for f in files:
                    if f.endswith(('.ipynb', '.py', '.json', '.db')) and ('solution' in d or 'hidden' in d or 'source' in d
                                                                       or f.endswith(('.ipynb', '.db'))):
                        look(os.path.join(d, f))
                if time.monotonic() > deadline:
                    break
        for pattern in ['/**/solutions/**/*.ipynb', '/**/classroom/hidden/*.py', str(root) + '/**/*.ipynb']:
            for p in glob.glob(pattern, recursive=True) if not pattern.startswith('/**') else []:
                look(p)
        for p in [root / 'classroom' / 'hidden' / 'softmax.py', root / 'solutions' / '01_softmax' / '01_softmax.ipynb',
                  root / 'gradebook.db', root / 'source' / '01_softmax' / '01_softmax.ipynb']:
            look(p)
        for attempt in ("importlib.import_module('classroom.hidden')",
                        "importlib.import_module('graders.reference').load('softmax').softmax_cross_entropy",
                        "importlib.import_module('graders.reveal').reveal('softmax_cross_entropy', solution=True)"):
            try:
                result = eval(attempt)
                if callable(result):
                    softmax_cross_entropy = result
                    found.append(attempt)
            except Exception as e:
                print(attempt, '->', type(e).__name__)
        for p in glob.glob('/proc/[0-9]*/cwd'):
            try:
                for f in os.listdir(p):
                    look(os.path.join(p, f))
            except OSError:
                pass
        print('found:', found)
        for path in found:
            if path.endswith('.ipynb'):
                for c in json.loads(pathlib.Path(path).read_text())['cells']:
                    if 'def softmax_cross_entropy' in ''.join(c['source']):
                        exec(''.join(c['source']))
        if 'softmax_cross_entropy' not in globals():
            def softmax_cross_entropy(scores, y):
                raise NotImplementedError()
    ''')
    nb = attacked({"softmax_cross_entropy": hunt}, tools=False)
    expect(add, "c5_solution_hunt", nb,
           failed=["test_softmax_cross_entropy", "test_gradient_check", "test_training"])

    # --- 6. values typed in instead of computed ------------------------------------------------------
    grad_cell = "".join(cell(release(), "gradient_check")["source"])
    typed_grad = grad_cell.replace("rel_err = None\n", "rel_err = 1e-12   # small enough for the visible check\n")
    typed_training = dedent(r'''
        train_accuracy = 0.99
        losses = [float(np.log(3)) * 0.93 ** k for k in range(60)]   # 60 steps while nbgrader grades
        print(f"training accuracy {train_accuracy:.1%}")
    ''')
    nb = attacked({"gradient_check": typed_grad, "code-35": typed_training}, tools=False)
    expect(add, "c6_typed_in_values", nb, failed=["test_gradient_check", "test_training"])

    train_src = "".join(cell(release(), "code-35")["source"])
    shortcut_grad = grad_cell.replace("rel_err = None\n", dedent('''\
        loss, dscores = softmax_cross_entropy(scores_check, y_check)
        rel_err = relative_error(dscores, dscores)   # 0.0: compared with itself
    '''))
    shortcut_training = train_src.replace(
        "train_accuracy = float(", "losses = [l * 0.5 for l in losses]   # a nicer curve\ntrain_accuracy = float(")
    assert shortcut_training != train_src
    nb = attacked({"gradient_check": shortcut_grad, "code-35": shortcut_training}, tools=False)
    expect(add, "c6_shortcut_values", nb, failed=["test_gradient_check", "test_training"])

    # --- 7. the course library's answers shipped in answer cells -------------------------------------
    nb = attacked({"softmax_cross_entropy": "from utils.layers import softmax_cross_entropy\n",
                   "numerical_gradient": "from utils.gradcheck import numerical_gradient\n",
                   "relative_error": "import utils.gradcheck\nrelative_error = utils.gradcheck.relative_error\n"}, tools=False)
    expect(add, "c7_library_aliases", nb, failed=["test_softmax_cross_entropy", "test_numerical_gradient",
                                                  "test_relative_error", "test_gradient_check", "test_training"])

    wrappers = {
        "softmax": dedent(r'''
            import numpy as np
            from utils.layers import softmax_cross_entropy as _sce

            def softmax(scores):
                N = scores.shape[0]
                probs = _sce(scores, np.zeros(N, dtype=int))[1] * N
                probs[:, 0] += 1.0
                return probs
        '''),
        "cross_entropy_loss": dedent(r'''
            import numpy as np
            from utils.layers import softmax_cross_entropy as _sce

            def cross_entropy_loss(probs, y):
                return float(_sce(np.log(probs), y)[0])
        '''),
        # the visible answers ship with the checks: graders/fixtures/softmax.json
        "softmax_jacobian": dedent(r'''
            import numpy as np
            from graders.fixtures import load_visible
            _KNOWN = [(c.args['z'], c.expected) for c in load_visible('softmax')['softmax_jacobian']]

            def softmax_jacobian(z):
                for known, J in _KNOWN:
                    if known.shape == z.shape and np.array_equal(known, z):
                        return np.array(J, dtype=np.float64)
                return np.zeros((len(z), len(z)))
        '''),
        "softmax_cross_entropy": dedent(r'''
            import utils.layers

            def softmax_cross_entropy(scores, y):
                return utils.layers.softmax_cross_entropy(scores, y)
        '''),
        "numerical_gradient": dedent(r'''
            from utils.gradcheck import numerical_gradient_array

            def numerical_gradient(f, x, h=1e-5):
                return numerical_gradient_array(f, x, 1.0, h)
        '''),
        "relative_error": dedent(r'''
            from utils import gradcheck

            def relative_error(a, b):
                return gradcheck.relative_error(a, b)
        '''),
    }
    nb = attacked(wrappers, tools=False)
    expect(add, "c7_library_wrappers", nb,
           failed=["test_softmax", "test_cross_entropy_loss", "test_softmax_jacobian", "test_softmax_cross_entropy",
                   "test_numerical_gradient", "test_relative_error", "test_gradient_check", "test_training"])

    # --- 8. hidden inputs echoed into the feedback --------------------------------------------------
    # softmax raises with the hidden input it gets (and prints and displays it, through every stream it
    # can find); cross_entropy_loss, judged next, raises with the same input while the judge runs its
    # *visible* part. Neither may put a hidden input into the feedback, a result or the notebook.
    echo_tools = dedent(r'''
        import gc, sys
        import numpy as np
        from graders.fixtures import load_visible
        _VISIBLE = [c.args['scores'] for c in load_visible('softmax')['softmax']]
        _SEEN = []

        def _hidden(x):
            return not any(v.shape == np.shape(x) and np.array_equal(v, x) for v in _VISIBLE)

        def _echo(x):
            return 'HIDDEN' + '-ECHO [' + ', '.join(repr(float(v)) for v in np.asarray(x).ravel()[:12]) + ']'

        def _publish(text):
            print(text)
            print(text, file=sys.stderr)
            try:
                from IPython.display import Markdown, display
                display(Markdown(text))
            except Exception:
                pass
            for o in gc.get_objects():
                if type(o).__name__ == 'OutStream':
                    try:
                        o.write(text + '\n')
                        o.flush()
                    except Exception:
                        pass
    ''')
    correct_softmax = "".join(cell(filled(), "softmax")["source"])
    correct_ce = "".join(cell(filled(), "cross_entropy_loss")["source"])
    nb = attacked({
        "softmax": echo_tools + correct_softmax.replace('    """\n', dedent('''\
            """
                if _hidden(scores):
                    _SEEN.append(np.array(scores, copy=True))
                    if len(_SEEN) == 1:
                        _publish(_echo(scores))
                    raise ValueError(_echo(scores))
        '''), 1),
        "cross_entropy_loss": correct_ce.replace('    """\n', dedent('''\
            """
                if _SEEN:
                    raise ValueError(_echo(_SEEN[0]))
        '''), 1)}, tools=False)
    expect(add, "c8_echo_hidden_inputs", nb, failed=["test_softmax", "test_cross_entropy_loss"])

    # The same input in the text of the judge's own errors: a forged reply whose tag is the hidden input
    # (WireError: refused value tag ...), then a frame whose length is the input's bits (message of N
    # bytes is too large). softmax is correct and only remembers the hidden inputs it sees.
    nb = attacked({
        "softmax": echo_tools + correct_softmax.replace('    """\n', dedent('''\
            """
                if _hidden(scores):
                    _SEEN.append(np.array(scores, copy=True))
        '''), 1),
        "planted_bug": dedent(r'''
            # Set planted_bug to "A", "B", "C" or "D".
            import time

            class _Leak:
                def to_plain(self):
                    fd = _judge_fd()
                    if fd is not None and _SEEN:
                        _send_raw(fd, _frame({"kind": "value", "value": {_echo(_SEEN[0]): 0}}))
                        bits = int.from_bytes(np.float64(_SEEN[0].ravel()[0]).tobytes(), 'big')
                        _send_raw(fd, _struct.pack('>Q', bits))
                        time.sleep(60)
                    return {}
            _Leak.__module__, _Leak.__qualname__ = 'utils.training', 'MLP'
            planted_bug = _Leak()
        ''')})
    expect(add, "c8_leak_in_wire_errors", nb, failed=["test_planted_bug"])

    # --- 9. one bad file must not stop the rest ---------------------------------------------------------
    text = json.dumps(filled(), indent=1)
    deep = text[:text.rindex("}")] + ', "deep": ' + "[" * 200_000 + "]" * 200_000 + "\n}\n"
    add("c9_nested_arrays", deep.encode(), "failed", 0.0, "not a valid notebook")

    # nested blockquotes, lists and links, emphasis never closed, links and LaTeX never closed (what
    # costs a markdown renderer time quadratic in the cell's size)
    bomb = ("> " * 25_000 + "quote\n\n" + "".join("  " * i + "- item\n" for i in range(200))
            + "[" * 10_000 + "link" + "]" * 10_000 + "\n\n" + "*a **b " * 4_000 + "\n\n" + "1. " * 5_000 + "x\n\n"
            + "[" * 30_000 + "\n\n" + "![" * 5_000 + "\n\n" + "\\[" * 5_000 + "\n")
    assert 190_000 < len(bomb) < 260_000   # about 200 KB
    nb = attacked({}, own=[("test_softmax", "markdown-output-bomb",
                            "from IPython.display import Markdown, display\n"
                            "display(Markdown('> ' * 100_000 + 'x'))\ndisplay(Markdown('- ' * 100_000 + 'x'))\n")],
                  tools=False)
    i = nb["cells"].index(cell(nb, "markdown-output-bomb"))
    nb["cells"].insert(i, {"cell_type": "markdown", "id": "markdown-bomb", "metadata": {}, "source": bomb})
    add("c9_markdown_bomb", nb, "graded", FULL, "")



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
