"""2-D convolution (cross-correlation) and its gradients, vectorised.

Book: chapter 2, "Convolution and filters" (forward pass, output size, padding,
stride, dilation) and "Backward pass". The loop versions the book teaches from
are in :mod:`cnnkit.naive.conv`; the tests hold these to them.

The fast path is im2col: every receptive field is copied into a column of a
matrix (a :func:`numpy.lib.stride_tricks.sliding_window_view` followed by one
copy), and the convolution becomes a single matrix product done by BLAS. The
backward pass uses the same columns: ``dw`` is another matrix product and
``dx`` is the transposed product scattered back onto the input ("col2im"),
or, in the unbatched layout, shifted products that add up in place
(:mod:`cnnkit._fast.shifted`).

How many cores and BLAS threads do the work is decided in one place,
:mod:`cnnkit._fast`: a large batch is cut into one part per CPU, computed
side by side while the cores are free and one after the other when they
are not, so that the result never depends on the load.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._fast import map_batch, shifted
from ._checks import as_float_array, as_pair, check_ndim, check_shape, output_size_axis, resolve_padding2d, result_dtype

__all__ = ["conv2d", "conv2d_backward"]


class _Geometry(NamedTuple):
    """Validated hyper-parameters of one convolution, per axis ``(h, w)``."""

    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))
    out_hw: tuple[int, int]


# ----------------------------------------------------------------------------
# Argument checks, shared with cnnkit.naive.conv, conv1d and conv_transpose2d so
# that every entry point reports the same mistake in the same words.
# ----------------------------------------------------------------------------


def _check_kernel_and_bias(fn, x, w, b, x_layout, w_layout, channel_axis=1):
    """Check that ``w`` matches ``x``'s channels, that no axis is empty, and ``b``'s shape."""
    if min(x.shape[1:]) < 1:
        raise ValueError(f"{fn}: x must be non-empty {x_layout} (only N may be 0), got shape {tuple(x.shape)}")
    if min(w.shape) < 1:
        raise ValueError(f"{fn}: w must be non-empty {w_layout}, got shape {tuple(w.shape)}")
    if w.shape[channel_axis] != x.shape[1]:
        letter = w_layout.strip("()").split(", ")[channel_axis]
        raise ValueError(
            f"{fn}: w must be {w_layout} with {letter} = {x.shape[1]} to match the channels of x of shape "
            f"{tuple(x.shape)}, got w of shape {tuple(w.shape)} ({letter} = {w.shape[channel_axis]})"
        )
    if b is not None:
        out_channels = w.shape[1 - channel_axis]
        check_shape(b, (out_channels,), "b", fn, f"one bias per output channel of w {tuple(w.shape)}")


def _kernel_inputs(fn, x, w, b, x_layout, w_layout, channel_axis=1):
    """``x``, ``w`` and ``b`` (``None`` stays ``None``) as float arrays, checked for a convolution.

    Each must be numeric; ``x`` and ``w`` have one axis per name of their
    layout (``"(N, C, L)"`` is 3-D); then :func:`_check_kernel_and_bias`.
    Returns ``(x, w, b)``.
    """
    x = as_float_array(x, "x", fn)
    w = as_float_array(w, "w", fn)
    b = None if b is None else as_float_array(b, "b", fn)
    check_ndim(x, x_layout.count(",") + 1, "x", fn, x_layout)
    check_ndim(w, w_layout.count(",") + 1, "w", fn, w_layout)
    _check_kernel_and_bias(fn, x, w, b, x_layout, w_layout, channel_axis)
    return x, w, b


def _prepare_conv2d(fn, x, w, b, stride, padding, dilation):
    """Validate ``conv2d``'s arguments and cast them to the result dtype.

    Returns ``(x, w, b, geometry)``; ``b`` stays ``None`` if not given.
    """
    x, w, b = _kernel_inputs(fn, x, w, b, "(N, C, H, W)", "(F, C, KH, KW)")
    return settle_geometry(fn, x, w, b, stride, padding, dilation)


def settle_geometry(fn, x, w, b, stride, padding, dilation):
    """Check the settings against checked ``x (N, C, H, W)`` and ``w (., ., KH, KW)``; bring all to one dtype.

    Returns ``(x, w, b, geometry)``; shared by every 2-D convolution (plain, depthwise, separable) so that
    each reports a mistake in its settings in the same words.
    """
    stride = as_pair(stride, "stride", fn)
    dilation = as_pair(dilation, "dilation", fn)
    size_hw, kernel_hw = x.shape[2:], w.shape[2:]
    pads = resolve_padding2d(padding, size_hw, kernel_hw, stride, dilation, fn)
    shapes = f" (x shape {tuple(x.shape)}, w shape {tuple(w.shape)}, stride {stride}, dilation {dilation})"
    out_hw = tuple(
        output_size_axis(n, k, s, before, after, d, fn, axis=axis, sizes=shapes)
        for n, k, s, (before, after), d, axis in zip(size_hw, kernel_hw, stride, pads, dilation, "HW")
    )
    # The bias follows the data: a float64 (or list) bias must not turn float32 data into float64.
    dtype = result_dtype(x, w)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    b = None if b is None else b.astype(dtype, copy=False)
    return x, w, b, _Geometry(stride, dilation, pads, out_hw)


def check_dout(fn, dout, expected_shape, layout):
    """Validate an upstream gradient against the shape of the forward output."""
    dout = as_float_array(dout, "dout", fn)
    check_ndim(dout, len(expected_shape), "dout", fn, layout)
    check_shape(dout, expected_shape, "dout", fn, f"{layout}, the shape of the forward output")
    return dout


def _prepare_conv2d_backward(fn, dout, x, w, stride, padding, dilation):
    """Validate ``conv2d_backward``'s arguments; returns ``(dout, x, w, geometry)`` in one dtype."""
    x, w, _, geom = _prepare_conv2d(fn, x, w, None, stride, padding, dilation)
    expected = (x.shape[0], w.shape[0], *geom.out_hw)
    dout = check_dout(fn, dout, expected, "(N, F, Ho, Wo)")
    dtype = result_dtype(dout, x, w)
    return dout.astype(dtype, copy=False), x.astype(dtype, copy=False), w.astype(dtype, copy=False), geom


