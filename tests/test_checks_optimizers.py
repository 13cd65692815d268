"""The 06_optimizers checks accept the reference and reject every wrong implementation in the bank.

Several of the wrong update rules are the ones in the lecture notes this course grew from
(/work/shared/seeds/): RMSProp accumulating with ``cache += decay * cache + ...``, RMSProp that is really
AdaGrad, Adam stepping with the raw moments after computing the corrected ones, momentum adding
``lr * v`` where ``v`` accumulates ``+dw``.
"""
import copy

import numpy as np
import pytest

from classroom import hidden as hidden_cases
from graders import optimizers as checks
from graders import reference
from wrong import assert_rejects, bank_params, reference_and_bank_tests
from coursework import run_notebook_cells

REF = reference.load("optimizers")


def _cfg(config, **defaults):
    config = {} if config is None else config
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


# ---------------------------------------------------------------- sgd
def sgd_no_lr(w, dw, config=None):
    config = _cfg(config, lr=1e-2)
    return w - dw, config


def sgd_uphill(w, dw, config=None):
    config = _cfg(config, lr=1e-2)
    return w + config["lr"] * dw, config


def sgd_in_place(w, dw, config=None):
    config = _cfg(config, lr=1e-2)
    w -= config["lr"] * dw
    return w, config


def sgd_wrong_default(w, dw, config=None):
    config = _cfg(config, lr=1e-3)
    return w - config["lr"] * dw, config


def sgd_ignores_given_lr(w, dw, config=None):
    config = {"lr": 1e-2}
    return w - config["lr"] * dw, config


def sgd_returns_w_only(w, dw, config=None):
    return REF.sgd(w, dw, config)[0]


def sgd_config_none_crashes(w, dw, config=None):
    config.setdefault("lr", 1e-2)
    return w - config["lr"] * dw, config


def sgd_returns_list(w, dw, config=None):
    return list(REF.sgd(w, dw, config))


# ---------------------------------------------------------------- momentum
def momentum_lecture_notes_sign(w, dw, config=None):  # seeds 001/002: v accumulates +dw, w += lr * v
    config = _cfg(config, lr=1e-2, momentum=0.9)
    v = config["momentum"] * config.get("v", np.zeros_like(w)) + dw
    config["v"] = v
    return w + config["lr"] * v, config


def momentum_lecture_form_state(w, dw, config=None):  # right steps, but stores the lecture's velocity
    config = _cfg(config, lr=1e-2, momentum=0.9)
    v = config["momentum"] * config.get("v", np.zeros_like(w)) + dw
    config["v"] = v
    return w - config["lr"] * v, config


def momentum_state_not_saved(w, dw, config=None):
    config = _cfg(config, lr=1e-2, momentum=0.9)
    v = config["momentum"] * config.get("v", np.zeros_like(w)) - config["lr"] * dw
    return w + v, config


def momentum_state_never_read(w, dw, config=None):
    config = _cfg(config, lr=1e-2, momentum=0.9)
    v = -config["lr"] * dw
    config["v"] = v
    return w + v, config


def momentum_state_in_global(w, dw, config=None, _store={}):  # state outside config
    config = _cfg(config, lr=1e-2, momentum=0.9)
    v = config["momentum"] * _store.get("v", np.zeros_like(w)) - config["lr"] * dw
    _store["v"] = v
    return w + v, config


def momentum_mutates_dw(w, dw, config=None):
    config = _cfg(config, lr=1e-2, momentum=0.9)
    dw *= config["lr"]
    v = config["momentum"] * config.get("v", np.zeros_like(w)) - dw
    config["v"] = v
    return w + v, config


def momentum_no_decay(w, dw, config=None):
    config = _cfg(config, lr=1e-2, momentum=0.9)
    v = config.get("v", np.zeros_like(w)) - config["lr"] * dw
    config["v"] = v
    return w + v, config


def momentum_wrong_default(w, dw, config=None):
    config = _cfg(config, lr=1e-2, momentum=0.99)
    return REF.sgd_momentum(w, dw, config)


def momentum_exponentially_weighted(w, dw, config=None):  # deeplearning.ai's v = beta v + (1 - beta) dw
    config = _cfg(config, lr=1e-2, momentum=0.9)
    b = config["momentum"]
    v = b * config.get("v", np.zeros_like(w)) + (1 - b) * dw
    config["v"] = v
    return w - config["lr"] * v, config


def momentum_float32(w, dw, config=None):
    next_w, config = REF.sgd_momentum(w, dw, config)
    return next_w.astype(np.float32), config


# ---------------------------------------------------------------- nesterov
def nesterov_plain_momentum(w, dw, config=None):
    return REF.sgd_momentum(w, dw, config)


def nesterov_v_and_v_prev_swapped(w, dw, config=None):
    config = _cfg(config, lr=1e-2, momentum=0.9)
    mu = config["momentum"]
    v_prev = config.get("v", np.zeros_like(w))
    v = mu * v_prev - config["lr"] * dw
    config["v"] = v
    return w - mu * v + (1 + mu) * v_prev, config


def nesterov_pytorch_buffer(w, dw, config=None):  # PyTorch's nesterov=True: right steps, the buffer in config['v']
    config = _cfg(config, lr=1e-2, momentum=0.9)
    mu = config["momentum"]
    buf = mu * config.get("v", np.zeros_like(w)) + dw
    config["v"] = buf
    return w - config["lr"] * (dw + mu * buf), config


def nesterov_wrong_sign_prev(w, dw, config=None):
    config = _cfg(config, lr=1e-2, momentum=0.9)
    mu = config["momentum"]
    v_prev = config.get("v", np.zeros_like(w))
    v = mu * v_prev - config["lr"] * dw
    config["v"] = v
    return w + mu * v_prev + (1 + mu) * v, config


def nesterov_uses_new_v_twice(w, dw, config=None):  # w - mu * v + (1 + mu) * v: drops v_prev
    config = _cfg(config, lr=1e-2, momentum=0.9)
    mu = config["momentum"]
    v = mu * config.get("v", np.zeros_like(w)) - config["lr"] * dw
    config["v"] = v
    return w + v, config


