"""Hidden cases of assignment 05-other-pooling.

Parts: ``avg_pool2d`` and ``avg_pool2d_backward`` (int ``size``, ``stride``,
``padding``; padded cells are left out of each mean, as in TensorFlow),
``global_avg_pool2d`` and ``global_max_pool2d`` (``(N, C, H, W)`` to ``(N, C)``),
``global_max_pool2d_backward`` (ties: the first maximum in row-major order,
as :func:`cnnkit.max_pool2d_backward`) and ``all_conv_model``,
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

import functools

import numpy as np

from cnnkit import avg_pool2d, avg_pool2d_backward, global_avg_pool2d, global_max_pool2d, max_pool2d_backward

from cnnkit.data import pooling_example

from ..keras_models import POOLING, model_predicate, of_kind, shape_of, views
from ..pooling_cases import fixed_backward_cases, pool_args, pool_kwargs, pool_label, size_kwargs
from ..precision import fine_case
from ..registry import KERAS_ALLOWED, Case, assignment

ASSIGNMENT = "05-other-pooling"
register = assignment(ASSIGNMENT)

# Chapter 4's worked example, which chapter 5 average-pools.
EXAMPLE = pooling_example()[None, None]  # one definition, in cnnkit.data

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


def fixed_inputs():
    """Fixed edge cases (seed-independent): ``(label, x, size, kwargs)``.

    Padding of 3 and more (windows that hold a single real cell), integer
    images (an output allocated like the input would truncate the means),
    a 2x2 input padded by 1 with stride 1.
    """
    integers = (np.arange(42, dtype=np.int64).reshape(1, 2, 3, 7) * 5 % 13) - 4
    small = np.array([[[[1.0, 2.0], [4.0, 8.0]]]])
    ramp = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    return [
        ("x (1, 1, 3, 3), size=4, stride=1, padding=3", ramp, 4, dict(stride=1, padding=3)),
        ("x (1, 1, 3, 3), size=5, stride=2, padding=4", ramp, 5, dict(stride=2, padding=4)),
        ("x (1, 2, 3, 7) of integers (int64), size=2, stride=1, padding=1", integers, 2, dict(stride=1, padding=1)),
        ("x (1, 2, 3, 7) of integers (int64), size=3, stride=2", integers, 3, dict(stride=2)),
        ("x (1, 1, 2, 2), size=2, stride=1, padding=1", small, 2, dict(stride=1, padding=1)),
        # stride=None passed explicitly (the signature's default, "equal to size"), with and without padding.
        ("x (1, 2, 3, 7) of integers (int64), size=2, stride=None, padding=1", integers, 2,
         dict(stride=None, padding=1)),
        ("x (1, 1, 3, 3), size=3, stride=None", ramp, 3, dict(stride=None)),
        # size not passed either (the signature's default, 2), alone and with padding.
        ("x (1, 2, 3, 7) of integers (int64), size and stride not given", integers, None, {}),
        ("x (1, 1, 3, 3), size not given, stride=1, padding=1", ramp, None, dict(stride=1, padding=1)),
    ]


# float64 precision: values 1 + k * 1e-7, whose means float32 rounds visibly at this tolerance.
PRECISE = 1.0 + 1e-7 * np.arange(64.0).reshape(1, 1, 8, 8) ** 1.5
PRECISE_TOLERANCE = dict(rtol=1e-10, atol=0.0)


@register("avg_pool2d", points=2, description="average pooling, forward")
def _avg_pool2d_cases(rng):
    cases = [Case("x = the 4x4 worked example, size=2", (EXAMPLE.copy(), 2), avg_pool2d(EXAMPLE, 2))]
    for label, x, size, kwargs in fixed_inputs():
        cases.append(Case(label, pool_args(x.copy(), size=size), avg_pool2d(x, **size_kwargs(size), **kwargs), kwargs=kwargs))
    cases.append(Case("x (1, 1, 8, 8) of float64 values 1 + k * 1e-7 (float32 rounds them), size=2",
                      (PRECISE.copy(), 2), avg_pool2d(PRECISE, 2), **PRECISE_TOLERANCE))
    for shape, size, stride, padding in SETTINGS:
        # Positive values, so that a mean that counts padding as zeros is visibly too small.
        x = rng.uniform(0.5, 2.0, size=shape)
        kwargs = pool_kwargs(stride, padding)
        cases.append(Case(pool_label(shape, size, stride, padding), (x, size), avg_pool2d(x, size, **kwargs),
                          kwargs=kwargs))
    return cases


@register("avg_pool2d_backward", points=3, description="average pooling, backward")
def _avg_pool2d_backward_cases(rng):
    cases = fixed_backward_cases(avg_pool2d, avg_pool2d_backward, EXAMPLE, fixed_inputs(), 3, ", dout k / 3")
    for shape, size, stride, padding in SETTINGS:
        x = rng.standard_normal(shape)
        kwargs = pool_kwargs(stride, padding)
        dout = rng.standard_normal(avg_pool2d(x, size, **kwargs).shape)
        cases.append(Case(pool_label(shape, size, stride, padding) + ", random dout", (dout, x, size),
                          avg_pool2d_backward(dout, x, size, **kwargs), kwargs=kwargs))
    # float64 in dout (x gives only the shape): a cast of dout to float32 loses these.
    for shape, size, stride, padding in (SETTINGS[1], SETTINGS[4]):
        x = rng.standard_normal(shape)
        kwargs = pool_kwargs(stride, padding)
        dout = rng.standard_normal(avg_pool2d(x, size, **kwargs).shape)
        cases.append(fine_case(pool_label(shape, size, stride, padding) + ", random dout", avg_pool2d_backward,
                               (dout, x, size), rng, kwargs))
    return cases


@register("global_avg_pool2d", points=1, description="global average pooling")
def _global_avg_pool2d_cases(rng):
    cases = [Case("x = the 4x4 worked example, shape (1, 1, 4, 4)", (EXAMPLE.copy(),), global_avg_pool2d(EXAMPLE))]
    # Fixed: every axis of a different length (a mean over the wrong axes or a square map assumed shows),
    # integers, and float64 precision.
    distinct = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5) ** 1.3 % 17
    cases.append(Case("x (2, 3, 4, 5), every axis a different length", (distinct,), global_avg_pool2d(distinct)))
    tall = np.arange(1 * 2 * 7 * 2, dtype=float).reshape(1, 2, 7, 2) ** 2 % 5
    cases.append(Case("x (1, 2, 7, 2), a tall map", (tall,), global_avg_pool2d(tall)))
    integers = np.arange(2 * 2 * 3 * 3, dtype=np.int64).reshape(2, 2, 3, 3) * 7 % 10 - 3
    cases.append(Case("x (2, 2, 3, 3) of integers (int64)", (integers,), global_avg_pool2d(integers)))
    cases.append(Case("x (1, 1, 8, 8) of float64 values 1 + k * 1e-7 (float32 rounds them)", (PRECISE.copy(),),
                      global_avg_pool2d(PRECISE), **PRECISE_TOLERANCE))
    for shape in [(2, 3, 5, 5), (1, 4, 3, 7), (3, 2, 6, 4), (2, 5, 1, 1)]:
        x = rng.standard_normal(shape)
        cases.append(Case(f"x {shape}", (x,), global_avg_pool2d(x)))
    return cases


# --- global max pooling ------------------------------------------------------

def global_max_backward_reference(dout, x):
    """cnnkit's max-pooling gradient with one window as large as the map: ties go to the first maximum (row-major)."""
    x = np.asarray(x, dtype=float)
    return max_pool2d_backward(np.asarray(dout, dtype=float)[:, :, None, None], x, size=x.shape[2:])


