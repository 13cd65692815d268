"""Checks for notebook 10_frameworks: primitives with their backward rules, the topological order of a
graph, the backward pass of a Tensor (through ``value_and_grad``), an optimiser's ``step`` (through
``minimize``) and a training loop (``train_mlp``).

Everything crosses the grading boundary as plain data. A primitive returns ``(out, backward)``; the
backward function stays in the student's kernel and the check calls it with its own ``dout``. The
Tensor class never leaves the kernel either: ``value_and_grad(f, *arrays, **constants)`` is called with
an expression ``f`` of this module (``expr_*``, module-level functions that the trusted re-check sends by
name, so they run in the kernel on the student's Tensors), and returns a number and arrays. A graph for
``topological_order`` is small integers and a ``parents_of`` function of the check's own. ``minimize``
gets a cost of this module and returns arrays; ``train_mlp`` returns its trained parameters as arrays,
which the check evaluates with its own forward pass.

The oracles are the course's own: forward values from plain numpy and ``utils.layers``, the backward
passes of ``utils.layers`` (``affine_backward``, ``relu_backward``, ``tanh_backward``, the fused loss,
``batchnorm_backward``) where a computation is one of the course's layers, and float64 centred-difference
gradients (``utils.gradcheck``) of the forward values everywhere. ``unbroadcast`` has fixture cases
(``fixtures/frameworks.json``); ``minimize``'s visible runs compare with a table of their values
(``MINIMIZE_VALUES``), the formula behind it lives with the hidden cases. Hidden tests pass ``hidden=True``: more inputs (other shapes, seeds,
graphs, expressions' inputs, trajectories and training seeds) then come from the hidden module
(``classroom/hidden/frameworks.py``, not part of the student release).
"""
from __future__ import annotations

import copy

import numpy as np

from utils.gradcheck import numerical_gradient_array
from .checking import (Case, call, expect_array, expect_close, expect_scalar, expect_tuple,
                       fail, plain, ratio, reporting)
from .fixtures import cases, current_hidden_seed, hidden_criterion
from .rerun import one_blas_thread

TOPIC = "frameworks"
RTOL, ATOL = 1e-7, 1e-10   # float64 formulas agree with the oracle to ~1e-15
GRAD_TOL = 1e-6            # centred differences (h = 1e-5) on smooth functions reach ~1e-9
VISIBLE_SEED = 10          # the visible checks' own draws (primitives, graphs, expressions)

HINTS = {
    "unbroadcast": "First sum over the leading axes that broadcasting added (grad.ndim - len(shape) of them); "
                   "then, for every axis where shape has a 1 but grad does not, sum over it with keepdims=True. "
                   "Finish with reshape(shape).",
    "mul": "d(a * b)/da = b and d(a * b)/db = a, times dout; then bring each back to its input's shape with "
           "unbroadcast(..., np.shape(a)).",
    "matmul": "Shapes tell you the answer: da must be (N, D) from dout (N, M) and b (D, M); db must be (D, M) "
              "from a (N, D) and dout.",
    "relu": "Keep x in the closure; the gradient is dout where x > 0 and 0 elsewhere. Return a tuple of one: (dx,).",
    "tanh": "The derivative 1 - tanh(x)**2 is best computed from the output you already have.",
    "reduce_sum": "Every summed entry gets dout. Without keepdims, put the summed axes back first "
                  "(np.expand_dims(dout, axis)), then np.broadcast_to the shape of x (and copy).",
    "power": "d(x**p)/dx = p * x**(p - 1), times dout.",
    "softmax_cross_entropy": "The loss is a mean over N rows: the gradient is (softmax - onehot) / N, and "
                             "then scaled by dout (a number).",
    "topological_order": "Depth-first: visit(node) marks the node visited, visits each unvisited parent, then "
                         "appends the node. The list then has every node after its parents; return it reversed.",
    "backward": "Three steps: seed this Tensor's own gradient with ones; get the order of the nodes from your "
                "topological_order (a node's parents are t.parents); for each node that has a backward_fn, hand it "
                "the node's gradient and add what comes back to the gradients of the parents, one by one.",
    "optimizer_step": "For each parameter together with its own config: the update rule takes (value, gradient, "
                      "config) and returns (new value, new config). Keep both: the value in the parameter's data, the "
                      "config for the next step.",
    "minimize": "Make w a Tensor from w0 and choose SGD or Adam by name; record w's value before the loop; in each "
                "step run the four lines of the loop above, then record the cost and the new value of w (copies).",
    "w2_without_zero_grad": "Without zero_grad the second backward adds the new gradient to the old one: "
                            "w.grad = J'(0) + J'(1).",
    "train_mlp": "Build the MLP from rng first, give its parameters() to your Adam, then loop over epochs: draw one "
                 "permutation of the N examples, walk through it in slices of batch_size (range with a step keeps the "
                 "last, smaller slice), and per slice: zero_grad, the loss of the model's scores on that slice, "
                 "backward, step.",
}


# ---------------------------------------------------------------- the expressions value_and_grad is checked on
# Module-level functions of Tensors (the re-check sends them to the student's kernel by name). Each uses
# only the Tensor interface of the notebook: + - * / ** @, .relu(), .tanh(), .sum(), .mean(),
# .softmax_cross_entropy(y).
def expr_square(x):
    """(x * x).sum(): x is both inputs of one product."""
    return (x * x).sum()


def expr_diamond(x):
    """h = tanh(x) feeds a short path and a long one: (h * 2 + tanh(h * h)).sum()."""
    h = x.tanh()
    return (h * 2.0 + (h * h).tanh()).sum()


def expr_broadcast(x, b):
    """b is broadcast twice: tanh(x * b + b).sum()."""
    return (x * b + b).tanh().sum()


def expr_composed(x, w):
    """Subtraction, division, power and mean, composed from the primitives."""
    d = x - w
    return (d ** 2.0).mean() / ((w * w).sum() + 1.0) + (x / 3.0).sum()


def expr_affine_relu(x, W, b, *, dout):
    """An affine layer and a ReLU, with a fixed upstream gradient dout."""
    return ((x @ W + b).relu() * dout).sum()


def expr_two_layer(x, W1, b1, W2, b2, *, y):
    """affine - ReLU - affine - softmax cross-entropy."""
    return ((x @ W1 + b1).relu() @ W2 + b2).softmax_cross_entropy(y)


def expr_batchnorm(x, gamma, beta, *, dout):
    """Training-mode batch norm (eps 1e-5) from primitives, with a fixed upstream gradient dout."""
    xc = x - x.mean(axis=0)
    x_hat = xc * ((xc * xc).mean(axis=0) + 1e-5) ** -0.5
    return ((gamma * x_hat + beta) * dout).sum()


def expr_deep(x):
    """100 residual steps h + 0.01 tanh(h): a graph 300 nodes deep, every h used twice."""
    h = x
    for _ in range(100):
        h = h + h.tanh() * 0.01
    return h.sum()


def expr_notes_cost(w):
    """The lecture notes' cost J(w) = w^2 - 10 w + 25 (summed, for w of any shape)."""
    return (w * w - 10 * w + 25).sum()


