"""conv_transpose2d: the adjoint of conv2d, its input gradient, and TensorFlow's conv2d_transpose."""

import itertools

import numpy as np
import pytest

import cnnkit

from .conv_testing import assert_close, pair

STRIDES = [1, 2, 3, (1, 2)]
PADDINGS = [0, 1, (1, 2), "valid", "same", "full"]


def _cases():
    for stride, padding in itertools.product(STRIDES, PADDINGS):
        max_op = 0 if padding == "same" else min(pair(stride)) - 1
        for output_padding in sorted({0, max_op}):
            yield stride, padding, output_padding


CASES = list(_cases())


def _out_hw(hw, khw, stride, padding, output_padding):
    """The output size written out independently of cnnkit's code."""
    if padding == "same":
        return tuple(h * s for h, s in zip(hw, pair(stride)))
    if padding in ("valid", "full"):
        pads = (0, 0) if padding == "valid" else tuple(k - 1 for k in khw)
    else:
        pads = pair(padding)
    return tuple(
        (h - 1) * s - 2 * p + k + op for h, s, p, k, op in zip(hw, pair(stride), pads, khw, pair(output_padding))
    )


# ----------------------------------------------------------------------------
# Curriculum chapter 2, "Convolution as a matrix; transposed convolution"
# ----------------------------------------------------------------------------


def test_convolution_as_a_sparse_matrix(rng):
    # A 3x3 kernel over a 4x4 input is a 4x16 matrix acting on the flattened
    # input; the transposed convolution is its transpose.
    w = rng.standard_normal((1, 1, 3, 3))
    units = np.eye(16).reshape(16, 1, 1, 4, 4)
    conv_matrix = np.stack([cnnkit.conv2d(u, w).ravel() for u in units], axis=1)
    assert conv_matrix.shape == (4, 16)
    assert np.count_nonzero(conv_matrix) == 4 * 9
    x = rng.standard_normal((1, 1, 4, 4))
    assert_close(cnnkit.conv2d(x, w).ravel(), conv_matrix @ x.ravel())
    y = rng.standard_normal((1, 1, 2, 2))
    assert_close(cnnkit.conv_transpose2d(y, w).ravel(), conv_matrix.T @ y.ravel())


def test_5x5_to_2x2_and_back(rng):
    w = rng.standard_normal((1, 1, 3, 3))
    x = rng.standard_normal((1, 1, 5, 5))
    assert cnnkit.conv2d(x, w, stride=2).shape == (1, 1, 2, 2)
    y = rng.standard_normal((1, 1, 2, 2))
    up = cnnkit.conv_transpose2d(y, w, stride=2)
    assert up.shape == (1, 1, 5, 5)
    assert_close(up, cnnkit.conv2d_backward(y, np.zeros((1, 1, 5, 5)), w, stride=2)[0])


def test_ones_show_the_overlaps():
    out = cnnkit.conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), stride=2)
    np.testing.assert_array_equal(out[0, 0], np.outer([1, 1, 2, 1, 1], [1, 1, 2, 1, 1]))


# ----------------------------------------------------------------------------
# The defining identities, on a grid
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride, padding, output_padding", CASES)
def test_equals_conv2d_input_gradient(rng, dtype, stride, padding, output_padding):
    y = rng.standard_normal((2, 4, 4, 5)).astype(dtype)  # (N, F, H, W)
    w = rng.standard_normal((4, 3, 3, 2)).astype(dtype)  # (F, C, KH, KW)
    out = cnnkit.conv_transpose2d(y, w, stride=stride, padding=padding, output_padding=output_padding)
    out_hw = _out_hw((4, 5), (3, 2), stride, padding, output_padding)
    assert out.shape == (2, 3, *out_hw) and out.dtype == dtype
    x0 = np.zeros(out.shape, dtype)
    assert_close(out, cnnkit.conv2d_backward(y, x0, w, stride=stride, padding=padding)[0])


