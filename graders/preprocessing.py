"""Checks for notebook 03_preprocessing: per-feature mean and standard deviation, standardisation,
PCA (fit, projection, whitening) and the two image habits (mean image, per-channel mean).

Every statistic is fitted on a training set and applied to every split. So the cases hand the
functions that *apply* statistics (``standardize``, ``pca_transform``, ``whiten``) a batch ``X``
drawn from a *different* distribution than the one the statistics describe, and the image functions
a training batch and another batch that differ in brightness and contrast: statistics computed from
the wrong set give visibly different numbers. Principal components are compared column by column
up to their sign, which no PCA can fix.

Every check takes the function under test first. Called with no options it uses the visible cases
(``fixtures/preprocessing.json``); hidden tests pass ``hidden=True``, which draws other inputs and edge cases
(single examples, constant features, integer data, larger batches...) from the hidden module
``classroom/hidden/preprocessing.py``, not part of the student release.
"""
from __future__ import annotations

import numpy as np

from .checking import (Case, call, expect_array, expect_close, expect_scalar, expect_tuple, fail, plain, reporting,
                       require_answer)
from .fixtures import cases, hidden_criterion
from .rerun import one_blas_thread

TOPIC = "preprocessing"
# Every result here is a handful of float64 sums, products and one symmetric eigensolver; any sound
# formula agrees with the reference to ~1e-12 relative, so 1e-6 cannot flake and still rejects every
# wrong variant in tests/test_checks_preprocessing.py (the smallest of them is off by ~1e-2).
RTOL = 1e-6
# A principal direction moves by about (rounding error) / (relative eigenvalue gap). The cases' data have
# relative gaps between the first k + 1 sample eigenvalues above 3e-3 (checked for seeds 0..299), so the
# directions are determined to ~1e-13; 1e-6 per entry, after fixing each column's sign, cannot flake.
COMPONENT_ATOL = 1e-6


HINTS = {  # for graders.reveal: a nudge, not the answer
    "compute_mean_std": "Statistics per feature are taken over the examples, axis=0; std divides by N (ddof=0).",
    "standardize": "Subtract the *given* mean and divide by the given std plus eps; never recompute statistics here.",
    "single_example_value": "What is x - mean(x) when the mean is taken over that one example?",
    "pca_fit": "Centre with the training mean, form the covariance (divide by N), take np.linalg.eigh, then "
               "reorder the eigenvalues and their eigenvector *columns* from largest to smallest.",
    "pca_transform": "Centre with the mean from pca_fit, then project onto the component columns.",
    "whiten": "Project as in pca_transform, then divide each component by the square root of its variance (+ eps).",
    "decorrelating_transform": "Which step makes the covariance matrix diagonal without forcing unit variances?",
    "k90": "Use the cumulative sum of the explained-variance ratios and find the first index reaching 0.9.",
    "subtract_mean_image": "The mean image has shape (H, W, C): average the training images over axis 0 only, and "
                           "subtract that same mean from both sets.",
    "subtract_channel_mean": "One number per channel: average the training images over the N, H and W axes.",
    "crop_preprocessing": "A per-pixel mean image only fits images of the training size; which statistic does not "
                          "depend on the image size?",
}


