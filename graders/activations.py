"""Checks for notebook 02_activations: sigmoid, tanh, ReLU, leaky ReLU, ELU and PReLU as layers
(``*_forward(x, ...) -> (out, cache)``, ``*_backward(dout, cache) -> dx`` or ``(dx, dalpha)``), and the
notebook's experiments (gradient flow in a deep stack, dead ReLUs, same-sign weight gradients).

The cache is the student's design, so a backward check never builds a cache itself: it calls the
student's forward on the case's input, checks ``out`` against the reference, passes the student's cache
to the student's backward with a random upstream gradient ``dout``, and compares ``dx`` with

- the reference backward given the same ``x`` and ``dout`` (rtol 1e-6), everywhere, including x == 0
  exactly where the docstrings fix a convention (the negative branch: x <= 0);
- a float64 centred-difference gradient of the student's own forward (``numerical_gradient_array``),
  on the entries where it is meaningful: at least 5e-4 away from the kink at 0 (the cases keep random
  inputs >= 1e-2 and hand-picked ones >= 1e-3 away from it, while h = 1e-5) and |x| <= 8, for tanh |x| <= 5
  (beyond, the slopes are so small that rounding in f(x +- h) dominates the difference quotient).

Visible cases come from ``fixtures/activations.json``; each backward fixture stores ``dout`` and the
reference's own cache next to the reference ``dx``, and pairs with the forward fixture of the same
index (same label, same ``x``). Hidden tests pass ``hidden=True``: the cases then come from the hidden module
(``classroom/hidden/activations.py``, not part of the student release), as do the extra criteria of the
experiment checks. Every layer check takes the function under test first; a backward check also takes the
student's forward as ``forward=``, e.g. ``check_relu_backward(relu_backward, forward=relu_forward)``.
"""
from __future__ import annotations

import copy

import numpy as np

from utils.gradcheck import numerical_gradient_array
from .checking import (Case, CheckFailure, call, expect_array, expect_close, expect_gradient, expect_scalar,
                       expect_tuple, fail, prefetch, ratio, reporting, require_answer)
from .fixtures import cases, hidden_criterion
from .rerun import one_blas_thread

TOPIC = "activations"
RTOL = 1e-6        # float64 elementwise formulas agree with the reference to ~1e-15; 1e-6 leaves room
ATOL = 1e-12       # e.g. sigmoid(-50) = 1.9e-22 may come back as 0
GRAD_TOL = 1e-6    # centred differences (h = 1e-5) on smooth, unsaturated entries reach ~1e-9
KINK = 5e-4        # the numeric comparison skips entries closer than this to 0 (exact zeros)
SATURATED = 8.0    # ... and entries with |x| > 8 (tanh: > 5; see SATURATED_AT)
# Rounding in f(x +- h) moves a numeric slope by ~1e-16 / h = 1e-11, so its relative error is ~1e-11 / f'(x):
# below the 1e-6 tolerance only where f'(x) is well above 1e-5. sigma'(8) = 3e-4, but tanh'(8) = 5e-7 and
# tanh'(5) = 2e-4: for tanh the numeric comparison stops at |x| = 5 (over 200 hidden seeds it failed the
# reference at 8)
SATURATED_AT = {"tanh": 5.0}
NUMERIC_MAX_SIZE = 600   # numeric gradients on inputs up to this size (larger ones: reference only)

KINK_INPUT = np.array([[-2.0, -1e-3, 0.0, 1e-3, 2.0],
                       [0.0, 0.5, -0.5, 0.0, 3.0]])   # exact zeros and values 1e-3 from the kink

SIGMOID_OVERFLOW = ("np.exp(-x) overflows for x < -709.8. Only ever exponentiate -|x| (at most 0): "
                    "sigmoid(x) = 1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) for x < 0, e.g. "
                    "z = np.exp(-np.abs(x)) and then np.where(x >= 0, 1 / (1 + z), z / (1 + z)).")
TANH_OVERFLOW = "use np.tanh, which is stable; (e^x - e^-x) / (e^x + e^-x) overflows for |x| > 710."
ELU_OVERFLOW = ("np.where evaluates both branches on every entry, so np.exp(x) overflows at large positive "
                "x even though that value is discarded: exponentiate np.minimum(x, 0) instead.")


HINTS = {  # for graders.reveal: a nudge, not the answer
    "sigmoid_forward": "exp(-x) overflows for very negative x and exp(x) for very positive x: compute each "
                       "half of the input with the form whose exponent is never positive (np.where, or a mask).",
    "sigmoid_backward": "The derivative is expressed through the sigmoid's *output*, not its input: cache what "
                        "you need in the forward pass.",
    "sigmoid_max_derivative": "s(1 - s) is a parabola in s; where on [0, 1] is it largest?",
    "sigmoid_derivative_at_10": "Evaluate s(1 - s) at x = 10; s is extremely close to 1 there.",
    "tanh_forward": "np.tanh is stable; cache something the backward pass can reuse.",
    "tanh_backward": "d tanh(x)/dx = 1 - tanh(x)**2: note the square of the *output*.",
    "relu_forward": "np.maximum with 0; keep the input (or a mask) for the backward pass.",
    "relu_backward": "The gradient passes only where the input was strictly positive (x <= 0 gives 0).",
    "leaky_relu_forward": "Slope 1 for x > 0, slope alpha for x <= 0.",
    "leaky_relu_backward": "Multiply dout by the slope that was used in the forward pass at each entry.",
    "elu_forward": "For x <= 0 the output is alpha * (exp(x) - 1); evaluate exp only where x <= 0, or on "
                   "np.minimum(x, 0), so that large positive x cannot overflow.",
    "elu_backward": "On the negative side the derivative of alpha * (exp(x) - 1) is alpha * exp(x), which is "
                    "also the forward output plus alpha.",
    "prelu_forward": "Like leaky ReLU, but alpha has one entry per feature (shape (D,)) and broadcasts over rows.",
    "prelu_backward": "dalpha collects, per feature, dout * x over the entries where x <= 0, summed over the batch.",
    "sigmoid_gain_10_layers": "Each sigmoid layer multiplies the gradient by at most its largest derivative.",
    "dead_unit_fate": "What gradient does a ReLU unit send back when its input is negative for every example?",
    "same_sign_fractions": "For each step, check whether all components of the weight gradient share one sign "
                           "(np.all(g > 0) or np.all(g < 0)), then average over steps.",
    "zigzag_remedy": "The sign pattern comes from the inputs being all positive: what preprocessing changes that?",
}


