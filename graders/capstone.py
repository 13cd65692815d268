"""Checks for notebook 09_capstone: a learning-rate schedule, a random hyperparameter configuration, the student's
own training procedure ``fit``, the random search and the ablation table made with it, and the final network;
then the transfer-learning tools (counting trainable parameters, freezing, replacing the head, preparing a
transfer) and the transfer experiment.

The capstone's network crosses as plain parameter arrays: a list of layer dicts (``W``, ``b`` and, for a hidden
layer with batch norm, ``gamma``, ``beta``, ``running_mean``, ``running_var``). ``expect_params`` checks the
format with messages for students, and ``params_accuracy`` evaluates such a network with this module's own
forward pass (test-mode batch norm, ReLU), never with the student's code. A number that stands for a training run
(a search trial's accuracy, an ablation row's accuracy at one seed, the final network) is checked by calling the
student's ``fit`` again with the same config and seed (``fit`` must be deterministic; accuracies agree within one
validation image).

Functions that take an ``MLP`` cannot get their inputs from a fixture (an ``MLP`` is not JSON). Their checks
build small networks from seeds with ``utils.training.MLP`` (random biases, batch-norm parameters and running
statistics, so that nothing is trivially 0 or 1) and compare against what the docstring specifies: sizes
counted from the architecture, the set of frozen names, the new head's weights drawn from a copy of the same
generator. ``draw_config`` has fixture cases (``fixtures/capstone.json``). Accuracy thresholds: visible checks use
validation data and a low bar.

Hidden tests pass ``hidden=True``: the schedules, configurations and networks then come from the hidden module
(``classroom/hidden/capstone.py``, not part of the student release; other seeds and shapes), and the experiment
checks add its hidden criteria (another trial and row trained again, the graded accuracies on the test images).
"""
from __future__ import annotations

import copy

import numpy as np

from .checking import (Case, call, expect_array, expect_close, expect_scalar, fail, ratio, repeat, reporting,
                       require_answer)
from .fixtures import cases, current_hidden_seed, hidden_criterion
from .rerun import one_blas_thread

TOPIC = "capstone"
CONFIG_KEYS = ("lr", "reg", "keep_prob", "hidden")
WIDTHS = (64, 128, 256)
FINAL_VAL_MIN = 0.95       # lower bar on the validation images (the reference: 0.969-0.986 over seeds at both sizes)
SEARCH_BEST_MIN = 0.90     # best search trial (reference: 0.958 at both sizes)
TRANSFER_VAL_MIN = 0.60    # visible, target validation images, 5 labels per class (reference: 0.78, 0.85, 0.90)

HINTS = {
    "he_std_first_layer": "He initialization draws N(0, 2 / fan_in). The first layer's fan-in is the number of "
                          "inputs of each unit: the 64 pixels. The answer is a standard deviation, not a variance.",
    "make_schedule": "Return a function of `epoch` (a lambda or a nested def). For 'step' count the drops that "
                     "have happened by this epoch (0, 1 or 2, at the milestones of the text) and multiply lr0 by 0.1 "
                     "per drop. For 'cosine' write the formula of the text with np.cos and np.pi. Anything else: "
                     "raise ValueError.",
    "draw_config": "Four calls on the given rng, in the order of the docstring: two rng.uniform for the exponents "
                   "of lr and reg (then 10 ** ...), one rng.uniform(0.6, 1.0), one rng.choice. Convert with "
                   "float(...) and int(...).",
    "fit": "Write it in pieces and test each: initialize the list of layer dicts (He weights, zero biases, "
           "gamma = 1, beta = 0, running mean 0 and variance 1); a forward pass in 'train' or 'test' mode with caches; "
           "a backward pass (gradient-check it on a tiny network in float64, without dropout); an Adam update per "
           "array with the epoch's learning rate; a loop over shuffled minibatches, the last partial one included. "
           "Make every generator from `seed`.",
    "search_results": "A for loop over range(n_trials); every trial merges base_config and a draw of "
                      "draw_config(search_rng) into one dict (base_config first), trains it with fit and the seed "
                      "1000 + t, and appends the pair (that dict, the validation accuracy from params_accuracy).",
    "ablation": "One row per variant of final_config: {'name': ..., 'config': {**final_config, <one change>}, "
                "'val_acc': [params_accuracy(fit(config, train_val, seed=s), X_val, y_val) for s in ablation_seeds]}; "
                "the 'baseline' row turns every extra piece off (reg = 0, keep_prob = 1 and your own switches).",
    "final_params": "Call fit once with final_config, train_val and the seed 7 and keep what it returns: the arrays "
                    "themselves, in the format of section 4.",
    "table_cell": "How many labelled images per class does the target task have, and are the digits 5-9 the same "
                  "kind of input (8 x 8 scans of handwritten digits) as the digits 0-4?",
    "bummer_strategy": "Little data and different data: which layers' features are specific to the old task, and "
                       "what does fine-tuning millions of weights on 40 images do?",
    "count_trainable_params": "Loop over model.params.items(); skip the names in model.frozen; add up p.size "
                              "(the number of entries of each array).",
    "freeze": "First check every name against model.params and raise KeyError if one is missing; only then set "
              "model.frozen to the union of the old set and the new names.",
    "replace_head": "L = model.num_layers; H is the number of rows of model.params[f'W{L}']. Assign a new "
                    "(H, num_classes) array of He-scaled normal draws from rng and a new zero bias.",
    "prepare_transfer": "copy.deepcopy(pretrained), then replace_head on the copy, then set the copy's frozen set: "
                        "all names but W{L} and b{L} for 'head', set() for 'finetune' (freeze can help).",
}


# ---------------------------------------------------------------- small networks for the model checks
def _network(seed: int, input_dim: int, hidden: list[int], num_classes: int, batchnorm: bool,
             keep_prob: float = 1.0):
    """An MLP whose every parameter and batch-norm statistic is random (none is 0 or 1 by construction)."""
    from utils.training import MLP

    rng = np.random.default_rng(seed)
    model = MLP(input_dim, list(hidden), num_classes, rng, batchnorm=batchnorm, keep_prob=keep_prob)
    for name, p in model.params.items():
        if not name.startswith("W"):
            model.params[name] = (1.0 if name.startswith("gamma") else 0.0) + 0.3 * rng.standard_normal(p.shape)
    if batchnorm:  # two training-mode passes give the running statistics non-default values
        for _ in range(2):
            model.loss(rng.standard_normal((8, input_dim)), rng.integers(0, num_classes, 8), rng=rng)
    return model


def _describe(model) -> str:
    dims = [model.params["W1"].shape[0]] + [model.params[f"W{i}"].shape[1] for i in range(1, model.num_layers + 1)]
    return (f"an MLP {' -> '.join(map(str, dims))} ({model.num_layers} layers, "
            f"{'with' if model.batchnorm else 'without'} batch norm), frozen = {sorted(model.frozen)}")


def _snapshot(model) -> dict:
    return {"params": {k: v.copy() for k, v in model.params.items()},
            "arrays": dict(model.params),   # the array objects themselves
            "frozen": set(model.frozen), "bn_params": copy.deepcopy(model.bn_params)}


def _same_array(a, b) -> bool:
    return isinstance(a, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)


def _changed_params(model, snap) -> list[str]:
    return [k for k, v in snap["params"].items() if k not in model.params or not _same_array(model.params[k], v)]


def _same_bn(model, snap) -> bool:
    """The batch-norm statistics (running mean and variance per layer) are as they were."""
    if len(model.bn_params) != len(snap["bn_params"]):
        return False
    for now, before in zip(model.bn_params, snap["bn_params"]):
        for key in ("running_mean", "running_var"):
            if (key in before) != (key in now) or (key in before and not _same_array(now[key], before[key])):
                return False
    return True


