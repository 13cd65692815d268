"""Hidden cases of notebook 04_weight_init (never in the student release).

``CASES``: for each exercise with visible cases, the visible kinds of input (drawn by the helpers of
``graders.weight_init``, in the same order) plus more: initializer shapes (1, 1), (64, 10) and
(10, 100); networks of 10 ReLU layers of width 40, of one example, and through a bottleneck.

``CRITERIA``: the inputs of the checks' other parts, drawn with the hidden seed in force
(``graders.fixtures.HIDDEN_SEED``, or another inside ``hidden_seed(...)``):
- ``large_draws()``: ``(base seed, shapes)`` of the statistical and determinism tests of the
  initializers: the visible shape (250, 800) plus (1000, 150) and (600, 600);
- ``abs_network()``: ``(X, gains)`` of the closed-form network of ``check_layer_activation_stats``, with
  two more layers (gains 0.1 and 7).
"""
from __future__ import annotations

import numpy as np

from graders import fixtures
from graders.checking import Case
from graders.weight_init import INIT_SHAPES, SMALL_SCALES, _abs_network, _init_cases, _net, _stats_cases


def _seed() -> int:
    """The hidden seed in force (HIDDEN_SEED unless a test overrides it)."""
    return int(fixtures.current_hidden_seed())


# ---------------------------------------------------------------- hidden cases
SHAPES = INIT_SHAPES + [(1, 1), (64, 10), (10, 100)]


def _stats(rng: np.random.Generator) -> list[Case]:
    return _stats_cases(rng) + [
        Case("relu, 10 layers of width 40, N=30, He-scaled",
             {"X": rng.standard_normal((30, 40)), "weights": _net(rng, [40] * 11, np.sqrt(2)), "activation": "relu"}),
        Case("tanh, one example (N=1), widths 4 -> 9 -> 2",
             {"X": rng.standard_normal((1, 4)), "weights": _net(rng, [4, 9, 2]), "activation": "tanh"}),
        Case("relu through a bottleneck, widths 20 -> 2 -> 20 -> 5",
             {"X": rng.standard_normal((12, 20)), "weights": _net(rng, [20, 2, 20, 5], 3.0), "activation": "relu"}),
    ]


CASES = {
    "init_small_random": lambda rng: _init_cases(rng, scales=SMALL_SCALES, shapes=SHAPES),
    "init_xavier": lambda rng: _init_cases(rng, shapes=SHAPES),
    "init_he": lambda rng: _init_cases(rng, shapes=SHAPES),
    "layer_activation_stats": _stats,
}


# ---------------------------------------------------------------- inputs of the other parts of the checks
def large_draws() -> tuple[int, list[tuple[int, int]]]:
    return _seed(), [(250, 800), (1000, 150), (600, 600)]


def abs_network() -> tuple[np.ndarray, list[float]]:
    return _abs_network(np.random.default_rng(_seed()), gains=(2.0, 0.5, 3.0, 0.1, 7.0))


CRITERIA = {
    "large_draws": large_draws,
    "abs_network": abs_network,
}
