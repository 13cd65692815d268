"""The 02_activations checks accept the reference (and other sound cache designs) and reject every wrong
implementation in the bank with the visible cases."""
import numpy as np
import pytest

from graders import activations as checks
from graders import reference
from wrong import MODE_IDS, MODES, assert_rejects, run_check
from coursework import run_notebook_cells

REF = reference.load("activations")


# ---------------------------------------------------------------- sigmoid
def sigmoid_naive(x):                              # overflows (RuntimeWarning) at x = -1000
    out = 1.0 / (1.0 + np.exp(-x))
    return out, out


def sigmoid_where_both_branches(x):                # np.where evaluates exp(-x) and exp(x) everywhere
    out = np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))
    return out, out


def sigmoid_sign_flipped(x):                       # sigmoid(-x)
    return REF.sigmoid_forward(-x)


def sigmoid_returns_out_only(x):
    return REF.sigmoid_forward(x)[0]


def sigmoid_mutates_x(x):
    np.negative(np.abs(x), out=x)                  # scribbles over the input while computing exp(-|x|)
    return REF.sigmoid_forward(x)


def sigmoid_caches_x(x):
    return REF.sigmoid_forward(x)[0], x


def sigmoid_backward_x_times_one_minus_x(dout, cache):   # x * (1 - x) instead of s * (1 - s)
    return dout * cache * (1.0 - cache)


def sigmoid_backward_ignores_dout(dout, cache):
    return cache * (1.0 - cache)


def sigmoid_backward_sign_flipped(dout, cache):
    return -dout * cache * (1.0 - cache)


def sigmoid_backward_mutates_dout(dout, cache):
    dout *= cache * (1.0 - cache)
    return dout


def sigmoid_backward_recomputes_naively(dout, cache):   # cache = x, exp overflows at x = -1000
    s = 1.0 / (1.0 + np.exp(-cache))
    return dout * s * (1.0 - s)


def sigmoid_backward_recomputes_stably(dout, cache):    # a sound design: cache x, recompute sigmoid
    s = REF.sigmoid_forward(cache)[0]
    return dout * s * (1.0 - s)


# ---------------------------------------------------------------- tanh
def tanh_exp_quotient(x):                          # overflows for |x| > 710
    out = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    return out, out


def tanh_is_sigmoid(x):
    return REF.sigmoid_forward(x)


def tanh_caches_x(x):
    return np.tanh(x), x


def tanh_backward_one_minus_x_squared(dout, cache):      # 1 - x**2 with the input x
    return dout * (1.0 - cache ** 2)


def tanh_backward_no_square(dout, cache):
    return dout * (1.0 - cache)


def tanh_backward_ignores_dout(dout, cache):
    return 1.0 - cache ** 2


# ---------------------------------------------------------------- ReLU
def relu_mutates_x(x):
    x[x < 0] = 0.0
    return x, x


def relu_clipped_at_one(x):
    return np.clip(x, 0.0, 1.0), x


def relu_tuple_swapped(x):
    out, cache = REF.relu_forward(x)
    return cache, out


def relu_caches_mask(x):                           # a sound design: cache the boolean mask
    return np.maximum(x, 0.0), x > 0


def relu_backward_mask(dout, cache):
    return dout * cache


def relu_backward_passes_negative(dout, cache):    # gradient passes where x < 0 too
    return dout.copy()


def relu_backward_passes_at_zero(dout, cache):     # x >= 0 instead of x > 0
    return dout * (cache >= 0)


def relu_backward_masks_by_dout(dout, cache):
    return dout * (dout > 0)


def relu_backward_ignores_dout(dout, cache):
    return (cache > 0).astype(np.float64)


def relu_backward_mutates_dout(dout, cache):
    dout[cache <= 0] = 0.0
    return dout


# ---------------------------------------------------------------- leaky ReLU
def leaky_swapped(x, alpha=0.01):
    return np.where(x > 0, alpha * x, x), (x, alpha)


def leaky_ignores_alpha(x, alpha=0.01):
    return np.where(x > 0, x, 0.01 * x), (x, alpha)


def leaky_mutates_x(x, alpha=0.01):
    x[x <= 0] *= alpha
    return x, (x > 0, alpha)


