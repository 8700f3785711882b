"""Pooling vs TensorFlow: tf.nn.max_pool2d / avg_pool2d and tf.GradientTape.

TensorFlow works in NHWC; the data are converted with cnnkit's layout
helpers. Tolerances, as in the contract: 1e-4 relative in float32 and 1e-10
in float64 (with an absolute floor, since averages of random numbers can be
near zero). Ties and overlapping windows are among the cases, and the tie
rule itself (the first maximum in row-major order gets the gradient) is
asserted on TensorFlow alone first, so that a change in TensorFlow shows up
as such and not as a cnnkit bug.
"""

import numpy as np
import pytest

from cnnkit.data import pooling_example

from cnnkit.layout import nchw_to_nhwc, nhwc_to_nchw
from cnnkit.pool import avg_pool2d, avg_pool2d_backward, global_avg_pool2d, global_max_pool2d, max_pool2d, max_pool2d_backward

pytestmark = pytest.mark.tf

SIZES = [2, 3, (2, 3)]
STRIDES = [1, 2, None, (1, 2)]
TF_PADDINGS = ["VALID", "SAME"]
DTYPES = [np.float32, np.float64]
X_BOOK = pooling_example().astype(np.int64)  # chapter 4's example, kept as integers

CNNKIT = {"max": (max_pool2d, max_pool2d_backward), "avg": (avg_pool2d, avg_pool2d_backward)}


def pair(v):
    return [v, v] if isinstance(v, int) else list(v)


def tolerances(dtype):
    return {"rtol": 1e-4, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}


def tf_pool(tf, kind, x, dout, size, stride, padding):
    """TensorFlow's forward output and input gradient, back in (N, C, H, W)."""
    op = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
    xt = tf.constant(nchw_to_nhwc(x))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = op(xt, ksize=pair(size), strides=pair(size if stride is None else stride), padding=padding)
    dx = tape.gradient(y, xt, output_gradients=tf.constant(nchw_to_nhwc(dout)))
    return nhwc_to_nchw(y.numpy()), nhwc_to_nchw(dx.numpy())


def tf_output_shape(tf, kind, x, size, stride, padding):
    op = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
    y = op(tf.constant(nchw_to_nhwc(x)), pair(size), pair(size if stride is None else stride), padding)
    n, h, w, c = y.shape
    return (n, c, h, w)


def check_against_tf(tf, kind, x, size, stride, padding, rng):
    """Forward and backward of cnnkit vs TensorFlow; padding as TF spells it."""
    forward, backward = CNNKIT[kind]
    cnnkit_padding = padding.lower() if isinstance(padding, str) else padding
    out = forward(x, size, stride, cnnkit_padding)
    assert out.shape == tf_output_shape(tf, kind, x, size, stride, padding)
    dout = rng.standard_normal(out.shape).astype(x.dtype)
    tf_out, tf_dx = tf_pool(tf, kind, x, dout, size, stride, padding)
    dx = backward(dout, x, size, stride, cnnkit_padding)
    where = f"{kind} pool, size={size}, stride={stride}, padding={padding!r}, x shape {x.shape}"
    np.testing.assert_allclose(out, tf_out, **tolerances(x.dtype), err_msg=f"forward: {where}")
    np.testing.assert_allclose(dx, tf_dx, **tolerances(x.dtype), err_msg=f"backward: {where}")


