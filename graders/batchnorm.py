"""Checks for notebook 05_batchnorm: batch normalization (forward in train and test mode, running
statistics, backward through the computation graph and in closed form), layer normalization, the affine
layer (forward and backward) and a fully connected network built from them (``init_fc_net``,
``fc_net_loss``).

Each ``check_<exercise>(student_function, ...)`` returns quietly (after printing one ``[ok]`` line) on
a correct implementation and raises ``AssertionError`` with an explanation on a wrong one. Called with
no options it uses the visible cases (fixed inputs, reference outputs from ``fixtures/batchnorm.json``);
hidden tests pass ``hidden=True``, which draws the hidden cases (edge cases and larger inputs, kept with
the instructor, not in this package) and, for the experiment, applies its hidden criteria.

Two things are special about this topic:

- ``bn_param`` is *meant* to be changed in place (the running statistics live there). So the forward
  checks hand the student's function a copy of it, inspect that copy afterwards, and check only ``x``,
  ``gamma`` and ``beta`` for mutation.
- The layout of ``cache`` is the student's choice. The backward checks therefore run the student's own
  forward pass (train mode) to get a cache, then the student's backward pass on it. The fixture's cases
  hold ``dout`` and the reference's cache (and the reference's gradients as expected output), not
  ``x, gamma, beta``: those are redrawn by ``_backward_inputs`` with the fixture's seed, so the two lists
  line up one to one; ``_paired`` verifies that they do. Cases drawn fresh (the hidden ones) carry their
  inputs along (``case.inputs``, set by ``backward_cases``).
"""
from __future__ import annotations

import copy

import numpy as np

from utils.gradcheck import numerical_gradient_array
from .checking import (Case, CheckFailure, call, describe_kind, expect_array, expect_close, expect_gradient, expect_scalar,
                       expect_tuple, fail, plain, prefetch, ratio, reporting, require_answer)
from .fixtures import VISIBLE_SEED, cases, hidden_criterion
from .rerun import Lockstep, one_blas_thread

TOPIC = "batchnorm"
NUMERIC_MAX_SIZE = 100   # numeric gradients on inputs up to this size (larger ones: reference only)
RTOL = 1e-6   # float64 results agree with the reference to ~1e-14; 1e-6 leaves room for any sound formula
              # and is still 4x tighter than the effect of moving eps outside the square root (var ~ 4)
# Numeric gradients (centred differences, float64, h = 1e-5) are accurate to ~1e-10 absolute on these inputs.
# dgamma and dbeta are well away from 0, so their relative error stays below ~1e-8 when the code is right.
# dx has entries near 0 (each column, for layer norm each row, sums to exactly 0), where that absolute
# error becomes a relative one of up to ~1e-5 for correct code (measured over ten seeds); a wrong dx is
# off by 1e-2 or more. The precise test of dx is the comparison with the reference (rtol 1e-6).
GRAD_TOL = 1e-6
DX_GRAD_TOL = 1e-4


# ---------------------------------------------------------------- case generators (the visible cases)
def _bn_forward_cases(rng: np.random.Generator) -> list[Case]:
    tiny = rng.standard_normal((6, 3)) * np.array([1.0, 0.01, 2.0]) + np.array([0.0, 1.0, -1.0])
    cases_ = [
        Case("train mode: N=4, D=3, features with non-zero means, random gamma and beta, given running statistics",
             {"x": 3.0 + 2.0 * rng.standard_normal((4, 3)), "gamma": rng.uniform(0.5, 2.0, 3),
              "beta": rng.standard_normal(3),
              "bn_param": {"mode": "train", "running_mean": rng.standard_normal(3),
                           "running_var": rng.uniform(0.5, 2.0, 3)}}),
        Case("train mode: N=8, D=5, gamma = 1, beta = 0, features on very different scales, no running "
             "statistics yet (the defaults apply)",
             {"x": rng.standard_normal((8, 5)) * np.array([0.1, 1.0, 10.0, 100.0, 3.0])
              + np.array([5.0, -3.0, 0.0, 50.0, 1.0]),
              "gamma": np.ones(5), "beta": np.zeros(5), "bn_param": {"mode": "train"}}),
        Case("train mode with eps = 0.1 and momentum = 0.5; the second feature has a tiny variance, so eps matters",
             {"x": tiny, "gamma": rng.uniform(0.5, 2.0, 3), "beta": rng.standard_normal(3),
              "bn_param": {"mode": "train", "eps": 0.1, "momentum": 0.5,
                           "running_mean": np.array([0.5, -0.5, 0.0]), "running_var": np.array([2.0, 1.0, 0.5])}}),
        Case("test mode: the batch's own means and variances differ from the running statistics, which must be used",
             {"x": 10.0 + 3.0 * rng.standard_normal((5, 3)), "gamma": rng.uniform(0.5, 2.0, 3),
              "beta": rng.standard_normal(3),
              "bn_param": {"mode": "test", "running_mean": np.array([1.0, -2.0, 0.5]),
                           "running_var": np.array([4.0, 0.25, 1.0])}}),
        Case("test mode with a single example (N=1)",
             {"x": rng.standard_normal((1, 4)), "gamma": rng.uniform(0.5, 2.0, 4), "beta": rng.standard_normal(4),
              "bn_param": {"mode": "test", "running_mean": rng.standard_normal(4),
                           "running_var": rng.uniform(0.5, 2.0, 4)}}),
        Case("test mode with no running statistics yet: the defaults (zeros and ones) apply",
             {"x": rng.standard_normal((3, 2)), "gamma": np.array([2.0, 0.5]), "beta": np.array([0.1, -0.1]),
              "bn_param": {"mode": "test"}}),
    ]
    return cases_


def _ln_forward_cases(rng: np.random.Generator) -> list[Case]:
    cases_ = [
        Case("N=4 examples, D=6 features, each row on its own scale and offset, random gamma and beta",
             {"x": rng.standard_normal((4, 6)) * np.array([[0.5], [1.0], [5.0], [20.0]])
              + np.array([[1.0], [-3.0], [0.0], [40.0]]),
              "gamma": rng.uniform(0.5, 2.0, 6), "beta": rng.standard_normal(6), "ln_param": {}}),
        Case("a single example (N=1), gamma = 1, beta = 0",
             {"x": 2.0 + 3.0 * rng.standard_normal((1, 5)), "gamma": np.ones(5), "beta": np.zeros(5),
              "ln_param": {}}),
        Case("a square batch N=D=3, gamma = 1, beta = 0 (normalising over the wrong axis keeps the shape)",
             {"x": rng.standard_normal((3, 3)) * np.array([1.0, 4.0, 0.5]) + np.array([2.0, -1.0, 0.0]),
              "gamma": np.ones(3), "beta": np.zeros(3), "ln_param": {}}),
        Case("eps = 0.1, with an example whose features barely vary (eps matters)",
             {"x": np.vstack([rng.standard_normal(4), 1.0 + 0.01 * rng.standard_normal(4)]),
              "gamma": rng.uniform(0.5, 2.0, 4), "beta": rng.standard_normal(4), "ln_param": {"eps": 0.1}}),
        Case("ln_param with mode = 'test' (layer norm computes the same thing in both modes)",
             {"x": rng.standard_normal((3, 4)) + 2.0, "gamma": rng.uniform(0.5, 2.0, 4),
              "beta": rng.standard_normal(4), "ln_param": {"mode": "test"}}),
    ]
    return cases_


def _draw_backward(rng: np.random.Generator, N: int, D: int, scale: float = 1.0, offset: float = 0.0):
    """``(x, gamma, beta, dout)`` of shapes (N, D), (D,), (D,), (N, D); gamma has random signs.
    ``dout`` is random, never all ones: with dout = 1 the gradient of a normalisation is ~0 and hides bugs."""
    x = offset + scale * rng.standard_normal((N, D))
    return x, rng.uniform(0.5, 2.0, D) * rng.choice([-1.0, 1.0], D), rng.standard_normal(D), rng.standard_normal((N, D))


