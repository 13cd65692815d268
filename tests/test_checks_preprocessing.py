"""The 03_preprocessing checks accept the reference and reject every wrong implementation in the bank.

The visible cases hand the functions that apply statistics a test set from a different distribution
than the training statistics, so every "statistics from the wrong split" variant below is rejected
by the VISIBLE check, as are the wrong axes, the missing centring, unsorted components and whitening
by the variance.
"""
import numpy as np
import pytest

from graders import preprocessing as checks
from graders import reference
from wrong import MODE_IDS, MODES, assert_rejects, bank_params, reference_and_bank_tests, run_check
from coursework import run_notebook_cells

REF = reference.load("preprocessing")


# ---------------------------------------------------------------- compute_mean_std
def ms_wrong_axis(X):                                   # one statistic per example
    return X.mean(axis=1), X.std(axis=1)


def ms_ddof1(X):                                        # Bessel-corrected std
    return X.mean(axis=0), X.std(axis=0, ddof=1)


def ms_variance(X):                                     # variance instead of std
    return X.mean(axis=0), X.var(axis=0)


def ms_global(X):                                       # one number for the whole matrix, broadcast
    return np.full(X.shape[1], X.mean()), np.full(X.shape[1], X.std())


def ms_keepdims(X):                                     # shape (1, D)
    return X.mean(axis=0, keepdims=True), X.std(axis=0, keepdims=True)


def ms_list(X):
    return [X.mean(axis=0), X.std(axis=0)]


def ms_mean_abs_dev(X):                                 # mean absolute deviation, not std
    m = X.mean(axis=0)
    return m, np.abs(X - m).mean(axis=0)


# ---------------------------------------------------------------- standardize
def std_recomputes_stats(X, mean, std, eps=1e-8):      # test-set statistics
    return (X - X.mean(axis=0)) / (X.std(axis=0) + eps)


def std_eps_under_sqrt(X, mean, std, eps=1e-8):
    return (X - mean) / np.sqrt(std ** 2 + eps)


def std_no_eps(X, mean, std, eps=1e-8):                 # divides by zero for a constant feature
    return (X - mean) / std


def std_ignores_eps_argument(X, mean, std, eps=1e-8):
    return (X - mean) / (std + 1e-8)


def std_by_variance(X, mean, std, eps=1e-8):
    return (X - mean) / (std ** 2 + eps)


def std_only_centres(X, mean, std, eps=1e-8):
    return X - mean


def std_eps_outside_division(X, mean, std, eps=1e-8):  # (X - mean) / std + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        return (X - mean) / np.where(std == 0, 1.0, std) + eps


def std_in_place(X, mean, std, eps=1e-8):
    X -= mean
    X /= std + eps
    return X


# ---------------------------------------------------------------- pca_fit
def _eig(X):
    mean = X.mean(axis=0)
    Xc = X - mean
    vals, vecs = np.linalg.eigh(Xc.T @ Xc / len(X))
    return mean, vals, vecs                             # ascending


def pca_no_centring(X, k):                              # eigenvectors of X^T X / N
    vals, vecs = np.linalg.eigh(X.T @ X / len(X))
    return X.mean(axis=0), vecs[:, ::-1][:, :k], vals[::-1][:k]


def pca_no_centring_svd(X, k):                          # SVD of the raw X
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    return X.mean(axis=0), Vt[:k].T, s[:k] ** 2 / len(X)


def pca_ascending(X, k):                                # eigh's order kept: the k smallest, ascending
    mean, vals, vecs = _eig(X)
    return mean, vecs[:, :k], vals[:k]


def pca_largest_but_ascending(X, k):                    # the right k, but in ascending order
    mean, vals, vecs = _eig(X)
    return mean, vecs[:, -k:], vals[-k:]


def pca_values_sorted_vectors_not(X, k):                # sorts the variances only
    mean, vals, vecs = _eig(X)
    return mean, vecs[:, -k:], vals[::-1][:k]


def pca_rows(X, k):                                     # components as rows (k, D)
    mean, comp, var = REF.pca_fit(X, k)
    return mean, comp.T, var


def pca_ddof1(X, k):
    mean, comp, var = REF.pca_fit(X, k)
    return mean, comp, var * len(X) / (len(X) - 1)


def pca_singular_values(X, k):                          # s instead of s**2 / N
    mean = X.mean(axis=0)
    _, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, Vt[:k].T, s[:k]


