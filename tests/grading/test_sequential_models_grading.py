"""Assignment 06-sequential-models: the hidden tests reward the spec's model and catch the usual mistakes.

Model parts are checked on a copy saved as ``.keras`` and loaded with safe
mode, as the grader does, so a predicate that needs something the round
trip loses would fail here first.
"""

import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

import numpy as np  # noqa: E402

from autograder.grading import get_part, run  # noqa: E402
from autograder.grading.parts import sequential_models as reference  # noqa: E402

from .conftest import Model, round_trip  # noqa: E402

ASSIGNMENT = "06-sequential-models"


def spec_layers(conv1_padding="same", conv2_filters=16, flatten=True, dropout=0.25, activation=None, pool=True):
    stack = [keras.Input(shape=(28, 28, 1)), layers.Conv2D(8, 3, padding=conv1_padding, activation="relu")]
    stack += [layers.MaxPooling2D(2)] if pool else []
    stack += [layers.Conv2D(conv2_filters, 3, activation="relu"), layers.MaxPooling2D(2)]
    stack += [layers.Flatten() if flatten else layers.GlobalAveragePooling2D()]
    stack += [layers.Dropout(dropout), layers.Dense(10, activation=activation)]
    return keras.Sequential(stack)


def compiled(model, optimizer=None, loss=None, metrics=("accuracy",)):
    model.compile(optimizer=optimizer or keras.optimizers.Adam(learning_rate=0.002),
                  loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=list(metrics))
    return model


# --- the usual wrong answers ------------------------------------------------
# Each builds a model that is right but for one mistake.

WRONG_MODELS = {
    # padding="valid" in the first convolution: 26x26, then 13, 11, 5: every later shape is off.
    "first_conv_valid": lambda: compiled(spec_layers(conv1_padding="valid")),
    # softmax on the output while the loss is told it gets logits: the classic silent bug.
    "softmax_output": lambda: compiled(spec_layers(activation="softmax")),
    # global average pooling in place of Flatten: 16 features, not 576.
    "gap_not_flatten": lambda: compiled(spec_layers(flatten=False)),
    # the first pooling forgotten: 26x26 after the second conv, far more parameters.
    "missing_pool": lambda: compiled(spec_layers(pool=False)),
    "wrong_dropout": lambda: compiled(spec_layers(dropout=0.5)),
    "wrong_filters": lambda: compiled(spec_layers(conv2_filters=32)),
    "not_a_model": lambda: "model",
}
WRONG_COMPILES = {
    "categorical_loss": lambda: compiled(spec_layers(), loss=keras.losses.CategoricalCrossentropy(from_logits=True)),
    "probabilities_loss": lambda: compiled(spec_layers(), loss="sparse_categorical_crossentropy"),
    "default_learning_rate": lambda: compiled(spec_layers(), optimizer="adam"),
    "sgd": lambda: compiled(spec_layers(), optimizer=keras.optimizers.SGD(learning_rate=0.002)),
    "no_metrics": lambda: compiled(spec_layers(), metrics=()),
    "not_compiled": lambda: spec_layers(),
}
WRONG_VALUES = {
    # pooling forgotten; "same" read as "valid"; the first convolution's channels; the notebook's own model
    "spec_flatten_units": [28 * 28 * 20, 12 * 12 * 20, 14 * 14 * 12, 576, 3920.5],
    # input channels forgotten; bias forgotten; the image's channels; a 5x5 kernel
    "spec_conv2_params": [3 * 3 * 20 + 20, 3 * 3 * 12 * 20, 3 * 3 * 3 * 20 + 20, 5 * 5 * 12 * 20 + 20, 3 * 3 * 8 * 16 + 16],
    # bias forgotten; the notebook's 10 classes; one off; the notebook's own model
    "spec_dense_params": [3920 * 7, 3920 * 10 + 10, 3921 * 8, 576 * 10 + 10],
}


def hand_network():
    """The colour network that Part 3 describes in words; the notebook never builds it."""
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Conv2D(12, 5, activation="relu"),
                             layers.MaxPooling2D(2), layers.Conv2D(20, 3, padding="same", activation="relu"),
                             layers.Flatten(), layers.Dense(7)])


# --- correct alternatives ---------------------------------------------------

def spec_with_activation_layers():
    stack = [keras.Input(shape=(28, 28, 1)), layers.Conv2D(8, 3, padding="same"), layers.ReLU(), layers.MaxPool2D(2),
             layers.Conv2D(16, (3, 3)), layers.Activation("relu"), layers.MaxPooling2D((2, 2)), layers.Flatten(),
             layers.Dropout(0.25), layers.Dense(10)]
    return compiled(keras.Sequential(stack))