BOWL_CENTRE = np.array([1.0, -2.0])
BOWL_SCALE = np.array([1.0, 10.0])


def expr_bowl(w):
    """An elongated bowl in two dimensions: sum(BOWL_SCALE * (w - BOWL_CENTRE) ** 2)."""
    return ((w - BOWL_CENTRE) ** 2.0 * BOWL_SCALE).sum()


EXPRESSION_HINTS = {
    "expr_square": "x is both inputs of x * x, so its gradient has two contributions (2 x in total). Add each "
                   "contribution to parent.grad (parent.grad = parent.grad + g); assigning keeps only the last one.",
    "expr_diamond": "h = tanh(x) feeds two nodes, and one path to it is longer than the other. Visit the nodes in "
                    "your topological_order (a node only after everything computed from it), and add, not "
                    "assign, the gradients.",
    "expr_broadcast": "b (shape of one row) is broadcast in x * b and in + b: each primitive's backward must "
                      "return gradients of its inputs' shapes (unbroadcast), and both contributions add up.",
    "expr_composed": "every operation here is composed from the primitives, so a difference points at the engine "
                     "(order, accumulation) or at a primitive's rule (power, reduce_sum, mul with broadcasting).",
    "expr_affine_relu": "compare with the course's affine_backward and relu_backward: matmul, add (broadcast b) "
                        "and relu must each be right, and the engine must pass every gradient on.",
    "expr_two_layer": "the network of notebook 01/02: matmul, add, relu and softmax_cross_entropy chained; check "
                      "each primitive's own check first.",
    "expr_batchnorm": "batch norm from primitives: x feeds the mean and the subtraction, xc feeds the square (twice) "
                      "and the product. Every value used several times must collect every contribution.",
    "expr_deep": "a graph 300 nodes deep in which every h feeds two nodes: the order and the accumulation must both "
                 "be right all the way down.",
    "expr_notes_cost": "w appears in w * w (twice) and in 10 * w: three contributions to w.grad.",
}


class _Arr:
    """Forward-only stand-in for a Tensor: evaluates an expression on plain arrays (the oracle for values
    and numeric gradients). It computes values only, never a gradient."""
    __array_ufunc__ = None     # an ndarray on the left defers to the reflected operator

    def __init__(self, data):
        self.data = np.asarray(data, dtype=np.float64)

    @staticmethod
    def _v(other):
        return other.data if isinstance(other, _Arr) else other

    def __add__(self, other):
        return _Arr(self.data + self._v(other))

    __radd__ = __add__

    def __mul__(self, other):
        return _Arr(self.data * self._v(other))

    __rmul__ = __mul__

    def __neg__(self):
        return _Arr(-self.data)

    def __sub__(self, other):
        return _Arr(self.data - self._v(other))

    def __rsub__(self, other):
        return _Arr(self._v(other) - self.data)

    def __truediv__(self, other):
        return _Arr(self.data / self._v(other))

    def __matmul__(self, other):
        return _Arr(self.data @ self._v(other))

    def __pow__(self, p):
        return _Arr(self.data ** float(p))

    def relu(self):
        return _Arr(np.maximum(0.0, self.data))

    def tanh(self):
        return _Arr(np.tanh(self.data))

    def sum(self, axis=None, keepdims=False):
        return _Arr(np.sum(self.data, axis=axis, keepdims=keepdims))

    def mean(self, axis=None, keepdims=False):
        return _Arr(np.mean(self.data, axis=axis, keepdims=keepdims))

    def softmax_cross_entropy(self, y):
        from utils.layers import softmax_cross_entropy
        return _Arr(softmax_cross_entropy(self.data, np.asarray(y))[0])


def evaluate(f, arrays, constants) -> float:
    """The value of expression ``f`` at ``arrays`` (plain numpy, float64)."""
    with np.errstate(all="ignore"):
        return float(f(*[_Arr(a) for a in arrays], **constants).data)


def numeric_grads(f, arrays, constants) -> list[np.ndarray]:
    """Centred-difference gradients (float64) of expression ``f`` with respect to each array."""
    out = []
    for k, a in enumerate(arrays):
        def value(v, k=k):
            return evaluate(f, [*arrays[:k], v, *arrays[k + 1:]], constants)
        out.append(numerical_gradient_array(value, np.array(a, dtype=np.float64), np.array(1.0)))
    return out


def library_grads(name: str, arrays, constants) -> list[np.ndarray] | None:
    """The course library's hand-written backward passes for the expressions that are course layers."""
    from utils import layers as L

    if name == "expr_affine_relu":
        x, W, b = arrays
        h, c_aff = L.affine_forward(x, W, b)
        _, c_relu = L.relu_forward(h)
        return list(L.affine_backward(L.relu_backward(constants["dout"], c_relu), c_aff))
    if name == "expr_two_layer":
        x, W1, b1, W2, b2 = arrays
        h, c1 = L.affine_forward(x, W1, b1)
        a, c_relu = L.relu_forward(h)
        scores, c2 = L.affine_forward(a, W2, b2)
        _, dscores = L.softmax_cross_entropy(scores, constants["y"])
        da, dW2, db2 = L.affine_backward(dscores, c2)
        dx, dW1, db1 = L.affine_backward(L.relu_backward(da, c_relu), c1)
        return [dx, dW1, db1, dW2, db2]
    if name == "expr_batchnorm":
        x, gamma, beta = arrays
        _, cache = L.batchnorm_forward(x, gamma, beta, {"mode": "train"})
        return list(L.batchnorm_backward(constants["dout"], cache))
    return None


# ---------------------------------------------------------------- unbroadcast
def _unbroadcast_cases(rng: np.random.Generator) -> list[Case]:
    pairs = [((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 1)), ((2, 3), ()),
             ((4,), (1,)), ((2, 3), (2, 3))]
    return [Case(f"grad of shape {g}, input shape {s}", {"grad": rng.standard_normal(g), "shape": s})
            for g, s in pairs]


CASES = {"unbroadcast": _unbroadcast_cases}


@reporting("sums over added leading axes and stretched axes of length 1, returns exactly the input's shape, "
           "float, no mutation")
def check_unbroadcast(unbroadcast, *, hidden=False):
    """Check ``unbroadcast(grad, shape) -> array of shape `shape```."""
    for case in cases(TOPIC, "unbroadcast", hidden=hidden):
        got = call(unbroadcast, "unbroadcast", case)
        shape = tuple(case.args["shape"])
        if isinstance(got, (float, np.floating)) and shape == ():
            got = np.asarray(got)
        hint = None
        g = case.args["grad"]
        if isinstance(got, np.ndarray) and got.shape != shape:
            if got.shape == g.shape:
                hint = "it came back in the broadcast shape: sum over the axes that broadcasting added or stretched."
            elif got.size == int(np.prod(shape)):
                hint = "the entries are there but the shape is not: finish with .reshape(shape) (or keepdims=True)."
            else:
                hint = ("sum over the leading axes that were added, and over the axes where the input had length 1 "
                        "(keepdims=True), and over no other axis.")
        if isinstance(got, np.ndarray) and got.shape != shape:
            fail(f"unbroadcast(grad, {shape}) should return an array of shape {shape}, but it has shape "
                 f"{got.shape}.", case, hint)
        got = expect_array(got, "unbroadcast(grad, shape)", case, shape=shape)
        r = ratio(got, case.expected)
        if r is not None and not np.isclose(r, 1.0):
            hint = (f"every entry is {r:.4g} times the expected sum: add up the copies (np.sum), do not average."
                    if r < 1 else None)
        expect_close(got, case.expected, f"unbroadcast(grad, {shape})", case, RTOL, ATOL, hint)