# ---------------------------------------------------------------- visible case generators
# The hidden module (classroom/hidden/preprocessing.py) calls these first and then draws its own cases
# from the same generator.
def _orthonormal(rng: np.random.Generator, d: int, k: int) -> np.ndarray:
    """A random (d, k) matrix with orthonormal columns."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return (q * np.sign(np.diag(r)))[:, :k]


def _cloud(rng: np.random.Generator, n: int, variances, shift) -> np.ndarray:
    """n points whose covariance has the given eigenvalues along random orthogonal directions."""
    variances = np.asarray(variances, dtype=float)
    d = len(variances)
    return (rng.standard_normal((n, d)) * np.sqrt(variances)) @ _orthonormal(rng, d, d).T + np.asarray(shift, float)


def _mean_std_cases(rng: np.random.Generator) -> list[Case]:
    scales = np.array([1e-3, 1.0, 30.0, 1e3])
    cases_ = [
        Case("N=6 examples of D=4 features on scales from 1e-3 to 1e3",
             {"X": np.array([5.0, -2.0, 100.0, 3000.0]) + scales * rng.standard_normal((6, 4))}),
        Case("N=3 examples of D=5 features (wider than tall)", {"X": 4.0 * rng.standard_normal((3, 5)) + 1.0}),
        Case("a square batch, N=D=4 (a wrong axis cannot hide behind the shape)",
             {"X": rng.standard_normal((4, 4)) * np.array([1.0, 2.0, 5.0, 0.5]) + np.arange(4.0)}),
    ]
    return cases_


def _standardize_cases(rng: np.random.Generator) -> list[Case]:
    cases_ = [
        Case("a test batch (M=5) from a shifted and rescaled distribution; mean and std fitted on the "
             "training set (train: mean (0, 10, -100), std (1, 100, 0.01))",
             {"X": np.array([3.0, -40.0, -99.9]) + np.array([2.0, 20.0, 0.05]) * rng.standard_normal((5, 3)),
              "mean": np.array([0.0, 10.0, -100.0]), "std": np.array([1.0, 100.0, 0.01])}),
        Case("a feature whose training std is 0 (constant in training): eps keeps the result finite",
             {"X": np.array([[1.0, 7.0], [2.0, 7.5], [-1.0, 6.5]]),
              "mean": np.array([0.5, 7.0]), "std": np.array([2.0, 0.0])}),
        Case("a feature with a tiny training std of 1e-6 (shows where eps goes)",
             {"X": np.array([[0.3, 1e-6], [-0.2, -2e-6], [0.1, 3e-6], [0.0, 0.0]]),
              "mean": np.array([0.1, 0.0]), "std": np.array([0.5, 1e-6])}),
        Case("eps = 0.5 passed explicitly",
             {"X": rng.standard_normal((4, 3)) + 2.0, "mean": np.array([1.0, 2.0, 3.0]),
              "std": np.array([0.1, 1.0, 4.0])}, kwargs={"eps": 0.5}),
    ]
    return cases_


def _pca_fit_cases(rng: np.random.Generator) -> list[Case]:
    cases_ = [
        Case("N=25 points in D=3 with variances about (9, 1, 0.1) around a mean far from 0, k=2",
             {"X": _cloud(rng, 25, [9.0, 1.0, 0.1], [20.0, -30.0, 10.0]), "k": 2}),
        Case("N=30 points in D=5, k=3", {"X": _cloud(rng, 30, [16.0, 6.0, 2.0, 0.5, 0.1], rng.uniform(-5, 5, 5)),
                                          "k": 3}),
        Case("all components, k=D=4 (N=20)", {"X": _cloud(rng, 20, [5.0, 2.0, 0.8, 0.2], [1.0, 2.0, 3.0, 4.0]),
                                              "k": 4}),
    ]
    return cases_


def _pca_transform_cases(rng: np.random.Generator) -> list[Case]:
    cases_ = [
        Case("a test batch (M=5, D=4) from a shifted distribution; mean and components (k=2) fitted on "
             "the training set", {"X": rng.standard_normal((5, 4)) * 2 + np.array([3.0, -1.0, 0.5, 6.0]),
                                  "mean": np.array([1.0, 0.0, -2.0, 4.0]), "components": _orthonormal(rng, 4, 2)}),
        Case("k=1, D=3", {"X": rng.standard_normal((4, 3)) + 10.0, "mean": np.array([9.0, 11.0, 10.5]),
                          "components": _orthonormal(rng, 3, 1)}),
    ]
    return cases_


def _whiten_cases(rng: np.random.Generator) -> list[Case]:
    cases_ = [
        Case("a test batch (M=5, D=3) from a shifted distribution; mean, components (k=2) and variances "
             "(9, 0.25) fitted on the training set",
             {"X": rng.standard_normal((5, 3)) * 3 + np.array([2.0, -1.0, 4.0]), "mean": np.array([1.0, 1.0, 1.0]),
              "components": _orthonormal(rng, 3, 2), "variances": np.array([9.0, 0.25])}),
        Case("a direction with zero training variance (eps keeps it finite)",
             {"X": rng.standard_normal((4, 3)), "mean": np.array([0.2, -0.1, 0.0]),
              "components": _orthonormal(rng, 3, 3), "variances": np.array([4.0, 0.5, 0.0])}),
        Case("a tiny variance of 1e-4 next to the default eps=1e-5 (shows where eps goes)",
             {"X": rng.standard_normal((4, 2)) * 0.1, "mean": np.array([0.01, -0.02]),
              "components": _orthonormal(rng, 2, 2), "variances": np.array([2.0, 1e-4])}),
        Case("eps = 0.1 passed explicitly",
             {"X": rng.standard_normal((3, 4)) + 1, "mean": np.zeros(4), "components": _orthonormal(rng, 4, 2),
              "variances": np.array([5.0, 0.3])}, kwargs={"eps": 0.1}),
    ]
    return cases_


def _batch(rng: np.random.Generator, n: int, pattern: np.ndarray, gain: float, offset: float,
           noise: float) -> np.ndarray:
    """n noisy images ``gain * pattern + offset`` (pattern of shape (H, W, C))."""
    return gain * pattern + offset + noise * rng.standard_normal((n, *pattern.shape))


def _image_patterns(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The two image patterns the image cases are built on: (H, W, C) = (3, 2, 2) and (3, 3, 1)."""
    p1 = rng.uniform(0, 100, (3, 2, 2))            # (H, W, C), H != W
    p2 = rng.uniform(0, 100, (3, 3, 1))
    return p1, p2