def _backward_inputs(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``(label, x, gamma, beta, dout)`` for the backward checks (batch norm and layer norm alike)."""
    def draw(N, D, scale=1.0, offset=0.0):
        return _draw_backward(rng, N, D, scale, offset)

    return [("N=4, D=3 with non-zero means, random gamma (some negative) and random dout", *draw(4, 3, 2.0, 3.0)),
            ("a square batch N=D=5 (a sum over the wrong axis keeps the shape)", *draw(5, 5)),
            ("N=3, D=4: a small batch", *draw(3, 4, 1.5)),
            ("N=6, D=7 with small variances (0.1^2, so eps = 1e-5 matters)", *draw(6, 7, 0.1, 1.0))]


def backward_cases(inputs, forward_name: str) -> list[Case]:
    """The cases of a backward exercise for ``inputs`` (``(label, x, gamma, beta, dout)`` each): ``dout`` and
    the reference's cache of each input (the reference's gradients become the expected output; generated
    where the reference exists). Each case keeps its input tuple as ``case.inputs`` for ``_paired``."""
    from . import reference
    forward = getattr(reference.load(TOPIC), forward_name)
    out = []
    for item in inputs:
        label, x, gamma, beta, dout = item
        param = {"mode": "train"} if forward_name == "batchnorm_forward" else {}
        _, cache = forward(x.copy(), gamma.copy(), beta.copy(), param)
        case = Case(label, {"dout": dout, "cache": cache})
        case.inputs = item
        out.append(case)
    return out


def _backward_cases(forward_name: str):
    """CASES entry for a backward exercise (the visible inputs of ``_backward_inputs``)."""
    def generate(rng: np.random.Generator) -> list[Case]:
        return backward_cases(_backward_inputs(rng), forward_name)
    return generate


# ---------------------------------------------------------------- the affine layer and the network (visible cases)
def _affine_forward_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("N=3 examples, D=4 inputs, M=5 outputs", {"x": rng.standard_normal((3, 4)),
                                                     "W": rng.standard_normal((4, 5)), "b": rng.standard_normal(5)}),
        Case("a square W (D=M=4): a transposed W keeps the shape", {"x": rng.standard_normal((2, 4)),
                                                                     "W": rng.standard_normal((4, 4)),
                                                                     "b": rng.standard_normal(4)}),
        Case("a single example (N=1), D=6, M=2", {"x": rng.standard_normal((1, 6)), "W": rng.standard_normal((6, 2)),
                                                 "b": np.array([1.0, -2.0])}),
    ]


def _affine_backward_inputs(rng: np.random.Generator):
    """``(label, x, W, b, dout)`` for the affine backward check."""
    def draw(N, D, M):
        return rng.standard_normal((N, D)), rng.standard_normal((D, M)), rng.standard_normal(M), \
            rng.standard_normal((N, M))

    return [("N=3, D=4, M=5 with a random dout", *draw(3, 4, 5)),
            ("a square layer N=D=M=3 (a transposed product keeps the shape)", *draw(3, 3, 3)),
            ("N=5, D=2, M=3", *draw(5, 2, 3))]


def affine_backward_cases(inputs) -> list[Case]:
    """The cases of ``affine_backward`` for ``inputs`` (``(label, x, W, b, dout)`` each): ``dout`` and the
    reference's cache; each keeps its input tuple as ``case.inputs``."""
    from . import reference
    forward = reference.load(TOPIC).affine_forward
    out = []
    for item in inputs:
        label, x, W, b, dout = item
        _, cache = forward(x.copy(), W.copy(), b.copy())
        case = Case(label, {"dout": dout, "cache": cache})
        case.inputs = item
        out.append(case)
    return out


def _init_fc_net_cases(rng: np.random.Generator) -> list[Case]:
    def case(label, D, hidden, C, **kwargs):
        return Case(label, {"input_dim": D, "hidden_dims": list(hidden), "num_classes": C,
                            "rng": np.random.default_rng(int(rng.integers(2 ** 31)))}, kwargs=kwargs)
    return [case("input_dim=5, hidden_dims=[4, 3], num_classes=2, He initialisation, no normalization", 5, [4, 3], 2),
            case("input_dim=6, hidden_dims=[8], num_classes=3, normalization='batchnorm'", 6, [8], 3,
                 normalization="batchnorm"),
            case("input_dim=4, hidden_dims=[3, 5, 2], num_classes=3, weight_scale=0.01, normalization='layernorm'",
                 4, [3, 5, 2], 3, weight_scale=0.01, normalization="layernorm"),
            case("no hidden layer: input_dim=3, hidden_dims=[], num_classes=4", 3, [], 4)]


def fc_net_params(rng: np.random.Generator, dims: list[int], normalization) -> dict:
    """Random parameters (the course's own draw, not init_fc_net's): weights of scale 1/sqrt(fan_in), small
    random biases, and random gamma (some negative) and beta, so that no parameter takes its initial value."""
    params = {}
    for i in range(1, len(dims)):
        params[f"W{i}"] = rng.standard_normal((dims[i - 1], dims[i])) / np.sqrt(dims[i - 1])
        params[f"b{i}"] = 0.1 * rng.standard_normal(dims[i])
        if normalization is not None and i < len(dims) - 1:
            params[f"gamma{i}"] = rng.uniform(0.5, 1.5, dims[i]) * rng.choice([-1.0, 1.0], dims[i])
            params[f"beta{i}"] = 0.5 * rng.standard_normal(dims[i])
    return params


def fc_net_case(rng: np.random.Generator, label: str, dims: list[int], N: int, normalization=None,
                train: bool = True, running: bool = False) -> Case:
    """A case of ``fc_net_loss``: parameters for ``dims`` = [D, H1, ..., C], N examples, labels (train) or
    None (test mode), and with batch norm one bn_param dict per hidden layer (with running statistics if
    ``running``)."""
    params = fc_net_params(rng, dims, normalization)
    X = 2.0 * rng.standard_normal((N, dims[0])) + 0.5
    y = rng.integers(dims[-1], size=N) if train else None
    bn_params = None
    if normalization == "batchnorm":
        bn_params = [({"running_mean": rng.standard_normal(h), "running_var": rng.uniform(0.5, 2.0, h)}
                      if running else {}) for h in dims[1:-1]]
    return Case(label, {"params": params, "X": X, "y": y},
                kwargs={"normalization": normalization, "bn_params": bn_params})


def _fc_net_loss_cases(rng: np.random.Generator) -> list[Case]:
    return [
        fc_net_case(rng, "no normalization: dims 5 -> 4 -> 3 -> 3 classes, N=6 examples", [5, 4, 3, 3], 6),
        fc_net_case(rng, "normalization='batchnorm': dims 5 -> 4 -> 3 -> 3 classes, N=6, random gamma and beta, "
                         "bn_params = [{}, {}]", [5, 4, 3, 3], 6, "batchnorm"),
        fc_net_case(rng, "normalization='layernorm': dims 4 -> 5 -> 3 classes, N=4, random gamma and beta",
                    [4, 5, 3], 4, "layernorm"),
        fc_net_case(rng, "no hidden layer (L=1): dims 3 -> 4 classes, N=5", [3, 4], 5),
        fc_net_case(rng, "test mode (y=None) with batch norm: the running statistics in bn_params must be used",
                    [4, 3, 3, 2], 5, "batchnorm", train=False, running=True),
        fc_net_case(rng, "test mode (y=None) with layer norm", [4, 5, 3], 3, "layernorm", train=False),
    ]


