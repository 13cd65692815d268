"""The 01_softmax checks accept the reference and reject every wrong implementation in the bank."""
import json

import numpy as np
import pytest

from graders import reference
from graders import softmax as checks
from graders import fixtures
from wrong import MODE_IDS, MODES, assert_rejects, bank_params, reference_and_bank_tests, run_check

REF = reference.load("softmax")


def _stable_exp(s):
    return np.exp(s - s.max(axis=1, keepdims=True))


def batch_normalised(scores):                      # one denominator for the whole batch
    e = _stable_exp(scores)
    return e / e.sum()


def wrong_axis(scores):                            # normalised over the examples (columns sum to 1)
    e = np.exp(scores - scores.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def no_max_subtraction(scores):                    # overflows at scores ~1e3
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


def mutates_input(scores):
    scores -= scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


def float32_softmax(scores):                       # loses precision (and dtype)
    return REF.softmax(scores).astype(np.float32)


def loss_summed(probs, y):
    return float(-np.sum(np.log(probs[np.arange(len(y)), y])))


def loss_no_minus(probs, y):
    return float(np.mean(np.log(probs[np.arange(len(y)), y])))


def loss_wrong_index(probs, y):                    # takes column y of every row, then averages
    return float(-np.mean(np.log(probs[:, y])))


def jacobian_diagonal_only(z):
    a = REF.softmax(z[None, :])[0]
    return np.diag(a * (1 - a))


def jacobian_offdiag_sign_flipped(z):
    a = REF.softmax(z[None, :])[0]
    return np.diag(a) + np.outer(a, a) - 2 * np.diag(a * a)


def jacobian_transposed_wrongly(z):                # a (1 - a) on the diagonal, -a_j^2 off it
    a = REF.softmax(z[None, :])[0]
    J = -np.tile(a * a, (len(a), 1))
    np.fill_diagonal(J, a * (1 - a))
    return J


def sce_not_divided_by_n(scores, y):
    loss, d = REF.softmax_cross_entropy(scores, y)
    return loss, d * len(y)


def sce_loss_summed(scores, y):
    loss, d = REF.softmax_cross_entropy(scores, y)
    return loss * len(y), d


def sce_label_wrong_index(scores, y):              # subtracts 1 at the label columns of every row
    N = len(y)
    probs = REF.softmax(scores)
    d = probs.copy()
    d[:, y] -= 1
    return float(-np.mean(np.log(probs[np.arange(N), y]))), d / N


def sce_label_transposed(scores, y):               # subtracts at (y[i], i): an index error
    N, C = scores.shape
    probs = REF.softmax(scores)
    d = probs.copy()
    d[np.arange(N), (y + 1) % C] -= 1
    return float(-np.mean(np.log(probs[np.arange(N), y]))), d / N


def sce_gradient_sign(scores, y):
    loss, d = REF.softmax_cross_entropy(scores, y)
    return loss, -d


def sce_no_max_subtraction(scores, y):
    N = len(y)
    e = np.exp(scores)
    probs = e / e.sum(axis=1, keepdims=True)
    d = probs.copy()
    d[np.arange(N), y] -= 1
    return float(-np.mean(np.log(probs[np.arange(N), y]))), d / N


def sce_log_of_softmax(scores, y):               # log(softmax) instead of log-softmax: log(0) = -inf
    N = len(y)
    probs = REF.softmax(scores)
    d = probs.copy()
    d[np.arange(N), y] -= 1
    return float(-np.mean(np.log(probs[np.arange(N), y]))), d / N


def sce_returns_list(scores, y):
    return list(REF.softmax_cross_entropy(scores, y))


def sce_mutates_scores(scores, y):
    loss, d = REF.softmax_cross_entropy(scores, y)
    scores[...] = 0.0
    return loss, d


def numgrad_one_sided(f, x, h=1e-5):
    grad = np.zeros_like(x)
    fx = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - fx) / h
        x[i] = old
    return grad


