"""Hidden cases and criteria for notebook 02_activations (``graders/activations.py`` holds the visible ones).

``CASES`` draws, for every layer, the visible inputs of ``graders.activations`` followed by the hidden
ones (larger and 3-D batches, all-negative, all-positive and all-zero inputs, alpha = 0, alpha = 2 on
negative inputs, PReLU alphas with zero and negative entries, a single feature...), and only then an
upstream gradient ``dout`` for each; the forward and backward cases of a layer share those draws, so
the pairs stay in step. ``CRITERIA`` holds the experiment checks' hidden criteria, called by
``check_<name>(..., hidden=True)``: each experiment is run again with the student's functions (the
procedures of ``graders.activations``, the notebook's seeds) and the notebook's values must be its results
(rtol 1e-6 for norms and gradients, exact counts for fractions), then the criteria hold on them.
"""
from __future__ import annotations

import numpy as np

from classroom.hidden import expect_rerun
from graders.activations import (GRAD_FLOW_KEYS, INPUTS, KINK_INPUT, _same_sign_fraction, _signed, _with_dout,
                                 dead_relu_experiment, gradient_flow_experiment, layer_cases, zigzag_experiment)
from graders.checking import fail


def _smooth(rng: np.random.Generator):
    return INPUTS["sigmoid"](rng) + [
        ("a (2, 3, 4) input", {"x": 2.0 * rng.standard_normal((2, 3, 4))}, {}),
        ("a (1, 1) input", {"x": np.array([[-3.7]])}, {}),
        ("a (30, 40) batch spanning -1000..1000", {"x": rng.uniform(-1000, 1000, (30, 40))}, {}),
        ("very negative inputs around -800", {"x": -800.0 + rng.standard_normal((3, 3))}, {}),
    ]


def _relu(rng: np.random.Generator):
    return INPUTS["relu"](rng) + [
        ("a (20, 25) batch", {"x": _signed(rng, (20, 25), high=10.0)}, {}),
        ("a (2, 3, 4) input", {"x": _signed(rng, (2, 3, 4))}, {}),
        ("all entries negative", {"x": -rng.uniform(1e-3, 5.0, (3, 4))}, {}),
        ("all entries positive", {"x": rng.uniform(1e-3, 5.0, (3, 4))}, {}),
        ("all entries exactly 0", {"x": np.zeros((2, 3))}, {}),
    ]


def _leaky(rng: np.random.Generator):
    return INPUTS["leaky_relu"](rng) + [
        ("alpha = 0.01 passed explicitly, a (20, 25) batch", {"x": _signed(rng, (20, 25), high=10.0)},
         {"alpha": 0.01}),
        ("alpha = 0.3, a (2, 3, 4) input", {"x": _signed(rng, (2, 3, 4))}, {"alpha": 0.3}),
        ("alpha = 0 (a plain ReLU)", {"x": _signed(rng, (3, 4))}, {"alpha": 0.0}),
        ("alpha = 2, all entries negative", {"x": -rng.uniform(1e-3, 5.0, (3, 4))}, {"alpha": 2.0}),
    ]


def _elu(rng: np.random.Generator):
    return INPUTS["elu"](rng) + [
        ("alpha = 2, inputs on and next to the kink (exact zeros and +-1e-3)", {"x": KINK_INPUT.copy()},
         {"alpha": 2.0}),
        ("alpha = 1 passed explicitly, a (20, 25) batch", {"x": _signed(rng, (20, 25), high=8.0)},
         {"alpha": 1.0}),
        ("alpha = 0.3, a (2, 3, 4) input", {"x": _signed(rng, (2, 3, 4))}, {"alpha": 0.3}),
    ]


def _prelu(rng: np.random.Generator):
    return INPUTS["prelu"](rng) + [
        ("x of shape (40, 10)", {"x": _signed(rng, (40, 10), high=5.0), "alpha": rng.uniform(0.0, 1.0, 10)}, {}),
        ("alpha with a zero and negative entries", {"x": _signed(rng, (6, 4)),
                                                    "alpha": np.array([0.0, -0.2, 0.3, -1.0])}, {}),
        ("a single feature, x of shape (8, 1)", {"x": _signed(rng, (8, 1)), "alpha": np.array([0.25])}, {}),
    ]


HIDDEN_INPUTS = {"sigmoid": _smooth, "tanh": _smooth, "relu": _relu, "leaky_relu": _leaky, "elu": _elu,
                 "prelu": _prelu}


def _draws(name):
    return lambda rng: _with_dout(rng, HIDDEN_INPUTS[name](rng))


CASES = {}
for _name in HIDDEN_INPUTS:
    CASES.update(layer_cases(_name, _draws(_name)))


# ---------------------------------------------------------------- the experiment checks' hidden criteria
def _gradient_flow(grad_norms, *, layers) -> None:
    rerun = gradient_flow_experiment(layers)
    for key, norms in rerun.items():
        # norms span 12 orders of magnitude (the sigmoid stack): relative comparison only
        expect_rerun(grad_norms[key], norms, f"grad_norms[{key!r}]", rtol=1e-6, atol=0.0)
    sig = rerun[GRAD_FLOW_KEYS["sigmoid"]]
    if not np.all(np.diff(sig) > 0):
        fail("the sigmoid stack's gradient norms should shrink at every layer on the way down to the input.")


def _dead_relus(before: float, after: float, max_grad: float, *, relu_forward, relu_backward) -> None:
    rerun = dead_relu_experiment(relu_forward, relu_backward)
    # fractions of the 200 hidden units: equal up to a quarter of a unit; the gradient up to rounding
    expect_rerun(before, rerun[0], "dead_fraction_before", rtol=0, atol=0.25 / 200)
    expect_rerun(after, rerun[1], "dead_fraction_after", rtol=0, atol=0.25 / 200)
    expect_rerun(max_grad, rerun[2], "dead_unit_max_grad", rtol=1e-6, atol=1e-12)
    if not rerun[0] < 0.2:
        fail(f"before the large step {rerun[0]:.1%} of the units are already dead; expected fewer than 20%.")


def _same_sign_fractions(dw_positive, dw_centred, *, sigmoid_forward) -> None:
    rerun_positive, rerun_centred = zigzag_experiment(sigmoid_forward)
    expect_rerun(dw_positive, rerun_positive, "dw_positive", rtol=1e-9, atol=1e-12)
    expect_rerun(dw_centred, rerun_centred, "dw_centred", rtol=1e-9, atol=1e-12)
    if _same_sign_fraction(rerun_positive) != 1.0:
        fail("with all-positive inputs every step's weight gradient should have one sign; the recorded "
             "dw_positive says otherwise. Check sigmoid_forward.")
    if not _same_sign_fraction(rerun_centred) < 0.8:
        fail("with zero-centred inputs the weight gradients should often have mixed signs; the recorded "
             "dw_centred says otherwise. Check sigmoid_forward.")


CRITERIA = {"gradient_flow": _gradient_flow, "dead_relus": _dead_relus, "same_sign_fractions": _same_sign_fractions}
