"""Checks for notebook 07_regularization: L2 and L1 penalties, inverted dropout (forward and
backward), data augmentation on image batches (random crop, flip, shift, colour jitter, PCA colour
augmentation and the pixel PCA it needs) and early stopping.

Each ``check_<exercise>(student_function)`` returns quietly (after printing one ``[ok]`` line) on a
correct implementation and raises ``AssertionError`` with an explanation on a wrong one. Called with
no options it uses the visible cases (fixed inputs, reference outputs from
``fixtures/regularization.json``); hidden tests pass ``hidden=True`` for edge cases and larger
inputs, which are not part of this package.

``check_dropout_backward(dropout_backward, forward=dropout_forward)`` runs the student's own
``dropout_forward`` to get the cache, so the cache holds whatever the student's backward pass needs.

Every random function takes an ``rng`` and its docstring fixes the order of its draws, so a correct
implementation reproduces the reference output exactly from the same generator state.
"""
from __future__ import annotations

import copy

import numpy as np

from utils.gradcheck import numerical_gradient, numerical_gradient_array
from .checking import (Case, CheckFailure, call, expect_array, expect_close, expect_gradient, expect_scalar, expect_tuple,
                       fail, plain, prefetch, ratio, reporting)
from .fixtures import cases

TOPIC = "regularization"
RTOL = 1e-9    # the reference and any sound formula agree to ~1e-15 in float64; 1e-9 leaves room for
ATOL = 1e-12   # a different order of operations and nothing else


def _seed(rng: np.random.Generator) -> np.random.Generator:
    """A fresh generator for a case's ``rng`` argument, seeded from the case generator."""
    return np.random.default_rng(int(rng.integers(2 ** 31)))


def _away_from_zero(a: np.ndarray) -> np.ndarray:
    """Entries at least 0.1 from 0 (so |w| has no kink within a numeric-gradient step)."""
    return np.sign(a) * (0.1 + np.abs(a)) + (a == 0) * 0.1


HINTS = {
    "l2_penalty": "Loop over weights.items(): for names starting with 'W' add 0.5 * reg * np.sum(w * w) to the loss "
                  "and store reg * w as the gradient; for every other name store np.zeros_like(w).",
    "weight_decay_factor": "Write one step W - lr * (dL_data/dW + reg * W) as (something) * W - lr * dL_data/dW.",
    "l1_penalty": "Like l2_penalty, with reg * np.sum(np.abs(w)) for the loss and reg * np.sign(w) for the gradient "
                  "(np.sign(0) is 0, the subgradient we want at the kink).",
    "dropout_forward": "Train mode: mask = rng.random(x.shape) < keep_prob, out = x * mask / keep_prob. Test mode: "
                       "return x unchanged without touching rng. Put in the cache what dropout_backward will need "
                       "(for example keep_prob, mode and the mask).",
    "dropout_backward": "Take from your cache what the forward pass saved; in train mode multiply dout by the same mask "
                        "and divide by the same keep_prob as the forward pass; in test mode return dout.",
    "test_time_scale": "Without the 1 / keep_prob in training, the next layer saw E[m x] = keep_prob * x. What must "
                       "multiply x at test time to give it the same?",
    "random_crop": "Draw tops, then lefts, with rng.integers(0, H - crop_h + 1, size=N) and its W analogue; then "
                   "slice X[i, tops[i]:tops[i] + crop_h, lefts[i]:lefts[i] + crop_w] for each i (a loop is fine).",
    "random_flip": "flip = rng.random(len(X)) < 0.5; copy X and replace the chosen images by X[flip, :, ::-1] "
                   "(axis 2 is the width, for grey and colour images alike).",
    "random_shift": "Draw dys, then dxs. Zero-pad the rows and columns by max_shift (np.pad), then take from the padded "
                    "image i the H x W window starting at row max_shift - dys[i] and column max_shift - dxs[i].",
    "color_jitter": "Draw b, then c (one of each per image). Reshape them and each image's mean to (N, 1, 1[, 1]) so "
                    "they broadcast, compute c * (X - mu) + mu + b and np.clip it to [0, 1].",
    "pixel_pca": "P = X.reshape(-1, 3); subtract its column means; cov = P.T @ P / len(P); np.linalg.eigh(cov) gives "
                 "increasing eigenvalues and eigenvectors as columns: reverse both ([::-1] and [:, ::-1]).",
    "pca_color_augmentation": "alpha = rng.normal(0, alpha_std, size=(N, 3)); the offsets (alpha * np.sqrt(eigvals)) @ "
                              "eigvecs.T have shape (N, 3); add offsets[:, None, None, :] to X and clip to [0, 1].",
    "flip_digits": "Mirror a 2, a 3 or a 7 in your head (or look at the last row of the digits figure). Is it still "
                   "the same digit?",
    "fc_net_loss": "Forward: for each hidden layer l, affine_forward -> relu_forward -> (if keep_prob < 1) your "
                   "dropout_forward(h, keep_prob, 'train', rng), keeping the three caches; then the last affine and "
                   "softmax_cross_entropy. Add your l2_penalty(params, reg) to the loss; start grads from its "
                   "gradients and add each layer's data gradients, walking the layers backwards (dropout_backward, "
                   "relu_backward, affine_backward).",
    "early_stopping": "Walk through the losses once, remembering the best loss and its epoch; a strictly lower loss "
                      "updates them, otherwise stop as soon as t - best_epoch >= patience.",
}


# ---------------------------------------------------------------- visible case generators
# Each draws the visible cases of one exercise from ``rng``. The hidden module
# (classroom/hidden/regularization.py) calls the same generators first and goes on drawing its own
# cases from the same ``rng``, so the helpers below are shared with it.
def _params(rng, shapes: dict[str, tuple], zeros: bool = False) -> dict[str, np.ndarray]:
    out = {}
    for name, shape in shapes.items():
        a = _away_from_zero(rng.standard_normal(shape))
        if zeros and name.startswith("W"):
            a.reshape(-1)[::4] = 0.0   # exact zeros: the (sub)gradient convention at the kink
        out[name] = a
    return out