@pytest.mark.parametrize("stride, padding, output_padding", CASES)
def test_adjoint_of_conv2d(rng, stride, padding, output_padding):
    y = rng.standard_normal((2, 4, 4, 5))
    w = rng.standard_normal((4, 3, 2, 3))
    out = cnnkit.conv_transpose2d(y, w, stride=stride, padding=padding, output_padding=output_padding)
    x = rng.standard_normal(out.shape)
    # <conv2d(x), y> == <x, conv_transpose2d(y)>
    lhs = np.vdot(cnnkit.conv2d(x, w, stride=stride, padding=padding), y)
    rhs = np.vdot(x, out)
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_bias_is_added_per_output_channel(rng):
    y, w, b = rng.standard_normal((2, 4, 3, 3)), rng.standard_normal((4, 3, 3, 3)), np.array([1.0, -2.0, 0.5])
    diff = cnnkit.conv_transpose2d(y, w, b, stride=2, padding=1) - cnnkit.conv_transpose2d(y, w, stride=2, padding=1)
    assert_close(diff, np.broadcast_to(b[None, :, None, None], diff.shape))


@pytest.mark.parametrize("stride, padding", [(1, 3), (2, (2, 4))])
def test_padding_wider_than_the_kernel(rng, stride, padding):
    y, w = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((3, 2, 3, 2))
    out = cnnkit.conv_transpose2d(y, w, stride=stride, padding=padding)
    assert out.shape[2:] == _out_hw((6, 7), (3, 2), stride, padding, 0)
    assert_close(out, cnnkit.conv2d_backward(y, np.zeros(out.shape), w, stride=stride, padding=padding)[0])
    x = rng.standard_normal(out.shape)
    assert np.vdot(cnnkit.conv2d(x, w, stride=stride, padding=padding), y) == pytest.approx(np.vdot(x, out), rel=1e-12)


def test_same_with_kernel_smaller_than_stride(rng):
    # "same" gives H * s even when the kernel cannot cover the gaps.
    y, w = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 1, 2, 2))
    out = cnnkit.conv_transpose2d(y, w, stride=3, padding="same")
    assert out.shape == (1, 1, 9, 9)
    assert_close(out, cnnkit.conv2d_backward(y, np.zeros((1, 1, 9, 9)), w, stride=3, padding="same")[0])


def test_contract(rng):
    y = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b = np.ones(2, np.float32)
    copies = [a.copy() for a in (y, w, b)]
    out = cnnkit.conv_transpose2d(y, w, b, stride=2)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    for a, c in zip((y, w, b), copies):
        np.testing.assert_array_equal(a, c)
        assert not np.shares_memory(out, a)
    assert cnnkit.conv_transpose2d(y.astype(int), w.astype(int)).dtype == np.float64


# ----------------------------------------------------------------------------
# Against tf.nn.conv2d_transpose
# ----------------------------------------------------------------------------


def _tf_padding(padding, khw):
    if padding in ("valid", "same"):
        return padding.upper()
    ph, pw = tuple(k - 1 for k in khw) if padding == "full" else pair(padding)
    return [[0, 0], [ph, ph], [pw, pw], [0, 0]]


@pytest.mark.tf
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride, padding, output_padding", CASES)
def test_matches_tensorflow(tf, rng, dtype, stride, padding, output_padding):
    y = rng.standard_normal((2, 4, 4, 5)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 2)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    out = cnnkit.conv_transpose2d(y, w, b, stride=stride, padding=padding, output_padding=output_padding)
    sh, sw = pair(stride)
    ref = tf.nn.conv2d_transpose(
        cnnkit.nchw_to_nhwc(y),
        cnnkit.oihw_to_hwio(w),  # (KH, KW, C_out, C_in) is what TF expects here
        output_shape=[2, out.shape[2], out.shape[3], 3],
        strides=[1, sh, sw, 1],
        padding=_tf_padding(padding, w.shape[2:]),
    )
    ref = tf.nn.bias_add(ref, b).numpy()
    assert_close(out, cnnkit.nhwc_to_nchw(ref), what=f"stride={stride}, padding={padding!r}, op={output_padding}")
