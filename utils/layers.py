"""The course's library versions of the layers students write in the notebooks.

Notebooks have you write these yourself (checked against the reference solutions in ``solutions/``);
later notebooks, and the training helper in :mod:`utils.training`, use these versions, or yours when
you plug them in. ``tests/test_utils_training.py`` proves they agree with the reference solutions.

Interface (as in cs231n): ``*_forward(...) -> (out, cache)`` and ``*_backward(dout, cache)`` returning
the input gradient (and parameter gradients where there are parameters).
"""
from __future__ import annotations

import numpy as np


def affine_forward(x, W, b):
    """x (N, D), W (D, M), b (M,) -> out (N, M) = x @ W + b, cache."""
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    """dout (N, M) -> (dx (N, D), dW (D, M), db (M,))."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    """out = max(0, x); cache = x."""
    return np.maximum(0.0, x), x


def relu_backward(dout, cache):
    """Gradient passes where x > 0 (0 at x <= 0)."""
    return dout * (cache > 0)


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    return dout * (1.0 - cache ** 2)


def softmax_cross_entropy(scores, y):
    """scores (N, C), y (N,) -> (mean cross-entropy, dscores (N, C) = (softmax - onehot) / N)."""
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-np.mean(log_probs[np.arange(N), y]))
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1.0
    return loss, dscores / N


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization over the batch axis of x (N, D).

    ``bn_param``: ``mode`` ("train"/"test"), ``eps`` (1e-5), ``momentum`` (0.9), ``running_mean`` and
    ``running_var`` (D,), updated in place in train mode as
    ``running = momentum * running + (1 - momentum) * batch_statistic``. Biased batch variance.
    """
    mode = bn_param.get("mode", "train")
    eps = bn_param.setdefault("eps", 1e-5)
    momentum = bn_param.setdefault("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.setdefault("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.setdefault("running_var", np.ones(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)                       # biased: divides by N
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = (x - mu) * inv_std
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
        return gamma * x_hat + beta, (x_hat, gamma, inv_std)
    if mode == "test":
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        return gamma * x_hat + beta, (x_hat, gamma, 1.0 / np.sqrt(running_var + eps))
    raise ValueError(f"bn_param['mode'] must be 'train' or 'test', not {mode!r}")


def batchnorm_backward(dout, cache):
    """Train-mode batch norm backward (closed form): -> (dx, dgamma, dbeta)."""
    x_hat, gamma, inv_std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = inv_std / N * (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


def dropout_forward(x, keep_prob, mode, rng):
    """Inverted dropout: in train mode keep each unit with probability ``keep_prob`` and scale by
    ``1 / keep_prob`` (mask ``rng.random(x.shape) < keep_prob``); identity in test mode."""
    if mode == "train" and keep_prob < 1.0:
        mask = (rng.random(x.shape) < keep_prob) / keep_prob
        return x * mask, mask
    return x, None


def dropout_backward(dout, cache):
    return dout if cache is None else dout * cache


def init_he(fan_in, fan_out, rng):
    """Gaussian weights with std sqrt(2 / fan_in) (for ReLU layers), shape (fan_in, fan_out)."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def init_xavier(fan_in, fan_out, rng):
    """Gaussian weights with std 1 / sqrt(fan_in), shape (fan_in, fan_out)."""
    return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
