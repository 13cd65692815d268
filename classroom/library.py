"""The course library as a student's code may see it while one notebook is graded.

``utils/`` holds working versions of what the notebooks have students write (``utils.layers``,
``utils.optim``, ``utils.gradcheck``): later notebooks build on them. While notebook N is graded, a
student who wrote ``from utils.layers import relu_forward`` (or aliased a library function) would
earn N's points with the library's work. :func:`sandbox_utils` writes the copy of ``utils/`` that
N's sandbox gets instead: every library function that implements, or trivially exposes, an exercise
of N keeps its signature and docstring but its body becomes::

    raise NotImplementedError("utils.<module>.<name> is not available while <N> is graded: write your own")

The rest of each module is unchanged (an AST transformation of its source), so everything N's own
demos use from earlier notebooks still works, as does the training helper with the student's own
functions plugged in.

Which functions are stubbed for which notebook is decided by hand, in :data:`TABLE` (reviewed: one
row per library function and notebook, with the exercises it implements and how). :data:`REVIEWED`
holds every other function of ``utils/`` with the reason it stays, including the near misses: a
library function of a later notebook that could be bent into one of N's exercises only if the
student supplies the exercise's own content (a scale, a mask, a formula) is no shortcut and stays.
``tests/test_library_answers.py`` checks the table by brute force, not by reading it: every
function and method of the stubbed copy, called as N's exercise, must fail N's visible checks; and
every function of ``utils/`` must be listed in one of the two tables (so a new library function is
reviewed before it reaches a sandbox).
"""
from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent

ASSIGNMENTS = ("01_softmax", "02_activations", "03_preprocessing", "04_weight_init", "05_batchnorm",
               "06_optimizers", "07_regularization", "08_hyperparameter_search", "09_capstone",
               "10_frameworks")


@dataclass(frozen=True)
class Stub:
    """``utils.<function>`` is stubbed while ``assignment`` is graded: it implements ``exercises``."""
    function: str                 # "<module>.<name>" or "<module>.<Class>.<method>", inside utils/
    assignment: str               # the notebook whose grading must not offer it
    exercises: tuple[str, ...]    # the exercises (names in the solution notebook) it implements
    how: str                      # why, and for exposures the one-line wrapper


