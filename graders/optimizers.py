"""Checks for notebook 06_optimizers: the update rules (SGD, momentum, Nesterov momentum, AdaGrad,
RMSProp, Adam) behind one interface, and the learning-rate schedules.

Every update rule is ``update(w, dw, config=None) -> (next_w, config)``. Its check runs several
consecutive steps, passing the config each call returns back into the next call (so the state kept in
``config`` is tested, not just one step), and compares after every step

- the step taken, ``next_w - w``, and ``next_w`` itself with the reference,
- every key of the reference's config (hyperparameters filled in with their defaults, and the state
  ``v``, ``cache``, ``m``, ``t``) with the config the student returned,
- that ``w`` and ``dw`` were not changed in place, and that nothing raised a numpy warning.

The first trajectory starts with ``config=None``. The fixture (``fixtures/optimizers.json``) holds, for
every step, the reference's input ``(w, dw, config)`` and its output ``(next_w, config)``; the step's
input config is the reference state after the previous steps, which also lets a failing check tell
"this step's formula is wrong" from "the state is not carried from call to call".

Every check is ``check_<exercise>(student_function, *, hidden=False)``. Called with no options it uses
the visible cases of the fixture; hidden tests pass ``hidden=True``, which draws the hidden cases (more
trajectories and schedule inputs, kept with the instructor, not in this package) and compares against
the reference.
"""
from __future__ import annotations

import copy
import re
import warnings

import numpy as np

from .checking import (CheckFailure, Case, call, expect_array, expect_close, expect_scalar,
                       expect_tuple, fail, ratio, reporting)
from .fixtures import cases, hidden_criterion
from .rerun import one_blas_thread

TOPIC = "optimizers"
STEP_RTOL = 1e-6    # every sound float64 formula agrees with the reference to ~1e-13 (20 steps, no cancellation)
W_RTOL, W_ATOL = 1e-7, 1e-10   # a backstop: the step (checked first, rtol 1e-6) is what decides
STATE_RTOL = 1e-7   # state entries can be ~1e-9 (squared tiny gradients): compare relatively, no absolute slack
SCHEDULE_RTOL, SCHEDULE_ATOL = 1e-9, 1e-15

STATE_KEYS = {"sgd": (), "sgd_momentum": ("v",), "nesterov_momentum": ("v",), "adagrad": ("cache",),
              "rmsprop": ("cache",), "adam": ("m", "v", "t")}
CUSTOM = {  # hyperparameters of the second trajectory: none of them the default, so defaults cannot hide
    "sgd": {"lr": 0.3},
    "sgd_momentum": {"lr": 0.05, "momentum": 0.8},
    "nesterov_momentum": {"lr": 0.05, "momentum": 0.8},
    "adagrad": {"lr": 0.1, "eps": 1e-6},
    "rmsprop": {"lr": 1e-3, "decay": 0.9, "eps": 1e-6},
    "adam": {"lr": 1e-2, "beta1": 0.8, "beta2": 0.95, "eps": 1e-6},
}
EPS_LABEL = "tiny gradients (about 1e-4), where the placement of eps matters"
_STEP_LABEL = re.compile(r"^(?P<desc>.*), step (?P<k>\d+) of (?P<K>\d+)$", re.S)


HINTS = {
    "sgd": "One line: the new parameters are the old ones minus the learning rate config['lr'] times the "
           "gradient. Build a new array (w - ...), do not subtract in place.",
    "sgd_momentum": "Read the velocity with config.get('v', np.zeros_like(w)), decay it by the momentum, subtract "
                    "lr * dw, add the result to w, and store the new velocity back in config['v'].",
    "momentum_speedup": "At the fixed point v = mu v - lr g, solve for v and compare it with SGD's step -lr g.",
    "nesterov_momentum": "Keep the old velocity (v_prev) before you overwrite it; the new one is computed exactly as "
                         "for momentum, and the step combines both: -mu * v_prev + (1 + mu) * v.",
    "adagrad": "The cache is a sum: add dw * dw to the stored cache (as a new array). Divide lr * dw by "
               "np.sqrt(cache) + eps, with eps outside the root, and save the cache in config.",
    "rmsprop": "Same as AdaGrad except the cache: a weighted average decay * old + (1 - decay) * dw**2, "
               "assigned (not added with +=).",
    "adam": "Count the step first (t = old t + 1), update m and v as weighted averages, divide them by "
            "(1 - beta1**t) and (1 - beta2**t), step with the corrected ones, and save m, v and t in config.",
    "adam_uncorrected_first_step": "After one step m = (1 - beta1) g and v = (1 - beta2) g**2. Compare "
                                   "m / sqrt(v) with the corrected m_hat / sqrt(v_hat) = g / |g|.",
    "saddle_escape": "What is the size of AdaGrad's step in w1 when the gradient in w1 is 0.002? And when it is 2?",
    "adagrad_loglog_slope": "The cache after t steps is about t times the mean squared gradient; take its root and "
                            "read off the power of t.",
    "step_decay": "epoch // every counts the drops so far; multiply lr0 by drop to that power. Integer division "
                  "works on numpy integer arrays too.",
    "exponential_decay": "lr0 times np.exp of minus k times t; np.exp works on numbers and arrays alike.",
    "inverse_time_decay": "lr0 divided by (1 + k * t), with the parentheses.",
    "cosine_decay": "Clip t at T with np.minimum, turn it into a fraction of T, and use "
                    "lr_min + (lr0 - lr_min) * (1 + cos(pi * fraction)) / 2.",
    "linear_warmup": "(t + 1) / warmup_steps is the fraction of the warm-up done after step t; cap it at 1 with "
                     "np.minimum and multiply by lr0.",
    "random_mini_batches": "Draw perm = rng.permutation(N) once, index X and y with it (both with the same perm), "
                           "then slice the shuffled arrays every batch_size rows; range(0, N, batch_size) gives the "
                           "start of every batch, the last one included.",
    "train_loop": "Make one config per parameter (copy.deepcopy(optim_config or {})) before the first epoch. Each "
                  "epoch: set the scheduled lr in every config, loop over random_mini_batches(...), and for each "
                  "batch record the loss and update every parameter with its own config; then append the epoch's "
                  "lr, losses and accuracies, and ask early_stop(history) whether to stop.",
}


# ---------------------------------------------------------------- case generators (the visible cases)
def _gradients(rng, shape, steps, scale=1.0):
    """A correlated gradient sequence (a common direction plus noise), as minibatch gradients are."""
    base = rng.standard_normal(shape)
    return [scale * (base + 0.5 * rng.standard_normal(shape)) for _ in range(steps)]


def _trajectory(name, desc, w0, dws, config0):
    """One Case per step: the reference's input at that step. generate() fills in its output."""
    from . import reference

    ref = getattr(reference.load(TOPIC), name)
    out, w, config = [], np.array(w0, dtype=np.float64), copy.deepcopy(config0)
    for k, dw in enumerate(dws):
        out.append(Case(f"{desc}, step {k + 1} of {len(dws)}",
                        {"w": w.copy(), "dw": np.array(dw, dtype=np.float64), "config": copy.deepcopy(config)}))
        w, config = ref(w.copy(), np.array(dw, dtype=np.float64), copy.deepcopy(config))
    return out