def leaky_caches_x_only(x, alpha=0.01):
    return REF.leaky_relu_forward(x, alpha)[0], x


def leaky_backward_swapped(dout, cache):           # slopes swapped
    x, alpha = cache
    return dout * np.where(x > 0, alpha, 1.0)


def leaky_backward_default_alpha(dout, cache):     # forgets the alpha of the forward pass
    return dout * np.where(cache > 0, 1.0, 0.01)


def leaky_backward_one_at_zero(dout, cache):       # x >= 0 takes slope 1
    x, alpha = cache
    return dout * np.where(x >= 0, 1.0, alpha)


def leaky_maximum(x, alpha=0.01):                  # right only for alpha <= 1
    return np.maximum(x, alpha * x), (x, alpha)


def leaky_backward_by_comparison(dout, cache):     # slope chosen by x > alpha * x: right only for alpha <= 1
    x, alpha = cache
    return dout * np.where(x > alpha * x, 1.0, alpha)


def leaky_backward_like_relu(dout, cache):
    x, _ = cache
    return dout * (x > 0)


# ---------------------------------------------------------------- ELU
def elu_without_minus_one(x, alpha=1.0):           # alpha * exp(x), no - 1
    out = np.where(x > 0, x, alpha * np.exp(np.minimum(x, 0.0)))
    return out, (x, out, alpha)


def elu_without_alpha(x, alpha=1.0):
    out = np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
    return out, (x, out, alpha)


def elu_where_overflows(x, alpha=1.0):             # exp(x) evaluated at x = 1000 too
    out = np.where(x > 0, x, alpha * (np.exp(x) - 1.0))
    return out, (x, out, alpha)


def elu_backward_uses_output(dout, cache):         # alpha (e^x - 1) instead of alpha e^x on the negative side
    x, out, alpha = cache
    return dout * np.where(x > 0, 1.0, out)


def elu_backward_missing_alpha(dout, cache):       # e^x instead of alpha e^x
    x, out, alpha = cache
    return dout * np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))


def elu_backward_one_at_zero(dout, cache):         # x >= 0 takes slope 1
    x, out, alpha = cache
    return dout * np.where(x >= 0, 1.0, out + alpha)


def elu_backward_overflows(dout, cache):           # alpha * exp(x) evaluated at x = 1000 too
    x, out, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha * np.exp(x))


def elu_backward_identity_both_sides(dout, cache):
    return dout.copy()


# ---------------------------------------------------------------- PReLU
def prelu_wrong_broadcast(x, alpha):               # alpha[n] applied to row n (only "works" when N == D)
    a = alpha[:, None] if x.shape[0] == alpha.shape[0] else alpha
    return np.where(x > 0, x, a * x), (x, alpha)


def prelu_mutates_alpha(x, alpha):
    out = np.where(x > 0, x, alpha * x)
    alpha *= 1.0 + 1e-3                            # "learns" in the forward pass
    return out, (x, alpha)


def prelu_backward_dalpha_not_summed(dout, cache):   # (N, D) instead of (D,)
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha), dout * x * (x <= 0)


def prelu_backward_dalpha_mean(dout, cache):
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha), np.mean(dout * x * (x <= 0), axis=0)


def prelu_backward_dalpha_unmasked(dout, cache):     # counts positive entries too
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha), np.sum(dout * x, axis=0)


def prelu_backward_dalpha_wrong_axis(dout, cache):
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha), np.sum(dout * x * (x <= 0), axis=1)


def prelu_backward_dalpha_total(dout, cache):        # one number for all features
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha), np.sum(dout * x * (x <= 0))


def prelu_backward_dx_swapped(dout, cache):
    x, alpha = cache
    return dout * np.where(x > 0, alpha, 1.0), np.sum(dout * x * (x <= 0), axis=0)


def prelu_backward_dx_only(dout, cache):
    return REF.prelu_backward(dout, cache)[0]


def prelu_caches_out(x, alpha):                    # branch decided later by the sign of out
    out = np.where(x > 0, x, alpha * x)
    return out, (x, out, alpha)


