"""Pooling forward passes: vectorised vs loops, the book's worked example, the contract.

The loops in cnnkit.naive.pool are the oracle. Overlapping windows (3x3
stride 1, 3x3 stride 2) and paddings are always among the cases: a check
that only uses 2x2 windows with stride 2 cannot tell most wrong rules apart.
"""

import math

import numpy as np
import pytest

from cnnkit.data import pooling_example

from cnnkit.naive.pool import avg_pool2d_naive, max_pool2d_naive
from cnnkit.pool import avg_pool2d, global_avg_pool2d, global_max_pool2d, max_pool2d

SIZES = [2, 3, (2, 3)]
STRIDES = [1, 2, None, (1, 2)]
PADDINGS = [0, 1, "valid", "same"]
# Beyond the grid: gaps between windows, "full" padding, per-axis padding,
# a 1x1 window, a window as large as the input.
EXTRA = [
    (2, 3, 0),
    (3, 1, "full"),
    (3, 2, (1, 0)),
    ((3, 2), (2, 1), (0, 1)),
    (1, 1, 0),
    ((5, 5), 1, 0),
]
CASES = [(k, s, p) for k in SIZES for s in STRIDES for p in PADDINGS] + EXTRA
DTYPES = [np.float32, np.float64]

# Book, chapter 4: 2x2 windows, stride 2.
X_BOOK = pooling_example().astype(np.int64)  # chapter 4's example, kept as integers


def case_id(case):
    size, stride, padding = case
    return f"size={size}-stride={stride}-padding={padding}"


def random_images(rng, dtype, data="distinct"):
    """A small random batch (N, C, H, W); ``ties`` draws from {0, 1, 2}."""
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(5, 10)), int(rng.integers(5, 10)))
    if data == "ties":
        return rng.integers(0, 3, shape).astype(dtype)
    if data == "constant":
        return np.full(shape, 1.5, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


def expected_size(n, k, s, padding):
    """The contract's output size along one axis, for an int padding or a mode."""
    if padding == "same":
        return math.ceil(n / s)
    p = 0 if padding == "valid" else padding
    return (n + 2 * p - k) // s + 1


# Each op with its loop version, and the tolerance of a float32 and a float64 result: a maximum is one
# of the inputs (no rounding, so none), a mean is rounded in another order.
POOLS = {"max": (max_pool2d, max_pool2d_naive, 0.0, 0.0), "avg": (avg_pool2d, avg_pool2d_naive, 1e-6, 1e-13)}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("kind", POOLS)
def test_pool2d_matches_loops(kind, case, dtype, rng):
    pool, loops, tol32, tol64 = POOLS[kind]
    size, stride, padding = case
    x = random_images(rng, dtype)
    out = pool(x, size, stride, padding)
    expected = loops(x, size, stride, padding)
    assert out.dtype == dtype
    rtol = tol32 if dtype == np.float32 else tol64
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol, err_msg=f"{case_id(case)}, x shape {x.shape}")


@pytest.mark.parametrize("size, stride", [(2, None), (3, 1), (3, 2), ((2, 3), (1, 2))])
@pytest.mark.parametrize("padding", [0, 1, "valid", "same"])
def test_output_shape_follows_the_formula(size, stride, padding):
    x = np.zeros((2, 3, 9, 8))
    kh, kw = (size, size) if isinstance(size, int) else size
    s = size if stride is None else stride
    sh, sw = (s, s) if isinstance(s, int) else s
    shape = (2, 3, expected_size(9, kh, sh, padding), expected_size(8, kw, sw, padding))
    assert max_pool2d(x, size, stride, padding).shape == shape
    assert avg_pool2d(x, size, stride, padding).shape == shape


def test_stride_defaults_to_size():
    x = np.random.default_rng(0).standard_normal((1, 2, 7, 9))
    np.testing.assert_array_equal(max_pool2d(x, (2, 3)), max_pool2d(x, (2, 3), (2, 3)))
    np.testing.assert_array_equal(avg_pool2d(x, 3), avg_pool2d(x, 3, 3))
    np.testing.assert_array_equal(max_pool2d(x), max_pool2d(x, 2, 2, 0))


def test_book_example_max_pool():
    out = max_pool2d(X_BOOK[None, None])
    np.testing.assert_array_equal(out[0, 0], [[49, 77], [90, 100]])
    assert out.shape == (1, 1, 2, 2)


def test_book_example_average_pool():
    out = avg_pool2d(X_BOOK[None, None])
    np.testing.assert_array_equal(out[0, 0], [[35.75, 42.5], [53.0, 50.25]])


def test_book_example_loops_agree():
    np.testing.assert_array_equal(max_pool2d_naive(X_BOOK[None, None])[0, 0], [[49, 77], [90, 100]])
    np.testing.assert_array_equal(avg_pool2d_naive(X_BOOK[None, None])[0, 0], [[35.75, 42.5], [53.0, 50.25]])