# ---------------------------------------------------------------- primitives
def _draw(rng, shape, low=None, high=None):
    if low is not None:
        return rng.uniform(low, high, size=shape)
    return rng.standard_normal(shape)


def _away_from_zero(rng, shape, margin=0.05):
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin + x, x)


def primitive_cases(name: str, rng: np.random.Generator) -> list[tuple[Case, np.ndarray]]:
    """The visible inputs of a primitive's check: ``[(case, dout), ...]``."""
    def with_dout(case):
        out = ORACLES[name](*case.args.values(), **case.kwargs)
        return case, rng.standard_normal(np.shape(out))

    if name == "add" or name == "mul":
        shapes = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3), (2, 1)), ((1, 5), (4, 1)), ((3,), ())]
        return [with_dout(Case(f"a of shape {sa}, b of shape {sb}",
                               {"a": _draw(rng, sa), "b": _draw(rng, sb)})) for sa, sb in shapes]
    if name == "matmul":
        dims = [(2, 3, 4), (5, 1, 3), (1, 4, 2)]
        return [with_dout(Case(f"a of shape {(n, d)}, b of shape {(d, m)}",
                               {"a": _draw(rng, (n, d)), "b": _draw(rng, (d, m))})) for n, d, m in dims]
    if name == "relu":
        return [with_dout(Case("x of shape (4, 5), no entry near 0", {"x": _away_from_zero(rng, (4, 5))})),
                with_dout(Case("x with exact zeros", {"x": np.array([[-1.0, 0.0, 2.0], [0.0, 0.3, -0.2]])}))]
    if name == "tanh":
        return [with_dout(Case("x of shape (3, 4)", {"x": _draw(rng, (3, 4))})),
                with_dout(Case("x of shape (5,), larger values", {"x": 3 * _draw(rng, (5,))}))]
    if name == "reduce_sum":
        specs = [(None, False), (0, False), (1, True), ((0, 2), False), (None, True), (2, False)]
        return [with_dout(Case(f"x of shape (2, 3, 4), axis={axis}, keepdims={keep}", {"x": _draw(rng, (2, 3, 4))},
                               kwargs={"axis": axis, "keepdims": keep})) for axis, keep in specs]
    if name == "power":
        return [with_dout(Case(f"x of shape (3, 4) in [0.5, 2], p = {p}", {"x": _draw(rng, (3, 4), 0.5, 2.0)},
                               kwargs={"p": p})) for p in (2.0, 3.0, 0.5, -0.5, -1.0)]
    if name == "softmax_cross_entropy":
        out = []
        for N, C, scale in ((4, 3, 1.0), (6, 5, 2.0), (3, 4, 400.0)):
            label = f"scores of shape {(N, C)}" + (", large scores (about 400)" if scale > 10 else "")
            case = Case(label, {"scores": scale * _draw(rng, (N, C))}, kwargs={"y": rng.integers(0, C, size=N)})
            out.append((case, np.array(rng.uniform(0.5, 2.0))))
        return out
    raise KeyError(name)


def _softmax_value(scores, *, y):
    from utils.layers import softmax_cross_entropy
    return np.array(softmax_cross_entropy(scores, y)[0])


ORACLES = {   # forward values (plain numpy and utils.layers): what each primitive's out must be
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "relu": lambda x: np.maximum(0.0, x),
    "tanh": np.tanh,
    "reduce_sum": lambda x, *, axis=None, keepdims=False: np.asarray(np.sum(x, axis=axis, keepdims=keepdims)),
    "power": lambda x, *, p: x ** p,
    "softmax_cross_entropy": _softmax_value,
}

INPUT_NAMES = {"add": ("a", "b"), "mul": ("a", "b"), "matmul": ("a", "b"), "relu": ("x",), "tanh": ("x",),
               "reduce_sum": ("x",), "power": ("x",), "softmax_cross_entropy": ("scores",)}


def _library_backward(name: str, case: Case, dout) -> list[np.ndarray] | None:
    """The course library's backward pass for the primitives that are (parts of) course layers."""
    from utils import layers as L

    a = case.args
    if name == "matmul":
        dx, dW, _ = L.affine_backward(dout, (a["a"], a["b"]))
        return [dx, dW]
    if name == "relu":
        return [L.relu_backward(dout, a["x"])]
    if name == "tanh":
        return [L.tanh_backward(dout, np.tanh(a["x"]))]
    if name == "softmax_cross_entropy":
        return [L.softmax_cross_entropy(a["scores"], case.kwargs["y"])[1] * float(dout)]
    return None


def _primitive_hint(name: str, k: int, got: np.ndarray, expected: np.ndarray, case: Case, dout) -> str | None:
    args = case.args
    if name == "mul":
        other = list(args.values())[k]                                   # the input itself instead of the other one
        if np.shape(dout * other) == got.shape and np.allclose(got, dout * other, rtol=1e-6):
            return "the gradient of a is dout times b (and of b, dout times a): the factors are swapped."
    if name == "tanh" and np.allclose(got, dout * (1 - args["x"] ** 2), rtol=1e-6):
        return "you used 1 - x**2; the derivative is 1 - tanh(x)**2, from the output."
    if name == "relu":
        x = args["x"]
        wrong = ~np.isclose(got, expected, rtol=1e-6, atol=1e-12)
        if wrong.any() and np.all(x[wrong] == 0):
            return "it is wrong only where x == 0: the course's convention passes no gradient there (x > 0 only)."
    if name == "power":
        p = case.kwargs["p"]
        r = ratio(got, expected)
        if r is not None and p != 0 and np.isclose(r, 1.0 / p):
            return "the factor p is missing: d(x**p)/dx = p * x**(p - 1)."
        if np.allclose(got, dout * p * args["x"] ** p, rtol=1e-6):
            return "the exponent should be p - 1, not p."
    if name == "softmax_cross_entropy":
        N = args["scores"].shape[0]
        r = ratio(got, expected)
        if r is not None and np.isclose(r, N):
            return "N times too large: the loss is a mean over the N rows, so divide by N."
        if r is not None and np.isclose(r, 1.0 / float(dout)):
            return "the gradient must be scaled by dout (the upstream gradient of the loss, a number)."
    if name == "reduce_sum":
        return "each summed entry of x receives the dout of the sum it went into (np.expand_dims, np.broadcast_to)."
    return None