# ---------------------------------------------------------------- visible case generators
# Each layer's inputs are drawn as (label, args, kwargs) triples, then every triple gets a random upstream
# gradient `dout` (drawn after all the inputs). The hidden module (classroom/hidden/activations.py) draws
# these same visible inputs, appends its own, and only then draws the douts.
def _signed(rng: np.random.Generator, shape, low: float = 1e-2, high: float = 3.0) -> np.ndarray:
    """Random inputs of both signs with low <= |x| <= high (so at least `low` away from the kink)."""
    x = rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], size=shape)
    flat = x.reshape(-1)
    if flat.size >= 2:  # both signs always present
        flat[0], flat[1] = -abs(flat[0]), abs(flat[1])
    return x


def _with_dout(rng, draws):
    """Append a random (standard normal, not all-ones) upstream gradient to every (label, args, kwargs)."""
    return [(label, args, kwargs, rng.standard_normal(args["x"].shape)) for label, args, kwargs in draws]


def _smooth_inputs(rng: np.random.Generator):
    """Inputs for sigmoid and tanh: ordinary values, any shape, and |x| up to 1000."""
    return [
        ("a (4, 5) batch of inputs, about -6..6", {"x": 3.0 * rng.standard_normal((4, 5))}, {}),
        ("a 1-D input of shape (6,)", {"x": rng.standard_normal(6)}, {}),
        ("extreme inputs up to |x| = 1000 (exp(-x) overflows for x < -709.8)",
         {"x": np.array([[-1000.0, -710.0, -50.0, -10.0, -1e-3, 0.0],
                         [1e-3, 10.0, 50.0, 710.0, 1000.0, 2.0]])}, {}),
    ]


def _relu_inputs(rng: np.random.Generator):
    return [
        ("a (4, 5) batch, every entry at least 1e-2 away from 0", {"x": _signed(rng, (4, 5))}, {}),
        ("inputs on and next to the kink: exact zeros and +-1e-3", {"x": KINK_INPUT.copy()}, {}),
        ("a 1-D input of shape (7,)", {"x": _signed(rng, (7,))}, {}),
    ]


def _leaky_inputs(rng: np.random.Generator):
    return [
        ("a (4, 5) batch with the default alpha", {"x": _signed(rng, (4, 5))}, {}),
        ("alpha = 0.2, inputs on and next to the kink (exact zeros and +-1e-3)", {"x": KINK_INPUT.copy()},
         {"alpha": 0.2}),
        ("alpha = 0.5, a 1-D input of shape (7,)", {"x": _signed(rng, (7,))}, {"alpha": 0.5}),
        ("alpha = 1.5 (any alpha >= 0 is allowed, also alpha > 1), a (3, 4) batch", {"x": _signed(rng, (3, 4))},
         {"alpha": 1.5}),
    ]


def _elu_inputs(rng: np.random.Generator):
    return [
        ("a (4, 5) batch with the default alpha", {"x": _signed(rng, (4, 5))}, {}),
        ("alpha = 0.5, a (3, 4) batch", {"x": _signed(rng, (3, 4), high=4.0)}, {"alpha": 0.5}),
        ("alpha = 2, values far out on both sides (|x| up to 1000), exactly 0 and 1e-3 from 0",
         {"x": np.array([[-1000.0, -20.0, -5.0, -1e-3, 0.0], [1e-3, 5.0, 20.0, 1000.0, 0.0]])}, {"alpha": 2.0}),
    ]


def _prelu_inputs(rng: np.random.Generator):
    return [
        ("x of shape (5, 3), one alpha per feature", {"x": _signed(rng, (5, 3)), "alpha": rng.uniform(0.05, 0.5, 3)},
         {}),
        ("a square x (4, 4) with exact zeros and +-1e-3 (a wrong broadcast cannot hide behind the shape)",
         {"x": np.array([[-2.0, -1e-3, 0.0, 1e-3], [0.0, 0.5, -0.5, 0.0], [1.0, -1.0, 2.0, -2.0],
                         [-3.0, 3.0, -0.1, 0.1]]),
          "alpha": np.array([0.1, -0.25, 0.5, 0.75])}, {}),   # a learned slope may turn negative
        ("a single example, x of shape (1, 6)", {"x": _signed(rng, (1, 6)), "alpha": rng.uniform(0.05, 0.5, 6)}, {}),
    ]


INPUTS = {"sigmoid": _smooth_inputs, "tanh": _smooth_inputs, "relu": _relu_inputs, "leaky_relu": _leaky_inputs,
          "elu": _elu_inputs, "prelu": _prelu_inputs}


