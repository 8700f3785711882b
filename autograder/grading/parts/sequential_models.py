"""Hidden cases of assignment 06-sequential-models: a model built and compiled to a written spec.

Also (at the end of this module): sizes counted by hand for networks the
notebook describes in words only, batch normalisation's ``4C`` parameters
of which ``2C`` are trained among them, and a residual block with a
projection shortcut built with the functional API, read from its
functional config (inbound nodes) and graded per feature.

The spec (the notebook states it in words, chapter 6 explains every step):

    input 28x28x1 -> Conv2D(8, 3x3, padding "same", ReLU) -> MaxPooling2D(2x2)
    -> Conv2D(16, 3x3, padding "valid", ReLU) -> MaxPooling2D(2x2) -> Flatten
    -> Dropout(0.25) -> Dense(10), no activation (logits);
    compiled with Adam (learning rate 0.002), sparse categorical
    cross-entropy on logits, and the accuracy metric.

Model parts are graded on a copy of the student's model saved as ``.keras``
and loaded with safe mode, so each predicate reads only what survives that
round trip: layer classes and configs, ``layer.output.shape``,
``count_params()`` and the compile config; the loss and metrics are judged
by what they compute on known logits (:mod:`..compile_probe`), not by how
they are spelled. Each case looks at one feature of
the spec, so a model with one mistake keeps the points of everything else.
Messages name what is wrong in the student's model, never the spec's value
that the case checks (the notebook's text already gives the spec).
"""

from __future__ import annotations

from ..compile_probe import loss_problem, metrics_problem
from ..keras_models import model_predicate, not_a_model, of_kind, shape_of, views
from ..registry import KERAS_ALLOWED, Case, assignment

ASSIGNMENT = "06-sequential-models"
register = assignment(ASSIGNMENT)

# The spec, as the predicates check it.
SPEC_LAYERS = ("Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense")
LEARNING_RATE = 0.002


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


# --- the layers -----------------------------------------------------------------------

@model_predicate
def _input_is_28x28x1(model):
    shape = shape_of(model.inputs[0])
    if shape != (None, 28, 28, 1):
        return f"the model's input shape is {shape}, not a batch of 28x28 one-channel images"
    return None


@model_predicate
def _layer_classes(model):
    got = layer_names(model)
    if tuple(got) != SPEC_LAYERS:
        return f"the layers are {', '.join(got) or 'none'}: not the spec's classes in the spec's order"
    return None


def _conv(n, filters, padding, shape):
    @model_predicate
    def check(model):
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


@model_predicate
def _pools(model):
    for n, (which, shape) in enumerate([("first", (None, 14, 14, 8)), ("second", (None, 6, 6, 16))]):
        layer = nth_layer(model, "MaxPooling2D", n)
        if layer is None:
            return f"there is no {which} MaxPooling2D layer"
        if layer.output_shape != shape:
            return f"the {which} MaxPooling2D layer's output shape is {layer.output_shape}, which is wrong"
    return None


@model_predicate
def _flatten(model):
    layer = nth_layer(model, "Flatten")
    if layer is None:
        return "there is no Flatten layer"
    if layer.output_shape != (None, 576):
        return f"the Flatten layer's output shape is {layer.output_shape}, which is wrong"
    return None


@model_predicate
def _head(model):
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


@model_predicate
def _param_count(model):
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
    @model_predicate
    def wrapped(model):
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
    # Judged by what the loss computes on known logits (compile_probe), not by its name.
    return loss_problem(compile_config(model), logits_expected=False)


@_compiled
def _loss_logits(model):
    kind = loss_problem(compile_config(model), logits_expected=False)
    if kind is not None:
        return "the loss is not the sparse cross-entropy, so whether it reads logits cannot be judged"
    return loss_problem(compile_config(model))


@_compiled
def _metrics(model):
    # Judged by what each metric reports on known logits: a look-alike name (BinaryAccuracy(name="accuracy"),
    # top-k accuracy) does not pass.
    return metrics_problem(compile_config(model))


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


# --- batch normalisation, counted by hand ---------------------------------------------------------------

