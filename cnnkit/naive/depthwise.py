"""Depthwise 2-D convolution and its gradients with explicit loops, one output cell at a time.

Book: chapter 2, "Convolution and filters". The oracle the tests hold
:func:`cnnkit.depthwise_conv2d` and :func:`cnnkit.depthwise_conv2d_backward`
to; same arguments, same checks, same errors (under its own name).
"""

from __future__ import annotations

import numpy as np

from ..depthwise import _prepare_depthwise, _prepare_depthwise_backward
from .conv import _padded, _receptive_field, _unpadded

__all__ = ["depthwise_conv2d_backward_naive", "depthwise_conv2d_naive"]


def depthwise_conv2d_naive(x, w, b=None, stride=1, padding=0, dilation=1):
    """:func:`cnnkit.depthwise_conv2d` with loops over images, channels, multipliers and positions.

    Parameters, returns and errors are those of :func:`cnnkit.depthwise_conv2d`:
    ``x`` is ``(N, C, H, W)``, ``w`` is ``(C, M, KH, KW)``, ``b`` is ``(C*M,)``
    and the result is ``(N, C*M, Ho, Wo)``.

    Notes
    -----
    ``out[n, c*M + m, i, j] = b[c*M + m] + sum_{u,v} x_pad[n, c, i*sh + u*dil_h, j*sw + v*dil_w] * w[c, m, u, v]``:
    the receptive field is that of :func:`cnnkit.naive.conv2d_naive`, but in
    channel ``c`` only.

    Book: chapter 2, "Convolution and filters".
    """
    x, w, b, geom = _prepare_depthwise("depthwise_conv2d_naive", x, w, b, stride, padding, dilation)
    n_images, channels = x.shape[:2]
    _, mult, kh, kw = w.shape
    ho, wo = geom.out_hw
    bias = np.zeros(channels * mult, dtype=x.dtype) if b is None else b

    x_pad = _padded(x, geom)
    out = np.zeros((n_images, channels * mult, ho, wo), dtype=x.dtype)
    for n in range(n_images):
        for c in range(channels):
            for m in range(mult):
                k = c * mult + m  # the output channel
                for i in range(ho):
                    for j in range(wo):
                        rows, cols = _receptive_field(geom, kh, kw, i, j)
                        field = x_pad[n, c, rows, cols]  # (KH, KW): one channel only
                        out[n, k, i, j] = np.sum(field * w[c, m]) + bias[k]
    return out


def depthwise_conv2d_backward_naive(dout, x, w, stride=1, padding=0, dilation=1):
    """:func:`cnnkit.depthwise_conv2d_backward` with loops over images, channels, multipliers and positions.

    Returns ``(dx, dw, db)`` shaped ``(N, C, H, W)``, ``(C, M, KH, KW)`` and
    ``(C*M,)``; arguments and errors are those of
    :func:`cnnkit.depthwise_conv2d_backward`.

    Notes
    -----
    Output ``(n, c*M + m, i, j)`` was ``sum(field * w[c, m]) + b[c*M + m]``
    with ``field`` in channel ``c`` of ``x_pad``, so its gradient ``g`` flows
    back as ``g * w[c, m]`` into that field, as ``g * field`` into
    ``w[c, m]`` and as ``g`` into ``b[c*M + m]``.

    Book: chapter 2, "Convolution and filters", section "Backward pass".
    """
    dout, x, w, geom = _prepare_depthwise_backward(
        "depthwise_conv2d_backward_naive", dout, x, w, stride, padding, dilation
    )
    n_images, channels = x.shape[:2]
    _, mult, kh, kw = w.shape
    ho, wo = geom.out_hw

    x_pad = _padded(x, geom)
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(channels * mult, dtype=w.dtype)
    for n in range(n_images):
        for c in range(channels):
            for m in range(mult):
                k = c * mult + m
                for i in range(ho):
                    for j in range(wo):
                        rows, cols = _receptive_field(geom, kh, kw, i, j)
                        g = dout[n, k, i, j]
                        dx_pad[n, c, rows, cols] += g * w[c, m]
                        dw[c, m] += g * x_pad[n, c, rows, cols]
                        db[k] += g
    return _unpadded(dx_pad, geom), dw, db