def _trajectories(name, rng: np.random.Generator) -> list[tuple]:
    """The visible trajectories of update rule ``name``: ``(description, w0, gradients, config0)`` each."""
    dws = _gradients(rng, (3,), 4)
    dws[0][1] = 0.0  # an exact zero: dividing by sqrt(cache) without eps gives 0/0
    return [
        ("config=None on the first call (the defaults), w of shape (3,), one gradient entry exactly 0",
         rng.standard_normal(3), dws, None),
        (f"config={CUSTOM[name]} on the first call, w of shape (2, 3)",
         rng.standard_normal((2, 3)), _gradients(rng, (2, 3), 5), dict(CUSTOM[name])),
        (f"{EPS_LABEL}, config={{'lr': 0.05}}, w of shape (4,)",
         rng.standard_normal(4), _gradients(rng, (4,), 3, scale=1e-4), {"lr": 0.05}),
    ]


def trajectory_cases(name, trajectories) -> list[Case]:
    """One Case per step of every trajectory ``(description, w0, gradients, config0)``."""
    return [case for desc, w0, steps, config0 in trajectories for case in _trajectory(name, desc, w0, steps, config0)]


def _update_cases(name):
    def generate(rng: np.random.Generator) -> list[Case]:
        return trajectory_cases(name, _trajectories(name, rng))
    return generate


def _step_decay_cases(rng):
    return [
        Case("epochs 0..39, drop=0.5 every 10 epochs",
             {"lr0": 0.1, "epoch": np.arange(40), "drop": 0.5, "every": 10}),
        Case("one epoch (an int), drop=0.1 every 3 epochs", {"lr0": 1.0, "epoch": 7, "drop": 0.1, "every": 3}),
        Case("the defaults (drop=0.5, every=10), epochs around the drops",
             {"lr0": 0.2, "epoch": np.array([0, 9, 10, 19, 20, 35])}),
    ]


def _decay_cases(rng):
    return [
        Case("steps 0..49, k=0.05", {"lr0": 0.1, "t": np.arange(50), "k": 0.05}),
        Case("one step (an int), k=0.2", {"lr0": 1.0, "t": 10, "k": 0.2}),
    ]


def _cosine_cases(rng):
    return [
        Case("steps 0..60 with T=50 (past T it stays at lr_min), lr_min=0.001",
             {"lr0": 0.1, "t": np.arange(61), "T": 50, "lr_min": 0.001}),
        Case("one step (an int), the default lr_min=0", {"lr0": 1.0, "t": 25, "T": 100}),
        Case("the start, the middle and the end", {"lr0": 0.5, "t": np.array([0, 50, 100]), "T": 100, "lr_min": 0.1}),
    ]


def _warmup_cases(rng):
    return [
        Case("steps 0..11 with warmup_steps=5", {"lr0": 0.1, "t": np.arange(12), "warmup_steps": 5}),
        Case("the first step (an int), warmup_steps=4", {"lr0": 1.0, "t": 0, "warmup_steps": 4}),
        Case("long after the warm-up (an int)", {"lr0": 0.3, "t": 100, "warmup_steps": 10}),
    ]


CASES = {
    **{name: _update_cases(name) for name in STATE_KEYS},
    "step_decay": _step_decay_cases,
    "exponential_decay": _decay_cases,
    "inverse_time_decay": _decay_cases,
    "cosine_decay": _cosine_cases,
    "linear_warmup": _warmup_cases,
    "random_mini_batches": lambda rng: _mini_batch_cases(rng),
    "train_loop": lambda rng: _loop_cases(rng),
}


# ---------------------------------------------------------------- the update-rule checks
def _describe_config(config) -> str:
    if config is None:
        return "None"
    if not isinstance(config, dict):
        return repr(config)
    parts = []
    for key, value in config.items():
        if isinstance(value, np.ndarray):
            parts.append(f"{key!r}: array of shape {value.shape}" + (
                f" {np.array2string(value.ravel(), precision=4, separator=', ')}" if value.size <= 6 else ""))
        else:
            parts.append(f"{key!r}: {value!r}")
    return "{" + ", ".join(parts) + "}"


def _group(all_cases: list[Case]) -> list[list[Case]]:
    """Split the flat case list into trajectories (consecutive steps 1..K)."""
    groups: list[list[Case]] = []
    for case in all_cases:
        m = _STEP_LABEL.match(case.label)
        if m is None or int(m["k"]) == 1:
            groups.append([])
        groups[-1].append(case)
    return groups


def _unpack(out, name: str, w_shape, case: Case):
    hint = "end with `return next_w, config`."
    next_w, config = expect_tuple(out, ("next_w", "config"), name, case, hint)
    next_w = expect_array(next_w, f"next_w returned by {name}", case, shape=w_shape)
    if next_w.dtype != np.float64:   # w and dw are float64 in every case
        fail(f"next_w returned by {name} has dtype {next_w.dtype}, but w and dw are float64: the result must "
             "keep w's dtype.", case,
             "a lower precision loses the small steps (a float32 number has about 7 significant digits). Do not "
             "convert to float32 (astype, dtype=np.float32), and create the state with np.zeros_like(w).")
    if not isinstance(config, dict):
        fail(f"the config returned by {name} should be a dict, but it is {type(config).__name__}.", case,
             "on the first call (config=None) start from an empty dict: `if config is None: config = {}`.")
    return next_w, config


def _same_step(update, case: Case) -> bool:
    """Does ``update`` take this step right when handed the reference's own state? (For hints only.)"""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # a diagnosis must not write to stderr
            out = update(case.args["w"].copy(), case.args["dw"].copy(), copy.deepcopy(case.args["config"]))
        got = np.asarray(out[0], dtype=np.float64)
        exp = np.asarray(case.expected[0])
        return got.shape == exp.shape and np.allclose(got - case.args["w"], exp - case.args["w"],
                                                      rtol=STEP_RTOL, atol=1e-15)
    except Exception:  # a broken function cannot pass this diagnosis
        return False


def _close_ratio(got, expected, rtol: float = 1e-4) -> float | None:
    """Like checking.ratio, with a looser tolerance: eps perturbs a wrong step's ratio by ~1e-6. For hints."""
    g = np.asarray(got, dtype=np.float64).ravel()
    e = np.asarray(expected, dtype=np.float64).ravel()
    if g.shape != e.shape or not np.all(np.isfinite(g)) or float(e @ e) == 0.0:
        return None
    r = float(g @ e) / float(e @ e)
    return r if np.allclose(g, r * e, rtol=rtol, atol=1e-15) else None


