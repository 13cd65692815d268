"""The 07_regularization checks accept the reference and reject every wrong implementation in the bank."""
import contextlib
import functools
import types

import numpy as np
import pytest

from graders import reference
from graders import regularization as checks
from graders.fixtures import HIDDEN_SEED, cases, hidden_seed
from wrong import MODE_IDS, MODES, assert_rejects, reference_and_bank_tests, run_check

REF = reference.load("regularization")

# The checks as the bank tests call them: check_dropout_backward is given the reference's dropout_forward,
# whose cache (keep_prob, mode, mask) the wrong backward passes of the bank unpack.
CHECKS = types.SimpleNamespace(**{name: getattr(checks, name) for name in dir(checks) if name.startswith("check_")})
CHECKS.check_dropout_backward = functools.partial(checks.check_dropout_backward, forward=REF.dropout_forward)


# ---------------------------------------------------------------- weight penalties
def _penalty(weights, reg, *, kind="l2", half=True, biases=False, only_w=False, sign=1.0, grad_factor=1.0,
             mutate=False, grad_sign_of_zero=None):
    loss, grads = 0.0, {}
    for name, w in weights.items():
        if name.startswith("W") or biases:
            if kind == "l2":
                loss += (0.5 if half else 1.0) * reg * np.sum(w * w)
                grads[name] = grad_factor * (1.0 if half else 2.0) * reg * w
            else:
                loss += reg * np.sum(np.abs(w))
                g = np.sign(w)
                if grad_sign_of_zero is not None:
                    g = np.where(w == 0, grad_sign_of_zero, g)
                grads[name] = sign * reg * g
            if mutate:
                w *= 1.0 - reg
        elif not only_w:
            grads[name] = np.zeros_like(w)
    return float(loss), grads


def l2_no_half(weights, reg):                  # loss and gradient both twice too large
    return _penalty(weights, reg, half=False)


def l2_gradient_doubled(weights, reg):         # right loss, gradient 2 * reg * W
    return _penalty(weights, reg, grad_factor=2.0)


def l2_penalises_biases(weights, reg):
    return _penalty(weights, reg, biases=True)


def l2_grads_only_for_weights(weights, reg):   # no zero entries for the biases
    return _penalty(weights, reg, only_w=True)


def l2_gradient_sign(weights, reg):
    loss, grads = REF.l2_penalty(weights, reg)
    return loss, {k: -g for k, g in grads.items()}


def l2_decays_in_place(weights, reg):          # applies weight decay to the parameters it was given
    return _penalty(weights, reg, mutate=True)


def l2_sums_first(weights, reg):               # 0.5 * reg * (sum W)**2 instead of sum(W**2)
    loss = sum(0.5 * reg * float(np.sum(w)) ** 2 for k, w in weights.items() if k.startswith("W"))
    return loss, REF.l2_penalty(weights, reg)[1]


def l1_wrong_sign(weights, reg):               # the subgradient with the wrong sign
    return _penalty(weights, reg, kind="l1", sign=-1.0)


def l1_penalises_biases(weights, reg):
    return _penalty(weights, reg, kind="l1", biases=True)


def l1_with_half(weights, reg):                # the L2 convention carried over: 0.5 * reg * sum|W|
    loss, grads = _penalty(weights, reg, kind="l1")
    return 0.5 * loss, {k: 0.5 * g for k, g in grads.items()}


def l1_subgradient_one_at_zero(weights, reg):  # sign(0) taken as +1 (e.g. np.where(W >= 0, 1, -1))
    return _penalty(weights, reg, kind="l1", grad_sign_of_zero=1.0)


def l1_divides_by_abs(weights, reg):           # w / |w|: 0/0 at the exact zeros
    loss = sum(reg * float(np.sum(np.abs(w))) for k, w in weights.items() if k.startswith("W"))
    return loss, {k: reg * w / np.abs(w) if k.startswith("W") else np.zeros_like(w) for k, w in weights.items()}


def l1_gradient_of_l2(weights, reg):           # right loss, L2's gradient
    return REF.l1_penalty(weights, reg)[0], REF.l2_penalty(weights, reg)[1]


# ---------------------------------------------------------------- dropout
def dropout_not_inverted(x, keep_prob, mode, rng):
    if mode == "train":
        mask = rng.random(x.shape) < keep_prob
        return x * mask, (keep_prob, mode, mask)
    return x, (keep_prob, mode, None)


def dropout_keep_drop_confused(x, keep_prob, mode, rng):   # keeps with probability 1 - keep_prob
    if mode == "train":
        mask = rng.random(x.shape) < 1 - keep_prob
        return x * mask / keep_prob, (keep_prob, mode, mask)
    return x, (keep_prob, mode, None)


def dropout_keep_drop_confused_scale(x, keep_prob, mode, rng):   # treats keep_prob as the drop probability
    if mode == "train":
        mask = rng.random(x.shape) > keep_prob
        return x * mask / (1 - keep_prob), (keep_prob, mode, mask)
    return x, (keep_prob, mode, None)


def dropout_mask_in_test_mode(x, keep_prob, mode, rng):   # drops units at test time too
    mask = rng.random(x.shape) < keep_prob
    return x * mask / keep_prob, (keep_prob, mode, mask)


def dropout_test_mode_scaled(x, keep_prob, mode, rng):    # inverted AND scaled by p at test time
    if mode == "train":
        return REF.dropout_forward(x, keep_prob, mode, rng)
    return x * keep_prob, (keep_prob, mode, None)