def _expect_out(out, name: str, case: Case, expected) -> np.ndarray:
    if isinstance(out, (float, np.floating)) and np.ndim(expected) == 0:
        out = np.asarray(out)
    out = expect_array(out, f"out returned by {name}", case, shape=np.shape(expected))
    expect_close(out, expected, f"out returned by {name}", case, RTOL, ATOL)
    return out


def _check_primitive(prim, name: str, hidden: bool) -> None:
    inputs = primitive_cases(name, np.random.default_rng(VISIBLE_SEED))
    if hidden:
        inputs += hidden_criterion(TOPIC, "primitive_cases")(name, np.random.default_rng(current_hidden_seed()))
    names = INPUT_NAMES[name]
    for case, dout in inputs:
        before = copy.deepcopy(case.args)
        result = call(prim, name, case)
        out, backward = expect_tuple(result, ("out", "backward"), name, case,
                                     "return the forward value and the backward function (a closure): "
                                     "`return out, backward`.")
        _expect_out(out, name, case, ORACLES[name](*case.args.values(), **case.kwargs))
        if not callable(backward):
            fail(f"the second item returned by {name} should be the backward function, but it is "
                 f"{type(backward).__name__}.", case, "define `def backward(dout): ...` inside the primitive and "
                                                      "return it (not its result).")
        bcase = Case(f"{case.label}; then backward(dout)", {**case.args, "dout": dout}, kwargs=dict(case.kwargs))
        grads = call(lambda dout: backward(dout), f"the backward function returned by {name}",
                     Case(bcase.label, {"dout": dout}))
        for key, value in before.items():
            if not np.array_equal(case.args[key], value):
                fail(f"the backward function returned by {name} changed the input `{key}` in place.", bcase,
                     "compute new arrays; never write into the inputs the closure remembers.")
        if isinstance(grads, np.ndarray) and len(names) == 1:
            fail(f"the backward function of {name} returned an array; it should return a tuple with one "
                 f"gradient per input, here (d{names[0]},).", bcase, f"`return (d{names[0]},)`: a tuple of one.")
        if isinstance(grads, list):
            grads = tuple(grads)
        grads = expect_tuple(grads, tuple(f"d{n}" for n in names), f"the backward function of {name}", bcase)
        library = _library_backward(name, case, dout)
        for k, (n, g) in enumerate(zip(names, grads)):
            what = f"d{n} returned by the backward function of {name}"
            shape = np.shape(case.args[n])
            if isinstance(g, np.ndarray) and g.shape != shape:
                broadcast = np.shape(dout)
                hint = ("it has the shape of dout: " + ("sum it back to the input's shape with unbroadcast."
                                                         if g.shape == broadcast else "")) if g.shape == broadcast \
                    else "a gradient always has the shape of its input."
                if name == "matmul":
                    hint = "check the shapes: da = dout @ b.T is (N, D), db = a.T @ dout is (D, M)."
                fail(f"{what} should have the shape of {n}, {shape}, but it has shape {g.shape}.", bcase, hint)
            if isinstance(g, (float, np.floating)) and shape == ():
                g = np.asarray(g)
            g = expect_array(g, what, bcase, shape=shape)
            if library is not None:
                expect_close(g, library[k], f"{what} (compared with the course library's backward pass)", bcase,
                             1e-6, 1e-10, _primitive_hint(name, k, g, library[k], case, dout))
            if name == "softmax_cross_entropy" and np.max(np.abs(case.args["scores"])) > 50:
                continue   # probabilities of exp(-100): rounding in the loss swamps the difference quotient
            numeric = _numeric_primitive(name, case, k, dout)
            if name == "relu":
                mask = np.abs(case.args["x"]) > 1e-3
                g, numeric = g[mask], numeric[mask]
            if numeric.size:
                with np.errstate(all="ignore"):
                    hint = _primitive_hint(name, k, g, numeric, case, dout) if _array_error(g, numeric) > GRAD_TOL \
                        else None
                expect_numeric(g, numeric, what, bcase, hint)


def _array_error(got, numeric) -> float:
    """max |got - numeric| over the largest entry of either: a relative error of the whole array (entry-wise
    relative errors of entries near 0 measure only the rounding noise of the difference quotient)."""
    got, numeric = plain(got).astype(np.float64), plain(numeric).astype(np.float64)
    if not got.size:
        return 0.0
    scale = max(float(np.max(np.abs(got))), float(np.max(np.abs(numeric))), 1e-8)
    return float(np.max(np.abs(got - numeric))) / scale


def expect_numeric(got, numeric, what: str, case: Case, hint: str | None = None) -> None:
    """``got`` matches the float64 centred-difference gradient ``numeric``: the largest difference is at most
    GRAD_TOL times the largest entry."""
    __tracebackhide__ = True
    err = _array_error(got, numeric)
    if not err <= GRAD_TOL:
        g, n = plain(got).astype(np.float64), plain(numeric).astype(np.float64)
        i = np.unravel_index(int(np.argmax(np.abs(g - n))), g.shape) if g.ndim else ()
        where = f" at index {tuple(int(v) for v in i)}" if g.ndim else ""
        fail(f"{what} does not match the numeric gradient (centred differences in float64): the largest difference "
             f"is {err:.2e} of the largest entry (at most {GRAD_TOL:g} allowed){where}: numeric {n[i]:.8g}, "
             f"yours {g[i]:.8g}.", case, hint)


def _numeric_primitive(name: str, case: Case, k: int, dout) -> np.ndarray:
    args = [np.array(v, dtype=np.float64) for v in case.args.values()]

    def f(v):
        return ORACLES[name](*args[:k], v, *args[k + 1:], **case.kwargs)

    with np.errstate(all="ignore"):
        return numerical_gradient_array(f, args[k].copy(), np.asarray(dout, dtype=np.float64))


_SUMMARY = "out equals the forward value; the backward function returns a tuple of gradients of the inputs' shapes " \
           "that match the numeric gradients (float64)"


@reporting(_SUMMARY + ", with broadcasting")
def check_add(add, *, hidden=False):
    """Check ``add(a, b) -> (out, backward)``, the notebook's worked example (it uses unbroadcast)."""
    _check_primitive(add, "add", hidden)


@reporting(_SUMMARY + ", with broadcasting")
def check_mul(mul, *, hidden=False):
    """Check ``mul(a, b) -> (out, backward)``, ``backward(dout) -> (da, db)``."""
    _check_primitive(mul, "mul", hidden)


@reporting(_SUMMARY + " and the course's affine_backward")
def check_matmul(matmul, *, hidden=False):
    """Check ``matmul(a, b) -> (out, backward)``, ``backward(dout) -> (da, db)``."""
    _check_primitive(matmul, "matmul", hidden)


@reporting(_SUMMARY + " and the course's relu_backward (x == 0 included)")
def check_relu(relu, *, hidden=False):
    """Check ``relu(x) -> (out, backward)``, ``backward(dout) -> (dx,)``."""
    _check_primitive(relu, "relu", hidden)


@reporting(_SUMMARY + " and the course's tanh_backward")
def check_tanh(tanh, *, hidden=False):
    """Check ``tanh(x) -> (out, backward)``, ``backward(dout) -> (dx,)``."""
    _check_primitive(tanh, "tanh", hidden)