def _model_case(label: str, model, **args) -> Case:
    """A Case whose description names the model; the model itself is not an argument (it is not data)."""
    return Case(f"{label}; model: {_describe(model)}", args)


# ---------------------------------------------------------------- learning-rate schedules
def _schedule_hint(kind: str, lr0: float, T: int, got: np.ndarray) -> str | None:
    t = np.arange(T)
    if kind == "cosine":
        if T > 1 and np.allclose(got, lr0 * (1 + np.cos(np.pi * t / (T - 1))) / 2, rtol=1e-9):
            return "divide by T = epochs, not T - 1: the rate would reach 0 at t = T, one epoch after the last."
        if np.allclose(got, lr0 * (1 + np.cos(np.pi * t / T)), rtol=1e-9):
            return "the values are twice too large: lr0 / 2 * (1 + cos(...)), the factor 1/2 is missing."
        if np.isclose(got[0], 0.0, atol=1e-15):
            return "the schedule starts at 0: it is (1 + cos), not (1 - cos), so that epoch 0 gets lr0."
        return "lr(t) = lr0 / 2 * (1 + cos(pi * t / T)) with the angle in radians (np.cos, np.pi)."
    if kind == "step":
        one_drop = np.where(t >= T // 2, lr0 * 0.1, lr0)
        late = lr0 * 0.1 ** ((t > T // 2).astype(int) + (t > (3 * T) // 4).astype(int))
        if np.allclose(got, one_drop, rtol=1e-9):
            return "there are two drops: at epoch T // 2 and again at epoch 3 * T // 4."
        if np.allclose(got, late, rtol=1e-9):
            return "the rate drops *at* epoch T // 2 (epoch >= T // 2), not one epoch after it."
        return "use integer division (T // 2 and 3 * T // 4) and epoch >= milestone; each drop multiplies by 0.1."
    return "the constant schedule returns lr0 for every epoch."


SCHEDULE_RUNS = [("cosine", 0.01, 10), ("step", 0.1, 8), ("step", 3e-3, 10), ("constant", 0.05, 5),
                 ("cosine", 2e-3, 7), ("step", 0.2, 7)]   # (kind, lr0, epochs) of the visible check
SCHEDULE_VALUES = {   # the expected rates of SCHEDULE_RUNS (the formula lives with the hidden cases)
    ('cosine', 0.01, 10): [0.01, 0.009755282581475769, 0.009045084971874737, 0.007938926261462366, 0.006545084971874737, 0.005, 0.003454915028125263, 0.0020610737385376348, 0.0009549150281252633, 0.00024471741852423234],
    ('step', 0.1, 8): [0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001],
    ('step', 0.003, 10): [0.003, 0.003, 0.003, 0.003, 0.003, 0.00030000000000000003, 0.00030000000000000003, 3e-05, 3e-05, 3e-05],
    ('constant', 0.05, 5): [0.05, 0.05, 0.05, 0.05, 0.05],
    ('cosine', 0.002, 7): [0.002, 0.001900968867902419, 0.0016234898018587336, 0.0012225209339563144, 0.0007774790660436857, 0.0003765101981412665, 9.903113209758097e-05],
    ('step', 0.2, 7): [0.2, 0.2, 0.2, 0.02, 0.02, 0.002, 0.002],
}


@reporting("constant, step and cosine schedules equal their formulas at every epoch (rtol 1e-9), keep no state, "
           "ValueError for an unknown kind")
def check_make_schedule(make_schedule, *, hidden=False):
    """Check ``make_schedule(kind, lr0, epochs) -> schedule`` with ``schedule(epoch) -> float``."""
    if hidden:
        runs = [(c.args["kind"], c.args["lr0"], c.args["epochs"]) for c in cases(TOPIC, "make_schedule", hidden=True)]
    else:
        runs = list(SCHEDULE_RUNS)
    for kind, lr0, T in runs:
        case = Case(f"make_schedule({kind!r}, {lr0:.6g}, {T})", {"kind": kind, "lr0": lr0, "epochs": T})
        schedule = call(make_schedule, "make_schedule", case)
        if not callable(schedule):
            fail(f"make_schedule should return a function of the epoch, but it returned a "
                 f"{type(schedule).__name__} ({schedule!r:.60}).", case,
                 "return a lambda, e.g. `return lambda epoch: lr0` for the constant schedule.")
        got = np.array([expect_scalar(call(schedule, "the schedule returned by make_schedule",
                                           Case(f"{case.label}, then schedule({t})", {"epoch": t})),
                                      f"schedule({t})", case) for t in range(T)])
        expected = np.array(hidden_criterion(TOPIC, "schedule_rates")(kind, lr0, T) if hidden
                            else SCHEDULE_VALUES[(kind, lr0, T)])
        expect_close(got, expected, f"the learning rates of epochs 0..{T - 1}", case, rtol=1e-9, atol=0.0,
                     hint=_schedule_hint(kind, lr0, T, got))
        again = expect_scalar(call(schedule, "the schedule", Case(f"{case.label}, schedule(0) again", {"epoch": 0})),
                              "schedule(0)", case)
        if not np.isclose(again, expected[0], rtol=1e-9, atol=0.0):
            fail(f"schedule(0) gave {again:.6g} when called again after the other epochs (expected {expected[0]:.6g}).",
                 case, "the schedule must be a pure function of the epoch: keep no counter or other state.")
    unknown = Case("an unknown kind", {"kind": "linear", "lr0": 0.1, "epochs": 10})
    try:
        out = make_schedule("linear", 0.1, 10)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 - any other error is a wrong answer
        fail(f"make_schedule('linear', 0.1, 10) raised {type(err).__name__}: {err}; it should raise ValueError.",
             unknown)
    fail(f"make_schedule('linear', 0.1, 10) returned {out!r:.60} instead of raising ValueError.", unknown,
         "an unknown kind is almost always a typo; `raise ValueError(...)` makes it visible at once.")


# ---------------------------------------------------------------- random hyperparameter configurations
def _draw_config_seeds(rng: np.random.Generator) -> list[int]:
    """Six seeds; the visible cases use the first three."""
    return [int(s) for s in rng.integers(0, 2**31, size=6)]


def _fresh_generator_case(seed: int) -> Case:
    return Case(f"a fresh generator np.random.default_rng({seed})", {"rng": np.random.default_rng(seed)})


def _draw_config_cases(rng: np.random.Generator) -> list[Case]:
    return [_fresh_generator_case(s) for s in _draw_config_seeds(rng)[:3]]


CASES = {"draw_config": _draw_config_cases}


def _expect_config(config, what: str, case: Case | None) -> dict:
    """A dict with exactly the four keys, each value of the right type and in its range."""
    if not isinstance(config, dict):
        fail(f"{what} should be a dict with keys {list(CONFIG_KEYS)}, but it is a {type(config).__name__}.", case)
    if set(config) != set(CONFIG_KEYS):
        fail(f"{what} should have exactly the keys {sorted(CONFIG_KEYS)}, but it has {sorted(config)}.", case)
    values = {k: expect_scalar(config[k], f"{what}[{k!r}]", case) for k in ("lr", "reg", "keep_prob")}
    hidden = config["hidden"]
    if isinstance(hidden, (bool, np.bool_)) or not isinstance(hidden, (int, np.integer)) or int(hidden) not in WIDTHS:
        fail(f"{what}['hidden'] should be one of the integers {list(WIDTHS)}, but it is {hidden!r}.", case,
             "rng.choice([64, 128, 256]) returns a numpy integer; int(...) makes it a Python int.")
    ranges = {"lr": (10 ** -3.5, 1e-2), "reg": (1e-5, 1e-2), "keep_prob": (0.6, 1.0)}
    for k, (low, high) in ranges.items():
        if not low * (1 - 1e-12) <= values[k] <= high * (1 + 1e-12):
            fail(f"{what}[{k!r}] = {values[k]:.6g} is outside its range [{low:.4g}, {high:.4g}].", case)
    return {**values, "hidden": int(hidden)}


@reporting("four values in range, lr and reg log-uniform, keep_prob uniform, every width drawn, the exact "
           "values of the reference for the same generator")
def check_draw_config(draw_config, *, hidden=False):
    """Check ``draw_config(rng) -> {"lr", "reg", "keep_prob", "hidden"}``."""
    fixture_cases = cases(TOPIC, "draw_config", hidden=hidden)
    results = [_expect_config(call(draw_config, "draw_config", c), "draw_config(rng)", c) for c in fixture_cases]
    # The distribution, from many draws: 1000 samples put the standard error of a fraction near 0.5 at 0.016,
    # so the +-0.1 bands below are 6 standard errors wide (and the generator is seeded: nothing can flake).
    many_rng = np.random.default_rng(current_hidden_seed() if hidden else 3)
    many_case = Case("1000 draws from one generator", {"rng": many_rng})
    draws = [_expect_config(d, "draw_config(rng)", many_case)
             for d in call(lambda rng: repeat(draw_config, 1000, rng), "draw_config", many_case)]
    lr = np.array([d["lr"] for d in draws])
    reg = np.array([d["reg"] for d in draws])
    keep = np.array([d["keep_prob"] for d in draws])
    widths = np.array([d["hidden"] for d in draws])
    if not 0.4 <= np.mean(lr < 10 ** -2.75) <= 0.6:
        fail(f"lr is not log-uniform: {np.mean(lr < 10 ** -2.75):.0%} of 1000 draws fall below 10^-2.75, the middle "
             "of [10^-3.5, 10^-2] on the log scale (log-uniform: about 50 %).", many_case,
             "draw the exponent uniformly: lr = 10 ** rng.uniform(-3.5, -2), not rng.uniform(10**-3.5, 10**-2).")
    if not 0.4 <= np.mean(reg < 10 ** -3.5) <= 0.6:
        fail(f"reg is not log-uniform: {np.mean(reg < 10 ** -3.5):.0%} of 1000 draws fall below 10^-3.5, the middle "
             "of [10^-5, 10^-2] on the log scale (log-uniform: about 50 %).", many_case,
             "draw the exponent uniformly: reg = 10 ** rng.uniform(-5, -2).")
    if not 0.77 <= np.mean(keep) <= 0.83:   # uniform on [0.6, 1]: mean 0.8, standard error 0.0037
        fail(f"keep_prob is not uniform on [0.6, 1.0]: the mean of 1000 draws is {np.mean(keep):.3f} (expected 0.8).",
             many_case)
    for w in WIDTHS:
        if not np.mean(widths == w) >= 0.2:   # each width 1/3 of the time, standard error 0.015
            fail(f"hidden = {w} came up in only {np.mean(widths == w):.1%} of 1000 draws (expected about 1/3).",
                 many_case, "rng.choice([64, 128, 256]) picks each width with probability 1/3.")
    for c, got in zip(fixture_cases, results):
        expected = c.expected
        hint = None
        got_values = sorted([got["lr"], got["reg"], got["keep_prob"]])
        if any(not np.isclose(got[k], expected[k], rtol=1e-12, atol=0) for k in ("lr", "reg", "keep_prob")):
            hint = ("draw from the given rng, exactly once per value, in the order lr, reg, keep_prob, hidden, "
                    "with the calls of the docstring (rng.uniform(-3.5, -2) for lr's exponent, ...).")
            if got_values == sorted([expected["lr"], expected["reg"], expected["keep_prob"]]):
                hint = "the values are right but assigned to the wrong keys: " + hint
        for k in ("lr", "reg", "keep_prob"):
            expect_close(got[k], expected[k], f"draw_config(rng)[{k!r}]", c, rtol=1e-12, atol=0.0, hint=hint)
        if got["hidden"] != expected["hidden"]:
            fail(f"draw_config(rng)['hidden'] is {got['hidden']}, expected {expected['hidden']}.", c,
                 "draw hidden last, with rng.choice([64, 128, 256]).")


# ---------------------------------------------------------------- the network as plain parameter arrays
INPUT_DIM, NUM_CLASSES = 64, 10
BN_KEYS = ("gamma", "beta", "running_mean", "running_var")
BN_EPS = 1e-5              # the batch-norm epsilon of the format (the course's batchnorm_forward default)
N_VAL = 355                # validation (and test) images of the course's digits split
ACC_ATOL = 1.0 / N_VAL     # an accuracy computed again may differ by at most one image
FIT_KEYS = CONFIG_KEYS + ("epochs",)   # the keys every configuration has; any other key is the student's
SPLIT_KEYS = ("X_train", "y_train", "X_val", "y_val")
SEARCH_SEED0, FINAL_SEED = 1000, 7     # fit's seed for trial t is SEARCH_SEED0 + t; the final model's is FINAL_SEED
FORMAT_HINT = ("hand over a list with one dict per layer: 'W' (fan_in, fan_out) and 'b' (fan_out,) as float arrays, "
               "and for a hidden layer with batch norm also 'gamma', 'beta', 'running_mean', 'running_var' "
               "(fan_out,); the first layer takes the 64 pixels, the last gives 10 scores.")


def expect_params(params, what: str = "params", case: Case | None = None, num_classes: int = NUM_CLASSES,
                  hidden_width: int | None = None) -> list[dict]:
    """``params`` in the capstone's format (see the notebook): a list of layer dicts; returns float64 copies.
    ``hidden_width``: if given, every hidden layer must have that many units."""
    __tracebackhide__ = True
    if isinstance(params, tuple):
        params = list(params)
    if not isinstance(params, list) or not params:
        kind = type(params).__name__
        fail(f"{what} should be a non-empty list of layer dicts, but it is {'an empty list' if params == [] else 'a ' + kind}.",
             case, ("an MLP object is not the format: take its arrays out into layer dicts. " if hasattr(params, "params")
                    else "") + FORMAT_HINT)
    out, fan_in = [], INPUT_DIM
    for i, layer in enumerate(params):
        last = i == len(params) - 1
        name = f"{what}[{i}]"
        if not isinstance(layer, dict):
            fail(f"{name} should be a dict of arrays, but it is a {type(layer).__name__}.", case, FORMAT_HINT)
        keys = set(layer)
        allowed = {"W", "b"} | (set() if last else set(BN_KEYS))
        if not {"W", "b"} <= keys or not keys <= allowed:
            extra = sorted(str(k) for k in keys - allowed)
            fail(f"{name} has the keys {sorted(str(k) for k in keys)}; a{' last' if last else ' hidden'} layer has "
                 f"'W' and 'b'{'' if last else ' (and, with batch norm, all four of ' + str(list(BN_KEYS)) + ')'}"
                 + (f", not {extra}" if extra else "") + ".", case,
                 "the last layer has no batch norm: its scores go straight to the softmax." if last and keys & set(BN_KEYS)
                 else FORMAT_HINT)
        if not last and keys & set(BN_KEYS) and not set(BN_KEYS) <= keys:
            fail(f"{name} has only {sorted(keys & set(BN_KEYS))} of the batch-norm arrays; a layer with batch norm "
                 f"needs all four of {list(BN_KEYS)}.", case,
                 "the test-mode batch norm uses the running mean and variance as well as gamma and beta.")
        W = expect_array(layer["W"], f"{name}['W']", case)
        if W.ndim != 2:
            fail(f"{name}['W'] should be a 2-D array (fan_in, fan_out), but it has shape {W.shape}.", case, FORMAT_HINT)
        if W.shape[0] != fan_in:
            hint = ("W is stored as (fan_in, fan_out), so that scores = x @ W + b; this one looks transposed."
                    if W.shape[1] == fan_in else FORMAT_HINT)
            fail(f"{name}['W'] has shape {W.shape}, but the layer's input has {fan_in} numbers "
                 f"({'the 64 pixels' if i == 0 else 'the width of the layer before'}): expected ({fan_in}, ...).",
                 case, hint)
        fan_out = W.shape[1]
        if last and fan_out != num_classes:
            fail(f"the last layer {name}['W'] has {fan_out} outputs; the network must give {num_classes} scores "
                 f"(one per class).", case)
        if not last and hidden_width is not None and fan_out != hidden_width:
            fail(f"hidden layer {name} has {fan_out} units, but the configuration asked for hidden = {hidden_width}.",
                 case, "every hidden layer has config['hidden'] units.")
        clean = {"W": W.astype(np.float64), "b": expect_array(layer["b"], f"{name}['b']", case, shape=(fan_out,)).astype(np.float64)}
        if not last and set(BN_KEYS) <= keys:
            for k in BN_KEYS:
                clean[k] = expect_array(layer[k], f"{name}[{k!r}]", case, shape=(fan_out,)).astype(np.float64)
            if np.any(clean["running_var"] < 0):
                fail(f"{name}['running_var'] has negative entries ({clean['running_var'].min():.4g}); a variance is "
                     ">= 0.", case, "keep the running average of the batch variances, not of the standard deviations "
                                    "minus something.")
        out.append(clean)
        fan_in = fan_out
    if len(out) < 2:
        fail(f"{what} has a single layer: a linear classifier, not a network with hidden layers.", case, FORMAT_HINT)
    return out


def params_scores(params, X: np.ndarray) -> np.ndarray:
    """The class scores (N, C) of a network in the capstone's format (already through ``expect_params``): every
    hidden layer affine, batch norm in test mode where present, ReLU; the last layer affine."""
    h = np.asarray(X, dtype=np.float64)
    for layer in params[:-1]:
        h = h @ layer["W"] + layer["b"]
        if "gamma" in layer:
            h = layer["gamma"] * (h - layer["running_mean"]) / np.sqrt(layer["running_var"] + BN_EPS) + layer["beta"]
        h = np.maximum(h, 0.0)
    return h @ params[-1]["W"] + params[-1]["b"]


def params_accuracy(params, X: np.ndarray, y: np.ndarray, what: str = "params") -> float:
    """Accuracy of a network handed over as plain parameter arrays, evaluated with the grader's own code: the
    format is checked first (``expect_params``), then the scores are computed here, never by the student's code."""
    clean = expect_params(params, what)
    with np.errstate(all="ignore"):
        scores = params_scores(clean, X)
    if not np.all(np.isfinite(scores)):
        fail(f"{what} gives non-finite scores on {int(np.sum(~np.all(np.isfinite(scores), axis=1)))} images.", None,
             "check the running variances and the weights for huge values.")
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(y)))


def _load_digits():
    from datasets import load_digits
    return load_digits()


def train_val_split() -> dict:
    """The digits without the test images: what ``fit`` gets (``X_train, y_train, X_val, y_val``)."""
    data = _load_digits()
    return {k: data[k] for k in SPLIT_KEYS}


def _fit_case(config: dict, seed: int) -> Case:
    shown = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in config.items()}
    return Case(f"fit(config={shown}, data=<the digits without the test images>, seed={seed})",
                {"config": dict(config), "data": train_val_split(), "seed": seed})


