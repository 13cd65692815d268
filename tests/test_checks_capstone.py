"""The 09_capstone checks accept the reference and reject every wrong implementation in the bank."""
import copy
from types import SimpleNamespace

import numpy as np
import pytest

from classroom.hidden import capstone as hidden
from graders import capstone as checks
from graders import reference
from wrong import assert_rejects, bank_params, reference_and_bank_tests

REF = reference.load("capstone")


# ---------------------------------------------------------------- make_schedule
def schedule_cosine_T_minus_1(kind, lr0, epochs):
    if kind == "cosine":
        return lambda t: lr0 / 2 * (1 + np.cos(np.pi * t / max(epochs - 1, 1)))
    return REF.make_schedule(kind, lr0, epochs)


def schedule_cosine_no_half(kind, lr0, epochs):
    if kind == "cosine":
        return lambda t: lr0 * (1 + np.cos(np.pi * t / epochs))
    return REF.make_schedule(kind, lr0, epochs)


def schedule_cosine_one_minus(kind, lr0, epochs):
    if kind == "cosine":
        return lambda t: lr0 / 2 * (1 - np.cos(np.pi * t / epochs))
    return REF.make_schedule(kind, lr0, epochs)


def schedule_cosine_degrees(kind, lr0, epochs):       # the angle in degrees, fed to np.cos
    if kind == "cosine":
        return lambda t: lr0 / 2 * (1 + np.cos(180.0 * t / epochs))
    return REF.make_schedule(kind, lr0, epochs)


