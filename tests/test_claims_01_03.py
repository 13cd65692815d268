"""Seed-robustness of notebooks 01-03.

* Every check that draws random inputs (the hidden cases, drawn with the hidden seed) passes the reference
  solutions for 200 seeds.
* Every statement the notebooks' text makes about an experiment that depends on randomness holds for 200
  seeds of that experiment (data, initialisation, sampling), at the sizes of full and of fast mode where
  they differ. The notebook's own seed is one run among many; the text must not depend on it.

The experiments are re-implemented here in a few vectorised lines with the reference solutions, so that
200 seeds stay fast; where a notebook runs its experiment through a grader helper, the helper is used.
"""
from __future__ import annotations

import contextlib
import inspect
import io

import numpy as np
import pytest

from graders import reference
from graders.fixtures import hidden_seed

SEEDS = range(200)


# ---------------------------------------------------------------- the checks, over 200 hidden seeds
def _elementwise_numeric(f, x, dout, h=1e-5, *, f_many=None):
    """``utils.gradcheck.numerical_gradient_array`` for a layer that acts entry by entry (or, for PReLU's
    alpha, column by column), from two forward calls instead of two per entry. Perturbing one entry changes
    only its own output, so the loop's sum over ``(pos - neg) * dout`` has a single non-zero term: the values
    are the loop's (``test_the_fast_numeric_gradient_is_the_librarys`` verifies it)."""
    pos, neg = (np.asarray(out, dtype=np.float64) for out in f_many([x + h, x - h]))
    product = (pos - neg) * np.asarray(dout, dtype=np.float64)
    if product.shape != x.shape:       # PReLU's alpha (D,) against outputs (N, D): alpha_j acts on column j
        product = product.sum(axis=0)
    return product / (2 * h)


def _run_hidden_checks(topic: str, seed: int) -> None:
    import importlib

    checks = importlib.import_module(f"graders.{topic}")
    ref = reference.load(topic)
    with hidden_seed(seed):
        for exercise in checks.CASES:
            check = getattr(checks, f"check_{exercise}")
            extra = {}
            if "forward" in inspect.signature(check).parameters:
                extra["forward"] = getattr(ref, exercise.replace("_backward", "_forward"))
            check(getattr(ref, exercise), hidden=True, **extra)
        if topic == "softmax":
            check = checks.check_numerical_gradient
            check(ref.numerical_gradient, hidden=True)


@pytest.mark.parametrize("topic", ["softmax", "activations", "preprocessing"])
def test_hidden_checks_pass_the_reference_for_200_seeds(topic, monkeypatch, capfd):
    if topic == "activations":
        import graders.activations

        monkeypatch.setattr(graders.activations, "numerical_gradient_array", _elementwise_numeric)
    failures = []
    for seed in SEEDS:
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                _run_hidden_checks(topic, seed)
            except AssertionError as err:
                failures.append(f"seed {seed}: {str(err)[:300]}")
    assert not failures, "\n".join(failures[:5])
    assert capfd.readouterr().err == ""


def test_the_fast_numeric_gradient_is_the_librarys():
    """The vectorised stand-in above returns the library's numeric gradient for every layer of 02 (the
    per-entry loop), to the last bits for x and to rounding for PReLU's alpha."""
    from classroom.hidden.activations import HIDDEN_INPUTS
    from utils.gradcheck import numerical_gradient_array

    ref = reference.load("activations")
    rng = np.random.default_rng(0)
    for name, draw in HIDDEN_INPUTS.items():
        forward = getattr(ref, f"{name}_forward")
        for label, args, kwargs in draw(rng)[:4]:
            x = np.array(args["x"], dtype=np.float64)
            if x.size > 600:
                continue
            dout = rng.standard_normal(forward(x, *list(args.values())[1:], **kwargs)[0].shape)
            for key in ["x"] + (["alpha"] if name == "prelu" else []):
                def many(points, key=key):
                    return [forward(**{**args, key: p}, **kwargs)[0] for p in points]
                point = np.array(args[key], dtype=np.float64)
                slow = numerical_gradient_array(None, point, dout, f_many=many)
                fast = _elementwise_numeric(None, point, dout, f_many=many)
                if key == "x":
                    assert np.array_equal(slow, fast), (name, label)
                else:
                    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_gradient_check_exercise_passes_the_reference_for_200_seeds(capfd):
    """Section 6's check compares the student's dscores with a numeric gradient on a fresh batch drawn with
    the hidden seed (tolerance 1e-7), and the notebook's own rel_err must be below 1e-7."""
    from graders import softmax as checks
    from utils import make_rng

    ref = reference.load("softmax")
    for seed in SEEDS:
        rng = make_rng(seed)                          # the notebook's cell with another seed
        scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, size=6)
        numeric = ref.numerical_gradient(lambda s: ref.softmax_cross_entropy(s, y)[0], scores)
        rel_err = ref.relative_error(ref.softmax_cross_entropy(scores, y)[1], numeric)
        assert rel_err < 1e-7, seed
        with hidden_seed(seed), contextlib.redirect_stdout(io.StringIO()):
            checks.check_gradient_check(1e-9, loss=ref.softmax_cross_entropy, numerical_gradient=ref.numerical_gradient,
                                        relative_error=ref.relative_error)
    assert capfd.readouterr().err == ""