def _image_cases_from(rng: np.random.Generator, p1: np.ndarray, p2: np.ndarray) -> list[Case]:
    def batch(n, pattern, gain, offset, noise):
        return _batch(rng, n, pattern, gain, offset, noise)

    return [
        Case("N=4 training images of shape (H, W, C) = (3, 2, 2) and M=3 other images that are brighter "
             "and higher in contrast", {"X_train": batch(4, p1, 1.0, 0.0, 10.0), "X_other": batch(3, p1, 1.5, 40.0, 10.0)}),
        Case("uint8 images (as read from files): N=5 training and M=2 other images of shape (2, 2, 3)",
             {"X_train": rng.integers(0, 200, size=(5, 2, 2, 3), dtype=np.uint8),
              "X_other": rng.integers(100, 256, size=(2, 2, 2, 3), dtype=np.uint8)}),
        Case("grey images with one channel (C=1): N=4 training, M=2 other",
             {"X_train": batch(4, p2, 1.0, 0.0, 5.0), "X_other": batch(2, p2, 0.5, -20.0, 5.0)}),
    ]


def _image_cases(rng: np.random.Generator) -> list[Case]:
    return _image_cases_from(rng, *_image_patterns(rng))


CASES = {
    "compute_mean_std": _mean_std_cases,
    "standardize": _standardize_cases,
    "pca_fit": _pca_fit_cases,
    "pca_transform": _pca_transform_cases,
    "whiten": _whiten_cases,
    "subtract_mean_image": _image_cases,
    "subtract_channel_mean": _image_cases,
}


# ---------------------------------------------------------------- helpers
def _tuple(out, names: tuple[str, ...], name: str, case: Case) -> tuple:
    return expect_tuple(out, names, name, case, f"return them as a tuple: `return {', '.join(names)}`.")


def _close(a, b, rtol: float = RTOL, atol: float = 1e-9) -> bool:
    a, b = plain(a).astype(np.float64), plain(b).astype(np.float64)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and np.allclose(a, b, rtol=rtol, atol=atol)


def _atol(*arrays) -> float:
    """An absolute tolerance for values built from these inputs: 1e-10 of their largest magnitude."""
    scale = max(float(np.max(np.abs(plain(a).astype(np.float64)), initial=0.0)) for a in arrays)
    return 1e-10 * (1.0 + scale)


