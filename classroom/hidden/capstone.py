"""Hidden cases and criteria for notebook 09_capstone (``graders/capstone.py`` holds the visible ones).

``CASES`` draws
- ``make_schedule``: the visible schedules, then a random lr0 with long cosine and step schedules and the
  edge cases of 1 to 4 epochs (where the milestones T // 2 and 3 * T // 4 coincide or are 0);
- ``draw_config``: the visible fresh generators, then one that has already been drawn from and two more;
- ``count_trainable_params``, ``freeze``, ``replace_head``, ``prepare_transfer``: networks of the visible
  kinds from other seeds, one with three hidden layers of random widths and one with a single hidden
  unit; each case's first argument is the network, and ``rng`` (where the check draws its generators
  from) is the case's own.
``CRITERIA`` holds the graded bars of the experiment checks, on the test images: the final model's test
accuracy, the best search trial, the transfer models' target test accuracies.
"""
from __future__ import annotations

import numpy as np

from graders.capstone import (SCHEDULE_RUNS, SEARCH_HINT, TOOL_NETWORKS, _draw_config_seeds, _fresh_generator_case, _load_digits,
                              _network, _target_split)
from graders.checking import Case, fail

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


# ---------------------------------------------------------------- criteria of the experiment checks
def _search_results(search_results) -> None:
    best = max(float(acc) for _, acc in search_results)
    if not best >= SEARCH_BEST_MIN:
        fail(f"the best trial reached only {best:.3f} validation accuracy (at least {SEARCH_BEST_MIN} expected).", None,
             SEARCH_HINT)


def _final_model(final_model, final_history) -> None:
    from utils.training import accuracy

    data = _load_digits()
    with np.errstate(all="ignore"):
        test = accuracy(final_model, data["X_test"], data["y_test"])
    if not test >= FINAL_TEST_MIN:
        fail(f"the final model's test accuracy is {test:.3f}; the capstone's goal is at least {FINAL_TEST_MIN}.")


def _transfer_models(transfer_models) -> None:
    from utils.training import accuracy

    data = _load_digits()
    with np.errstate(all="ignore"):
        X_test, y_test = _target_split(data, "test")
        for s, m in transfer_models.items():
            acc = accuracy(m, X_test, y_test)
            if not acc >= TRANSFER_TEST_MIN[s]:
                fail(f"the {s!r} model reaches only {acc:.3f} on the target test images "
                     f"(at least {TRANSFER_TEST_MIN[s]} expected).")


CRITERIA = {"search_results": _search_results, "final_model": _final_model, "transfer_models": _transfer_models}