def images(rng, dtype, data, shape=(2, 3, 7, 8)):
    if data == "ties":
        return rng.integers(0, 3, shape).astype(dtype)
    if data == "constant":
        return np.full(shape, 0.25, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


# --- TensorFlow's own tie rule ------------------------------------------------------


def tf_max_pool_gradient(tf, x, size, stride, padding="VALID"):
    """TensorFlow's max-pool gradient for an upstream gradient of ones, on one (H, W) image."""
    xt = tf.constant(np.asarray(x, dtype=np.float64)[None, :, :, None])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.nn.max_pool2d(xt, size, stride, padding)
    return tape.gradient(y, xt).numpy()[0, :, :, 0]


def test_tensorflow_sends_a_tied_gradient_to_the_first_maximum_in_row_major_order(tf):
    # Maxima at (0, 1) and (1, 0): row-major order reaches (0, 1) first.
    np.testing.assert_array_equal(tf_max_pool_gradient(tf, [[1, 5], [5, 1]], 2, 2), [[0, 1], [0, 0]])
    # All four tied: only the top-left one.
    np.testing.assert_array_equal(tf_max_pool_gradient(tf, np.ones((2, 2)), 2, 2), [[1, 0], [0, 0]])
    # A (2, 3) window: (0, 2) comes before (1, 0) and (1, 1).
    np.testing.assert_array_equal(
        tf_max_pool_gradient(tf, [[1, 2, 5], [5, 5, 1]], (2, 3), 1), [[0, 0, 1], [0, 0, 0]]
    )


def test_tensorflow_adds_up_overlapping_windows_and_ties_stay_per_window(tf):
    # Constant 4x4, 3x3 windows, stride 1: each window's first maximum is its
    # own top-left cell, so four different cells get 1 each.
    expected = np.zeros((4, 4))
    expected[:2, :2] = 1
    np.testing.assert_array_equal(tf_max_pool_gradient(tf, np.zeros((4, 4)), 3, 1), expected)
    # One maximum shared by four 2x2 windows (stride 1): it gets 4.
    x = np.zeros((3, 3))
    x[1, 1] = 1
    expected = np.zeros((3, 3))
    expected[1, 1] = 4
    np.testing.assert_array_equal(tf_max_pool_gradient(tf, x, 2, 1), expected)


# --- cnnkit vs TensorFlow ------------------------------------------------------------


@pytest.mark.parametrize("data", ["distinct", "ties", "constant"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("padding", TF_PADDINGS)
@pytest.mark.parametrize("stride", STRIDES, ids=lambda s: f"stride={s}")
@pytest.mark.parametrize("size", SIZES, ids=lambda k: f"size={k}")
def test_max_pool2d_matches_tensorflow(tf, size, stride, padding, dtype, data, rng):
    check_against_tf(tf, "max", images(rng, dtype, data), size, stride, padding, rng)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("padding", TF_PADDINGS)
@pytest.mark.parametrize("stride", STRIDES, ids=lambda s: f"stride={s}")
@pytest.mark.parametrize("size", SIZES, ids=lambda k: f"size={k}")
def test_avg_pool2d_matches_tensorflow(tf, size, stride, padding, dtype, rng):
    check_against_tf(tf, "avg", images(rng, dtype, "distinct"), size, stride, padding, rng)


@pytest.mark.parametrize(
    "size, stride, pad",
    [(2, 1, 1), (3, 1, 1), (3, 2, 1), (3, 2, 2), ((2, 3), (1, 2), (1, 0)), (3, 1, (0, 2))],
)
@pytest.mark.parametrize("data", ["distinct", "ties"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_max_pool2d_explicit_padding_matches_tensorflow(tf, size, stride, pad, dtype, data, rng):
    # tf.nn.max_pool2d takes explicit padding (avg_pool2d does not); it pads
    # with -inf and, like cnnkit, wants padding smaller than the window.
    ph, pw = pair(pad)
    tf_padding = [[0, 0], [ph, ph], [pw, pw], [0, 0]]
    x = images(rng, dtype, data, (2, 2, 6, 7)) - 5  # negative: zero padding would show
    out = max_pool2d(x, size, stride, pad)
    dout = rng.standard_normal(out.shape).astype(dtype)
    tf_out, tf_dx = tf_pool(tf, "max", x, dout, size, stride, tf_padding)
    np.testing.assert_allclose(out, tf_out, **tolerances(dtype))
    np.testing.assert_allclose(max_pool2d_backward(dout, x, size, stride, pad), tf_dx, **tolerances(dtype))


@pytest.mark.parametrize("padding", [1, "SAME"])
def test_inputs_of_minus_infinity_match_tensorflow(tf, padding, rng):
    # TensorFlow gives the gradient to an input of -inf rather than to padding.
    x = rng.standard_normal((2, 2, 5, 5))
    x[rng.random(x.shape) < 0.6] = -np.inf
    tf_padding = [[0, 0], [1, 1], [1, 1], [0, 0]] if padding == 1 else padding
    cnnkit_padding = padding if padding == 1 else "same"
    for size, stride in [(2, 2), (2, 1), (3, 2)]:
        out = max_pool2d(x, size, stride, cnnkit_padding)
        dout = rng.standard_normal(out.shape)
        tf_out, tf_dx = tf_pool(tf, "max", x, dout, size, stride, tf_padding)
        # A window of -inf only: TensorFlow's maximum starts from the lowest
        # finite number and returns that; cnnkit returns -inf.
        tf_out[tf_out == np.finfo(x.dtype).min] = -np.inf
        np.testing.assert_array_equal(out, tf_out)
        dx = max_pool2d_backward(dout, x, size, stride, cnnkit_padding)
        np.testing.assert_allclose(dx, tf_dx, **tolerances(x.dtype))


@pytest.mark.parametrize("shape", [(4, 8, 26, 26), (2, 16, 12, 12)])
def test_2x2_stride_2_on_layer_sized_inputs(tf, shape, rng):
    # The shapes of the case study's first pooling layers, with ReLU-like ties at 0.
    x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    check_against_tf(tf, "max", x, 2, None, "VALID", rng)
    check_against_tf(tf, "avg", x, 2, None, "VALID", rng)


def test_book_example_matches_tensorflow(tf, rng):
    x = X_BOOK[None, None].astype(np.float64)
    ones = np.ones((1, 1, 2, 2))
    tf_max, tf_mask = tf_pool(tf, "max", x, ones, 2, 2, "VALID")
    tf_avg, _ = tf_pool(tf, "avg", x, ones, 2, 2, "VALID")
    np.testing.assert_array_equal(max_pool2d(x), tf_max)
    np.testing.assert_array_equal(avg_pool2d(x), tf_avg)
    np.testing.assert_array_equal(max_pool2d_backward(ones, x), tf_mask)
    np.testing.assert_array_equal(tf_mask[0, 0], np.isin(X_BOOK, [49, 77, 90, 100]))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_global_pools_match_tensorflow(tf, dtype, rng):
    x = rng.standard_normal((3, 4, 5, 6)).astype(dtype)
    xt = tf.constant(nchw_to_nhwc(x))
    np.testing.assert_allclose(global_avg_pool2d(x), tf.reduce_mean(xt, axis=[1, 2]).numpy(), **tolerances(dtype))
    np.testing.assert_array_equal(global_max_pool2d(x), tf.reduce_max(xt, axis=[1, 2]).numpy())