# ---------------------------------------------------------------- the checks
@reporting("a tuple (mean, std) of shape (D,) each, std with ddof=0, within 1e-6 of the reference, input untouched")
def check_compute_mean_std(compute_mean_std, *, hidden=False):
    """Check ``compute_mean_std(X) -> (mean, std)``, per-feature statistics of shape (D,)."""
    for case in cases(TOPIC, "compute_mean_std", hidden):
        X = plain(case.args["X"]).astype(np.float64)
        N, D = X.shape
        out = _tuple(call(compute_mean_std, "compute_mean_std", case), ("mean", "std"), "compute_mean_std", case)
        exp_mean, exp_std = case.expected
        axis_hint = ("the statistics are per feature: average over the examples, axis=0, which gives one "
                     "number per column (shape (D,)).")
        for got, exp, what in ((out[0], exp_mean, "mean"), (out[1], exp_std, "std")):
            arr = expect_array(got, f"the {what} returned by compute_mean_std", case)
            if arr.shape != (D,):
                fail(f"the {what} returned by compute_mean_std should have shape (D,) = ({D},), but it has "
                     f"shape {arr.shape}.", case, axis_hint if arr.shape in ((N,), (N, 1), (1, N)) else
                     "reduce over the examples only (axis=0), without keepdims.")
        mean, std = plain(out[0]), plain(out[1])
        atol = _atol(X)
        hint = axis_hint if N == D and _close(mean, X.mean(axis=1), atol=atol) else None
        expect_close(mean, exp_mean, "the mean returned by compute_mean_std", case, RTOL, atol, hint)
        hint = None
        if N == D and _close(std, X.std(axis=1), atol=atol):
            hint = axis_hint
        elif N > 1 and _close(std, X.std(axis=0, ddof=1), atol=atol):
            hint = ("that is the std with ddof=1 (dividing by N - 1). This course uses ddof=0, dividing by N, "
                    "which is np.std's default: the statistic of the training set itself.")
        elif _close(std, X.var(axis=0), atol=atol):
            hint = "that is the variance; the standard deviation is its square root."
        expect_close(std, exp_std, "the std returned by compute_mean_std", case, RTOL, atol, hint)


@reporting("shape and dtype kept, (X - mean) / (std + eps) with the given training statistics and eps, within 1e-6 of the reference, inputs untouched")
def check_standardize(standardize, *, hidden=False):
    """Check ``standardize(X, mean, std, eps=1e-8) -> (X - mean) / (std + eps)``, shape (N, D)."""
    for case in cases(TOPIC, "standardize", hidden):
        X = plain(case.args["X"]).astype(np.float64)
        mean, std = case.args["mean"], case.args["std"]
        eps = case.kwargs.get("eps", 1e-8)
        got = expect_array(call(standardize, "standardize", case), "standardize(X, mean, std)", case, shape=X.shape)
        atol = _atol(case.expected)
        hint = None
        if len(X) > 1 and _close(got, (X - X.mean(axis=0)) / (X.std(axis=0) + eps), atol=atol):
            hint = ("you recomputed the mean and std from X. Use the `mean` and `std` passed in: they were fitted "
                    "on the training set, and every split must be transformed with those same numbers.")
        elif _close(got, (X - mean) / np.sqrt(std ** 2 + eps), atol=atol):
            hint = "eps goes outside the square root here: divide by (std + eps), as the docstring says."
        elif _close(got, (X - mean) / (std + 1e-8), atol=atol):
            hint = "the eps passed as an argument was ignored; use the `eps` parameter, not a fixed number."
        elif _close(got, X - mean, atol=atol):
            hint = "the result is only centred; also divide by (std + eps)."
        elif _close(got, (X - mean) / (std ** 2 + eps), atol=atol):
            hint = "that divides by the variance; divide by the standard deviation (plus eps)."
        expect_close(got, case.expected, "standardize(X, mean, std)", case, RTOL, atol, hint)


def _descending(v: np.ndarray) -> bool:
    return bool(np.all(np.diff(v) <= 1e-12 * (1.0 + np.abs(v[:-1]))))


@reporting("a tuple (mean (D,), components (D, k) with orthonormal columns, variances (k,) descending), "
           "all within 1e-6 of the reference (components up to sign), input untouched")
