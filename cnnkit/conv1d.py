"""1-D correlation, convolution and the 1-D convolution layer.

Book: chapter 2, "Convolution and filters", section "1-D, by hand".
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._checks import (
    as_float_array,
    as_int,
    check_ndim,
    output_size_axis,
    resolve_padding_axis,
    result_dtype,
)
from ._fast import blas_threads
from .conv2d import _conv2d_forward, _Geometry, _kernel_inputs

__all__ = ["conv1d", "convolve1d", "correlate1d"]


def _correlate1d(fn, x, w, padding, flip):
    x = as_float_array(x, "x", fn)
    w = as_float_array(w, "w", fn)
    check_ndim(x, 1, "x", fn, "(L,)")
    check_ndim(w, 1, "w", fn, "(K,)")
    if x.size < 1 or w.size < 1:
        raise ValueError(f"{fn}: x and w must be non-empty, got shapes {x.shape} and {w.shape}")
    before, after = resolve_padding_axis(padding, x.size, w.size, 1, 1, "padding", fn)
    sizes = f" (x shape {x.shape}, w shape {w.shape})"
    output_size_axis(x.size, w.size, 1, before, after, 1, fn, sizes=sizes)
    dtype = result_dtype(x, w)
    x_pad = np.pad(x.astype(dtype, copy=False), (before, after))
    kernel = w.astype(dtype, copy=False)
    if flip:
        kernel = kernel[::-1]
    # Row i of the window view is x_pad[i : i + K]; one matrix-vector product.
    return sliding_window_view(x_pad, kernel.size) @ kernel


def correlate1d(x, w, padding=0):
    """1-D cross-correlation of a signal with a kernel (no flip).

    Parameters
    ----------
    x : array_like, shape (L,)
        The signal.
    w : array_like, shape (K,)
        The kernel.
    padding : int or {"valid", "same", "full"}, default 0
        Zeros added on each side of ``x``, or a mode: ``"valid"`` is 0,
        ``"same"`` keeps the length ``L`` (for even ``K`` the odd extra zero
        goes at the end, as in TensorFlow), ``"full"`` is ``K - 1``.

    Returns
    -------
    out : ndarray, shape (L + 2p - K + 1,)
        A new array of the inputs' float dtype (integers become float64).

    Raises
    ------
    TypeError
        If ``x`` or ``w`` is not numeric, or ``padding`` is not an int or a mode.
    ValueError
        If ``x`` or ``w`` is not 1-D or is empty, ``padding`` is negative or
        an unknown mode, or ``w`` is longer than the padded ``x``.

    Notes
    -----
    ``out[i] = sum_k x_pad[i + k] * w[k]`` (the book writes it 1-based,
    ``O_i = sum_j I_{i+j-1} W_j``). This is what deep-learning libraries call
    "convolution"; :func:`convolve1d` is the true convolution.

    Book: chapter 2, "Convolution and filters", section "1-D, by hand".

    See Also
    --------
    convolve1d : the same with the kernel flipped.
    conv1d : the layer, with batch, channels, bias, stride and dilation.

    Examples
    --------
    >>> correlate1d([1, 2, 3, 4], [1, 2, 3])
    array([14., 20.])
    >>> correlate1d([1, 2, 3, 4], [1, 2, 3], padding="same")
    array([ 8., 14., 20., 11.])
    """
    return _correlate1d("correlate1d", x, w, padding, flip=False)


def convolve1d(x, w, padding=0):
    """1-D (true) convolution: cross-correlation with the kernel flipped.

    Parameters
    ----------
    x : array_like, shape (L,)
        The signal.
    w : array_like, shape (K,)
        The kernel; it is reversed before sliding.
    padding : int or {"valid", "same", "full"}, default 0
        As in :func:`correlate1d`; the padding is applied to ``x``, not to
        the flipped kernel, so ``"same"`` puts the odd extra zero at the end.

    Returns
    -------
    out : ndarray, shape (L + 2p - K + 1,)
        A new array of the inputs' float dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`correlate1d`.

    Notes
    -----
    ``out[i] = sum_k x_pad[i + k] * w[K - 1 - k]``. With ``padding="full"``
    this equals ``numpy.convolve(x, w)``.

    Book: chapter 2, "Convolution and filters", section "1-D, by hand".

    See Also
    --------
    correlate1d : without the flip.

    Examples
    --------
    >>> convolve1d([1, 2, 3, 4], [1, 2, 3])
    array([10., 16.])
    """
    return _correlate1d("convolve1d", x, w, padding, flip=True)


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1):
    """1-D convolution layer (cross-correlation) over a batch of multi-channel signals.

    Parameters
    ----------
    x : array_like, shape (N, C, L)
        Batch of N signals with C channels.
    w : array_like, shape (F, C, K)
        F filters, each spanning all C input channels.
    b : array_like, shape (F,), optional
        One bias per filter; no bias if ``None``.
    stride : int, default 1
        Step ``s >= 1`` between windows.
    padding : int or {"valid", "same", "full"}, default 0
        Zeros added on each side, or a mode (``"same"``: ``Lo = ceil(L / s)``,
        TensorFlow's split; ``"full"``: ``d(K - 1)``).
    dilation : int, default 1
        Spacing ``d >= 1`` between kernel taps.

    Returns
    -------
    out : ndarray, shape (N, F, Lo)
        A new array of the inputs' float dtype.

    Raises
    ------
    TypeError
        If an argument is not numeric or a hyper-parameter is not an int.
    ValueError
        If ``x`` is not 3-D, ``w`` is not 3-D, their channel counts differ,
        ``b`` is not ``(F,)``, ``stride`` or ``dilation`` is below 1,
        ``padding`` is negative or unknown, or the dilated kernel is longer
        than the padded input.

    Notes
    -----
    ``out[n, f, i] = b[f] + sum_{c,k} x_pad[n, c, i*s + k*d] * w[f, c, k]``,
    ``Lo = floor((L + 2p - d(K - 1) - 1) / s) + 1``. Computed as
    :func:`conv2d` on images one row high.

    Book: chapter 2, "Convolution and filters".

    See Also
    --------
    correlate1d : a single signal and kernel.
    conv2d : the 2-D layer.
    """
    fn = "conv1d"
    x, w, b = _kernel_inputs(fn, x, w, b, "(N, C, L)", "(F, C, K)")
    stride = as_int(stride, "stride", fn)
    dilation = as_int(dilation, "dilation", fn)
    length, kernel = x.shape[2], w.shape[2]
    pads = resolve_padding_axis(padding, length, kernel, stride, dilation, "padding", fn)
    sizes = f" (x shape {tuple(x.shape)}, w shape {tuple(w.shape)}, stride {stride}, dilation {dilation})"
    out_len = output_size_axis(length, kernel, stride, *pads, dilation, fn, sizes=sizes)
    # The bias follows the data: a float64 (or list) bias must not turn float32 data into float64.
    dtype = result_dtype(x, w)
    geom = _Geometry((1, stride), (1, dilation), ((0, 0), pads), (1, out_len))
    with blas_threads():
        out = _conv2d_forward(
            x.astype(dtype, copy=False)[:, :, None, :],
            w.astype(dtype, copy=False)[:, :, None, :],
            None if b is None else b.astype(dtype, copy=False),
            geom,
        )
    return out[:, :, 0, :]