def _penalty_cases(rng: np.random.Generator, zeros: bool) -> list[Case]:
    return [
        Case("a two-layer network's parameters (biases non-zero: they must not be penalised)",
             {"weights": _params(rng, {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}, zeros), "reg": 0.1}),
        Case("parameters with batch-norm gamma and beta (not weight matrices, so not penalised)",
             {"weights": _params(rng, {"W1": (3, 5), "b1": (5,), "gamma1": (5,), "beta1": (5,),
                                       "W2": (5, 2), "b2": (2,)}, zeros), "reg": 0.5}),
        Case("reg = 0: no penalty, zero gradients",
             {"weights": _params(rng, {"W1": (2, 3), "b1": (3,)}, zeros), "reg": 0.0}),
    ]


def _dropout_case(rng, label, shape, keep_prob, mode) -> Case:
    return Case(label, {"x": rng.standard_normal(shape), "keep_prob": keep_prob, "mode": mode, "rng": _seed(rng)})


def _dropout_forward_cases(rng: np.random.Generator) -> list[Case]:
    return [
        _dropout_case(rng, "train mode, x of shape (4, 5), keep_prob = 0.5", (4, 5), 0.5, "train"),
        _dropout_case(rng, "train mode, x of shape (3, 10), keep_prob = 0.8", (3, 10), 0.8, "train"),
        _dropout_case(rng, "test mode, keep_prob = 0.5 (the identity)", (3, 4), 0.5, "test"),
        _dropout_case(rng, "train mode, x of shape (2, 3, 4) (any shape works), keep_prob = 0.3", (2, 3, 4), 0.3,
                      "train"),
    ]


def _with_dout(rng: np.random.Generator, forward_cases: list[Case]) -> list[Case]:
    """Cases for ``dropout_backward``: the forward cases (drawn first, with the same draws as the
    forward's own cases), then one ``dout`` per case, and the REFERENCE forward's cache so that the
    reference backward can give the expected dx. The check pairs them with the forward cases by label
    and calls the student's own forward and backward: the reference's cache is never shown to them."""
    from . import reference

    forward = reference.load(TOPIC).dropout_forward
    out = []
    for fcase in forward_cases:
        dout = rng.standard_normal(fcase.args["x"].shape)
        _, cache = forward(*copy.deepcopy(list(fcase.args.values())))
        out.append(Case(fcase.label, {"dout": dout, "cache": cache}))
    return out


def _images(rng, shape, low=0.0, high=1.0, saturate=False):
    X = low + (high - low) * rng.random(shape)
    if saturate:  # digit-like: exact 0 and 1 pixels, where brightness pushes values out of [0, 1]
        X[rng.random(shape) < 0.25] = 0.0
        X[rng.random(shape) < 0.15] = 1.0
    return X


def _crop_cases(rng):
    return [
        Case("grey images (N, H, W) = (5, 8, 9), crop 5 x 6",
             {"X": _images(rng, (5, 8, 9)), "crop_h": 5, "crop_w": 6, "rng": _seed(rng)}),
        Case("colour images (N, H, W, C) = (4, 7, 6, 3), crop 4 x 3",
             {"X": _images(rng, (4, 7, 6, 3)), "crop_h": 4, "crop_w": 3, "rng": _seed(rng)}),
    ]


def _flip_cases(rng):
    return [
        Case("grey images (N, H, W) = (8, 4, 5)", {"X": _images(rng, (8, 4, 5)), "rng": _seed(rng)}),
        Case("colour images (N, H, W, C) = (8, 3, 4, 3)", {"X": _images(rng, (8, 3, 4, 3)), "rng": _seed(rng)}),
    ]


def _shift_cases(rng):
    return [
        Case("grey images (N, H, W) = (6, 7, 8), max_shift = 2",
             {"X": _images(rng, (6, 7, 8), 0.1, 1.0), "max_shift": 2, "rng": _seed(rng)}),
        Case("colour images (N, H, W, C) = (5, 6, 5, 3), max_shift = 1",
             {"X": _images(rng, (5, 6, 5, 3), 0.1, 1.0), "max_shift": 1, "rng": _seed(rng)}),
    ]


def _jitter_cases(rng):
    return [
        Case("grey digit-like images (N, H, W) = (5, 6, 6) with pixels at 0 and 1 (needs clipping)",
             {"X": _images(rng, (5, 6, 6), saturate=True), "brightness": 0.2, "contrast": 0.5, "rng": _seed(rng)}),
        Case("colour images (N, H, W, C) = (4, 5, 6, 3)",
             {"X": _images(rng, (4, 5, 6, 3), 0.2, 0.8), "brightness": 0.1, "contrast": 0.3, "rng": _seed(rng)}),
    ]


def _correlated_rgb(rng, shape):
    """Colour images whose channels are correlated (as in photographs), values in about [0, 1]."""
    N, H, W = shape
    mix = np.array([[0.5, 0.4, 0.3], [0.1, 0.2, 0.1], [0.05, -0.05, 0.1]])
    X = 0.2 + rng.random((N, H, W, 3)) @ mix
    return X


def _pca_cases(rng):
    return [
        Case("colour images (N, H, W, C) = (3, 4, 5, 3) with correlated channels", {"X": _correlated_rgb(rng, (3, 4, 5))}),
        Case("colour images (2, 6, 6, 3)", {"X": _correlated_rgb(rng, (2, 6, 6))}),
    ]


def _rotation(rng):
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))   # a random orthogonal matrix, not symmetric


def _pca_color_case(rng, label, X, std) -> Case:
    eigvals = np.sort(rng.uniform(0.002, 0.08, 3))[::-1].copy()
    return Case(label, {"X": X, "eigvals": eigvals, "eigvecs": _rotation(rng), "alpha_std": std, "rng": _seed(rng)})


def _pca_color_cases(rng):
    return [
        _pca_color_case(rng, "colour images (N, H, W, C) = (5, 4, 6, 3) in [0.3, 0.7], alpha_std = 0.1 (no clipping)",
                        _images(rng, (5, 4, 6, 3), 0.3, 0.7), 0.1),
        _pca_color_case(rng, "colour images with pixels near 0 and 1, alpha_std = 1.0 (needs clipping)",
                        _images(rng, (4, 3, 5, 3), saturate=True), 1.0),
    ]


def _early_stopping_cases(rng):
    t = np.arange(30)
    u_shape = 1.0 / (1 + t) + 0.004 * t + 0.01 * rng.standard_normal(30)   # falls, then rises (noisy)
    return [
        Case("the loss stops improving after epoch 1, patience = 2",
             {"val_losses": [1.0, 0.8, 0.9, 0.85, 0.7, 0.6], "patience": 2}),
        Case("a loss that improves every epoch (never stops: the last epoch)",
             {"val_losses": [0.9, 0.7, 0.6, 0.55, 0.5], "patience": 2}),
        Case("ties are not improvements, patience = 2",
             {"val_losses": [1.0, 0.5, 0.5, 0.5, 0.4], "patience": 2}),
        Case("patience = 1: stop at the first epoch that does not improve",
             {"val_losses": [0.5, 0.6, 0.4], "patience": 1}),
        Case("a noisy U-shaped curve of 30 epochs (an array), patience = 5",
             {"val_losses": u_shape, "patience": 5}),
    ]



