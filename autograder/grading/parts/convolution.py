"""Hidden cases of assignment 02-convolution.

The first case of each part is the book's worked example, which the
notebook's visible test also checks; the rest are random. Cases are chosen so
that the usual mistakes fail some of them: a flipped kernel, an output one
too long or short, padding on one side only, stride or dilation ignored,
ceil in place of floor; for the 2-D parts also a missing bias or one bias per
input channel, the kernel's (F, C) axes swapped, ``dx`` as a valid instead
of a full correlation, a transpose that keeps the padding. The transposed
convolution is checked both against :func:`cnnkit.conv_transpose2d` and
against its definition as the adjoint of :func:`cnnkit.conv2d`. The
depthwise convolution (part 10) is graded against
:func:`cnnkit.depthwise_conv2d` (catching channels mixed as in a full
convolution, the multiplier ignored, the output order ``m*C + c``, a bias per
input channel); a separable layer's parameters and multiply-adds (part 11)
against :mod:`cnnkit.architectures`' ``separable_conv`` counts (catching the
pointwise step forgotten, the depthwise step counted as a full convolution,
biases in both steps or none, the input size where the output's is meant).
"""

from __future__ import annotations

import numpy as np

from cnnkit import (conv2d, conv2d_backward, conv_output_size, conv_transpose2d, convolve1d, correlate1d, dense_to_conv,
                    depthwise_conv2d)
from cnnkit.architectures import layer_macs, layer_params
from cnnkit.data import conv2d_worked_example

from ..precision import fine_case
from ..registry import Case, Raises, assignment

ASSIGNMENT = "02-convolution"
register = assignment(ASSIGNMENT)


@register("conv_output_size", points=2, description="output length of a convolution")
def _conv_output_size_cases(rng):
    cases = [Case("n=4, kernel=3 (the worked example)", (4, 3), 2)]
    settings = [
        # (stride, padding, dilation): each setting alone, then mixed, with
        # strides that do not divide evenly so that floor matters.
        (1, 0, 1), (2, 0, 1), (3, 0, 1), (1, 2, 1), (1, 0, 2), (2, 1, 1), (3, 2, 2), (2, 3, 3),
    ]
    for stride, padding, dilation in settings:
        kernel = int(rng.integers(1, 6))
        effective = dilation * (kernel - 1) + 1
        n = int(rng.integers(max(effective - 2 * padding, 1), effective + 25))
        args = (n, kernel)
        kwargs = _conv_kwargs(rng, stride=stride, padding=padding, dilation=dilation)
        label = f"n={n}, kernel={kernel}, {_settings_label(stride, padding, dilation, kwargs)}"
        cases.append(Case(label, args, conv_output_size(*args, **kwargs), kwargs=kwargs))
    # The boundary, fixed: a (dilated) kernel exactly as long as the padded input fits once; one cell
    # longer must be refused, also when a stride rounds the formula's -1 towards 0.
    for n, kernel, kwargs in [(5, 7, dict(padding=1)), (7, 3, dict(dilation=3)), (6, 6, dict(stride=4)),
                              (2, 4, dict(padding=1, stride=3))]:
        label = f"n={n}, kernel={kernel}, " + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ": fits exactly once"
        cases.append(Case(label, (n, kernel), conv_output_size(n, kernel, **kwargs), kwargs=kwargs))
    for n, kernel, kwargs in [(4, 7, dict(padding=1)), (6, 3, dict(dilation=3)), (4, 5, dict(stride=2)),
                              (1, 4, dict(padding=1, stride=3))]:
        label = f"n={n}, kernel={kernel}, " + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ": one cell too long"
        cases.append(Case(label, (n, kernel), Raises(ValueError), kwargs=kwargs))
    # A kernel that cannot fit must be refused, not answered with 0 or less.
    cases.append(Case("n=3, kernel=5: kernel larger than the input", (3, 5), Raises(ValueError)))
    cases.append(
        Case("n=4, kernel=3, dilation=2: dilated kernel larger than the input", (4, 3), Raises(ValueError),
             kwargs=dict(dilation=2))
    )
    return cases


