"""Checks for notebook 01_softmax: softmax, cross-entropy, the softmax Jacobian, the fused
softmax-cross-entropy loss and its gradient, numeric gradients and relative error.

Each ``check_<exercise>(student_function)`` returns quietly (after printing one ``[ok]`` line) on a
correct implementation and raises ``AssertionError`` with an explanation on a wrong one. Called with
no options it uses the visible cases (fixed inputs, reference outputs from ``fixtures/softmax.json``);
hidden tests call it with ``hidden=True``, which adds edge cases and larger inputs that are not part of
this package (they come from the grader).
"""
from __future__ import annotations

import numpy as np

from utils.gradcheck import numerical_gradient as _library_numerical_gradient
from .checking import (Case, call, expect_array, expect_close, expect_gradient, expect_scalar, expect_tuple,
                       fail, ratio, reporting, require_answer, withheld)
from .fixtures import cases, hidden_criterion

TOPIC = "softmax"
GRADIENT_CHECK_SEED = 0   # the notebook's make_rng(0) in section 6
NUMGRAD_TOL = 1e-7   # numerical_gradient: error bound relative to the gradient's scale (see check_numerical_gradient)
RTOL = 1e-6   # float64 softmax values agree with the reference to ~1e-15; 1e-6 leaves room for any sound formula
ATOL = 1e-12


HINTS = {
    "softmax": "Work row by row without a loop: subtract each row's maximum (axis=1, keepdims=True), "
               "exponentiate, then divide by the row sums (again axis=1, keepdims=True).",
    "cross_entropy_loss": "probs[np.arange(N), y] picks each row's probability of its true class; the loss is "
                          "minus the mean of their logs.",
    "initial_loss_10_classes": "With W close to 0 all scores are about equal, so softmax gives every class the "
                               "same probability. What is -log of that probability?",
    "softmax_jacobian": "Compute a = softmax(z) once (stably). The diagonal entries are a_i (1 - a_i), the others "
                        "-a_i a_j: think of a diagonal matrix minus an outer product.",
    "jacobian_row_sum": "Sum a_i (delta_ij - a_j) over j, and use that the probabilities sum to 1.",
    "softmax_cross_entropy": "Compute log-softmax from the shifted scores for the loss; for the gradient start "
                             "from the probabilities, subtract 1 at (i, y[i]) for every row i, and divide by N.",
    "numerical_gradient": "Loop over np.ndindex(x.shape); for each index set x[i] = old + h, then old - h, "
                          "evaluate f at both, put old back, and store the centred difference.",
    "relative_error": "Work elementwise, guard the denominator with np.maximum, then reduce to one number.",
    "gradient_check": "numerical_gradient needs a function of the scores alone that returns the loss: wrap "
                      "softmax_cross_entropy in a lambda, keeping y_check fixed.",
    "planted_bug": "Look at the rows of analytic - numeric printed above: where are the non-zero entries, and "
                   "which line writes there?",
}


# ---------------------------------------------------------------- visible case generators
def _scores_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("a batch of N=4 rows with C=5 standard-normal scores", {"scores": rng.standard_normal((4, 5))}),
        Case("N=1 row with C=3 scores", {"scores": rng.standard_normal((1, 3))}),
        Case("rows on very different scales (catches normalising over the whole batch)",
             {"scores": np.array([[0.0, 1.0, 2.0], [10.0, 11.0, 13.0], [-5.0, -4.0, -3.0]])}),
        Case("large scores around 1000 (exp overflows unless you subtract the row maximum)",
             {"scores": 1000.0 + 3.0 * rng.standard_normal((3, 4))}),
    ]


def _label_cases(rng: np.random.Generator, with_probs: bool, scores_cases=_scores_cases) -> list[Case]:
    """The cases of ``scores_cases(rng)`` with labels ``y`` drawn for them (and, ``with_probs``, the scores
    turned into probabilities)."""
    out = []
    for case in scores_cases(rng):
        scores = case.args["scores"]
        N, C = scores.shape
        y = rng.integers(0, C, size=N)
        if N >= 3:
            y[0], y[-1] = 0, C - 1  # first and last class both appear
        if with_probs:
            z = scores - scores.max(axis=1, keepdims=True)
            probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            probs = np.clip(probs, 1e-12, None)
            probs /= probs.sum(axis=1, keepdims=True)
            out.append(Case(case.label.replace("scores", "probabilities from scores"), {"probs": probs, "y": y}))
        else:
            out.append(Case(case.label, {"scores": scores, "y": y}))
    return out


