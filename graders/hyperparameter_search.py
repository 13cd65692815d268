"""Checks for notebook 08_hyperparameter_search: the babysitting checks (first loss, overfitting a tiny
subset, reading a learning curve), log-scale sampling, search spaces, random and grid search, and
coarse-to-fine refinement.

Each ``check_<exercise>(student_function)`` prints one ``[ok]`` line on a correct implementation and
raises ``AssertionError`` with an explanation on a wrong one. With no options it uses the visible cases
(``fixtures/hyperparameter_search.json``); hidden tests pass ``hidden=True``: the cases then come from the
hidden module (``classroom/hidden/hyperparameter_search.py``, not part of the student release), as do the
other sets of 20 images that the hidden ``check_overfit_small_subset`` hands
to the student's function. That check measures the returned model itself (accuracy and loss from its weights;
in the trusted re-check the model arrives as plain parameters and the judge's own MLP evaluates them), so no
typed-in number can pass it.

The samplers are specified down to the exact numpy call, so their outputs are compared with the
reference exactly (up to rounding, rtol 1e-9). Before that, a statistical check on many draws tells a
student *why* a wrong sampler is wrong (e.g. "nearly all samples are in the top decade"). Those
statistical checks cannot flake: (1) their generator is seeded (a fixed seed in the visible check, the
hidden cases' seed in the hidden check), so for a given implementation they are deterministic, and (2)
every tolerance is at least 6 standard deviations of the tested fraction for a correct sampler, so even
with any other seed a correct sampler fails with probability < 1e-8.

random_search and grid_search take a callable objective, which cannot be stored in a fixture. Their
visible checks use analytic objectives that record every call, and verify properties that define the
result (one call per trial, every returned pair is a recorded (score, config), sorted best first,
ties in trial order, NaN last, reproducible from the rng, log-uniform where the space says so).
Hidden checks also compare random_search's results with the reference exactly.
"""
from __future__ import annotations

import copy
import itertools
import math

import numpy as np

from .checking import Case, CheckFailure, call, expect_array, expect_close, expect_scalar, fail, repeat, reporting
from .fixtures import cases, current_hidden_seed, hidden_criterion

TOPIC = "hyperparameter_search"
LABELS = ("diverged", "lr_too_high", "lr_too_low", "plateau", "healthy")
RTOL = 1e-9   # the samplers are defined by one numpy call; 10**x vs exp(x ln 10) differ by ~1e-15

HINTS = {
    "initial_loss_ok": "Compute log C with np.log (the natural log), then compare the absolute difference between "
                       "the loss and log C with tol times log C; wrap the comparison in bool().",
    "overfit_small_subset": "MLP(64, [64], 10, make_rng(...)) has reg=0, keep_prob=1 and He initialisation by "
                            "default. Train it on `data` with batch_size=20 (one full-batch step per epoch), "
                            "update=sgd and a learning rate around 0.5 for a couple of hundred epochs; return "
                            "(model, history).",
    "diagnose_learning_curve": "Convert with np.asarray(losses, dtype=np.float64) and return 'diverged' at once if "
                               "not all values are finite. Then compute m, first, tail, mid and jump "
                               "(np.abs(np.diff(L)).mean()) and test rules 1 to 5 in order, each with if/return.",
    "sample_log_uniform": "One line: draw the exponent with rng.uniform between np.log10(low) and np.log10(high), "
                          "passing size, and raise 10 to it.",
    "sample_one_minus_log_uniform": "The exponent r runs from np.log10(1 - high) (the smaller one) to "
                                    "np.log10(1 - low); 10 ** r is 1 - beta, so beta = 1 - 10 ** r.",
    "window_growth": "Compute the window 1 / (1 - beta) for beta = 0.995 and for beta = 0.99, and subtract.",
    "sample_config": "Loop over sorted(space); unpack `kind, *args = space[name]`; one if/elif branch per kind, "
                     "each making exactly the one rng call of the table, with float(...) or int(...) around it.",
    "random_search": "Per trial: draw a config with sample_config(space, rng), score it with one objective call, "
                     "append (score, config). Then sort on the score only, NaN mapped to -np.inf, reverse=True.",
    "grid_search": "With names = sorted(grid), itertools.product(*[grid[n] for n in names]) (or np.ndindex over the "
                   "list lengths) yields the combinations in the required order; dict(zip(names, values)) is a "
                   "config. Sort as in random_search.",
    "grid_distinct_x": "The 3 x 3 grid has 3 values of x and 3 of y, and pairs every x value with every y value.",
    "refine_space": "Keep the configs of results[:top_k]. For a numeric parameter, map its values and old bounds "
                    "to u (np.log10(v), np.log10(1 - v) or v itself), widen [min u, max u] by margin * width on "
                    "each side, clip to the old u-range, map back, and round int bounds outwards. For a choice, "
                    "keep the options (in their order) that some top config uses.",
}


def _sub_rng(rng: np.random.Generator) -> np.random.Generator:
    """A fresh generator for one case, seeded from the case generator."""
    return np.random.default_rng(int(rng.integers(2 ** 31)))


def _statistics_seed(visible_seed: int, hidden: bool, offset: int = 0) -> int:
    """The seed of a statistical check's generator, plus ``offset``: ``visible_seed`` in the visible check; in
    the hidden one the seed the hidden cases are drawn with, so that each hidden seed draws anew."""
    return (current_hidden_seed() if hidden else visible_seed) + offset


# ---------------------------------------------------------------- visible case generators
def _initial_loss_cases(rng):
    return [
        Case("loss 2.30 with 10 classes (log 10 = 2.303)", {"loss": 2.30, "num_classes": 10, "tol": 0.2}),
        Case("loss 2.60 with 10 classes: 13% above log 10 (typical of He init)", {"loss": 2.60, "num_classes": 10, "tol": 0.2}),
        Case("loss 1.0 with 10 classes: right for log10(10) = 1, wrong for the natural log(10) = 2.303",
             {"loss": 1.0, "num_classes": 10, "tol": 0.2}),
        Case("loss 0.1 with 10 classes (that is 1/C, not log C)", {"loss": 0.1, "num_classes": 10, "tol": 0.2}),
        Case("loss 5.0 with 10 classes: far ABOVE log 10 (the test has two sides)", {"loss": 5.0, "num_classes": 10, "tol": 0.2}),
        Case("loss 3.3 with 10 classes (log2(10) = 3.32, but the natural log is meant)", {"loss": 3.3, "num_classes": 10, "tol": 0.2}),
        Case("loss 6.0 with 1000 classes: |6.0 - 6.908| = 0.91 <= 0.2 * 6.908 (the tolerance is relative)",
             {"loss": 6.0, "num_classes": 1000, "tol": 0.2}),
        Case("loss 0.75 with 2 classes (log 2 = 0.693)", {"loss": 0.75, "num_classes": 2, "tol": 0.2}),
        Case("loss 2.4 with 10 classes and tol = 0.01 (use the tol argument)", {"loss": 2.4, "num_classes": 10, "tol": 0.01}),
    ]