# The notebook's Part 4 describes, in words only, a network with batch normalisation:
#   input 28x28x1 -> Conv2D(16, 3x3, "same", use_bias=False) -> BatchNormalization -> ReLU -> MaxPooling2D(2x2)
#   -> Conv2D(32, 3x3, "valid") -> BatchNormalization -> ReLU -> GlobalAveragePooling2D -> Dense(10)
# A BatchNormalization layer on C channels holds gamma, beta (trained) and the moving mean and variance
# (not trained): 4C parameters, 2C trainable.
BN_CHANNELS = 32
BN_PARAMS = 4 * BN_CHANNELS  # 128
BN_TRAINABLE = 2 * BN_CHANNELS  # 64
BN_MODEL_LAYERS = (3 * 3 * 1 * 16, 4 * 16, 3 * 3 * 16 * 32 + 32, 4 * 32, 32 * 10 + 10)
BN_MODEL_PARAMS = sum(BN_MODEL_LAYERS)  # 5,306
BN_MODEL_TRAINABLE = BN_MODEL_PARAMS - 2 * 16 - 2 * 32  # 5,210


# --- the counts by hand: one value part each -------------------------------------------------------------

def _by_hand(label, value):
    """The cases of a number computed by hand: one, whose label says what was counted."""

    def cases(rng):
        return [Case(label, (), value)]

    return cases


# (part, value, description, label shown to the student)
HAND_COUNTS = [
    ("spec_flatten_units", HAND_FLATTEN, "the number of features after Flatten of the colour network, by hand",
     "features after Flatten of the colour network, computed by hand"),
    ("spec_conv2_params", HAND_CONV2, "the colour network's second convolution's parameters, by hand",
     "parameters of the colour network's second Conv2D layer, computed by hand"),
    ("spec_dense_params", HAND_DENSE, "the colour network's output layer's parameters, by hand",
     "parameters of the colour network's Dense layer, computed by hand"),
    ("bn_params", BN_PARAMS, "the parameters of a BatchNormalization layer, by hand",
     "parameters of the second BatchNormalization layer, computed by hand"),
    ("bn_trainable", BN_TRAINABLE, "the trainable parameters of a BatchNormalization layer, by hand",
     "trainable parameters of the second BatchNormalization layer, computed by hand"),
    ("bn_model_params", BN_MODEL_PARAMS, "all parameters of the network with batch normalisation, by hand",
     "parameters of the whole network with batch normalisation, computed by hand"),
    ("bn_model_trainable", BN_MODEL_TRAINABLE,
     "the trainable parameters of the network with batch normalisation, by hand",
     "trainable parameters of the whole network, computed by hand"),
]
for _part, _value, _description, _label in HAND_COUNTS:
    register(_part, points=1, kind="value", forbidden=KERAS_ALLOWED, description=_description)(
        _by_hand(_label, _value))


# --- a residual block built to a spec (functional API) ----------------------------------------------------
#
# The notebook's Part 5 spec:
#   input 16x16x8
#   body:      Conv2D(16, 3x3, "same", use_bias=False) -> BatchNormalization -> ReLU
#              -> Conv2D(16, 3x3, "same", use_bias=False) -> BatchNormalization
#   shortcut:  Conv2D(16, 1x1, use_bias=False) -> BatchNormalization  (a projection: 8 channels become 16)
#   Add()([body, shortcut]) -> ReLU -> GlobalAveragePooling2D -> Dense(10, softmax)
# Read from the model's functional config (inbound nodes), which survives the .keras round trip; nested
# Sequential blocks are opened up, activations may be arguments or layers, Add() or keras.layers.add.

RESIDUAL_PARAMS = 9 * 8 * 16 + 4 * 16 + 9 * 16 * 16 + 4 * 16 + 8 * 16 + 4 * 16 + 16 * 10 + 10  # 3,946
RESIDUAL_TRAINABLE = RESIDUAL_PARAMS - 3 * 2 * 16  # 3,850


def _tokens(layer):
    """What one layer does, as the spec reads it: ``[("conv", config)]``, ``[("bn",)]``, ``[("act", name)]``, ..."""
    from ..keras_models import ALIASES, activation_of

    kind = ALIASES.get(type(layer).__name__, type(layer).__name__)
    activation = activation_of(layer)
    if activation is not None:
        return [] if activation == "linear" else [("act", activation)]
    config = layer.get_config()
    tokens = [("conv", config)] if kind == "Conv2D" else [("bn",)] if kind == "BatchNormalization" else [(kind,)]
    own = config.get("activation", "linear")
    if kind != "Activation" and isinstance(own, str) and own != "linear":
        tokens.append(("act", own))
    return tokens