def _jacobian_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("a score vector with C=4", {"z": rng.standard_normal(4)}),
        Case("a score vector with C=3, one class dominating", {"z": np.array([2.0, 0.5, -1.0])}),
        Case("large scores around 1000", {"z": 1000.0 + rng.standard_normal(5)}),
    ]


def _relative_error_cases(rng: np.random.Generator) -> list[Case]:
    a = rng.standard_normal((3, 4))
    return [
        Case("two nearby arrays", {"a": a, "b": a + 1e-6 * rng.standard_normal((3, 4))}),
        Case("arrays that differ in sign", {"a": np.array([1.0, -2.0]), "b": np.array([-1.0, -2.0])}),
        Case("entries where both arrays are exactly zero (needs the 1e-8 guard)",
             {"a": np.array([0.0, 0.0, 1e-3]), "b": np.array([0.0, 0.0, 1.1e-3])}),
    ]


def _underflow_case() -> Case:
    return Case("a true class about 1000 below its row maximum (its probability underflows to 0: use log-softmax)",
                {"scores": np.array([[1000.0, 0.0, -3.0], [2.0, 1.0, 0.5]]), "y": np.array([2, 0])})


CASES = {
    "softmax": _scores_cases,
    "cross_entropy_loss": lambda rng: _label_cases(rng, with_probs=True),
    "softmax_jacobian": _jacobian_cases,
    "softmax_cross_entropy": lambda rng: _label_cases(rng, with_probs=False) + [_underflow_case()],
    "relative_error": _relative_error_cases,
}


# ---------------------------------------------------------------- the checks
def _expect_float64(arr: np.ndarray, what: str, case: Case) -> None:
    """A floating result in less than float64 (float32, float16) loses the digits a gradient check needs."""
    __tracebackhide__ = True
    if arr.dtype != np.float64:
        fail(f"{what} has dtype {arr.dtype}; the docstring asks for float64.", case,
             f"{arr.dtype} keeps only about {np.finfo(arr.dtype).precision} significant digits, too few for the "
             "comparisons and gradient checks of this course: compute in float64 (numpy's default) and do not "
             "convert the result with astype.")


def _picks_columns_hint(N: int) -> str:
    return (f"indexing with [:, y] takes whole columns: an (N, N) = ({N}, {N}) block, every row at the labels of "
            "all rows. Row i's true class is the single entry [i, y[i]]: index with [np.arange(N), y].")


@reporting("shape, dtype, rows summing to 1, values within 1e-6 of the reference, stable at scores ~1e3, input untouched")
def check_softmax(softmax, *, hidden=False):
    """Check ``softmax(scores) -> probs``, scores (N, C) -> probabilities (N, C), row by row."""
    for case in cases(TOPIC, "softmax", hidden):
        scores = case.args["scores"]
        probs = expect_array(call(softmax, "softmax", case), "softmax(scores)", case, shape=scores.shape)
        _expect_float64(probs, "softmax(scores)", case)
        row_sums = probs.sum(axis=1)
        hint = None
        if np.isclose(probs.sum(), 1.0):
            hint = "the whole batch sums to 1: normalise each row separately (sum over axis=1, keepdims=True)."
        elif np.allclose(probs.sum(axis=0), 1.0):
            hint = "the columns sum to 1: the sum belongs over the classes, axis=1."
        expect_close(row_sums, np.ones(len(scores)), "the sum of each row of softmax(scores)", case,
                     rtol=0, atol=1e-9, hint=hint)
        expect_close(probs, case.expected, "softmax(scores)", case, RTOL, ATOL)


@reporting("a float, within 1e-6 of the reference, averaged over the batch, input untouched")
def check_cross_entropy_loss(cross_entropy_loss, *, hidden=False):
    """Check ``cross_entropy_loss(probs, y) -> float``, the mean negative log-likelihood."""
    for case in cases(TOPIC, "cross_entropy_loss", hidden):
        loss = expect_scalar(call(cross_entropy_loss, "cross_entropy_loss", case), "cross_entropy_loss(probs, y)", case)
        N = len(case.args["y"])
        hint = None
        if N > 1 and np.isclose(loss, N * case.expected, rtol=1e-6):
            hint = f"your loss is {N} (= N) times too large: average over the batch instead of summing."
        elif np.isclose(loss, -case.expected, rtol=1e-6):
            hint = "the sign is flipped: the loss is the *negative* log-likelihood."
        elif N > 1:
            with np.errstate(all="ignore"):
                columns = -np.mean(np.log(case.args["probs"][:, case.args["y"]]))
            if np.isclose(loss, columns, rtol=1e-6):
                hint = _picks_columns_hint(N)
        expect_close(loss, case.expected, "cross_entropy_loss(probs, y)", case, RTOL, ATOL, hint)