# ---------------------------------------------------------------- 01: the linear classifier of section 8
@pytest.mark.parametrize("num_steps", [60, 200], ids=["fast", "full"])
def test_01_linear_classifier_claims_hold_for_200_seeds(num_steps):
    """"Check that the first loss is close to log 3 and that the loss falls steadily", and the check's 90%."""
    from datasets import make_blobs
    from utils import make_rng

    ref = reference.load("softmax")
    for seed in SEEDS:
        rng = make_rng(seed)
        X, y = make_blobs(n_per_class=100, n_classes=3, rng=rng)
        W, b = 0.001 * rng.standard_normal((2, 3)), np.zeros(3)
        losses = []
        for _ in range(num_steps):
            loss, dscores = ref.softmax_cross_entropy(X @ W + b, y)
            W -= 0.5 * (X.T @ dscores)
            b -= 0.5 * dscores.sum(axis=0)
            losses.append(loss)
        assert abs(losses[0] - np.log(3)) < 0.05, seed
        assert np.all(np.diff(losses) <= 0), seed
        assert np.mean(np.argmax(X @ W + b, axis=1) == y) >= 0.9, seed


# ---------------------------------------------------------------- 02: sections 8, 9 and 10
def test_02_gradient_flow_claims_hold_for_200_seeds():
    """Section 8: the sigmoid loses a factor of about 4 per layer (first/last about 1e-12); with 4x weights
    about 1.5 per layer (first/last about 1e-4); tanh and ReLU stay within a small factor (the check: 0.1..10)."""
    from graders.activations import deep_stack_grad_norms
    from utils.layers import init_he, init_xavier

    ref = reference.load("activations")
    stacks = {"sigmoid": (ref.sigmoid_forward, ref.sigmoid_backward, init_xavier),
              "sigmoid_4x": (ref.sigmoid_forward, ref.sigmoid_backward, lambda i, o, r: 4.0 * init_xavier(i, o, r)),
              "tanh": (ref.tanh_forward, ref.tanh_backward, init_xavier),
              "relu": (ref.relu_forward, ref.relu_backward, init_he)}
    for seed in SEEDS:
        norms = {k: deep_stack_grad_norms(f, b, init, name=k, seed=seed) for k, (f, b, init) in stacks.items()}
        ratio = {k: n[0] / n[-1] for k, n in norms.items()}
        per_layer = {k: (n[-1] / n[0]) ** (1 / (len(n) - 1)) for k, n in norms.items()}
        assert 1e-13 < ratio["sigmoid"] < 1e-11 and 3.5 < per_layer["sigmoid"] < 4.5, seed
        assert 3e-5 < ratio["sigmoid_4x"] < 1e-3 and 1.3 < per_layer["sigmoid_4x"] < 1.8, seed
        assert np.all(np.diff(norms["sigmoid"]) > 0), seed      # the hidden criterion: shrinks at every layer
        for k in ("tanh", "relu"):
            assert 0.1 <= ratio[k] <= 10, (k, seed)


