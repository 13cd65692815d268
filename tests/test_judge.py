"""The trusted re-check's channel: plain-data values (classroom.wire) and the judge talking to a worker
(classroom.worker) that holds a student's functions. The worker here is a plain Python process serving
a namespace, as the student's kernel does after nbgrader has run the notebook."""
import json
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from coursework import ROOT
from classroom import wire
from graders.checking import CheckFailure, call, prefetch, repeat
from classroom.judge import Limits, RemoteFunction, Worker, WorkerGone, judge_notebook
from utils.gradcheck import numerical_gradient_array


# ------------------------------------------------------------------------------------------ values
@pytest.mark.parametrize("value", [
    np.arange(12, dtype=np.float64).reshape(3, 4),
    np.arange(12, dtype=np.float32).reshape(3, 4).T,           # not contiguous
    np.asfortranarray(np.ones((2, 3))),
    np.array(3.5), np.array([], dtype=np.int64).reshape(0, 3),
    np.array([True, False]), np.array([1 + 2j]), np.array(["relu", "tanh"]),
    np.array([1, 2], dtype=np.uint8), np.array([np.nan, np.inf, -np.inf]),
], ids=lambda v: f"{v.dtype}{v.shape}")
def test_arrays_cross_exactly(value):
    back = wire.decode(wire.encode(value))
    assert type(back) is np.ndarray and back.dtype == value.dtype and back.shape == value.shape
    np.testing.assert_array_equal(back, value)
    assert back.flags.writeable


def test_containers_scalars_and_generators_cross():
    rng = np.random.default_rng(5)
    rng.random(3)
    value = {"w": [np.ones(2), (1, 2.5, None)], 3: {"b", "a"}, "f": np.float32(1.5), "i": np.int64(7),
             "rng": rng, "x": float("nan")}
    back = wire.decode(wire.encode(value))
    assert back["w"][1] == (1, 2.5, None) and back[3] == {"a", "b"}
    assert type(back["f"]) is np.float32 and back["f"] == 1.5 and type(back["i"]) is np.int64
    assert back["rng"].random() == np.random.default_rng(5).random(4)[3]
    assert np.isnan(back["x"])


class Subclass(np.ndarray):
    pass


def test_refused_values_arrive_as_unsupported():
    assert isinstance(wire.decode(wire.encode(np.array([object()]))), wire.Unsupported)
    assert isinstance(wire.decode(wire.encode(np.zeros(2, dtype=[("a", "f8")]))), wire.Unsupported)
    assert isinstance(wire.decode(wire.encode(object())), wire.Unsupported)
    sub = np.arange(3.0).view(Subclass)
    assert type(wire.decode(wire.encode(sub))) is np.ndarray  # a subclass crosses as a plain array


@pytest.mark.parametrize("bad", [
    {"__nd__": ["|O", [1], "AAAAAAAAAAA="]},                 # object dtype
    {"__nd__": ["<f8", [2], "AAAAAAAAAAA="]},                # 8 bytes for 2 float64
    {"__nd__": ["<f8", [-1], ""]},
    {"__nd__": ["not a dtype", [1], ""]},
    {"__nd__": "AAAA"},
    {"__pickle__": "gASVAAAAAAAAAACMCGJ1aWx0aW5zlIwEZXZhbJSTlC4="},
])
def test_malformed_values_are_refused(bad):
    with pytest.raises(wire.WireError):
        wire.decode(bad)


# ------------------------------------------------------------------------------------------ the trust boundary
@pytest.mark.parametrize("frame", [
    {"__func__": ["graders.__main__", "main"]},                   # an import by name
    {"__func__": ["utils.layers", "relu_forward"]},
    {"__obj__": ["utils.training", "MLP"], "attrs": {"__dict__": []}},  # an object built attribute by attribute
    {"__callback__": "0"},
    {"__pickle__": "gASVAAAAAAAAAACMCGJ1aWx0aW5zlIwEZXZhbJSTlC4="},
])
def test_the_judge_never_imports_builds_or_calls_what_the_worker_names(frame):
    """Whatever a (forged) reply says, the judge's decode imports nothing and builds no object by name."""
    import sys
    before = set(sys.modules)
    with pytest.raises(wire.WireError):
        wire.decode(frame)            # the judge's side: from_worker=True
    assert set(sys.modules) == before