@reporting("shape (C, C), symmetric, rows summing to 0, diagonal and off-diagonal entries within 1e-6 of the reference")
def check_softmax_jacobian(softmax_jacobian, *, hidden=False):
    """Check ``softmax_jacobian(z) -> J`` with ``J[i, j] = d softmax(z)_i / d z_j``, shape (C, C)."""
    for case in cases(TOPIC, "softmax_jacobian", hidden):
        C = case.args["z"].shape[0]
        J = expect_array(call(softmax_jacobian, "softmax_jacobian", case), "softmax_jacobian(z)", case, shape=(C, C))
        _expect_float64(J, "softmax_jacobian(z)", case)
        expected = np.asarray(case.expected)
        off = ~np.eye(C, dtype=bool)
        hint = None
        if C > 1 and np.allclose(np.diag(J), np.diag(expected), atol=1e-9) and np.allclose(J[off], 0):
            hint = "only the diagonal is filled in. Every output depends on every score: J[i, j] = -a_i a_j for i != j."
        elif C > 1 and np.allclose(np.diag(J), np.diag(expected), atol=1e-9) and np.allclose(J[off], -expected[off], atol=1e-9):
            hint = "the off-diagonal sign is flipped: raising z_j lowers every other probability, so J[i, j] = -a_i a_j."
        elif np.allclose(J, -expected, atol=1e-9):
            hint = "every sign is flipped: the diagonal is a_i (1 - a_i) > 0."
        expect_close(J, expected, "softmax_jacobian(z)", case, RTOL, ATOL, hint)
        expect_close(J.sum(axis=1), np.zeros(C), "the sum of each row of the Jacobian", case, rtol=0, atol=1e-9,
                     hint="row i adds up the changes of a_i when every score moves by the same amount, and such a "
                          "shift does not change the softmax: each row sums to 0.")


@reporting("loss and dscores within 1e-6 of the reference, dscores = numeric gradient (rel. error < 1e-6), inputs untouched")
def check_softmax_cross_entropy(softmax_cross_entropy, *, hidden=False):
    """Check ``softmax_cross_entropy(scores, y) -> (loss, dscores)`` with dscores of shape (N, C)."""
    for case in cases(TOPIC, "softmax_cross_entropy", hidden):
        scores, y = case.args["scores"], case.args["y"]
        N, C = scores.shape
        out = call(softmax_cross_entropy, "softmax_cross_entropy", case)
        out = expect_tuple(out, ("loss", "dscores"), "softmax_cross_entropy", case, "write `return loss, dscores`.")
        loss = expect_scalar(out[0], "the loss returned by softmax_cross_entropy", case)
        dscores = expect_array(out[1], "dscores returned by softmax_cross_entropy", case, shape=(N, C))
        _expect_float64(dscores, "dscores returned by softmax_cross_entropy", case)
        exp_loss, exp_dscores = case.expected
        hint = None
        if N > 1 and np.isclose(loss, N * exp_loss, rtol=1e-6):
            hint = f"your loss is N = {N} times too large: average over the batch instead of summing."
        expect_close(loss, exp_loss, "the loss returned by softmax_cross_entropy", case, RTOL, ATOL, hint)
        r = ratio(dscores, exp_dscores)
        hint = None
        if r is not None and N > 1 and np.isclose(r, N):
            hint = f"dscores is N = {N} times too large: the loss is a mean, so divide the gradient by N."
        elif r is not None and np.isclose(r, -1):
            hint = "dscores has the wrong sign: it is softmax(scores) - onehot(y), not the reverse."
        elif N > 1 and np.allclose(dscores, _columns_subtracted(scores, y), rtol=1e-6, atol=1e-12):
            hint = _picks_columns_hint(N).replace("Row i's true class", "The one-hot target of row i sits at")
        elif not np.allclose(dscores.sum(axis=1), 0, atol=1e-9):
            hint = ("each row of dscores should sum to 0 (probabilities sum to 1, the one-hot row too): "
                    "subtract 1 at the true class y[i] of each row i, and nowhere else.")
        expect_close(dscores, exp_dscores, "dscores returned by softmax_cross_entropy", case, RTOL, ATOL, hint)
        # a numeric gradient of *your* loss must agree with *your* dscores (where the library is withheld,
        # while this notebook is graded, the trusted re-check makes this comparison). Not at scores ~1e3: there
        # x + h and x - h round by ~1e-13, which moves the numeric gradient by ~1e-9 and makes the relative
        # error of a tiny entry (a probability ~1e-6) exceed any sound tolerance; the reference covers them
        if N * C <= 400 and np.max(np.abs(scores)) <= 100 and not withheld(_library_numerical_gradient):
            x = np.array(scores, dtype=np.float64)
            numeric = _library_numerical_gradient(
                lambda s: expect_scalar(call(softmax_cross_entropy, "softmax_cross_entropy", Case(case.label, {"scores": s.copy(), "y": y}))[0],
                                        "the loss", case), x)
            expect_gradient(dscores, numeric, "dscores returned by softmax_cross_entropy", case, tol=1e-6)