def _curves(rng, scale: float) -> list[Case]:
    """Synthetic learning curves, each far (in its statistics) from every threshold but the intended one,
    multiplied by ``scale`` (labels are invariant to scaling a curve), and a short one as a Python list."""
    t = np.arange(100.0)

    def noise(amplitude=0.005):
        e = amplitude * rng.standard_normal(100)
        e[0] = 0.0   # the first loss is the reference of every rule: keep it exact
        return e

    spike = 0.1 + 2.2 * np.exp(-t / 12) + noise()
    spike[50] = 11.5                                              # one bad minibatch: 5x the first loss
    flat_then_dip = 1.2 + 1.1 * np.exp(-t / 6) + noise()
    flat_then_dip[-1] = 1.1                                       # the last value alone is not the tail
    nan_curve = 0.3 + 2.0 * np.exp(-t / 10) + noise()
    nan_curve[60:] = np.nan
    inf_curve = 2.3 * np.exp(t / 10)
    inf_curve[70:] = np.inf
    noisy_nan = 2.0 + 0.8 * (t % 2) + noise()
    noisy_nan[-1] = np.nan
    curves = [
        ("healthy: falls steadily to a low value (rule 5)", 0.1 + 2.2 * np.exp(-t / 12) + noise()),
        ("too low: falls 6% in the first half (rule 3)", 2.3 - 0.003 * t + noise()),
        ("too low: almost flat from the start; also 'stalled', but rule 3 comes before rule 4",
         2.3 - 0.0004 * t + noise()),
        ("plateau: falls fast, then flat at 60% of the first loss (rule 4)", 1.4 + 0.9 * np.exp(-t / 6) + noise()),
        ("plateau: the LAST value dips below half the first loss, but tail = mean of the last tenth stays above (rule 4)",
         flat_then_dip),
        ("healthy: falls fast, then flat at 45% of the first loss (rule 4 needs tail > 0.5 first)",
         1.035 + 1.265 * np.exp(-t / 6) + noise()),
        ("healthy: falls 15% in the first half and keeps falling (rules 3 and 4 do not hold)", 2.3 - 0.0075 * t + noise()),
        ("too high: zig-zags by 0.8 around 2.4, no net fall; rule 2 comes before rule 3", 2.0 + 0.8 * (t % 2) + noise()),
        ("too high: creeps up to 1.3x the first loss (rule 2: tail > first)", np.linspace(2.3, 3.0, 100) + noise()),
        ("too high: rises to 2.4x the first loss, which is not yet 3x (rule 2, not rule 1)", np.linspace(2.3, 5.75, 100) + noise()),
        ("healthy: one spike of 5x the first loss at t = 50 (rule 1 uses the tail, not the maximum)", spike),
        ("healthy with minibatch noise: jump about 0.1 * first (rule 2 needs 0.2)",
         0.3 + 2.0 * np.exp(-t / 15) + 0.12 * (t % 2) + noise()),
        ("diverged: NaN from t = 60 on (rule 1; NaN compares False with everything)", nan_curve),
        ("diverged: grows to 2,300, then inf (rule 1: test non-finite values before any arithmetic)", inf_curve),
        ("diverged: grows 2% per step, tail > 3 * first (rule 1)", 2.3 * 1.02 ** t),
        ("diverged: a zig-zag ending in NaN (rule 1 comes first)", noisy_nan),
    ]
    out = [Case(label, {"losses": curve * scale}) for label, curve in curves]
    out.append(Case("a short curve of n = 10 losses given as a Python list (m = 1)",
                    {"losses": [2.3, 2.0, 1.7, 1.4, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6]}))
    return out


def _curve_cases(rng):
    return _curves(rng, 1.0)


def _log_uniform_cases(rng):
    return [
        Case("learning rates in [1e-4, 1e-1], size 6", {"low": 1e-4, "high": 1e-1, "size": 6, "rng": _sub_rng(rng)}),
        Case("[1e-6, 1], size (2, 3)", {"low": 1e-6, "high": 1.0, "size": (2, 3), "rng": _sub_rng(rng)}),
        Case("[0.5, 2] (a range across 1), size 5", {"low": 0.5, "high": 2.0, "size": 5, "rng": _sub_rng(rng)}),
        Case("[1e-3, 10], size None (a single float)", {"low": 1e-3, "high": 10.0, "size": None, "rng": _sub_rng(rng)}),
    ]


def _one_minus_cases(rng):
    return [
        Case("beta in [0.9, 0.999], size 6", {"low": 0.9, "high": 0.999, "size": 6, "rng": _sub_rng(rng)}),
        Case("beta in [0.5, 0.99], size (2, 2)", {"low": 0.5, "high": 0.99, "size": (2, 2), "rng": _sub_rng(rng)}),
        Case("beta in [0.99, 0.9999], size None (a single float)", {"low": 0.99, "high": 0.9999, "size": None, "rng": _sub_rng(rng)}),
    ]


SPACE_EXAMPLE = {"lr": ("log", 1e-4, 1e-1), "hidden": ("int", 32, 256), "act": ("choice", ["relu", "tanh"]),
                 "keep_prob": ("linear", 0.5, 1.0)}
SPACE_OPTIM = {"reg": ("log", 1e-6, 1e-2), "beta": ("one_minus_log", 0.9, 0.999),
               "batch": ("choice", [32, 64, 128]), "layers": ("int", 1, 3)}


def _config_cases(rng):
    return [
        Case("the example space (written in a different order than sorted)", {"space": SPACE_EXAMPLE, "rng": _sub_rng(rng)}),
        Case("the example space, another rng state", {"space": SPACE_EXAMPLE, "rng": _sub_rng(rng)}),
        Case("a space with every numeric kind and numeric choices", {"space": SPACE_OPTIM, "rng": _sub_rng(rng)}),
        Case("a one-parameter space", {"space": {"lr": ("log", 1e-3, 1.0)}, "rng": _sub_rng(rng)}),
    ]


SPACE_REFINE = {"lr": ("log", 1e-4, 1e-1), "keep_prob": ("linear", 0.5, 1.0), "hidden": ("int", 16, 256),
                "act": ("choice", ["relu", "tanh", "sigmoid"]), "beta": ("one_minus_log", 0.9, 0.999)}


