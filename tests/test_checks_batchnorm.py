"""The 05_batchnorm checks accept the reference and reject every wrong implementation in the bank."""
import functools

import numpy as np
import pytest

from graders import batchnorm as checks
from graders import reference
from classroom import hidden as hidden_cases
from wrong import MODE_IDS, MODES, assert_rejects, bank_params, run_check
from coursework import run_notebook_cells

REF = reference.load("batchnorm")
from utils import layers as utils_layers  # noqa: E402


# ---------------------------------------------------------------- batch norm forward, with one mistake each
def _bn_forward(x, gamma, beta, bn_param, *, ddof=0, running_ddof=0, eps_outside=False, update=True,
                reverse=False, ignore_momentum=False, test_uses_batch=False, update_in_test=False, axis=0,
                ignore_eps=False, no_affine=False, test_no_sqrt=False, keepdims_running=False, mutate=None,
                in_place_running=False, test_no_eps=False):
    mode = bn_param["mode"]
    eps = 1e-5 if ignore_eps else bn_param.setdefault("eps", 1e-5)
    m = bn_param.setdefault("momentum", 0.9)
    if ignore_momentum:
        m = 0.9
    D = x.shape[1]
    rm = bn_param.setdefault("running_mean", np.zeros(D))
    rv = bn_param.setdefault("running_var", np.ones(D))
    if mutate == "x":
        x -= x.mean(axis=0)
    if mutate == "gamma":
        gamma *= 1.0
        gamma[0] += 1e-3
    keep = axis == 1
    if mode == "train" or test_uses_batch:
        mu = x.mean(axis=axis, keepdims=keep)
        var = x.var(axis=axis, ddof=ddof, keepdims=keep)
        denom = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
        x_hat = (x - mu) / denom
    else:
        denom = np.sqrt(rv) if test_no_eps else rv + eps if test_no_sqrt else np.sqrt(rv + eps)
        x_hat = (x - rm) / denom
    out = x_hat if no_affine else gamma * x_hat + beta
    if (mode == "train" and update) or (mode == "test" and update_in_test):
        mu0, var0 = x.mean(axis=0), x.var(axis=0, ddof=running_ddof)
        a, b = (1 - m, m) if reverse else (m, 1 - m)
        if in_place_running:
            rm *= a
            rm += b * mu0
            rv *= a
            rv += b * var0
        else:
            new_rm, new_rv = a * rm + b * mu0, a * rv + b * var0
            if keepdims_running:
                new_rm, new_rv = new_rm[None, :], new_rv[None, :]
            bn_param["running_mean"], bn_param["running_var"] = new_rm, new_rv
    return out, None


def bn_variant(**options):
    return functools.partial(_bn_forward, **options)


def bn_returns_out_only(x, gamma, beta, bn_param):
    return REF.batchnorm_forward(x, gamma, beta, bn_param)[0]


def bn_float32(x, gamma, beta, bn_param):
    out, cache = REF.batchnorm_forward(x, gamma, beta, bn_param)
    return out.astype(np.float32), cache


# ---------------------------------------------------------------- backward passes on a transparent cache
# Cache layout is the student's choice, so these backward passes come with their own forward pass.
def _forward_keep_inputs(x, gamma, beta, param, *, layer=False):
    forward = REF.layernorm_forward if layer else REF.batchnorm_forward
    out, _ = forward(x, gamma, beta, param)
    return out, {"x": x.copy(), "gamma": gamma.copy(), "eps": param.get("eps", 1e-5)}


bn_forward_keep_inputs = functools.partial(_forward_keep_inputs, layer=False)
ln_forward_keep_inputs = functools.partial(_forward_keep_inputs, layer=True)


def _norm_backward(dout, cache, *, axis=0, mistake=None):
    x, gamma, eps = cache["x"], cache["gamma"], cache["eps"]
    n = x.shape[axis]
    mu = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True)
    std = np.sqrt(var) if mistake == "no eps" else np.sqrt(var + eps)
    x_hat = (x - mu) / std
    dbeta = dout if mistake == "dbeta not summed" else dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=1 if mistake == "dgamma wrong axis" else 0)
    if mistake == "dgamma without x_hat":
        dgamma = dout.sum(axis=0)
    dx_hat = dout if mistake == "no gamma" else dout * gamma
    if mistake == "gamma pulled out":   # BN's compact form, wrong when gamma varies along `axis`
        dx_hat = dout
    sum_axis = 0 if mistake == "sums over the batch" else axis
    if mistake == "sums over the batch":
        n = x.shape[0]
    s1 = dx_hat.sum(axis=sum_axis, keepdims=True)
    s2 = (dx_hat * x_hat).sum(axis=sum_axis, keepdims=True)
    if mistake == "no mean terms":
        s1, s2 = 0.0 * s1, 0.0 * s2
    if mistake == "no variance term":
        s2 = 0.0 * s2
    if mistake == "no mean-subtraction term":
        s1 = 0.0 * s1
    denom_n = n - 1 if mistake == "N - 1" else n
    dx = (n * dx_hat - s1 - x_hat * s2) / (denom_n * std)
    if mistake == "gamma pulled out":
        dx = gamma * dx
    if mistake == "sign":
        dx = -dx
    if mistake == "mutates dout":
        dout *= 1.0
        dout[0, 0] += 1.0
    if mistake == "list":
        return [dx, dgamma, dbeta]
    return dx, dgamma, dbeta


