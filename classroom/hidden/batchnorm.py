"""Hidden cases and criteria of notebook 05_batchnorm (``graders.batchnorm``), for ``hidden=True``.

``CASES`` draws, for each exercise, the visible kinds of case (with the grader's helpers, so the random
stream is consumed as by the visible draw) followed by the hidden ones: a batch of one, a square batch,
large batches with large offsets, other ``eps`` and ``momentum`` values. The backward exercises get, on
top of the visible inputs, a batch of one, a batch of two (x_hat is +-1) and a large batch. The affine
layer gets a large layer, a 1x1 one, a single example and an all-square one; ``init_fc_net`` a digits-sized
network with batch norm, equal widths with a ``weight_scale`` and a narrow input with layer norm;
``fc_net_loss`` three hidden layers with batch norm, layer norm with unequal widths, a batch of two with
batch norm, a digits-sized input and test mode without normalisation.

``CRITERIA``:

- ``convergence_batch()``: the batch the hidden run of ``check_batchnorm_forward`` feeds 200 times to the
  forward pass (the visible run uses another one);
- ``weight_scale_sweep(scales, acc_bn, acc_plain, batchnorm_forward=..., batchnorm_backward=...)``: the
  experiment run again with the student's batch norm (``graders.batchnorm.weight_scale_sweep``, the
  notebook's seeds and sizes); the notebook's scales and accuracies must be its results (to half a
  validation image), the experiment covered the 8 weight scales and batch norm reached 0.75 validation
  accuracy at its best scale.
"""
from __future__ import annotations

import numpy as np

from classroom.hidden import expect_rerun
from graders.batchnorm import (SWEEP_SCALES, _affine_backward_inputs, _affine_forward_cases, _backward_inputs,
                               _bn_forward_cases, _draw_backward, _fc_net_loss_cases, _init_fc_net_cases,
                               _ln_forward_cases, affine_backward_cases, backward_cases, convergence_batch,
                               fc_net_case, weight_scale_sweep_bn, weight_scale_sweep_plain)
from graders.checking import Case, fail
from graders.fixtures import current_hidden_seed
from graders.rerun import fast_modes, matching_rerun


def _bn_forward(rng: np.random.Generator) -> list[Case]:
    return _bn_forward_cases(rng) + [
        Case("train mode with a batch of one example (every output equals beta)",
             {"x": rng.standard_normal((1, 4)), "gamma": rng.uniform(0.5, 2.0, 4), "beta": rng.standard_normal(4),
              "bn_param": {"mode": "train", "running_mean": np.zeros(4), "running_var": np.ones(4)}}),
        Case("train mode, a square batch N=D=6 (the wrong axis cannot hide behind the shape)",
             {"x": rng.standard_normal((6, 6)) * rng.uniform(0.5, 3.0, 6), "gamma": rng.uniform(0.5, 2.0, 6),
              "beta": rng.standard_normal(6), "bn_param": {"mode": "train", "momentum": 0.8}}),
        Case("train mode, N=200, D=30, features around 1000",
             {"x": 1000.0 + rng.standard_normal((200, 30)), "gamma": np.ones(30), "beta": np.zeros(30),
              "bn_param": {"mode": "train", "running_mean": 1000.0 * np.ones(30), "running_var": np.ones(30)}}),
        Case("test mode, N=50, D=10, running statistics far from the batch's",
             {"x": rng.standard_normal((50, 10)) * 5.0 - 4.0, "gamma": rng.uniform(0.5, 2.0, 10),
              "beta": rng.standard_normal(10),
              "bn_param": {"mode": "test", "eps": 1e-3, "running_mean": rng.standard_normal(10),
                           "running_var": rng.uniform(0.1, 3.0, 10)}}),
    ]


def _ln_forward(rng: np.random.Generator) -> list[Case]:
    return _ln_forward_cases(rng) + [
        Case("N=50, D=30, rows around 1000", {"x": 1000.0 + rng.standard_normal((50, 30)),
                                             "gamma": np.ones(30), "beta": np.zeros(30), "ln_param": {}}),
        Case("N=7, D=2", {"x": 3.0 * rng.standard_normal((7, 2)), "gamma": rng.uniform(0.5, 2.0, 2),
                          "beta": rng.standard_normal(2), "ln_param": {"eps": 1e-3}}),
    ]


def _backward_inputs_hidden(rng: np.random.Generator):
    return _backward_inputs(rng) + [
        ("N=1, D=3: a batch of one", *_draw_backward(rng, 1, 3)),
        ("N=2, D=3: the smallest batch with a spread (x_hat is +-1, so dx is ~0)", *_draw_backward(rng, 2, 3)),
        ("N=30, D=20 around 10", *_draw_backward(rng, 30, 20, 1.0, 10.0)),
    ]


def _affine_forward(rng: np.random.Generator) -> list[Case]:
    return _affine_forward_cases(rng) + [
        Case("N=40, D=30, M=20, inputs around 5", {"x": 5.0 + rng.standard_normal((40, 30)),
                                                  "W": rng.standard_normal((30, 20)), "b": rng.standard_normal(20)}),
        Case("D=1, M=1", {"x": rng.standard_normal((4, 1)), "W": np.array([[2.0]]), "b": np.array([-1.0])}),
    ]


