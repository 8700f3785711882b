"""Assignment 03-feature-maps: the hidden tests reward the solution and catch the usual mistakes."""

import json

import numpy as np
import pytest

from autograder.course import assignment_notebook
from autograder.grading import cases_for, get_part, grade_part

from .families import in_input_dtype, operand_casts
from autograder.grading.parts.feature_maps import (LINE_THRESHOLD, SOBEL_X, reference_correlate2d,
                                                   reference_sees_vertical_line)

from .conftest import blank

ASSIGNMENT = "03-feature-maps"


def given_cell():
    """The source of the notebook's locked cell that defines `sees_vertical_edge`."""
    nb = json.loads(assignment_notebook(ASSIGNMENT).read_text())
    cell = next(c for c in nb["cells"] if c["metadata"]["nbgrader"]["grade_id"] == "sees_vertical_line")
    return "".join(cell["source"])


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


def _maps(image, kernels, biases, padding, *, activation=lambda z: np.maximum(z, 0.0), bias="before",
          channels="sum", flip=False):
    """One layer implementation with a switch per mistake."""
    image, kernels, biases = np.asarray(image, float), np.asarray(kernels, float), np.asarray(biases, float)
    if flip:
        kernels = kernels[:, :, ::-1, ::-1]
    maps = []
    for kernel, b in zip(kernels, biases):
        per_channel = [reference_correlate2d(x, k, padding) for x, k in zip(image, kernel)]
        total = {"sum": sum(per_channel), "first": per_channel[0], "mean": sum(per_channel) / len(per_channel)}[channels]
        if bias == "before":
            maps.append(activation(total + b))
        elif bias == "after":
            maps.append(activation(total) + b)
        elif bias == "per channel":
            maps.append(activation(total + b * len(per_channel)))
        else:
            maps.append(activation(total))
    return np.stack(maps)


def maps_without_relu(image, kernels, biases, padding="valid"):
    return _maps(image, kernels, biases, padding, activation=lambda z: z)


def maps_absolute_value(image, kernels, biases, padding="valid"):
    return _maps(image, kernels, biases, padding, activation=np.abs)


def maps_bias_after_relu(image, kernels, biases, padding="valid"):
    return _maps(image, kernels, biases, padding, bias="after")


def maps_without_bias(image, kernels, biases, padding="valid"):
    return _maps(image, kernels, biases, padding, bias="none")


def maps_bias_per_channel(image, kernels, biases, padding="valid"):
    return _maps(image, kernels, biases, padding, bias="per channel")


def maps_first_channel_only(image, kernels, biases, padding="valid"):
    return _maps(image, kernels, biases, padding, channels="first")


def maps_mean_over_channels(image, kernels, biases, padding="valid"):
    return _maps(image, kernels, biases, padding, channels="mean")


def maps_ignore_padding(image, kernels, biases, padding="valid"):
    return _maps(image, kernels, biases, "valid")


def maps_flipped(image, kernels, biases, padding="valid"):
    return _maps(image, kernels, biases, padding, flip=True)


def maps_kernel_channel_axes_swapped(image, kernels, biases, padding="valid"):
    """kernels read as (C, F, KH, KW) when F == C, else the first channel's kernel for every channel."""
    kernels = np.asarray(kernels, float)
    if kernels.shape[0] == kernels.shape[1]:
        kernels = kernels.transpose(1, 0, 2, 3)
    else:
        kernels = np.repeat(kernels[:, :1], kernels.shape[1], axis=1)
    return _maps(image, kernels, biases, padding)


def maps_with_einsum(image, kernels, biases, padding="valid"):
    """Correct: all filters and channels at once."""
    image, kernels = np.asarray(image, np.float64), np.asarray(kernels, np.float64)
    kh, kw = kernels.shape[2:]
    if padding == "same":
        image = np.pad(image, ((0, 0), ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2)))
    windows = np.lib.stride_tricks.sliding_window_view(image, (kh, kw), axis=(1, 2))
    out = np.einsum("chwij,fcij->fhw", windows, kernels) + np.asarray(biases, np.float64)[:, None, None]
    return np.maximum(out, 0)


# --- the filter: judged through the notebook's given function ------------------------

WRONG_FILTERS = {
    "sobel": SOBEL_X,  # the book's vertical-edge filter: fires on steps as strongly as on lines
    "prewitt": np.array([[-1.0, 0.0, 1.0]] * 3),
    "horizontal_line": np.array([[-1.0, 2.0, -1.0]] * 3).T,
    "not_zero_sum": np.array([[-1.0, 2.0, -1.0], [-1.0, 2.0, -1.0], [-1.0, 3.0, -1.0]]),  # one weight off by one
    "lopsided": np.array([[-1.0, 3.0, -2.0]] * 3),  # zero-sum, but a strong step passes the threshold
    "laplacian": np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),  # any line, any direction
    "blur": np.full((3, 3), 1 / 9),
    "identity": np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
    "zeros": np.zeros((3, 3)),
}
RIGHT_FILTERS = {
    "rows_of_minus_one_two_minus_one": np.array([[-1.0, 2.0, -1.0]] * 3),
    "middle_row_only": np.array([[0.0, 0.0, 0.0], [-1.0, 2.0, -1.0], [0.0, 0.0, 0.0]]),
    "dark_line_sign": -7 * np.array([[-1.0, 2.0, -1.0], [-2.0, 4.0, -2.0], [-1.0, 2.0, -1.0]]),
}


