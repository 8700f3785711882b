"""How much a feature map changes when its input shifts: the experiment of chapters 1 and 4.

One computation, so that the two chapters that run it report the same numbers.
Import it as ``from cnnkit.invariance import shift_change``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import as_float_array, check_ndim
from .conv2d import conv2d
from .pool import global_max_pool2d, max_pool2d

__all__ = ["shift_right", "shift_change"]


def shift_right(images, pixels):
    """The images moved ``pixels`` columns to the right, zeros coming in on the left.

    Parameters
    ----------
    images : array_like, shape (N, C, H, W)
    pixels : int, 0 <= pixels < W

    Returns
    -------
    ndarray, shape (N, C, H, W)
        ``out[..., j] = images[..., j - pixels]`` for ``j >= pixels``, else 0.
    """
    fn = "shift_right"
    x = as_float_array(images, "images", fn)
    check_ndim(x, 4, "images", fn, "(N, C, H, W)")
    if not isinstance(pixels, numbers.Integral) or isinstance(pixels, bool) or not 0 <= pixels < x.shape[-1]:
        raise ValueError(f"{fn}: pixels must be an int in [0, {x.shape[-1]}) (the width), got {pixels!r}")
    moved = np.zeros_like(x)
    moved[..., pixels:] = x[..., :x.shape[-1] - pixels]
    return moved


def shift_change(images, kernel, shifts=(1,), windows=(1, 2, 4)):
    """Relative change of a ReLU feature map, and of its max-pooled versions, when the images shift right.

    The feature map is ``relu(conv2d(images, kernel, padding="same"))``; for
    each shift ``s`` and window ``k`` the change is

    .. math:: \\lVert P_k(f(x)) - P_k(f(x_s)) \\rVert \\,/\\, \\lVert P_k(f(x)) \\rVert

    over the whole batch, where ``x_s`` is ``x`` shifted ``s`` pixels right
    (:func:`shift_right`), ``f`` the ReLU feature map and ``P_k`` is ``k x k`` max pooling with stride
    ``k`` (``k = 1``: no pooling; ``None``: global max pooling).

    Parameters
    ----------
    images : array_like, shape (N, C, H, W)
    kernel : array_like, shape (F, C, KH, KW), odd KH and KW
    shifts : sequence of int
    windows : sequence of int or None

    Returns
    -------
    ndarray, shape (len(windows), len(shifts))
        ``change[i, j]`` for window ``windows[i]`` and shift ``shifts[j]``.

    Book: chapter 4, "Max-pooling layers", section "What pooling buys: robustness to small shifts".
    """
    fn = "shift_change"
    # In float64 whatever the images' dtype, so that every chapter gets the same digits.
    x = as_float_array(images, "images", fn).astype(np.float64, copy=False)
    check_ndim(x, 4, "images", fn, "(N, C, H, W)")
    for k in windows:
        if k is not None and (not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1):
            raise ValueError(f"{fn}: windows must hold ints >= 1 or None (global), got {k!r}")

    def features(batch):
        return np.maximum(conv2d(batch, kernel, padding="same"), 0)

    def pooled(maps, k):
        if k is None:
            return global_max_pool2d(maps)
        return maps if k == 1 else max_pool2d(maps, k)

    before = features(x)
    change = np.zeros((len(windows), len(shifts)))
    for j, pixels in enumerate(shifts):
        after = features(shift_right(x, pixels))
        for i, k in enumerate(windows):
            a, b = pooled(before, k), pooled(after, k)
            change[i, j] = np.linalg.norm(a - b) / np.linalg.norm(a)
    return change
