"""Assignment 06-sequential-models: the hidden tests reward the spec's model and catch the usual mistakes.

Model parts are checked on a copy saved as ``.keras`` and loaded with safe
mode, as the grader does, so a predicate that needs something the round
trip loses would fail here first.
"""

import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

import numpy as np  # noqa: E402

from autograder.grading import get_part, grade_part  # noqa: E402
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
    # Metrics that report something else than the accuracy of integer labels against logits, under a name
    # that reads as the accuracy: judged by what they compute, not by their names.
    "binary_accuracy_named_accuracy": lambda: compiled(spec_layers(),
                                                       metrics=(keras.metrics.BinaryAccuracy(name="accuracy"),)),
    "top5_named_accuracy": lambda: compiled(spec_layers(),
                                            metrics=(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="accuracy"),)),
    "top2_class_named_sparse_accuracy": lambda: compiled(
        spec_layers(), metrics=(keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="sparse_categorical_accuracy"),)),
    "categorical_accuracy_on_integers": lambda: compiled(spec_layers(), metrics=(keras.metrics.CategoricalAccuracy(),)),
    "exact_match_accuracy": lambda: compiled(spec_layers(), metrics=(keras.metrics.Accuracy(),)),
    "binary_accuracy_string": lambda: compiled(spec_layers(), metrics=("binary_accuracy",)),
    "accuracy_plus_mislabelled_top5": lambda: compiled(
        spec_layers(), metrics=("accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="acc"))),
    # Losses: a cross-entropy on probabilities spelled as an object, another loss that runs on integer labels.
    "probabilities_loss_object": lambda: compiled(
        spec_layers(), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False)),
    "loss_ignoring_class_0": lambda: compiled(
        spec_layers(), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)),
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
                     Model(lambda: _compiled_spec(metrics=("acc",)), "acc_metric"),
                     Model(lambda: _compiled_spec(metrics=(keras.metrics.SparseCategoricalAccuracy(name="accuracy"),)),
                           "sparse_accuracy_object_named_accuracy"),
                     Model(lambda: _compiled_spec(metrics=("accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=3))),
                           "accuracy_and_an_honest_top3"),
                     Model(lambda: _compiled_spec(loss=keras.losses.SparseCategoricalCrossentropy(True)), "loss_positional"),
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
        report = grade_part(f"{ASSIGNMENT}/{part}", model)
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
    report = grade_part(f"{ASSIGNMENT}/spec_model", round_trip(WRONG_MODELS["wrong_dropout"]()))
    assert report.passed == report.total - 1, report.text()
    assert "Dropout rate" in report.text()


def test_softmax_output_is_named_in_the_feedback():
    report = grade_part(f"{ASSIGNMENT}/spec_model", round_trip(WRONG_MODELS["softmax_output"]()))
    assert "logits" in report.text() and "softmax" in report.text(), report.text()


def test_uncompiled_model_earns_no_compile_points():
    report = grade_part(f"{ASSIGNMENT}/spec_compile", round_trip(spec_layers()))
    assert report.points == 0 and "not compiled" in report.text(), report.text()


# Which case each compile mistake must lose: the one about what it computes, and only that one.
COMPILE_MISTAKE_CASE = {
    "binary_accuracy_named_accuracy": "metrics", "top5_named_accuracy": "metrics",
    "top2_class_named_sparse_accuracy": "metrics", "categorical_accuracy_on_integers": "metrics",
    "exact_match_accuracy": "metrics", "binary_accuracy_string": "metrics",
    "accuracy_plus_mislabelled_top5": "metrics", "probabilities_loss": "loss: logits or probabilities",
    "probabilities_loss_object": "loss: logits or probabilities", }
# A loss that computes another number on logits and on probabilities is judged as another loss.
LOSS_CASES = ["loss: which cross-entropy", "loss: logits or probabilities"]


@pytest.mark.parametrize("name", sorted(COMPILE_MISTAKE_CASE))
def test_compile_mistake_loses_the_case_of_what_it_computes(name):
    report = grade_part(f"{ASSIGNMENT}/spec_compile", round_trip(WRONG_COMPILES[name]()))
    labels = [label for _, label, _ in report.problems]
    assert labels == [COMPILE_MISTAKE_CASE[name]], report.text()


def test_another_loss_loses_both_loss_cases():
    report = grade_part(f"{ASSIGNMENT}/spec_compile", round_trip(WRONG_COMPILES["loss_ignoring_class_0"]()))
    assert [label for _, label, _ in report.problems] == LOSS_CASES, report.text()


def test_probe_batches_tell_the_stand_ins_apart():
    """The known batches give the accuracy one number and each stand-in another (else the probe proves nothing)."""
    from autograder.grading import compile_probe as probe

    for logits, labels in probe.batches():
        right = probe.accuracy(logits, labels)
        top5 = np.mean([label in np.argsort(row)[-5:] for row, label in zip(logits, labels)])
        assert right in (0.5, 0.25) and top5 == 1.0
        # categorical accuracy on integer labels compares every row's argmax with the argmax of the label vector
        assert np.mean(np.argmax(logits, axis=1) == np.argmax(labels)) != right
        probabilities = np.clip(probe.softmax(logits), 1e-7, 1.0)
        assert not np.isclose(probe.cross_entropy(logits, labels),
                              -np.mean(np.log(np.clip(logits / logits.sum(1, keepdims=True), 1e-7, 1.0)
                                              [np.arange(len(labels)), labels])), rtol=probe.RTOL)
        assert np.isclose(-np.mean(np.log(probabilities[np.arange(len(labels)), labels])),
                          probe.cross_entropy(logits, labels), rtol=probe.RTOL)


def test_feedback_does_not_give_away_the_counts():
    text = grade_part(f"{ASSIGNMENT}/spec_model", round_trip(WRONG_MODELS["missing_pool"]())).text()
    assert "7018" not in text.replace(",", "") and "576" not in text, text


# --- batch normalisation counted by hand; the residual block ----------------------------------------------

def bn_network():
    """The network that Part 4 describes in words; the notebook never builds it."""
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(16, 3, padding="same", use_bias=False),
                             layers.BatchNormalization(), layers.ReLU(), layers.MaxPooling2D(2),
                             layers.Conv2D(32, 3), layers.BatchNormalization(), layers.ReLU(),
                             layers.GlobalAveragePooling2D(), layers.Dense(10)])