def _check_update(update, name: str, hidden: bool, hint_for) -> None:
    for trajectory in _group(cases(TOPIC, name, hidden)):
        w = np.array(trajectory[0].args["w"], dtype=np.float64)
        config = copy.deepcopy(trajectory[0].args["config"])
        for k, ref_case in enumerate(trajectory):
            dw = ref_case.args["dw"]
            label = (f"{_STEP_LABEL.match(ref_case.label)['desc']}; call {k + 1} of {len(trajectory)}, "
                     "with the config returned by the previous call" if k else ref_case.label)
            case = Case(f"{label}\n    config passed in = {_describe_config(config)}", {"w": w, "dw": dw.copy()})
            cfg_in = config
            out = call(lambda w_, dw_: update(w_, dw_, cfg_in), name, case)
            next_w, config = _unpack(out, name, w.shape, case)
            exp_w, exp_config = ref_case.expected
            step, exp_step = next_w - w, exp_w - ref_case.args["w"]
            info = dict(name=name, k=k, step=step, exp_step=exp_step, config=exp_config, case=ref_case,
                        state_ok_before=None)
            hint = None
            if not np.allclose(step, exp_step, rtol=STEP_RTOL, atol=1e-15):
                info["state_ok_before"] = bool(k) and _same_step(update, ref_case)
                hint = hint_for(info) or _generic_hint(info)
            expect_close(step, exp_step, f"the step next_w - w taken by call {k + 1}", case, STEP_RTOL, 1e-15, hint)
            expect_close(next_w, exp_w, f"next_w after call {k + 1}", case, W_RTOL, W_ATOL, hint)
            for key, expected in exp_config.items():
                if key not in config:
                    what = "state" if key in STATE_KEYS[name] else "hyperparameter"
                    fail(f"the config returned by call {k + 1} has no key {key!r} (a {what}); it holds only "
                         f"{sorted(config)}.", case,
                         f"save the state in config (`config[{key!r}] = {key}`) so that the next call can read it."
                         if what == "state" else
                         f"fill in the default with `config.setdefault({key!r}, {expected!r})`, as the docstring says.")
                what = f"config[{key!r}] after call {k + 1}"
                if isinstance(expected, np.ndarray):
                    got = expect_array(config[key], what, case, shape=expected.shape)
                else:
                    got = expect_scalar(config[key], what, case)
                hint = None
                if not np.allclose(got, expected, rtol=STATE_RTOL, atol=0.0):
                    hint = (hint_for(dict(info, key=key, got_state=got)) if key in STATE_KEYS[name] else
                            "a hyperparameter given in config must be used and kept; a missing one gets its default.")
                    before = (ref_case.args["config"] or {}).get(key)
                    if hint is None and before is not None and np.shape(before) == np.shape(got) \
                            and np.allclose(got, before, rtol=STATE_RTOL, atol=0.0):
                        hint = (f"config[{key!r}] still holds the value passed in: assign the new state, "
                                f"`config[{key!r}] = {key}` (config.setdefault never overwrites a key that exists).")
                expect_close(got, expected, what, case, STATE_RTOL, 0.0, hint)
            w = next_w


def _small_entries_off(info) -> bool:
    """Are exactly the entries with the smallest gradients off? (Where eps is not negligible.)"""
    g = np.abs(info["case"].args["dw"]).ravel()
    bad = ~np.isclose(info["step"], info["exp_step"], rtol=STEP_RTOL, atol=1e-15).ravel()
    good = ~bad & (g > 0)   # an exactly zero gradient gives a zero step however eps is placed
    return bool(bad.any() and good.any() and g[bad].max() < g[good].min())


def _divided_by_old_cache(info) -> bool:
    """Is the first step (from an empty cache) about lr * dw / eps, where the gradient is not 0?"""
    if info["k"] != 0 or (info["case"].args["config"] or {}).get("cache") is not None:
        return False
    g = info["case"].args["dw"] != 0
    return bool(g.any() and np.all(np.abs(info["step"][g]) > 1e3 * np.abs(info["exp_step"][g])))


def _generic_hint(info) -> str | None:
    r = _close_ratio(info["step"], info["exp_step"])
    if r is not None and np.isclose(r, -1.0):
        return "your step goes uphill: an update moves against the gradient (w - lr * ...)."
    if info["name"] in ("adagrad", "rmsprop", "adam") and (EPS_LABEL in info["case"].label or _small_entries_off(info)):
        return ("the entries that are off have small gradients, where eps is not negligible: add eps outside "
                "the square root, `np.sqrt(...) + eps`, exactly as the docstring says.")
    if info["k"] and info["state_ok_before"]:
        return ("handed the reference's state, your function takes this step correctly, so the state is not "
                "carried from call to call: read it from config at the start and save it back before returning.")
    return None


def _state_hint(info, text) -> str | None:
    """A hint about the state update, for a failure on a later step whose formula fails from the reference state too."""
    if info["k"] and not info["state_ok_before"] and "key" not in info:
        return text
    return None


@reporting("first call with config=None, 4-5 consecutive steps passing the returned config back in, lr default 1e-2, w and dw untouched")
def check_sgd(sgd, *, hidden=False):
    """Check ``sgd(w, dw, config=None) -> (next_w, config)``: next_w = w - lr * dw."""
    def hint(info):
        r = _close_ratio(info["step"], info["exp_step"])
        lr = info["config"]["lr"]
        if r is not None and np.isclose(r, -1.0):
            return "your step goes uphill: next_w = w - config['lr'] * dw moves against the gradient."
        if r is not None and np.isclose(r, 1.0 / lr):
            return "the step ignores the learning rate: next_w = w - config['lr'] * dw."
        if r is not None and info["case"].args["config"] is None:
            return f"your step is {r:.4g} times the expected one; the default learning rate is 1e-2."
        if r is not None and info["case"].args["config"]:
            return ("config['lr'] given by the caller must be used: config.setdefault only fills in a key that is "
                    "missing; do not replace the config.")
        return None
    _check_update(sgd, "sgd", hidden, hint)


@reporting("v = momentum * v - lr * dw; w + v over consecutive calls, config['v'] saved, defaults lr=1e-2 and momentum=0.9, inputs untouched")
def check_sgd_momentum(sgd_momentum, *, hidden=False):
    """Check ``sgd_momentum(w, dw, config=None) -> (next_w, config)`` and the velocity in config['v']."""
    def hint(info):
        lr = info["config"]["lr"]
        if "key" in info:  # the state check: the step was right, config['v'] is not
            r = _close_ratio(info["got_state"], info["config"]["v"])
            if r is not None and np.isclose(r, -1.0):
                return ("config['v'] has the opposite sign: this course stores v = momentum * v - lr * dw, the "
                        "step that is added to w (w + v).")
            if r is not None and np.isclose(r, -1.0 / lr):
                return ("config['v'] holds the lecture's velocity (v = rho * v + dw, w -= lr * v). Store "
                        "this course's v = momentum * v - lr * dw instead, which is -lr times that one.")
            return None
        r = _close_ratio(info["step"], info["exp_step"])
        mu = info["config"]["momentum"]
        if r is not None and np.isclose(r, -1.0):
            return ("your step goes uphill. With v = momentum * v - lr * dw the update is w + v; a velocity "
                    "that accumulates +dw must be subtracted (w - lr * v), never added.")
        if r is not None and np.isclose(r, 1.0 - mu, rtol=1e-4):
            return (f"your steps are (1 - momentum) = {1 - mu:g} times the expected ones: that is the exponentially "
                    "weighted form (v = beta * v + (1 - beta) * dw, w -= lr * v), an average of the gradients. This "
                    "course's velocity has no (1 - momentum) factor: see section 2 for the three forms.")
        return _state_hint(info, "the velocity must decay and accumulate: v = momentum * v - lr * dw, "
                                 "with the v saved by the previous call.")
    _check_update(sgd_momentum, "sgd_momentum", hidden, hint)


