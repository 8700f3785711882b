"""depthwise_conv2d, separable_conv2d and their gradients: fast vs naive loops, identities with
conv2d, numerical gradients, TensorFlow / Keras, and the error messages."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnkit
from cnnkit.naive import (
    conv2d_naive,
    depthwise_conv2d_backward_naive,
    depthwise_conv2d_naive,
)

from .conv_testing import GRID, against_tensorflow, assert_close, pair

# (N, C, M, (H, W), (KH, KW)): M = 1 is MobileNet's depthwise layer; N = 1, odd kernels, M > 1.
SHAPES = [
    (2, 3, 1, (9, 10), (3, 3)),
    (3, 2, 3, (8, 7), (3, 2)),
    (1, 4, 2, (7, 9), (2, 3)),
]


def random_depthwise_case(rng, dtype, n, c, m, hw, khw):
    x = rng.standard_normal((n, c, *hw)).astype(dtype)
    w = rng.standard_normal((c, m, *khw)).astype(dtype)
    b = rng.standard_normal(c * m).astype(dtype)
    return x, w, b


def block_diagonal(w):
    """The full conv2d kernel ``(C*M, C, KH, KW)`` of a depthwise kernel ``(C, M, KH, KW)``."""
    c, m, kh, kw = w.shape
    full = np.zeros((c * m, c, kh, kw), w.dtype)
    for ch in range(c):
        full[ch * m : (ch + 1) * m, ch] = w[ch]
    return full


def _dout_for(rng, x, w, **kwargs):
    return rng.standard_normal(cnnkit.depthwise_conv2d(x, w, **kwargs).shape).astype(x.dtype)


# ----------------------------------------------------------------------------
# Fast vs naive, and the identities with conv2d
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"N{s[0]}C{s[1]}M{s[2]}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride, padding, dilation", GRID)
def test_fast_matches_naive(rng, shape, dtype, stride, padding, dilation):
    x, w, b = random_depthwise_case(rng, dtype, *shape)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    out = cnnkit.depthwise_conv2d(x, w, b, **kwargs)
    assert out.dtype == dtype
    assert out.shape[:2] == (x.shape[0], w.shape[0] * w.shape[1])
    assert out.shape[2:] == cnnkit.conv2d(x[:, :1], w[:1, :1], **kwargs).shape[2:]
    what = f"stride={stride}, padding={padding!r}, dilation={dilation}"
    assert_close(out, depthwise_conv2d_naive(x, w, b, **kwargs), what=what)
    dout = _dout_for(rng, x, w, **kwargs)
    grads = cnnkit.depthwise_conv2d_backward(dout, x, w, **kwargs)
    expected = depthwise_conv2d_backward_naive(dout, x, w, **kwargs)
    for name, got, want, like in zip(("dx", "dw", "db"), grads, expected, (x, w, b)):
        assert got.shape == like.shape and got.dtype == dtype, name
        assert_close(got, want, what=f"{name}: {what}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(0, 2), c=st.integers(1, 3), m=st.integers(1, 3),
    h=st.integers(1, 8), w=st.integers(1, 8), kh=st.integers(1, 4), kw=st.integers(1, 4),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.one_of(st.tuples(st.integers(0, 3), st.integers(0, 3)), st.sampled_from(["valid", "same", "full"])),
    seed=st.integers(0, 2**32 - 1),
)
def test_fast_matches_naive_hypothesis(n, c, m, h, w, kh, kw, stride, dilation, padding, seed):
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    try:
        expected = depthwise_conv2d_naive(np.zeros((n, c, h, w)), np.zeros((c, m, kh, kw)), **kwargs)
    except ValueError as exc:  # the kernel does not fit: both raise the same error
        assert "larger than the padded input" in str(exc)
        with pytest.raises(ValueError, match="depthwise_conv2d: kernel"):
            cnnkit.depthwise_conv2d(np.zeros((n, c, h, w)), np.zeros((c, m, kh, kw)), **kwargs)
        return
    rng = np.random.default_rng(seed)
    x, wt, b = random_depthwise_case(rng, np.float64, n, c, m, (h, w), (kh, kw))
    assert_close(cnnkit.depthwise_conv2d(x, wt, b, **kwargs), depthwise_conv2d_naive(x, wt, b, **kwargs))
    dout = rng.standard_normal(expected.shape)
    for got, want in zip(cnnkit.depthwise_conv2d_backward(dout, x, wt, **kwargs),
                         depthwise_conv2d_backward_naive(dout, x, wt, **kwargs)):
        assert_close(got, want)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=(2, 1))])
def test_is_conv2d_with_a_block_diagonal_kernel(rng, kwargs):
    x, w, b = random_depthwise_case(rng, np.float64, 2, 3, 2, (8, 7), (3, 3))
    full = block_diagonal(w)
    assert_close(cnnkit.depthwise_conv2d(x, w, b, **kwargs), cnnkit.conv2d(x, full, b, **kwargs))
    dout = _dout_for(rng, x, w, **kwargs)
    dx, dw, db = cnnkit.depthwise_conv2d_backward(dout, x, w, **kwargs)
    dx_full, dw_full, db_full = cnnkit.conv2d_backward(dout, x, full, **kwargs)
    assert_close(dx, dx_full)
    assert_close(block_diagonal(dw), dw_full * (block_diagonal(np.ones_like(w)) > 0))
    assert_close(db, db_full)


def test_one_channel_is_conv2d(rng):
    x, w, b = random_depthwise_case(rng, np.float64, 2, 1, 4, (6, 6), (3, 3))
    # With C = 1, w (1, M, KH, KW) is conv2d's (M, 1, KH, KW).
    assert_close(cnnkit.depthwise_conv2d(x, w, b, padding=1), cnnkit.conv2d(x, w.transpose(1, 0, 2, 3), b, padding=1))


def test_channel_order_is_channel_then_multiplier():
    x = np.stack([np.full((3, 3), 1.0), np.full((3, 3), 10.0)])[None]  # (1, 2, 3, 3)
    w = np.stack([np.ones((2, 1, 1)) * [[[1.0]], [[2.0]]], np.ones((2, 1, 1)) * [[[3.0]], [[4.0]]]])  # (2, 2, 1, 1)
    out = cnnkit.depthwise_conv2d(x, w)
    np.testing.assert_array_equal(out[0, :, 0, 0], [1.0, 2.0, 30.0, 40.0])


def test_docstring_example():
    x = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))])[None]
    np.testing.assert_array_equal(cnnkit.depthwise_conv2d(x, np.ones((2, 1, 3, 3)))[0, :, 0, 0], [9.0, 18.0])


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding="same"), dict(padding=(1, 0), dilation=2)])
def test_separable_is_depthwise_then_pointwise(rng, kwargs):
    x, w_dw, _ = random_depthwise_case(rng, np.float64, 2, 3, 2, (8, 7), (3, 3))
    w_pw = rng.standard_normal((5, 6, 1, 1))
    b = rng.standard_normal(5)
    out = cnnkit.separable_conv2d(x, w_dw, w_pw, b, **kwargs)
    assert_close(out, conv2d_naive(depthwise_conv2d_naive(x, w_dw, **kwargs), w_pw, b))
    # ... and a conv2d whose kernel is the rank-M product of the two.
    full = np.einsum("fk,kcuv->fcuv", w_pw[:, :, 0, 0], block_diagonal(w_dw))
    assert_close(out, cnnkit.conv2d(x, full, b, **kwargs))


# ----------------------------------------------------------------------------
# Analytic vs numerical gradients
# ----------------------------------------------------------------------------

NUMERIC_CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(1, 2), padding=(2, 0)),
    dict(padding="same", stride=2),
    dict(padding="full"),
    dict(stride=2, dilation=(2, 1), padding="same"),
]


def _ids(k):
    return ",".join(f"{a}={v}" for a, v in k.items()) or "default"


@pytest.mark.parametrize("kwargs", NUMERIC_CASES, ids=_ids)
def test_gradients_match_numerical(rng, kwargs):
    x, w, b = random_depthwise_case(rng, np.float64, 2, 2, 2, (7, 6), (3, 2))
    dout = _dout_for(rng, x, w, **kwargs)
    dx, dw, db = cnnkit.depthwise_conv2d_backward(dout, x, w, **kwargs)
    f = cnnkit.depthwise_conv2d
    assert_close(dx, cnnkit.numerical_gradient(lambda v: f(v, w, b, **kwargs), x, dout), 1e-7, "dx")
    assert_close(dw, cnnkit.numerical_gradient(lambda v: f(x, v, b, **kwargs), w, dout), 1e-7, "dw")
    assert_close(db, cnnkit.numerical_gradient(lambda v: f(x, w, v, **kwargs), b, dout), 1e-7, "db")


def test_naive_gradients_match_numerical(rng):
    kwargs = dict(stride=2, padding=(1, 0), dilation=(1, 2))
    x, w, b = random_depthwise_case(rng, np.float64, 2, 2, 2, (6, 7), (2, 2))
    dout = _dout_for(rng, x, w, **kwargs)
    dx, dw, _ = depthwise_conv2d_backward_naive(dout, x, w, **kwargs)
    f = cnnkit.depthwise_conv2d
    assert_close(dx, cnnkit.numerical_gradient(lambda v: f(v, w, b, **kwargs), x, dout), 1e-7)
    assert_close(dw, cnnkit.numerical_gradient(lambda v: f(x, v, b, **kwargs), w, dout), 1e-7)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding="same", dilation=1), dict(padding=1, dilation=2)],
                         ids=_ids)
def test_separable_gradients_match_numerical(rng, kwargs):
    x, w_dw, _ = random_depthwise_case(rng, np.float64, 2, 2, 2, (6, 6), (3, 3))
    w_pw = rng.standard_normal((3, 4, 1, 1))
    b = rng.standard_normal(3)
    f = cnnkit.separable_conv2d
    dout = rng.standard_normal(f(x, w_dw, w_pw, b, **kwargs).shape)
    grads = cnnkit.separable_conv2d_backward(dout, x, w_dw, w_pw, **kwargs)
    expected = [
        cnnkit.numerical_gradient(lambda v: f(v, w_dw, w_pw, b, **kwargs), x, dout),
        cnnkit.numerical_gradient(lambda v: f(x, v, w_pw, b, **kwargs), w_dw, dout),
        cnnkit.numerical_gradient(lambda v: f(x, w_dw, v, b, **kwargs), w_pw, dout),
        cnnkit.numerical_gradient(lambda v: f(x, w_dw, w_pw, v, **kwargs), b, dout),
    ]
    for name, got, want in zip(("dx", "dw_depthwise", "dw_pointwise", "db"), grads, expected):
        assert_close(got, want, 1e-7, name)


# ----------------------------------------------------------------------------
# Contract
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("padding", [0, 1])
def test_inputs_untouched_and_outputs_new(rng, padding):
    x, w, b = random_depthwise_case(rng, np.float32, 2, 3, 2, (5, 6), (3, 3))
    w_pw = rng.standard_normal((4, 6, 1, 1)).astype(np.float32)
    dout = _dout_for(rng, x, w, padding=padding)
    dout_sep = rng.standard_normal((2, 4, *dout.shape[2:])).astype(np.float32)
    inputs = (x, w, b, w_pw, dout, dout_sep)
    copies = [a.copy() for a in inputs]
    results = [cnnkit.depthwise_conv2d(x, w, b, padding=padding),
               *cnnkit.depthwise_conv2d_backward(dout, x, w, padding=padding),
               cnnkit.separable_conv2d(x, w, w_pw, b[:4], padding=padding),
               *cnnkit.separable_conv2d_backward(dout_sep, x, w, w_pw, padding=padding)]
    for a, c in zip(inputs, copies):
        np.testing.assert_array_equal(a, c)
    for r in results:
        assert r.dtype == np.float32 and r.flags.writeable
        assert not any(np.shares_memory(r, a) for a in inputs)


def test_dtypes_promote_and_lists_work():
    x = np.arange(2 * 2 * 4 * 4).reshape(2, 2, 4, 4)
    w = np.ones((2, 1, 3, 3), dtype=np.int32)
    out = cnnkit.depthwise_conv2d(x.tolist(), w, np.zeros(2, np.float32))
    assert out.dtype == np.float64
    assert_close(out, depthwise_conv2d_naive(x.astype(float), w.astype(float)))
    x32 = x.astype(np.float32)
    assert cnnkit.depthwise_conv2d(x32, w.astype(np.float32), np.zeros(2)).dtype == np.float32  # bias follows
    grads = cnnkit.depthwise_conv2d_backward(np.ones((2, 2, 2, 2)), x32, w.astype(np.float32))
    assert {g.dtype for g in grads} == {np.dtype(np.float64)}


def test_empty_batch():
    out = cnnkit.depthwise_conv2d(np.zeros((0, 3, 6, 6)), np.ones((3, 2, 3, 3)))
    assert out.shape == (0, 6, 4, 4)
    dx, dw, db = cnnkit.depthwise_conv2d_backward(np.zeros((0, 6, 4, 4)), np.zeros((0, 3, 6, 6)), np.ones((3, 2, 3, 3)))
    assert dx.shape == (0, 3, 6, 6) and not dw.any() and db.shape == (6,)


@pytest.mark.parametrize("call, message", [
    (lambda: cnnkit.depthwise_conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 1, 3, 3))),
     r"depthwise_conv2d: w must be \(C, M, KH, KW\) with C = 3 .* got w of shape \(2, 1, 3, 3\)"),
    (lambda: cnnkit.depthwise_conv2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 3, 3))),
     r"depthwise_conv2d: w must be 4-D \(C, M, KH, KW\), got shape \(3, 3, 3\)"),
    (lambda: cnnkit.depthwise_conv2d(np.zeros((3, 5, 5)), np.zeros((3, 1, 3, 3))),
     r"depthwise_conv2d: x must be 4-D \(N, C, H, W\)"),
    (lambda: cnnkit.depthwise_conv2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros(3)),
     r"depthwise_conv2d: b must have shape \(6,\) \(one bias per output channel, C\*M = 3\*2"),
    (lambda: cnnkit.depthwise_conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))),
     r"depthwise_conv2d: kernel along H of size 3"),
    (lambda: cnnkit.depthwise_conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=0),
     r"depthwise_conv2d: stride must be >= 1"),
    (lambda: cnnkit.depthwise_conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), padding="half"),
     r"depthwise_conv2d: padding must be"),
    (lambda: cnnkit.depthwise_conv2d(np.zeros((1, 1, 5, 5)), np.array([["a"]])),
     r"depthwise_conv2d: w must be a real numeric array"),
    (lambda: cnnkit.depthwise_conv2d_backward(np.zeros((1, 3, 3, 3)), np.zeros((1, 3, 5, 5)), np.zeros((3, 2, 3, 3))),
     r"depthwise_conv2d_backward: dout must have shape \(1, 6, 3, 3\)"),
    (lambda: depthwise_conv2d_naive(np.zeros((1, 3, 5, 5)), np.zeros((1, 3, 3, 3))),
     r"depthwise_conv2d_naive: w must be \(C, M, KH, KW\) with C = 3"),
    (lambda: cnnkit.separable_conv2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros((4, 3, 1, 1))),
     r"separable_conv2d: w_pointwise must be \(F, C\*M, 1, 1\) with C\*M = 6.* got shape \(4, 3, 1, 1\)"),
    (lambda: cnnkit.separable_conv2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros((4, 6))),
     r"separable_conv2d: w_pointwise must be 4-D \(F, C\*M, 1, 1\)"),
    (lambda: cnnkit.separable_conv2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros((4, 6, 1, 1)),
                                     np.zeros(6)),
     r"separable_conv2d: b must have shape \(4,\)"),
    (lambda: cnnkit.separable_conv2d_backward(np.zeros((1, 6, 3, 3)), np.zeros((1, 3, 5, 5)),
                                              np.zeros((3, 2, 3, 3)), np.zeros((4, 6, 1, 1))),
     r"separable_conv2d_backward: dout must have shape \(1, 4, 3, 3\)"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# ----------------------------------------------------------------------------
# Against TensorFlow and Keras (NHWC; depthwise kernels (KH, KW, C, M))
# ----------------------------------------------------------------------------


def _tf_depthwise(tf, x, k, stride, padding, dilation):
    """``tf.nn.depthwise_conv2d`` with cnnkit's padding argument (x NHWC, k TF's (KH, KW, C, M))."""
    if isinstance(padding, str) and padding in ("valid", "same"):
        tf_pad = padding.upper()
    else:
        if padding == "full":
            (dh, dw), (kh, kw) = pair(dilation), k.shape[:2]
            ph, pw = dh * (kh - 1), dw * (kw - 1)
        else:
            ph, pw = pair(padding)
        x, tf_pad = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]]), "VALID"
    sh, sw = pair(stride)
    return tf.nn.depthwise_conv2d(x, k, [1, sh, sw, 1], tf_pad, dilations=pair(dilation))


# TensorFlow's depthwise kernel wants equal strides on both axes and no stride > 1 with dilation > 1.
TF_GRID = [(s, p, d) for s, p, d in GRID if pair(s)[0] == pair(s)[1] and (pair(s) == (1, 1) or pair(d) == (1, 1))]


@against_tensorflow(TF_GRID)
def test_matches_tensorflow(tf, rng, dtype, stride, padding, dilation):
    x, w, _ = random_depthwise_case(rng, dtype, 2, 3, 2, (9, 8), (3, 2))
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    dout = _dout_for(rng, x, w, **kwargs)
    xt, wt = tf.constant(cnnkit.nchw_to_nhwc(x)), tf.constant(w.transpose(2, 3, 0, 1))
    with tf.GradientTape() as tape:
        tape.watch([xt, wt])
        out = _tf_depthwise(tf, xt, wt, stride, padding, dilation)
    gx, gw = tape.gradient(out, [xt, wt], output_gradients=cnnkit.nchw_to_nhwc(dout))
    what = f"stride={stride}, padding={padding!r}, dilation={dilation}"
    assert_close(cnnkit.depthwise_conv2d(x, w, **kwargs), cnnkit.nhwc_to_nchw(out.numpy()), what=what)
    dx, dw, _ = cnnkit.depthwise_conv2d_backward(dout, x, w, **kwargs)
    assert_close(dx, cnnkit.nhwc_to_nchw(gx.numpy()), what=f"dx: {what}")
    assert_close(dw, gw.numpy().transpose(2, 3, 0, 1), what=f"dw: {what}")


@pytest.mark.tf
@pytest.mark.parametrize("padding, stride, dilation", [("valid", 1, 1), ("same", 2, 1), ("same", 1, 2)])
def test_matches_keras_layers(tf, rng, padding, stride, dilation):
    import keras

    x, w_dw, b_dw = random_depthwise_case(rng, np.float64, 2, 3, 2, (9, 8), (3, 3))
    w_pw, b = rng.standard_normal((4, 6, 1, 1)), rng.standard_normal(4)
    x_nhwc = cnnkit.nchw_to_nhwc(x)
    kwargs = dict(strides=stride, padding=padding, dilation_rate=dilation, depth_multiplier=2, dtype="float64")
    depthwise = keras.layers.DepthwiseConv2D(3, **kwargs)
    depthwise.build(x_nhwc.shape)
    depthwise.set_weights([w_dw.transpose(2, 3, 0, 1), b_dw])
    ours = cnnkit.depthwise_conv2d(x, w_dw, b_dw, stride=stride, padding=padding, dilation=dilation)
    assert_close(ours, cnnkit.nhwc_to_nchw(np.asarray(depthwise(x_nhwc))))
    separable = keras.layers.SeparableConv2D(4, 3, **kwargs)
    separable.build(x_nhwc.shape)
    separable.set_weights([w_dw.transpose(2, 3, 0, 1), cnnkit.oihw_to_hwio(w_pw), b])
    ours = cnnkit.separable_conv2d(x, w_dw, w_pw, b, stride=stride, padding=padding, dilation=dilation)
    assert_close(ours, cnnkit.nhwc_to_nchw(np.asarray(separable(x_nhwc))))
