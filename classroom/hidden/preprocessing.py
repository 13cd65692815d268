"""Hidden cases for notebook 03_preprocessing (``graders/preprocessing.py`` holds the visible ones).

For every exercise ``CASES`` draws the visible cases of ``graders.preprocessing`` first and then, from
the same generator, the hidden ones: single examples (every std 0), a constant feature, integer and
uint8 data, fewer examples than features, k = 1 and k = D, and large batches.

``CRITERIA["breast_cancer"]``: the breast-cancer experiment run again with the student's
``compute_mean_std`` and ``standardize`` (``graders.preprocessing.breast_cancer_experiment``, the notebook's
split and number of steps); the notebook's losses, accuracies and mean must be its results, the mean must
be the training split's, and standardising must at least halve the final training loss.
"""
from __future__ import annotations

import numpy as np

from classroom.hidden import expect_rerun
from graders.checking import Case, fail
from graders.preprocessing import (BREAST_CANCER_STEPS, _batch, _cloud, _image_cases_from, _image_patterns,
                                   _mean_std_cases, _orthonormal, _pca_fit_cases, _pca_transform_cases,
                                   _standardize_cases, _whiten_cases, breast_cancer_experiment, breast_cancer_split,
                                   breast_cancer_steps)
from graders.rerun import mode_of


def _mean_std(rng: np.random.Generator) -> list[Case]:
    cases_ = _mean_std_cases(rng)
    const = rng.standard_normal((7, 3))
    const[:, 1] = 2.5
    return cases_ + [
        Case("a single example (every std is 0)", {"X": rng.standard_normal((1, 6))}),
        Case("a feature that is constant (its std is 0)", {"X": const}),
        Case("integer pixel values 0..255, N=50, D=8", {"X": rng.integers(0, 256, size=(50, 8))}),
        Case("N=400, D=30 features on scales 1e-2..1e2",
             {"X": rng.standard_normal((400, 30)) * np.logspace(-2, 2, 30) + rng.uniform(-50, 50, 30)}),
    ]


def _standardize(rng: np.random.Generator) -> list[Case]:
    return _standardize_cases(rng) + [
        Case("a single test example (N=1)", {"X": rng.standard_normal((1, 4)) * 3 + 1,
                                             "mean": np.array([0.5, -1.0, 2.0, 0.0]),
                                             "std": np.array([1.5, 0.2, 3.0, 1.0])}),
        Case("N=300, D=20 test examples, statistics from a different training distribution",
             {"X": rng.standard_normal((300, 20)) * np.logspace(-1, 1, 20) + 5.0,
              "mean": rng.uniform(-3, 3, 20), "std": np.logspace(-2, 2, 20)}),
        Case("integer inputs", {"X": rng.integers(0, 256, size=(6, 3)),
                                "mean": np.array([120.0, 100.0, 90.0]), "std": np.array([60.0, 55.0, 50.0])},
             kwargs={"eps": 1e-3}),
    ]


def _pca_fit(rng: np.random.Generator) -> list[Case]:
    return _pca_fit_cases(rng) + [
        Case("k=1 (the first principal direction only)", {"X": _cloud(rng, 25, [4.0, 1.0], [-3.0, 8.0]), "k": 1}),
        Case("fewer examples than features: N=6, D=10, k=3",
             {"X": _cloud(rng, 6, np.linspace(10, 1, 10) ** 2, rng.uniform(-4, 4, 10)), "k": 3}),
        Case("N=500, D=20, k=6", {"X": _cloud(rng, 500, np.logspace(2, -2, 20), rng.uniform(-10, 10, 20)),
                                  "k": 6}),
        Case("integer data (N=80, D=4), k=2", {"X": np.rint(_cloud(rng, 80, [400.0, 100.0, 25.0, 4.0],
                                                                   [100, 50, 20, 10])).astype(np.int64),
                                               "k": 2}),
    ]


