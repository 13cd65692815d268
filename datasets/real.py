"""Real datasets that are available offline.

scikit-learn ships the handwritten digits (1,797 grey 8x8 images, 10 classes, pixel values 0..16)
inside its wheel, so loading them never touches the network.

The course's digits split (``DIGITS_SPLIT``) is fixed and documented: a stratified split with
``np.random.default_rng(0)``: per class, 60% train, 20% validation, 20% test (rounded down for
validation and test), giving 1,087 / 355 / 355 images. Every notebook that reports a digits accuracy
uses this split.
"""
from __future__ import annotations

import functools

import numpy as np

DIGITS_SPLIT = {"seed": 0, "val_fraction": 0.2, "test_fraction": 0.2}


def load_digits(flatten: bool = True, scale: bool = True) -> dict[str, np.ndarray]:
    """The digits with the course's fixed train/validation/test split.

    Inputs:
    - flatten: images as (N, 64) vectors if True, else (N, 8, 8)
    - scale: divide pixel values by 16 (to [0, 1]) if True; raw 0..16 otherwise
    Returns a dict with float64 ``X_train``, ``X_val``, ``X_test`` and int64 ``y_train``, ``y_val``,
    ``y_test``.
    """
    images, target = _raw_digits()
    X = images.copy()
    y = target.copy()
    if scale:
        X = X / 16.0
    if flatten:
        X = X.reshape(len(X), -1)
    rng = np.random.default_rng(DIGITS_SPLIT["seed"])
    parts = {"train": [], "val": [], "test": []}
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        n_val = int(len(idx) * DIGITS_SPLIT["val_fraction"])
        n_test = int(len(idx) * DIGITS_SPLIT["test_fraction"])
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val:n_val + n_test])
        parts["train"].append(idx[n_val + n_test:])
    out = {}
    for name, chunks in parts.items():
        idx = rng.permutation(np.concatenate(chunks))
        out[f"X_{name}"] = X[idx]
        out[f"y_{name}"] = y[idx]
    return out


@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as float64 images and int64 labels, read once per process (callers get copies)."""
    from sklearn.datasets import load_digits as _sk_load_digits  # bundled file, no download

    bunch = _sk_load_digits()
    images, target = bunch.images.astype(np.float64), bunch.target.astype(np.int64)
    images.flags.writeable = target.flags.writeable = False
    return images, target