def pca_std_not_variance(X, k):
    mean, comp, var = REF.pca_fit(X, k)
    return mean, comp, np.sqrt(var)


def pca_rows_of_eigh(X, k):                             # takes rows of the eigenvector matrix as vectors
    mean, vals, vecs = _eig(X)
    return mean, vecs[::-1][:k].T, vals[::-1][:k]


def pca_rows_selected(X, k):                            # eigh's eigenvectors indexed as rows: v[order].T
    mean, vals, vecs = _eig(X)
    order = np.argsort(vals)[::-1][:k]
    return mean, vecs[order].T, vals[order]


def pca_transposed_square(X, k):                       # the sorted eigenvectors, returned transposed
    mean, comp, var = REF.pca_fit(X, k)
    return mean, comp.T if k == comp.shape[0] else comp[:, ::-1], var


def pca_unnormalised(X, k):                             # directions scaled by sqrt(variance)
    mean, comp, var = REF.pca_fit(X, k)
    return mean, comp * np.sqrt(var), var


def pca_standardised_first(X, k):                       # PCA of the correlation matrix
    mean, std = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / std
    vals, vecs = np.linalg.eigh(Z.T @ Z / len(X))
    return mean, vecs[:, ::-1][:, :k], vals[::-1][:k]


def pca_returns_list(X, k):
    return list(REF.pca_fit(X, k))


# ---------------------------------------------------------------- pca_transform
def pt_test_mean(X, mean, components):                  # test-set statistics
    return (X - X.mean(axis=0)) @ components


def pt_no_centring(X, mean, components):
    return X @ components


def pt_rows(X, mean, components):                       # components treated as rows
    return (X - mean) @ components.T


def pt_adds_mean(X, mean, components):
    return (X + mean) @ components


def pt_in_place(X, mean, components):
    X -= mean
    return X @ components


# ---------------------------------------------------------------- whiten
def wh_by_variance(X, mean, components, variances, eps=1e-5):
    return (X - mean) @ components / (variances + eps)


def wh_eps_outside_sqrt(X, mean, components, variances, eps=1e-5):
    return (X - mean) @ components / (np.sqrt(variances) + eps)


def wh_no_eps(X, mean, components, variances, eps=1e-5):
    return (X - mean) @ components / np.sqrt(variances)


def wh_ignores_eps_argument(X, mean, components, variances, eps=1e-5):
    return (X - mean) @ components / np.sqrt(variances + 1e-5)


def wh_test_mean(X, mean, components, variances, eps=1e-5):
    return (X - X.mean(axis=0)) @ components / np.sqrt(variances + eps)


def wh_test_variances(X, mean, components, variances, eps=1e-5):
    Z = (X - mean) @ components
    return Z / np.sqrt(Z.var(axis=0) + eps)


def wh_no_centring(X, mean, components, variances, eps=1e-5):
    return X @ components / np.sqrt(variances + eps)


def wh_only_projects(X, mean, components, variances, eps=1e-5):
    return (X - mean) @ components


def wh_multiplies(X, mean, components, variances, eps=1e-5):
    return (X - mean) @ components * np.sqrt(variances + eps)


def wh_whitens_before_projecting(X, mean, components, variances, eps=1e-5):  # divides features, not components
    D, k = components.shape
    scale = np.ones(D)
    scale[:k] = np.sqrt(variances + eps)
    return ((X - mean) / scale) @ components


# ---------------------------------------------------------------- subtract_mean_image / subtract_channel_mean
def mi_test_mean(X_train, X_other):                     # each split centred with its own mean image
    return X_train - X_train.mean(axis=0), X_other - X_other.mean(axis=0)


def mi_combined_mean(X_train, X_other):
    mu = np.concatenate([X_train, X_other]).mean(axis=0)
    return X_train - mu, X_other - mu


def mi_channel_mean(X_train, X_other):                  # the other habit
    mu = X_train.mean(axis=(0, 1, 2))
    return X_train - mu, X_other - mu


def mi_per_image(X_train, X_other):                     # each image minus its own mean
    return (X_train - X_train.mean(axis=(1, 2, 3), keepdims=True),
            X_other - X_other.mean(axis=(1, 2, 3), keepdims=True))


def mi_scalar_mean(X_train, X_other):
    mu = X_train.mean()
    return X_train - mu, X_other - mu


def mi_uint8_arithmetic(X_train, X_other):              # keeps the input dtype: uint8 wraps around
    mu = X_train.mean(axis=0).astype(X_train.dtype)
    return X_train - mu, X_other - mu


