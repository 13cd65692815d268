"""Synthetic data: 2-D classification sets and test surfaces for optimizers.

Every generator draws from the ``rng`` it is given and returns float64 arrays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def make_blobs(n_per_class: int, n_classes: int, rng: np.random.Generator, spread: float = 0.6,
               radius: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs with centres evenly spaced on a circle.

    Returns ``X`` of shape (n_per_class * n_classes, 2) and integer labels ``y`` of shape (N,),
    shuffled.
    """
    angles = 2 * np.pi * np.arange(n_classes) / n_classes
    centres = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    X = np.concatenate([c + spread * rng.standard_normal((n_per_class, 2)) for c in centres])
    y = np.repeat(np.arange(n_classes), n_per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


def make_spirals(n_per_class: int, n_classes: int, rng: np.random.Generator,
                 noise: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spirals (the cs231n toy set), not linearly separable.

    Returns ``X`` of shape (n_per_class * n_classes, 2) and integer labels ``y`` of shape (N,),
    shuffled.
    """
    X = np.zeros((n_per_class * n_classes, 2))
    y = np.zeros(n_per_class * n_classes, dtype=np.int64)
    for k in range(n_classes):
        idx = slice(n_per_class * k, n_per_class * (k + 1))
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(k * 4.0, (k + 1) * 4.0, n_per_class) + noise * rng.standard_normal(n_per_class)
        X[idx] = np.column_stack([r * np.sin(t), r * np.cos(t)])
        y[idx] = k
    order = rng.permutation(len(y))
    return X[order], y[order]


def make_moons(n_per_class: int, rng: np.random.Generator, noise: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles ("moons"), two classes, with Gaussian noise of std ``noise`` added to
    every point: with a few dozen points and a large network, the textbook picture of overfitting.

    Returns ``X`` of shape (2 * n_per_class, 2) and integer labels ``y`` of shape (N,), shuffled.
    """
    t = rng.uniform(0.0, np.pi, (2, n_per_class))
    upper = np.column_stack([np.cos(t[0]), np.sin(t[0])])
    lower = np.column_stack([1.0 - np.cos(t[1]), 0.5 - np.sin(t[1])])
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((2 * n_per_class, 2))
    y = np.repeat(np.arange(2), n_per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface: ``f(w)`` for ``w`` of shape (2,), its gradient, and a plotting window."""
    name: str
    f: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minimum: np.ndarray | None = None

    def grid(self, resolution: int = 200):
        """``(X, Y, Z)`` for ``plt.contour``: the surface evaluated on a grid (vectorized)."""
        xs = np.linspace(*self.xlim, resolution)
        ys = np.linspace(*self.ylim, resolution)
        X, Y = np.meshgrid(xs, ys)
        Z = np.array([self.f(w) for w in np.column_stack([X.ravel(), Y.ravel()])]).reshape(X.shape)
        return X, Y, Z


def ill_conditioned_quadratic(condition: float = 20.0, angle: float = 0.0) -> Surface:
    """``f(w) = 0.5 * w^T A w`` with eigenvalues 1 and ``condition``, axes rotated by ``angle``.

    The minimum is at the origin. Gradient descent with a step near ``2 / condition`` zig-zags
    across the narrow valley and crawls along it: the picture that motivates momentum.
    """
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    A = R @ np.diag([condition, 1.0]) @ R.T

    def f(w):
        w = np.asarray(w, dtype=np.float64)
        return float(0.5 * w @ A @ w)

    def grad(w):
        return A @ np.asarray(w, dtype=np.float64)

    surface = Surface(f"quadratic, condition number {condition:g}", f, grad, (-2.5, 2.5), (-2.5, 2.5),
                      np.zeros(2))
    object.__setattr__(surface, "A", A)
    return surface


def saddle() -> Surface:
    """``f(w) = w0**2 - w1**2 + 0.25 * w1**4``: a saddle at the origin, minima at ``(0, +-sqrt 2)``.

    Plain gradient descent started on the ridge (``w1`` tiny) lingers near the saddle point.
    """
    def f(w):
        w0, w1 = w
        return float(w0 ** 2 - w1 ** 2 + 0.25 * w1 ** 4)

    def grad(w):
        w0, w1 = w
        return np.array([2 * w0, -2 * w1 + w1 ** 3], dtype=np.float64)

    return Surface("saddle", f, grad, (-2.0, 2.0), (-2.2, 2.2), np.array([0.0, np.sqrt(2.0)]))
