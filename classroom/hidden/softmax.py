"""Hidden cases of notebook 01_softmax (never in the student release).

``CASES``: for each exercise with visible cases, the visible kinds of input (drawn by the helpers of
``graders.softmax``, in the same order) followed by edge cases and larger inputs: a 1x1 and a square
2x2 batch, a 200x50 batch spanning -1000..1000, scores around -1000; a Jacobian with C=1 and with C=30;
relative errors of all-zero and tiny arrays.

``CRITERIA``: the inputs of the checks that do not take their cases from a fixture, drawn with the
hidden seed in force (``graders.fixtures.HIDDEN_SEED``, or another inside ``hidden_seed(...)``):
- ``numerical_gradient_inputs()``: the visible kinds plus a 3-d ``x`` and a ``x`` of one entry;
- ``gradient_check_batch()``: a fresh batch of scores and labels for the gradient-check exercise;
- ``gradient_check(rel_err, loss=..., numerical_gradient=..., relative_error=...)``: the gradient check of
  section 6 run again with the student's three functions on the notebook's batch; ``rel_err`` must equal it
  (rtol 1e-6: the rerun repeats the notebook's arithmetic exactly, a typed-in number does not);
- ``training(train_accuracy, losses, loss=...)``: section 8 run again with the student's loss
  (``graders.softmax.train_linear_classifier``); the losses and the accuracy must be the rerun's, and the
  first loss within 0.05 of log 3.
"""
from __future__ import annotations

import numpy as np

from classroom.hidden import RERUN_HINT, expect_rerun
from graders import fixtures
from graders.checking import Case, call, expect_array, expect_scalar, expect_tuple, fail, prefetch
from graders.softmax import (_f_cubic, _f_logsumexp, _grad_cubic, _grad_logsumexp, _gradient_check_batch,
                             _jacobian_cases, _label_cases, _numerical_gradient_inputs, _relative_error_cases,
                             _scores_cases, _underflow_case, TRAINING_STEPS, gradient_check_inputs,
                             train_linear_classifier, training_steps)
from graders.rerun import mode_of


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


# ---------------------------------------------------------------- values the notebook computed, rerun
H = 1e-5   # numerical_gradient's default step


class _LossTable:
    """The student's loss at given points, evaluated up front in one batch (one round trip in the re-check),
    looked up by the exact bytes of the point: the function handed to the student's numerical_gradient,
    which must not call back into the student's kernel. A point not in the table is remembered and
    answered with the course's loss, so that the caller can add it to the table and run again."""

    def __init__(self, loss, y):
        self.loss, self.y, self.values, self.missed = loss, y, {}, []

    def add(self, points: list[np.ndarray]) -> None:
        points = [np.array(p, dtype=np.float64) for p in points if np.asarray(p).tobytes() not in self.values]
        if not points:
            return
        for f, p in zip(prefetch(self.loss, [([p.copy(), self.y], {}) for p in points], keep=1), points):
            case = Case("a point where numerical_gradient evaluates the loss", {"scores": p.copy(), "y": self.y})
            out = expect_tuple(call(f, "softmax_cross_entropy", case), ("loss", "dscores"), "softmax_cross_entropy",
                               case)
            self.values[p.tobytes()] = expect_scalar(out[0], "the loss returned by softmax_cross_entropy", case)

    def __call__(self, x):
        from utils.layers import softmax_cross_entropy

        x = np.asarray(x, dtype=np.float64)
        value = self.values.get(x.tobytes())
        if value is None:
            self.missed.append(x.copy())
            return softmax_cross_entropy(x, self.y)[0]
        return value


def _rerun_gradient_check(loss, numerical_gradient, relative_error) -> float:
    """Section 6 again, with the student's functions: the analytic dscores of ``loss``, its numeric gradient
    by ``numerical_gradient`` (of the loss alone, y fixed) and their ``relative_error``."""
    scores, y = gradient_check_inputs()
    case = Case("the notebook's gradient-check batch (make_rng(0), 6 x 4 scores)", {"scores": scores.copy(), "y": y})
    out = expect_tuple(call(loss, "softmax_cross_entropy", case), ("loss", "dscores"), "softmax_cross_entropy", case)
    dscores = expect_array(out[1], "dscores returned by softmax_cross_entropy", case, shape=scores.shape)
    table = _LossTable(loss, y)
    points = [scores]
    for i in np.ndindex(scores.shape):
        for step in (H, -H):
            p = scores.copy()
            p[i] = scores[i] + step
            points.append(p)
    table.add(points)
    for attempt in range(2):   # a second run when numerical_gradient evaluated the loss elsewhere
        table.missed = []
        case = Case("the loss of the notebook's gradient-check batch", {"f": lambda x: table(x), "x": scores.copy()})
        numeric = call(numerical_gradient, "numerical_gradient", case)
        numeric = expect_array(numeric, "numerical_gradient(f, scores_check)", None, shape=scores.shape)
        if not table.missed:
            break
        table.add(table.missed)
    else:
        fail("numerical_gradient evaluated the loss at different points each time it ran on the same input; it "
             "should evaluate f(x + h e_i) and f(x - h e_i) only.")
    pair = Case("dscores and the numeric gradient of the notebook's gradient-check batch", {"a": dscores, "b": numeric})
    return expect_scalar(call(relative_error, "relative_error", pair), "relative_error(dscores, numeric)", pair)


def gradient_check(rel_err, *, loss, numerical_gradient, relative_error) -> None:
    rerun = _rerun_gradient_check(loss, numerical_gradient, relative_error)
    if not abs(float(rel_err) - rerun) <= 1e-6 * rerun + 1e-18:
        fail(f"rel_err is {float(rel_err):.6g}, but the gradient check of section 6 run again with your "
             f"softmax_cross_entropy, numerical_gradient and relative_error gives {rerun:.6g}.", None, RERUN_HINT)


def training(train_accuracy, losses, *, loss) -> None:
    # the cell makes 60 steps while graded, 200 otherwise: the number of losses says which size to rerun
    num_steps = training_steps(mode_of(len(losses), TRAINING_STEPS, "the number of losses"))
    rerun_losses, rerun_accuracy = train_linear_classifier(loss, num_steps)
    expect_rerun(losses, rerun_losses, "losses")
    # 300 training points: an accuracy is a multiple of 1/300; allow half a point for floating-point noise
    expect_rerun(train_accuracy, rerun_accuracy, "train_accuracy", rtol=0, atol=0.5 / 300)
    if not abs(rerun_losses[0] - np.log(3)) < 0.05:
        fail(f"the first loss was {rerun_losses[0]:.4f}, but with tiny weights it should be close to "
             f"log 3 = {np.log(3):.4f}.")


CRITERIA = {
    "numerical_gradient_inputs": numerical_gradient_inputs,
    "gradient_check_batch": gradient_check_batch,
    "gradient_check": gradient_check,
    "training": training,
}