@pytest.mark.parametrize("padding", [1, "same", "full", (1, 0)])
@pytest.mark.parametrize("fn", [max_pool2d, max_pool2d_naive], ids=["fast", "naive"])
def test_max_pool_pads_with_minus_infinity(fn, padding):
    # All inputs negative: zero padding would win at the border.
    x = -1.0 - np.random.default_rng(1).random((1, 2, 5, 5))
    out = fn(x, 3, 1, padding)
    assert (out < 0).all(), f"padding={padding!r}: a padded cell won a window"
    assert out.max() <= x.max()


@pytest.mark.parametrize("padding", [1, 2, "same", "full", (2, 1)])
@pytest.mark.parametrize("fn", [avg_pool2d, avg_pool2d_naive], ids=["fast", "naive"])
def test_avg_pool_leaves_padding_out_of_the_mean(fn, padding):
    # The mean of ones is one, however many padded cells the window holds;
    # counting padding as zeros would give 4/9, 6/9 ... at the border.
    x = np.ones((1, 1, 5, 6))
    out = fn(x, 3, 1, padding)
    np.testing.assert_allclose(out, 1.0, rtol=1e-15, err_msg=f"padding={padding!r}")


@pytest.mark.parametrize("fn", [avg_pool2d, avg_pool2d_naive], ids=["fast", "naive"])
def test_same_padding_puts_the_odd_cell_at_the_bottom_right(fn):
    # 2x2 windows, stride 1, on 4x4: "same" needs one padded row and column,
    # which TensorFlow puts at the bottom and on the right.
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out = fn(x, 2, 1, "same")
    assert out.shape == (1, 1, 4, 4)
    assert out[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4
    assert out[0, 0, 3, 3] == 15.0
    assert out[0, 0, 3, 0] == (12 + 13) / 2


def test_avg_pool_border_mean_by_hand():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # 1..9
    out = avg_pool2d(x, 2, 1, 1)  # 4x4 windows, the corner ones hold a single input cell
    assert out.shape == (1, 1, 4, 4)
    assert out[0, 0, 0, 0] == 1.0
    assert out[0, 0, 0, 1] == (1 + 2) / 2
    assert out[0, 0, 1, 1] == (1 + 2 + 4 + 5) / 4
    assert out[0, 0, 3, 3] == 9.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, bool])
@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d, max_pool2d_naive, avg_pool2d_naive])
def test_output_dtype(fn, dtype):
    x = (np.arange(2 * 3 * 4 * 4) % 5).reshape(2, 3, 4, 4).astype(dtype)
    expected = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float64)
    assert fn(x, 2).dtype == expected


def test_accepts_nested_lists():
    out = max_pool2d(X_BOOK[None, None].tolist())
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], [[49, 77], [90, 100]])


@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d, max_pool2d_naive, avg_pool2d_naive])
@pytest.mark.parametrize("padding", [0, "same"])
def test_input_is_not_modified_and_output_is_new(fn, padding, rng):
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    before = x.copy()
    out = fn(x, 3, 1, padding)
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d])
def test_identity_window_returns_a_copy(fn):
    # size 1, stride 1: the result equals x but must still be a new array.
    x = np.random.default_rng(2).standard_normal((1, 2, 3, 3))
    out = fn(x, 1, 1)
    np.testing.assert_array_equal(out, x)
    out[...] = 0
    assert (x != 0).all()


def test_channels_and_images_are_pooled_separately():
    x = np.zeros((2, 3, 4, 4))
    x[1, 2, 3, 3] = 7.0
    out = max_pool2d(x)
    assert out[1, 2, 1, 1] == 7.0
    assert np.count_nonzero(out) == 1


def test_empty_batch():
    assert max_pool2d(np.zeros((0, 3, 4, 4))).shape == (0, 3, 2, 2)
    assert avg_pool2d(np.zeros((2, 0, 4, 4)), 3, 1).shape == (2, 0, 2, 2)


# --- global pooling ----------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_global_avg_pool2d(dtype, rng):
    x = rng.standard_normal((3, 4, 5, 6)).astype(dtype)
    out = global_avg_pool2d(x)
    assert out.shape == (3, 4) and out.dtype == dtype
    # Summation orders differ; the data are of order 1, so tol is absolute too.
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, x.mean(axis=(2, 3)), rtol=tol, atol=tol)
    np.testing.assert_allclose(out, avg_pool2d(x, (5, 6))[:, :, 0, 0], rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_global_max_pool2d(dtype, rng):
    x = rng.standard_normal((3, 4, 5, 6)).astype(dtype)
    out = global_max_pool2d(x)
    assert out.shape == (3, 4) and out.dtype == dtype
    np.testing.assert_array_equal(out, x.max(axis=(2, 3)))
    np.testing.assert_array_equal(out, max_pool2d(x, (5, 6))[:, :, 0, 0])


def test_global_pools_on_the_book_example():
    x = X_BOOK[None, None]
    assert global_max_pool2d(x).tolist() == [[100.0]]
    assert global_avg_pool2d(x).tolist() == [[X_BOOK.mean()]]
    assert global_avg_pool2d(x).dtype == np.float64


@pytest.mark.parametrize("fn", [global_avg_pool2d, global_max_pool2d])
def test_global_pools_do_not_modify_input(fn, rng):
    x = rng.standard_normal((2, 3, 4, 4))
    before = x.copy()
    out = fn(x)
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(out, x)
