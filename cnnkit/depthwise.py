"""Depthwise and depthwise-separable 2-D convolution, and their gradients, vectorised.

Book: chapter 2, "Convolution and filters", section "Depthwise-separable
convolution" (the layers, and what they save, counted with
:func:`cnnkit.architectures.compare_separable`). The loop versions are in
:mod:`cnnkit.naive.depthwise`; the tests hold these to them.

A depthwise convolution filters every input channel on its own: channel
``c`` gets ``M`` kernels of its own (the *depth multiplier*) and gives the
``M`` output channels ``c*M, ..., c*M + M - 1``; no output mixes channels. A
depthwise-separable convolution (MobileNet, Xception) follows it with a 1x1
convolution, the *pointwise* step, that mixes the channels. Together they
replace a ``K x K`` convolution at about ``1/F + 1/K^2`` of its cost.

The fast path loops over the ``KH * KW`` kernel taps (9 for a 3x3 kernel) and
does each tap for every image, channel and position in one array operation;
there is no channel sum, so no matrix product is needed.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_ndim, check_shape, result_dtype
from .conv2d import _pad_hw, check_dout, conv2d, conv2d_backward, settle_geometry

__all__ = [
    "depthwise_conv2d",
    "depthwise_conv2d_backward",
    "separable_conv2d",
    "separable_conv2d_backward",
]


# ----------------------------------------------------------------------------
# Argument checks, shared with cnnkit.naive.depthwise.
# ----------------------------------------------------------------------------


def _prepare_depthwise(fn, x, w, b, stride, padding, dilation):
    """Validate ``depthwise_conv2d``'s arguments and cast them to the result dtype.

    Returns ``(x, w, b, geometry)``; ``b`` stays ``None`` if not given.
    """
    x = as_float_array(x, "x", fn)
    w = as_float_array(w, "w", fn)
    b = None if b is None else as_float_array(b, "b", fn)
    check_ndim(x, 4, "x", fn, "(N, C, H, W)")
    check_ndim(w, 4, "w", fn, "(C, M, KH, KW)")
    if min(x.shape[1:]) < 1:
        raise ValueError(f"{fn}: x must be non-empty (N, C, H, W) (only N may be 0), got shape {tuple(x.shape)}")
    if min(w.shape) < 1:
        raise ValueError(f"{fn}: w must be non-empty (C, M, KH, KW), got shape {tuple(w.shape)}")
    if w.shape[0] != x.shape[1]:
        raise ValueError(
            f"{fn}: w must be (C, M, KH, KW) with C = {x.shape[1]} to match the channels of x of shape "
            f"{tuple(x.shape)} (one group of M kernels per input channel), got w of shape {tuple(w.shape)} "
            f"(C = {w.shape[0]})"
        )
    if b is not None:
        c, m = w.shape[:2]
        check_shape(b, (c * m,), "b", fn, f"one bias per output channel, C*M = {c}*{m} for w {tuple(w.shape)}")
    return settle_geometry(fn, x, w, b, stride, padding, dilation)


def _prepare_depthwise_backward(fn, dout, x, w, stride, padding, dilation):
    """Validate ``depthwise_conv2d_backward``'s arguments; returns ``(dout, x, w, geometry)`` in one dtype."""
    x, w, _, geom = _prepare_depthwise(fn, x, w, None, stride, padding, dilation)
    expected = (x.shape[0], w.shape[0] * w.shape[1], *geom.out_hw)
    dout = check_dout(fn, dout, expected, "(N, C*M, Ho, Wo)")
    dtype = result_dtype(dout, x, w)
    return dout.astype(dtype, copy=False), x.astype(dtype, copy=False), w.astype(dtype, copy=False), geom


def _prepare_pointwise(fn, w_pointwise, b, channels):
    """Validate the 1x1 kernel ``(F, C*M, 1, 1)`` and the bias ``(F,)`` of a separable convolution."""
    w_pointwise = as_float_array(w_pointwise, "w_pointwise", fn)
    b = None if b is None else as_float_array(b, "b", fn)
    check_ndim(w_pointwise, 4, "w_pointwise", fn, "(F, C*M, 1, 1)")
    if w_pointwise.shape[1:] != (channels, 1, 1) or w_pointwise.shape[0] < 1:
        raise ValueError(
            f"{fn}: w_pointwise must be (F, C*M, 1, 1) with C*M = {channels}, the output channels of the "
            f"depthwise step, got shape {tuple(w_pointwise.shape)}"
        )
    if b is not None:
        check_shape(b, (w_pointwise.shape[0],), "b", fn, f"one bias per filter of w_pointwise {w_pointwise.shape}")
    return w_pointwise, b


