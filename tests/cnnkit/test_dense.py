"""dense_to_conv: "everything is a convolution" (curriculum chapter 2)."""

import numpy as np
import pytest

import cnnkit

from .conv_testing import assert_close


@pytest.mark.parametrize("input_shape, units", [((3, 4, 5), 7), ((1, 6, 6), 1), ((8, 1, 1), 4), ((2, 3, 1), 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_equals_conv(rng, input_shape, units, dtype):
    x = rng.standard_normal((4, *input_shape)).astype(dtype)
    w = rng.standard_normal((int(np.prod(input_shape)), units)).astype(dtype)
    b = rng.standard_normal(units).astype(dtype)
    w_conv, b_conv = cnnkit.dense_to_conv(w, b, input_shape)
    assert w_conv.shape == (units, *input_shape) and b_conv.shape == (units,)
    assert w_conv.dtype == b_conv.dtype == dtype
    out = cnnkit.conv2d(x, w_conv, b_conv)
    assert out.shape == (4, units, 1, 1)
    assert_close(out[:, :, 0, 0], x.reshape(4, -1) @ w + b)


def test_each_output_channel_is_one_column_of_the_dense_matrix(rng):
    w = rng.standard_normal((2 * 3 * 4, 5))
    w_conv, _ = cnnkit.dense_to_conv(w, np.zeros(5), (2, 3, 4))
    for k in range(5):
        np.testing.assert_array_equal(w_conv[k].ravel(), w[:, k])


def test_on_a_larger_input_the_dense_layer_slides(rng):
    # Trained on 4x4 maps, the converted layer runs on 6x7 maps and gives the
    # dense layer's answer for every 4x4 crop: a fully convolutional head.
    c, h, w_, units = 3, 4, 4, 2
    w = rng.standard_normal((c * h * w_, units))
    b = rng.standard_normal(units)
    w_conv, b_conv = cnnkit.dense_to_conv(w, b, (c, h, w_))
    x = rng.standard_normal((1, c, 6, 7))
    out = cnnkit.conv2d(x, w_conv, b_conv)
    assert out.shape == (1, units, 3, 4)
    for i in range(3):
        for j in range(4):
            crop = x[:, :, i : i + h, j : j + w_]
            assert_close(out[:, :, i, j], crop.reshape(1, -1) @ w + b)


def test_without_bias(rng):
    w = rng.standard_normal((12, 3))
    w_conv, b_conv = cnnkit.dense_to_conv(w, None, (3, 2, 2))
    assert b_conv is None
    x = rng.standard_normal((2, 3, 2, 2))
    assert_close(cnnkit.conv2d(x, w_conv)[:, :, 0, 0], x.reshape(2, -1) @ w)


def test_contract(rng):
    w = rng.standard_normal((12, 1)).astype(np.float32)  # one unit: w.T is already contiguous
    b = np.zeros(1, np.float32)
    w0 = w.copy()
    w_conv, b_conv = cnnkit.dense_to_conv(w, b, (3, 2, 2))
    assert not np.shares_memory(w_conv, w) and not np.shares_memory(b_conv, b)
    w_conv[...] = 0  # the results are the caller's to change
    np.testing.assert_array_equal(w, w0)
    w_int, _ = cnnkit.dense_to_conv(np.ones((4, 2), int), np.ones(2, int), [1, 2, 2])
    assert w_int.dtype == np.float64