def dropout_draws_in_test_mode(x, keep_prob, mode, rng):  # right output, but consumes random numbers
    mask = rng.random(x.shape) < keep_prob
    if mode == "train":
        return x * mask / keep_prob, (keep_prob, mode, mask)
    return x, (keep_prob, mode, None)


def dropout_greater_equal(x, keep_prob, mode, rng):       # keeps where u >= 1 - p: right rate, other units
    if mode == "train":
        mask = rng.random(x.shape) >= 1 - keep_prob
        return x * mask / keep_prob, (keep_prob, mode, mask)
    return x, (keep_prob, mode, None)


def dropout_mutates_x(x, keep_prob, mode, rng):
    if mode == "train":
        mask = rng.random(x.shape) < keep_prob
        x *= mask / keep_prob
        return x.copy(), (keep_prob, mode, mask)
    return x, (keep_prob, mode, None)


def dropout_backward_no_mask(dout, cache):
    keep_prob, mode, mask = cache
    return dout / keep_prob if mode == "train" else dout


def dropout_backward_no_scale(dout, cache):
    keep_prob, mode, mask = cache
    return dout * mask if mode == "train" else dout


def dropout_backward_times_p(dout, cache):
    keep_prob, mode, mask = cache
    return dout * mask * keep_prob if mode == "train" else dout


def dropout_backward_inverted_mask(dout, cache):          # passes the gradient of the dropped units
    keep_prob, mode, mask = cache
    return dout * ~mask / keep_prob if mode == "train" else dout


def dropout_backward_scales_test_mode(dout, cache):
    keep_prob, mode, mask = cache
    return dout * mask / keep_prob if mode == "train" else dout * keep_prob


# ---------------------------------------------------------------- augmentation
def crop_offsets_out_of_range(X, crop_h, crop_w, rng):    # offsets anywhere in the image: windows run off it
    N, H, W = X.shape[:3]
    tops, lefts = rng.integers(0, H, size=N), rng.integers(0, W, size=N)
    return np.stack([X[i, t:t + crop_h, l:l + crop_w] for i, (t, l) in enumerate(zip(tops, lefts))])


def crop_last_offset_never(X, crop_h, crop_w, rng):       # exclusive upper bound used as inclusive
    N, H, W = X.shape[:3]
    tops, lefts = rng.integers(0, max(H - crop_h, 1), size=N), rng.integers(0, max(W - crop_w, 1), size=N)
    return np.stack([X[i, t:t + crop_h, l:l + crop_w] for i, (t, l) in enumerate(zip(tops, lefts))])


def crop_lefts_first(X, crop_h, crop_w, rng):
    N, H, W = X.shape[:3]
    lefts = rng.integers(0, W - crop_w + 1, size=N)
    tops = rng.integers(0, H - crop_h + 1, size=N)
    return np.stack([X[i, t:t + crop_h, l:l + crop_w] for i, (t, l) in enumerate(zip(tops, lefts))])


def crop_one_offset_for_all(X, crop_h, crop_w, rng):
    N, H, W = X.shape[:3]
    t, l = rng.integers(0, H - crop_h + 1), rng.integers(0, W - crop_w + 1)
    return X[:, t:t + crop_h, l:l + crop_w].copy()


def crop_axes_swapped(X, crop_h, crop_w, rng):           # crop_h applied to the width
    N, H, W = X.shape[:3]
    tops, lefts = rng.integers(0, H - crop_w + 1, size=N), rng.integers(0, W - crop_h + 1, size=N)
    return np.stack([X[i, t:t + crop_w, l:l + crop_h] for i, (t, l) in enumerate(zip(tops, lefts))])


def flip_vertical(X, rng):                                # flips along the wrong axis (rows)
    flip = rng.random(len(X)) < 0.5
    out = X.copy()
    out[flip] = X[flip, ::-1]
    return out


def flip_last_axis(X, rng):                               # right for grey images, reverses RGB for colour
    flip = rng.random(len(X)) < 0.5
    out = X.copy()
    out[flip] = X[flip][..., ::-1]
    return out


def flip_every_image(X, rng):
    rng.random(len(X))
    return X[:, :, ::-1].copy()


def flip_inverted_coin(X, rng):                           # flips where the coin says keep
    flip = rng.random(len(X)) >= 0.5
    out = X.copy()
    out[flip] = X[flip, :, ::-1]
    return out


def shift_wraps_around(X, max_shift, rng):                # np.roll: pixels re-enter at the other edge
    N = len(X)
    dys = rng.integers(-max_shift, max_shift + 1, size=N)
    dxs = rng.integers(-max_shift, max_shift + 1, size=N)
    return np.stack([np.roll(X[i], (dys[i], dxs[i]), axis=(0, 1)) for i in range(N)])


def shift_wrong_direction(X, max_shift, rng):             # positive dy moves up
    N = len(X)
    dys = rng.integers(-max_shift, max_shift + 1, size=N)
    dxs = rng.integers(-max_shift, max_shift + 1, size=N)
    return REF.random_shift(X, max_shift, _FixedDraws([-dys, -dxs]))


def shift_excludes_max(X, max_shift, rng):                # rng.integers(-m, m): +m never drawn
    N = len(X)
    dys = rng.integers(-max_shift, max(max_shift, 1) - (max_shift == 0), size=N)
    dxs = rng.integers(-max_shift, max(max_shift, 1) - (max_shift == 0), size=N)
    return REF.random_shift(X, max_shift, _FixedDraws([dys, dxs]))


