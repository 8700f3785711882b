"""Assignment 07-case-study: the trained solution earns every point; wrong shapes and untrained models do not.

The solution's ``train_cnn`` trains once for the module (about 20 s on two
cores); every model is checked on a copy saved as ``.keras`` and loaded with
safe mode, as the grader does.
"""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from autograder.course import assignment_notebook  # noqa: E402
from cnnkit.data import load_images  # noqa: E402
from autograder.grading import cases_for, get_part, run  # noqa: E402
from autograder.grading.parts import case_study  # noqa: E402

from .conftest import blank  # noqa: E402

ASSIGNMENT = "07-case-study"
PARTS = ("cnn_structure", "cnn_accuracy")


def round_trip(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "x.keras"
    model.save(path)
    return keras.models.load_model(path, safe_mode=True)


def small_cnn():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def trained(solution, tmp_path_factory):
    x_train, y_train, x_val, y_val = (solution[name] for name in ("x_train", "y_train", "x_val", "y_val"))
    return round_trip(solution["train_cnn"](x_train, y_train, x_val, y_val), tmp_path_factory)


def test_set_up_split_is_the_course_split_without_the_test_images(solution):
    data = load_images("mnist-5k", seed=case_study.DATA_SEED)
    np.testing.assert_array_equal(solution["x_train"], data.x_train)
    np.testing.assert_array_equal(solution["y_train"], data.y_train)
    np.testing.assert_array_equal(solution["x_val"], data.x_val)
    np.testing.assert_array_equal(solution["y_val"], data.y_val)
    source = json.dumps(json.loads(assignment_notebook(ASSIGNMENT).read_text())["cells"])
    assert "cnnkit" not in source.replace("cnnkit.data.load_images", "").replace("from cnnkit.grading", ""), (
        "the notebook's own code must not need cnnkit, which the grading sandbox does not have")


@pytest.mark.parametrize("part", PARTS)
def test_trained_solution_earns_every_point(part, trained):
    report = run(part, trained)
    assert report.points == get_part(part).points, report.text()


@pytest.mark.parametrize("part", PARTS)
def test_blank_earns_nothing(part):
    report = run(part, blank)
    assert report.points == 0, report.text()


def test_untrained_model_earns_no_accuracy_points(tmp_path_factory):
    model = round_trip(small_cnn(), tmp_path_factory)
    assert run(f"{ASSIGNMENT}/cnn_structure", model).points == get_part(f"{ASSIGNMENT}/cnn_structure").points
    report = run(f"{ASSIGNMENT}/cnn_accuracy", model)
    assert report.points == 0, report.text()
    assert "no band" in report.text() and "trained" in report.text(), report.text()


@pytest.mark.parametrize("name, model", [
    ("flat input", lambda: keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10)])),
    ("two classes", lambda: keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(4, 3),
                                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])),
    ("maps, not scores", lambda: keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(10, 3)])),
    ("channels first", lambda: keras.Sequential([keras.Input(shape=(1, 28, 28)), keras.layers.Flatten(),
                                                 keras.layers.Dense(10)])),
])
def test_model_of_the_wrong_shape_loses_points(name, model, tmp_path_factory):
    model = round_trip(model(), tmp_path_factory)
    structure, accuracy = run(f"{ASSIGNMENT}/cnn_structure", model), run(f"{ASSIGNMENT}/cnn_accuracy", model)
    assert structure.points < get_part(f"{ASSIGNMENT}/cnn_structure").points, structure.text()
    assert accuracy.points == 0, accuracy.text()
    assert "shape" in accuracy.text(), accuracy.text()


def test_dense_network_and_oversized_network_lose_structure_points(tmp_path_factory):
    dense = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    report = run(f"{ASSIGNMENT}/cnn_structure", round_trip(dense, tmp_path_factory))
    assert report.passed == report.total - 1 and "Conv2D" in report.text(), report.text()
    big = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(32, 3), keras.layers.Flatten(),
                            keras.layers.Dense(10)])
    report = run(f"{ASSIGNMENT}/cnn_structure", round_trip(big, tmp_path_factory))
    assert report.passed == report.total - 1 and "budget" in report.text(), report.text()


@pytest.mark.parametrize("accuracy, passed, band", [
    (0.12, 0, "no band"), (0.91, 1, "the 90% band"), (0.96, 2, "the 95% band"), (0.975, 3, None),
])
def test_partial_credit_by_band_and_feedback_names_the_band(accuracy, passed, band, monkeypatch):
    monkeypatch.setattr(case_study, "held_out_accuracy", lambda model: (accuracy, None))
    report = run(f"{ASSIGNMENT}/cnn_accuracy", object())
    assert report.passed == passed, report.text()
    assert report.points == round(get_part(f"{ASSIGNMENT}/cnn_accuracy").points * passed / 3, 2)
    if band:
        assert band in report.text(), report.text()


def test_bands_are_the_cases_and_labels_do_not_depend_on_the_seed():
    labels = [case.label for case in cases_for(f"{ASSIGNMENT}/cnn_accuracy", seed=1)]
    assert labels == [case.label for case in cases_for(f"{ASSIGNMENT}/cnn_accuracy", seed=2)]
    assert [band in " ".join(labels) for band in ("90%", "95%", "97%")] == [True] * 3