def bn_backward(mistake=None):
    return functools.partial(_norm_backward, axis=0, mistake=mistake)


def ln_backward(mistake=None):
    return functools.partial(_norm_backward, axis=1, mistake=mistake)


def bn_backward_on_ln_cache(dout, cache):   # layer norm's x_hat, but batch norm's sums (over axis 0, N)
    return _norm_backward(dout, cache, axis=1, mistake="sums over the batch")


# ---------------------------------------------------------------- layer norm forward, with one mistake each
def _ln_forward(x, gamma, beta, ln_param, *, axis=1, ddof=0, eps_outside=False, ignore_eps=False,
                keepdims=True, mutate=False, no_affine=False, mode_aware=False):
    eps = 1e-5 if ignore_eps else ln_param.get("eps", 1e-5)
    if mutate:
        x -= 0.0
        x[0, 0] += 1.0
    if mode_aware and ln_param.get("mode") == "test":   # copied batch norm's test branch
        x_hat = x / np.sqrt(1.0 + eps)
    else:
        mu = x.mean(axis=axis, keepdims=keepdims)
        var = x.var(axis=axis, ddof=ddof, keepdims=keepdims)
        x_hat = (x - mu) / (np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps))
    return (x_hat if no_affine else gamma * x_hat + beta), None


def ln_variant(**options):
    return functools.partial(_ln_forward, **options)


# ---------------------------------------------------------------- the affine layer, with one mistake each
def _affine_forward(x, W, b, *, mistake=None):
    if mistake == "mutates x":
        x -= 0.0
        x[0, 0] += 1.0
    out = {"no bias": lambda: x @ W, "W transposed": lambda: x @ W.T + b, "bias subtracted": lambda: x @ W - b,
           "bias twice": lambda: x @ W + 2 * b, "bias averaged": lambda: x @ W + b.mean(),
           "out transposed": lambda: (x @ W + b).T, "rounded": lambda: np.round(x @ W + b),
           "float32": lambda: (x @ W + b).astype(np.float32), "W @ x.T": lambda: (W.T @ x.T).T * 1.0 + b * 0,
           }.get(mistake, lambda: x @ W + b)()
    if mistake == "out only":
        return out
    return out, (x, W)


def affine_fwd(mistake=None):
    return functools.partial(_affine_forward, mistake=mistake)


def affine_forward_keep_inputs(x, W, b):
    return x @ W + b, {"x": x.copy(), "W": W.copy()}


def _affine_backward(dout, cache, *, mistake=None):
    x, W = cache["x"], cache["W"]
    N = x.shape[0]
    dx, dW, db = dout @ W.T, x.T @ dout, dout.sum(axis=0)
    if mistake == "dx without transpose":
        dx = dout @ W
    if mistake == "dW transposed":
        dW = dout.T @ x
    if mistake == "db over the wrong axis":
        db = dout.sum(axis=1)
    if mistake == "db not summed":
        db = dout
    if mistake == "dW averaged over the batch":
        dW = dW / N
    if mistake == "db averaged":
        db = dout.mean(axis=0)
    if mistake == "dx sign":
        dx = -dx
    if mistake == "dx zeros":
        dx = np.zeros_like(x)
    if mistake == "dW from sums":
        dW = np.outer(x.sum(axis=0), dout.sum(axis=0))
    if mistake == "float32":
        dW = dW.astype(np.float32)
    if mistake == "mutates dout":
        dout *= 1.0
        dout[0, 0] += 1.0
    if mistake == "list":
        return [dx, dW, db]
    return dx, dW, db


def affine_bwd(mistake=None):
    return functools.partial(_affine_backward, mistake=mistake)


