"""The training helper: gradients are right, training learns, runs are reproducible."""
import numpy as np
import pytest

import datasets
from utils import layers as L
from utils import make_rng
from utils.gradcheck import numerical_gradient, numerical_gradient_array, relative_error
from utils.optim import adam, sgd, sgd_momentum
from utils.training import MLP, Layers, accuracy, train


@pytest.mark.parametrize("batchnorm, keep_prob, reg", [(False, 1.0, 0.0), (True, 1.0, 0.1), (False, 0.7, 0.05)])
def test_mlp_gradients_match_numeric(batchnorm, keep_prob, reg):
    rng = make_rng(0)
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 3, size=6)
    model = MLP(5, [7, 4], 3, make_rng(1), batchnorm=batchnorm, keep_prob=keep_prob, reg=reg)
    loss, grads = model.loss(X, y, rng=make_rng(2))
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        num = numerical_gradient(lambda _: model.loss(X, y, rng=make_rng(2))[0], p)
        assert relative_error(grads[name], num) < 1e-6, name


def test_library_layers_gradients():
    rng = make_rng(3)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    _, cache = L.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = L.batchnorm_backward(dout, cache)
    f = lambda v: L.batchnorm_forward(v, gamma, beta, {"mode": "train"})[0]
    assert relative_error(dx, numerical_gradient_array(f, x.copy(), dout)) < 1e-6
    assert relative_error(dgamma, numerical_gradient_array(lambda g: L.batchnorm_forward(x, g, beta, {"mode": "train"})[0], gamma.copy(), dout)) < 1e-6


def test_library_optimizers_keep_state_and_do_not_mutate():
    w, dw = np.ones(3), np.full(3, 0.5)
    for update in (sgd, sgd_momentum, adam):
        w0, dw0 = w.copy(), dw.copy()
        config = None
        for _ in range(3):
            w_next, config = update(w, dw, config)
        assert np.array_equal(w, w0) and np.array_equal(dw, dw0)
        assert np.all(w_next < w)
    assert adam(w, dw, {"lr": 0.1})[0] == pytest.approx(w - 0.1, rel=1e-6)  # first Adam step ~ lr * sign


def test_train_learns_digits_and_is_reproducible():
    data = datasets.load_digits()
    small = {k: v[:600] if k.endswith("train") else v for k, v in data.items()}
    runs = []
    for _ in range(2):
        model = MLP(64, [64], 10, make_rng(0))
        hist = train(model, small, rng=make_rng(1), epochs=6, batch_size=50, update=sgd_momentum,
                     optim_config={"lr": 0.1}, progress_bar=False)
        runs.append((hist, model))
    (h1, m1), (h2, m2) = runs
    assert h1.loss == h2.loss and np.array_equal(m1.params["W1"], m2.params["W1"])
    assert h1.loss[0] == pytest.approx(np.log(10), abs=0.7)
    assert h1.best_val_acc >= 0.85 and accuracy(m1, data["X_test"], data["y_test"]) >= 0.85
    assert len(h1.val_acc) == 6 and len(h1.loss) == 6 * 12


def test_train_early_stopping_and_frozen_params():
    data = datasets.load_digits()
    model = MLP(64, [32], 10, make_rng(0))
    model.frozen = {"W1", "b1"}
    W1 = model.params["W1"].copy()
    hist = train(model, data, rng=make_rng(1), epochs=50, update=sgd, optim_config={"lr": 1e-9},
                 patience=2, progress_bar=False)
    assert hist.stopped_epoch == hist.best_epoch + 2 < 49
    assert np.array_equal(model.params["W1"], W1)


def test_pluggable_layers_are_used():
    calls = []

    def my_relu_forward(x):
        calls.append("f")
        return L.relu_forward(x)

    model = MLP(4, [3], 2, make_rng(0), layers=Layers(activation_forward=my_relu_forward))
    model.loss(np.ones((2, 4)), np.array([0, 1]))
    assert calls == ["f"]


def test_progress_bar_writes_to_stdout_only(capfd, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    data = datasets.load_digits()
    train(MLP(64, [8], 10, make_rng(0)), data, rng=make_rng(1), epochs=1, batch_size=500)
    out, err = capfd.readouterr()
    assert "training [" in out and err == ""


def test_train_visits_every_example_including_the_last_partial_batch():
    """N = 10, batch_size = 4: three steps an epoch (4, 4, 2), every example seen exactly once."""
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 3
    seen = []

    def augment(Xb, rng):
        seen.append(Xb[:, 0].copy())
        return Xb

    hist = train(MLP(2, [3], 3, make_rng(0)), {"X_train": X, "y_train": y}, rng=make_rng(1), epochs=2,
                 batch_size=4, augment=augment, progress_bar=False)
    assert len(hist.loss) == 6
    assert [len(b) for b in seen] == [4, 4, 2, 4, 4, 2]
    for epoch in (seen[:3], seen[3:]):
        assert sorted(np.concatenate(epoch)) == sorted(X[:, 0])
