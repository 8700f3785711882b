"""Assignment 01-architecture: the hidden tests reward the solution and catch the usual mistakes."""

import math

import numpy as np
import pytest

import cnnkit
from autograder.grading import cases_for, run
from autograder.grading.parts import architecture as reference


ASSIGNMENT = "01-architecture"


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
           flatten_drops_channels=False, ceil=False, rounding=None):
    def size(n, k, s, p=0):
        if ceil:
            return math.ceil((n + 2 * p - k) / s) + 1
        if rounding is not None:
            return rounding((n + 2 * p - k) / s) + 1
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


def stack_true_division(input_shape, layers):
    """``/`` where the formula floors: 13.5 rows."""
    return _stack(input_shape, layers, rounding=lambda v: v)


def stack_rounds_to_nearest(input_shape, layers):
    return _stack(input_shape, layers, rounding=round)


# --- correct alternatives: other styles that must keep every point ------------

def stack_with_np_floor(input_shape, layers):
    """Sizes from np.floor: floats such as 28.0, and lists for shapes."""
    return [list(shape) for shape in _stack(input_shape, layers, rounding=np.floor)]


def stack_with_numpy_ints(input_shape, layers):
    return tuple(np.array(shape, dtype=np.int64) for shape in _stack(input_shape, layers))


def conv_params_with_np_prod(in_channels, filters, kernel):
    kernel = (kernel, kernel) if np.ndim(kernel) == 0 else kernel
    return np.prod([filters, in_channels, *kernel]) + np.int64(filters)


def dense_params_as_float(n_inputs, units):
    return float(n_inputs * units + units)


def field_as_float(layers):
    return float(reference.receptive_field(layers))


def shift_with_pad_and_crop(x, dy, dx):
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape
    dy, dx = int(np.clip(dy, -h, h)), int(np.clip(dx, -w, w))
    padded = np.pad(x, ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))))
    return padded[max(-dy, 0):max(-dy, 0) + h, max(-dx, 0):max(-dx, 0) + w].copy()


def copy_check_with_isclose(a, b, dy, dx):
    h, w = a.shape
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    inside = (ys + dy >= 0) & (ys + dy < h) & (xs + dx >= 0) & (xs + dx < w)
    return bool(np.all(np.isclose(b[ys[inside] + dy, xs[inside] + dx], a[inside], rtol=1e-6, atol=1e-9)))


# --- wrong answers at the edges of the domain, the dtype and the tolerance ---