# ---------------------------------------------------------------- the network, with one mistake each
def _init_fc_net(input_dim, hidden_dims, num_classes, rng, *, weight_scale=None, normalization=None, mistake=None):
    dims = [input_dim, *hidden_dims, num_classes]
    params = {}
    for i in range(1, len(dims)):
        fan_in, fan_out = dims[i - 1], dims[i]
        shape = (fan_out, fan_in) if mistake == "transposed shapes" else (fan_in, fan_out)
        draw = rng.standard_normal(shape)
        he = {"He with fan_out": np.sqrt(2.0 / fan_out), "Xavier": np.sqrt(1.0 / fan_in),
              "unscaled": 1.0}.get(mistake, np.sqrt(2.0 / fan_in))
        if mistake == "weight_scale ignored" or weight_scale is None:
            scale = he
        else:
            scale = weight_scale * (he if mistake == "weight_scale times He" else 1.0)
        params[f"W{i}"] = draw * scale
        params[f"b{i}"] = (0.01 * rng.standard_normal(fan_out) if mistake == "random biases" else np.zeros(fan_out))
        last = i == len(dims) - 1
        if normalization is not None and mistake != "no gamma and beta" and (not last or mistake == "gamma on the last layer"):
            params[f"gamma{i}"] = np.zeros(fan_out) if mistake == "gamma zeros" else np.ones(fan_out)
            params[f"beta{i}"] = np.ones(fan_out) if mistake == "beta ones" else np.zeros(fan_out)
    if mistake == "float32":
        params = {k: v.astype(np.float32) for k, v in params.items()}
    if mistake == "list":
        return list(params.values())
    return params


def init_net(mistake):
    return functools.partial(_init_fc_net, mistake=mistake)


def _fc_net_loss(params, X, y=None, *, normalization=None, bn_params=None, mistake=None):
    relu_f, relu_b = utils_layers.relu_forward, utils_layers.relu_backward
    L = sum(1 for k in params if k.startswith("W"))
    mode = "test" if y is None and mistake != "always train mode" else "train"
    if mistake == "mutates params":
        params["W1"] *= 1.0
        params["W1"][0, 0] += 1.0
    h, caches = X, []
    for i in range(1, L):
        h, ac = REF.affine_forward(h, params[f"W{i}"], params[f"b{i}"])
        rc = None
        if mistake == "ReLU before the normalisation":
            h, rc = relu_f(h)
        nc = None
        if normalization == "batchnorm" or (normalization == "layernorm" and mistake == "batch norm for layer norm"):
            p = bn_params[i - 1] if mistake != "fresh bn_param dicts" else {}
            p["mode"] = mode
            h, nc = REF.batchnorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"], p)
        elif normalization == "layernorm":
            h, nc = REF.layernorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"], {})
        if mistake not in ("no ReLU", "ReLU before the normalisation"):
            h, rc = relu_f(h)
        caches.append((ac, nc, rc))
    scores, lc = REF.affine_forward(h, params[f"W{L}"], params[f"b{L}"])
    if mistake == "ReLU after the last layer":
        scores, _ = relu_f(scores)
    if y is None:
        return (scores, None) if mistake == "test mode returns a tuple" else scores
    loss, dout = utils_layers.softmax_cross_entropy(scores, y)
    if mistake == "loss summed":
        loss = loss * X.shape[0]
    if mistake == "gradients divided by N again":
        dout = dout / X.shape[0]
    grads = {}
    dout, grads[f"W{L}"], grads[f"b{L}"] = REF.affine_backward(dout, lc)
    for i in range(L - 1, 0, -1):
        ac, nc, rc = caches[i - 1]
        if mistake not in ("no ReLU", "ReLU backward skipped", "ReLU before the normalisation"):
            dout = relu_b(dout, rc)
        if nc is not None:
            back = REF.layernorm_backward if normalization == "layernorm" and mistake != "batch norm for layer norm" \
                else REF.batchnorm_backward_alt
            dout, g, b = back(dout, nc)
            grads[f"gamma{i}"], grads[f"beta{i}"] = (b, g) if mistake == "gamma and beta swapped" else (g, b)
        if mistake == "ReLU before the normalisation":
            dout = relu_b(dout, rc)
        dout, grads[f"W{i}"], grads[f"b{i}"] = REF.affine_backward(dout, ac)
        if mistake == "bias gradient not summed":
            grads[f"b{i}"] = grads[f"b{i}"] / X.shape[0]
    return loss, grads


def net_loss(mistake):
    return functools.partial(_fc_net_loss, mistake=mistake)


