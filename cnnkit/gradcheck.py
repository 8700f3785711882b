"""Numerical gradients by central differences (book: chapter 2, "Backward pass").

The check every backward pass in the course goes through: perturb one input
entry, see how a scalar made from the output changes, compare with the
analytic gradient.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import as_float_array, check_shape

__all__ = ["numerical_gradient"]


def numerical_gradient(f, x, dout, eps=1e-6):
    """Central-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    For an op ``f`` with upstream gradient ``dout`` this is what the op's
    backward function should return as ``dx``.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns an array shaped like ``dout``. Bind the other
        arguments with a lambda, e.g.
        ``lambda x: cnnkit.max_pool2d(x, size=3, stride=1)``. It is called
        with a read-only float64 array, so an ``f`` that writes into its
        input raises instead of silently corrupting the result.
    x : array_like
        The point at which to differentiate; any shape. Never modified.
    dout : array_like
        Upstream gradient, shaped like ``f(x)``.
    eps : float, default 1e-6
        Step ``h > 0`` of the central difference.

    Returns
    -------
    dx : ndarray of float64, shaped like ``x``
        ``dx[k] = (L(x + h e_k) - L(x - h e_k)) / (2h)`` with
        ``L(x) = sum(f(x) * dout)`` and ``e_k`` the k-th unit array.

    Raises
    ------
    TypeError
        If ``f`` is not callable, ``x`` or ``dout`` is not numeric or ``eps``
        is not a real number.
    ValueError
        If ``eps`` is not positive and finite, or ``f(x)`` is not shaped like
        ``dout``.

    Notes
    -----
    It works on a float64 copy of ``x`` (the caller's array is untouched)
    and perturbs **one entry at a time**, so it costs ``2 * x.size`` calls
    of ``f``: use small inputs. The error of the central difference is
    ``O(h**2)`` plus rounding of order ``eps_machine * |L| / h``; with float64 and
    ``h = 1e-6`` expect agreement to about 1e-8 relative for smooth ``f``.
    At a kink (e.g. two tied maxima in a max-pool window) the numerical
    gradient averages the two sides and will not match: test with inputs
    whose values are well apart.

    Book: chapter 2, "Backward pass".

    Examples
    --------
    >>> x = np.array([1.0, -2.0, 3.0])
    >>> np.round(numerical_gradient(lambda v: v**2, x, np.ones(3)), 6)
    array([ 2., -4.,  6.])
    """
    fn = "numerical_gradient"
    if not callable(f):
        raise TypeError(f"{fn}: f must be callable, got {type(f).__name__}")
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool):
        raise TypeError(f"{fn}: eps must be a real number, got {eps!r}")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"{fn}: eps must be positive and finite, got {eps!r}")
    x = as_float_array(x, "x", fn).astype(np.float64, order="C", copy=True)
    dout = as_float_array(dout, "dout", fn).astype(np.float64, copy=False)
    eps = float(eps)

    # f gets a read-only view: an f that writes into its input (which no op
    # may do) fails loudly instead of corrupting the perturbations.
    x_seen_by_f = x.view()
    x_seen_by_f.flags.writeable = False

    def objective():
        out = np.asarray(f(x_seen_by_f))
        check_shape(dout, out.shape, "dout", fn, "the shape of f(x)")
        return float(np.sum(out * dout))

    dx = np.zeros_like(x)
    flat_x, flat_dx = x.reshape(-1), dx.reshape(-1)  # views: x and dx are fresh contiguous copies
    for k in range(flat_x.size):
        old = flat_x[k]
        flat_x[k] = old + eps
        plus = objective()
        flat_x[k] = old - eps
        minus = objective()
        flat_x[k] = old  # restore exactly, not by adding eps back
        flat_dx[k] = (plus - minus) / (2 * eps)
    return dx
