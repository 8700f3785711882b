"""Max, average and global pooling, forward and backward (book: chapters 4 and 5).

Images are ``(N, C, H, W)``. Pooling slides a ``KH x KW`` window with stride
``(SH, SW)`` over each channel separately and keeps one number per window:
the maximum (:func:`max_pool2d`) or the mean (:func:`avg_pool2d`). It has no
parameters and keeps the number of channels.

The loops the book teaches from are in :mod:`cnnkit.naive.pool`; the
functions here compute the same thing with a handful of NumPy operations per
window row, column or cell (at most ``KH * KW`` of them), never a Python
loop over pixels, images or channels.

Both forward passes are *separable*: the maximum (or sum) over a
``KH x KW`` window is the maximum over its ``KW`` columns of the maxima over
its ``KH`` rows, so ``KH + KW`` operations replace ``KH * KW``.

The max-pooling gradient for windows that tile the input, and the split
of a large batch over free cores, live in :mod:`cnnkit._fast`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._fast import batch_parts, map_batch, pool as _fast_pool, run_parts
from ._fast.parallel import ELEMENT
from ._checks import as_float_array, as_pair, check_ndim, check_shape, output_size_axis, resolve_padding2d, result_dtype

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "global_avg_pool2d",
    "global_max_pool2d",
    "max_pool2d",
    "max_pool2d_backward",
]

_LAYOUT = "(N, C, H, W)"


class _PoolGeometry(NamedTuple):
    """Everything about one pooling call that does not depend on the values."""

    n: int
    c: int
    h: int
    w: int
    kh: int
    kw: int
    sh: int
    sw: int
    pt: int
    pb: int
    pl: int
    pr: int
    ho: int
    wo: int

    @property
    def out_shape(self):
        return (self.n, self.c, self.ho, self.wo)

    @property
    def padded(self):
        return bool(self.pt or self.pb or self.pl or self.pr)

    @property
    def overlapping(self):
        """Whether a cell of the input can belong to more than one window."""
        return self.kh > self.sh or self.kw > self.sw

    def rows(self, a):
        """Row ``di`` of every window: ``KH`` strided views ``(N, C, Ho, W')`` of ``a``.

        ``a`` is shaped like the padded input, ``(N, C, H + pt + pb, W')``.
        Within one view different windows are different rows of ``a``, so a
        view can be written to (or added to) without collisions.
        """
        return [a[:, :, di : di + self.sh * (self.ho - 1) + 1 : self.sh] for di in range(self.kh)]

    def cols(self, a):
        """Column ``dj`` of every window: ``KW`` strided views ``(..., Wo)`` of ``a``."""
        return [a[..., dj : dj + self.sw * (self.wo - 1) + 1 : self.sw] for dj in range(self.kw)]

    def cells(self, a):
        """Cell ``(di, dj)`` of every window: ``KH * KW`` views ``(N, C, Ho, Wo)``.

        In row-major order (``di`` first), which is what makes "first
        maximum" mean the same as in TensorFlow.
        """
        return [cell for row in self.rows(a) for cell in self.cols(row)]


def _pool_geometry(x, size, stride, padding, fn):
    """Validate a pooling call's arguments; return ``(x, geometry)``.

    Shared by the fast and the naive functions, so that both report the same
    errors, always before any arithmetic.
    """
    x = as_float_array(x, "x", fn)
    check_ndim(x, 4, "x", fn, _LAYOUT)
    n, c, h, w = x.shape
    if h < 1 or w < 1:
        raise ValueError(f"{fn}: x must have H >= 1 and W >= 1 {_LAYOUT}, got shape {tuple(x.shape)}")
    kh, kw = as_pair(size, "size", fn)
    sh, sw = (kh, kw) if stride is None else as_pair(stride, "stride", fn)
    (pt, pb), (pl, pr) = resolve_padding2d(padding, (h, w), (kh, kw), (sh, sw), (1, 1), fn)
    # A window made only of padding would have no maximum (-inf) and an empty
    # mean (0/0). TensorFlow refuses explicit padding >= the window for the
    # same reason; "same" and "full" padding never reach it.
    for axis, k, before, after in (("height", kh, pt, pb), ("width", kw, pl, pr)):
        if before >= k or after >= k:
            raise ValueError(
                f"{fn}: padding must be smaller than the window size on every side, got padding "
                f"{before}+{after} along {axis} for size {k} (padding={padding!r}, size={size!r})"
            )
    context = f" (size={size!r}, stride={stride!r}, padding={padding!r}, x shape {tuple(x.shape)})"
    ho = output_size_axis(h, kh, sh, pt, pb, 1, fn, axis="height", sizes=context)
    wo = output_size_axis(w, kw, sw, pl, pr, 1, fn, axis="width", sizes=context)
    return x, _PoolGeometry(n, c, h, w, kh, kw, sh, sw, pt, pb, pl, pr, ho, wo)


def _backward_inputs(dout, x, size, stride, padding, fn):
    """Validate a backward call; return ``(dout, x, geometry)`` in one float dtype."""
    x, g = _pool_geometry(x, size, stride, padding, fn)
    dout = as_float_array(dout, "dout", fn)
    check_shape(dout, g.out_shape, "dout", fn, "the forward output's shape (N, C, Ho, Wo)")
    dtype = result_dtype(x, dout)
    return dout.astype(dtype, copy=False), x.astype(dtype, copy=False), g


def _pad(x, g, value):
    """``x`` with ``value`` around H and W; ``x`` itself (no copy) when unpadded."""
    if not g.padded:
        return x
    return np.pad(x, ((0, 0), (0, 0), (g.pt, g.pb), (g.pl, g.pr)), constant_values=value)


def _crop(xp, g):
    """The input part of a padded ``(N, C, H + pt + pb, W + pl + pr)`` array."""
    return xp[:, :, g.pt : g.pt + g.h, g.pl : g.pl + g.w]


def _window_counts(g, dtype):
    """``(Ho, Wo)`` number of input (not padding) cells in each window."""

    def per_axis(n, k, s, before, out):
        start = np.arange(out) * s - before
        return np.minimum(start + k, n) - np.maximum(start, 0)

    rows = per_axis(g.h, g.kh, g.sh, g.pt, g.ho)
    cols = per_axis(g.w, g.kw, g.sw, g.pl, g.wo)
    return np.multiply.outer(rows, cols).astype(dtype)


def _reduce(views, ufunc):
    """``ufunc`` (np.maximum or np.add) folded over same-shaped arrays, into a new array."""
    if len(views) == 1:
        return views[0].copy()
    out = ufunc(views[0], views[1])
    for view in views[2:]:
        ufunc(out, view, out=out)
    return out


def _separable(xp, g, ufunc):
    """``ufunc`` over each window of the padded input: rows first, then columns."""
    # Rows first: the row views keep W contiguous, and the column views of
    # the (smaller) result then often collapse to a single strided run.
    return _reduce(g.cols(_reduce(g.rows(xp), ufunc)), ufunc)


def max_pool2d(x, size=2, stride=None, padding=0):
    """Max pooling: the largest value in each window, channel by channel.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Input images.
    size : int or (int, int), default 2
        Window size ``(KH, KW)``.
    stride : int or (int, int), optional
        Step ``(SH, SW)`` between windows; defaults to ``size`` (windows
        tile the input without overlapping).
    padding : int, (int, int) or {"valid", "same", "full"}, default 0
        Cells added on each side of H and W, or a mode as in
        :func:`cnnkit.conv2d` (``"same"`` gives ``ceil(H / SH)`` rows and puts
        the odd row at the bottom, as TensorFlow does). Padded cells hold
        ``-inf`` and so never win. Explicit padding must be smaller than the
        window on every side.

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)
        New array of ``x``'s float dtype (integers become float64).

    Raises
    ------
    ValueError
        If ``x`` is not 4-D or has H or W of 0, if ``size`` or ``stride`` is
        below 1, if the window is larger than the padded input or a padding
        is not smaller than the window.
    TypeError
        If ``x`` is not numeric or ``size``, ``stride`` or ``padding`` is not
        an int, a pair of ints or (``padding`` only) a mode string.

    Notes
    -----
    With padding ``(pt, pb)`` on H (and likewise on W)::

        Ho = floor((H + pt + pb - KH) / SH) + 1
        out[n, c, i, j] = max over 0 <= di < KH, 0 <= dj < KW of
                          xpad[n, c, i*SH + di, j*SW + dj]

    the same output-size formula as convolution. See
    :func:`max_pool2d_backward` for the gradient and its tie rule. A window
    whose input cells are all ``-inf`` gives ``-inf`` (TensorFlow gives the
    lowest finite float there).

    Book: chapter 4, "Max-pooling layers".

    Examples
    --------
    >>> x = np.array([[38, 20, 77, 33], [36, 49, 12, 48],
    ...               [26, 65, 100, 40], [90, 31, 43, 18]])
    >>> max_pool2d(x[None, None])[0, 0]
    array([[ 49.,  77.],
           [ 90., 100.]])
    """
    x, g = _pool_geometry(x, size, stride, padding, "max_pool2d")
    parts = batch_parts(g.n, 2 * x.size * ELEMENT)
    if parts == 1:
        return _separable(_pad(x, g, -np.inf), g, np.maximum)
    out = np.empty(g.out_shape, x.dtype)

    def part(rows):  # split over free cores by cnnkit._fast
        out[rows] = _separable(_pad(x[rows], g, -np.inf), g, np.maximum)

    run_parts(part, g.n, parts)
    return out


def max_pool2d_backward(dout, x, size=2, stride=None, padding=0):
    """Gradient of :func:`max_pool2d` with respect to its input.

    Parameters
    ----------
    dout : array_like, shape (N, C, Ho, Wo)
        Upstream gradient, shaped like the forward output.
    x : array_like, shape (N, C, H, W)
        The forward pass's input.
    size, stride, padding
        As in :func:`max_pool2d`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        New array of the common float dtype of ``x`` and ``dout``.

    Raises
    ------
    ValueError
        As :func:`max_pool2d`, and if ``dout`` does not have the forward
        output's shape.
    TypeError
        As :func:`max_pool2d`, and if ``dout`` is not numeric.

    Notes
    -----
    Each window passes its upstream gradient ``dout[n, c, i, j]`` to one cell:
    the position of its maximum. When several cells of a window tie for the
    maximum, the *first* one in row-major order within the window (smallest
    ``di``, then smallest ``dj``) gets it all, as in TensorFlow's
    ``MaxPoolGrad``. When windows overlap (stride < size) a cell can be the
    maximum of several windows and receives the *sum* of their gradients::

        dx[n, c, r, q] = sum over windows (i, j) whose chosen cell is (r, q)
                         of dout[n, c, i, j]

    Padded cells never win (not even against an input of ``-inf``), so no
    gradient is lost to padding.

    Book: chapter 4, "Max-pooling layers" (backward pass).
    """
    fn = "max_pool2d_backward"
    dout, x, g = _backward_inputs(dout, x, size, stride, padding, fn)
    if _fast_pool.tiled(g) and np.isfinite(dout).all():
        # Windows that tile the input: first-maximum masks, then dout written through them
        # (cnnkit._fast.pool), split over free cores.
        dx = np.empty(x.shape, dout.dtype)

        def part(rows):
            _, masks = _fast_pool.max_and_masks(x[rows], g)
            _fast_pool.route(dout[rows], masks, None, g, dx[rows])

        map_batch(part, g.n, 4 * x.size * ELEMENT, blas=False)
        return dx
    xp = _pad(x, g, -np.inf)
    cells = g.cells(xp)
    if not g.overlapping:
        # The windows tile the input, so contiguous copies of the cells take
        # no more memory than x, and make every later operation faster.
        cells = [cell.copy() for cell in cells]
    out = _reduce(cells, np.maximum)
    # Multiplying by the 0/1 mask is the fast way to route dout, but
    # 0 * inf is nan: non-finite gradients go through np.where instead.
    finite = bool(np.isfinite(dout).all())
    covered = not g.overlapping and not g.padded and g.ho * g.kh == g.h and g.wo * g.kw == g.w
    dxp = np.empty(xp.shape, dout.dtype) if covered and finite else np.zeros(xp.shape, dout.dtype)
    # A padded cell can tie with an input of -inf; the input must win.
    real = g.cells(_pad(np.ones((1, 1, g.h, g.w), dtype=bool), g, False)) if g.padded else None
    taken = np.zeros(g.out_shape, dtype=bool)  # windows whose first maximum is found
    first = np.empty(g.out_shape, dtype=bool)
    for t, (cell, dcell) in enumerate(zip(cells, g.cells(dxp))):
        np.equal(cell, out, out=first)
        if real is not None:
            first &= real[t]
        np.greater(first, taken, out=first)  # first & ~taken: a later tie gets nothing
        taken |= first
        if finite and not g.overlapping:
            np.multiply(dout, first, out=dcell)  # each cell of dx belongs to one window
        else:
            # Cells shared by several windows sum their gradients.
            dcell += dout * first if finite else np.where(first, dout, 0)
    return _crop(dxp, g).copy() if g.padded else dxp


def avg_pool2d(x, size=2, stride=None, padding=0):
    """Average pooling: the mean of each window, channel by channel.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Input images.
    size : int or (int, int), default 2
        Window size ``(KH, KW)``.
    stride : int or (int, int), optional
        Step ``(SH, SW)`` between windows; defaults to ``size``.
    padding : int, (int, int) or {"valid", "same", "full"}, default 0
        As in :func:`max_pool2d`. Padded cells are left out of each mean
        (they are not zeros), as in TensorFlow's ``"SAME"`` average pooling;
        the same holds for explicit padding.

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)
        New array of ``x``'s float dtype (integers become float64).

    Raises
    ------
    ValueError, TypeError
        As :func:`max_pool2d`.

    Notes
    -----
    ``Ho = floor((H + pt + pb - KH) / SH) + 1`` (likewise ``Wo``) and::

        out[n, c, i, j] = (1 / count[i, j]) * sum of x[n, c, r, q]
                          over the input cells (r, q) of window (i, j)

    where ``count[i, j] <= KH * KW`` is the number of input (not padding)
    cells in the window; without padding it is ``KH * KW``.

    Book: chapter 5, "Other pooling types".

    Examples
    --------
    >>> x = np.array([[38, 20, 77, 33], [36, 49, 12, 48],
    ...               [26, 65, 100, 40], [90, 31, 43, 18]])
    >>> avg_pool2d(x[None, None])[0, 0]
    array([[35.75, 42.5 ],
           [53.  , 50.25]])
    """
    x, g = _pool_geometry(x, size, stride, padding, "avg_pool2d")
    total = _separable(_pad(x, g, 0), g, np.add)
    if g.padded:
        total /= _window_counts(g, x.dtype)
    else:
        total /= g.kh * g.kw
    return total


def avg_pool2d_backward(dout, x, size=2, stride=None, padding=0):
    """Gradient of :func:`avg_pool2d` with respect to its input.

    Parameters
    ----------
    dout : array_like, shape (N, C, Ho, Wo)
        Upstream gradient, shaped like the forward output.
    x : array_like, shape (N, C, H, W)
        The forward pass's input; only its shape is used.
    size, stride, padding
        As in :func:`avg_pool2d`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        New array of the common float dtype of ``x`` and ``dout``.

    Raises
    ------
    ValueError, TypeError
        As :func:`max_pool2d_backward`.

    Notes
    -----
    Each window spreads its upstream gradient evenly over its input cells,
    ``dout[n, c, i, j] / count[i, j]`` to each (padding gets nothing, and is
    not counted); where windows overlap the shares add up::

        dx[n, c, r, q] = sum over windows (i, j) containing (r, q)
                         of dout[n, c, i, j] / count[i, j]

    Book: chapter 5, "Other pooling types" (backward pass).
    """
    fn = "avg_pool2d_backward"
    dout, x, g = _backward_inputs(dout, x, size, stride, padding, fn)
    if g.padded:
        share = dout / _window_counts(g, dout.dtype)
    else:
        share = dout / dout.dtype.type(g.kh * g.kw)
    # The adjoint of the separable sum: spread over the window columns, then
    # over the window rows; += because overlapping windows add their shares.
    hp, wp = g.h + g.pt + g.pb, g.w + g.pl + g.pr
    dcols = np.zeros((g.n, g.c, g.ho, wp), dtype=dout.dtype)
    for dcol in g.cols(dcols):
        dcol += share
    dxp = np.zeros((g.n, g.c, hp, wp), dtype=dout.dtype)
    for drow in g.rows(dxp):
        drow += dcols
    return _crop(dxp, g).copy() if g.padded else dxp


def _global_input(x, fn):
    x = as_float_array(x, "x", fn)
    check_ndim(x, 4, "x", fn, _LAYOUT)
    if x.shape[2] < 1 or x.shape[3] < 1:
        raise ValueError(f"{fn}: x must have H >= 1 and W >= 1 {_LAYOUT}, got shape {tuple(x.shape)}")
    return x


def global_avg_pool2d(x):
    """Global average pooling: the mean of each channel over H and W.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Input images.

    Returns
    -------
    out : ndarray, shape (N, C)
        ``out[n, c] = mean of x[n, c, :, :]``, of ``x``'s float dtype; the
        same as :func:`avg_pool2d` with ``size=(H, W)``, flattened.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D or has H or W of 0.
    TypeError
        If ``x`` is not numeric.

    Notes
    -----
    It replaces flatten + dense at the end of a network (one number per
    channel, no parameters), as Keras's ``GlobalAveragePooling2D``.

    Book: chapter 5, "Other pooling types".
    """
    x = _global_input(x, "global_avg_pool2d")
    return x.mean(axis=(2, 3))


def global_max_pool2d(x):
    """Global max pooling: the maximum of each channel over H and W.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Input images.

    Returns
    -------
    out : ndarray, shape (N, C)
        ``out[n, c] = max of x[n, c, :, :]``, of ``x``'s float dtype; the
        same as :func:`max_pool2d` with ``size=(H, W)``, flattened.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D or has H or W of 0.
    TypeError
        If ``x`` is not numeric.

    Book: chapter 5, "Other pooling types".
    """
    x = _global_input(x, "global_max_pool2d")
    return x.max(axis=(2, 3))
