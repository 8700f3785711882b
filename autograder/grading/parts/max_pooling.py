"""Hidden cases of assignment 04-max-pooling.

Parts: ``max_pool2d`` and ``max_pool2d_backward`` on ``(N, C, H, W)``
batches, with int ``size``, ``stride`` (default: ``size``) and ``padding``.

The first case is the book's 4x4 worked example. Beyond 2x2 windows with
stride 2, the cases hold overlapping windows (3x3 stride 1, 3x3 stride 2,
2x2 stride 1), sizes that the windows do not divide, ties (small integers,
so that many windows hold their maximum twice, and constant images), and
padding around negative inputs (padding must never win). So the usual
mistakes lose points: the gradient sent to every maximum of a window
instead of the first, overlapping windows' gradients overwritten instead of
added, zero padding, the stride ignored, ceil in place of floor.
"""

from __future__ import annotations

import numpy as np

from cnnkit import max_pool2d, max_pool2d_backward
from cnnkit.data import pooling_example

from ..pooling_cases import fixed_backward_cases, pool_args, pool_kwargs, pool_label, size_kwargs
from ..registry import Case, assignment

ASSIGNMENT = "04-max-pooling"
register = assignment(ASSIGNMENT)

# Chapter 4's worked example.
EXAMPLE = pooling_example()[None, None]  # one definition, in cnnkit.data

# (shape, size, stride, padding, values): stride None means "not passed".
SETTINGS = [
    ((2, 3, 6, 6), 2, None, 0, "normal"),
    ((1, 2, 5, 7), 3, 1, 0, "normal"),
    ((2, 1, 7, 7), 3, 2, 0, "normal"),
    ((1, 2, 6, 5), 2, 1, 0, "normal"),
    ((1, 3, 6, 6), 3, 1, 0, "ties"),
    ((2, 2, 6, 8), 2, 2, 0, "ties"),
    ((1, 2, 5, 6), 2, 1, 0, "constant"),
    ((1, 2, 5, 5), 3, 2, 1, "negative"),
    ((2, 1, 7, 6), 2, 2, 1, "negative"),
    ((1, 2, 4, 9), 4, 3, 0, "normal"),
    ((1, 1, 7, 8), 3, None, 0, "ties"),
]

VALUES = {
    "normal": "random values",
    "ties": "small integers (many ties)",
    "constant": "a constant per channel (every window a tie)",
    "negative": "negative values",
}


def _draw(rng, shape, values):
    if values == "ties":
        return rng.integers(0, 3, size=shape).astype(float)
    if values == "constant":
        return np.broadcast_to(rng.standard_normal(shape[:2])[:, :, None, None], shape).copy()
    x = rng.standard_normal(shape)
    return -np.abs(x) - 0.5 if values == "negative" else x


def _label(shape, size, stride, padding, values):
    return f"{pool_label(shape, size, stride, padding)}, {VALUES[values]}"


def fixed_inputs():
    """Fixed edge cases (seed-independent): ``(label, x, size, kwargs)``.

    A 2x2 input with stride 1 and padding 1 (the corner windows hold one real
    cell each); integer images (int64 with negative values: padding with
    -inf must not overflow, zeros must not win); float64 values 1 and
    1 + 1e-9 in one window, which tie if computed in float32.
    """
    small = np.array([[[[-3.0, -1.0], [-4.0, -2.0]]]])
    integers = (np.arange(30, dtype=np.int64).reshape(1, 1, 5, 6) * 7 % 11) - 12
    close = np.ones((1, 2, 4, 4))
    close[0, 0, 1, 1] = close[0, 1, 2, 3] = 1.0 + 1e-9
    close[0, 1, 0, 0] = 1.0 + 2e-9
    return [
        ("x (1, 1, 2, 2) negative, size=2, stride=1, padding=1", small, 2, dict(stride=1, padding=1)),
        ("x (1, 1, 2, 2) negative, size=3, stride=1, padding=1", small, 3, dict(stride=1, padding=1)),
        ("x (1, 1, 5, 6) of integers (int64), size=2, stride=1, padding=1", integers, 2, dict(stride=1, padding=1)),
        ("x (1, 1, 5, 6) of integers (int64), size=3, stride not given", integers, 3, {}),
        ("x (1, 2, 4, 4) of float64 ones and 1 + 1e-9 (ties in float32), size=2, stride=1", close, 2,
         dict(stride=1)),
        # stride=None passed explicitly (the signature's default, "equal to size"), with and without padding.
        ("x (1, 1, 5, 6) of integers (int64), size=2, stride=None, padding=1", integers, 2,
         dict(stride=None, padding=1)),
        ("x (1, 1, 2, 2) negative, size=2, stride=None", small, 2, dict(stride=None)),
        # size not passed either (the signature's default, 2), alone and with padding.
        ("x (1, 1, 5, 6) of integers (int64), size and stride not given", integers, None, {}),
        ("x (1, 2, 4, 4) of float64 ones and 1 + 1e-9, size not given, stride=1, padding=1", close, None,
         dict(stride=1, padding=1)),
    ]


@register("max_pool2d", points=3, description="max pooling, forward")
def _max_pool2d_cases(rng):
    cases = [Case("x = the 4x4 worked example, size=2", (EXAMPLE.copy(), 2), max_pool2d(EXAMPLE, 2))]
    for label, x, size, kwargs in fixed_inputs():
        cases.append(Case(label, pool_args(x.copy(), size=size), max_pool2d(x, **size_kwargs(size), **kwargs), kwargs=kwargs))
    for shape, size, stride, padding, values in SETTINGS:
        x = _draw(rng, shape, values)
        kwargs = pool_kwargs(stride, padding)
        cases.append(Case(_label(shape, size, stride, padding, values), (x, size),
                          max_pool2d(x, size, **kwargs), kwargs=kwargs))
    return cases


@register("max_pool2d_backward", points=4, description="max pooling, backward: gradient routing")
def _max_pool2d_backward_cases(rng):
    # dout 0.25, 0.5, 0.75, ... on the fixed inputs: fractions, which an int dx loses.
    cases = fixed_backward_cases(max_pool2d, max_pool2d_backward, EXAMPLE, fixed_inputs(), 4,
                                 ", dout 0.25, 0.5, 0.75, ...")
    for shape, size, stride, padding, values in SETTINGS:
        x = _draw(rng, shape, values)
        kwargs = pool_kwargs(stride, padding)
        dout = rng.standard_normal(max_pool2d(x, size, **kwargs).shape)
        cases.append(Case(_label(shape, size, stride, padding, values) + ", random dout", (dout, x, size),
                          max_pool2d_backward(dout, x, size, **kwargs), kwargs=kwargs))
    return cases