# ----------------------------------------------------------------------------
# Vectorised kernels. They take validated arrays of one dtype and a _Geometry.
# ----------------------------------------------------------------------------


def _pad_hw(x, padding):
    """Zero-pad the last two axes; returns ``x`` itself when there is nothing to pad."""
    (top, bottom), (left, right) = padding
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    # np.zeros + one assignment is about twice as fast as np.pad here.
    xp = np.zeros((n, c, h + top + bottom, w + left + right), x.dtype)
    xp[:, :, top : top + h, left : left + w] = x
    return xp


def _windows(x, kernel_hw, geom):
    """Every receptive field as a read-only view ``(N, C, Ho, Wo, KH, KW)`` of the padded input.

    ``windows[n, c, i, j, u, v] == x_pad[n, c, i*sh + u*dh, j*sw + v*dw]``.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, geom.stride, geom.dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    view = sliding_window_view(_pad_hw(x, geom.padding), span, axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def _batched_layout(n, ckk):
    """Whether to multiply image by image rather than with one product over the batch.

    One big product ``(F, C*KH*KW) @ (C*KH*KW, N*Ho*Wo)`` runs BLAS best but
    leaves the result as ``(F, N, Ho, Wo)``, which costs a transposing copy.
    With few rows per column (first layers: C*KH*KW of 9 or 27) that copy
    outweighs the product, and a stack of per-image products that writes
    ``(N, F, Ho*Wo)`` in place is faster; with one image the two are the same
    product, minus the copy. Threshold measured on the benchmark shapes.
    """
    return ckk < 64 or n == 1


def _im2col(x, kernel_hw, geom, batched, ones_row=False):
    """The receptive fields as matrix columns (one copy).

    Returns ``(N, C*KH*KW, Ho*Wo)`` if ``batched``, else ``(C*KH*KW, N*Ho*Wo)``.
    ``ones_row`` (batched only) appends a row of ones, ``(N, C*KH*KW + 1,
    Ho*Wo)``: multiplied by a kernel matrix with the bias as its last column,
    the product adds the bias itself, which saves a pass over the output.
    """
    win = _windows(x, kernel_hw, geom)
    n, c, ho, wo, kh, kw = win.shape
    if not batched:
        return win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * ho * wo)
    fields = win.transpose(0, 1, 4, 5, 2, 3)
    if not ones_row:
        return fields.reshape(n, c * kh * kw, ho * wo)
    cols = np.empty((n, c * kh * kw + 1, ho * wo), x.dtype)
    cols[:, :-1].reshape(fields.shape)[...] = fields
    cols[:, -1] = 1
    return cols


def _tap_ranges(size, out_size, kernel, stride, dilation, pad_before):
    """For each kernel tap along one axis: the outputs it reaches inside the input, and where.

    Tap ``u`` of output ``i`` reads input ``i*stride + u*dilation - pad_before``.
    Returns one ``(out_slice, in_slice)`` per tap, restricted to the outputs
    whose tap lands on the real input rather than on the zero padding.
    """
    ranges = []
    for u in range(kernel):
        offset = u * dilation - pad_before
        first = max(0, -(offset // stride))  # smallest i with offset + i*stride >= 0
        stop = min(out_size, (size - 1 - offset) // stride + 1)  # past the largest i inside
        if stop <= first:
            ranges.append((slice(0, 0), slice(0, 0)))
        else:
            start = offset + first * stride
            ranges.append((slice(first, stop), slice(start, start + (stop - first - 1) * stride + 1, stride)))
    return ranges


def _col2im(dcols, x_shape, kernel_hw, geom, batched):
    """Scatter-add column gradients back onto the input: the adjoint of :func:`_im2col`.

    ``dcols`` is laid out as :func:`_im2col`'s result. Returns a new
    C-contiguous ``(N, C, H, W)``. Gradients that fall on the padding are
    never formed: each tap adds only the part of its window on the input.
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, geom.stride, geom.dilation
    (top, _), (left, _) = geom.padding
    ho, wo = geom.out_hw
    dx = np.zeros(x_shape, dcols.dtype)
    if batched:
        taps, target = dcols.reshape(n, c, kh, kw, ho, wo).transpose(2, 3, 0, 1, 4, 5), dx
    else:
        taps, target = dcols.reshape(c, kh, kw, n, ho, wo).transpose(1, 2, 0, 3, 4, 5), dx.transpose(1, 0, 2, 3)
    # One strided add per kernel tap, over all positions, images and channels.
    for u, (out_rows, in_rows) in enumerate(_tap_ranges(h, ho, kh, sh, dh, top)):
        for v, (out_cols, in_cols) in enumerate(_tap_ranges(w, wo, kw, sw, dw, left)):
            target[:, :, in_rows, in_cols] += taps[u, v][:, :, out_rows, out_cols]
    return dx