HINTS = {
    "batchnorm_forward": "Train mode: the mean and the biased variance of every column (axis=0), then "
                         "x_hat = (x - mean) / np.sqrt(var + eps) and the output gamma * x_hat + beta; store "
                         "momentum * old + (1 - momentum) * new back into bn_param for both running statistics. "
                         "Test mode: the same normalisation with running_mean and running_var, and no update. "
                         "Cache what your backward pass will need (x - mean, sqrt(var + eps), x_hat, gamma).",
    "single_example_output": "With a single example, what is x minus the batch mean? And 0 / sqrt(0 + eps)?",
    "running_var_limit": "Section 3: on average, what does the biased variance of a batch of N samples give "
                         "compared with the true variance?",
    "batchnorm_backward": "Follow the table of section 4 from the bottom up, one line per step; every sum over "
                          "the batch is .sum(axis=0). The centred x feeds both x_hat and the variance, so its "
                          "gradient has two terms; x feeds both the centred x and the mean.",
    "batchnorm_backward_alt": "dbeta and dgamma as in batchnorm_backward. For dx: d x_hat_k / d x_i has three "
                              "terms (delta_ki, the -1/N through the mean, and one through the standard deviation, "
                              "whose derivative is x_hat_i / N); sum d x_hat_k times it over k. The two sums over "
                              "the batch that remain are dbeta and dgamma. Use std = sqrt(var + eps) from your cache.",
    "layernorm_forward": "Batch norm's training formula with the statistics of each row: mean and biased variance "
                         "along axis=1 with keepdims=True (shape (N, 1)). No running statistics, no modes.",
    "layernorm_backward": "dgamma and dbeta still sum over the batch (axis=0). For dx take your derivation of "
                          "section 5 with the axes swapped: form dx_hat = dout * gamma first, then its sums over "
                          "the features (axis=1, keepdims=True).",
    "affine_forward": "Each row of x times W, plus b: one matrix product and a broadcast addition. Cache what "
                      "the backward pass needs (x and W).",
    "affine_backward": "Write out[n, m] = sum_d x[n, d] W[d, m] + b[m] and differentiate with respect to one "
                       "x[n, d], one W[d, m] and one b[m]; sum over what each feeds. Each result is one matrix "
                       "product or one sum; match the shapes: dx like x (N, D), dW like W (D, M), db like b (M,).",
    "init_fc_net": "Loop over the layers i = 1..L with dims = [input_dim, *hidden_dims, num_classes]: one "
                   "rng.standard_normal((fan_in, fan_out)) per layer, times He's standard deviation for fan_in (or "
                   "weight_scale); zero biases; gamma and beta for hidden layers only.",
    "fc_net_loss": "Forward: for i = 1..L-1 affine, then the normalisation (set bn_params[i-1]['mode'] first), then "
                   "relu_forward, keeping the three caches of each layer in a list; then the last affine layer and "
                   "softmax_cross_entropy. Backward: the same layers in reverse order, each backward pass with its "
                   "own cache, storing grads under the parameter's name.",
    "bias_gradient_with_bn": "Adding a constant c to one feature of every example moves that feature's batch mean "
                             "by c as well. What is left of c after the mean is subtracted?",
}


CASES = {
    "affine_forward": _affine_forward_cases,
    "affine_backward": lambda rng: affine_backward_cases(_affine_backward_inputs(rng)),
    "init_fc_net": _init_fc_net_cases,
    "fc_net_loss": _fc_net_loss_cases,
    "batchnorm_forward": _bn_forward_cases,
    "batchnorm_backward": _backward_cases("batchnorm_forward"),
    "layernorm_forward": _ln_forward_cases,
    "layernorm_backward": _backward_cases("layernorm_forward"),
}


# ---------------------------------------------------------------- helpers
def _run_forward(forward, name: str, case: Case, param_key: str, param: dict):
    """Call ``forward(x, gamma, beta, param)``; ``param`` is the caller's dict (to be inspected
    afterwards). Fails on warnings, errors and on a changed ``x``, ``gamma`` or ``beta``."""
    shown = Case(case.label, {k: case.args[k] for k in ("x", "gamma", "beta")},
                 kwargs={param_key: case.args[param_key]})

    def run(x, gamma, beta, **_ignored):   # the shown dict stays untouched; the function gets `param`
        return forward(x, gamma, beta, param)

    return _expect_tuple(call(run, name, shown), ("out", "cache"), name, shown), shown


def _expect_float64(value, what: str, case: Case, shape, why: str = "x is float64") -> np.ndarray:
    arr = expect_array(value, what, case, shape=shape)
    if arr.dtype != np.float64:
        fail(f"{what} has dtype {arr.dtype}, but {why}; keep the computation in float64.", case)
    return arr


def _expect_tuple(value, names: tuple[str, ...], what: str, case: Case) -> tuple:
    return expect_tuple(value, names, what, case, f"end with `return {', '.join(names)}` (a tuple).")


def _statistics(x: np.ndarray, axis: int, eps: float):
    """Mean, biased variance and the std that a correctly normalised x-hat has along ``axis``."""
    var = x.var(axis=axis)
    return x.mean(axis=axis), var, np.sqrt(var / (var + eps))


def _close(a, b, rtol=1e-6, atol=1e-9) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _normalised(x, gamma, beta, axis, eps, ddof=0, eps_outside=False, mean=None, var=None):
    """Candidate outputs of common mistakes, used only to word a hint."""
    mu = x.mean(axis=axis, keepdims=True) if mean is None else mean
    v = x.var(axis=axis, ddof=ddof, keepdims=True) if var is None else var
    denom = np.sqrt(v) + eps if eps_outside else np.sqrt(v + eps)
    with np.errstate(all="ignore"):
        return gamma * (x - mu) / denom + beta


# ---------------------------------------------------------------- batch normalization, forward
def _first_match(out, right, candidates) -> str | None:
    """The hint of the first candidate (a known mistake's output) that ``out`` matches, unless that
    mistake happens to give the right answer on this input."""
    for candidate, hint in candidates:
        if _close(out, candidate) and not _close(candidate, right):
            return hint
    return None


def _bn_forward_hint(out, case: Case) -> str | None:
    try:
        return _bn_forward_hint_or_raise(out, case)
    except NotImplementedError:   # _normalised is withheld while 05 is graded: no hint in the kernel's run
        return None


def _bn_forward_hint_or_raise(out, case: Case) -> str | None:
    x, gamma, beta = case.args["x"], case.args["gamma"], case.args["beta"]
    bn = case.args["bn_param"]
    eps = bn.get("eps", 1e-5)
    N, D = x.shape
    with np.errstate(all="ignore"):
        if bn["mode"] == "train":
            right = _normalised(x, gamma, beta, 0, eps)
            return _first_match(out, right, [
                (_normalised(x, gamma, beta, 0, eps, ddof=1) if N > 1 else right,
                 "you normalised with the unbiased variance (dividing by N - 1). Batch normalization uses the "
                 "biased batch variance: np.var(x, axis=0), which divides by N."),
                (_normalised(x, gamma, beta, 0, eps, eps_outside=True),
                 "eps belongs inside the square root: (x - mean) / np.sqrt(var + eps)."),
                (_normalised(x, gamma, beta, 1, eps),
                 "you normalised each example (axis=1). Batch norm normalises each feature over the batch: axis=0."),
                (_normalised(x, 1.0, 0.0, 0, eps), "scale and shift the normalised values: gamma * x_hat + beta."),
                (_normalised(x, gamma, beta, 0, 1e-5), "use bn_param['eps'] when it is given (1e-5 is only the default)."),
            ])
        rm = bn.get("running_mean", np.zeros(D))
        rv = bn.get("running_var", np.ones(D))
        right = gamma * (x - rm) / np.sqrt(rv + eps) + beta
        return _first_match(out, right, [
            (_normalised(x, gamma, beta, 0, eps),
             "in test mode, normalise with bn_param['running_mean'] and bn_param['running_var'], not with the "
             "statistics of the test batch (a test batch may even hold a single example)."),
            (gamma * (x - rm) / (np.sqrt(rv) + eps) + beta, "eps belongs inside the square root: np.sqrt(running_var + eps)."),
            (gamma * (x - rm) / np.sqrt(rv) + beta, "add eps in test mode too: np.sqrt(running_var + eps)."),
            (gamma * (x - rm) / (rv + eps) + beta, "running_var is a variance: divide by np.sqrt(running_var + eps)."),
            ((x - rm) / np.sqrt(rv + eps), "scale and shift the normalised values in test mode too: gamma * x_hat + beta."),
        ])