def _signal_cases(rng, reference):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 2.0, 3.0])
    cases = [
        Case("x=[1, 2, 3, 4], w=[1, 2, 3] (the worked example)", (x, w), reference(x, w)),
        Case("x=[1, 2, 3, 4], w=[1, 2, 3], padding=1 (the worked example)", (x, w), reference(x, w, padding=1),
             kwargs=dict(padding=1)),
    ]
    for length, kernel, padding in [(7, 3, 0), (10, 4, 0), (9, 1, 0), (6, 6, 0), (8, 3, 2), (5, 4, 3)]:
        x = rng.standard_normal(length)
        w = rng.standard_normal(kernel)
        kwargs = dict(padding=padding) if padding else {}
        label = f"x of length {length}, w of length {kernel}" + (f", padding={padding}" if padding else "")
        cases.append(Case(label, (x, w), reference(x, w, **kwargs), kwargs=kwargs))
    # float64 in both operands: a cast of x or of w to float32 loses these.
    for length, kernel, padding in [(9, 4, 0), (7, 3, 2)]:
        kwargs = dict(padding=padding) if padding else {}
        cases.append(fine_case(f"x of length {length}, w of length {kernel}" + (f", padding={padding}" if padding else ""),
                               reference, (rng.standard_normal(length), rng.standard_normal(kernel)), rng, kwargs))
    return cases


@register("correlate1d", points=2, description="1-D cross-correlation with zero padding")
def _correlate1d_cases(rng):
    return _signal_cases(rng, correlate1d)


@register("convolve1d", points=1, description="1-D true convolution (flipped kernel)")
def _convolve1d_cases(rng):
    return _signal_cases(rng, convolve1d)


# ----------------------------------------------------------------------------
# Parts 4-8: padding, the 2-D layer forward and backward, its transpose, and a
# dense layer as a convolution. Random cases use float64 data; every setting
# that a usual mistake ignores (bias, stride, padding, dilation, F != C,
# non-square kernels) appears in several cases, each alone and mixed.
# ----------------------------------------------------------------------------



def worked_example():
    """The book's 2-D worked example: ``x`` (1, 2, 4, 4), ``w`` (2, 2, 2, 2), ``b`` (2,) (one definition, in cnnkit.data)."""
    return conv2d_worked_example()


def _shape_label(**arrays):
    return ", ".join(f"{name} {tuple(a.shape)}" for name, a in arrays.items())


DEFAULTS = dict(stride=1, padding=0, dilation=1)


def _conv_kwargs(rng, **settings):
    """The keyword arguments of a case: a setting at its default is left out half the time (the default is graded)."""
    return {key: value for key, value in settings.items() if value != DEFAULTS[key] or rng.random() < 0.5}


def _settings_label(stride, padding, dilation, kwargs=None):
    """The settings as the case passes them: ``stride=2``, or ``stride not given`` when left out of ``kwargs``."""
    shown = dict(stride=stride, padding=padding, dilation=dilation)
    return ", ".join(f"{key}={value}" if kwargs is None or key in kwargs else f"{key} not given"
                     for key, value in shown.items())


# (N, C, F, H, W, KH, KW, stride, padding, dilation): each setting alone, then
# mixed; F != C in most, F == C in some (a swapped kernel then runs but is wrong).
_CONV_SETTINGS = [
    (1, 1, 1, 5, 5, 3, 3, 1, 0, 1),
    (2, 3, 2, 6, 5, 3, 2, 1, 0, 1),
    (1, 2, 2, 7, 7, 3, 3, 2, 0, 1),
    (2, 2, 3, 5, 6, 3, 3, 1, 1, 1),
    (1, 1, 2, 8, 7, 3, 3, 1, 0, 2),
    (1, 3, 3, 6, 6, 2, 2, 1, 2, 1),
    (2, 2, 4, 9, 8, 3, 2, 3, 1, 1),
    (1, 2, 3, 9, 9, 2, 3, 2, 1, 2),
    (1, 3, 1, 10, 9, 3, 3, 1, 2, 3),
]


def _random_conv(rng, setting):
    n, c, f, h, w_in, kh, kw, stride, padding, dilation = setting
    x = rng.standard_normal((n, c, h, w_in))
    w = rng.standard_normal((f, c, kh, kw))
    b = rng.standard_normal(f)
    return x, w, b, stride, padding, dilation