def prelu_backward_by_output(dout, cache):           # right only while every alpha[j] >= 0
    x, out, alpha = cache
    negative = out <= 0
    return dout * np.where(negative, alpha, 1.0), np.sum(dout * x * negative, axis=0)


def prelu_backward_one_at_zero(dout, cache):
    x, alpha = cache
    return dout * np.where(x >= 0, 1.0, alpha), np.sum(dout * x * (x < 0), axis=0)


# ---------------------------------------------------------------- the bank
F, B = "forward", "backward"
REFS = {name: (getattr(REF, f"{name}_forward"), getattr(REF, f"{name}_backward"))
        for name in ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "prelu")}


def with_ref(name, forward=None, backward=None):
    """A (forward, backward) pair: the reference, with one side replaced."""
    ref_f, ref_b = REFS[name]
    return forward or ref_f, backward or ref_b


BANK = {
    "sigmoid": {
        F: {
            "1/(1+exp(-x)) overflows at x = -1000": sigmoid_naive,
            "np.where evaluates both exponentials": sigmoid_where_both_branches,
            "sigmoid(-x)": sigmoid_sign_flipped,
            "returns out without a cache": sigmoid_returns_out_only,
            "changes x in place": sigmoid_mutates_x,
        },
        B: {
            "x*(1-x) instead of s*(1-s)": (sigmoid_caches_x, sigmoid_backward_x_times_one_minus_x),
            "ignores dout": with_ref("sigmoid", backward=sigmoid_backward_ignores_dout),
            "sign flipped": with_ref("sigmoid", backward=sigmoid_backward_sign_flipped),
            "changes dout in place": with_ref("sigmoid", backward=sigmoid_backward_mutates_dout),
            "recomputes the sigmoid with an overflowing formula": (sigmoid_caches_x, sigmoid_backward_recomputes_naively),
            "wrong forward (overflow) under a right backward": (sigmoid_naive, REF.sigmoid_backward),
        },
    },
    "tanh": {
        F: {
            "quotient of exponentials overflows": tanh_exp_quotient,
            "the sigmoid instead of tanh": tanh_is_sigmoid,
        },
        B: {
            "1-x**2 instead of 1-tanh(x)**2": (tanh_caches_x, tanh_backward_one_minus_x_squared),
            "1-t instead of 1-t**2": with_ref("tanh", backward=tanh_backward_no_square),
            "ignores dout": with_ref("tanh", backward=tanh_backward_ignores_dout),
        },
    },
    "relu": {
        F: {
            "changes x in place": relu_mutates_x,
            "clipped at 1": relu_clipped_at_one,
            "returns (cache, out)": relu_tuple_swapped,
        },
        B: {
            "passes the gradient where x < 0": with_ref("relu", backward=relu_backward_passes_negative),
            "passes the gradient at x == 0 exactly": with_ref("relu", backward=relu_backward_passes_at_zero),
            "masks by the sign of dout": with_ref("relu", backward=relu_backward_masks_by_dout),
            "ignores dout": with_ref("relu", backward=relu_backward_ignores_dout),
            "changes dout in place": with_ref("relu", backward=relu_backward_mutates_dout),
        },
    },
    "leaky_relu": {
        F: {
            "slopes swapped": leaky_swapped,
            "ignores the alpha argument": leaky_ignores_alpha,
            "changes x in place": leaky_mutates_x,
            "np.maximum(x, alpha * x), wrong for alpha > 1": leaky_maximum,
        },
        B: {
            "slopes swapped": with_ref("leaky_relu", backward=leaky_backward_swapped),
            "uses the default alpha, not the forward's": (leaky_caches_x_only, leaky_backward_default_alpha),
            "slope 1 at x == 0 exactly": with_ref("leaky_relu", backward=leaky_backward_one_at_zero),
            "the ReLU's gradient": with_ref("leaky_relu", backward=leaky_backward_like_relu),
            "slope chosen by x > alpha * x, wrong for alpha > 1": with_ref("leaky_relu",
                                                                         backward=leaky_backward_by_comparison),
        },
    },
    "elu": {
        F: {
            "alpha*exp(x) without the -1": elu_without_minus_one,
            "exp(x)-1 without alpha": elu_without_alpha,
            "np.where overflows at x = 1000": elu_where_overflows,
        },
        B: {
            "negative side: the output instead of its derivative": with_ref("elu", backward=elu_backward_uses_output),
            "negative side: alpha missing": with_ref("elu", backward=elu_backward_missing_alpha),
            "slope 1 at x == 0 exactly": with_ref("elu", backward=elu_backward_one_at_zero),
            "np.where overflows at x = 1000": with_ref("elu", backward=elu_backward_overflows),
            "identity on both sides": with_ref("elu", backward=elu_backward_identity_both_sides),
        },
    },
    "prelu": {
        F: {
            "alpha broadcast along the wrong axis": prelu_wrong_broadcast,
            "changes alpha in place": prelu_mutates_alpha,
        },
        B: {
            "dalpha not summed over the batch": with_ref("prelu", backward=prelu_backward_dalpha_not_summed),
            "dalpha averaged over the batch": with_ref("prelu", backward=prelu_backward_dalpha_mean),
            "dalpha includes the positive entries": with_ref("prelu", backward=prelu_backward_dalpha_unmasked),
            "dalpha summed over the wrong axis": with_ref("prelu", backward=prelu_backward_dalpha_wrong_axis),
            "dalpha summed over everything": with_ref("prelu", backward=prelu_backward_dalpha_total),
            "dx slopes swapped": with_ref("prelu", backward=prelu_backward_dx_swapped),
            "returns dx only": with_ref("prelu", backward=prelu_backward_dx_only),
            "slope 1 at x == 0 exactly": with_ref("prelu", backward=prelu_backward_one_at_zero),
            "branch chosen by out > 0, wrong for a negative alpha": (prelu_caches_out, prelu_backward_by_output),
        },
    },
}