def shift_dx_first(X, max_shift, rng):
    N = len(X)
    dxs = rng.integers(-max_shift, max_shift + 1, size=N)
    dys = rng.integers(-max_shift, max_shift + 1, size=N)
    return REF.random_shift(X, max_shift, _FixedDraws([dys, dxs]))


class _FixedDraws:
    """Stands in for a generator whose integers() calls return given arrays (to build wrong shifts)."""

    def __init__(self, draws):
        self.draws = list(draws)

    def integers(self, *args, **kwargs):
        return self.draws.pop(0)


def _jitter(X, brightness, contrast, rng, *, clip=True, around="image", c_first=False, multiplicative=False):
    N = len(X)
    shape = (N,) + (1,) * (X.ndim - 1)
    if c_first:
        c = rng.uniform(1 - contrast, 1 + contrast, size=N)
        b = rng.uniform(-brightness, brightness, size=N)
    else:
        b = rng.uniform(-brightness, brightness, size=N)
        c = rng.uniform(1 - contrast, 1 + contrast, size=N)
    b, c = b.reshape(shape), c.reshape(shape)
    if around == "image":
        mu = X.reshape(N, -1).mean(axis=1).reshape(shape)
    elif around == "channel":
        mu = X.mean(axis=(1, 2), keepdims=True)
    elif around == "zero":
        mu = 0.0
    else:  # the batch mean
        mu = X.mean()
    out = c * (X - mu) + mu
    out = out * (1 + b) if multiplicative else out + b
    return np.clip(out, 0.0, 1.0) if clip else out


def jitter_not_clipped(X, brightness, contrast, rng):
    return _jitter(X, brightness, contrast, rng, clip=False)


def jitter_contrast_around_zero(X, brightness, contrast, rng):
    return _jitter(X, brightness, contrast, rng, around="zero")


def jitter_mean_per_channel(X, brightness, contrast, rng):
    return _jitter(X, brightness, contrast, rng, around="channel")


def jitter_batch_mean(X, brightness, contrast, rng):
    return _jitter(X, brightness, contrast, rng, around="batch")


def jitter_contrast_drawn_first(X, brightness, contrast, rng):
    return _jitter(X, brightness, contrast, rng, c_first=True)


def jitter_multiplicative_brightness(X, brightness, contrast, rng):
    return _jitter(X, brightness, contrast, rng, multiplicative=True)


def pca_ascending(X):                                     # np.linalg.eigh's order, not reversed
    P = X.reshape(-1, 3)
    P = P - P.mean(axis=0)
    return np.linalg.eigh(P.T @ P / len(P))


def pca_eigvecs_as_rows(X):
    vals, vecs = REF.pixel_pca(X)
    return vals, vecs.T.copy()


def pca_not_centred(X):
    P = X.reshape(-1, 3)
    vals, vecs = np.linalg.eigh(P.T @ P / len(P))
    return vals[::-1], vecs[:, ::-1]


def pca_np_cov(X):                                        # divides by M - 1
    vals, vecs = np.linalg.eigh(np.cov(X.reshape(-1, 3), rowvar=False))
    return vals[::-1], vecs[:, ::-1]


def pca_wrong_reshape(X):                                 # mixes pixels and channels
    P = X.reshape(3, -1).T
    P = P - P.mean(axis=0)
    vals, vecs = np.linalg.eigh(P.T @ P / len(P))
    return vals[::-1], vecs[:, ::-1]


def pca_svd_singular_values(X):                           # singular values of the centred pixels, not eigenvalues
    P = X.reshape(-1, 3)
    P = P - P.mean(axis=0)
    _, s, vt = np.linalg.svd(P, full_matrices=False)
    return s, vt.T


def _pca_color(X, eigvals, eigvecs, alpha_std, rng, *, scale="sqrt", rows=False, clip=True, per="image"):
    N = len(X)
    if per == "batch":
        alpha = np.broadcast_to(rng.normal(0.0, alpha_std, size=3), (N, 3))
    else:
        alpha = rng.normal(0.0, alpha_std, size=(N, 3))
    lam = {"sqrt": np.sqrt(eigvals), "eig": eigvals}[scale]
    V = eigvecs.T if rows else eigvecs
    offsets = (alpha * lam) @ V.T
    if per == "pixel":
        offsets = rng.normal(0.0, alpha_std, size=X.shape) * np.sqrt(eigvals).mean()
        out = X + offsets
    else:
        out = X + offsets[:, None, None, :]
    return np.clip(out, 0, 1) if clip else out


def pca_color_eigenvalues(X, eigvals, eigvecs, alpha_std, rng):   # lambda instead of sqrt(lambda)
    return _pca_color(X, eigvals, eigvecs, alpha_std, rng, scale="eig")


def pca_color_rows(X, eigvals, eigvecs, alpha_std, rng):
    return _pca_color(X, eigvals, eigvecs, alpha_std, rng, rows=True)


def pca_color_not_clipped(X, eigvals, eigvecs, alpha_std, rng):
    return _pca_color(X, eigvals, eigvecs, alpha_std, rng, clip=False)


def pca_color_one_alpha_for_batch(X, eigvals, eigvecs, alpha_std, rng):
    return _pca_color(X, eigvals, eigvecs, alpha_std, rng, per="batch")


def pca_color_noise_per_pixel(X, eigvals, eigvecs, alpha_std, rng):
    return _pca_color(X, eigvals, eigvecs, alpha_std, rng, per="pixel")


