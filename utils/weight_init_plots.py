"""Pictures of what a deep network does to its activations, layer by layer (notebook 04 and later).

``plot_layer_histograms`` overlays one histogram per layer on one axis (light = first layer, dark =
last), in the style of makemore's activation diagnostics; ``plot_layer_stats`` draws a per-layer
statistic (for example the std from ``layer_activation_stats``) for several runs on a log scale.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


def _plt():
    import matplotlib.pyplot as plt  # imported lazily so that tests need no display
    return plt


def plot_layer_histograms(activations: Sequence[np.ndarray], ax=None, log: bool = False, bins: int = 60,
                          title: str | None = None, legend: bool = False):
    """Overlay the histograms of several layers' activations, one line per layer.

    Inputs:
    - activations: list of arrays, activations[l] holds every activation of layer l + 1 (any shape)
    - log: if True, histogram log10(h) of the positive entries only (for ReLU activations spanning many
      orders of magnitude; the legend gives the fraction of exact zeros); else the values themselves
    - bins: number of bins, shared by all layers so that the lines are comparable
    - legend: label every line (slow to draw in a grid of many panels); otherwise the colour alone says
      the depth: light = layer 1, dark = the last layer
    The y axis is the fraction of a layer's (plotted) entries per bin, so a spike reaches 1.
    """
    plt = _plt()
    ax = ax or plt.gca()
    values = []
    for h in activations:
        h = np.asarray(h, dtype=np.float64).ravel()
        values.append(np.log10(h[h > 0]) if log else h)
    finite = [v[np.isfinite(v)] for v in values]
    lo = min((v.min() for v in finite if v.size), default=-1.0)
    hi = max((v.max() for v in finite if v.size), default=1.0)
    if hi - lo < 1e-12:                       # every value equal: give the bins some width
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    colours = plt.get_cmap("viridis_r")(np.linspace(0.15, 1.0, max(len(values), 1)))
    for l, (v, c) in enumerate(zip(finite, colours)):
        counts, _ = np.histogram(v, bins=edges)
        frac = counts / max(v.size, 1)
        label = f"layer {l + 1}"
        if log:
            zeros = 1.0 - v.size / max(np.asarray(activations[l]).size, 1)
            label += f" ({zeros:.0%} zeros)"
        ax.plot(centres, frac, color=c, lw=1.2, label=label)
    ax.set_xlabel("log10 of the positive activations" if log else "activation value")
    ax.set_ylabel("fraction of entries per bin")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize=6, ncol=2)
    return ax


def plot_layer_stats(stats: Mapping[str, Sequence[float]], ax=None, ylabel: str = "std of the activations",
                     logy: bool = True, title: str | None = None):
    """Plot a per-layer statistic for several runs: ``{"Xavier": stds, ...}``, layer 1 at x = 1."""
    plt = _plt()
    ax = ax or plt.gca()
    for name, values in stats.items():
        values = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=name)
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