def _columns_subtracted(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient with the target subtracted through ``[:, y]`` (every row, at the labels of all rows)."""
    z = scores - scores.max(axis=1, keepdims=True)
    d = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    d[:, y] -= 1.0
    return d / len(y)


def _f_cubic(x):
    """f(x) = sum(x**3) + sum(x[..., :1])"""
    return float(np.sum(x ** 3) + np.sum(x.reshape(-1)[:1]))


def _grad_cubic(x):
    g = 3 * x ** 2
    g.reshape(-1)[0] += 1.0
    return g


def _f_logsumexp(x):
    """f(x) = log(sum(exp(x)))"""
    return float(np.log(np.sum(np.exp(x))))


def _grad_logsumexp(x):
    return np.exp(x) / np.sum(np.exp(x))


def _numerical_gradient_inputs(rng: np.random.Generator) -> list[tuple]:
    """``(label, f, exact gradient of f, x)`` for the visible check (drawn with ``default_rng(1)``)."""
    return [("f(x) = sum(x**3) + x[0], x of shape (3,)", _f_cubic, _grad_cubic, 1.0 + rng.random(3)),
            ("f(x) = log(sum(exp(x))), x of shape (2, 3)", _f_logsumexp, _grad_logsumexp, rng.standard_normal((2, 3)))]


@reporting("shape, float64, centred differences (within 1e-7 of the exact gradient, relative to its scale), x restored "
           "exactly afterwards")
def check_numerical_gradient(numerical_gradient, *, hidden=False):
    """Check ``numerical_gradient(f, x, h=1e-5) -> grad`` (centred differences, same shape as x)."""
    if hidden:
        inputs = hidden_criterion(TOPIC, "numerical_gradient_inputs")()
    else:
        inputs = _numerical_gradient_inputs(np.random.default_rng(1))
    for label, f, grad_f, x in inputs:
        case = Case(label, {"f": f, "x": x})
        # the student's function gets its own copy of x (the case keeps the original), so that a change it
        # leaves behind can be measured: float drift from += h, -= 2h, += h is told apart from a real change
        given = x.copy()
        grad = expect_array(call(lambda f, x: numerical_gradient(f, given), "numerical_gradient", case),
                            "numerical_gradient(f, x)", case, shape=x.shape)
        _expect_float64(grad, "numerical_gradient(f, x)", case)
        _expect_restored(given, x, case)
        exact = grad_f(x)
        # centred differences with h = 1e-5 are off by ~h^2 |f'''| plus rounding ~1e-16 |f| / h, about 1e-9 here;
        # one-sided differences by ~h |f''| (1e-6..1e-4). An entry near 0 has no meaningful relative error, so
        # the bound is relative to the gradient's scale, not to each entry
        error = np.abs(grad - exact)
        allowed = NUMGRAD_TOL * (np.abs(exact) + max(1.0, float(np.max(np.abs(exact)))))
        if not np.all(error <= allowed):
            r = ratio(grad, exact)
            # the O(h) error of one-sided differences: off by more than rounding, less than 1e-3
            one_sided = np.all(error < 1e-3)
            if r is not None and np.isclose(r, 2.0, rtol=1e-4):
                hint = ("your gradient is twice the exact one: f(x + h) and f(x - h) are 2h apart, so divide their "
                        "difference by 2h, not by h.")
            elif r is not None and np.isclose(r, 0.5, rtol=1e-4):
                hint = "your gradient is half the exact one: divide f(x + h) - f(x - h) by 2h, not by 4h."
            elif one_sided:
                hint = ("use the centred difference (f(x + h) - f(x - h)) / (2h); the one-sided (f(x + h) - f(x)) / h "
                        "is only accurate to O(h).")
            else:
                hint = "perturb one entry at a time, by +h and by -h, and put its old value back afterwards."
            k = np.unravel_index(np.argmax(error - allowed), error.shape)
            fail(f"numerical_gradient(f, x) is not accurate enough: at index {tuple(int(i) for i in k)} it is "
                 f"{grad[k]:.10g} where the exact gradient is {exact[k]:.10g} (off by {error[k]:.1e}, allowed "
                 f"{allowed[k]:.1e}); centred differences with h=1e-5 are off by about 1e-9 or less here.", case, hint)


def _expect_restored(given: np.ndarray, original: np.ndarray, case: Case) -> None:
    """``given`` (the array numerical_gradient worked on) must hold ``original``'s values again, bit for bit."""
    __tracebackhide__ = True
    if np.array_equal(given, original):
        return
    if given.shape == original.shape and np.all(np.isfinite(given)):
        drift = np.abs(given - original)
        if np.all(drift <= 1e-12 * np.maximum(1.0, np.abs(original))):
            k = np.unravel_index(np.argmax(drift), drift.shape)
            fail(f"numerical_gradient left x almost, but not exactly, as it found it: entry {tuple(int(i) for i in k)} "
                 f"is {given[k]!r} instead of {original[k]!r} (a difference of {drift[k]:.1e}). That is "
                 "floating-point rounding, not a logic error: x[i] + h - 2h + h need not give back x[i] exactly.",
                 case, "save the entry first (old = x[i]), evaluate f at old + h and old - h, then put it back with "
                       "x[i] = old.")
    fail("numerical_gradient changed its input `x` in place and did not put it back: after the call x holds "
         "other values.", case, "perturb one entry at a time and restore it afterwards: old = x[i]; "
                               "x[i] = old + h; ...; x[i] = old - h; ...; x[i] = old.")


@reporting("a float, max |a-b| / max(1e-8, |a|+|b|) within 1e-9 of the reference, finite where a = b = 0")
def check_relative_error(relative_error, *, hidden=False):
    """Check ``relative_error(a, b) -> float``."""
    for case in cases(TOPIC, "relative_error", hidden):
        value = expect_scalar(call(relative_error, "relative_error", case), "relative_error(a, b)", case)
        a, b = case.args["a"], case.args["b"]
        norm_based = np.linalg.norm(a - b) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(b))
        if np.isclose(value, norm_based, rtol=1e-9, atol=1e-15) and not np.isclose(value, case.expected, rtol=1e-9):
            hint = ("you compared norms of the whole arrays. That ratio is dominated by the largest entries and "
                    "hides a wrong small one; the relative error here is computed entry by entry (each entry "
                    "against its own scale), and then the worst entry is reported.")
        else:
            hint = "take the elementwise ratio |a - b| / max(1e-8, |a| + |b|), then its maximum."
        expect_close(value, case.expected, "relative_error(a, b)", case, rtol=1e-9, atol=1e-15, hint=hint)