def nesterov_state_not_saved(w, dw, config=None):
    config = _cfg(config, lr=1e-2, momentum=0.9)
    mu = config["momentum"]
    v_prev = config.get("v", np.zeros_like(w))
    v = mu * v_prev - config["lr"] * dw
    return w - mu * v_prev + (1 + mu) * v, config


def nesterov_mutates_w(w, dw, config=None):
    next_w, config = REF.nesterov_momentum(w, dw, config)
    w[...] = next_w
    return w, config


# ---------------------------------------------------------------- adagrad
def adagrad_no_sqrt(w, dw, config=None):
    config = _cfg(config, lr=1e-2, eps=1e-8)
    cache = config.get("cache", np.zeros_like(w)) + dw * dw
    config["cache"] = cache
    return w - config["lr"] * dw / (cache + config["eps"]), config


def adagrad_eps_inside(w, dw, config=None):
    config = _cfg(config, lr=1e-2, eps=1e-8)
    cache = config.get("cache", np.zeros_like(w)) + dw * dw
    config["cache"] = cache
    return w - config["lr"] * dw / np.sqrt(cache + config["eps"]), config


def adagrad_no_eps(w, dw, config=None):
    config = _cfg(config, lr=1e-2, eps=1e-8)
    cache = config.get("cache", np.zeros_like(w)) + dw * dw
    config["cache"] = cache
    return w - config["lr"] * dw / np.sqrt(cache), config


def adagrad_state_not_saved(w, dw, config=None):
    config = _cfg(config, lr=1e-2, eps=1e-8)
    cache = config.get("cache", np.zeros_like(w)) + dw * dw
    return w - config["lr"] * dw / (np.sqrt(cache) + config["eps"]), config


def adagrad_decaying_cache(w, dw, config=None):  # that is RMSProp
    config = _cfg(config, lr=1e-2, eps=1e-8)
    cache = 0.99 * config.get("cache", np.zeros_like(w)) + 0.01 * dw * dw
    config["cache"] = cache
    return w - config["lr"] * dw / (np.sqrt(cache) + config["eps"]), config


def adagrad_step_before_cache(w, dw, config=None):  # divides by the cache of the previous steps only
    config = _cfg(config, lr=1e-2, eps=1e-8)
    old = config.get("cache", np.zeros_like(w))
    next_w = w - config["lr"] * dw / (np.sqrt(old) + config["eps"])
    config["cache"] = old + dw * dw
    return next_w, config


def adagrad_squares_dw_in_place(w, dw, config=None):
    config = _cfg(config, lr=1e-2, eps=1e-8)
    dw **= 2
    config["cache"] = config.get("cache", np.zeros_like(w)) + dw
    return w - config["lr"] * np.sqrt(dw) / (np.sqrt(config["cache"]) + config["eps"]), config


# ---------------------------------------------------------------- rmsprop
def rmsprop_lecture_notes_plus_equals(w, dw, config=None):  # seed 001: cache += decay * cache + ...
    config = _cfg(config, lr=1e-2, decay=0.99, eps=1e-8)
    cache = config.get("cache", np.zeros_like(w)).copy()
    cache += config["decay"] * cache + (1 - config["decay"]) * dw * dw
    config["cache"] = cache
    return w - config["lr"] * dw / (np.sqrt(cache) + config["eps"]), config


def rmsprop_really_adagrad(w, dw, config=None):  # seed 000: RMSProp's code is AdaGrad's
    config = _cfg(config, lr=1e-2, decay=0.99, eps=1e-8)
    cache = config.get("cache", np.zeros_like(w)) + dw * dw
    config["cache"] = cache
    return w - config["lr"] * dw / (np.sqrt(cache) + config["eps"]), config


def rmsprop_step_before_cache(w, dw, config=None):  # divides by the average of the previous steps only
    config = _cfg(config, lr=1e-2, decay=0.99, eps=1e-8)
    d = config["decay"]
    old = config.get("cache", np.zeros_like(w))
    next_w = w - config["lr"] * dw / (np.sqrt(old) + config["eps"])
    config["cache"] = d * old + (1 - d) * dw * dw
    return next_w, config


def rmsprop_swapped_weights(w, dw, config=None):
    config = _cfg(config, lr=1e-2, decay=0.99, eps=1e-8)
    d = config["decay"]
    cache = (1 - d) * config.get("cache", np.zeros_like(w)) + d * dw * dw
    config["cache"] = cache
    return w - config["lr"] * dw / (np.sqrt(cache) + config["eps"]), config


def rmsprop_eps_inside(w, dw, config=None):
    config = _cfg(config, lr=1e-2, decay=0.99, eps=1e-8)
    d = config["decay"]
    cache = d * config.get("cache", np.zeros_like(w)) + (1 - d) * dw * dw
    config["cache"] = cache
    return w - config["lr"] * dw / np.sqrt(cache + config["eps"]), config


def rmsprop_state_not_saved(w, dw, config=None):
    config = _cfg(config, lr=1e-2, decay=0.99, eps=1e-8)
    d = config["decay"]
    cache = d * config.get("cache", np.zeros_like(w)) + (1 - d) * dw * dw
    return w - config["lr"] * dw / (np.sqrt(cache) + config["eps"]), config


def rmsprop_wrong_default_decay(w, dw, config=None):
    config = _cfg(config, lr=1e-2, decay=0.9, eps=1e-8)
    return REF.rmsprop(w, dw, config)


def rmsprop_bias_corrected(w, dw, config=None):  # plausible "improvement" that is not RMSProp
    config = _cfg(config, lr=1e-2, decay=0.99, eps=1e-8)
    d = config["decay"]
    t = config.get("t", 0) + 1
    cache = d * config.get("cache", np.zeros_like(w)) + (1 - d) * dw * dw
    config.update(cache=cache, t=t)
    return w - config["lr"] * dw / (np.sqrt(cache / (1 - d ** t)) + config["eps"]), config