def mi_only_other(X_train, X_other):
    return X_other - X_train.mean(axis=0)


def mi_list(X_train, X_other):
    mu = X_train.mean(axis=0)
    return [X_train - mu, X_other - mu]


def mi_in_place(X_train, X_other):
    X_train = X_train.astype(np.float64) if X_train.dtype == np.uint8 else X_train
    mu = X_train.mean(axis=0)
    X_other = X_other - mu
    X_train -= mu
    return X_train, X_other


def mi_swapped(X_train, X_other):
    mu = X_train.mean(axis=0)
    return X_other - mu, X_train - mu


def cm_test_mean(X_train, X_other):
    return X_train - X_train.mean(axis=(0, 1, 2)), X_other - X_other.mean(axis=(0, 1, 2))


def cm_combined_mean(X_train, X_other):
    mu = np.concatenate([X_train, X_other]).mean(axis=(0, 1, 2))
    return X_train - mu, X_other - mu


def cm_mean_image(X_train, X_other):                    # the other habit
    mu = X_train.mean(axis=0)
    return X_train - mu, X_other - mu


def cm_per_image(X_train, X_other):                     # each image minus its own channel means
    return (X_train - X_train.mean(axis=(1, 2), keepdims=True),
            X_other - X_other.mean(axis=(1, 2), keepdims=True))


def cm_scalar_mean(X_train, X_other):
    mu = X_train.mean()
    return X_train - mu, X_other - mu


def cm_over_channels(X_train, X_other):                 # averages the channels of each pixel (axis -1)
    mu = X_train.mean(axis=(0, 3))                      # (H, W)
    return X_train - mu[..., None], X_other - mu[..., None]


def cm_uint8_arithmetic(X_train, X_other):
    mu = np.round(X_train.mean(axis=(0, 1, 2))).astype(X_train.dtype)
    return X_train - mu, X_other - mu


def cm_in_place(X_train, X_other):
    mu = X_train.mean(axis=(0, 1, 2))
    if X_train.dtype.kind == "f":
        X_train -= mu
        return X_train, X_other - mu
    return X_train - mu, X_other - mu


BANK = {
    "check_compute_mean_std": {
        "statistics over the wrong axis (per example)": ms_wrong_axis,
        "std with ddof=1": ms_ddof1,
        "variance instead of std": ms_variance,
        "one global mean and std": ms_global,
        "keepdims shape (1, D)": ms_keepdims,
        "returns a list": ms_list,
        "mean absolute deviation instead of std": ms_mean_abs_dev,
    },
    "check_standardize": {
        "recomputes mean and std from X (test-set statistics)": std_recomputes_stats,
        "eps under a square root": std_eps_under_sqrt,
        "no eps (division by zero)": std_no_eps,
        "ignores the eps argument": std_ignores_eps_argument,
        "divides by the variance": std_by_variance,
        "only centres": std_only_centres,
        "eps added after the division": std_eps_outside_division,
        "changes X in place": std_in_place,
    },
    "check_pca_fit": {
        "no centring (eigh of X^T X / N)": pca_no_centring,
        "no centring (SVD of X)": pca_no_centring_svd,
        "not sorted: eigh's k smallest, ascending": pca_ascending,
        "not sorted: the k largest in ascending order": pca_largest_but_ascending,
        "variances sorted but components not": pca_values_sorted_vectors_not,
        "components as rows (k, D)": pca_rows,
        "variances with ddof=1": pca_ddof1,
        "singular values instead of variances": pca_singular_values,
        "standard deviations instead of variances": pca_std_not_variance,
        "rows of the eigenvector matrix": pca_rows_of_eigh,
        "rows of the eigenvector matrix, selected with v[order]": pca_rows_selected,
        "eigenvectors in the rows (transposed), k = D": pca_transposed_square,
        "components scaled by sqrt(variance)": pca_unnormalised,
        "PCA of the standardised data (correlation matrix)": pca_standardised_first,
        "returns a list": pca_returns_list,
    },
    "check_pca_transform": {
        "centres with the test set's own mean": pt_test_mean,
        "no centring": pt_no_centring,
        "components as rows": pt_rows,
        "adds the mean": pt_adds_mean,
        "changes X in place": pt_in_place,
    },
    "check_whiten": {
        "divides by the variance, not its square root": wh_by_variance,
        "eps outside the square root": wh_eps_outside_sqrt,
        "no eps (division by zero)": wh_no_eps,
        "ignores the eps argument": wh_ignores_eps_argument,
        "centres with the test set's own mean": wh_test_mean,
        "divides by the test set's own variances": wh_test_variances,
        "no centring": wh_no_centring,
        "only projects": wh_only_projects,
        "multiplies by the standard deviation": wh_multiplies,
        "rescales features instead of components": wh_whitens_before_projecting,
    },
    "check_subtract_mean_image": {
        "each split centred with its own mean (test-set statistics)": mi_test_mean,
        "mean over both splits together": mi_combined_mean,
        "per-channel mean instead of the mean image": mi_channel_mean,
        "each image centred with its own mean": mi_per_image,
        "one scalar mean": mi_scalar_mean,
        "uint8 arithmetic (wraps around)": mi_uint8_arithmetic,
        "returns only X_other": mi_only_other,
        "returns a list": mi_list,
        "changes X_train in place": mi_in_place,
        "outputs swapped": mi_swapped,
    },
    "check_subtract_channel_mean": {
        "each split centred with its own mean (test-set statistics)": cm_test_mean,
        "mean over both splits together": cm_combined_mean,
        "mean image instead of the per-channel mean": cm_mean_image,
        "each image centred with its own channel means": cm_per_image,
        "one scalar mean": cm_scalar_mean,
        "mean over the channels of each pixel": cm_over_channels,
        "uint8 arithmetic (wraps around)": cm_uint8_arithmetic,
        "changes X_train in place": cm_in_place,
    },
}

