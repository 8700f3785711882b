"""cnnkit.nn.Sequential: summary and gradients against Keras, optimizers, training, saving, errors."""

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.data import load_images
from cnnkit.nn.models import lenet_style


def varied(seed=0, dtype="float32"):
    """Every layer kind and the padding / stride / dilation settings Keras also has."""
    return nn.Sequential([
        nn.Input((2, 11, 10)),
        nn.Conv2D(4, 3, padding="same"), nn.ReLU(),
        nn.MaxPool2D(2),                                   # 11x10 -> 5x5 (last row left out)
        nn.Conv2D(5, (3, 2), stride=2, padding="same"), nn.ReLU(),
        nn.AvgPool2D(2, stride=1, padding="same"),
        nn.Conv2D(6, 2, dilation=2, padding="same"),
        nn.Flatten(), nn.Dense(7), nn.ReLU(), nn.Dropout(0.1), nn.Dense(3),
    ], seed=seed, dtype=dtype)


def gap_model():
    return nn.Sequential([nn.Input((3, 8, 8)), nn.Conv2D(4, 3), nn.ReLU(), nn.GlobalAvgPool2D(), nn.Dense(5)])


# ----------------------------------------------------------------------------
# summary() and count_params() against Keras
# ----------------------------------------------------------------------------


def test_summary_prints_every_layer(capsys):
    model = lenet_style()
    model.summary()
    text = capsys.readouterr().out
    for row in ["conv2d (Conv2D)", "(None, 32, 26, 26)", "320", "(None, 64, 5, 5)", "18,496", "(None, 1600)",
                "16,010", "Total params: 34,826"]:
        assert row in text, row
    assert model.count_params() == 34826


@pytest.mark.tf
@pytest.mark.parametrize("build", [lenet_style, varied, gap_model], ids=["case-study", "varied", "gap"])
def test_shapes_and_parameters_equal_keras(tf, build):
    model = build()
    keras_model = nn.to_keras(model)
    assert len(keras_model.layers) == len(model.layers)
    for ours, theirs in zip(model.layers, keras_model.layers):
        shape = tuple(theirs.output.shape)[1:]
        if len(shape) == 3:
            shape = (shape[2], shape[0], shape[1])  # (H, W, C) -> (C, H, W)
        assert ours.output_shape == shape, ours.name
        assert ours.count_params() == theirs.count_params(), ours.name
    assert model.count_params() == keras_model.count_params()


@pytest.mark.tf
def test_the_benchmarks_two_models_are_one_network(tf):
    from cnnkit.nn.models import lenet_style_keras

    ours, theirs = lenet_style(), lenet_style_keras()
    assert ours.count_params() == theirs.count_params() == 34826
    assert [l.count_params() for l in nn.to_keras(ours).layers if l.count_params()] == \
        [l.count_params() for l in theirs.layers if l.count_params()]