def _random_configs(rng, space, n):
    """Valid configs for the refine cases: any values inside the ranges will do (deliberately not the
    distributions of sample_config), with a bias towards each range's upper end."""
    configs = []
    for _ in range(n):
        config = {}
        for key in space:
            kind = space[key][0]
            if kind == "choice":
                config[key] = space[key][1][int(rng.integers(len(space[key][1])))]
                continue
            lo, hi = space[key][1], space[key][2]
            value = lo + (hi - lo) * float(rng.random()) ** 0.5
            config[key] = int(min(round(value), hi)) if kind == "int" else value
        configs.append(config)
    return configs


def _results(scores, configs):
    order = np.argsort(-np.asarray(scores), kind="stable")
    return [(float(scores[i]), configs[i]) for i in order]


def _hand_results():
    """Six hand-made trials, sorted best first."""
    hand = [
        {"lr": 1e-3, "keep_prob": 0.8, "hidden": 100, "act": "tanh", "beta": 0.99},
        {"lr": 4e-3, "keep_prob": 0.7, "hidden": 64, "act": "sigmoid", "beta": 0.95},
        {"lr": 2e-2, "keep_prob": 0.9, "hidden": 150, "act": "tanh", "beta": 0.995},
        {"lr": 5e-2, "keep_prob": 0.55, "hidden": 30, "act": "relu", "beta": 0.91},
        {"lr": 2e-4, "keep_prob": 0.95, "hidden": 250, "act": "relu", "beta": 0.998},
        {"lr": 9e-2, "keep_prob": 0.6, "hidden": 20, "act": "relu", "beta": 0.92},
    ]
    return _results([0.93, 0.91, 0.90, 0.71, 0.40, 0.12], hand)


def _edge_results():
    """Three trials whose best ones lie near the edges of SPACE_REFINE's ranges."""
    edge = [
        {"lr": 9e-2, "keep_prob": 1.0, "hidden": 250, "act": "relu", "beta": 0.9985},
        {"lr": 1e-2, "keep_prob": 0.6, "hidden": 200, "act": "relu", "beta": 0.9},
        {"lr": 1e-4, "keep_prob": 0.7, "hidden": 16, "act": "tanh", "beta": 0.95},
    ]
    return _results([0.8, 0.7, 0.1], edge)


def _refine_cases(rng):
    hand_results, edge_results = _hand_results(), _edge_results()
    n = 12
    rand_results = _results(rng.uniform(0, 1, n), _random_configs(rng, SPACE_REFINE, n))
    return [
        Case("6 trials, top_k = 3 (best lr values 1e-3, 4e-3, 2e-2: -3, -2.4, -1.7 in log10)",
             {"results": hand_results, "space": SPACE_REFINE, "top_k": 3}),
        Case("6 trials, top_k = 3, margin = 0.5",
             {"results": hand_results, "space": SPACE_REFINE, "top_k": 3}, kwargs={"margin": 0.5}),
        Case("best trials near the edges of the old ranges (the widened range is clipped to the old one)",
             {"results": edge_results, "space": SPACE_REFINE, "top_k": 2}),
        Case("12 random trials, top_k = 4", {"results": rand_results, "space": SPACE_REFINE, "top_k": 4}),
        Case("top_k = 1 (the range shrinks to the best value)", {"results": hand_results, "space": SPACE_REFINE, "top_k": 1}),
    ]


CASES = {
    "initial_loss_ok": _initial_loss_cases,
    "diagnose_learning_curve": _curve_cases,
    "sample_log_uniform": _log_uniform_cases,
    "sample_one_minus_log_uniform": _one_minus_cases,
    "sample_config": _config_cases,
    "refine_space": _refine_cases,
}


def _unsorted(space: dict) -> dict:
    """The same space with its keys in reverse-sorted order. A committed fixture stores dicts with sorted
    keys, and an implementation that draws in the dict's own order instead of sorted(space) order must not
    pass by luck."""
    return dict(sorted(space.items(), reverse=True))


def _cases(exercise: str, hidden: bool) -> list[Case]:
    out = cases(TOPIC, exercise, hidden=hidden)
    for case in out:
        if "space" in case.args:
            case.args["space"] = _unsorted(case.args["space"])
    return out


# ---------------------------------------------------------------- babysitting
@reporting("a bool, |loss - log C| <= tol * log C with the natural log, on both sides, with the given tol")
def check_initial_loss_ok(initial_loss_ok, *, hidden=False):
    """Check ``initial_loss_ok(loss, num_classes, tol) -> bool``."""
    for case in _cases("initial_loss_ok", hidden):
        got = call(initial_loss_ok, "initial_loss_ok", case)
        if not isinstance(got, (bool, np.bool_)):
            fail(f"initial_loss_ok should return a bool (True or False), but it returned {type(got).__name__} "
                 f"{got!r:.60}.", case, "return the comparison itself, e.g. `return bool(... <= ...)`.")
        if bool(got) != bool(case.expected):
            fail(f"initial_loss_ok returned {bool(got)}, expected {bool(case.expected)} "
                 f"(log C = {np.log(case.args['num_classes']):.4f}).", case,
                 "compare |loss - np.log(C)| (natural log, both sides) with tol * np.log(C).")


FIRST_LOSS_TOL = 0.5   # the overfitting run's first loss must pass initial_loss_ok(first, 10, tol=0.5)


