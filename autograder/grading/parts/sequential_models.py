"""Hidden cases of assignment 06-sequential-models: a model built and compiled to a written spec.

The spec (the notebook states it in words, chapter 6 explains every step):

    input 28x28x1 -> Conv2D(8, 3x3, padding "same", ReLU) -> MaxPooling2D(2x2)
    -> Conv2D(16, 3x3, padding "valid", ReLU) -> MaxPooling2D(2x2) -> Flatten
    -> Dropout(0.25) -> Dense(10), no activation (logits);
    compiled with Adam (learning rate 0.002), sparse categorical
    cross-entropy on logits, and the accuracy metric.

Model parts are graded on a copy of the student's model saved as ``.keras``
and loaded with safe mode, so each predicate reads only what survives that
round trip: layer classes and configs, ``layer.output.shape``,
``count_params()`` and the compile config. Each case looks at one feature of
the spec, so a model with one mistake keeps the points of everything else.
Messages name what is wrong in the student's model, never the spec's value
that the case checks (the notebook's text already gives the spec).
"""

from __future__ import annotations

from ..keras_models import not_a_model, of_kind, shape_of, views
from ..registry import KERAS_ALLOWED, Case, assignment

ASSIGNMENT = "06-sequential-models"
register = assignment(ASSIGNMENT)

# The spec, as the predicates check it.
SPEC_LAYERS = ("Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense")
LEARNING_RATE = 0.002
SPARSE_LOSS_NAMES = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}
ACCURACY_NAMES = {"accuracy", "acc", "sparse_categorical_accuracy", "SparseCategoricalAccuracy", "Accuracy"}


# --- reading a (round-tripped) model ------------------------------------------------

def layers_of(model):
    """The model's layers as the spec reads them (nested blocks opened, activation layers folded in)."""
    return views(model)


def layer_names(model):
    return [view.kind for view in views(model)]


def nth_layer(model, class_name, n=0):
    """The ``n``-th layer view of class ``class_name`` (0-based), or ``None``."""
    found = of_kind(model, class_name)
    return found[n] if len(found) > n else None


def compile_config(model):
    """The model's compile config (a dict), or ``None`` when it was never compiled."""
    try:
        config = model.get_compile_config()
    except AttributeError:
        return None
    return config or None


def _name_of(item):
    """A loss, optimizer or metric from a compile config: ``(name, config)``."""
    if isinstance(item, str):
        return item, {}
    if isinstance(item, dict):
        config = item.get("config")
        name = item.get("class_name") or (config if isinstance(config, str) else "")
        return str(name), config if isinstance(config, dict) else {}
    if callable(item):
        return getattr(item, "__name__", type(item).__name__), getattr(item, "get_config", dict)() or {}
    return type(item).__name__, {}


def loss_of(model):
    """``(name, from_logits)`` of the compiled loss, or ``None``."""
    config = compile_config(model)
    if config is None or config.get("loss") is None:
        return None
    name, settings = _name_of(config["loss"])
    return name, bool(settings.get("from_logits", False))


def metric_names(model):
    config = compile_config(model) or {}
    metrics = config.get("metrics") or []
    if isinstance(metrics, (str, dict)):
        metrics = [metrics]
    names = []
    for metric in metrics:
        name, settings = _name_of(metric)
        names += [name, str(settings.get("name", ""))]
    return {name for name in names if name}


# --- the layers -----------------------------------------------------------------------

def _input_is_28x28x1(model):
    problem = not_a_model(model)
    if problem:
        return problem
    shape = shape_of(model.inputs[0])
    if shape != (None, 28, 28, 1):
        return f"the model's input shape is {shape}, not a batch of 28x28 one-channel images"
    return None


def _layer_classes(model):
    problem = not_a_model(model)
    if problem:
        return problem
    got = layer_names(model)
    if tuple(got) != SPEC_LAYERS:
        return f"the layers are {', '.join(got) or 'none'}: not the spec's classes in the spec's order"
    return None


def _conv(n, filters, padding, shape):
    def check(model):
        problem = not_a_model(model)
        if problem:
            return problem
        layer = nth_layer(model, "Conv2D", n)
        which = ("first", "second")[n]
        if layer is None:
            return f"there is no {which} Conv2D layer"
        config = layer.config
        problems = []
        if config["filters"] != filters:
            problems.append(f"{config['filters']} filters")
        if tuple(config["kernel_size"]) != (3, 3):
            problems.append(f"a {config['kernel_size']} kernel")
        if config["padding"] != padding:
            problems.append(f"padding {config['padding']!r}")
        if tuple(config.get("strides", (1, 1))) != (1, 1):
            problems.append(f"strides {tuple(config['strides'])}")
        if layer.activation != "relu":
            problems.append(f"activation {layer.activation!r}")
        if problems:
            return f"the {which} Conv2D layer has " + ", ".join(problems) + ", unlike the spec"
        if layer.output_shape != shape:
            return f"the {which} Conv2D layer's output shape is {layer.output_shape}, which is wrong"
        return None

    return check


def _pools(model):
    problem = not_a_model(model)
    if problem:
        return problem
    for n, (which, shape) in enumerate([("first", (None, 14, 14, 8)), ("second", (None, 6, 6, 16))]):
        layer = nth_layer(model, "MaxPooling2D", n)
        if layer is None:
            return f"there is no {which} MaxPooling2D layer"
        if layer.output_shape != shape:
            return f"the {which} MaxPooling2D layer's output shape is {layer.output_shape}, which is wrong"
    return None


def _flatten(model):
    problem = not_a_model(model)
    if problem:
        return problem
    layer = nth_layer(model, "Flatten")
    if layer is None:
        return "there is no Flatten layer"
    if layer.output_shape != (None, 576):
        return f"the Flatten layer's output shape is {layer.output_shape}, which is wrong"
    return None