def test_chapter_6_model_counts_like_keras(tf):
    import keras
    from keras import layers

    keras_model = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dropout(0.25), layers.Dense(10)])
    ours = nn.Sequential([nn.Input((1, 28, 28)), nn.Conv2D(16, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(32, 3),
                          nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(), nn.Dropout(0.25), nn.Dense(10)])
    assert ours.count_params() == keras_model.count_params() == 12810
    keras_params = [l.count_params() for l in keras_model.layers]
    ours_params = [l.count_params() for l in ours.layers if not isinstance(l, nn.ReLU)]
    assert ours_params == keras_params


# ----------------------------------------------------------------------------
# A whole model's gradients against tf.GradientTape, on the same weights
# ----------------------------------------------------------------------------


@pytest.mark.tf
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_model_gradients_match_gradient_tape(tf, rng, dtype, rtol):
    model = varied(dtype=dtype)
    keras_model = nn.to_keras(model)
    x = rng.standard_normal((6, 2, 11, 10)).astype(dtype)
    y = rng.integers(0, 3, 6)
    xt = tf.constant(cnnkit.nchw_to_nhwc(x))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        logits_t = keras_model(xt, training=False)  # dropout off on both sides
        # tf.nn's loss keeps the logits' dtype (Keras's loss objects compute in float32).
        loss_t = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits_t))
    grads_t = tape.gradient(loss_t, keras_model.trainable_weights + [xt])

    logits = model.forward(x)
    loss, dlogits = nn.softmax_cross_entropy(logits, y)
    dx = model.backward(dlogits)
    atol = 1e-12 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(logits, logits_t.numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(loss, float(loss_t), rtol=rtol)
    ours = nn.keras_arrays(model, which="grads")
    assert len(ours) == len(grads_t) - 1 == 10
    for k, (got, want) in enumerate(zip(ours, grads_t)):
        np.testing.assert_allclose(got, want.numpy(), rtol=rtol, atol=atol, err_msg=keras_model.trainable_weights[k].path)
    np.testing.assert_allclose(dx, cnnkit.nhwc_to_nchw(grads_t[-1].numpy()), rtol=rtol, atol=atol)


def test_model_gradient_matches_numerical(rng):
    model = varied(dtype="float64")
    x = rng.standard_normal((3, 2, 11, 10))
    y = np.array([0, 2, 1])
    loss, dlogits = nn.softmax_cross_entropy(model.forward(x), y)
    dx = model.backward(dlogits)
    numeric = cnnkit.numerical_gradient(lambda v: np.array(nn.softmax_cross_entropy(model.forward(v), y)[0]),
                                        x, np.array(1.0))
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------
# Loss and optimizers
# ----------------------------------------------------------------------------


def test_softmax_cross_entropy_is_stable_and_right(rng):
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    y = np.array([0, 1])
    loss, dlogits = nn.softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss, -np.log(p[[0, 1], y]).mean())
    np.testing.assert_allclose(dlogits, (p - np.eye(3)[y]) / 2)
    big, dbig = nn.softmax_cross_entropy(logits * 1000, y)  # exp(2000) overflows without the shift
    assert np.isfinite(big) and np.isfinite(dbig).all()
    np.testing.assert_allclose(big, 0.0, atol=1e-9)  # both rows right by a margin of 1000 or more: loss 0
    worst, _ = nn.softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    np.testing.assert_allclose(worst, 2000.0)  # not inf: log-probabilities, not logs of 0
    z = rng.standard_normal((4, 5))
    labels = np.array([0, 4, 2, 2])
    numeric = cnnkit.numerical_gradient(lambda v: np.array(nn.softmax_cross_entropy(v, labels)[0]), z, np.array(1.0))
    np.testing.assert_allclose(nn.softmax_cross_entropy(z, labels)[1], numeric, rtol=1e-7, atol=1e-10)


@pytest.mark.tf
@pytest.mark.parametrize("make", [
    lambda k: (nn.SGD(0.1), k.optimizers.SGD(0.1)),
    lambda k: (nn.SGD(0.05, momentum=0.9), k.optimizers.SGD(0.05, momentum=0.9)),
    lambda k: (nn.Adam(0.01), k.optimizers.Adam(0.01)),
], ids=["sgd", "momentum", "adam"])
def test_optimizers_step_like_keras(tf, rng, make):
    import keras

    ours, theirs = make(keras)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    var = keras.Variable(w.copy())
    for step in range(4):
        g = rng.standard_normal((3, 4)).astype(np.float32)
        ours.step([("w", w, g)])
        theirs.apply_gradients([(tf.constant(g), var)])
        np.testing.assert_allclose(w, var.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"step {step + 1}")


def test_momentum_remembers_its_velocity():
    opt = nn.SGD(0.1, momentum=0.5)
    w = np.zeros(1)
    for _ in range(3):
        opt.step([("w", w, np.ones(1))])
    # v: -0.1, -0.15, -0.175; w is their sum
    np.testing.assert_allclose(w, [-0.425])


# ----------------------------------------------------------------------------
# Training, determinism, saving
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load_images("digits", seed=0, layout="NCHW")


def small_cnn(seed=0):
    return nn.Sequential([nn.Input((1, 8, 8)), nn.Conv2D(8, 3, padding="same"), nn.ReLU(), nn.MaxPool2D(2),
                          nn.Flatten(), nn.Dropout(0.2), nn.Dense(10)], seed=seed)