@register("zero_pad", points=1, description="zero padding of an image batch")
def _zero_pad_cases(rng):
    x, _, _ = worked_example()
    cases = [Case("x (1, 2, 4, 4), padding=1 (the worked example)", (x, 1), np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))))]
    for shape, padding in [((1, 1, 3, 3), 0), ((2, 3, 4, 5), 2), ((1, 2, 5, 3), 1), ((3, 1, 2, 6), 3)]:
        x = rng.standard_normal(shape)
        expected = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        cases.append(Case(f"x {shape}, padding={padding}", (x, padding), expected))
    return cases


@register("conv2d", points=5, description="2-D convolution forward: channels, bias, stride, padding, dilation")
def _conv2d_cases(rng):
    x, w, b = worked_example()
    cases = [Case("x (1, 2, 4, 4), w (2, 2, 2, 2), b (2,), stride=1, padding=0, dilation=1 (the worked example)",
                  (x, w, b), conv2d(x, w, b))]
    # Fixed: an 8-bit image with an integer kernel (an output in the input's dtype wraps around), and
    # float64 precision: values near 10,000 under a zero-sum kernel, which float32 cannot resolve.
    image = (np.arange(2 * 6 * 7).reshape(1, 2, 6, 7) * 37 % 256).astype(np.uint8)
    kernel = (np.arange(3 * 2 * 3 * 3).reshape(3, 2, 3, 3) % 5 - 2).astype(np.int64)
    cases.append(Case("x (1, 2, 6, 7) uint8 image, w (3, 2, 3, 3) int64, b (3,), stride=1, padding=1, dilation=1",
                      (image, kernel, np.array([0.5, -1.0, 2.0])), conv2d(image.astype(float), kernel.astype(float),
                                                                         np.array([0.5, -1.0, 2.0]), padding=1),
                      kwargs=dict(padding=1)))
    near = 1e4 + np.sin(np.arange(50.0)).reshape(1, 2, 5, 5) * 1e-3
    edge = np.array([[[[1.0, -1.0], [1.0, -1.0]], [[-1.0, 1.0], [-1.0, 1.0]]]])
    cases.append(Case("x (1, 2, 5, 5) near 10,000 (float64), w (1, 2, 2, 2) zero-sum, b (1,)", (near, edge, np.zeros(1)),
                      conv2d(near, edge, np.zeros(1)), rtol=1e-7, atol=1e-9))
    for setting in _CONV_SETTINGS:
        x, w, b, stride, padding, dilation = _random_conv(rng, setting)
        kwargs = _conv_kwargs(rng, stride=stride, padding=padding, dilation=dilation)
        label = f"{_shape_label(x=x, w=w, b=b)}, {_settings_label(stride, padding, dilation, kwargs)}"
        cases.append(Case(label, (x, w, b), conv2d(x, w, b, **kwargs), kwargs=kwargs))
    # float64 in x, w and b alike (the probe above holds w and b exactly in float32).
    for setting in (_CONV_SETTINGS[1], _CONV_SETTINGS[7]):
        x, w, b, stride, padding, dilation = _random_conv(rng, setting)
        kwargs = dict(stride=stride, padding=padding, dilation=dilation)
        cases.append(fine_case(f"{_shape_label(x=x, w=w, b=b)}, {_settings_label(stride, padding, dilation)}", conv2d,
                               (x, w, b), rng, kwargs))
    return cases


