"""Pooling argument errors: one test per documented error, for every pooling function.

Each message must name the function, the argument, what was expected and
what was given; the fast and the naive functions share the checks.
"""

import re

import numpy as np
import pytest

from cnnkit.naive.pool import (
    avg_pool2d_backward_naive,
    avg_pool2d_naive,
    max_pool2d_backward_naive,
    max_pool2d_naive,
)
from cnnkit.pool import avg_pool2d, avg_pool2d_backward, global_avg_pool2d, global_max_pool2d, max_pool2d, max_pool2d_backward

FORWARD = [max_pool2d, avg_pool2d, max_pool2d_naive, avg_pool2d_naive]
BACKWARD = [max_pool2d_backward, avg_pool2d_backward, max_pool2d_backward_naive, avg_pool2d_backward_naive]
WINDOWED = FORWARD + BACKWARD
GLOBAL = [global_avg_pool2d, global_max_pool2d]


def name(fn):
    return fn.__name__


def call(fn, x, *args, **kwargs):
    """Call a forward or backward function; backward ones get a placeholder dout.

    The checks on x and on size/stride/padding come before the one on dout,
    so the placeholder's shape never matters in these tests.
    """
    if fn in BACKWARD:
        return fn(np.zeros((1, 1, 1, 1)), x, *args, **kwargs)
    return fn(x, *args, **kwargs)


def raises(exc, fn, message):
    return pytest.raises(exc, match=re.escape(f"{name(fn)}: {message}"))


# --- x ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28), (1, 1, 1, 28, 28)])
@pytest.mark.parametrize("fn", WINDOWED + GLOBAL, ids=name)
def test_x_must_be_4d(fn, shape):
    with raises(ValueError, fn, f"x must be 4-D (N, C, H, W), got shape {shape}"):
        call(fn, np.zeros(shape))


@pytest.mark.parametrize("shape", [(1, 1, 0, 4), (2, 3, 4, 0)])
@pytest.mark.parametrize("fn", WINDOWED + GLOBAL, ids=name)
def test_x_must_have_pixels(fn, shape):
    with raises(ValueError, fn, f"x must have H >= 1 and W >= 1 (N, C, H, W), got shape {shape}"):
        call(fn, np.zeros(shape), **({} if fn in GLOBAL else {"padding": 1}))


@pytest.mark.parametrize("fn", WINDOWED + GLOBAL, ids=name)
def test_x_must_be_real(fn):
    with raises(TypeError, fn, "x must be a real numeric array, got dtype complex128"):
        call(fn, np.zeros((1, 1, 4, 4), dtype=complex))
    with raises(TypeError, fn, "x must be a real numeric array, got dtype <U1"):
        call(fn, np.full((1, 1, 4, 4), "a"))


# --- size and stride ------------------------------------------------------------------------


@pytest.mark.parametrize("arg", ["size", "stride"])
@pytest.mark.parametrize("value", [0, -2, (2, 0), (0, 1)])
@pytest.mark.parametrize("fn", WINDOWED, ids=name)
def test_size_and_stride_must_be_positive(fn, arg, value):
    with raises(ValueError, fn, f"{arg} must be >= 1, got {value!r}"):
        call(fn, np.zeros((1, 1, 4, 4)), **{arg: value})


@pytest.mark.parametrize("arg", ["size", "stride"])
@pytest.mark.parametrize("value", [2.0, "2", True, (2, 2, 2), [2.0, 1]])
@pytest.mark.parametrize("fn", WINDOWED, ids=name)
def test_size_and_stride_must_be_ints(fn, arg, value):
    with raises(TypeError, fn, f"{arg} must be an int or an (h, w) pair of ints, got {value!r}"):
        call(fn, np.zeros((1, 1, 4, 4)), **{arg: value})


# --- padding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", WINDOWED, ids=name)
def test_padding_must_not_be_negative(fn):
    with raises(ValueError, fn, "padding must be >= 0, got -1"):
        call(fn, np.zeros((1, 1, 4, 4)), padding=-1)
    with raises(ValueError, fn, "padding must be >= 0, got -1"):
        call(fn, np.zeros((1, 1, 4, 4)), padding=(0, -1))