def test_a_spoofed_module_name_crosses_as_unsupported():
    """A student's class or function that claims to live in the course's packages is not trusted."""
    class Spoof:
        pass
    Spoof.__module__, Spoof.__qualname__ = "graders.checking", "Case"

    def f():
        pass
    f.__module__ = "graders.__main__"
    assert isinstance(wire.decode(wire.encode(Spoof(), remotes={})), wire.Unsupported)
    remotes = {}
    assert wire.encode(f, remotes=remotes) == {"__remote__": "#0"} and remotes["#0"] is f   # a handle, not a name


def test_course_types_are_rebuilt_by_the_receivers_own_class():
    from utils.training import MLP

    model = MLP(4, [3], 2, np.random.default_rng(0), batchnorm=True)
    back = wire.decode(wire.encode(model, remotes={}))
    assert type(back) is MLP and back.layers.affine_forward.__module__ == "utils.layers"
    X = np.random.default_rng(1).standard_normal((5, 4))
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    fields = model.to_plain()
    for broken in [{**fields, "params": {**fields["params"], "W9": np.ones(2)}},       # an extra parameter
                   {**fields, "num_layers": 5},                                          # wrong architecture
                   {**fields, "params": {**fields["params"], "W1": np.ones((4, 7))}},   # shapes do not chain
                   {**fields, "extra": 1}, {**fields, "bn_params": [{"mode": "predict"}]}]:
        got = wire.decode({"__course__": ["MLP", wire.encode(broken)]})
        assert isinstance(got, wire.Unsupported), broken
    assert isinstance(wire.decode({"__course__": ["Layers", wire.encode({})]}), wire.Unsupported)


@pytest.mark.parametrize("payload", [
    "[" * 100_000 + "]" * 100_000,                                    # 100,000 nested arrays
    json.dumps({"__list__": [{"__list__": []}] * 1_100_000}),          # a million empty lists (~20 MB)
], ids=["deep", "many"])
def test_oversized_or_overdeep_replies_are_refused_before_they_cost_memory(payload):
    import struct
    import threading
    import time

    a, b = socket.socketpair()
    data = payload.encode()
    threading.Thread(target=lambda: (a.sendall(struct.pack(">Q", len(data)) + data), a.close()), daemon=True).start()
    try:
        with pytest.raises(wire.WireError):
            wire.receive(b.fileno(), deadline=time.monotonic() + 30)
    finally:
        b.close()


def test_nesting_and_generators_are_bounded():
    deep = {"__list__": []}
    for _ in range(wire.MAX_DEPTH + 5):
        deep = {"__list__": [deep]}
    with pytest.raises(wire.WireError):
        wire.decode(deep)
    mt = np.random.Generator(np.random.MT19937(1)).bit_generator.state
    with pytest.raises(wire.WireError):
        wire.decode({"__rng__": mt})
    with pytest.raises(wire.WireError):
        wire.decode({"__nd__": ["<f8", [2 ** 40], ""]})


# ------------------------------------------------------------------------------------------ a worker
STUDENT = textwrap.dedent('''
    import numpy as np
    calls = 0

    def double(x):
        global calls
        calls += 1
        print("noise " * 1000)          # printing must not disturb the channel
        return 2 * x, {"x": x}

    def scale_in_place(x):
        x *= 3

    def make_schedule(lr0):
        return lambda epoch: lr0 / (1 + epoch)

    def draw(rng):
        return float(rng.random())

    def apply(f, x):
        return f(x) + 1

    def broken(x):
        raise ValueError(f"bad x {x}")

    class ShapeError(Exception):
        pass

    def own_error(x):
        raise ShapeError("my own exception class")

    def replace_entries(param):
        param["running_mean"] = [1.0, 2.0]          # a list where there was an array
        param["running_var"] = np.ones(2, dtype=np.float32)

    def hang(x):
        while True:
            try:
                time.sleep(1)
            except BaseException:
                pass

    def overflow(x):
        return np.exp(x)

    def slow(x):
        time.sleep(0.5)
        return x

    seen = []

    def record(x):
        seen.append(x.tolist())
        return x

    def echo():
        raise ValueError(f"I saw {seen}")

    import time
    ANSWER = 42
''')