@register("conv2d_backward", points=5, description="2-D convolution backward: (dx, dw, db)", returns=("dx", "dw", "db"))
def _conv2d_backward_cases(rng):
    x, w, _ = worked_example()
    dout = np.arange(1.0, 19.0).reshape(1, 2, 3, 3) / 10
    cases = [Case("dout (1, 2, 3, 3), x (1, 2, 4, 4), w (2, 2, 2, 2), stride=1, padding=0, dilation=1 "
                  "(the worked example)", (dout, x, w), conv2d_backward(dout, x, w))]
    for setting in _CONV_SETTINGS:
        x, w, _, stride, padding, dilation = _random_conv(rng, setting)
        kwargs = _conv_kwargs(rng, stride=stride, padding=padding, dilation=dilation)
        out_shape = conv2d(x, w, **kwargs).shape
        dout = rng.standard_normal(out_shape)
        label = f"{_shape_label(dout=dout, x=x, w=w)}, {_settings_label(stride, padding, dilation, kwargs)}"
        cases.append(Case(label, (dout, x, w), conv2d_backward(dout, x, w, **kwargs), kwargs=kwargs))
    # An integer kernel and an integer image (the gradients are float arrays all the same: an accumulator
    # made with np.zeros_like(w) would truncate them), then float64 in dout, x and w alike.
    x = (np.arange(2 * 5 * 6).reshape(1, 2, 5, 6) * 7 % 11 - 5).astype(np.int64)
    w = (np.arange(3 * 2 * 2 * 3).reshape(3, 2, 2, 3) % 5 - 2).astype(np.int64)
    dout = rng.standard_normal((1, 3, 4, 4)) * 0.5
    cases.append(Case("dout (1, 3, 4, 4), x (1, 2, 5, 6) int64, w (3, 2, 2, 3) int64, stride=1, padding=0, "
                      "dilation=1", (dout, x, w), conv2d_backward(dout, x.astype(float), w.astype(float)),
                      dtype="floating"))
    w_int = (np.arange(2 * 3 * 3 * 3).reshape(2, 3, 3, 3) % 3 - 1).astype(np.int64)
    x = rng.standard_normal((2, 3, 6, 6))
    dout = rng.standard_normal((2, 2, 3, 3))
    kwargs = dict(stride=2, padding=1, dilation=1)
    cases.append(Case("dout (2, 2, 3, 3), x (2, 3, 6, 6), w (2, 3, 3, 3) int64, stride=2, padding=1, dilation=1",
                      (dout, x, w_int), conv2d_backward(dout, x, w_int.astype(float), **kwargs), kwargs=kwargs,
                      dtype="floating"))
    for setting in (_CONV_SETTINGS[3], _CONV_SETTINGS[7]):
        x, w, _, stride, padding, dilation = _random_conv(rng, setting)
        kwargs = dict(stride=stride, padding=padding, dilation=dilation)
        dout = rng.standard_normal(conv2d(x, w, **kwargs).shape)
        cases.append(fine_case(f"{_shape_label(dout=dout, x=x, w=w)}, {_settings_label(stride, padding, dilation)}",
                               conv2d_backward, (dout, x, w), rng, kwargs))
    return cases


def adjoint_reference(y, w, stride, padding, input_hw):
    """``conv_transpose2d(y, w)`` from its definition as the adjoint of ``conv2d``, with no transpose code.

    Entry ``k`` of the result is ``<conv2d(e_k, w), y>`` for the unit image
    ``e_k``: the unique ``z`` with ``<conv2d(x, w), y> = <x, z>`` for every ``x``.
    """
    n = y.shape[0]
    c = w.shape[1]
    basis = np.eye(c * input_hw[0] * input_hw[1]).reshape(-1, c, *input_hw)
    columns = conv2d(basis, w, stride=stride, padding=padding)  # (C*H*W, F, Ho, Wo): the matrix's columns
    z = np.einsum("kfij,nfij->nk", columns, y)
    return z.reshape(n, c, *input_hw)


# (N, F, C, H, W of the convolution's input, KH, KW, stride, padding): the
# convolution's input size is chosen so that (H + 2p - KH) is a multiple of
# the stride, the size a transposed convolution without output padding gives.
_TRANSPOSE_SETTINGS = [
    (1, 1, 1, 5, 5, 3, 3, 2, 0),
    (2, 3, 2, 6, 5, 3, 2, 1, 0),
    (1, 2, 3, 7, 7, 3, 3, 2, 1),
    (1, 2, 2, 7, 5, 3, 3, 1, 1),
    (2, 1, 3, 8, 8, 2, 2, 2, 0),
    (1, 3, 1, 8, 10, 3, 2, 3, 2),
]


