"""numerical_gradient: central differences of sum(f(x) * dout)."""

import re

import numpy as np
import pytest

from cnnkit.gradcheck import numerical_gradient


def test_square(rng):
    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda v: v**2, x, dout), 2 * x * dout, rtol=1e-8, atol=1e-9)


def test_linear_map(rng):
    a = rng.standard_normal((5, 3))
    x = rng.standard_normal(3)
    dout = rng.standard_normal(5)
    np.testing.assert_allclose(numerical_gradient(lambda v: a @ v, x, dout), a.T @ dout, rtol=1e-8, atol=1e-9)


def test_scalar_output(rng):
    x = rng.standard_normal((2, 2, 3))
    grad = numerical_gradient(lambda v: np.sum(np.sin(v)), x, 2.0)
    np.testing.assert_allclose(grad, 2 * np.cos(x), rtol=1e-8, atol=1e-9)


def test_output_shape_differs_from_input_shape(rng):
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal(3)
    np.testing.assert_allclose(numerical_gradient(lambda v: v.sum(axis=0), x, dout), np.tile(dout, (2, 1)), rtol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_returns_float64_shaped_like_x(dtype):
    x = np.arange(6).reshape(2, 3).astype(dtype)
    grad = numerical_gradient(lambda v: 3 * v, x, np.ones((2, 3)))
    assert grad.dtype == np.float64 and grad.shape == (2, 3)
    np.testing.assert_allclose(grad, 3.0, rtol=1e-8)


def test_x_and_dout_are_not_modified(rng):
    x = rng.standard_normal((3, 3))
    dout = rng.standard_normal((3, 3))
    x_before, dout_before = x.copy(), dout.copy()
    grad = numerical_gradient(lambda v: np.tanh(v), x, dout)
    np.testing.assert_array_equal(x, x_before)  # exactly, not to rounding
    np.testing.assert_array_equal(dout, dout_before)
    assert not np.shares_memory(grad, x)


def test_perturbs_one_entry_at_a_time_with_2_size_calls(rng):
    x = rng.standard_normal((2, 5))
    seen = []

    def f(v):
        seen.append(v.copy())
        return v

    numerical_gradient(f, x, np.ones((2, 5)), eps=1e-3)
    assert len(seen) == 2 * x.size
    for k, v in enumerate(seen):
        changed = np.flatnonzero(v != x)
        assert changed.tolist() == [k // 2]
        assert v.flat[k // 2] - x.flat[k // 2] == pytest.approx(1e-3 if k % 2 == 0 else -1e-3)


def test_f_gets_a_read_only_float64_array():
    def f(v):
        assert v.dtype == np.float64
        v += 1  # an op must never modify its input
        return v

    with pytest.raises(ValueError, match="read-only"):
        numerical_gradient(f, np.ones(3, dtype=np.float32), np.ones(3))


def test_non_contiguous_x(rng):
    x = rng.standard_normal((4, 3)).T  # (3, 4), Fortran order
    c = rng.standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda v: c * v, x, np.ones((3, 4))), c, rtol=1e-8, atol=1e-9)


def test_eps_sets_the_step():
    # For a cubic the central difference is off by exactly eps**2 * f'''/6.
    x = np.array([1.0])
    grad = numerical_gradient(lambda v: v**3, x, np.ones(1), eps=1e-2)
    assert grad[0] == pytest.approx(3.0 + 1e-4, rel=1e-9)


def test_f_not_callable():
    with pytest.raises(TypeError, match=re.escape("numerical_gradient: f must be callable, got ndarray")):
        numerical_gradient(np.ones(3), np.ones(3), np.ones(3))


@pytest.mark.parametrize("eps", [0, -1e-6, float("inf"), float("nan")])
def test_eps_must_be_positive_and_finite(eps):
    message = f"numerical_gradient: eps must be positive and finite, got {eps!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        numerical_gradient(lambda v: v, np.ones(3), np.ones(3), eps=eps)


@pytest.mark.parametrize("eps", ["1e-6", None, True])
def test_eps_must_be_a_number(eps):
    with pytest.raises(TypeError, match=re.escape(f"numerical_gradient: eps must be a real number, got {eps!r}")):
        numerical_gradient(lambda v: v, np.ones(3), np.ones(3), eps=eps)


def test_dout_must_match_the_output_of_f():
    message = "numerical_gradient: dout must have shape (3,) (the shape of f(x)), got shape (2,)"
    with pytest.raises(ValueError, match=re.escape(message)):
        numerical_gradient(lambda v: v, np.ones(3), np.ones(2))


def test_x_must_be_numeric():
    message = "numerical_gradient: x must be a real numeric array, got dtype complex128"
    with pytest.raises(TypeError, match=re.escape(message)):
        numerical_gradient(lambda v: v, np.ones(3, dtype=complex), np.ones(3))