def _forward_cases(draws):
    """``draw(rng)`` for ``<name>_forward``, given ``draws(rng) -> [(label, args, kwargs, dout), ...]``."""
    def generate(rng):
        return [Case(label, args, kwargs=kwargs) for label, args, kwargs, _ in draws(rng)]
    return generate


def _backward_cases(name, draws):
    """``draw(rng)`` for ``<name>_backward``: the same inputs as the forward cases (same seed, same draws), a
    ``dout``, and the reference forward's cache, so that the reference backward can be run on them."""
    def generate(rng):
        from . import reference

        forward = getattr(reference.load(TOPIC), f"{name}_forward")
        out = []
        for label, args, kwargs, dout in draws(rng):
            _, cache = forward(*copy.deepcopy(list(args.values())), **copy.deepcopy(kwargs))
            out.append(Case(label, {"dout": dout, "cache": cache}))
        return out
    return generate


def layer_cases(name, draws) -> dict:
    """``{<name>_forward: draw, <name>_backward: draw}`` from ``draws(rng) -> [(label, args, kwargs, dout)]``."""
    return {f"{name}_forward": _forward_cases(draws), f"{name}_backward": _backward_cases(name, draws)}


def _visible_draws(name):
    return lambda rng: _with_dout(rng, INPUTS[name](rng))


CASES = {}
for _name in INPUTS:
    CASES.update(layer_cases(_name, _visible_draws(_name)))


# ---------------------------------------------------------------- machinery shared by the checks
def _call(f, name: str, case: Case, overflow_hint: str | None = None):
    """:func:`call`, with an activation-specific explanation when numpy warns about an overflow."""
    try:
        return call(f, name, case)
    except CheckFailure as err:
        if not (overflow_hint and "overflow" in str(err).lower()):
            raise
        problem = str(err).split("\n")[0]
    fail(f"{problem}\nA numpy warning counts as a failure when the notebook is graded, so this input must "
         "be computed without one.", case, overflow_hint)


def _forward(forward, name: str, case: Case, overflow_hint: str | None = None):
    """Call ``<name>_forward`` on ``case``; check it returns ``(out, cache)`` with ``out`` shaped like x."""
    fname = f"{name}_forward"
    result = expect_tuple(_call(forward, fname, case, overflow_hint), ("out", "cache"), fname, case,
                          "end the function with `return out, cache`.")
    out = expect_array(result[0], f"out returned by {fname}", case, shape=case.args["x"].shape)
    return out, result[1]


def _matches(got, candidate) -> bool:
    return got.shape == np.shape(candidate) and np.allclose(got, candidate, rtol=1e-6, atol=1e-12)


def _dout_hint(dx, expected, dout, fname: str) -> str | None:
    """Hints shared by every backward: dout not multiplied in, or the sign flipped."""
    if _matches(dx * dout, expected) and not _matches(dx, expected):
        return (f"{fname} seems to return the local derivative f'(x) alone. The backward pass returns "
                "dL/dx = dout * f'(x): multiply by the upstream gradient dout (chain rule).")
    r = ratio(dx, expected)
    if r is not None and np.isclose(r, -1.0):
        return f"{fname} has the sign flipped everywhere."
    return None


def _check_forward(name: str, forward, hidden: bool, hint=None, overflow_hint=None) -> None:
    for case in cases(TOPIC, f"{name}_forward", hidden):
        out, _ = _forward(forward, name, case, overflow_hint)
        expected = case.expected[0]
        expect_close(out, expected, f"out returned by {name}_forward", case, RTOL, ATOL,
                     hint(out, expected, case) if hint else None)