@pytest.mark.parametrize("fn", WINDOWED, ids=name)
def test_padding_mode_must_be_known(fn):
    message = "padding must be an int, an (h, w) pair or one of ('valid', 'same', 'full'), got 'circular'"
    with raises(ValueError, fn, message):
        call(fn, np.zeros((1, 1, 4, 4)), padding="circular")


@pytest.mark.parametrize("value", [1.5, None, (1, 1, 1)])
@pytest.mark.parametrize("fn", WINDOWED, ids=name)
def test_padding_type(fn, value):
    message = f"padding must be an int, an (h, w) pair of ints or one of ('valid', 'same', 'full'), got {value!r}"
    with raises(TypeError, fn, message):
        call(fn, np.zeros((1, 1, 4, 4)), padding=value)


@pytest.mark.parametrize(
    "size, padding, axis, given",
    [(2, 2, "height", "2+2"), (3, (1, 3), "width", "3+3"), ((2, 3), (2, 0), "height", "2+2")],
)
@pytest.mark.parametrize("fn", WINDOWED, ids=name)
def test_padding_must_be_smaller_than_the_window(fn, size, padding, axis, given):
    # Otherwise a window could hold padding only: no maximum, an empty mean.
    k = size if isinstance(size, int) else size[0 if axis == "height" else 1]
    message = (
        f"padding must be smaller than the window size on every side, got padding {given} "
        f"along {axis} for size {k} (padding={padding!r}, size={size!r})"
    )
    with raises(ValueError, fn, message):
        call(fn, np.zeros((1, 1, 9, 9)), size=size, padding=padding)


# --- window vs input -----------------------------------------------------------------------------


@pytest.mark.parametrize("fn", WINDOWED, ids=name)
def test_window_larger_than_the_padded_input(fn):
    message = (
        "kernel along height of size 3 (dilation 1, effective size 3) is larger than the padded input "
        "of size 2 (input 2 + padding 0+0) (size=3, stride=None, padding=0, x shape (1, 1, 2, 5))"
    )
    with raises(ValueError, fn, message):
        call(fn, np.zeros((1, 1, 2, 5)), size=3)
    with raises(ValueError, fn, "kernel along width of size 4"):
        call(fn, np.zeros((1, 1, 5, 2)), size=(2, 4))


@pytest.mark.parametrize("fn", WINDOWED, ids=name)
def test_window_that_fits_only_thanks_to_padding_is_fine(fn):
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    if fn in FORWARD:
        assert fn(x, size=3, stride=1, padding=1).shape == (1, 1, 2, 2)
    else:
        assert fn(np.ones((1, 1, 2, 2)), x, size=3, stride=1, padding=1).shape == x.shape


# --- dout ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dout_shape", [(1, 1, 3, 3), (1, 1, 2), (2, 1, 2, 2), ()])
@pytest.mark.parametrize("fn", BACKWARD, ids=name)
def test_dout_must_have_the_output_shape(fn, dout_shape):
    message = f"dout must have shape (1, 1, 2, 2) (the forward output's shape (N, C, Ho, Wo)), got shape {dout_shape}"
    with raises(ValueError, fn, message):
        fn(np.zeros(dout_shape), np.zeros((1, 1, 4, 4)))


@pytest.mark.parametrize("fn", BACKWARD, ids=name)
def test_dout_shape_follows_size_stride_and_padding(fn):
    message = "dout must have shape (1, 1, 4, 4) (the forward output's shape (N, C, Ho, Wo)), got shape (1, 1, 2, 2)"
    with raises(ValueError, fn, message):
        fn(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 4, 4)), 3, 1, "same")


@pytest.mark.parametrize("fn", BACKWARD, ids=name)
def test_dout_must_be_real(fn):
    with raises(TypeError, fn, "dout must be a real numeric array, got dtype complex128"):
        fn(np.zeros((1, 1, 2, 2), dtype=complex), np.zeros((1, 1, 4, 4)))


@pytest.mark.parametrize("fn", BACKWARD, ids=name)
def test_x_is_checked_before_dout(fn):
    with raises(ValueError, fn, "x must be 4-D (N, C, H, W), got shape (4, 4)"):
        fn(np.zeros(7), np.zeros((4, 4)))