def numgrad_not_restored(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        grad[i] = (fp - fm) / (2 * h)
    return grad


def numgrad_wrong_denominator(f, x, h=1e-5):      # divides by h instead of 2h
    return 2 * REF.numerical_gradient(f, x, h)


def numgrad_drift(f, x, h=1e-5):                  # += h, -= 2h, += h: right, but x drifts by ~1e-16
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        fp = f(x)
        x[i] -= 2 * h
        fm = f(x)
        x[i] += h
        grad[i] = (fp - fm) / (2 * h)
    return grad


def numgrad_float32(f, x, h=1e-5):
    return REF.numerical_gradient(f, x, h).astype(np.float32)


def jacobian_float32(z):
    return REF.softmax_jacobian(z).astype(np.float32)


def sce_float32(scores, y):
    loss, d = REF.softmax_cross_entropy(scores, y)
    return loss, d.astype(np.float32)


def rel_error_norms(a, b):                         # one ratio of norms instead of the worst entry
    return float(np.linalg.norm(a - b) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(b)))


def rel_error_no_guard(a, b):
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))


def rel_error_mean(a, b):
    return float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def rel_error_absolute(a, b):
    return float(np.max(np.abs(a - b)))


BANK = {
    "check_softmax": {
        "normalising over the whole batch instead of per row": batch_normalised,
        "softmax over the wrong axis": wrong_axis,
        "no max subtraction (overflow at large scores)": no_max_subtraction,
        "input changed in place": mutates_input,
        "float32 result": float32_softmax,
    },
    "check_cross_entropy_loss": {
        "loss summed instead of averaged": loss_summed,
        "missing minus sign": loss_no_minus,
        "label taken at the wrong index": loss_wrong_index,
    },
    "check_softmax_jacobian": {
        "only the diagonal": jacobian_diagonal_only,
        "off-diagonal sign flipped": jacobian_offdiag_sign_flipped,
        "off-diagonal -a_j**2": jacobian_transposed_wrongly,
        "float32 result": jacobian_float32,
    },
    "check_softmax_cross_entropy": {
        "gradient not divided by N": sce_not_divided_by_n,
        "loss summed instead of averaged": sce_loss_summed,
        "label subtracted at the wrong index (every row)": sce_label_wrong_index,
        "label subtracted at the wrong index (shifted class)": sce_label_transposed,
        "gradient with the wrong sign": sce_gradient_sign,
        "no max subtraction (overflow at large scores)": sce_no_max_subtraction,
        "log of softmax instead of log-softmax (log 0 for an underflowed probability)": sce_log_of_softmax,
        "returns a list": sce_returns_list,
        "scores changed in place": sce_mutates_scores,
        "float32 gradient": sce_float32,
    },
    "check_numerical_gradient": {
        "one-sided difference": numgrad_one_sided,
        "x not restored": numgrad_not_restored,
        "divides by h instead of 2h": numgrad_wrong_denominator,
        "x restored by += h, -= 2h, += h (float drift)": numgrad_drift,
        "float32 result": numgrad_float32,
    },
    "check_relative_error": {
        "no 1e-8 guard": rel_error_no_guard,
        "mean instead of max": rel_error_mean,
        "absolute instead of relative": rel_error_absolute,
        "ratio of norms instead of the worst entry": rel_error_norms,
    },
}

EXERCISES = ["softmax", "cross_entropy_loss", "softmax_jacobian", "softmax_cross_entropy",
             "numerical_gradient", "relative_error"]


# The reference passes visible and hidden checks; every wrong implementation in BANK is rejected.
test_reference_passes, test_wrong_implementation_rejected = reference_and_bank_tests(checks, REF, EXERCISES, BANK)


def test_every_exercise_has_a_bank():
    assert {f"check_{e}" for e in EXERCISES} == set(BANK)


@pytest.mark.parametrize("impl, hint", [
    (batch_normalised, "normalise each row separately"),
    (no_max_subtraction, "overflow"),
    (jacobian_diagonal_only, "only the diagonal"),
    (jacobian_offdiag_sign_flipped, "off-diagonal sign"),
])
def test_messages_name_the_mistake(impl, hint):
    check = checks.check_softmax if impl in (batch_normalised, no_max_subtraction) else checks.check_softmax_jacobian
    message = assert_rejects(check, impl, match=hint)
    assert "Input: " in message  # the input that broke it