@reporting(_SUMMARY + ", for every axis argument and keepdims")
def check_reduce_sum(reduce_sum, *, hidden=False):
    """Check ``reduce_sum(x, axis=..., keepdims=...) -> (out, backward)``, ``backward(dout) -> (dx,)``."""
    _check_primitive(reduce_sum, "reduce_sum", hidden)


@reporting(_SUMMARY + ", for positive, fractional and negative exponents")
def check_power(power, *, hidden=False):
    """Check ``power(x, p=...) -> (out, backward)``, ``backward(dout) -> (dx,)``."""
    _check_primitive(power, "power", hidden)


@reporting(_SUMMARY + " and the course's fused loss, scaled by dout, stable for large scores")
def check_softmax_cross_entropy(softmax_cross_entropy, *, hidden=False):
    """Check ``softmax_cross_entropy(scores, y=...) -> (out, backward)``, ``backward(dout) -> (dscores,)``."""
    _check_primitive(softmax_cross_entropy, "softmax_cross_entropy", hidden)


# ---------------------------------------------------------------- topological order
def random_graph(rng: np.random.Generator, n: int, extra: int) -> tuple[int, dict]:
    """A DAG of n nodes labelled by a random permutation of 0..n-1 (all reachable from the root) with
    ``extra`` additional edges: ``(root, {node: tuple of parents})``."""
    labels = [int(v) for v in rng.permutation(n)]
    parents: dict[int, list[int]] = {v: [] for v in labels}
    for k in range(1, n):                 # labels[k] is a parent of some earlier node: reachable from the root
        child = labels[int(rng.integers(0, k))]
        parents[child].append(labels[k])
    for _ in range(extra):
        i, j = sorted(int(v) for v in rng.choice(n, size=2, replace=False))
        if labels[j] not in parents[labels[i]]:
            parents[labels[i]].append(labels[j])
    return labels[0], {v: tuple(p) for v, p in parents.items()}


def graph_cases(rng: np.random.Generator) -> list[tuple[str, int, dict]]:
    """The visible graphs: ``[(label, root, {node: parents})]``."""
    chain = {4: (2,), 2: (9,), 9: (0,), 0: ()}
    square = {5: (3, 3), 3: ()}                                   # L = x * x
    diamond = {7: (1,), 1: (6, 4), 6: (2,), 2: (8,), 8: (4,), 4: ()}   # paths of length 1 and 3 to node 4
    root, random = random_graph(rng, 30, 25)
    deep = {k: (k + 1,) for k in range(200)} | {200: ()}
    return [("a single node", 3, {3: ()}), ("a chain", 4, chain), ("x * x: a node with the same parent twice", 5, square),
            ("a diamond whose two paths have different lengths", 7, diamond),
            ("a random graph of 30 nodes", root, random), ("a chain 200 nodes deep", 0, deep)]


def _reachable(root, parents: dict) -> set:
    seen, stack = {root}, [root]
    while stack:
        for p in parents[stack.pop()]:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def _describe_graph(parents: dict) -> str:
    if len(parents) > 12:
        return f"{len(parents)} nodes"
    return ", ".join(f"{v} <- {list(p)}" for v, p in parents.items())


@reporting("every reachable node exactly once, the root first, every node before all of its parents, parents_of "
           "called at most twice per node")
def check_topological_order(topological_order, *, hidden=False):
    """Check ``topological_order(root, parents_of) -> list of nodes``."""
    graphs = graph_cases(np.random.default_rng(VISIBLE_SEED))
    if hidden:
        graphs += hidden_criterion(TOPIC, "graphs")(np.random.default_rng(current_hidden_seed()))
    for label, root, parents in graphs:
        counter = {"calls": 0}
        limit = 2 * len(parents) + 2

        def parents_of(node, parents=parents, counter=counter, limit=limit):
            counter["calls"] += 1
            if counter["calls"] > limit:
                raise RuntimeError("parents_of was called too often (the check stopped the search)")
            return parents[node]

        case = Case(f"{label} (node <- its parents: {_describe_graph(parents)})",
                    {"root": root, "parents_of": parents_of})
        try:
            order = call(topological_order, "topological_order", case)
        except AssertionError:
            if counter["calls"] > limit:
                fail(f"topological_order called parents_of more than {limit} times on a graph of {len(parents)} "
                     "nodes.", case, "keep a set of visited nodes and visit each node once; without it a graph "
                                     "where values are reused is searched again and again (exponentially often).")
            raise
        if counter["calls"] > limit:
            fail(f"topological_order called parents_of {counter['calls']} times on a graph of {len(parents)} nodes "
                 f"(at most {limit} allowed).", case, "visit each node once: keep a set of visited nodes.")
        if not isinstance(order, (list, tuple)):
            fail(f"topological_order should return a list, but it returned {type(order).__name__}.", case)
        order = list(order)
        nodes = _reachable(root, parents)
        try:
            seen = set(order)
        except TypeError:
            fail("topological_order returned something that is not a list of nodes.", case)
        if len(seen) != len(order):
            twice = sorted({v for v in order if order.count(v) > 1})[:5]
            fail(f"topological_order listed node(s) {twice} more than once.", case,
                 "mark nodes as visited (a set) and skip a parent that was already visited.")
        if seen != nodes:
            missing, extra = sorted(nodes - seen)[:5], sorted(seen - nodes, key=repr)[:5]
            fail(f"topological_order should list the {len(nodes)} nodes reachable from the root; "
                 + (f"it misses {missing}" if missing else "") + (" and " if missing and extra else "")
                 + (f"it lists {extra}, which are not nodes of the graph" if extra else "") + ".", case)
        if order[0] != root:
            fail(f"the first node should be the root {root}, but it is {order[0]}.", case,
                 "the post-order of a depth-first search ends with the root: reverse it.")
        position = {v: i for i, v in enumerate(order)}
        for v in order:
            for p in parents[v]:
                if position[p] < position[v]:
                    fail(f"node {p} comes before node {v} in your order, but {p} is a parent of {v} (the backward "
                         f"pass would use {p}'s gradient before {v} has contributed to it).", case,
                         "append a node only after all of its parents (post-order), then reverse the whole list; "
                         "a breadth-first walk from the root does not guarantee this.")


