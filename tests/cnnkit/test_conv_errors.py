"""Every documented error of the convolution ops: the message names the function, the argument,
what was expected and what was given, and the loop versions say the same."""

import re

import numpy as np
import pytest

import cnnkit
from cnnkit import naive

X = np.zeros((2, 3, 8, 8))
W = np.zeros((4, 3, 3, 3))
B = np.zeros(4)
DOUT = np.zeros((2, 4, 6, 6))
Y = np.zeros((2, 4, 3, 3))  # input of the transposed convolution: (N, F, H, W)
WT = np.zeros((4, 2, 3, 3))


def case(name, args, kwargs, exc, match):
    return pytest.param(name, args, kwargs, exc, match, id=f"{name}-{match[:40]}")


CONV2D = [
    case(
        "conv2d", (np.zeros((28, 28)), W), {}, ValueError, r"conv2d: x must be 4-D \(N, C, H, W\), got shape \(28, 28\)"
    ),
    case("conv2d", (X, W[0]), {}, ValueError, r"conv2d: w must be 4-D \(F, C, KH, KW\), got shape \(3, 3, 3\)"),
    case(
        "conv2d",
        (X, np.zeros((4, 1, 3, 3))),
        {},
        ValueError,
        r"conv2d: w must be \(F, C, KH, KW\) with C = 3 .*x of shape \(2, 3, 8, 8\), got w of shape \(4, 1, 3, 3\)",
    ),
    case("conv2d", (X, W, np.zeros(3)), {}, ValueError, r"conv2d: b must have shape \(4,\) .*got shape \(3,\)"),
    case("conv2d", (X, W, np.zeros((4, 1))), {}, ValueError, r"conv2d: b must have shape \(4,\) .*got shape \(4, 1\)"),
    case("conv2d", (X, W), {"stride": 0}, ValueError, r"conv2d: stride must be >= 1, got 0"),
    case("conv2d", (X, W), {"stride": (1, -2)}, ValueError, r"conv2d: stride must be >= 1, got \(1, -2\)"),
    case(
        "conv2d",
        (X, W),
        {"stride": 1.5},
        TypeError,
        r"conv2d: stride must be an int or an \(h, w\) pair of ints, got 1.5",
    ),
    case("conv2d", (X, W), {"dilation": 0}, ValueError, r"conv2d: dilation must be >= 1, got 0"),
    case("conv2d", (X, W), {"dilation": (1, 2, 3)}, TypeError, r"conv2d: dilation must be an int or an \(h, w\) pair"),
    case("conv2d", (X, W), {"padding": -1}, ValueError, r"conv2d: padding must be >= 0, got -1"),
    case(
        "conv2d",
        (X, W),
        {"padding": "half"},
        ValueError,
        r"conv2d: padding must be .*'valid', 'same', 'full'.*got 'half'",
    ),
    case("conv2d", (X, W), {"padding": (1, 2, 3)}, TypeError, r"conv2d: padding must be an int, an \(h, w\) pair"),
    case(
        "conv2d",
        (X, np.zeros((4, 3, 9, 3))),
        {},
        ValueError,
        r"conv2d: kernel along H of size 9 .*larger than the padded input of size 8 .*x shape \(2, 3, 8, 8\)",
    ),
    case(
        "conv2d",
        (X, W),
        {"dilation": (1, 4), "padding": (0, 0)},
        ValueError,
        r"conv2d: kernel along W of size 3 \(dilation 4, effective size 9\) is larger than the padded input of size 8",
    ),
    case(
        "conv2d", (X.astype(complex), W), {}, TypeError, r"conv2d: x must be a real numeric array, got dtype complex128"
    ),
    case("conv2d", (X, np.array([["a"]])), {}, TypeError, r"conv2d: w must be a real numeric array, got dtype <U1"),
    case(
        "conv2d",
        (np.zeros((2, 0, 8, 8)), np.zeros((4, 0, 3, 3))),
        {},
        ValueError,
        r"conv2d: x must be non-empty \(N, C, H, W\) .*got shape \(2, 0, 8, 8\)",
    ),
    case(
        "conv2d",
        (X, np.zeros((0, 3, 3, 3))),
        {},
        ValueError,
        r"conv2d: w must be non-empty \(F, C, KH, KW\), got shape \(0, 3, 3, 3\)",
    ),
]