def spec_functional():
    inputs = keras.Input(shape=(28, 28, 1))
    z = layers.MaxPooling2D(2)(layers.Conv2D(8, 3, padding="same", activation="relu")(inputs))
    z = layers.MaxPooling2D(2)(layers.Conv2D(16, 3, activation="relu")(z))
    outputs = layers.Dense(10)(layers.Dropout(0.25)(layers.Flatten()(z)))
    return compiled(keras.Model(inputs, outputs))


def spec_nested_blocks():
    block = lambda filters, padding: keras.Sequential([layers.Conv2D(filters, 3, padding=padding, activation="relu"),
                                                        layers.MaxPooling2D(2)])
    return compiled(keras.Sequential([keras.Input(shape=(28, 28, 1)), block(8, "same"), block(16, "valid"),
                                      layers.Flatten(), layers.Dropout(0.25), layers.Dense(10)]))


def _compiled_spec(**settings):
    return compiled(spec_layers(), **settings)


WRONG = {
    "spec_model": [Model(build, name) for name, build in WRONG_MODELS.items()],
    "spec_compile": [Model(build, name) for name, build in WRONG_COMPILES.items()],
    "spec_flatten_units": WRONG_VALUES["spec_flatten_units"],
    "spec_conv2_params": WRONG_VALUES["spec_conv2_params"],
    "spec_dense_params": WRONG_VALUES["spec_dense_params"],
}
RIGHT = {
    "spec_model": [Model(spec_with_activation_layers), Model(spec_nested_blocks), Model(spec_functional)],
    "spec_compile": [Model(lambda: _compiled_spec(metrics=("sparse_categorical_accuracy",)), "sparse_accuracy_metric"),
                     Model(lambda: _compiled_spec(optimizer=keras.optimizers.Adam(2e-3)), "adam_positional_rate")],
    "spec_flatten_units": [3920.0],
    "spec_dense_params": [np.int64(27447)],
}


def _solution_model(namespace):
    model = namespace["build_model"]()
    namespace["compile_model"](model)
    return model


def _sizes(namespace, index):
    return namespace["sizes_by_hand"]()[index]


SOLUTION = {
    "spec_model": lambda ns: Model(lambda: _solution_model(ns), "solution"),
    "spec_compile": lambda ns: Model(lambda: _solution_model(ns), "solution"),
    "spec_flatten_units": lambda ns: _sizes(ns, 0),
    "spec_conv2_params": lambda ns: _sizes(ns, 1),
    "spec_dense_params": lambda ns: _sizes(ns, 2),
}


def test_solution_model_earns_every_point_in_memory(solution):
    model = _solution_model(solution)
    for part in ("spec_model", "spec_compile"):
        report = run(f"{ASSIGNMENT}/{part}", model)
        assert report.points == get_part(f"{ASSIGNMENT}/{part}").points, report.text()


def test_hand_counts_are_those_of_the_described_network():
    model = hand_network()
    flatten = [layer for layer in model.layers if isinstance(layer, layers.Flatten)][0]
    convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    assert tuple(flatten.output.shape) == (None, reference.HAND_FLATTEN)
    assert convs[1].count_params() == reference.HAND_CONV2
    assert model.layers[-1].count_params() == reference.HAND_DENSE


def test_the_notebook_never_builds_the_hand_network():
    import json

    from autograder.course import assignment_notebook

    source = json.dumps(json.loads(assignment_notebook(ASSIGNMENT).read_text())["cells"])
    assert "32, 32, 3" not in source and "Conv2D(12" not in source and "Conv2D(20" not in source


def test_one_mistake_keeps_the_other_points():
    report = run(f"{ASSIGNMENT}/spec_model", round_trip(WRONG_MODELS["wrong_dropout"]()))
    assert report.passed == report.total - 1, report.text()
    assert "Dropout rate" in report.text()


def test_softmax_output_is_named_in_the_feedback():
    report = run(f"{ASSIGNMENT}/spec_model", round_trip(WRONG_MODELS["softmax_output"]()))
    assert "logits" in report.text() and "softmax" in report.text(), report.text()


def test_uncompiled_model_earns_no_compile_points():
    report = run(f"{ASSIGNMENT}/spec_compile", round_trip(spec_layers()))
    assert report.points == 0 and "not compiled" in report.text(), report.text()


def test_feedback_does_not_give_away_the_counts():
    text = run(f"{ASSIGNMENT}/spec_model", round_trip(WRONG_MODELS["missing_pool"]())).text()
    assert "7018" not in text.replace(",", "") and "576" not in text, text