# ----------------------------------------------------------------------------
# Vectorised kernels on validated input.
# ----------------------------------------------------------------------------


def _tap(u, v, geom):
    """Rows and columns of the padded input that kernel tap ``(u, v)`` reads for every output position."""
    (sh, sw), (dh, dw), (ho, wo) = geom.stride, geom.dilation, geom.out_hw
    return (slice(u * dh, u * dh + (ho - 1) * sh + 1, sh), slice(v * dw, v * dw + (wo - 1) * sw + 1, sw))


def _depthwise_forward(x, w, b, geom):
    n, c = x.shape[:2]
    _, m, kh, kw = w.shape
    ho, wo = geom.out_hw
    xp = _pad_hw(x, geom.padding)
    out = np.zeros((n, c, m, ho, wo), x.dtype)
    term = np.empty_like(out)
    for u in range(kh):
        for v in range(kw):
            rows, cols = _tap(u, v, geom)
            # (N, C, 1, Ho, Wo) * (C, M, 1, 1): tap (u, v) of every kernel of every channel at once.
            np.multiply(xp[:, :, None, rows, cols], w[:, :, u, v, None, None], out=term)
            out += term
    out = out.reshape(n, c * m, ho, wo)
    if b is not None:
        out += b[:, None, None]
    return out