def _check_running(param: dict, case: Case, name: str) -> None:
    """The running statistics in ``param`` after one call: updated in train mode, untouched in test mode."""
    x, bn = case.args["x"], case.args["bn_param"]
    D = x.shape[1]
    m = bn.get("momentum", 0.9)
    rm0 = bn.get("running_mean", np.zeros(D))
    rv0 = bn.get("running_var", np.ones(D))
    for key in ("running_mean", "running_var"):
        if key not in param:
            fail(f"after {name} returned, bn_param has no '{key}'. Create it with "
                 f"bn_param.setdefault('{key}', ...) and keep it up to date in bn_param.", case)
    rm = expect_array(param["running_mean"], "bn_param['running_mean'] after the call", case, shape=(D,))
    rv = expect_array(param["running_var"], "bn_param['running_var'] after the call", case, shape=(D,))
    if bn["mode"] == "test":
        hint = "test mode only reads the running statistics; it must not update them."
        expect_close(rm, rm0, "bn_param['running_mean'] after a test-mode call", case, 0, 0, hint)
        expect_close(rv, rv0, "bn_param['running_var'] after a test-mode call", case, 0, 0, hint)
        return
    # analytic: the update rule of the docstring, with the batch's mean and biased variance
    mu, var = x.mean(axis=0), x.var(axis=0)
    exp_rm, exp_rv = m * rm0 + (1 - m) * mu, m * rv0 + (1 - m) * var
    for got, expected, old, stat, key in ((rm, exp_rm, rm0, mu, "running_mean"), (rv, exp_rv, rv0, var, "running_var")):
        hint = None
        if _close(got, old, 1e-12, 1e-15) and not _close(expected, old):
            hint = (f"bn_param['{key}'] did not change: in train mode store the updated value, e.g. "
                    f"bn_param['{key}'] = momentum * {key} + (1 - momentum) * batch_statistic.")
        elif _close(got, (1 - m) * old + m * stat):
            hint = ("the momentum is reversed: running = momentum * running + (1 - momentum) * batch_statistic "
                    "(momentum = 0.9 keeps 90% of the old value).")
        elif _close(got, stat):
            hint = "the running statistic was replaced by the batch statistic; average them with the momentum."
        elif "momentum" in bn and m != 0.9 and _close(got, 0.9 * old + 0.1 * stat):
            hint = "use bn_param['momentum'] when it is given (0.9 is only the default)."
        elif key == "running_var" and x.shape[0] > 1 and _close(got, m * old + (1 - m) * x.var(axis=0, ddof=1)):
            hint = ("the running variance was updated with the unbiased variance (PyTorch's convention). Here it is "
                    "the biased batch variance, the one you normalise with.")
        expect_close(got, expected, f"bn_param['{key}'] after one train-mode call", case, RTOL, 1e-12, hint)


@reporting("train mode: per-feature mean = beta and std = |gamma|, output within 1e-6 of the reference, running "
           "statistics updated with the momentum and converging to the data's mean and biased variance; test mode: "
           "running statistics only, also for N=1; x, gamma, beta untouched")
def check_batchnorm_forward(batchnorm_forward, *, hidden=False):
    """Check ``batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)`` in train and test mode."""
    name = "batchnorm_forward"
    for case in cases(TOPIC, name, hidden):
        param = copy.deepcopy(case.args["bn_param"])
        (out, _cache), shown = _run_forward(batchnorm_forward, name, case, "bn_param", param)
        x, gamma, beta = case.args["x"], case.args["gamma"], case.args["beta"]
        out = _expect_float64(out, "out returned by batchnorm_forward", shown, x.shape)
        exp_out = case.expected[0]
        hint = _bn_forward_hint(out, case)
        if case.args["bn_param"]["mode"] == "train":
            # analytic properties first: each feature of out has mean beta and std |gamma| * sqrt(var / (var + eps))
            eps = case.args["bn_param"].get("eps", 1e-5)
            _, _, std_hat = _statistics(x, 0, eps)
            expect_close(out.mean(axis=0), beta, "the mean of each feature (column) of out in train mode", shown,
                         rtol=1e-7, atol=1e-8, hint=hint or "in train mode every feature of out has mean beta.")
            expect_close(out.std(axis=0), np.abs(gamma) * std_hat,
                         "the standard deviation of each feature of out in train mode", shown, rtol=1e-6, atol=1e-10,
                         hint=hint or "in train mode each feature of out has standard deviation |gamma| "
                                      "(times sqrt(var / (var + eps)), just below 1).")
        expect_close(out, exp_out, "out returned by batchnorm_forward", shown, RTOL,
                     1e-9 * max(1.0, float(np.abs(exp_out).max())), hint)
        _check_running(param, case, name)
    _check_convergence(batchnorm_forward, hidden_criterion(TOPIC, "convergence_batch")() if hidden
                       else convergence_batch(np.random.default_rng(11)))


def convergence_batch(rng: np.random.Generator) -> np.ndarray:
    """The batch of shape (10, 3) that ``_check_convergence`` feeds to the forward pass 200 times."""
    return rng.normal(loc=[2.0, -1.0, 0.5], scale=[1.0, 3.0, 0.2], size=(10, 3))


def _check_convergence(batchnorm_forward, x: np.ndarray) -> None:
    """Many train-mode calls on the same data: the running statistics approach its mean and biased variance.
    0.9**200 ~ 7e-10, so after 200 steps the running values are within ~1e-8 of the limit: atol 1e-6 cannot flake."""
    gamma, beta = np.ones(3), np.zeros(3)
    param = {"mode": "train"}
    case = Case("200 train-mode calls, always on the same batch x of shape (10, 3), starting from bn_param = "
                "{'mode': 'train'}", {"x": x, "gamma": gamma, "beta": beta, "bn_param": {"mode": "train"}})
    for _ in range(200):
        _run_forward(batchnorm_forward, "batchnorm_forward", case, "bn_param", param)
    rm = expect_array(param.get("running_mean"), "bn_param['running_mean'] after 200 steps", case, shape=(3,))
    rv = expect_array(param.get("running_var"), "bn_param['running_var'] after 200 steps", case, shape=(3,))
    expect_close(rm, x.mean(axis=0), "bn_param['running_mean'] after 200 steps (should be the data's mean)", case,
                 rtol=0, atol=1e-6, hint="update it on every train-mode call: "
                 "running_mean = momentum * running_mean + (1 - momentum) * batch_mean.")
    hint = None
    if _close(rv, x.var(axis=0, ddof=1), 1e-5, 1e-6):
        hint = "it converged to the unbiased variance (ddof=1); use the biased batch variance (divide by N)."
    expect_close(rv, x.var(axis=0), "bn_param['running_var'] after 200 steps (should be the data's biased variance)",
                 case, rtol=1e-6, atol=1e-6, hint=hint)


# ---------------------------------------------------------------- layer normalization, forward
def _layernorm_hint(out, x, gamma, beta, eps) -> str | None:
    try:
        right = _normalised(x, gamma, beta, 1, eps)
    except NotImplementedError:   # withheld while 05 is graded: no hint in the kernel's run
        return None
    return _first_match(out, right, [
        (_normalised(x, gamma, beta, 0, eps),
         "you normalised each feature over the batch (axis=0), as batch norm does. Layer norm normalises "
         "each example over its own features: mean and variance along axis=1 (keepdims=True)."),
        (_normalised(x, gamma, beta, 1, eps, ddof=1) if x.shape[1] > 1 else right,
         "use the biased variance over the features (divide by D), not the unbiased one."),
        (_normalised(x, gamma, beta, 1, eps, eps_outside=True), "eps belongs inside the square root: np.sqrt(var + eps)."),
        (_normalised(x, gamma, beta, 1, 1e-5), "use ln_param['eps'] when it is given (1e-5 is only the default)."),
        (_normalised(x, 1.0, 0.0, 1, eps), "scale and shift the normalised values: gamma * x_hat + beta."),
    ])


@reporting("each example (row) normalised over its features: x_hat rows with mean 0 and std ~1, output within 1e-6 "
           "of the reference, eps from ln_param, same result in any mode, also for N=1; x, gamma, beta untouched")
