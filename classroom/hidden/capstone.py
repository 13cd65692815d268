"""Hidden cases and criteria for notebook 09_capstone (``graders/capstone.py`` holds the visible ones).

``CASES`` draws
- ``make_schedule``: the visible schedules, then a random lr0 with long cosine and step schedules and the
  edge cases of 1 to 4 epochs (where the milestones T // 2 and 3 * T // 4 coincide or are 0);
- ``draw_config``: the visible fresh generators, then one that has already been drawn from and two more;
- ``count_trainable_params``, ``freeze``, ``replace_head``, ``prepare_transfer``: networks of the visible
  kinds from other seeds, one with three hidden layers of random widths and one with a single hidden
  unit; each case's first argument is the network, and ``rng`` (where the check draws its generators
  from) is the case's own.
``CRITERIA`` holds the hidden parts of the experiment checks. The student's ``fit`` is the student's own code:
it runs in the student's kernel only (through the worker), and what it returns is plain parameter arrays that
the grader evaluates with its own code (``graders.capstone.params_accuracy``). ``fit_runs``: check_fit's short
runs for the hidden seed. ``search_results`` and ``ablation``: one trial, and one row at one seed (the hidden
seed's choices), trained again with ``fit`` must give the recorded validation accuracy within one image.
``final_params``: ``fit(final_config, train_val, seed=7)`` must give the handed-over arrays (rtol/atol 1e-6), and
their test accuracy must reach 0.97. ``transfer_models``: the transfer experiment run again with the library's
``MLP`` and ``train`` and the student's ``make_schedule`` and ``prepare_transfer`` (parameters to rtol/atol
1e-6), then the target test accuracies.
"""
from __future__ import annotations

import numpy as np

from classroom.hidden import RERUN_HINT, expect_rerun
from graders.capstone import (ACC_ATOL, FINAL_SEED, SCHEDULE_RUNS, SEARCH_SEED0, TOOL_NETWORKS, _draw_config_seeds,
                              _fit_case, _fresh_generator_case, _load_digits, _network, _target_split, expect_params,
                              expect_row_rerun, fit_accuracy, params_accuracy, transfer_experiment)
from graders.checking import Case, call, fail
from graders.fixtures import current_hidden_seed

FINAL_TEST_MIN = 0.97      # the capstone's goal, on the 355 test images
TRANSFER_TEST_MIN = {"head": 0.70, "finetune": 0.75, "scratch": 0.75}   # reference: 0.825, 0.898, 0.898


# ---------------------------------------------------------------- cases
def _make_schedule(rng: np.random.Generator) -> list[Case]:
    lr0 = float(10 ** rng.uniform(-4, -1))
    runs = list(SCHEDULE_RUNS) + [
        ("cosine", lr0, int(rng.integers(20, 60))), ("step", lr0, int(rng.integers(11, 40))),
        ("step", lr0, 2), ("step", lr0, 3), ("step", lr0, 4), ("cosine", lr0, 1), ("cosine", lr0, 2),
        ("constant", lr0, 1), ("constant", lr0, int(rng.integers(2, 30)))]
    return [Case(f"make_schedule({kind!r}, {lr0:.6g}, {T})", {"kind": kind, "lr0": lr0, "epochs": T})
            for kind, lr0, T in runs]


def _draw_config(rng: np.random.Generator) -> list[Case]:
    seeds = _draw_config_seeds(rng)
    advanced = np.random.default_rng(seeds[3])
    advanced.random(5)
    return ([_fresh_generator_case(s) for s in seeds[:3]]
            + [Case(f"np.random.default_rng({seeds[3]}) after 5 draws", {"rng": advanced})]
            + [_fresh_generator_case(s) for s in seeds[4:]])


def _networks(rng: np.random.Generator) -> list[tuple[str, object]]:
    """(label, model): the visible kinds from other seeds, three hidden layers, one hidden unit."""
    base = int(rng.integers(2**31 - 8))
    dims = [int(d) for d in rng.integers(2, 9, size=3)]
    specs = TOOL_NETWORKS + [("a network with three hidden layers and batch norm", 9, dims, 5, True),
                             ("a network with one hidden unit", 3, [1], 2, True)]
    return [(f"{label} (weights from seed {base + k + 1})", _network(base + k + 1, d, h, c, batchnorm=bn))
            for k, (label, d, h, c, bn) in enumerate(specs)]


def _generator(rng: np.random.Generator) -> np.random.Generator:
    return np.random.default_rng(int(rng.integers(2**31)))


def _count(rng):
    return [Case(label, {"model": model}) for label, model in _networks(rng)]


def _freeze(rng):
    return [Case(label, {"model": model, "names": ["W1"]}) for label, model in _networks(rng)]


def _replace_head(rng):
    return [Case(label, {"model": model, "num_classes": 3, "rng": _generator(rng)}) for label, model in _networks(rng)]


def _prepare_transfer(rng):
    return [Case(label, {"pretrained": model, "strategy": "head", "num_classes": 3, "rng": _generator(rng)})
            for label, model in _networks(rng)]


CASES = {
    "make_schedule": _make_schedule,
    "draw_config": _draw_config,
    "count_trainable_params": _count,
    "freeze": _freeze,
    "replace_head": _replace_head,
    "prepare_transfer": _prepare_transfer,
}


# ---------------------------------------------------------------- the notebook's runs, made again
PARAM_RTOL = PARAM_ATOL = 1e-6   # parameters after training (the pre-batch-norm biases are noise of ~1e-10)