def fit_accuracy(fit, config: dict, seed: int, what: str) -> float:
    """``fit(config, data, seed)`` called as a check calls it, its network's validation accuracy (grader's code)."""
    case = _fit_case(config, seed)
    params = call(fit, "fit", case)
    clean = expect_params(params, f"{what}: fit's result", case)
    return params_accuracy(clean, case.args["data"]["X_val"], case.args["data"]["y_val"], f"{what}: fit's result")


def _expect_fit_config(config, what: str) -> dict:
    """A configuration holds the draw_config keys (in range) and an integer number of epochs >= 1."""
    if not isinstance(config, dict) or not set(FIT_KEYS) <= set(config):
        fail(f"{what} should be a dict with at least the keys {list(FIT_KEYS)}, but it is {config!r:.160}.", None,
             "a configuration is base_config updated with draw_config's four values.")
    for k in ("hidden", "epochs"):
        v = config[k]
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or int(v) < 1:
            fail(f"{what}[{k!r}] should be a positive int, but it is {v!r:.40}.")
    lr, reg, keep = (expect_scalar(config[k], f"{what}[{k!r}]") for k in ("lr", "reg", "keep_prob"))
    if not (lr > 0 and reg >= 0 and 0 < keep <= 1):
        fail(f"{what} has lr = {lr:.4g}, reg = {reg:.4g}, keep_prob = {keep:.4g}; expected lr > 0, reg >= 0 and "
             "0 < keep_prob <= 1.")
    for k, v in config.items():
        if not isinstance(k, str) or not (v is None or isinstance(v, (bool, int, float, str, np.number, np.bool_))):
            fail(f"{what}[{k!r}] is {v!r:.60}; a configuration holds plain values only (numbers, strings, bools, "
                 "None), so that it can be written down and run again.")
    return config


