"""What a filter responds to: receptive fields, top-activating patches, occlusion maps.

Book: chapter 3, "Feature maps", section "Which inputs excite a filter".

Images are ``(N, C, H, W)`` (one image ``(C, H, W)``), as everywhere in cnnkit;
NumPy only. A model enters as a plain function from a batch of images to one
score per image, so any framework's model can be wrapped (chapter 3 wraps a
Keras model).
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, as_int, as_pair, check_ndim
from .conv2d import conv2d
from .transpose import conv_transpose2d

__all__ = ["crop", "max_activating_patch", "occlusion_map", "receptive_field", "top_activations"]


def receptive_field(layers, i, j):
    """The input window that unit ``(i, j)`` of the last layer of a stack depends on.

    Parameters
    ----------
    layers : list of (kernel, stride, padding)
        The stack's convolutions and poolings, first layer first; ``padding``
        is the number of zeros before the first row/column (``"same"``
        padding of an odd kernel ``k`` is ``(k - 1) // 2``).
    i, j : int
        Row and column of the unit in the last layer's output.

    Returns
    -------
    tuple of int
        ``(top, left, height, width)`` in input pixels; ``top`` and ``left``
        may be negative and the window may run past the border (into the
        padding). ``height = 1 + sum_l (k_l - 1) prod_{m<l} s_m``.

    Book: chapter 3, "Feature maps", section "Which inputs excite a filter".
    """
    fn = "receptive_field"
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"{fn}: layers must be a list of (kernel, stride, padding), got {type(layers).__name__}")
    box = [[as_int(i, "i", fn, minimum=0)] * 2, [as_int(j, "j", fn, minimum=0)] * 2]  # inclusive ranges
    for layer in reversed(layers):
        if not (isinstance(layer, (list, tuple)) and len(layer) == 3):
            raise ValueError(f"{fn}: each layer must be (kernel, stride, padding), got {layer!r}")
        kernel, stride = as_pair(layer[0], "kernel", fn), as_pair(layer[1], "stride", fn)
        padding = as_pair(layer[2], "padding", fn, minimum=0)
        for axis in (0, 1):
            lo, hi = box[axis]
            box[axis] = [lo * stride[axis] - padding[axis], hi * stride[axis] - padding[axis] + kernel[axis] - 1]
    (top, bottom), (left, right) = box
    return top, left, bottom - top + 1, right - left + 1


def crop(images, n, top, left, height, width):
    """Window ``(C, height, width)`` of image ``n`` of ``images`` ``(N, C, H, W)``; zeros outside the image.

    Book: chapter 3, "Feature maps", section "Which inputs excite a filter".
    """
    fn = "crop"
    images = as_float_array(images, "images", fn)
    check_ndim(images, 4, "images", fn, "(N, C, H, W)")
    height, width = as_int(height, "height", fn), as_int(width, "width", fn)
    _, c, h, w = images.shape
    out = np.zeros((c, height, width), dtype=images.dtype)
    r0, r1 = max(top, 0), min(top + height, h)
    c0, c1 = max(left, 0), min(left + width, w)
    if r0 < r1 and c0 < c1:
        out[:, r0 - top:r1 - top, c0 - left:c1 - left] = images[n, :, r0:r1, c0:c1]
    return out


def top_activations(maps, k=9):
    """The ``k`` strongest responses of one channel, at most one per image.

    Parameters
    ----------
    maps : array_like, shape (N, H, W)
        One channel's feature maps for ``N`` images.
    k : int
        How many to return (at most ``N``).

    Returns
    -------
    list of (n, i, j, value)
        Strongest first; each image's own maximum (first in row-major order
        on ties), and ties between images go to the lower ``n``.

    Book: chapter 3, "Feature maps", section "Which inputs excite a filter".
    """
    fn = "top_activations"
    maps = as_float_array(maps, "maps", fn)
    check_ndim(maps, 3, "maps", fn, "(N, H, W)")
    k = min(as_int(k, "k", fn), len(maps))
    flat = maps.reshape(len(maps), -1)
    where = flat.argmax(axis=1)
    best = flat[np.arange(len(maps)), where]
    order = np.argsort(-best, kind="stable")[:k]
    w = maps.shape[2]
    return [(int(n), int(where[n] // w), int(where[n] % w), float(best[n])) for n in order]


def max_activating_patch(images, w, b=0.0, stride=1, padding=0):
    """The input window that gives one filter its largest response over a set of images.

    Parameters
    ----------
    images : array_like, shape (N, C, H, W)
    w : array_like, shape (C, KH, KW)
        One filter.
    b : float
        Its bias.
    stride, padding : int, (h, w) pair or padding mode
        As in :func:`cnnkit.conv2d` (zero padding).

    Returns
    -------
    position : tuple of int
        ``(n, i, j)``: image and output position of the largest response
        (the first in ``(n, i, j)`` order on ties).
    patch : ndarray, shape (C, KH, KW)
        The window of the zero-padded image under the filter there, so that
        ``np.sum(patch * w) + b`` is that response.

    Book: chapter 3, "Feature maps", section "Which inputs excite a filter".
    """
    fn = "max_activating_patch"
    images = as_float_array(images, "images", fn)
    w = as_float_array(w, "w", fn)
    check_ndim(images, 4, "images", fn, "(N, C, H, W)")
    check_ndim(w, 3, "w", fn, "(C, KH, KW)")
    if w.shape[0] != images.shape[1]:
        raise ValueError(f"{fn}: w has {w.shape[0]} channels but images have {images.shape[1]}")
    response = conv2d(images, w[None], np.array([float(b)]), stride=stride, padding=padding)[:, 0]
    n, i, j = np.unravel_index(int(np.argmax(response)), response.shape)
    sh, sw = as_pair(stride, "stride", fn)
    _, _, kh, kw = (1, *w.shape)
    h, wd = images.shape[2:]
    ph = pw = 0
    if isinstance(padding, str):
        if padding == "same":
            ho, wo = response.shape[1:]
            ph = max((ho - 1) * sh + kh - h, 0) // 2
            pw = max((wo - 1) * sw + kw - wd, 0) // 2
        elif padding == "full":
            ph, pw = kh - 1, kw - 1
    else:
        ph, pw = as_pair(padding, "padding", fn, minimum=0)
    patch = crop(images, n, i * sh - ph, j * sw - pw, kh, kw)
    return (int(n), int(i), int(j)), patch


def occlusion_map(score, image, size, stride=1, fill=0.0, batch_size=256):
    """How much a model's score drops when each part of an image is covered.

    A ``size`` square of value ``fill`` slides over ``image`` with step
    ``stride``; ``drops[a, b] = score(image) - score(image covered at
    (a * stride, b * stride))``. Each pixel then gets the mean drop of the
    windows that covered it: the drops spread back over their windows by a
    transposed convolution with a kernel of ones (:func:`cnnkit.conv_transpose2d`),
    divided by the same spread of ones (how many windows cover the pixel).

    Parameters
    ----------
    score : callable
        Maps a batch ``(M, C, H, W)`` to ``M`` scores (for example the
        probability of the image's class).
    image : array_like, shape (C, H, W)
    size : int or (h, w) pair
        Side of the covering square, at most the image's.
    stride : int or (h, w) pair
    fill : float
        Value of the covered pixels (0: the digits' background).
    batch_size : int
        Covered copies scored per call.

    Returns
    -------
    drops : ndarray, shape (Ho, Wo)
        ``Ho = (H - size) // stride + 1``.
    heat : ndarray, shape (H, W)
        Mean drop of the windows that cover each pixel (0 where none does).

    Book: chapter 3, "Feature maps", section "Which inputs excite a filter".
    """
    fn = "occlusion_map"
    image = as_float_array(image, "image", fn)
    check_ndim(image, 3, "image", fn, "(C, H, W)")
    if not callable(score):
        raise TypeError(f"{fn}: score must be a function from images (M, C, H, W) to M scores, "
                        f"got {type(score).__name__}")
    kh, kw = as_pair(size, "size", fn)
    sh, sw = as_pair(stride, "stride", fn)
    c, h, w = image.shape
    if kh > h or kw > w:
        raise ValueError(f"{fn}: size {(kh, kw)} must fit in the image {(h, w)}")
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    batch_size = as_int(batch_size, "batch_size", fn)

    def scores(batch):
        out = np.asarray(score(batch), dtype=np.float64).reshape(-1)
        if out.shape != (len(batch),):
            raise ValueError(f"{fn}: score must return one number per image, "
                             f"got {np.shape(score(batch))} for {len(batch)} images")
        return out

    base = scores(image[None])[0]
    positions = [(a, b_) for a in range(ho) for b_ in range(wo)]
    drops = np.empty(len(positions))
    for start in range(0, len(positions), batch_size):
        chunk = positions[start:start + batch_size]
        covered = np.repeat(image[None], len(chunk), axis=0)
        for m, (a, b_) in enumerate(chunk):
            covered[m, :, a * sh:a * sh + kh, b_ * sw:b_ * sw + kw] = fill
        drops[start:start + len(chunk)] = base - scores(covered)
    drops = drops.reshape(ho, wo)
    ones = np.ones((1, 1, kh, kw))
    pad = (h - ((ho - 1) * sh + kh), w - ((wo - 1) * sw + kw))  # rows/columns no window reaches
    total = conv_transpose2d(drops[None, None], ones, stride=(sh, sw))[0, 0]
    count = conv_transpose2d(np.ones((1, 1, ho, wo)), ones, stride=(sh, sw))[0, 0]
    heat = np.zeros((h, w))
    heat[:h - pad[0], :w - pad[1]] = total / count
    return drops, heat