def _affine_backward_inputs_hidden(rng: np.random.Generator):
    def draw(N, D, M):
        return rng.standard_normal((N, D)), rng.standard_normal((D, M)), rng.standard_normal(M), \
            rng.standard_normal((N, M))
    return _affine_backward_inputs(rng) + [("N=1, D=4, M=2: a single example", *draw(1, 4, 2)),
                                           ("N=4, D=4, M=4: everything square", *draw(4, 4, 4)),
                                           ("N=30, D=12, M=8", *draw(30, 12, 8))]


def _init_fc_net(rng: np.random.Generator) -> list[Case]:
    def case(label, D, hidden, C, **kwargs):
        return Case(label, {"input_dim": D, "hidden_dims": list(hidden), "num_classes": C,
                            "rng": np.random.default_rng(int(rng.integers(2 ** 31)))}, kwargs=kwargs)
    return _init_fc_net_cases(rng) + [
        case("input_dim=64, hidden_dims=[100, 50], num_classes=10, normalization='batchnorm'", 64, [100, 50], 10,
             normalization="batchnorm"),
        case("equal widths 7 -> 7 -> 7 -> 7 with weight_scale=2.0", 7, [7, 7], 7, weight_scale=2.0),
        case("input_dim=2, hidden_dims=[9], num_classes=2, normalization='layernorm'", 2, [9], 2,
             normalization="layernorm"),
    ]


def _fc_net_loss(rng: np.random.Generator) -> list[Case]:
    return _fc_net_loss_cases(rng) + [
        fc_net_case(rng, "batch norm, three hidden layers of equal width 4, N=5", [4, 4, 4, 4, 3], 5, "batchnorm"),
        fc_net_case(rng, "layer norm, dims 6 -> 3 -> 4 -> 5 classes, N=7", [6, 3, 4, 5], 7, "layernorm"),
        fc_net_case(rng, "batch norm, a batch of two examples (x_hat is +-1)", [3, 4, 2], 2, "batchnorm"),
        fc_net_case(rng, "no normalization, 64 -> 20 -> 10, N=16", [64, 20, 10], 16),
        fc_net_case(rng, "test mode without normalization", [5, 4, 3], 4, None, train=False),
    ]


CASES = {
    "affine_forward": _affine_forward,
    "affine_backward": lambda rng: affine_backward_cases(_affine_backward_inputs_hidden(rng)),
    "init_fc_net": _init_fc_net,
    "fc_net_loss": _fc_net_loss,
    "batchnorm_forward": _bn_forward,
    "batchnorm_backward": lambda rng: backward_cases(_backward_inputs_hidden(rng), "batchnorm_forward"),
    "layernorm_forward": _ln_forward,
    "layernorm_backward": lambda rng: backward_cases(_backward_inputs_hidden(rng), "layernorm_forward"),
}


def _weight_scale_sweep(scales, acc_bn, acc_plain, *, batchnorm_forward, batchnorm_backward) -> None:
    """The hidden criteria of ``check_weight_scale_sweep`` (after its visible ones passed)."""
    if not len(acc_bn) == len(acc_plain) == len(scales) == 8:
        fail(f"the experiment should cover the 8 weight scales, but it covered {len(scales)}. Was it run as given?")
    expect_rerun(scales, SWEEP_SCALES, "scales", rtol=1e-12, atol=0)
    n_val = 355   # validation images: an accuracy is a multiple of 1 / 355
    # The runs without batch norm are the course's code alone (no call to the student's kernel, cheap): made at
    # both sizes (graded or not: the kernel and the re-check need not agree), they say which size the notebook
    # ran at; the batch-norm runs are then made at that size only.
    plain = {fast: weight_scale_sweep_plain(fast) for fast in fast_modes()}
    sizes = [fast for fast in plain if np.allclose(acc_plain, plain[fast], rtol=0, atol=0.5 / n_val)]
    expect_rerun(acc_plain, plain[(sizes or list(plain))[0]], "acc_plain", rtol=0, atol=0.5 / n_val)
    rerun_bn = matching_rerun(lambda fast: weight_scale_sweep_bn(batchnorm_forward, batchnorm_backward, fast),
                              lambda rerun: expect_rerun(acc_bn, rerun, "acc_bn", rtol=0, atol=0.5 / n_val),
                              sizes=sizes)
    if not max(rerun_bn) >= 0.75:
        fail(f"with batch norm the best accuracy was only {max(rerun_bn):.3f} (at least 0.75 expected). Do your "
             "batchnorm_forward and batchnorm_backward pass their checks?")


CRITERIA = {
    # the batch of the 200-call convergence test, drawn with the hidden seed in force + 11
    "convergence_batch": lambda: convergence_batch(np.random.default_rng(current_hidden_seed() + 11)),
    "weight_scale_sweep": _weight_scale_sweep,
}