def _check_backward(name: str, backward, forward, hidden: bool, hint=None, overflow_hint=None,
                    param: str | None = None) -> None:
    """The shared backward check (see the module docstring). ``param`` names a parameter argument of the
    forward (PReLU's ``alpha``) whose gradient the backward returns second."""
    fname, bname = f"{name}_forward", f"{name}_backward"
    pairs = list(zip(cases(TOPIC, fname, hidden), cases(TOPIC, bname, hidden)))
    for fcase, bcase in pairs:
        assert fcase.label == bcase.label, "forward and backward fixtures are out of step"
        x, dout = fcase.args["x"], bcase.args["dout"]
        out, cache = _forward(forward, name, fcase, overflow_hint)
        expect_close(out, fcase.expected[0], f"out returned by {fname} (this check calls it to get your cache)",
                     fcase, RTOL, ATOL, f"{fname} fails its own check above: fix it first.")
        case = Case(fcase.label, {**fcase.args, "dout": dout}, kwargs=dict(fcase.kwargs))
        result = _call(lambda *args, **kwargs: backward(dout, cache), bname, case, overflow_hint)
        if param is None:
            dx = expect_array(result, f"dx returned by {bname}", case, shape=x.shape)
            expected_dx = bcase.expected
        else:
            result = expect_tuple(result, ("dx", f"d{param}"), bname, case)
            dx = expect_array(result[0], f"dx returned by {bname}", case, shape=x.shape)
            expected_dx, expected_dp = bcase.expected
        expect_close(dx, expected_dx, f"dx returned by {bname}", case, RTOL, ATOL,
                     _dout_hint(dx, expected_dx, dout, bname) or (hint(dx, expected_dx, case) if hint else None))
        if param is not None:
            dp = result[1]
            p = fcase.args[param]
            if isinstance(dp, np.ndarray) and dp.shape == x.shape and dp.shape != p.shape:
                fail(f"d{param} returned by {bname} has shape {dp.shape}, the shape of x, but it should have "
                     f"the shape of {param}, {p.shape}.", case,
                     f"{param}[j] is shared by all N examples, so its gradient is the sum of the contributions "
                     "of every row: sum over the batch (axis=0).")
            if np.ndim(dp) == 0:
                fail(f"d{param} returned by {bname} is a single number, but it should have the shape of {param}, "
                     f"{p.shape}: one entry per feature.", case, "sum over the batch only (axis=0), not over everything.")
            if np.shape(dp) == (x.shape[0],) and x.shape[0] != p.shape[0]:
                fail(f"d{param} returned by {bname} has shape {np.shape(dp)}, one entry per example, but it should "
                     f"have the shape of {param}, {p.shape}.", case,
                     f"{param}[j] collects the contributions of column j: sum over the batch (axis=0), not axis=1.")
            dp = expect_array(dp, f"d{param} returned by {bname}", case, shape=p.shape)
            phint = None
            N = x.shape[0]
            r = ratio(dp, expected_dp)
            if r is not None and N > 1 and np.isclose(r, 1.0 / N):
                phint = f"d{param} is N = {N} times too small: sum the contributions over the batch, do not average."
            elif _matches(dp, np.sum(dout * x, axis=0)):
                phint = (f"only entries with x <= 0 depend on {param}: d out[n, j] / d {param}[j] = x[n, j] "
                         "there, and 0 where x > 0.")
            expect_close(dp, expected_dp, f"d{param} returned by {bname}", case, RTOL, ATOL, phint)
        if x.size > NUMERIC_MAX_SIZE:
            continue
        args, kwargs = dict(fcase.args), dict(fcase.kwargs)

        def outs_at(points, key):  # the forward's output with argument `key` set to each point in turn
            trials = [Case(fcase.label, {**args, key: v}, kwargs=kwargs) for v in points]
            stand_ins = prefetch(forward, [(list(t.args.values()), dict(t.kwargs)) for t in trials], keep=1)
            return [_forward(f, name, t, overflow_hint)[0] for f, t in zip(stand_ins, trials)]

        limit = SATURATED_AT.get(name, SATURATED)
        mask = (np.abs(x) >= KINK) & (np.abs(x) <= limit)
        if mask.any():
            numeric = numerical_gradient_array(None, np.array(x, dtype=np.float64), dout,
                                               f_many=lambda points: outs_at(points, "x"))
            expect_gradient(dx[mask], numeric[mask], f"dx returned by {bname} (entries with {KINK:g} <= |x| <= "
                            f"{limit:g})", case, tol=GRAD_TOL)
        if param is not None:
            numeric = numerical_gradient_array(None, np.array(fcase.args[param], dtype=np.float64), dout,
                                               f_many=lambda points: outs_at(points, param))
            expect_gradient(dp, numeric, f"d{param} returned by {bname}", case, tol=GRAD_TOL)


def _zero_hint(got, expected, case, what: str) -> str | None:
    """Wrong only at entries where x == 0 exactly: the kink convention."""
    x = case.args["x"]
    wrong = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    if wrong.any() and np.all(x[wrong] == 0):
        return f"it is wrong only where x == 0 exactly. The docstring fixes the kink: {what}."
    return None


# ---------------------------------------------------------------- hints for the known mistakes
def _sigmoid_forward_hint(out, expected, case):
    if _matches(out, 1.0 - expected):
        return "this is sigmoid(-x): the sigmoid is 1 / (1 + exp(-x)), with a minus sign in the exponent."
    return None


def _sigmoid_backward_hint(dx, expected, case):
    x, dout = case.args["x"], case.args["dout"]
    if _matches(dx, dout * x * (1.0 - x)):
        return ("you computed x * (1 - x) from the input x. The derivative is s * (1 - s) where s = sigmoid(x) "
                "is the forward output: keep s in the cache.")
    return None


def _tanh_backward_hint(dx, expected, case):
    x, dout = case.args["x"], case.args["dout"]
    if _matches(dx, dout * (1.0 - x ** 2)):
        return ("you computed 1 - x**2 from the input x. The derivative is 1 - t**2 where t = tanh(x) is the "
                "forward output: keep t in the cache.")
    return None


def _relu_backward_hint(dx, expected, case):
    x, dout = case.args["x"], case.args["dout"]
    zero = _zero_hint(dx, expected, case, "the gradient is 0 where x <= 0, so use x > 0 (not x >= 0)")
    if zero:
        return zero
    if _matches(dx, dout):
        return "the gradient also passes where x < 0. It passes only where x > 0 and is 0 elsewhere."
    if _matches(dx, dout * (dout > 0)):
        return "you masked with the sign of dout. The mask comes from the forward input: x > 0."
    return None


def _slope(case):
    return case.kwargs.get("alpha", 0.01)


MAXIMUM_TRICK = ("np.maximum(x, alpha * x) is the leaky ReLU only for alpha <= 1; for alpha > 1 (allowed: the "
                 "docstring says any alpha >= 0) it takes the other branch on both sides. Choose the branch by the "
                 "sign of x, e.g. with np.where(x > 0, ...).")


def _leaky_forward_hint(out, expected, case):
    x, alpha = case.args["x"], _slope(case)
    if alpha > 1 and _matches(out, np.maximum(x, alpha * x)):
        return MAXIMUM_TRICK
    if _matches(out, np.where(x > 0, alpha * x, x)):
        return "the slopes are swapped: slope 1 for x > 0, slope alpha for x <= 0."
    if alpha != 0.01 and _matches(out, np.where(x > 0, x, 0.01 * x)):
        return "you used 0.01 instead of the alpha that was passed in."
    return None