def _depthwise_backward(dout, x, w, geom):
    n, c, h, width = x.shape
    _, m, kh, kw = w.shape
    ho, wo = geom.out_hw
    (top, _), (left, _) = geom.padding
    xp = _pad_hw(x, geom.padding)
    dxp = np.zeros(xp.shape, x.dtype)
    dw = np.empty_like(w)
    d = dout.reshape(n, c, m, ho, wo)
    for u in range(kh):
        for v in range(kw):
            rows, cols = _tap(u, v, geom)
            dw[:, :, u, v] = np.einsum("ncmij,ncij->cm", d, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("ncmij,cm->ncij", d, w[:, :, u, v])
    dx = dxp if dxp.shape == x.shape else dxp[:, :, top : top + h, left : left + width].copy()
    return dx, dw, dout.sum(axis=(0, 2, 3))


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------


def depthwise_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    r"""Depthwise 2-D convolution: each input channel filtered by kernels of its own.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Batch of N images with C channels.
    w : array_like, shape (C, M, KH, KW)
        ``M`` kernels (the depth multiplier) for each of the C input channels;
        ``w[c, m]`` is the kernel of output channel ``c*M + m``.
    b : array_like, shape (C*M,), optional
        One bias per output channel; no bias if ``None``.
    stride : int or (int, int), default 1
        Step ``s >= 1`` between windows, per axis ``(sh, sw)``.
    padding : int, (int, int) or {"valid", "same", "full"}, default 0
        As in :func:`conv2d`.
    dilation : int or (int, int), default 1
        Spacing ``d >= 1`` between kernel taps, as in :func:`conv2d`.

    Returns
    -------
    out : ndarray, shape (N, C*M, Ho, Wo)
        A new array of the inputs' float dtype; ``Ho``, ``Wo`` as for
        :func:`conv2d`. Output channels are ordered input channel first:
        ``c*M + m``, as in TensorFlow's ``depthwise_conv2d``.

    Raises
    ------
    TypeError
        If an argument is not numeric, or ``stride``/``padding``/``dilation``
        is not an int, a pair of ints (or a padding mode).
    ValueError
        If ``x`` or ``w`` is not 4-D, ``w.shape[0]`` is not the number of
        channels of ``x``, ``b`` is not ``(C*M,)``, ``stride`` or ``dilation``
        is below 1, ``padding`` is negative or an unknown mode, or the
        (dilated) kernel is larger than the padded input.

    Notes
    -----
    With ``x_pad`` the zero-padded input,

    .. math::

        out[n, c M + m, i, j] = b[c M + m] + \sum_{u, v}
            x_{pad}[n, c, i s_h + u d_h, j s_w + v d_w] \, w[c, m, u, v]

    i.e. :func:`conv2d` with ``C`` groups of one input channel each: the
    same as ``conv2d`` with the block-diagonal kernel ``(C*M, C, KH, KW)``
    that is zero wherever the filter's group and the channel differ. It has
    ``C M KH KW`` weights and costs ``Ho Wo C M KH KW`` multiply-adds per
    image, ``C`` times fewer than that full convolution.

    Keras' ``DepthwiseConv2D`` and ``tf.nn.depthwise_conv2d`` store the
    kernel as ``(KH, KW, C, M)``: ``w = k.transpose(2, 3, 0, 1)``.

    Book: chapter 2, "Convolution and filters", section "Depthwise-separable convolution".

    See Also
    --------
    cnnkit.naive.depthwise_conv2d_naive : the same with explicit loops.
    depthwise_conv2d_backward : its gradients.
    separable_conv2d : followed by a 1x1 convolution.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))])[None]  # (1, 2, 3, 3)
    >>> w = np.ones((2, 1, 3, 3))  # one 3x3 box filter per channel
    >>> depthwise_conv2d(x, w)[0, :, 0, 0]
    array([ 9., 18.])
    """
    x, w, b, geom = _prepare_depthwise("depthwise_conv2d", x, w, b, stride, padding, dilation)
    return _depthwise_forward(x, w, b, geom)


def depthwise_conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1):
    r"""Gradients of :func:`depthwise_conv2d` with respect to its input, kernel and bias.

    Parameters
    ----------
    dout : array_like, shape (N, C*M, Ho, Wo)
        Upstream gradient ``dL/dout``, shaped like ``depthwise_conv2d``'s output.
    x : array_like, shape (N, C, H, W)
        The input of the forward pass.
    w : array_like, shape (C, M, KH, KW)
        The kernel of the forward pass.
    stride, padding, dilation
        As given to :func:`depthwise_conv2d`. The bias enters no gradient.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        ``dL/dx``.
    dw : ndarray, shape (C, M, KH, KW)
        ``dL/dw``.
    db : ndarray, shape (C*M,)
        ``dL/db``.

    All three are new arrays of the inputs' float dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`depthwise_conv2d`, and if ``dout`` is not
        ``(N, C*M, Ho, Wo)`` for this ``x``, ``w`` and hyper-parameters.

    Notes
    -----
    .. math::

        dw[c, m, u, v] &= \sum_{n, i, j} dout[n, c M + m, i, j] \,
            x_{pad}[n, c, i s_h + u d_h, j s_w + v d_w] \\
        dx_{pad}[n, c, i s_h + u d_h, j s_w + v d_w] &\mathrel{+}=
            \sum_m dout[n, c M + m, i, j] \, w[c, m, u, v] \\
        db[c M + m] &= \sum_{n, i, j} dout[n, c M + m, i, j]

    and ``dx`` is ``dx_pad`` with the padding cut off: :func:`conv2d_backward`
    with the sum over filters restricted to the ``M`` filters of channel ``c``.

    Book: chapter 2, "Convolution and filters", section "Backward pass".

    See Also
    --------
    cnnkit.naive.depthwise_conv2d_backward_naive : the same with explicit loops.
    """
    dout, x, w, geom = _prepare_depthwise_backward(
        "depthwise_conv2d_backward", dout, x, w, stride, padding, dilation
    )
    return _depthwise_backward(dout, x, w, geom)


