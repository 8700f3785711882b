"""Assignment 02-convolution: the hidden tests reward the solution and catch the usual mistakes."""

import numpy as np
import pytest

from cnnkit.grading import get_part, run

from .conftest import blank

ASSIGNMENT = "02-convolution"


# --- the usual wrong answers ------------------------------------------------

def size_ceil(n, kernel, stride=1, padding=0, dilation=1):
    return -(-(n + 2 * padding - dilation * (kernel - 1) - 1) // stride) + 1


def size_without_plus_one(n, kernel, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride


def size_padding_one_side(n, kernel, stride=1, padding=0, dilation=1):
    return (n + padding - dilation * (kernel - 1) - 1) // stride + 1


def size_ignores_dilation(n, kernel, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - kernel) // stride + 1


def size_ignores_stride(n, kernel, stride=1, padding=0, dilation=1):
    return n + 2 * padding - dilation * (kernel - 1)


def size_never_raises(n, kernel, stride=1, padding=0, dilation=1):
    return max((n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1, 0)


def correlate_flipped(x, w, padding=0):
    x = np.pad(np.asarray(x, float), padding)
    w = np.asarray(w, float)[::-1]
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w) + 1)])


def correlate_one_short(x, w, padding=0):
    x = np.pad(np.asarray(x, float), padding)
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w))])


def correlate_pad_left_only(x, w, padding=0):
    x = np.pad(np.asarray(x, float), (padding, 0))
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w) + 1)])


def correlate_ignores_padding(x, w, padding=0):
    x = np.asarray(x, float)
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w) + 1)])


def correlate_in_place(x, w, padding=0):
    result = convolve_not_flipped(x, w, padding)  # the right numbers...
    x[:] = 0  # ...but the caller's array is wiped
    return result


def convolve_not_flipped(x, w, padding=0):
    x = np.pad(np.asarray(x, float), padding)
    return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w) + 1)])


WRONG = {
    "conv_output_size": [size_ceil, size_without_plus_one, size_padding_one_side, size_ignores_dilation,
                         size_ignores_stride, size_never_raises],
    "correlate1d": [correlate_flipped, correlate_one_short, correlate_pad_left_only, correlate_ignores_padding,
                    correlate_in_place],
    "convolve1d": [convolve_not_flipped, correlate_one_short],
}


@pytest.mark.parametrize("part", sorted(WRONG))
def test_solution_earns_every_point(part, solution):
    report = run(part, solution[part])
    assert report.points == get_part(part).points, report.text()


@pytest.mark.parametrize("part", sorted(WRONG))
def test_blank_earns_nothing(part):
    report = run(part, blank)
    assert report.points == 0, report.text()
    assert "not implemented" in report.text()


@pytest.mark.parametrize("part, wrong", [(p, f) for p, fs in WRONG.items() for f in fs],
                         ids=lambda v: getattr(v, "__name__", v))
def test_usual_mistake_loses_points(part, wrong):
    report = run(part, wrong)
    assert report.points < get_part(part).points, f"{wrong.__name__} earned full marks:\n{report.text()}"
    assert report.failures, "a lost point must come with a reason"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_solution_passes_for_any_grading_seed(seed, solution):
    for part in WRONG:
        report = run(part, solution[part], seed=seed)
        assert report.passed == report.total, report.text()


def test_feedback_names_the_case_but_not_the_expected_values():
    from cnnkit.grading import cases_for

    text = run("correlate1d", correlate_flipped).text()
    assert "x of length" in text and "FAIL" in text
    for case in cases_for("correlate1d"):
        for shown in (str(case.expected), str(list(case.expected)), np.array2string(case.expected)):
            assert shown not in text


def test_hidden_cases_change_with_the_seed():
    from cnnkit.grading import cases_for

    first = cases_for("correlate1d", seed=1)
    second = cases_for("correlate1d", seed=2)
    assert not np.array_equal(first[-1].args[0], second[-1].args[0])
