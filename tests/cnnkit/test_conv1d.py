"""1-D correlation/convolution (the book's hand example) and the conv1d layer."""

import itertools

import numpy as np
import pytest

import cnnkit
from cnnkit.naive import conv2d_naive

from .conv_testing import assert_close

I_1D, W_1D = [1, 2, 3, 4], [1, 2, 3]


# ----------------------------------------------------------------------------
# Curriculum chapter 2, "1-D, by hand"
# ----------------------------------------------------------------------------


def test_correlation_by_hand():
    out = cnnkit.correlate1d(I_1D, W_1D)
    np.testing.assert_array_equal(out, [14, 20])
    assert out.dtype == np.float64  # integers are promoted


def test_convolution_flips_the_kernel():
    np.testing.assert_array_equal(cnnkit.convolve1d(I_1D, W_1D), [10, 16])
    np.testing.assert_array_equal(cnnkit.convolve1d(I_1D, W_1D), cnnkit.correlate1d(I_1D, W_1D[::-1]))


@pytest.mark.parametrize("padding", ["same", 1])
def test_same_padding_by_hand(padding):
    np.testing.assert_array_equal(cnnkit.correlate1d(I_1D, W_1D, padding=padding), [8, 14, 20, 11])


def test_output_length_is_n_minus_k_plus_1():
    assert cnnkit.correlate1d(np.ones(10), np.ones(4)).shape == (7,)
    assert cnnkit.correlate1d(np.ones(10), np.ones(4), padding="full").shape == (13,)
    assert cnnkit.correlate1d(np.ones(10), np.ones(4), padding="same").shape == (10,)


@pytest.mark.parametrize("n, k", [(7, 3), (8, 4), (5, 5), (6, 1)])
def test_agrees_with_numpy(rng, n, k):
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    assert_close(cnnkit.correlate1d(x, w), np.correlate(x, w, mode="valid"))
    assert_close(cnnkit.convolve1d(x, w), np.convolve(x, w, mode="valid"))
    assert_close(cnnkit.convolve1d(x, w, padding="full"), np.convolve(x, w, mode="full"))
    assert_close(cnnkit.correlate1d(x, w, padding="full"), np.correlate(x, w, mode="full"))


def test_even_kernel_same_padding_puts_the_extra_zero_at_the_end():
    # K = 2 needs one zero: TensorFlow's split puts it after the signal.
    np.testing.assert_array_equal(cnnkit.correlate1d([1, 2, 3], [1, 10], padding="same"), [21, 32, 3])


@pytest.mark.parametrize("func", [cnnkit.correlate1d, cnnkit.convolve1d])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_1d_contract(rng, func, dtype):
    x, w = rng.standard_normal(9).astype(dtype), rng.standard_normal(3).astype(dtype)
    x0, w0 = x.copy(), w.copy()
    out = func(x, w, padding=1)
    assert out.dtype == dtype
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    assert not np.shares_memory(out, x) and not np.shares_memory(out, w)


# ----------------------------------------------------------------------------
# The conv1d layer, held to the naive 2-D loops on one-row images
# ----------------------------------------------------------------------------

GRID_1D = list(itertools.product([1, 2, 3], [0, 2, "valid", "same", "full"], [1, 2]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride, padding, dilation", GRID_1D)
def test_conv1d_matches_naive_2d(rng, dtype, stride, padding, dilation):
    x = rng.standard_normal((3, 4, 13)).astype(dtype)
    w = rng.standard_normal((5, 4, 3)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    out = cnnkit.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    pad_2d = padding if isinstance(padding, str) else (0, padding)
    expected = conv2d_naive(x[:, :, None], w[:, :, None], b, stride=(1, stride), padding=pad_2d, dilation=(1, dilation))
    assert out.dtype == dtype
    assert out.shape == (3, 5, cnnkit.conv_output_size(13, 3, stride, padding, dilation))
    assert_close(out, expected[:, :, 0])


def test_conv1d_single_channel_is_correlate1d(rng):
    x, w = rng.standard_normal(11), rng.standard_normal(4)
    assert_close(cnnkit.conv1d(x[None, None], w[None, None], padding="same")[0, 0], cnnkit.correlate1d(x, w, "same"))


def test_conv1d_contract(rng):
    x = rng.standard_normal((2, 3, 10)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3)).astype(np.float32)
    copies = x.copy(), w.copy()
    out = cnnkit.conv1d(x, w, padding=1)
    assert out.dtype == np.float32 and out.shape == (2, 4, 10)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(w, copies[1])
    assert not np.shares_memory(out, x)
    assert cnnkit.conv1d(x.astype(int), w.astype(int)).dtype == np.float64


@pytest.mark.tf
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "stride, padding, dilation", [(1, "valid", 1), (2, "same", 1), (1, "same", 2), (3, 2, 1), (1, "full", 2)]
)
def test_conv1d_matches_tensorflow(tf, rng, dtype, stride, padding, dilation):
    x = rng.standard_normal((2, 3, 12)).astype(dtype)
    w = rng.standard_normal((4, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    inp, tf_pad = tf.constant(x.transpose(0, 2, 1)), padding.upper() if padding in ("valid", "same") else "VALID"
    if not isinstance(padding, str) or padding == "full":
        p = dilation * 2 if padding == "full" else padding
        inp = tf.pad(inp, [[0, 0], [p, p], [0, 0]])
    ref = tf.nn.convolution(inp, w.transpose(2, 1, 0), strides=stride, padding=tf_pad, dilations=dilation)
    ref = tf.nn.bias_add(ref, b).numpy().transpose(0, 2, 1)
    assert_close(cnnkit.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation), ref)