# ---------------------------------------------------------------- the regularized network (fc_net_loss)
NET_H = 1e-5          # the numeric-gradient step of check_fc_net_loss
NET_MARGIN = 1e-3     # every ReLU input of a case is at least this far from 0 (no kink within a step)
NET_RTOL, NET_ATOL = 1e-5, 1e-7   # the numeric-gradient comparison: |a - n| <= rtol (|a| + |n|) + atol
NET_NUMERIC = 40      # the numeric gradient covers every entry of a case with at most this many parameters,
                      # and a fixed random sample of this many entries of a larger one


def _net_params(rng, dims, scale=1.0) -> dict[str, np.ndarray]:
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = scale * rng.standard_normal((dims[l - 1], dims[l])) / np.sqrt(dims[l - 1])
        params[f"b{l}"] = 0.1 * rng.standard_normal(dims[l])
    return params


def _relu_margin(params, X, keep_prob, rng) -> float:
    """The smallest |ReLU input| of the network on X, with the masks the docstring specifies (drawn from a
    copy of rng): a case must keep every ReLU input farther from 0 than a numeric-gradient step moves it."""
    rng = copy.deepcopy(rng)
    L, h, margin = len(params) // 2, X, np.inf
    for l in range(1, L):
        a = h @ params[f"W{l}"] + params[f"b{l}"]
        margin = min(margin, float(np.min(np.abs(a))))
        h = np.maximum(a, 0.0)
        if keep_prob < 1:
            h = h * (rng.random(h.shape) < keep_prob) / keep_prob
    return margin


def _net_case(rng, label, dims, N, reg, keep_prob, scale=1.0) -> Case:
    """A network case whose ReLU inputs all keep NET_MARGIN from 0 (redrawn until they do)."""
    for _ in range(200):
        params = _net_params(rng, dims, scale)
        X = rng.standard_normal((N, dims[0]))
        y = rng.integers(0, dims[-1], size=N)
        g = _seed(rng)
        if _relu_margin(params, X, keep_prob, g) > NET_MARGIN:
            break
    return Case(label, {"params": params, "X": X, "y": y, "reg": reg, "keep_prob": keep_prob, "rng": g})


def _net_cases(rng):
    return [
        _net_case(rng, "one hidden layer (D, H, C) = (5, 6, 3), N = 4, reg = 0, keep_prob = 1: the data loss alone",
                  [5, 6, 3], 4, 0.0, 1.0),
        _net_case(rng, "two hidden layers (4, 5, 4, 3), N = 5, reg = 0.1, keep_prob = 1: data loss and L2 penalty",
                  [4, 5, 4, 3], 5, 0.1, 1.0),
        _net_case(rng, "two hidden layers (4, 6, 5, 3), N = 5, reg = 0.05, keep_prob = 0.6: penalty and dropout",
                  [4, 6, 5, 3], 5, 0.05, 0.6),
        _net_case(rng, "no hidden layer (a softmax classifier, D = 4, C = 3), N = 6, reg = 0.3", [4, 3], 6, 0.3, 1.0),
    ]


CASES = {
    "l2_penalty": lambda rng: _penalty_cases(rng, zeros=False),
    "l1_penalty": lambda rng: _penalty_cases(rng, zeros=True),
    "dropout_forward": _dropout_forward_cases,
    "dropout_backward": lambda rng: _with_dout(rng, _dropout_forward_cases(rng)),
    "random_crop": _crop_cases,
    "random_flip": _flip_cases,
    "random_shift": _shift_cases,
    "color_jitter": _jitter_cases,
    "pixel_pca": _pca_cases,
    "pca_color_augmentation": _pca_color_cases,
    "early_stopping": _early_stopping_cases,
    "fc_net_loss": _net_cases,
}


# ---------------------------------------------------------------- shared pieces
def _check_penalty(penalty, name: str, kind: str, hidden: bool):
    is_weight = lambda key: key.startswith("W")
    for case in cases(TOPIC, name, hidden):
        weights, reg = case.args["weights"], case.args["reg"]
        try:
            out = call(penalty, name, case)
        except CheckFailure as err:
            zeros = any(np.any(w == 0) for k, w in weights.items() if is_weight(k))
            if kind == "l1" and zeros and "floating-point" in str(err):
                fail(f"{name} produced 0/0 (NaN) on a weight matrix with entries exactly 0. |w| has no derivative "
                     "at w = 0, so a formula such as w / |w| breaks there. Any value in [-1, 1] is a subgradient of "
                     "|w| at 0 (the slope of a line touching |w| at 0 from below); the docstring asks for 0 there, "
                     "which np.sign gives (np.sign(0) = 0).", case)
            raise
        loss, grads = expect_tuple(out, ("loss", "grads"), name, case)
        loss = expect_scalar(loss, f"the loss returned by {name}", case)
        exp_loss, exp_grads = case.expected
        _expect_grads_dict(grads, weights, "`weights`", case,
                           "with the same shape: the penalty gradient for weight matrices, zeros for everything else")
        others = [k for k in weights if not is_weight(k)]
        hint = None
        penalised_all = 0.5 * reg * sum(float(np.sum(v ** 2)) for v in weights.values()) if kind == "l2" \
            else reg * sum(float(np.sum(np.abs(v))) for v in weights.values())
        if reg and others and np.isclose(loss, penalised_all, rtol=1e-9):
            hint = f"the biases (and other non-weight parameters {others}) are penalised too: only keys starting with 'W'."
        elif reg and exp_loss and np.isclose(loss, 2 * exp_loss, rtol=1e-9):
            hint = "the loss is twice too large: the L2 penalty is 0.5 * reg * sum(W**2)."
        elif reg and exp_loss and np.isclose(loss, 0.5 * exp_loss, rtol=1e-9):
            hint = "the loss is half too small: the L1 penalty is reg * sum(|W|), with no factor 0.5."
        expect_close(loss, exp_loss, f"the loss returned by {name}", case, RTOL, ATOL, hint)
        for key, w in weights.items():
            g = expect_array(grads[key], f"grads[{key!r}]", case, shape=w.shape)
            hint = None
            if not is_weight(key) and np.any(g != 0):
                hint = f"{key!r} is not a weight matrix (its name does not start with 'W'): its gradient is all zeros."
            else:
                r = ratio(g, exp_grads[key])
                if r is not None and np.isclose(r, 2):
                    hint = "the gradient is doubled: d/dW of 0.5 * reg * sum(W**2) is reg * W (the 0.5 cancels the 2)."
                elif r is not None and np.isclose(r, -1):
                    hint = ("the gradient has the wrong sign: the penalty grows with |W|, so its gradient points away "
                            "from 0 (reg * sign(W) for L1, reg * W for L2).")
                elif kind == "l1" and np.any((w == 0) & (g != 0)):
                    hint = "at W = 0 use the subgradient 0 (np.sign(0) = 0)."
            expect_close(g, exp_grads[key], f"grads[{key!r}]", case, RTOL, ATOL, hint)
        # the gradient of *your* loss, by centred differences in float64, must agree with *your* grads
        # (on the cases with at most 60 parameters: two calls per entry)
        for key, w in (weights.items() if sum(v.size for v in weights.values()) <= 60 else []):
            def f(p, key=key):
                trial = dict(weights)
                trial[key] = p
                return expect_scalar(penalty(trial, reg)[0], f"the loss returned by {name}", case)
            numeric = numerical_gradient(f, np.array(w, dtype=np.float64))
            expect_gradient(grads[key], numeric, f"grads[{key!r}]", case, tol=1e-7)