LAYERS = list(BANK)


def bank_params():
    return [pytest.param(name, kind, impl, id=f"{name}_{kind}: {desc}")
            for name, kinds in BANK.items() for kind, impls in kinds.items() for desc, impl in impls.items()]


def layer_check(name, kind, impl, mode="visible"):
    """Run ``check_<name>_<kind>`` on ``impl`` (a forward, or a (forward, backward) pair) in ``mode``."""
    check = getattr(checks, f"check_{name}_{kind}")
    if kind == B:
        forward, backward = impl
        return run_check(check, backward, forward=forward, mode=mode)
    return run_check(check, impl, mode=mode)


def rejects(name, kind, impl, match=None):
    """The visible check rejects ``impl`` with a message (see :func:`wrong.assert_rejects`)."""
    check = getattr(checks, f"check_{name}_{kind}")
    if kind == B:
        forward, backward = impl
        return assert_rejects(check, backward, forward=forward, match=match)
    return assert_rejects(check, impl, match=match)


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("kind", [F, B])
def test_reference_passes(name, kind, mode, capfd):
    impl = REFS[name][0] if kind == F else REFS[name]
    layer_check(name, kind, impl, mode)
    out, err = capfd.readouterr()
    assert "[ok]" in out and err == "", err


@pytest.mark.parametrize("name, kind, impl", bank_params())
def test_wrong_implementation_rejected(name, kind, impl, capfd):
    rejects(name, kind, impl)
    assert capfd.readouterr().err == "", "a check let a warning through to stderr (nbgrader would score 0)"


def test_every_exercise_has_a_bank():
    assert {f"check_{n}_{k}" for n in LAYERS for k in (F, B)} == {
        name for name in dir(checks) if name.startswith("check_") and name.endswith(("_forward", "_backward"))}
    assert all(BANK[n][k] for n in LAYERS for k in (F, B))


