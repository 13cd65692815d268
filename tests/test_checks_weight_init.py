"""The 04_weight_init checks accept the reference and reject every wrong implementation in the bank."""
import numpy as np
import pytest

from graders import reference
from graders import weight_init as checks
from graders import fixtures
from graders.fixtures import hidden_seed
from wrong import assert_rejects, bank_params, reference_and_bank_tests

REF = reference.load("weight_init")


# ---------------------------------------------------------------- wrong initializers
def small_ignores_scale(fan_in, fan_out, rng, scale=0.01):
    return 0.01 * rng.standard_normal((fan_in, fan_out))


def small_global_random(fan_in, fan_out, rng, scale=0.01):
    return scale * np.random.randn(fan_in, fan_out)


def small_transposed(fan_in, fan_out, rng, scale=0.01):
    return scale * rng.standard_normal((fan_out, fan_in))


def small_uniform(fan_in, fan_out, rng, scale=0.01):         # std scale / sqrt(3)
    return rng.uniform(-scale, scale, size=(fan_in, fan_out))


def small_scale_as_variance(fan_in, fan_out, rng, scale=0.01):
    return np.sqrt(scale) * rng.standard_normal((fan_in, fan_out))


def small_fresh_generator(fan_in, fan_out, rng, scale=0.01):  # ignores the rng it is given
    return scale * np.random.default_rng().standard_normal((fan_in, fan_out))


def small_fixed_seed(fan_in, fan_out, rng, scale=0.01):       # reproducible, but not from rng
    return scale * np.random.default_rng(0).standard_normal((fan_in, fan_out))


def small_float32(fan_in, fan_out, rng, scale=0.01):
    return (scale * rng.standard_normal((fan_in, fan_out))).astype(np.float32)


def small_transposed_draw(fan_in, fan_out, rng, scale=0.01):  # right shape and std, other numbers
    return scale * rng.standard_normal((fan_out, fan_in)).T


def small_seeds_global(fan_in, fan_out, rng, scale=0.01):     # draws from rng but reseeds np.random
    np.random.seed(0)
    return scale * rng.standard_normal((fan_in, fan_out))


def xavier_fan_out(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_out)