def test_02_dead_relu_claims_hold_for_200_seeds():
    """Section 9 for 200 networks at once (each with its own spirals, initialisation and minibatch order; the
    notebook's recipe: He init, 3 epochs of SGD with momentum 0.9, lr 0.1, batches of 50): few units are dead
    before (the hidden criterion: fewer than 20%), and one step with lr = 100 kills more of them (the text: "one
    large update kills ReLU units"; over these seeds it adds at least 5 points), at least as many as lr = 1."""
    from datasets import make_spirals
    from utils import make_rng

    S, N, H = len(SEEDS), 300, 100
    data = [make_spirals(100, 3, make_rng(1000 + seed)) for seed in SEEDS]
    X = np.stack([d[0] for d in data])                                                  # (S, N, 2)
    onehot = np.eye(3)[np.stack([d[1] for d in data])]                                  # (S, N, 3)
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((S, 2, H)) * np.sqrt(2 / 2), "b1": np.zeros((S, 1, H)),
              "W2": rng.standard_normal((S, H, H)) * np.sqrt(2 / H), "b2": np.zeros((S, 1, H)),
              "W3": rng.standard_normal((S, H, 3)) * np.sqrt(2 / H), "b3": np.zeros((S, 1, 3))}

    def gradients(p, Xb, Tb):
        a1 = Xb @ p["W1"] + p["b1"]
        h1 = np.maximum(a1, 0)
        a2 = h1 @ p["W2"] + p["b2"]
        h2 = np.maximum(a2, 0)
        z = h2 @ p["W3"] + p["b3"]
        e = np.exp(z - z.max(axis=2, keepdims=True))
        d3 = (e / e.sum(axis=2, keepdims=True) - Tb) / Xb.shape[1]
        d2 = (d3 @ p["W3"].transpose(0, 2, 1)) * (a2 > 0)
        d1 = (d2 @ p["W2"].transpose(0, 2, 1)) * (a1 > 0)
        T = lambda m: m.transpose(0, 2, 1)
        return {"W3": T(h2) @ d3, "b3": d3.sum(axis=1, keepdims=True), "W2": T(h1) @ d2,
                "b2": d2.sum(axis=1, keepdims=True), "W1": T(Xb) @ d1, "b1": d1.sum(axis=1, keepdims=True)}

    def dead(p):
        a1 = X @ p["W1"] + p["b1"]
        a2 = np.maximum(a1, 0) @ p["W2"] + p["b2"]
        return np.concatenate([np.all(a1 <= 0, axis=1), np.all(a2 <= 0, axis=1)], axis=1).mean(axis=1)   # (S,)

    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    rows = np.arange(S)[:, None]
    for epoch in range(3):
        order = np.argsort(rng.random((S, N)), axis=1)                                  # one shuffle per net
        for start in range(0, N, 50):
            batch = order[:, start:start + 50]
            g = gradients(params, X[rows, batch], onehot[rows, batch])
            for k in params:
                velocity[k] = 0.9 * velocity[k] - 0.1 * g[k]
                params[k] = params[k] + velocity[k]
    g = gradients(params, X, onehot)
    before = dead(params)
    small = dead({k: params[k] - 1.0 * g[k] for k in params})
    after = dead({k: params[k] - 100.0 * g[k] for k in params})
    assert np.all(before < 0.2), before.max()
    assert np.all(after >= before + 0.05), np.min(after - before)
    assert np.all(after >= small), np.min(after - small)


def _zigzag(seed: int):
    """Section 10 with another seed: distances after 60 steps for the three runs, the learning rates, the
    eigenvalues and the same-sign fractions."""
    ref = reference.load("activations")
    w_target = np.array([1.0, -1.0])
    positive = ref.sigmoid_forward(2.0 * np.random.default_rng(10_000 + seed).standard_normal((500, 2)))[0]
    centred = positive - 0.5
    lr_pos, lr_cen = (1.0 / np.max(np.sum(X ** 2, axis=1)) for X in (positive, centred))

    def run(X, lr):
        picks = np.random.default_rng(seed).integers(len(X), size=60)
        w, dws = np.zeros(2), []
        for n in picks:
            dw = ((w - w_target) @ X[n]) * X[n]
            w = w - lr * dw
            dws.append(dw)
        dws = np.array(dws)
        same = float(np.mean(np.all(dws > 0, axis=1) | np.all(dws < 0, axis=1)))
        return np.linalg.norm(w - w_target), same

    eig = [np.linalg.eigvalsh(X.T @ X / len(X)) for X in (positive, centred)]
    return run(positive, lr_pos), run(centred, lr_pos), run(centred, lr_cen), lr_pos, lr_cen, eig


def test_02_zigzag_claims_hold_for_200_seeds():
    """Section 10: every positive step shares a sign, the centred ones often do not (the check's < 0.8); at the
    same lr the centred inputs are not faster (each run ahead about half the time); at its own lr, about 4 times larger,
    the centred run ends orders of magnitude closer; E[x x^T] has eigenvalues about 0.1 and 0.6 (condition
    number about 6) for sigma(2a) and about 0.1 and 0.1 (about 1) for sigma(2a) - 1/2."""
    same_lr_ratio = []
    for seed in SEEDS:
        (d_pos, same_pos), (d_same_lr, _), (d_cen, same_cen), lr_pos, lr_cen, (eig_pos, eig_cen) = _zigzag(seed)
        same_lr_ratio.append(d_same_lr / d_pos)
        assert same_pos == 1.0 and same_cen < 0.8, seed
        assert d_cen < 1e-2 * d_pos, seed
        assert 3 < lr_cen / lr_pos < 5, seed
        assert 0.07 < eig_pos[0] < 0.13 and 0.5 < eig_pos[1] < 0.7 and 4 < eig_pos[1] / eig_pos[0] < 9, seed
        assert 0.07 < eig_cen[0] <= eig_cen[1] < 0.13 and eig_cen[1] / eig_cen[0] < 1.6, seed
    # at the same lr the centred inputs are not faster: ahead in about half of the seeds, never by much
    same_lr_ratio = np.array(same_lr_ratio)
    assert 0.3 < np.mean(same_lr_ratio < 1) < 0.7 and 0.8 < np.median(same_lr_ratio) < 1.25
    assert np.min(same_lr_ratio) > 0.25