def _leaky_backward_hint(dx, expected, case):
    x, dout, alpha = case.args["x"], case.args["dout"], _slope(case)
    zero = _zero_hint(dx, expected, case, "x <= 0 takes the negative branch, slope alpha")
    if zero:
        return zero
    if alpha > 1 and _matches(dx, dout * np.where(x > alpha * x, 1.0, alpha)):
        return MAXIMUM_TRICK.replace("np.maximum(x, alpha * x)", "a slope chosen by comparing x with alpha * x")
    if _matches(dx, dout * np.where(x > 0, alpha, 1.0)):
        return "the slopes are swapped: dx = dout where x > 0 and alpha * dout where x <= 0."
    if alpha != 0.01 and _matches(dx, dout * np.where(x > 0, 1.0, 0.01)):
        return ("you used 0.01 instead of the alpha the forward pass was called with: put alpha in the cache "
                "and read it back in the backward pass.")
    if _matches(dx, dout * (x > 0)):
        return "this is the ReLU's gradient; for x <= 0 the leaky ReLU passes alpha * dout."
    return None


def _elu_forward_hint(out, expected, case):
    x, alpha = case.args["x"], case.kwargs.get("alpha", 1.0)
    with np.errstate(all="ignore"):
        e = np.exp(np.minimum(x, 0.0))
    if _matches(out, np.where(x > 0, x, alpha * e)):
        return "for x <= 0 the ELU is alpha * (exp(x) - 1): the - 1 is missing."
    if alpha != 1.0 and _matches(out, np.where(x > 0, x, e - 1.0)):
        return "for x <= 0 the ELU is alpha * (exp(x) - 1): the factor alpha is missing."
    return None


def _elu_backward_hint(dx, expected, case):
    x, dout, alpha = case.args["x"], case.args["dout"], case.kwargs.get("alpha", 1.0)
    zero = _zero_hint(dx, expected, case, "x <= 0 takes the negative branch, where the slope is alpha * exp(0) = alpha")
    if zero:
        return zero
    negative = x <= 0
    if not np.allclose(dx[~negative], expected[~negative], rtol=RTOL, atol=ATOL):
        return "for x > 0 the ELU is the identity: dx = dout there."
    e = np.exp(np.minimum(x, 0.0))
    if _matches(dx, np.where(negative, dout * alpha * (e - 1.0), dout)):
        return ("for x <= 0 you multiplied by the output alpha * (exp(x) - 1) instead of its derivative "
                "alpha * exp(x) (= out + alpha).")
    if alpha != 1.0 and _matches(dx, np.where(negative, dout * e, dout)):
        return "for x <= 0 the derivative is alpha * exp(x): the factor alpha is missing."
    return "the negative side is wrong: for x <= 0, d/dx alpha * (exp(x) - 1) = alpha * exp(x) = out + alpha."


def _prelu_forward_hint(out, expected, case):
    x, alpha = case.args["x"], case.args["alpha"]
    if x.shape[0] == alpha.shape[0] and _matches(out, np.where(x > 0, x, alpha[:, None] * x)):
        return "alpha[j] is the slope of feature j (column j): broadcast alpha of shape (D,) along the rows."
    return None


def _prelu_backward_hint(dx, expected, case):
    x, dout, alpha = case.args["x"], case.args["dout"], case.args["alpha"]
    zero = _zero_hint(dx, expected, case, "x <= 0 takes the negative branch, slope alpha[j]")
    if zero:
        return zero
    if _matches(dx, dout * np.where(x > 0, alpha, 1.0)):
        return "the slopes are swapped: dx = dout where x > 0 and alpha * dout where x <= 0."
    if np.any(alpha < 0) and _matches(dx, dout * np.where(np.where(x > 0, x, alpha * x) > 0, 1.0, alpha)):
        return ("choose the branch by the sign of x, not of out: where alpha[j] < 0 (a learned slope may turn "
                "negative), out = alpha[j] * x is positive for x < 0.")
    return None


# ---------------------------------------------------------------- the checks
@reporting("returns (out, cache), out within 1e-6 of the reference, no overflow warning at |x| ~ 1e3, x untouched")
def check_sigmoid_forward(sigmoid_forward, *, hidden=False):
    """Check ``sigmoid_forward(x) -> (out, cache)``."""
    _check_forward("sigmoid", sigmoid_forward, hidden, _sigmoid_forward_hint, SIGMOID_OVERFLOW)


@reporting("dx within 1e-6 of the reference and of a numeric gradient of your sigmoid_forward (random dout)")
def check_sigmoid_backward(sigmoid_backward, *, forward, hidden=False):
    """Check ``sigmoid_backward(dout, cache) -> dx`` with the cache of the student's ``sigmoid_forward``
    (``forward``)."""
    _check_backward("sigmoid", sigmoid_backward, forward, hidden, _sigmoid_backward_hint, SIGMOID_OVERFLOW)


@reporting("returns (out, cache), out within 1e-6 of the reference, no warning at |x| ~ 1e3, x untouched")
def check_tanh_forward(tanh_forward, *, hidden=False):
    """Check ``tanh_forward(x) -> (out, cache)``."""
    _check_forward("tanh", tanh_forward, hidden, None, TANH_OVERFLOW)


@reporting("dx within 1e-6 of the reference and of a numeric gradient of your tanh_forward (random dout)")
def check_tanh_backward(tanh_backward, *, forward, hidden=False):
    """Check ``tanh_backward(dout, cache) -> dx`` with the cache of the student's ``tanh_forward`` (``forward``)."""
    _check_backward("tanh", tanh_backward, forward, hidden, _tanh_backward_hint, TANH_OVERFLOW)