def test_bn_counts_agree_with_keras():
    model = bn_network()
    bn = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)][1]
    assert bn.count_params() == reference.BN_PARAMS
    assert sum(int(np.prod(w.shape)) for w in bn.trainable_weights) == reference.BN_TRAINABLE
    assert model.count_params() == reference.BN_MODEL_PARAMS
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == reference.BN_MODEL_TRAINABLE


def residual(body=None, shortcut="projection", after_add="relu", add="layer", activation_layer="ReLU",
             bias=False, input_shape=(16, 16, 8), head_activation="softmax", order="conv-bn-relu"):
    """The spec's residual model, with one switch per mistake (and per equivalent spelling)."""
    inputs = keras.Input(shape=input_shape)
    relu = {"ReLU": layers.ReLU, "Activation": lambda: layers.Activation("relu")}[activation_layer]
    z = layers.Conv2D(16, 3, padding="same", use_bias=bias)(inputs)
    if order == "conv-bn-relu":
        z = relu()(layers.BatchNormalization()(z))
    elif order == "conv-relu-bn":
        z = layers.BatchNormalization()(relu()(z))
    elif order == "no-bn":
        z = relu()(z)
    z = layers.Conv2D(16, 3, padding="same" if body != "valid" else "valid", use_bias=bias)(z)
    if order != "no-bn":
        z = layers.BatchNormalization()(z)
    if body == "relu-before-add":
        z = relu()(z)
    if shortcut == "projection":
        s = layers.BatchNormalization()(layers.Conv2D(16, 1, use_bias=bias)(inputs))
    elif shortcut == "sequential":
        s = keras.Sequential([layers.Conv2D(16, (1, 1), use_bias=False), layers.BatchNormalization()])(inputs)
    elif shortcut == "3x3":
        s = layers.BatchNormalization()(layers.Conv2D(16, 3, padding="same", use_bias=bias)(inputs))
    elif shortcut == "no-bn":
        s = layers.Conv2D(16, 1, use_bias=bias)(inputs)
    else:  # the identity: only possible if the channels already match
        s = inputs
    if body == "valid":
        s = layers.Cropping2D(1)(s)
    z = layers.Add()([z, s]) if add == "layer" else layers.add([z, s]) if add == "function" else layers.Concatenate()([z, s])
    if after_add == "relu":
        z = relu()(z)
    z = layers.GlobalAveragePooling2D()(z)
    if head_activation == "layer":
        outputs = layers.Softmax()(layers.Dense(10)(z))
    else:
        outputs = layers.Dense(10, activation=head_activation)(z)
    return keras.Model(inputs, outputs)