@register("conv_transpose2d", points=2, description="transposed convolution: the adjoint of conv2d")
def _conv_transpose2d_cases(rng):
    y = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    cases = [Case("y (1, 1, 2, 2), w (1, 1, 3, 3), stride=2, padding=0 (the worked example)", (y, w),
                  conv_transpose2d(y, w, stride=2), kwargs=dict(stride=2))]
    for index, (n, f, c, h, w_in, kh, kw, stride, padding) in enumerate(_TRANSPOSE_SETTINGS):
        w = rng.standard_normal((f, c, kh, kw))
        ho = (h + 2 * padding - kh) // stride + 1
        wo = (w_in + 2 * padding - kw) // stride + 1
        y = rng.standard_normal((n, f, ho, wo))
        kwargs = _conv_kwargs(rng, stride=stride, padding=padding)
        settings = f"{_shape_label(y=y, w=w)}, " + ", ".join(
            f"{key}={value}" if key in kwargs else f"{key} not given" for key, value in (("stride", stride),
                                                                                      ("padding", padding)))
        if index % 2:
            # Checked against cnnkit's conv_transpose2d ...
            cases.append(Case(settings, (y, w), conv_transpose2d(y, w, **kwargs), kwargs=kwargs))
        else:
            # ... and against the adjoint identity <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>.
            cases.append(Case(f"{settings}, adjoint of conv2d", (y, w),
                              adjoint_reference(y, w, stride, padding, (h, w_in)), kwargs=kwargs))
    # float64 in y and w alike.
    for n, f, c, h, w_in, kh, kw, stride, padding in (_TRANSPOSE_SETTINGS[1], _TRANSPOSE_SETTINGS[2]):
        w = rng.standard_normal((f, c, kh, kw))
        y = rng.standard_normal((n, f, (h + 2 * padding - kh) // stride + 1, (w_in + 2 * padding - kw) // stride + 1))
        kwargs = dict(stride=stride, padding=padding)
        cases.append(fine_case(f"{_shape_label(y=y, w=w)}, stride={stride}, padding={padding}", conv_transpose2d,
                               (y, w), rng, kwargs))
    return cases


@register("dense_to_conv", points=2, description="a dense layer as a convolution", returns=("w_conv", "b_conv"))
def _dense_to_conv_cases(rng):
    w = np.arange(24.0).reshape(12, 2) / 10
    b = np.array([0.5, -0.5])
    cases = [Case("w (12, 2), b (2,), input_shape=(3, 2, 2) (the worked example)", (w, b, (3, 2, 2)),
                  dense_to_conv(w, b, (3, 2, 2)))]
    # Fixed: every axis of the map a different length (C != H != W, so that any axis order mix-up shows),
    # integer weights with a list bias and a list shape.
    w = np.arange(2 * 3 * 4 * 3, dtype=float).reshape(24, 3) ** 1.1 % 7
    cases.append(Case("w (24, 3), b (3,), input_shape=(2, 3, 4)", (w, np.array([1.0, 2.0, 3.0]), (2, 3, 4)),
                      dense_to_conv(w, np.array([1.0, 2.0, 3.0]), (2, 3, 4))))
    w = np.arange(30, dtype=np.int64).reshape(15, 2) % 4 - 1
    cases.append(Case("w (15, 2) int64, b a list of 2, input_shape=[5, 1, 3] (a list)", (w, [1, -1], [5, 1, 3]),
                      dense_to_conv(w.astype(float), np.array([1.0, -1.0]), (5, 1, 3))))
    for shape, units in [((1, 3, 3), 4), ((2, 3, 4), 3), ((3, 2, 5), 1), ((4, 1, 2), 5), ((2, 2, 2), 2)]:
        w = rng.standard_normal((int(np.prod(shape)), units))
        b = rng.standard_normal(units)
        cases.append(Case(f"w {w.shape}, b {b.shape}, input_shape={shape}", (w, b, shape),
                          dense_to_conv(w, b, shape)))
    return cases


# ----------------------------------------------------------------------------
# Part 9: the 1x1 convolution, a matrix product over the channel axis.
# ----------------------------------------------------------------------------


def conv1x1_reference(x, w, b):
    """cnnkit's conv2d with the ``(F, C)`` matrix as an ``(F, C, 1, 1)`` kernel."""
    w = np.asarray(w, dtype=float)
    return conv2d(np.asarray(x, dtype=float), w[:, :, None, None], np.asarray(b, dtype=float))


# (N, C, F, H, W): C != F in most (a transposed matrix raises or mixes wrongly), C == F == H in one
# (a transposed matrix, or mixing over the rows instead of the channels, then runs and is wrong),
# W == F in one (a bias broadcast over the columns instead of the channels then runs and is wrong).
_CONV1X1_SETTINGS = [(2, 3, 5, 4, 6), (1, 4, 4, 4, 3), (3, 2, 3, 5, 3), (1, 1, 3, 2, 2), (2, 5, 2, 3, 7),
                     (1, 6, 1, 4, 4)]


@register("conv1x1", points=2, description="the 1x1 convolution as a channel-mixing matrix product")
def _conv1x1_cases(rng):
    x = np.arange(8.0).reshape(1, 2, 2, 2)
    w = np.array([[1.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
    b = np.array([0.0, 0.5, -1.0])
    cases = [Case("x (1, 2, 2, 2), w (3, 2), b (3,) (the notebook's example)", (x, w, b), conv1x1_reference(x, w, b))]
    # Fixed: C == F == H (every axis mix-up runs), integers (an output in the input's dtype truncates),
    # float64 precision (values near 10,000 mixed by a zero-sum row).
    square = np.arange(2 * 3 * 3 * 3, dtype=float).reshape(2, 3, 3, 3) ** 1.2 % 11
    mix = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [0.5, 0.0, 1.0]])
    cases.append(Case("x (2, 3, 3, 3), w (3, 3), b (3,): C = F = H", (square, mix, np.array([1.0, -2.0, 0.5])),
                      conv1x1_reference(square, mix, np.array([1.0, -2.0, 0.5]))))
    integers = (np.arange(2 * 2 * 3 * 4, dtype=np.int64).reshape(2, 2, 3, 4) * 7) % 9 - 4
    cases.append(Case("x (2, 2, 3, 4) of integers (int64), w (3, 2) of halves, b (3,)",
                      (integers, np.array([[0.5, 1.5], [-0.5, 0.0], [1.0, 0.25]]), np.array([0.25, 0.0, -0.75])),
                      conv1x1_reference(integers, [[0.5, 1.5], [-0.5, 0.0], [1.0, 0.25]], [0.25, 0.0, -0.75])))
    near = 1e4 + np.sin(np.arange(32.0)).reshape(1, 2, 4, 4) * 1e-3
    cases.append(Case("x (1, 2, 4, 4) near 10,000 (float64), w (1, 2) zero-sum, b (1,)",
                      (near, np.array([[1.0, -1.0]]), np.zeros(1)),
                      conv1x1_reference(near, np.array([[1.0, -1.0]]), np.zeros(1)), rtol=1e-7, atol=1e-9))
    for n, c, f, h, width in _CONV1X1_SETTINGS:
        x = rng.standard_normal((n, c, h, width))
        w = rng.standard_normal((f, c))
        b = rng.standard_normal(f)
        cases.append(Case(_shape_label(x=x, w=w, b=b), (x, w, b), conv1x1_reference(x, w, b)))
    # float64 in x, w and b alike (the probe above holds w exactly in float32).
    for n, c, f, h, width in (_CONV1X1_SETTINGS[0], _CONV1X1_SETTINGS[1]):
        args = (rng.standard_normal((n, c, h, width)), rng.standard_normal((f, c)), rng.standard_normal(f))
        cases.append(fine_case(_shape_label(x=args[0], w=args[1], b=args[2]), conv1x1_reference, args, rng))
    return cases


# ----------------------------------------------------------------------------
# Parts 10-11: the depthwise convolution, and what a depthwise-separable layer
# costs. The depthwise cases mix M = 1 and M > 1, C == M and C != M (an output
# in the order m*C + c, or one bias per input channel, then runs and is
# wrong), bias given, None and left out, stride and padding each given or left
# out, integer images, a 1x1 kernel and a kernel as large as the input.
# ----------------------------------------------------------------------------

DEPTHWISE_DEFAULTS = dict(b=None, stride=1, padding=0)


def depthwise_worked_example():
    """The notebook's example: x (1, 2, 3, 3), w (2, 2, 2, 2) (C = 2 channels, M = 2 kernels each), b (4,)."""
    x = np.arange(18.0).reshape(1, 2, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [-1.0, 0.0]]],
                  [[[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 2.0]]]])
    b = np.array([0.0, 0.5, -1.0, 10.0])
    return x, w, b