@reporting("look-ahead form: next_w = w - mu * v_prev + (1 + mu) * v over consecutive calls, config['v'] saved, inputs untouched")
def check_nesterov_momentum(nesterov_momentum, *, hidden=False):
    """Check ``nesterov_momentum(w, dw, config=None) -> (next_w, config)`` in the look-ahead form."""
    def hint(info):
        mu, lr = info["config"]["momentum"], info["config"]["lr"]
        if "key" in info:   # the steps are right, config['v'] is not
            r = _close_ratio(info["got_state"], info["config"]["v"])
            if r is not None and np.isclose(r, -1.0 / lr):
                return ("config['v'] holds PyTorch's buffer (buf = mu * buf + dw, w -= lr * (dw + mu * buf)), which "
                        "takes the same steps at a constant lr. Store this course's velocity instead, "
                        "v = mu * v - lr * dw, which is -lr times the buffer.")
            return None
        r = _close_ratio(info["step"], info["exp_step"])
        if info["k"] == 0 and r is not None and np.isclose(r, -mu / (1.0 + mu)):
            return ("your first step goes uphill, by mu / (1 + mu) of the expected step: v and v_prev are swapped. "
                    "The step is -mu * v_prev + (1 + mu) * v, where v_prev is the velocity read from config (0 on "
                    "the first call) and v the one computed in this call.")
        if info["k"] == 0 and r is not None and np.isclose(r, 1.0 / (1.0 + mu)):
            return ("this is plain momentum's step (w + v). In the look-ahead form the step is "
                    "-mu * v_prev + (1 + mu) * v, where v_prev is the velocity before this call.")
        if r is not None and np.isclose(r, -1.0):
            return "your step goes uphill: v = mu * v - lr * dw, and the step is -mu * v_prev + (1 + mu) * v."
        return _state_hint(info, "check both terms of the step, -mu * v_prev + (1 + mu) * v: v_prev is the velocity "
                                 "saved by the previous call, v the new one (and save the new one).")
    _check_update(nesterov_momentum, "nesterov_momentum", hidden, hint)


@reporting("cache += dw**2, step lr * dw / (sqrt(cache) + eps) over consecutive calls, config['cache'] saved, eps outside the root")
def check_adagrad(adagrad, *, hidden=False):
    """Check ``adagrad(w, dw, config=None) -> (next_w, config)`` and the sum of squares in config['cache']."""
    def hint(info):
        if "key" in info:
            return None
        r = _close_ratio(info["step"], info["exp_step"])
        if r is not None and np.isclose(r, -1.0):
            return "your step goes uphill: w - lr * dw / (sqrt(cache) + eps)."
        if _divided_by_old_cache(info):
            return ("your first step is enormous: you divided by the root of the cache *before* adding this call's "
                    "dw**2 (on the first call it is still 0, so the step is lr * dw / eps). Add dw**2 to the cache "
                    "first, then divide by its root.")
        if info["k"] == 0 and r is not None and np.isclose(r, 10.0, rtol=1e-3):  # 1 / sqrt(1 - 0.99)
            return ("your first step is larger than lr per coordinate, as if the squared gradient were down-weighted "
                    "(RMSProp's (1 - decay)): AdaGrad adds dw**2 to the cache in full.")
        return _state_hint(info, "the cache is the running *sum* of every squared gradient so far: cache = cache + dw**2, "
                                 "with no decay (a decay makes it RMSProp).")
    _check_update(adagrad, "adagrad", hidden, hint)


@reporting("cache = decay * cache + (1 - decay) * dw**2 over consecutive calls, config['cache'] saved, decay default 0.99, eps outside the root")
def check_rmsprop(rmsprop, *, hidden=False):
    """Check ``rmsprop(w, dw, config=None) -> (next_w, config)`` and the moving average in config['cache']."""
    def hint(info):
        if "key" in info:
            r = _close_ratio(info["got_state"], info["config"]["cache"])
            decay = info["config"]["decay"]
            if info["k"] == 0 and r is not None and np.isclose(r, 1.0 / (1.0 - decay)):
                return ("the cache holds dw**2 unweighted, like AdaGrad's sum: RMSProp weights the new squared "
                        "gradient by (1 - decay).")
            return None
        decay = info["config"]["decay"]
        r = _close_ratio(info["step"], info["exp_step"])
        if _divided_by_old_cache(info):
            return ("your first step is enormous: you divided by the root of the cache *before* updating it with "
                    "this call's dw**2 (on the first call it is still 0, so the step is lr * dw / eps). Update the "
                    "cache first, then divide by its root.")
        if info["k"] == 0 and r is not None and np.isclose(r, np.sqrt(1.0 - decay)):
            return ("your first step is sqrt(1 - decay) times the expected one: the cache is accumulating dw**2 "
                    "without the factor (1 - decay), which is AdaGrad, not RMSProp.")
        if r is not None and np.isclose(r, -1.0):
            return "your step goes uphill: w - lr * dw / (sqrt(cache) + eps)."
        return _state_hint(info, "the first step is right but later ones are not, so the cache update is off: it is "
                                 "an assignment, cache = decay * cache + (1 - decay) * dw**2. Writing "
                                 "`cache += decay * cache + ...` adds the old cache a second time, and a cache "
                                 "without decay is AdaGrad's.")
    _check_update(rmsprop, "rmsprop", hidden, hint)


@reporting("t incremented before use, bias-corrected m and v applied, eps outside the root, config m, v, t saved over consecutive calls")
def check_adam(adam, *, hidden=False):
    """Check ``adam(w, dw, config=None) -> (next_w, config)`` and the state m, v, t in config."""
    def hint(info):
        if "key" in info:
            if info["key"] == "t":
                return ("config['t'] counts the calls so far: after the first call it is 1. Increment it before "
                        "using it for the bias correction, and save it.")
            return None
        b1, b2 = info["config"]["beta1"], info["config"]["beta2"]
        r = _close_ratio(info["step"], info["exp_step"])
        if info["k"] == 0 and r is not None and np.isclose(r, (1 - b1) / np.sqrt(1 - b2), rtol=1e-3):
            return ("your first step is (1 - beta1) / sqrt(1 - beta2) times the expected one: the raw moments m "
                    "and v are used. Apply the bias-corrected m_hat = m / (1 - beta1**t) and "
                    "v_hat = v / (1 - beta2**t) (computing them is not enough: use them in the step).")
        if info["k"] == 0 and r is not None and np.isclose(r, np.sqrt(1 - b2) / (1 - b1), rtol=1e-3):
            return ("the moments are not weighted averages: m = beta1 * m + (1 - beta1) * dw and "
                    "v = beta2 * v + (1 - beta2) * dw**2.")
        if r is not None and np.isclose(r, -1.0):
            return "your step goes uphill: w - lr * m_hat / (sqrt(v_hat) + eps)."
        return _state_hint(info, "the first step is right but later ones are not: check that m and v decay "
                                 "(beta * old + (1 - beta) * new), that t goes 1, 2, 3, ... (incremented before "
                                 "use) and that the bias correction uses the current t.")
    try:
        _check_update(adam, "adam", hidden, hint)
    except AssertionError as err:
        if "divide by zero" in str(err) or "ZeroDivisionError" in str(err):
            text = str(err).replace("\nHint: a division by zero or 0/0 happened; guard the denominator.", "")
            raise CheckFailure(f"{text}\nHint: Adam's step counter: increment t *before* using it. On the first "
                               "call t must be 1; with t = 0, 1 - beta1**t = 0 and the bias correction divides by "
                               "zero.") from None
        raise