def _dout_matrix(dout, batched):
    """``dout`` laid out like the product ``w_mat @ cols`` of the forward pass."""
    n, f, ho, wo = dout.shape
    if batched:
        return dout.reshape(n, f, ho * wo)
    return dout.transpose(1, 0, 2, 3).reshape(f, n * ho * wo)


def _input_grad(dout_mat, w, x_shape, geom, batched, out=None, dout=None):
    """``dx = col2im(w_mat.T @ dout_mat)``; ``out`` may supply the buffer for the product.

    Given ``dout`` too, the unbatched layout gets ``dx`` from shifted
    products instead (:mod:`cnnkit._fast.shifted`).
    """
    if dout is not None and not batched:
        dx = shifted.input_grad(dout, w, x_shape, geom)
        if dx is not None:
            return dx
    f, c, kh, kw = w.shape
    dcols = np.matmul(w.reshape(f, c * kh * kw).T, dout_mat, out=out)
    return _col2im(dcols, x_shape, (kh, kw), geom, batched)


def _conv2d_input_grad(dout, w, x_shape, geom):
    """``dx`` of a convolution: the transposed convolution of ``dout`` with ``w``."""
    _, c, kh, kw = w.shape
    batched = _batched_layout(x_shape[0], c * kh * kw)
    dx = None if batched else shifted.input_grad(dout, w, x_shape, geom)
    if dx is not None:
        return dx
    return _input_grad(_dout_matrix(dout, batched), w, x_shape, geom, batched)