def test_seeded_training_lowers_the_loss_and_repeats(digits):
    histories = []
    for _ in range(2):
        model = small_cnn()
        model.compile(optimizer=nn.Adam(learning_rate=1e-2), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(digits.x_train, digits.y_train, epochs=4, batch_size=32,
                            validation_data=(digits.x_val, digits.y_val), verbose=0)
        histories.append(history)
    history = histories[0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 4 and all(isinstance(e, float) for e in v) for v in history.history.values())
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    assert histories[1].history == history.history  # same seed, same run
    loss, accuracy = model.evaluate(digits.x_test, digits.y_test, verbose=0)
    assert accuracy > 0.9 and loss < 0.4
    logits = model.predict(digits.x_test)
    assert logits.shape == (len(digits.y_test), 10) and logits.dtype == np.float32
    assert np.isclose(np.mean(logits.argmax(axis=1) == digits.y_test), accuracy)


def test_sgd_with_momentum_trains(digits):
    model = small_cnn(seed=1)
    model.compile(nn.SGD(learning_rate=0.05, momentum=0.9), "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(digits.x_train, digits.y_train, epochs=3, batch_size=32, verbose=0)
    assert history["loss"][-1] < 0.5 * history["loss"][0] and history["accuracy"][-1] > 0.85


def test_different_seeds_differ(digits):
    a, b = small_cnn(seed=0), small_cnn(seed=1)
    assert not np.array_equal(a.layers[0].params["w"], b.layers[0].params["w"])


def test_train_on_batch_is_one_step(digits):
    model = small_cnn()
    model.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    x, y = digits.x_train[:16], digits.y_train[:16]
    before = [w.copy() for w in model.get_weights()]
    loss, accuracy = model.train_on_batch(x, y)
    assert 0 <= accuracy <= 1 and loss > 0
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_verbose_shows_a_progress_bar(digits, capsys):
    model = small_cnn()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(digits.x_train[:200], digits.y_train[:200], epochs=2, batch_size=50, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(digits.x_train[:200], digits.y_train[:200], epochs=2, batch_size=50, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "4/4 [==============================]" in out and "loss:" in out


def test_float64_data_train_in_float64(digits):
    model = small_cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(digits.x_train[:64].astype(np.float64), digits.y_train[:64], verbose=0)
    assert model.dtype == np.float64 and all(w.dtype == np.float64 for w in model.get_weights())
    assert model.predict(digits.x_test[:3]).dtype == np.float64


def test_save_and_load_round_trip(digits, tmp_path):
    model = small_cnn()
    model.compile(nn.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(digits.x_train, digits.y_train, epochs=1, batch_size=64, verbose=0)
    path = model.save(tmp_path / "digits")
    assert path.name == "digits.npz" and path.exists()
    assert nn.load(tmp_path / "digits").count_params() == model.count_params()  # the name given to save
    again = nn.load(path)
    np.testing.assert_array_equal(again.predict(digits.x_test), model.predict(digits.x_test))
    assert [type(l) for l in again.layers] == [type(l) for l in model.layers]
    assert [l.name for l in again.layers] == [l.name for l in model.layers]
    assert isinstance(again.optimizer, nn.SGD) and again.optimizer.momentum == 0.9
    assert again.evaluate(digits.x_test, digits.y_test) == model.evaluate(digits.x_test, digits.y_test)
    again.fit(digits.x_train[:64], digits.y_train[:64], verbose=0)  # compiled: it can train on
    with np.load(path, allow_pickle=False) as archive:
        assert "conv2d/w" in archive.files and archive["conv2d/w"].shape == (8, 1, 3, 3)


# ----------------------------------------------------------------------------
# Bad input: the argument, what was expected, what came
# ----------------------------------------------------------------------------


@pytest.fixture
def compiled():
    model = small_cnn()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return model


def test_nhwc_data_are_refused_with_the_conversion(compiled):
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 8, 8\).*got shape \(5, 8, 8, 1\).*NHWC.*"
                                         r"cnnkit.nhwc_to_nchw"):
        compiled.fit(np.zeros((5, 8, 8, 1), np.float32), np.zeros(5, int), verbose=0)


@pytest.mark.parametrize("x, y, error, match", [
    (np.zeros((5, 8, 8)), np.zeros(5, int), ValueError, r"x must have shape \(N, 1, 8, 8\).*channel axis is missing"),
    (np.zeros((5, 3, 8, 8)), np.zeros(5, int), ValueError, r"x must have shape \(N, 1, 8, 8\).*got shape \(5, 3, 8, 8\)"),
    (np.full((5, 1, 8, 8), "a"), np.zeros(5, int), TypeError, r"x must be a real numeric array.*got dtype <U1"),
    (np.zeros((5, 1, 8, 8)), np.array([0, 1, 2, 3, 10]), ValueError, r"y must hold labels in \[0, 10\).*from 0 to 10"),
    (np.zeros((5, 1, 8, 8)), np.array([0, 1, 2, 3, -1]), ValueError, r"y must hold labels in \[0, 10\)"),
    (np.zeros((5, 1, 8, 8)), np.eye(10)[:5], ValueError, r"y must be 1-D \(N,\) integer labels \(one-hot"),
    (np.zeros((5, 1, 8, 8)), np.zeros(4, int), ValueError, r"one label per example, N = 5, got 4"),
    (np.zeros((5, 1, 8, 8)), np.full(5, 0.5), TypeError, r"y must hold integer class labels, got dtype float64"),
])
def test_bad_data(compiled, x, y, error, match):
    with pytest.raises(error, match=match):
        compiled.fit(x, y, verbose=0)


def test_fit_before_compile():
    with pytest.raises(ValueError, match=r"fit: the model is not compiled: call model.compile"):
        small_cnn().fit(np.zeros((2, 1, 8, 8)), np.zeros(2, int), verbose=0)
    with pytest.raises(ValueError, match=r"evaluate: the model is not compiled"):
        small_cnn().evaluate(np.zeros((2, 1, 8, 8)), np.zeros(2, int))


@pytest.mark.parametrize("kwargs, match", [
    (dict(optimizer="rmsprop"), r"optimizer must be nn.SGD\(...\), nn.Adam\(...\) or one of \('sgd', 'adam'\), got 'rmsprop'"),
    (dict(loss="mse"), r"loss must be one of \('sparse_categorical_crossentropy',\).*got 'mse'"),
    (dict(metrics=["precision"]), r"metrics must be a list of \('accuracy',\), got \['precision'\]"),
])
def test_bad_compile(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small_cnn().compile(**{"optimizer": "adam", "loss": "sparse_categorical_crossentropy", **kwargs})


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(epochs=0), ValueError, "epochs must be >= 1, got 0"),
    (dict(batch_size=2.0), TypeError, "batch_size must be an int, got 2.0"),
    (dict(verbose=3), ValueError, "verbose must be 0, 1 or 2"),
    (dict(validation_data=np.zeros((2, 1, 8, 8))), ValueError, r"validation_data must be a pair \(x_val, y_val\)"),
])
def test_bad_fit_arguments(compiled, kwargs, error, match):
    with pytest.raises(error, match=match):
        compiled.fit(np.zeros((2, 1, 8, 8)), np.zeros(2, int), **{"verbose": 0, **kwargs})


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.SGD(-1), ValueError, "learning_rate must be > 0"),
    (lambda: nn.SGD(0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
    (lambda: nn.Adam("fast"), TypeError, "learning_rate must be a number"),
])
def test_bad_optimizer_settings(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_model_needs_its_input_shape():
    model = nn.Sequential([nn.Conv2D(2, 3), nn.Flatten(), nn.Dense(3)])
    with pytest.raises(ValueError, match=r"no input shape yet: start it with nn.Input"):
        model.summary()
    model.build((1, 5, 5))
    assert model.count_params() == 20 + 18 * 3 + 3
    with pytest.raises(ValueError, match="nn.Input"):
        nn.Sequential([nn.Dense(2), nn.Input((3,))])
    with pytest.raises(TypeError, match="layer must be an nn layer"):
        nn.Sequential([nn.Input((3,)), "dense"])


def test_load_refuses_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a cnnkit.nn model file"):
        nn.load(tmp_path / "other.npz")