# ---------------------------------------------------------------- fit: the student's own training procedure
FIT_RUNS = [({"lr": 3e-3, "reg": 1e-4, "keep_prob": 0.9, "hidden": 64, "epochs": 6}, 11)]   # (config, seed)
FIT_VAL_MIN = 0.85   # validation accuracy after FIT_RUNS' short run (reference: 0.96-0.97 over seeds)


@reporting("a network in the capstone's format with config['hidden'] units per hidden layer, the same arrays for "
           "the same seed, other arrays for another seed, data unchanged, a short run learns (>= 0.85 validation)")
def check_fit(fit, *, hidden=False):
    """Check ``fit(config, data, seed) -> params`` on short runs (``FIT_RUNS``; hidden: other widths and seeds)."""
    runs = hidden_criterion(TOPIC, "fit_runs")() if hidden else FIT_RUNS
    for config, seed in runs:
        case = _fit_case(config, seed)
        first = expect_params(call(fit, "fit", case), "fit's result", case, hidden_width=int(config["hidden"]))
        again = expect_params(call(fit, "fit", _fit_case(config, seed)), "fit's result (second call)", case)
        if len(again) != len(first) or any(set(a) != set(b) or any(not np.array_equal(a[k], b[k]) for k in a)
                                           for a, b in zip(first, again)):
            fail("two calls with the same config, data and seed gave different networks.", case,
                 "draw every random number (initial weights, minibatch order, dropout masks) from generators made "
                 "from `seed` (make_rng(seed)), never from np.random or a generator made outside fit; keep no state "
                 "between calls (a search and the grader call fit again and must get the same network).")
        other = expect_params(call(fit, "fit", _fit_case(config, seed + 1)), "fit's result (seed + 1)", case)
        if all(np.array_equal(a["W"], b["W"]) for a, b in zip(first, other)):
            fail(f"fit gave the same weights for seed {seed} and seed {seed + 1}.", case,
                 "make the generators from the seed you are given: make_rng(seed).")
        acc = params_accuracy(first, case.args["data"]["X_val"], case.args["data"]["y_val"], "fit's result")
        if not acc >= FIT_VAL_MIN:
            fail(f"after this short run the network reaches only {acc:.3f} validation accuracy (at least {FIT_VAL_MIN} "
                 "expected).", case,
                 "check the gradient of your network with a numeric gradient check, the update rule (Adam at "
                 "config['lr']) and that each epoch visits every training image.")