def _depthwise_case(rng, x, w, b, stride, padding, label_prefix=None):
    """A case with ``b``, ``stride`` and ``padding`` passed as keywords, each at its default left out half the time."""
    settings = dict(b=b, stride=stride, padding=padding)
    kwargs = {key: value for key, value in settings.items()
              if not (value is None if key == "b" else value == DEPTHWISE_DEFAULTS[key]) or rng.random() < 0.5}
    shown = [f"b {tuple(b.shape)}" if b is not None else ("b=None" if "b" in kwargs else "b not given")]
    shown += [f"{key}={settings[key]}" if key in kwargs else f"{key} not given" for key in ("stride", "padding")]
    label = (label_prefix or _shape_label(x=x, w=w)) + ", " + ", ".join(shown)
    expected = depthwise_conv2d(np.asarray(x, dtype=float), np.asarray(w, dtype=float),
                                None if b is None else np.asarray(b, dtype=float), stride=stride, padding=padding)
    return Case(label, (x, w), expected, kwargs=kwargs, dtype="floating")


# (N, C, M, H, W, KH, KW, stride, padding, bias): M = 1 and M > 1, C == M in two, edge kernels.
_DEPTHWISE_SETTINGS = [
    (1, 1, 1, 5, 5, 3, 3, 1, 0, True),
    (2, 3, 1, 6, 5, 3, 2, 1, 0, True),
    (1, 2, 3, 7, 6, 3, 3, 2, 0, True),
    (2, 3, 3, 5, 6, 2, 3, 1, 1, False),
    (1, 2, 2, 8, 7, 3, 3, 2, 1, True),
    (1, 4, 2, 6, 6, 1, 1, 1, 0, True),
    (2, 3, 2, 4, 5, 4, 5, 1, 0, True),
    (1, 2, 4, 9, 8, 3, 2, 3, 2, False),
]