CONV2D_BACKWARD = [
    case(
        "conv2d_backward",
        (DOUT[:, :, :5, :5], X, W),
        {},
        ValueError,
        r"conv2d_backward: dout must have shape \(2, 4, 6, 6\) .*got shape \(2, 4, 5, 5\)",
    ),
    case(
        "conv2d_backward",
        (DOUT, X, W),
        {"stride": 2},
        ValueError,
        r"conv2d_backward: dout must have shape \(2, 4, 3, 3\) "
        r"\(\(N, F, Ho, Wo\), the shape of the forward output\), got shape \(2, 4, 6, 6\)",
    ),
    case(
        "conv2d_backward",
        (DOUT[0], X, W),
        {},
        ValueError,
        r"conv2d_backward: dout must be 4-D \(N, F, Ho, Wo\), got shape \(4, 6, 6\)",
    ),
    case(
        "conv2d_backward",
        (DOUT, X[0], W),
        {},
        ValueError,
        r"conv2d_backward: x must be 4-D \(N, C, H, W\), got shape \(3, 8, 8\)",
    ),
    case(
        "conv2d_backward",
        (DOUT, X, W[:, :2]),
        {},
        ValueError,
        r"conv2d_backward: w must be \(F, C, KH, KW\) with C = 3",
    ),
    case("conv2d_backward", (DOUT, X, W), {"stride": 0}, ValueError, r"conv2d_backward: stride must be >= 1, got 0"),
]