TABLE: tuple[Stub, ...] = (
    # ---- 01_softmax: softmax, cross_entropy_loss, softmax_jacobian, softmax_cross_entropy,
    #      numerical_gradient, relative_error
    Stub("gradcheck.numerical_gradient", "01_softmax", ("numerical_gradient",),
         "the library version of the exercise"),
    Stub("gradcheck.numerical_gradient_array", "01_softmax", ("numerical_gradient",),
         "with dout=1.0 it is the numeric gradient of a scalar f: "
         "numerical_gradient_array(f, x, 1.0, h)"),
    Stub("gradcheck.relative_error", "01_softmax", ("relative_error",),
         "the library version of the exercise"),
    Stub("layers.softmax_cross_entropy", "01_softmax", ("softmax_cross_entropy", "softmax", "cross_entropy_loss"),
         "the fused loss itself; N * dscores + onehot(y) is the softmax of the scores, and its loss on "
         "log(probs) is the cross-entropy of probs"),
    # ---- 02_activations: sigmoid, tanh, relu, leaky_relu, elu, prelu (forward and backward)
    Stub("layers.relu_forward", "02_activations", ("relu_forward",), "the library version of the exercise"),
    Stub("layers.relu_backward", "02_activations", ("relu_backward",), "the library version of the exercise"),
    Stub("layers.tanh_forward", "02_activations", ("tanh_forward",), "the library version of the exercise"),
    Stub("layers.tanh_backward", "02_activations", ("tanh_backward",), "the library version of the exercise"),
    # ---- 03_preprocessing: compute_mean_std, standardize, pca_fit, pca_transform, whiten,
    #      subtract_mean_image, subtract_channel_mean
    Stub("layers.batchnorm_forward", "03_preprocessing", ("compute_mean_std", "standardize"),
         "a later notebook's (05) function that does 03's work as a by-product: in train mode with "
         "momentum 0 it leaves the per-feature mean and variance in bn_param (compute_mean_std) and "
         "returns the standardised batch; in test mode with running_mean=mean, running_var=std**2 it "
         "standardises with given statistics (standardize)"),
    # ---- 04_weight_init: init_small_random, layer_activation_stats, init_xavier, init_he
    Stub("layers.init_he", "04_weight_init", ("init_he",), "the library version of the exercise"),
    Stub("layers.init_xavier", "04_weight_init", ("init_xavier",), "the library version of the exercise"),
    # ---- 05_batchnorm: batchnorm_forward, batchnorm_backward, batchnorm_backward_alt,
    #      layernorm_forward, layernorm_backward, affine_forward, affine_backward, init_fc_net, fc_net_loss
    Stub("layers.affine_forward", "05_batchnorm", ("affine_forward",), "the library version of the exercise"),
    Stub("layers.affine_backward", "05_batchnorm", ("affine_backward",), "the library version of the exercise"),
    Stub("layers.batchnorm_forward", "05_batchnorm", ("batchnorm_forward", "layernorm_forward"),
         "the library version; on x.T (gamma, beta as columns, train mode) it is layer norm"),
    Stub("layers.batchnorm_backward", "05_batchnorm", ("batchnorm_backward", "batchnorm_backward_alt",
                                                       "layernorm_backward"),
         "the library version (closed form, so also the _alt exercise); on transposed inputs it is "
         "layer norm's backward pass"),
    # ---- 06_optimizers: sgd, sgd_momentum, nesterov_momentum, adagrad, rmsprop, adam, step_decay,
    #      exponential_decay, inverse_time_decay, cosine_decay, linear_warmup, random_mini_batches,
    #      train_loop (see REVIEWED for training.train)
    Stub("optim.sgd", "06_optimizers", ("sgd",), "the library version of the exercise"),
    Stub("optim.sgd_momentum", "06_optimizers", ("sgd_momentum", "nesterov_momentum"),
         "the library version; Nesterov is its result plus momentum * (v_new - v_old)"),
    Stub("optim.adam", "06_optimizers", ("adam", "rmsprop"),
         "the library version; with beta1=0 and a huge step counter t (no bias correction) it is RMSProp"),
    # ---- 07_regularization: l2_penalty, l1_penalty, dropout_forward, dropout_backward, random_crop,
    #      random_flip, random_shift, color_jitter, pixel_pca, pca_color_augmentation, early_stopping,
#      fc_net_loss
    Stub("layers.dropout_forward", "07_regularization", ("dropout_forward",), "the library version of the exercise"),
    Stub("layers.dropout_backward", "07_regularization", ("dropout_backward",), "the library version of the exercise"),
    Stub("training.MLP.loss", "07_regularization", ("fc_net_loss", "l2_penalty"),
         "an MLP whose params are fc_net_loss's, with keep_prob, reg and the student's dropout plugged in, "
         "computes fc_net_loss (same layers, same masks in the same order); its reg term is the L2 penalty. "
         "07's experiments train with the student's fc_net_loss instead"),
    # ---- 08_hyperparameter_search (initial_loss_ok, diagnose_learning_curve, sample_log_uniform,
    #      sample_one_minus_log_uniform, sample_config, random_search, grid_search, refine_space):
    #      no library function implements any of them (utils.hyperparameter_search_plots only draws).
    # ---- 09_capstone (make_schedule, draw_config, fit, count_trainable_params, freeze, replace_head,
    #      prepare_transfer): no library function implements any of them (see REVIEWED for MLP and train;
    #      fit is open-ended: it could wrap MLP and train, which the transfer part needs in the sandbox).
    # ---- 10_frameworks (unbroadcast, mul, matmul, relu, tanh, reduce_sum, power, softmax_cross_entropy,
    #      topological_order, backward, optimizer_step, minimize, train_mlp): no library function implements
    #      any of them. The primitives return (out, backward function); the library's layers return (out,
    #      cache) and the checks reject a cache in place of a function. The library's backward passes and
    #      update rules stay: the notebook checks its autograd against them, and its optimisers wrap
    #      utils.optim's rules by design (an earlier notebook's parts).
)


