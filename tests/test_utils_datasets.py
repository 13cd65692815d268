"""The shared helpers in utils/ and datasets/."""
import numpy as np
import pytest

import datasets
from utils import fast_mode, make_rng
from utils.gradcheck import numerical_gradient, numerical_gradient_array, relative_error


def test_numerical_gradient_matches_analytic():
    x = make_rng(0).standard_normal((3, 4))
    before = x.copy()
    grad = numerical_gradient(lambda v: float(np.sum(np.sin(v) * v)), x)
    assert relative_error(grad, np.cos(x) * x + np.sin(x)) < 1e-8
    assert np.array_equal(x, before)


def test_numerical_gradient_array_matches_analytic():
    rng = make_rng(1)
    x, dout = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    dx = numerical_gradient_array(lambda v: np.tanh(v), x, dout)
    assert relative_error(dx, dout * (1 - np.tanh(x) ** 2)) < 1e-8


def test_numerical_gradient_demands_float64():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: float(v.sum()), np.ones(3, dtype=np.float32))


def test_relative_error_guard():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)


def test_fast_mode(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("TNN_FAST", raising=False)
    assert not fast_mode()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert fast_mode()


def test_digits_split_is_fixed_stratified_and_disjoint():
    d = datasets.load_digits()
    assert (len(d["X_train"]), len(d["X_val"]), len(d["X_test"])) == (1087, 355, 355)
    assert d["X_train"].shape[1] == 64 and d["X_train"].dtype == np.float64
    assert 0.0 <= d["X_train"].min() and d["X_train"].max() <= 1.0
    for part in ("train", "val", "test"):
        assert set(np.unique(d[f"y_{part}"])) == set(range(10))
    rows = {tuple(r) for r in d["X_val"]}
    assert np.mean([tuple(r) in rows for r in d["X_test"]]) < 0.05  # (a few digits are exact duplicates)
    again = datasets.load_digits()
    assert np.array_equal(again["y_test"], d["y_test"])
    images = datasets.load_digits(flatten=False, scale=False)
    assert images["X_train"].shape[1:] == (8, 8) and images["X_train"].max() == 16


@pytest.mark.parametrize("maker", [datasets.make_blobs, datasets.make_spirals])
def test_2d_generators_are_seeded(maker):
    X1, y1 = maker(50, 3, make_rng(4))
    X2, y2 = maker(50, 3, make_rng(4))
    assert X1.shape == (150, 2) and y1.shape == (150,)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert np.bincount(y1).tolist() == [50, 50, 50]


def test_surfaces_gradients():
    for surface in (datasets.ill_conditioned_quadratic(25.0, angle=0.3), datasets.saddle()):
        w = np.array([0.7, -0.4])
        assert relative_error(surface.grad(w), numerical_gradient(surface.f, w.copy())) < 1e-7
        X, Y, Z = surface.grid(30)
        assert Z.shape == (30, 30)
    q = datasets.ill_conditioned_quadratic(25.0)
    assert np.allclose(sorted(np.linalg.eigvalsh(q.A)), [1.0, 25.0])
