"""Checks for notebook 09_capstone: a learning-rate schedule, a random hyperparameter configuration, the
random search and the final digits model; then the transfer-learning tools (counting trainable
parameters, freezing, replacing the head, preparing a transfer) and the transfer experiment.

Functions that take a model cannot get their inputs from a fixture (an ``MLP`` is not JSON). Their
checks build small networks from seeds with ``utils.training.MLP`` (random biases, batch-norm
parameters and running statistics, so that nothing is trivially 0 or 1) and compare against what the
docstring specifies: sizes counted from the architecture, the set of frozen names, the new head's
weights drawn from a copy of the same generator. They need no reference solution, so visible and hidden
checks work alike. ``draw_config`` has fixture cases (``fixtures/capstone.json``). Accuracy thresholds:
visible checks use validation data and a low bar.

Hidden tests pass ``hidden=True``: the schedules, configurations and networks then come from the hidden
module (``classroom/hidden/capstone.py``, not part of the student release; other seeds and shapes), and
the experiment checks add its hidden criteria (the graded accuracies, on the test images), e.g.
``check_final_model(final_model, final_history, hidden=True)``. Checks that need more than the value under
test take it keyword-only: ``check_search_results(search_results, n_trials=n_trials)``,
``check_transfer_models(transfer_models, pretrained=pretrained)``.
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
FINAL_VAL_MIN = 0.96       # visible lower bar on the validation images (the reference run reaches ~0.98)
SEARCH_BEST_MIN = 0.90     # best search trial, visible (reference: 0.966 in both the full and the short search)
TRANSFER_VAL_MIN = 0.60    # visible, target validation images, 5 labels per class (reference: 0.78, 0.85, 0.90)

HINTS = {
    "he_std_first_layer": "He initialization draws N(0, 2 / fan_in). The first layer's fan-in is the number of "
                          "inputs of each unit: the 64 pixels. The answer is a standard deviation, not a variance.",
    "make_schedule": "Return a lambda of `epoch`. For 'step' count the drops: (epoch >= epochs // 2) + "
                     "(epoch >= 3 * epochs // 4) is 0, 1 or 2, and the rate is lr0 times 0.1 to that power. "
                     "For 'cosine' use np.cos(np.pi * epoch / epochs). Anything else: raise ValueError.",
    "draw_config": "Four calls on the given rng, in the order of the docstring: two rng.uniform for the exponents "
                   "of lr and reg (then 10 ** ...), one rng.uniform(0.6, 1.0), one rng.choice. Convert with "
                   "float(...) and int(...).",
    "search_results": "A for loop over range(n_trials); every trial calls draw_config(search_rng), "
                      "build_model(config, make_rng(1000 + t)) and train(...) with the arguments listed above, "
                      "then appends (config, history.best_val_acc).",
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


# ---------------------------------------------------------------- the search and the final model
SEARCH_HINT = ("train each model with Adam at config['lr'], the cosine schedule over search_epochs and patience=3, "
               "and record history.best_val_acc; check make_schedule and draw_config above.")


@reporting("one (config, accuracy) pair per trial, valid and distinct configurations, accuracies in [0, 1], "
           "a good best trial")
def check_search_results(search_results, *, n_trials, draw_config, make_schedule, hidden=False):
    """Check the random search: ``search_results`` is a list of ``(config, best validation accuracy)``, one
    per trial of the ``n_trials``. With ``hidden=True`` the search is run again with the given ``draw_config``
    and ``make_schedule`` (the notebook's seeds and sizes): its configurations and accuracies must be these."""
    require_answer(search_results, "search_results")
    if not isinstance(search_results, list):
        fail(f"search_results should be a list, but it is a {type(search_results).__name__}.")
    if len(search_results) != n_trials:
        fail(f"search_results should hold one pair per trial ({n_trials}), but it has {len(search_results)}.")
    accs = []
    for t, item in enumerate(search_results):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            fail(f"search_results[{t}] should be a pair (config, best validation accuracy), but it is {item!r:.120}.")
        _expect_config(item[0], f"the config of trial {t}", None)
        acc = expect_scalar(item[1], f"the accuracy of trial {t}")
        if not 0.0 <= acc <= 1.0:
            fail(f"the accuracy of trial {t} is {acc:.4g}; accuracies are fractions between 0 and 1 "
                 "(history.best_val_acc), not percentages.")
        accs.append(acc)
    if n_trials > 1 and len({item[0]["lr"] for item in search_results}) == 1:
        fail(f"all {n_trials} trials have the same configuration.", None,
             "draw every configuration from the one generator search_rng; a new make_rng(...) inside the loop "
             "starts over and gives the same draws every time.")
    if not max(accs) >= SEARCH_BEST_MIN:
        fail(f"the best trial reached only {max(accs):.3f} validation accuracy (at least {SEARCH_BEST_MIN} "
             "expected).", None, SEARCH_HINT)
    if hidden:
        hidden_criterion(TOPIC, "search_results")(search_results, n_trials=n_trials, draw_config=draw_config,
                                                  make_schedule=make_schedule)


def _load_digits():
    from datasets import load_digits
    return load_digits()


# ---------------------------------------------------------------- the notebook's runs, as its code cells make them
SEARCH_SIZE = {"fast": (4, 6), "full": (6, 8)}   # (n_trials, search_epochs) while nbgrader grades / otherwise
FINAL_EPOCHS = 30
TRANSFER_CONFIG = {"hidden": 128, "keep_prob": 0.8, "reg": 1e-4, "lr": 3e-3}
PRETRAIN_EPOCHS = 20
TRANSFER_LR = {"head": 1e-2, "finetune": 1e-3, "scratch": 3e-3}
TARGET_EPOCHS = 40


def search_size(fast: bool | None = None) -> tuple[int, int]:
    """``(n_trials, search_epochs)`` of the random search while graded (``fast``) or not; by default in this
    process's mode (``utils.fast_mode``)."""
    from utils import fast_mode

    return SEARCH_SIZE["fast" if (fast_mode() if fast is None else fast) else "full"]


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


def final_training(best_config: dict, make_schedule):
    """Section 5: the best configuration trained for 30 epochs (``make_rng(7)``, ``make_rng(8)``) with Adam, the
    cosine schedule of ``make_schedule`` and early stopping (patience 8). Returns ``(model, history)``."""
    from utils import make_rng
    from utils.optim import adam
    from utils.training import train

    model = capstone_model(best_config, make_rng(7))
    schedule = cosine_schedule(make_schedule, best_config["lr"], FINAL_EPOCHS)
    with one_blas_thread():
        history = train(model, _load_digits(), rng=make_rng(8), epochs=FINAL_EPOCHS, update=adam,
                        optim_config={"lr": best_config["lr"]}, lr_schedule=schedule, patience=8, progress_bar=False)
    return model, history


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


@reporting("batch norm and dropout in use, best validation accuracy >= 0.96 (graded: test accuracy >= 0.97)")
def check_final_model(final_model, final_history, *, draw_config, make_schedule, hidden=False):
    """Check the capstone's final model; with ``hidden=True`` the search and the final training are run again
    with the given ``draw_config`` and ``make_schedule`` (``final_training``): the model and its history must
    be theirs, and its accuracy on the test images reach the capstone's goal."""
    require_answer(final_model, "final_model")
    require_answer(final_history, "final_history")
    if not (hasattr(final_model, "params") and hasattr(final_model, "predict")):
        fail(f"final_model should be the trained MLP, but it is a {type(final_model).__name__}.")
    if not final_model.batchnorm or not final_model.keep_prob < 1.0:
        fail(f"the final model should use batch norm and dropout (batchnorm={final_model.batchnorm}, "
             f"keep_prob={final_model.keep_prob}); build it with build_model(best_config, ...).")
    val = expect_scalar(getattr(final_history, "best_val_acc", None), "final_history.best_val_acc")
    if not val >= FINAL_VAL_MIN:
        fail(f"the final model's best validation accuracy is {val:.3f}; at least {FINAL_VAL_MIN} is expected.", None,
             "train the best configuration for final_epochs with Adam, the cosine schedule and early stopping.")
    if hidden:
        hidden_criterion(TOPIC, "final_model")(final_model, final_history, draw_config=draw_config,
                                               make_schedule=make_schedule)


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
