"""2-D convolution and its gradients with explicit loops, one output cell at a time.

Book: chapter 2, "Convolution and filters". This is the version the book
explains and the oracle the tests hold :func:`cnnkit.conv2d` and
:func:`cnnkit.conv2d_backward` to. It takes the same arguments and runs the
same checks, so it raises the same errors (under its own name).
"""

from __future__ import annotations

import numpy as np

from ..conv2d import _prepare_conv2d, _prepare_conv2d_backward

__all__ = ["conv2d_backward_naive", "conv2d_naive"]


def _padded(x, geom):
    """``x`` (N, C, H, W) with ``geom``'s zero padding around H and W."""
    (top, bottom), (left, right) = geom.padding
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def _unpadded(x_pad, geom):
    """The input part of a padded (N, C, H + top + bottom, W + left + right) array, as a new array."""
    (top, bottom), (left, right) = geom.padding
    return x_pad[:, :, top : x_pad.shape[2] - bottom, left : x_pad.shape[3] - right].copy()


def _receptive_field(geom, kh, kw, i, j):
    """``(rows, cols)``: the slices of the padded input under output ``(i, j)``.

    KH x KW taps from ``(i*sh, j*sw)``, ``dil_h`` rows and ``dil_w`` columns apart.
    """
    (sh, sw), (dil_h, dil_w) = geom.stride, geom.dilation
    return (slice(i * sh, i * sh + dil_h * (kh - 1) + 1, dil_h),
            slice(j * sw, j * sw + dil_w * (kw - 1) + 1, dil_w))


def conv2d_naive(x, w, b=None, stride=1, padding=0, dilation=1):
    """:func:`cnnkit.conv2d` with loops over images, filters and output positions.

    Parameters, returns and errors are those of :func:`cnnkit.conv2d`:
    ``x`` is ``(N, C, H, W)``, ``w`` is ``(F, C, KH, KW)``, ``b`` is ``(F,)``
    and the result is ``(N, F, Ho, Wo)``.

    Notes
    -----
    ``out[n, f, i, j] = b[f] + sum_{c,u,v} x_pad[n, c, i*sh + u*dil_h, j*sw + v*dil_w] * w[f, c, u, v]``:
    the receptive field of output ``(i, j)`` starts at ``(i*sh, j*sw)`` of the
    padded input and takes every ``dil_h``-th row and ``dil_w``-th column.

    Book: chapter 2, "Convolution and filters".
    """
    x, w, b, geom = _prepare_conv2d("conv2d_naive", x, w, b, stride, padding, dilation)
    n_images = x.shape[0]
    n_filters, _, kh, kw = w.shape
    ho, wo = geom.out_hw
    bias = np.zeros(n_filters, dtype=x.dtype) if b is None else b

    x_pad = _padded(x, geom)
    out = np.zeros((n_images, n_filters, ho, wo), dtype=x.dtype)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(ho):
                for j in range(wo):
                    rows, cols = _receptive_field(geom, kh, kw, i, j)
                    field = x_pad[n, :, rows, cols]  # (C, KH, KW)
                    out[n, f, i, j] = np.sum(field * w[f]) + bias[f]
    return out


def conv2d_backward_naive(dout, x, w, stride=1, padding=0, dilation=1):
    """:func:`cnnkit.conv2d_backward` with loops over images, filters and output positions.

    Returns ``(dx, dw, db)`` shaped ``(N, C, H, W)``, ``(F, C, KH, KW)`` and
    ``(F,)``; arguments and errors are those of :func:`cnnkit.conv2d_backward`.

    Notes
    -----
    Output ``(n, f, i, j)`` was ``sum(field * w[f]) + b[f]``, so its gradient
    ``g = dout[n, f, i, j]`` flows back as ``g * w[f]`` into the receptive
    field of ``x_pad``, as ``g * field`` into ``w[f]`` and as ``g`` into
    ``b[f]``; each cell adds up the contributions of every window it is in.
    The padding's share of ``dx_pad`` is dropped at the end.

    Book: chapter 2, "Convolution and filters", section "Backward pass".
    """
    dout, x, w, geom = _prepare_conv2d_backward("conv2d_backward_naive", dout, x, w, stride, padding, dilation)
    n_images = x.shape[0]
    n_filters, _, kh, kw = w.shape
    ho, wo = geom.out_hw

    x_pad = _padded(x, geom)
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(n_filters, dtype=w.dtype)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(ho):
                for j in range(wo):
                    rows, cols = _receptive_field(geom, kh, kw, i, j)
                    g = dout[n, f, i, j]
                    dx_pad[n, :, rows, cols] += g * w[f]
                    dw[f] += g * x_pad[n, :, rows, cols]
                    db[f] += g
    return _unpadded(dx_pad, geom), dw, db