def _listen(tmp_path):
    path = tmp_path / "judge.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    return path, listener


@pytest.fixture
def worker(tmp_path):
    path, listener = _listen(tmp_path)
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); ns = {{}}; exec({STUDENT!r}, ns); "
            f"from classroom.worker import serve; serve({str(path)!r}, ns)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    w = Worker.accept(listener, Limits(cell_timeout=2, notebook_timeout=60), kill=proc.kill, timeout=30)
    yield w
    w.close()
    listener.close()
    proc.wait(timeout=10)


def test_calls_values_and_in_place_changes(worker):
    double = worker.get("double")
    assert isinstance(double, RemoteFunction)
    x = np.arange(3.0)
    out, cache = double(x)
    np.testing.assert_array_equal(out, [0, 2, 4])
    np.testing.assert_array_equal(cache["x"], x)
    assert worker.get("ANSWER") == 42 and worker.get("calls") == 1
    y = np.ones(2)
    worker.get("scale_in_place")(y)
    np.testing.assert_array_equal(y, [3, 3])   # the student's in-place change shows on the judge's array
    assert worker.get("missing_name") is not None and not isinstance(worker.get("missing_name"), RemoteFunction)


def test_replaced_dict_entries_arrive_as_they_are(worker):
    param = {"running_mean": np.zeros(2), "running_var": np.zeros(2)}
    worker.get("replace_entries")(param)
    assert param["running_mean"] == [1.0, 2.0]
    assert param["running_var"].dtype == np.float32 and param["running_var"].tolist() == [1.0, 1.0]


def test_a_returned_function_can_be_called(worker):
    schedule = worker.get("make_schedule")(0.1)
    assert isinstance(schedule, RemoteFunction)
    assert [schedule(e) for e in range(3)] == [0.1, 0.05, 0.1 / 3]


def test_callbacks_run_in_the_judge(worker):
    seen = []
    assert worker.get("apply")(lambda v: seen.append(v) or 10 * v, 2) == 21
    assert seen == [2]


def test_prefetch_matches_one_call_each(worker):
    double = worker.get("double")
    before = worker.get("calls")
    xs = [np.full(2, float(k)) for k in range(50)]
    stand_ins = prefetch(double, [([x], {}) for x in xs])
    assert worker.get("calls") == before + 50     # every call made up front, in one round trip
    for k, (f, x) in enumerate(zip(stand_ins, xs)):
        np.testing.assert_array_equal(f(x)[0], 2 * x)
    # the library's numeric gradient gives the same numbers batched or not
    x0 = np.linspace(-1, 1, 6)
    dout = np.arange(6.0)
    batched = numerical_gradient_array(None, x0.copy(), dout, f_many=lambda points: [
        f(p)[0] for f, p in zip(prefetch(double, [([p], {}) for p in points]), points)])
    np.testing.assert_array_equal(batched, numerical_gradient_array(lambda v: 2 * v, x0.copy(), dout))


def test_prefetch_stops_at_the_first_failure(worker):
    broken = worker.get("broken")
    stand_ins = prefetch(broken, [([k], {}) for k in range(3)])
    for k, f in enumerate(stand_ins):
        with pytest.raises(ValueError, match="bad x 0"):
            f(k)


def test_repeat_advances_the_same_generator(worker):
    rng = np.random.default_rng(1)
    got = repeat(worker.get("draw"), 5, rng)
    assert got == list(np.random.default_rng(1).random(5))
    assert rng.random() == np.random.default_rng(1).random(6)[5]   # the judge's rng advanced too


def test_errors_warnings_and_mutation_become_check_messages(worker):
    from graders.checking import Case
    with pytest.raises(CheckFailure, match="raised ValueError: bad x 1"):
        call(worker.get("broken"), "broken", Case("one", {"x": 1}))
    with pytest.raises(CheckFailure, match="floating-point problem"):
        call(worker.get("overflow"), "overflow", Case("big", {"x": np.array([1000.0])}))
    case = Case("ones", {"x": np.ones(2)})
    with pytest.raises(CheckFailure, match="changed its input `x` in place"):
        call(worker.get("scale_in_place"), "scale_in_place", case)
    assert case.args["x"].tolist() == [1.0, 1.0]   # undone: later checks (and students) see the original
    with pytest.raises(CheckFailure, match="own_error raised ShapeError: my own exception class"):
        call(worker.get("own_error"), "own_error", Case("one", {"x": 1}))


