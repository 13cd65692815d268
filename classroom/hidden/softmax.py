"""Hidden cases of notebook 01_softmax (never in the student release).

``CASES``: for each exercise with visible cases, the visible kinds of input (drawn by the helpers of
``graders.softmax``, in the same order) followed by edge cases and larger inputs: a 1x1 and a square
2x2 batch, a 200x50 batch spanning -1000..1000, scores around -1000; a Jacobian with C=1 and with C=30;
relative errors of all-zero and tiny arrays.

``CRITERIA``: the inputs of the checks that do not take their cases from a fixture, drawn with the
hidden seed in force (``graders.fixtures.HIDDEN_SEED``, or another inside ``hidden_seed(...)``):
- ``numerical_gradient_inputs()``: the visible kinds plus a 3-d ``x`` and a ``x`` of one entry;
- ``gradient_check_batch()``: a fresh batch of scores and labels for the gradient-check exercise.
"""
from __future__ import annotations

import numpy as np

from graders import fixtures
from graders.checking import Case
from graders.softmax import (_f_cubic, _f_logsumexp, _grad_cubic, _grad_logsumexp, _gradient_check_batch,
                             _jacobian_cases, _label_cases, _numerical_gradient_inputs, _relative_error_cases,
                             _scores_cases, _underflow_case)


def _rng() -> np.random.Generator:
    """A generator seeded with the hidden seed in force (HIDDEN_SEED unless a test overrides it)."""
    return np.random.default_rng(fixtures.current_hidden_seed())


# ---------------------------------------------------------------- hidden cases
def _scores(rng: np.random.Generator) -> list[Case]:
    return _scores_cases(rng) + [
        Case("a 1x1 batch", {"scores": np.array([[-2.5]])}),
        Case("a 2x2 batch (square: the wrong axis cannot hide behind the shape)",
             {"scores": np.array([[1.0, 3.0], [-2.0, 0.5]])}),
        Case("a 200x50 batch spanning -1000..1000", {"scores": rng.uniform(-1000, 1000, (200, 50))}),
        Case("very negative scores around -1000", {"scores": -1000.0 + rng.standard_normal((5, 7))}),
    ]


def _jacobian(rng: np.random.Generator) -> list[Case]:
    return _jacobian_cases(rng) + [Case("C=1", {"z": np.array([0.7])}),
                                   Case("C=30", {"z": 5 * rng.standard_normal(30)})]


def _relative_error(rng: np.random.Generator) -> list[Case]:
    return _relative_error_cases(rng) + [
        Case("both all zeros", {"a": np.zeros((2, 2)), "b": np.zeros((2, 2))}),
        Case("tiny values below the guard", {"a": np.array([1e-12]), "b": np.array([3e-12])})]


CASES = {
    "softmax": _scores,
    "cross_entropy_loss": lambda rng: _label_cases(rng, with_probs=True, scores_cases=_scores),
    "softmax_jacobian": _jacobian,
    "softmax_cross_entropy": lambda rng: _label_cases(rng, with_probs=False, scores_cases=_scores)
                                         + [_underflow_case()],
    "relative_error": _relative_error,
}


# ---------------------------------------------------------------- inputs of the other checks
def numerical_gradient_inputs() -> list[tuple]:
    rng = _rng()
    return _numerical_gradient_inputs(rng) + [
        ("f(x) = sum(x**3) + x[0], x of shape (4, 2, 3)", _f_cubic, _grad_cubic, 2 * rng.standard_normal((4, 2, 3))),
        ("f(x) = log(sum(exp(x))), x of shape (1,)", _f_logsumexp, _grad_logsumexp, np.array([0.3]))]


def gradient_check_batch() -> tuple[np.ndarray, np.ndarray]:
    return _gradient_check_batch(_rng())


CRITERIA = {
    "numerical_gradient_inputs": numerical_gradient_inputs,
    "gradient_check_batch": gradient_check_batch,
}