@pytest.mark.parametrize("pair", [
    (sigmoid_caches_x, sigmoid_backward_recomputes_stably),
    (relu_caches_mask, relu_backward_mask),
], ids=["sigmoid caching x", "relu caching a boolean mask"])
def test_other_cache_designs_are_accepted(pair, capfd):
    name = "sigmoid" if pair[0] is sigmoid_caches_x else "relu"
    for mode in MODES:
        layer_check(name, B, pair, mode)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("name, kind, impl, hint", [
    ("sigmoid", F, sigmoid_naive, "np.exp(-np.abs(x))"),
    ("sigmoid", F, sigmoid_where_both_branches, "overflow"),
    ("sigmoid", F, sigmoid_sign_flipped, "minus sign"),
    ("sigmoid", B, (sigmoid_caches_x, sigmoid_backward_x_times_one_minus_x), "s * (1 - s)"),
    ("sigmoid", B, with_ref("sigmoid", backward=sigmoid_backward_ignores_dout), "multiply by the upstream gradient"),
    ("sigmoid", B, with_ref("sigmoid", backward=sigmoid_backward_mutates_dout), "changed its input `dout`"),
    ("tanh", F, tanh_exp_quotient, "np.tanh"),
    ("tanh", B, (tanh_caches_x, tanh_backward_one_minus_x_squared), "1 - t**2"),
    ("relu", B, with_ref("relu", backward=relu_backward_passes_negative), "only where x > 0"),
    ("relu", B, with_ref("relu", backward=relu_backward_passes_at_zero), "x == 0 exactly"),
    ("relu", B, with_ref("relu", backward=relu_backward_masks_by_dout), "mask comes from the forward input"),
    ("leaky_relu", F, leaky_swapped, "slopes are swapped"),
    ("leaky_relu", F, leaky_ignores_alpha, "alpha that was passed in"),
    ("leaky_relu", B, with_ref("leaky_relu", backward=leaky_backward_swapped), "slopes are swapped"),
    ("leaky_relu", B, (leaky_caches_x_only, leaky_backward_default_alpha), "put alpha in the cache"),
    ("leaky_relu", B, with_ref("leaky_relu", backward=leaky_backward_one_at_zero), "x == 0 exactly"),
    ("leaky_relu", F, leaky_maximum, "only for alpha <= 1"),
    ("leaky_relu", B, with_ref("leaky_relu", backward=leaky_backward_by_comparison), "only for alpha <= 1"),
    ("elu", F, elu_without_minus_one, "the - 1 is missing"),
    ("elu", F, elu_without_alpha, "factor alpha is missing"),
    ("elu", F, elu_where_overflows, "np.minimum(x, 0)"),
    ("elu", B, with_ref("elu", backward=elu_backward_uses_output), "instead of its derivative"),
    ("elu", B, with_ref("elu", backward=elu_backward_missing_alpha), "factor alpha is missing"),
    ("elu", B, with_ref("elu", backward=elu_backward_one_at_zero), "x == 0 exactly"),
    ("prelu", F, prelu_wrong_broadcast, "broadcast alpha"),
    ("prelu", B, with_ref("prelu", backward=prelu_backward_dalpha_not_summed), "sum over the batch"),
    ("prelu", B, with_ref("prelu", backward=prelu_backward_dalpha_mean), "do not average"),
    ("prelu", B, with_ref("prelu", backward=prelu_backward_dalpha_unmasked), "only entries with x <= 0"),
    ("prelu", B, with_ref("prelu", backward=prelu_backward_dalpha_wrong_axis), "not axis=1"),
    ("prelu", B, with_ref("prelu", backward=prelu_backward_dalpha_total), "one entry per feature"),
    ("prelu", B, (prelu_caches_out, prelu_backward_by_output), "sign of x, not of out"),
])
def test_messages_name_the_mistake(name, kind, impl, hint):
    message = rejects(name, kind, impl, match=hint)
    assert "Input: " in message  # the input that broke it


def test_overflow_becomes_a_clear_failure_not_a_warning(capfd):
    message = assert_rejects(checks.check_sigmoid_forward, sigmoid_naive, match="overflow")
    assert "-1000" in message or "1000" in message
    assert capfd.readouterr().err == ""


def test_unstarted_exercise_raises_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for name in LAYERS:
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{name}_forward")(stub)
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{name}_backward")(stub, forward=stub)
        with pytest.raises(NotImplementedError):   # forward done, backward not yet
            getattr(checks, f"check_{name}_backward")(stub, forward=REFS[name][0])


# ---------------------------------------------------------------- the experiments' checks
# ---------------------------------------------------------------- the experiments
def notebook_values(*markers: str, **functions) -> dict:
    """The solution notebook's cells that contain ``markers`` run with the reference functions, or ``functions`` in their place."""
    return run_notebook_cells("02_activations", REF, markers, **functions)


