"""Max and average pooling with explicit loops (book: chapters 4 and 5).

One output cell at a time: for every image ``n``, channel ``c`` and window
``(i, j)``, visit the window's cells ``(di, dj)`` in row-major order. Padding
is never materialised: a window cell outside the input *is* padding, and is
skipped. Skipping it is the same as padding with ``-inf`` for the maximum,
and leaves it out of the mean for the average.

These functions take the same arguments, and raise the same errors, as the
vectorised ones in :mod:`cnnkit.pool`, which the tests check against them.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..pool import _backward_inputs, _pool_geometry

__all__ = [
    "avg_pool2d_backward_naive",
    "avg_pool2d_naive",
    "max_pool2d_backward_naive",
    "max_pool2d_naive",
]


def _positions(g):
    """Every output position ``(n, c, i, j)``, in row-major order."""
    return itertools.product(range(g.n), range(g.c), range(g.ho), range(g.wo))


def _window_cells(g, i, j):
    """Input positions ``(r, q)`` of window ``(i, j)``, row-major, padding skipped."""
    for di in range(g.kh):
        for dj in range(g.kw):
            r = i * g.sh - g.pt + di
            q = j * g.sw - g.pl + dj
            if 0 <= r < g.h and 0 <= q < g.w:
                yield r, q


def _argmax_in_window(x, n, c, g, i, j):
    """Position of the window's first maximum in row-major order."""
    best = None
    for r, q in _window_cells(g, i, j):
        # Strictly greater: a later cell that only ties does not replace the
        # first maximum (TensorFlow's rule).
        if best is None or x[n, c, r, q] > x[n, c, best[0], best[1]]:
            best = (r, q)
    return best


def _window_max(x, n, c, g, i, j):
    """The largest value of window ``(i, j)`` of ``x[n, c]`` (at its first maximum)."""
    r, q = _argmax_in_window(x, n, c, g, i, j)
    return x[n, c, r, q]


def _window_mean(x, n, c, g, i, j):
    """The mean of window ``(i, j)`` of ``x[n, c]`` over its input cells (padding not counted)."""
    cells = list(_window_cells(g, i, j))
    total = sum(x[n, c, r, q] for r, q in cells)
    return total / len(cells)


def _forward(x, size, stride, padding, fn, window_value):
    """A pooling's forward pass: ``window_value(x, n, c, g, i, j)`` at every output position."""
    x, g = _pool_geometry(x, size, stride, padding, fn)
    out = np.empty((g.n, g.c, g.ho, g.wo), dtype=x.dtype)
    for n, c, i, j in _positions(g):
        out[n, c, i, j] = window_value(x, n, c, g, i, j)
    return out


def max_pool2d_naive(x, size=2, stride=None, padding=0):
    """Max pooling with loops; same arguments and result as :func:`cnnkit.max_pool2d`.

    Book: chapter 4, "Max-pooling layers".
    """
    return _forward(x, size, stride, padding, "max_pool2d_naive", _window_max)


def max_pool2d_backward_naive(dout, x, size=2, stride=None, padding=0):
    """Gradient of max pooling with loops; as :func:`cnnkit.max_pool2d_backward`.

    Each window's upstream gradient goes to its first maximum in row-major
    order; a cell that is the maximum of several (overlapping) windows
    receives the sum of their gradients.

    Book: chapter 4, "Max-pooling layers" (backward pass).
    """
    dout, x, g = _backward_inputs(dout, x, size, stride, padding, "max_pool2d_backward_naive")
    dx = np.zeros(x.shape, dtype=dout.dtype)
    for n, c, i, j in _positions(g):
        r, q = _argmax_in_window(x, n, c, g, i, j)
        dx[n, c, r, q] += dout[n, c, i, j]  # +=: windows may share a maximum
    return dx


def avg_pool2d_naive(x, size=2, stride=None, padding=0):
    """Average pooling with loops; same arguments and result as :func:`cnnkit.avg_pool2d`.

    Book: chapter 5, "Other pooling types".
    """
    return _forward(x, size, stride, padding, "avg_pool2d_naive", _window_mean)


def avg_pool2d_backward_naive(dout, x, size=2, stride=None, padding=0):
    """Gradient of average pooling with loops; as :func:`cnnkit.avg_pool2d_backward`.

    Each window shares its upstream gradient equally among its input cells
    (padding is not counted); overlapping windows add their shares.

    Book: chapter 5, "Other pooling types" (backward pass).
    """
    dout, x, g = _backward_inputs(dout, x, size, stride, padding, "avg_pool2d_backward_naive")
    dx = np.zeros(x.shape, dtype=dout.dtype)
    for n, c, i, j in _positions(g):
        cells = list(_window_cells(g, i, j))
        for r, q in cells:
            dx[n, c, r, q] += dout[n, c, i, j] / len(cells)
    return dx