def _check_overfit_run(overfit_small_subset, data, label):
    """One call of the student's ``overfit_small_subset(data)``; the check computes the accuracy and the final
    loss itself, from the returned model's parameters (in the trusted re-check, with its own MLP class)."""
    case = Case(label, {"data": data})
    out = call(overfit_small_subset, "overfit_small_subset", case)
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(f"overfit_small_subset should return a tuple (model, history), but it returned a "
             f"{type(out).__name__}.", case, "end with `return model, history`.")
    model, history = out
    for attr in ("predict", "loss", "params", "reg", "keep_prob", "num_layers"):
        if not hasattr(model, attr):
            fail(f"the model that overfit_small_subset returns should be a utils.training.MLP, but it has no "
                 f"`{attr}` (it is a {type(model).__name__}).", case)
    if not hasattr(history, "loss") or len(history.loss) == 0:
        fail("the history that overfit_small_subset returns should be the History that utils.training.train "
             f"returned, with a non-empty `loss` list (it is a {type(history).__name__}).", case)
    if model.num_layers < 2:
        fail("the model has no hidden layer; build it with hidden_dims such as [64].", case)
    if model.reg != 0 or model.keep_prob != 1.0:
        fail(f"the model has reg = {model.reg} and keep_prob = {model.keep_prob}. For this test turn "
             "regularization off (reg=0, keep_prob=1): nothing should stop the network from memorising.", case)
    first = float(np.asarray(history.loss, dtype=np.float64)[0])
    log_c = np.log(10)
    if not abs(first - log_c) <= FIRST_LOSS_TOL * log_c:
        fail(f"the first training loss was {first:.3f}, more than {FIRST_LOSS_TOL:.0%} away from log 10 = "
             f"{log_c:.3f}, so it fails initial_loss_ok(first, 10) (tol = {FIRST_LOSS_TOL}).", case,
             "history.loss[0] is the loss of train's first minibatch. With MLP's default (He) initialisation "
             "and full-batch steps (batch_size = the number of images) it lies between about 2.0 and 3.2 for "
             "every seed; a minibatch of a few images gives a noisier first loss that can leave the band, so "
             "train full-batch. If you already do, the initial weights are too large (a weight_scale or an "
             "init of your own).")
    X, y = data["X_train"], data["y_train"]
    with np.errstate(all="ignore"):
        predictions = np.asarray(model.predict(X))
        final = float(model.loss(X, y)[0])
    acc = float(np.mean(predictions == y))
    if acc < 1.0:
        fail(f"the trained model classifies {acc:.0%} of the {len(y)} training images correctly; 100% is "
             "expected.", case, "train longer (more epochs) or with a larger learning rate; if the loss does "
             "not fall at all, something is broken.")
    if not (np.isfinite(final) and final < 0.1):
        fail(f"the trained model's loss on the {len(y)} images (computed by the check from its weights) is "
             f"{final:.4f}; memorising them should bring it below 0.1.", case, "train longer.")


@reporting("returns (MLP, History); first loss within 50% of log 10; a hidden layer, reg = 0, no dropout; "
           "100% accuracy and loss < 0.1 on the images it was given")
def check_overfit_small_subset(overfit_small_subset, *, data=None, hidden=False):
    """Check ``overfit_small_subset(data) -> (model, history)``: called on ``data`` (20 images; by default the
    notebook's `small`, the first 20 training images) and, hidden, on other sets of 20 training images; the
    check evaluates the returned model itself."""
    if data is None:
        from datasets import load_digits
        digits = load_digits()
        data = {"X_train": digits["X_train"][:20], "y_train": digits["y_train"][:20]}
    _check_overfit_run(overfit_small_subset, data, f"data = the {len(data['y_train'])} images of `small`")
    if hidden:
        for label, subset in hidden_criterion(TOPIC, "overfit_small_subset")():
            _check_overfit_run(overfit_small_subset, subset, label)


@reporting("the label of every synthetic curve (one or more per label, and curves that test the rule order)")
def check_diagnose_learning_curve(diagnose_learning_curve, *, hidden=False):
    """Check ``diagnose_learning_curve(losses) -> label``."""
    for case in _cases("diagnose_learning_curve", hidden):
        got = call(diagnose_learning_curve, "diagnose_learning_curve", case)
        if not isinstance(got, str) or got not in LABELS:
            fail(f"diagnose_learning_curve should return one of {', '.join(map(repr, LABELS))}, but it "
                 f"returned {got!r:.60}.", case)
        if got != case.expected:
            losses = np.asarray(case.args["losses"], dtype=np.float64)
            hint = "apply the rules in their order 1 to 5 and return at the first one that holds."
            if not np.all(np.isfinite(losses)):
                hint = ("the curve has a NaN or infinite value: rule 1 says 'diverged'. Every comparison with "
                        "NaN is False, so test np.isfinite before anything else.")
            elif case.expected == "plateau" and got == "healthy":
                hint = "tail is the mean of the last tenth of the curve, L[n - n//10:], not the last value."
            elif got == "diverged":
                hint = "rule 1 compares tail (the mean of the last tenth) with 3 * first, not the maximum or 2 * first."
            fail(f"diagnose_learning_curve returned {got!r}, expected {case.expected!r}.", case, hint)


# ---------------------------------------------------------------- samplers
SWAPPED_HINT = ("numpy's rng.uniform(low, high) refuses high < low: the exponent's bounds are swapped. Which "
                "exponent is the smaller one? For 1 - beta, log10(1 - high) < log10(1 - low).")


def _call_sampler(f, name, case):
    """``call``, with a hint when numpy refuses swapped bounds (rng.uniform raises 'high - low < 0')."""
    __tracebackhide__ = True
    try:
        return call(f, name, case)
    except CheckFailure as err:
        cause = err.__cause__
        if isinstance(cause, (ValueError, OverflowError)) and "high - low" in str(cause):
            raise CheckFailure(f"{err}\nHint: {SWAPPED_HINT}") from cause
        raise