def separable_conv2d(x, w_depthwise, w_pointwise, b=None, stride=1, padding=0, dilation=1):
    r"""Depthwise-separable 2-D convolution: :func:`depthwise_conv2d`, then a 1x1 :func:`conv2d`.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Batch of N images with C channels.
    w_depthwise : array_like, shape (C, M, KH, KW)
        The depthwise kernels, ``M`` per input channel (the depth multiplier).
    w_pointwise : array_like, shape (F, C*M, 1, 1)
        The pointwise (1x1) kernels that mix the ``C*M`` depthwise channels
        into ``F`` outputs.
    b : array_like, shape (F,), optional
        One bias per output channel, added after the pointwise step (the
        depthwise step has none, as in Keras' ``SeparableConv2D``).
    stride, padding, dilation
        Of the depthwise step, as in :func:`depthwise_conv2d`; the pointwise
        step has stride 1 and no padding.

    Returns
    -------
    out : ndarray, shape (N, F, Ho, Wo)
        A new array of the inputs' float dtype; ``Ho``, ``Wo`` as for
        :func:`conv2d` with a ``KH x KW`` kernel.

    Raises
    ------
    TypeError, ValueError
        As :func:`depthwise_conv2d`, and if ``w_pointwise`` is not
        ``(F, C*M, 1, 1)`` or ``b`` is not ``(F,)``.

    Notes
    -----
    .. math::

        out[n, f, i, j] = b[f] + \sum_{c, m} w_{pw}[f, c M + m, 0, 0]
            \sum_{u, v} x_{pad}[n, c, i s_h + u d_h, j s_w + v d_w] \, w_{dw}[c, m, u, v]

    a :func:`conv2d` whose kernel ``(F, C, KH, KW)`` is constrained to the
    rank-``M`` form ``sum_m w_pw[f, cM+m] w_dw[c, m]``. It has
    ``C M (KH KW + F)`` weights and costs ``Ho Wo C M (KH KW + F)``
    multiply-adds per image, against ``F C KH KW`` and ``Ho Wo F C KH KW``
    for the full convolution: a ratio of ``M (1/F + 1/(KH KW))``.

    Keras' ``SeparableConv2D`` stores ``w_depthwise`` as ``(KH, KW, C, M)``
    and ``w_pointwise`` as ``(1, 1, C*M, F)``: ``k.transpose(2, 3, 0, 1)``
    and :func:`hwio_to_oihw` convert them.

    Book: chapter 2, "Convolution and filters", section "Depthwise-separable convolution".

    See Also
    --------
    separable_conv2d_backward : its gradients.
    cnnkit.architectures.compare_separable : what it saves against conv2d.
    """
    fn = "separable_conv2d"
    x, w_depthwise, _, geom = _prepare_depthwise(fn, x, w_depthwise, None, stride, padding, dilation)
    w_pointwise, b = _prepare_pointwise(fn, w_pointwise, b, w_depthwise.shape[0] * w_depthwise.shape[1])
    dtype = result_dtype(x, w_pointwise)
    mid = _depthwise_forward(x.astype(dtype, copy=False), w_depthwise.astype(dtype, copy=False), None, geom)
    return conv2d(mid, w_pointwise.astype(dtype, copy=False), None if b is None else b.astype(dtype, copy=False))


def separable_conv2d_backward(dout, x, w_depthwise, w_pointwise, stride=1, padding=0, dilation=1):
    r"""Gradients of :func:`separable_conv2d` with respect to its input, both kernels and its bias.

    Parameters
    ----------
    dout : array_like, shape (N, F, Ho, Wo)
        Upstream gradient, shaped like ``separable_conv2d``'s output.
    x : array_like, shape (N, C, H, W)
        The input of the forward pass.
    w_depthwise : array_like, shape (C, M, KH, KW)
    w_pointwise : array_like, shape (F, C*M, 1, 1)
        The kernels of the forward pass.
    stride, padding, dilation
        As given to :func:`separable_conv2d`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw_depthwise : ndarray, shape (C, M, KH, KW)
    dw_pointwise : ndarray, shape (F, C*M, 1, 1)
    db : ndarray, shape (F,)
        New arrays of the inputs' float dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`separable_conv2d`, and if ``dout`` is not ``(N, F, Ho, Wo)``.

    Notes
    -----
    The chain rule through the two steps: with ``y = depthwise_conv2d(x, w_dw)``
    recomputed, ``(dy, dw_pointwise, db) = conv2d_backward(dout, y, w_pw)``
    and ``(dx, dw_depthwise, _) = depthwise_conv2d_backward(dy, x, w_dw)``.

    Book: chapter 2, "Convolution and filters", section "Backward pass".
    """
    fn = "separable_conv2d_backward"
    x, w_depthwise, _, geom = _prepare_depthwise(fn, x, w_depthwise, None, stride, padding, dilation)
    w_pointwise, _ = _prepare_pointwise(fn, w_pointwise, None, w_depthwise.shape[0] * w_depthwise.shape[1])
    dout = check_dout(fn, dout, (x.shape[0], w_pointwise.shape[0], *geom.out_hw), "(N, F, Ho, Wo)")
    dtype = result_dtype(dout, x, w_depthwise, w_pointwise)
    x, w_depthwise = x.astype(dtype, copy=False), w_depthwise.astype(dtype, copy=False)
    w_pointwise, dout = w_pointwise.astype(dtype, copy=False), dout.astype(dtype, copy=False)
    mid = _depthwise_forward(x, w_depthwise, None, geom)
    dmid, dw_pointwise, db = conv2d_backward(dout, mid, w_pointwise)
    dx, dw_depthwise, _ = _depthwise_backward(dmid, x, w_depthwise, geom)
    return dx, dw_depthwise, dw_pointwise, db