def shift_keeps_integer_dtype(x, dy, dx):
    """np.zeros_like(x) of an int image: the exercise asks for a float array."""
    x = np.asarray(x)
    out = np.zeros_like(x)
    h, w = x.shape
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = x[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def shift_without_large_shift_guard(x, dy, dx):
    """No guard for |dx| >= W: the slices then cut the wrong cells."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    h, w = x.shape
    try:
        out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            x[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    except ValueError:
        return x.copy()
    return out


def shift_guard_only_rows(x, dy, dx):
    x = np.asarray(x, dtype=float)
    h, w = x.shape
    if abs(dy) >= h:
        return np.zeros_like(x)
    return np.roll(reference.shift(x, dy, 0), dx, axis=1) if abs(dx) >= w else reference.shift(x, dy, dx)


def _copy_check(a, b, dy, dx, **tolerance):
    h, w = a.shape
    part_a = a[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    part_b = b[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
    return bool(np.allclose(part_b, part_a, **tolerance))


def copy_check_allclose_defaults(a, b, dy, dx):
    return _copy_check(a, b, dy, dx)


def copy_check_tolerances_swapped(a, b, dy, dx):
    return _copy_check(a, b, dy, dx, rtol=1e-9, atol=1e-6)



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
    "shift": [shift_with_roll, shift_wrong_direction, shift_axes_swapped, shift_keeps_integer_dtype,
              shift_without_large_shift_guard, shift_guard_only_rows],
    "is_shifted_copy": [copy_check_with_roll, copy_check_exact, copy_check_wrong_direction,
                        copy_check_overlap_one_short, copy_check_always_true, copy_check_allclose_defaults,
                        copy_check_tolerances_swapped],
    # dense biases counted; conv biases forgotten; the slides' rounding; not a pair
    "explosion": [(200 * 200 * 40_000 + 40_000, 1664), (200 * 200 * 40_000, 64 * 25), (2_000_000_000, 1664),
                  200 * 200 * 40_000, (1.6e9 + 0.5, 1664)],
}
RIGHT = {
    "explosion": [(1.6e9, 1664.0), [np.int64(1_600_000_000), np.int64(1664)]],
    "dense_params": [dense_params_as_float],
    "conv2d_params": [conv_params_with_np_prod],
    "stack_shapes": [stack_with_np_floor, stack_with_numpy_ints],
    "receptive_field": [field_as_float],
    "shift": [shift_with_pad_and_crop],
    "is_shifted_copy": [copy_check_with_isclose],
}


# --- the solution earns every point, the blank none, the mistakes lose some ---

def test_missing_or_none_explosion_earns_nothing():
    assert run(f"{ASSIGNMENT}/explosion", None).points == 0


def test_feedback_names_the_returned_item():
    text = run(f"{ASSIGNMENT}/explosion", (200 * 200 * 40_000, 64 * 25)).text()
    assert "the conv layer's parameters" in text and "item 1" not in text, text
    text = run(f"{ASSIGNMENT}/stack_shapes", stack_ignores_padding).text()
    assert "the shape after layer" in text and "item " not in text, text


def test_integral_floats_are_whole_numbers_but_halves_are_not():
    assert "whole number" in run(f"{ASSIGNMENT}/stack_shapes", stack_true_division).text()
    assert run(f"{ASSIGNMENT}/dense_params", dense_params_as_float).passed == len(cases_for(f"{ASSIGNMENT}/dense_params"))


def test_shift_says_when_the_dtype_is_not_float():
    text = run(f"{ASSIGNMENT}/shift", shift_keeps_integer_dtype).text()
    assert "float array" in text and "int64" in text, text


def test_tolerance_cases_sit_on_both_sides_of_each_bound():
    labels = [case.label for case in cases_for(f"{ASSIGNMENT}/is_shifted_copy")]
    for where in ("values near 1000", "values near 0"):
        assert any(where in label and "0.5x" in label for label in labels)
        assert any(where in label and "3.0x" in label for label in labels)


def test_feedback_names_the_case_but_not_the_expected_values():
    text = run(f"{ASSIGNMENT}/stack_shapes", stack_ignores_padding).text()
    assert "case " in text and "layers" in text
    for case in cases_for(f"{ASSIGNMENT}/stack_shapes"):
        assert str(case.expected) not in text


# --- the references written out in the grading module agree with cnnkit ------

@pytest.mark.parametrize("seed", [0, 1])
def test_receptive_field_reference_matches_a_measurement(seed):
    """Back-propagate an impulse from one output unit through cnnkit's convolutions; count the pixels it reaches."""
    for case in cases_for(f"{ASSIGNMENT}/receptive_field", seed=seed):
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
    assert tuple(got) == cases_for(f"{ASSIGNMENT}/stack_shapes")[0].expected


def test_conv_params_reference_matches_the_kernel_shape():
    for case in cases_for(f"{ASSIGNMENT}/conv2d_params"):
        c, f, kernel = case.args
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        assert case.expected == np.zeros((f, c, kh, kw)).size + np.zeros(f).size


def test_shift_reference_is_a_cropped_pad():
    x = np.arange(30.0).reshape(5, 6)
    for dy, dx in [(2, 1), (-1, 3), (0, -4), (4, -5)]:
        padded = np.pad(x, ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))))
        expected = padded[max(-dy, 0):max(-dy, 0) + 5, max(-dx, 0):max(-dx, 0) + 6]
        np.testing.assert_array_equal(reference.shift(x, dy, dx), expected)