# ---------------------------------------------------------------- the search, with the student's fit
SEARCH_HINT = ("each trial's configuration is base_config updated with the draw of draw_config(search_rng); train it "
               "with fit and seed 1000 + t, and record the validation accuracy of its network (params_accuracy).")


@reporting("one (config, accuracy) pair per trial, the configurations draw_config gives from make_rng(1), "
           "accuracies in [0, 1], a good best trial")
def check_search_results(search_results, *, n_trials, base_config, draw_config, fit, hidden=False):
    """Check the random search: ``search_results`` is a list of ``(config, validation accuracy)``, one per trial
    of the ``n_trials``; trial t's config is ``base_config`` updated with the t-th draw of ``draw_config`` from
    search_rng = make_rng(1), and its accuracy that of ``fit`` for that config and seed 1000 + t. With ``hidden=True`` one
    trial is trained again with ``fit`` (the hidden test's choice) and must give its recorded accuracy."""
    from utils import make_rng

    require_answer(search_results, "search_results")
    if not isinstance(search_results, list):
        fail(f"search_results should be a list, but it is a {type(search_results).__name__}.")
    if len(search_results) != n_trials:
        fail(f"search_results should hold one pair per trial ({n_trials}), but it has {len(search_results)}.")
    if not isinstance(base_config, dict):
        fail(f"base_config should be a dict, but it is a {type(base_config).__name__}.")
    draws = repeat(draw_config, n_trials, make_rng(1))
    accs = []
    for t, item in enumerate(search_results):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            fail(f"search_results[{t}] should be a pair (config, validation accuracy), but it is {item!r:.120}.")
        config = _expect_fit_config(item[0], f"the config of trial {t}")
        expected = {**base_config, **_expect_config(draws[t], f"draw_config's configuration {t}", None)}
        if set(config) != set(expected) or any(
                not (config[k] == expected[k] or (isinstance(expected[k], float) and np.isclose(config[k], expected[k],
                                                                                                  rtol=1e-12, atol=0)))
                for k in expected):
            fail(f"the config of trial {t} is {config!r:.200}, expected base_config updated with draw_config's "
                 f"draw {t}: {expected!r:.200}.", None,
                 "draw every configuration from the one generator search_rng = make_rng(1), in trial order.")
        acc = expect_scalar(item[1], f"the accuracy of trial {t}")
        if not 0.0 <= acc <= 1.0:
            fail(f"the accuracy of trial {t} is {acc:.4g}; accuracies are fractions between 0 and 1, not percentages.")
        accs.append(acc)
    if not max(accs) >= SEARCH_BEST_MIN:
        fail(f"the best trial reached only {max(accs):.3f} validation accuracy (at least {SEARCH_BEST_MIN} "
             "expected).", None, SEARCH_HINT)
    if hidden:
        hidden_criterion(TOPIC, "search_results")(search_results, fit=fit)


# ---------------------------------------------------------------- the ablation table
ABLATION_MIN_ROWS = 4
ROW_KEYS = ("name", "config", "val_acc")
ABLATION_HINT = ("ablation is a list of rows {'name': str, 'config': dict, 'val_acc': [one accuracy per seed of "
                 "ablation_seeds]}, with a row 'full' (your final recipe), a row 'baseline' (no regularization: "
                 "reg = 0, keep_prob = 1) and at least two rows that each take one piece away.")


def _expect_ablation(ablation, seeds) -> list[dict]:
    require_answer(ablation, "ablation")
    if not isinstance(ablation, list):
        fail(f"ablation should be a list of rows, but it is a {type(ablation).__name__}.", None, ABLATION_HINT)
    seeds = [int(s) for s in seeds]
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        fail(f"ablation_seeds should be at least two different seeds, but it is {seeds}.", None,
             "one seed cannot tell a real difference from luck; average over several.")
    if len(ablation) < ABLATION_MIN_ROWS:
        fail(f"the ablation table has {len(ablation)} rows; at least {ABLATION_MIN_ROWS} are expected.", None,
             ABLATION_HINT)
    names, rows = [], []
    for i, row in enumerate(ablation):
        if not isinstance(row, dict) or set(row) != set(ROW_KEYS):
            fail(f"row {i} of the ablation table should be a dict with exactly the keys {list(ROW_KEYS)}, but it is "
                 f"{row!r:.160}.", None, ABLATION_HINT)
        name = row["name"]
        if not isinstance(name, str) or not name:
            fail(f"row {i}'s name should be a non-empty string, but it is {name!r:.60}.", None, ABLATION_HINT)
        config = _expect_fit_config(row["config"], f"the config of row {name!r}")
        accs = row["val_acc"]
        if not isinstance(accs, (list, tuple, np.ndarray)) or len(accs) != len(seeds):
            fail(f"row {name!r} should have one validation accuracy per seed ({len(seeds)}: seeds {seeds}), but its "
                 f"val_acc is {accs!r:.120}.", None, "run fit once per seed of ablation_seeds for every row.")
        values = [expect_scalar(a, f"row {name!r}: val_acc[{k}]") for k, a in enumerate(accs)]
        for k, a in enumerate(values):
            if not 0.0 <= a <= 1.0:
                fail(f"row {name!r}: val_acc[{k}] = {a:.4g} is not an accuracy (a fraction between 0 and 1).")
            if abs(a * N_VAL - round(a * N_VAL)) > 1e-6:
                fail(f"row {name!r}: val_acc[{k}] = {a:.6g} is not a validation accuracy: it is not a whole number of "
                     f"the {N_VAL} validation images.", None,
                     "record params_accuracy(params, X_val, y_val) of the network fit returns, not a mean or a loss.")
        names.append(name)
        rows.append({"name": name, "config": config, "val_acc": values})
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        fail(f"the row names {duplicates} appear more than once.", None, "give every row its own name.")
    for required in ("full", "baseline"):
        if required not in names:
            fail(f"the ablation table has no row named {required!r} (its rows: {names}).", None, ABLATION_HINT)
    configs = [sorted(r["config"].items(), key=lambda kv: kv[0]) for r in rows]
    for i in range(len(rows)):
        for j in range(i):
            if configs[i] == configs[j]:
                fail(f"the rows {rows[j]['name']!r} and {rows[i]['name']!r} have the same configuration; each row "
                     "should change something.", None, ABLATION_HINT)
    base = rows[names.index("baseline")]["config"]
    if float(base["reg"]) != 0.0 or float(base["keep_prob"]) != 1.0:
        fail(f"the 'baseline' row should have no regularization (reg = 0, keep_prob = 1), but it has reg = "
             f"{base['reg']}, keep_prob = {base['keep_prob']}.", None,
             "the baseline is the plain network trained with Adam: the yardstick for every piece you add.")
    return rows


@reporting("the ablation table's structure (rows 'full' and 'baseline', one validation accuracy per seed, distinct "
           "configurations) and one row trained again with fit gives the accuracies of the table")
def check_ablation(ablation, *, seeds, fit, hidden=False):
    """Check the ablation table (``_expect_ablation``) and its consistency: a row trained again with ``fit`` for one
    seed gives the table's accuracy (within one image). Visible: row 'full', the first seed; hidden: another row
    and seed (the hidden test's choice)."""
    rows = _expect_ablation(ablation, seeds)
    if hidden:
        hidden_criterion(TOPIC, "ablation")(rows, seeds=[int(s) for s in seeds], fit=fit)
        return
    expect_row_rerun(rows[[r["name"] for r in rows].index("full")], 0, int(seeds[0]), fit)


def expect_row_rerun(row: dict, k: int, seed: int, fit) -> None:
    """Row ``row`` of the ablation table, trained again with ``fit`` for its ``k``-th seed, gives its accuracy."""
    acc = fit_accuracy(fit, row["config"], seed, f"row {row['name']!r}")
    if abs(acc - row["val_acc"][k]) > ACC_ATOL + 1e-9:
        fail(f"row {row['name']!r} says {row['val_acc'][k]:.4f} for seed {seed}, but fit(config, train_val, seed={seed}) "
             f"gives a network with {acc:.4f} validation accuracy.", None,
             "fill the table from fit's results (params_accuracy on the validation images) and keep fit "
             "deterministic: the same config and seed must give the same network.")