@register("depthwise_conv2d", points=3,
          description="depthwise convolution: every channel filtered on its own, M kernels per channel")
def _depthwise_conv2d_cases(rng):
    x, w, b = depthwise_worked_example()
    cases = [Case("x (1, 2, 3, 3), w (2, 2, 2, 2), b (4,) (the notebook's example)", (x, w),
                  depthwise_conv2d(x, w, b), kwargs=dict(b=b), dtype="floating")]
    # Fixed: an 8-bit image with an integer kernel (an output in the input's dtype wraps around or truncates).
    image = (np.arange(2 * 3 * 5 * 6).reshape(2, 3, 5, 6) * 37 % 256).astype(np.uint8)
    kernel = (np.arange(3 * 2 * 3 * 3).reshape(3, 2, 3, 3) % 5 - 2).astype(np.int64)
    cases.append(_depthwise_case(rng, image, kernel, np.array([0.5, -1.0, 2.0, 0.25, 0.0, -0.5]), 1, 1,
                                 "x (2, 3, 5, 6) uint8 image, w (3, 2, 3, 3) int64"))
    # Fixed, no bias: C = M = 3 with an asymmetric kernel (a flipped kernel, the order m*C + c and mixed
    # channels all run and are wrong), then a kernel as large as the padded input (one output cell).
    x = np.sin(np.arange(3 * 5 * 5.0)).reshape(1, 3, 5, 5)
    w = np.cos(np.arange(3 * 3 * 2 * 3.0)).reshape(3, 3, 2, 3)
    cases.append(_depthwise_case(rng, x, w, None, 1, 0))
    cases.append(_depthwise_case(rng, x, np.cos(np.arange(3 * 2 * 7 * 7.0)).reshape(3, 2, 7, 7), None, 1, 1,
                                 "x (1, 3, 5, 5), w (3, 2, 7, 7): the kernel covers the padded input"))
    for n, c, m, h, width, kh, kw, stride, padding, bias in _DEPTHWISE_SETTINGS:
        x = rng.standard_normal((n, c, h, width))
        w = rng.standard_normal((c, m, kh, kw))
        b = rng.standard_normal(c * m) if bias else None
        cases.append(_depthwise_case(rng, x, w, b, stride, padding))
    # float64 in x, w and b alike.
    for n, c, m, h, width, kh, kw, stride, padding, _ in (_DEPTHWISE_SETTINGS[2], _DEPTHWISE_SETTINGS[4]):
        args = (rng.standard_normal((n, c, h, width)), rng.standard_normal((c, m, kh, kw)),
                rng.standard_normal(c * m))
        kwargs = dict(stride=stride, padding=padding)
        cases.append(fine_case(f"{_shape_label(x=args[0], w=args[1], b=args[2])}, stride={stride}, padding={padding}",
                               depthwise_conv2d, args, rng, kwargs))
    return cases