@pytest.mark.parametrize("check, impl, hint", [
    ("check_softmax", float32_softmax, "float64"),
    ("check_softmax_jacobian", jacobian_float32, "float64"),
    ("check_softmax_cross_entropy", sce_float32, "float64"),
    ("check_numerical_gradient", numgrad_float32, "float64"),
    ("check_cross_entropy_loss", loss_wrong_index, "[np.arange(N), y]"),
    ("check_softmax_cross_entropy", sce_label_wrong_index, "[:, y] takes whole columns"),
    ("check_numerical_gradient", numgrad_wrong_denominator, "divide their difference by 2h"),
    ("check_numerical_gradient", numgrad_one_sided, "centred difference"),
    ("check_numerical_gradient", numgrad_not_restored, "restore it afterwards"),
    ("check_numerical_gradient", numgrad_drift, "x[i] = old"),
    ("check_relative_error", rel_error_norms, "norms"),
])
def test_hints_diagnose_the_mistake(check, impl, hint):
    assert_rejects(getattr(checks, check), impl, match=hint)


def test_float_drift_is_not_called_a_change_in_place():
    message = assert_rejects(checks.check_numerical_gradient, numgrad_drift, match="rounding")
    assert "in place" not in message


def test_log_of_softmax_gets_the_log_softmax_hint():
    assert_rejects(checks.check_softmax_cross_entropy, sce_log_of_softmax, match="log-softmax")


def test_correct_code_with_a_harmless_warning_passes(capfd):
    import warnings

    def chatty(scores):
        warnings.warn("my own debugging note", UserWarning)
        return REF.softmax(scores)

    checks.check_softmax(chatty)
    assert capfd.readouterr().err == ""


def test_gradient_hint_for_missing_division_by_n():
    assert_rejects(checks.check_softmax_cross_entropy, sce_not_divided_by_n, match="divide the gradient by N")


def test_unstarted_exercise_raises_not_implemented():
    def stub(*args):
        raise NotImplementedError()
    for exercise in EXERCISES:
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{exercise}")(stub)


def notebook_rel_err(loss=REF.softmax_cross_entropy, numerical_gradient=REF.numerical_gradient,
                     relative_error=REF.relative_error):
    """What the gradient-check cell of section 6 computes with these functions."""
    from utils import make_rng
    rng = make_rng(0)
    scores_check, y_check = rng.standard_normal((6, 4)), rng.integers(0, 4, size=6)
    _, dscores = loss(scores_check, y_check)
    return relative_error(dscores, numerical_gradient(lambda s: loss(s, y_check)[0], scores_check))


GC_FUNCTIONS = dict(loss=REF.softmax_cross_entropy, numerical_gradient=REF.numerical_gradient,
                    relative_error=REF.relative_error)


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_gradient_check_exercise(mode):
    rel_err = notebook_rel_err()
    run_check(checks.check_gradient_check, rel_err, **GC_FUNCTIONS, mode=mode)
    assert_rejects(run_check, checks.check_gradient_check, 0.3, **GC_FUNCTIONS, mode=mode)
    assert_rejects(run_check, checks.check_gradient_check, 1e-10, **{**GC_FUNCTIONS, "loss": sce_not_divided_by_n},
                   mode=mode)
    assert_rejects(run_check, checks.check_gradient_check, 1e-10, **{**GC_FUNCTIONS, "loss": sce_returns_single},
                   mode=mode, match="should return a tuple (loss, dscores)")
    with pytest.raises(NotImplementedError):
        run_check(checks.check_gradient_check, None, **GC_FUNCTIONS, mode=mode)


