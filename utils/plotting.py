"""Plotting helpers the notebooks share (matplotlib only)."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np


def _plt():
    import matplotlib.pyplot as plt  # imported lazily so that tests need no display
    return plt


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray,
                           ax=None, resolution: int = 200, title: str | None = None):
    """Colour the plane by ``predict`` (class labels for an (M, 2) grid) and scatter ``X`` by ``y``."""
    plt = _plt()
    ax = ax or plt.gca()
    pad = 0.5
    x0 = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, resolution)
    x1 = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, resolution)
    g0, g1 = np.meshgrid(x0, x1)
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    labels = np.asarray(predict(grid)).reshape(g0.shape)
    n_classes = int(max(labels.max(), y.max())) + 1
    ax.contourf(g0, g1, labels, levels=np.arange(n_classes + 1) - 0.5, cmap="tab10", alpha=0.25,
                vmin=-0.5, vmax=9.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="tab10", vmin=-0.5, vmax=9.5, s=12, edgecolors="k",
               linewidths=0.3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def plot_curves(curves: Mapping[str, Sequence[float]], ax=None, xlabel: str = "iteration",
                ylabel: str = "loss", logy: bool = False, title: str | None = None):
    """Plot named curves (e.g. ``{"train": [...], "val": [...]}``) on one axis with a legend."""
    plt = _plt()
    ax = ax or plt.gca()
    for name, values in curves.items():
        ax.plot(np.arange(len(values)), values, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_matrix(M: np.ndarray, ax=None, title: str | None = None, cmap: str = "RdBu_r",
                labels: Sequence[str] | None = None):
    """Show a matrix with a symmetric colour scale and its values written in each cell."""
    plt = _plt()
    ax = ax or plt.gca()
    M = np.asarray(M, dtype=float)
    vmax = float(np.abs(M).max()) or 1.0
    im = ax.imshow(M, cmap=cmap, vmin=-vmax, vmax=vmax)
    if M.shape[0] * M.shape[1] <= 100:
        for (i, j), v in np.ndenumerate(M):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
    if title:
        ax.set_title(title)
    plt.colorbar(im, ax=ax, fraction=0.046)
    return ax
