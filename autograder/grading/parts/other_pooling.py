"""Hidden cases of assignment 05-other-pooling.

Parts: ``avg_pool2d`` and ``avg_pool2d_backward`` (int ``size``, ``stride``,
``padding``; padded cells are left out of each mean, as in TensorFlow),
``global_avg_pool2d`` (``(N, C, H, W)`` to ``(N, C)``) and ``all_conv_model``,
a Keras model to the notebook's spec in which stride-2 convolutions replace
the pooling layers, graded on its structure only.

The cases make the usual mistakes fail: the backward pass not divided by
the window size, padding counted in the mean (forward or backward),
overlapping windows' shares overwritten instead of added, the global mean
taken over the wrong axes; and for the model, a pooling layer kept, a
stride or a padding mode wrong, Flatten in place of global average pooling.

The model's checks use only what survives ``model.save`` and
``keras.models.load_model(..., safe_mode=True)``: layer classes and
configs, ``layer.output.shape`` and ``count_params()``. Keras is imported
inside them, so that importing this module stays NumPy-only.
"""

from __future__ import annotations

import numpy as np

from cnnkit import avg_pool2d, avg_pool2d_backward, global_avg_pool2d

from ..registry import KERAS_ALLOWED, Case, assignment

ASSIGNMENT = "05-other-pooling"
register = assignment(ASSIGNMENT)

# Chapter 4's worked example, which chapter 5 average-pools.
EXAMPLE = np.array([[38, 20, 77, 33], [36, 49, 12, 48], [26, 65, 100, 40], [90, 31, 43, 18]], dtype=float)[None, None]

# (shape, size, stride, padding): stride None means "not passed".
SETTINGS = [
    ((2, 3, 6, 6), 2, None, 0),
    ((1, 2, 5, 7), 3, 1, 0),
    ((2, 1, 7, 7), 3, 2, 0),
    ((1, 2, 6, 5), 2, 1, 0),
    ((1, 2, 5, 5), 3, 2, 1),
    ((2, 1, 7, 6), 2, 2, 1),
    ((1, 2, 6, 6), 3, 1, 1),
    ((1, 1, 4, 9), 4, 3, 0),
]


def _label(shape, size, stride, padding):
    text = f"x {shape}, size={size}"
    text += ", stride not given" if stride is None else f", stride={stride}"
    return text + (f", padding={padding}" if padding else "")


def _kwargs(stride, padding):
    kwargs = {} if stride is None else {"stride": stride}
    if padding:
        kwargs["padding"] = padding
    return kwargs


@register("avg_pool2d", points=2, description="average pooling, forward")
def _avg_pool2d_cases(rng):
    cases = [Case("x = the 4x4 worked example, size=2", (EXAMPLE.copy(), 2), avg_pool2d(EXAMPLE, 2))]
    for shape, size, stride, padding in SETTINGS:
        # Positive values, so that a mean that counts padding as zeros is visibly too small.
        x = rng.uniform(0.5, 2.0, size=shape)
        kwargs = _kwargs(stride, padding)
        cases.append(Case(_label(shape, size, stride, padding), (x, size), avg_pool2d(x, size, **kwargs),
                          kwargs=kwargs))
    return cases


@register("avg_pool2d_backward", points=3, description="average pooling, backward")
def _avg_pool2d_backward_cases(rng):
    ones = np.ones((1, 1, 2, 2))
    cases = [
        Case("x = the 4x4 worked example, size=2, dout all ones", (ones, EXAMPLE.copy(), 2),
             avg_pool2d_backward(ones, EXAMPLE, 2)),
        Case("x = the 4x4 worked example, size=3, stride=1, dout all ones", (ones, EXAMPLE.copy(), 3),
             avg_pool2d_backward(ones, EXAMPLE, 3, 1), kwargs=dict(stride=1)),
    ]
    for shape, size, stride, padding in SETTINGS:
        x = rng.standard_normal(shape)
        kwargs = _kwargs(stride, padding)
        dout = rng.standard_normal(avg_pool2d(x, size, **kwargs).shape)
        cases.append(Case(_label(shape, size, stride, padding) + ", random dout", (dout, x, size),
                          avg_pool2d_backward(dout, x, size, **kwargs), kwargs=kwargs))
    return cases


@register("global_avg_pool2d", points=1, description="global average pooling")
def _global_avg_pool2d_cases(rng):
    cases = [Case("x = the 4x4 worked example, shape (1, 1, 4, 4)", (EXAMPLE.copy(),), global_avg_pool2d(EXAMPLE))]
    for shape in [(2, 3, 5, 5), (1, 4, 3, 7), (3, 2, 6, 4), (2, 5, 1, 1)]:
        x = rng.standard_normal(shape)
        cases.append(Case(f"x {shape}", (x,), global_avg_pool2d(x)))
    return cases