def pca_color_uniform_alpha(X, eigvals, eigvecs, alpha_std, rng):
    alpha = rng.uniform(-alpha_std, alpha_std, size=(len(X), 3))
    return np.clip(X + ((alpha * np.sqrt(eigvals)) @ eigvecs.T)[:, None, None, :], 0, 1)


# ---------------------------------------------------------------- early stopping
def _early(val_losses, patience, *, compare=">=", ties_improve=False, never="last", best_overall=False):
    best_epoch, best = 0, val_losses[0]
    for t in range(1, len(val_losses)):
        better = val_losses[t] <= best if ties_improve else val_losses[t] < best
        if better:
            best_epoch, best = t, val_losses[t]
        elif (t - best_epoch >= patience) if compare == ">=" else (t - best_epoch > patience):
            return t, (int(np.argmin(val_losses)) if best_overall else best_epoch)
    last = len(val_losses) - 1 if never == "last" else len(val_losses)
    return last, (int(np.argmin(val_losses)) if best_overall else best_epoch)


def early_off_by_one(val_losses, patience):      # stops when the count EXCEEDS patience
    return _early(val_losses, patience, compare=">")


def early_one_too_soon(val_losses, patience):    # counts the best epoch itself as a bad one
    return _early(val_losses, patience - 1)


def early_ties_improve(val_losses, patience):
    return _early(val_losses, patience, ties_improve=True)


def early_never_stops_returns_length(val_losses, patience):
    return _early(val_losses, patience, never="length")


def early_best_after_stop(val_losses, patience):  # the overall minimum, even past the stop
    return _early(val_losses, patience, best_overall=True)


def early_last_of_tied_best(val_losses, patience):   # right stop, best = the LAST epoch with the lowest loss
    stop, _ = REF.early_stopping(val_losses, patience)
    seen = np.asarray(val_losses[:stop + 1], dtype=float)
    return stop, int(np.flatnonzero(seen == seen.min())[-1])


def early_floats(val_losses, patience):
    stop, best = REF.early_stopping(val_losses, patience)
    return float(stop), float(best)


def early_counts_every_bad_epoch(val_losses, patience):   # stops after `patience` non-improving epochs in total
    best, bad = val_losses[0], 0
    best_epoch = 0
    for t in range(1, len(val_losses)):
        if val_losses[t] < best:
            best, best_epoch = val_losses[t], t
        else:
            bad += 1
            if bad >= patience:
                return t, best_epoch
    return len(val_losses) - 1, best_epoch


def early_compares_with_previous(val_losses, patience):   # "improves" = lower than the epoch before
    since, best_epoch = 0, 0
    for t in range(1, len(val_losses)):
        if val_losses[t] < val_losses[t - 1]:
            since = 0
            if val_losses[t] < val_losses[best_epoch]:
                best_epoch = t
        else:
            since += 1
            if since >= patience:
                return t, best_epoch
    return len(val_losses) - 1, best_epoch


BANK = {
    "check_l2_penalty": {
        "L2 without the 0.5 (loss and gradient doubled)": l2_no_half,
        "gradient doubled (2 * reg * W)": l2_gradient_doubled,
        "L2 applied to the biases": l2_penalises_biases,
        "grads only for the weight matrices": l2_grads_only_for_weights,
        "gradient with the wrong sign": l2_gradient_sign,
        "weights decayed in place": l2_decays_in_place,
        "square of the sum instead of the sum of squares": l2_sums_first,
    },
    "check_l1_penalty": {
        "the subgradient with the wrong sign": l1_wrong_sign,
        "L1 applied to the biases": l1_penalises_biases,
        "with a factor 0.5": l1_with_half,
        "subgradient +1 at W = 0": l1_subgradient_one_at_zero,
        "L2's gradient": l1_gradient_of_l2,
        "w / |w| (0/0 at w = 0)": l1_divides_by_abs,
    },
    "check_dropout_forward": {
        "dropout not inverted": dropout_not_inverted,
        "keep and drop probability confused (mask)": dropout_keep_drop_confused,
        "keep and drop probability confused (mask and scale)": dropout_keep_drop_confused_scale,
        "a mask in test mode": dropout_mask_in_test_mode,
        "test mode scaled by keep_prob": dropout_test_mode_scaled,
        "draws from rng in test mode": dropout_draws_in_test_mode,
        "mask u >= 1 - p (right rate, other units)": dropout_greater_equal,
        "x changed in place": dropout_mutates_x,
    },
    "check_dropout_backward": {
        "backward without the mask": dropout_backward_no_mask,
        "backward without the scale": dropout_backward_no_scale,
        "backward multiplied by keep_prob": dropout_backward_times_p,
        "backward with the inverted mask": dropout_backward_inverted_mask,
        "backward scaled in test mode": dropout_backward_scales_test_mode,
    },
    "check_random_crop": {
        "crop offsets out of range": crop_offsets_out_of_range,
        "last offset never drawn": crop_last_offset_never,
        "lefts drawn before tops": crop_lefts_first,
        "one offset for the whole batch": crop_one_offset_for_all,
        "crop_h and crop_w swapped": crop_axes_swapped,
    },
    "check_random_flip": {
        "flip along the wrong axis (vertical)": flip_vertical,
        "flip along the last axis (colour channels)": flip_last_axis,
        "every image flipped": flip_every_image,
        "coin inverted": flip_inverted_coin,
    },
    "check_random_shift": {
        "wraps around (np.roll)": shift_wraps_around,
        "shifts in the opposite direction": shift_wrong_direction,
        "+max_shift never drawn": shift_excludes_max,
        "dxs drawn before dys": shift_dx_first,
    },
    "check_color_jitter": {
        "jitter not clipped": jitter_not_clipped,
        "contrast around 0 instead of the image mean": jitter_contrast_around_zero,
        "mean per channel instead of per image": jitter_mean_per_channel,
        "mean of the whole batch": jitter_batch_mean,
        "contrast drawn before brightness": jitter_contrast_drawn_first,
        "multiplicative brightness": jitter_multiplicative_brightness,
    },
    "check_pixel_pca": {
        "eigenvalues in increasing order": pca_ascending,
        "eigenvectors as rows": pca_eigvecs_as_rows,
        "covariance not centred": pca_not_centred,
        "np.cov (divides by M - 1)": pca_np_cov,
        "pixels and channels mixed up by the reshape": pca_wrong_reshape,
        "singular values instead of eigenvalues": pca_svd_singular_values,
    },
    "check_pca_color_augmentation": {
        "PCA colour using eigenvalues instead of their sqrt": pca_color_eigenvalues,
        "eigenvectors taken as rows": pca_color_rows,
        "not clipped": pca_color_not_clipped,
        "one alpha for the whole batch": pca_color_one_alpha_for_batch,
        "independent noise per pixel": pca_color_noise_per_pixel,
        "uniform instead of Gaussian alpha": pca_color_uniform_alpha,
    },
    "check_early_stopping": {
        "off-by-one patience (stops one epoch late)": early_off_by_one,
        "off-by-one patience (stops one epoch early)": early_one_too_soon,
        "ties count as improvements": early_ties_improve,
        "never stops -> E instead of E - 1": early_never_stops_returns_length,
        "best epoch after the stop": early_best_after_stop,
        "returns floats": early_floats,
        "best epoch = the last of tied epochs": early_last_of_tied_best,
        "counts every bad epoch, not a run of them": early_counts_every_bad_epoch,
        "compares with the previous epoch, not the best": early_compares_with_previous,
    },
}