OTHERS = [
    case("conv1d", (X, W[:, :, 0]), {}, ValueError, r"conv1d: x must be 3-D \(N, C, L\), got shape \(2, 3, 8, 8\)"),
    case("conv1d", (X[:, :, 0], W), {}, ValueError, r"conv1d: w must be 3-D \(F, C, K\), got shape \(4, 3, 3, 3\)"),
    case(
        "conv1d",
        (X[:, :, 0], W[:, :2, 0]),
        {},
        ValueError,
        r"conv1d: w must be \(F, C, K\) with C = 3 .*got w of shape \(4, 2, 3\)",
    ),
    case(
        "conv1d",
        (X[:, :, 0], W[:, :, 0], B[:2]),
        {},
        ValueError,
        r"conv1d: b must have shape \(4,\) .*got shape \(2,\)",
    ),
    case(
        "conv1d",
        (X[:, :, 0], W[:, :, 0]),
        {"stride": (1, 2)},
        TypeError,
        r"conv1d: stride must be an int, got \(1, 2\)",
    ),
    case("conv1d", (X[:, :, 0], W[:, :, 0]), {"dilation": -1}, ValueError, r"conv1d: dilation must be >= 1, got -1"),
    case(
        "conv1d",
        (X[:, :, 0], np.zeros((4, 3, 9))),
        {},
        ValueError,
        r"conv1d: kernel of size 9 .*larger than the padded input of size 8 .*x shape \(2, 3, 8\)",
    ),
    case(
        "correlate1d",
        (np.zeros((2, 2)), [1, 2]),
        {},
        ValueError,
        r"correlate1d: x must be 1-D \(L,\), got shape \(2, 2\)",
    ),
    case(
        "correlate1d", ([1, 2, 3], [[1, 2]]), {}, ValueError, r"correlate1d: w must be 1-D \(K,\), got shape \(1, 2\)"
    ),
    case("correlate1d", ([1, 2, 3], [1]), {"padding": -2}, ValueError, r"correlate1d: padding must be >= 0, got -2"),
    case(
        "correlate1d",
        ([], [1]),
        {},
        ValueError,
        r"correlate1d: x and w must be non-empty, got shapes \(0,\) and \(1,\)",
    ),
    case(
        "convolve1d",
        ([1, 2, 3, 4], [1, 2, 3, 4, 5]),
        {},
        ValueError,
        r"convolve1d: kernel of size 5 .*larger than the padded input of size 4",
    ),
    case(
        "convolve1d", ([1, 2, 3], [1, 2]), {"padding": "wide"}, ValueError, r"convolve1d: padding must be .*got 'wide'"
    ),
    case(
        "conv_transpose2d",
        (Y[0], WT),
        {},
        ValueError,
        r"conv_transpose2d: x must be 4-D \(N, F, H, W\), got shape \(4, 3, 3\)",
    ),
    case(
        "conv_transpose2d",
        (Y, WT[:3]),
        {},
        ValueError,
        r"conv_transpose2d: w must be \(F, C, KH, KW\) with F = 4 "
        r".*x of shape \(2, 4, 3, 3\), got w of shape \(3, 2, 3, 3\)",
    ),
    case(
        "conv_transpose2d",
        (Y, WT, np.zeros(4)),
        {},
        ValueError,
        r"conv_transpose2d: b must have shape \(2,\) .*got shape \(4,\)",
    ),
    case("conv_transpose2d", (Y, WT), {"stride": 0}, ValueError, r"conv_transpose2d: stride must be >= 1, got 0"),
    case(
        "conv_transpose2d",
        (Y, WT),
        {"stride": 2, "output_padding": 2},
        ValueError,
        r"conv_transpose2d: output_padding must be smaller than stride \(2, 2\) on each axis, got \(2, 2\)",
    ),
    case(
        "conv_transpose2d",
        (Y, WT),
        {"output_padding": -1},
        ValueError,
        r"conv_transpose2d: output_padding must be >= 0, got -1",
    ),
    case(
        "conv_transpose2d",
        (Y, WT),
        {"stride": 2, "padding": "same", "output_padding": 1},
        ValueError,
        r"conv_transpose2d: output_padding must be 0 with padding='same'",
    ),
    case(
        "conv_transpose2d",
        (np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1))),
        {"padding": 1},
        ValueError,
        r"conv_transpose2d: output size .* = \(-1, -1\) must be >= 1 \(x shape \(1, 1, 1, 1\)",
    ),
    case(
        "conv_transpose2d", (Y, WT), {"padding": "half"}, ValueError, r"conv_transpose2d: padding must be .*got 'half'"
    ),
    case(
        "dense_to_conv",
        (np.zeros(48), B, (3, 4, 4)),
        {},
        ValueError,
        r"dense_to_conv: w must be 2-D \(C\*H\*W, units\), got shape \(48,\)",
    ),
    case(
        "dense_to_conv",
        (np.zeros((40, 5)), np.zeros(5), (3, 4, 4)),
        {},
        ValueError,
        r"dense_to_conv: w must have C\*H\*W = 3\*4\*4 = 48 rows for input_shape \(3, 4, 4\), got shape \(40, 5\)",
    ),
    case(
        "dense_to_conv",
        (np.zeros((48, 5)), B, (3, 4, 4)),
        {},
        ValueError,
        r"dense_to_conv: b must have shape \(5,\) .*got shape \(4,\)",
    ),
    case(
        "dense_to_conv",
        (np.zeros((48, 5)), None, (3, 16)),
        {},
        TypeError,
        r"dense_to_conv: input_shape must be a tuple of 3 ints \(C, H, W\), got \(3, 16\)",
    ),
    case(
        "dense_to_conv",
        (np.zeros((0, 5)), None, (0, 4, 4)),
        {},
        ValueError,
        r"dense_to_conv: input_shape \(C, H, W\) must have sizes >= 1, got \(0, 4, 4\)",
    ),
]


@pytest.mark.parametrize("name, args, kwargs, exc, match", CONV2D + CONV2D_BACKWARD + OTHERS)
def test_error_message(name, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        getattr(cnnkit, name)(*args, **kwargs)


@pytest.mark.parametrize("name, args, kwargs, exc, match", CONV2D + CONV2D_BACKWARD)
def test_naive_raises_the_same_errors(name, args, kwargs, exc, match):
    with pytest.raises(exc) as fast:
        getattr(cnnkit, name)(*args, **kwargs)
    with pytest.raises(exc) as loops:
        getattr(naive, f"{name}_naive")(*args, **kwargs)
    assert str(loops.value) == str(fast.value).replace(f"{name}:", f"{name}_naive:", 1)


def test_errors_come_before_any_work():
    # A huge input with a bad stride must fail at once, not after a convolution.
    x = np.broadcast_to(np.float32(0), (64, 64, 512, 512))  # no memory behind it
    with pytest.raises(ValueError, match=re.escape("conv2d: stride must be >= 1, got 0")):
        cnnkit.conv2d(x, np.zeros((8, 64, 3, 3), np.float32), stride=0)