def judged_by(kernel, name):
    """`sees_vertical_line` as the notebook defines it, for a given 3x3 filter."""
    namespace = {"np": np, "vertical_line_filter": lambda: kernel}
    exec(given_cell(), namespace)
    judge = namespace["sees_vertical_line"]
    judge.__name__ = name
    return judge


WRONG = {
    "correlate2d": [correlate_flipped, correlate_same_extra_top_left, correlate_ignores_padding,
                    correlate_symmetric_same_padding, correlate_one_short, correlate_transposed_kernel],
    "feature_maps": [maps_without_relu, maps_absolute_value, maps_bias_after_relu, maps_without_bias,
                     maps_bias_per_channel, maps_first_channel_only, maps_mean_over_channels, maps_ignore_padding,
                     maps_flipped, maps_kernel_channel_axes_swapped],
    "vertical_line": [judged_by(kernel, name) for name, kernel in WRONG_FILTERS.items()],
}
RIGHT = {
    "feature_maps": [maps_with_einsum],
    "vertical_line": [judged_by(kernel, name) for name, kernel in RIGHT_FILTERS.items()],
}

# Families, generated for every operand (float32 casts), and an integer image answered with integers.
FLOAT_OPERANDS = {"correlate2d": ("image", "kernel"), "feature_maps": ("image", "kernels", "biases")}
for _part, _names in FLOAT_OPERANDS.items():
    WRONG[_part] = WRONG[_part] + operand_casts(ASSIGNMENT, _part, _names)
WRONG["correlate2d"].append(in_input_dtype(ASSIGNMENT, "correlate2d"))
SOLUTION = {"vertical_line": lambda namespace: judged_by(namespace["vertical_line_filter"](), "solution")}


def test_blank_filter_earns_nothing():
    # In the student version vertical_line_filter raises; the given function passes that on.
    namespace = {"np": np, "vertical_line_filter": blank}
    exec(given_cell(), namespace)
    report = grade_part(f"{ASSIGNMENT}/vertical_line", namespace["sees_vertical_line"])
    assert report.points == 0 and "not implemented" in report.text(), report.text()


@pytest.mark.parametrize("name", sorted(WRONG_FILTERS))
def test_wrong_filter_loses_points_for_any_seed(name):
    for seed in (1, 2, 3):
        report = grade_part(f"{ASSIGNMENT}/vertical_line", judged_by(WRONG_FILTERS[name], name), seed=seed)
        # A subtle mistake (one weight off by one, a lopsided row) fails only at some contrasts and
        # polarities, but always in the fixed batches, whatever the seed.
        fixed_failed = [label for _, label, _ in report.problems if "contrast" in label]
        assert fixed_failed and report.points <= 0.7 * get_part(f"{ASSIGNMENT}/vertical_line").points, report.text()


@pytest.mark.parametrize("name", sorted(RIGHT_FILTERS))
def test_any_good_line_filter_earns_every_point_for_any_seed(name):
    for seed in (1, 2, 3, 4):
        report = grade_part(f"{ASSIGNMENT}/vertical_line", judged_by(RIGHT_FILTERS[name], name), seed=seed)
        assert report.passed == report.total, report.text()


def test_the_books_filters_earn_nothing_on_the_fixed_batches():
    """Sobel (the book's) fails every fixed batch: the part asks for a property the book did not hand over."""
    report = grade_part(f"{ASSIGNMENT}/vertical_line", judged_by(SOBEL_X, "sobel"))
    fixed = [number for number, case in enumerate(cases_for(f"{ASSIGNMENT}/vertical_line"), start=1)
             if "contrast" in case.label]
    failed = {number for number, _, _ in report.problems}
    assert set(fixed) <= failed, report.text()


def test_fixed_batches_cover_both_polarities_at_three_contrasts():
    labels = [case.label for case in cases_for(f"{ASSIGNMENT}/vertical_line")]
    for contrast in (0.5, 0.65, 0.8):
        for polarity in ("bright on dark", "dark on bright"):
            assert any(polarity in label and f"contrast {contrast}" in label for label in labels), (polarity, contrast)


def test_line_images_leave_a_margin_around_the_threshold():
    # A good filter's response on a thin line and on anything else stays away from the threshold.
    k = RIGHT_FILTERS["middle_row_only"] / 4
    for seed in range(10):
        for case in cases_for(f"{ASSIGNMENT}/vertical_line", seed=seed):
            windows = np.lib.stride_tricks.sliding_window_view(case.args[0], (3, 3), axis=(1, 2))
            response = np.abs(np.einsum("nhwij,ij->nhw", windows, k)).max(axis=(1, 2))
            if case.expected.any():
                assert response[case.expected].min() > LINE_THRESHOLD + 0.015, case.label
            assert response[~case.expected].max() < LINE_THRESHOLD - 0.01, case.label


def test_the_notebook_judges_filters_as_the_grading_tests_assume(solution):
    images = cases_for(f"{ASSIGNMENT}/vertical_line")[1].args[0]
    kernel = solution["vertical_line_filter"]()
    np.testing.assert_array_equal(judged_by(kernel, "solution")(images), reference_sees_vertical_line(images, kernel))
    assert "0.225" in given_cell() and LINE_THRESHOLD == 0.225


def test_feedback_names_the_case_but_not_the_expected_values():
    text = grade_part(f"{ASSIGNMENT}/correlate2d", correlate_flipped).text()
    assert "kernel" in text and "case " in text
    for case in cases_for(f"{ASSIGNMENT}/correlate2d"):
        assert np.array2string(case.expected) not in text