BANK = {
    "check_affine_forward": {f"affine forward: {m}": affine_fwd(m) for m in (
        "no bias", "W transposed", "bias subtracted", "bias twice", "bias averaged", "out transposed", "rounded",
        "float32", "mutates x", "out only")},
    "check_affine_backward": {f"affine backward: {m}": affine_bwd(m) for m in (
        "dx without transpose", "dW transposed", "db over the wrong axis", "db not summed",
        "dW averaged over the batch", "db averaged", "dx sign", "dx zeros", "dW from sums", "float32",
        "mutates dout", "list")},
    "check_init_fc_net": {f"init_fc_net: {m}": init_net(m) for m in (
        "transposed shapes", "He with fan_out", "Xavier", "unscaled", "weight_scale ignored",
        "weight_scale times He", "random biases", "no gamma and beta", "gamma on the last layer", "gamma zeros",
        "beta ones", "float32", "list")},
    "check_fc_net_loss": {f"fc_net_loss: {m}": net_loss(m) for m in (
        "no ReLU", "ReLU before the normalisation", "ReLU after the last layer", "ReLU backward skipped",
        "always train mode", "fresh bn_param dicts", "test mode returns a tuple", "loss summed",
        "gradients divided by N again", "batch norm for layer norm", "gamma and beta swapped",
        "bias gradient not summed", "mutates params")},
    "check_batchnorm_forward": {
        "unbiased variance (ddof=1)": bn_variant(ddof=1, running_ddof=1),
        "eps outside the square root": bn_variant(eps_outside=True),
        "running statistics not updated": bn_variant(update=False),
        "momentum reversed in the running update": bn_variant(reverse=True),
        "test mode uses the batch statistics": bn_variant(test_uses_batch=True),
        "input x changed in place": bn_variant(mutate="x"),
        "gamma changed in place": bn_variant(mutate="gamma"),
        "running variance updated with the unbiased variance (PyTorch's convention)": bn_variant(running_ddof=1),
        "running statistics updated in test mode": bn_variant(update_in_test=True),
        "bn_param['momentum'] ignored": bn_variant(ignore_momentum=True),
        "bn_param['eps'] ignored": bn_variant(ignore_eps=True),
        "normalised over the features (axis=1) instead of the batch": bn_variant(axis=1),
        "gamma and beta not applied": bn_variant(no_affine=True),
        "test mode divides by running_var instead of its square root": bn_variant(test_no_sqrt=True),
        "test mode without eps": bn_variant(test_no_eps=True),
        "running statistics stored with shape (1, D)": bn_variant(keepdims_running=True),
        "returns out only": bn_returns_out_only,
        "float32 output": bn_float32,
    },
    "check_batchnorm_backward": {
        "dx missing the terms through the mean (and variance)": bn_backward("no mean terms"),
        "dx missing the term through the variance": bn_backward("no variance term"),
        "dx missing the mean-subtraction term": bn_backward("no mean-subtraction term"),
        "dgamma summed over the wrong axis": bn_backward("dgamma wrong axis"),
        "dbeta not summed": bn_backward("dbeta not summed"),
        "dgamma without x_hat": bn_backward("dgamma without x_hat"),
        "gamma left out of dx": bn_backward("no gamma"),
        "N - 1 in the closed form": bn_backward("N - 1"),
        "sqrt(var) without eps": bn_backward("no eps"),
        "dx with the wrong sign": bn_backward("sign"),
        "dout changed in place": bn_backward("mutates dout"),
        "returns a list": bn_backward("list"),
    },
    "check_batchnorm_backward_alt": {
        "dx missing the terms through the mean (and variance)": bn_backward("no mean terms"),
        "closed form without the x_hat * dgamma term": bn_backward("no variance term"),
        "closed form without the dbeta term": bn_backward("no mean-subtraction term"),
        "dgamma summed over the wrong axis": bn_backward("dgamma wrong axis"),
        "dbeta not summed": bn_backward("dbeta not summed"),
        "N - 1 in the closed form": bn_backward("N - 1"),
        "sqrt(var) without eps": bn_backward("no eps"),
    },
    "check_layernorm_forward": {
        "normalised over the batch axis (batch norm)": ln_variant(axis=0),
        "unbiased variance (ddof=1)": ln_variant(ddof=1),
        "eps outside the square root": ln_variant(eps_outside=True),
        "ln_param['eps'] ignored": ln_variant(ignore_eps=True),
        "statistics without keepdims": ln_variant(keepdims=False),
        "input x changed in place": ln_variant(mutate=True),
        "gamma and beta not applied": ln_variant(no_affine=True),
        "a test-mode branch copied from batch norm": ln_variant(mode_aware=True),
    },
    "check_layernorm_backward": {
        "batch norm's backward (sums over the batch axis)": bn_backward_on_ln_cache,
        "gamma pulled out of the sums over the features": ln_backward("gamma pulled out"),
        "dx missing the terms through the mean (and variance)": ln_backward("no mean terms"),
        "dx missing the term through the variance": ln_backward("no variance term"),
        "dgamma summed over the wrong axis": ln_backward("dgamma wrong axis"),
        "dbeta not summed": ln_backward("dbeta not summed"),
        "D - 1 in the closed form": ln_backward("N - 1"),
        "dout changed in place": ln_backward("mutates dout"),
    },
}