def residual_identity_shortcut_same_channels():
    """An identity shortcut on an input that already has 16 channels: not the spec's projection."""
    return residual(shortcut="identity", input_shape=(16, 16, 16))


RESIDUAL_WRONG = {
    "residual_relu_before_bn": lambda: residual(order="conv-relu-bn"),
    "residual_without_bn": lambda: residual(order="no-bn", shortcut="no-bn"),
    "residual_relu_before_add": lambda: residual(body="relu-before-add"),
    "residual_no_relu_after_add": lambda: residual(after_add=None),
    "residual_identity_shortcut": residual_identity_shortcut_same_channels,
    "residual_shortcut_without_bn": lambda: residual(shortcut="no-bn"),
    "residual_shortcut_3x3": lambda: residual(shortcut="3x3"),
    "residual_with_biases": lambda: residual(bias=True),
    "residual_concatenate": lambda: residual(add="concatenate"),
    "residual_valid_padding": lambda: residual(body="valid"),
    "residual_no_softmax": lambda: residual(head_activation=None),
    "not_a_model": lambda: "model",
}
RESIDUAL_RIGHT = {
    "residual_spec": residual,
    "residual_add_function_and_activation_layers": lambda: residual(add="function", activation_layer="Activation"),
    "residual_shortcut_as_sequential_block": lambda: residual(shortcut="sequential"),
    "residual_softmax_layer": lambda: residual(head_activation="layer"),
}


def test_residual_mistakes_cost_only_their_own_features():
    report = grade_part(f"{ASSIGNMENT}/residual_block", round_trip(residual(after_add=None)))
    assert [label for _, label, _ in report.problems] == ["ReLU after the Add"], report.text()
    report = grade_part(f"{ASSIGNMENT}/residual_block", round_trip(residual(shortcut="no-bn")))
    assert report.passed == report.total - 2, report.text()  # the shortcut, and the parameter count


WRONG.update({
    # 2C (gamma and beta only); C; the first BN's channels; 4C counted as trainable
    "bn_params": [2 * 32, 32, 4 * 16, 2 * 16],
    "bn_trainable": [4 * 32, 32, 0, 2 * 16],
    # BN as 2C; the first conv's bias counted; BN left out; the trainable count given
    "bn_model_params": [5306 - 96, 5306 + 16, 5306 - 192, 144 + 4640 + 330, 5307],
    "bn_model_trainable": [5306, 5306 - 192, 5210 + 16, 5306 - 48],
    "residual_block": [Model(build, name) for name, build in RESIDUAL_WRONG.items()],
})
RIGHT.update({
    "bn_params": [128.0],
    "bn_model_trainable": [np.int64(5210)],
    "residual_block": [Model(build, name) for name, build in RESIDUAL_RIGHT.items()],
})
SOLUTION["residual_block"] = lambda ns: Model(ns["build_residual_block"], "solution")