def _stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("mode", MODES[1:], ids=MODE_IDS[1:])
def test_gradient_check_rel_err_typed_in_fails_the_hidden_part(mode):
    rel_err = notebook_rel_err()
    # the right number typed in, nothing run: numerical_gradient and relative_error not written yet
    checks.check_gradient_check(rel_err, **{**GC_FUNCTIONS, "numerical_gradient": _stub, "relative_error": _stub})
    with pytest.raises(NotImplementedError):
        run_check(checks.check_gradient_check, rel_err,
                  **{**GC_FUNCTIONS, "numerical_gradient": _stub, "relative_error": _stub}, mode=mode)
    # a plausible number typed in ("about 1e-9 or less"), every function right: the visible part cannot tell
    for typed in (1e-10, 1e-9, round(rel_err, 11)):
        checks.check_gradient_check(typed, **GC_FUNCTIONS)
        assert_rejects(run_check, checks.check_gradient_check, typed, **GC_FUNCTIONS, mode=mode,
                       match="run again")
    # the right number, with a wrong function the number did not come from
    for wrong in [{"numerical_gradient": numgrad_one_sided}, {"relative_error": rel_error_mean},
                  {"relative_error": rel_error_absolute}]:
        checks.check_gradient_check(rel_err, **{**GC_FUNCTIONS, **wrong})
        assert_rejects(run_check, checks.check_gradient_check, rel_err, **{**GC_FUNCTIONS, **wrong}, mode=mode)
    # the honest value of a student whose numerical_gradient evaluates the loss at other points (a step
    # relative to |x_i|) still passes: the hidden test asks the student's loss at the points it is given
    def numgrad_relative_step(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old, step = x[i], h * (1.0 + abs(x[i]))
            x[i] = old + step
            fp = f(x)
            x[i] = old - step
            fm = f(x)
            x[i] = old
            grad[i] = (fp - fm) / (2 * step)
        return grad
    checks.check_numerical_gradient(numgrad_relative_step)
    honest = notebook_rel_err(numerical_gradient=numgrad_relative_step)
    assert honest != rel_err
    run_check(checks.check_gradient_check, honest, **{**GC_FUNCTIONS, "numerical_gradient": numgrad_relative_step},
              mode=mode)


# ---------------------------------------------------------------- the linear classifier of section 8
def notebook_training(loss=REF.softmax_cross_entropy):
    """What the training cell of section 8 computes (its own code, not the check's procedure)."""
    from datasets import make_blobs
    from utils import make_rng
    rng = make_rng(1)
    X_blobs, y_blobs = make_blobs(n_per_class=100, n_classes=3, rng=rng)
    W = 0.001 * rng.standard_normal((2, 3))
    b = np.zeros(3)
    losses = []
    for step in range(checks.training_steps()):
        value, dscores = loss(X_blobs @ W + b, y_blobs)
        W -= 0.5 * (X_blobs.T @ dscores)
        b -= 0.5 * dscores.sum(axis=0)
        losses.append(value)
    return float(np.mean(np.argmax(X_blobs @ W + b, axis=1) == y_blobs)), losses


@pytest.mark.parametrize("fast", [True, False], ids=["nbgrader (60 steps)", "interactive (200 steps)"])
def test_training_reference_passes(fast, monkeypatch, capfd):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("TNN_FAST", "1") if fast else monkeypatch.delenv("TNN_FAST", raising=False)
    acc, losses = notebook_training()
    assert len(losses) == (60 if fast else 200)
    checks.check_training(acc, losses, loss=REF.softmax_cross_entropy)
    checks.check_training(acc, losses, loss=REF.softmax_cross_entropy, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("[ok]") == 2 and err == ""


@pytest.mark.parametrize("kernel_fast, judge_fast", [(False, True), (True, False)])
def test_training_rerun_follows_the_size_the_notebook_ran_at(kernel_fast, judge_fast, monkeypatch):
    """The student's kernel and the re-check need not agree on utils.fast_mode (the sandbox's environment is
    its own): the rerun makes as many steps as the notebook's losses show."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("TNN_FAST", "1") if kernel_fast else monkeypatch.delenv("TNN_FAST", raising=False)
    acc, losses = notebook_training()
    monkeypatch.setenv("TNN_FAST", "1") if judge_fast else monkeypatch.delenv("TNN_FAST", raising=False)
    checks.check_training(acc, losses, loss=REF.softmax_cross_entropy, hidden=True)
    assert_rejects(checks.check_training, 0.97, losses, loss=REF.softmax_cross_entropy, hidden=True)


def sce_gradient_too_large(scores, y):              # right loss, gradient 1.5 times too large
    loss, d = REF.softmax_cross_entropy(scores, y)
    return loss, 1.5 * d


def test_training_values_typed_in_fail_the_hidden_part():
    acc, losses = notebook_training()
    ok = dict(loss=REF.softmax_cross_entropy)
    # nothing run: the right numbers typed in, softmax_cross_entropy not written
    checks.check_training(acc, losses, loss=_stub)
    with pytest.raises(NotImplementedError):
        checks.check_training(acc, losses, loss=_stub, hidden=True)
    # plausible numbers typed in
    assert_rejects(checks.check_training, 0.97, losses, **ok, hidden=True, match="train_accuracy")
    assert_rejects(checks.check_training, acc, [1.0986, 0.5, 0.1], **ok, hidden=True, match="while it is graded")
    assert_rejects(checks.check_training, acc, list(np.linspace(1.1, 0.01, len(losses))), **ok, hidden=True,
                   match="losses")
    # the right numbers with wrong functions
    for wrong in (sce_gradient_too_large, sce_not_divided_by_n):
        checks.check_training(acc, losses, loss=wrong)
        assert_rejects(checks.check_training, acc, losses, loss=wrong, hidden=True)
    # the visible bar still applies, and an unrun cell reads as not done
    assert_rejects(checks.check_training, 0.5, losses, **ok, match="90%")
    with pytest.raises(NotImplementedError):
        checks.check_training(None, [], **ok)


def test_training_keeps_the_first_loss_criterion(monkeypatch):
    """A loss whose first value is far from log 3 fails the hidden part, even run as given."""
    def offset_loss(scores, y):
        loss, d = REF.softmax_cross_entropy(scores, y)
        return loss + 0.2, d
    acc, losses = notebook_training(offset_loss)
    checks.check_training(acc, losses, loss=offset_loss)
    assert_rejects(checks.check_training, acc, losses, loss=offset_loss, hidden=True, match="log 3")


@pytest.mark.parametrize("kernel", ["Sandybridge", "Prescott"])
def test_rerun_tolerances_cover_another_blas_kernel(kernel, tmp_path):
    """The notebook's values computed where OpenBLAS picks another CPU kernel (other last bits) pass here."""
    code = ("import json, sys; sys.path.insert(0, 'tests'); sys.path.insert(0, '.')\n"
            "import test_checks_softmax as t\n"
            "acc, losses = t.notebook_training()\n"
            "values = {'acc': acc, 'losses': losses, 'rel_err': t.notebook_rel_err()}\n"
            f"json.dump(values, open({str(tmp_path / 'v.json')!r}, 'w'))\n")
    run_elsewhere(code, kernel)
    values = json.loads((tmp_path / "v.json").read_text())
    checks.check_training(values["acc"], values["losses"], loss=REF.softmax_cross_entropy, hidden=True)
    checks.check_gradient_check(values["rel_err"], **GC_FUNCTIONS, hidden=True)


def run_elsewhere(code: str, kernel: str) -> None:
    """Run ``code`` in a fresh interpreter (same mode: TNN_FAST and NBGRADER_EXECUTION are inherited) on the
    OpenBLAS CPU kernel ``kernel``."""
    import subprocess
    import sys
    from coursework import ROOT, unactivated_env
    env = unactivated_env(PYTHONPATH=str(ROOT), OPENBLAS_CORETYPE=kernel)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def sce_returns_single(scores, y):
    return REF.softmax_cross_entropy(scores, y)[0]


def test_returning_a_list_is_named():
    assert_rejects(checks.check_softmax_cross_entropy, sce_returns_list, match="returned a list")


@pytest.mark.parametrize("mode", MODES[1:], ids=MODE_IDS[1:])
@pytest.mark.parametrize("impl", [sce_returns_list, sce_log_of_softmax, sce_not_divided_by_n])
def test_hidden_check_rejects_too(impl, mode):
    assert_rejects(run_check, checks.check_softmax_cross_entropy, impl, mode=mode)


def test_hidden_cases_cover_the_visible_exercises():
    """The hidden module has cases for every exercise with visible cases (and no others); each starts with
    the visible kinds of input and adds more; its criteria are the ones the checks ask for."""
    hidden = fixtures.hidden_module("softmax")
    assert set(hidden.CASES) == set(checks.CASES)
    for exercise, draw in checks.CASES.items():
        visible, more = draw(np.random.default_rng(0)), hidden.CASES[exercise](np.random.default_rng(0))
        assert len(more) > len(visible), exercise
        assert [c.label for c in more[:len(visible) - 1]] == [c.label for c in visible[:-1]], exercise
    assert set(hidden.CRITERIA) == {"numerical_gradient_inputs", "gradient_check_batch", "gradient_check", "training"}
    assert len(hidden.CRITERIA["numerical_gradient_inputs"]()) > 2


def test_no_hidden_material_in_the_visible_module():
    import inspect
    source = inspect.getsource(checks)
    for word in ("strict", "HIDDEN CASES", "200x50", "C=30", "both all zeros"):
        assert word not in source, word


def test_array_subclass_cannot_fake_a_comparison():
    class Liar(np.ndarray):
        def __array_ufunc__(self, *args, **kwargs):
            return True
        def __eq__(self, other):
            return True

    def fake_softmax(scores):
        return np.zeros_like(scores).view(Liar)

    assert_rejects(checks.check_softmax, fake_softmax)