# ---------------------------------------------------------------- the schedule checks
ARRAY_ERRORS = ("only 0-dimensional arrays", "only length-1 arrays", "truth value of an array",
                "only size-1 arrays")


def _check_schedule(schedule, name: str, hidden: bool, hint_for) -> None:
    for case in cases(TOPIC, name, hidden):
        t_name = "epoch" if "epoch" in case.args else "t"
        t = case.args[t_name]
        try:
            out = call(schedule, name, case)
        except CheckFailure as err:
            if isinstance(t, np.ndarray) and any(s in str(err) for s in ARRAY_ERRORS):
                raise CheckFailure(f"{err}\nHint: `{t_name}` may be an array: use numpy functions (np.exp, np.cos, "
                                   "np.minimum) instead of math.* or Python's min, which take one number.") from err
            raise
        what = f"{name}(...)"
        if isinstance(t, np.ndarray):
            got = expect_array(out, what, case, shape=t.shape)
        else:
            got = expect_scalar(out, what, case)
        expected = case.expected
        hint = None
        if not np.allclose(got, expected, rtol=SCHEDULE_RTOL, atol=SCHEDULE_ATOL):
            r = ratio(got, expected)
            hint = hint_for(case, np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64))
            if hint is None and r is not None:
                hint = f"your values are {r:.4g} times the expected ones everywhere: a constant factor is off."
        expect_close(got, expected, what, case, SCHEDULE_RTOL, SCHEDULE_ATOL, hint)


@reporting("lr0 * drop ** (epoch // every) for ints and arrays of epochs, defaults drop=0.5 and every=10")
def check_step_decay(step_decay, *, hidden=False):
    """Check ``step_decay(lr0, epoch, drop=0.5, every=10) -> lr``."""
    def hint(case, got, expected):
        if got.ndim and len(np.unique(got)) > len(np.unique(expected)):
            return "the rate should stay constant between drops: use whole intervals, epoch // every."
        if "defaults" in case.label:
            return "check the defaults in the signature: drop=0.5, every=10."
        return "the rate is multiplied by `drop` once per `every` epochs: lr0 * drop ** (epoch // every)."
    _check_schedule(step_decay, "step_decay", hidden, hint)


@reporting("lr0 * exp(-k * t) for ints and arrays of steps")
def check_exponential_decay(exponential_decay, *, hidden=False):
    """Check ``exponential_decay(lr0, t, k) -> lr``."""
    def hint(case, got, expected):
        if np.all(np.atleast_1d(case.args["t"]) == 0) or not np.allclose(got.ravel()[:1], expected.ravel()[:1]):
            return "at t = 0 the rate is lr0, and it shrinks by the factor exp(-k) per step: lr0 * exp(-k * t)."
        return "lr0 * np.exp(-k * t): the exponent is -k times t."
    _check_schedule(exponential_decay, "exponential_decay", hidden, hint)


@reporting("lr0 / (1 + k * t) for ints and arrays of steps")
def check_inverse_time_decay(inverse_time_decay, *, hidden=False):
    """Check ``inverse_time_decay(lr0, t, k) -> lr``."""
    def hint(case, got, expected):
        return "lr0 / (1 + k * t): at t = 0 the rate is lr0, and the denominator grows linearly in t."
    _check_schedule(inverse_time_decay, "inverse_time_decay", hidden, hint)


@reporting("lr_min + (lr0 - lr_min) * (1 + cos(pi * t / T)) / 2, held at lr_min after T; ints and arrays")
def check_cosine_decay(cosine_decay, *, hidden=False):
    """Check ``cosine_decay(lr0, t, T, lr_min=0.0) -> lr``."""
    def hint(case, got, expected):
        lr0, T = case.args["lr0"], case.args["T"]
        lr_min = case.args.get("lr_min", 0.0)
        t = np.asarray(case.args["t"])
        before, after = t <= T, t > T
        if np.any(after) and np.allclose(got[before], expected[before], rtol=1e-9, atol=1e-15):
            return "after T steps the rate must stay at lr_min: use min(t, T) in the cosine."
        r = ratio(got - lr_min, expected - lr_min)
        if r is not None and np.isclose(r, 2.0):
            return "the rate starts at 2 * lr0: the cosine term (1 + cos(pi t / T)) lies in [0, 2], so halve it."
        if lr_min and np.allclose(got, (lr0 - 0) * (expected - lr_min) / (lr0 - lr_min), rtol=1e-9):
            return "lr_min is ignored: the rate goes from lr0 at t = 0 down to lr_min (not 0) at t = T."
        return ("lr_min + (lr0 - lr_min) * (1 + cos(pi * t / T)) / 2: lr0 at t = 0, lr_min at t = T, and "
                "lr_min after T.")
    _check_schedule(cosine_decay, "cosine_decay", hidden, hint)


@reporting("lr0 * min(1, (t + 1) / warmup_steps): lr0 / warmup_steps at t = 0, lr0 from t = warmup_steps - 1 on")
def check_linear_warmup(linear_warmup, *, hidden=False):
    """Check ``linear_warmup(lr0, t, warmup_steps) -> lr``."""
    def hint(case, got, expected):
        lr0, t = case.args["lr0"], np.asarray(case.args["t"])
        if np.any((t == 0) & (got == 0)):
            return "the first step (t = 0) uses lr0 / warmup_steps, never 0: lr0 * np.minimum(1, (t + 1) / warmup_steps)."
        if np.any(got > lr0 * (1 + 1e-9)):
            return "the rate goes above lr0: cap it, lr0 * np.minimum(1, (t + 1) / warmup_steps)."
        if np.any((expected == lr0) & (got < lr0)):
            return ("the warm-up does not reach lr0 in time: at t = warmup_steps - 1 (the last warm-up step) the "
                    "rate must be lr0, so use (t + 1) / warmup_steps.")
        return "the first step (t = 0) uses lr0 / warmup_steps, never 0: lr0 * np.minimum(1, (t + 1) / warmup_steps)."
    _check_schedule(linear_warmup, "linear_warmup", hidden, hint)


# ---------------------------------------------------------------- the digits experiment (section 9)
DIGIT_RUNS = {   # the notebook's runs: name -> (update function's name, learning rate)
    "SGD": ("sgd", 0.1),
    "momentum": ("sgd_momentum", 0.02),
    "Nesterov": ("nesterov_momentum", 0.02),
    "AdaGrad": ("adagrad", 0.03),
    "RMSProp": ("rmsprop", 2e-3),
    "Adam": ("adam", 5e-3),
}
DIGITS_EPOCHS = {"fast": 4, "full": 6}   # the notebook's epochs while nbgrader grades / otherwise


def digits_epochs(fast: bool | None = None) -> int:
    """The number of epochs of the digits experiment while graded (``fast``) or not; by default in this
    process's mode (``utils.fast_mode``)."""
    from utils import fast_mode

    return DIGITS_EPOCHS["fast" if (fast_mode() if fast is None else fast) else "full"]