# ---------------------------------------------------------------- the backward pass, through value_and_grad
def expression_cases(rng: np.random.Generator) -> list[tuple[str, object, list, dict]]:
    """The visible expressions: ``[(label, f, arrays, constants)]``."""
    x = rng.standard_normal((4, 3))
    N, D, H, C = 6, 5, 7, 3
    return [
        ("(x * x).sum(), x of shape (3, 2)", expr_square, [rng.standard_normal((3, 2))], {}),
        ("h = tanh(x); (h * 2 + tanh(h * h)).sum(), x of shape (2, 3)", expr_diamond,
         [rng.standard_normal((2, 3))], {}),
        ("tanh(x * b + b).sum(), x (4, 3), b (3,)", expr_broadcast, [x, 0.5 * rng.standard_normal(3)], {}),
        ("tanh(x * b + b).sum(), x (4, 3), b (4, 1)", expr_broadcast, [x, 0.5 * rng.standard_normal((4, 1))], {}),
        ("subtraction, division, power and mean composed", expr_composed,
         [rng.standard_normal((3, 4)), rng.standard_normal(4)], {}),
        ("an affine layer and a ReLU, x (6, 5), W (5, 7), b (7,)", expr_affine_relu,
         [rng.standard_normal((N, D)), rng.standard_normal((D, H)), rng.standard_normal(H)],
         {"dout": rng.standard_normal((N, H))}),
        ("a two-layer network with the softmax loss", expr_two_layer,
         [rng.standard_normal((N, D)), 0.5 * rng.standard_normal((D, H)), 0.1 * rng.standard_normal(H),
          0.5 * rng.standard_normal((H, C)), 0.1 * rng.standard_normal(C)], {"y": rng.integers(0, C, size=N)}),
        ("batch norm from primitives, x (6, 4)", expr_batchnorm,
         [rng.standard_normal((N, 4)) * 2 + 1, 1 + 0.1 * rng.standard_normal(4), 0.1 * rng.standard_normal(4)],
         {"dout": rng.standard_normal((N, 4))}),
        ("the notes' cost J(w) = w^2 - 10 w + 25 at w = 3", expr_notes_cost, [np.array(3.0)], {}),
    ]


def _relu_safe(f, arrays, constants) -> bool:
    """Whether no ReLU input of the expression lies within 1e-4 of 0 (so that numeric gradients are valid)."""
    if f is expr_affine_relu:
        x, W, b = arrays
        return bool(np.min(np.abs(x @ W + b)) > 1e-4)
    if f is expr_two_layer:
        x, W1, b1 = arrays[:3]
        return bool(np.min(np.abs(x @ W1 + b1)) > 1e-4)
    return True


@reporting("the values and gradients of expressions with reused values, a diamond, broadcasting, composed "
           "operations, an affine-ReLU layer, a two-layer network and batch norm match the course's backward "
           "passes and numeric gradients (float64)")
def check_value_and_grad(value_and_grad, *, hidden=False):
    """Check ``value_and_grad(f, *arrays, **constants) -> (value, grads)``, which runs the student's
    ``Tensor.backward``."""
    exprs = expression_cases(np.random.default_rng(VISIBLE_SEED))
    if hidden:
        exprs += hidden_criterion(TOPIC, "expressions")(np.random.default_rng(current_hidden_seed()))
    for label, f, arrays, constants in exprs:
        names = [f"x{k}" for k in range(len(arrays))]
        case = Case(f"value_and_grad({f.__name__}, ...): {label}", {"f": f, **dict(zip(names, arrays))},
                    kwargs=dict(constants))
        hint = EXPRESSION_HINTS.get(f.__name__)
        result = call(value_and_grad, "value_and_grad", case)
        value, grads = expect_tuple(result, ("value", "grads"), "value_and_grad", case)
        expected = evaluate(f, arrays, constants)
        got = expect_scalar(value, "the value returned by value_and_grad", case)
        expect_close(got, expected, "the value returned by value_and_grad", case, 1e-9, 1e-12,
                     "the forward pass gives another value: check the primitives' outputs.")
        if isinstance(grads, list):
            grads = tuple(grads)
        grads = expect_tuple(grads, tuple(f"d{n}" for n in names), "value_and_grad's grads", case)
        library = library_grads(f.__name__, arrays, constants)
        numeric = numeric_grads(f, arrays, constants) if _relu_safe(f, arrays, constants) else None
        for k, (g, a) in enumerate(zip(grads, arrays)):
            what = f"the gradient of argument {k} (shape {a.shape})"
            if isinstance(g, (float, np.floating)) and a.shape == ():
                g = np.asarray(g)
            if isinstance(g, np.ndarray) and g.shape != a.shape:
                fail(f"{what} should have the shape of that argument, {a.shape}, but it has shape {g.shape}.", case,
                     "a Tensor's grad always has the shape of its data: every primitive's backward must return "
                     "gradients of its inputs' shapes (unbroadcast what was broadcast).")
            g = expect_array(g, what, case, shape=a.shape)
            if library is not None:
                expect_close(g, library[k], f"{what}, compared with the course library's backward pass", case,
                             1e-6, 1e-9, hint)
            if numeric is not None:
                expect_numeric(g, numeric[k], what, case, hint)


# ---------------------------------------------------------------- optimisers, through minimize
def minimize_runs() -> list[tuple]:
    """The visible runs: ``(cost, w0, optimizer, lr, steps)``."""
    return [(expr_notes_cost, np.array(0.0), "sgd", 0.1, 25), (expr_notes_cost, np.array(0.0), "adam", 0.5, 25),
            (expr_bowl, np.array([3.0, 1.0]), "sgd", 0.04, 15), (expr_bowl, np.array([-1.0, 0.5]), "adam", 0.1, 15),
            (expr_notes_cost, np.array([1.0, 8.0]), "sgd", 0.3, 3)]