def check_layernorm_forward(layernorm_forward, *, hidden=False):
    """Check ``layernorm_forward(x, gamma, beta, ln_param) -> (out, cache)``."""
    name = "layernorm_forward"
    for case in cases(TOPIC, name, hidden):
        param = copy.deepcopy(case.args["ln_param"])
        (out, _cache), shown = _run_forward(layernorm_forward, name, case, "ln_param", param)
        x, gamma, beta = case.args["x"], case.args["gamma"], case.args["beta"]
        eps = case.args["ln_param"].get("eps", 1e-5)
        out = _expect_float64(out, "out returned by layernorm_forward", shown, x.shape)
        exp_out = case.expected[0]
        hint = _layernorm_hint(out, x, gamma, beta, eps)
        x_hat = (out - beta) / gamma   # gamma is never 0 in these cases
        _, _, std_hat = _statistics(x, 1, eps)
        expect_close(x_hat.mean(axis=1), np.zeros(x.shape[0]), "the mean of each row of (out - beta) / gamma", shown,
                     rtol=0, atol=1e-8, hint=hint or "layer norm subtracts each example's own mean over its features.")
        expect_close(x_hat.std(axis=1), std_hat, "the standard deviation of each row of (out - beta) / gamma", shown,
                     rtol=1e-6, atol=1e-10, hint=hint)
        expect_close(out, exp_out, "out returned by layernorm_forward", shown, RTOL,
                     1e-9 * max(1.0, float(np.abs(exp_out).max())), hint)


# ---------------------------------------------------------------- backward passes (both normalisations)
def _paired(exercise: str, hidden: bool, draw_inputs=None):
    """The fixture's (or fresh hidden) cases, each with the inputs ``(label, x, gamma, beta, dout)`` it was
    generated from (or, for the affine layer, ``(label, x, W, b, dout)`` drawn by ``draw_inputs``): cases drawn
    just now carry them, the fixture's are paired with a redraw."""
    cases_ = cases(TOPIC, exercise, hidden)
    if all(hasattr(c, "inputs") for c in cases_):
        return [(c.inputs, c) for c in cases_]
    inputs = (draw_inputs or _backward_inputs)(np.random.default_rng(VISIBLE_SEED))
    if len(inputs) != len(cases_) or not all(np.array_equal(i[4], c.args["dout"]) for i, c in zip(inputs, cases_)):
        raise RuntimeError(f"graders/fixtures/{TOPIC}.json is out of date: run `python -m authoring build {TOPIC}`.")
    return list(zip(inputs, cases_))


def _check_backward(backward, forward, name: str, forward_name: str, exercise: str, hidden: bool) -> None:
    batch = forward_name == "batchnorm_forward"
    axis = 0 if batch else 1          # the axis the statistics are taken over
    key = "bn_param" if batch else "ln_param"
    for (label, x, gamma, beta, dout), ref_case in _paired(exercise, hidden):
        N, D = x.shape
        fresh = lambda: {"mode": "train"} if batch else {}   # noqa: E731
        case = Case(label, {"x": x, "gamma": gamma, "beta": beta, key: fresh()})
        (out, cache), shown = _run_forward(forward, forward_name, case, key, fresh())
        out = expect_array(out, f"out returned by {forward_name}", shown, shape=x.shape)
        # the cache is only as good as the forward pass that made it: check the forward's defining property
        x_hat = (out - beta) / gamma
        _, _, std_hat = _statistics(x, axis, 1e-5)
        if not (_close(x_hat.mean(axis=axis), np.zeros_like(std_hat), 0, 1e-8) and _close(x_hat.std(axis=axis), std_hat, 1e-6, 1e-10)):
            fail(f"your {forward_name} does not normalise this input correctly (train mode), so its cache cannot be "
                 f"trusted. Make check_{forward_name} pass first.", shown)
        bcase = Case(label, {"dout": dout, "cache": cache})
        dx, dgamma, dbeta = _expect_tuple(call(backward, name, bcase), ("dx", "dgamma", "dbeta"), name, bcase)
        exp_dx, exp_dgamma, exp_dbeta = ref_case.expected
        shown = Case(label, {"x": x, "gamma": gamma, "beta": beta, "dout": dout})
        # shapes, with the usual reasons they go wrong
        if isinstance(dbeta, np.ndarray) and dbeta.shape == (N, D):
            fail(f"dbeta has shape {dbeta.shape}, the shape of dout, but beta has shape ({D},).", shown,
                 "beta is added to every example, so its gradient is dout summed over the batch: dout.sum(axis=0).")
        for value, what in ((dgamma, "dgamma"), (dbeta, "dbeta")):
            if isinstance(value, np.ndarray) and value.shape == (N,) and N != D:
                fail(f"{what} has shape ({N},), one entry per example, but it needs one per feature: ({D},).", shown,
                     "sum over the batch axis (axis=0), not over the features.")
        dx = expect_array(dx, "dx", shown, shape=(N, D))
        dgamma = expect_array(dgamma, "dgamma", shown, shape=(D,))
        dbeta = expect_array(dbeta, "dbeta", shown, shape=(D,))
        atol = 1e-9 * max(1.0, float(np.abs(exp_dx).max()))
        expect_close(dbeta, exp_dbeta, "dbeta", shown, RTOL, 1e-9,
                     "dbeta = dout.sum(axis=0)." if not _close(dbeta, dout.sum(axis=0)) else None)
        hint = None
        if N == D and _close(dgamma, (dout * x_hat).sum(axis=1)):
            hint = "dgamma is summed over the wrong axis: gamma has one entry per feature, so sum over the batch (axis=0)."
        elif _close(dgamma, dout.sum(axis=0)):
            hint = "dgamma = (dout * x_hat).sum(axis=0): gamma multiplies x_hat."
        else:
            hint = "dgamma = (dout * x_hat).sum(axis=0), with the x_hat of your forward pass (eps inside the square root)."
        expect_close(dgamma, exp_dgamma, "dgamma", shown, RTOL, 1e-9, hint)
        scale = 1e-8 * max(1.0, float(np.abs(dx).max()))
        sums_to_zero = lambda a: _close(a.sum(axis=axis), np.zeros(a.shape[1 - axis]), 0, scale)  # noqa: E731
        gamma_hint = ("gamma varies along the normalised axis in layer norm, so it cannot be pulled out of the sums: "
                      "form dx_hat = dout * gamma first, then take the sums over the features (axis=1) of dx_hat "
                      "and dx_hat * x_hat.")
        if not batch and D > 1 and not sums_to_zero(dx) and sums_to_zero(dx / gamma):
            hint = gamma_hint
        elif N > 1 and not sums_to_zero(dx):
            what = "column of dx (each feature, over the batch)" if batch else "row of dx (each example, over its features)"
            hint = (f"each {what} should sum to 0: adding the same constant to those inputs does not change the "
                    "output. A missing sum means the terms through the mean (and variance) are missing"
                    + ("." if batch else ", or the sums run over the batch instead of over each example's features "
                       "(axis=1, keepdims=True)."))
        elif batch:
            hint = ("the columns of dx sum to 0, so the path through the mean is there: check the term through the "
                    "variance (the derivative of sqrt(var + eps) with respect to x_i is x_hat_i / N).")
        else:
            hint = "check the term through the variance, x_hat * sum over the features of (dx_hat * x_hat). " + gamma_hint
        expect_close(dx, exp_dx, "dx", shown, RTOL, atol, hint)
        if x.size > NUMERIC_MAX_SIZE:
            continue
        # and a numeric gradient of *your* forward pass, contracted with the random dout
        def outs_at(points, which):  # the forward's output with x, gamma or beta (`which`) set to each point
            trials, params = [], []
            for v in points:
                inputs = {"x": x64.copy(), "gamma": g64.copy(), "beta": b64.copy()}
                inputs[which] = v.copy()
                trials.append(Case(label, {**inputs, key: fresh()}))
                params.append(fresh())
            stand_ins = prefetch(forward, [([t.args["x"], t.args["gamma"], t.args["beta"], p], {})
                                           for t, p in zip(trials, params)], keep=1)
            return [_run_forward(f, forward_name, t, key, p)[0][0] for f, t, p in zip(stand_ins, trials, params)]

        x64, g64, b64 = (np.array(a, dtype=np.float64) for a in (x, gamma, beta))
        num_dx, num_dgamma, num_dbeta = (
            numerical_gradient_array(None, value.copy(), dout, f_many=lambda points, which=which: outs_at(points, which))
            for which, value in (("x", x64), ("gamma", g64), ("beta", b64)))
        expect_gradient(dx, num_dx, "dx", shown, DX_GRAD_TOL)
        expect_gradient(dgamma, num_dgamma, "dgamma", shown, GRAD_TOL)
        expect_gradient(dbeta, num_dbeta, "dbeta", shown, GRAD_TOL)


