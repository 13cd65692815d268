"""Hidden cases and criteria for notebook 08_hyperparameter_search (``graders/hyperparameter_search.py``
holds the visible ones).

``CASES`` draws, for every exercise with fixture cases, the visible inputs of
``graders.hyperparameter_search`` followed by the hidden ones (another number of classes and other
tolerances; learning curves scaled by a random factor, of 10, 25 and 1,000 losses, with -inf; sampler
ranges of one decade and of six, size 1 and 3-D sizes; a space of 11 parameters with a one-value int and
a one-option choice; 30 random trials refined with top_k larger than the trials, margin 0 and margin 1).
``random_search`` and ``grid_search`` take an objective, so their cases hold one of the analytic
objectives of the visible module (the check records its calls): for random_search the visible runs with
other generators and edge cases (no trial, one trial, 40 trials), with the reference's results as
``expected``; for grid_search the grids tried after the visible ones (a single combination, a 5 x 4 x 3
grid). ``CRITERIA`` holds the hidden inputs of ``check_overfit_small_subset``: two other sets of 20
training images (drawn with the hidden seed) that the student's ``overfit_small_subset`` must memorise.
"""
from __future__ import annotations

import numpy as np

from graders.checking import Case
from graders.fixtures import current_hidden_seed
from graders.hyperparameter_search import (RANDOM_SEARCH_RUNS, SEARCH_SPACE, SPACE_EXAMPLE, SPACE_OPTIM,
                                           SPACE_REFINE, _config_cases, _curves, _edge_results, _initial_loss_cases,
                                           _log_uniform_cases, _one_minus_cases, _random_configs, _refine_cases,
                                           _results, _smooth, _sub_rng, _ties, _with_nan)


def _initial_loss(rng: np.random.Generator) -> list[Case]:
    out = _initial_loss_cases(rng)
    C = int(rng.integers(3, 500))
    return out + [
        Case(f"loss 1.15 * log({C}) with {C} classes, tol 0.1", {"loss": 1.15 * np.log(C), "num_classes": C, "tol": 0.1}),
        Case(f"loss 0.95 * log({C}) with {C} classes, tol 0.1", {"loss": 0.95 * np.log(C), "num_classes": C, "tol": 0.1}),
        Case("loss 2.0 with 10 classes, tol 0.5", {"loss": 2.0, "num_classes": 10, "tol": 0.5}),
        Case("loss 0.0 with 2 classes", {"loss": 0.0, "num_classes": 2, "tol": 0.2}),
    ]


def _learning_curves(rng: np.random.Generator) -> list[Case]:
    scale = float(rng.uniform(0.5, 3.0))   # labels are invariant to scaling a curve
    out = _curves(rng, scale)
    t = np.arange(100.0)
    return out + [
        Case("a Python list, plateau", {"losses": list(scale * (1.4 + 0.9 * np.exp(-t / 6)))}),
        Case("n = 25, lr too high (zig-zag)", {"losses": scale * (2.0 + 1.0 * (np.arange(25) % 2))}),
        Case("n = 1000, healthy", {"losses": scale * (0.05 + 2.25 * np.exp(-np.arange(1000.0) / 150))}),
        Case("-inf in the middle", {"losses": np.concatenate([np.full(30, 2.3), [-np.inf], np.full(30, 2.0)])}),
        Case("n = 10, diverged (tail > 3 first)", {"losses": [1.0, 1.2, 1.5, 1.9, 2.4, 2.9, 3.3, 3.6, 3.8, 4.1]}),
    ]


def _log_uniform(rng: np.random.Generator) -> list[Case]:
    return _log_uniform_cases(rng) + [
        Case("[1e-8, 1e-7], size 50", {"low": 1e-8, "high": 1e-7, "size": 50, "rng": _sub_rng(rng)}),
        Case("[3, 3e4], size 1", {"low": 3.0, "high": 3e4, "size": 1, "rng": _sub_rng(rng)}),
        Case("[1e-2, 1e2], size (4, 1, 2)", {"low": 1e-2, "high": 1e2, "size": (4, 1, 2), "rng": _sub_rng(rng)}),
    ]