# ---------------------------------------------------------------- the final model
@reporting("final_params is a network in the capstone's format with >= 0.95 validation accuracy (graded: fit gives "
           "it again for final_config and seed 7, and its test accuracy, computed by the grader, is >= 0.97)")
def check_final_params(final_params, *, final_config, fit, hidden=False):
    """Check the capstone's final network, handed over as plain arrays; with ``hidden=True`` it must be what
    ``fit(final_config, train_val, seed=FINAL_SEED)`` returns, and its test accuracy reach the goal."""
    require_answer(final_params, "final_params")
    _expect_fit_config(final_config, "final_config")
    data = train_val_split()
    val = params_accuracy(final_params, data["X_val"], data["y_val"], "final_params")
    if not val >= FINAL_VAL_MIN:
        fail(f"the final network's validation accuracy is {val:.3f}; at least {FINAL_VAL_MIN} is expected before the "
             "test set is worth a look.", None,
             "the search's best configuration, trained for longer, should be well above it; check fit and "
             "the configuration you chose.")
    if hidden:
        hidden_criterion(TOPIC, "final_params")(final_params, final_config=final_config, fit=fit)


# ---------------------------------------------------------------- the notebook's runs, as its code cells make them
TRANSFER_CONFIG = {"hidden": 128, "keep_prob": 0.8, "reg": 1e-4, "lr": 3e-3}
PRETRAIN_EPOCHS = 20
TRANSFER_LR = {"head": 1e-2, "finetune": 1e-3, "scratch": 3e-3}
TARGET_EPOCHS = 40


def capstone_model(config: dict, rng: np.random.Generator, num_classes: int = 10):
    """The notebook's ``build_model``: 64 -> hidden -> hidden -> num_classes, batch norm, dropout, He init, L2."""
    from utils.layers import init_he
    from utils.training import MLP

    hidden = int(config["hidden"])
    return MLP(64, [hidden, hidden], num_classes, rng, init=init_he, batchnorm=True,
               keep_prob=config["keep_prob"], reg=config["reg"])


def cosine_schedule(make_schedule, lr0: float, epochs: int):
    """``make_schedule("cosine", lr0, epochs)``, the student's, called as a check calls it."""
    case = Case(f"make_schedule('cosine', {lr0:.6g}, {epochs})", {"kind": "cosine", "lr0": lr0, "epochs": epochs})
    schedule = call(make_schedule, "make_schedule", case)
    if not callable(schedule):
        fail(f"make_schedule should return a function of the epoch, but it returned {schedule!r:.80}.", case)
    return schedule


def transfer_experiment(make_schedule, prepare_transfer) -> tuple:
    """Section 8: the network pretrained on the digits 0-4 (``make_rng(20)``, ``make_rng(21)``, the cosine schedule
    of ``make_schedule``), then the three models trained on 5 labelled images per class of 5-9 (``make_rng(5)``),
    each from ``make_rng(22)`` (``prepare_transfer`` for "head" and "finetune") and ``make_rng(23)``.
    Returns ``(pretrained, {"head": model, "finetune": model, "scratch": model})``."""
    data = _load_digits()

    def split(X, y, classes):
        keep = np.isin(y, classes)
        return X[keep], y[keep] - classes[0]

    source = {}
    source["X_train"], source["y_train"] = split(data["X_train"], data["y_train"], [0, 1, 2, 3, 4])
    source["X_val"], source["y_val"] = split(data["X_val"], data["y_val"], [0, 1, 2, 3, 4])
    X_pool, y_pool = split(data["X_train"], data["y_train"], [5, 6, 7, 8, 9])
    with one_blas_thread():
        return _transfer_runs(make_schedule, prepare_transfer, source, X_pool, y_pool)


def _transfer_runs(make_schedule, prepare_transfer, source: dict, X_pool, y_pool) -> tuple:
    from utils import make_rng
    from utils.optim import adam
    from utils.training import train

    network = capstone_model(TRANSFER_CONFIG, make_rng(20), num_classes=5)
    train(network, source, rng=make_rng(21), epochs=PRETRAIN_EPOCHS, update=adam,
          optim_config={"lr": TRANSFER_CONFIG["lr"]},
          lr_schedule=cosine_schedule(make_schedule, TRANSFER_CONFIG["lr"], PRETRAIN_EPOCHS), progress_bar=False)
    rng = make_rng(5)
    idx = np.concatenate([rng.choice(np.flatnonzero(y_pool == k), 5, replace=False) for k in range(5)])
    X_few, y_few = X_pool[idx], y_pool[idx]
    models = {}
    for strategy in ("head", "finetune", "scratch"):
        start = make_rng(22)
        if strategy == "scratch":
            model = capstone_model(TRANSFER_CONFIG, start, num_classes=5)
        else:
            case = _model_case(f"the pretrained network, strategy {strategy!r}", network, strategy=strategy,
                               num_classes=5, rng=start)
            model = call(lambda *args: prepare_transfer(network, strategy, 5, start), "prepare_transfer", case)
            if not (hasattr(model, "params") and hasattr(model, "frozen")):
                fail(f"prepare_transfer should return the prepared MLP, but it returned {model!r:.80}.", case)
        train(model, {"X_train": X_few, "y_train": y_few}, rng=make_rng(23), epochs=TARGET_EPOCHS,
              batch_size=len(y_few), update=adam, optim_config={"lr": TRANSFER_LR[strategy]}, progress_bar=False)
        models[strategy] = model
    return network, models


# ---------------------------------------------------------------- transfer-learning tools
TOOL_NETWORKS = [("a network with batch norm", 6, [5, 4], 3, True),       # label, input_dim, hidden, classes,
                 ("a network without batch norm", 7, [5], 4, False)]     # batchnorm


def _tool_networks(exercise: str, hidden: bool, seed: int = 0) -> list:
    """(label, model, rng) triples: networks with and without batch norm (seeds 1, 2), or (``hidden``) the
    models of the hidden cases of ``exercise``. ``rng`` is where the check draws its requests' generators
    from: one ``default_rng(seed)`` for all visible networks, a hidden case's own ``rng`` argument."""
    if hidden:
        return [(c.label, next(iter(c.args.values())), c.args.get("rng"))
                for c in cases(TOPIC, exercise, hidden=True)]
    rng = np.random.default_rng(seed)
    return [(label, _network(k + 1, d, h, c, batchnorm=bn), rng)
            for k, (label, d, h, c, bn) in enumerate(TOOL_NETWORKS)]


# the expected counts of the visible networks for the four frozen sets of the check (the counting rule
# lives with the hidden cases)
COUNT_VALUES = [[92, 57, 15, 0], [64, 24, 24, 0]]


@reporting("the number of entries of the parameters not in model.frozen, for several networks and frozen sets; "
           "the model untouched")