@reporting("run on the cache of your batchnorm_forward (train mode): dx, dgamma, dbeta within 1e-6 of the reference "
           "and of a numeric gradient (random dout); dout and cache untouched")
def check_batchnorm_backward(batchnorm_backward, *, forward, hidden=False):
    """Check ``batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)`` with the cache of ``forward`` (your
    ``batchnorm_forward``)."""
    _check_backward(batchnorm_backward, forward, "batchnorm_backward", "batchnorm_forward",
                    "batchnorm_backward", hidden)


@reporting("run on the cache of your batchnorm_forward (train mode): dx, dgamma, dbeta within 1e-6 of the reference "
           "and of a numeric gradient (random dout); dout and cache untouched")
def check_batchnorm_backward_alt(batchnorm_backward_alt, *, forward, hidden=False):
    """Check ``batchnorm_backward_alt(dout, cache) -> (dx, dgamma, dbeta)`` with the cache of ``forward`` (your
    ``batchnorm_forward``): the same gradients as ``batchnorm_backward`` (so the same expected values),
    from the closed form."""
    _check_backward(batchnorm_backward_alt, forward, "batchnorm_backward_alt", "batchnorm_forward",
                    "batchnorm_backward", hidden)


@reporting("run on the cache of your layernorm_forward: dx, dgamma, dbeta within 1e-6 of the reference and of a "
           "numeric gradient (random dout); dout and cache untouched")
def check_layernorm_backward(layernorm_backward, *, forward, hidden=False):
    """Check ``layernorm_backward(dout, cache) -> (dx, dgamma, dbeta)`` with the cache of ``forward`` (your
    ``layernorm_forward``)."""
    _check_backward(layernorm_backward, forward, "layernorm_backward", "layernorm_forward",
                    "layernorm_backward", hidden)


# ---------------------------------------------------------------- the affine layer
@reporting("out of shape (N, M) within 1e-6 of the reference (also for a square W), float64; x, W, b untouched")
def check_affine_forward(affine_forward, *, hidden=False):
    """Check ``affine_forward(x, W, b) -> (out, cache)``."""
    name = "affine_forward"
    for case in cases(TOPIC, name, hidden):
        x, W, b = case.args["x"], case.args["W"], case.args["b"]
        out, _cache = _expect_tuple(call(affine_forward, name, case), ("out", "cache"), name, case)
        exp_out = case.expected[0]
        hint = None
        if isinstance(out, np.ndarray) and out.shape == exp_out.shape:
            if _close(out, exp_out - b) and not _close(b, np.zeros_like(b)):
                hint = "the bias b is missing: add b (shape (M,)) to every row of x @ W."
            elif W.shape[0] == W.shape[1] and _close(out, x @ W.T + b):
                hint = "W is transposed: each row of x (D values) is multiplied by W of shape (D, M), as x @ W."
        elif isinstance(out, np.ndarray) and out.shape == exp_out.shape[::-1]:
            hint = f"out has shape {out.shape}, the transpose of (N, M) = {exp_out.shape}: one row per example."
        out = _expect_float64(out, "out returned by affine_forward", case, exp_out.shape)
        expect_close(out, exp_out, "out returned by affine_forward", case, RTOL,
                     1e-9 * max(1.0, float(np.abs(exp_out).max())), hint)


@reporting("run on the cache of your affine_forward: dx, dW, db of the right shapes, within 1e-6 of the reference "
           "and of a numeric gradient (random dout); dout and cache untouched")
def check_affine_backward(affine_backward, *, forward, hidden=False):
    """Check ``affine_backward(dout, cache) -> (dx, dW, db)`` with the cache of ``forward`` (your
    ``affine_forward``)."""
    name = "affine_backward"
    for (label, x, W, b, dout), ref_case in _paired(name, hidden, _affine_backward_inputs):
        N, D = x.shape
        M = W.shape[1]
        fcase = Case(label, {"x": x, "W": W, "b": b})
        out, cache = _expect_tuple(call(forward, "affine_forward", fcase), ("out", "cache"), "affine_forward", fcase)
        exp_dx, exp_dW, exp_db = ref_case.expected
        if not (isinstance(out, np.ndarray) and out.shape == (N, M)):
            fail("your affine_forward does not return an output of shape (N, M) on this input, so its cache cannot be "
                 "trusted. Make check_affine_forward pass first.", fcase)
        bcase = Case(label, {"dout": dout, "cache": cache})
        dx, dW, db = _expect_tuple(call(affine_backward, name, bcase), ("dx", "dW", "db"), name, bcase)
        shown = Case(label, {"x": x, "W": W, "b": b, "dout": dout})
        for value, what, shape in ((dx, "dx", (N, D)), (dW, "dW", (D, M)), (db, "db", (M,))):
            if isinstance(value, np.ndarray) and value.shape != shape:
                hint = {("dW", (M, D)): "dW is transposed: it must have W's shape (D, M); which product of x and "
                                        "dout gives (D, M)?",
                        ("db", (N, M)): "db is not summed: b is added to every example, so its gradient sums dout "
                                        "over the batch.",
                        ("db", (N,)): "db is summed over the wrong axis: one entry per output (M,), summed over the "
                                      "examples.",
                        ("dx", (N, M)): "dx must have x's shape (N, D): dout (N, M) has to go back through W."}
                fail(f"{what} has shape {value.shape}, but it must have the shape {shape} of the parameter it is the "
                     f"gradient of.", shown, hint.get((what, value.shape)))
        dx = _expect_float64(dx, "dx", shown, (N, D))
        dW = _expect_float64(dW, "dW", shown, (D, M))
        db = _expect_float64(db, "db", shown, (M,))
        hint_db = "db sums dout over the batch (axis=0)." if _close(db, exp_db * N) or _close(db, exp_db / N) else None
        expect_close(db, exp_db, "db", shown, RTOL, 1e-9, hint_db)
        hint_dW = None
        r = ratio(dW, exp_dW)
        if r is not None and (np.isclose(r, 1.0 / N) or np.isclose(r, float(N))):
            hint_dW = ("dW is off by a factor of N: the average over the batch is already in dout (the loss is a "
                       "mean), so do not divide (or multiply) by N again.")
        elif D == M and _close(dW, exp_dW.T):
            hint_dW = "dW is transposed: dW[d, m] collects x[n, d] * dout[n, m] over the examples n."
        expect_close(dW, exp_dW, "dW", shown, RTOL, 1e-9 * max(1.0, float(np.abs(exp_dW).max())), hint_dW)
        hint_dx = ("dx goes back through W the wrong way round: dx[n, d] collects dout[n, m] * W[d, m] over the "
                   "outputs m." if D == M and _close(dx, dout @ W) else None)
        expect_close(dx, exp_dx, "dx", shown, RTOL, 1e-9 * max(1.0, float(np.abs(exp_dx).max())), hint_dx)
        # and a numeric gradient of your forward pass, contracted with dout
        def outs_at(points, which):
            calls = []
            for v in points:
                inputs = {"x": x.copy(), "W": W.copy(), "b": b.copy()}
                inputs[which] = v.copy()
                calls.append(([inputs["x"], inputs["W"], inputs["b"]], {}))
            stand_ins = prefetch(forward, calls, keep=1)
            return [np.asarray(f(*a)[0], dtype=np.float64) for f, (a, _k) in zip(stand_ins, calls)]

        for which, value, analytic in (("x", x, dx), ("W", W, dW), ("b", b, db)):
            num = numerical_gradient_array(None, np.array(value, dtype=np.float64), dout,
                                           f_many=lambda points, which=which: outs_at(points, which))
            # rounding leaves ~1e-10 absolute in the numeric gradient: DX_GRAD_TOL keeps entries near 0 fair
            expect_gradient(analytic, num, f"d{which}", shown, DX_GRAD_TOL)