def residual_graph(model):
    """``{name: (layer, [input names])}`` of the model's layers, nested Sequential blocks opened into chains."""
    import keras

    from ..keras_models import flat_layers

    if type(model).__name__ == "Sequential":  # a chain: no Add can be in it
        graph, previous = {}, None
        for index, layer in enumerate(flat_layers(model)):
            graph[f"{index}/{layer.name}"] = (layer, [previous] if previous else [])
            previous = f"{index}/{layer.name}"
        return graph
    config = model.get_config()
    graph, alias = {}, {}
    entries = config.get("layers", [])
    for entry in entries:
        name = entry.get("name") or entry["config"].get("name")
        layer = model.get_layer(name)
        nodes = entry.get("inbound_nodes") or []
        inputs = []
        for node in nodes[:1]:
            stack = list(node.get("args", []))
            while stack:
                item = stack.pop(0)
                if isinstance(item, list):
                    stack = item + stack
                elif isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
                    inputs.append(item["config"]["keras_history"][0])
        inputs = [alias.get(i, i) for i in inputs]
        if isinstance(layer, keras.Model):
            chain_inputs = inputs
            for inner in flat_layers(layer):
                key = f"{name}/{inner.name}"
                graph[key] = (inner, chain_inputs)
                chain_inputs = [key]
            alias[name] = chain_inputs[0] if chain_inputs else name
            continue
        graph[name] = (layer, inputs)
    return graph


def _adds(graph):
    return [name for name, (layer, _) in graph.items() if type(layer).__name__ == "Add"]


def _branch(graph, name):
    """The tokens of the single-input chain that ends at ``name``, first layer first, and where it starts."""
    tokens = []
    while name in graph:
        layer, inputs = graph[name]
        kind = type(layer).__name__
        if kind == "InputLayer":
            return tokens, "input"
        if kind == "Add" or len(inputs) != 1:
            return tokens, kind
        tokens = _tokens(layer) + tokens
        name = inputs[0]
    return tokens, "input"


def _after(graph, name):
    """The tokens of the chain that follows ``name`` to the model's output."""
    consumers = {}
    for key, (_, inputs) in graph.items():
        for i in inputs:
            consumers.setdefault(i, []).append(key)
    tokens = []
    while len(consumers.get(name, [])) == 1:
        name = consumers[name][0]
        tokens += _tokens(graph[name][0])
    return tokens


def _the_add(model):
    """``(graph, add name, [branch tokens, ...], problem)`` for a model with one Add of two branches."""
    problem = not_a_model(model)
    if problem:
        return None, None, None, problem
    graph = residual_graph(model)
    adds = _adds(graph)
    if len(adds) != 1:
        return graph, None, None, f"the model has {len(adds)} Add layers; the spec's block has one"
    inputs = graph[adds[0]][1]
    if len(inputs) != 2:
        return graph, adds[0], None, f"the Add layer adds {len(inputs)} tensors; the block adds two"
    return graph, adds[0], [_branch(graph, i) for i in inputs], None


def _split(branches):
    """``(body, shortcut)`` token lists: the body is the branch with more convolutions."""
    (a, _), (b, _) = branches
    count = lambda tokens: sum(t[0] == "conv" for t in tokens)
    return (a, b) if count(a) >= count(b) else (b, a)


def _pattern(tokens):
    return [t[0] if t[0] != "act" else t[1] for t in tokens]


def _conv_settings(config, kernel):
    problems = []
    if config["filters"] != 16:
        problems.append(f"{config['filters']} filters")
    if tuple(config["kernel_size"]) != (kernel, kernel):
        problems.append(f"a {tuple(config['kernel_size'])} kernel")
    if tuple(config.get("strides", (1, 1))) != (1, 1):
        problems.append(f"strides {tuple(config['strides'])}")
    if kernel == 3 and config["padding"] != "same":
        problems.append(f"padding {config['padding']!r}")
    if config.get("use_bias", True):
        problems.append("a bias (use_bias=True)")
    return problems


@model_predicate
def _check_residual_input(model):
    shape = shape_of(model.inputs[0])
    return None if shape == (None, 16, 16, 8) else f"the model's input shape is {shape}, unlike the spec"


