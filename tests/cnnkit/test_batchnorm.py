"""Batch normalisation and dropout: against loops, against numerical gradients, and against Keras.

Three layers, as for every op: a naive loop over the features written from
the formulas, the analytic gradients against ``cnnkit.numerical_gradient``
(float64), and Keras's ``BatchNormalization`` / ``Dropout`` layers in both
modes, with the moving statistics after several training steps.
"""

import numpy as np
import pytest

from cnnkit import (
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    nchw_to_nhwc,
    nhwc_to_nchw,
    numerical_gradient,
)

SHAPES = [(5, 3), (1, 4), (4, 2, 3, 3), (1, 3, 2, 2)]


def _stats(shape, rng):
    features = shape[1]
    return (rng.standard_normal(features), rng.standard_normal(features), rng.standard_normal(features),
            rng.uniform(0.5, 2.0, features))


# --- against loops -------------------------------------------------------------

def batchnorm_loop(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    """One feature (channel) at a time, its values listed one by one."""
    out = np.empty_like(x)
    new_mean, new_var = running_mean.copy(), running_var.copy()
    for f in range(x.shape[1]):
        values = [x[(n, f) + rest] for n in range(x.shape[0]) for rest in np.ndindex(x.shape[2:])]
        if training:
            mu = sum(values) / len(values)
            var = sum((v - mu) ** 2 for v in values) / len(values)
            new_mean[f] = momentum * running_mean[f] + (1 - momentum) * mu
            new_var[f] = momentum * running_var[f] + (1 - momentum) * var
        else:
            mu, var = running_mean[f], running_var[f]
        for n in range(x.shape[0]):
            for rest in np.ndindex(x.shape[2:]):
                out[(n, f) + rest] = gamma[f] * (x[(n, f) + rest] - mu) / np.sqrt(var + eps) + beta[f]
    return out, new_mean, new_var


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("momentum, eps", [(0.99, 1e-3), (0.9, 1e-5), (0.0, 0.5)])
def test_batchnorm_forward_matches_the_loop(shape, training, momentum, eps):
    rng = np.random.default_rng(0)
    x = 3 + 2 * rng.standard_normal(shape)
    args = (x, *_stats(shape, rng))
    out, _, mean, var = batchnorm_forward(*args, training=training, momentum=momentum, eps=eps)
    want = batchnorm_loop(*args, training, momentum, eps)
    for got, expected in zip((out, mean, var), want):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_batchnorm_forward_keeps_its_inputs_and_their_dtype():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    stats = [s.astype(np.float32) for s in _stats(x.shape, rng)]
    copies = [a.copy() for a in (x, *stats)]
    out, _, mean, var = batchnorm_forward(x, *stats, training=True)
    assert out.dtype == mean.dtype == var.dtype == np.float32
    for before, after in zip(copies, (x, *stats)):
        np.testing.assert_array_equal(before, after)
    out, _, _, _ = batchnorm_forward(np.arange(6).reshape(3, 2), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2),
                                     training=True)
    assert out.dtype == np.float64


def test_batchnorm_forward_in_float64_holds_what_float32_cannot():
    rng = np.random.default_rng(2)
    x = 1e4 + 1e-2 * rng.standard_normal((6, 2))  # float32 rounds these to steps of 1e-3
    out, _, _, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), training=True, eps=1e-12)
    np.testing.assert_allclose(out, (x - x.mean(0)) / x.std(0), atol=1e-6)


def test_inference_ignores_the_batch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3))
    gamma, beta, mean, var = _stats(x.shape, rng)
    whole, _, m, v = batchnorm_forward(x, gamma, beta, mean, var, training=False)
    one, _, _, _ = batchnorm_forward(x[:1], gamma, beta, mean, var, training=False)
    np.testing.assert_allclose(whole[:1], one)
    np.testing.assert_array_equal(m, mean)
    np.testing.assert_array_equal(v, var)