# ---------------------------------------------------------------- the network
def _expected_keys(input_dim: int, hidden_dims: list, num_classes: int, normalization) -> dict:
    dims = [input_dim, *hidden_dims, num_classes]
    keys = {}
    for i in range(1, len(dims)):
        keys[f"W{i}"] = (dims[i - 1], dims[i])
        keys[f"b{i}"] = (dims[i],)
        if normalization is not None and i < len(dims) - 1:
            keys[f"gamma{i}"] = (dims[i],)
            keys[f"beta{i}"] = (dims[i],)
    return keys


@reporting("a dict with exactly the keys W1, b1, ... (and gamma, beta for the hidden layers with a normalization) of "
           "the right shapes, float64; the weights from one draw per layer in order, He-scaled or weight_scale")
def check_init_fc_net(init_fc_net, *, hidden=False):
    """Check ``init_fc_net(input_dim, hidden_dims, num_classes, rng, *, weight_scale, normalization) -> params``."""
    name = "init_fc_net"
    for case in cases(TOPIC, name, hidden):
        a, kw = case.args, case.kwargs
        params = call(init_fc_net, name, Case(case.label, dict(a, rng=copy.deepcopy(a["rng"])), kwargs=kw))
        if not isinstance(params, dict):
            fail(f"init_fc_net returned {type(params).__name__}; it must return a dict of arrays "
                 "{'W1': ..., 'b1': ..., ...}.", case)
        keys = _expected_keys(a["input_dim"], a["hidden_dims"], a["num_classes"], kw.get("normalization"))
        missing, extra = sorted(set(keys) - set(params)), sorted(set(params) - set(keys))
        if missing or extra:
            hint = None
            if any(k.startswith(("gamma", "beta")) for k in extra):
                hint = ("gamma and beta belong to the hidden layers only (none after the last affine layer), and only "
                        "with a normalization.")
            elif any(k.startswith(("gamma", "beta")) for k in missing):
                hint = "with a normalization every hidden layer i has gamma{i} (ones) and beta{i} (zeros)."
            fail(f"the dict has the wrong keys: missing {missing}, unexpected {extra}.", case, hint)
        exp = case.expected
        for key, shape in keys.items():
            value = params[key]
            if isinstance(value, np.ndarray) and value.shape == shape[::-1] and shape[0] != shape[-1]:
                fail(f"params['{key}'] has shape {value.shape}, but layer weights are (fan_in, fan_out) = {shape}.",
                     case, "draw rng.standard_normal((fan_in, fan_out)), so that x @ W maps fan_in features to fan_out.")
            value = _expect_float64(value, f"params['{key}']", case, shape,
                                   "init_fc_net returns float64 arrays (see its docstring)")
            hint = None
            if key.startswith("W"):
                fan_in, fan_out = shape
                r = ratio(value, exp[key])
                if r is not None and kw.get("weight_scale") is None:
                    if np.isclose(r, np.sqrt(fan_in / fan_out)) and fan_in != fan_out:
                        hint = "He's standard deviation uses fan_in (the number of inputs of the layer), not fan_out."
                    elif np.isclose(r, np.sqrt(0.5)):
                        hint = "that is 1 / sqrt(fan_in) (Xavier, for tanh); ReLU networks use He's sqrt(2 / fan_in)."
                    elif np.isclose(r, 1.0 / np.sqrt(2.0 / fan_in)):
                        hint = "the draw is not scaled: multiply it by He's standard deviation sqrt(2 / fan_in)."
                elif r is not None and kw.get("weight_scale") is not None:
                    hint = "with weight_scale given, multiply the draw by weight_scale (instead of He's standard deviation)."
                if hint is None:
                    hint = ("the weights differ from one draw rng.standard_normal((fan_in, fan_out)) per layer, W1 first, "
                            "with nothing else drawn in between (biases are zeros, not drawn).")
            elif key.startswith("b") or key.startswith("beta"):
                hint = f"{key} starts at zeros."
            else:
                hint = f"{key} starts at ones (the normalised values pass through unscaled)."
            expect_close(value, exp[key], f"params['{key}']", case, 1e-9, 1e-12, hint)


def _run_net(fc_net_loss, case: Case, bn_params):
    """Call ``fc_net_loss(params, X, y, normalization=..., bn_params=bn_params)``; ``bn_params`` is the caller's
    list (its dicts may change), the shown case's are untouched; params, X and y are checked for mutation."""
    normalization = case.kwargs["normalization"]
    shown = Case(case.label, dict(case.args), kwargs={"normalization": normalization,
                                                      "bn_params": case.kwargs["bn_params"]})

    def run(params, X, y, **_ignored):
        return fc_net_loss(params, X, y, normalization=normalization, bn_params=bn_params)

    try:
        return call(run, "fc_net_loss", shown), shown
    except CheckFailure as err:
        if "changed its input `params`" in str(err):
            fail("fc_net_loss changed an array in params in place. The network only reads its parameters; "
                 "changing them is the optimiser's job, outside fc_net_loss.", shown)
        if "changed its input" in str(err):
            fail(str(err).split("\n")[0].replace(" Work on a copy", " The network only reads its inputs. Work on a "
                                                                     "copy"), shown)
        raise


def _backward_order(keys) -> list[str]:
    """Parameter names in the order a backward pass computes them: layer L first; within a hidden layer the
    normalisation's gamma and beta before the affine layer's W and b."""
    def layer(k):
        return int("".join(ch for ch in k if ch.isdigit()))
    rank = {"gamma": 0, "beta": 1, "W": 2, "b": 3}
    return sorted(keys, key=lambda k: (-layer(k), rank["".join(ch for ch in k if not ch.isdigit())]))


@reporting("training mode: the loss and the gradient of every parameter within 1e-6 of the reference, without "
           "normalization, with batch norm and with layer norm, also without hidden layers; test mode (y=None): "
           "the scores, with batch norm's running statistics; running statistics kept in bn_params; params, X, y "
           "untouched")