def check_count_trainable_params(count_trainable_params, *, hidden=False):
    """Check ``count_trainable_params(model) -> int``."""
    for k, (label, model, _) in enumerate(_tool_networks("count_trainable_params", hidden)):
        L = model.num_layers
        names = list(model.params)
        for j, frozen in enumerate((set(), {"W1", "b1"}, set(names) - {f"W{L}", f"b{L}"}, set(names))):
            model.frozen = set(frozen)
            snap = _snapshot(model)
            case = _model_case(label, model)
            n = expect_scalar(call(lambda: count_trainable_params(model), "count_trainable_params", case),
                              "count_trainable_params(model)", case)
            expected = hidden_criterion(TOPIC, "trainable_count")(model) if hidden else COUNT_VALUES[k][j]
            hint = None
            every = sum(p.size for p in model.params.values())
            if frozen and n == every:
                hint = "the frozen parameters are counted too: skip every name in model.frozen."
            elif n == every - expected and frozen != set(names):
                hint = "you counted the frozen parameters instead of the trainable ones."
            elif n == len(model.params) - len(frozen):
                hint = "that is the number of arrays; count their entries (p.size)."
            if n != expected:
                fail(f"count_trainable_params(model) is {n:g}, expected {expected}.", case, hint)
            if _changed_params(model, snap) or model.frozen != snap["frozen"]:
                fail("count_trainable_params changed the model; it should only count.", case)


@reporting("the names are added to model.frozen (a set), nothing else is frozen, params untouched, KeyError on an "
           "unknown name")
def check_freeze(freeze, *, hidden=False):
    """Check ``freeze(model, names)``: adds ``names`` to ``model.frozen``."""
    for label, model, _ in _tool_networks("freeze", hidden):
        L = model.num_layers
        hidden_names = [n for n in model.params if not n.endswith(str(L))]
        requests = [(set(), ["W1", "b1"]), ({f"W{L}"}, ("W1",) + (("gamma1", "beta1") if model.batchnorm else ())),
                    (set(), hidden_names)]
        for before, names in requests:
            model.frozen = set(before)
            snap = _snapshot(model)
            case = _model_case(f"{label}, freezing {list(names)}", model, names=names)
            call(lambda names: freeze(model, names), "freeze", case)
            expected = set(before) | set(names)
            got = model.frozen
            if not isinstance(got, set):
                fail(f"model.frozen should be a set, but after freeze it is a {type(got).__name__} ({got!r:.100}).",
                     case, "store a set: the union of the old frozen names and the new ones.")
            hint = None
            if got == set(model.params):
                hint = "every parameter is frozen; freeze only the names you are given."
            elif got == set(before):
                hint = "nothing was added to model.frozen."
            elif got == set(names) and before:
                hint = "the names frozen before were dropped: add to model.frozen, do not replace it."
            elif got == set(before) | (set(model.params) - set(names)):
                hint = "you froze every parameter *except* the given names."
            if got != expected:
                fail(f"after freeze, model.frozen is {sorted(got)}, expected {sorted(expected)}.", case, hint)
            changed = _changed_params(model, snap)
            if changed or set(model.params) != set(snap["params"]):
                fail(f"freeze changed model.params ({changed or sorted(set(model.params) ^ set(snap['params']))}); "
                     "freezing only records names in model.frozen.", case)
        model.frozen = {"W1"}
        snap = _snapshot(model)
        typo = ["b1", "gama1" if model.batchnorm else "w2"]
        case = _model_case(f"{label}, freezing {typo} (a misspelled name)", model, names=typo)
        try:
            freeze(model, list(typo))
        except KeyError:
            if model.frozen != snap["frozen"]:
                fail(f"freeze raised KeyError but had already changed model.frozen to {sorted(model.frozen)}.", case,
                     "check every name first, and change model.frozen only when they are all parameters.")
            continue
        except NotImplementedError:
            raise
        except Exception as err:  # noqa: BLE001
            fail(f"freeze raised {type(err).__name__}: {err}; a name that is not a parameter should raise KeyError.",
                 case)
        fail(f"freeze accepted the name {typo[1]!r}, which is not a parameter of the model "
             f"(model.frozen is now {sorted(model.frozen)}).", case,
             "raise KeyError for a name that is not in model.params: a typo would otherwise leave that "
             "parameter training while you believe it frozen.")


def _he_head(rng_copy: np.random.Generator, H: int, C: int) -> np.ndarray:
    draws = rng_copy.standard_normal((H, C))
    return draws * np.sqrt(2.0 / H)


def _expect_new_head(model, snap, C: int, rng_copy: np.random.Generator, case: Case, what: str) -> None:
    """The last layer is a new He-initialized (H, C) weight and a zero bias; every other parameter as before."""
    L = model.num_layers
    W_old = snap["params"][f"W{L}"]
    H = W_old.shape[0]
    if set(model.params) != set(snap["params"]):
        fail(f"{what}: the parameter names changed from {sorted(snap['params'])} to {sorted(model.params)}.", case,
             f"replace the values of W{L} and b{L}; add or remove no other name.")
    W = model.params[f"W{L}"]
    if isinstance(W, np.ndarray) and W.shape == (C, H) and C != H:
        fail(f"{what}: W{L} has shape {W.shape}, expected ({H}, {C}) (H = {H} inputs, C = {C} classes).", case,
             "weights are (fan_in, fan_out): rng.standard_normal((H, num_classes)).")
    W = expect_array(W, f"{what}: W{L}", case, shape=(H, C))
    b = expect_array(model.params[f"b{L}"], f"{what}: b{L}", case, shape=(C,))
    expect_close(b, np.zeros(C), f"{what}: b{L}", case, rtol=0, atol=0, hint="the new bias is np.zeros(num_classes).")
    changed = [k for k in _changed_params(model, snap) if k not in (f"W{L}", f"b{L}")]
    if changed:
        fail(f"{what}: the parameters {changed} changed; only the last layer (W{L}, b{L}) may.", case,
             "transfer keeps every hidden layer exactly as it was pretrained: reinitialize the head only.")
    if not _same_array(snap["arrays"][f"W{L}"], W_old):
        fail(f"{what}: the old array of W{L} was overwritten in place.", case,
             "assign a new array (model.params[...] = ...); writing into the old one (W[...] = ...) changes every "
             "copy of the pretrained network that shares it.")
    expected = _he_head(rng_copy, H, C)
    r = ratio(W, expected)
    k = min(C, W_old.shape[1])
    if np.array_equal(W[:, :k], W_old[:, :k]):
        hint = f"W{L} still holds the old weights: draw new ones."
    elif r is not None and np.isclose(r, 1.0 / np.sqrt(2.0 / H)):
        hint = "the draws are not scaled: multiply them by sqrt(2 / H)."
    elif r is not None and H != C and np.isclose(r, np.sqrt(H / C)):
        hint = f"the scale uses the number of classes; He's fan-in is the number of inputs H = {H}: sqrt(2 / H)."
    elif r is not None and np.isclose(r, 0.01 / np.sqrt(2.0 / H)):
        hint = "this is a small (0.01) initialization; the docstring asks for He: sqrt(2 / H)."
    else:
        hint = ("W should be rng.standard_normal((H, num_classes)) times sqrt(2 / H): one draw from the rng you "
                "are given (not np.random, and nothing drawn before it).")
    expect_close(W, expected, f"{what}: W{L}", case, rtol=1e-12, atol=0.0, hint=hint)


@reporting("a new (H, C) He-initialized head from the given rng, zero bias, hidden layers, frozen set and "
           "batch-norm statistics untouched, old arrays not overwritten")
def check_replace_head(replace_head, *, hidden=False):
    """Check ``replace_head(model, num_classes, rng)``."""
    for label, model, rng in _tool_networks("replace_head", hidden, seed=5):
        L = model.num_layers
        old_C = model.params[f"W{L}"].shape[1]
        for C in dict.fromkeys([old_C + 3, old_C, 2]):   # a new size first, then the same size (in-place writes)
            model.frozen = {"W1"}
            snap = _snapshot(model)
            gen = np.random.default_rng(int(rng.integers(2**31)))
            gen_copy = copy.deepcopy(gen)
            case = _model_case(f"{label}, {old_C} -> {C} classes", model, num_classes=C, rng=gen)
            call(lambda num_classes, rng: replace_head(model, num_classes, rng), "replace_head", case)
            _expect_new_head(model, snap, C, gen_copy, case, "after replace_head")
            if model.frozen != snap["frozen"]:
                fail(f"replace_head changed model.frozen from {sorted(snap['frozen'])} to {sorted(model.frozen)}.", case)
            if not _same_bn(model, snap):
                fail("replace_head changed the batch-norm running statistics; leave model.bn_params alone.", case)
            for k, v in snap["arrays"].items():   # back to the original network for the next request
                model.params[k] = v