EXERCISES = ["l2_penalty", "l1_penalty", "dropout_forward", "dropout_backward", "random_crop", "random_flip",
             "random_shift", "color_jitter", "pixel_pca", "pca_color_augmentation", "early_stopping"]


# The reference passes visible and hidden checks; every wrong implementation in BANK is rejected.
test_reference_passes, test_wrong_implementation_rejected = reference_and_bank_tests(CHECKS, REF, EXERCISES, BANK)


def test_every_exercise_has_a_bank_and_a_hint():
    assert {f"check_{e}" for e in EXERCISES} == set(BANK)
    assert set(EXERCISES) | {"weight_decay_factor", "test_time_scale", "flip_digits", "fc_net_loss"} == set(checks.HINTS)
    assert len(NET_BANK) >= 10


@pytest.mark.parametrize("check, impl, hint", [
    (checks.check_l2_penalty, l2_no_half, "0.5 * reg * sum(W**2)"),
    (checks.check_l2_penalty, l2_gradient_doubled, "gradient is doubled"),
    (checks.check_l2_penalty, l2_penalises_biases, "biases"),
    (checks.check_l2_penalty, l2_grads_only_for_weights, "entry for every key"),
    (checks.check_l2_penalty, l2_decays_in_place, "in place"),
    (checks.check_l1_penalty, l1_wrong_sign, "wrong sign"),
    (checks.check_l1_penalty, l1_subgradient_one_at_zero, "np.sign(0) = 0"),
    (checks.check_l1_penalty, l1_penalises_biases, "biases"),
    (checks.check_dropout_forward, dropout_not_inverted, "divide the kept units by keep_prob"),
    (checks.check_dropout_forward, dropout_keep_drop_confused_scale, "rng.random(x.shape) < keep_prob"),
    (checks.check_dropout_forward, dropout_mask_in_test_mode, "test mode"),
    (checks.check_dropout_forward, dropout_draws_in_test_mode, "untouched"),
    (CHECKS.check_dropout_backward, dropout_backward_no_scale, "missing the 1 / keep_prob"),
    (CHECKS.check_dropout_backward, dropout_backward_no_mask, "dropped units"),
    (functools.partial(checks.check_dropout_backward, forward=dropout_not_inverted), REF.dropout_backward,
     "fix it first"),
    (checks.check_random_crop, crop_lefts_first, "tops = rng.integers"),
    (checks.check_random_flip, flip_vertical, "upside down"),
    (checks.check_random_flip, flip_last_axis, "colour channels"),
    (checks.check_random_flip, flip_every_image, "every image is flipped"),
    (checks.check_random_shift, shift_wraps_around, "np.roll"),
    (checks.check_random_shift, shift_wrong_direction, "DOWN"),
    (checks.check_color_jitter, jitter_not_clipped, "clip"),
    (checks.check_color_jitter, jitter_mean_per_channel, "one number per image"),
    (checks.check_pixel_pca, pca_ascending, "increasing order"),
    (checks.check_pixel_pca, pca_np_cov, "M - 1"),
    (checks.check_pixel_pca, pca_not_centred, "subtract the mean colour"),
    (checks.check_pixel_pca, pca_eigvecs_as_rows, "columns"),
    (checks.check_pca_color_augmentation, pca_color_eigenvalues, "AlexNet's paper writes alpha_i * lambda_i"),
    (checks.check_pca_color_augmentation, pca_color_rows, "columns"),
    (checks.check_pca_color_augmentation, pca_color_not_clipped, "clip"),
    (checks.check_early_stopping, early_off_by_one, "off by one"),
    (checks.check_early_stopping, early_one_too_soon, "off by one"),
    (checks.check_early_stopping, early_never_stops_returns_length, "E - 1"),
    (checks.check_early_stopping, early_ties_improve, "strictly lower"),
    (checks.check_early_stopping, early_best_after_stop, "never run"),
    (checks.check_early_stopping, early_floats, "should be an int"),
    (checks.check_early_stopping, early_last_of_tied_best, "FIRST"),
    (checks.check_early_stopping, early_compares_with_previous, "epoch BEFORE it"),
    (checks.check_l1_penalty, l1_divides_by_abs, "subgradient"),
])
def test_messages_name_the_mistake(check, impl, hint):
    message = assert_rejects(check, impl, match=hint)
    assert "Input: " in message  # the input that broke it