def _check_add(model):
    graph, add, branches, problem = _the_add(model)
    if problem:
        return problem
    starts = [start for _, start in branches]
    if starts != ["input", "input"]:
        return f"the Add layer's two inputs do not both start from the block's input (they start at {starts})"
    shape = shape_of(graph[add][0].output)
    if shape != (None, 16, 16, 16):
        return f"the Add layer's output shape is {shape}, which is wrong"
    return None


def _check_body_convs(model):
    _, _, branches, problem = _the_add(model)
    if problem:
        return problem
    body, _ = _split(branches)
    convs = [t[1] for t in body if t[0] == "conv"]
    if len(convs) != 2:
        return f"the block's main branch has {len(convs)} convolutions; the spec has two"
    for number, config in enumerate(convs, start=1):
        problems = _conv_settings(config, 3)
        if problems:
            return f"convolution {number} of the main branch has " + ", ".join(problems) + ", unlike the spec"
    return None


def _check_body_order(model):
    _, _, branches, problem = _the_add(model)
    if problem:
        return problem
    body, _ = _split(branches)
    pattern = _pattern(body)
    if pattern != ["conv", "bn", "relu", "conv", "bn"]:
        return (f"the main branch runs {' -> '.join(pattern) or 'nothing'}; the spec puts each batch "
                "normalisation right after its convolution, a ReLU between the two, none before the Add")
    return None


def _check_shortcut(model):
    _, _, branches, problem = _the_add(model)
    if problem:
        return problem
    _, shortcut = _split(branches)
    pattern = _pattern(shortcut)
    if not pattern:
        return "the shortcut is the identity, but the channels change (8 to 16): it needs a 1x1 projection"
    if pattern != ["conv", "bn"]:
        return f"the shortcut runs {' -> '.join(pattern)}; the spec's projection is a 1x1 convolution and a batch normalisation"
    problems = _conv_settings(shortcut[0][1], 1)
    if problems:
        return "the shortcut's convolution has " + ", ".join(problems) + ", unlike the spec"
    return None


def _check_after_add(model):
    graph, add, _, problem = _the_add(model)
    if problem:
        return problem
    after = _pattern(_after(graph, add))
    if not after or after[0] != "relu":
        return f"after the Add comes {after[0] if after else 'nothing'}; the spec applies a ReLU to the sum"
    return None


def _check_residual_head(model):
    graph, add, _, problem = _the_add(model)
    if problem:
        return problem
    after = _after(graph, add)
    kinds = _pattern(after)
    if kinds[-3:-1] != ["GlobalAveragePooling2D", "Dense"] or kinds[-1] != "softmax":
        return f"after the block come {', '.join(kinds) or 'no layers'}; the spec's head is global average pooling and a Dense softmax"
    if shape_of(model.outputs[0]) != (None, 10):
        return f"the model's output shape is {shape_of(model.outputs[0])}, not (None, 10)"
    return None


@model_predicate
def _check_residual_params(model):
    total = int(model.count_params())
    trainable = sum(_size(w.shape) for w in model.trainable_weights)
    if total != RESIDUAL_PARAMS:
        return f"the model has {total:,} parameters; a model built to the spec has a different number"
    if trainable != RESIDUAL_TRAINABLE:
        return f"the model has {trainable:,} trainable parameters; a model built to the spec has a different number"
    return None


def _size(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


@register("residual_block", points=4, kind="model", forbidden=KERAS_ALLOWED,
          description="a residual block with a projection shortcut, built with the functional API")
def _residual_block_cases(rng):
    # One feature per case, each checked on its own.
    return [
        Case("input shape", predicate=_check_residual_input),
        Case("one Add of two branches from the block's input, and its output shape", predicate=_check_add),
        Case("the main branch's convolutions: filters, kernel, padding, strides, no bias",
             predicate=_check_body_convs),
        Case("the main branch's order: convolution, batch normalisation, ReLU", predicate=_check_body_order),
        Case("the projection shortcut: 1x1 convolution and batch normalisation", predicate=_check_shortcut),
        Case("ReLU after the Add", predicate=_check_after_add),
        Case("the head: global average pooling and a Dense softmax output", predicate=_check_residual_head),
        Case("number of parameters, and of trainable parameters", predicate=_check_residual_params),
    ]