def global_max_inputs(rng):
    """Fixed inputs (label, x) of both global-max parts, then random ones.

    Every axis of a different length (a maximum over the wrong axes shows),
    negative maps (a maximum started at 0 shows), ties (small integers and
    constant maps: the first maximum in row-major order takes the gradient,
    not every tied cell, nor the last one, nor the first in column-major
    order), an integer image, and 1 next to 1 + 1e-9 (float32 ties them).
    """
    distinct = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5) ** 1.3 % 17
    negative = -1.0 - np.arange(2 * 2 * 3 * 4, dtype=float).reshape(2, 2, 3, 4) ** 1.5 % 7
    ties = np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]], [[2.0, 0.0, 2.0], [0.0, 2.0, 1.0]]]])  # (1, 2, 2, 3)
    column_ties = np.array([[[[0.0, 4.0], [4.0, 1.0], [2.0, 4.0]]]])  # row-major first (0, 1), column-major (1, 0)
    constant = np.broadcast_to(np.array([[-0.5, 2.0]])[:, :, None, None], (1, 2, 3, 3)).copy()
    integers = np.arange(2 * 2 * 3 * 3, dtype=np.int64).reshape(2, 2, 3, 3) * 7 % 10 - 3
    close = np.ones((1, 1, 2, 3))
    close[0, 0, 1, 2] += 1e-9
    fixed = [
        ("x (2, 3, 4, 5), every axis a different length", distinct),
        ("x (2, 2, 3, 4) of negative values", negative),
        ("x (1, 2, 2, 3) of small integers, ties", ties),
        ("x (1, 1, 3, 2), a three-way tie", column_ties),
        ("x (1, 2, 3, 3), each channel constant (all tie)", constant),
        ("x (2, 2, 3, 3) of integers (int64)", integers),
        ("x (1, 1, 2, 3) of ones and one 1 + 1e-9 (float32 ties them)", close),
    ]
    for shape in [(2, 3, 5, 5), (1, 4, 3, 7), (3, 2, 6, 4), (2, 5, 1, 1)]:
        fixed.append((f"x {shape}, random values", rng.standard_normal(shape)))
    for shape in [(2, 3, 4, 4), (1, 2, 5, 3)]:
        fixed.append((f"x {shape} of small integers (many ties)", rng.integers(0, 3, size=shape).astype(float)))
    return fixed


