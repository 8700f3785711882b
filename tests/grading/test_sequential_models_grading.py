"""Assignment 06-sequential-models: the hidden tests reward the spec's model and catch the usual mistakes.

Model parts are checked on a copy saved as ``.keras`` and loaded with safe
mode, as the grader does, so a predicate that needs something the round
trip loses would fail here first.
"""

import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from autograder.grading import get_part, run  # noqa: E402

from .conftest import blank  # noqa: E402

ASSIGNMENT = "06-sequential-models"


def round_trip(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "x.keras"
    model.save(path)
    return keras.models.load_model(path, safe_mode=True)


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
    "spec_flatten_units": [784, 26 * 26 * 8, 5 * 5 * 16, 576.0],  # raw pixels; shape forgotten; valid conv; float
    "spec_conv2_params": [3 * 3 * 16 + 16, 3 * 3 * 8 * 16, 3 * 3 * 8 * 16 + 8],  # channels, bias forgotten; bias per input
    "spec_dense_params": [576 * 10, 577 * 11, 7018],  # bias forgotten; off by one; whole model
}


@pytest.fixture(scope="module")
def solution_model(solution, tmp_path_factory):
    model = solution["build_model"]()
    solution["compile_model"](model)
    return round_trip(model, tmp_path_factory)


@pytest.mark.parametrize("part", ["spec_model", "spec_compile"])
def test_solution_model_earns_every_point_after_a_round_trip(part, solution_model):
    report = run(part, solution_model)
    assert report.points == get_part(part).points, report.text()


def test_solution_model_earns_every_point_in_memory(solution):
    model = solution["build_model"]()
    solution["compile_model"](model)
    for part in ("spec_model", "spec_compile"):
        report = run(part, model)
        assert report.points == get_part(part).points, report.text()


@pytest.mark.parametrize("part", ["spec_flatten_units", "spec_conv2_params", "spec_dense_params"])
def test_solution_values_earn_every_point(part, solution):
    values = dict(zip(["spec_flatten_units", "spec_conv2_params", "spec_dense_params"], solution["sizes_by_hand"]()))
    report = run(part, values[part])
    assert report.points == get_part(part).points, report.text()


@pytest.mark.parametrize("part", ["spec_model", "spec_compile", "spec_flatten_units", "spec_conv2_params",
                                  "spec_dense_params"])
def test_blank_earns_nothing(part):
    report = run(part, blank)
    assert report.points == 0, report.text()


@pytest.mark.parametrize("name", sorted(WRONG_MODELS))
def test_wrong_model_loses_points(name, tmp_path_factory):
    model = WRONG_MODELS[name]()
    if isinstance(model, keras.Model):
        model = round_trip(model, tmp_path_factory)
    report = run(f"{ASSIGNMENT}/spec_model", model)
    assert report.points < get_part(f"{ASSIGNMENT}/spec_model").points, f"{name} earned full marks:\n{report.text()}"
    assert report.failures, "a lost point must come with a reason"


def test_one_mistake_keeps_the_other_points(tmp_path_factory):
    report = run(f"{ASSIGNMENT}/spec_model", round_trip(WRONG_MODELS["wrong_dropout"](), tmp_path_factory))
    assert report.passed == report.total - 1, report.text()
    assert "Dropout rate" in report.text()


def test_softmax_output_is_named_in_the_feedback(tmp_path_factory):
    report = run(f"{ASSIGNMENT}/spec_model", round_trip(WRONG_MODELS["softmax_output"](), tmp_path_factory))
    assert "logits" in report.text() and "softmax" in report.text(), report.text()


@pytest.mark.parametrize("name", sorted(WRONG_COMPILES))
def test_wrong_compile_loses_points(name, tmp_path_factory):
    report = run(f"{ASSIGNMENT}/spec_compile", round_trip(WRONG_COMPILES[name](), tmp_path_factory))
    assert report.points < get_part(f"{ASSIGNMENT}/spec_compile").points, f"{name} earned full marks:\n{report.text()}"
    assert report.failures, "a lost point must come with a reason"


def test_uncompiled_model_earns_no_compile_points(tmp_path_factory):
    report = run(f"{ASSIGNMENT}/spec_compile", round_trip(spec_layers(), tmp_path_factory))
    assert report.points == 0 and "not compiled" in report.text(), report.text()


@pytest.mark.parametrize("part, wrong", [(p, v) for p, vs in WRONG_VALUES.items() for v in vs], ids=str)
def test_wrong_value_loses_points(part, wrong):
    report = run(part, wrong)
    assert report.points == 0, report.text()


def test_feedback_does_not_give_away_the_counts(tmp_path_factory):
    text = run(f"{ASSIGNMENT}/spec_model", round_trip(WRONG_MODELS["missing_pool"](), tmp_path_factory)).text()
    assert "7018" not in text.replace(",", "") and "576" not in text, text
