"""Helpers shared by the convolution tests: tolerances, a parameter grid, TensorFlow references.

Not a test module (no ``test_`` prefix): the test files import it relatively.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cnnkit

# The contract's tolerances against references (TensorFlow, the naive loops,
# numerical gradients in float64), relative to the largest expected value.
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}

STRIDES = [1, 2, 3, (1, 2)]
PADDINGS = [0, 1, (1, 2), "valid", "same", "full"]
DILATIONS = [1, 2, (2, 1)]
GRID = list(itertools.product(STRIDES, PADDINGS, DILATIONS))


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# TensorFlow's convolution does not combine stride > 1 with dilation > 1.
TF_GRID = [(s, p, d) for s, p, d in GRID if pair(s) == (1, 1) or pair(d) == (1, 1)]


def against_tensorflow(grid):
    """Decorator: a test marked ``tf``, run in float32 and float64 for each ``(stride, padding, dilation)`` of ``grid``."""

    def decorate(test):
        test = pytest.mark.parametrize("stride, padding, dilation", grid)(test)
        test = pytest.mark.parametrize("dtype", [np.float32, np.float64])(test)
        return pytest.mark.tf(test)

    return decorate


def assert_close(actual, expected, rtol=None, what=""):
    """``actual`` matches ``expected`` in shape, dtype family and value.

    The tolerance is relative to the largest entry of ``expected``, so that
    entries that happen to be near zero do not demand impossible precision.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    if rtol is None:
        rtol = RTOL[np.dtype(actual.dtype)]
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def random_conv_case(rng, dtype, n, c, f, hw, khw):
    x = rng.standard_normal((n, c, *hw)).astype(dtype)
    w = rng.standard_normal((f, c, *khw)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    return x, w, b


# ----------------------------------------------------------------------------
# TensorFlow references (NHWC images, HWIO kernels)
# ----------------------------------------------------------------------------


def tf_padding(padding, kernel_hw, dilation):
    """cnnkit's ``padding`` argument as TensorFlow's ``padding`` argument."""
    if padding in ("valid", "same"):
        return padding.upper()  # so that TF's own "SAME" split is what we compare with
    if padding == "full":
        (kh, kw), (dh, dw) = kernel_hw, pair(dilation)
        ph, pw = dh * (kh - 1), dw * (kw - 1)
    else:
        ph, pw = pair(padding)
    return [[0, 0], [ph, ph], [pw, pw], [0, 0]]


def tf_conv2d(tf, x, w, b, stride, padding, dilation):
    """``tf.nn.conv2d`` on cnnkit-layout arrays; returns ``(N, F, Ho, Wo)``."""
    sh, sw = pair(stride)
    dh, dw = pair(dilation)
    out = tf.nn.conv2d(
        cnnkit.nchw_to_nhwc(x),
        cnnkit.oihw_to_hwio(w),
        strides=[1, sh, sw, 1],
        padding=tf_padding(padding, w.shape[2:], dilation),
        dilations=[1, dh, dw, 1],
    )
    if b is not None:
        out = tf.nn.bias_add(out, b)
    return cnnkit.nhwc_to_nchw(out.numpy())


def tf_conv2d_grads(tf, dout, x, w, stride, padding, dilation):
    """``(dx, dw, db)`` of ``sum(conv2d(x, w, b) * dout)`` by ``tf.GradientTape``.

    TensorFlow's CPU gradient kernels of ``tf.nn.conv2d`` reject dilation > 1;
    ``tf.nn.convolution`` implements dilation with ``space_to_batch`` and is
    differentiable, so that is used (explicit padding done by ``tf.pad``).
    """
    sh, sw = pair(stride)
    xt = tf.constant(cnnkit.nchw_to_nhwc(x))
    wt = tf.constant(cnnkit.oihw_to_hwio(w))
    bt = tf.zeros(w.shape[0], dtype=xt.dtype)
    tf_pad = tf_padding(padding, w.shape[2:], dilation)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt, bt])
        if isinstance(tf_pad, str):
            inp = xt
        else:
            inp, tf_pad = tf.pad(xt, tf_pad), "VALID"
        out = tf.nn.convolution(inp, wt, strides=[sh, sw], padding=tf_pad, dilations=list(pair(dilation)))
        out = tf.nn.bias_add(out, bt)
    gx, gw, gb = tape.gradient(out, [xt, wt, bt], output_gradients=cnnkit.nchw_to_nhwc(dout))
    return cnnkit.nhwc_to_nchw(gx.numpy()), cnnkit.hwio_to_oihw(gw.numpy()), gb.numpy()