@register("global_max_pool2d", points=1, description="global max pooling")
def _global_max_pool2d_cases(rng):
    cases = [Case("x = the 4x4 worked example, shape (1, 1, 4, 4)", (EXAMPLE.copy(),), global_max_pool2d(EXAMPLE))]
    for label, x in global_max_inputs(rng):
        # The statement asks for a float array, also for an integer image.
        cases.append(Case(label, (x.copy(),), global_max_pool2d(x), rtol=1e-12, atol=0.0, dtype="floating"))
    return cases


@register("global_max_pool2d_backward", points=2, description="global max pooling, backward (ties: first maximum)")
def _global_max_pool2d_backward_cases(rng):
    ones = np.ones((1, 1))
    cases = [Case("x = the 4x4 worked example, dout all ones", (ones, EXAMPLE.copy()),
                  global_max_backward_reference(ones, EXAMPLE))]
    for label, x in global_max_inputs(rng):
        # dout not all ones (a 0/1 mask alone shows), of both signs.
        dout = (np.arange(1.0, 1.0 + x.shape[0] * x.shape[1]).reshape(x.shape[:2]) - 1.5) / 2
        cases.append(Case(label + ", dout (N, C)", (dout, x.copy()), global_max_backward_reference(dout, x)))
    return cases


# --- the all-convolutional model --------------------------------------------

# The spec of the notebook's Part 4, convolution by convolution:
# (filters, strides, output shape, parameters).
CONV_SPEC = [
    (16, (1, 1), (None, 28, 28, 16), 160),
    (16, (2, 2), (None, 14, 14, 16), 2320),
    (32, (1, 1), (None, 14, 14, 32), 4640),
    (32, (2, 2), (None, 7, 7, 32), 9248),
]
HEAD_PARAMS = 330
ALL_CONV_PARAMS = sum(row[-1] for row in CONV_SPEC) + HEAD_PARAMS  # 16,698


@model_predicate
def _check_input(model):
    shape = shape_of(model.inputs[0])
    if shape != (None, 28, 28, 1):
        return f"the model's input shape is {shape}; the spec asks for (None, 28, 28, 1)"
    return None


@model_predicate
def _check_no_pooling(model):
    pooling = [view.kind for view in views(model) if view.kind in POOLING]
    if pooling:
        return f"the model still has a {pooling[0]} layer: replace pooling by a stride-2 convolution"
    return None


