"""Checks for notebook 04_weight_init: the initializers (small random, Xavier, He) and the per-layer
activation statistics of a deep network.

Each initializer is checked four ways:
- on small fixed cases (``fixtures/weight_init.json``): shape (fan_in, fan_out), float64, finite, the
  given generator advanced, the global ``np.random`` state untouched, and the values equal (to 1e-10)
  to the reference drawn from a copy of the same generator (the docstring fixes how to draw:
  ``rng.standard_normal((fan_in, fan_out))`` times the std);
- statistically on a large draw: the sample std, mean and kurtosis against the analytic values, with
  tolerances of many standard errors (see ``_statistics``), and a hint naming the likely mistake when the
  std matches a known wrong formula;
- for determinism: the same seed gives the same weights, another seed different weights.

``check_layer_activation_stats`` compares with the reference on fixed networks, checks consistency
between the string and the callable form of the activation, that a callable activation is called once
per layer on the whole array (the notebook's experiment records the layers that way), and uses a
network whose statistics are known in closed form (diagonal weights and ``np.abs``).

Called with no options a check uses the visible inputs (those above, reference outputs from
``fixtures/weight_init.json``); hidden tests call it with ``hidden=True``, which adds edge cases, larger
networks, more large draws and other seeds that are not part of this package (they come from the grader).
"""
from __future__ import annotations

import copy

import numpy as np

from .checking import Case, call, expect_array, expect_close, expect_tuple, fail, plain, reporting
from .fixtures import cases, hidden_criterion

TOPIC = "weight_init"
EXACT_RTOL = 1e-10   # same generator, same draw: only the order of one multiplication can differ (~1e-16)
STATS_RTOL = 1e-7    # float64 means/stds of a few hundred numbers agree to ~1e-15 whatever the summation order
STATS_ATOL = 1e-12

HINTS = {
    "init_small_random": "One line: draw rng.standard_normal((fan_in, fan_out)) and multiply it by scale.",
    "layer_activation_stats": "Turn a string into a function first (np.tanh, or lambda z: np.maximum(z, 0)); then "
                              "loop over the weights with h = f(h @ W) and store h.mean() and h.std() in two "
                              "arrays of length L.",
    "small_init_factor": "Use Var(z) = fan_in * Var(w) * E[x^2] from the text, and remember the question asks "
                         "about the standard deviation, not the variance.",
    "init_xavier": "Draw rng.standard_normal((fan_in, fan_out)) and divide by np.sqrt(fan_in): rows are inputs, "
                   "so fan_in is the first dimension.",
    "init_he": "Like init_xavier, but the variance is 2 / fan_in: multiply the standard normal draw by "
               "np.sqrt(2 / fan_in).",
    "xavier_relu_factor": "With Xavier fan_in * Var(w) = 1, and ReLU keeps only half of E[z^2]: by what does "
                          "the variance get multiplied per layer, and so the std?",
    "zero_init_trainable": "Follow the backward pass with h = 0 and W2 = 0: which gradients are products with "
                           "h or with W2, and which one is not?",
    "zero_init_loss": "Every input gets the same scores b2; with balanced classes the best constant prediction "
                      "is uniform. What is the cross-entropy of a uniform prediction over 3 classes?",
}


# ---------------------------------------------------------------- visible case generators
def _child(rng: np.random.Generator) -> np.random.Generator:
    """A fresh generator (stored in the fixture with its state) for one case."""
    return np.random.default_rng(int(rng.integers(2 ** 31)))


# fan_in != fan_out everywhere, so that a transposed result or fan_out in place of fan_in shows
INIT_SHAPES = [(3, 5), (6, 2), (1, 4)]


def _init_cases(rng: np.random.Generator, scales=(), shapes=INIT_SHAPES) -> list[Case]:
    """One case with a fresh generator per shape ``(fan_in, fan_out)``, then one per ``scale``."""
    out = [Case(f"fan_in={fi}, fan_out={fo}, a fresh generator", {"fan_in": fi, "fan_out": fo, "rng": _child(rng)})
            for fi, fo in shapes]
    for scale in scales:
        out.append(Case(f"fan_in=4, fan_out=3, scale={scale}", {"fan_in": 4, "fan_out": 3, "rng": _child(rng)},
                        kwargs={"scale": scale}))
    return out


