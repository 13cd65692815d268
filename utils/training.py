"""A small, fast training helper: an MLP built from the course's layers, a minibatch loop with
history and a progress bar, and evaluation.

Every layer function is pluggable, so a notebook can train with the student's own functions::

    from utils.training import MLP, Layers, train
    model = MLP(64, [100, 100], 10, rng, layers=Layers(dropout_forward=dropout_forward,
                                                       dropout_backward=dropout_backward),
                keep_prob=0.8)
    history = train(model, data, epochs=20, update=adam, optim_config={"lr": 1e-3}, rng=rng)

``data`` is a dict with ``X_train``, ``y_train`` and optionally ``X_val``, ``y_val`` (what
:func:`datasets.load_digits` returns). Architecture: ``affine -> [batchnorm] -> activation ->
[dropout]`` for each hidden layer, then ``affine -> softmax cross-entropy``. L2 regularization adds
``0.5 * reg * sum(W**2)`` over the weight matrices (not biases, not batch-norm parameters).
"""
from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import layers as L
from .optim import sgd
from .seeding import fast_mode


@dataclass
class Layers:
    """The functions an :class:`MLP` is built from; defaults are the library versions in utils.layers."""
    affine_forward: Callable = L.affine_forward
    affine_backward: Callable = L.affine_backward
    activation_forward: Callable = L.relu_forward
    activation_backward: Callable = L.relu_backward
    batchnorm_forward: Callable = L.batchnorm_forward
    batchnorm_backward: Callable = L.batchnorm_backward
    dropout_forward: Callable = L.dropout_forward
    dropout_backward: Callable = L.dropout_backward
    loss: Callable = L.softmax_cross_entropy