def _conv2d_forward(x, w, b, geom, out=None):
    """Vectorised ``conv2d`` on validated input: im2col and one matrix product (into ``out`` if given)."""
    n = x.shape[0]
    f, c, kh, kw = w.shape
    ho, wo = geom.out_hw
    batched = _batched_layout(n, c * kh * kw)
    with_bias = batched and b is not None
    cols = _im2col(x, (kh, kw), geom, batched, ones_row=with_bias)
    w_mat = w.reshape(f, c * kh * kw)
    if out is None:
        out = np.empty((n, f, ho, wo), x.dtype)
    if batched:
        if with_bias:  # the bias as one more column of the kernel, against the row of ones
            w_mat = np.concatenate([w_mat, b[:, None]], axis=1)
        np.matmul(w_mat, cols, out=out.reshape(n, f, ho * wo))
        return out
    prod = (w_mat @ cols).reshape(f, n, ho, wo).transpose(1, 0, 2, 3)
    if b is None:
        np.copyto(out, prod)
    else:
        np.add(prod, b[:, None, None], out=out)  # the bias rides along with the transposing copy
    return out


def _flops(x, w, geom):
    """FLOPs of the forward product ``(F, C*KH*KW) @ (C*KH*KW, N*Ho*Wo)``."""
    return 2 * x.shape[0] * w.size * geom.out_hw[0] * geom.out_hw[1]


