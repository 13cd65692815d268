"""The course's library optimizers, one interface for all (as in cs231n):

    next_w, config = update(w, dw, config=None)

Defaults are filled with ``config.setdefault``; state (velocity, moments, step counter) lives in
``config`` and is carried from call to call; ``w`` and ``dw`` are never modified. Keys: ``lr``,
``momentum``, ``decay``, ``beta1``, ``beta2``, ``eps``, and the state ``v``, ``cache``, ``m``, ``t``.
Notebook 06 has students write these (and more); see there for the derivations.
"""
from __future__ import annotations

import numpy as np


def sgd(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("lr", 1e-2)
    return w - config["lr"] * dw, config


def sgd_momentum(w, dw, config=None):
    """v = momentum * v - lr * dw;  w = w + v."""
    config = {} if config is None else config
    config.setdefault("lr", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("v", np.zeros_like(w))
    v = config["momentum"] * v - config["lr"] * dw
    config["v"] = v
    return w + v, config


def adam(w, dw, config=None):
    """Adam with bias-corrected moments; the step counter is incremented before use."""
    config = {} if config is None else config
    config.setdefault("lr", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("eps", 1e-8)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config.get("t", 0) + 1
    b1, b2 = config["beta1"], config["beta2"]
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw * dw
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    config.update(m=m, v=v, t=t)
    return w - config["lr"] * m_hat / (np.sqrt(v_hat) + config["eps"]), config