class MLP:
    """A fully connected network with parameters in ``self.params``:
    ``W1, b1, ..., WL, bL`` and, with batch norm, ``gamma1, beta1, ...`` for the hidden layers.

    Inputs:
    - input_dim, hidden_dims (list of ints), num_classes
    - rng: ``np.random.Generator`` for the weights (and dropout masks unless ``loss`` is given one)
    - init: ``init(fan_in, fan_out, rng) -> (fan_in, fan_out)`` weights (default He), or
      ``weight_scale``: a float to use ``weight_scale * standard normal`` instead
    - batchnorm, keep_prob (1.0 = no dropout), reg (L2 strength), layers (:class:`Layers`)
    ``frozen`` is a set of parameter names that :func:`train` leaves unchanged (transfer learning). A
    batch-norm layer whose ``gamma`` and ``beta`` are both frozen runs in test mode in training too (as a
    frozen ``BatchNormalization`` does in Keras): it normalizes with its running statistics and keeps them.
    """

    def __init__(self, input_dim: int, hidden_dims: list[int], num_classes: int, rng: np.random.Generator,
                 init: Callable | None = None, weight_scale: float | None = None, batchnorm: bool = False,
                 keep_prob: float = 1.0, reg: float = 0.0, layers: Layers | None = None):
        self.layers = layers or Layers()
        self.batchnorm, self.keep_prob, self.reg = batchnorm, keep_prob, reg
        self.rng = rng
        self.num_layers = len(hidden_dims) + 1
        self.frozen: set[str] = set()
        dims = [input_dim, *hidden_dims, num_classes]
        init = init or L.init_he
        self.params: dict[str, np.ndarray] = {}
        for i in range(self.num_layers):
            fan_in, fan_out = dims[i], dims[i + 1]
            W = weight_scale * rng.standard_normal((fan_in, fan_out)) if weight_scale is not None \
                else init(fan_in, fan_out, rng)
            self.params[f"W{i + 1}"] = np.asarray(W, dtype=np.float64)
            self.params[f"b{i + 1}"] = np.zeros(fan_out)
            if batchnorm and i < self.num_layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(fan_out)
                self.params[f"beta{i + 1}"] = np.zeros(fan_out)
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)] if batchnorm else []

    def scores(self, X: np.ndarray, mode: str = "test", rng: np.random.Generator | None = None):
        """Forward pass: class scores (N, C) and the caches for :meth:`backward`."""
        ly, p = self.layers, self.params
        caches, h = [], X
        for i in range(1, self.num_layers):
            h, c_aff = ly.affine_forward(h, p[f"W{i}"], p[f"b{i}"])
            c_bn = c_do = None
            if self.batchnorm:
                self.bn_params[i - 1]["mode"] = "test" if self._bn_frozen(i) else mode
                h, c_bn = ly.batchnorm_forward(h, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
            h, c_act = ly.activation_forward(h)
            if self.keep_prob < 1.0:
                h, c_do = ly.dropout_forward(h, self.keep_prob, mode, rng or self.rng)
            caches.append((c_aff, c_bn, c_act, c_do))
        out, c_aff = ly.affine_forward(h, p[f"W{self.num_layers}"], p[f"b{self.num_layers}"])
        caches.append(c_aff)
        return out, caches

    def _bn_frozen(self, i: int) -> bool:
        """Batch norm of hidden layer ``i`` runs in test mode: its gamma and beta are both frozen."""
        return {f"gamma{i}", f"beta{i}"} <= self.frozen

    def loss(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator | None = None):
        """Training-mode loss (data loss + L2) and the gradient of every parameter."""
        ly, p = self.layers, self.params
        scores, caches = self.scores(X, mode="train", rng=rng)
        loss, dout = ly.loss(scores, y)
        grads = {}
        n = self.num_layers
        dout, grads[f"W{n}"], grads[f"b{n}"] = ly.affine_backward(dout, caches[-1])
        for i in range(n - 1, 0, -1):
            c_aff, c_bn, c_act, c_do = caches[i - 1]
            if self.keep_prob < 1.0:
                dout = ly.dropout_backward(dout, c_do)
            dout = ly.activation_backward(dout, c_act)
            if self.batchnorm and self._bn_frozen(i):   # test mode: a fixed affine map of its input
                x_hat, gamma, inv_std = c_bn
                grads[f"gamma{i}"], grads[f"beta{i}"] = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
                dout = dout * gamma * inv_std
            elif self.batchnorm:
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = ly.batchnorm_backward(dout, c_bn)
            dout, grads[f"W{i}"], grads[f"b{i}"] = ly.affine_backward(dout, c_aff)
        if self.reg:
            for i in range(1, n + 1):
                W = p[f"W{i}"]
                loss += 0.5 * self.reg * float(np.sum(W * W))
                grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return loss, grads

    # -- plain data: how a model crosses from a student's kernel to the grader (classroom.wire) --------
    PLAIN_FIELDS = ("params", "num_layers", "batchnorm", "keep_prob", "reg", "frozen", "bn_params", "rng")

    def to_plain(self) -> dict:
        """The model as plain data: parameter arrays, the architecture's flags, the frozen names, the
        batch-norm statistics and the generator. The layer functions are not data: a model rebuilt by
        :meth:`from_plain` uses the library's layers."""
        return {"params": dict(self.params), "num_layers": self.num_layers, "batchnorm": self.batchnorm,
                "keep_prob": self.keep_prob, "reg": self.reg, "frozen": sorted(self.frozen),
                "bn_params": [dict(p) for p in self.bn_params], "rng": self.rng}

    @classmethod
    def from_plain(cls, fields: dict) -> "MLP":
        """Rebuild a model from :meth:`to_plain`'s fields with this class's own code, checking every field
        (names, shapes and dtypes of the parameters, the batch-norm entries); raises ValueError or
        TypeError on anything else. The rebuilt model uses the library's layers."""
        if not isinstance(fields, dict) or set(fields) != set(cls.PLAIN_FIELDS):
            raise ValueError(f"fields must be exactly {cls.PLAIN_FIELDS}")
        L_ = fields["num_layers"]
        if type(L_) is not int or not 1 <= L_ <= 64:
            raise ValueError("num_layers must be an int from 1 to 64")
        bn, keep, reg = fields["batchnorm"], fields["keep_prob"], fields["reg"]
        if type(bn) is not bool or not isinstance(keep, (int, float)) or not isinstance(reg, (int, float)) \
                or isinstance(keep, bool) or isinstance(reg, bool) or not 0 < keep <= 1 or not reg >= 0:
            raise ValueError("batchnorm must be a bool, 0 < keep_prob <= 1, reg >= 0")
        params = fields["params"]
        names = [f"{k}{i}" for i in range(1, L_ + 1) for k in ("W", "b")]
        if bn:
            names += [f"{k}{i}" for i in range(1, L_) for k in ("gamma", "beta")]
        if not isinstance(params, dict) or set(params) != set(names):
            raise ValueError(f"params must hold exactly {sorted(names)}")
        dims = []
        for i in range(1, L_ + 1):
            W, b = params[f"W{i}"], params[f"b{i}"]
            if not (isinstance(W, np.ndarray) and W.ndim == 2 and isinstance(b, np.ndarray) and b.shape == W.shape[1:]):
                raise ValueError(f"W{i} must be a 2-D array and b{i} of shape (W{i}.shape[1],)")
            if dims and W.shape[0] != dims[-1]:
                raise ValueError(f"W{i} has {W.shape[0]} rows, but layer {i - 1} has {dims[-1]} outputs")
            dims += [W.shape[0], W.shape[1]] if not dims else [W.shape[1]]
        for name, value in params.items():
            if not (isinstance(value, np.ndarray) and value.dtype.kind in "fiu"):
                raise ValueError(f"{name} must be a numeric array")
        for i in range(1, L_ if bn else 1):
            for k in ("gamma", "beta"):
                if params[f"{k}{i}"].shape != (dims[i],):
                    raise ValueError(f"{k}{i} must have shape ({dims[i]},)")
        frozen = fields["frozen"]
        if not isinstance(frozen, (list, tuple, set, frozenset)) or not all(isinstance(n, str) for n in frozen):
            raise ValueError("frozen must be a collection of parameter names")
        bn_params = fields["bn_params"]
        if not isinstance(bn_params, list) or len(bn_params) != (L_ - 1 if bn else 0):
            raise ValueError("bn_params must hold one dict per hidden layer with batch norm")
        clean = []
        for i, p in enumerate(bn_params, start=1):
            if not isinstance(p, dict) or not set(p) <= {"mode", "eps", "momentum", "running_mean", "running_var"}:
                raise ValueError("a bn_param holds mode, eps, momentum, running_mean, running_var only")
            for k in ("running_mean", "running_var"):
                if k in p and not (isinstance(p[k], np.ndarray) and p[k].shape == (dims[i],) and p[k].dtype.kind == "f"):
                    raise ValueError(f"bn_params[{i - 1}][{k!r}] must be a float array of shape ({dims[i]},)")
            for k in ("eps", "momentum"):
                if k in p and (not isinstance(p[k], (int, float)) or isinstance(p[k], bool)):
                    raise ValueError(f"bn_params[{i - 1}][{k!r}] must be a number")
            if "mode" in p and p["mode"] not in ("train", "test"):
                raise ValueError("a bn_param's mode is 'train' or 'test'")
            clean.append(dict(p))
        rng = fields["rng"]
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy Generator or None")
        model = cls.__new__(cls)
        model.layers = Layers()
        model.batchnorm, model.keep_prob, model.reg = bn, float(keep), float(reg)
        model.rng, model.num_layers = rng, L_
        model.frozen = set(frozen)
        model.params = {k: np.array(v, dtype=np.float64) if v.dtype.kind != "f" else v for k, v in params.items()}
        model.bn_params = clean
        return model

    def predict(self, X: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        return np.concatenate([np.argmax(self.scores(X[i:i + batch_size])[0], axis=1)
                               for i in range(0, len(X), batch_size)])


def accuracy(model: MLP, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of correct test-mode predictions."""
    return float(np.mean(model.predict(X) == y))


class Progress:
    """A one-line text progress bar on stdout (not stderr: nbgrader scores a cell writing to stderr
    as 0). Silent while nbgrader grades (``utils.fast_mode``) or with ``enabled=False``."""

    def __init__(self, total: int, desc: str = "", enabled: bool = True, width: int = 30):
        self.total, self.desc, self.width = max(total, 1), desc, width
        self.enabled = enabled and not fast_mode()
        self.count, self.start = 0, time.perf_counter()

    def update(self, n: int = 1, info: str = "") -> None:
        self.count += n
        if not self.enabled:
            return
        frac = min(self.count / self.total, 1.0)
        bar = "#" * int(frac * self.width) + "-" * (self.width - int(frac * self.width))
        elapsed = time.perf_counter() - self.start
        sys.stdout.write(f"\r{self.desc} [{bar}] {self.count}/{self.total} {elapsed:5.1f}s {info}   ")
        sys.stdout.flush()
        if self.count >= self.total:
            sys.stdout.write("\n")


def progress(iterable, total: int | None = None, desc: str = "", enabled: bool = True):
    """Wrap an iterable with a :class:`Progress` bar."""
    items = list(iterable) if total is None else iterable
    bar = Progress(len(items) if total is None else total, desc, enabled)
    for item in items:
        yield item
        bar.update()


@dataclass
class History:
    """What :func:`train` records: per-iteration loss, per-epoch accuracies and validation loss."""
    loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int = -1
    best_val_acc: float = float("nan")
    stopped_epoch: int = -1

    # -- plain data: how a history crosses from a student's kernel to the grader (classroom.wire) ------
    def to_plain(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_plain(cls, fields: dict) -> "History":
        """Rebuild from :meth:`to_plain`'s fields, checking each: lists of numbers and three numbers."""
        if not isinstance(fields, dict) or set(fields) != set(cls.__dataclass_fields__):
            raise ValueError(f"fields must be exactly {sorted(cls.__dataclass_fields__)}")
        out = {}
        for name, value in fields.items():
            if name in ("loss", "train_acc", "val_acc", "val_loss", "lr"):
                if not isinstance(value, (list, tuple)) or not all(
                        isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in value):
                    raise ValueError(f"{name} must be a list of numbers")
                out[name] = [float(v) for v in value]
            else:
                if not isinstance(value, (int, float, np.number)) or isinstance(value, (bool, np.bool_)):
                    raise ValueError(f"{name} must be a number")
                out[name] = int(value) if name != "best_val_acc" else float(value)
        return cls(**out)


def train(model: MLP, data: dict, *, rng: np.random.Generator, epochs: int = 10, batch_size: int = 64,
          update: Callable = sgd, optim_config: dict | None = None, lr_schedule: Callable | None = None,
          augment: Callable | None = None, patience: int | None = None, keep_best: bool = True,
          eval_subset: int | None = 1000, progress_bar: bool = True, desc: str = "training") -> History:
    """Minibatch training of ``model`` on ``data['X_train'], data['y_train']``.

    - ``update(w, dw, config) -> (w, config)``: the optimizer; one config per parameter, starting as a
      copy of ``optim_config``
    - ``lr_schedule(epoch) -> lr``: if given, sets ``config['lr']`` at the start of every epoch
    - ``augment(X_batch, rng) -> X_batch``: applied to every training minibatch
    - ``patience``: stop when the validation accuracy has not improved for this many epochs
    - ``keep_best``: with validation data, restore the parameters of the best epoch at the end
    Every epoch visits every example once: ``ceil(N / batch_size)`` steps, the last one on the
    ``N % batch_size`` examples left over when ``batch_size`` does not divide ``N``.
    Returns a :class:`History`. Draws minibatches (and dropout masks) from ``rng`` only.
    """
    X, y = data["X_train"], data["y_train"]
    X_val, y_val = data.get("X_val"), data.get("y_val")
    N = len(X)
    configs = {k: copy.deepcopy(optim_config or {}) for k in model.params}
    hist = History()
    best_params, best_acc, since_best = None, -1.0, 0
    steps_per_epoch = max(-(-N // batch_size), 1)   # ceil: the last, partial batch too
    bar = Progress(epochs * steps_per_epoch, desc, progress_bar)
    for epoch in range(epochs):
        if lr_schedule is not None:
            lr = float(lr_schedule(epoch))
            for c in configs.values():
                c["lr"] = lr
        hist.lr.append(float(next(iter(configs.values())).get("lr", np.nan)) if configs else np.nan)
        order = rng.permutation(N)
        for s in range(steps_per_epoch):
            idx = order[s * batch_size:(s + 1) * batch_size]
            Xb = X[idx] if augment is None else augment(X[idx], rng)
            loss, grads = model.loss(Xb, y[idx], rng=rng)
            hist.loss.append(loss)
            for name, g in grads.items():
                if name not in model.frozen:
                    model.params[name], configs[name] = update(model.params[name], g, configs[name])
            bar.update(info=f"loss {loss:.3f}")
        sub = slice(None) if eval_subset is None else slice(0, eval_subset)
        hist.train_acc.append(accuracy(model, X[sub], y[sub]))
        if X_val is not None:
            scores, _ = model.scores(X_val)
            hist.val_loss.append(model.layers.loss(scores, y_val)[0])
            hist.val_acc.append(float(np.mean(np.argmax(scores, axis=1) == y_val)))
            if hist.val_acc[-1] > best_acc:
                best_acc, since_best, hist.best_epoch = hist.val_acc[-1], 0, epoch
                best_params = {k: v.copy() for k, v in model.params.items()}
                best_bn = copy.deepcopy(model.bn_params)
            else:
                since_best += 1
            if patience is not None and since_best >= patience:
                hist.stopped_epoch = epoch
                break
        if not np.isfinite(loss):
            hist.stopped_epoch = epoch
            break
    if bar.enabled and bar.count < bar.total:
        sys.stdout.write("\n")
    if X_val is not None and best_params is not None:
        hist.best_val_acc = best_acc
        if keep_best:
            model.params = best_params
            model.bn_params = best_bn
    return hist
