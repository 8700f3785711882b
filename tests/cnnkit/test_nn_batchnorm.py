"""cnnkit.nn.BatchNormalization (and Dropout's semantics) against the ops and against Keras.

The layer is cnnkit's op with its moving statistics as state: these tests
check that it trains and infers as Keras's layer does (same weights, same
outputs in both modes, the same moving statistics after the same training
steps), that it saves and loads its state, and that ``to_keras`` carries
all four arrays, also on vectors after a ``Flatten``, whose order differs.
"""

import numpy as np
import pytest

import cnnkit
from cnnkit import nn


def bn_model(dtype="float64", seed=0):
    """Batch normalisation on maps (per channel) and on flattened vectors (per feature)."""
    return nn.Sequential([
        nn.Input((2, 6, 6)),
        nn.Conv2D(3, 3), nn.BatchNormalization(momentum=0.9), nn.ReLU(),
        nn.MaxPool2D(2), nn.Flatten(), nn.BatchNormalization(epsilon=1e-2), nn.Dense(4),
    ], seed=seed, dtype=dtype)


def _randomise(model, rng):
    """Non-trivial gamma, beta and moving statistics (a fresh layer holds ones and zeros)."""
    for layer in model.layers:
        if isinstance(layer, nn.BatchNormalization):
            features = layer.params["gamma"].shape
            layer.params["gamma"] = rng.uniform(0.5, 2, features)
            layer.params["beta"] = rng.standard_normal(features)
            layer.state["moving_mean"] = rng.standard_normal(features)
            layer.state["moving_variance"] = rng.uniform(0.5, 2, features)


def test_the_layer_is_the_op(rng):
    layer = nn.BatchNormalization(momentum=0.8, epsilon=1e-4)
    x = rng.standard_normal((5, 3, 4, 4))
    layer.build(x.shape[1:], dtype=np.float64)
    assert layer.count_params() == 12 and sorted(layer.params) == ["beta", "gamma"]
    out = layer.forward(x, training=True)
    want, cache, mean, var = cnnkit.batchnorm_forward(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True,
                                                      momentum=0.8, eps=1e-4)
    np.testing.assert_allclose(out, want)
    np.testing.assert_allclose(layer.state["moving_mean"], mean)
    np.testing.assert_allclose(layer.state["moving_variance"], var)
    dout = rng.standard_normal(x.shape)
    dx = layer.backward(dout)
    want_dx, dgamma, dbeta = cnnkit.batchnorm_backward(dout, cache)
    np.testing.assert_allclose(dx, want_dx)
    np.testing.assert_allclose(layer.grads["gamma"], dgamma)
    np.testing.assert_allclose(layer.grads["beta"], dbeta)
    before = {k: v.copy() for k, v in layer.state.items()}
    layer.forward(x)  # inference: the moving statistics stay
    for key, value in before.items():
        np.testing.assert_array_equal(layer.state[key], value)
    assert type(layer)(**layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("call, error, words", [
    (lambda: nn.BatchNormalization(momentum=2.0), ValueError, "momentum must be in [0, 1]"),
    (lambda: nn.BatchNormalization(epsilon=0.0), ValueError, "epsilon must be positive"),
    (lambda: nn.BatchNormalization(momentum="high"), TypeError, "momentum must be a real number"),
])
def test_bad_settings_are_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_model_gradient_with_batchnorm_matches_numerical(rng):
    model = bn_model()
    _randomise(model, rng)
    x, y = rng.standard_normal((4, 2, 6, 6)), np.array([0, 3, 1, 2])
    _, dlogits = nn.softmax_cross_entropy(model.forward(x, training=True), y)
    dx = model.backward(dlogits)
    numeric = cnnkit.numerical_gradient(
        lambda v: np.array(nn.softmax_cross_entropy(model.forward(v, training=True), y)[0]), x, np.array(1.0))
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-9)


def test_save_and_load_keep_the_moving_statistics(rng, tmp_path):
    model = bn_model()
    _randomise(model, rng)
    x = rng.standard_normal((3, 2, 6, 6))
    again = nn.load(model.save(tmp_path / "bn"))
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.count_params() == model.count_params() == 57 + 12 + 4 * 12 + 52
    weights = model.get_weights()
    assert len(weights) == 2 + 4 + 4 + 2  # conv w, b; BN gamma, beta, moving mean, variance; ...
    fresh = bn_model()
    fresh.set_weights(weights)
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))