def _net(rng: np.random.Generator, dims, gain: float = 1.0) -> list[np.ndarray]:
    """Weights for widths dims[0] -> dims[1] -> ...; std gain / sqrt(fan_in)."""
    return [gain * rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(dims[:-1], dims[1:])]


def _stats_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("tanh, N=8 inputs through widths 5 -> 4 -> 6 -> 3 (L=3)",
             {"X": rng.standard_normal((8, 5)), "weights": _net(rng, [5, 4, 6, 3]), "activation": "tanh"}),
        Case("relu, N=8 inputs through widths 5 -> 4 -> 6 -> 3 (L=3)",
             {"X": rng.standard_normal((8, 5)), "weights": _net(rng, [5, 4, 6, 3], 1.5), "activation": "relu"}),
        Case("tanh with large weights (pre-activations with std ~4: tanh saturates), widths 6 -> 6 -> 6",
             {"X": rng.standard_normal((10, 6)), "weights": _net(rng, [6, 6, 6], 4.0), "activation": "tanh"}),
        Case("relu, a single layer (L=1), widths 3 -> 7",
             {"X": rng.standard_normal((5, 3)), "weights": _net(rng, [3, 7], 2.0), "activation": "relu"}),
    ]


SMALL_SCALES = (0.5, 3.0)

CASES = {
    "init_small_random": lambda rng: _init_cases(rng, scales=SMALL_SCALES),
    "init_xavier": _init_cases,
    "init_he": _init_cases,
    "layer_activation_stats": _stats_cases,
}


# ---------------------------------------------------------------- the initializer checks
def _global_state():
    return np.random.get_state()


def _same_global_state(a, b) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:])


_USE_RNG = ("draw with the generator you are given, `rng.standard_normal((fan_in, fan_out))`, and "
            "never with np.random.randn / np.random.normal / a new np.random.default_rng().")


def _call_init(f, name: str, case: Case) -> np.ndarray:
    """Call an initializer on one case; check shape, dtype, rng use and the global state."""
    fan_in, fan_out = case.args["fan_in"], case.args["fan_out"]
    rng = case.args["rng"]
    rng_before = copy.deepcopy(rng.bit_generator.state)
    global_before = _global_state()
    W = call(f, name, case)
    if not _same_global_state(global_before, _global_state()):
        fail(f"{name} changed the global random state of np.random: it drew (or seeded) numbers with "
             "np.random.* instead of the generator `rng` it was given.", case, _USE_RNG)
    if isinstance(W, np.ndarray) and fan_in != fan_out and W.shape == (fan_out, fan_in):
        fail(f"{name} returned shape {W.shape}, the transpose of (fan_in, fan_out) = {(fan_in, fan_out)}.",
             case, "W multiplies a batch h of shape (N, fan_in) as h @ W, so it has fan_in rows.")
    W = expect_array(W, f"{name}(fan_in={fan_in}, fan_out={fan_out}, rng)", case, shape=(fan_in, fan_out))
    if W.dtype != np.float64:
        fail(f"{name} should return float64 weights, but their dtype is {W.dtype}.", case,
             "rng.standard_normal returns float64; do not convert the result.")
    if rng.bit_generator.state == rng_before:
        fail(f"{name} did not draw anything from the generator `rng` it was given (its state did not change).",
             case, _USE_RNG)
    return W


