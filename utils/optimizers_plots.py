"""Helpers for notebook 06 (optimizers): run an update rule on a 2-D test surface and draw its path.

    path, losses = run_on_surface(adam, surface, w0, steps=100, config={"lr": 0.1})
    plot_paths(surface, {"Adam": path}, ax=ax, title="Adam")

``update`` follows the course's optimizer interface, ``update(w, dw, config) -> (next_w, config)``;
``surface`` is a :class:`datasets.Surface` (``f``, ``grad``, ``grid()``, ``xlim``, ``ylim``).
"""
from __future__ import annotations

import copy
from typing import Callable, Mapping

import numpy as np


def run_on_surface(update: Callable, surface, w0, steps: int, config: dict | None = None,
                   record: Callable[[dict], float] | None = None):
    """Take ``steps`` updates from ``w0`` on ``surface``, feeding each returned config back in.

    Returns ``(path, losses)``: ``path`` of shape (steps + 1, 2) (``w0`` first) and ``losses`` of shape
    (steps + 1,). With ``record``, also returns a list of ``record(config)`` after every step (for
    example the effective step size read from the optimizer's state). ``config`` is copied first, so
    the caller's dict is left as it was.
    """
    w = np.array(w0, dtype=np.float64)
    config = copy.deepcopy(config) if config is not None else None
    path, losses, recorded = [w.copy()], [surface.f(w)], []
    for _ in range(steps):
        w, config = update(w, surface.grad(w), config)
        path.append(np.array(w, dtype=np.float64))
        losses.append(surface.f(w))
        if record is not None:
            recorded.append(record(config))
    out = (np.array(path), np.array(losses))
    return out + (recorded,) if record is not None else out


def plot_paths(surface, paths: Mapping[str, np.ndarray], ax=None, title: str | None = None,
               levels: int | np.ndarray = 20, resolution: int = 100, log_levels: bool = True):
    """Draw the loss contours of ``surface`` and each named path (an (n, 2) array) on top of them.

    ``log_levels`` spaces the contour levels geometrically above the lowest value of the window, so
    that a narrow valley shows many contour lines; paths are clipped to the window by the axis limits.
    """
    import matplotlib.pyplot as plt  # lazily, so that importing this module needs no display

    ax = ax or plt.gca()
    X, Y, Z = surface.grid(resolution)
    if np.ndim(levels) == 0:
        lo, hi = float(Z.min()), float(Z.max())
        levels = (lo + np.geomspace(1e-4, 1.0, int(levels)) * (hi - lo) if log_levels
                  else np.linspace(lo, hi, int(levels)))
    ax.contour(X, Y, Z, levels=levels, colors="0.65", linewidths=0.7)
    for name, path in paths.items():
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], ".-", markersize=3, linewidth=1.2, label=name)
        ax.plot(path[-1, 0], path[-1, 1], "o", markersize=5, color=ax.lines[-1].get_color())
    if paths:
        start = np.asarray(next(iter(paths.values())))[0]
        ax.plot(start[0], start[1], "k*", markersize=10, label="start")
    if surface.minimum is not None:
        ax.plot(*surface.minimum, "kx", markersize=8)
    ax.set_xlim(*surface.xlim)
    ax.set_ylim(*surface.ylim)
    ax.set_xlabel("$w_0$")
    ax.set_ylabel("$w_1$")
    ax.set_title(title or surface.name)
    return ax