def check_fc_net_loss(fc_net_loss, *, hidden=False):
    """Check ``fc_net_loss(params, X, y=None, *, normalization=None, bn_params=None)``."""
    for case in cases(TOPIC, "fc_net_loss", hidden):
        normalization = case.kwargs["normalization"]
        bn_params = copy.deepcopy(case.kwargs["bn_params"])
        result, shown = _run_net(fc_net_loss, case, bn_params)
        params, X, y = case.args["params"], case.args["X"], case.args["y"]
        if y is None:
            exp_scores = case.expected
            hint = None
            if normalization == "batchnorm":
                hint = ("without y the network runs in test mode: set bn_params[i - 1]['mode'] = 'test' for every hidden "
                        "layer, so that your batchnorm_forward uses the running statistics stored there.")
            if isinstance(result, tuple):
                fail("with y=None fc_net_loss must return the class scores (an array of shape (N, C)), not a tuple.",
                     shown, "return the scores of the last affine layer right after computing them when y is None.")
            scores = _expect_float64(result, "the output for y=None (the scores)", shown, exp_scores.shape,
                                     "X and params are float64")
            expect_close(scores, exp_scores, "the output for y=None (the scores)", shown, RTOL,
                         1e-9 * max(1.0, float(np.abs(exp_scores).max())), hint)
            continue
        loss, grads = _expect_tuple(result, ("loss", "grads"), "fc_net_loss", shown)
        exp_loss, exp_grads = case.expected
        loss = expect_scalar(loss, "the loss returned by fc_net_loss", shown)
        loss_hint = ("the loss is the mean softmax cross-entropy of the scores; check the forward pass layer by layer "
                     "(the order affine -> normalisation -> ReLU, the last layer without normalisation and ReLU).")
        if np.isclose(loss, exp_loss * X.shape[0], rtol=1e-8):
            loss_hint = "the loss is N times too large: it is the mean over the batch, as softmax_cross_entropy returns it."
        expect_close(loss, exp_loss, "the loss returned by fc_net_loss", shown, 1e-8, 1e-12, loss_hint)
        if not isinstance(grads, dict):
            fail(f"grads is {describe_kind(grads)}; it must be a dict with the same keys as params.", shown)
        missing, extra = sorted(set(params) - set(grads)), sorted(set(grads) - set(params))
        if missing or extra:
            fail(f"grads has the wrong keys: missing {missing}, unexpected {extra}; it needs one entry per "
                 "parameter, under the same name.", shown)
        wrong = []
        for key in _backward_order(params):
            g = expect_array(grads[key], f"grads['{key}']", shown, shape=params[key].shape)
            if not _close(g, exp_grads[key], RTOL, 1e-9 * max(1.0, float(np.abs(exp_grads[key]).max()))):
                wrong.append(key)
        if wrong:
            first = wrong[0]
            right = [k for k in _backward_order(params) if k not in wrong]
            r = ratio(plain(grads[first]), exp_grads[first])
            hint = (f"{first} is the first wrong gradient in the order the backward pass computes them (layer L "
                    "first)" + (f"; those computed before it ({', '.join(_backward_order(params)[:_backward_order(params).index(first)])}) "
                                "are right" if _backward_order(params).index(first) else "") +
                    ", so look at the step that produces it.")
            if r is not None and (np.isclose(r, X.shape[0]) or np.isclose(r, 1.0 / X.shape[0])):
                hint += (" It is off by a factor of N, the batch size" + (
                    ": softmax_cross_entropy's dscores already averages over the batch." if first == wrong[0]
                    and _backward_order(params).index(first) == 0 else "."))
            elif r is not None and np.isclose(r, -1.0):
                hint += " It has the wrong sign."
            elif first.startswith("b") and normalization == "batchnorm" and first != f"b{_num_layers(params)}":
                hint += " A bias followed by batch norm has gradient 0 (question 3)."
            elif first.startswith(("W", "b")) and first[1:] != str(_num_layers(params)) and normalization is None:
                hint += " Between two affine layers the gradient goes through relu_backward with that layer's cache."
            expect_close(grads[first], exp_grads[first], f"grads['{first}']", shown, RTOL,
                         1e-9 * max(1.0, float(np.abs(exp_grads[first]).max())), hint)
        if normalization == "batchnorm":
            dims = [params[f"W{i}"].shape[1] for i in range(1, _num_layers(params))]
            for i, (p, h) in enumerate(zip(bn_params, dims), start=1):
                rm = p.get("running_mean") if isinstance(p, dict) else None
                if not (isinstance(rm, np.ndarray) and rm.shape == (h,) and np.any(rm != 0)):
                    fail(f"after a training-mode call, bn_params[{i - 1}] holds no updated running mean for hidden layer "
                         f"{i} (found {describe_kind(rm)}).", shown,
                         f"hand bn_params[{i - 1}] itself to batchnorm_forward (not a new dict), so that the running "
                         "statistics it stores there are kept for test mode.")


def _num_layers(params: dict) -> int:
    return sum(1 for k in params if k.startswith("W"))


# ---------------------------------------------------------------- the experiment
SWEEP_SIZE = {"fast": (400, 4), "full": (500, 5)}   # the notebook's (n_train, epochs) while nbgrader grades / otherwise
SWEEP_SCALES = np.logspace(-3, 0.5, 8)


def sweep_size(fast: bool | None = None) -> tuple[int, int]:
    """``(n_train, epochs)`` of the weight-scale experiment while graded (``fast``) or not; by default in this
    process's mode (``utils.fast_mode``)."""
    from utils import fast_mode

    return SWEEP_SIZE["fast" if (fast_mode() if fast is None else fast) else "full"]


def weight_scale_run(batchnorm_forward, batchnorm_backward, scale: float, use_bn: bool,
                     fast: bool | None = None) -> float:
    """One run of section 7's experiment, as the notebook's cell makes it: the 6-layer network with weights
    ``scale * standard normal`` (``make_rng(0)``), with (``use_bn``) or without the given batch norm, trained
    with SGD + momentum (``make_rng(1)``) on the first digits; returns its validation accuracy."""
    from datasets import load_digits
    from utils import make_rng
    from utils.optim import sgd_momentum
    from utils.training import MLP, Layers, accuracy, train

    digits = load_digits()
    n_train, epochs = sweep_size(fast)
    small = {"X_train": digits["X_train"][:n_train], "y_train": digits["y_train"][:n_train]}
    layers = Layers(batchnorm_forward=batchnorm_forward, batchnorm_backward=batchnorm_backward) if use_bn else Layers()
    model = MLP(64, [50] * 5, 10, make_rng(0), weight_scale=float(scale), batchnorm=use_bn, layers=layers)
    with np.errstate(over="ignore", invalid="ignore"):   # diverging runs without batch norm overflow
        train(model, small, rng=make_rng(1), epochs=epochs, batch_size=50, update=sgd_momentum,
              optim_config={"lr": 0.05}, eval_subset=50, progress_bar=False)
        return accuracy(model, digits["X_val"], digits["y_val"])


def weight_scale_sweep_bn(batchnorm_forward, batchnorm_backward, fast: bool | None = None) -> list[float]:
    """Section 7's ``acc_bn`` with the given batch norm, at the size of ``fast`` (see ``sweep_size``): the eight
    runs go side by side, their calls of the student's functions batched."""
    lockstep = Lockstep()
    forward, backward = lockstep.wrap(batchnorm_forward), lockstep.wrap(batchnorm_backward)
    with one_blas_thread():
        return lockstep.run([lambda s=s: weight_scale_run(forward, backward, s, True, fast) for s in SWEEP_SCALES])


def weight_scale_sweep_plain(fast: bool | None = None) -> list[float]:
    """Section 7's ``acc_plain`` (no batch norm: the course's code only), at the size of ``fast``."""
    with one_blas_thread():
        return [weight_scale_run(None, None, s, False, fast) for s in SWEEP_SCALES]


def weight_scale_sweep(batchnorm_forward, batchnorm_backward,
                       fast: bool | None = None) -> tuple[np.ndarray, list[float], list[float]]:
    """Section 7's ``(scales, acc_bn, acc_plain)`` with the given batch norm, at the size of ``fast``."""
    return (SWEEP_SCALES.copy(), weight_scale_sweep_bn(batchnorm_forward, batchnorm_backward, fast),
            weight_scale_sweep_plain(fast))


@reporting("with batch norm the network trained at every weight scale; without it, not at the smallest ones")
def check_weight_scale_sweep(scales, acc_bn, acc_plain, *, batchnorm_forward, batchnorm_backward, hidden=False):
    """Check the weight-scale experiment's results: lists of validation accuracies, one per scale.
    ``hidden=True`` runs the experiment again with the given batch norm (``weight_scale_sweep``): the scales
    and accuracies must be its results; then the hidden criteria of the experiment apply."""
    require_answer(acc_bn, "acc_bn")
    require_answer(acc_plain, "acc_plain")
    scales = np.asarray(scales, dtype=float)
    bn = expect_array(np.asarray(acc_bn, dtype=float), "acc_bn", None, shape=scales.shape)
    plain = expect_array(np.asarray(acc_plain, dtype=float), "acc_plain", None, shape=scales.shape)
    small = scales <= 1e-2
    # margins measured with the reference: batch norm >= 0.45 at every scale <= 1 (full and fast mode),
    # plain <= 0.11 at scales <= 0.01 (it cannot start); chance is 0.1
    if not np.all(bn[scales <= 1.0] >= 0.3):
        fail(f"with batch normalization the accuracies were {np.round(bn, 3).tolist()} for the weight scales "
             f"{scales.tolist()}; at every scale up to 1 they should be at least 0.3. Do your batchnorm_forward and "
             "batchnorm_backward pass their checks?")
    if not np.all(plain[small] <= 0.2):
        fail(f"without batch normalization the accuracies at the scales <= 0.01 were {np.round(plain[small], 3).tolist()}; "
             "such tiny weights should leave a 6-layer network stuck near chance (0.1). Was the experiment run as given?")
    if hidden:
        hidden_criterion(TOPIC, "weight_scale_sweep")(scales, bn, plain, batchnorm_forward=batchnorm_forward,
                                                      batchnorm_backward=batchnorm_backward)