@reporting("returns (out, cache), out within 1e-6 of the reference, x untouched")
def check_relu_forward(relu_forward, *, hidden=False):
    """Check ``relu_forward(x) -> (out, cache)``."""
    _check_forward("relu", relu_forward, hidden)


@reporting("dx = reference (0 where x <= 0, also at x == 0) and = numeric gradient away from the kink (random dout)")
def check_relu_backward(relu_backward, *, forward, hidden=False):
    """Check ``relu_backward(dout, cache) -> dx`` with the cache of the student's ``relu_forward`` (``forward``)."""
    _check_backward("relu", relu_backward, forward, hidden, _relu_backward_hint)


@reporting("returns (out, cache), out within 1e-6 of the reference for the default and other alphas, x untouched")
def check_leaky_relu_forward(leaky_relu_forward, *, hidden=False):
    """Check ``leaky_relu_forward(x, alpha=0.01) -> (out, cache)``."""
    _check_forward("leaky_relu", leaky_relu_forward, hidden, _leaky_forward_hint)


@reporting("dx = reference (slope alpha where x <= 0) and = numeric gradient away from the kink, for several alphas")
def check_leaky_relu_backward(leaky_relu_backward, *, forward, hidden=False):
    """Check ``leaky_relu_backward(dout, cache) -> dx`` with the cache of the student's forward (``forward``)."""
    _check_backward("leaky_relu", leaky_relu_backward, forward, hidden, _leaky_backward_hint)


@reporting("returns (out, cache), out within 1e-6 of the reference for several alphas, no warning at |x| ~ 1e3")
def check_elu_forward(elu_forward, *, hidden=False):
    """Check ``elu_forward(x, alpha=1.0) -> (out, cache)``."""
    _check_forward("elu", elu_forward, hidden, _elu_forward_hint, ELU_OVERFLOW)


@reporting("dx = reference and = numeric gradient of your elu_forward on both sides of 0, for several alphas")
def check_elu_backward(elu_backward, *, forward, hidden=False):
    """Check ``elu_backward(dout, cache) -> dx`` with the cache of the student's forward (``forward``)."""
    _check_backward("elu", elu_backward, forward, hidden, _elu_backward_hint, ELU_OVERFLOW)


@reporting("returns (out, cache), out (N, D) within 1e-6 of the reference with one alpha per feature, inputs untouched")
def check_prelu_forward(prelu_forward, *, hidden=False):
    """Check ``prelu_forward(x, alpha) -> (out, cache)``, x (N, D), alpha (D,)."""
    _check_forward("prelu", prelu_forward, hidden, _prelu_forward_hint)


@reporting("dx (N, D) and dalpha (D,) = reference and = numeric gradients in x and in alpha (random dout)")
def check_prelu_backward(prelu_backward, *, forward, hidden=False):
    """Check ``prelu_backward(dout, cache) -> (dx, dalpha)`` with the cache of the student's forward (``forward``)."""
    _check_backward("prelu", prelu_backward, forward, hidden, _prelu_backward_hint, param="alpha")


# ---------------------------------------------------------------- the experiments
GRAD_FLOW_KEYS = {"sigmoid": "sigmoid (Xavier init)", "sigmoid_4x": "sigmoid (4 x Xavier init)",
                  "tanh": "tanh (Xavier init)", "relu": "ReLU (He init)"}


# ---------------------------------------------------------------- the experiments, as the notebook runs them
# The hidden checks run each experiment again with the student's functions (same seeds, same steps) and
# compare its results with the values the notebook computed: a number typed in earns nothing.
# each curve: the activation it uses, the course initializer and the factor its weights are multiplied by
GRAD_FLOW_INITS = {"sigmoid": ("sigmoid", "init_xavier", 1.0), "sigmoid_4x": ("sigmoid", "init_xavier", 4.0),
                   "tanh": ("tanh", "init_xavier", 1.0), "relu": ("relu", "init_he", 1.0)}


def _layer_call(f, name: str, label: str, args: dict):
    return call(f, name, Case(label, args))


def deep_stack_grad_norms(forward, backward, init, *, name: str, depth: int = 20, width: int = 64, batch: int = 64,
                          seed: int = 0) -> np.ndarray:
    """Section 8's ``weight_grad_norms``: ``|dL/dW|`` of every layer (index 0 = first) of a stack of ``depth``
    affine layers of ``width`` units, each followed by the activation ``forward``/``backward`` (named ``name``),
    weights from ``init`` (a ``utils.layers`` initializer), inputs and upstream gradient from ``make_rng(seed)``."""
    from utils import make_rng
    from utils.layers import affine_backward, affine_forward

    rng = make_rng(seed)
    h = rng.standard_normal((batch, width))
    caches = []
    for layer in range(depth):
        a, cache_affine = affine_forward(h, init(width, width, rng), np.zeros(width))
        out = expect_tuple(_layer_call(forward, f"{name}_forward", f"layer {layer} of the deep stack", {"x": a}),
                           ("out", "cache"), f"{name}_forward", None)
        h = expect_array(out[0], f"{name}_forward(x) in layer {layer} of the deep stack", None, shape=a.shape)
        caches.append((cache_affine, out[1]))
    dh = rng.standard_normal(h.shape)
    norms = []
    for layer, (cache_affine, cache_act) in zip(range(depth - 1, -1, -1), reversed(caches)):
        da = _layer_call(backward, f"{name}_backward", f"layer {layer} of the deep stack",
                         {"dout": dh, "cache": cache_act})
        da = expect_array(da, f"{name}_backward(dout, cache) in layer {layer} of the deep stack", None, shape=dh.shape)
        dh, dW, _ = affine_backward(da, cache_affine)
        norms.append(np.linalg.norm(dW))
    return np.array(norms[::-1])