EXERCISES = ["compute_mean_std", "standardize", "pca_fit", "pca_transform", "whiten",
             "subtract_mean_image", "subtract_channel_mean"]


# The reference passes visible and hidden checks; every wrong implementation in BANK is rejected.
test_reference_passes, test_wrong_implementation_rejected = reference_and_bank_tests(checks, REF, EXERCISES, BANK)


def test_every_exercise_has_a_bank():
    assert {f"check_{e}" for e in EXERCISES} == set(BANK)


# ---------------------------------------------------------------- correct alternatives are accepted
def _svd_pca(X, k):
    mean = X.mean(axis=0)
    _, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, Vt[:k].T, s[:k] ** 2 / len(X)


def _flipped_pca(X, k):                                 # every other component's sign flipped
    mean, comp, var = REF.pca_fit(X, k)
    return mean, comp * np.where(np.arange(k) % 2, -1.0, 1.0), var


@pytest.mark.parametrize("impl", [_svd_pca, _flipped_pca], ids=["svd", "signs flipped"])
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_pca_fit_accepts_svd_and_any_signs(impl, mode):
    run_check(checks.check_pca_fit, impl, mode=mode)


def test_standardize_accepts_float32_free_variants():
    """Equivalent formulas (subtract then multiply by the reciprocal) pass."""
    checks.check_standardize(lambda X, mean, std, eps=1e-8: (X - mean) * (1.0 / (std + eps)))


def test_visible_cases_use_different_train_and_test_distributions():
    """The statistics handed to standardize/pca_transform/whiten are not those of X itself."""
    from graders.fixtures import cases
    for exercise in ("standardize", "pca_transform", "whiten"):
        for case in cases("preprocessing", exercise):
            X = np.asarray(case.args["X"], dtype=float)
            if len(X) > 1:
                assert not np.allclose(X.mean(axis=0), case.args["mean"], atol=1e-3), case.label
    for case in cases("preprocessing", "subtract_mean_image"):
        assert not np.allclose(case.args["X_train"].mean(axis=0), case.args["X_other"].mean(axis=0), atol=1.0)


