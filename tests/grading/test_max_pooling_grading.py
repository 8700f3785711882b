"""Assignment 04-max-pooling: the hidden tests reward the solution and catch the usual mistakes.

The mistakes below are the ones that a 2x2/stride-2-only test lets through
(a known fork of CS231n's assignment passed such a test with a wrong
overlap rule): the gradient sent to every maximum of a window, overlapping
windows overwriting each other's gradient, the last maximum of a tie
chosen instead of the first. The hidden cases include overlapping windows
and ties, so each of them loses points.
"""

import numpy as np
import pytest

from autograder.grading import cases_for, get_part, grade_part

from .families import size_default, stride_defaults_to_size


ASSIGNMENT = "04-max-pooling"


# --- helpers for the wrong answers -------------------------------------------

def _setup(x, size, stride, padding, fill=-np.inf):
    x = np.asarray(x, dtype=float)
    stride = size if stride is None else stride
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=fill)
    ho = (xp.shape[2] - size) // stride + 1
    wo = (xp.shape[3] - size) // stride + 1
    return x, xp, stride, ho, wo


def _forward(x, size, stride, padding, fill=-np.inf, ceil=False):
    x, xp, stride, ho, wo = _setup(x, size, stride, padding, fill)
    if ceil:
        ho = -(-(xp.shape[2] - size) // stride) + 1
        wo = -(-(xp.shape[3] - size) // stride) + 1
    out = np.empty(x.shape[:2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = xp[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
    return out


def _backward(dout, x, size, stride, padding, rule, fill=-np.inf):
    """Max-pool backward with a pluggable routing ``rule(window) -> mask`` and accumulate/overwrite."""
    x, xp, stride, ho, wo = _setup(x, size, stride, padding, fill)
    dout = np.asarray(dout, dtype=float)
    dxp = np.zeros(xp.shape)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(ho):
                for j in range(wo):
                    rows = slice(i * stride, i * stride + size)
                    cols = slice(j * stride, j * stride + size)
                    mask = rule(xp[n, c, rows, cols])
                    if rule.overwrite:
                        dxp[n, c, rows, cols][mask] = dout[n, c, i, j]
                    else:
                        dxp[n, c, rows, cols] += mask * dout[n, c, i, j]
    h, w = x.shape[2:]
    return dxp[:, :, padding:padding + h, padding:padding + w]


def _rule(fn, overwrite=False):
    fn.overwrite = overwrite
    return fn


def _first(window):
    mask = np.zeros(window.shape, dtype=bool)
    mask.flat[np.argmax(window)] = True
    return mask


def _last(window):
    flat = window.ravel()
    mask = np.zeros(window.shape, dtype=bool)
    mask.flat[len(flat) - 1 - np.argmax(flat[::-1])] = True
    return mask


def _every(window):
    return window == window.max()


# --- the usual wrong answers ------------------------------------------------

def forward_zero_padding(x, size=2, stride=None, padding=0):
    return _forward(x, size, stride, padding, fill=0.0)


def forward_ignores_stride(x, size=2, stride=None, padding=0):
    return _forward(x, size, None, padding)


def forward_ceil(x, size=2, stride=None, padding=0):
    # Windows that run past the edge are cut short: ceil in place of floor.
    return _forward(x, size, stride, padding, ceil=True)


def forward_ignores_padding(x, size=2, stride=None, padding=0):
    return _forward(x, size, stride, 0)


def backward_every_max(dout, x, size=2, stride=None, padding=0):
    """The gradient to every cell that ties for the maximum, not only the first."""
    return _backward(dout, x, size, stride, padding, _rule(_every))


def backward_overwrites_overlaps(dout, x, size=2, stride=None, padding=0):
    """dx[max] = dout instead of dx[max] += dout: overlapping windows overwrite each other."""
    return _backward(dout, x, size, stride, padding, _rule(_first, overwrite=True))


def backward_last_max(dout, x, size=2, stride=None, padding=0):
    return _backward(dout, x, size, stride, padding, _rule(_last))


def backward_zero_padding(dout, x, size=2, stride=None, padding=0):
    return _backward(dout, x, size, stride, padding, _rule(_first), fill=0.0)


def backward_ones_not_dout(dout, x, size=2, stride=None, padding=0):
    """The 0/1 mask itself, as if the upstream gradient were always ones."""
    return _backward(np.ones_like(np.asarray(dout, dtype=float)), x, size, stride, padding, _rule(_first))


def backward_ignores_stride(dout, x, size=2, stride=None, padding=0):
    dout = np.asarray(dout, dtype=float)
    x = np.asarray(x, dtype=float)
    _, xp, _, ho, wo = _setup(x, size, None, padding)
    if (ho, wo) != dout.shape[2:]:
        raise ValueError("dout does not fit windows that tile the input")
    return _backward(dout, x, size, None, padding, _rule(_first))


def forward_pads_in_the_input_dtype(x, size=2, stride=None, padding=0):
    """No float conversion: -inf padding of an int image overflows (NumPy raises)."""
    x = np.asarray(x)
    stride = size if stride is None else stride
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)
    ho, wo = (xp.shape[2] - size) // stride + 1, (xp.shape[3] - size) // stride + 1
    return np.stack([np.stack([xp[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
                               for j in range(wo)], -1) for i in range(ho)], -2)


def forward_pads_with_the_minimum(x, size=2, stride=None, padding=0):
    """Pads with x.min() - 1 in the input's dtype: fine for floats; for ints it is right too, so the
    2x2 corner case decides: the minimum is computed per batch, not per window, which is still right."""
    x = np.asarray(x)
    return _forward(x.astype(float), size, stride, padding)


def backward_in_float32(dout, x, size=2, stride=None, padding=0):
    """Computed in float32: 1 and 1 + 1e-9 tie, so the gradient goes to the wrong cell."""
    x32 = np.asarray(x, dtype=np.float32).astype(float)
    return _backward(dout, x32, size, stride, padding, _rule(_first))


def backward_without_float_cast(dout, x, size=2, stride=None, padding=0):
    """dx allocated like x: an int image gets an int gradient (the dout's fractions are lost)."""
    x = np.asarray(x)
    dx = _backward(dout, x.astype(float), size, stride, padding, _rule(_first))
    return dx.astype(x.dtype)


def forward_guard_for_tiny_inputs(x, size=2, stride=None, padding=0):
    """Refuses windows larger than the unpadded input (the 2x2 input with padding is valid)."""
    if size > min(np.shape(x)[2:]):
        raise ValueError("window larger than the input")
    return _forward(x, size, stride, padding)


# --- correct alternatives ------------------------------------------------------

def forward_with_sliding_windows(x, size=2, stride=None, padding=0):
    stride = size if stride is None else stride
    x = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2),
               constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.max(axis=(4, 5))


WRONG = {
    "max_pool2d": [forward_zero_padding, forward_ignores_stride, forward_ceil, forward_ignores_padding,
                   forward_pads_in_the_input_dtype, forward_guard_for_tiny_inputs],
    "max_pool2d_backward": [backward_every_max, backward_overwrites_overlaps, backward_last_max,
                            backward_zero_padding, backward_ones_not_dout, backward_ignores_stride,
                            backward_in_float32, backward_without_float_cast],
}
RIGHT = {
    "max_pool2d": [forward_with_sliding_windows, forward_pads_with_the_minimum],
}

# The signature's whole domain: stride=None passed explicitly must work as the default does.
for _part, _size_index in (("max_pool2d", 1), ("max_pool2d_backward", 2)):
    WRONG[_part] = WRONG[_part] + [stride_defaults_to_size(ASSIGNMENT, _part, _size_index),
                                   size_default(ASSIGNMENT, _part, _size_index)]


def test_the_reference_helpers_are_right():
    # The wrong answers differ from a right one by one rule only: with the right rule they are right.
    right = lambda dout, x, size=2, stride=None, padding=0: _backward(dout, x, size, stride, padding, _rule(_first))
    assert grade_part(f"{ASSIGNMENT}/max_pool2d_backward", right).passed == len(cases_for(f"{ASSIGNMENT}/max_pool2d_backward"))
    assert grade_part(f"{ASSIGNMENT}/max_pool2d", lambda x, size=2, stride=None, padding=0: _forward(x, size, stride, padding)).failures == []


@pytest.mark.parametrize("wrong", [backward_every_max, backward_overwrites_overlaps, backward_last_max])
def test_overlap_and_tie_mistakes_pass_the_2x2_stride_2_example_yet_lose_points(wrong):
    # What makes these mistakes dangerous: on the worked example they are right.
    x = cases_for(f"{ASSIGNMENT}/max_pool2d_backward")[0].args[1]
    dout = np.ones((1, 1, 2, 2))
    right = _backward(dout, x, 2, None, 0, _rule(_first))
    np.testing.assert_array_equal(wrong(dout, x), right)
    assert grade_part(f"{ASSIGNMENT}/max_pool2d_backward", wrong).points <= 0.75 * get_part(f"{ASSIGNMENT}/max_pool2d_backward").points


def test_hidden_cases_hold_overlapping_windows_and_ties():
    labels = " | ".join(case.label for case in cases_for(f"{ASSIGNMENT}/max_pool2d_backward"))
    assert "size=3, stride=1" in labels and "size=3, stride=2" in labels and "size=2, stride=1" in labels
    assert "ties" in labels and "padding=1" in labels


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tie_and_overlap_mistakes_lose_points_for_any_grading_seed(seed):
    for wrong in (backward_every_max, backward_overwrites_overlaps, backward_last_max):
        report = grade_part(f"{ASSIGNMENT}/max_pool2d_backward", wrong, seed=seed)
        assert report.points < get_part(f"{ASSIGNMENT}/max_pool2d_backward").points, report.text()


def test_feedback_names_the_case_but_not_the_expected_values():
    text = grade_part(f"{ASSIGNMENT}/max_pool2d_backward", backward_every_max).text()
    assert "ties" in text and "case " in text
    for case in cases_for(f"{ASSIGNMENT}/max_pool2d_backward"):
        assert np.array2string(case.expected) not in text