def _expect_grads_dict(grads, params: dict, what: str, case, why: str) -> None:
    """``grads`` is a dict with exactly the keys of ``params`` (``what`` names them in the message)."""
    if not isinstance(grads, dict):
        fail(f"grads should be a dict (one entry per key of {what}), but it is a {type(grads).__name__}.", case)
    missing = [k for k in params if k not in grads]
    if missing:
        fail(f"grads has no entry for {missing}. It needs one entry for every key of {what} ({why}).", case)
    extra = [k for k in grads if k not in params]
    if extra:
        fail(f"grads has keys that are not in {what}: {extra}.", case)


# ---------------------------------------------------------------- the checks
@reporting("loss = 0.5 * reg * sum(W**2) over the 'W' keys only, grads for every key (zeros for biases), "
           "within 1e-9 of the reference and equal to the numeric gradient, inputs untouched")
def check_l2_penalty(l2_penalty, *, hidden=False):
    """Check ``l2_penalty(weights, reg) -> (loss, grads)``."""
    _check_penalty(l2_penalty, "l2_penalty", "l2", hidden)


@reporting("loss = reg * sum(|W|) over the 'W' keys only, grads = reg * sign(W) (0 at W = 0, zeros for "
           "biases), within 1e-9 of the reference and equal to the numeric gradient, inputs untouched")
def check_l1_penalty(l1_penalty, *, hidden=False):
    """Check ``l1_penalty(weights, reg) -> (loss, grads)``."""
    _check_penalty(l1_penalty, "l1_penalty", "l1", hidden)


def _check_dropout_statistics(dropout_forward, seed: int = 11):
    """Statistical properties on 100,000 units, with tolerances that cannot flake.

    x has entries in [0.5, 1.5] (mean ~1). The fraction of kept units has standard deviation
    sqrt(p (1 - p) / n) <= 0.5 / sqrt(1e5) = 0.0016, so the tolerance 0.02 is over 12 standard
    deviations. Each out_i = x_i m_i / p has variance <= E[x^2] / p <= 2.25 / 0.3 = 7.5, so mean(out)
    has standard deviation <= sqrt(7.5 / 1e5) = 0.0087 and the tolerance 0.06 is about 7 of them
    (probability below 1e-11 for any seed). The mistakes this catches are off by 0.2 or more.
    """
    srng = np.random.default_rng(seed)
    x = 0.5 + srng.random((200, 500))
    for p in (0.3, 0.8):
        case = Case(f"train mode, x of shape (200, 500) with entries in [0.5, 1.5], keep_prob = {p}",
                    {"x": x, "keep_prob": p, "mode": "train", "rng": _seed(srng)})
        out = expect_tuple(call(dropout_forward, "dropout_forward", case), ("out", "cache"), "dropout_forward", case)[0]
        out = expect_array(out, "out returned by dropout_forward", case, shape=x.shape)
        kept = float(np.mean(out != 0))
        if not abs(kept - p) <= 0.02:
            hint = ("you keep a unit with probability 1 - keep_prob: keep_prob is the probability of KEEPING "
                    "a unit (mask = rng.random(x.shape) < keep_prob).") if abs(kept - (1 - p)) <= 0.02 else None
            fail(f"dropout_forward kept a fraction {kept:.4f} of the units; expected about keep_prob = {p} "
                 "(allowed deviation 0.02, over 12 standard deviations).", case, hint)
        mean_in, mean_out = float(x.mean()), float(out.mean())
        if not abs(mean_out - mean_in) <= 0.06:
            hint = None
            if abs(mean_out - p * mean_in) <= 0.06:
                hint = ("the output's mean is keep_prob times the input's: this is not inverted dropout. "
                        "Divide the kept units by keep_prob, so that E[out] = x and test mode needs no change.")
            fail(f"in train mode the mean of out should match the mean of x in expectation: mean(x) = {mean_in:.4f}, "
                 f"mean(out) = {mean_out:.4f} (allowed deviation 0.06, about 7 standard deviations).", case, hint)


def _spec_mask(x, keep_prob, mode, rng) -> np.ndarray:
    """The mask the docstring specifies, drawn from a copy of ``rng`` (all ones in test mode)."""
    if mode != "train":
        return np.ones(np.shape(x), dtype=bool)
    return copy.deepcopy(rng).random(np.shape(x)) < keep_prob


@reporting("inverted dropout: mask rng.random(x.shape) < keep_prob scaled by 1/keep_prob in train mode, "
           "identity without drawing in test mode, outputs equal to the reference, kept fraction ~ keep_prob "
           "and E[out] ~ x on 100,000 units")
