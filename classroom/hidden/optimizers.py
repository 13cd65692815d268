"""Hidden cases of notebook 06_optimizers (``graders.optimizers``), for ``hidden=True``.

``CASES`` draws, for each exercise, the visible kinds of case (with the grader's helpers, so the random
stream is consumed as by the visible draw) followed by the hidden ones:

- update rules: a long trajectory with gradients from 1e-3 to 1e3 in different coordinates, a config
  that already holds state (training resumed), a zero gradient first, a 3-D ``w``;
- schedules: long random ranges, step 0, single steps at the edges, ``every=1``, ``T=1``,
  ``warmup_steps=1``, a 2-D array of steps;
- minibatches: random sizes, one example, ``batch_size=1``, ``batch_size=N``, float32 inputs;
- the training loop: more features and classes, ``batch_size=1``, a schedule with an early stop, an early
  stop that never fires.

``CRITERIA["digits_training"]``: the digits experiment run again with the student's six update functions
(``graders.optimizers.digits_experiment``, the notebook's seeds and epochs); every history's losses and
validation accuracies must be its results, and momentum, Nesterov, AdaGrad and RMSProp must reach 80%
validation accuracy.
"""
from __future__ import annotations

import copy

import numpy as np

from classroom.hidden import expect_rerun
from graders import reference
from graders.checking import Case, fail
from graders.optimizers import (CUSTOM, DIGIT_RUNS, DIGITS_EPOCHS, STATE_KEYS, TOPIC, _batch_case, _cosine_cases,
                                _decay_cases, _gradients, _loop_cases, _loop_spec, _mini_batch_cases,
                                _step_decay_cases, _trajectories, _trajectory, _warmup_cases, digits_epochs,
                                digits_experiment, trajectory_cases)
from graders.rerun import mode_of


def _update_cases(name):
    def draw(rng: np.random.Generator) -> list[Case]:
        trajectories = _trajectories(name, rng)
        scales = np.logspace(-3, 3, 20).reshape(4, 5)  # one coordinate per scale
        start = _trajectory(name, "warm-up", np.zeros(6), _gradients(rng, (6,), 3), dict(CUSTOM[name]))
        ref = getattr(reference.load(TOPIC), name)
        resumed = copy.deepcopy(start[-1].args["config"])
        _, resumed = ref(start[-1].args["w"], start[-1].args["dw"], resumed)
        trajectories += [
            ("w of shape (4, 5), gradients from 1e-3 to 1e3 in different coordinates, config=None",
             rng.standard_normal((4, 5)), [scales * g for g in _gradients(rng, (4, 5), 12)], None),
            ("a config that already holds state (training resumed), w of shape (6,)",
             rng.standard_normal(6), _gradients(rng, (6,), 4), resumed),
            ("w of shape (1,), a zero gradient first, config={'lr': 0.2}",
             np.array([0.7]), [np.zeros(1)] + _gradients(rng, (1,), 4), {"lr": 0.2}),
            ("w of shape (2, 2, 2), config=None", rng.standard_normal((2, 2, 2)),
             _gradients(rng, (2, 2, 2), 6), None),
        ]
        return trajectory_cases(name, trajectories)
    return draw


def _step_decay(rng: np.random.Generator) -> list[Case]:
    return _step_decay_cases(rng) + [
        Case("epochs 0..99, random drop and interval",
             {"lr0": float(rng.uniform(0.01, 1)), "epoch": np.arange(100),
              "drop": float(rng.uniform(0.1, 0.9)), "every": int(rng.integers(2, 15))}),
        Case("epoch 0", {"lr0": 0.3, "epoch": 0, "drop": 0.5, "every": 4}),
        Case("every=1 (a drop every epoch)", {"lr0": 1.0, "epoch": np.arange(6), "drop": 0.9, "every": 1}),
    ]


def _decay(rng: np.random.Generator) -> list[Case]:
    return _decay_cases(rng) + [
        Case("steps 0..994 (every 7th), k=1e-3",
             {"lr0": float(rng.uniform(0.01, 1)), "t": np.arange(0, 1000, 7), "k": 1e-3}),
        Case("step 0", {"lr0": 0.3, "t": 0, "k": 0.5}),
        Case("a 2-D array of steps", {"lr0": 0.5, "t": np.arange(12).reshape(3, 4), "k": 0.3}),
    ]