def _decade_fractions(u: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    counts, _ = np.histogram(u, bins=bins, range=(lo, hi))
    return counts / len(u)


def _check_sampler_distribution(sampler, name, low, high, to_u, u_range, what, rng, linear_hint):
    """Many draws from the seeded generator ``rng``: every unit interval of u must get an equal share.

    20,000 draws; the share of one bin of width 1/B has standard deviation sqrt(p(1-p)/20000) <= 0.0035,
    so the tolerance 0.03 is > 8.5 standard deviations: a correct sampler cannot fail it (p < 1e-16)."""
    n = 20_000
    case = Case(f"{n} draws with low = {low}, high = {high}", {"low": low, "high": high, "size": n, "rng": rng})
    values = expect_array(_call_sampler(sampler, name, case), f"{name}(low, high, size={n}, rng)", case, shape=(n,))
    if np.any(values < low * (1 - 1e-12)) or np.any(values > high * (1 + 1e-12)):
        bad = values[(values < low * (1 - 1e-12)) | (values > high * (1 + 1e-12))][0]
        hint = None
        if name == "sample_log_uniform" and np.all(values < 0):
            hint = "these look like exponents: return 10 ** r, not r."
        elif name == "sample_log_uniform":
            hint = ("draw the exponent between np.log10(low) and np.log10(high) and raise 10 to it: the base of "
                    "the power must be the base of the logarithm.")
        elif name == "sample_one_minus_log_uniform" and np.all((values >= (1 - high) * (1 - 1e-9))
                                                               & (values <= (1 - low) * (1 + 1e-9))):
            hint = "these look like values of 1 - beta: return beta = 1 - 10 ** r."
        elif name == "sample_one_minus_log_uniform" and np.any(values < low):
            hint = ("the exponent must run from log10(1 - high) to log10(1 - low) (for [0.9, 0.999]: from -3 to -1); "
                    "with r in [-3, 0], beta = 1 - 10 ** r reaches 0.")
        fail(f"{name} returned {bad:.6g}, outside [low, high] = [{low}, {high}].", case, hint)
    lo_u, hi_u = u_range
    bins = int(round(hi_u - lo_u))
    shares = _decade_fractions(to_u(values), lo_u, hi_u, bins)
    if np.max(np.abs(shares - 1 / bins)) > 0.03:
        fail(f"{what} is not uniform: over {n} draws, the {bins} decades from {lo_u:g} to {hi_u:g} got the "
             f"shares {np.round(shares, 3).tolist()}, but each should get {1 / bins:.3f} (+- 0.03).",
             case, linear_hint)


def _check_exact_draws(sampler, name, cases_, mirror):
    for case in cases_:
        size = case.args["size"]
        got = _call_sampler(sampler, name, case)
        expected = case.expected
        if size is None:
            value = expect_scalar(got, f"{name}(..., size=None, rng)", case)
            got_arr, exp_arr = np.array([value]), np.array([expected], dtype=np.float64)
        else:
            shape = (size,) if isinstance(size, int) else tuple(size)
            got_arr = expect_array(got, f"{name}(low, high, size, rng)", case, shape=shape)
            if got.dtype != np.float64:
                fail(f"{name}(low, high, size, rng) should be float64, but its dtype is {got.dtype}.", case,
                     "numpy's generators return float64; do not convert the result.")
            exp_arr = np.asarray(expected, dtype=np.float64)
        hint = None
        if got_arr.shape == exp_arr.shape and np.allclose(got_arr, mirror(exp_arr, case.args["low"], case.args["high"]),
                                                          rtol=1e-9, atol=0):
            hint = ("right distribution, but the bounds of rng.uniform are swapped: the draw is defined with the "
                    "smaller exponent first.")
        elif got_arr.shape == exp_arr.shape:
            hint = (f"the docstring defines the draw exactly: make exactly that one call to rng.uniform (with `size`) "
                    "and no other draw from rng.")
        expect_close(got_arr, exp_arr, f"{name}(low, high, size, rng)", case, rtol=RTOL, atol=0, hint=hint)


@reporting("shape, range, one quarter of 20,000 draws per decade (+-0.03), and the exact draw 10 ** rng.uniform(log10 low, log10 high, size)")
def check_sample_log_uniform(sample_log_uniform, *, hidden=False):
    """Check ``sample_log_uniform(low, high, size, rng) -> values`` of shape ``size``."""
    exact = _cases("sample_log_uniform", hidden)
    _check_sampler_distribution(
        sample_log_uniform, "sample_log_uniform", 1e-5, 1e-1, np.log10, (-5.0, -1.0), "log10 of the samples",
        np.random.default_rng(_statistics_seed(11, hidden)),
        "log-uniform means uniform in the exponent: r = rng.uniform(np.log10(low), np.log10(high), size), then "
        "10 ** r. Uniform on the linear scale puts almost every sample in the top decade.")
    _check_exact_draws(sample_log_uniform, "sample_log_uniform", exact,
                       lambda e, lo, hi: 10.0 ** (np.log10(lo) + np.log10(hi) - np.log10(e)))


@reporting("range, log10(1 - beta) uniform over 20,000 draws (+-0.03 per decade), and the exact draw 1 - 10 ** rng.uniform(log10(1-high), log10(1-low), size)")
def check_sample_one_minus_log_uniform(sample_one_minus_log_uniform, *, hidden=False):
    """Check ``sample_one_minus_log_uniform(low, high, size, rng) -> beta`` of shape ``size``."""
    exact = _cases("sample_one_minus_log_uniform", hidden)
    _check_sampler_distribution(
        sample_one_minus_log_uniform, "sample_one_minus_log_uniform", 0.9, 0.9999,
        lambda v: np.log10(np.maximum(1 - v, 1e-300)), (-4.0, -1.0), "log10(1 - beta)",
        np.random.default_rng(_statistics_seed(11, hidden)),
        "sample the exponent r = log10(1 - beta) uniformly and return beta = 1 - 10 ** r. Uniform beta puts "
        "90% of the samples below 0.99, where the averaging window 1/(1 - beta) hardly changes.")
    _check_exact_draws(sample_one_minus_log_uniform, "sample_one_minus_log_uniform", exact,
                       lambda e, lo, hi: 1 - 10.0 ** (np.log10(1 - lo) + np.log10(1 - hi) - np.log10(1 - e)))


# ---------------------------------------------------------------- search spaces
def _check_value(value, spec, name, what, case):
    """One drawn value against its specification (type and range)."""
    kind = spec[0]
    if kind in ("log", "one_minus_log", "linear"):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (float, np.floating)):
            fail(f"{what}[{name!r}] should be a float (its kind is {kind!r}), but it is "
                 f"{type(value).__name__} {value!r:.60}.", case,
                 "one scalar draw (no size argument, or take element [0]) gives a float, not an array."
                 if isinstance(value, np.ndarray) else None)
        lo, hi = spec[1], spec[2]
        if not (lo - 1e-12 * abs(lo) <= value <= hi + 1e-12 * abs(hi)):
            fail(f"{what}[{name!r}] = {value!r} is outside its range [{lo}, {hi}].", case)
    elif kind == "int":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            fail(f"{what}[{name!r}] should be an int (its kind is 'int'), but it is {type(value).__name__} "
                 f"{value!r:.60}.", case, "draw it with rng.integers(low, high + 1), not rng.uniform.")
        if not spec[1] <= value <= spec[2]:
            fail(f"{what}[{name!r}] = {value} is outside [{spec[1]}, {spec[2]}].", case)
    elif kind == "choice":
        if not any(_same_value(value, option) for option in spec[1]):
            fail(f"{what}[{name!r}] = {value!r} is not one of the options {spec[1]}.", case)


def _check_config_shape(config, space, what, case):
    if not isinstance(config, dict):
        fail(f"{what} should be a dict, but it is a {type(config).__name__}.", case)
    if set(config) != set(space):
        fail(f"{what} has the keys {sorted(config)}, but the space has {sorted(space)}.", case)
    for key in space:
        _check_value(config[key], space[key], key, what, case)


def _same_value(a, b) -> bool:
    if isinstance(a, (float, np.floating)) or isinstance(b, (float, np.floating)):
        try:
            return math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _same_config(a, b) -> bool:
    return isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b) and all(_same_value(a[k], b[k]) for k in a)