def check_dropout_forward(dropout_forward, *, hidden=False):
    """Check ``dropout_forward(x, keep_prob, mode, rng) -> (out, cache)``; the cache is yours to design
    (check_dropout_backward hands it to your dropout_backward)."""
    cases_ = cases(TOPIC, "dropout_forward", hidden)
    # the statistics' inputs: fixed for the visible check, drawn along with the cases for a hidden one
    stats_seed = int(copy.deepcopy(cases_[0].args["rng"]).integers(2 ** 31)) if hidden else 11
    for case in cases_:
        x, keep_prob, mode, rng = (case.args[k] for k in ("x", "keep_prob", "mode", "rng"))
        state = copy.deepcopy(rng.bit_generator.state)
        exp_mask = _spec_mask(x, keep_prob, mode, rng)
        out, _ = expect_tuple(call(dropout_forward, "dropout_forward", case), ("out", "cache"), "dropout_forward",
                              case, "end the function with `return out, cache`.")
        out = expect_array(out, "out returned by dropout_forward", case, shape=x.shape)
        exp_out = case.expected[0]
        if mode == "test":
            expect_close(out, x, "out in test mode", case, rtol=0, atol=0,
                         hint="in test mode inverted dropout is the identity: no mask and no scaling (the "
                              "1 / keep_prob in training already keeps the expected activation equal to x).")
            if rng.bit_generator.state != state:
                fail("dropout_forward drew random numbers from rng in test mode. Test mode uses no mask, so it "
                     "must leave rng untouched (a later draw would otherwise change).", case)
        else:
            hint = None
            r = ratio(out, exp_out)
            if r is not None and np.isclose(r, keep_prob) and keep_prob != 1:
                hint = ("out is keep_prob times the expected output: divide the kept units by keep_prob "
                        "(inverted dropout), so that E[out] = x.")
            elif np.array_equal(out != 0, ~exp_mask & (x != 0)):
                hint = ("you kept exactly the units that should be dropped: keep a unit where "
                        "rng.random(x.shape) < keep_prob.")
            elif not np.array_equal(out != 0, exp_mask & (x != 0)):
                hint = ("the wrong units are kept. Draw the mask as rng.random(x.shape) < keep_prob, once, "
                        "before any other draw.")
            expect_close(out, exp_out, "out returned by dropout_forward", case, RTOL, ATOL, hint)
    _check_dropout_statistics(dropout_forward, stats_seed)


@reporting("with the cache of your own dropout_forward: dx = dout * mask / keep_prob in train mode (the mask "
           "your forward drew) and dx = dout in test mode, equal to the reference and to a numeric gradient "
           "with the mask fixed, inputs untouched")
def check_dropout_backward(dropout_backward, *, forward, hidden=False):
    """Check ``dropout_backward(dout, cache) -> dx``, where ``cache`` is whatever your ``dropout_forward``
    (passed as ``forward``) returned: the check calls it on each input (it must pass its own check) and
    hands its cache to ``dropout_backward``."""
    pairs = list(zip(cases(TOPIC, "dropout_forward", hidden), cases(TOPIC, "dropout_backward", hidden)))
    for fcase, bcase in pairs:
        assert fcase.label == bcase.label, "forward and backward fixtures are out of step"
        x, keep_prob, mode, rng = (fcase.args[k] for k in ("x", "keep_prob", "mode", "rng"))
        dout = bcase.args["dout"]
        mask = _spec_mask(x, keep_prob, mode, rng)   # the units the forward keeps (rng is still fresh here)
        what = "out returned by dropout_forward (this check calls it to get your cache)"
        out, cache = expect_tuple(call(forward, "dropout_forward", fcase), ("out", "cache"), "dropout_forward",
                                  fcase, "end the function with `return out, cache`.")
        out = expect_array(out, what, fcase, shape=x.shape)
        expect_close(out, fcase.expected[0], what, fcase, RTOL, ATOL,
                     "dropout_forward fails its own check above: fix it first.")
        case = Case(fcase.label, {"x": x, "keep_prob": keep_prob, "mode": mode, "dout": dout})
        dx = expect_array(call(lambda *args: dropout_backward(dout, cache), "dropout_backward", case),
                          "dx returned by dropout_backward", case, shape=dout.shape)
        hint = None
        if mode == "test":
            expect_close(dx, dout, "dx returned by dropout_backward in test mode", case, rtol=0, atol=0,
                         hint="in test mode dropout is the identity, so dx = dout (there is no mask and no scale).")
        else:
            r = ratio(dx, bcase.expected)
            if r is not None and np.isclose(r, keep_prob) and keep_prob != 1:
                hint = "dx is missing the 1 / keep_prob: the forward pass scaled the kept units, so the gradient is scaled too."
            elif r is not None and np.isclose(r, keep_prob ** 2) and keep_prob != 1:
                hint = "dx is multiplied by keep_prob instead of divided by it."
            elif np.any((dx != 0) & ~mask):
                hint = ("dx is non-zero for dropped units: a dropped unit did not affect the output, so its "
                        "gradient is 0 (multiply by the mask of the forward pass, kept in your cache).")
            expect_close(dx, bcase.expected, "dx returned by dropout_backward", case, RTOL, ATOL, hint)
        # with the mask fixed, the forward pass is x -> x * mask / keep_prob (train) or x (test): compare with
        # centred differences
        fixed = (lambda v: v * mask / keep_prob) if mode == "train" else (lambda v: v)
        x_num = np.random.default_rng(3).standard_normal(dout.shape)
        numeric = numerical_gradient_array(fixed, x_num, dout)
        expect_gradient(dx, numeric, "dx returned by dropout_backward", case, tol=1e-7, hint=hint)


@reporting("shape (N, crop_h, crop_w[, C]), windows at offsets tops = rng.integers(0, H - crop_h + 1, size=N) "
           "then lefts = rng.integers(0, W - crop_w + 1, size=N), equal to the reference, input untouched")
def check_random_crop(random_crop, *, hidden=False):
    """Check ``random_crop(X, crop_h, crop_w, rng) -> crops``."""
    for case in cases(TOPIC, "random_crop", hidden):
        X, ch, cw = case.args["X"], case.args["crop_h"], case.args["crop_w"]
        shape = (X.shape[0], ch, cw, *X.shape[3:])
        out = expect_array(call(random_crop, "random_crop", case), "the output of random_crop", case, shape=shape)
        H, W = X.shape[1:3]
        windows = all(any(np.array_equal(out[i], X[i, t:t + ch, l:l + cw]) for t in range(H - ch + 1)
                          for l in range(W - cw + 1)) for i in range(len(X)))
        if not windows:
            hint = ("an output is not a crop_h x crop_w window of its input image (rows are axis 1, columns "
                    "axis 2; the offsets must keep the window inside the image).")
        else:
            hint = ("each output is a window of its image, but not at the expected offsets: draw "
                    "tops = rng.integers(0, H - crop_h + 1, size=N) first, then lefts = rng.integers(0, "
                    "W - crop_w + 1, size=N) (the upper bound is exclusive), one offset pair per image.")
        expect_close(out, case.expected, "the output of random_crop", case, RTOL, ATOL, hint)


