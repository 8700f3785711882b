"""conv2d_backward: the book's 1-D example, fast vs naive, numerical gradients, TensorFlow."""

import numpy as np
import pytest

import cnnkit
from cnnkit.naive import conv2d_backward_naive, conv2d_naive

from .conv_testing import GRID, TF_GRID, against_tensorflow, assert_close, random_conv_case, tf_conv2d_grads

SHAPES = [
    (2, 3, 4, (9, 10), (3, 2)),  # C*KH*KW = 18: per-image products
    (3, 8, 5, (8, 7), (3, 3)),  # C*KH*KW = 72: one product over the batch
    (1, 2, 3, (7, 9), (2, 3)),
]


def _dout_for(rng, x, w, **kwargs):
    shape = cnnkit.conv2d(x, w, **kwargs).shape
    return rng.standard_normal(shape).astype(x.dtype)


# ----------------------------------------------------------------------------
# Curriculum chapter 2, "Backward pass": I = [1, 2, 3, 4], W = [1, 2, 3], dL/dO = [1, 2]
# ----------------------------------------------------------------------------

I_1D, W_1D, DOUT_1D = np.array([1, 2, 3, 4]), np.array([1, 2, 3]), np.array([1, 2])


def test_worked_example_1d_backward():
    dx, dw, db = cnnkit.conv2d_backward(DOUT_1D.reshape(1, 1, 1, 2), I_1D.reshape(1, 1, 1, 4), W_1D.reshape(1, 1, 1, 3))
    np.testing.assert_array_equal(dw.ravel(), [5, 8, 11])
    np.testing.assert_array_equal(dx.ravel(), [1, 4, 7, 6])
    np.testing.assert_array_equal(db, [3])
    assert dx.dtype == dw.dtype == db.dtype == np.float64


def test_worked_example_1d_backward_identities():
    # dL/dW is the correlation of the input with dL/dO ...
    np.testing.assert_array_equal(cnnkit.correlate1d(I_1D, DOUT_1D), [5, 8, 11])
    # ... and dL/dI the correlation of the zero-padded kernel with the flipped
    # dL/dO, i.e. the "full" convolution of dL/dO with the kernel.
    np.testing.assert_array_equal(cnnkit.correlate1d([0, 1, 2, 3, 0], DOUT_1D[::-1]), [1, 4, 7, 6])
    np.testing.assert_array_equal(cnnkit.convolve1d(DOUT_1D, W_1D, padding="full"), [1, 4, 7, 6])


def test_worked_example_1d_jacobians():
    # dO/dI is the banded 2x4 matrix [[W1 W2 W3 0], [0 W1 W2 W3]]; the
    # backward pass is its transpose applied to dL/dO.
    def jacobian(f, at):
        return np.stack([f(e) for e in np.eye(at.size)], axis=1)

    d_out_d_in = jacobian(lambda e: cnnkit.correlate1d(e, W_1D), I_1D)
    np.testing.assert_array_equal(d_out_d_in, [[1, 2, 3, 0], [0, 1, 2, 3]])
    d_out_d_w = jacobian(lambda e: cnnkit.correlate1d(I_1D, e), W_1D)
    np.testing.assert_array_equal(d_out_d_w, [[1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(d_out_d_in.T @ DOUT_1D, [1, 4, 7, 6])
    np.testing.assert_array_equal(d_out_d_w.T @ DOUT_1D, [5, 8, 11])


# ----------------------------------------------------------------------------
# Fast vs naive
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"N{s[0]}C{s[1]}F{s[2]}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride, padding, dilation", GRID)
def test_fast_matches_naive(rng, shape, dtype, stride, padding, dilation):
    x, w, _ = random_conv_case(rng, dtype, *shape)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    dout = _dout_for(rng, x, w, **kwargs)
    grads = cnnkit.conv2d_backward(dout, x, w, **kwargs)
    expected = conv2d_backward_naive(dout, x, w, **kwargs)
    for name, got, want, like in zip(("dx", "dw", "db"), grads, expected, (x, w, w[:, 0, 0, 0])):
        assert got.shape == like.shape and got.dtype == dtype, name
        assert_close(got, want, what=f"{name}: stride={stride}, padding={padding!r}, dilation={dilation}")


# ----------------------------------------------------------------------------
# Analytic vs numerical gradients (float64, central differences)
# ----------------------------------------------------------------------------

NUMERIC_CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(1, 2), padding=(2, 0)),
    dict(padding="same", stride=2),  # odd padding row at the bottom
    dict(padding="full"),
    dict(dilation=2, padding=1),
    dict(stride=2, dilation=(2, 1), padding="same"),  # TensorFlow cannot do this one
    dict(stride=3, padding=(1, 2), dilation=(1, 2)),
]


@pytest.mark.parametrize("kwargs", NUMERIC_CASES, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()) or "default")
def test_gradients_match_numerical(rng, kwargs):
    x, w, b = random_conv_case(rng, np.float64, 2, 2, 3, (7, 6), (3, 2))
    dout = _dout_for(rng, x, w, **kwargs)
    dx, dw, db = cnnkit.conv2d_backward(dout, x, w, **kwargs)
    rtol = 1e-7  # central differences with h = 1e-6 are good to about 1e-8
    assert_close(dx, cnnkit.numerical_gradient(lambda v: cnnkit.conv2d(v, w, b, **kwargs), x, dout), rtol, "dx")
    assert_close(dw, cnnkit.numerical_gradient(lambda v: cnnkit.conv2d(x, v, b, **kwargs), w, dout), rtol, "dw")
    assert_close(db, cnnkit.numerical_gradient(lambda v: cnnkit.conv2d(x, w, v, **kwargs), b, dout), rtol, "db")


