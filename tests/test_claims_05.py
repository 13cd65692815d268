"""What the text of 05_batchnorm says about its experiments holds over seeds, in full and in fast mode.

Each test runs the solution notebook's own cells (the reference functions in place of the student's)
with the seeds shifted, and asserts the sentences of the text that read the output:

- section 11 (batch size): batch norm does not train at N = 2 (training loss near ln 10, far above the
  others'), is still behind at N = 4, and from N = 16 up its validation accuracy is among the best;
  layer norm and no normalisation train at every batch size; every variant's loss falls with the batch;
- section 11 (the gradient at N = 2): the median |dx| of batch norm is orders of magnitude below N = 8's;
- section 11 (batch norm's noise): the spread of one example's train-mode output falls like 1 / sqrt(N);
- section 8 (the whole-network gradient check): without normalisation and with layer norm every sampled
  relative error is far below 1e-5; with batch norm b1's gradient is zero up to rounding and its relative
  error stands out (the text explains why it is not a bug).
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from graders import reference
from graders.layout import Course

REF = reference.load("batchnorm")


def _cells() -> list[str]:
    nb = json.loads(Course.checkout().source("05_batchnorm").read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def _namespace() -> dict:
    """The imports cell and the definitions of the training loop of section 8 (not its run)."""
    import matplotlib
    matplotlib.use("Agg")
    cells = _cells()
    ns = {name: getattr(REF, name) for name in dir(REF) if not name.startswith("_")}
    exec(cells[1], ns)
    loop = next(c for c in cells if "def train_fc_net" in c)
    exec(loop[:loop.index("steps_own =")], ns)
    ns["digits"] = ns["load_digits"]()
    return ns


def _batch_size_run(ns: dict, shift: int) -> tuple[dict, dict, list]:
    cell = next(c for c in _cells() if "batch_sizes = [" in c)
    cell = cell[:cell.index("fig, axes")]
    cell = cell.replace("make_rng(seed)", f"make_rng(seed + {shift})").replace(
        "make_rng(100 + seed)", f"make_rng(100 + seed + {shift})")
    cell = re.sub(r"^print.*$|^for v in variants:\n    print.*\n    print.*$", "", cell, flags=re.M)
    with threadpool_limits(1):
        exec(cell, ns)
    return ns["final_loss"], ns["val_acc"], ns["batch_sizes"]


@pytest.mark.parametrize("fast", [False, True], ids=["full", "fast"])
@pytest.mark.parametrize("shift", [0, 10, 20, 30])
def test_batch_size_claims(fast, shift, monkeypatch):
    if fast:
        monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    else:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
        monkeypatch.delenv("TNN_FAST", raising=False)
    loss, acc, sizes = _batch_size_run(_namespace(), shift)
    i2, i4, i16, i32 = (sizes.index(n) for n in (2, 4, 16, 32))
    bn, ln, none = loss["batchnorm"], loss["layernorm"], loss[None]
    # batch norm does not train at N = 2: near ln 10 = 2.30, far above the others
    assert bn[i2] > 2.0 and bn[i2] > max(ln[i2], none[i2]) + 0.5, loss
    # layer norm and no normalisation train at every batch size
    assert ln[i2] < 1.8 and none[i2] < 1.8, loss
    # batch norm trains at N = 4 but is still behind
    assert bn[i4] < bn[i2] - 0.5 and bn[i4] > max(ln[i4], none[i4]), loss
    # every variant's loss falls from the smallest to the largest batch
    assert all(loss[v][i32] < loss[v][i2] for v in loss), loss
    # from 16 up batch norm's validation accuracy is among the best
    for i in (i16, i32):
        assert acc["batchnorm"][i] >= max(acc["layernorm"][i], acc[None][i]) - 0.03, acc


def test_batch_of_two_passes_back_almost_no_gradient():
    """The median |dx| at N = 2 is at least a hundred times below N = 8's, for 300 random batches."""
    for seed in range(300):
        rng = np.random.default_rng(seed)
        x, dout = rng.standard_normal((8, 6)), rng.standard_normal((8, 6))
        medians = []
        for n in (2, 8):
            _, cache = REF.batchnorm_forward(x[:n], np.ones(6), np.zeros(6), {"mode": "train"})
            medians.append(np.median(np.abs(REF.batchnorm_backward(dout[:n], cache)[0])))
        assert medians[0] < 1e-2 * medians[1], (seed, medians)


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_whole_network_gradient_check_claims(seed):
    from utils import make_rng
    from utils.gradcheck import sampled_gradient_check
    ns = _namespace()
    X, y = ns["digits"]["X_train"][:20], ns["digits"]["y_train"][:20]
    for normalization in (None, "batchnorm", "layernorm"):
        params = REF.init_fc_net(64, [30, 20], 10, make_rng(seed), normalization=normalization)

        def loss_of(p, normalization=normalization):
            return REF.fc_net_loss(p, X, y, normalization=normalization, bn_params=[{}, {}])[0]

        _, grads = REF.fc_net_loss(params, X, y, normalization=normalization, bn_params=[{}, {}])
        errors = sampled_gradient_check(loss_of, params, grads, make_rng(seed + 1), num_checks=8)
        if normalization == "batchnorm":
            # b1 and b2 feed a batch norm: zero gradients, and relative errors of two rounding errors (any size)
            assert np.abs(grads["b1"]).max() < 1e-12 and np.abs(grads["b2"]).max() < 1e-12
            errors = {k: v for k, v in errors.items() if k not in ("b1", "b2")}
        assert max(errors.values()) < 1e-3, errors
        assert np.median(list(errors.values())) < 1e-6, errors
        if normalization is None:   # the same check with the loss in float32: errors of order 1
            def loss32(p):
                return float(REF.fc_net_loss({k: v.astype(np.float32) for k, v in p.items()},
                                             X.astype(np.float32), y)[0])
            errors32 = sampled_gradient_check(loss32, params, grads, make_rng(seed + 1), num_checks=8)
            assert np.median(list(errors32.values())) > 0.1 and max(errors32.values()) > 0.5, errors32


