"""Transposed convolution ("deconvolution"): the adjoint of a strided convolution.

Book: chapter 2, "Convolution and filters", section "Convolution as a matrix;
transposed convolution".
"""

from __future__ import annotations

from ._checks import as_pair, resolve_padding2d, result_dtype
from ._fast import blas_threads
from .conv2d import _conv2d_input_grad, _Geometry, _kernel_inputs

__all__ = ["conv_transpose2d"]


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0):
    r"""Transposed 2-D convolution: maps a convolution's output shape back to its input shape.

    Parameters
    ----------
    x : array_like, shape (N, F, H, W)
        Input, laid out like the *output* of the convolution being transposed.
    w : array_like, shape (F, C, KH, KW)
        The kernel of that convolution (as given to :func:`conv2d`); it is
        used as is, not flipped or transposed by the caller.
    b : array_like, shape (C,), optional
        One bias per output channel; no bias if ``None``.
    stride : int or (int, int), default 1
        Stride ``s >= 1`` of the convolution being transposed: the output is
        about ``s`` times larger than ``x``.
    padding : int, (int, int) or {"valid", "same", "full"}, default 0
        Padding ``p`` of the convolution being transposed; it is *removed*
        from the output. ``"valid"`` is 0, ``"full"`` is ``K - 1`` and
        ``"same"`` gives ``Ho = H * s`` as TensorFlow's
        ``conv2d_transpose(..., padding="SAME")`` (the padding that the
        ``"same"`` convolution of an ``H * s`` input uses).
    output_padding : int or (int, int), default 0
        Extra rows/columns added at the bottom/right, ``0 <= op < s``. A
        strided convolution maps ``s`` different input sizes to the same
        output size; this picks one of them. Must be 0 with ``"same"``.

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)
        A new array of the inputs' float dtype, with
        ``Ho = (H - 1) s - p_top - p_bottom + KH + op`` (``(H - 1)s - 2p + KH + op``
        for symmetric padding), likewise ``Wo``.

    Raises
    ------
    TypeError
        If an argument is not numeric, or ``stride``/``padding``/
        ``output_padding`` is not an int or a pair of ints (or a mode).
    ValueError
        If ``x`` or ``w`` is not 4-D, ``w.shape[0]`` differs from the channels
        of ``x``, ``b`` is not ``(C,)``, ``stride`` is below 1, ``padding`` is
        negative or unknown, ``output_padding`` is negative, not below
        ``stride`` or non-zero with ``"same"``, or ``Ho`` or ``Wo`` would be
        below 1.

    Notes
    -----
    Every input cell scatters a copy of the kernel, scaled by its value, into
    the (padded) output, ``s`` cells apart:

    .. math::

        out_{pad}[n, c, i s + u, j s + v] \mathrel{+}= \sum_f x[n, f, i, j] \, w[f, c, u, v]

    then the padding is cut off and ``b[c]`` added. This is exactly the
    input gradient of the convolution with the same ``w``, stride and
    padding: ``conv_transpose2d(y, w, stride=s, padding=p)`` equals
    ``conv2d_backward(y, x0, w, stride=s, padding=p)[0]`` for any ``x0`` of
    shape ``(N, C, Ho, Wo)``; equivalently
    ``<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>``. It is also a
    stride-1 convolution with the flipped kernel over ``x`` with ``s - 1``
    zeros inserted between its cells.

    Book: chapter 2, "Convolution and filters", section "Convolution as a
    matrix; transposed convolution".

    See Also
    --------
    conv2d, conv2d_backward

    Examples
    --------
    A 3x3 kernel with stride 2 maps 5x5 to 2x2; its transpose maps 2x2 back:

    >>> import numpy as np
    >>> conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), stride=2)[0, 0]
    array([[1., 1., 2., 1., 1.],
           [1., 1., 2., 1., 1.],
           [2., 2., 4., 2., 2.],
           [1., 1., 2., 1., 1.],
           [1., 1., 2., 1., 1.]])
    """
    fn = "conv_transpose2d"
    x, w, b = _kernel_inputs(fn, x, w, b, "(N, F, H, W)", "(F, C, KH, KW)", channel_axis=0)
    stride = as_pair(stride, "stride", fn)
    output_padding = as_pair(output_padding, "output_padding", fn, minimum=0)
    if any(op >= s for op, s in zip(output_padding, stride)):
        raise ValueError(
            f"{fn}: output_padding must be smaller than stride {stride} on each axis, got {output_padding}"
        )
    n, _, h, width = x.shape
    c, kh, kw = w.shape[1:]
    same = isinstance(padding, str) and padding.lower() == "same"
    if same and any(output_padding):
        raise ValueError(f"{fn}: output_padding must be 0 with padding='same' (Ho = H * stride), got {output_padding}")
    # Sizes are those of the convolution's *input*, i.e. of our output: only
    # "same" depends on them, and it is defined by Ho = H * s.
    big_hw = (h * stride[0], width * stride[1])
    pads = resolve_padding2d(padding, big_hw, (kh, kw), stride, (1, 1), fn)
    if same:
        out_hw = big_hw
    else:
        out_hw = tuple(
            (m - 1) * s - before - after + k + op
            for m, s, (before, after), k, op in zip((h, width), stride, pads, (kh, kw), output_padding)
        )
    if min(out_hw) < 1:
        raise ValueError(
            f"{fn}: output size (H - 1)*stride - pad_before - pad_after + K + output_padding = {out_hw} must be >= 1 "
            f"(x shape {tuple(x.shape)}, w shape {tuple(w.shape)}, stride {stride}, padding {pads}, "
            f"output_padding {output_padding})"
        )
    # The bias follows the data: a float64 (or list) bias must not turn float32 data into float64.
    dtype = result_dtype(x, w)
    # The convolution being transposed maps (Ho, Wo) to (H, W) with these settings.
    geom = _Geometry(stride, (1, 1), pads, (h, width))
    with blas_threads():
        out = _conv2d_input_grad(x.astype(dtype, copy=False), w.astype(dtype, copy=False), (n, c, *out_hw), geom)
    if b is not None:
        out += b.astype(dtype, copy=False)[:, None, None]
    return out