def digits_run(update, lr: float, epochs: int | None = None):
    """One run of section 9, as the notebook's cell makes it: the MLP 64-64-10 (``make_rng(1)``) trained on the
    digits with ``update`` at learning rate ``lr`` for ``epochs`` (by default ``digits_epochs()``; minibatches
    from ``make_rng(2)``); returns its History."""
    from datasets import load_digits
    from utils import make_rng
    from utils.training import MLP, train

    model = MLP(64, [64], 10, make_rng(1))
    return train(model, load_digits(), rng=make_rng(2), epochs=epochs or digits_epochs(), update=update,
                 optim_config={"lr": lr}, progress_bar=False)


def digits_experiment(updates: dict, epochs: int | None = None) -> dict:
    """Section 9's ``histories`` with the given update functions (``{"sgd": sgd, ..., "adam": adam}``)."""
    with one_blas_thread():
        return {name: digits_run(updates[fname], lr, epochs) for name, (fname, lr) in DIGIT_RUNS.items()}


def _history_list(hist, attr: str, name: str) -> np.ndarray:
    values = getattr(hist, attr, None)
    if not isinstance(values, (list, tuple, np.ndarray)) or len(values) == 0:
        fail(f"histories[{name!r}] should be the History that train returned, with a non-empty `{attr}` list "
             f"(it is {hist!r:.80}). Run the experiment cell as given.")
    return np.asarray(values, dtype=np.float64)


@reporting("every optimizer lowered the training loss on the digits, and Adam reached 85% validation accuracy")
def check_digits_training(histories, *, sgd, sgd_momentum, nesterov_momentum, adagrad, rmsprop, adam, hidden=False):
    """Check the digits experiment's ``histories`` (name -> the History of that optimizer's run). With
    ``hidden=True`` every history must be what the run gives when it is made again with the given update
    functions (``digits_experiment``), and the other adaptive runs must reach 80% validation accuracy."""
    if histories is None or isinstance(histories, dict) and set(histories) < set(DIGIT_RUNS):
        missing = ", ".join(sorted(set(DIGIT_RUNS) - set(histories or {})))
        raise NotImplementedError(f"histories has no run for {missing} yet: the experiment cell above (a demo, "
                                  "nothing to write there) stops at the first update rule that is not implemented. "
                                  "Implement every update rule of sections 1 to 6, then run that cell again.")
    if not isinstance(histories, dict) or set(histories) != set(DIGIT_RUNS):
        fail(f"histories should be the dict built by the experiment cell, with the keys {sorted(DIGIT_RUNS)}; run "
             "that cell again without changing it.")
    for name, hist in histories.items():
        loss = _history_list(hist, "loss", name)
        first, last = np.mean(loss[:10]), np.mean(loss[-10:])
        if not (np.isfinite(last) and last < 0.8 * first):
            fail(f"with {name} the training loss went from {first:.3f} to {last:.3f}: it should fall clearly. "
                 "Check that the update function passes its check above.")
    adam_acc = _history_list(histories["Adam"], "val_acc", "Adam")[-1]
    if not adam_acc >= 0.85:
        fail(f"with your adam the MLP reached {adam_acc:.1%} validation accuracy; at least 85% is expected with "
             "lr=5e-3. Check that adam passes its check above.")
    if hidden:
        hidden_criterion(TOPIC, "digits_training")(histories, updates={
            "sgd": sgd, "sgd_momentum": sgd_momentum, "nesterov_momentum": nesterov_momentum, "adagrad": adagrad,
            "rmsprop": rmsprop, "adam": adam})


# ---------------------------------------------------------------- section 11: minibatches and a training loop
HISTORY_KEYS = ("loss", "lr", "train_loss", "train_acc", "val_loss", "val_acc")
LOOP_RTOL = 1e-7    # the loop only orders the check's own computations: a right loop agrees to ~1e-14


def _labelled_examples(rng, N, shape=(3,), classes=3, dtype=np.float64):
    """N examples whose first entry is unique (so a batch's rows name the examples they are), and labels."""
    X = rng.standard_normal((N, *shape)).astype(dtype)
    X.reshape(N, -1)[:, 0] = ((np.arange(N) + rng.uniform(0.1, 0.9, N)) / N).astype(dtype)
    return X, rng.integers(0, classes, N)


def _batch_case(rng, label, N, batch_size, shape=(3,), dtype=np.float64):
    X, y = _labelled_examples(rng, N, shape, dtype=dtype)
    return Case(label, {"X": X, "y": y, "batch_size": batch_size,
                        "rng": np.random.default_rng(int(rng.integers(2 ** 31)))})


def _mini_batch_cases(rng):
    return [
        _batch_case(rng, "N=10 examples of 3 features, batch_size=4 (batches of 4, 4 and 2)", 10, 4),
        _batch_case(rng, "N=12, batch_size=4 (3 full batches, no partial one)", 12, 4),
        _batch_case(rng, "batch_size=8 larger than N=5 (one batch of 5)", 5, 8),
        _batch_case(rng, "X of shape (7, 2, 2) (images), batch_size=3", 7, 3, shape=(2, 2)),
    ]


def _order(batches_X, X) -> np.ndarray | None:
    """The example index of every row of the batches, in order (None if a row is none of X's)."""
    keys = {float(v): i for i, v in enumerate(X.reshape(len(X), -1)[:, 0])}
    out = []
    for Xb in batches_X:
        for v in np.asarray(Xb).reshape(len(Xb), -1)[:, 0]:
            if float(v) not in keys:
                return None
            out.append(keys[float(v)])
    return np.array(out, dtype=int)


@reporting("a list of (X_batch, y_batch) tuples in the order of one rng.permutation(N), every example once, "
           "the last partial batch kept, dtypes kept, inputs untouched")