def _head(model):
    problem = not_a_model(model)
    if problem:
        return problem
    dropout, dense = nth_layer(model, "Dropout"), nth_layer(model, "Dense")
    if dropout is None:
        return "there is no Dropout layer"
    if abs(float(dropout.config["rate"]) - 0.25) > 1e-9:
        return f"the Dropout rate is {dropout.config['rate']}, unlike the spec"
    if dense is None:
        return "there is no Dense layer"
    config = dense.config
    if config["units"] != 10:
        return f"the Dense layer has {config['units']} units, but there are 10 classes"
    if dense.activation != "linear":
        return (f"the Dense layer has activation {dense.activation!r}: the spec asks for logits "
                "(no activation), which the loss turns into probabilities itself")
    if views(model)[-1].kind != "Dense" or shape_of(model.outputs[0]) != (None, 10):
        return "the model's output is not the Dense layer's 10 logits"
    return None


def _param_count(model):
    problem = not_a_model(model)
    if problem:
        return problem
    count = int(model.count_params())
    if count != 7018:
        return f"count_params() is {count:,}, which does not match the spec's layers"
    return None


@register("spec_model", points=4, kind="model", forbidden=KERAS_ALLOWED,
          description="a Sequential CNN built to a written spec")
def _spec_model_cases(rng):
    return [
        Case("input: 28x28 images with one channel", predicate=_input_is_28x28x1),
        Case("the layer classes, in order", predicate=_layer_classes),
        Case("first Conv2D layer: filters, kernel, padding, activation, output shape",
             predicate=_conv(0, 8, "same", (None, 28, 28, 8))),
        Case("second Conv2D layer: filters, kernel, padding, activation, output shape",
             predicate=_conv(1, 16, "valid", (None, 12, 12, 16))),
        Case("MaxPooling2D layers: output shapes", predicate=_pools),
        Case("Flatten layer: output shape", predicate=_flatten),
        Case("Dropout rate, and a Dense output layer of logits", predicate=_head),
        Case("total number of parameters", predicate=_param_count),
    ]


# --- the compile step -------------------------------------------------------------------

def _compiled(check):
    def wrapped(model):
        problem = not_a_model(model)
        if problem:
            return problem
        if compile_config(model) is None:
            return "the model is not compiled: call model.compile(...)"
        return check(model)

    wrapped.__name__ = check.__name__
    return wrapped


@_compiled
def _optimizer(model):
    name, settings = _name_of(compile_config(model).get("optimizer"))
    if name.lower() != "adam":
        return f"the optimizer is {name}, unlike the spec"
    rate = settings.get("learning_rate")
    if not isinstance(rate, (int, float)) or abs(rate - LEARNING_RATE) > 1e-6:
        return f"the optimizer's learning rate is {rate}, unlike the spec"
    return None


@_compiled
def _loss_kind(model):
    loss = loss_of(model)
    if loss is None:
        return "the model was compiled without a loss"
    if loss[0] not in SPARSE_LOSS_NAMES:
        return (f"the loss is {loss[0]}; the labels are integers 0-9, which need the sparse "
                "categorical cross-entropy")
    return None


@_compiled
def _loss_logits(model):
    loss = loss_of(model)
    if loss is None:
        return "the model was compiled without a loss"
    if not loss[1]:
        return ("the loss expects probabilities (from_logits=False), but the model outputs logits: "
                "pass from_logits=True")
    return None


@_compiled
def _metrics(model):
    if not metric_names(model) & ACCURACY_NAMES:
        return "the model was compiled without the accuracy metric"
    return None


@register("spec_compile", points=2, kind="model", forbidden=KERAS_ALLOWED,
          description="compiling the model: optimizer, loss, metrics")
def _spec_compile_cases(rng):
    return [
        Case("optimizer and learning rate", predicate=_optimizer),
        Case("loss: which cross-entropy", predicate=_loss_kind),
        Case("loss: logits or probabilities", predicate=_loss_logits),
        Case("metrics", predicate=_metrics),
    ]


# --- sizes computed by hand, for a model the notebook does not build ----------------------

# The notebook's Part 3 describes, in words only, a second network (colour images):
#   input 32x32x3 -> Conv2D(12, 5x5, "valid", ReLU) -> MaxPooling2D(2x2)
#   -> Conv2D(20, 3x3, "same", ReLU) -> Flatten -> Dense(7)
HAND_SIDE = (32 - 5 + 1) // 2  # 28 after the valid 5x5 convolution, 14 after pooling; "same" keeps 14
HAND_FLATTEN = HAND_SIDE * HAND_SIDE * 20  # 3,920
HAND_CONV2 = 3 * 3 * 12 * 20 + 20  # 2,180
HAND_DENSE = HAND_FLATTEN * 7 + 7  # 27,447


@register("spec_flatten_units", points=1, kind="value", forbidden=KERAS_ALLOWED,
          description="the number of features after Flatten of the colour network, by hand")
def _flatten_units_cases(rng):
    return [Case("features after Flatten of the colour network, computed by hand", (), HAND_FLATTEN)]


@register("spec_conv2_params", points=1, kind="value", forbidden=KERAS_ALLOWED,
          description="the colour network's second convolution's parameters, by hand")
def _conv2_params_cases(rng):
    return [Case("parameters of the colour network's second Conv2D layer, computed by hand", (), HAND_CONV2)]


@register("spec_dense_params", points=1, kind="value", forbidden=KERAS_ALLOWED,
          description="the colour network's output layer's parameters, by hand")
def _dense_params_cases(rng):
    return [Case("parameters of the colour network's Dense layer, computed by hand", (), HAND_DENSE)]