def check_pca_fit(pca_fit, *, hidden=False):
    """Check ``pca_fit(X, k) -> (mean, components, variances)``; components compared column by column up to sign."""
    for case in cases(TOPIC, "pca_fit", hidden):
        X = plain(case.args["X"]).astype(np.float64)
        k = case.args["k"]
        N, D = X.shape
        out = _tuple(call(pca_fit, "pca_fit", case), ("mean", "components", "variances"), "pca_fit", case)
        exp_mean, exp_comp, exp_var = case.expected
        mean = expect_array(out[0], "the mean returned by pca_fit", case, shape=(D,))
        expect_close(mean, exp_mean, "the mean returned by pca_fit", case, RTOL, _atol(X),
                     "the mean is the per-feature average of X over the examples (axis=0).")
        comp = expect_array(out[1], "the components returned by pca_fit", case)
        if comp.shape != (D, k):
            fail(f"the components returned by pca_fit should have shape (D, k) = ({D}, {k}), but they have "
                 f"shape {comp.shape}.", case,
                 "one principal direction per *column*: keep the first k columns of the sorted eigenvectors "
                 "(np.linalg.eigh returns eigenvectors as columns)." if comp.shape == (k, D) else None)
        var = expect_array(out[2], "the variances returned by pca_fit", case, shape=(k,))
        # hints for variances
        scale = float(np.max(np.abs(exp_var)))
        atol_v = 1e-10 * (1.0 + scale)
        hint = None
        if not _descending(var):
            hint = ("the variances are not in descending order. np.linalg.eigh returns eigenvalues in "
                    "ascending order: reverse them (and the eigenvector columns with them) before keeping k.")
        elif N > 1 and _close(var, exp_var * N / (N - 1), atol=atol_v):
            hint = ("these variances divide by N - 1. Use the covariance (1/N) Xc^T Xc of the centred data, "
                    "the same ddof=0 as compute_mean_std.")
        elif _close(var, np.sqrt(exp_var), atol=atol_v) or _close(var, np.sqrt(exp_var * N), atol=atol_v):
            hint = ("these look like standard deviations or singular values. The variance along a component is "
                    "an eigenvalue of the covariance, or s**2 / N for a singular value s of the centred X.")
        elif _close(var, np.linalg.eigvalsh(X.T @ X / N)[::-1][:k], atol=atol_v):
            hint = "X was not centred: subtract the mean before computing the covariance."
        expect_close(var, exp_var, "the variances returned by pca_fit", case, RTOL, atol_v, hint)
        # the components: orthonormal columns, each equal to the reference's up to its sign
        gram = comp.T @ comp
        expect_close(gram, np.eye(k), "components.T @ components (should be the identity)", case, 0, 1e-8,
                     "the principal directions are unit vectors, orthogonal to each other.")
        exp_comp = plain(exp_comp)
        signs = np.where(np.sum(comp * exp_comp, axis=0) < 0, -1.0, 1.0)
        hint = None
        overlap = np.abs(exp_comp.T @ comp)            # (k, k): |cosine| between reference and your columns
        if k > 1 and not np.allclose(np.diag(overlap), 1, atol=1e-6) and np.allclose(
                np.sort(overlap.max(axis=0)), 1, atol=1e-6):
            hint = ("you found the right directions but in the wrong order: column j must go with the j-th "
                    "largest variance.")
        elif _close(np.abs(comp.T @ np.linalg.eigh(X.T @ X / N)[1][:, ::-1][:, :k]), np.eye(k), atol=1e-6):
            hint = "X was not centred: subtract the mean before computing the covariance."
        elif not _close(comp * signs, exp_comp, rtol=0, atol=COMPONENT_ATOL) and _rows_taken(comp, X, exp_comp):
            hint = ("your components are rows of np.linalg.eigh's eigenvector matrix, not its columns: eigh returns "
                    "the eigenvector of eigenvalue w[j] as the COLUMN v[:, j]. Reorder and keep columns "
                    "(v[:, order]); indexing v[order] picks rows, and so does a transpose.")
        expect_close(comp * signs, exp_comp, "the components returned by pca_fit (each column compared up to sign)",
                     case, 0, COMPONENT_ATOL, hint)


def _rows_taken(comp: np.ndarray, X: np.ndarray, exp_comp: np.ndarray) -> bool:
    """Whether the columns of ``comp`` are rows of the eigenvector matrix of X's covariance (eigenvectors taken
    as rows, or the sorted eigenvectors returned transposed)."""
    D, k = comp.shape
    Xc = X - X.mean(axis=0)
    v = np.linalg.eigh(Xc.T @ Xc / len(X))[1]             # columns: eigenvectors; rows: orthonormal too
    as_rows = np.abs(v @ comp)                              # column j is a unit vector if comp[:, j] is a row of v
    if np.allclose(np.sort(as_rows.max(axis=0)), 1.0, atol=1e-6):
        return True
    return k == D and np.allclose(np.abs(comp @ plain(exp_comp)), np.eye(D), atol=1e-6)   # returned transposed


