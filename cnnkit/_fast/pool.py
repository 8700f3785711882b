"""Max pooling when the windows tile the input (``stride >= size``, no padding).

Then every input cell belongs to at most one window, so the backward pass
can *write* each window cell's share of ``dx`` (no zero-fill then add), and
the first maximum of each window is found with one comparison per window
cell against the pooled output, on strided views of ``x`` (no copies):

* ``mask[t] = (cell[t] == out) and not taken``, ``taken |= mask[t]``: a
  tie keeps the first cell in row-major order, as TensorFlow's MaxPoolGrad;
* ``dx[cell t] = dout * mask[t]``.

The forward maximum is the separable one of :mod:`cnnkit.pool` (rows, then
columns). Used by :func:`cnnkit.max_pool2d_backward` for finite ``dout``,
and by :class:`cnnkit.nn.MaxPool2D`, which keeps the masks of its forward
pass for its backward pass.
"""

from __future__ import annotations

import numpy as np

__all__ = ["tiled", "first_max_masks", "route"]


def tiled(g):
    """Whether the windows of pooling geometry ``g`` never overlap and there is no padding."""
    return not g.padded and g.sh >= g.kh and g.sw >= g.kw


def first_max_masks(x, out, g, masks=None):
    """``(KH*KW, N, C, Ho, Wo)`` bool: which cell of each window is its first maximum (into ``masks``)."""
    cells = g.cells(x)
    if masks is None:
        masks = np.empty((len(cells), *out.shape), bool)
    taken = None
    for t, cell in enumerate(cells):
        np.equal(cell, out, out=masks[t])
        if taken is None:
            taken = masks[0].copy() if len(cells) > 1 else None
            continue
        np.greater(masks[t], taken, out=masks[t])  # and not taken: a later tie gets nothing
        if t < len(cells) - 1:
            taken |= masks[t]
    return masks


def route(dout, masks, x_shape, g, dx=None):
    """``dx`` of shape ``x_shape``: each window's ``dout`` written to its masked cell (into ``dx``)."""
    covered = g.ho * g.sh == g.h and g.wo * g.sw == g.w and g.sh == g.kh and g.sw == g.kw
    if dx is None:
        dx = np.empty(x_shape, dout.dtype) if covered else np.zeros(x_shape, dout.dtype)
    elif not covered:
        dx[...] = 0
    for mask, dcell in zip(masks, g.cells(dx)):
        np.multiply(dout, mask, out=dcell)
    return dx
