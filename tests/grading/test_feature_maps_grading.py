"""Assignment 03-feature-maps: the hidden tests reward the solution and catch the usual mistakes."""

import json

import numpy as np
import pytest

from autograder.course import assignment_notebook
from autograder.grading import cases_for, get_part, run
from autograder.grading.parts.feature_maps import EDGE_THRESHOLD, SOBEL_X, reference_sees_vertical_edge

from .conftest import assert_blank_earns_nothing, assert_loses_points, blank, solution_namespace

ASSIGNMENT = "03-feature-maps"


@pytest.fixture(scope="module")
def solution():
    """The solution's functions, plus the notebook's given `sees_vertical_edge` (a locked cell)."""
    namespace = solution_namespace(ASSIGNMENT)
    exec(given_cell(), namespace)
    return namespace


def given_cell():
    """The source of the notebook's locked cell that defines `sees_vertical_edge`."""
    nb = json.loads(assignment_notebook(ASSIGNMENT).read_text())
    cell = next(c for c in nb["cells"] if c["metadata"]["nbgrader"]["grade_id"] == "sees_vertical_edge")
    return "".join(cell["source"])


def judged_by(kernel):
    """`sees_vertical_edge` as the notebook defines it, for a given 3x3 filter."""
    return lambda images: reference_sees_vertical_edge(images, kernel)


# --- the usual wrong answers ------------------------------------------------

def _slide(image, kernel):
    kh, kw = kernel.shape
    ho, wo = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    return np.array([[np.sum(image[i:i + kh, j:j + kw] * kernel) for j in range(wo)] for i in range(ho)])


def _padded(image, kernel, padding, top_left_extra=False):
    image = np.asarray(image, float)
    if padding == "same":
        kh, kw = kernel.shape
        top, left = ((kh - 1) - (kh - 1) // 2, (kw - 1) - (kw - 1) // 2) if top_left_extra else ((kh - 1) // 2, (kw - 1) // 2)
        image = np.pad(image, ((top, kh - 1 - top), (left, kw - 1 - left)))
    return image


def correlate_flipped(image, kernel, padding="valid"):
    kernel = np.asarray(kernel, float)
    return _slide(_padded(image, kernel, padding), kernel[::-1, ::-1])


def correlate_same_extra_top_left(image, kernel, padding="valid"):
    kernel = np.asarray(kernel, float)
    return _slide(_padded(image, kernel, padding, top_left_extra=True), kernel)


def correlate_ignores_padding(image, kernel, padding="valid"):
    return _slide(np.asarray(image, float), np.asarray(kernel, float))


def correlate_symmetric_same_padding(image, kernel, padding="valid"):
    # Pads k // 2 on every side: right for odd kernels, one too many for even ones.
    kernel = np.asarray(kernel, float)
    image = np.asarray(image, float)
    if padding == "same":
        image = np.pad(image, ((kernel.shape[0] // 2,) * 2, (kernel.shape[1] // 2,) * 2))
    return _slide(image, kernel)


def correlate_one_short(image, kernel, padding="valid"):
    return correlate_same_extra_top_left(image, kernel, padding)[:-1, :-1]


def correlate_transposed_kernel(image, kernel, padding="valid"):
    kernel = np.asarray(kernel, float)
    if kernel.shape[0] != kernel.shape[1]:
        raise ValueError("assumes a square kernel")
    return _slide(_padded(image, kernel, padding), kernel.T)


def _maps(image, kernels, padding, activation):
    from cnnkit import conv2d

    out = conv2d(np.asarray(image, float)[None, None], np.asarray(kernels, float)[:, None], padding=padding)[0]
    return activation(out)


def maps_without_relu(image, kernels, padding="valid"):
    return _maps(image, kernels, padding, lambda z: z)


def maps_absolute_value(image, kernels, padding="valid"):
    return _maps(image, kernels, padding, np.abs)


def maps_relu_on_kernels(image, kernels, padding="valid"):
    return _maps(image, np.maximum(kernels, 0), padding, lambda z: z)


def maps_ignore_padding(image, kernels, padding="valid"):
    return _maps(image, kernels, "valid", lambda z: np.maximum(z, 0))


def maps_flipped(image, kernels, padding="valid"):
    return _maps(image, np.asarray(kernels)[:, ::-1, ::-1], padding, lambda z: np.maximum(z, 0))


WRONG_FILTERS = {
    "horizontal_sobel": SOBEL_X.T,
    "not_zero_sum": np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0], [0.0, 0.0, 1.0]]),  # fires on flat grey too
    "laplacian": np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),  # any edge, weakly
    "diagonal": np.array([[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0], [-2.0, -1.0, 0.0]]),  # horizontal edges too
    "blur": np.full((3, 3), 1 / 9),
    "identity": np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
    "zeros": np.zeros((3, 3)),
}

