"""Pooling backward passes: vectorised vs loops, vs numerical gradients, and the rules.

Known wrong rules that a 2x2/stride-2-only check lets through, each caught
here by a case built to expose it:

* max: the gradient sent to *every* tied maximum instead of the first one
  (or to the first in column-major order);
* max and average: overlapping windows *overwriting* each other's gradient
  instead of adding up;
* average: the gradient not divided by the window size, or padding counted
  in the window size.
"""

import numpy as np
import pytest

from cnnkit.data import pooling_example

from cnnkit.gradcheck import numerical_gradient
from cnnkit.naive.pool import avg_pool2d_backward_naive, max_pool2d_backward_naive
from cnnkit.pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward

SIZES = [2, 3, (2, 3)]
STRIDES = [1, 2, None, (1, 2)]
PADDINGS = [0, 1, "valid", "same"]
EXTRA = [(2, 3, 0), (3, 1, "full"), (3, 2, (1, 0)), ((3, 2), (2, 1), (0, 1)), (1, 1, 0), ((5, 5), 1, 0)]
CASES = [(k, s, p) for k in SIZES for s in STRIDES for p in PADDINGS] + EXTRA
DTYPES = [np.float32, np.float64]
DATA = ["distinct", "ties", "constant"]

X_BOOK = pooling_example().astype(np.int64)  # chapter 4's example, kept as integers

FAST_BACKWARD = [max_pool2d_backward, avg_pool2d_backward]
ALL_BACKWARD = FAST_BACKWARD + [max_pool2d_backward_naive, avg_pool2d_backward_naive]


def case_id(case):
    size, stride, padding = case
    return f"size={size}-stride={stride}-padding={padding}"


