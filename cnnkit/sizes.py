"""Output sizes of convolution and pooling layers (book: chapter 2, "Output size")."""

from __future__ import annotations

from ._checks import as_int, output_size_axis, resolve_padding_axis


def conv_output_size(n, kernel, stride=1, padding=0, dilation=1):
    """Length of a convolution's (or pooling's) output along one axis.

    Parameters
    ----------
    n : int
        Input length along the axis (``H`` or ``W``), ``n >= 1``.
    kernel : int
        Kernel (window) length ``k >= 1``.
    stride : int, default 1
        Step ``s >= 1`` between windows.
    padding : int or {"valid", "same", "full"}, default 0
        Zeros ``p >= 0`` added on *each* side, or a mode: ``"valid"`` is 0,
        ``"same"`` gives ``ceil(n / s)`` (TensorFlow's rule), ``"full"`` is
        ``d(k - 1)`` on each side.
    dilation : int, default 1
        Spacing ``d >= 1`` between kernel taps.

    Returns
    -------
    int
        ``floor((n + 2p - d(k - 1) - 1) / s) + 1``.

    Raises
    ------
    ValueError
        If an argument is out of range or the result would be below 1 (the
        dilated kernel does not fit in the padded input).

    Examples
    --------
    >>> conv_output_size(4, 3)
    2
    >>> conv_output_size(5, 3, stride=2)
    2
    >>> conv_output_size(28, 3, padding="same")
    28
    """
    fn = "conv_output_size"
    n = as_int(n, "n", fn)
    kernel = as_int(kernel, "kernel", fn)
    stride = as_int(stride, "stride", fn)
    dilation = as_int(dilation, "dilation", fn)
    before, after = resolve_padding_axis(padding, n, kernel, stride, dilation, "padding", fn)
    return output_size_axis(n, kernel, stride, before, after, dilation, fn)