@reporting("a deep copy with a new head, the right frozen set for 'head' and 'finetune', the pretrained network "
           "untouched (parameters, frozen set, batch-norm statistics), ValueError for an unknown strategy")
def check_prepare_transfer(prepare_transfer, *, hidden=False):
    """Check ``prepare_transfer(pretrained, strategy, num_classes, rng) -> model``."""
    for label, pretrained, rng in _tool_networks("prepare_transfer", hidden, seed=9):
        L = pretrained.num_layers
        for strategy, frozen_before in (("head", set()), ("finetune", set()), ("finetune", {"W1"}), ("head", {"b1"})):
            pretrained.frozen = set(frozen_before)
            snap = _snapshot(pretrained)
            C = pretrained.params[f"W{L}"].shape[1] + 2
            gen = np.random.default_rng(int(rng.integers(2**31)))
            gen_copy = copy.deepcopy(gen)
            case = _model_case(f"{label}, strategy {strategy!r}, {C} new classes", pretrained,
                               strategy=strategy, num_classes=C, rng=gen)
            model = call(lambda strategy, num_classes, rng: prepare_transfer(pretrained, strategy, num_classes, rng),
                         "prepare_transfer", case)
            if model is pretrained:
                fail("prepare_transfer returned the pretrained network itself; return a deep copy.", case,
                     "make the copy with copy.deepcopy(pretrained) and change only the copy.")
            if not (hasattr(model, "params") and hasattr(model, "frozen") and hasattr(model, "num_layers")):
                fail(f"prepare_transfer should return an MLP, but it returned a {type(model).__name__}.", case)
            if _changed_params(pretrained, snap) or set(pretrained.params) != set(snap["params"]) \
                    or pretrained.frozen != snap["frozen"] or not _same_bn(pretrained, snap):
                fail("prepare_transfer changed the pretrained network (its parameters, frozen set or batch-norm "
                     "statistics).", case, "work on copy.deepcopy(pretrained); copy.copy shares the params dict.")
            head_snap = dict(snap, arrays={**snap["arrays"]})
            _expect_new_head(model, head_snap, C, gen_copy, case, "the prepared model")
            expected = set(model.params) - {f"W{L}", f"b{L}"} if strategy == "head" else set()
            got = model.frozen
            if not isinstance(got, set) or got != expected:
                hint = None
                if isinstance(got, set) and got == set(model.params):
                    hint = f"the new head is frozen too: for 'head' every name except W{L} and b{L} is frozen."
                elif isinstance(got, set) and got == frozen_before:
                    hint = "the copy kept the pretrained network's frozen set; set it as the docstring says."
                elif isinstance(got, set) and strategy == "head" and got == {n for n in expected if n.startswith("W")}:
                    hint = "biases and batch-norm parameters must be frozen too, not only the weights."
                fail(f"for strategy {strategy!r} model.frozen should be {sorted(expected)}, but it is "
                     f"{sorted(got) if isinstance(got, set) else got!r}.", case, hint)
            # train-mode pass on the copy: it must not reach into the pretrained network's statistics or arrays
            x_rng = np.random.default_rng(0)
            try:
                with np.errstate(all="ignore"):
                    model.loss(x_rng.standard_normal((6, pretrained.params["W1"].shape[0])),
                               x_rng.integers(0, C, 6), rng=x_rng)
            except Exception as err:  # noqa: BLE001
                fail(f"the prepared model cannot run a training step: {type(err).__name__}: {err}", case)
            if not _same_bn(pretrained, snap) or model.frozen is pretrained.frozen:
                fail("the prepared model shares state with the pretrained network (batch-norm statistics or the "
                     "frozen set), so training it changes the pretrained one.", case,
                     "copy.deepcopy(pretrained) copies everything; copy.copy does not.")
    pretrained.frozen = set()
    snap = _snapshot(pretrained)
    unknown = Case("an unknown strategy 'scratch'", {"strategy": "scratch"})
    try:
        out = prepare_transfer(pretrained, "scratch", 3, np.random.default_rng(0))
    except ValueError:
        if _changed_params(pretrained, snap):
            fail("prepare_transfer raised ValueError but changed the pretrained network first.", unknown)
        return
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001
        fail(f"prepare_transfer raised {type(err).__name__}: {err}; an unknown strategy should raise ValueError.",
             unknown)
    fail(f"prepare_transfer(pretrained, 'scratch', ...) returned {type(out).__name__} instead of raising ValueError.",
         unknown, "accept only 'head' and 'finetune'; raise ValueError for anything else.")


# ---------------------------------------------------------------- the transfer experiment
def _target_split(data: dict, part: str):
    """The images of the digits 5-9 in ``part`` ("train", "val", "test"), labels shifted to 0-4."""
    keep = data[f"y_{part}"] >= 5
    return data[f"X_{part}"][keep], data[f"y_{part}"][keep] - 5


@reporting("head-only kept every pretrained layer, fine-tuning changed them, each strategy >= 0.6 on the target "
           "validation images (graded: target test accuracies)")
def check_transfer_models(transfer_models, *, pretrained, make_schedule, prepare_transfer, hidden=False):
    """Check the three models trained on 5 labelled images per class of the digits 5-9, from ``pretrained``
    (the network trained on the digits 0-4). With ``hidden=True`` the pretraining and the three trainings are
    run again with the given ``make_schedule`` and ``prepare_transfer`` (``transfer_experiment``): ``pretrained``
    and the models must be theirs, and the target test accuracies reach their bars."""
    from utils.training import accuracy

    if not isinstance(transfer_models, dict) or set(transfer_models) != {"head", "finetune", "scratch"}:
        fail("transfer_models should be a dict with the keys 'head', 'finetune' and 'scratch'.")
    for s in ("head", "finetune", "scratch"):
        require_answer(transfer_models[s], f"transfer_models[{s!r}]")
    require_answer(pretrained, "pretrained")
    head, finetune = transfer_models["head"], transfer_models["finetune"]
    L = pretrained.num_layers
    body = [k for k in pretrained.params if k not in (f"W{L}", f"b{L}")]
    moved = [k for k in body if not _same_array(head.params.get(k), pretrained.params[k])]
    if moved:
        fail(f"training the head-only model changed its pretrained layers {moved}.", None,
             "prepare_transfer(..., 'head', ...) must freeze every parameter except the new head.")
    if head.params[f"W{L}"].shape[1] != 5:
        fail(f"the head-only model's last layer has {head.params[f'W{L}'].shape[1]} outputs, expected 5 (digits 5-9).")
    if all(_same_array(finetune.params.get(k), pretrained.params[k]) for k in body):
        fail("fine-tuning left every pretrained layer unchanged; with 'finetune' nothing should be frozen.")
    data = _load_digits()
    with np.errstate(all="ignore"):
        X_val, y_val = _target_split(data, "val")
        for s, m in transfer_models.items():
            acc = accuracy(m, X_val, y_val)
            if not acc >= TRANSFER_VAL_MIN:
                fail(f"the {s!r} model reaches only {acc:.3f} on the target validation images (at least "
                     f"{TRANSFER_VAL_MIN} expected with 5 labelled images per class).")
    if hidden:
        hidden_criterion(TOPIC, "transfer_models")(transfer_models, pretrained=pretrained, make_schedule=make_schedule,
                                                   prepare_transfer=prepare_transfer)