def _fit_runs() -> list[tuple[dict, int]]:
    """check_fit's hidden runs: short runs of other widths, regularization and seeds (the hidden seed's)."""
    rng = np.random.default_rng(current_hidden_seed())
    seeds = [int(s) for s in rng.integers(0, 2**31 - 2, size=2)]
    return [({"lr": 3e-3, "reg": 0.0, "keep_prob": 1.0, "hidden": 48, "epochs": 6}, seeds[0]),
            ({"lr": 2e-3, "reg": 1e-3, "keep_prob": 0.8, "hidden": 96, "epochs": 6}, seeds[1])]


def _pick(n: int, salt: int) -> int:
    """A choice among ``n`` that the hidden seed makes (the same one in every run of the same grading)."""
    return int(np.random.default_rng([current_hidden_seed(), salt]).integers(n))


def _search_results(search_results, *, fit) -> None:
    """One trial (the hidden seed's choice) trained again with the student's fit gives its recorded accuracy."""
    t = _pick(len(search_results), 1)
    config, acc = search_results[t]
    rerun = fit_accuracy(fit, dict(config), SEARCH_SEED0 + t, f"trial {t}")
    expect_rerun(acc, rerun, f"the accuracy of trial {t}", rtol=0, atol=ACC_ATOL + 1e-9)


def _ablation(rows, *, seeds, fit) -> None:
    """Another row than the visible check's, at a seed of the table, both the hidden seed's choice."""
    others = [r for r in rows if r["name"] != "full"]
    row = others[_pick(len(others), 2)]
    k = _pick(len(seeds), 3)
    expect_row_rerun(row, k, seeds[k], fit)


def _final_params(final_params, *, final_config, fit) -> None:
    """final_params is fit(final_config, train_val, seed=FINAL_SEED); its test accuracy (grader's code) >= 0.97."""
    case = _fit_case(dict(final_config), FINAL_SEED)
    rerun = expect_params(call(fit, "fit", case), "fit(final_config, train_val, seed=7)", case)
    got = expect_params(final_params, "final_params")
    if len(got) != len(rerun) or any(set(a) != set(b) for a, b in zip(got, rerun)):
        fail("final_params does not have the layers of fit(final_config, train_val, seed=7).", None, RERUN_HINT)
    for i, (a, b) in enumerate(zip(got, rerun)):
        for k in b:
            expect_rerun(a[k], b[k], f"final_params[{i}][{k!r}]", rtol=PARAM_RTOL, atol=PARAM_ATOL)
    data = _load_digits()
    test = params_accuracy(got, data["X_test"], data["y_test"], "final_params")
    if not test >= FINAL_TEST_MIN:
        fail(f"the final network's test accuracy is {test:.3f}; the capstone's goal is at least {FINAL_TEST_MIN}.", None,
             "compare your recipe with the ablation table: which pieces help on validation data, and is the final "
             "run long enough?")


def _expect_model(got, rerun, what: str) -> None:
    """The student's trained MLP has the rerun's parameters (and frozen set)."""
    params = getattr(got, "params", None)
    if not isinstance(params, dict) or set(params) != set(rerun.params):
        fail(f"{what} does not have the parameters of the rerun ({sorted(rerun.params)}).", None, RERUN_HINT)
    for name, value in rerun.params.items():
        expect_rerun(params[name], value, f"{what}.params[{name!r}]", rtol=PARAM_RTOL, atol=PARAM_ATOL)
    if set(getattr(got, "frozen", set())) != set(rerun.frozen):
        fail(f"{what}.frozen is {sorted(got.frozen)}, but the rerun's is {sorted(rerun.frozen)}.", None, RERUN_HINT)


def _transfer_models(transfer_models, *, pretrained, make_schedule, prepare_transfer) -> None:
    from utils.training import accuracy

    rerun_pretrained, rerun_models = transfer_experiment(make_schedule, prepare_transfer)
    _expect_model(pretrained, rerun_pretrained, "pretrained")
    for s, m in rerun_models.items():
        _expect_model(transfer_models[s], m, f"transfer_models[{s!r}]")
    data = _load_digits()
    with np.errstate(all="ignore"):
        X_test, y_test = _target_split(data, "test")
        for s, m in rerun_models.items():
            acc = accuracy(m, X_test, y_test)
            if not acc >= TRANSFER_TEST_MIN[s]:
                fail(f"the {s!r} model reaches only {acc:.3f} on the target test images "
                     f"(at least {TRANSFER_TEST_MIN[s]} expected).")


# Formulas the checks need for hidden cases; kept here, not in graders/ (which the grading sandbox shows
# to the student's code): a working count_trainable_params and make_schedule of 09.
def _trainable_count(model) -> int:
    """Trainable entries counted from the architecture: (fan_in + 1) * fan_out per layer, 2 * width per BN layer."""
    total = 0
    for i in range(1, model.num_layers + 1):
        fan_in, fan_out = model.params[f"W{i}"].shape
        sizes = {f"W{i}": fan_in * fan_out, f"b{i}": fan_out}
        if model.batchnorm and i < model.num_layers:
            sizes.update({f"gamma{i}": fan_out, f"beta{i}": fan_out})
        total += sum(n for name, n in sizes.items() if name not in model.frozen)
    return total



def _schedule_formula(kind: str, lr0: float, T: int, t: int) -> float:
    if kind == "constant":
        return lr0
    if kind == "step":
        drops = (1 if t >= T // 2 else 0) + (1 if t >= (3 * T) // 4 else 0)
        return lr0 / 10.0 ** drops
    return lr0 * (np.cos(np.pi * t / T) + 1.0) / 2.0



def _schedule_rates(kind: str, lr0: float, T: int) -> list[float]:
    return [float(_schedule_formula(kind, lr0, T, t)) for t in range(T)]


CRITERIA = {"search_results": _search_results, "ablation": _ablation, "final_params": _final_params,
            "fit_runs": _fit_runs, "transfer_models": _transfer_models, "schedule_rates": _schedule_rates,
            "trainable_count": _trainable_count}