@reporting("shape (N, k), (X - mean) @ components with the given training mean, within 1e-6 of the reference, inputs untouched")
def check_pca_transform(pca_transform, *, hidden=False):
    """Check ``pca_transform(X, mean, components) -> (X - mean) @ components`` of shape (N, k)."""
    for case in cases(TOPIC, "pca_transform", hidden):
        X, mean, comp = plain(case.args["X"]), case.args["mean"], case.args["components"]
        N, k = X.shape[0], comp.shape[1]
        got = expect_array(call(pca_transform, "pca_transform", case), "pca_transform(X, mean, components)", case,
                           shape=(N, k))
        atol = _atol(case.expected)
        hint = None
        if N > 1 and _close(got, (X - X.mean(axis=0)) @ comp, atol=atol):
            hint = ("you centred X with its own mean. Use the `mean` passed in (fitted on the training set) so "
                    "that every split is projected the same way.")
        elif _close(got, X @ comp, atol=atol):
            hint = "X was not centred: subtract `mean` before projecting."
        expect_close(got, case.expected, "pca_transform(X, mean, components)", case, RTOL, atol, hint)


@reporting("shape (N, k), (X - mean) @ components / sqrt(variances + eps) with the given training statistics, "
           "within 1e-6 of the reference, finite for a zero variance, inputs untouched")
def check_whiten(whiten, *, hidden=False):
    """Check ``whiten(X, mean, components, variances, eps=1e-5)``, shape (N, k)."""
    for case in cases(TOPIC, "whiten", hidden):
        X, mean = plain(case.args["X"]), case.args["mean"]
        comp, var = case.args["components"], case.args["variances"]
        eps = case.kwargs.get("eps", 1e-5)
        N, k = X.shape[0], comp.shape[1]
        got = expect_array(call(whiten, "whiten", case), "whiten(X, mean, components, variances)", case, shape=(N, k))
        proj = (X - mean) @ comp
        atol = _atol(case.expected)
        hint = None
        if _close(got, proj / (var + eps), atol=atol):
            hint = ("that divides by the variance. Whitening divides by the standard deviation along each "
                    "component, the square root sqrt(variances + eps), so that each output coordinate has variance 1.")
        elif _close(got, proj / (np.sqrt(var) + eps), atol=atol):
            hint = "eps goes inside the square root here: divide by sqrt(variances + eps)."
        elif np.all(var > 0) and _close(got, proj / np.sqrt(var), atol=atol):
            hint = ("eps was left out: divide by sqrt(variances + eps). Without it a direction with zero "
                    "training variance divides by zero.")
        elif _close(got, proj / np.sqrt(var + 1e-5), atol=atol):
            hint = "the eps passed as an argument was ignored; use the `eps` parameter, not a fixed number."
        elif N > 1 and _close(got, (X - X.mean(axis=0)) @ comp / np.sqrt(var + eps), atol=atol):
            hint = ("you centred X with its own mean. Use the `mean` passed in, fitted on the training set.")
        elif N > 1 and _close(got, proj / np.sqrt(proj.var(axis=0) + eps), atol=atol):
            hint = ("you divided by the variances of X's own projection. Use the `variances` passed in, fitted "
                    "on the training set.")
        elif _close(got, X @ comp / np.sqrt(var + eps), atol=atol):
            hint = "X was not centred: subtract `mean` before projecting."
        elif _close(got, proj, atol=atol):
            hint = "the result is only projected (that is pca_transform); also divide by sqrt(variances + eps)."
        expect_close(got, case.expected, "whiten(X, mean, components, variances)", case, RTOL, atol, hint)


