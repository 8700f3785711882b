"""Layout conversion: cnnkit (N, C, H, W) / (F, C, KH, KW) <-> Keras (N, H, W, C) / (KH, KW, C, F)."""

import re

import numpy as np
import pytest

from cnnkit.layout import hwio_to_oihw, nchw_to_nhwc, nhwc_to_nchw, oihw_to_hwio

# (function, its inverse, the axes of np.transpose it applies)
CONVERSIONS = [
    (nchw_to_nhwc, nhwc_to_nchw, (0, 2, 3, 1)),
    (nhwc_to_nchw, nchw_to_nhwc, (0, 3, 1, 2)),
    (oihw_to_hwio, hwio_to_oihw, (2, 3, 1, 0)),
    (hwio_to_oihw, oihw_to_hwio, (3, 2, 0, 1)),
]
IDS = [c[0].__name__ for c in CONVERSIONS]


@pytest.mark.parametrize("fn, inverse, axes", CONVERSIONS, ids=IDS)
def test_agrees_with_np_transpose(fn, inverse, axes, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(fn(x), np.transpose(x, axes))


@pytest.mark.parametrize("fn, inverse, axes", CONVERSIONS, ids=IDS)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 1, 1), (3, 1, 2, 2), (1, 4, 1, 3)])
def test_round_trip(fn, inverse, axes, shape, rng):
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(inverse(fn(x)), x)
    np.testing.assert_array_equal(fn(inverse(x)), x)


def test_named_axes_land_where_keras_expects_them():
    x = np.zeros((2, 3, 5, 7))  # N, C, H, W
    assert nchw_to_nhwc(x).shape == (2, 5, 7, 3)
    assert nhwc_to_nchw(np.zeros((2, 5, 7, 3))).shape == (2, 3, 5, 7)
    w = np.zeros((8, 3, 5, 4))  # F, C, KH, KW
    assert oihw_to_hwio(w).shape == (5, 4, 3, 8)
    assert hwio_to_oihw(np.zeros((5, 4, 3, 8))).shape == (8, 3, 5, 4)
    w = np.arange(8 * 3 * 5 * 4).reshape(8, 3, 5, 4)
    assert oihw_to_hwio(w)[2, 1, 0, 7] == w[7, 0, 2, 1]


@pytest.mark.parametrize("fn, inverse, axes", CONVERSIONS, ids=IDS)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 4, 5), (2, 1, 1, 1), (1, 3, 1, 1)])
def test_result_is_a_new_contiguous_array(fn, inverse, axes, shape, rng):
    # Axes of length 1 can make a transposed view contiguous already; the
    # result must still not share memory with the input.
    x = rng.standard_normal(shape)
    before = x.copy()
    out = fn(x)
    assert out.flags.c_contiguous
    assert not np.shares_memory(out, x)
    out[...] = 0
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.uint8, bool])
@pytest.mark.parametrize("fn, inverse, axes", CONVERSIONS, ids=IDS)
def test_dtype_is_kept(fn, inverse, axes, dtype):
    # A pure rearrangement: uint8 images stay uint8.
    assert fn(np.zeros((1, 2, 3, 4), dtype=dtype)).dtype == np.dtype(dtype)


@pytest.mark.parametrize("fn, inverse, axes", CONVERSIONS, ids=IDS)
def test_non_contiguous_and_list_input(fn, inverse, axes, rng):
    x = rng.standard_normal((5, 4, 3, 2)).transpose(3, 2, 1, 0)
    np.testing.assert_array_equal(fn(x), np.transpose(x, axes))
    np.testing.assert_array_equal(fn(x.tolist()), np.transpose(x, axes))


@pytest.mark.parametrize(
    "fn, name, layout",
    [
        (nchw_to_nhwc, "x", "(N, C, H, W)"),
        (nhwc_to_nchw, "x", "(N, H, W, C)"),
        (oihw_to_hwio, "w", "(F, C, KH, KW)"),
        (hwio_to_oihw, "w", "(KH, KW, C, F)"),
    ],
)
@pytest.mark.parametrize("shape", [(28, 28), (3, 28, 28), (1, 2, 3, 4, 5)])
def test_wrong_ndim_is_a_value_error(fn, name, layout, shape):
    message = f"{fn.__name__}: {name} must be 4-D {layout}, got shape {shape}"
    with pytest.raises(ValueError, match=re.escape(message)):
        fn(np.zeros(shape))


@pytest.mark.tf
def test_converted_layouts_make_tensorflow_compute_the_same_correlation(tf, rng):
    # An independent cross-correlation in NCHW (sliding windows + einsum)
    # against tf.nn.conv2d fed through the conversions.
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((4, 3, 3, 2))
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 2), axis=(2, 3))  # N, C, Ho, Wo, KH, KW
    expected = np.einsum("nchwij,fcij->nfhw", windows, w)
    y = tf.nn.conv2d(tf.constant(nchw_to_nhwc(x)), tf.constant(oihw_to_hwio(w)), strides=1, padding="VALID")
    np.testing.assert_allclose(nhwc_to_nchw(y.numpy()), expected, rtol=1e-10, atol=1e-12)
    # And back: a Keras-layout kernel converts to the cnnkit one.
    np.testing.assert_array_equal(hwio_to_oihw(tf.constant(oihw_to_hwio(w)).numpy()), w)