def test_naive_gradients_match_numerical(rng):
    kwargs = dict(stride=2, padding=(1, 0), dilation=(1, 2))
    x, w, b = random_conv_case(rng, np.float64, 2, 2, 2, (6, 7), (2, 2))
    dout = _dout_for(rng, x, w, **kwargs)
    dx, dw, _ = conv2d_backward_naive(dout, x, w, **kwargs)
    assert_close(dx, cnnkit.numerical_gradient(lambda v: cnnkit.conv2d(v, w, b, **kwargs), x, dout), 1e-7)
    assert_close(dw, cnnkit.numerical_gradient(lambda v: cnnkit.conv2d(x, v, b, **kwargs), w, dout), 1e-7)


# ----------------------------------------------------------------------------
# Contract
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES + [(2, 4, 3, (5, 5), (1, 1))], ids=lambda s: f"N{s[0]}C{s[1]}K{s[4][0]}")
@pytest.mark.parametrize("padding", [0, 1])
def test_inputs_untouched_and_outputs_new(rng, shape, padding):
    x, w, _ = random_conv_case(rng, np.float32, *shape)
    dout = _dout_for(rng, x, w, padding=padding)
    copies = [a.copy() for a in (dout, x, w)]
    grads = cnnkit.conv2d_backward(dout, x, w, padding=padding)
    for a, c in zip((dout, x, w), copies):
        np.testing.assert_array_equal(a, c)
        assert not any(np.shares_memory(g, a) for g in grads)
    assert all(g.dtype == np.float32 for g in grads)


def test_mixed_dtypes_promote(rng):
    x, w, _ = random_conv_case(rng, np.float32, 1, 2, 2, (5, 5), (3, 3))
    dout = np.ones((1, 2, 3, 3), dtype=np.float64)
    assert {g.dtype for g in cnnkit.conv2d_backward(dout, x, w)} == {np.dtype(np.float64)}
    assert {g.dtype for g in cnnkit.conv2d_backward(dout.astype(int), x.astype(int), w.astype(int))} == {
        np.dtype(np.float64)
    }


def test_one_by_one_kernel(rng):
    # 1x1 kernels make the im2col matrix a view of x itself; the backward pass
    # must not write its scratch results into it.
    x, w, _ = random_conv_case(rng, np.float64, 2, 3, 4, (5, 6), (1, 1))
    dout = _dout_for(rng, x, w)
    x_before = x.copy()
    dx, dw, db = cnnkit.conv2d_backward(dout, x, w)
    np.testing.assert_array_equal(x, x_before)
    assert_close(dx, np.einsum("nfhw,fc->nchw", dout, w[:, :, 0, 0]))
    assert_close(dw[:, :, 0, 0], np.einsum("nfhw,nchw->fc", dout, x))
    assert_close(db, dout.sum(axis=(0, 2, 3)))


# ----------------------------------------------------------------------------
# Against tf.GradientTape
# ----------------------------------------------------------------------------

@against_tensorflow(TF_GRID)
def test_matches_tensorflow_gradient_tape(tf, rng, dtype, stride, padding, dilation):
    x, w, _ = random_conv_case(rng, dtype, 2, 3, 4, (9, 8), (3, 2))
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    dout = _dout_for(rng, x, w, **kwargs)
    expected = tf_conv2d_grads(tf, dout, x, w, stride, padding, dilation)
    for name, got, want in zip(("dx", "dw", "db"), cnnkit.conv2d_backward(dout, x, w, **kwargs), expected):
        assert_close(got, want, what=f"{name}: stride={stride}, padding={padding!r}, dilation={dilation}")


@pytest.mark.tf
def test_larger_case_matches_tensorflow_float32(tf, rng):
    # Large enough to take the one-product-over-the-batch path with padding.
    x, w, _ = random_conv_case(rng, np.float32, 4, 16, 8, (12, 12), (3, 3))
    dout = _dout_for(rng, x, w, stride=2, padding=1)
    expected = tf_conv2d_grads(tf, dout, x, w, 2, 1, 1)
    for name, got, want in zip(("dx", "dw", "db"), cnnkit.conv2d_backward(dout, x, w, stride=2, padding=1), expected):
        assert_close(got, want, what=name)


@pytest.mark.parametrize("kwargs", [dict(padding=4), dict(padding=(3, 5), stride=3), dict(padding=3, dilation=2)])
def test_padding_wider_than_the_kernel(rng, kwargs):
    # Some kernel taps then see nothing but padding for whole rows of outputs.
    x, w, b = random_conv_case(rng, np.float64, 2, 2, 3, (3, 4), (2, 2))
    assert_close(cnnkit.conv2d(x, w, b, **kwargs), conv2d_naive(x, w, b, **kwargs))
    dout = _dout_for(rng, x, w, **kwargs)
    for got, want in zip(cnnkit.conv2d_backward(dout, x, w, **kwargs), conv2d_backward_naive(dout, x, w, **kwargs)):
        assert_close(got, want)