# the forward pass each backward check runs (the wrong backward passes use the transparent cache)
FORWARD_FOR = {"check_affine_backward": affine_forward_keep_inputs,
               "check_batchnorm_backward": bn_forward_keep_inputs,
               "check_batchnorm_backward_alt": bn_forward_keep_inputs,
               "check_layernorm_backward": ln_forward_keep_inputs}

EXERCISES = ["affine_forward", "affine_backward", "init_fc_net", "fc_net_loss", "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt", "layernorm_forward",
             "layernorm_backward"]
REF_FORWARD = {"affine_backward": REF.affine_forward, "batchnorm_backward": REF.batchnorm_forward, "batchnorm_backward_alt": REF.batchnorm_forward,
               "layernorm_backward": REF.layernorm_forward}


@pytest.mark.parametrize("exercise", EXERCISES)
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_reference_passes(exercise, mode, capfd):
    extra = {"forward": REF_FORWARD[exercise]} if exercise in REF_FORWARD else {}
    run_check(getattr(checks, f"check_{exercise}"), getattr(REF, exercise), mode=mode, **extra)
    out, err = capfd.readouterr()
    assert "[ok]" in out and err == "", err


@pytest.mark.parametrize("check, impl", bank_params(BANK))
def test_wrong_implementation_rejected(check, impl, capfd):
    extra = {"forward": FORWARD_FOR[check]} if check in FORWARD_FOR else {}
    assert_rejects(getattr(checks, check), impl, **extra)
    assert capfd.readouterr().err == "", "a check let a warning through to stderr (nbgrader would score 0)"


def test_every_exercise_has_a_bank():
    assert {f"check_{e}" for e in EXERCISES} == set(BANK)


@pytest.mark.parametrize("check, forward, backward", [
    ("check_batchnorm_backward", bn_forward_keep_inputs, bn_backward()),
    ("check_batchnorm_backward_alt", bn_forward_keep_inputs, bn_backward()),
    ("check_layernorm_backward", ln_forward_keep_inputs, ln_backward()),
])
def test_backward_checks_accept_any_cache_layout(check, forward, backward, capfd):
    """The bank's backward passes use their own cache (a dict); without a mistake they pass."""
    getattr(checks, check)(backward, forward=forward)
    getattr(checks, check)(backward, forward=forward, hidden=True)
    assert capfd.readouterr().err == ""


def test_running_statistics_may_be_updated_in_place(capfd):
    """Updating bn_param['running_mean'] in place (rm *= m; rm += ...) is as good as replacing it."""
    checks.check_batchnorm_forward(bn_variant(in_place_running=True))
    checks.check_batchnorm_forward(bn_variant(in_place_running=True), hidden=True)
    checks.check_batchnorm_forward(bn_variant())   # the parametrised forward without a mistake
    assert capfd.readouterr().err == ""


def test_backward_check_needs_a_working_forward():
    """With a wrong forward pass, the backward check says to fix the forward first."""
    def forward_unbiased(x, gamma, beta, param):
        out, _ = _bn_forward(x, gamma, beta, param, ddof=1)
        return out, {"x": x.copy(), "gamma": gamma.copy(), "eps": 1e-5}
    assert_rejects(checks.check_batchnorm_backward, bn_backward(), forward=forward_unbiased,
                   match="make check_batchnorm_forward pass first")