# Every other function of utils/, with the reason it stays in every sandbox. Near misses name the
# notebook they were judged against.
REVIEWED: dict[str, str] = {
    "gradcheck._require_float64": "a dtype check; implements no exercise",
    "gradcheck.sampled_gradient_check": "checks given gradients against centred differences of a given loss "
                                        "on sampled entries and returns relative errors: it computes no "
                                        "gradient (01's numerical_gradient) and builds no network (05)",
    "plotting._plt": "imports matplotlib",
    "plotting.plot_decision_boundary": "draws; implements no exercise",
    "plotting.plot_curves": "draws; implements no exercise",
    "plotting.plot_matrix": "draws; implements no exercise",
    "seeding.make_rng": "np.random.default_rng(seed); implements no exercise",
    "seeding.fast_mode": "reads the environment; implements no exercise",
    "weight_init_plots._plt": "imports matplotlib",
    "weight_init_plots.plot_layer_histograms": "draws given activations; computes no statistic of 04",
    "weight_init_plots.plot_layer_stats": "draws given per-layer statistics; computes none (04's "
                                          "layer_activation_stats does)",
    "optimizers_plots.run_on_surface": "runs the update rule it is given on a surface; implements no "
                                       "update rule or schedule of 06",
    "optimizers_plots.plot_paths": "draws; implements no exercise",
    "hyperparameter_search_plots._plt": "imports matplotlib",
    "hyperparameter_search_plots.plot_trials_with_marginals": "draws given trials; samples nothing (08)",
    "hyperparameter_search_plots.plot_search_rounds": "draws given search results; searches nothing (08)",
    "training.Layers": "a record of layer functions; its defaults are the library layers, stubbed "
                       "where the table says so",
    "training.MLP": "see MLP.__init__, MLP.scores and MLP.loss; near miss for 05 (kept: 05's experiments "
                    "and their trusted re-run are built on it): MLP(D, hidden, C, rng, batchnorm=True).params "
                    "holds init_fc_net's dict, and MLP.loss with a Layers of the student's own layers "
                    "composes them as fc_net_loss does; its default affine and batch-norm layers are "
                    "stubbed for 05, so it composes only what the student wrote",
    "training.MLP.__init__": "near miss for 04: MLP(fan_in, [], fan_out, rng, weight_scale=s).params['W1'] "
                             "is s * rng.standard_normal((fan_in, fan_out)): init_small_random, whose "
                             "docstring states that line as the answer, and init_xavier/init_he only once "
                             "the student supplies the scale, the exercise's whole content. 04's own demos "
                             "need MLP. Without weight_scale it uses init_he (stubbed for 04)",
    "training.MLP.scores": "near miss for 04: the caches of an MLP with the student's activation hold "
                           "each layer's activations, but rebuilding layer_activation_stats this way takes "
                           "more code than the exercise; its default layers are stubbed where the table "
                           "says so (ReLU for 02, batch norm for 05, dropout for 07); for 07 it is the "
                           "forward half of fc_net_loss only, with the backward pass and the penalty left "
                           "to write",
    "training.MLP.to_plain": "the model as plain data (for the trusted re-check); implements no exercise",
    "training.MLP.from_plain": "rebuilds a model from plain data, with the library's layers; implements no "
                               "exercise (09's freeze/replace_head/prepare_transfer change a model, this "
                               "only validates and copies one)",
    "training.MLP.predict": "argmax of the scores; implements no exercise",
    "training.MLP._bn_frozen": "whether a batch-norm layer's gamma and beta are both frozen (09's transfer runs "
                               "it in test mode); implements no exercise",
    "training.History.to_plain": "a training history as plain data (for the trusted re-check); implements "
                                 "no exercise",
    "training.History.from_plain": "rebuilds a history from plain data, checking each field; implements no "
                                   "exercise",
    "training.accuracy": "mean of correct predictions; implements no exercise",
    "training.Progress": "a progress bar",
    "training.Progress.__init__": "a progress bar",
    "training.Progress.update": "a progress bar",
    "training.progress": "a progress bar",
    "training.History": "a record of a training run",
    "training.train": "near miss for 06, 07 and 09: it stops on a patience of validation accuracy inside "
                      "its own loop (not early_stopping(val_losses, patience)), applies a schedule and "
                      "an update rule it is given (implements none of 06/09), and skips frozen "
                      "parameters (it does not freeze: 09's freeze sets them). Its default update is "
                      "optim.sgd (stubbed for 06). 06's random_mini_batches returns the batches, which "
                      "train never exposes; 06's train_loop takes a model as two functions of a parameter "
                      "dict and records the whole-set training loss and accuracy per epoch, which train does "
                      "not (its train_acc is on a subset, its model an MLP object): wrapping it takes more "
                      "code than the exercise",
}