STAT_SPACE = {"lr": ("log", 1e-5, 1e-1), "beta": ("one_minus_log", 0.9, 0.9999), "keep_prob": ("linear", 0.5, 1.0),
              "layers": ("int", 1, 4), "act": ("choice", ["relu", "tanh", "elu", "gelu"])}


@reporting("dict with the space's keys, float/int types, ranges, each kind's distribution over 4,000 draws, and the exact draws in sorted(space) order")
def check_sample_config(sample_config, *, hidden=False):
    """Check ``sample_config(space, rng) -> config``."""
    exact = _cases("sample_config", hidden)
    for case in copy.deepcopy(exact):   # copies: the exact comparison below needs the generators unused
        got = _call_sampler(sample_config, "sample_config", case)
        _check_config_shape(got, case.args["space"], "sample_config(space, rng)", case)

    # Distribution over 4,000 configs. A share of 1/4 (1/3) has standard deviation <= 0.0075 over 4,000
    # draws, so the tolerance 0.05 is > 6.5 standard deviations (p < 1e-10 per share, about 20 shares), and
    # the generator is seeded anyway: the check is deterministic for a given implementation.
    n = 4000
    rng = np.random.default_rng(_statistics_seed(12, hidden))
    case = Case(f"{n} configs drawn one after another from one rng", {"space": copy.deepcopy(STAT_SPACE), "rng": rng})
    configs = call(lambda space, rng: repeat(sample_config, n, space, rng), "sample_config", case)
    for c in configs[:50]:
        _check_config_shape(c, STAT_SPACE, "sample_config(space, rng)", case)
    tests = [
        ("lr", "log10 of 'lr' ('log', 1e-5, 1e-1)", np.log10([c["lr"] for c in configs]), (-5, -1), 4,
         "a 'log' parameter is 10 ** rng.uniform(log10(low), log10(high)): uniform in the exponent, not in the value."),
        ("beta", "log10(1 - 'beta') ('one_minus_log', 0.9, 0.9999)",
         np.log10(np.maximum(1 - np.array([c["beta"] for c in configs], dtype=float), 1e-300)), (-4, -1), 3,
         "a 'one_minus_log' parameter is 1 - 10 ** rng.uniform(log10(1 - high), log10(1 - low)), not uniform in beta."),
        ("keep_prob", "'keep_prob' ('linear', 0.5, 1.0)", np.array([c["keep_prob"] for c in configs], dtype=float),
         (0.5, 1.0), 4, "a 'linear' parameter is rng.uniform(low, high)."),
        ("layers", "'layers' ('int', 1, 4)", np.array([c["layers"] for c in configs], dtype=float), (0.5, 4.5), 4,
         "an 'int' parameter is rng.integers(low, high + 1): every integer from low to high, both included, "
         "equally likely."),
    ]
    for _, what, u, (lo, hi), bins, hint in tests:
        shares = _decade_fractions(u, lo, hi, bins)
        if np.max(np.abs(shares - 1 / bins)) > 0.05:
            fail(f"the values of {what} are not uniform over {n} draws: the {bins} equal bins of [{lo}, {hi}] got "
                 f"the shares {np.round(shares, 3).tolist()}, each should get {1 / bins:.3f} (+- 0.05).", case, hint)
    acts = [c["act"] for c in configs]
    shares = [acts.count(o) / n for o in STAT_SPACE["act"][1]]
    if np.max(np.abs(np.array(shares) - 0.25)) > 0.05:
        fail(f"the options of 'act' were chosen with shares {np.round(shares, 3).tolist()} over {n} draws; each "
             "should get 0.25 (+- 0.05).", case, "a 'choice' is options[rng.integers(len(options))].")

    for case in exact:
        got = _call_sampler(sample_config, "sample_config", case)
        for name in sorted(case.args["space"]):
            if not _same_value(got[name], case.expected[name]):
                fail(f"sample_config(space, rng)[{name!r}] is {got[name]!r}, expected {case.expected[name]!r} "
                     f"(the full expected config: {case.expected}).", case,
                     "draw the parameters in sorted(space) order (here: " + ", ".join(sorted(case.args["space"])) +
                     "), with exactly one scalar rng call each, as listed in the docstring; a different order, an "
                     "extra draw or another formula changes the values.")


# ---------------------------------------------------------------- random and grid search
def _recording(f):
    """An objective that records (config copy, score) for every call; returns (objective, calls)."""
    calls = []

    def objective(config):
        score = f(config)
        calls.append((copy.deepcopy(config), score))
        return score
    objective.__doc__ = f.__doc__
    return objective, calls


def _smooth(config):
    """score = -(log10(lr) + 2)^2 - ((hidden - 100) / 100)^2 + 0.3 [act == 'relu']"""
    return float(-(np.log10(config["lr"]) + 2) ** 2 - ((config["hidden"] - 100) / 100) ** 2
                 + (0.3 if config["act"] == "relu" else 0.0))


def _ties(config):
    """score = 1.0 for act 'relu', 0.5 for 'tanh', 0.2 for 'elu' (many ties)"""
    return {"relu": 1.0, "tanh": 0.5, "elu": 0.2}[config["act"]]


def _with_nan(config):
    """score = NaN when lr > 1e-2 (a diverged run), else -(log10(lr) + 3)^2"""
    return float("nan") if config["lr"] > 1e-2 else float(-(np.log10(config["lr"]) + 3) ** 2)


SEARCH_SPACE = {"lr": ("log", 1e-4, 1.0), "hidden": ("int", 16, 256), "act": ("choice", ["relu", "tanh", "elu"])}


def _is_nan(x) -> bool:
    try:
        return bool(np.isnan(x))
    except TypeError:
        return False


def _call_search(search, name, case):
    """``call`` that explains the TypeError of sorting (score, config) tuples whose scores tie."""
    try:
        return call(search, name, case)
    except CheckFailure as err:
        if "not supported between instances of 'dict'" in str(err):
            fail(f"{name} raised a TypeError while sorting: when two scores are equal, sorting (score, config) "
                 "tuples goes on to compare the two configs, and dicts cannot be ordered.", case,
                 "sort on the score only: sorted(results, key=lambda r: ..., reverse=True).")
        raise