def schedule_step_one_drop(kind, lr0, epochs):
    if kind == "step":
        return lambda t: lr0 * (0.1 if t >= epochs // 2 else 1.0)
    return REF.make_schedule(kind, lr0, epochs)


def schedule_step_late(kind, lr0, epochs):            # > instead of >=
    if kind == "step":
        return lambda t: lr0 * 0.1 ** ((t > epochs // 2) + (t > 3 * epochs // 4))
    return REF.make_schedule(kind, lr0, epochs)


def schedule_step_float_milestones(kind, lr0, epochs):  # epochs / 2 instead of epochs // 2
    if kind == "step":
        return lambda t: lr0 * 0.1 ** ((t >= epochs / 2) + (t >= 3 * epochs / 4))
    return REF.make_schedule(kind, lr0, epochs)


def schedule_returns_number(kind, lr0, epochs):
    return lr0


def schedule_stateful(kind, lr0, epochs):             # counts its own calls instead of reading `epoch`
    inner = REF.make_schedule(kind, lr0, epochs)
    state = {"t": -1}

    def schedule(epoch):
        state["t"] += 1
        return inner(min(state["t"], epochs - 1))
    return schedule


def schedule_unknown_is_constant(kind, lr0, epochs):
    if kind not in ("step", "cosine"):
        return lambda t: lr0
    return REF.make_schedule(kind, lr0, epochs)


# ---------------------------------------------------------------- draw_config
def config_lr_uniform(rng):
    return {"lr": float(rng.uniform(10 ** -3.5, 1e-2)), "reg": float(10 ** rng.uniform(-5, -2)),
            "keep_prob": float(rng.uniform(0.6, 1.0)), "hidden": int(rng.choice([64, 128, 256]))}


def config_reg_uniform(rng):
    return {"lr": float(10 ** rng.uniform(-3.5, -2)), "reg": float(rng.uniform(1e-5, 1e-2)),
            "keep_prob": float(rng.uniform(0.6, 1.0)), "hidden": int(rng.choice([64, 128, 256]))}


def config_wrong_order(rng):                          # keep_prob drawn before reg
    lr = 10 ** rng.uniform(-3.5, -2)
    keep_prob = rng.uniform(0.6, 1.0)
    reg = 10 ** rng.uniform(-5, -2)
    return {"lr": float(lr), "reg": float(reg), "keep_prob": float(keep_prob), "hidden": int(rng.choice([64, 128, 256]))}


def config_keep_from_drop(rng):                       # same distribution, but not the specified draw
    return {"lr": float(10 ** rng.uniform(-3.5, -2)), "reg": float(10 ** rng.uniform(-5, -2)),
            "keep_prob": float(1.0 - rng.uniform(0.0, 0.4)), "hidden": int(rng.choice([64, 128, 256]))}


def config_drop_probability(rng):                     # the probability of dropping, not of keeping
    out = REF.draw_config(rng)
    out["keep_prob"] = 1.0 - out["keep_prob"]
    return out


def config_hidden_float(rng):
    out = REF.draw_config(rng)
    out["hidden"] = float(out["hidden"])
    return out


def config_hidden_dims(rng):                          # a list of widths instead of one width
    out = REF.draw_config(rng)
    out["hidden_dims"] = [out.pop("hidden")] * 2
    return out


def config_own_generator(rng):                        # ignores the rng it is given
    return REF.draw_config(np.random.default_rng(0))


def config_natural_log(rng):                          # e ** u instead of 10 ** u
    out = REF.draw_config(copy.deepcopy(rng))
    u = rng.uniform(-3.5, -2)
    out["lr"] = float(np.exp(u))
    rng.uniform(-5, -2), rng.uniform(0.6, 1.0), rng.choice([64, 128, 256])
    return out


# ---------------------------------------------------------------- count_trainable_params
def count_all(model):
    return sum(p.size for p in model.params.values())


def count_frozen(model):
    return sum(p.size for n, p in model.params.items() if n in model.frozen)


def count_arrays(model):
    return len([n for n in model.params if n not in model.frozen])


def count_weights_only(model):
    return sum(p.size for n, p in model.params.items() if n.startswith("W") and n not in model.frozen)


# ---------------------------------------------------------------- freeze
def freeze_everything(model, names):
    model.frozen = set(model.params)


def freeze_nothing(model, names):
    for name in names:
        model.params[name]   # checks the name, then forgets to record it


def freeze_replaces(model, names):
    names = list(names)
    for name in names:
        model.params[name]
    model.frozen = set(names)


def freeze_complement(model, names):
    names = list(names)
    for name in names:
        model.params[name]
    model.frozen = set(model.frozen) | (set(model.params) - set(names))


def freeze_pops_params(model, names):                 # moves frozen arrays out of model.params
    names = list(names)
    model.frozen_params = {name: model.params.pop(name) for name in names}
    model.frozen = set(model.frozen) | set(names)


def freeze_zeroes(model, names):                      # "freezes" by multiplying in place
    for name in names:
        model.params[name] *= 1.0 + 1e-3
    model.frozen = set(model.frozen) | set(names)


def freeze_no_keyerror(model, names):
    model.frozen = set(model.frozen) | set(names)


def freeze_list(model, names):
    for name in names:
        model.params[name]
    model.frozen = list(model.frozen) + list(names)


def freeze_partial_before_error(model, names):        # adds one by one, so a typo leaves half the names
    for name in names:
        model.params[name]
        model.frozen.add(name)


# ---------------------------------------------------------------- replace_head
def head_keeps_old_weights(model, num_classes, rng):
    L = model.num_layers
    H, C_old = model.params[f"W{L}"].shape
    if C_old != num_classes:
        model.params[f"W{L}"] = np.hstack([model.params[f"W{L}"], np.zeros((H, max(num_classes - C_old, 0)))])[:, :num_classes]
    model.params[f"b{L}"] = np.zeros(num_classes)


def head_transposed(model, num_classes, rng):
    L = model.num_layers
    H = model.params[f"W{L}"].shape[0]
    model.params[f"W{L}"] = rng.standard_normal((num_classes, H)) * np.sqrt(2.0 / H)
    model.params[f"b{L}"] = np.zeros(num_classes)


def head_reinitializes_everything(model, num_classes, rng):
    L = model.num_layers
    for i in range(1, L):
        fan_in, fan_out = model.params[f"W{i}"].shape
        model.params[f"W{i}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
    REF.replace_head(model, num_classes, rng)


def head_small_init(model, num_classes, rng):
    L = model.num_layers
    H = model.params[f"W{L}"].shape[0]
    model.params[f"W{L}"] = 0.01 * rng.standard_normal((H, num_classes))
    model.params[f"b{L}"] = np.zeros(num_classes)


def head_fan_out(model, num_classes, rng):
    L = model.num_layers
    H = model.params[f"W{L}"].shape[0]
    model.params[f"W{L}"] = rng.standard_normal((H, num_classes)) * np.sqrt(2.0 / num_classes)
    model.params[f"b{L}"] = np.zeros(num_classes)


def head_in_place(model, num_classes, rng):           # writes into the old array when the shape allows
    L = model.num_layers
    H = model.params[f"W{L}"].shape[0]
    new = rng.standard_normal((H, num_classes)) * np.sqrt(2.0 / H)
    if model.params[f"W{L}"].shape == new.shape:
        model.params[f"W{L}"][...] = new
        model.params[f"b{L}"][...] = 0.0
    else:
        model.params[f"W{L}"], model.params[f"b{L}"] = new, np.zeros(num_classes)


def head_global_random(model, num_classes, rng):
    L = model.num_layers
    H = model.params[f"W{L}"].shape[0]
    model.params[f"W{L}"] = np.random.default_rng(0).standard_normal((H, num_classes)) * np.sqrt(2.0 / H)
    model.params[f"b{L}"] = np.zeros(num_classes)


def head_old_bias(model, num_classes, rng):           # forgets to resize the bias
    L = model.num_layers
    H = model.params[f"W{L}"].shape[0]
    model.params[f"W{L}"] = rng.standard_normal((H, num_classes)) * np.sqrt(2.0 / H)


def head_random_bias(model, num_classes, rng):
    REF.replace_head(model, num_classes, rng)
    model.params[f"b{model.num_layers}"] = 0.01 * rng.standard_normal(num_classes)


def head_index_from_count(model, num_classes, rng):   # "the last layer" as len(params) // 2
    L = len(model.params) // 2
    H = model.params[f"W{L}"].shape[0]
    model.params[f"W{L}"] = rng.standard_normal((H, num_classes)) * np.sqrt(2.0 / H)
    model.params[f"b{L}"] = np.zeros(num_classes)


def head_unfreezes(model, num_classes, rng):
    REF.replace_head(model, num_classes, rng)
    model.frozen = set()


def head_unscaled(model, num_classes, rng):
    L = model.num_layers
    H = model.params[f"W{L}"].shape[0]
    model.params[f"W{L}"] = rng.standard_normal((H, num_classes))
    model.params[f"b{L}"] = np.zeros(num_classes)


# ---------------------------------------------------------------- prepare_transfer
def _frozen_for(model, strategy):
    L = model.num_layers
    return set(model.params) - {f"W{L}", f"b{L}"} if strategy == "head" else set()


def prepare_no_copy(pretrained, strategy, num_classes, rng):
    REF.replace_head(pretrained, num_classes, rng)
    pretrained.frozen = _frozen_for(pretrained, strategy)
    return pretrained


def prepare_shallow_copy(pretrained, strategy, num_classes, rng):
    model = copy.copy(pretrained)
    REF.replace_head(model, num_classes, rng)
    model.frozen = _frozen_for(model, strategy)
    return model


def prepare_shares_bn(pretrained, strategy, num_classes, rng):   # copies params, shares the BN statistics
    model = copy.copy(pretrained)
    model.params = {k: v.copy() for k, v in pretrained.params.items()}
    REF.replace_head(model, num_classes, rng)
    model.frozen = _frozen_for(model, strategy)
    return model


def prepare_head_frozen_too(pretrained, strategy, num_classes, rng):
    model = copy.deepcopy(pretrained)
    REF.replace_head(model, num_classes, rng)
    model.frozen = set(model.params) if strategy == "head" else set()
    return model


def prepare_keeps_old_frozen(pretrained, strategy, num_classes, rng):
    model = copy.deepcopy(pretrained)
    REF.replace_head(model, num_classes, rng)
    if strategy == "head":
        REF.freeze(model, _frozen_for(model, strategy))
    return model


def prepare_weights_only(pretrained, strategy, num_classes, rng):
    model = copy.deepcopy(pretrained)
    REF.replace_head(model, num_classes, rng)
    model.frozen = {n for n in _frozen_for(model, strategy) if n.startswith("W")}
    return model


def prepare_no_new_head(pretrained, strategy, num_classes, rng):
    model = copy.deepcopy(pretrained)
    model.frozen = _frozen_for(model, strategy)
    return model


def prepare_any_strategy(pretrained, strategy, num_classes, rng):
    return REF.prepare_transfer(pretrained, "head" if strategy == "head" else "finetune", num_classes, rng)


def prepare_head_before_copy_rng(pretrained, strategy, num_classes, rng):   # draws once before the head
    rng.standard_normal()
    return REF.prepare_transfer(pretrained, strategy, num_classes, rng)


BANK = {
    "check_make_schedule": {
        "cosine divided by T - 1": schedule_cosine_T_minus_1,
        "cosine without the factor 1/2": schedule_cosine_no_half,
        "cosine with (1 - cos)": schedule_cosine_one_minus,
        "cosine angle in degrees": schedule_cosine_degrees,
        "step with one drop": schedule_step_one_drop,
        "step drops one epoch late": schedule_step_late,
        "step with float milestones": schedule_step_float_milestones,
        "returns a number": schedule_returns_number,
        "stateful schedule": schedule_stateful,
        "unknown kind accepted": schedule_unknown_is_constant,
    },
    "check_draw_config": {
        "lr uniform": config_lr_uniform,
        "reg uniform": config_reg_uniform,
        "draws in the wrong order": config_wrong_order,
        "keep_prob as 1 - a drop probability": config_keep_from_drop,
        "drop probability instead of keep probability": config_drop_probability,
        "hidden as a float": config_hidden_float,
        "hidden_dims instead of hidden": config_hidden_dims,
        "own generator": config_own_generator,
        "e ** u instead of 10 ** u": config_natural_log,
    },
    "check_count_trainable_params": {
        "counts frozen parameters too": count_all,
        "counts only the frozen ones": count_frozen,
        "counts arrays": count_arrays,
        "counts only weights": count_weights_only,
    },
    "check_freeze": {
        "freezes everything": freeze_everything,
        "freezes nothing": freeze_nothing,
        "replaces the frozen set": freeze_replaces,
        "freezes the complement": freeze_complement,
        "moves frozen arrays out of params": freeze_pops_params,
        "changes params in place": freeze_zeroes,
        "no KeyError on a typo": freeze_no_keyerror,
        "frozen as a list": freeze_list,
        "changes frozen before the KeyError": freeze_partial_before_error,
    },
    "check_replace_head": {
        "keeps the old weights": head_keeps_old_weights,
        "transposed weights": head_transposed,
        "reinitializes the hidden layers too": head_reinitializes_everything,
        "small init instead of He": head_small_init,
        "scale from the number of classes": head_fan_out,
        "writes into the old arrays": head_in_place,
        "global random generator": head_global_random,
        "bias not resized": head_old_bias,
        "random bias": head_random_bias,
        "last layer found as len(params) // 2": head_index_from_count,
        "clears the frozen set": head_unfreezes,
        "draws not scaled": head_unscaled,
    },
    "check_prepare_transfer": {
        "no copy": prepare_no_copy,
        "shallow copy": prepare_shallow_copy,
        "shares batch-norm statistics": prepare_shares_bn,
        "head frozen too": prepare_head_frozen_too,
        "keeps the pretrained frozen set for finetune": prepare_keeps_old_frozen,
        "freezes only the weights": prepare_weights_only,
        "no new head": prepare_no_new_head,
        "accepts any strategy": prepare_any_strategy,
        "draws from rng before the head": prepare_head_before_copy_rng,
    },
}

EXERCISES = ["make_schedule", "draw_config", "count_trainable_params", "freeze", "replace_head", "prepare_transfer"]


# The reference passes visible and hidden checks; every wrong implementation in BANK is rejected.
test_reference_passes, test_wrong_implementation_rejected = reference_and_bank_tests(checks, REF, EXERCISES, BANK)


def test_every_exercise_has_a_bank():
    assert {f"check_{e}" for e in EXERCISES} == set(BANK)


def test_hidden_module_has_cases_for_every_visible_exercise():
    """Every exercise with visible (fixture) cases has hidden ones, and so has every other exercise; the
    experiment checks' hidden criteria are there too."""
    assert set(checks.CASES) <= set(hidden.CASES)
    for exercise, draw in checks.CASES.items():
        visible = draw(np.random.default_rng(0))
        assert len(hidden.CASES[exercise](np.random.default_rng(0))) > len(visible), exercise
    assert set(hidden.CASES) == set(EXERCISES)
    assert set(hidden.CRITERIA) == {"search_results", "final_model", "transfer_models"}


@pytest.mark.parametrize("impl, check, hint", [
    (schedule_cosine_T_minus_1, "check_make_schedule", "not T - 1"),
    (schedule_cosine_one_minus, "check_make_schedule", "(1 + cos)"),
    (schedule_step_late, "check_make_schedule", "*at* epoch"),
    (schedule_stateful, "check_make_schedule", "keep no counter"),
    (config_lr_uniform, "check_draw_config", "lr is not log-uniform"),
    (config_wrong_order, "check_draw_config", "in the order lr, reg, keep_prob, hidden"),
    (count_all, "check_count_trainable_params", "frozen parameters are counted"),
    (count_arrays, "check_count_trainable_params", "number of arrays"),
    (freeze_everything, "check_freeze", "every parameter is frozen"),
    (freeze_replaces, "check_freeze", "do not replace it"),
    (freeze_complement, "check_freeze", "*except*"),
    (freeze_no_keyerror, "check_freeze", "raise KeyError"),
    (head_small_init, "check_replace_head", "small (0.01)"),
    (head_fan_out, "check_replace_head", "number of classes"),
    (head_unscaled, "check_replace_head", "not scaled"),
    (head_transposed, "check_replace_head", "(fan_in, fan_out)"),
    (head_reinitializes_everything, "check_replace_head", "only the last layer"),
    (head_in_place, "check_replace_head", "in place"),
    (head_keeps_old_weights, "check_replace_head", "old weights"),
    (prepare_no_copy, "check_prepare_transfer", "copy.deepcopy"),
    (prepare_head_frozen_too, "check_prepare_transfer", "new head is frozen too"),
    (prepare_keeps_old_frozen, "check_prepare_transfer", "kept the pretrained network's frozen set"),
])
def test_messages_name_the_mistake(impl, check, hint):
    assert_rejects(getattr(checks, check), impl, match=hint)


def test_unstarted_exercise_raises_not_implemented():
    def stub(*args):
        raise NotImplementedError()
    for exercise in EXERCISES:
        with pytest.raises(NotImplementedError):
            getattr(checks, f"check_{exercise}")(stub)


def test_visible_checks_need_no_solutions(monkeypatch):
    """The student bundle has no solutions/: visible checks must not ask for the reference."""
    def unavailable(topic):
        raise reference.ReferenceUnavailable("no solutions here")
    functions = {e: getattr(REF, e) for e in EXERCISES}
    monkeypatch.setattr(reference, "load", unavailable)
    for exercise, f in functions.items():
        getattr(checks, f"check_{exercise}")(f)


# ---------------------------------------------------------------- the notebook's results
def _config(**kw):
    return {"lr": 2e-3, "reg": 1e-4, "keep_prob": 0.9, "hidden": 128, **kw}


def test_search_results_check():
    good = [(_config(lr=1e-3 * (t + 1)), 0.9 + 0.01 * t) for t in range(4)]
    checks.check_search_results(good, n_trials=4)
    checks.check_search_results(good, n_trials=4, hidden=True)
    with pytest.raises(NotImplementedError):
        checks.check_search_results(None, n_trials=4)
    assert_rejects(checks.check_search_results, good[:3], n_trials=4)                          # a trial missing
    assert_rejects(checks.check_search_results, [(_config(), 0.95)] * 4, n_trials=4, match="same configuration")
    assert_rejects(checks.check_search_results, [(c, 100 * a) for c, a in good], n_trials=4, match="percentages")
    assert_rejects(checks.check_search_results, [(c, 0.5) for c, _ in good], n_trials=4)       # nothing learned
    assert_rejects(checks.check_search_results, [c for c, _ in good], n_trials=4)              # no accuracies
    assert_rejects(checks.check_search_results, [(_config(hidden=100), a) for c, a in good], n_trials=4)


@pytest.fixture(scope="module")
def experiment():
    """A short version of the notebook's final model and transfer experiment, with the reference functions."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):   # tiny matrices: several BLAS threads only wait for each other
        return _experiment()


def _experiment():
    from datasets import load_digits
    from utils import make_rng
    from utils.layers import init_he
    from utils.optim import adam
    from utils.training import MLP, train

    data = load_digits()

    def build(config, rng, num_classes=10):
        return MLP(64, [config["hidden"]] * 2, num_classes, rng, init=init_he, batchnorm=True,
                   keep_prob=config["keep_prob"], reg=config["reg"])

    config = _config(lr=2e-3, hidden=256, keep_prob=0.9)
    final = build(config, make_rng(7))
    history = train(final, data, rng=make_rng(8), epochs=15, update=adam, optim_config={"lr": config["lr"]},
                    lr_schedule=REF.make_schedule("cosine", config["lr"], 15), patience=8, progress_bar=False)

    def split(part, classes):
        keep = np.isin(data[f"y_{part}"], classes)
        return data[f"X_{part}"][keep], data[f"y_{part}"][keep] - classes[0]

    source = {}
    source["X_train"], source["y_train"] = split("train", [0, 1, 2, 3, 4])
    source["X_val"], source["y_val"] = split("val", [0, 1, 2, 3, 4])
    tconfig = _config(lr=3e-3, keep_prob=0.8)
    pretrained = build(tconfig, make_rng(20), 5)
    train(pretrained, source, rng=make_rng(21), epochs=20, update=adam, optim_config={"lr": 3e-3},
          lr_schedule=REF.make_schedule("cosine", 3e-3, 20), progress_bar=False)
    X_pool, y_pool = split("train", [5, 6, 7, 8, 9])
    rng = make_rng(5)
    idx = np.concatenate([rng.choice(np.flatnonzero(y_pool == k), 5, replace=False) for k in range(5)])
    lrs = {"head": 1e-2, "finetune": 1e-3, "scratch": 3e-3}
    models = {}
    for s in lrs:
        m = build(tconfig, make_rng(22), 5) if s == "scratch" else REF.prepare_transfer(pretrained, s, 5, make_rng(22))
        train(m, {"X_train": X_pool[idx], "y_train": y_pool[idx]}, rng=make_rng(23), epochs=40, batch_size=25,
              update=adam, optim_config={"lr": lrs[s]}, progress_bar=False)
        models[s] = m
    return SimpleNamespace(final=final, history=history, pretrained=pretrained, models=models, build=build,
                           config=config, tconfig=tconfig)


def test_final_model_check(experiment):
    from utils import make_rng
    checks.check_final_model(experiment.final, experiment.history)
    checks.check_final_model(experiment.final, experiment.history, hidden=True)
    with pytest.raises(NotImplementedError):
        checks.check_final_model(None, None)
    untrained = experiment.build(experiment.config, make_rng(0))
    # a check that cannot fail is a defect: an untrained model fails the graded test-set bar ...
    assert_rejects(checks.check_final_model, untrained, SimpleNamespace(best_val_acc=0.99), hidden=True,
                   match="test accuracy")
    # ... a poor validation accuracy fails the visible bar, and so does a model without batch norm/dropout
    assert_rejects(checks.check_final_model, experiment.final, SimpleNamespace(best_val_acc=0.9))
    from utils.training import MLP
    plain = MLP(64, [32], 10, make_rng(0))
    assert_rejects(checks.check_final_model, plain, experiment.history, match="batch norm and dropout")


def test_transfer_models_check(experiment):
    models, pretrained = experiment.models, experiment.pretrained
    checks.check_transfer_models(models, pretrained=pretrained)
    checks.check_transfer_models(models, pretrained=pretrained, hidden=True)
    with pytest.raises(NotImplementedError):
        checks.check_transfer_models({"head": None, "finetune": None, "scratch": None}, pretrained=pretrained)
    # head-only whose pretrained layers moved (nothing was frozen)
    moved = copy.deepcopy(models["head"])
    moved.params["W1"] = moved.params["W1"] + 0.01
    assert_rejects(checks.check_transfer_models, {**models, "head": moved}, pretrained=pretrained,
                   match="changed its pretrained")
    # fine-tuning that trained only the head
    assert_rejects(checks.check_transfer_models, {**models, "finetune": models["head"]}, pretrained=pretrained,
                   match="fine-tuning left every pretrained layer unchanged")
    # an untrained head reaches chance level on the target data
    from utils import make_rng
    untrained = REF.prepare_transfer(pretrained, "head", 5, make_rng(0))
    assert_rejects(checks.check_transfer_models, {**models, "head": untrained}, pretrained=pretrained)
    assert_rejects(checks.check_transfer_models, {"head": models["head"]}, pretrained=pretrained)