def gradient_flow_experiment(layers: dict) -> dict:
    """Section 8's ``grad_norms`` with the given ``{"sigmoid": (forward, backward), "tanh": ..., "relu": ...}``."""
    from utils import layers as library

    def scaled(init, scale):
        return init if scale == 1.0 else (lambda fan_in, fan_out, rng: scale * init(fan_in, fan_out, rng))

    with one_blas_thread():
        return {GRAD_FLOW_KEYS[short]: deep_stack_grad_norms(*layers[activation], scaled(getattr(library, init), scale),
                                                             name=activation)
                for short, (activation, init, scale) in GRAD_FLOW_INITS.items()}


def dead_relu_experiment(relu_forward, relu_backward) -> tuple[float, float, float]:
    """Section 9's ``(dead_fraction_before, dead_fraction_after, dead_unit_max_grad)``: the spiral network with
    the given ReLU trained for 3 epochs, then one step with lr = 100, and the gradient its dead first-layer
    units receive afterwards."""
    from datasets import make_spirals
    from utils import make_rng
    from utils.optim import sgd_momentum
    from utils.training import MLP, Layers, train

    X, y = make_spirals(100, 3, make_rng(0))

    def relu(a):
        out = expect_tuple(_layer_call(relu_forward, "relu_forward", "a hidden layer of the spiral network", {"x": a}),
                           ("out", "cache"), "relu_forward", None)
        return expect_array(out[0], "relu_forward(x) in the spiral network", None, shape=a.shape)

    def activity(params):
        h, fractions = X, []
        for layer in (1, 2):
            a = h @ params[f"W{layer}"] + params[f"b{layer}"]
            fractions.append(np.mean(a > 0, axis=0))
            h = relu(a)
        return fractions

    def dead_fraction(params):
        return float(np.mean(np.concatenate(activity(params)) == 0))

    relu_layers = Layers(activation_forward=relu_forward, activation_backward=relu_backward)
    net = MLP(2, [100, 100], 3, make_rng(1), layers=relu_layers)
    with one_blas_thread():
        train(net, {"X_train": X, "y_train": y}, rng=make_rng(2), epochs=3, batch_size=50, update=sgd_momentum,
              optim_config={"lr": 0.1}, progress_bar=False)
    _, grads = net.loss(X, y)
    before = dead_fraction(net.params)
    broken = {k: net.params[k] - 100.0 * grads[k] for k in net.params}
    after = dead_fraction(broken)
    dead_first = activity(broken)[0] == 0
    broken_net = MLP(2, [100, 100], 3, make_rng(1), layers=relu_layers)
    broken_net.params = broken
    _, broken_grads = broken_net.loss(X, y)
    per_unit = np.abs(broken_grads["W1"]).sum(axis=0) + np.abs(broken_grads["b1"])
    return before, after, float(per_unit[dead_first].max()) if dead_first.any() else 0.0


def zigzag_experiment(sigmoid_forward) -> tuple[np.ndarray, np.ndarray]:
    """Section 10's ``(dw_positive, dw_centred)``: one-example SGD towards w* = (1, -1) on sigmoid(2a) and on
    sigmoid(2a) - 1/2 of the same pre-activations a (``make_rng(3)``), 60 steps drawn from ``make_rng(4)``,
    each with its own learning rate 1 / max_n |x_n|^2."""
    from utils import make_rng

    w_target = np.array([1.0, -1.0])
    pre = 2.0 * make_rng(3).standard_normal((500, 2))
    out = expect_tuple(_layer_call(sigmoid_forward, "sigmoid_forward", "the zig-zag experiment's pre-activations",
                                   {"x": pre}), ("out", "cache"), "sigmoid_forward", None)
    positive = expect_array(out[0], "sigmoid_forward(x) of the zig-zag experiment", None, shape=pre.shape)
    gradients = []
    for X in (positive, positive - 0.5):
        lr = 1.0 / np.max(np.sum(X ** 2, axis=1))
        rng = make_rng(4)
        w, dws = np.zeros(2), []
        for n in rng.integers(len(X), size=60):
            dw = ((w - w_target) @ X[n]) * X[n]
            w = w - lr * dw
            dws.append(dw)
        gradients.append(np.array(dws))
    return gradients[0], gradients[1]


@reporting("the sigmoid stack's first layer gets < 1e-6 of the last layer's gradient (< 1e-2 with 4x weights); tanh and "
           "ReLU keep it within 10x")