# The expected values of the visible runs (from the formula in classroom/hidden, which graders/ does not hold:
# the sandbox shows graders/ to the student's code). tests/test_checks_frameworks.py proves the table in sync.
MINIMIZE_VALUES = [{'costs': [25.0, 16.0, 10.24, 6.553599999999996, 4.194303999999999, 2.6843545600000027, 1.7179869184000012,
                              1.0995116277760033, 0.703687441776637, 0.4503599627370498, 0.2882303761517093, 0.1844674407370981,
                              0.11805916207173794, 0.075557863725912, 0.048357032784586806, 0.03094850098213442, 0.019807040628563755,
                              0.01267650600228265, 0.008112963841458765, 0.005192296858538725, 0.003323069989459526,
                              0.002126764793256797, 0.001361129467685629, 0.0008711228593227816, 0.0005575186299608959],
                    'forgetful': [0.0, 1.0, 2.8, 5.039999999999999, 7.271999999999999, 9.0496, 10.01728, 9.981504, 8.9494272,
                                  7.127464960000001, 4.880009728000001, 2.656552550400001, 0.9017848627200009, -0.03333979750399951,
                                  0.03820350177280006, 1.1021061006950394, 2.945587479478271, 5.199951362365848, 7.414324972780255,
                                  9.145833588638611, 10.048175486769246, 9.940882287546032, 8.84541263081361, 6.9808604479184675,
                                  4.720136175439631, 2.5153846678728677],
                    'ws': [0.0, 1.0, 1.8, 2.4400000000000004, 2.9520000000000004, 3.3616, 3.68928, 3.9514240000000003, 4.1611392,
                           4.32891136, 4.4631290880000005, 4.570503270400001, 4.65640261632, 4.725122093056, 4.7800976744448,
                           4.82407813955584, 4.859262511644672, 4.8874100093157375, 4.90992800745259, 4.927942405962073,
                           4.942353924769658, 4.953883139815726, 4.9631065118525814, 4.9704852094820655, 4.976388167585652,
                           4.981110534068522]},
                   {'costs': [25.0, 20.250000004500002, 16.0164933633098, 12.305582415923892, 9.118559671234593, 6.450676924224691,
                              4.289795983644353, 2.615023761201904, 1.3955136481333454, 0.5897053986560259, 0.1453483279801766,
                              0.0006583067269154697, 0.08684188646974178, 0.3319542349915565, 0.6656885613787438, 1.0243574749280242,
                              1.3551860113455234, 1.6191810497631138, 1.7922152130127245, 1.8643959921772009, 1.8381136027404494,
                              1.7252959301066397, 1.544369026905109, 1.3173016152797103, 1.0669738630891814],
                    'forgetful': [0.0, 0.49999999949999996, 0.9852633331923212, 1.4686539040001765, 1.9545311176827123,
                                  2.444765375969741, 2.9401981043374645, 3.4411337125023196, 3.947534398840185, 4.459099341374762,
                                  4.975288809696554, 5.495315542835521, 6.018111133926313, 6.542268381874887, 7.06595665625071,
                                  7.586804638457155, 8.10174313006106, 8.606800886466646, 9.096851202827475, 9.565321386130915,
                                  10.003909621648743, 10.402413120404612, 10.74885544311638, 11.030167123362007, 11.233610821884422,
                                  11.348820549114034],
                    'ws': [0.0, 0.49999999949999996, 0.9979388606232167, 1.4920686415033872, 1.9803047055647165, 2.4601817143298046,
                           2.928817732877101, 3.3828964902635636, 3.818681394316782, 4.23207721829859, 4.618754242016809,
                           4.974342511289802, 5.294689474650422, 5.5761546971010105, 5.815897396354921, 6.0121054663067595,
                           6.164124568654714, 6.272470451430253, 6.338736424025553, 6.365428867490798, 6.355770483061367,
                           6.313505207491253, 6.242726448944056, 6.147737607330051, 6.032944269110961, 5.902771909825772]},
                   {'costs': [94.0, 6.9856, 3.0095718400000004, 2.4311800053760004, 2.053105892550247, 1.7375630328945286,
                              1.470665919259529, 1.2447713367899693, 1.0535744475681779, 0.8917454119460719, 0.75477331665213,
                              0.6388401352136018, 0.5407142904447622, 0.45766057543244554, 0.38736391104602186],
                    'forgetful': [[3.0, 1.0], [2.84, -1.4], [2.5328, -4.279999999999999], [2.102976, -5.336],
                                  [1.58491392, -3.7232000000000007], [1.0200587263999998, -0.7318400000000009],
                                  [0.4535988346879998, 1.2449919999999997], [-0.06914896379904023, 0.6258304000000003],
                                  [-0.506364845182157, -2.093995519999999], [-0.8230715389507012, -4.738625023999999],
                                  [-0.9939325096031892, -5.1923545088], [-1.0052788794874221, -3.0922003865600005],
                                  [-0.8562029390126613, -0.11828595507200035], [-0.5586307634168877, 1.3502572404736002],
                                  [-0.13636812674776294, 0.1385946436403207], [0.37680396006118283, -2.7839436681052154]],
                    'ws': [[3.0, 1.0], [2.84, -1.4], [2.6928, -1.88], [2.557376, -1.976], [2.43278592, -1.9952],
                           [2.3181630464, -1.99904], [2.212710002688, -1.999808], [2.11569320247296, -1.9999616],
                           [2.026437746275123, -1.99999232], [1.9443227265731133, -1.999998464], [1.8687769084472643, -1.9999996928],
                           [1.7992747557714832, -1.99999993856], [1.7353327753097645, -1.999999987712],
                           [1.6765061532849834, -1.9999999975424], [1.6223856610221847, -1.99999999950848],
                           [1.57259480814041, -1.999999999901696]]},
                   {'costs': [66.5, 61.21000000191, 56.14645018831602, 51.3129752335128, 46.712644052036005, 42.34791150502607,
                              38.220560383999775, 34.33164452416824, 30.681434045736303, 27.26936387665837, 24.093986868863336,
                              21.152932974151216, 18.442876084977765, 15.95951025518302, 13.697537079382801],
                    'forgetful': [[-1.0, 0.5], [-0.9000000002499999, 0.40000000002], [-0.8032147474385456, 0.3032682085551587],
                                  [-0.7069804813920504, 0.20712162676069906], [-0.6103823902303221, 0.11063678158031139],
                                  [-0.513010234899921, 0.013396932438811557], [-0.4146557279199856, -0.08481245725564296],
                                  [-0.3152087936549036, -0.18410815791944785], [-0.21461415115070873, -0.28455295693290517],
                                  [-0.11285058641873418, -0.38617664469252555], [-0.009920104974568758, -0.4889870880245865],
                                  [0.09415812152243234, -0.592976508402747], [0.1993512749930634, -0.6981252415338655],
                                  [0.3056149714946256, -0.8044040831870878], [0.4128944686762499, -0.9117757956742839],
                                  [0.5211253078504253, -1.0201960905622556]],
                    'ws': [[-1.0, 0.5], [-0.9000000002499999, 0.40000000002], [-0.8001664861157011, 0.30012718801769434],
                           [-0.7006233920464652, 0.20047393331384827], [-0.601504895289421, 0.10113840863471006],
                           [-0.5029557812950121, 0.00222464834738198], [-0.40513173016011417, -0.09615743285068293],
                           [-0.3081994956139175, -0.19389206845649085], [-0.21233694312788348, -0.29085772441076047],
                           [-0.11773290896430826, -0.38692724835869363], [-0.02458683782535942, -0.48196809385907924],
                           [0.06689184616677676, -0.5758426299245869], [0.1564846813845363, -0.6684085464287923],
                           [0.24396546784458784, -0.7595193656742736], [0.32910196229266786, -0.8490250696742674],
                           [0.4116579976894007, -0.9367728513520661]]},
                   {'costs': [25.0, 4.0000000000000036, 0.6400000000000006],
                    'forgetful': [[1.0, 8.0], [3.4, 6.2], [6.76, 3.68], [9.064, 1.952]],
                    'ws': [[1.0, 8.0], [3.4, 6.2], [4.359999999999999, 5.48], [4.744, 5.192]]}]


@reporting("the trajectories of w and the costs of SGD and Adam (the course's update rules) on the notes' cost "
           "and a two-dimensional bowl, step by step; w0 unchanged")