@pytest.mark.parametrize("check, impl, hint", [
    ("check_batchnorm_forward", bn_variant(ddof=1, running_ddof=1), "biased batch variance"),
    ("check_batchnorm_forward", bn_variant(eps_outside=True), "inside the square root"),
    ("check_batchnorm_forward", bn_variant(update=False), "did not change"),
    ("check_batchnorm_forward", bn_variant(reverse=True), "momentum is reversed"),
    ("check_batchnorm_forward", bn_variant(test_uses_batch=True), "running_mean"),
    ("check_batchnorm_forward", bn_variant(update_in_test=True), "must not update"),
    ("check_batchnorm_forward", bn_variant(running_ddof=1), "unbiased variance"),
    ("check_batchnorm_forward", bn_variant(mutate="x"), "changed its input `x`"),
    ("check_batchnorm_backward", bn_backward("no mean terms"), "sum to 0"),
    ("check_batchnorm_backward", bn_backward("dgamma wrong axis"), "one per feature"),
    ("check_batchnorm_backward", bn_backward("dbeta not summed"), "summed over the batch"),
    ("check_batchnorm_backward", bn_backward("no variance term"), "variance"),
    ("check_batchnorm_backward", bn_backward("mutates dout"), "changed its input `dout`"),
    ("check_layernorm_forward", ln_variant(axis=0), "axis=1"),
    ("check_layernorm_backward", ln_backward("gamma pulled out"), "gamma varies along the normalised axis"),
    ("check_layernorm_backward", bn_backward_on_ln_cache, "over each example's features"),
    ("check_batchnorm_forward", bn_variant(ignore_momentum=True), "bn_param['momentum']"),
    ("check_batchnorm_forward", bn_variant(test_no_eps=True), "add eps in test mode"),
    ("check_batchnorm_forward", bn_variant(test_no_sqrt=True), "running_var is a variance"),
    ("check_batchnorm_forward", bn_float32, "float64"),
    ("check_affine_forward", affine_fwd("no bias"), "bias b is missing"),
    ("check_affine_backward", affine_bwd("dW transposed"), "dW is transposed"),
    ("check_affine_backward", affine_bwd("db not summed"), "db is not summed"),
    ("check_affine_backward", affine_bwd("db over the wrong axis"), "wrong axis"),
    ("check_affine_backward", affine_bwd("dW averaged over the batch"), "factor of N"),
    ("check_init_fc_net", init_net("He with fan_out"), "not fan_out"),
    ("check_init_fc_net", init_net("Xavier"), "Xavier"),
    ("check_init_fc_net", init_net("unscaled"), "not scaled"),
    ("check_init_fc_net", init_net("weight_scale ignored"), "weight_scale"),
    ("check_init_fc_net", init_net("gamma on the last layer"), "hidden layers only"),
    ("check_init_fc_net", init_net("transposed shapes"), "(fan_in, fan_out)"),
    ("check_fc_net_loss", net_loss("ReLU backward skipped"), "relu_backward"),
    ("check_fc_net_loss", net_loss("always train mode"), "test mode"),
    ("check_fc_net_loss", net_loss("fresh bn_param dicts"), "running statistics"),
    ("check_fc_net_loss", net_loss("loss summed"), "N times too large"),
    ("check_fc_net_loss", net_loss("gradients divided by N again"), "already averages"),
    ("check_fc_net_loss", net_loss("gamma and beta swapped"), "gamma2 is the first wrong gradient"),
    ("check_fc_net_loss", net_loss("mutates params"), "only reads its parameters"),
])
def test_messages_name_the_mistake(check, impl, hint):
    extra = {"forward": FORWARD_FOR[check]} if check in FORWARD_FOR else {}
    message = assert_rejects(getattr(checks, check), impl, match=hint, **extra)
    assert "Input: " in message  # the input that broke it


def test_wrong_axis_of_dgamma_is_caught_on_a_square_batch(monkeypatch):
    """With N = D a wrongly summed dgamma has the right shape; its values must give it away."""
    real = checks._paired
    monkeypatch.setattr(checks, "_paired", lambda exercise, hidden:
                        [pair for pair in real(exercise, hidden) if "square" in pair[0][0]])
    assert len(list(checks._paired("batchnorm_backward", False))) == 1
    assert_rejects(checks.check_batchnorm_backward, bn_backward("dgamma wrong axis"), forward=bn_forward_keep_inputs,
                   match="dgamma is summed over the wrong axis")
    assert_rejects(checks.check_layernorm_backward, ln_backward("dgamma wrong axis"), forward=ln_forward_keep_inputs,
                   match="dgamma is summed over the wrong axis")


def test_unstarted_exercise_raises_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for exercise in EXERCISES:
        extra = {"forward": REF_FORWARD[exercise]} if exercise in REF_FORWARD else {}
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{exercise}")(stub, **extra)
    # a backward check also stops at an unstarted forward pass
    for exercise in REF_FORWARD:
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{exercise}")(getattr(REF, exercise), forward=stub)


# ---------------------------------------------------------------- the weight-scale experiment (section 7)
def notebook_values(marker: str = "scales = np.logspace(-3, 0.5, 8)", **functions) -> dict:
    """The solution notebook's weight-scale experiment run with the reference functions, or ``functions`` in their place."""
    return run_notebook_cells("05_batchnorm", REF, [marker], **functions)


BN = {"batchnorm_forward": REF.batchnorm_forward, "batchnorm_backward": REF.batchnorm_backward}


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _sweep(namespace) -> tuple:
    return namespace["scales"], namespace["acc_bn"], namespace["acc_plain"]


@pytest.fixture(scope="module")
def sweep():
    with pytest.MonkeyPatch.context() as mp:   # the sizes nbgrader runs (utils.fast_mode)
        mp.setenv("TNN_FAST", "1")
        return _sweep(notebook_values())


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setenv("TNN_FAST", "1")


