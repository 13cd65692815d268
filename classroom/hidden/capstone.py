"""Hidden cases and criteria for notebook 09_capstone (``graders/capstone.py`` holds the visible ones).

``CASES`` draws
- ``make_schedule``: the visible schedules, then a random lr0 with long cosine and step schedules and the
  edge cases of 1 to 4 epochs (where the milestones T // 2 and 3 * T // 4 coincide or are 0);
- ``draw_config``: the visible fresh generators, then one that has already been drawn from and two more;
- ``count_trainable_params``, ``freeze``, ``replace_head``, ``prepare_transfer``: networks of the visible
  kinds from other seeds, one with three hidden layers of random widths and one with a single hidden
  unit; each case's first argument is the network, and ``rng`` (where the check draws its generators
  from) is the case's own.
``CRITERIA`` holds the hidden parts of the experiment checks. Each runs the notebook's procedure again with
the student's functions (the search of section 4 with ``draw_config`` and ``make_schedule``, here because it is
the exercise's solution; the final training and the transfer experiment with the procedures of
``graders.capstone``), requires the notebook's values to be its results (parameters to rtol/atol 1e-6:
floating-point noise stays near 1e-15 over these trainings; accuracies to half an image), and then applies
the graded bars, on the test images: the best search trial, the final model's test accuracy, the transfer
models' target test accuracies.
"""
from __future__ import annotations

import numpy as np

from classroom.hidden import RERUN_HINT, expect_rerun
from graders.capstone import (CONFIG_KEYS, SCHEDULE_RUNS, SEARCH_HINT, SEARCH_SIZE, TOOL_NETWORKS, _draw_config_seeds,
                              _expect_config, _fresh_generator_case, _load_digits, _network, _target_split,
                              capstone_model, cosine_schedule, final_training, search_size, transfer_experiment)
from graders.checking import Case, fail, repeat
from graders.rerun import matching_rerun, mode_of, one_blas_thread

FINAL_TEST_MIN = 0.97      # the capstone's goal, on the 355 test images
SEARCH_BEST_MIN = 0.93     # best search trial (reference: 0.966 in both the full and the short search)
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


def rerun_search(draw_config, make_schedule, fast: bool | None = None) -> list:
    """Section 4's search with the student's ``draw_config`` and ``make_schedule``, at the size of ``fast`` (see
    ``graders.capstone.search_size``): ``[(config, best_val_acc)]``."""
    from utils import make_rng
    from utils.optim import adam
    from utils.training import train

    n_trials, search_epochs = search_size(fast)
    configs = repeat(draw_config, n_trials, make_rng(1))   # one generator for every trial
    results = []
    for t, config in enumerate(configs):
        config = _expect_config(config, f"draw_config's configuration of trial {t}", None)
        model = capstone_model(config, make_rng(1000 + t))
        schedule = cosine_schedule(make_schedule, config["lr"], search_epochs)
        with one_blas_thread():
            history = train(model, _load_digits(), rng=make_rng(2000 + t), epochs=search_epochs, update=adam,
                            optim_config={"lr": config["lr"]}, lr_schedule=schedule, patience=3, progress_bar=False)
        results.append((config, history.best_val_acc))
    return results


def _expect_model(got, rerun, what: str) -> None:
    """The student's trained MLP has the rerun's parameters (and frozen set)."""
    params = getattr(got, "params", None)
    if not isinstance(params, dict) or set(params) != set(rerun.params):
        fail(f"{what} does not have the parameters of the rerun ({sorted(rerun.params)}).", None, RERUN_HINT)
    for name, value in rerun.params.items():
        expect_rerun(params[name], value, f"{what}.params[{name!r}]", rtol=PARAM_RTOL, atol=PARAM_ATOL)
    if set(getattr(got, "frozen", set())) != set(rerun.frozen):
        fail(f"{what}.frozen is {sorted(got.frozen)}, but the rerun's is {sorted(rerun.frozen)}.", None, RERUN_HINT)


def _search_results(search_results, *, n_trials, draw_config, make_schedule) -> None:
    # 4 trials of 6 epochs while graded, 6 of 8 otherwise: the number of trials says which size to rerun
    fast = mode_of(n_trials, {k: n for k, (n, _) in SEARCH_SIZE.items()}, "n_trials")
    rerun = rerun_search(draw_config, make_schedule, fast)
    for t, ((config, acc), (rerun_config, rerun_acc)) in enumerate(zip(search_results, rerun)):
        for key in CONFIG_KEYS:
            expect_rerun(config[key], rerun_config[key], f"the configuration of trial {t}: {key!r}", rtol=1e-12, atol=0)
        expect_rerun(acc, rerun_acc, f"the accuracy of trial {t}", rtol=0, atol=0.5 / 355)
    best = max(float(acc) for _, acc in rerun)
    if not best >= SEARCH_BEST_MIN:
        fail(f"the best trial reached only {best:.3f} validation accuracy (at least {SEARCH_BEST_MIN} expected).", None,
             SEARCH_HINT)


def _final_model(final_model, final_history, *, draw_config, make_schedule) -> None:
    from utils.training import accuracy

    def rerun(fast):
        best_config, _ = max(rerun_search(draw_config, make_schedule, fast), key=lambda r: r[1])
        return final_training(best_config, make_schedule)

    def compare(result):
        model, history = result
        _expect_model(final_model, model, "final_model")
        for attr, atol in (("val_acc", 0.5 / 355), ("loss", 1e-9)):
            expect_rerun(getattr(final_history, attr, None), getattr(history, attr), f"final_history.{attr}",
                         rtol=1e-6 if attr == "loss" else 0, atol=atol)

    # the search's size (graded or not) does not show in the final model: the rerun tries both sizes
    model, _ = matching_rerun(rerun, compare)
    data = _load_digits()
    with np.errstate(all="ignore"):
        test = accuracy(model, data["X_test"], data["y_test"])
    if not test >= FINAL_TEST_MIN:
        fail(f"the final model's test accuracy is {test:.3f}; the capstone's goal is at least {FINAL_TEST_MIN}.")


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


CRITERIA = {"search_results": _search_results, "final_model": _final_model, "transfer_models": _transfer_models,
            "schedule_rates": _schedule_rates, "trainable_count": _trainable_count}
