"""Layout conversion between cnnkit and Keras/TensorFlow (book: chapter 2).

cnnkit, like PyTorch, puts channels first: images ``(N, C, H, W)`` and
kernels ``(F, C, KH, KW)`` (output channels, input channels, height, width).
Keras puts them last: images ``(N, H, W, C)`` and kernels
``(KH, KW, C, F)``. These functions are pure transpositions: values and
dtype are kept, and the result is always a new C-contiguous array, never a
view of the input.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_ndim

__all__ = ["hwio_to_oihw", "nchw_to_nhwc", "nhwc_to_nchw", "oihw_to_hwio"]


def _transposed(x, axes, name, fn, layout):
    x = np.asarray(x)
    check_ndim(x, 4, name, fn, layout)
    # .copy() rather than np.ascontiguousarray: when an axis has length 1 the
    # transposed view can already be contiguous, and would then share memory
    # with the caller's array.
    return np.transpose(x, axes).copy(order="C")


def _doc(summary, arg, source, target, more=""):
    """The docstring of one conversion: they differ only in their layouts."""
    return f"""{summary}
{more}
    Parameters
    ----------
    {arg} : array_like, shape {source}

    Returns
    -------
    ndarray, shape {target}
        New contiguous array of the same dtype.

    Raises
    ------
    ValueError
        If ``{arg}`` is not 4-D.

    Book: chapter 2, "2-D, several channels, with bias".
    """


def nchw_to_nhwc(x):
    return _transposed(x, (0, 2, 3, 1), "x", "nchw_to_nhwc", "(N, C, H, W)")


def nhwc_to_nchw(x):
    return _transposed(x, (0, 3, 1, 2), "x", "nhwc_to_nchw", "(N, H, W, C)")


def oihw_to_hwio(w):
    return _transposed(w, (2, 3, 1, 0), "w", "oihw_to_hwio", "(F, C, KH, KW)")


def hwio_to_oihw(w):
    return _transposed(w, (3, 2, 0, 1), "w", "hwio_to_oihw", "(KH, KW, C, F)")


nchw_to_nhwc.__doc__ = _doc("Image batch from cnnkit's ``(N, C, H, W)`` to Keras's ``(N, H, W, C)``.",
                            "x", "(N, C, H, W)", "(N, H, W, C)")
nhwc_to_nchw.__doc__ = _doc("Image batch from Keras's ``(N, H, W, C)`` to cnnkit's ``(N, C, H, W)``.",
                            "x", "(N, H, W, C)", "(N, C, H, W)")
oihw_to_hwio.__doc__ = _doc("Kernel from cnnkit's ``(F, C, KH, KW)`` to Keras's ``(KH, KW, C, F)``.",
                            "w", "(F, C, KH, KW)", "(KH, KW, C, F)", """
    ``keras.layers.Conv2D(...).set_weights([oihw_to_hwio(w), b])`` makes a
    Keras layer compute what ``cnnkit.conv2d(x, w, b)`` computes (with the
    images converted by :func:`nchw_to_nhwc`).
""")
hwio_to_oihw.__doc__ = _doc("Kernel from Keras's ``(KH, KW, C, F)`` to cnnkit's ``(F, C, KH, KW)``.",
                            "w", "(KH, KW, C, F)", "(F, C, KH, KW)", """
    The inverse of :func:`oihw_to_hwio`; use it on ``layer.get_weights()[0]``
    of a Keras ``Conv2D``.
""")