def _statistics(f, name: str, std: float, fan_in: int, fan_out: int, seed: int, kwargs: dict,
                mistakes: dict[str, float]) -> None:
    """Compare the sample statistics of one large draw with the analytic ones.

    With n = fan_in * fan_out independent N(0, std^2) draws, the standard errors are:
    sample std: std / sqrt(2n) (relative 1/sqrt(2n)); sample mean: std / sqrt(n); sample kurtosis
    m4 / m2^2: sqrt(24 / n). The shapes used have n >= 150,000, so the allowed errors (2% of the std for
    the std, 2.5% of the std for the mean, 0.2 for the kurtosis) are more than 9 standard errors each: the
    chance that a correct initializer fails is below 1e-18 for any seed (and each seed is fixed, so a
    result never changes between runs). On the visible shape (250, 800) every wrong formula in the hints
    is at least 20% away from the right std, so none of them can pass.
    """
    n = fan_in * fan_out
    case = Case(f"a large draw: fan_in={fan_in}, fan_out={fan_out} ({n} weights), np.random.default_rng({seed})",
                {"fan_in": fan_in, "fan_out": fan_out, "rng": np.random.default_rng(seed)}, kwargs=dict(kwargs))
    W = _call_init(f, name, case).ravel()
    with np.errstate(all="ignore"):  # absurd weights (say 1e200) must fail with a message, not warn
        mean, s = float(W.mean()), float(W.std())
        kurt = float(np.mean((W - mean) ** 4) / s ** 4) if s > 0 else float("nan")
    if not abs(s - std) <= 0.02 * std:
        hint = None
        for description, wrong_std in mistakes.items():
            if abs(s - wrong_std) <= 0.02 * wrong_std:
                hint = f"your std matches {description}."
                break
        if hint is None and abs(kurt - 1.8) < 0.2:
            hint = (f"the weights look uniformly distributed (kurtosis {kurt:.2f}; a uniform has 1.8, a "
                    "Gaussian 3), and a uniform on [-a, a] has std a / sqrt(3), not a. Draw "
                    "rng.standard_normal((fan_in, fan_out)) and multiply by the std.")
        fail(f"the weights from {name} should have standard deviation {std:.6g}, but their sample std is "
             f"{s:.6g} (ratio {s / std:.4f}; allowed: within 2%, more than 10 standard errors for {n} draws).",
             case, hint)
    if not abs(mean) <= 0.025 * std:
        fail(f"the weights from {name} should have mean 0, but their sample mean is {mean:.4g} "
             f"(the std should be {std:.4g}; allowed |mean| <= {0.025 * std:.3g}, more than 9 standard errors).",
             case, "draw from a distribution centred at 0: rng.standard_normal, not rng.random (which is in [0, 1)).")
    if not abs(kurt - 3.0) <= 0.2:
        fail(f"the weights from {name} should be Gaussian (kurtosis 3), but their sample kurtosis is "
             f"{kurt:.3f} (allowed: 3 +- 0.2, more than 15 standard errors for {n} draws).", case,
             "a uniform distribution has kurtosis 1.8: draw rng.standard_normal((fan_in, fan_out)) and "
             "multiply by the std.")


def _determinism(f, name: str, seed: int, kwargs: dict) -> None:
    """Same seed: the same weights. Another seed: other weights."""
    draws = []
    for s in (seed, seed, seed + 1):
        case = Case(f"fan_in=7, fan_out=5, np.random.default_rng({s})",
                    {"fan_in": 7, "fan_out": 5, "rng": np.random.default_rng(s)}, kwargs=dict(kwargs))
        draws.append((case, _call_init(f, name, case)))
    (c1, a), (_, b), (c3, c) = draws
    if not np.array_equal(a, b):
        fail(f"{name} returned different weights for two generators with the same seed {seed}: it is not "
             "reproducible.", c1, _USE_RNG)
    if np.array_equal(a, c):
        fail(f"{name} returned the same weights for generators seeded {seed} and {seed + 1}: it ignores "
             "the generator it is given.", c3, _USE_RNG)


def _check_initializer(f, name: str, std_of, mistakes_of, hidden: bool) -> None:
    fixed = cases(TOPIC, name, hidden)
    results = [_call_init(f, name, case) for case in fixed]
    # the large draws: seeds base + 10 k for the k-th shape, base + 100 for the determinism test
    base, shapes = hidden_criterion(TOPIC, "large_draws")() if hidden else (1, [(250, 800)])
    kwarg_sets = [{}] + ([{"scale": 0.3}] if name == "init_small_random" else [])
    for k, (fan_in, fan_out) in enumerate(shapes):
        for kwargs in kwarg_sets:
            _statistics(f, name, std_of(fan_in, fan_out, **kwargs), fan_in, fan_out, base + 10 * k, kwargs,
                        mistakes_of(fan_in, fan_out, **kwargs))
    for kwargs in kwarg_sets:
        _determinism(f, name, base + 100, kwargs)
    for case, W in zip(fixed, results):
        expect_close(W, case.expected, f"{name}(fan_in={case.args['fan_in']}, fan_out={case.args['fan_out']}, rng)",
                     case, rtol=EXACT_RTOL, atol=0.0,
                     hint="your weights have the right statistics but are not the numbers the docstring asks "
                          "for: draw once, rng.standard_normal((fan_in, fan_out)), and multiply by the std.")