def _cosine(rng: np.random.Generator) -> list[Case]:
    visible = _cosine_cases(rng)
    T = int(rng.integers(20, 200))
    return visible + [
        Case("random lr0 and lr_min, steps 0..2T",
             {"lr0": float(rng.uniform(0.1, 1)), "t": np.arange(2 * T + 1), "T": T,
              "lr_min": float(rng.uniform(0, 0.05))}),
        Case("T=1", {"lr0": 0.2, "t": np.arange(4), "T": 1, "lr_min": 0.0}),
        Case("a step far past T (an int)", {"lr0": 0.2, "t": 1000, "T": 10, "lr_min": 0.01}),
    ]


def _warmup(rng: np.random.Generator) -> list[Case]:
    visible = _warmup_cases(rng)
    W = int(rng.integers(10, 500))
    return visible + [
        Case("random warm-up length, steps 0..2W", {"lr0": float(rng.uniform(0.01, 1)),
                                                    "t": np.arange(2 * W + 1), "warmup_steps": W}),
        Case("warmup_steps=1 (no warm-up at all)", {"lr0": 0.2, "t": np.arange(4), "warmup_steps": 1}),
        Case("the last warm-up step (an int)", {"lr0": 0.5, "t": 7, "warmup_steps": 8}),
    ]


def _mini_batches(rng: np.random.Generator) -> list[Case]:
    N, bs = int(rng.integers(30, 120)), int(rng.integers(3, 17))
    return _mini_batch_cases(rng) + [
        _batch_case(rng, f"N={N}, batch_size={bs} (random sizes)", N, bs),
        _batch_case(rng, "one example, batch_size=1", 1, 1),
        _batch_case(rng, "batch_size=1 (one batch per example), N=6", 6, 1),
        _batch_case(rng, "batch_size equal to N=7 (one full batch)", 7, 7),
        _batch_case(rng, "X of dtype float32, N=9, batch_size=2", 9, 2, dtype=np.float32),
    ]


def _loops(rng: np.random.Generator) -> list[Case]:
    N, bs = int(rng.integers(12, 30)), int(rng.integers(3, 7))
    return _loop_cases(rng) + [
        Case(f"N={N}, batch_size={bs}, 4 features and 5 classes, 3 epochs, optim_config={{'lr': 0.2}}",
             {"spec": _loop_spec(rng, N, bs, 3, D=4, C=5, optim_config={"lr": 0.2})}),
        Case("batch_size=1 (one step per example), N=5, 2 epochs",
             {"spec": _loop_spec(rng, 5, 1, 2, optim_config={"lr": 0.1})}),
        Case("a schedule and an early stop after epoch 2 (of at most 6), N=13, batch_size=4",
             {"spec": _loop_spec(rng, 13, 4, 6, optim_config={"lr": 1.0}, rates=[0.6, 0.5, 0.4, 0.3, 0.2, 0.1],
                                 stop_after=3)}),
        Case("an early stop that never fires (it would after 9 epochs; at most 3), N=8, batch_size=3",
             {"spec": _loop_spec(rng, 8, 3, 3, stop_after=9)}),
    ]


CASES = {
    **{name: _update_cases(name) for name in STATE_KEYS},
    "random_mini_batches": _mini_batches,
    "train_loop": _loops,
    "step_decay": _step_decay,
    "exponential_decay": _decay,
    "inverse_time_decay": _decay,
    "cosine_decay": _cosine,
    "linear_warmup": _warmup,
}

def _digits_training(histories, *, updates) -> None:
    # 4 epochs while graded, 6 otherwise: the number of validation accuracies says which size to rerun
    fast = mode_of(len(histories["Adam"].val_acc), DIGITS_EPOCHS, "the number of epochs in histories['Adam']")
    rerun = digits_experiment(updates, digits_epochs(fast))
    n_val = 355   # validation images: an accuracy is a multiple of 1 / 355
    for name in DIGIT_RUNS:
        expect_rerun(histories[name].loss, rerun[name].loss, f"histories[{name!r}].loss")
        expect_rerun(histories[name].val_acc, rerun[name].val_acc, f"histories[{name!r}].val_acc", rtol=0,
                     atol=0.5 / n_val)
    for name in ("momentum", "Nesterov", "AdaGrad", "RMSProp"):
        if not rerun[name].val_acc[-1] >= 0.8:
            fail(f"with {name} the MLP reached only {rerun[name].val_acc[-1]:.1%} validation accuracy (80% expected).")


CRITERIA = {"digits_training": _digits_training}