# ---------------------------------------------------------------- messages name the mistake
@pytest.mark.parametrize("check, impl, hint", [
    ("check_compute_mean_std", ms_wrong_axis, "axis=0"),
    ("check_compute_mean_std", ms_ddof1, "ddof=1"),
    ("check_compute_mean_std", ms_variance, "square root"),
    ("check_standardize", std_recomputes_stats, "recomputed the mean and std from X"),
    ("check_standardize", std_eps_under_sqrt, "outside the square root"),
    ("check_standardize", std_ignores_eps_argument, "eps passed as an argument"),
    ("check_pca_fit", pca_no_centring, "not centred"),
    ("check_pca_fit", pca_ascending, "descending order"),
    ("check_pca_fit", pca_largest_but_ascending, "descending order"),
    ("check_pca_fit", pca_values_sorted_vectors_not, "wrong order"),
    ("check_pca_fit", pca_rows, "column"),
    ("check_pca_fit", pca_rows_of_eigh, "not its columns"),
    ("check_pca_fit", pca_rows_selected, "not its columns"),
    ("check_pca_fit", pca_ddof1, "N - 1"),
    ("check_pca_fit", pca_singular_values, "singular values"),
    ("check_pca_transform", pt_test_mean, "its own mean"),
    ("check_pca_transform", pt_no_centring, "not centred"),
    ("check_whiten", wh_by_variance, "square root"),
    ("check_whiten", wh_eps_outside_sqrt, "inside the square root"),
    ("check_whiten", wh_test_variances, "variances of X's own projection"),
    ("check_whiten", wh_test_mean, "its own mean"),
    ("check_whiten", wh_no_eps, "eps was left out"),
    ("check_subtract_mean_image", mi_test_mean, "its own mean"),
    ("check_subtract_mean_image", mi_combined_mean, "together"),
    ("check_subtract_mean_image", mi_channel_mean, "other habit"),
    ("check_subtract_mean_image", mi_per_image, "each image"),
    ("check_subtract_mean_image", mi_uint8_arithmetic, "dtype"),
    ("check_subtract_channel_mean", cm_test_mean, "its own mean"),
    ("check_subtract_channel_mean", cm_mean_image, "other habit"),
    ("check_subtract_channel_mean", cm_per_image, "each image"),
])
def test_messages_name_the_mistake(check, impl, hint):
    message = assert_rejects(getattr(checks, check), impl, match=hint)
    assert "Input: " in message  # the input that broke it


def test_unstarted_exercise_raises_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for exercise in EXERCISES:
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{exercise}")(stub)


def test_array_subclass_cannot_fake_a_comparison():
    class Liar(np.ndarray):
        def __array_ufunc__(self, *args, **kwargs):
            return True

        def __eq__(self, other):
            return True

    def fake_pca_transform(X, mean, components):
        return np.zeros((len(X), components.shape[1])).view(Liar)

    assert_rejects(checks.check_pca_transform, fake_pca_transform)


def test_hidden_module_has_cases_for_every_exercise():
    """Every exercise with visible cases has hidden ones (more of them), drawn from the hidden module only."""
    from classroom.hidden import module
    from graders.fixtures import cases

    hidden = module("preprocessing")
    assert set(hidden.CASES) == set(checks.CASES) == set(EXERCISES)
    for exercise in EXERCISES:
        visible, drawn = cases("preprocessing", exercise), cases("preprocessing", exercise, hidden=True)
        assert len(drawn) > len(visible), exercise


# ---------------------------------------------------------------- the breast-cancer experiment (section 2)
def notebook_values(marker: str = "bc_losses = bc_test_accuracy = bc_mean = None", **functions) -> dict:
    """The solution notebook's breast-cancer experiment run with the reference functions, or ``functions`` in their place."""
    return run_notebook_cells("03_preprocessing", REF, [marker], **functions)


BC = {"compute_mean_std": REF.compute_mean_std, "standardize": REF.standardize}


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _bc(namespace) -> tuple:
    return namespace["bc_test_accuracy"], namespace["bc_losses"], namespace["bc_mean"]


@pytest.fixture(scope="module")
def breast_cancer():
    return _bc(notebook_values())


