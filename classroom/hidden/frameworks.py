"""Hidden cases and criteria for notebook 10_frameworks (``graders/frameworks.py`` holds the visible ones).

``CASES`` draws ``unbroadcast``'s hidden cases: the visible kinds from other numbers, then more shapes
(four axes, several stretched axes at once, a scalar from a vector, an input of shape (1, 1)).
``CRITERIA`` holds the hidden inputs of the other checks, which need no reference solution (their oracles
are the course library and numeric gradients):

- ``primitive_cases(name, rng)``: more inputs of each primitive (other shapes, broadcasting both ways,
  keepdims with negative-free tuples of axes, exponents, a single class, a single example);
- ``graphs(rng)``: random graphs of other sizes, a wide fan-in with repeated parents, a chain 300 nodes deep;
- ``expressions(rng)``: the visible expressions at other inputs and shapes, and 100 residual tanh steps (300 nodes deep);
- ``minimize_runs(rng)``: trajectories from other starting points, learning rates and step counts, and
  ``trajectory``, the formula of the expected trajectories (the visible check holds a table of its runs' values);
- ``train_mlp(train_mlp, data)``: two more training seeds, graded on the *test* images.
"""
from __future__ import annotations

import numpy as np

from graders.checking import Case, fail
from graders.frameworks import (BOWL_CENTRE, BOWL_SCALE, ORACLES, TRAIN_RUN, evaluate, expr_affine_relu, expr_batchnorm, expr_bowl, expr_broadcast,
                                expr_composed, expr_deep, expr_diamond, expr_notes_cost, expr_square, expr_two_layer,
                                predict, random_graph, training_call)

TRAIN_TEST_MIN = 0.90     # test accuracy of each hidden training run (reference, 200 seeds: 0.94 to 0.97)


# ---------------------------------------------------------------- unbroadcast
def _unbroadcast(rng: np.random.Generator) -> list[Case]:
    pairs = [((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 1)), ((2, 3), ()),
             ((2, 3, 4, 5), (1, 4, 1)), ((2, 3, 4, 5), (3, 1, 5)), ((6,), ()), ((1, 1), (1, 1)), ((5, 2), (1,)),
             ((2, 1, 3), (1, 1, 3))]
    return [Case(f"grad of shape {g}, input shape {s}", {"grad": rng.standard_normal(g), "shape": s})
            for g, s in pairs]


CASES = {"unbroadcast": _unbroadcast}


# ---------------------------------------------------------------- primitives
def _primitive_cases(name: str, rng: np.random.Generator) -> list[tuple[Case, np.ndarray]]:
    def with_dout(case):
        out = ORACLES[name](*case.args.values(), **case.kwargs)
        return case, rng.standard_normal(np.shape(out))

    if name in ("add", "mul"):
        shapes = [((4, 1, 3), (2, 1)), ((1,), (3, 2)), ((), (2, 2)), ((5, 3), (5, 3))]
        return [with_dout(Case(f"a of shape {sa}, b of shape {sb} (hidden)",
                               {"a": rng.standard_normal(sa), "b": rng.standard_normal(sb)})) for sa, sb in shapes]
    if name == "matmul":
        dims = [(1, 1, 1), (7, 6, 5), (3, 8, 1)]
        return [with_dout(Case(f"a of shape {(n, d)}, b of shape {(d, m)} (hidden)",
                               {"a": rng.standard_normal((n, d)), "b": rng.standard_normal((d, m))}))
                for n, d, m in dims]
    if name == "relu":
        x = rng.standard_normal((6, 7))
        x = np.where(np.abs(x) < 0.05, 0.05 + np.abs(x), x)
        return [with_dout(Case("x of shape (6, 7) (hidden)", {"x": x})),
                with_dout(Case("all-negative x (hidden)", {"x": -np.abs(x[:2]) - 0.1}))]
    if name == "tanh":
        return [with_dout(Case("x of shape (2, 3, 4) (hidden)", {"x": rng.standard_normal((2, 3, 4))})),
                with_dout(Case("a 0-d x (hidden)", {"x": np.array(rng.standard_normal())}))]
    if name == "reduce_sum":
        specs = [((3, 4), 1, False), ((3, 4), (0, 1), True), ((2, 3, 4), (1, 2), False), ((5,), 0, True),
                 ((2, 3, 4), 0, True)]
        return [with_dout(Case(f"x of shape {s}, axis={axis}, keepdims={keep} (hidden)",
                               {"x": rng.standard_normal(s)}, kwargs={"axis": axis, "keepdims": keep}))
                for s, axis, keep in specs]
    if name == "power":
        return [with_dout(Case(f"x of shape (4, 2) in [0.5, 3], p = {p} (hidden)",
                               {"x": rng.uniform(0.5, 3.0, size=(4, 2))}, kwargs={"p": p}))
                for p in (1.0, 4.0, 1.5, -2.0, 0.0)]
    if name == "softmax_cross_entropy":
        out = []
        for N, C in ((1, 4), (5, 1), (8, 10)):
            case = Case(f"scores of shape {(N, C)} (hidden)", {"scores": rng.standard_normal((N, C))},
                        kwargs={"y": rng.integers(0, C, size=N)})
            out.append((case, np.array(rng.uniform(-2.0, 2.0))))
        return out
    raise KeyError(name)