# ---------------------------------------------------------------- 03: sections 2 and 6
def test_03_breast_cancer_claims_hold_for_200_splits():
    """Section 2 with 200 other splits, all at once, in fast mode (200 steps, the first half of the run) and in
    full mode (400): both runs start at log 2; standardising at least halves the final training loss (the
    hidden criterion) and reaches 90% test accuracy (the visible one). With two classes only the difference of
    the two columns of W (and of b) matters: gradient descent on z = XW + b moves u = W[:, 1] - W[:, 0] by
    -2 lr X^T (p1 - y) / N, which is what is run here (the same iterates, not the same roundings)."""
    from sklearn.datasets import load_breast_cancer

    from graders.preprocessing import BREAST_CANCER_STEPS

    cancer = load_breast_cancer()
    orders = np.stack([np.random.default_rng(seed).permutation(len(cancer.target)) for seed in SEEDS])
    X_tr, y_tr = cancer.data[orders[:, :400]], cancer.target[orders[:, :400]].astype(float)   # (S, 400, 30), (S, 400)
    X_te, y_te = cancer.data[orders[:, 400:]], cancer.target[orders[:, 400:]]
    mean, std = X_tr.mean(axis=1, keepdims=True), X_tr.std(axis=1, keepdims=True)
    versions = {"raw": (X_tr, X_te), "standardised": ((X_tr - mean) / (std + 1e-8), (X_te - mean) / (std + 1e-8))}
    snapshots = sorted(set(BREAST_CANCER_STEPS.values()))                              # [200, 400]
    final, accuracy = {}, {}
    for name, (A, B) in versions.items():
        A_tilde = np.concatenate([A, np.ones(A.shape[:2] + (1,))], axis=2)
        lr = 2.0 / np.linalg.eigvalsh(A_tilde.transpose(0, 2, 1) @ A_tilde / 400)[:, -1]      # (S,)
        A_T = np.ascontiguousarray(A.transpose(0, 2, 1))                                  # (S, 30, 400)
        u, c = np.zeros((len(SEEDS), 30, 1)), np.zeros((len(SEEDS), 1))
        for step in range(snapshots[-1]):
            t = (A @ u)[..., 0] + c                                                      # z1 - z0, (S, 400)
            loss = np.mean(np.logaddexp(0.0, np.where(y_tr == 1, -t, t)), axis=1)         # cross-entropy, (S,)
            if step == 0:
                np.testing.assert_allclose(loss, np.log(2))
            r = (1.0 / (1.0 + np.exp(-t)) - y_tr) / 400                                     # p1 - y, over N
            u -= 2 * lr[:, None, None] * (A_T @ r[..., None])
            c -= 2 * lr[:, None] * r.sum(axis=1, keepdims=True)
            if step + 1 in snapshots:      # the run's last loss (before its last step) and its test accuracy
                final[name, step + 1] = loss
                accuracy[name, step + 1] = np.mean(((B @ u)[..., 0] + c > 0) == y_te, axis=1)
    for steps in snapshots:
        assert np.all(final["standardised", steps] < 0.5 * final["raw", steps]), steps
        assert np.all(accuracy["standardised", steps] >= 0.9), (steps, np.argmin(accuracy["standardised", steps]))


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_03_image_centring_claims_hold_for_200_seeds(fast):
    """Section 6: the mean image of random crops has no structure (its pixels stay within a few grey levels of
    the per-channel mean), and the other split's channel means sit well below 0 after centring."""
    from sklearn.datasets import load_sample_images

    temple, flower = load_sample_images().images
    n_train, n_other = (100, 50) if fast else (300, 150)
    for seed in SEEDS:
        rng = np.random.default_rng(seed)

        def patches(photo, n):
            rows = rng.integers(0, photo.shape[0] - 32, n)
            cols = rng.integers(0, photo.shape[1] - 32, n)
            return np.stack([photo[r:r + 32, c:c + 32] for r, c in zip(rows, cols)]).astype(np.float64)

        P_train, P_other = patches(temple, n_train), patches(flower, n_other)
        mean_image, channel_mean = P_train.mean(axis=0), P_train.mean(axis=(0, 1, 2))
        assert np.max(np.abs(mean_image - channel_mean)) < 30, seed             # out of 255: no structure
        assert np.all((P_other - channel_mean).mean(axis=(0, 1, 2)) < -30), seed