@reporting("image i is mirrored left-right (its width axis reversed) where rng.random(N)[i] < 0.5, colour "
           "channels untouched, equal to the reference, input untouched")
def check_random_flip(random_flip, *, hidden=False):
    """Check ``random_flip(X, rng) -> flipped``."""
    for case in cases(TOPIC, "random_flip", hidden):
        X = case.args["X"]
        out = expect_array(call(random_flip, "random_flip", case), "the output of random_flip", case, shape=X.shape)
        hint = None
        per_image = lambda f: all(np.array_equal(out[i], X[i]) or np.array_equal(out[i], f(X[i])) for i in range(len(X)))
        if not per_image(lambda im: im[:, ::-1]):
            if per_image(lambda im: im[::-1]):
                hint = "you flipped upside down (the rows, axis 1 of X); a horizontal flip reverses the columns, axis 2 of X."
            elif X.ndim == 4 and per_image(lambda im: im[..., ::-1]):
                hint = ("you reversed the colour channels (the last axis); for (N, H, W, C) images the width is "
                        "axis 2 of X, not the last axis.")
        elif np.array_equal(out, X[:, :, ::-1]):
            hint = "every image is flipped: flip image i only where rng.random(N)[i] < 0.5."
        else:
            hint = "the right kind of flip, applied to the wrong images: flip image i where rng.random(N)[i] < 0.5."
        expect_close(out, case.expected, "the output of random_flip", case, RTOL, ATOL, hint)


@reporting("image i moved down by dys[i] and right by dxs[i] (dys, then dxs = rng.integers(-max_shift, "
           "max_shift + 1, size=N)), vacated pixels 0, equal to the reference, input untouched")
def check_random_shift(random_shift, *, hidden=False):
    """Check ``random_shift(X, max_shift, rng) -> shifted``."""
    for case in cases(TOPIC, "random_shift", hidden):
        X = case.args["X"]
        out = expect_array(call(random_shift, "random_shift", case), "the output of random_shift", case, shape=X.shape)
        expected = np.asarray(case.expected)
        hint = None
        if np.any((expected == 0) & (out != 0)) and np.isclose(np.sort(out.ravel()), np.sort(X.ravel())).all():
            hint = ("no pixel is lost: the image wraps around (np.roll). Pixels shifted out of the image are "
                    "dropped and the vacated ones are set to 0.")
        else:
            hint = ("draw dys = rng.integers(-max_shift, max_shift + 1, size=N) first, then dxs the same way; "
                    "a positive dy moves the content DOWN (out[i, y + dy, x + dx] = X[i, y, x]).")
        expect_close(out, expected, "the output of random_shift", case, RTOL, ATOL, hint)


@reporting("out_i = clip(c_i * (X_i - mean(X_i)) + mean(X_i) + b_i, 0, 1) with b, then c drawn from rng, "
           "equal to the reference, input untouched")
def check_color_jitter(color_jitter, *, hidden=False):
    """Check ``color_jitter(X, brightness, contrast, rng) -> jittered``."""
    for case in cases(TOPIC, "color_jitter", hidden):
        X = case.args["X"]
        out = expect_array(call(color_jitter, "color_jitter", case), "the output of color_jitter", case, shape=X.shape)
        hint = None
        if out.min() < 0 or out.max() > 1:
            hint = f"values from {out.min():.3f} to {out.max():.3f}: clip the result to [0, 1] (np.clip)."
        else:
            hint = ("draw b = rng.uniform(-brightness, brightness, size=N) first, then c = rng.uniform(1 - contrast, "
                    "1 + contrast, size=N); the mean is one number per image (over all its pixels and channels), "
                    "and contrast scales the distance from that mean.")
        expect_close(out, case.expected, "the output of color_jitter", case, RTOL, ATOL, hint)


@reporting("eigenvalues of the RGB pixel covariance (divided by M) in decreasing order, unit eigenvectors "
           "as columns (up to sign), within 1e-9 of the reference, input untouched")
def check_pixel_pca(pixel_pca, *, hidden=False):
    """Check ``pixel_pca(X) -> (eigvals, eigvecs)``."""
    for case in cases(TOPIC, "pixel_pca", hidden):
        X = case.args["X"]
        eigvals, eigvecs = expect_tuple(call(pixel_pca, "pixel_pca", case), ("eigvals", "eigvecs"), "pixel_pca", case)
        eigvals = expect_array(eigvals, "eigvals returned by pixel_pca", case, shape=(3,))
        eigvecs = expect_array(eigvecs, "eigvecs returned by pixel_pca", case, shape=(3, 3))
        exp_vals, exp_vecs = (np.asarray(a) for a in case.expected)
        M = X.size // 3
        hint = None
        if np.allclose(eigvals, exp_vals[::-1], rtol=1e-6):
            hint = "the eigenvalues are in increasing order (np.linalg.eigh's order): reverse them, largest first."
        elif np.allclose(eigvals, exp_vals * M / (M - 1), rtol=1e-6):
            hint = f"divide the covariance by M = {M} (the number of pixels), not M - 1 (np.cov's default)."
        elif np.all(np.diff(eigvals) <= 0) and eigvals[0] > exp_vals[0] * (1 + 1e-6):
            hint = "subtract the mean colour from every pixel before forming the covariance."
        expect_close(eigvals, exp_vals, "eigvals returned by pixel_pca", case, RTOL, ATOL, hint)
        hint = None
        if np.allclose(np.abs(eigvecs.T), np.abs(exp_vecs), atol=1e-6) and \
                not np.allclose(np.abs(eigvecs), np.abs(exp_vecs), atol=1e-6):
            hint = "the eigenvectors are the rows of your matrix; they should be its columns (eigvecs[:, k])."
        elif not np.allclose(eigvecs.T @ eigvecs, np.eye(3), atol=1e-8):
            hint = "the columns should be orthonormal unit eigenvectors of the covariance."
        signs = np.sign(np.sum(eigvecs * exp_vecs, axis=0))   # an eigenvector's sign is arbitrary
        signs[signs == 0] = 1.0
        expect_close(eigvecs * signs, exp_vecs, "eigvecs returned by pixel_pca (each column up to sign)", case,
                     1e-7, 1e-9, hint)