def xavier_glorot(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform_wrong_variance(fan_in, fan_out, rng):      # std 1 / sqrt(3 fan_in)
    a = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_uniform_right_variance(fan_in, fan_out, rng):      # right std, but not Gaussian
    a = np.sqrt(3.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_global_random(fan_in, fan_out, rng):
    return np.random.randn(fan_in, fan_out) / np.sqrt(fan_in)


def xavier_variance_as_std(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) / fan_in


def xavier_he_std(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def xavier_transposed(fan_in, fan_out, rng):
    return rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)


def xavier_normal_centred_wrongly(fan_in, fan_out, rng):      # rng.random is in [0, 1): mean 0.5
    return (rng.random((fan_in, fan_out)) - 0.0) * np.sqrt(12.0 / fan_in)


def he_missing_factor_2(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)


def he_fan_out(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_out)


def he_uniform_wrong_variance(fan_in, fan_out, rng):
    a = np.sqrt(2.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def he_uniform_right_variance(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def he_global_random(fan_in, fan_out, rng):
    return np.random.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def he_two_outside_sqrt(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * 2.0 / np.sqrt(fan_in)


def he_variance_as_std(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * 2.0 / fan_in


def he_glorot(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / (fan_in + fan_out))


def he_transposed(fan_in, fan_out, rng):
    return rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)


def he_fixed_seed(fan_in, fan_out, rng):
    return np.random.default_rng(42).standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def he_two_draws(fan_in, fan_out, rng):                      # right distribution, not the asked-for numbers
    return (rng.standard_normal((fan_in, fan_out)) + rng.standard_normal((fan_in, fan_out))) / np.sqrt(fan_in)


def he_unscaled(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out))


def he_absurd_scale(fan_in, fan_out, rng):                 # statistics would overflow: must not warn
    return rng.standard_normal((fan_in, fan_out)) * 1e200


def he_constant(fan_in, fan_out, rng):                     # symmetric start (and no draw at all)
    return np.full((fan_in, fan_out), np.sqrt(2.0 / fan_in))


# ---------------------------------------------------------------- wrong layer_activation_stats
def _act(activation):
    if isinstance(activation, str):
        return {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}[activation]
    return activation


def stats_before_activation(X, weights, activation):
    f, h, means, stds = _act(activation), X, [], []
    for W in weights:
        z = h @ W
        means.append(z.mean())
        stds.append(z.std())
        h = f(z)
    return np.array(means), np.array(stds)


def stats_include_input(X, weights, activation):
    f, h = _act(activation), X
    means, stds = [X.mean()], [X.std()]
    for W in weights:
        h = f(h @ W)
        means.append(h.mean())
        stds.append(h.std())
    return np.array(means), np.array(stds)


def stats_ddof_1(X, weights, activation):
    f, h, means, stds = _act(activation), X, [], []
    for W in weights:
        h = f(h @ W)
        means.append(h.mean())
        stds.append(h.std(ddof=1))
    return np.array(means), np.array(stds)


def stats_per_unit_std(X, weights, activation):             # mean over units of each unit's std
    f, h, means, stds = _act(activation), X, [], []
    for W in weights:
        h = f(h @ W)
        means.append(h.mean())
        stds.append(h.std(axis=0).mean())
    return np.array(means), np.array(stds)


def stats_always_tanh(X, weights, activation):
    f, h, means, stds = np.tanh, X, [], []
    for W in weights:
        h = f(h @ W)
        means.append(h.mean())
        stds.append(h.std())
    return np.array(means), np.array(stds)


def stats_strings_swapped(X, weights, activation):
    swap = {"tanh": "relu", "relu": "tanh"}
    return REF.layer_activation_stats(X, weights, swap.get(activation, activation) if isinstance(activation, str)
                                      else activation)


def stats_ignores_callable(X, weights, activation):         # anything but "relu" treated as tanh
    return REF.layer_activation_stats(X, weights, "relu" if activation == "relu" else "tanh")


def stats_pre_activation_forwarded(X, weights, activation):  # measures f(z) but feeds z on
    f, h, means, stds = _act(activation), X, [], []
    for W in weights:
        z = h @ W
        a = f(z)
        means.append(a.mean())
        stds.append(a.std())
        h = z
    return np.array(means), np.array(stds)


def stats_swapped_order(X, weights, activation):
    means, stds = REF.layer_activation_stats(X, weights, activation)
    return stds, means


def stats_returns_lists(X, weights, activation):
    means, stds = REF.layer_activation_stats(X, weights, activation)
    return list(means), list(stds)


def stats_pairs(X, weights, activation):                    # a list of (mean, std) pairs
    means, stds = REF.layer_activation_stats(X, weights, activation)
    return [(m, s) for m, s in zip(means, stds)]


def stats_mean_abs(X, weights, activation):
    f, h, means, stds = _act(activation), X, [], []
    for W in weights:
        h = f(h @ W)
        means.append(np.abs(h).mean())
        stds.append(h.std())
    return np.array(means), np.array(stds)


def stats_last_layer_only(X, weights, activation):
    means, stds = REF.layer_activation_stats(X, weights, activation)
    return means[-1:], stds[-1:]


def stats_mutates_weights(X, weights, activation):
    out = REF.layer_activation_stats(X, weights, activation)
    weights.reverse()
    return out


def stats_mutates_X(X, weights, activation):
    out = REF.layer_activation_stats(X, weights, activation)
    X *= 2.0
    return out


def stats_transposed_weights(X, weights, activation):       # h @ W.T: fails for non-square layers
    f, h, means, stds = _act(activation), X, [], []
    for W in weights:
        h = f(h @ W.T)
        means.append(h.mean())
        stds.append(h.std())
    return np.array(means), np.array(stds)


def stats_activation_called_thrice(X, weights, activation):  # right numbers, but f applied twice per layer
    f, h, means, stds = _act(activation), X, [], []
    for W in weights:
        z = h @ W
        means.append(f(z).mean())
        stds.append(f(z).std())
        h = f(z)
    return np.array(means), np.array(stds)


def stats_activation_row_by_row(X, weights, activation):   # right numbers, f called once per example
    f, h, means, stds = _act(activation), X, [], []
    for W in weights:
        z = h @ W
        h = np.stack([f(row) for row in z])
        means.append(h.mean())
        stds.append(h.std())
    return np.array(means), np.array(stds)


BANK = {
    "check_init_small_random": {
        "ignores the scale argument": small_ignores_scale,
        "uses the global np.random": small_global_random,
        "transposed shape (fan_out, fan_in)": small_transposed,
        "uniform draws (wrong variance)": small_uniform,
        "scale used as the variance": small_scale_as_variance,
        "a fresh unseeded generator instead of rng": small_fresh_generator,
        "a fixed seed instead of rng": small_fixed_seed,
        "float32 weights": small_float32,
        "drawn transposed, then transposed back": small_transposed_draw,
        "reseeds the global np.random": small_seeds_global,
    },
    "check_init_xavier": {
        "fan_out in place of fan_in": xavier_fan_out,
        "Glorot sqrt(2/(fan_in+fan_out)) where plain Xavier is asked": xavier_glorot,
        "uniform draws with the wrong variance": xavier_uniform_wrong_variance,
        "uniform draws with the right variance": xavier_uniform_right_variance,
        "uses the global np.random": xavier_global_random,
        "variance 1/fan_in used as the std": xavier_variance_as_std,
        "He's std sqrt(2/fan_in)": xavier_he_std,
        "transposed shape (fan_out, fan_in)": xavier_transposed,
        "rng.random (not centred)": xavier_normal_centred_wrongly,
    },
    "check_init_he": {
        "He with 1/sqrt(fan_in) (factor 2 missing)": he_missing_factor_2,
        "fan_out in place of fan_in": he_fan_out,
        "uniform draws with the wrong variance": he_uniform_wrong_variance,
        "uniform draws with the right variance": he_uniform_right_variance,
        "uses the global np.random": he_global_random,
        "2/sqrt(fan_in): the 2 outside the square root": he_two_outside_sqrt,
        "variance 2/fan_in used as the std": he_variance_as_std,
        "Glorot sqrt(2/(fan_in+fan_out))": he_glorot,
        "transposed shape (fan_out, fan_in)": he_transposed,
        "a fixed seed instead of rng": he_fixed_seed,
        "sum of two draws (right std, other numbers)": he_two_draws,
        "unscaled standard normal": he_unscaled,
        "absurdly large weights (1e200)": he_absurd_scale,
        "constant weights": he_constant,
    },
    "check_layer_activation_stats": {
        "stats computed before the activation": stats_before_activation,
        "the input X counted as a layer": stats_include_input,
        "sample std with ddof=1": stats_ddof_1,
        "mean of the per-unit stds": stats_per_unit_std,
        "activation ignored (always tanh)": stats_always_tanh,
        "tanh and relu swapped": stats_strings_swapped,
        "callable activation ignored": stats_ignores_callable,
        "pre-activation fed to the next layer": stats_pre_activation_forwarded,
        "(stds, means) in the wrong order": stats_swapped_order,
        "lists instead of arrays": stats_returns_lists,
        "a list of (mean, std) pairs": stats_pairs,
        "mean of |h| instead of the mean": stats_mean_abs,
        "last layer only": stats_last_layer_only,
        "weights list changed in place": stats_mutates_weights,
        "X changed in place": stats_mutates_X,
        "weights applied transposed": stats_transposed_weights,
        "activation called three times per layer": stats_activation_called_thrice,
        "activation called row by row": stats_activation_row_by_row,
    },
}

EXERCISES = ["init_small_random", "init_xavier", "init_he", "layer_activation_stats"]


@pytest.mark.parametrize("seed", [0, 1, 17, 123456, 2 ** 31 - 1])
def test_statistical_checks_do_not_flake(seed):
    """The reference passes the statistical checks for several seeds (tolerances >= 8 standard errors)."""
    with hidden_seed(seed):
        for exercise in ["init_small_random", "init_xavier", "init_he"]:
            getattr(checks, f"check_{exercise}")(getattr(REF, exercise), hidden=True)


def test_statistical_parts_pass_the_reference_for_200_seeds():
    """The statistical part of the initializer checks (std within 2%, mean, kurtosis) with 200 hidden seeds,
    each on one of the hidden shapes and one initializer in turn (the full checks above run all of them for
    5 seeds). The criteria are scale-free and each reference initializer is its std times the same standard
    normal draw, so one initializer per seed tests that seed's draw for all three."""
    from classroom.hidden import weight_init as hidden_module
    _, shapes = hidden_module.large_draws()
    specs = [("init_small_random", lambda fi, fo: 0.3, {"scale": 0.3}, lambda fi, fo: checks._mistakes_small(fi, fo, scale=0.3)),
             ("init_xavier", lambda fi, fo: 1 / np.sqrt(fi), {}, checks._mistakes_xavier),
             ("init_he", lambda fi, fo: np.sqrt(2 / fi), {}, checks._mistakes_he)]
    for seed in range(1000, 1200):
        fan_in, fan_out = shapes[seed % len(shapes)]
        name, std_of, kwargs, mistakes_of = specs[(seed // len(shapes)) % len(specs)]
        checks._statistics(getattr(REF, name), name, std_of(fan_in, fan_out), fan_in, fan_out, seed, kwargs,
                               mistakes_of(fan_in, fan_out))


# The reference passes visible and hidden checks; every wrong implementation in BANK is rejected.
test_reference_passes, test_wrong_implementation_rejected = reference_and_bank_tests(checks, REF, EXERCISES, BANK)


def test_every_exercise_has_a_bank():
    assert {f"check_{e}" for e in EXERCISES} == set(BANK)


def test_global_random_state_is_left_alone_by_the_checks():
    """The checks themselves must not touch np.random's global state (or they would mask a student's use)."""
    before = np.random.get_state()
    for exercise in EXERCISES:
        getattr(checks, f"check_{exercise}")(getattr(REF, exercise))
    after = np.random.get_state()
    assert np.array_equal(before[1], after[1]) and before[2:] == after[2:]


@pytest.mark.parametrize("check, impl, hint", [
    ("check_init_he", he_missing_factor_2, "factor 2 is missing"),
    ("check_init_he", he_fan_out, "fan_out is used where fan_in belongs"),
    ("check_init_he", he_two_outside_sqrt, "inside the square root"),
    ("check_init_he", he_uniform_wrong_variance, "uniform"),
    ("check_init_he", he_uniform_right_variance, "kurtosis"),
    ("check_init_he", he_global_random, "global random state"),
    ("check_init_he", he_fixed_seed, "did not draw anything from the generator"),
    ("check_init_he", he_two_draws, "draw once"),
    ("check_init_xavier", xavier_glorot, "Glorot"),
    ("check_init_xavier", xavier_fan_out, "fan_out is used where fan_in belongs"),
    ("check_init_xavier", xavier_variance_as_std, "variance"),
    ("check_init_xavier", xavier_transposed, "transpose"),
    ("check_init_xavier", xavier_normal_centred_wrongly, "mean 0"),
    ("check_init_small_random", small_ignores_scale, "scale argument"),
    ("check_init_small_random", small_fresh_generator, "did not draw anything from the generator"),
    ("check_init_small_random", small_float32, "float64"),
    ("check_layer_activation_stats", stats_before_activation, "after the activation"),
    ("check_layer_activation_stats", stats_include_input, "not a layer"),
    ("check_layer_activation_stats", stats_ddof_1, "ddof=0"),
    ("check_layer_activation_stats", stats_per_unit_std, "not per unit"),
    ("check_layer_activation_stats", stats_swapped_order, "swapped"),
    ("check_layer_activation_stats", stats_ignores_callable, "apply it as a function"),
    ("check_layer_activation_stats", stats_mutates_weights, "in place"),
    ("check_layer_activation_stats", stats_strings_swapped, "is ReLU applied"),
    ("check_layer_activation_stats", stats_pre_activation_forwarded, "layer 1 is right"),
    ("check_layer_activation_stats", stats_pairs, "not one (mean, std) pair per layer"),
    ("check_layer_activation_stats", stats_activation_called_thrice, "exactly once per layer"),
    ("check_init_small_random", small_scale_as_variance, "scale is the std, not the variance"),
    ("check_init_he", he_variance_as_std, "that is the variance"),
])
def test_messages_name_the_mistake(check, impl, hint):
    message = assert_rejects(getattr(checks, check), impl, match=hint)
    assert "Input: " in message  # the input that broke it


def test_determinism_check_can_fail():
    """Implementations that advance rng (and leave np.random alone) but are not reproducible from it."""
    def touches_rng_then_fixed_seed(fan_in, fan_out, rng):
        rng.standard_normal()
        return np.random.default_rng(7).standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)

    def adds_unseeded_noise(fan_in, fan_out, rng):
        noise = 1e-3 * np.random.default_rng().standard_normal((fan_in, fan_out))
        return (rng.standard_normal((fan_in, fan_out)) + noise) * np.sqrt(2.0 / fan_in)

    assert_rejects(checks.check_init_he, touches_rng_then_fixed_seed, match="ignores the generator")
    assert_rejects(checks.check_init_he, adds_unseeded_noise, match="not reproducible")


def test_unstarted_exercise_raises_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for exercise in EXERCISES:
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{exercise}")(stub)


def test_cases_list_arguments_in_parameter_order():
    """Visible (fixture) and hidden cases pass their arguments in the order of the function's signature."""
    import inspect
    from graders.fixtures import cases
    for exercise in EXERCISES:
        params = list(inspect.signature(getattr(REF, exercise)).parameters)
        with hidden_seed(3):
            hidden = cases("weight_init", exercise, hidden=True)
        for case in cases("weight_init", exercise) + hidden:
            assert list(case.args) == params[:len(case.args)], (exercise, list(case.args))


def test_hidden_cases_cover_the_visible_exercises():
    """The hidden module has cases for every exercise with visible cases (and no others); each starts with
    the visible kinds of input and adds more; its criteria are the ones the checks ask for."""
    hidden = fixtures.hidden_module("weight_init")
    assert set(hidden.CASES) == set(checks.CASES)
    for exercise, draw in checks.CASES.items():
        visible, more = draw(np.random.default_rng(0)), hidden.CASES[exercise](np.random.default_rng(0))
        assert len(more) > len(visible), exercise
    assert set(hidden.CRITERIA) == {"large_draws", "abs_network"}
    base, shapes = hidden.CRITERIA["large_draws"]()
    assert base == fixtures.HIDDEN_SEED and len(shapes) > 1
    with hidden_seed(5):
        assert hidden.CRITERIA["large_draws"]()[0] == 5


def test_no_hidden_material_in_the_visible_module():
    import inspect
    source = inspect.getsource(checks)
    for word in ("strict", "HIDDEN CASES", "(64, 10)", "bottleneck", "0.1, 7.0", "(600, 600)"):
        assert word not in source, word


def test_hidden_checks_reject_too():
    with hidden_seed(5):
        assert_rejects(checks.check_init_he, he_missing_factor_2, hidden=True)
        assert_rejects(checks.check_layer_activation_stats, stats_before_activation, hidden=True)


def test_plot_helpers_draw(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from utils.weight_init_plots import plot_layer_histograms, plot_layer_stats
    rng = np.random.default_rng(0)
    acts = [np.maximum(rng.standard_normal((20, 30)) * 10.0 ** k, 0) for k in range(-3, 3)]
    fig, axes = plt.subplots(1, 3)
    plot_layer_histograms(acts, ax=axes[0], log=True, title="relu", legend=True)
    plot_layer_histograms([np.tanh(a) for a in acts] + [np.zeros((3, 3))], ax=axes[1], title="tanh")
    plot_layer_stats({"a": [1.0, 0.1, 0.01], "b": [1.0, 1.0, 1.0]}, ax=axes[2], title="std")
    assert len(axes[0].lines) == len(acts) and len(axes[1].lines) == len(acts) + 1
    assert axes[2].get_yscale() == "log"
    fig.savefig(tmp_path / "plots.png")
    plt.close(fig)