WRONG = {
    "correlate2d": [correlate_flipped, correlate_same_extra_top_left, correlate_ignores_padding,
                    correlate_symmetric_same_padding, correlate_one_short, correlate_transposed_kernel],
    "feature_maps": [maps_without_relu, maps_absolute_value, maps_relu_on_kernels, maps_ignore_padding, maps_flipped],
}
TARGETS = {"correlate2d": "correlate2d", "feature_maps": "feature_maps", "vertical_edge": "sees_vertical_edge"}


def test_blank_filter_earns_nothing():
    # In the student version vertical_edge_filter raises; the given function passes that on.
    namespace = {"np": np, "vertical_edge_filter": blank}
    exec(given_cell(), namespace)
    report = run(f"{ASSIGNMENT}/vertical_edge", namespace["sees_vertical_edge"])
    assert report.points == 0 and "not implemented" in report.text(), report.text()


@pytest.mark.parametrize("name", sorted(WRONG_FILTERS))
def test_wrong_filter_loses_most_points(name):
    report = run(f"{ASSIGNMENT}/vertical_edge", judged_by(WRONG_FILTERS[name]))
    assert report.points <= 0.25 * get_part(f"{ASSIGNMENT}/vertical_edge").points, report.text()


@pytest.mark.parametrize("name, kernel", [
    ("sobel", SOBEL_X), ("prewitt", np.array([[-1.0, 0, 1]] * 3)), ("pair", np.array([[0, 0, 0], [0, -1.0, 1], [0, 0, 0]])),
    ("scaled and flipped", -10 * SOBEL_X),
])
def test_any_good_vertical_edge_filter_earns_every_point(name, kernel):
    for seed in (1, 2, 3, 4):
        report = run(f"{ASSIGNMENT}/vertical_edge", judged_by(kernel), seed=seed)
        assert report.passed == report.total, report.text()


def test_the_notebook_judges_filters_as_the_grading_tests_assume(solution):
    images = cases_for(f"{ASSIGNMENT}/vertical_edge")[1].args[0]
    np.testing.assert_array_equal(solution["sees_vertical_edge"](images), judged_by(SOBEL_X)(images))
    assert "0.15" in json.dumps(json.loads(assignment_notebook(ASSIGNMENT).read_text())["cells"])
    assert EDGE_THRESHOLD == 0.15


def test_edge_images_leave_a_margin_around_the_threshold():
    # A good filter's response on a vertical edge and on anything else stays well away from the threshold.
    k = SOBEL_X / np.abs(SOBEL_X).sum()
    for seed in range(20):
        for case in cases_for(f"{ASSIGNMENT}/vertical_edge", seed=seed):
            windows = np.lib.stride_tricks.sliding_window_view(case.args[0], (3, 3), axis=(1, 2))
            response = np.abs(np.einsum("nhwij,ij->nhw", windows, k)).max(axis=(1, 2))
            assert response[case.expected].min() > EDGE_THRESHOLD + 0.04
            assert response[~case.expected].max() < EDGE_THRESHOLD - 0.05


def test_feedback_names_the_case_but_not_the_expected_values():
    text = run(f"{ASSIGNMENT}/correlate2d", correlate_flipped).text()
    assert "kernel" in text and "case " in text
    for case in cases_for(f"{ASSIGNMENT}/correlate2d"):
        assert np.array2string(case.expected) not in text