# ---------------------------------------------------------------- questions and the gradient-check exercise
def _gradient_check_batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A batch of N=5 rows of C=4 standard-normal scores and their labels."""
    return rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)


@reporting("a finite relative error below 1e-7, and your softmax_cross_entropy agrees with the course's numeric gradient")
def check_gradient_check(rel_err, *, loss, numerical_gradient, relative_error, hidden=False):
    """Check the gradient-check exercise: ``rel_err`` is small, and the analytic gradient of ``loss`` (the
    student's ``softmax_cross_entropy``) really is right. With ``hidden=True``, ``rel_err`` must also be
    what the gradient check gives when it is run again with the student's ``loss``, ``numerical_gradient``
    and ``relative_error`` on the notebook's batch (``GRADIENT_CHECK_SEED``): a number typed in earns nothing."""
    require_answer(rel_err, "rel_err")
    value = expect_scalar(rel_err, "rel_err")
    if not value < 1e-7:
        fail(f"rel_err is {value:.3e}; a correct softmax_cross_entropy gradient-checked in float64 gives about "
             "1e-9 or less. Either the gradient or the check has a bug.")
    if hidden:
        scores, y = hidden_criterion(TOPIC, "gradient_check_batch")()
    else:
        scores, y = _gradient_check_batch(np.random.default_rng(7))
    case = Case("a fresh batch of N=5, C=4 scores", {"scores": scores, "y": y})
    out = expect_tuple(call(loss, "softmax_cross_entropy", case), ("loss", "dscores"), "softmax_cross_entropy", case)
    dscores = out[1]
    numeric = None if withheld(_library_numerical_gradient) else \
        _library_numerical_gradient(lambda s: float(loss(s.copy(), y)[0]), scores.copy())
    expect_gradient(dscores, numeric, "dscores from your softmax_cross_entropy", case, tol=1e-7)
    if hidden:
        hidden_criterion(TOPIC, "gradient_check")(value, loss=loss, numerical_gradient=numerical_gradient,
                                                  relative_error=relative_error)


def gradient_check_inputs() -> tuple[np.ndarray, np.ndarray]:
    """The batch the notebook gradient-checks (section 6): ``make_rng(0)``, 6 rows of 4 standard-normal scores
    and their labels."""
    from utils import make_rng

    rng = make_rng(GRADIENT_CHECK_SEED)
    scores = rng.standard_normal((6, 4))
    return scores, rng.integers(0, 4, size=6)


# ---------------------------------------------------------------- the linear classifier of section 8
TRAINING_STEPS = {"fast": 60, "full": 200}   # the notebook's num_steps while nbgrader grades / otherwise


def training_steps(fast: bool | None = None) -> int:
    """The number of gradient steps the training cell makes while graded (``fast``) or not; by default in this
    process's mode (``utils.fast_mode``)."""
    from utils import fast_mode

    return TRAINING_STEPS["fast" if (fast_mode() if fast is None else fast) else "full"]


def train_linear_classifier(loss, num_steps: int) -> tuple[list[float], float]:
    """Section 8 of the notebook, step for step: the linear classifier on three blobs (``make_rng(1)``),
    trained with ``loss`` (a ``softmax_cross_entropy``) by ``num_steps`` steps of gradient descent with
    lr 0.5. Returns ``(losses, train_accuracy)``, as the notebook's cell computes them."""
    from datasets import make_blobs
    from utils import make_rng

    rng = make_rng(1)
    X, y = make_blobs(n_per_class=100, n_classes=3, rng=rng)
    W = 0.001 * rng.standard_normal((2, 3))
    b = np.zeros(3)
    losses = []
    for step in range(num_steps):
        case = Case(f"step {step} of the linear classifier on the blobs", {"scores": X @ W + b, "y": y})
        out = expect_tuple(call(loss, "softmax_cross_entropy", case), ("loss", "dscores"), "softmax_cross_entropy",
                           case)
        value = expect_scalar(out[0], "the loss returned by softmax_cross_entropy", case)
        dscores = expect_array(out[1], "dscores returned by softmax_cross_entropy", case, shape=(len(y), 3))
        W = W - 0.5 * (X.T @ dscores)
        b = b - 0.5 * dscores.sum(axis=0)
        losses.append(value)
    return losses, float(np.mean(np.argmax(X @ W + b, axis=1) == y))


@reporting("the linear classifier trained with your softmax_cross_entropy reached at least 90% training accuracy")
def check_training(train_accuracy, losses, *, loss, hidden=False):
    """Check the training of section 8: ``train_accuracy`` (a fraction) and ``losses`` (one loss per step).
    With ``hidden=True`` both must be what the training cell gives when it is run again with the
    student's ``loss`` (``softmax_cross_entropy``), and the first loss must be close to log 3."""
    require_answer(train_accuracy, "train_accuracy", cell="experiment")
    acc = expect_scalar(train_accuracy, "train_accuracy")
    if not acc >= 0.9:
        fail(f"the classifier reached only {acc:.1%} training accuracy (at least 90% expected); "
             "check that softmax_cross_entropy passes its checks above.")
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) == 0:
        fail(f"losses should be the list of the losses of every training step, but it is {losses!r:.80}. "
             "Run the training cell as given.")
    if hidden:
        hidden_criterion(TOPIC, "training")(acc, losses, loss=loss)