# Judged and left in place (no shortcut to an exercise):
# - gradcheck.numerical_gradient_array (01, an earlier notebook for 02, 05, 07) turns the student's own
#   forward pass into a numeric backward pass: the student wires it to their own forward, and it is
#   the course's gradient-checking tool, which earlier notebooks' parts may stay by the rule.
# - layers.softmax_cross_entropy (01) holds a two-class softmax, i.e. the sigmoid of 02
#   (softmax([0, x])[1] = sigmoid(x)): a multi-step rebuild from an earlier notebook's part.
# - layers.dropout_backward (07, a later notebook for 02) is dout * cache: relu_backward =
#   dropout_backward(dout, x > 0) only once the student writes the mask x > 0, which is the exercise.
# - training.MLP(weight_scale=s) draws s * standard normal: 04's init_small_random, whose docstring
#   states that very line, and Xavier/He only once the student supplies the scale (the exercise).


def stubs_for(assignment: str) -> dict[str, Stub]:
    """``{"<module>.<name>": Stub}``: the library functions stubbed while ``assignment`` is graded."""
    assignment = _assignment(assignment)
    return {s.function: s for s in TABLE if s.assignment == assignment}


def sandbox_utils(assignment: str, dest: Path, *, course_root: Path | None = None) -> Path:
    """Write ``dest/utils``: the course's ``utils/`` with every function :data:`TABLE` maps to an
    exercise of ``assignment`` replaced by a stub raising ``NotImplementedError``; return its path.

    ``assignment`` is ``"01_softmax"`` (or its topic, ``"softmax"``); an unknown one is an error rather
    than an unstubbed library. An existing ``dest/utils`` is replaced (a symlink there is removed, never
    followed). ``__pycache__`` is not copied. A table row whose function no longer exists is an error:
    a renamed function must not slip through unstubbed.
    """
    assignment = _assignment(assignment)
    source = Path(course_root or COURSE_ROOT) / "utils"
    if not (source / "__init__.py").is_file():
        raise FileNotFoundError(f"no utils package in {source.parent}")
    targets: dict[str, dict[str, str]] = {}           # module -> {qualified name: message}
    for name in stubs_for(assignment):
        module, qualname = name.split(".", 1)
        targets.setdefault(module, {})[qualname] = (
            f"utils.{name} is not available while {assignment} is graded: write your own")
    missing_modules = [m for m in targets if not (source / f"{m}.py").is_file()]
    if missing_modules:
        raise LookupError(f"classroom.library.TABLE names utils modules that do not exist: {missing_modules}")

    dest = Path(dest)
    out = dest / "utils"
    if out.is_symlink() or out.is_file():
        out.unlink()
    elif out.exists():
        shutil.rmtree(out)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, out, symlinks=False, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    for module, names in targets.items():
        path = out / f"{module}.py"
        path.write_text(stub_source(path.read_text(encoding="utf-8"), names, f"utils/{module}.py"),
                        encoding="utf-8")
    return out