def _check_results(results, calls, name, case, order_hint):
    """``results`` is the sorted list of the recorded calls: returns, for each entry, its call index."""
    if not isinstance(results, list):
        fail(f"{name} should return a list of (score, config) tuples, but it returned a {type(results).__name__}.", case)
    if len(results) != len(calls):
        fail(f"{name} returned {len(results)} results for {len(calls)} calls of the objective; expected one "
             "(score, config) per evaluated configuration.", case)
    used, index = set(), []
    for k, item in enumerate(results):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            fail(f"results[{k}] should be a pair (score, config), but it is {item!r:.80}.", case)
        score, config = item
        if isinstance(score, dict) and not isinstance(config, dict):
            fail(f"results[{k}] is (config, score); the order is (score, config).", case)
        expect_scalar(score, f"the score in results[{k}]", case, finite=False)
        j = next((j for j, (c, s) in enumerate(calls) if j not in used and _same_config(config, c)
                  and (float(score) == float(s) or (_is_nan(score) and _is_nan(s)))), None)
        if j is None:
            fail(f"results[{k}] = ({score!r}, {config!r:.120}) is not a (score, config) pair the objective "
                 "returned: each entry must hold a config that was evaluated and the score the objective gave it.",
                 case)
        used.add(j)
        index.append(j)
    scores = [float(s) for s, _ in results]
    finite = [s for s in scores if not np.isnan(s)]
    n_finite = len(finite)
    if any(np.isnan(s) for s in scores[:n_finite]):
        fail(f"{name} put a NaN score before a number: scores in the order returned: {np.round(scores, 4).tolist()}. "
             "A failed run (NaN) must come last.", case,
             "every comparison with NaN is False, so sorted() cannot place it; sort with a key that maps NaN "
             "to -inf (e.g. key=lambda r: -np.inf if np.isnan(r[0]) else r[0], reverse=True).")
    if any(a < b for a, b in zip(finite, finite[1:])):
        worst_first = all(a <= b for a, b in zip(finite, finite[1:]))
        fail(f"{name} did not sort its results best first: scores in the order returned: "
             f"{np.round(scores, 4).tolist()}.", case,
             "they are sorted worst first: higher scores are better, so sort in decreasing order (reverse=True)."
             if worst_first else "sort by score, highest first.")
    for k in range(len(results) - 1):
        tie = scores[k] == scores[k + 1] or (np.isnan(scores[k]) and np.isnan(scores[k + 1]))
        if tie and index[k] > index[k + 1]:
            fail(f"results {k} and {k + 1} have the same score {scores[k]} but are not in the order in which they "
                 f"were evaluated (evaluations {index[k]} and {index[k + 1]}).", case, order_hint)
    return index


TIE_HINT = "sort with a key on the score only; Python's sorted is stable (also with reverse=True), so ties keep their order."


RANDOM_SEARCH_RUNS = [("a smooth objective, 12 trials", _smooth, 12),
                      ("an objective with many ties (score depends on 'act' only), 15 trials", _ties, 15),
                      ("an objective that returns NaN for lr > 1e-2 (diverged runs), 15 trials", _with_nan, 15)]


def _random_search_runs(hidden: bool) -> list[Case]:
    """Cases ``(objective, space, n_trials, rng)``, the objective one of the analytic ones above (the check
    records its calls). Visible: RANDOM_SEARCH_RUNS with seeds 21, 22, ...; hidden: from the hidden module,
    each with the reference's results as ``expected``."""
    if hidden:
        return cases(TOPIC, "random_search", hidden=True)
    return [Case(label, {"objective": f, "space": SEARCH_SPACE, "n_trials": n, "rng": np.random.default_rng(21 + k)})
            for k, (label, f, n) in enumerate(RANDOM_SEARCH_RUNS)]


@reporting("one objective call per trial, configs from the space (log-uniform lr over 1,000 trials), reproducible from rng, sorted best first, ties in trial order, NaN last")
def check_random_search(random_search, *, hidden=False):
    """Check ``random_search(objective, space, n_trials, rng) -> [(score, config), ...]`` sorted best first."""
    runs = _random_search_runs(hidden)
    for k, run in enumerate(runs):
        label, f, space, n = run.label, run.args["objective"], run.args["space"], run.args["n_trials"]
        objective, calls = _recording(f)
        case = Case(label, {"objective": objective, "space": space, "n_trials": n,
                            "rng": copy.deepcopy(run.args["rng"])})
        results = _call_search(random_search, "random_search", case)
        if len(calls) != n:
            fail(f"random_search called the objective {len(calls)} times for n_trials = {n}; expected exactly once "
                 "per trial.", case, "store the score from the one call instead of calling objective again."
                 if len(calls) == 2 * n else None)
        for c, _ in calls:
            _check_config_shape(c, space, "a config passed to the objective", case)
        if n >= 3 and all(_same_config(c, calls[0][0]) for c, _ in calls):
            fail("random_search evaluated the same config in every trial; draw a new one with sample_config each trial.", case)
        _check_results(results, calls, "random_search", case, TIE_HINT)
        # reproducible: the same rng state gives the same results; another state, other configs
        again_obj, again_calls = _recording(f)
        again = call(random_search, "random_search",
                     Case(label + " (again, same rng state)", {"objective": again_obj, "space": space,
                                                              "n_trials": n, "rng": copy.deepcopy(run.args["rng"])}))
        same = len(again_calls) == len(calls) and all(_same_config(a, b) for (a, _), (b, _) in zip(again_calls, calls))
        if not same or len(again) != len(results):
            fail("random_search gave different configs for two generators in the same state: draw only from the "
                 "`rng` argument (not np.random or a new default_rng).", case)
        if n >= 3:
            other_obj, other_calls = _recording(f)
            call(random_search, "random_search",
                 Case(label + " (another rng)", {"objective": other_obj, "space": space, "n_trials": n,
                                                 "rng": np.random.default_rng(_statistics_seed(21, hidden, 100 + k))}))
            if len(other_calls) == len(calls) and all(_same_config(a, b) for (a, _), (b, _) in zip(other_calls, calls)):
                fail("random_search gave the same configs for two different generators: draw from the `rng` "
                     "argument, do not create a generator with a fixed seed inside.", case)
        if hidden:
            for i, ((s, c), (es, ec)) in enumerate(zip(results, run.expected)):
                if not (_same_config(c, ec) and (float(s) == float(es) or (_is_nan(s) and _is_nan(es)))):
                    fail(f"results[{i}] of random_search is ({s}, {c}), expected ({es}, {ec}).", case,
                         "trial t draws config = sample_config(space, rng) and then calls objective(config) once; "
                         "no other draws from rng.")

    # Distribution of the drawn learning rates over 1,000 trials: the share below the geometric middle of
    # [1e-6, 1] (1e-3) is 0.5 with standard deviation 0.016 for a log-uniform draw; 0.1 is > 6 of them.
    objective, calls = _recording(lambda c: -float(c["lr"]))
    rng = np.random.default_rng(_statistics_seed(21, hidden, 50))
    case = Case("1,000 trials over {'lr': ('log', 1e-6, 1.0)}", {"objective": objective,
                                                                 "space": {"lr": ("log", 1e-6, 1.0)},
                                                                 "n_trials": 1000, "rng": rng})
    call(random_search, "random_search", case)
    below = np.mean([c["lr"] < 1e-3 for c, _ in calls]) if calls else 0.0
    if not abs(below - 0.5) <= 0.1:
        fail(f"{below:.1%} of the 1,000 learning rates random_search drew from ('log', 1e-6, 1.0) are below 1e-3; "
             "log-uniform sampling puts half of them there.", case,
             "draw every config with sample_config(space, rng), which samples 'log' parameters log-uniformly.")