def _check_centring(f, name: str, stat: str, hidden: bool) -> None:
    """Shared body of the two image checks; ``stat`` is "image" (axis 0) or "channel" (axes 0, 1, 2)."""
    axes = {"image": (0,), "channel": (0, 1, 2)}
    for case in cases(TOPIC, name, hidden):
        Xt = plain(case.args["X_train"]).astype(np.float64)
        Xo = plain(case.args["X_other"]).astype(np.float64)
        out = _tuple(call(f, name, case), ("X_train_centred", "X_other_centred"), name, case)
        t = expect_array(out[0], f"the centred X_train returned by {name}", case, shape=Xt.shape)
        o = expect_array(out[1], f"the centred X_other returned by {name}", case, shape=Xo.shape)
        exp_t, exp_o = case.expected
        atol = _atol(Xt, Xo)

        def centred(mu_t, mu_o=None):
            mu_o = mu_t if mu_o is None else mu_o
            return _close(t, Xt - mu_t, atol=atol) and _close(o, Xo - mu_o, atol=atol)

        def mean(X, ax):
            return X.mean(axis=ax, keepdims=True)

        own = axes[stat]
        other = axes["channel" if stat == "image" else "image"]
        hint = None
        if not _close(o, exp_o, atol=atol) and _close(o, Xo - mean(Xo, own), atol=atol):
            hint = ("X_other was centred with its own mean. The mean is a statistic of the training set: "
                    "compute it from X_train only and subtract that same mean from both batches.")
        elif centred(mean(np.concatenate([Xt, Xo]), own)):
            hint = "the mean was taken over X_train and X_other together; use X_train only."
        elif centred(mean(Xt, other)):
            hint = ("that is the other habit. " + ("The mean image averages over the examples only (axis=0): "
                    "one mean per pixel and channel, shape (H, W, C)." if stat == "image" else
                    "The channel mean averages over examples, rows and columns (axis=(0, 1, 2)): one mean "
                    "per channel, shape (C,)."))
        elif (_close(t, Xt - mean(Xt, (1, 2, 3)), atol=atol) or _close(t, Xt - mean(Xt, (1, 2)), atol=atol)):
            hint = ("each image was centred with its own mean. Average over the training examples (axis 0) "
                    "so that every image has the same mean subtracted.")
        elif centred(Xt.mean()):
            hint = "one mean over everything was subtracted; " + (
                "keep one mean per pixel and channel (axis=0)." if stat == "image" else
                "keep one mean per channel (axis=(0, 1, 2)).")
        expect_close(t, exp_t, f"the centred X_train returned by {name}", case, RTOL, atol, hint)
        expect_close(o, exp_o, f"the centred X_other returned by {name}", case, RTOL, atol, hint)


@reporting("a tuple of two float arrays shaped like the inputs, both centred with the training mean image "
           "(shape (H, W, C)), within 1e-6 of the reference, inputs untouched")
def check_subtract_mean_image(subtract_mean_image, *, hidden=False):
    """Check ``subtract_mean_image(X_train, X_other) -> (X_train - mu, X_other - mu)``, mu = mean image of X_train."""
    _check_centring(subtract_mean_image, "subtract_mean_image", "image", hidden)


@reporting("a tuple of two float arrays shaped like the inputs, both centred with the training per-channel mean "
           "(shape (C,)), within 1e-6 of the reference, inputs untouched")
def check_subtract_channel_mean(subtract_channel_mean, *, hidden=False):
    """Check ``subtract_channel_mean(X_train, X_other) -> (X_train - mu, X_other - mu)``, mu of shape (C,)."""
    _check_centring(subtract_channel_mean, "subtract_channel_mean", "channel", hidden)


# ---------------------------------------------------------------- the breast-cancer experiment (section 2)
BREAST_CANCER_STEPS = {"fast": 200, "full": 400}   # the notebook's num_steps while nbgrader grades / otherwise


def breast_cancer_steps(fast: bool | None = None) -> int:
    """The number of gradient steps the experiment cell makes while graded (``fast``) or not; by default in this
    process's mode (``utils.fast_mode``)."""
    from utils import fast_mode

    return BREAST_CANCER_STEPS["fast" if (fast_mode() if fast is None else fast) else "full"]


def breast_cancer_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The notebook's split of the breast-cancer data (``make_rng(0)``): X_train (400, 30), y_train, X_test, y_test."""
    from sklearn.datasets import load_breast_cancer
    from utils import make_rng

    cancer = load_breast_cancer()
    order = make_rng(0).permutation(len(cancer.target))
    train, test = order[:400], order[400:]
    return cancer.data[train], cancer.target[train], cancer.data[test], cancer.target[test]