def _conv2d_backward_fast(dout, x, w, geom):
    """Vectorised ``conv2d_backward`` on validated input."""
    f, c, kh, kw = w.shape
    batched = _batched_layout(x.shape[0], c * kh * kw)
    cols = _im2col(x, (kh, kw), geom, batched)
    dout_mat = _dout_matrix(dout, batched)
    if batched:
        dw = np.matmul(dout_mat, cols.transpose(0, 2, 1)).sum(axis=0)
    else:
        dw = (cols @ dout_mat.T).T  # measured faster than dout_mat @ cols.T with OpenBLAS
    # The column gradients have the shape of cols, whose memory is free now:
    # reusing it saves allocating (and page-faulting) another large buffer.
    # cols is read-only when it is a view of x (1x1 kernels) and is left alone.
    dx = _input_grad(dout_mat, w, x.shape, geom, batched, out=cols if cols.flags.writeable else None, dout=dout)
    return dx, dw.reshape(w.shape), dout.sum(axis=(0, 2, 3))


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    r"""2-D convolution layer (cross-correlation, as in every deep-learning library).

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Batch of N images with C channels.
    w : array_like, shape (F, C, KH, KW)
        F filters (kernels), each spanning all C input channels.
    b : array_like, shape (F,), optional
        One bias per filter; no bias if ``None``.
    stride : int or (int, int), default 1
        Step ``s >= 1`` between windows, per axis ``(sh, sw)``.
    padding : int, (int, int) or {"valid", "same", "full"}, default 0
        Zeros added on each side of H and W, or a mode: ``"valid"`` is 0,
        ``"same"`` gives ``Ho = ceil(H / sh)`` with TensorFlow's split (the
        odd extra row/column at the bottom/right), ``"full"`` is ``d(K - 1)``.
    dilation : int or (int, int), default 1
        Spacing ``d >= 1`` between kernel taps (atrous convolution). May be
        combined with ``stride > 1``.

    Returns
    -------
    out : ndarray, shape (N, F, Ho, Wo)
        A new array of the inputs' float dtype (integers become float64).

    Raises
    ------
    TypeError
        If an argument is not numeric, or ``stride``/``padding``/``dilation``
        is not an int, a pair of ints (or a padding mode).
    ValueError
        If ``x`` or ``w`` has the wrong number of dimensions, their channel
        counts differ, ``b`` is not ``(F,)``, ``stride`` or ``dilation`` is
        below 1, ``padding`` is negative or an unknown mode, or the (dilated)
        kernel is larger than the padded input.

    Notes
    -----
    With ``x_pad`` the zero-padded input,

    .. math::

        out[n, f, i, j] = b[f] + \sum_{c, u, v}
            x_{pad}[n, c, i s_h + u d_h, j s_w + v d_w] \, w[f, c, u, v]

    and ``Ho = floor((H + p_top + p_bottom - dh (KH - 1) - 1) / sh) + 1``
    (``floor((H + 2p - d(KH - 1) - 1) / s) + 1`` for symmetric padding), the
    same for ``Wo``. The kernel is not flipped: for the flipped "true"
    convolution see :func:`cnnkit.convolve1d`.

    Computed by im2col: the receptive fields become the columns of a
    ``(C*KH*KW, N*Ho*Wo)`` matrix and the layer is one matrix product.

    Book: chapter 2, "Convolution and filters".

    See Also
    --------
    cnnkit.naive.conv2d_naive : the same with explicit loops.
    conv2d_backward : its gradients.
    conv_output_size : ``Ho`` and ``Wo`` on their own.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 3, 3))
    >>> conv2d(x, w)[0, 0]
    array([[45., 54.],
           [81., 90.]])
    >>> conv2d(x, w, padding="same").shape
    (1, 1, 4, 4)
    """
    x, w, b, geom = _prepare_conv2d("conv2d", x, w, b, stride, padding, dilation)
    n, f = x.shape[0], w.shape[0]
    out = np.empty((n, f, *geom.out_hw), x.dtype)
    # A large batch is cut into parts (cnnkit._fast), side by side when cores are free; each
    # part writes its own rows of out.
    map_batch(lambda part: _conv2d_forward(x[part], w, b, geom, out[part]), n, _flops(x, w, geom))
    return out


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1):
    r"""Gradients of :func:`conv2d` with respect to its input, kernel and bias.

    Parameters
    ----------
    dout : array_like, shape (N, F, Ho, Wo)
        Upstream gradient ``dL/dout``, shaped like ``conv2d``'s output.
    x : array_like, shape (N, C, H, W)
        The input of the forward pass.
    w : array_like, shape (F, C, KH, KW)
        The kernel of the forward pass.
    stride, padding, dilation
        As given to :func:`conv2d`. The bias does not enter any gradient.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        ``dL/dx``.
    dw : ndarray, shape (F, C, KH, KW)
        ``dL/dw``.
    db : ndarray, shape (F,)
        ``dL/db``.

    All three are new arrays of the inputs' float dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`conv2d`, and if ``dout`` is not ``(N, F, Ho, Wo)`` for
        this ``x``, ``w`` and hyper-parameters.

    Notes
    -----
    .. math::

        dw[f, c, u, v] &= \sum_{n, i, j} dout[n, f, i, j] \,
            x_{pad}[n, c, i s_h + u d_h, j s_w + v d_w] \\
        dx_{pad}[n, c, i s_h + u d_h, j s_w + v d_w] &\mathrel{+}=
            \sum_f dout[n, f, i, j] \, w[f, c, u, v] \\
        db[f] &= \sum_{n, i, j} dout[n, f, i, j]

    and ``dx`` is ``dx_pad`` with the padding cut off. So ``dw`` is the
    correlation of the input with ``dout``, and ``dx`` is the "full"
    correlation of ``dout`` (dilated by the stride) with the flipped kernel,
    i.e. the transposed convolution :func:`conv_transpose2d` of ``dout``.

    Book: chapter 2, "Convolution and filters", section "Backward pass".

    See Also
    --------
    cnnkit.naive.conv2d_backward_naive : the same with explicit loops.
    conv_transpose2d : ``dx`` as a layer of its own.
    """
    dout, x, w, geom = _prepare_conv2d_backward("conv2d_backward", dout, x, w, stride, padding, dilation)
    parts = map_batch(lambda part: _conv2d_backward_fast(dout[part], x[part], w, geom), x.shape[0],
                      2 * _flops(x, w, geom))
    if len(parts) == 1:
        return parts[0]
    dx = np.concatenate([p[0] for p in parts])
    return dx, sum(p[1] for p in parts), sum(p[2] for p in parts)