def _common_mistakes(fan_in: int, fan_out: int) -> dict[str, float]:
    return {
        "1/sqrt(fan_in) (Xavier)": 1 / np.sqrt(fan_in),
        "sqrt(2/fan_in) (He)": np.sqrt(2 / fan_in),
        "1/sqrt(fan_out): fan_out is used where fan_in belongs": 1 / np.sqrt(fan_out),
        "sqrt(2/fan_out): fan_out is used where fan_in belongs": np.sqrt(2 / fan_out),
        "sqrt(2/(fan_in + fan_out)), Glorot's compromise, not the fan-in version asked for here":
            np.sqrt(2 / (fan_in + fan_out)),
        "0.01, the default scale of init_small_random": 0.01,
        "1 (a plain standard normal: nothing was scaled)": 1.0,
    }


def _mistakes_small(fan_in, fan_out, scale=0.01):
    out = {f"the default scale 0.01: the scale argument ({scale}) is ignored": 0.01,
           f"sqrt(scale) = {np.sqrt(scale):.4g}: scale is the std, not the variance": np.sqrt(scale),
           f"scale**2 = {scale ** 2:.4g}: scale is the std itself, do not square it": scale ** 2,
           f"scale / sqrt(3): a uniform on [-scale, scale], which has std scale / sqrt(3)": scale / np.sqrt(3)}
    return {k: v for k, v in out.items() if not np.isclose(v, scale, rtol=0.05)}


def _mistakes_xavier(fan_in, fan_out):
    # the specific mistakes first: the first formula that matches names the hint
    out = {"sqrt(2/fan_in), He's std, which is for ReLU layers": np.sqrt(2 / fan_in),
           "1/fan_in: that is the variance; the std is its square root": 1 / fan_in,
           "1/sqrt(3 fan_in): a uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)] has std 1/sqrt(3 fan_in)":
               1 / np.sqrt(3 * fan_in)}
    common = _common_mistakes(fan_in, fan_out)
    del common["1/sqrt(fan_in) (Xavier)"], common["sqrt(2/fan_in) (He)"]
    return {**out, **common}


def _mistakes_he(fan_in, fan_out):
    # the specific mistakes first: the first formula that matches names the hint
    out = {"1/sqrt(fan_in), the Xavier std: the ReLU factor 2 is missing (Var(w) = 2/fan_in)": 1 / np.sqrt(fan_in),
           "2/sqrt(fan_in): the 2 belongs inside the square root": 2 / np.sqrt(fan_in),
           "2/fan_in: that is the variance; the std is its square root": 2 / fan_in,
           "sqrt(2/(3 fan_in)): a uniform on [-sqrt(2/fan_in), sqrt(2/fan_in)] has a std sqrt(3) times smaller":
               np.sqrt(2 / (3 * fan_in))}
    common = _common_mistakes(fan_in, fan_out)
    del common["1/sqrt(fan_in) (Xavier)"], common["sqrt(2/fan_in) (He)"]
    return {**out, **common}


@reporting("shape (fan_in, fan_out), float64, std = scale within 2% on a large draw, Gaussian, drawn only from rng, "
           "reproducible, equal to the reference for the same generator")
def check_init_small_random(init_small_random, *, hidden=False):
    """Check ``init_small_random(fan_in, fan_out, rng, scale=0.01) -> W`` of shape (fan_in, fan_out)."""
    _check_initializer(init_small_random, "init_small_random", lambda fi, fo, scale=0.01: scale,
                       _mistakes_small, hidden)


@reporting("shape (fan_in, fan_out), float64, std = 1/sqrt(fan_in) within 2% on a large draw, Gaussian, drawn only "
           "from rng, reproducible, equal to the reference for the same generator")