STACK = {f"{n}_{k}": getattr(REF, f"{n}_{k}") for n in ("sigmoid", "tanh", "relu") for k in ("forward", "backward")}


def _stub(*args, **kwargs):
    raise NotImplementedError()


STUBS = {name: _stub for name in STACK}


@pytest.fixture(scope="module")
def flow():
    return notebook_values("def weight_grad_norms(")["grad_norms"]


def _flow(sigmoid_decay=0.25, tanh_decay=1.0, relu_decay=1.0, depth=20):
    layers = np.arange(depth)[::-1]                # distance from the top
    return {"sigmoid (Xavier init)": 100.0 * sigmoid_decay ** layers,
            "sigmoid (4 x Xavier init)": 100.0 * 0.65 ** layers,
            "tanh (Xavier init)": 100.0 * tanh_decay ** layers,
            "ReLU (He init)": 100.0 * relu_decay ** layers}


def test_gradient_flow_visible_bars():
    checks.check_gradient_flow(_flow(), **STUBS)                                       # no function is called
    assert_rejects(checks.check_gradient_flow, _flow(sigmoid_decay=1.0), **STUBS)       # sigmoid not vanishing
    assert_rejects(checks.check_gradient_flow, _flow(relu_decay=0.25), **STUBS)         # ReLU vanishing
    assert_rejects(checks.check_gradient_flow, _flow(tanh_decay=2.0), **STUBS)          # tanh exploding
    assert_rejects(checks.check_gradient_flow, {"sigmoid": np.ones(3)}, **STUBS)
    with pytest.raises(NotImplementedError):
        checks.check_gradient_flow(None, **STACK)