def separable_reference(h, w, c_in, c_out, k, stride=1, padding=0):
    """``(params, MACs)`` of a separable layer, from :mod:`cnnkit.architectures`' counts of one ``separable_conv``."""
    layer = dict(type="separable_conv", filters=c_out, kernel=k, stride=stride, padding=padding)
    shape = (c_in, h, w)
    return int(layer_params(layer, shape)), int(layer_macs(layer, shape))


# (h, w, c_in, c_out, k, stride, padding): h != w in most, stride that does not divide evenly, c_out = 1,
# a 1x1 kernel, a kernel as large as the padded input.
_SEPARABLE_SETTINGS = [
    (32, 32, 16, 32, 3, 1, 1), (28, 20, 8, 16, 3, 2, 0), (15, 17, 3, 1, 5, 1, 2), (9, 12, 5, 7, 1, 1, 0),
    (7, 7, 4, 6, 9, 1, 1), (14, 11, 6, 4, 3, 3, 1), (10, 13, 2, 9, 2, 2, 0), (56, 56, 64, 128, 3, 2, 1),
]


@register("separable_cost", points=2, returns=("params", "macs"),
          description="parameters and multiply-adds of a depthwise-separable layer")
def _separable_cost_cases(rng):
    cases = [Case("h=32, w=32, c_in=16, c_out=32, k=3, padding=1 (the notebook's example)",
                  (32, 32, 16, 32, 3), separable_reference(32, 32, 16, 32, 3, padding=1), kwargs=dict(padding=1)),
             # Fixed: padding left out (its default, 0, is graded), and stride 2 on an odd size.
             Case("h=28, w=20, c_in=8, c_out=16, k=3, stride=2, padding not given (the notebook's second example)",
                  (28, 20, 8, 16, 3), separable_reference(28, 20, 8, 16, 3, stride=2), kwargs=dict(stride=2)),
             Case("h=15, w=11, c_in=3, c_out=5, k=5, stride not given, padding not given", (15, 11, 3, 5, 5),
                  separable_reference(15, 11, 3, 5, 5))]
    for h, w, c_in, c_out, k, stride, padding in _SEPARABLE_SETTINGS[2:]:
        kwargs = {key: value for key, value in dict(stride=stride, padding=padding).items()
                  if value != DEFAULTS[key] or rng.random() < 0.5}
        shown = ", ".join(f"{key}={value}" if key in kwargs else f"{key} not given"
                          for key, value in (("stride", stride), ("padding", padding)))
        cases.append(Case(f"h={h}, w={w}, c_in={c_in}, c_out={c_out}, k={k}, {shown}", (h, w, c_in, c_out, k),
                          separable_reference(h, w, c_in, c_out, k, stride, padding), kwargs=kwargs))
    for _ in range(4):
        k = int(rng.integers(1, 6))
        stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        h, w = int(rng.integers(max(k - 2 * padding, 1), 40)), int(rng.integers(max(k - 2 * padding, 1), 40))
        c_in, c_out = int(rng.integers(1, 65)), int(rng.integers(1, 129))
        kwargs = dict(stride=stride, padding=padding)
        cases.append(Case(f"h={h}, w={w}, c_in={c_in}, c_out={c_out}, k={k}, stride={stride}, padding={padding}",
                          (h, w, c_in, c_out, k), separable_reference(h, w, c_in, c_out, k, stride, padding),
                          kwargs=kwargs))
    return cases