def check_random_mini_batches(random_mini_batches, *, hidden=False):
    """Check ``random_mini_batches(X, y, batch_size, rng) -> [(X_batch, y_batch), ...]``."""
    for case in cases(TOPIC, "random_mini_batches", hidden):
        X, y, bs = case.args["X"], case.args["y"], case.args["batch_size"]
        N = len(X)
        rng_after = copy.deepcopy(case.args["rng"])
        rng_after.permutation(N)                      # where one permutation leaves the generator
        fresh = copy.deepcopy(case.args["rng"])
        run_case = Case(case.label, {"X": X.copy(), "y": y.copy(), "batch_size": bs, "rng": fresh})
        out = call(random_mini_batches, "random_mini_batches", run_case)
        expected = case.expected
        if not isinstance(out, list):
            fail(f"random_mini_batches should return a list of (X_batch, y_batch) tuples, but it returned "
                 f"{type(out).__name__}.", run_case,
                 "collect the batches in a list (a generator can be used only once, and the loop of section 11 "
                 "may want len(batches)).")
        for k, item in enumerate(out):
            if not isinstance(item, tuple) or len(item) != 2:
                fail(f"batch {k} should be a tuple (X_batch, y_batch), but it is {type(item).__name__}"
                     f"{f' of length {len(item)}' if isinstance(item, (list, tuple)) else ''}.", run_case)
        if len(out) != len(expected):
            hint = None
            if len(out) == N // bs and N % bs:
                hint = (f"the last, partial batch of the {N % bs} examples left over is missing: keep it (ceil(N / "
                        "batch_size) batches).")
            elif len(out) == len(expected) + 1:
                hint = "there is one batch too many: no batch may be empty (N = batch_size * k gives k batches)."
            fail(f"random_mini_batches returned {len(out)} batches; with N = {N} and batch_size = {bs} there are "
                 f"{len(expected)}.", run_case, hint)
        for k, ((Xb, yb), (eXb, eyb)) in enumerate(zip(out, expected)):
            Xb = expect_array(Xb, f"X_batch of batch {k}", run_case, floating=False)
            yb = expect_array(yb, f"y_batch of batch {k}", run_case, floating=False)
            if Xb.shape != eXb.shape or yb.shape != eyb.shape:
                fail(f"batch {k} has X_batch of shape {Xb.shape} and y_batch of shape {yb.shape}; expected "
                     f"{eXb.shape} and {eyb.shape}.", run_case,
                     "each batch holds batch_size consecutive examples of the shuffled set (the last one the "
                     "rest); slice [k * batch_size:(k + 1) * batch_size] with no overlap." if Xb.shape[1:] == eXb.shape[1:]
                     else "keep every example's own shape: index the rows of X.")
            if Xb.dtype != X.dtype or yb.dtype != y.dtype:
                fail(f"batch {k} has dtypes {Xb.dtype} and {yb.dtype}; X and y have {X.dtype} and {y.dtype}.",
                     run_case, "index X and y; do not convert them.")
        order = _order([np.asarray(b[0]) for b in out], X)
        exp_order = _order([b[0] for b in expected], X)
        if order is None or sorted(order) != list(range(N)):
            fail("the batches do not hold every example exactly once (some are missing or repeated).", run_case,
                 "draw a permutation of all N indices (no repeats, unlike rng.choice with replacement) and cut it "
                 "into consecutive pieces.")
        y_got = np.concatenate([np.asarray(b[1]) for b in out])
        if not np.array_equal(y_got, y[order]):
            fail("some labels are no longer with their inputs: y_batch[i] must be the label of X_batch[i].",
                 run_case, "shuffle X and y with the same permutation (one draw, used for both).")
        if not np.array_equal(order, exp_order):
            if np.array_equal(order, np.arange(N)):
                hint = "the examples are in their original order: shuffle them with the permutation first."
            elif np.array_equal(order, np.argsort(exp_order)):
                hint = ("this is the inverse of the permutation: the first batch must start with example perm[0] "
                        "(index X with the permutation).")
            else:
                hint = ("draw the order with rng.permutation(N) from the rng passed in, once, before anything else "
                        "(not np.random, rng.shuffle or rng.choice, which draw other numbers).")
            fail("the examples are not in the order of rng.permutation(N).", run_case, hint)
        state = fresh.bit_generator.state
        if state != case.args["rng"].bit_generator.state and state != rng_after.bit_generator.state:
            fail("random_mini_batches drew more from rng than one permutation of N.", run_case,
                 "draw exactly one rng.permutation(N) and nothing else: whatever else is drawn changes every "
                 "later draw of the training run.")


# the check's own model, update rule, schedule and stopping rule (made up for the check; plain functions,
# so that the trusted re-check can hand them to a student's loop as callbacks)
def _linear_loss(params, X, y):
    """the mean softmax cross-entropy of the linear classifier X @ W + b, and its gradients"""
    from utils.layers import softmax_cross_entropy

    loss, dscores = softmax_cross_entropy(X @ params["W"] + params["b"], y)
    return float(loss), {"W": X.T @ dscores, "b": dscores.sum(axis=0)}


def _linear_scores(params, X):
    """the class scores X @ W + b"""
    return X @ params["W"] + params["b"]


def _probe_update(w, dw, config=None):
    """an update rule made up for this check: it steps along dw plus half the previous call's dw (kept in config['g'])"""
    config = {} if config is None else config
    config.setdefault("lr", 0.3)
    g = config.get("g", np.zeros_like(w))
    config["g"] = np.array(dw, dtype=np.float64)
    return w - config["lr"] * (dw + 0.5 * g), config


class _Schedule:
    def __init__(self, rates):
        self.rates = [float(r) for r in rates]
        self.__doc__ = f"lr_schedule(epoch) = {self.rates}[epoch]"

    def __call__(self, epoch):
        return self.rates[int(epoch)]


class _StopAfter:
    def __init__(self, epochs):
        self.epochs = int(epochs)
        self.__doc__ = (f"early_stop(history) is True once history holds {self.epochs} epochs (after epoch "
                        f"{self.epochs - 1})")

    def __call__(self, history):
        return len(history["val_loss"]) >= self.epochs


def _loop_spec(rng, N, batch_size, epochs, *, D=3, C=3, optim_config=None, rates=None, stop_after=None,
               N_val=6):
    X, y = _labelled_examples(rng, N + N_val, (D,), classes=C)
    return {"params": {"W": 0.1 * rng.standard_normal((D, C)), "b": np.zeros(C)},
            "data": {"X_train": X[:N], "y_train": y[:N], "X_val": X[N:], "y_val": y[N:]},
            "epochs": epochs, "batch_size": batch_size, "rng": np.random.default_rng(int(rng.integers(2 ** 31))),
            "optim_config": optim_config, "rates": rates, "stop_after": stop_after}


def _loop_call(spec):
    """The call a loop case describes: (args, kwargs) of train_loop, with the check's own functions."""
    spec = copy.deepcopy(spec)
    args = {"params": spec["params"], "loss_fn": _linear_loss, "predict_fn": _linear_scores, "data": spec["data"],
            "update": _probe_update}
    kwargs = {"epochs": spec["epochs"], "batch_size": spec["batch_size"], "rng": spec["rng"],
              "optim_config": spec["optim_config"],
              "lr_schedule": _Schedule(spec["rates"]) if spec["rates"] is not None else None,
              "early_stop": _StopAfter(spec["stop_after"]) if spec["stop_after"] is not None else None}
    return args, kwargs


def _reference_train_loop(ref, spec):
    args, kwargs = _loop_call(spec)
    return ref(*args.values(), **kwargs)


REFERENCE_CALLS = {"train_loop": _reference_train_loop}


def _loop_cases(rng):
    return [
        Case("N=11 training examples, batch_size=4 (batches of 4, 4, 3), 3 epochs, optim_config={'lr': 0.5}",
             {"spec": _loop_spec(rng, 11, 4, 3, optim_config={"lr": 0.5})}),
        Case("a schedule (lr 0.8, 0.4, 0.2, 0.1 in epochs 0..3), N=10, batch_size=5, 4 epochs",
             {"spec": _loop_spec(rng, 10, 5, 4, optim_config={"lr": 0.01}, rates=[0.8, 0.4, 0.2, 0.1])}),
        Case("early_stop says stop after epoch 1 (of at most 5), batch_size=16 > N=9, optim_config=None",
             {"spec": _loop_spec(rng, 9, 16, 5, stop_after=2)}),
    ]