def test_dropout_statistics_alone_catch_the_classic_mistakes():
    """The statistical part of the dropout check fails on its own (not only the reference comparison)."""
    for impl, hint in [(dropout_not_inverted, "not inverted"), (dropout_keep_drop_confused, "KEEPING")]:
        with pytest.raises(AssertionError, match=hint):
            checks._check_dropout_statistics(impl)
    for seed in (11, 0, 2037, 12356):
        checks._check_dropout_statistics(REF.dropout_forward, seed)


def test_flip_cases_flip_some_images_and_keep_others():
    """Every flip case has flipped and unflipped images (else a wrong coin could pass)."""
    for seed, hidden in [(contextlib.nullcontext(), False), (contextlib.nullcontext(), True), (hidden_seed(5), True)]:
        with seed:
            drawn = cases("regularization", "random_flip", hidden)
        for case in drawn:
            X, out = case.args["X"], np.asarray(case.expected)
            flipped = [not np.array_equal(out[i], X[i]) for i in range(len(X))]
            if len(X) > 1:
                assert any(flipped) and not all(flipped), case.label


def test_unstarted_exercise_raises_not_implemented():
    def stub(*args):
        raise NotImplementedError()
    for exercise in EXERCISES + ["fc_net_loss"]:
        with pytest.raises(NotImplementedError):
            getattr(CHECKS, f"check_{exercise}")(stub)
    with pytest.raises(NotImplementedError):   # backward done, forward not yet
        checks.check_dropout_backward(REF.dropout_backward, forward=stub)


def test_reference_plugs_into_the_training_helper():
    """The notebook trains with the reference dropout and penalty: they fit utils.training's interfaces."""
    from utils import make_rng
    from utils.gradcheck import numerical_gradient, relative_error
    from utils.training import MLP, Layers

    rng = make_rng(0)
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 3, size=6)
    model = MLP(5, [7, 4], 3, make_rng(1), keep_prob=0.6,
                layers=Layers(dropout_forward=REF.dropout_forward, dropout_backward=REF.dropout_backward))
    loss, grads = model.loss(X, y, rng=make_rng(2))
    for name, p in model.params.items():
        num = numerical_gradient(lambda _: model.loss(X, y, rng=make_rng(2))[0], p)
        assert relative_error(grads[name], num) < 1e-6, name
    penalty, pgrads = REF.l2_penalty(model.params, 0.1)
    assert set(pgrads) == set(model.params)
    reg_model = MLP(5, [7, 4], 3, make_rng(1), reg=0.1)
    assert reg_model.loss(X, y)[0] == pytest.approx(MLP(5, [7, 4], 3, make_rng(1)).loss(X, y)[0] + penalty)


def test_questions():
    from graders.checking import check_choice, check_number
    check_number(REF.weight_decay_factor, name="weight_decay_factor")
    check_number(REF.weight_decay_factor, name="weight_decay_factor", expected=0.999, tol=1e-9, hidden=True)
    check_number(REF.test_time_scale, name="test_time_scale")
    check_number(REF.test_time_scale, name="test_time_scale", expected=0.8, tol=1e-9, hidden=True)
    check_choice(REF.flip_digits, name="flip_digits")
    check_choice(REF.flip_digits, name="flip_digits", expected="B", hidden=True)
    assert REF.flip_digits == "B"
    with pytest.raises(AssertionError):   # 1 / p: the inverted factor
        check_number(1.25, name="test_time_scale", expected=0.8, tol=1e-9, hidden=True)
    with pytest.raises(AssertionError):
        check_number(0.99, name="weight_decay_factor", expected=0.999, tol=1e-9, hidden=True)
    with pytest.raises(AssertionError):
        check_choice("D", name="flip_digits", expected="B", hidden=True)


def test_array_subclass_cannot_fake_a_comparison():
    class Liar(np.ndarray):
        def __array_ufunc__(self, *args, **kwargs):
            return True

        def __eq__(self, other):
            return True

    def fake_flip(X, rng):
        return np.zeros_like(X).view(Liar)

    assert_rejects(checks.check_random_flip, fake_flip)


# ---------------------------------------------------------------- the dropout cache is the student's design
def dropout_forward_dict_cache(x, keep_prob, mode, rng):
    if mode == "train":
        mask = rng.random(x.shape) < keep_prob
        return x * mask / keep_prob, {"scale": mask / keep_prob}
    return x.copy(), {"scale": None}


def dropout_backward_dict_cache(dout, cache):
    return dout if cache["scale"] is None else dout * cache["scale"]