@pytest.mark.parametrize("call, error, words", [
    (lambda: batchnorm_forward(np.ones((2, 3, 4)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True),
     ValueError, "x must be 2-D (N, D) or 4-D (N, C, H, W)"),
    (lambda: batchnorm_forward(np.ones((2, 3)), np.ones(2), np.zeros(3), np.zeros(3), np.ones(3), True),
     ValueError, "gamma must have shape (3,)"),
    (lambda: batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), "train"),
     TypeError, "training must be True or False"),
    (lambda: batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True,
                               momentum=1.5), ValueError, "momentum must be in [0, 1]"),
    (lambda: batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True,
                               eps=-1.0), ValueError, "eps must be >= 0"),
    (lambda: batchnorm_forward(np.ones((0, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True),
     ValueError, "at least one value per feature"),
    (lambda: batchnorm_backward(np.ones((2, 3)), "cache"), TypeError, "cache must be the tuple"),
    (lambda: dropout_forward(np.ones(3), 1.0, True), ValueError, "rate must be in [0, 1)"),
    (lambda: dropout_forward(np.ones(3), "0.5", True), TypeError, "rate must be a real number"),
    (lambda: dropout_forward(np.ones(3), 0.5, True, seed=0.5), TypeError, "seed must be an int"),
    (lambda: dropout_backward(np.ones(4), np.ones(3)), ValueError, "dout must have shape (3,)"),
])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), str(info.value)


def test_dropout_matches_a_loop_over_the_mask():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 2, 2))
    for rate in (0.0, 0.25, 0.5, 0.9):
        out, mask = dropout_forward(x, rate, training=True, seed=7)
        draws = np.random.default_rng(7).random(x.shape)
        for index in np.ndindex(x.shape):
            kept = draws[index] >= rate
            assert out[index] == pytest.approx(x[index] / (1 - rate) if kept else 0.0, rel=1e-15, abs=0)
        dout = rng.standard_normal(x.shape)
        np.testing.assert_array_equal(dropout_backward(dout, mask), dout * mask)


def test_dropout_at_inference_and_rate_zero_is_the_identity():
    x = np.arange(12.0).reshape(3, 4)
    out, cache = dropout_forward(x, 0.5, training=False, seed=0)
    np.testing.assert_array_equal(out, x)
    assert cache is None and out is not x
    np.testing.assert_array_equal(dropout_backward(x, cache), x)
    out, mask = dropout_forward(x, 0.0, training=True, seed=0)
    np.testing.assert_array_equal(out, x)


def test_dropout_keeps_the_expectation():
    x = np.full(200_000, 3.0)
    out, _ = dropout_forward(x, 0.3, training=True, seed=1)
    assert abs(out.mean() - 3.0) < 0.03 and abs((out == 0).mean() - 0.3) < 0.005


# --- against numerical gradients -------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES[:1] + SHAPES[2:])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_backward_matches_numerical_gradients(shape, training):
    rng = np.random.default_rng(5)
    x = 1 + 2 * rng.standard_normal(shape)
    gamma, beta, mean, var = _stats(shape, rng)
    dout = rng.standard_normal(shape)

    def forward(x=x, gamma=gamma, beta=beta):
        return batchnorm_forward(x, gamma, beta, mean, var, training=training, eps=1e-5)[0]

    _, cache, _, _ = batchnorm_forward(x, gamma, beta, mean, var, training=training, eps=1e-5)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    np.testing.assert_allclose(dx, numerical_gradient(lambda v: forward(x=v), x, dout), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, numerical_gradient(lambda v: forward(gamma=v), gamma, dout), atol=1e-8)
    np.testing.assert_allclose(dbeta, numerical_gradient(lambda v: forward(beta=v), beta, dout), atol=1e-8)


def test_dropout_backward_matches_numerical_gradient():
    rng = np.random.default_rng(6)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    _, mask = dropout_forward(x, 0.4, training=True, seed=3)
    numerical = numerical_gradient(lambda v: dropout_forward(v, 0.4, training=True, seed=3)[0], x, dout)
    np.testing.assert_allclose(dropout_backward(dout, mask), numerical, atol=1e-8)