def test_weight_scale_sweep_visible_bars():
    scales = np.logspace(-3, 0.5, 8)
    good_bn = [0.72, 0.82, 0.84, 0.88, 0.94, 0.89, 0.83, 0.52]
    good_plain = [0.099, 0.099, 0.099, 0.099, 0.31, 0.74, 0.10, 0.099]
    stubs = {"batchnorm_forward": _stub, "batchnorm_backward": _stub}
    checks.check_weight_scale_sweep(scales, good_bn, good_plain, **stubs)                    # no function is called
    assert_rejects(checks.check_weight_scale_sweep, scales, [0.1] * 8, good_plain, **stubs)  # BN did not train
    assert_rejects(checks.check_weight_scale_sweep, scales, good_bn, [0.9] * 8, **stubs)     # not the experiment
    assert_rejects(checks.check_weight_scale_sweep, scales, good_bn[:5], good_plain, **stubs)  # wrong length
    with pytest.raises(NotImplementedError):
        checks.check_weight_scale_sweep(scales, None, None, **BN)
    # the hidden part first asks for all 8 scales
    checks.check_weight_scale_sweep(scales[:7], good_bn[:7], good_plain[:7], **stubs)
    assert_rejects(checks.check_weight_scale_sweep, scales[:7], good_bn[:7], good_plain[:7], **stubs, hidden=True,
                   match="8 weight scales")


