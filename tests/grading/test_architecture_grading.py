"""Assignment 01-architecture: the hidden tests reward the solution and catch the usual mistakes."""

import math

import numpy as np
import pytest

import cnnkit
from cnnkit.grading import cases_for, run
from cnnkit.grading.parts import architecture as reference

from .conftest import assert_blank_earns_nothing, assert_full_marks, assert_loses_points

ASSIGNMENT = "01-architecture"
FUNCTIONS = ["dense_params", "conv2d_params", "stack_shapes", "receptive_field", "shift", "is_shifted_copy"]


# --- the usual wrong answers ------------------------------------------------

def dense_params_without_bias(n_inputs, units):
    return n_inputs * units


def conv_params_without_bias(in_channels, filters, kernel):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return filters * in_channels * kh * kw


def conv_params_bias_per_input_channel(in_channels, filters, kernel):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return filters * in_channels * (kh * kw + 1)


def conv_params_square_kernel_assumed(in_channels, filters, kernel):
    k = kernel if isinstance(kernel, int) else kernel[0]
    return filters * (in_channels * k * k + 1)


def conv_params_ignores_in_channels(in_channels, filters, kernel):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return filters * (kh * kw + 1)


def _stack(input_shape, layers, *, conv_keeps_channels=False, ignore_padding=False, pool_stride_is_size=False,
           flatten_drops_channels=False, ceil=False):
    def size(n, k, s, p=0):
        if ceil:
            return math.ceil((n + 2 * p - k) / s) + 1
        return (n + 2 * p - k) // s + 1

    shape, shapes = tuple(input_shape), []
    for layer in layers:
        if layer[0] == "conv":
            _, f, k, s, p = layer
            p = 0 if ignore_padding else p
            shape = (shape[0] if conv_keeps_channels else f, size(shape[1], k, s, p), size(shape[2], k, s, p))
        elif layer[0] == "pool":
            _, k, s = layer
            s = k if pool_stride_is_size else s
            shape = (shape[0], size(shape[1], k, s), size(shape[2], k, s))
        elif layer[0] == "flatten":
            shape = (shape[1] * shape[2],) if flatten_drops_channels else (shape[0] * shape[1] * shape[2],)
        else:
            shape = (layer[1],)
        shapes.append(shape)
    return shapes


def stack_conv_keeps_channels(input_shape, layers):
    return _stack(input_shape, layers, conv_keeps_channels=True)


def stack_ignores_padding(input_shape, layers):
    return _stack(input_shape, layers, ignore_padding=True)


def stack_pool_stride_is_size(input_shape, layers):
    return _stack(input_shape, layers, pool_stride_is_size=True)


def stack_flatten_drops_channels(input_shape, layers):
    return _stack(input_shape, layers, flatten_drops_channels=True)


def stack_rounds_up(input_shape, layers):
    return _stack(input_shape, layers, ceil=True)


def stack_last_shape_only(input_shape, layers):
    return [_stack(input_shape, layers)[-1]]


def _field(layers, *, strides=True, own_stride=False, dilation=True, start=1):
    size, jump = start, 1
    for layer in layers:
        k, s, d = (*layer, 1)[:3]
        d = d if dilation else 1
        if own_stride:
            jump *= s if strides else 1
        size += d * (k - 1) * jump
        if not own_stride:
            jump *= s if strides else 1
    return size


def field_ignores_strides(layers):
    return _field(layers, strides=False)


def field_counts_own_stride(layers):
    return _field(layers, own_stride=True)


def field_ignores_dilation(layers):
    return _field(layers, dilation=False)


def field_sum_of_kernels(layers):
    return sum(layer[0] for layer in layers)


def field_starts_at_zero(layers):
    return _field(layers, start=0)


def shift_with_roll(x, dy, dx):
    return np.roll(np.asarray(x, float), (dy, dx), axis=(0, 1))


def shift_wrong_direction(x, dy, dx):
    return reference.shift(x, -dy, -dx)


def shift_axes_swapped(x, dy, dx):
    """dy applied to the columns and dx to the rows."""
    return reference.shift(x, dx, dy)


def copy_check_with_roll(a, b, dy, dx):
    return bool(np.allclose(np.roll(a, (dy, dx), axis=(0, 1)), b, rtol=1e-6, atol=1e-9))


def copy_check_exact(a, b, dy, dx):
    h, w = a.shape
    return bool(np.array_equal(b[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)],
                               a[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]))


def copy_check_wrong_direction(a, b, dy, dx):
    return reference.is_shifted_copy(a, b, -dy, -dx)


def copy_check_overlap_one_short(a, b, dy, dx):
    h, w = a.shape
    part_a = a[max(-dy, 0):h - max(dy, 0) - 1, max(-dx, 0):w - max(dx, 0) - 1]
    part_b = b[max(dy, 0):h + min(dy, 0) - 1, max(dx, 0):w + min(dx, 0) - 1]
    return bool(np.allclose(part_b, part_a, rtol=1e-6, atol=1e-9))


def copy_check_always_true(a, b, dy, dx):
    return True


