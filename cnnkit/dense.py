"""A dense layer rewritten as a convolution ("everything is a convolution").

Book: chapter 2, "Convolution and filters", section "Everything is a convolution".
"""

from __future__ import annotations

import numbers

from ._checks import as_float_array, check_ndim, check_shape, result_dtype

__all__ = ["dense_to_conv"]


def dense_to_conv(w, b, input_shape):
    """Turn a dense layer on a flattened ``(C, H, W)`` map into an equivalent convolution.

    Parameters
    ----------
    w : array_like, shape (C*H*W, units)
        Dense weights in Keras layout (``Dense.kernel``), rows in the order of
        ``x.reshape(N, -1)`` for ``x`` of shape ``(N, C, H, W)``.
    b : array_like, shape (units,), or None
        Dense bias; ``None`` for a layer without one.
    input_shape : tuple of 3 ints
        ``(C, H, W)`` of one input feature map.

    Returns
    -------
    w_conv : ndarray, shape (units, C, H, W)
        One ``H x W`` filter per unit, each spanning all ``C`` channels.
    b_conv : ndarray, shape (units,), or None
        A copy of ``b``.

    Raises
    ------
    TypeError
        If ``w``/``b`` is not numeric or ``input_shape`` is not 3 ints.
    ValueError
        If ``w`` is not 2-D, its row count is not ``C*H*W``, ``b`` is not
        ``(units,)``, or a size in ``input_shape`` is below 1.

    Notes
    -----
    ``w_conv[k, c, i, j] = w[(c*H + i)*W + j, k]``: column ``k`` of the dense
    matrix, unflattened, is the kernel of output channel ``k``. A valid
    convolution of ``x`` with it has a ``1 x 1`` output, and

    ``conv2d(x, w_conv, b_conv)[:, :, 0, 0] == x.reshape(N, -1) @ w + b``.

    On a larger input the same kernel slides, so the "dense" layer is applied
    at every position: a classifier head becomes fully convolutional. The
    converse special case: a ``1 x 1`` convolution is a dense layer applied
    at every pixel.

    Keras flattens ``(H, W, C)`` maps, not ``(C, H, W)``; convert the input
    with :func:`cnnkit.nhwc_to_nchw` *and* reorder the rows of a Keras
    ``Flatten -> Dense`` kernel accordingly before using this function.

    Book: chapter 2, "Convolution and filters", section "Everything is a convolution".
    """
    fn = "dense_to_conv"
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 3
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in input_shape)
    ):
        raise TypeError(f"{fn}: input_shape must be a tuple of 3 ints (C, H, W), got {input_shape!r}")
    c, h, width = (int(v) for v in input_shape)
    if min(c, h, width) < 1:
        raise ValueError(f"{fn}: input_shape (C, H, W) must have sizes >= 1, got {tuple(input_shape)}")
    w = as_float_array(w, "w", fn)
    b = None if b is None else as_float_array(b, "b", fn)
    check_ndim(w, 2, "w", fn, "(C*H*W, units)")
    if w.shape[0] != c * h * width:
        raise ValueError(
            f"{fn}: w must have C*H*W = {c}*{h}*{width} = {c * h * width} rows for input_shape "
            f"{(c, h, width)}, got shape {tuple(w.shape)}"
        )
    units = w.shape[1]
    if b is not None:
        check_shape(b, (units,), "b", fn, f"one bias per unit of w {tuple(w.shape)}")
    dtype = result_dtype(w)
    # astype always copies, so the results never share memory with w and b.
    w_conv = w.T.astype(dtype, order="C").reshape(units, c, h, width)
    b_conv = None if b is None else b.astype(dtype)
    return w_conv, b_conv