# --- the all-convolutional model --------------------------------------------

# The spec of the notebook's Part 4, layer by layer (the input layer left out):
# (class name, filters or units, strides, padding, activation, output shape, parameters).
ALL_CONV_SPEC = [
    ("Conv2D", 16, (1, 1), "same", "relu", (None, 28, 28, 16), 160),
    ("Conv2D", 16, (2, 2), "same", "relu", (None, 14, 14, 16), 2320),
    ("Conv2D", 32, (1, 1), "same", "relu", (None, 14, 14, 32), 4640),
    ("Conv2D", 32, (2, 2), "same", "relu", (None, 7, 7, 32), 9248),
    ("GlobalAveragePooling2D", None, None, None, None, (None, 32), 0),
    ("Dense", 10, None, None, "softmax", (None, 10), 330),
]
ALL_CONV_PARAMS = sum(row[-1] for row in ALL_CONV_SPEC)  # 16,698
POOLING_LAYERS = ("MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D")


def _layers(model):
    """The model's layers without the input layer (a functional model lists it, a Sequential does not)."""
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def _is_model(model):
    import keras

    if not isinstance(model, keras.Model):
        return f"`model` is a {type(model).__name__}, not a Keras model (build it with keras.Sequential)"
    return None


def _shape(shape):
    return tuple(None if d is None else int(d) for d in shape)


def _check_input(model):
    problem = _is_model(model)
    if problem:
        return problem
    shape = _shape(model.inputs[0].shape)
    if shape != (None, 28, 28, 1):
        return f"the model's input shape is {shape}; the spec asks for (None, 28, 28, 1)"
    return None


def _check_layer_types(model):
    problem = _is_model(model)
    if problem:
        return problem
    names = [type(layer).__name__ for layer in _layers(model)]
    pooling = [name for name in names if name in POOLING_LAYERS]
    if pooling:
        return f"the model still has a {pooling[0]} layer: replace pooling by a stride-2 convolution"
    expected = [row[0] for row in ALL_CONV_SPEC]
    if names != expected:
        return f"layer types in order are {names}; the spec asks for {expected}"
    return None


def _conv_layers(model):
    return [layer for layer in _layers(model) if type(layer).__name__ == "Conv2D"]


def _check_convolutions(model):
    problem = _check_layer_types(model)
    if problem:
        return "cannot check the convolutions until the layer types match the spec"
    for number, (layer, row) in enumerate(zip(_conv_layers(model), ALL_CONV_SPEC), start=1):
        config = layer.get_config()
        _, filters, strides, padding, activation, _, _ = row
        found = (config["filters"], tuple(config["kernel_size"]), tuple(config["strides"]), config["padding"],
                 config["activation"])
        wanted = (filters, (3, 3), strides, padding, activation)
        if found != wanted:
            return (f"convolution {number}: filters, kernel size, strides, padding, activation are {found}; "
                    f"the spec asks for {wanted}")
    return None


def _check_output_shapes(model):
    problem = _check_layer_types(model)
    if problem:
        return "cannot check the output shapes until the layer types match the spec"
    for number, (layer, row) in enumerate(zip(_layers(model), ALL_CONV_SPEC), start=1):
        shape = _shape(layer.output.shape)
        if shape != row[5]:
            return f"layer {number} ({row[0]}) outputs shape {shape}; the spec asks for {row[5]}"
    return None


def _check_head(model):
    problem = _check_layer_types(model)
    if problem:
        return "cannot check the output layer until the layer types match the spec"
    config = _layers(model)[-1].get_config()
    if (config["units"], config["activation"]) != (10, "softmax"):
        return (f"the last Dense layer has units={config['units']}, activation={config['activation']!r}; "
                "the spec asks for 10 units with a softmax")
    return None


def _check_parameters(model):
    problem = _is_model(model)
    if problem:
        return problem
    total = int(model.count_params())
    if total != ALL_CONV_PARAMS:
        return f"the model has {total:,} parameters; a model built to the spec has a different number"
    counts = [int(layer.count_params()) for layer in _layers(model)]
    if counts != [row[-1] for row in ALL_CONV_SPEC]:
        return f"the parameters per layer are {counts}, which does not match the spec's layers"
    return None


@register("all_conv_model", points=3, kind="model", forbidden=KERAS_ALLOWED,
          description="an all-convolutional Keras model to a given spec")
def _all_conv_model_cases(rng):
    return [
        Case("input shape", predicate=_check_input),
        Case("layer types, in order, and no pooling layer", predicate=_check_layer_types),
        Case("convolutions: filters, kernel size, strides, padding, activation", predicate=_check_convolutions),
        Case("output shape of every layer", predicate=_check_output_shapes),
        Case("the output layer", predicate=_check_head),
        Case("number of parameters", predicate=_check_parameters),
    ]