WRONG = {
    "dense_params": [dense_params_without_bias],
    "conv2d_params": [conv_params_without_bias, conv_params_bias_per_input_channel,
                      conv_params_square_kernel_assumed, conv_params_ignores_in_channels],
    "stack_shapes": [stack_conv_keeps_channels, stack_ignores_padding, stack_pool_stride_is_size,
                     stack_flatten_drops_channels, stack_rounds_up, stack_last_shape_only],
    "receptive_field": [field_ignores_strides, field_counts_own_stride, field_ignores_dilation,
                        field_sum_of_kernels, field_starts_at_zero],
    "shift": [shift_with_roll, shift_wrong_direction, shift_axes_swapped],
    "is_shifted_copy": [copy_check_with_roll, copy_check_exact, copy_check_wrong_direction,
                        copy_check_overlap_one_short, copy_check_always_true],
}
WRONG_EXPLOSION = {
    "dense biases counted": (200 * 200 * 40_000 + 40_000, 1664),
    "conv biases forgotten": (200 * 200 * 40_000, 64 * 25),
    "floats": (1.6e9, 1664.0),
    "the slides' rounding": (2_000_000_000, 1664),
}


# --- the solution earns every point, the blank none, the mistakes lose some ---

@pytest.mark.parametrize("part", FUNCTIONS + ["explosion"])
def test_solution_earns_every_point(part, solution):
    assert_full_marks(part, solution[part])


@pytest.mark.parametrize("part", FUNCTIONS)
def test_blank_earns_nothing(part):
    assert_blank_earns_nothing(part)


def test_missing_or_none_explosion_earns_nothing():
    assert run("explosion", None).points == 0


@pytest.mark.parametrize("part, wrong", [(p, f) for p, fs in WRONG.items() for f in fs],
                         ids=lambda v: getattr(v, "__name__", v))
def test_usual_mistake_loses_points(part, wrong):
    assert_loses_points(part, wrong)


@pytest.mark.parametrize("mistake", sorted(WRONG_EXPLOSION))
def test_wrong_explosion_loses_the_point(mistake):
    report = run("explosion", WRONG_EXPLOSION[mistake])
    assert report.points == 0, report.text()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_solution_passes_for_any_grading_seed(seed, solution):
    for part in FUNCTIONS:
        report = run(part, solution[part], seed=seed)
        assert report.passed == report.total, report.text()


def test_feedback_names_the_case_but_not_the_expected_values():
    text = run("stack_shapes", stack_ignores_padding).text()
    assert "FAIL" in text and "layers" in text
    for case in cases_for("stack_shapes"):
        assert str(case.expected) not in text


# --- the references written out in the grading module agree with cnnkit ------

@pytest.mark.parametrize("seed", [0, 1])
def test_receptive_field_reference_matches_a_measurement(seed):
    """Back-propagate an impulse from one output unit through cnnkit's convolutions; count the pixels it reaches."""
    for case in cases_for("receptive_field", seed=seed):
        (layers,) = case.args
        if case.expected > 200:
            continue
        n = case.expected + 8
        shapes = [n]
        for layer in layers:
            k, s, d = (*layer, 1)[:3]
            shapes.append(cnnkit.conv_output_size(shapes[-1], k, s, 0, d))
        grad = np.zeros((1, 1, 1, shapes[-1]))
        grad[..., shapes[-1] // 2] = 1.0
        for layer, size_in in zip(reversed(layers), reversed(shapes[:-1])):
            k, s, d = (*layer, 1)[:3]
            x = np.zeros((1, 1, 1, size_in))
            grad, _, _ = cnnkit.conv2d_backward(grad, x, np.ones((1, 1, 1, k)), stride=(1, s), dilation=(1, d))
        touched = np.flatnonzero(grad[0, 0, 0])
        assert touched[-1] - touched[0] + 1 == case.expected, case.label


def test_stack_reference_matches_cnnkit_ops(rng):
    """The shapes of the worked example are those that cnnkit.conv2d and cnnkit.max_pool2d produce."""
    x = rng.standard_normal((1, 1, 28, 28))
    got = []
    for layer in reference.BOOK_STACK:
        if layer[0] == "conv":
            _, f, k, s, p = layer
            x = cnnkit.conv2d(x, rng.standard_normal((f, x.shape[1], k, k)), stride=s, padding=p)
        elif layer[0] == "pool":
            x = cnnkit.max_pool2d(x, layer[1], layer[2])
        elif layer[0] == "flatten":
            x = x.reshape(1, -1)
        else:
            x = x @ rng.standard_normal((x.shape[1], layer[1]))
        got.append(x.shape[1:])
    assert tuple(got) == cases_for("stack_shapes")[0].expected


def test_conv_params_reference_matches_the_kernel_shape():
    for case in cases_for("conv2d_params"):
        c, f, kernel = case.args
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        assert case.expected == np.zeros((f, c, kh, kw)).size + np.zeros(f).size


def test_shift_reference_is_a_cropped_pad():
    x = np.arange(30.0).reshape(5, 6)
    for dy, dx in [(2, 1), (-1, 3), (0, -4), (4, -5)]:
        padded = np.pad(x, ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))))
        expected = padded[max(-dy, 0):max(-dy, 0) + 5, max(-dx, 0):max(-dx, 0) + 6]
        np.testing.assert_array_equal(reference.shift(x, dy, dx), expected)