def test_gradient_flow_reference_passes(flow, capfd):
    checks.check_gradient_flow(flow, **STACK)
    checks.check_gradient_flow(flow, **STACK, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("[ok]") == 2 and err == ""


def test_gradient_flow_typed_in_fails_the_hidden_part(flow):
    # nothing run: the right norms typed in, the activations not written
    with pytest.raises(NotImplementedError):
        checks.check_gradient_flow(flow, **STUBS, hidden=True)
    # plausible norms typed in: the shape of the curves right, the numbers not the experiment's
    typed = _flow()
    checks.check_gradient_flow(typed, **STACK)
    assert_rejects(checks.check_gradient_flow, typed, **STACK, hidden=True, match="rerun")
    nudged = {k: v * (1.0 + 1e-3) for k, v in flow.items()}
    assert_rejects(checks.check_gradient_flow, nudged, **STACK, hidden=True, match="rerun")
    # the right norms with a wrong function
    for name, wrong in [("tanh_backward", tanh_backward_no_square), ("relu_backward", relu_backward_passes_negative),
                        ("sigmoid_backward", sigmoid_backward_ignores_dout)]:
        checks.check_gradient_flow(flow, **{**STACK, name: wrong})
        assert_rejects(checks.check_gradient_flow, flow, **{**STACK, name: wrong}, hidden=True)


def test_gradient_flow_keeps_its_hidden_criterion(flow):
    """A sigmoid stack whose norms do not shrink at every layer fails the hidden part (run as given)."""
    class BumpySigmoidBackward:                    # in every backward pass, layer 1 passes dout on unchanged
        calls = 0

        def __call__(self, dout, cache):
            self.calls += 1
            return dout if self.calls % 20 == 19 else REF.sigmoid_backward(dout, cache)

    bumpy_sigmoid_backward = BumpySigmoidBackward()
    layers = {**STACK, "sigmoid_backward": bumpy_sigmoid_backward}
    bumpy = notebook_values("def weight_grad_norms(", **layers)["grad_norms"]
    assert not np.all(np.diff(bumpy["sigmoid (Xavier init)"]) > 0)
    checks.check_gradient_flow(bumpy, **layers)
    assert_rejects(checks.check_gradient_flow, bumpy, **layers, hidden=True, match="shrink at every layer")


@pytest.fixture(scope="module")
def dead():
    ns = notebook_values("def activity(")
    return ns["dead_fraction_before"], ns["dead_fraction_after"], ns["dead_unit_max_grad"]


RELU = {"relu_forward": REF.relu_forward, "relu_backward": REF.relu_backward}


def test_dead_relus_visible_bars():
    stubs = {"relu_forward": _stub, "relu_backward": _stub}
    checks.check_dead_relus(0.085, 0.335, 0.0, **stubs)                       # no function is called
    assert_rejects(checks.check_dead_relus, 0.085, 0.085, 0.0, **stubs)       # the step killed nothing
    assert_rejects(checks.check_dead_relus, 0.085, 0.335, 1e-3, **stubs)      # a dead unit got a gradient
    assert_rejects(checks.check_dead_relus, 0.085, 33.5, 0.0, **stubs)        # a percentage, not a fraction
    with pytest.raises(NotImplementedError):
        checks.check_dead_relus(None, None, None, **RELU)


def test_dead_relus_reference_passes(dead, capfd):
    assert dead == (0.085, 0.335, 0.0)
    checks.check_dead_relus(*dead, **RELU)
    checks.check_dead_relus(*dead, **RELU, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("[ok]") == 2 and err == ""


def test_dead_relus_typed_in_fails_the_hidden_part(dead):
    with pytest.raises(NotImplementedError):
        checks.check_dead_relus(*dead, relu_forward=_stub, relu_backward=_stub, hidden=True)
    for typed in [(0.09, 0.34, 0.0), (0.085, 0.3, 0.0), (0.05, 0.335, 0.0)]:
        checks.check_dead_relus(*typed, **RELU)
        assert_rejects(checks.check_dead_relus, *typed, **RELU, hidden=True, match="rerun")
    for wrong in [{"relu_backward": relu_backward_passes_negative}, {"relu_forward": relu_clipped_at_one},
                  {"relu_backward": relu_backward_ignores_dout}]:
        checks.check_dead_relus(*dead, **{**RELU, **wrong})
        assert_rejects(checks.check_dead_relus, *dead, **{**RELU, **wrong}, hidden=True)


def test_dead_relus_keeps_its_hidden_criterion(monkeypatch):
    """Many units dead before the step fails the hidden part (an experiment whose rerun says so)."""
    from classroom.hidden import activations as hidden
    monkeypatch.setattr(hidden, "dead_relu_experiment", lambda forward, backward: (0.25, 0.5, 0.0))
    checks.check_dead_relus(0.25, 0.5, 0.0, **RELU)
    assert_rejects(checks.check_dead_relus, 0.25, 0.5, 0.0, **RELU, hidden=True, match="already dead")


@pytest.fixture(scope="module")
def zigzag():
    ns = notebook_values("def sgd_path(")
    dw_pos, dw_cen = ns["dw_positive"], ns["dw_centred"]
    return checks._same_sign_fraction(dw_pos), checks._same_sign_fraction(dw_cen), dw_pos, dw_cen


ZIGZAG = {"sigmoid_forward": REF.sigmoid_forward}


def test_same_sign_fractions_check(zigzag, capfd):
    pos, cen, dw_pos, dw_cen = zigzag
    assert pos == 1.0 and cen < 0.8
    checks.check_same_sign_fractions(pos, cen, dw_pos, dw_cen, **ZIGZAG)
    checks.check_same_sign_fractions(pos, cen, dw_pos, dw_cen, **ZIGZAG, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("[ok]") == 2 and err == ""
    assert_rejects(checks.check_same_sign_fractions, pos, cen * 60, dw_pos, dw_cen, **ZIGZAG,
                   match="divide by the number")
    only_positive = float(np.mean(np.all(dw_cen > 0, axis=1)))
    assert_rejects(checks.check_same_sign_fractions, pos, only_positive, dw_pos, dw_cen, **ZIGZAG,
                   match="negative as well")
    with pytest.raises(NotImplementedError):
        checks.check_same_sign_fractions(None, None, dw_pos, dw_cen, **ZIGZAG)


def test_same_sign_gradients_typed_in_fail_the_hidden_part(zigzag):
    pos, cen, dw_pos, dw_cen = zigzag
    with pytest.raises(NotImplementedError):
        checks.check_same_sign_fractions(pos, cen, dw_pos, dw_cen, sigmoid_forward=_stub, hidden=True)
    # made-up gradients whose fractions are consistent with them: the visible part cannot tell
    rng = np.random.default_rng(0)
    made_up_pos = np.abs(rng.standard_normal((60, 2))) * rng.choice([-1.0, 1.0], size=(60, 1))
    made_up_cen = rng.standard_normal((60, 2))
    fractions = checks._same_sign_fraction(made_up_pos), checks._same_sign_fraction(made_up_cen)
    checks.check_same_sign_fractions(*fractions, made_up_pos, made_up_cen, **ZIGZAG)
    assert_rejects(checks.check_same_sign_fractions, *fractions, made_up_pos, made_up_cen, **ZIGZAG, hidden=True,
                   match="rerun")
    # the centred run's gradients handed in twice (all one sign): the visible part cannot tell either
    checks.check_same_sign_fractions(1.0, 1.0, dw_pos, dw_pos, **ZIGZAG)
    assert_rejects(checks.check_same_sign_fractions, 1.0, 1.0, dw_pos, dw_pos, **ZIGZAG, hidden=True)
    # the right values with a wrong function
    for wrong in [{"sigmoid_forward": sigmoid_sign_flipped}]:
        assert_rejects(checks.check_same_sign_fractions, pos, cen, dw_pos, dw_cen, **{**ZIGZAG, **wrong}, hidden=True)


@pytest.mark.parametrize("kernel", ["Sandybridge", "Prescott"])
def test_rerun_tolerances_cover_another_blas_kernel(kernel, tmp_path):
    """The experiments' values computed where OpenBLAS picks another CPU kernel (other last bits) pass here."""
    import pickle
    import subprocess
    import sys
    from coursework import ROOT, unactivated_env
    out = tmp_path / "values.pickle"
    code = ("import pickle, sys; sys.path.insert(0, 'tests')\n"
            "import test_checks_activations as t\n"
            "ns = t.notebook_values('def weight_grad_norms(', 'def activity(', 'def sgd_path(')\n"
            "keys = ['grad_norms', 'dead_fraction_before', 'dead_fraction_after', 'dead_unit_max_grad', 'dw_positive', "
            "'dw_centred']\n"
            f"pickle.dump({{k: ns[k] for k in keys}}, open({str(out)!r}, 'wb'))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=unactivated_env(PYTHONPATH=str(ROOT), OPENBLAS_CORETYPE=kernel))
    assert done.returncode == 0, done.stderr[-2000:]
    v = pickle.loads(out.read_bytes())
    checks.check_gradient_flow(v["grad_norms"], **STACK, hidden=True)
    checks.check_dead_relus(v["dead_fraction_before"], v["dead_fraction_after"], v["dead_unit_max_grad"], **RELU,
                            hidden=True)
    pos, cen = checks._same_sign_fraction(v["dw_positive"]), checks._same_sign_fraction(v["dw_centred"])
    checks.check_same_sign_fractions(pos, cen, v["dw_positive"], v["dw_centred"], **ZIGZAG, hidden=True)


@pytest.mark.parametrize("name, pair", [
    ("tanh", with_ref("tanh", backward=tanh_backward_no_square)),
    ("elu", with_ref("elu", backward=elu_backward_missing_alpha)),
    ("prelu", with_ref("prelu", backward=prelu_backward_dalpha_unmasked)),
])
def test_numeric_gradient_alone_rejects_a_wrong_backward(name, pair, monkeypatch):
    """With the reference comparison made toothless, the numeric-gradient comparison still catches the bug."""
    monkeypatch.setattr(checks, "RTOL", 1e6)
    monkeypatch.setattr(checks, "ATOL", 1e6)
    rejects(name, B, pair, match="numeric gradient")


def test_hidden_module_has_cases_for_every_exercise():
    """Every exercise with visible cases has hidden ones (more of them), drawn from the hidden module only."""
    from classroom.hidden import module
    from graders.fixtures import cases

    hidden = module("activations")
    assert set(hidden.CASES) == set(checks.CASES)
    assert set(hidden.CRITERIA) == {"gradient_flow", "dead_relus", "same_sign_fractions"}
    for exercise in checks.CASES:
        visible, drawn = cases("activations", exercise), cases("activations", exercise, hidden=True)
        assert len(drawn) > len(visible), exercise