def check_minimize(minimize, *, hidden=False):
    """Check ``minimize(cost, w0, optimizer, lr, steps) -> (ws, costs)``, which runs ``Optimizer.step``."""
    runs = list(zip(minimize_runs(), MINIMIZE_VALUES))
    if hidden:
        formula = hidden_criterion(TOPIC, "trajectory")
        for run in hidden_criterion(TOPIC, "minimize_runs")(np.random.default_rng(current_hidden_seed())):
            ws, costs = formula(*run)
            runs.append((run, {"ws": ws, "costs": costs, "forgetful": formula(*run, zero_grad=False)[0]}))
    for (cost, w0, optimizer, lr, steps), values in runs:
        case = Case(f"minimize({cost.__name__}, w0, {optimizer!r}, lr={lr:g}, steps={steps})",
                    {"cost": cost, "w0": w0, "optimizer": optimizer, "lr": lr, "steps": steps})
        result = call(minimize, "minimize", case)
        ws, costs = expect_tuple(result, ("ws", "costs"), "minimize", case)
        ws_arr = expect_array(np.asarray(ws, dtype=float) if isinstance(ws, list) else ws, "ws", case)
        if ws_arr.shape == (steps,) + w0.shape:
            fail(f"ws should have shape {(steps + 1,) + w0.shape}, but it has shape {ws_arr.shape}.", case,
                 "ws starts with w0 (before the first step): steps + 1 rows.")
        ws_arr = expect_array(ws_arr, "ws", case, shape=(steps + 1,) + w0.shape)
        costs_arr = expect_array(np.asarray(costs, dtype=float) if isinstance(costs, list) else costs, "costs", case,
                                 shape=(steps,))
        expected_ws, expected_costs = np.array(values["ws"]), np.array(values["costs"])
        hint = None
        if not np.allclose(ws_arr, expected_ws, rtol=1e-9, atol=1e-12):
            if np.allclose(ws_arr, np.array(values["forgetful"]), rtol=1e-9, atol=1e-12):
                hint = ("this is the trajectory without zero_grad: backward adds to w.grad, so the gradients of all "
                        "steps pile up. Call optimizer.zero_grad() before each backward.")
            elif steps and np.allclose(ws_arr[1], expected_ws[1], rtol=1e-9, atol=1e-12):
                hint = ("the first step is right and a later one is not: keep each parameter's config (Adam's "
                        "moments and step counter) from one step to the next (self.configs[k] = the returned config).")
            else:
                hint = ("the first step is already off: step must use the update rule with p.grad after backward, and "
                        "SGD / Adam must get lr.")
        expect_close(ws_arr, expected_ws, "ws (w before the first step and after each step)", case, 1e-9, 1e-12, hint)
        hint = ("costs[t] is the cost computed in step t, before its update (so costs[0] is the cost at w0)."
                if costs_arr.shape == expected_costs.shape and steps > 1
                and np.allclose(costs_arr[:-1], expected_costs[1:], rtol=1e-9) else None)
        expect_close(costs_arr, expected_costs, "costs", case, 1e-9, 1e-12, hint)


# ---------------------------------------------------------------- the training loop
def predict(params, X) -> np.ndarray:
    """Class predictions of a ReLU MLP given as [W1, b1, W2, b2, ...] (the check's own forward pass)."""
    h = X
    for k in range(0, len(params) - 2, 2):
        h = np.maximum(0.0, h @ params[k] + params[k + 1])
    return np.argmax(h @ params[-2] + params[-1], axis=1)


def expect_params(params, sizes, what: str, case: Case) -> list[np.ndarray]:
    """A list [W1, b1, ...] of float arrays with the shapes of an MLP of ``sizes``."""
    shapes = [s for m, n in zip(sizes[:-1], sizes[1:]) for s in ((m, n), (n,))]
    if not isinstance(params, (list, tuple)) or len(params) != len(shapes):
        fail(f"{what} should be a list of {len(shapes)} arrays (W1, b1, W2, b2, ... in the order of "
             f"model.parameters()), but it is {type(params).__name__}"
             + (f" of {len(params)} items." if isinstance(params, (list, tuple)) else "."), case,
             "return [p.data.copy() for p in model.parameters()].")
    return [expect_array(p, f"{what}[{k}]", case, shape=s) for k, (p, s) in enumerate(zip(params, shapes))]


TRAIN_RUN = {"sizes": [64, 64, 10], "epochs": 8, "batch_size": 64, "lr": 5e-3}   # the checks' configuration
TRAIN_VAL_MIN = 0.88   # visible: validation accuracy of the run with seed TRAIN_SEED (reference, 200 seeds: >= 0.91)
TRAIN_SEED = 1


def training_call(train_mlp, X, y, *, sizes, epochs, batch_size, lr, seed, label):
    """Call ``train_mlp`` as the checks do; return (params, losses) after checking their form."""
    case = Case(label, {"X": X, "y": y, "sizes": list(sizes), "epochs": epochs, "batch_size": batch_size,
                        "lr": lr, "rng": np.random.default_rng(seed)})
    with one_blas_thread():
        result = call(train_mlp, "train_mlp", case)
    params, losses = expect_tuple(result, ("params", "losses"), "train_mlp", case)
    params = expect_params(params, sizes, "params returned by train_mlp", case)
    if not isinstance(losses, (list, tuple, np.ndarray)):
        fail(f"losses should be a list of floats, but it is {type(losses).__name__}.", case)
    losses = expect_array(np.asarray(losses, dtype=float), "losses", case)
    steps = epochs * -(-len(X) // batch_size)
    if losses.shape != (steps,):
        dropped = epochs * (len(X) // batch_size)
        fail(f"losses should hold one loss per minibatch, {steps} for {epochs} epoch(s) of {len(X)} examples in "
             f"batches of {batch_size}, but it has shape {losses.shape}.", case,
             "keep the last, smaller minibatch: range(0, N, batch_size) covers every example."
             if losses.shape == (dropped,) else "append float(loss.data) once per minibatch.")
    return params, losses, case


@reporting("parameter shapes, one loss per minibatch (the last partial one included), and the validation accuracy "
           "of the trained network (computed by the check from the returned parameters)")
def check_train_mlp(train_mlp, *, hidden=False):
    """Check ``train_mlp(X, y, sizes, epochs, batch_size, lr, rng) -> (params, losses)``."""
    from datasets import load_digits

    rng = np.random.default_rng(VISIBLE_SEED)
    X_small, y_small = rng.standard_normal((10, 4)), rng.integers(0, 3, size=10)
    training_call(train_mlp, X_small, y_small, sizes=[4, 5, 3], epochs=2, batch_size=4, lr=1e-2, seed=0,
                  label="10 examples in batches of 4 (the last batch holds 2), 2 epochs, sizes [4, 5, 3]")
    data = load_digits()
    params, losses, case = training_call(train_mlp, data["X_train"], data["y_train"], **TRAIN_RUN, seed=TRAIN_SEED,
                                         label=f"the digits training set, {TRAIN_RUN}, rng = default_rng({TRAIN_SEED})")
    acc = float(np.mean(predict(params, data["X_val"]) == data["y_val"]))
    if not acc >= TRAIN_VAL_MIN:
        fail(f"the network trained by train_mlp reaches {acc:.3f} validation accuracy; at least {TRAIN_VAL_MIN} is "
             "expected for this configuration.", case,
             "check that every minibatch calls zero_grad, backward and step, that the loss is the mean softmax "
             "cross-entropy of model(Tensor(X[idx])) against y[idx], and that each epoch uses a fresh permutation.")
    if not losses[-1] < losses[0]:
        fail(f"the loss did not go down: {losses[0]:.3f} at the first minibatch, {losses[-1]:.3f} at the last.", case)
    if hidden:
        hidden_criterion(TOPIC, "train_mlp")(train_mlp, data=data)