@reporting("out_i = clip(X_i + eigvecs @ (alpha_i * sqrt(eigvals)), 0, 1), alpha = rng.normal(0, alpha_std, "
           "size=(N, 3)), one colour offset per image, equal to the reference, inputs untouched")
def check_pca_color_augmentation(pca_color_augmentation, *, hidden=False):
    """Check ``pca_color_augmentation(X, eigvals, eigvecs, alpha_std, rng) -> augmented``."""
    for case in cases(TOPIC, "pca_color_augmentation", hidden):
        X, lam, V, std, rng = (case.args[k] for k in ("X", "eigvals", "eigvecs", "alpha_std", "rng"))
        alpha = copy.deepcopy(rng).normal(0.0, std, size=(len(X), 3))   # the draws the docstring specifies
        out = expect_array(call(pca_color_augmentation, "pca_color_augmentation", case),
                           "the output of pca_color_augmentation", case, shape=X.shape)
        hint = None
        interior = (case.expected > 0) & (case.expected < 1)
        offsets = out - X
        candidates = {
            "the offsets scale alpha by the eigenvalues themselves. AlexNet's paper writes alpha_i * lambda_i, but "
            "this course (and the docstring) uses alpha_i * sqrt(lambda_i): the standard deviation along each "
            "principal component, which has the units of a pixel value (see the text above the exercise).":
                (alpha * lam) @ V.T,
            "the offsets combine the rows of eigvecs; the eigenvectors are its columns, so the offset is "
            "eigvecs @ (alpha_i * sqrt(eigvals)).": (alpha * np.sqrt(lam)) @ V,
        }
        for text, off in candidates.items():
            if np.allclose(offsets[interior], np.broadcast_to(off[:, None, None, :], X.shape)[interior], atol=1e-9):
                hint = text
        if hint is None and (out.min() < 0 or out.max() > 1):
            hint = f"values from {out.min():.3f} to {out.max():.3f}: clip the result to [0, 1] (np.clip)."
        if hint is None:
            hint = ("draw alpha = rng.normal(0, alpha_std, size=(N, 3)) (one row per image) and add the same "
                    "offset eigvecs @ (alpha_i * sqrt(eigvals)) to every pixel of image i.")
        expect_close(out, case.expected, "the output of pca_color_augmentation", case, RTOL, ATOL, hint)


def _stop_comparing_with_previous(losses, patience) -> int:
    """The stop epoch when "improves" is read as "lower than the epoch before" (a common misreading)."""
    since = 0
    for t in range(1, len(losses)):
        since = 0 if losses[t] < losses[t - 1] else since + 1
        if since >= patience:
            return t
    return len(losses) - 1


def _as_int(value, what, case):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        fail(f"{what} should be an int (an epoch index), but it is {type(value).__name__} ({value!r:.40}).", case)
    return int(value)


@reporting("(stop_epoch, best_epoch) as ints equal to the reference: stop once patience epochs in a row have "
           "not improved (strictly) on the best loss, else the last epoch; input untouched")
def check_early_stopping(early_stopping, *, hidden=False):
    """Check ``early_stopping(val_losses, patience) -> (stop_epoch, best_epoch)``."""
    for case in cases(TOPIC, "early_stopping", hidden):
        losses, patience = case.args["val_losses"], case.args["patience"]
        E = len(losses)
        stop, best = expect_tuple(call(early_stopping, "early_stopping", case), ("stop_epoch", "best_epoch"),
                                  "early_stopping", case)
        stop, best = _as_int(stop, "stop_epoch", case), _as_int(best, "best_epoch", case)
        exp_stop, exp_best = case.expected
        if stop != exp_stop:
            seen = [float(v) for v in losses[:min(max(stop, exp_stop), E - 1) + 1]]
            tie = any(seen[t] == min(seen[:t]) for t in range(1, len(seen)))
            previous = ("you count the epochs whose loss is not lower than the epoch BEFORE it. An epoch improves "
                        "only if it beats the best loss so far: after a dip and a small recovery, a loss can fall "
                        "from one epoch to the next and still be worse than the best. Keep the best loss and its "
                        "epoch, and stop when t - best_epoch >= patience.")
            if stop == _stop_comparing_with_previous(losses, patience) != exp_stop and stop < exp_stop:
                hint = previous
            elif stop == _stop_comparing_with_previous(losses, patience) != exp_stop and not tie:
                hint = ("one of two mistakes gives this stop epoch here. Either " + previous[:-1] + "; or you stop "
                        "when the count of epochs without improvement EXCEEDS patience (`>` instead of `>=` is off by "
                        "one).")
            elif stop == E and exp_stop == E - 1:
                hint = f"epochs are numbered from 0: when training never stops early, stop_epoch is the last one, E - 1 = {E - 1}."
            elif stop > exp_stop and tie:
                hint = ("a loss equal to the best so far is not an improvement: only a strictly lower loss "
                        "resets the count.")
            elif stop == exp_stop + 1 and stop != E:
                hint = ("you stop one epoch too late: stop at the first epoch t with t - best_epoch >= patience (when "
                        "the count of epochs without improvement REACHES patience; `>` instead of `>=` is off by one).")
            elif stop == exp_stop - 1:
                hint = ("you stop one epoch too early: count only the epochs after the best one (t - best_epoch), "
                        "not the best epoch itself (off by one).")
            elif stop > exp_stop:
                hint = ("you stop too late. Stop at the first epoch t with t - best_epoch >= patience, where "
                        "best_epoch is the epoch of the lowest loss so far.")
            else:
                hint = ("you stop too early. Count only the epochs since the best one (t - best_epoch), where an "
                        "epoch improves when its loss is strictly lower than the best loss so far.")
            fail(f"stop_epoch is {stop}, expected {exp_stop} (with {E} epochs, numbered 0..{E - 1}, and "
                 f"patience = {patience}).", case, hint)
        if best != exp_best:
            hint = None
            if best > stop:
                hint = "best_epoch must be at or before stop_epoch: later epochs were never run."
            elif np.isclose(losses[best], losses[exp_best]):
                hint = "on ties, the best epoch is the FIRST with the lowest loss (a tie is no improvement)."
            fail(f"best_epoch is {best}, expected {exp_best}.", case, hint)