def dropout_forward_scaled_mask(x, keep_prob, mode, rng):   # caches only the scaled mask (None in test mode)
    if mode == "train":
        scaled = (rng.random(x.shape) < keep_prob) / keep_prob
        return x * scaled, scaled
    return x, None


def dropout_backward_scaled_mask(dout, cache):
    return dout if cache is None else dout * cache


def dropout_backward_dict_cache_no_scale(dout, cache):       # its own cache, the 1 / keep_prob forgotten
    return dout if cache["scale"] is None else dout * (cache["scale"] != 0)


def _layers_pair():
    from utils import layers
    return layers.dropout_forward, layers.dropout_backward


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("pair", ["dict", "scaled mask", "utils.layers"])
def test_dropout_with_another_cache_design_passes(pair, mode, capfd):
    """The cache is whatever the student's backward needs: a dict, or only the scaled mask, passes too."""
    forward, backward = {"dict": (dropout_forward_dict_cache, dropout_backward_dict_cache),
                         "scaled mask": (dropout_forward_scaled_mask, dropout_backward_scaled_mask),
                         "utils.layers": _layers_pair()}[pair]
    if pair != "utils.layers":   # (utils.layers skips the draw at keep_prob = 1, which its forward check does not see)
        run_check(checks.check_dropout_forward, forward, mode=mode)
    run_check(checks.check_dropout_backward, backward, forward=forward, mode=mode)
    out, err = capfd.readouterr()
    assert "[ok] check_dropout_backward" in out and err == "", err


def test_dropout_backward_with_its_own_cache_still_rejects_a_wrong_gradient():
    assert_rejects(checks.check_dropout_backward, dropout_backward_dict_cache_no_scale,
                   forward=dropout_forward_dict_cache, match="1 / keep_prob")
    assert_rejects(checks.check_dropout_backward, dropout_backward_dict_cache, forward=dropout_forward_scaled_mask)


# ---------------------------------------------------------------- the hidden cases
def test_hidden_module_has_cases_for_every_exercise():
    """classroom/hidden/regularization.py draws hidden cases for every exercise with visible CASES: the
    visible kinds first, then more; and nothing hidden is left in the student-facing module."""
    import inspect

    from classroom.hidden import regularization as hidden

    assert set(hidden.CASES) == set(checks.CASES)
    for exercise in checks.CASES:
        visible = checks.CASES[exercise](np.random.default_rng(HIDDEN_SEED))
        drawn = hidden.CASES[exercise](np.random.default_rng(HIDDEN_SEED))
        assert len(drawn) > len(visible) > 0, exercise
        assert [c.label for c in drawn[:len(visible)]] == [c.label for c in visible], exercise
        assert len(cases("regularization", exercise, hidden=True)) == len(drawn), exercise
    source = inspect.getsource(checks)
    assert "strict" not in source.replace("strictly", "") and "HIDDEN CASES" not in source


# ---------------------------------------------------------------- the regularized network
def _net(params, X, y, reg, keep_prob, rng, *, penalty="l2", penalty_grad=True, biases=False, where="after_relu",
         reverse_masks=False, backward_mask=True, skip_dropout=False, own_rng=False, mutate=False, mean=True,
         relu_cache_after_dropout=False, dtype=None):
    """The network of fc_net_loss with one mistake switched on (the defaults are the reference)."""
    from utils.layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_cross_entropy
    L = len(params) // 2
    drop = not skip_dropout and keep_prob < 1
    rng = np.random.default_rng(0) if own_rng else rng
    hidden_shapes = [(len(X), params[f"W{l}"].shape[1]) for l in range(1, L)]
    masks = {}
    if drop and reverse_masks:
        for l in range(L - 1, 0, -1):
            masks[l] = rng.random(hidden_shapes[l - 1]) < keep_prob

    def dropout(h, l):
        if not drop:
            return h, None
        mask = masks[l] if reverse_masks else rng.random(h.shape) < keep_prob
        return h * mask / keep_prob, mask

    h, caches = X, []
    if drop and where == "input":
        h = X * (rng.random(X.shape) < keep_prob) / keep_prob
    for l in range(1, L):
        a, c_aff = affine_forward(h, params[f"W{l}"], params[f"b{l}"])
        if where == "before_relu":
            a, mask = dropout(a, l)
            h, c_relu = relu_forward(a)
        else:
            h, c_relu = relu_forward(a)
            if where == "after_relu":
                h, mask = dropout(h, l)
            else:
                mask = None
        caches.append((c_aff, h if relu_cache_after_dropout else c_relu, mask))
    scores, c_last = affine_forward(h, params[f"W{L}"], params[f"b{L}"])
    if drop and where == "scores":
        scores = scores * (rng.random(scores.shape) < keep_prob) / keep_prob
    loss, dscores = softmax_cross_entropy(scores, y)
    if not mean:
        loss, dscores = loss * len(X), dscores * len(X)
    names = [k for k in params if k.startswith("W") or biases]
    factor = {"l2": 0.5, "l2_no_half": 1.0, "none": 0.0}[penalty]
    loss += factor * reg * sum(float(np.sum(params[k] ** 2)) for k in names)
    grads = {}
    dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, c_last)
    for l in range(L - 1, 0, -1):
        c_aff, c_relu, mask = caches[l - 1]
        if mask is not None and where == "after_relu" and backward_mask:
            dh = dh * mask / keep_prob
        if where == "before_relu":
            dh = relu_backward(dh, c_relu) * mask / keep_prob
        else:
            dh = relu_backward(dh, c_relu)
        dh, grads[f"W{l}"], grads[f"b{l}"] = affine_backward(dh, c_aff)
    if penalty_grad:
        for k in names:
            grads[k] = grads[k] + 2 * factor * reg * params[k]
    if mutate:
        for k in params:
            params[k] -= 0.0 * params[k] + 1e-3 * grads[k]
    if dtype is not None:
        grads = {k: g.astype(dtype) for k, g in grads.items()}
    return loss, grads