def random_images(rng, dtype, data):
    """A small random batch; ``ties`` draws from {0, 1, 2}, ``constant`` is all one value."""
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(5, 10)), int(rng.integers(5, 10)))
    if data == "ties":
        return rng.integers(0, 3, shape).astype(dtype)
    if data == "constant":
        return np.full(shape, -0.5, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


def tolerance(dtype):
    return 1e-5 if dtype == np.float32 else 1e-12


# --- vectorised vs loops -------------------------------------------------------


# Each op, its gradient and its gradient's loop version; average pooling is not tried on constant images.
POOLS = {"max": (max_pool2d, max_pool2d_backward, max_pool2d_backward_naive),
         "avg": (avg_pool2d, avg_pool2d_backward, avg_pool2d_backward_naive)}
KIND_DATA = [("max", data) for data in DATA] + [("avg", "distinct"), ("avg", "ties")]


@pytest.mark.parametrize("kind, data", KIND_DATA)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_pool2d_backward_matches_loops(case, dtype, kind, data, rng):
    pool, backward, loops = POOLS[kind]
    size, stride, padding = case
    x = random_images(rng, dtype, data)
    dout = rng.standard_normal(pool(x, size, stride, padding).shape).astype(dtype)
    dx = backward(dout, x, size, stride, padding)
    expected = loops(dout, x, size, stride, padding)
    assert dx.shape == x.shape and dx.dtype == dtype
    tol = tolerance(dtype)  # overlapping windows add in a different order
    np.testing.assert_allclose(dx, expected, rtol=tol, atol=tol, err_msg=f"{case_id(case)}, {data} x shape {x.shape}")


@pytest.mark.parametrize("case", [(2, None, 0), (3, 1, 0), (3, 2, "same")], ids=case_id)
def test_max_backward_counts_each_window_once(case, rng):
    # With an upstream gradient of ones, dx counts how many windows chose each
    # cell: the total is the number of windows, whatever the ties.
    size, stride, padding = case
    x = rng.integers(0, 2, (2, 3, 8, 7)).astype(np.float64)
    out = max_pool2d(x, size, stride, padding)
    dx = max_pool2d_backward(np.ones_like(out), x, size, stride, padding)
    assert dx.sum() == out.size
    assert set(np.unique(dx)) <= set(range(10))


# --- analytic vs numerical gradients (float64, no ties) -------------------------

GRAD_CASES = [(2, None, 0), (3, 1, 0), (3, 2, 0), (3, 2, "same"), ((2, 3), (1, 2), 1), (3, 1, "full")]


def distinct_images(rng, shape):
    """Values 0.1 apart in random order: no ties, so the max is differentiable there."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1


@pytest.mark.parametrize("case", GRAD_CASES, ids=case_id)
def test_max_pool2d_backward_numerically(case, rng):
    size, stride, padding = case
    x = distinct_images(rng, (2, 2, 5, 6))
    dout = rng.standard_normal(max_pool2d(x, size, stride, padding).shape)
    dx = max_pool2d_backward(dout, x, size, stride, padding)
    numeric = numerical_gradient(lambda v: max_pool2d(v, size, stride, padding), x, dout)
    np.testing.assert_allclose(dx, numeric, rtol=1e-7, atol=1e-8, err_msg=case_id(case))


@pytest.mark.parametrize("case", GRAD_CASES, ids=case_id)
def test_avg_pool2d_backward_numerically(case, rng):
    size, stride, padding = case
    x = rng.standard_normal((2, 2, 5, 6))
    dout = rng.standard_normal(avg_pool2d(x, size, stride, padding).shape)
    dx = avg_pool2d_backward(dout, x, size, stride, padding)
    numeric = numerical_gradient(lambda v: avg_pool2d(v, size, stride, padding), x, dout)
    np.testing.assert_allclose(dx, numeric, rtol=1e-7, atol=1e-8, err_msg=case_id(case))


# --- the rules, one hand-made case each ------------------------------------------


@pytest.mark.parametrize("fn", [max_pool2d_backward, max_pool2d_backward_naive], ids=["fast", "naive"])
def test_book_example_max_backward_mask(fn):
    dx = fn(np.ones((1, 1, 2, 2)), X_BOOK[None, None])
    mask = np.zeros((4, 4))
    for value in (49, 77, 90, 100):
        mask[X_BOOK == value] = 1
    np.testing.assert_array_equal(dx[0, 0], mask)


@pytest.mark.parametrize("fn", [max_pool2d_backward, max_pool2d_backward_naive], ids=["fast", "naive"])
def test_tie_goes_to_the_first_maximum_only(fn):
    # One 2x2 window, all four cells tied: only the top-left one gets dout.
    dx = fn(np.array([[[[3.0]]]]), np.full((1, 1, 2, 2), 7.0))
    np.testing.assert_array_equal(dx[0, 0], [[3, 0], [0, 0]])


@pytest.mark.parametrize("fn", [max_pool2d_backward, max_pool2d_backward_naive], ids=["fast", "naive"])
def test_tie_order_is_row_major(fn):
    # The maxima sit at (0, 1) and (1, 0): row-major order reaches (0, 1)
    # first, column-major order would reach (1, 0) first.
    x = np.array([[1.0, 5.0], [5.0, 1.0]])[None, None]
    dx = fn(np.ones((1, 1, 1, 1)), x)
    np.testing.assert_array_equal(dx[0, 0], [[0, 1], [0, 0]])
    x = np.array([[1.0, 2.0, 5.0], [5.0, 5.0, 1.0]])[None, None]  # (2, 3) window
    dx = fn(np.ones((1, 1, 1, 1)), x, size=(2, 3))
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 1], [0, 0, 0]])


@pytest.mark.parametrize("fn", [max_pool2d_backward, max_pool2d_backward_naive], ids=["fast", "naive"])
def test_ties_in_overlapping_windows(fn):
    # Constant 4x4 input, 3x3 windows, stride 1: each window's first maximum
    # is its own top-left cell (what TensorFlow gives, see test_pool_tf.py).
    dx = fn(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 4, 4)), size=3, stride=1)
    expected = np.zeros((4, 4))
    expected[:2, :2] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("fn", [max_pool2d_backward, max_pool2d_backward_naive], ids=["fast", "naive"])
def test_overlapping_max_windows_add_up(fn):
    # The centre is the maximum of all four 2x2 windows (stride 1): it gets
    # 1 + 2 + 3 + 4, not whichever window was written last.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 9.0
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]
    dx = fn(dout, x, size=2, stride=1)
    expected = np.zeros((3, 3))
    expected[1, 1] = 10.0
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("fn", [max_pool2d_backward, max_pool2d_backward_naive], ids=["fast", "naive"])
def test_overlapping_max_windows_add_up_with_stride_2(fn):
    # 3x3 windows, stride 2, on 5x5: the centre column and row are shared.
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0  # the maximum of all four windows
    dout = np.array([[1.0, 10.0], [100.0, 1000.0]])[None, None]
    dx = fn(dout, x, size=3, stride=2)
    assert dx[0, 0, 2, 2] == 1111.0
    assert np.count_nonzero(dx) == 1


@pytest.mark.parametrize("fn", [avg_pool2d_backward, avg_pool2d_backward_naive], ids=["fast", "naive"])
def test_avg_backward_divides_by_the_window_size(fn):
    dx = fn(np.array([[[[8.0]]]]), np.zeros((1, 1, 2, 4)), size=(2, 4))
    np.testing.assert_array_equal(dx, np.full((1, 1, 2, 4), 1.0))


@pytest.mark.parametrize("fn", [avg_pool2d_backward, avg_pool2d_backward_naive], ids=["fast", "naive"])
def test_overlapping_avg_windows_add_up(fn):
    # 2x2 windows, stride 1, on 3x3, dout of ones: each cell gets 1/4 per
    # window that contains it (centre 4 windows, edges 2, corners 1).
    dx = fn(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), size=2, stride=1)
    np.testing.assert_array_equal(dx[0, 0], np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4)


@pytest.mark.parametrize("fn", [avg_pool2d_backward, avg_pool2d_backward_naive], ids=["fast", "naive"])
def test_avg_backward_leaves_padding_out_of_the_count(fn):
    # 3x3 windows, stride 1, padding 1, on 3x3: window (i, j) holds 4 input
    # cells at a corner, 6 at an edge, 9 in the centre. Cell (0, 0) is in the
    # windows (0, 0), (0, 1), (1, 0), (1, 1).
    dx = fn(np.ones((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), size=3, stride=1, padding=1)
    assert dx[0, 0, 0, 0] == pytest.approx(1 / 4 + 1 / 6 + 1 / 6 + 1 / 9, rel=1e-15)
    assert dx[0, 0, 1, 1] == pytest.approx(4 / 4 + 4 / 6 + 1 / 9, rel=1e-15)
    # Summed over dx, every window hands out exactly its dout (here 1).
    assert dx.sum() == pytest.approx(9.0, rel=1e-15)


def test_avg_backward_hands_out_exactly_dout(rng):
    for size, stride, padding in [(3, 1, "same"), (3, 2, 1), ((2, 3), 1, "full")]:
        x = rng.standard_normal((2, 2, 6, 7))
        dout = rng.standard_normal(avg_pool2d(x, size, stride, padding).shape)
        dx = avg_pool2d_backward(dout, x, size, stride, padding)
        np.testing.assert_allclose(dx.sum(axis=(2, 3)), dout.sum(axis=(2, 3)), rtol=1e-12, atol=1e-12)


def test_max_backward_gives_nothing_to_padding_and_loses_nothing():
    x = -1.0 - np.random.default_rng(3).random((1, 2, 5, 5))
    dout = np.ones(max_pool2d(x, 3, 2, "same").shape)
    dx = max_pool2d_backward(dout, x, 3, 2, "same")
    assert dx.sum() == dout.sum()


@pytest.mark.parametrize("padding", [1, "same", (0, 1)])
@pytest.mark.parametrize("size, stride", [(2, 2), (2, 1), (3, 2)])
def test_inputs_of_minus_infinity_beat_padding(size, stride, padding, rng):
    # A padded cell ties with an input of -inf; the input gets the gradient.
    x = rng.standard_normal((2, 2, 5, 5))
    x[rng.random(x.shape) < 0.6] = -np.inf
    dout = rng.standard_normal(max_pool2d(x, size, stride, padding).shape)
    dx = max_pool2d_backward(dout, x, size, stride, padding)
    np.testing.assert_allclose(dx, max_pool2d_backward_naive(dout, x, size, stride, padding), rtol=1e-12, atol=1e-12)
    assert dx.sum() == pytest.approx(dout.sum(), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_non_finite_upstream_gradient_reaches_only_the_maximum(value):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    for stride in (2, 1):
        out = max_pool2d(x, 2, stride)
        dout = np.ones(out.shape)
        dout[0, 0, 0, 0] = value
        dx = max_pool2d_backward(dout, x, 2, stride)
        expected = max_pool2d_backward_naive(dout, x, 2, stride)
        np.testing.assert_array_equal(dx, expected)
        assert np.isfinite(dx).sum() == 15


# --- the contract: dtypes, shapes, inputs untouched ----------------------------------


@pytest.mark.parametrize("x_dtype, dout_dtype, expected", [
    (np.float32, np.float32, np.float32),
    (np.float64, np.float64, np.float64),
    (np.int64, np.int64, np.float64),
    (np.uint8, np.float32, np.float64),  # integers count as float64
    (np.float32, np.float64, np.float64),
])
@pytest.mark.parametrize("fn", ALL_BACKWARD, ids=lambda f: f.__name__)
def test_backward_dtype(fn, x_dtype, dout_dtype, expected):
    x = (np.arange(32) % 7).reshape(1, 2, 4, 4).astype(x_dtype)
    dout = np.ones((1, 2, 2, 2), dtype=dout_dtype)
    dx = fn(dout, x, 2)
    assert dx.dtype == expected and dx.shape == x.shape


@pytest.mark.parametrize("padding", [0, "same"])
@pytest.mark.parametrize("fn", ALL_BACKWARD, ids=lambda f: f.__name__)
def test_backward_does_not_modify_inputs(fn, padding, rng):
    x = rng.integers(0, 3, (2, 2, 6, 6)).astype(np.float32)
    for size, stride in [(2, None), (3, 1)]:
        out = max_pool2d(x, size, stride, padding)
        dout = rng.standard_normal(out.shape).astype(np.float32)
        x_before, dout_before = x.copy(), dout.copy()
        dx = fn(dout, x, size, stride, padding)
        np.testing.assert_array_equal(x, x_before)
        np.testing.assert_array_equal(dout, dout_before)
        assert not np.shares_memory(dx, x) and not np.shares_memory(dx, dout)


def test_backward_accepts_non_contiguous_inputs(rng):
    x = rng.standard_normal((6, 6, 2, 2)).transpose(2, 3, 0, 1)  # (2, 2, 6, 6), not C-contiguous
    dout = rng.standard_normal((2, 2, 3, 6))[:, :, :, ::2]  # not contiguous either
    pairs = [(max_pool2d_backward, max_pool2d_backward_naive), (avg_pool2d_backward, avg_pool2d_backward_naive)]
    for fast, naive in pairs:
        np.testing.assert_allclose(fast(dout, x), naive(dout, x), rtol=1e-12, atol=1e-12)