# ---------------------------------------------------------------- graphs
def _graphs(rng: np.random.Generator) -> list[tuple[str, int, dict]]:
    out = []
    for n, extra in ((12, 20), (60, 80), (120, 40)):
        root, parents = random_graph(rng, n, extra)
        out.append((f"a random graph of {n} nodes (hidden)", root, parents))
    wide = {0: tuple(int(v) for v in rng.integers(1, 6, size=9)), **{k: (6,) for k in range(1, 6)}, 6: ()}
    out.append(("a wide fan-in with repeated parents (hidden)", 0, wide))
    out.append(("a chain 300 nodes deep (hidden)", 0, {k: (k + 1,) for k in range(300)} | {300: ()}))
    return out


# ---------------------------------------------------------------- expressions
def _expressions(rng: np.random.Generator) -> list[tuple[str, object, list, dict]]:
    N, D, H, C = 9, 4, 8, 5
    return [
        ("(x * x).sum(), x of shape (5,) (hidden)", expr_square, [rng.standard_normal(5)], {}),
        ("the diamond, x of shape (4, 4) (hidden)", expr_diamond, [rng.standard_normal((4, 4))], {}),
        ("broadcast, x (2, 3, 4), b (3, 1) (hidden)", expr_broadcast,
         [rng.standard_normal((2, 3, 4)), 0.5 * rng.standard_normal((3, 1))], {}),
        ("composed operations, other shapes (hidden)", expr_composed,
         [rng.standard_normal((5, 2)), rng.standard_normal((5, 2))], {}),
        ("an affine layer and a ReLU, other shapes (hidden)", expr_affine_relu,
         [rng.standard_normal((N, D)), rng.standard_normal((D, H)), rng.standard_normal(H)],
         {"dout": rng.standard_normal((N, H))}),
        ("a two-layer network, 9 examples, 5 classes (hidden)", expr_two_layer,
         [rng.standard_normal((N, D)), 0.5 * rng.standard_normal((D, H)), 0.1 * rng.standard_normal(H),
          0.5 * rng.standard_normal((H, C)), 0.1 * rng.standard_normal(C)], {"y": rng.integers(0, C, size=N)}),
        ("batch norm from primitives, x (9, 3) (hidden)", expr_batchnorm,
         [rng.standard_normal((N, 3)) * 3 - 1, 1 + 0.2 * rng.standard_normal(3), rng.standard_normal(3)],
         {"dout": rng.standard_normal((N, 3))}),
        ("100 residual tanh steps (hidden)", expr_deep, [0.5 * rng.standard_normal(3)], {}),
        ("the notes' cost at a vector w (hidden)", expr_notes_cost, [rng.uniform(-3, 8, size=3)], {}),
        ("the bowl (hidden)", expr_bowl, [rng.standard_normal(2)], {}),
    ]


# ---------------------------------------------------------------- trajectories
def _minimize_runs(rng: np.random.Generator) -> list[tuple]:
    w = float(rng.uniform(-5, 15))
    return [(expr_notes_cost, np.array(w), "sgd", float(rng.uniform(0.05, 0.4)), 30),
            (expr_notes_cost, np.array(w), "adam", float(rng.uniform(0.1, 1.0)), 40),
            (expr_bowl, rng.uniform(-3, 3, size=2), "adam", float(rng.uniform(0.01, 0.3)), 30),
            (expr_bowl, rng.uniform(-3, 3, size=2), "sgd", 0.02, 20),
            (expr_notes_cost, np.array(w), "sgd", 0.1, 0)]


def _cost_gradient(cost, w):
    """The exact gradient of one of graders.frameworks' costs."""
    if cost is expr_notes_cost:
        return 2.0 * w - 10.0
    if cost is expr_bowl:
        return 2.0 * BOWL_SCALE * (w - BOWL_CENTRE)
    raise KeyError(cost)


def trajectory(cost, w0, optimizer: str, lr: float, steps: int, zero_grad: bool = True):
    """The expected ``(ws, costs)`` of ``minimize``: the course library's update rules (utils.optim, notebook 06)
    on the exact gradient of ``cost``. ``zero_grad=False``: what a loop without zero_grad does (for hints). Kept
    here, not in graders/ (which the grading sandbox shows): for the check's costs it is minimize's answer."""
    from utils.optim import adam, sgd

    update, config = (sgd, {"lr": lr}) if optimizer == "sgd" else (adam, {"lr": lr, "beta1": 0.9, "beta2": 0.999})
    w = np.array(w0, dtype=np.float64)
    ws, costs, total = [w.copy()], [], np.zeros_like(w)
    for _ in range(steps):
        costs.append(evaluate(cost, [w], {}))
        g = _cost_gradient(cost, w)
        total = total + g if not zero_grad else g
        w, config = update(w, total, config)
        ws.append(np.array(w, dtype=np.float64))
    return np.array(ws), np.array(costs)


# ---------------------------------------------------------------- training
def hidden_training_seeds(seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(s) for s in rng.integers(100, 10**6, size=2)]


def _train_mlp(train_mlp, *, data) -> None:
    from graders.fixtures import current_hidden_seed

    for seed in hidden_training_seeds(current_hidden_seed()):
        params, _, case = training_call(train_mlp, data["X_train"], data["y_train"], **TRAIN_RUN, seed=seed,
                                        label=f"the digits training set, rng = default_rng({seed}) (hidden)")
        acc = float(np.mean(predict(params, data["X_test"]) == data["y_test"]))
        if not acc >= TRAIN_TEST_MIN:
            fail(f"a network trained by train_mlp from another seed reaches {acc:.3f} test accuracy (at least "
                 f"{TRAIN_TEST_MIN} expected).")


CRITERIA = {"primitive_cases": _primitive_cases, "graphs": _graphs, "expressions": _expressions,
            "minimize_runs": _minimize_runs, "trajectory": trajectory, "train_mlp": _train_mlp}
