"""Hidden cases of notebook 07_regularization (weight penalties, dropout, augmentation, early stopping).

``CASES[exercise](rng)`` draws the hidden cases of one exercise: first the same kinds as the visible
cases (with the visible generators of :mod:`graders.regularization`), then edge cases and larger
inputs, all from the same ``rng``, in the order the hidden tests have always drawn them. Expected
outputs come from the reference solution. ``dropout_backward``'s cases replay ``dropout_forward``'s
draws and add one upstream gradient each, so that ``check_dropout_backward`` can pair them by label and
run the student's own forward pass for the cache. The checks of this notebook have no hidden-only
criteria, so ``CRITERIA`` is empty. ``fc_net_loss``'s cases keep every ReLU input away from 0, so a
numeric-gradient step never crosses a kink.
"""
from __future__ import annotations

import numpy as np

from graders.checking import Case
from graders import regularization as visible
from graders.regularization import (_correlated_rgb, _dropout_case, _images, _net_case, _params, _pca_color_case,
                                    _seed)


def _penalty_cases(rng: np.random.Generator, zeros: bool) -> list[Case]:
    return visible._penalty_cases(rng, zeros) + [
        Case("a single weight matrix and no biases",
             {"weights": _params(rng, {"W1": (6, 6)}, zeros), "reg": 1e-3}),
        Case("three layers, large weights, reg = 2.5",
             {"weights": {k: 10 * v for k, v in _params(rng, {"W1": (8, 7), "b1": (7,), "W2": (7, 5),
                                                              "b2": (5,), "W3": (5, 3), "b3": (3,)}, zeros).items()},
              "reg": 2.5}),
    ]


def _dropout_forward_cases(rng: np.random.Generator) -> list[Case]:
    return visible._dropout_forward_cases(rng) + [
        _dropout_case(rng, "train mode, keep_prob = 1.0 (keeps everything, still draws the mask)", (5, 6), 1.0, "train"),
        _dropout_case(rng, "train mode, a (50, 40) batch, keep_prob = 0.25", (50, 40), 0.25, "train"),
        _dropout_case(rng, "test mode, keep_prob = 0.9", (6, 7), 0.9, "test"),
        _dropout_case(rng, "train mode, a single unit", (1, 1), 0.6, "train"),
    ]


def _crop_cases(rng):
    return visible._crop_cases(rng) + [
        Case("crop as large as the image (the only offset is 0)",
             {"X": _images(rng, (3, 5, 6)), "crop_h": 5, "crop_w": 6, "rng": _seed(rng)}),
        Case("1 x 1 crops of (6, 4, 5, 3) colour images",
             {"X": _images(rng, (6, 4, 5, 3)), "crop_h": 1, "crop_w": 1, "rng": _seed(rng)}),
        Case("a batch of 40 (12, 10) images, crop 9 x 7",
             {"X": _images(rng, (40, 12, 10)), "crop_h": 9, "crop_w": 7, "rng": _seed(rng)}),
    ]


def _flip_cases(rng):
    return visible._flip_cases(rng) + [
        Case("one grey image", {"X": _images(rng, (1, 3, 3)), "rng": _seed(rng)}),
        Case("40 colour images (40, 5, 6, 3)", {"X": _images(rng, (40, 5, 6, 3)), "rng": _seed(rng)}),
    ]


def _shift_cases(rng):
    return visible._shift_cases(rng) + [
        Case("max_shift = 0 (the identity, after drawing zeros)",
             {"X": _images(rng, (3, 4, 4), 0.1, 1.0), "max_shift": 0, "rng": _seed(rng)}),
        Case("30 digit-sized (8, 8) images, max_shift = 3",
             {"X": _images(rng, (30, 8, 8), 0.1, 1.0), "max_shift": 3, "rng": _seed(rng)}),
    ]


def _jitter_cases(rng):
    return visible._jitter_cases(rng) + [
        Case("brightness = contrast = 0 (the identity)",
             {"X": _images(rng, (3, 4, 5, 3)), "brightness": 0.0, "contrast": 0.0, "rng": _seed(rng)}),
        Case("30 colour images with saturated pixels, strong jitter",
             {"X": _images(rng, (30, 6, 5, 3), saturate=True), "brightness": 0.4, "contrast": 0.8,
              "rng": _seed(rng)}),
    ]


def _pca_cases(rng):
    return visible._pca_cases(rng) + [
        Case("one image of 1 x 10 pixels", {"X": _correlated_rgb(rng, (1, 1, 10))}),
        Case("20 images of 16 x 12 pixels", {"X": _correlated_rgb(rng, (20, 16, 12))}),
    ]


def _pca_color_cases(rng):
    return visible._pca_color_cases(rng) + [
        _pca_color_case(rng, "alpha_std = 0 (the identity)", _images(rng, (3, 4, 4, 3)), 0.0),
        _pca_color_case(rng, "40 images of (6, 5) pixels in [0.3, 0.7], alpha_std = 0.2",
                        _images(rng, (40, 6, 5, 3), 0.3, 0.7), 0.2),
    ]


def _early_stopping_cases(rng):
    cases_ = visible._early_stopping_cases(rng)
    walk = 1.0 + np.cumsum(rng.normal(0.0, 0.05, 60))
    return cases_ + [
        Case("a single epoch", {"val_losses": [0.3], "patience": 3}),
        Case("patience longer than the run", {"val_losses": [0.5, 0.6, 0.7, 0.8], "patience": 10}),
        Case("a random walk of 60 epochs, patience = 4", {"val_losses": walk, "patience": 4}),
        Case("a random walk of 60 epochs, patience = 12", {"val_losses": walk.copy(), "patience": 12}),
        Case("the best epoch is the last", {"val_losses": [0.9, 0.95, 0.99, 0.6], "patience": 3}),
        Case("best at epoch 0, patience = 3", {"val_losses": [0.2, 0.3, 0.25, 0.21, 0.1], "patience": 3}),
    ]



def _net_cases(rng):
    return visible._net_cases(rng) + [
        _net_case(rng, "three hidden layers (6, 8, 7, 5, 4), N = 12, reg = 0.02, keep_prob = 0.5",
                  [6, 8, 7, 5, 4], 12, 0.02, 0.5),
        _net_case(rng, "keep_prob = 1 (dropout changes nothing), large weights, reg = 0.5",
                  [3, 5, 4, 2], 4, 0.5, 1.0, scale=3.0),
        _net_case(rng, "a batch of 40, (10, 20, 10, 5), reg = 1e-3, keep_prob = 0.8",
                  [10, 20, 10, 5], 40, 1e-3, 0.8),
        _net_case(rng, "a single example (N = 1), one hidden layer (3, 4, 2), keep_prob = 0.7, reg = 0.2",
                  [3, 4, 2], 1, 0.2, 0.7),
    ]


CASES = {
    "l2_penalty": lambda rng: _penalty_cases(rng, zeros=False),
    "l1_penalty": lambda rng: _penalty_cases(rng, zeros=True),
    "dropout_forward": _dropout_forward_cases,
    "dropout_backward": lambda rng: visible._with_dout(rng, _dropout_forward_cases(rng)),
    "random_crop": _crop_cases,
    "random_flip": _flip_cases,
    "random_shift": _shift_cases,
    "color_jitter": _jitter_cases,
    "pixel_pca": _pca_cases,
    "pca_color_augmentation": _pca_color_cases,
    "early_stopping": _early_stopping_cases,
    "fc_net_loss": _net_cases,
}

CRITERIA: dict = {}