@pytest.mark.parametrize("fast", [True, False], ids=["nbgrader (200 steps)", "interactive (400 steps)"])
def test_breast_cancer_reference_passes(fast, monkeypatch, capfd):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("TNN_FAST", "1") if fast else monkeypatch.delenv("TNN_FAST", raising=False)
    values = _bc(notebook_values())
    assert len(values[1]["raw"]) == (200 if fast else 400)
    checks.check_breast_cancer(*values, **BC)
    checks.check_breast_cancer(*values, **BC, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("[ok]") == 2 and err == ""


@pytest.mark.parametrize("kernel_fast, judge_fast", [(False, True), (True, False)])
def test_breast_cancer_rerun_follows_the_size_the_notebook_ran_at(kernel_fast, judge_fast, monkeypatch):
    """The student's kernel and the re-check need not agree on utils.fast_mode: the rerun makes as many steps
    as the notebook's losses show."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("TNN_FAST", "1") if kernel_fast else monkeypatch.delenv("TNN_FAST", raising=False)
    accuracy, losses, mean = _bc(notebook_values())
    monkeypatch.setenv("TNN_FAST", "1") if judge_fast else monkeypatch.delenv("TNN_FAST", raising=False)
    checks.check_breast_cancer(accuracy, losses, mean, **BC, hidden=True)
    cut = {k: v[:100] for k, v in losses.items()}
    assert_rejects(checks.check_breast_cancer, accuracy, cut, mean, **BC, hidden=True, match="while it is graded")


def test_breast_cancer_typed_in_fails_the_hidden_part(breast_cancer):
    accuracy, losses, mean = breast_cancer
    # nothing run: the right values typed in, compute_mean_std and standardize not written
    checks.check_breast_cancer(accuracy, losses, mean, compute_mean_std=_stub, standardize=_stub)
    with pytest.raises(NotImplementedError):
        checks.check_breast_cancer(accuracy, losses, mean, compute_mean_std=_stub, standardize=_stub, hidden=True)
    # plausible values typed in
    better = {**accuracy, "standardised": 0.99}
    checks.check_breast_cancer(better, losses, mean, **BC)
    assert_rejects(checks.check_breast_cancer, better, losses, mean, **BC, hidden=True, match="bc_test_accuracy")
    rounded = {k: [round(v, 3) for v in vals] for k, vals in losses.items()}
    checks.check_breast_cancer(accuracy, rounded, mean, **BC)
    assert_rejects(checks.check_breast_cancer, accuracy, rounded, mean, **BC, hidden=True, match="bc_losses")
    assert_rejects(checks.check_breast_cancer, accuracy, losses, np.round(mean, 2), **BC, hidden=True,
                   match="bc_mean")
    # the right values with a wrong function
    for wrong in [{"compute_mean_std": ms_ddof1}, {"compute_mean_std": ms_mean_abs_dev},
                  {"standardize": std_only_centres}, {"standardize": std_by_variance}]:
        checks.check_breast_cancer(accuracy, losses, mean, **{**BC, **wrong})
        assert_rejects(checks.check_breast_cancer, accuracy, losses, mean, **{**BC, **wrong}, hidden=True)
    # the visible bars, and an unrun cell
    assert_rejects(checks.check_breast_cancer, {**accuracy, "standardised": 0.8}, losses, mean, **BC, match="90%")
    swapped = {"raw": losses["standardised"], "standardised": losses["raw"]}
    assert_rejects(checks.check_breast_cancer, accuracy, swapped, mean, **BC, match="below the one on raw")
    with pytest.raises(NotImplementedError):
        checks.check_breast_cancer(None, None, None, **BC)


def test_breast_cancer_keeps_its_hidden_criteria(monkeypatch):
    """Statistics that are not the training split's, or a final loss not halved, fail the hidden part (when
    the rerun says so)."""
    from classroom.hidden import preprocessing as hidden
    accuracy, losses, mean = _bc(notebook_values())
    real = hidden.breast_cancer_experiment
    monkeypatch.setattr(hidden, "breast_cancer_experiment", lambda *a: (real(*a)[0], real(*a)[1], mean + 1.0))
    assert_rejects(checks.check_breast_cancer, accuracy, losses, mean + 1.0, **BC, hidden=True,
                   match="training split's mean")
    halved = {"raw": losses["raw"], "standardised": [0.6 * losses["raw"][-1]] * len(losses["raw"])}
    monkeypatch.setattr(hidden, "breast_cancer_experiment", lambda *a: (halved, accuracy, mean))
    checks.check_breast_cancer(accuracy, halved, mean, **BC)
    assert_rejects(checks.check_breast_cancer, accuracy, halved, mean, **BC, hidden=True, match="at least halve")


@pytest.mark.parametrize("kernel", ["Sandybridge", "Prescott"])
def test_rerun_tolerances_cover_another_blas_kernel(kernel, tmp_path):
    """The experiment's values computed where OpenBLAS picks another CPU kernel (other last bits) pass here."""
    import pickle
    import subprocess
    import sys
    from coursework import ROOT, unactivated_env
    out = tmp_path / "values.pickle"
    code = ("import pickle, sys; sys.path.insert(0, 'tests')\n"
            "import test_checks_preprocessing as t\n"
            f"pickle.dump(t._bc(t.notebook_values()), open({str(out)!r}, 'wb'))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=unactivated_env(PYTHONPATH=str(ROOT), OPENBLAS_CORETYPE=kernel))
    assert done.returncode == 0, done.stderr[-2000:]
    checks.check_breast_cancer(*pickle.loads(out.read_bytes()), **BC, hidden=True)
