"""Pictures for notebook 08 (hyperparameter search): trials with their marginal projections, and
search rounds on log axes. matplotlib only; every function draws and returns its axes."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def _plt():
    import matplotlib.pyplot as plt  # imported lazily so that tests need no display
    return plt


def plot_trials_with_marginals(points: np.ndarray, f_x: Callable, f_y: Callable, fig=None, spec=None,
                               title: str = "", color: str = "C3"):
    """Bergstra and Bengio's picture: trials in the unit square of an objective ``f_x(x) + f_y(y)``.

    - points: (T, 2) array of trial coordinates (x, y) in [0, 1]^2
    - f_x, f_y: vectorised functions of one coordinate; f_x is drawn above the square (the important
      parameter), f_y to its right (the unimportant one), each with the trials projected onto it
    - fig, spec: the figure and a ``SubplotSpec`` to draw into (default: a new figure)
    Returns the three axes ``(ax_main, ax_top, ax_right)``.
    """
    plt = _plt()
    fig = fig or plt.figure(figsize=(5, 5))
    outer = spec if spec is not None else fig.add_gridspec(1, 1)[0]
    gs = outer.subgridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), wspace=0.08, hspace=0.08)
    ax_main = fig.add_subplot(gs[1, 0])
    ax_top = fig.add_subplot(gs[0, 0], sharex=ax_main)
    ax_right = fig.add_subplot(gs[1, 1], sharey=ax_main)
    t = np.linspace(0.0, 1.0, 300)
    gx, gy = np.meshgrid(t, t)
    ax_main.imshow(f_x(gx) + f_y(gy), origin="lower", extent=(0, 1, 0, 1), aspect="auto", cmap="Greys",
                   alpha=0.6)
    points = np.asarray(points, dtype=float)
    ax_main.scatter(points[:, 0], points[:, 1], c=color, s=40, edgecolors="k", zorder=3)
    ax_main.set_xlabel("x (important parameter)")
    ax_main.set_ylabel("y (unimportant parameter)")
    ax_top.plot(t, f_x(t), color="k", lw=1)
    ax_top.scatter(points[:, 0], f_x(points[:, 0]), c=color, s=25, edgecolors="k", zorder=3)
    ax_top.vlines(points[:, 0], 0, f_x(points[:, 0]), colors=color, lw=0.8)
    ax_top.set_ylabel("$g(x)$")
    ax_top.tick_params(labelbottom=False)
    ax_right.plot(f_y(t), t, color="k", lw=1)
    ax_right.scatter(f_y(points[:, 1]), points[:, 1], c=color, s=25, edgecolors="k", zorder=3)
    ax_right.set_xlabel("$h(y)$")
    span = 1.5 * max(float(np.max(np.abs(f_x(t)))), 1e-12)   # same scale as g: h looks as small as it is
    ax_right.set_xlim(-span / 2, span / 2)
    ax_right.set_xticks([0.0])
    ax_right.tick_params(labelleft=False)
    if title:
        ax_top.set_title(title)
    return ax_main, ax_top, ax_right


def plot_search_rounds(rounds: Sequence[Sequence[tuple]], x: str, y: str, boxes: Sequence[tuple] = (),
                       ax=None, title: str | None = None):
    """Scatter the trials of several search rounds in the (x, y) plane of two log-scale parameters.

    - rounds: one list of ``(score, config)`` pairs per round (what random_search returns)
    - x, y: the config keys to put on the axes (both drawn on log scales)
    - boxes: ``(x_low, x_high, y_low, y_high)`` rectangles to outline (the refined ranges)
    Marker colour is the score (one shared colour scale), marker shape the round; the best trial of
    each round is circled.
    """
    plt = _plt()
    ax = ax or plt.gca()
    scores = np.array([s for r in rounds for s, _ in r], dtype=float)
    finite = scores[np.isfinite(scores)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    markers = "os^Dv"
    sc = None
    for k, trials in enumerate(rounds):
        xs = [c[x] for _, c in trials]
        ys = [c[y] for _, c in trials]
        sc = ax.scatter(xs, ys, c=[s for s, _ in trials], cmap="viridis", vmin=vmin, vmax=vmax,
                        marker=markers[k % len(markers)], s=45, edgecolors="k", linewidths=0.5)
        ax.scatter([], [], c="lightgray", marker=markers[k % len(markers)], s=45, edgecolors="k",
                   linewidths=0.5, label=f"round {k + 1}")   # a neutral legend entry (colour = score)
        if trials:
            ax.scatter([trials[0][1][x]], [trials[0][1][y]], s=220, facecolors="none", edgecolors="r",
                       linewidths=1.5)
    for x_lo, x_hi, y_lo, y_hi in boxes:
        ax.add_patch(plt.Rectangle((x_lo, y_lo), x_hi - x_lo, y_hi - y_lo, fill=False, ls="--", lw=1.2,
                                   edgecolor="C3"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if title:
        ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    if sc is not None:
        plt.colorbar(sc, ax=ax, label="validation accuracy")
    return ax
