"""What 07_regularization's text says about its experiments is what its cells show, in full mode and in the
fast mode nbgrader grades in (``TNN_FAST``), run with the reference functions."""
import re

import numpy as np
import pytest

from coursework import run_notebook_cells
from graders import reference

REF = reference.load("regularization")
MODES = [pytest.param(False, id="full"), pytest.param(True, id="fast")]


def _run(fast, monkeypatch, markers):
    if fast:
        monkeypatch.setenv("TNN_FAST", "1")
    else:
        monkeypatch.delenv("TNN_FAST", raising=False)
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    return run_notebook_cells("07_regularization", REF, markers)


def test_gradient_check_practice(monkeypatch, capsys):
    """Section 3: fixed masks agree, new masks do not, the penalty hides a bug, samples of the big net agree."""
    _run(False, monkeypatch, ["Habits 1 and 2", "Habit 3", "Habit 4"])
    out = capsys.readouterr().out
    fixed = [float(v) for v in re.findall(r"the same masks every call:  largest relative error (\S+)", out)]
    assert len(fixed) == 3 and max(fixed) < 1e-7, out
    new = float(re.search(r"NEW masks every call \(habit 2 broken\): largest relative error (\S+)", out).group(1))
    assert new > 1e-1
    bug0 = float(re.search(r"buggy dW1, reg =    0.0: relative error of W1 (\S+)", out).group(1))
    bug_big = float(re.search(r"buggy dW1, reg = 1000.0: relative error of W1 (\S+)", out).group(1))
    assert bug0 > 1e-1 and 1e-5 < bug_big < 1e-2 and 300 < bug0 / bug_big < 3000   # "about a thousandfold"
    assert float(re.search(r"the penalty on its own .*: largest relative error (\S+)", out).group(1)) < 1e-7
    sampled = [float(v) for v in re.findall(r"5 checked, largest relative error (\S+)", out)]
    assert len(sampled) == 6 and max(sampled) < 1e-6


@pytest.mark.parametrize("fast", MODES)
def test_moons_l2_helps_and_dropout_does_not(fast, monkeypatch):
    """Section 4: L2 beats no regularization on every seed, dropout on none; none fits its points closely."""
    ns = _run(fast, monkeypatch, ["moon_seeds = "])
    acc = {name: np.array(v) for name, v in ns["moon_acc"].items()}
    assert len(acc["none"]) == (4 if fast else 6)
    none, l2, drop = acc["none"], acc["L2, reg = 0.01"], acc["dropout, keep_prob = 0.5"]
    assert np.all(l2[:, 1] > none[:, 1])                 # test accuracy, seed by seed
    assert np.all(drop[:, 1] < none[:, 1])                # "worse than no regularization on every seed shown"
    assert none[:, 0].mean() > 0.97 and np.all(l2[:, 0] <= none[:, 0])   # "a few more training points wrong"
    assert drop[:, 0].mean() < l2[:, 0].mean()           # "its training accuracy stays lower"


@pytest.mark.parametrize("fast", MODES)
def test_digits_claims(fast, monkeypatch):
    """Sections 6 to 8: the overfitting curves, and no regularizer reliably better on 60 digits."""
    ns = _run(fast, monkeypatch, ["def regularized_mlp", "n_small = 60", "def shift_digits", "# The first layer's weights"])
    hist = ns["hist_none"]
    lowest = int(np.argmin(hist.val_loss))
    assert hist.train_acc.index(1.0) <= 10 and lowest < len(hist.val_loss) // 2      # fitted early, minimum early
    assert hist.val_loss[-1] > hist.val_loss[lowest] + 0.03                          # "then climbs"
    assert abs(hist.val_acc[-1] - hist.val_acc[lowest]) < 0.03                       # "hardly moves"
    seeds, names = ns["digit_seeds"], list(ns["digit_settings"])
    test = {n: np.array([ns["accuracy"](ns["runs"][n, s][0], ns["digits"]["X_test"], ns["digits"]["y_test"])
                         for s in seeds]) for n in names}
    kept = {n: np.array([ns["kept_test"][n, s] for s in seeds]) for n in names}
    last_means = np.array([test[n].mean() for n in names])
    kept_means = np.array([kept[n].mean() for n in names])
    assert np.ptp(last_means) < 0.035 and np.ptp(kept_means) < 0.035                # "within about three points"
    assert max(np.ptp(test[n]) for n in names) > 0.01                                # seeds spread as much
    assert test["dropout"].mean() <= test["none"].mean() and kept["dropout"].mean() <= kept["none"].mean()
    assert np.all(np.abs(kept_means - last_means) < 0.025)                           # "within about two points"
    W = {n: np.abs(ns["runs"][n, 0][0].params["W1"]) for n in ["none", "L2", "L1"]}
    assert W["L2"].max() < W["none"].max() and W["L2"].max() < W["L1"].max()         # L2: all weights small
    assert np.mean(W["L1"] < 0.01) > 0.5 > np.mean(W["none"] < 0.01)                 # L1: most nearly 0
    assert np.mean(W["L2"] < 0.01) > 0.2                                             # Adam + L2: many near 0


def test_the_digits_order_differs_between_full_and_fast(monkeypatch):
    """Section 8 says the order of the settings changes with the length of training (40 vs 100 epochs), even
    for seeds 0 and 1 alone (fast mode also runs fewer seeds)."""
    orders, orders01 = [], []
    for fast in (False, True):
        ns = _run(fast, monkeypatch, ["def regularized_mlp", "n_small = 60", "def shift_digits"])
        names = list(ns["digit_settings"])
        test = {(n, s): ns["accuracy"](ns["runs"][n, s][0], ns["digits"]["X_test"], ns["digits"]["y_test"])
                for n in names for s in ns["digit_seeds"]}
        for seeds, out in [(ns["digit_seeds"], orders), ([0, 1], orders01)]:
            means = [np.mean([test[n, s] for s in seeds]) for n in names]
            out.append([names[i] for i in np.argsort(means)])
    assert orders[0] != orders[1] and orders01[0] != orders01[1]


def test_make_moons_is_seeded_balanced_and_noisy():
    from datasets import make_moons
    from utils import make_rng

    X1, y1 = make_moons(50, make_rng(4))
    X2, y2 = make_moons(50, make_rng(4))
    assert X1.shape == (100, 2) and y1.shape == (100,) and X1.dtype == np.float64
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2) and np.bincount(y1).tolist() == [50, 50]
    clean, _ = make_moons(50, make_rng(4), noise=0.0)
    assert not np.allclose(clean, X1)


def test_the_test_set_size_the_text_quotes():
    """Section 8 quotes the size of the digits test set and what one test image is worth."""
    import json
    from datasets import load_digits
    from graders.layout import Course

    text = "".join("".join(c["source"]) for c in json.loads(Course.checkout().source("07_regularization").read_text())["cells"]
                   if c["cell_type"] == "markdown")
    n = len(load_digits()["y_test"])
    assert f"({n} images used nowhere else)" in text
    assert f"(one test image is {100 / n:.2f}%)" in text