GRID_RUNS = [
    ("a 3 x 2 x 2 grid, smooth objective", {"lr": [1e-3, 1e-2, 1e-1], "hidden": [32, 64], "act": ["relu", "tanh"]},
     _smooth),
    ("a grid written as {'hidden', 'act'}, objective with ties (score depends on 'act' only)",
     {"hidden": [16, 32, 64], "act": ["tanh", "relu", "elu"]}, _ties),
    ("a 4 x 3 grid, NaN for lr > 1e-2", {"lr": [1e-4, 1e-3, 1e-1, 1.0], "hidden": [10, 20, 30],
                                        "act": ["relu"]}, _with_nan),
]


def _grid_runs(hidden: bool) -> list[tuple[str, dict, object]]:
    """(label, grid, objective) triples: GRID_RUNS, and with ``hidden`` the hidden module's cases
    ``(objective, grid)`` after them."""
    runs = copy.deepcopy(GRID_RUNS)
    if hidden:
        runs += [(c.label, c.args["grid"], c.args["objective"]) for c in cases(TOPIC, "grid_search", hidden=True)]
    return runs


@reporting("every combination evaluated exactly once, in sorted-key product order, sorted best first, ties in evaluation order, NaN last")
def check_grid_search(grid_search, *, hidden=False):
    """Check ``grid_search(objective, grid) -> [(score, config), ...]`` sorted best first."""
    for label, grid, f in _grid_runs(hidden):
        objective, calls = _recording(f)
        case = Case(label, {"objective": objective, "grid": grid})
        results = _call_search(grid_search, "grid_search", case)
        names = sorted(grid)
        combos = [dict(zip(names, values)) for values in itertools.product(*(grid[k] for k in names))]
        if len(calls) != len(combos):
            fail(f"grid_search evaluated {len(calls)} configs; the grid has {len(combos)} combinations "
                 f"({' x '.join(str(len(grid[k])) for k in names)}).", case,
                 "every combination of values: nested loops over all parameters (or itertools.product), not zip."
                 if len(calls) < len(combos) else "evaluate each combination exactly once.")
        missing = [c for c in combos if not any(_same_config(c, d) for d, _ in calls)]
        if missing:
            fail(f"grid_search never evaluated the combination {missing[0]} ({len(missing)} missing).", case,
                 "every combination of values: nested loops over all parameters (or itertools.product), not zip.")
        if any(not _same_config(c, d) for c, (d, _) in zip(combos, calls)):
            fail(f"grid_search evaluated the combinations in another order: expected {combos[:3]} ..., got "
                 f"{[d for d, _ in calls[:3]]} ...", case,
                 "loop over the parameters in sorted(grid) order, the last one varying fastest "
                 "(itertools.product(*[grid[k] for k in sorted(grid)])).")
        _check_results(results, calls, "grid_search", case, TIE_HINT)


# ---------------------------------------------------------------- coarse to fine
REFINE_HINTS = {
    "log": "narrow a 'log' parameter on the log10 scale: a, b = min and max of log10(v) over the top_k configs, "
           "widen by margin * (b - a) on each side, clip to [log10(low), log10(high)], then 10 ** each end.",
    "one_minus_log": "work with u = log10(1 - beta): widen and clip [min u, max u] as for 'log', then map back; the "
                     "new low is 1 - 10 ** hi_u (the larger u gives the smaller beta).",
    "linear": "use the first top_k results (the best: results are sorted best first), widen [min, max] by "
              "margin * (max - min) on each side and clip to the old range.",
    "int": "as for 'linear', then round outwards: (\"int\", int(np.floor(lo)), int(np.ceil(hi))).",
    "choice": "keep the options that appear in the top_k configs, in the order they have in the old space.",
}


@reporting("same keys and kinds, numeric ranges within 1e-9 of the reference (log scale for log parameters, margin, clipping, outward rounding of ints), choices restricted and in order")
def check_refine_space(refine_space, *, hidden=False):
    """Check ``refine_space(results, space, top_k, margin=0.25) -> new_space``."""
    for case in _cases("refine_space", hidden):
        space = case.args["space"]
        got = call(refine_space, "refine_space", case)
        if not isinstance(got, dict):
            fail(f"refine_space should return a dict (the new space), but it returned a {type(got).__name__}.", case)
        if set(got) != set(space):
            fail(f"refine_space returned the keys {sorted(got)}, but the space has {sorted(space)}.", case)
        for name in space:
            spec, exp = got[name], case.expected[name]
            kind = space[name][0]
            hint = REFINE_HINTS[kind] + " (The top_k configs are results[:top_k], the best: results are sorted best first.)"
            if not (isinstance(spec, (tuple, list)) and len(spec) == len(exp) and spec[0] == kind):
                fail(f"new_space[{name!r}] should be a tuple like {tuple(exp)!r}, but it is {spec!r:.100}.", case,
                     "keep the kind of every parameter: (kind, low, high), or ('choice', options).")
            if kind == "choice":
                if not (isinstance(spec[1], list) and len(spec[1]) == len(exp[1])
                        and all(_same_value(a, b) for a, b in zip(spec[1], exp[1]))):
                    fail(f"new_space[{name!r}] is {tuple(spec)!r}, expected {tuple(exp)!r}.", case, hint)
                continue
            if kind == "int":
                for v in spec[1:]:
                    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                        fail(f"new_space[{name!r}] = {tuple(spec)!r} should hold ints, but holds "
                             f"{type(v).__name__} {v!r}.", case, hint)
            for v in spec[1:]:
                expect_scalar(v, f"a bound of new_space[{name!r}]", case)
            ok = all(math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=1e-12) for a, b in zip(spec[1:], exp[1:]))
            if not ok:
                fail(f"new_space[{name!r}] is {tuple(spec)!r}, expected {tuple(exp)!r}.", case, hint)