def _one_minus(rng: np.random.Generator) -> list[Case]:
    return _one_minus_cases(rng) + [
        Case("beta in [0, 0.9], size 40", {"low": 0.0, "high": 0.9, "size": 40, "rng": _sub_rng(rng)}),
        Case("beta in [0.999, 0.99999], size 3", {"low": 0.999, "high": 0.99999, "size": 3, "rng": _sub_rng(rng)}),
    ]


def _config(rng: np.random.Generator) -> list[Case]:
    out = _config_cases(rng)
    big = {**SPACE_EXAMPLE, **SPACE_OPTIM, "z_single": ("int", 5, 5), "a_one": ("choice", ["only"]),
           "m": ("linear", -1.0, 1.0)}
    return out + [Case("a space with 11 parameters, a one-value int and a one-option choice",
                       {"space": big, "rng": _sub_rng(rng)}) for _ in range(3)]


def _refine(rng: np.random.Generator) -> list[Case]:
    out = _refine_cases(rng)
    n = 30
    more = _results(rng.uniform(0, 1, n), _random_configs(rng, SPACE_REFINE, n))
    return out + [
        Case("30 random trials, top_k = 7", {"results": more, "space": SPACE_REFINE, "top_k": 7}),
        Case("30 random trials, top_k = 5, margin = 0", {"results": more, "space": SPACE_REFINE, "top_k": 5},
             kwargs={"margin": 0.0}),
        Case("top_k larger than the number of trials", {"results": _edge_results(), "space": SPACE_REFINE, "top_k": 10}),
        Case("a space written in another order, margin = 1",
             {"results": more, "space": dict(reversed(list(SPACE_REFINE.items()))), "top_k": 6},
             kwargs={"margin": 1.0}),
    ]


def _random_search(rng: np.random.Generator) -> list[Case]:
    runs = RANDOM_SEARCH_RUNS + [("no trials at all", _smooth, 0), ("a single trial", _smooth, 1),
                                 ("many ties, 40 trials", _ties, 40), ("NaN for lr > 1e-2, 40 trials", _with_nan, 40)]
    out = []
    for label, f, n in runs:
        seed = int(rng.integers(2 ** 31))
        out.append(Case(f"{label}, rng = np.random.default_rng({seed})",
                        {"objective": f, "space": SEARCH_SPACE, "n_trials": n, "rng": np.random.default_rng(seed)}))
    return out


def _grid_search(rng: np.random.Generator) -> list[Case]:
    """The grids the hidden check tries after the visible ones (GRID_RUNS)."""
    return [
        Case("one value per parameter (a single combination)",
             {"objective": _smooth, "grid": {"lr": [1e-2], "hidden": [50], "act": ["elu"]}}),
        Case("a 5 x 4 x 3 grid with ties",
             {"objective": _ties, "grid": {"act": ["elu", "tanh", "relu"], "hidden": [1, 2, 3, 4],
                                           "lr": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]}}),
    ]


CASES = {
    "initial_loss_ok": _initial_loss,
    "diagnose_learning_curve": _learning_curves,
    "sample_log_uniform": _log_uniform,
    "sample_one_minus_log_uniform": _one_minus,
    "sample_config": _config,
    "random_search": _random_search,
    "grid_search": _grid_search,
    "refine_space": _refine,
}


def _overfit_subsets() -> list[tuple[str, dict]]:
    """Two other sets of 20 training images, drawn with the hidden seed, that overfit_small_subset must memorise."""
    from datasets import load_digits
    digits = load_digits()
    rng = np.random.default_rng(current_hidden_seed())
    out = []
    for k in range(2):
        idx = np.sort(rng.choice(len(digits["y_train"]), 20, replace=False))
        out.append((f"20 other training images (hidden set {k + 1})",
                    {"X_train": digits["X_train"][idx], "y_train": digits["y_train"][idx]}))
    return out


CRITERIA = {"overfit_small_subset": _overfit_subsets}