def net_reference_copy(*a):                          # (not in the bank: proves _net's defaults are the reference)
    return _net(*a)


def net_no_penalty(*a):
    return _net(*a, penalty="none")


def net_penalty_gradient_missing(*a):
    return _net(*a, penalty_grad=False)


def net_penalty_without_half(*a):
    return _net(*a, penalty="l2_no_half")


def net_penalises_biases(*a):
    return _net(*a, biases=True)


def net_dropout_before_relu(*a):
    return _net(*a, where="before_relu")


def net_dropout_on_input(*a):
    return _net(*a, where="input")


def net_dropout_on_scores(*a):
    return _net(*a, where="scores")


def net_dropout_ignored(*a):
    return _net(*a, skip_dropout=True)


def net_masks_last_layer_first(*a):
    return _net(*a, reverse_masks=True)


def net_backward_without_mask(*a):
    return _net(*a, backward_mask=False)


def net_own_generator(*a):                           # masks from np.random.default_rng(0), not the rng given
    return _net(*a, own_rng=True)


def net_sum_not_mean(*a):
    return _net(*a, mean=False)


def net_updates_params(*a):                          # takes an SGD step on the params it was given
    return _net(*a, mutate=True)


def net_float32_grads(*a):
    return _net(*a, dtype=np.float32)


def net_last_layer_missing_from_loss(params, X, y, reg, keep_prob, rng):   # penalty skips the last W
    loss, grads = _net(params, X, y, reg, keep_prob, rng)
    L = len(params) // 2
    W = params[f"W{L}"]
    return loss - 0.5 * reg * float(np.sum(W * W)), {**grads, f"W{L}": grads[f"W{L}"] - reg * W}


NET_BANK = {
    "no penalty": net_no_penalty,
    "the penalty's gradient missing": net_penalty_gradient_missing,
    "penalty without the 0.5": net_penalty_without_half,
    "biases penalised": net_penalises_biases,
    "dropout before the ReLU": net_dropout_before_relu,
    "dropout on the input": net_dropout_on_input,
    "dropout on the scores": net_dropout_on_scores,
    "dropout ignored": net_dropout_ignored,
    "masks drawn last layer first": net_masks_last_layer_first,
    "backward pass without the mask": net_backward_without_mask,
    "its own generator": net_own_generator,
    "summed, not averaged, cross-entropy": net_sum_not_mean,
    "params updated in place": net_updates_params,
    "float32 gradients": net_float32_grads,
    "the last weight matrix not penalised": net_last_layer_missing_from_loss,
}


@pytest.mark.parametrize("impl", list(NET_BANK.values()), ids=list(NET_BANK))
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_fc_net_loss_bank_rejected(impl, mode, capfd):
    with pytest.raises(AssertionError) as info:
        run_check(checks.check_fc_net_loss, impl, mode=mode)
    assert len(str(info.value)) > 40
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("impl, hint", [
    (net_no_penalty, "no penalty"),
    (net_penalty_gradient_missing, "penalty's gradient is missing"),
    (net_penalty_without_half, "counted twice"),
    (net_penalises_biases, "biases are penalised"),
    (net_dropout_on_scores, "never on the input X or on the scores"),
    (net_masks_last_layer_first, "hidden layer 1 first"),
    (net_backward_without_mask, "dropout_backward"),
    (net_updates_params, "in place"),
])
def test_fc_net_loss_messages_name_the_mistake(impl, hint):
    message = assert_rejects(checks.check_fc_net_loss, impl, match=hint)
    assert "Input: " in message


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_fc_net_loss_reference_and_its_copy_pass(mode, capfd):
    run_check(checks.check_fc_net_loss, REF.fc_net_loss, mode=mode)
    run_check(checks.check_fc_net_loss, net_reference_copy, mode=mode)
    assert "[ok] check_fc_net_loss" in capfd.readouterr().out


def test_fc_net_loss_skipping_dropout_at_keep_prob_one_passes():
    """The docstring allows both: at keep_prob = 1, call dropout_forward (it draws) or skip it."""
    def always_calls(params, X, y, reg, keep_prob, rng):
        if keep_prob == 1:
            rng.random(5)                            # what a dropout_forward call at keep_prob = 1 draws
        return REF.fc_net_loss(params, X, y, reg, keep_prob, rng)
    for mode in MODES:
        run_check(checks.check_fc_net_loss, always_calls, mode=mode)


def test_fc_net_loss_hidden_check_passes_over_200_seeds():
    """The hidden cases (margins from ReLU kinks, numeric gradients) accept the reference for every seed."""
    for seed in range(200):
        with hidden_seed(1000 + seed):
            checks.check_fc_net_loss(REF.fc_net_loss, hidden=True)


def test_dropout_statistics_accept_the_reference_over_200_seeds():
    """The statistical part of check_dropout_forward (its seed drawn with the hidden cases) never fails an
    honest dropout_forward: 200 seeds, beside the bound argued in its docstring."""
    for seed in range(200):
        checks._check_dropout_statistics(REF.dropout_forward, seed)