# ---------------------------------------------------------------- adam
def _adam_parts(w, dw, config, t_offset=1):
    config = _cfg(config, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
    b1, b2 = config["beta1"], config["beta2"]
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    return config, b1, b2, m, v


def adam_no_bias_correction(w, dw, config=None):
    config, b1, b2, m, v = _adam_parts(w, dw, config)
    config.update(m=m, v=v, t=config.get("t", 0) + 1)
    return w - config["lr"] * m / (np.sqrt(v) + config["eps"]), config


def adam_lecture_notes_raw_moments(w, dw, config=None):  # seed 001: computes the unbiased moments, uses m / sqrt(v)
    config, b1, b2, m, v = _adam_parts(w, dw, config)
    t = config.get("t", 0) + 1
    m_hat = m / (1 - b1 ** t)   # computed ...
    v_hat = v / (1 - b2 ** t)   # ... and never used
    del m_hat, v_hat
    config.update(m=m, v=v, t=t)
    return w - config["lr"] * m / (np.sqrt(v) + config["eps"]), config


def adam_t_incremented_after_use(w, dw, config=None):
    config, b1, b2, m, v = _adam_parts(w, dw, config)
    t = config.get("t", 0)
    next_w = w - config["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["eps"])
    config.update(m=m, v=v, t=t + 1)
    return next_w, config


def adam_t_starts_at_one_stored_ahead(w, dw, config=None):  # right steps, config['t'] one ahead
    config, b1, b2, m, v = _adam_parts(w, dw, config)
    t = config.get("t", 1)
    next_w = w - config["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["eps"])
    config.update(m=m, v=v, t=t + 1)
    return next_w, config


def adam_t_not_saved(w, dw, config=None):
    config, b1, b2, m, v = _adam_parts(w, dw, config)
    t = config.get("t", 0) + 1
    config.update(m=m, v=v)
    return w - config["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["eps"]), config


def adam_state_not_saved(w, dw, config=None):
    config, b1, b2, m, v = _adam_parts(w, dw, config)
    t = config.get("t", 0) + 1
    return w - config["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["eps"]), config


def adam_eps_inside_sqrt(w, dw, config=None):
    config, b1, b2, m, v = _adam_parts(w, dw, config)
    t = config.get("t", 0) + 1
    config.update(m=m, v=v, t=t)
    return w - config["lr"] * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t) + config["eps"]), config


def adam_no_one_minus_beta(w, dw, config=None):  # m = beta1 * m + dw
    config = _cfg(config, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + dw
    v = b2 * config.get("v", np.zeros_like(w)) + dw * dw
    config.update(m=m, v=v, t=t)
    return w - config["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["eps"]), config


def adam_v_not_squared(w, dw, config=None):
    config = _cfg(config, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * np.abs(dw)
    config.update(m=m, v=v, t=t)
    return w - config["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["eps"]), config


def adam_mutates_dw(w, dw, config=None):
    out = REF.adam(w, dw.copy(), config)
    dw[...] = 0.0
    return out


def adam_betas_swapped(w, dw, config=None):
    config = _cfg(config, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
    b1, b2 = config["beta2"], config["beta1"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    config.update(m=m, v=v, t=t)
    return w - config["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["eps"]), config


# ---------------------------------------------------------------- schedules
def step_decay_continuous(lr0, epoch, drop=0.5, every=10):
    return lr0 * drop ** (np.asarray(epoch) / every)


def step_decay_off_by_one(lr0, epoch, drop=0.5, every=10):
    return lr0 * drop ** ((np.asarray(epoch) + 1) // every)


def step_decay_wrong_defaults(lr0, epoch, drop=0.1, every=10):
    return lr0 * drop ** (np.asarray(epoch) // every)


def step_decay_python_only(lr0, epoch, drop=0.5, every=10):
    import math
    return lr0 * drop ** math.floor(epoch / every)


def exponential_base_k(lr0, t, k):                      # mixes up lr0 * k**t and lr0 * exp(-k t)
    return lr0 * (1 - k) ** np.asarray(t)


def exponential_no_minus(lr0, t, k):
    return lr0 * np.exp(k * np.asarray(t))


def exponential_math_exp(lr0, t, k):                    # Python's math.exp does not take arrays
    import math
    return lr0 * math.exp(-k * t)


def inverse_time_squared(lr0, t, k):
    return lr0 / (1 + k * np.asarray(t)) ** 2


def inverse_time_no_one(lr0, t, k):                     # lr0 / (k t): infinite at t = 0
    return lr0 / (k * np.asarray(t, dtype=np.float64))


def inverse_time_precedence(lr0, t, k):                 # lr0 / 1 + k * t
    return lr0 / 1 + k * np.asarray(t)


def cosine_missing_half(lr0, t, T, lr_min=0.0):         # off by a factor 2
    return lr_min + (lr0 - lr_min) * (1 + np.cos(np.pi * np.minimum(t, T) / T))


def cosine_ignores_lr_min(lr0, t, T, lr_min=0.0):
    return 0.5 * lr0 * (1 + np.cos(np.pi * np.minimum(t, T) / T))


def cosine_not_clamped(lr0, t, T, lr_min=0.0):          # rises again after T
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + np.cos(np.pi * np.asarray(t) / T))


def cosine_full_period(lr0, t, T, lr_min=0.0):          # 2 pi: back up to lr0 at T
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + np.cos(2 * np.pi * np.minimum(t, T) / T))


def cosine_quarter_period(lr0, t, T, lr_min=0.0):       # cos from 0 to pi/2: also lr0 -> lr_min, wrong shape
    return lr_min + (lr0 - lr_min) * np.cos(0.5 * np.pi * np.minimum(t, T) / T)


def warmup_from_zero(lr0, t, warmup_steps):             # 0 at the first step, lr0 only at t = warmup_steps
    return lr0 * np.minimum(1.0, np.asarray(t) / warmup_steps)


def warmup_never_reaches_lr0(lr0, t, warmup_steps):
    return lr0 * np.minimum(t + 1, warmup_steps) / (warmup_steps + 1)


def warmup_not_capped(lr0, t, warmup_steps):            # keeps rising past lr0
    return lr0 * (np.asarray(t) + 1) / warmup_steps


def warmup_python_min(lr0, t, warmup_steps):            # fails on arrays
    return lr0 * min(1.0, (t + 1) / warmup_steps)


# ---------------------------------------------------------------- random_mini_batches
def _cut(X, y, bs, stop=None):
    N = len(X)
    return [(X[k:k + bs], y[k:k + bs]) for k in range(0, N if stop is None else stop, bs)]


def mb_no_shuffle(X, y, batch_size, rng):
    return _cut(X, y, batch_size)


def mb_drops_last(X, y, batch_size, rng):
    perm = rng.permutation(len(X))
    return _cut(X[perm], y[perm], batch_size, stop=(len(X) // batch_size) * batch_size)


def mb_separate_permutations(X, y, batch_size, rng):
    return _cut(X[rng.permutation(len(X))], y[rng.permutation(len(X))], batch_size)


def mb_shuffle_in_place(X, y, batch_size, rng):
    rng.shuffle(X)
    return _cut(X, y, batch_size)


def mb_global_random(X, y, batch_size, rng):
    perm = np.random.permutation(len(X))
    return _cut(X[perm], y[perm], batch_size)


def mb_with_replacement(X, y, batch_size, rng):
    idx = rng.choice(len(X), len(X))
    return _cut(X[idx], y[idx], batch_size)


def mb_two_draws(X, y, batch_size, rng):
    rng.permutation(len(X))                      # a "warm-up" draw
    perm = rng.permutation(len(X))
    return _cut(X[perm], y[perm], batch_size)


def mb_extra_draw_after(X, y, batch_size, rng):
    out = REF.random_mini_batches(X, y, batch_size, rng)
    rng.random()
    return out


def mb_generator(X, y, batch_size, rng):
    return iter(REF.random_mini_batches(X, y, batch_size, rng))


def mb_lists_not_tuples(X, y, batch_size, rng):
    return [[Xb, yb] for Xb, yb in REF.random_mini_batches(X, y, batch_size, rng)]


def mb_empty_last_batch(X, y, batch_size, rng):
    perm = rng.permutation(len(X))
    Xs, ys = X[perm], y[perm]
    return [(Xs[k * batch_size:(k + 1) * batch_size], ys[k * batch_size:(k + 1) * batch_size])
            for k in range(len(X) // batch_size + 1)]


def mb_overlapping(X, y, batch_size, rng):
    perm = rng.permutation(len(X))
    Xs, ys = X[perm], y[perm]
    return [(Xs[k:k + batch_size + 1], ys[k:k + batch_size + 1]) for k in range(0, len(X), batch_size)]


def mb_inverse_permutation(X, y, batch_size, rng):
    perm = np.argsort(rng.permutation(len(X)))
    return _cut(X[perm], y[perm], batch_size)


def mb_choice_without_replacement(X, y, batch_size, rng):
    perm = rng.choice(len(X), len(X), replace=False, shuffle=True)
    perm = perm[::-1] if len(X) > 1 else perm        # (numpy's choice happens to draw like permutation)
    return _cut(X[perm], y[perm], batch_size)


def mb_float_cast(X, y, batch_size, rng):
    return [(Xb.astype(np.float64), yb.astype(np.float64)) for Xb, yb in REF.random_mini_batches(X, y, batch_size, rng)]


# ---------------------------------------------------------------- train_loop
def _loop(params, loss_fn, predict_fn, data, update, *, epochs, batch_size, rng, optim_config=None,
          lr_schedule=None, early_stop=None, batches=None, shared=False, pass_back=True, schedule_shift=0,
          stop_before_record=False, ignore_stop=False, train_loss_mean=False, float32=False, in_place=False,
          acc_on_train=False, fixed_batches=False):
    """The reference loop with one mistake switched on (for the bank)."""
    params = params if in_place else dict(params)
    configs = ({name: optim_config if optim_config is not None else {} for name in params} if shared else
               {name: copy.deepcopy(optim_config or {}) for name in params})
    if shared:
        one = configs[next(iter(params))]
        configs = {name: one for name in params}
    history = {k: [] for k in checks.HISTORY_KEYS}
    first = REF.random_mini_batches(data["X_train"], data["y_train"], batch_size, rng) if fixed_batches else None
    for epoch in range(epochs):
        if lr_schedule is not None:
            for c in configs.values():
                c["lr"] = float(lr_schedule(min(epoch + schedule_shift, epochs - 1)))
        mbs = first if fixed_batches else (batches or REF.random_mini_batches)(data["X_train"], data["y_train"],
                                                                                 batch_size, rng)
        for Xb, yb in mbs:
            loss, grads = loss_fn(params, Xb, yb)
            history["loss"].append(float(np.float32(loss)) if False else (np.float32(loss) if float32 else float(loss)))
            for name in params:
                new_w, new_c = update(params[name], grads[name], configs[name] if pass_back else copy.deepcopy(configs[name]))
                params[name] = new_w
                if pass_back and not shared:
                    configs[name] = new_c
        if stop_before_record and early_stop is not None and early_stop(history):
            break
        history["lr"].append(float(next(iter(configs.values())).get("lr", 0.3)))
        steps = -(-len(data["y_train"]) // batch_size)
        for split in ("train", "val"):
            X, y = data[f"X_{split}"], data[f"y_{split}"]
            loss = (float(np.mean(history["loss"][-steps:])) if train_loss_mean and split == "train"
                    else float(loss_fn(params, X, y)[0]))
            history[f"{split}_loss"].append(loss)
            Xa, ya = (data["X_train"], data["y_train"]) if acc_on_train else (X, y)
            history[f"{split}_acc"].append(float(np.mean(np.argmax(predict_fn(params, Xa), axis=1) == ya)))
        if not stop_before_record and not ignore_stop and early_stop is not None and early_stop(history):
            break
    return params, history


def _variant(**mistake):
    def loop(params, loss_fn, predict_fn, data, update, **kwargs):
        return _loop(params, loss_fn, predict_fn, data, update, **kwargs, **mistake)
    return loop


loop_drops_last_batch = _variant(batches=mb_drops_last)
loop_no_shuffle = _variant(batches=mb_no_shuffle)
loop_same_batches_every_epoch = _variant(fixed_batches=True)
loop_one_shared_config = _variant(shared=True)
loop_config_not_passed_back = _variant(pass_back=False)
loop_schedule_one_ahead = _variant(schedule_shift=1)
loop_stop_checked_before_recording = _variant(stop_before_record=True)
loop_early_stop_ignored = _variant(ignore_stop=True)
loop_train_loss_from_minibatches = _variant(train_loss_mean=True)
loop_float32_losses = _variant(float32=True)
loop_changes_params_in_place = _variant(in_place=True)
loop_val_acc_on_training_set = _variant(acc_on_train=True)


def loop_schedule_ignored(params, loss_fn, predict_fn, data, update, *, lr_schedule=None, **kwargs):
    return _loop(params, loss_fn, predict_fn, data, update, **kwargs)


def loop_mutates_optim_config(params, loss_fn, predict_fn, data, update, *, optim_config=None, **kwargs):
    if optim_config is not None:
        optim_config.setdefault("momentum", 0.9)
    return _loop(params, loss_fn, predict_fn, data, update, optim_config=optim_config, **kwargs)


def loop_returns_history_only(*args, **kwargs):
    return _loop(*args, **kwargs)[1]


def loop_loss_after_update(params, loss_fn, predict_fn, data, update, *, epochs, batch_size, rng, optim_config=None,
                           lr_schedule=None, early_stop=None):
    return REF.train_loop(params, lambda p, X, y: loss_fn(p, X, y), predict_fn, data, update, epochs=epochs,
                          batch_size=batch_size, rng=np.random.default_rng(0), optim_config=optim_config,
                          lr_schedule=lr_schedule, early_stop=early_stop)


BANK = {
    "check_sgd": {
        "learning rate ignored": sgd_no_lr,
        "step uphill": sgd_uphill,
        "w changed in place": sgd_in_place,
        "wrong default lr": sgd_wrong_default,
        "given lr replaced by the default": sgd_ignores_given_lr,
        "returns next_w only": sgd_returns_w_only,
        "crashes on config=None": sgd_config_none_crashes,
        "returns a list": sgd_returns_list,
    },
    "check_sgd_momentum": {
        "lecture notes: v accumulates +dw and w += lr * v (wrong sign)": momentum_lecture_notes_sign,
        "lecture form: right steps, config['v'] holds rho * v + dw": momentum_lecture_form_state,
        "state not saved in config": momentum_state_not_saved,
        "state saved but never read": momentum_state_never_read,
        "state kept outside config": momentum_state_in_global,
        "dw changed in place": momentum_mutates_dw,
        "velocity never decays": momentum_no_decay,
        "wrong default momentum": momentum_wrong_default,
        "exponentially weighted form (1 - beta) dw": momentum_exponentially_weighted,
        "float32 result": momentum_float32,
    },
    "check_nesterov_momentum": {
        "v and v_prev swapped in the step": nesterov_v_and_v_prev_swapped,
        "PyTorch's buffer form: right steps, config['v'] holds the buffer": nesterov_pytorch_buffer,
        "plain momentum": nesterov_plain_momentum,
        "+mu * v_prev instead of -mu * v_prev": nesterov_wrong_sign_prev,
        "v_prev dropped (w + v)": nesterov_uses_new_v_twice,
        "state not saved in config": nesterov_state_not_saved,
        "w changed in place": nesterov_mutates_w,
    },
    "check_adagrad": {
        "no square root": adagrad_no_sqrt,
        "eps inside the square root": adagrad_eps_inside,
        "no eps (0/0 at a zero gradient)": adagrad_no_eps,
        "state not saved in config": adagrad_state_not_saved,
        "decaying cache (that is RMSProp)": adagrad_decaying_cache,
        "step divided by the previous cache": adagrad_step_before_cache,
        "dw changed in place": adagrad_squares_dw_in_place,
    },
    "check_rmsprop": {
        "lecture notes: cache += decay * cache + (1 - decay) * dw**2": rmsprop_lecture_notes_plus_equals,
        "lecture notes: really AdaGrad (cache += dw**2)": rmsprop_really_adagrad,
        "decay and 1 - decay swapped": rmsprop_swapped_weights,
        "eps inside the square root": rmsprop_eps_inside,
        "state not saved in config": rmsprop_state_not_saved,
        "wrong default decay": rmsprop_wrong_default_decay,
        "bias-corrected cache": rmsprop_bias_corrected,
        "step divided by the previous cache": rmsprop_step_before_cache,
    },
    "check_adam": {
        "no bias correction": adam_no_bias_correction,
        "lecture notes: corrected moments computed, raw m / sqrt(v) applied": adam_lecture_notes_raw_moments,
        "step counter incremented after use": adam_t_incremented_after_use,
        "config['t'] stored one ahead": adam_t_starts_at_one_stored_ahead,
        "t not saved": adam_t_not_saved,
        "state not saved in config": adam_state_not_saved,
        "eps inside the square root": adam_eps_inside_sqrt,
        "moments without the (1 - beta) weights": adam_no_one_minus_beta,
        "second moment of |dw| instead of dw**2": adam_v_not_squared,
        "dw changed in place": adam_mutates_dw,
        "beta1 and beta2 swapped": adam_betas_swapped,
    },
    "check_step_decay": {
        "continuous exponent epoch / every": step_decay_continuous,
        "off by one epoch": step_decay_off_by_one,
        "wrong default drop": step_decay_wrong_defaults,
        "works on single epochs only": step_decay_python_only,
    },
    "check_exponential_decay": {
        "lr0 * (1 - k)**t": exponential_base_k,
        "exp(+k t)": exponential_no_minus,
        "math.exp (no arrays)": exponential_math_exp,
    },
    "check_inverse_time_decay": {
        "squared denominator": inverse_time_squared,
        "lr0 / (k t)": inverse_time_no_one,
        "operator precedence: lr0 / 1 + k t": inverse_time_precedence,
    },
    "check_cosine_decay": {
        "missing factor 1/2": cosine_missing_half,
        "lr_min ignored": cosine_ignores_lr_min,
        "not held at lr_min after T": cosine_not_clamped,
        "a full cosine period": cosine_full_period,
        "quarter-period cosine": cosine_quarter_period,
    },
    "check_random_mini_batches": {
        "not shuffled": mb_no_shuffle,
        "last partial batch dropped": mb_drops_last,
        "X and y shuffled with different permutations": mb_separate_permutations,
        "rng.shuffle(X) in place": mb_shuffle_in_place,
        "np.random instead of rng": mb_global_random,
        "rng.choice with replacement": mb_with_replacement,
        "two permutations drawn": mb_two_draws,
        "an extra draw after the permutation": mb_extra_draw_after,
        "returns an iterator": mb_generator,
        "batches as lists": mb_lists_not_tuples,
        "an empty batch at the end when batch_size divides N": mb_empty_last_batch,
        "overlapping batches (batch_size + 1 rows)": mb_overlapping,
        "the inverse permutation": mb_inverse_permutation,
        "rng.choice without replacement (another order)": mb_choice_without_replacement,
        "labels cast to float": mb_float_cast,
    },
    "check_train_loop": {
        "last partial batch dropped": loop_drops_last_batch,
        "not shuffled": loop_no_shuffle,
        "the same batches every epoch": loop_same_batches_every_epoch,
        "one config shared by all parameters": loop_one_shared_config,
        "the returned config not passed back in": loop_config_not_passed_back,
        "schedule one epoch ahead": loop_schedule_one_ahead,
        "schedule ignored": loop_schedule_ignored,
        "early stop checked before the epoch is recorded": loop_stop_checked_before_recording,
        "early stop ignored": loop_early_stop_ignored,
        "train_loss as the mean of the minibatch losses": loop_train_loss_from_minibatches,
        "float32 losses in the history": loop_float32_losses,
        "params changed in place": loop_changes_params_in_place,
        "val_acc measured on the training set": loop_val_acc_on_training_set,
        "optim_config changed": loop_mutates_optim_config,
        "returns the history only": loop_returns_history_only,
        "its own rng instead of the one passed in": loop_loss_after_update,
    },
    "check_linear_warmup": {
        "starts from 0 (t / warmup_steps)": warmup_from_zero,
        "never reaches lr0": warmup_never_reaches_lr0,
        "not capped at lr0": warmup_not_capped,
        "Python's min (no arrays)": warmup_python_min,
    },
}

UPDATES = ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam"]
SCHEDULES = ["step_decay", "exponential_decay", "inverse_time_decay", "cosine_decay", "linear_warmup"]
EXERCISES = UPDATES + SCHEDULES + ["random_mini_batches", "train_loop"]


# The reference passes visible and hidden checks; every wrong implementation in BANK is rejected.
test_reference_passes, test_wrong_implementation_rejected = reference_and_bank_tests(checks, REF, EXERCISES, BANK)


def test_every_exercise_has_a_bank():
    assert {f"check_{e}" for e in EXERCISES} == set(BANK)


@pytest.mark.parametrize("check, impl, hint", [
    ("check_rmsprop", rmsprop_lecture_notes_plus_equals, "adds the old cache a second time"),
    ("check_rmsprop", rmsprop_really_adagrad, "AdaGrad"),
    ("check_adam", adam_no_bias_correction, "bias-corrected"),
    ("check_adam", adam_lecture_notes_raw_moments, "computing them is not enough"),
    ("check_adam", adam_t_incremented_after_use, "increment t *before* using it"),
    ("check_adam", adam_t_starts_at_one_stored_ahead, "config['t'] counts the calls"),
    ("check_adam", adam_eps_inside_sqrt, "outside the square root"),
    ("check_adagrad", adagrad_eps_inside, "outside the square root"),
    ("check_sgd_momentum", momentum_lecture_notes_sign, "never added"),
    ("check_sgd_momentum", momentum_lecture_form_state, "lecture's velocity"),
    ("check_sgd_momentum", momentum_state_not_saved, "config['v'] = v"),
    ("check_sgd_momentum", momentum_state_never_read, "with the v saved by the previous call"),
    ("check_sgd_momentum", momentum_mutates_dw, "changed its input `dw` in place"),
    ("check_nesterov_momentum", nesterov_plain_momentum, "plain momentum"),
    ("check_adagrad", adagrad_state_not_saved, "config['cache'] = cache"),
    ("check_sgd", sgd_no_lr, "ignores the learning rate"),
    ("check_sgd", sgd_in_place, "changed its input `w` in place"),
    ("check_sgd", sgd_ignores_given_lr, "must be used"),
    ("check_cosine_decay", cosine_missing_half, "halve it"),
    ("check_cosine_decay", cosine_ignores_lr_min, "lr_min is ignored"),
    ("check_cosine_decay", cosine_not_clamped, "stay at lr_min"),
    ("check_linear_warmup", warmup_never_reaches_lr0, "does not reach lr0"),
    ("check_linear_warmup", warmup_not_capped, "goes above lr0"),
    ("check_linear_warmup", warmup_from_zero, "never 0"),
    ("check_step_decay", step_decay_continuous, "epoch // every"),
    ("check_step_decay", step_decay_python_only, "numpy functions"),
    ("check_linear_warmup", warmup_python_min, "numpy functions"),
    ("check_rmsprop", rmsprop_eps_inside, "outside the square root"),
    ("check_adam", adam_no_one_minus_beta, "weighted averages"),
    ("check_adagrad", adagrad_decaying_cache, "in full"),
    ("check_sgd", sgd_uphill, "uphill"),
    ("check_sgd_momentum", momentum_exponentially_weighted, "exponentially weighted form"),
    ("check_sgd_momentum", momentum_float32, "dtype float32"),
    ("check_nesterov_momentum", nesterov_v_and_v_prev_swapped, "v and v_prev are swapped"),
    ("check_nesterov_momentum", nesterov_pytorch_buffer, "PyTorch's buffer"),
    ("check_adagrad", adagrad_step_before_cache, "before"),
    ("check_rmsprop", rmsprop_step_before_cache, "before"),
    ("check_random_mini_batches", mb_no_shuffle, "original order"),
    ("check_random_mini_batches", mb_drops_last, "partial batch"),
    ("check_random_mini_batches", mb_separate_permutations, "same permutation"),
    ("check_random_mini_batches", mb_shuffle_in_place, "in place"),
    ("check_random_mini_batches", mb_with_replacement, "exactly once"),
    ("check_random_mini_batches", mb_two_draws, "rng.permutation"),
    ("check_random_mini_batches", mb_extra_draw_after, "one permutation"),
    ("check_random_mini_batches", mb_inverse_permutation, "inverse"),
    ("check_random_mini_batches", mb_empty_last_batch, "empty"),
    ("check_train_loop", loop_drops_last_batch, "partial minibatch"),
    ("check_train_loop", loop_no_shuffle, "random_mini_batches"),
    ("check_train_loop", loop_same_batches_every_epoch, "every epoch"),
    ("check_train_loop", loop_config_not_passed_back, "one config per parameter"),
    ("check_train_loop", loop_schedule_one_ahead, "one epoch ahead"),
    ("check_train_loop", loop_schedule_ignored, "start of each epoch"),
    ("check_train_loop", loop_stop_checked_before_recording, "after recording"),
    ("check_train_loop", loop_early_stop_ignored, "training went on"),
    ("check_train_loop", loop_train_loss_from_minibatches, "mean of the epoch's minibatch losses"),
    ("check_train_loop", loop_float32_losses, "Python floats"),
    ("check_train_loop", loop_changes_params_in_place, "in place"),
    ("check_train_loop", loop_mutates_optim_config, "optim_config"),
])
def test_messages_name_the_mistake(check, impl, hint):
    message = assert_rejects(getattr(checks, check), impl, match=hint)
    assert "Input: " in message  # the input that broke it


def rmsprop_state_set_with_setdefault(w, dw, config=None):  # the cache is saved once, never updated
    config = _cfg(config, lr=1e-2, decay=0.99, eps=1e-8)
    d = config["decay"]
    cache = d * config.get("cache", np.zeros_like(w)) + (1 - d) * dw * dw
    config.setdefault("cache", cache)
    return w - config["lr"] * dw / (np.sqrt(cache) + config["eps"]), config


def test_state_hints():
    """State saved once with setdefault and never updated is named as such."""
    assert_rejects(checks.check_rmsprop, rmsprop_state_set_with_setdefault, match="never overwrites")


def test_unstarted_exercise_raises_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for exercise in EXERCISES:
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{exercise}")(stub)


def test_checks_pass_the_returned_config_back_in():
    """The check reuses the dict the function returned (not a copy of the reference state)."""
    seen = []

    def recording_sgd_momentum(w, dw, config=None):
        seen.append(config)
        return REF.sgd_momentum(w, dw, config)

    checks.check_sgd_momentum(recording_sgd_momentum)
    assert seen[0] is None  # the first call of the first trajectory gets config=None
    assert any(a is b for a, b in zip(seen[1:], seen[2:]))  # the same dict comes back in


def test_fixture_trajectories_are_consecutive():
    """Every visible trajectory starts at step 1, and each step's input is the previous step's output."""
    from graders.fixtures import cases
    for name in UPDATES:
        groups = checks._group(cases("optimizers", name))
        assert len(groups) == 3 and groups[0][0].args["config"] is None
        for group in groups:
            assert len(group) >= 3
            for before, after in zip(group, group[1:]):
                np.testing.assert_array_equal(before.expected[0], after.args["w"])
                assert set(before.expected[1]) == set(after.args["config"])


def test_questions():
    from graders.checking import check_choice, check_number
    check_number(REF.momentum_speedup, name="momentum_speedup", expected=10.0, tol=1e-3, hidden=True)
    check_number(REF.adam_uncorrected_first_step, name="adam_uncorrected_first_step", expected=0.1 / np.sqrt(0.001),
                 tol=0.01, hidden=True)
    check_number(REF.adagrad_loglog_slope, name="adagrad_loglog_slope", expected=-0.5, tol=0.02, hidden=True)
    check_choice(REF.saddle_escape, name="saddle_escape", expected="B", hidden=True)
    assert REF.saddle_escape == "B"
    with pytest.raises(AssertionError):
        check_number(3.0, name="adam_uncorrected_first_step", expected=0.1 / np.sqrt(0.001), tol=0.01, hidden=True)
    with pytest.raises(AssertionError):
        check_choice("A", name="saddle_escape", expected="B", hidden=True)


def test_hidden_module_has_cases_for_every_exercise():
    """classroom/hidden/optimizers.py draws hidden cases for every exercise with visible cases, and more of them."""
    module = hidden_cases.module("optimizers")
    assert set(module.CASES) == set(checks.CASES)
    for exercise, draw in module.CASES.items():
        visible = checks.CASES[exercise](np.random.default_rng(0))
        assert len(draw(np.random.default_rng(0))) > len(visible), exercise


def test_surface_helpers():
    """utils.optimizers_plots: the path starts at w0, follows the update, leaves the caller's config alone."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from datasets import ill_conditioned_quadratic
    from utils.optimizers_plots import plot_paths, run_on_surface

    surface = ill_conditioned_quadratic(condition=10.0)
    config = {"lr": 0.05}
    path, losses, lrs = run_on_surface(REF.sgd, surface, [1.0, 2.0], 5, config, record=lambda c: c["lr"])
    assert path.shape == (6, 2) and losses.shape == (6,) and lrs == [0.05] * 5
    assert config == {"lr": 0.05}
    np.testing.assert_allclose(path[1], path[0] - 0.05 * surface.grad(path[0]))
    assert np.all(np.diff(losses) < 0)
    ax = plot_paths(surface, {"SGD": path})
    assert ax.get_xlim() == surface.xlim
    plt.close("all")


# ---------------------------------------------------------------- the digits experiment (section 9)
UPDATES = {name: getattr(REF, name)
           for name in ("sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam")}


def notebook_values(marker: str = "digit_runs = {", **functions) -> dict:
    """The solution notebook's digits cell run with the reference functions, or ``functions`` in their place."""
    return run_notebook_cells("06_optimizers", REF, [marker], **functions)


def _stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.fixture(scope="module")
def histories():
    with pytest.MonkeyPatch.context() as mp:   # the epochs nbgrader runs (utils.fast_mode)
        mp.setenv("TNN_FAST", "1")
        return notebook_values()["histories"]


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setenv("TNN_FAST", "1")


def test_digits_training_reference_passes(histories, fast, capfd):
    checks.check_digits_training(histories, **UPDATES)
    checks.check_digits_training(histories, **UPDATES, hidden=True)
    out, err = capfd.readouterr()
    assert out.count("[ok]") == 2 and err == ""


def test_digits_training_interactive_length(monkeypatch):
    """Outside nbgrader the cell trains for 6 epochs, and the rerun does too."""
    monkeypatch.delenv("TNN_FAST", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    adam_only = checks.digits_run(REF.adam, 5e-3)
    assert len(adam_only.val_acc) == 6


def test_digits_training_rerun_follows_the_size_the_notebook_ran_at(histories, monkeypatch):
    """The student's kernel and the re-check need not agree on utils.fast_mode: the rerun trains for as many
    epochs as the histories show (here: values from 4 epochs, a re-check that would make 6)."""
    from types import SimpleNamespace
    monkeypatch.delenv("TNN_FAST", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    checks.check_digits_training(histories, **UPDATES, hidden=True)
    five = {k: SimpleNamespace(loss=h.loss, val_acc=h.val_acc + [h.val_acc[-1]]) for k, h in histories.items()}
    assert_rejects(checks.check_digits_training, five, **UPDATES, hidden=True, match="while it is graded")


def test_digits_training_typed_in_fails_the_hidden_part(histories, fast):
    from types import SimpleNamespace
    # nothing run: the right histories typed in, the update functions not written
    checks.check_digits_training(histories, **{k: _stub for k in UPDATES})
    with pytest.raises(NotImplementedError):
        checks.check_digits_training(histories, **{k: _stub for k in UPDATES}, hidden=True)
    # plausible histories typed in: Adam's final accuracy a little higher, or made-up curves
    better = dict(histories)
    adam = histories["Adam"]
    better["Adam"] = SimpleNamespace(loss=list(adam.loss), val_acc=list(adam.val_acc[:-1]) + [adam.val_acc[-1] + 0.01])
    made_up = {k: SimpleNamespace(loss=list(np.linspace(2.3, 0.3, len(h.loss))), val_acc=[0.7, 0.8, 0.85, 0.9])
               for k, h in histories.items()}
    for typed in (better, made_up):
        checks.check_digits_training(typed, **UPDATES)
        assert_rejects(checks.check_digits_training, typed, **UPDATES, hidden=True, match="rerun")
    # the right histories with a wrong update rule (each still trains)
    for name, wrong in [("adam", adam_no_bias_correction), ("rmsprop", rmsprop_really_adagrad),
                        ("sgd_momentum", momentum_no_decay), ("nesterov_momentum", nesterov_plain_momentum)]:
        checks.check_digits_training(histories, **{**UPDATES, name: wrong})
        assert_rejects(checks.check_digits_training, histories, **{**UPDATES, name: wrong}, hidden=True)
    # the visible bars, and an unrun cell
    stalled = {**histories, "SGD": SimpleNamespace(loss=[2.3] * 64, val_acc=[0.1] * 4)}
    assert_rejects(checks.check_digits_training, stalled, **UPDATES, match="fall clearly")
    with pytest.raises(NotImplementedError):
        checks.check_digits_training(None, **UPDATES)


def test_digits_training_keeps_its_hidden_criterion(monkeypatch, histories, fast):
    """An adaptive run below 80% validation accuracy fails the hidden part (when the rerun says so)."""
    from types import SimpleNamespace
    from classroom.hidden import optimizers as hidden
    weak = {**histories, "AdaGrad": SimpleNamespace(loss=histories["AdaGrad"].loss, val_acc=[0.5, 0.6, 0.7, 0.75])}
    monkeypatch.setattr(hidden, "digits_experiment", lambda updates, epochs=None: weak)
    checks.check_digits_training(weak, **UPDATES)
    assert_rejects(checks.check_digits_training, weak, **UPDATES, hidden=True, match="80%")


@pytest.mark.parametrize("kernel", ["Sandybridge", "Prescott"])
def test_rerun_tolerances_cover_another_blas_kernel(kernel, tmp_path, fast):
    """The experiment's histories computed where OpenBLAS picks another CPU kernel (other last bits) pass here."""
    import pickle
    import subprocess
    import sys
    from coursework import ROOT, unactivated_env
    out = tmp_path / "values.pickle"
    code = ("import pickle, sys; sys.path.insert(0, 'tests')\n"
            "import test_checks_optimizers as t\n"
            f"pickle.dump(t.notebook_values()['histories'], open({str(out)!r}, 'wb'))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=unactivated_env(PYTHONPATH=str(ROOT), OPENBLAS_CORETYPE=kernel, TNN_FAST="1"))
    assert done.returncode == 0, done.stderr[-2000:]
    checks.check_digits_training(pickle.loads(out.read_bytes()), **UPDATES, hidden=True)


@pytest.mark.parametrize("exercise", ["random_mini_batches", "train_loop"])
def test_hidden_cases_pass_the_reference_over_200_seeds(exercise):
    """The hidden cases of the new exercises draw random sizes and data: an honest solution passes for any seed."""
    from graders.fixtures import hidden_seed
    check = getattr(checks, f"check_{exercise}")
    for seed in range(200):
        with hidden_seed(seed):
            check(getattr(REF, exercise), hidden=True)


def test_train_loop_takes_every_update_rule_of_the_notebook():
    """The loop's interface is the update rules' interface: each of them trains the check's linear classifier."""
    args, kwargs = checks._loop_call(checks.cases("optimizers", "train_loop")[0].args["spec"])
    for name in ("sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam"):
        params, history = REF.train_loop(
            args["params"], args["loss_fn"], args["predict_fn"], args["data"], getattr(REF, name),
            **dict(kwargs, optim_config={"lr": 0.05}))
        assert history["train_loss"][-1] < history["loss"][0], name
