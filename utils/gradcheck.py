"""Numeric gradients by centred differences, and the relative error used to compare gradients.

These are the course's library versions. Notebook ``01_softmax`` has students write their own
``numerical_gradient`` and ``relative_error``; every later notebook (and every check in
``graders/``) uses these.

Centred differences ``(f(x + h) - f(x - h)) / 2h`` have error O(h**2); one-sided differences have
error O(h). Always evaluate in float64: in float32 the rounding error ``eps * |f| / h`` swamps
the truncation error for any useful ``h``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of a scalar function ``f`` at ``x``.

    Inputs:
    - f: function taking an array shaped like ``x`` and returning a scalar
    - x: float64 array of any shape; perturbed in place one entry at a time and restored
    - h: step size
    Returns:
    - grad: float64 array of the same shape as ``x``
    """
    x = _require_float64(x)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old  # restore exactly
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray,
                             h: float = 1e-5, *, f_many: Callable[[list], list] | None = None) -> np.ndarray:
    """Centred-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    This is what a layer's backward pass computes from an upstream gradient ``dout``.

    Inputs:
    - f: function taking an array shaped like ``x`` and returning an array shaped like ``dout``
    - x: float64 array of any shape; perturbed in place one entry at a time and restored
    - dout: upstream gradient, same shape as ``f(x)``
    - f_many: optional, for callers that can evaluate many points at once (the grader batches its
      calls this way): ``f_many(points)`` returns ``[f(p) for p in points]``. The points are copies of
      ``x`` with one entry moved by ``+h`` then ``-h``, entry after entry; ``x`` itself is not touched.
    Returns:
    - dx: float64 array of the same shape as ``x``
    """
    x = _require_float64(x)
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros_like(x)
    if f_many is not None:
        points = []
        for i in np.ndindex(x.shape):
            for step in (h, -h):
                p = x.copy()
                p[i] = x[i] + step
                points.append(p)
        outputs = f_many(points)
        for k, i in enumerate(np.ndindex(x.shape)):
            pos = np.array(outputs[2 * k], dtype=np.float64)
            neg = np.array(outputs[2 * k + 1], dtype=np.float64)
            grad[i] = np.sum((pos - neg) * dout) / (2 * h)
        return grad
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        pos = np.array(f(x), dtype=np.float64)  # copy: f may return a view of x
        x[i] = old - h
        neg = np.array(f(x), dtype=np.float64)
        x[i] = old
        grad[i] = np.sum((pos - neg) * dout) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """``max |a - b| / max(1e-8, |a| + |b|)``, elementwise, then the largest value.

    The 1e-8 guard keeps the ratio finite where both entries are zero. For a correct backward pass
    in float64 expect about 1e-7 or less; above 1e-4 something is almost surely wrong.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _require_float64(x: np.ndarray) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            "numerical gradients need a float64 array (got "
            f"{type(x).__name__} of dtype {getattr(x, 'dtype', None)}); in float32 the rounding "
            "error swamps the difference quotient."
        )
    return x


def sampled_gradient_check(loss_fn: Callable[[dict], float], params: dict, grads: dict,
                           rng: np.random.Generator, num_checks: int = 10, h: float = 1e-5) -> dict:
    """Whole-network gradient check on a sample of entries: ``{name: largest relative error}``.

    Inputs:
    - loss_fn: ``loss_fn(params) -> float``, deterministic (dropout and augmentation off or fixed)
    - params: dict of float64 arrays; not modified (each probe works on a copy)
    - grads: dict with the same keys and shapes, the analytic gradients to check
    - rng: draws, for each name in sorted order, ``min(num_checks, size)`` distinct flat indices
      (``rng.choice(size, k, replace=False)``)
    - h: step of the centred differences
    Returns for every parameter the largest ``relative_error`` over its sampled entries.
    """
    errors = {}
    for name in sorted(params):
        value = _require_float64(params[name])
        worst = 0.0
        for flat in rng.choice(value.size, size=min(num_checks, value.size), replace=False):
            idx = np.unravel_index(flat, value.shape)
            probe = {k: np.array(v, copy=True) for k, v in params.items()}
            probe[name][idx] = value[idx] + h
            loss_plus = float(loss_fn(probe))
            probe[name][idx] = value[idx] - h
            loss_minus = float(loss_fn(probe))
            numeric = (loss_plus - loss_minus) / (2 * h)
            worst = max(worst, relative_error(np.asarray(grads[name])[idx], numeric))
        errors[name] = worst
    return errors