@model_predicate
def _check_filters(model):
    filters = [view.config["filters"] for view in of_kind(model, "Conv2D")]
    if filters != [row[0] for row in CONV_SPEC]:
        return f"the convolutions have {filters or 'no'} filters, in order; that is not the spec's four convolutions"
    return None


def _each_conv(problem_of):
    """Decorator: a model predicate that reports the first convolution (numbered from 1) with a ``problem_of(number, view)``."""

    @functools.wraps(problem_of)
    @model_predicate
    def check(model):
        convs = of_kind(model, "Conv2D")
        if not convs:
            return "the model has no Conv2D layer"
        problems = (problem_of(number, view) for number, view in enumerate(convs, start=1))
        return next((problem for problem in problems if problem), None)

    return check


@_each_conv
def _check_kernels_and_padding(number, view):
    kernel, padding = tuple(view.config["kernel_size"]), view.config["padding"]
    if (kernel, padding) != ((3, 3), "same"):
        return f"convolution {number} has a {kernel} kernel and padding {padding!r}, unlike the spec"
    return None


@model_predicate
def _check_strides(model):
    strides = [tuple(view.config["strides"]) for view in of_kind(model, "Conv2D")]
    if strides != [row[1] for row in CONV_SPEC]:
        return f"the convolutions' strides, in order, are {strides}, unlike the spec"
    return None


@_each_conv
def _check_relu(number, view):
    if view.activation != "relu":
        return (f"convolution {number} is followed by activation {view.activation!r}: the spec asks for ReLU "
                "(activation=\"relu\" or a ReLU layer)")
    return None


@model_predicate
def _check_global_pooling(model):
    kinds = [view.kind for view in views(model)]
    if "GlobalAveragePooling2D" not in kinds:
        flat = " (it has a Flatten layer instead)" if "Flatten" in kinds else ""
        return f"the model has no GlobalAveragePooling2D layer{flat}"
    if "Flatten" in kinds:
        return "the model has a Flatten layer: global average pooling already gives one number per channel"
    return None


@model_predicate
def _check_head(model):
    last = views(model)[-1] if views(model) else None
    if last is None or last.kind != "Dense":
        return f"the last layer is {last.kind if last else 'missing'}, not a Dense layer"
    if (last.config["units"], last.activation) != (10, "softmax"):
        return (f"the last Dense layer has units={last.config['units']} and activation {last.activation!r}; "
                "the spec asks for 10 units with a softmax (activation=\"softmax\" or a Softmax layer)")
    return None


@model_predicate
def _check_output_shapes(model):
    convs = of_kind(model, "Conv2D")
    shapes = [view.output_shape for view in convs]
    wanted = [row[2] for row in CONV_SPEC]
    for number, (got, want) in enumerate(zip(shapes, wanted), start=1):
        if got != want:
            return f"convolution {number} outputs shape {got}, which does not match the spec"
    if len(shapes) != len(wanted):
        return f"the model has {len(shapes)} convolutions, so their output shapes cannot all match the spec"
    if shape_of(model.outputs[0]) != (None, 10):
        return f"the model's output shape is {shape_of(model.outputs[0])}, not (None, 10)"
    return None


@model_predicate
def _check_parameters(model):
    total = int(model.count_params())
    if total != ALL_CONV_PARAMS:
        return f"the model has {total:,} parameters; a model built to the spec has a different number"
    return None


@register("all_conv_model", points=3, kind="model", forbidden=KERAS_ALLOWED,
          description="an all-convolutional Keras model to a given spec")
def _all_conv_model_cases(rng):
    # One feature per case, each checked on its own: one mistake costs its own cases only.
    return [
        Case("input shape", predicate=_check_input),
        Case("no pooling layer", predicate=_check_no_pooling),
        Case("the convolutions' filters, in order", predicate=_check_filters),
        Case("the convolutions' kernel size and padding", predicate=_check_kernels_and_padding),
        Case("the convolutions' strides", predicate=_check_strides),
        Case("ReLU after every convolution", predicate=_check_relu),
        Case("global average pooling, no Flatten", predicate=_check_global_pooling),
        Case("the output layer: 10 units, softmax", predicate=_check_head),
        Case("output shape of every convolution, and of the model", predicate=_check_output_shapes),
        Case("number of parameters", predicate=_check_parameters),
    ]