def breast_cancer_experiment(compute_mean_std, standardize, num_steps: int) -> tuple[dict, dict, np.ndarray]:
    """Section 2 of the notebook, step for step, with the given ``compute_mean_std`` and ``standardize``: the
    linear softmax classifier trained on raw and on standardised inputs with lr = 2 / lambda_max for
    ``num_steps`` steps. Returns ``(bc_losses, bc_test_accuracy, bc_mean)`` as the notebook's cell computes them."""
    X_train, y_train, X_test, y_test = breast_cancer_split()
    case = Case("the training split of the breast-cancer data (400 x 30)", {"X": X_train})
    mean, std = _tuple(call(compute_mean_std, "compute_mean_std", case), ("mean", "std"), "compute_mean_std", case)
    standardised = []
    for X, which in [(X_train, "training"), (X_test, "test")]:
        case = Case(f"the {which} split of the breast-cancer data with the training statistics",
                    {"X": X, "mean": mean, "std": std})
        standardised.append(expect_array(call(standardize, "standardize", case), "standardize(X, mean, std)", case,
                                         shape=X.shape))
    inputs = {"raw": (X_train, X_test), "standardised": tuple(standardised)}
    losses_by, accuracy_by = {}, {}
    with one_blas_thread():
        for name, (X_tr, X_te) in inputs.items():
            losses_by[name], accuracy_by[name] = _linear_run(X_tr, y_train, X_te, y_test, num_steps)
    return losses_by, accuracy_by, plain(mean)


def _linear_run(X_tr, y_train, X_te, y_test, num_steps: int) -> tuple[list[float], float]:
    """The linear softmax classifier of section 2 on one version of the inputs: its losses and test accuracy."""
    from utils.layers import softmax_cross_entropy

    X_tilde = np.hstack([X_tr, np.ones((len(X_tr), 1))])              # inputs and the bias column
    lr = 2.0 / np.linalg.eigvalsh(X_tilde.T @ X_tilde / len(X_tr))[-1]
    W, b = np.zeros((X_tr.shape[1], 2)), np.zeros(2)
    losses = []
    for _ in range(num_steps):
        loss, dscores = softmax_cross_entropy(X_tr @ W + b, y_train)
        W = W - lr * (X_tr.T @ dscores)
        b = b - lr * dscores.sum(axis=0)
        losses.append(loss)
    return losses, float(np.mean(np.argmax(X_te @ W + b, axis=1) == y_test))


def _experiment_dict(value, name: str) -> dict:
    if not isinstance(value, dict) or set(value) != {"raw", "standardised"}:
        fail(f"{name} should be the dict built by the experiment cell, with the keys 'raw' and 'standardised'; "
             "run that cell again without changing it.")
    return value


@reporting("standardised inputs reached at least 90% test accuracy and a lower final training loss than raw inputs")
def check_breast_cancer(bc_test_accuracy, bc_losses, bc_mean, *, compute_mean_std, standardize, hidden=False):
    """Check the breast-cancer experiment's results: ``bc_test_accuracy`` and ``bc_losses`` (dicts with the keys
    'raw' and 'standardised') and ``bc_mean`` (the training statistics' mean). With ``hidden=True`` they must be
    what the experiment gives when it is run again with the given ``compute_mean_std`` and ``standardize``
    (``breast_cancer_experiment``)."""
    require_answer(bc_test_accuracy, "bc_test_accuracy", cell="experiment")
    require_answer(bc_losses, "bc_losses", cell="experiment")
    accuracy = _experiment_dict(bc_test_accuracy, "bc_test_accuracy")
    losses = _experiment_dict(bc_losses, "bc_losses")
    acc = expect_scalar(accuracy["standardised"], "bc_test_accuracy['standardised']")
    if not acc >= 0.9:
        fail(f"on standardised inputs the classifier reached only {acc:.1%} test accuracy (at least 90% expected); "
             "check that compute_mean_std and standardize pass their checks.")
    final = {}
    for k, v in losses.items():
        if not isinstance(v, (list, tuple, np.ndarray)) or len(v) == 0:
            fail(f"bc_losses[{k!r}] should be the list of the training losses of every step, but it is {v!r:.80}.")
        final[k] = expect_scalar(v[-1], f"the last entry of bc_losses[{k!r}]")
    if not final["standardised"] < final["raw"]:
        fail("the final training loss on standardised inputs should be below the one on raw inputs.")
    if hidden:
        hidden_criterion(TOPIC, "breast_cancer")(bc_test_accuracy, bc_losses, bc_mean,
                                                  compute_mean_std=compute_mean_std, standardize=standardize)