def test_a_hung_function_ends_the_worker(worker):
    # the per-call limit (2 s, plus 5 s for the worker to report its own time-out), not the notebook's
    with pytest.raises(WorkerGone, match="no answer within 7 s"):
        worker.get("hang")(1)
    with pytest.raises(WorkerGone):
        worker.get("double")


def test_a_batch_allows_each_call_its_own_time_limit(worker):
    # 16 calls of 0.5 s: longer together (8 s) than one call's limit (2 s + 5 s), yet none is cut short
    # (the worker reports progress between calls)
    assert [f(k) for k, f in enumerate(worker.get("slow").many([([k], {}) for k in range(16)]))] == list(range(16))
    assert repeat(worker.get("slow"), 16, 1) == [1] * 16
    # and a call that escapes its alarm inside a batch of 20 is given up after one call's limit, not 20
    with pytest.raises(WorkerGone, match="no answer within 7 s"):
        worker.get("hang").many([([1], {})] * 20)


def test_judge_notebook_verdicts(worker):
    tests = [("ok", 1.0, "out, _ = double(np.ones(2))\nassert out.sum() == 4\n### BEGIN HIDDEN TESTS\nassert ANSWER == 42\n"),
             ("hidden_fails", 1.0, "assert ANSWER == 42\n### BEGIN HIDDEN TESTS\nassert ANSWER == 41, 'hidden'\n"),
             ("visible_fails", 1.0, "broken(1)\n")]
    verdict = judge_notebook(worker, tests)
    got = {c.grade_id: (c.visible_passed, c.passed) for c in verdict.cells}
    assert got == {"ok": (True, True), "hidden_fails": (True, False), "visible_fails": (False, False)}
    assert "bad x 1" in verdict.cells[2].message


def test_hidden_inputs_never_reach_a_message_made_from_the_students_text(worker):
    """Every visible part runs before any hidden one: a function that records what it is given cannot
    echo a hidden input in a later cell's visible message; a failed hidden part shows fixed text."""
    tests = [("a", 1.0, "record(np.zeros(1))\n### BEGIN HIDDEN TESTS\nrecord(np.full(1, 7.25))\n"),
             ("b", 1.0, "echo()\n"),
             ("c", 1.0, "record(np.ones(1))\n### BEGIN HIDDEN TESTS\necho()\n")]
    verdict = judge_notebook(worker, tests)
    messages = " ".join(c.message for c in verdict.cells)
    assert "7.25" not in messages
    assert verdict.cells[1].message.endswith("I saw [[0.0]]")      # what the visible parts before it gave
    assert verdict.cells[2].message.startswith("the hidden tests of this cell failed")


def test_without_a_worker_every_cell_fails_with_the_reason():
    verdict = judge_notebook(None, [("a", 1.0, "pass\n"), ("b", 2.0, "pass\n")], error="the kernel died")
    assert [(c.passed, c.message) for c in verdict.cells] == [(False, "the kernel died")] * 2


def test_a_kernel_that_stalls_mid_message_is_given_up(tmp_path):
    """A hostile kernel that sends half a frame and then nothing cannot hold the judge past its deadline."""
    path, listener = _listen(tmp_path)
    code = ("import socket, struct, time; s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); "
            f"s.connect({str(path)!r}); s.recv(100); s.sendall(struct.pack('>Q', 1000) + b'{{'); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        w = Worker.accept(listener, Limits(cell_timeout=2, notebook_timeout=30), kill=proc.kill, timeout=30,
                          deadline=time.monotonic() + 8)
        # given up mid-frame (the kernel would close the channel only after 60 s)
        with pytest.raises(WorkerGone, match="stalled in the middle of a message"):
            w.get("anything")
        assert proc.wait(timeout=10) is not None    # and it was killed
    finally:
        proc.kill()
        listener.close()