@pytest.mark.tf
def test_same_weights_same_outputs_as_keras_in_both_modes(rng, tf):
    model = bn_model()
    _randomise(model, rng)
    keras_model = nn.to_keras(model)
    assert keras_model.count_params() == model.count_params()
    x = rng.standard_normal((5, 2, 6, 6))
    xk = cnnkit.nchw_to_nhwc(x)
    # Keras keeps epsilon and momentum as float32 numbers (1e-2 becomes 0.0099999998): agreement to ~1e-8.
    tol = {"rtol": 1e-7, "atol": 1e-9}
    np.testing.assert_allclose(model.predict(x), keras_model.predict(xk, verbose=0), **tol)
    np.testing.assert_allclose(model.forward(x, training=True), keras_model(xk, training=True).numpy(), **tol)
    # one training-mode call moved both sets of moving statistics the same way
    for ours, theirs in zip(nn.keras_arrays(model, "weights"), keras_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, **tol)


@pytest.mark.tf
def test_gradients_in_training_mode_match_keras(rng, tf):
    model = bn_model()
    _randomise(model, rng)
    keras_model = nn.to_keras(model)
    x, y = rng.standard_normal((6, 2, 6, 6)), rng.integers(0, 4, 6)
    xt = tf.constant(cnnkit.nchw_to_nhwc(x))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss_t = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, keras_model(xt, training=True)))
    grads_t = tape.gradient(loss_t, keras_model.trainable_weights + [xt])
    _, dlogits = nn.softmax_cross_entropy(model.forward(x, training=True), y)
    dx = model.backward(dlogits)
    ours = nn.keras_arrays(model, "grads")
    assert len(ours) == len(grads_t) - 1 == 8
    for got, want, weight in zip(ours, grads_t, keras_model.trainable_weights):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-7, atol=1e-9, err_msg=weight.path)
    np.testing.assert_allclose(dx, cnnkit.nhwc_to_nchw(grads_t[-1].numpy()), rtol=1e-7, atol=1e-9)


@pytest.mark.tf
def test_moving_statistics_after_the_same_training_steps_as_keras(rng, tf):
    """Four SGD steps on the same batches: the same weights and moving statistics, then the same predictions."""
    import keras

    model = bn_model()
    keras_model = nn.to_keras(model)
    model.compile(nn.SGD(learning_rate=0.1), "sparse_categorical_crossentropy")
    keras_model.compile(keras.optimizers.SGD(learning_rate=0.1),
                        keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for _ in range(4):
        x, y = rng.standard_normal((8, 2, 6, 6)), rng.integers(0, 4, 8)
        model.train_on_batch(x, y)
        keras_model.train_on_batch(cnnkit.nchw_to_nhwc(x), y)
    # Keras's loss computes in float32, so agreement is to float32's precision.
    for ours, theirs in zip(nn.keras_arrays(model, "weights"), keras_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    bn = model.layers[1]
    assert not np.allclose(bn.state["moving_mean"], 0)  # they did move
    x = rng.standard_normal((5, 2, 6, 6))
    np.testing.assert_allclose(model.predict(x), keras_model.predict(cnnkit.nchw_to_nhwc(x), verbose=0),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.tf
def test_dropout_layer_has_keras_semantics(tf):
    """nn.Dropout and keras.layers.Dropout: kept values scaled by 1/(1-rate) in training, identity at inference."""
    import keras

    x = np.random.default_rng(0).uniform(1, 2, (100, 60))
    ours, theirs = nn.Dropout(0.4, seed=1), keras.layers.Dropout(0.4, seed=1, dtype="float64")
    ours.build((60,), dtype=np.float64)
    for out in (ours.forward(x, training=True), theirs(x, training=True).numpy()):
        kept = out != 0
        np.testing.assert_allclose(out[kept], x[kept] / 0.6, rtol=1e-12)
        assert abs(1 - kept.mean() - 0.4) < 0.03
    np.testing.assert_array_equal(ours.forward(x), theirs(x, training=False).numpy())
    np.testing.assert_array_equal(ours.forward(x), x)