def test_gradient_check_output_of_the_notebook():
    """The notebook's own run (seeds 4 and 5): b1 stands out with batch norm, as the text says."""
    from utils import make_rng
    from utils.gradcheck import sampled_gradient_check
    ns = _namespace()
    X, y = ns["digits"]["X_train"][:20], ns["digits"]["y_train"][:20]
    params = REF.init_fc_net(64, [30, 20], 10, make_rng(4), normalization="batchnorm")
    _, grads = REF.fc_net_loss(params, X, y, normalization="batchnorm", bn_params=[{}, {}])
    errors = sampled_gradient_check(lambda p: REF.fc_net_loss(p, X, y, normalization="batchnorm",
                                                              bn_params=[{}, {}])[0],
                                    params, grads, make_rng(5), num_checks=8)
    assert errors["b1"] > 1e-4 and max(v for k, v in errors.items() if k != "b1") < 1e-6, errors


@pytest.mark.parametrize("exercise", ["affine_forward", "affine_backward", "init_fc_net", "fc_net_loss"])
def test_new_checks_accept_the_reference_over_200_hidden_seeds(exercise, capfd):
    """The hidden cases of the network exercises are drawn at random: an honest solution passes all of them,
    whatever the seed (numeric gradients included)."""
    from graders import batchnorm as checks
    from graders.fixtures import hidden_seed
    import classroom.hidden  # noqa: F401  (registers the hidden cases)
    extra = {"forward": REF.affine_forward} if exercise == "affine_backward" else {}
    for seed in range(200):
        with hidden_seed(seed):
            getattr(checks, f"check_{exercise}")(getattr(REF, exercise), hidden=True, **extra)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("shift", [0, 1, 2, 3, 4, 5])
def test_batch_noise_falls_like_one_over_sqrt_n(shift):
    """Section 11's last cell: the followed example's spread falls with the batch size, and times sqrt(N) it
    stays near 1 ("the product in the last column stays near 1"), with the notebook's seed and others."""
    ns = _namespace()
    cell = next(c for c in _cells() if "batch_noise = {}" in c)
    cell = cell.replace("make_rng(10)", f"make_rng(10 + {shift})")
    cell = re.sub(r"^    print\(.*\n.*\n", "", cell, flags=re.M)
    with threadpool_limits(1):
        exec(cell, ns)
    noise = ns["batch_noise"]
    sizes = sorted(noise)
    assert all(noise[a] > noise[b] for a, b in zip(sizes, sizes[1:])), noise
    assert all(0.8 < noise[n] * np.sqrt(n) < 1.4 for n in sizes), noise