def check_init_xavier(init_xavier, *, hidden=False):
    """Check ``init_xavier(fan_in, fan_out, rng) -> W``, std 1/sqrt(fan_in)."""
    _check_initializer(init_xavier, "init_xavier", lambda fi, fo: 1 / np.sqrt(fi), _mistakes_xavier, hidden)


@reporting("shape (fan_in, fan_out), float64, std = sqrt(2/fan_in) within 2% on a large draw, Gaussian, drawn only "
           "from rng, reproducible, equal to the reference for the same generator")
def check_init_he(init_he, *, hidden=False):
    """Check ``init_he(fan_in, fan_out, rng) -> W``, std sqrt(2/fan_in)."""
    _check_initializer(init_he, "init_he", lambda fi, fo: np.sqrt(2 / fi), _mistakes_he, hidden)


# ---------------------------------------------------------------- layer_activation_stats
def _stats_result(out, case: Case, L: int, what: str):
    out = expect_tuple(out, ("means", "stds"), what, case,
                       "return two arrays of shape (L,), `return means, stds`, not one (mean, std) pair per layer."
                       if isinstance(out, (tuple, list)) and len(out) == L else None)
    arrays = []
    for part, value in zip(("means", "stds"), out):
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.shape[0] == L + 1:
            fail(f"{what} returned {part} of shape {value.shape}, one entry too many for the {L} layers: the "
                 "input X is not a layer; measure h_1, ..., h_L only.", case)
        if isinstance(value, list):
            fail(f"{what} returned {part} as a list; return a numpy array of shape ({L},).", case,
                 "collect the values in np.zeros(L) (or wrap the list in np.array).")
        arrays.append(expect_array(value, f"{part} returned by {what}", case, shape=(L,)))
    return arrays


def _stats_hint(means, stds, exp_means, exp_stds, activation, n_entries) -> str | None:
    if np.allclose(means, exp_stds, rtol=1e-6) and np.allclose(stds, exp_means, rtol=1e-6):
        return "means and stds are swapped: return (means, stds) in that order."
    if activation == "relu" and np.any(means < 0):
        return ("a ReLU output is never negative, so its mean cannot be: apply ReLU (np.maximum(z, 0)) at "
                "every layer and measure h_l after it, not the pre-activation h_{l-1} @ W_l.")
    if activation == "tanh" and np.all(means >= 0) and np.any(exp_means < 0):
        return ("tanh outputs can be negative, yet every mean you report is >= 0: is ReLU applied where "
                "activation='tanh' asks for np.tanh, or are you averaging |h| instead of h?")
    if activation == "tanh" and np.any(stds > 1):
        return ("a tanh output lies in (-1, 1), so its std is at most 1: measure h_l after the activation, "
                "not the pre-activation h_{l-1} @ W_l.")
    if np.allclose(means, exp_means, rtol=1e-6, atol=1e-12) and n_entries is not None:
        corrected = exp_stds * np.sqrt(n_entries / np.maximum(n_entries - 1, 1))
        if np.allclose(stds, corrected, rtol=1e-6):
            return "use the population std (np.std with its default ddof=0), not ddof=1."
        return ("the means are right but the stds are not: take the std of all N * D entries of the layer "
                "together (h.std()), not per unit or per example.")
    if len(means) > 1 and np.isclose(means[0], exp_means[0], rtol=1e-6) and np.isclose(stds[0], exp_stds[0], rtol=1e-6):
        return ("layer 1 is right but later layers are not: each layer multiplies the previous layer's "
                "activation, h_{l+1} = activation(h_l @ W_l), not its pre-activation.")
    if np.all(stds >= exp_stds * (1 + 1e-6)):
        # tanh and ReLU are 1-Lipschitz, so std(f(z)) <= std(z): stds above the right ones everywhere
        # are what the pre-activations give
        return ("every std is larger than it should be, as happens when the pre-activation h_{l-1} @ W_l is "
                "measured: tanh and ReLU can only shrink the spread. Measure h_l after the activation.")
    return None


def _abs_network(rng: np.random.Generator, gains=(2.0, 0.5, 3.0)) -> tuple[np.ndarray, list[float]]:
    """The input X (6, 4) and the gains c_l of the closed-form network of check_layer_activation_stats."""
    return rng.standard_normal((6, 4)), list(gains)