def check_gradient_flow(grad_norms, *, sigmoid_forward, sigmoid_backward, tanh_forward, tanh_backward, relu_forward,
                        relu_backward, hidden=False):
    """Check the deep-stack experiment's ``grad_norms``: name -> (depth,) norms of dL/dW per layer.

    The experiment is deterministic (fixed seeds); with correct activations the first-to-last ratios are
    about 2e-12 (sigmoid), 2e-4 (sigmoid with 4x weights), 1.0 (tanh) and 2.0 (ReLU), far inside the bounds
    used here (over 200 seeds of the stack: 1e-12..4e-12, 7e-5..5e-4, 0.9..1.7 and 0.5..2.6). ``hidden=True`` runs
    the experiment again with the six functions given and compares (``gradient_flow_experiment``).
    """
    require_answer(grad_norms, "grad_norms", cell="experiment")
    if not isinstance(grad_norms, dict) or set(grad_norms) != set(GRAD_FLOW_KEYS.values()):
        fail(f"grad_norms should be the dict built by the experiment cell, with keys "
             f"{sorted(GRAD_FLOW_KEYS.values())}; run that cell again without changing it.")
    ratios = {}
    for short, key in GRAD_FLOW_KEYS.items():
        norms = expect_array(np.asarray(grad_norms[key]), f"grad_norms[{key!r}]", None)
        if norms.ndim != 1 or len(norms) < 2 or not np.all(norms > 0):
            fail(f"grad_norms[{key!r}] should hold one positive norm per layer, but it is {norms!r:.200}.")
        ratios[short] = norms[0] / norms[-1]
    if not ratios["sigmoid"] < 1e-6:
        fail(f"in the sigmoid stack the first layer's gradient is {ratios['sigmoid']:.3g} times the last layer's; "
             "expected a vanishing gradient (below 1e-6). Check sigmoid_forward and sigmoid_backward.")
    if not ratios["sigmoid"] < ratios["sigmoid_4x"] < 1e-2:
        fail(f"in the sigmoid stack with 4x weights the first layer's gradient is {ratios['sigmoid_4x']:.3g} times "
             f"the last layer's (with 1x weights: {ratios['sigmoid']:.3g}); expected more than with 1x weights and "
             "still below 1e-2. Check sigmoid_forward and sigmoid_backward.")
    for short in ("tanh", "relu"):
        if not 0.1 <= ratios[short] <= 10:
            fail(f"in the {short} stack the first layer's gradient is {ratios[short]:.3g} times the last layer's; "
                 f"expected a steady gradient (between 0.1 and 10). Check {short}_forward and {short}_backward.")
    if hidden:
        hidden_criterion(TOPIC, "gradient_flow")(grad_norms, layers={
            "sigmoid": (sigmoid_forward, sigmoid_backward), "tanh": (tanh_forward, tanh_backward),
            "relu": (relu_forward, relu_backward)})


@reporting("the large step killed hidden units, and dead units receive a gradient of exactly 0")
def check_dead_relus(dead_fraction_before, dead_fraction_after, dead_unit_max_grad, *, relu_forward, relu_backward,
                     hidden=False):
    """Check the dead-ReLU experiment. Deterministic (fixed seeds): with a correct ReLU about 8% of the
    units are dead before the step and about a third after the lr = 100 step. ``hidden=True`` runs the
    experiment again with ``relu_forward``/``relu_backward`` and compares (``dead_relu_experiment``)."""
    for name, value in [("dead_fraction_before", dead_fraction_before), ("dead_fraction_after", dead_fraction_after),
                        ("dead_unit_max_grad", dead_unit_max_grad)]:
        require_answer(value, name, cell="experiment")
    before = expect_scalar(dead_fraction_before, "dead_fraction_before")
    after = expect_scalar(dead_fraction_after, "dead_fraction_after")
    max_grad = expect_scalar(dead_unit_max_grad, "dead_unit_max_grad")
    if not (0 <= before <= 1 and 0 <= after <= 1):
        fail(f"dead fractions lie between 0 and 1, but they are {before} and {after}.")
    if not (after >= 0.2 and after > before):
        fail(f"after the large step {after:.1%} of the units are dead (before: {before:.1%}); expected at least "
             "20% and more than before. Check relu_forward and relu_backward.")
    if max_grad != 0.0:
        fail(f"a dead unit received a gradient of {max_grad:g}; it should be exactly 0, because relu_backward "
             "passes no gradient where x <= 0. Check relu_backward.")
    if hidden:
        hidden_criterion(TOPIC, "dead_relus")(before, after, max_grad, relu_forward=relu_forward,
                                              relu_backward=relu_backward)


def _same_sign_fraction(dw) -> float:
    dw = np.asarray(dw, dtype=np.float64)
    return float(np.mean(np.all(dw > 0, axis=1) | np.all(dw < 0, axis=1)))


@reporting("both fractions match the gradients recorded in dw_positive and dw_centred")
def check_same_sign_fractions(same_sign_positive, same_sign_centred, dw_positive, dw_centred, *, sigmoid_forward,
                              hidden=False):
    """Check the fractions of steps whose 2-D weight gradient has both components of one sign. ``hidden=True``
    runs the zig-zag experiment again with ``sigmoid_forward`` (``zigzag_experiment``): the recorded gradients
    must be its gradients."""
    require_answer(same_sign_positive, "same_sign_positive")
    require_answer(same_sign_centred, "same_sign_centred")
    for name, value, dw in [("same_sign_positive", same_sign_positive, dw_positive),
                            ("same_sign_centred", same_sign_centred, dw_centred)]:
        got = expect_scalar(value, name)
        expected = _same_sign_fraction(dw)
        if not abs(got - expected) <= 1e-9:
            hint = ""
            if np.isclose(got, expected * len(dw)):
                hint = " It looks like a count: divide by the number of steps."
            elif np.isclose(got, float(np.mean(np.all(np.asarray(dw) > 0, axis=1)))):
                hint = " Count the steps where both components are negative as well."
            fail(f"{name} is {got:.6g}, but the fraction of rows of the recorded gradients whose two entries are "
                 f"both > 0 or both < 0 is {expected:.6g}.{hint}")
    if hidden:
        hidden_criterion(TOPIC, "same_sign_fractions")(dw_positive, dw_centred, sigmoid_forward=sigmoid_forward)