def _pca_transform(rng: np.random.Generator) -> list[Case]:
    return _pca_transform_cases(rng) + [
        Case("all components, k=D=3 (a rotation)", {"X": rng.standard_normal((6, 3)) - 2.0,
                                                     "mean": np.array([0.5, 0.0, -0.5]),
                                                     "components": _orthonormal(rng, 3, 3)}),
        Case("a single example", {"X": rng.standard_normal((1, 5)), "mean": rng.standard_normal(5),
                                  "components": _orthonormal(rng, 5, 2)}),
        Case("N=200, D=30, k=10", {"X": rng.standard_normal((200, 30)) * 3 + 1,
                                   "mean": rng.standard_normal(30), "components": _orthonormal(rng, 30, 10)}),
    ]


def _whiten(rng: np.random.Generator) -> list[Case]:
    return _whiten_cases(rng) + [
        Case("a single example, k=1", {"X": rng.standard_normal((1, 4)), "mean": rng.standard_normal(4),
                                       "components": _orthonormal(rng, 4, 1), "variances": np.array([3.0])}),
        Case("N=200, D=25, k=8", {"X": rng.standard_normal((200, 25)) * 2 - 1, "mean": rng.standard_normal(25),
                                  "components": _orthonormal(rng, 25, 8),
                                  "variances": np.logspace(2, -3, 8)}),
    ]


def _images(rng: np.random.Generator) -> list[Case]:
    p1, p2 = _image_patterns(rng)
    cases_ = _image_cases_from(rng, p1, p2)
    p3 = rng.uniform(0, 255, (8, 8, 3))
    return cases_ + [
        Case("a single training image (N=1)", {"X_train": _batch(rng, 1, p1, 1.0, 0.0, 3.0),
                                               "X_other": _batch(rng, 2, p1, 2.0, 5.0, 3.0)}),
        Case("N=M=20 images of shape (8, 8, 3)", {"X_train": _batch(rng, 20, p3, 1.0, 0.0, 20.0),
                                                  "X_other": _batch(rng, 20, p3, 0.7, 30.0, 20.0)}),
        Case("a single other image (M=1), uint8", {
            "X_train": rng.integers(0, 256, size=(7, 3, 5, 3), dtype=np.uint8),
            "X_other": rng.integers(0, 128, size=(1, 3, 5, 3), dtype=np.uint8)}),
    ]


CASES = {
    "compute_mean_std": _mean_std,
    "standardize": _standardize,
    "pca_fit": _pca_fit,
    "pca_transform": _pca_transform,
    "whiten": _whiten,
    "subtract_mean_image": _images,
    "subtract_channel_mean": _images,
}


# ---------------------------------------------------------------- the experiment, run again
def _breast_cancer(bc_test_accuracy, bc_losses, bc_mean, *, compute_mean_std, standardize) -> None:
    # the cell makes 200 steps while graded, 400 otherwise: the number of losses says which size to rerun
    fast = mode_of(len(bc_losses["raw"]), BREAST_CANCER_STEPS, "the number of losses in bc_losses['raw']")
    losses, accuracy, mean = breast_cancer_experiment(compute_mean_std, standardize, breast_cancer_steps(fast))
    X_train = breast_cancer_split()[0]
    if not np.allclose(mean, X_train.mean(axis=0)):
        fail("the statistics used in the experiment are not the training split's mean.")
    expect_rerun(bc_mean, mean, "bc_mean", rtol=1e-9, atol=1e-12)
    n_test = len(breast_cancer_split()[3])
    for name in ("raw", "standardised"):
        expect_rerun(bc_losses[name], losses[name], f"bc_losses[{name!r}]")
        # an accuracy is a multiple of 1 / n_test: equal up to half an example
        expect_rerun(bc_test_accuracy[name], accuracy[name], f"bc_test_accuracy[{name!r}]", rtol=0, atol=0.5 / n_test)
    if not losses["standardised"][-1] < 0.5 * losses["raw"][-1]:
        fail("standardising should at least halve the final training loss in this experiment.")


CRITERIA = {"breast_cancer": _breast_cancer}