def _net_numeric(fc_net_loss, case, analytic: dict) -> None:
    """The gradient of the student's own loss by centred differences in float64, every evaluation with a
    copy of the case's generator (the same dropout masks each time), on every entry of a small case and a
    fixed random sample of NET_NUMERIC entries of a larger one; all evaluations in one batch."""
    params = case.args["params"]
    rest = [case.args[k] for k in ("X", "y", "reg", "keep_prob")]
    entries = [(name, i) for name, p in params.items() for i in np.ndindex(p.shape)]
    if len(entries) > NET_NUMERIC:
        pick = np.random.default_rng(7).choice(len(entries), NET_NUMERIC, replace=False)
        entries = [entries[k] for k in sorted(pick)]
    calls = []
    for name, i in entries:
        for step in (NET_H, -NET_H):
            p = params[name].copy()
            p[i] += step
            calls.append(([{**params, name: p}, *rest, copy.deepcopy(case.args["rng"])], {}))
    stand_ins = prefetch(fc_net_loss, calls, keep=1)
    values = []
    for stand_in, (args, _) in zip(stand_ins, calls):
        trial = Case(case.label, dict(zip(case.args, args)))
        out = call(stand_in, "fc_net_loss", trial)
        loss = out[0] if isinstance(out, tuple) and out else out
        values.append(expect_scalar(loss, "the loss returned by fc_net_loss", case))
    numeric = {name: [] for name in params}
    mine = {name: [] for name in params}
    for k, (name, i) in enumerate(entries):
        numeric[name].append((values[2 * k] - values[2 * k + 1]) / (2 * NET_H))
        mine[name].append(analytic[name][i])
    for name in params:
        if not numeric[name]:
            continue
        a, n = np.array(mine[name]), np.array(numeric[name])
        # centred differences in float64 carry ~1e-10 of rounding error; entries whose gradient is (nearly) 0
        # (a dropped unit) would make a purely relative comparison flaky, hence the small absolute floor
        bad = np.abs(a - n) > NET_RTOL * (np.abs(a) + np.abs(n)) + NET_ATOL
        if np.any(bad):
            k = int(np.argmax(bad))
            name_i = [i for nm, i in entries if nm == name][k]
            fail(f"grads[{name!r}] does not match the numeric gradient of your own loss (centred differences in "
                 f"float64, step {NET_H:g}, the same dropout masks at every evaluation): at entry {name_i} the "
                 f"numeric gradient is {n[k]:.8g}, yours {a[k]:.8g}.", case,
                 "your gradients do not match your own loss. Check the backward pass layer by layer, last layer "
                 "first, each with the cache of its own forward step.")


@reporting("loss = mean softmax cross-entropy + L2 penalty of the weight matrices, dropout after every hidden "
           "ReLU with the masks your dropout_forward draws from rng (hidden layer 1 first); grads for every "
           "parameter within 1e-9 of the reference and equal to the numeric gradient of your loss; inputs "
           "untouched")
def check_fc_net_loss(fc_net_loss, *, hidden=False):
    """Check ``fc_net_loss(params, X, y, reg, keep_prob, rng) -> (loss, grads)``."""
    for case in cases(TOPIC, "fc_net_loss", hidden):
        params, reg, keep_prob = case.args["params"], case.args["reg"], case.args["keep_prob"]
        fresh = copy.deepcopy(case.args["rng"])   # the generator as the case hands it over
        out = call(fc_net_loss, "fc_net_loss", case)
        loss, grads = expect_tuple(out, ("loss", "grads"), "fc_net_loss", case,
                                   "end the function with `return loss, grads`.")
        case.args["rng"] = fresh                  # later calls start from the same generator state
        loss = expect_scalar(loss, "the loss returned by fc_net_loss", case)
        exp_loss, exp_grads = case.expected
        _expect_grads_dict(grads, params, "params", case,
                           "a bias gets its data gradient even though it is not penalised")
        weights = 0.5 * reg * sum(float(np.sum(v * v)) for k, v in params.items() if k.startswith("W"))
        biases = 0.5 * reg * sum(float(np.sum(v * v)) for k, v in params.items() if not k.startswith("W"))
        hint = None
        if reg and np.isclose(loss, exp_loss - weights, rtol=1e-9, atol=1e-12):
            hint = "the loss has no penalty: add your l2_penalty(params, reg) to the data loss."
        elif reg and np.isclose(loss, exp_loss + weights, rtol=1e-9, atol=1e-12):
            hint = "the penalty is counted twice (or without the 0.5 of l2_penalty's convention)."
        elif reg and biases and np.isclose(loss, exp_loss + biases, rtol=1e-9, atol=1e-12):
            hint = "the biases are penalised too: the penalty covers the weight matrices only (use your l2_penalty)."
        elif keep_prob < 1:
            hint = ("the masks differ from the specified ones: call your dropout_forward(h, keep_prob, 'train', rng) "
                    "once per hidden layer, right after its ReLU (never on the input X or on the scores), hidden "
                    "layer 1 first, with the rng you were given.")
        expect_close(loss, exp_loss, "the loss returned by fc_net_loss", case, RTOL, ATOL, hint)
        last = f"W{len(params) // 2}"
        for key, p in params.items():
            g = expect_array(grads[key], f"grads[{key!r}]", case, shape=p.shape)
            diff = g - exp_grads[key]
            hint = None
            if key.startswith("W") and reg and np.allclose(diff, -reg * p, rtol=1e-7, atol=1e-10):
                hint = "the penalty's gradient is missing: add the gradients of your l2_penalty to the data gradients."
            elif key.startswith("W") and reg and np.allclose(diff, reg * p, rtol=1e-7, atol=1e-10):
                hint = "the penalty's gradient is added twice."
            elif not key.startswith("W") and reg and np.allclose(diff, reg * p, rtol=1e-7, atol=1e-10):
                hint = f"{key!r} is a bias: the penalty does not touch it, so its gradient is the data gradient alone."
            elif keep_prob < 1 and key != last and not key.startswith("b" + last[1:]):
                hint = ("check that the backward pass goes through your dropout_backward with the cache of the same "
                        "layer's dropout_forward, before that layer's relu_backward.")
            expect_close(g, exp_grads[key], f"grads[{key!r}]", case, RTOL, ATOL, hint)
        _net_numeric(fc_net_loss, case, {k: plain(v) for k, v in grads.items()})