# --- against Keras -------------------------------------------------------------------

@pytest.mark.tf
@pytest.mark.parametrize("shape", [(8, 3), (6, 4, 5, 5)])
@pytest.mark.parametrize("momentum, eps", [(0.99, 1e-3), (0.8, 1e-5)])
def test_batchnorm_against_keras_over_several_steps(shape, momentum, eps):
    """Training steps move Keras's moving statistics exactly as cnnkit's; then both modes agree."""
    import keras

    rng = np.random.default_rng(7)
    features = shape[1]
    gamma, beta = rng.uniform(0.5, 2, features), rng.standard_normal(features)
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=eps, dtype="float64")
    keras_shape = (None, features) if len(shape) == 2 else (None, *shape[2:], features)
    layer.build(keras_shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    to_keras = (lambda a: a) if len(shape) == 2 else nchw_to_nhwc
    from_keras = (lambda a: a) if len(shape) == 2 else nhwc_to_nchw
    mean, var = np.zeros(features), np.ones(features)
    for step in range(4):
        x = step + (1 + step) * rng.standard_normal(shape)
        out, _, mean, var = batchnorm_forward(x, gamma, beta, mean, var, training=True, momentum=momentum, eps=eps)
        keras_out = from_keras(np.asarray(layer(to_keras(x), training=True)))
        np.testing.assert_allclose(out, keras_out, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mean, np.asarray(layer.moving_mean), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(var, np.asarray(layer.moving_variance), rtol=1e-9, atol=1e-12)
    x = rng.standard_normal(shape)
    out, _, _, _ = batchnorm_forward(x, gamma, beta, mean, var, training=False, momentum=momentum, eps=eps)
    np.testing.assert_allclose(out, from_keras(np.asarray(layer(to_keras(x), training=False))), rtol=1e-9, atol=1e-9)


@pytest.mark.tf
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients_against_tensorflow(training):
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 3, 4, 4))
    gamma, beta, mean, var = _stats(x.shape, rng)
    dout = rng.standard_normal(x.shape)
    layer = keras.layers.BatchNormalization(epsilon=1e-3, dtype="float64")
    layer.build((None, 4, 4, 3))
    for weight, value in zip((layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance),
                             (gamma, beta, mean, var)):
        weight.assign(value)
    xt = tf.constant(nchw_to_nhwc(x))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(layer(xt, training=training) * nchw_to_nhwc(dout))
    dx_tf, dgamma_tf, dbeta_tf = tape.gradient(loss, [xt, layer.gamma, layer.beta])
    _, cache, _, _ = batchnorm_forward(x, gamma, beta, mean, var, training=training)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    np.testing.assert_allclose(dx, nhwc_to_nchw(np.asarray(dx_tf)), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dgamma, np.asarray(dgamma_tf), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dbeta, np.asarray(dbeta_tf), rtol=1e-8, atol=1e-10)


@pytest.mark.tf
def test_dropout_against_keras_semantics():
    """Keras's Dropout draws its own mask; what it shares with cnnkit: kept values scaled, identity at inference."""
    import keras

    x = np.random.default_rng(9).uniform(1, 2, (200, 50))
    layer = keras.layers.Dropout(0.3, seed=0, dtype="float64")
    trained = np.asarray(layer(x, training=True))
    kept = trained != 0
    np.testing.assert_allclose(trained[kept], x[kept] / 0.7, rtol=1e-12)
    ours, mask = dropout_forward(x, 0.3, training=True, seed=0)
    np.testing.assert_allclose(ours[mask != 0], x[mask != 0] / 0.7, rtol=1e-12)
    assert abs((~kept).mean() - 0.3) < 0.02 and abs((mask == 0).mean() - 0.3) < 0.02
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), dropout_forward(x, 0.3, False)[0])