def _float_list(value, what, case) -> list:
    if not isinstance(value, list):
        fail(f"{what} should be a list, but it is {type(value).__name__}.", case,
             "start each entry of the history as [] and append one float at a time.")
    for v in value:
        if not isinstance(v, float):
            fail(f"{what} should hold Python floats, but it holds a {type(v).__name__} ({v!r:.60}).", case,
                 "append float(value): a numpy array or a float32 is not a plain float.")
    return value


def _loop_hint(key, got, exp, spec, history) -> str | None:
    N, bs = len(spec["data"]["y_train"]), spec["batch_size"]
    steps = -(-N // bs)
    if key == "loss":
        bad = int(np.argmax(~np.isclose(got, exp, rtol=LOOP_RTOL, atol=0)))
        if bad == 0:
            return ("the first step's loss is not the loss of the first minibatch of random_mini_batches(X_train, "
                    "y_train, batch_size, rng) at the initial parameters: make the minibatches with your "
                    "random_mini_batches (checked above), from the rng passed in, and draw nothing else from it.")
        if bad % steps == 0:
            return ("the first epoch is right but a later one starts differently: call random_mini_batches once "
                    "at the start of every epoch (a new order each epoch), with the same rng, and draw nothing else.")
        return ("a step after the first has another loss, so the parameters after a step differ: update every "
                "array with its own config, calling update(params[name], grads[name], configs[name]) and keeping "
                "both results; one config per parameter (a deep copy of optim_config each), passed back in at "
                "the next step.")
    if key == "lr":
        ahead = np.array(spec["rates"][1:len(got)]) if spec["rates"] is not None else np.array([])
        if len(got) > 1 and ahead.shape == got[:-1].shape and np.allclose(got[:-1], ahead):
            return "the schedule is one epoch ahead: the first epoch is epoch 0, lr_schedule(0)."
        if spec["rates"] is not None:
            return ("set config['lr'] = float(lr_schedule(epoch)) in every parameter's config at the start of each "
                    "epoch, before its first step.")
        return "record config['lr'] of the parameters' configs at the end of each epoch."
    if key in ("train_loss", "val_loss"):
        split = key.split("_")[0]
        if key == "train_loss":
            means = [float(np.mean(history["loss"][e * steps:(e + 1) * steps])) for e in range(len(got))] \
                if isinstance(history.get("loss"), list) else []
            if len(means) == len(got) and np.allclose(got, means, rtol=1e-9):
                return ("this is the mean of the epoch's minibatch losses; the history wants loss_fn's loss on all "
                        "the training examples after the epoch's last step.")
        return (f"after each epoch's last step, record loss_fn(params, X_{split}, y_{split})[0] on all the "
                f"{split} examples.")
    if key in ("train_acc", "val_acc"):
        split = key.split("_")[0]
        return (f"the accuracy is the fraction of the {split} examples whose highest score "
                f"(np.argmax(predict_fn(params, X_{split}), axis=1)) is their label, after the epoch's last step.")
    return None


@reporting("every minibatch from random_mini_batches, one config per parameter passed back in, the schedule at each "
           "epoch's start, the history (per-step loss, per-epoch lr, loss and accuracy), the early-stopping hook")
def check_train_loop(train_loop, *, hidden=False):
    """Check ``train_loop(params, loss_fn, predict_fn, data, update, *, epochs, batch_size, rng, optim_config=None,
    lr_schedule=None, early_stop=None) -> (params, history)`` on a linear classifier with the check's own update rule."""
    for case in cases(TOPIC, "train_loop", hidden):
        spec = case.args["spec"]
        args, kwargs = _loop_call(spec)
        config_before = copy.deepcopy(kwargs["optim_config"])
        run_case = Case(case.label, args, kwargs=kwargs)
        out = call(train_loop, "train_loop", run_case)
        exp_params, exp_hist = case.expected
        params, history = expect_tuple(out, ("params", "history"), "train_loop", run_case,
                                       "end with `return params, history`.")
        if not _same_config(kwargs["optim_config"], config_before):
            fail("train_loop changed the optim_config passed in.", run_case,
                 "give every parameter its own copy: configs = {name: copy.deepcopy(optim_config or {}) ...}.")
        if not isinstance(history, dict) or set(history) != set(HISTORY_KEYS):
            fail(f"history should be a dict with exactly the keys {list(HISTORY_KEYS)}; it "
                 f"{'has the keys ' + str(sorted(history)) if isinstance(history, dict) else 'is a ' + type(history).__name__}.",
                 run_case)
        for key in HISTORY_KEYS:
            _float_list(history[key], f"history[{key!r}]", run_case)
        n_epochs, exp_epochs = len(history["lr"]), len(exp_hist["lr"])
        if any(len(history[k]) != n_epochs for k in HISTORY_KEYS[1:]):
            fail("the per-epoch lists of history (lr, train_loss, train_acc, val_loss, val_acc) have different "
                 f"lengths: {[len(history[k]) for k in HISTORY_KEYS[1:]]}.", run_case,
                 "append one value to each of them at the end of every epoch.")
        if n_epochs != exp_epochs:
            hint = None
            if spec["stop_after"] is not None and n_epochs == spec["epochs"]:
                hint = "early_stop(history) returned True, and training went on: stop after that epoch."
            elif spec["stop_after"] is not None and n_epochs == exp_epochs - 1:
                hint = "call early_stop(history) after recording the epoch (the hook needs that epoch's values)."
            elif spec["stop_after"] is not None and n_epochs == exp_epochs + 1:
                hint = "when early_stop(history) returns True, stop after the epoch just recorded, not one later."
            fail(f"history holds {n_epochs} epochs; {exp_epochs} expected.", run_case, hint)
        N, bs = len(spec["data"]["y_train"]), spec["batch_size"]
        if len(history["loss"]) != len(exp_hist["loss"]):
            hint = None
            if len(history["loss"]) == n_epochs * (N // bs) and N % bs:
                hint = ("the last, partial minibatch of every epoch is missing: train on every batch that "
                        "random_mini_batches returns.")
            elif len(history["loss"]) > len(exp_hist["loss"]) and spec["stop_after"] is not None:
                hint = ("the loop took the steps of an epoch it did not record: call early_stop(history) after "
                        "recording the epoch, and stop right there when it returns True.")
            fail(f"history['loss'] holds {len(history['loss'])} steps; {n_epochs} epochs of N = {N} examples in "
                 f"batches of {bs} make {len(exp_hist['loss'])}.", run_case, hint)
        for key in ("lr", "loss", "train_loss", "val_loss", "train_acc", "val_acc"):   # causes before effects
            got, exp = np.array(history[key]), np.array(exp_hist[key])
            if not np.allclose(got, exp, rtol=LOOP_RTOL, atol=1e-12):
                expect_close(got, exp, f"history[{key!r}]", run_case, LOOP_RTOL, 1e-12,
                             _loop_hint(key, got, exp, spec, history))
        if not isinstance(params, dict) or set(params) != set(exp_params):
            fail(f"params should be a dict with the keys {sorted(exp_params)}.", run_case)
        for name, exp in exp_params.items():
            got = expect_array(params[name], f"params[{name!r}]", run_case, shape=exp.shape)
            expect_close(got, exp, f"params[{name!r}] after training", run_case, LOOP_RTOL, 1e-12,
                         "return the parameters after the last step (the dict the loop updated).")


def _same_config(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)