@reporting("a tuple of two float arrays of shape (L,), within 1e-7 of the reference, measured after the activation, "
           "callables and strings agree, inputs untouched")
def check_layer_activation_stats(layer_activation_stats, *, hidden=False):
    """Check ``layer_activation_stats(X, weights, activation) -> (means, stds)``, each of shape (L,)."""
    name = "layer_activation_stats"
    fixed = cases(TOPIC, name, hidden)
    for case in fixed:
        X, weights, activation = case.args["X"], case.args["weights"], case.args["activation"]
        L = len(weights)
        means, stds = _stats_result(call(layer_activation_stats, name, case), case, L, name)
        exp_means, exp_stds = (plain(v) for v in case.expected)
        sizes = np.array([X.shape[0] * W.shape[1] for W in weights], dtype=float)
        hint = _stats_hint(means, stds, exp_means, exp_stds, activation, sizes)
        expect_close(means, exp_means, f"means returned by {name}", case, STATS_RTOL, STATS_ATOL, hint)
        expect_close(stds, exp_stds, f"stds returned by {name}", case, STATS_RTOL, STATS_ATOL, hint)
        # the same network with the activation passed as a function must give the same numbers
        f = np.tanh if activation == "tanh" else (lambda z: np.maximum(z, 0.0))
        f_name = "np.tanh" if activation == "tanh" else "lambda z: np.maximum(z, 0.0)"
        alt = Case(case.label + f", with activation={f_name} (a callable) instead of {activation!r}",
                   {"X": X, "weights": weights, "activation": f})
        alt_means, alt_stds = _stats_result(call(layer_activation_stats, name, alt), alt, L, name)
        callable_hint = "when activation is not a string, apply it as a function: h = activation(h @ W)."
        expect_close(alt_means, means, f"means with activation={f_name}", alt, STATS_RTOL, STATS_ATOL, callable_hint)
        expect_close(alt_stds, stds, f"stds with activation={f_name}", alt, STATS_RTOL, STATS_ATOL, callable_hint)

    # a callable activation is called once per layer, in order, on the whole (N, D_{l+1}) array (the
    # notebook's experiment relies on that to record each layer's output while measuring it)
    case = fixed[0]
    X, weights = case.args["X"], case.args["weights"]
    seen = []

    def counting_tanh(z):
        """np.tanh, recording the shape of every array it is called on"""
        seen.append(np.shape(z))
        return np.tanh(z)

    rec = Case(case.label + ", activation = np.tanh wrapped to record its calls",
               {"X": X, "weights": weights, "activation": counting_tanh})
    call(layer_activation_stats, name, rec)
    want = [(X.shape[0], W.shape[1]) for W in weights]
    if seen != want:
        fail(f"{name} should call a callable activation exactly once per layer, on the whole pre-activation "
             f"array: expected calls on arrays of shapes {want}, but it was called {len(seen)} times, on "
             f"shapes {seen[:12]}{' ...' if len(seen) > 12 else ''}.", rec,
             "compute z = h @ W once per layer and then h = activation(z); reuse h for the mean and the std.")

    # a network with a closed-form answer: diagonal weights c_l * I and activation |.|, so that
    # h_l = (c_1 ... c_l) |X| for positive c_l; mean and std scale with the running product
    X, gains = hidden_criterion(TOPIC, "abs_network")() if hidden else _abs_network(np.random.default_rng(11))
    weights = [c * np.eye(4) for c in gains]
    case = Case("activation=np.abs (a callable) with weights c * identity for c = " + ", ".join(map(str, gains)),
                {"X": X, "weights": weights, "activation": np.abs})
    means, stds = _stats_result(call(layer_activation_stats, name, case), case, len(gains), name)
    running = np.cumprod(gains)
    hint = ("apply the callable to every layer's pre-activation and measure the result; here h_l = "
            "(c_1 * ... * c_l) * |X| exactly.")
    expect_close(means, running * np.abs(X).mean(), f"means returned by {name}", case, STATS_RTOL, STATS_ATOL, hint)
    expect_close(stds, running * np.abs(X).std(), f"stds returned by {name}", case, STATS_RTOL, STATS_ATOL, hint)