@pytest.mark.parametrize("mode", ["nbgrader", "interactive"])
def test_weight_scale_sweep_reference_passes(mode, monkeypatch, capfd):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("TNN_FAST", "1") if mode == "nbgrader" else monkeypatch.delenv("TNN_FAST", raising=False)
    values = _sweep(notebook_values())
    checks.check_weight_scale_sweep(*values, **BN)
    checks.check_weight_scale_sweep(*values, **BN, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("[ok]") == 2 and err == ""


def test_weight_scale_sweep_rerun_follows_the_size_the_notebook_ran_at(sweep, monkeypatch):
    """The student's kernel and the re-check need not agree on utils.fast_mode: the runs without batch norm
    (the course's code only) are made at both sizes and say which one the notebook ran at; the batch-norm runs
    are made at that size only. Values computed while graded pass a re-check that is not, nothing else does."""
    from classroom.hidden import batchnorm as hidden
    monkeypatch.delenv("TNN_FAST", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    sizes = []
    real = hidden.weight_scale_sweep_bn
    monkeypatch.setattr(hidden, "weight_scale_sweep_bn", lambda f, b, fast=None: sizes.append(fast) or real(f, b, fast))
    checks.check_weight_scale_sweep(*sweep, **BN, hidden=True)
    assert sizes == [True]                     # one batch-norm rerun, at the graded size
    scales, acc_bn, acc_plain = sweep
    assert_rejects(checks.check_weight_scale_sweep, scales, [round(a, 2) for a in acc_bn], acc_plain, **BN,
                   hidden=True, match="rerun")
    assert_rejects(checks.check_weight_scale_sweep, scales, acc_bn, [round(a, 2) for a in acc_plain], **BN,
                   hidden=True, match="acc_plain")


def test_weight_scale_sweep_typed_in_fails_the_hidden_part(sweep, fast):
    scales, acc_bn, acc_plain = sweep
    # nothing run: the right accuracies typed in, batch norm not written
    with pytest.raises(NotImplementedError):
        checks.check_weight_scale_sweep(scales, acc_bn, acc_plain, batchnorm_forward=_stub, batchnorm_backward=_stub,
                                        hidden=True)
    # plausible accuracies typed in: one of them a little better, or round numbers
    better = list(acc_bn)
    better[3] = min(1.0, better[3] + 0.02)
    rounded = [round(a, 2) for a in acc_bn]
    for typed_bn, typed_plain in [(better, acc_plain), (rounded, acc_plain), (acc_bn, [0.1] * 8)]:
        checks.check_weight_scale_sweep(scales, typed_bn, typed_plain, **BN)
        assert_rejects(checks.check_weight_scale_sweep, scales, typed_bn, typed_plain, **BN, hidden=True,
                       match="rerun")
    # the right accuracies with a wrong batch norm (each trains, differently)
    def with_input_cache(**options):    # a forward variant whose cache the dict-cache backward can use
        def forward(x, gamma, beta, bn_param):
            out, _ = bn_variant(**options)(x, gamma, beta, bn_param)
            return out, {"x": x.copy(), "gamma": gamma.copy(), "eps": bn_param.get("eps", 1e-5)}
        return forward
    for wrong in [{"batchnorm_forward": with_input_cache(ddof=1, running_ddof=1), "batchnorm_backward": bn_backward()},
                  {"batchnorm_forward": with_input_cache(reverse=True), "batchnorm_backward": bn_backward()},
                  {"batchnorm_forward": bn_forward_keep_inputs, "batchnorm_backward": bn_backward("no variance term")}]:
        checks.check_weight_scale_sweep(scales, acc_bn, acc_plain, **{**BN, **wrong})
        assert_rejects(checks.check_weight_scale_sweep, scales, acc_bn, acc_plain, **{**BN, **wrong}, hidden=True)


def test_weight_scale_sweep_keeps_its_hidden_criterion(monkeypatch, sweep):
    """Batch norm below 0.75 at its best scale fails the hidden part (when the rerun says so)."""
    from classroom.hidden import batchnorm as hidden
    scales, _, acc_plain = sweep
    weak_bn = [0.5] * 8
    monkeypatch.setattr(hidden, "weight_scale_sweep_bn", lambda forward, backward, fast=None: weak_bn)
    checks.check_weight_scale_sweep(scales, weak_bn, acc_plain, **BN)
    assert_rejects(checks.check_weight_scale_sweep, scales, weak_bn, acc_plain, **BN, hidden=True, match="0.75")


def test_lockstep_runs_equal_one_by_one(fast):
    """The eight batch-norm runs made side by side (calls batched) give what one run after another gives."""
    one_by_one = [checks.weight_scale_run(REF.batchnorm_forward, REF.batchnorm_backward, s, True)
                  for s in checks.SWEEP_SCALES]
    assert checks.weight_scale_sweep(REF.batchnorm_forward, REF.batchnorm_backward)[1] == one_by_one


def test_lockstep_hands_each_run_its_own_failure():
    from graders.rerun import Lockstep

    def f(k):
        if k == 2:
            raise ValueError("k is 2")
        return 10 * k
    lockstep = Lockstep()
    g = lockstep.wrap(f)
    assert lockstep.run([lambda k=k: g(k) + g(k + 10) for k in (0, 1, 3)]) == [100, 120, 160]
    with pytest.raises(ValueError, match="k is 2"):
        Lockstep().run([lambda: 1, lambda: f(2)])


@pytest.mark.parametrize("kernel", ["Sandybridge", "Prescott"])
def test_rerun_tolerances_cover_another_blas_kernel(kernel, tmp_path, sweep, fast):
    """The experiment's values computed where OpenBLAS picks another CPU kernel (other last bits) pass here."""
    import pickle
    import subprocess
    import sys
    from coursework import ROOT, unactivated_env
    out = tmp_path / "values.pickle"
    code = ("import pickle, sys; sys.path.insert(0, 'tests')\n"
            "import test_checks_batchnorm as t\n"
            f"pickle.dump(t._sweep(t.notebook_values()), open({str(out)!r}, 'wb'))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=unactivated_env(PYTHONPATH=str(ROOT), OPENBLAS_CORETYPE=kernel, TNN_FAST="1"))
    assert done.returncode == 0, done.stderr[-2000:]
    checks.check_weight_scale_sweep(*pickle.loads(out.read_bytes()), **BN, hidden=True)


def test_fixture_pairing_is_verified(monkeypatch):
    """The backward checks refuse to run when the fixture's inputs do not match the drawn ones."""
    real = checks._backward_inputs
    monkeypatch.setattr(checks, "_backward_inputs",
                        lambda rng: [(l, x, g, b, d + 1.0) for l, x, g, b, d in real(rng)])
    with pytest.raises(RuntimeError, match="out of date"):
        checks.check_batchnorm_backward(REF.batchnorm_backward, forward=REF.batchnorm_forward)


def test_hidden_module_has_cases_for_every_exercise():
    """classroom/hidden/batchnorm.py draws hidden cases for every exercise with visible cases, more than
    the visible ones, and holds the hidden criteria the checks ask for."""
    module = hidden_cases.module("batchnorm")
    assert set(module.CASES) == set(checks.CASES)
    for exercise, draw in module.CASES.items():
        visible = checks.CASES[exercise](np.random.default_rng(0))
        assert len(draw(np.random.default_rng(0))) > len(visible), exercise
    assert {"convergence_batch", "weight_scale_sweep"} <= set(module.CRITERIA)
    assert module.CRITERIA["convergence_batch"]().shape == (10, 3)


def test_array_subclass_cannot_fake_a_comparison():
    class Liar(np.ndarray):
        def __array_ufunc__(self, *args, **kwargs):
            return True

        def __eq__(self, other):
            return True

    def fake_forward(x, gamma, beta, bn_param):
        return np.zeros_like(x).view(Liar), None

    assert_rejects(checks.check_batchnorm_forward, fake_forward)