# Private helpers of the check library (graders/, which the sandbox shows whole) that compute an
# exercise's answer to word a hint: withheld the same way while their notebook is graded. The checks
# that call them give no hint there instead (the trusted re-check, where they are whole, words it).
GRADERS_TABLE: tuple[Stub, ...] = (
    Stub("batchnorm._normalised", "05_batchnorm", ("batchnorm_forward", "layernorm_forward"),
         "computes the normalised output (gamma * x_hat + beta) along either axis, to recognise mistakes"),
)
# Judged and left in graders/frameworks.py: evaluate, numeric_grads and the forward ORACLES compute values and
# centred-difference gradients of the check's expressions, as utils.gradcheck.numerical_gradient_array does for
# any function (the course's gradient-checking tool, which stays); an autograd built on them is a numeric one.


def sandbox_graders(assignment: str, dest: Path, *, course_root: Path | None = None) -> Path:
    """Write ``dest/graders``: the course's ``graders/`` with the helpers :data:`GRADERS_TABLE` maps to
    ``assignment`` stubbed (as :func:`sandbox_utils` does for the library); return its path."""
    assignment = _assignment(assignment)
    source = Path(course_root or COURSE_ROOT) / "graders"
    out = Path(dest) / "graders"
    if out.is_symlink() or out.is_file():
        out.unlink()
    elif out.exists():
        shutil.rmtree(out)
    Path(dest).mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, out, symlinks=False, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    targets: dict[str, dict[str, str]] = {}
    for stub in GRADERS_TABLE:
        if stub.assignment == assignment:
            module, qualname = stub.function.split(".", 1)
            targets.setdefault(module, {})[qualname] = (
                f"graders.{stub.function} is not available while {assignment} is graded")
    for module, names in targets.items():
        path = out / f"{module}.py"
        path.write_text(stub_source(path.read_text(encoding="utf-8"), names, f"graders/{module}.py"),
                        encoding="utf-8")
    return out


def stub_source(source: str, names: dict[str, str], filename: str = "<utils>") -> str:
    """``source`` with the body of every function in ``names`` (``"f"`` or ``"Class.method"``, top
    level only) replaced by its docstring and ``raise NotImplementedError(names[name])``."""
    tree = ast.parse(source, filename)
    found = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            _stub(node, names[node.name])
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                qualname = f"{node.name}.{getattr(item, 'name', '')}"
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and qualname in names:
                    _stub(item, names[qualname])
                    found.add(qualname)
    missing = sorted(set(names) - found)
    if missing:
        raise LookupError(f"{filename} has no top-level function {', '.join(missing)} to stub "
                          "(classroom.library.TABLE is out of date)")
    text = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    # the checks (graders.checking.withheld) see that a library function is held back here, and leave
    # the part of a visible check that needs it to the trusted re-check, where the library is whole
    text += "".join(f"{name}.__withheld__ = True\n" for name in sorted(found))
    compile(text, filename, "exec")                   # what we write must at least be Python
    return text


def _stub(node: ast.FunctionDef | ast.AsyncFunctionDef, message: str) -> None:
    body: list[ast.stmt] = []
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        body.append(first)                            # keep the docstring (the specification)
    body.append(ast.Raise(exc=ast.Call(func=ast.Name("NotImplementedError", ast.Load()),
                                       args=[ast.Constant(message)], keywords=[]), cause=None))
    node.body = body


def _assignment(name: str) -> str:
    for a in ASSIGNMENTS:
        if name in (a, a.split("_", 1)[1]):
            return a
    raise ValueError(f"unknown assignment {name!r}: classroom.library knows {', '.join(ASSIGNMENTS)} "
                     "(review its TABLE before grading a new notebook)")
