"""Layers on images ``(N, C, H, W)``: Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D.

They run cnnkit's own ops (chapters 2, 4 and 5). The arguments are checked
once, when the layer is built for an input shape, not at every batch, and
:class:`Conv2D` keeps the im2col columns of its forward pass for its
backward pass instead of forming them again.
"""

from __future__ import annotations

import numpy as np

from .. import pool as _pool
from .._fast import map_batch, map_items, pool as _fast_pool
from .._fast.parallel import ELEMENT
from .._checks import as_int, as_pair, output_size_axis, resolve_padding2d
from ..conv2d import _Geometry, _batched_layout, _dout_matrix, _im2col, _input_grad
from .base import Layer
from .initializers import check_initializer, initialize
from .threads import get_num_threads

__all__ = ["AvgPool2D", "Conv2D", "GlobalAvgPool2D", "MaxPool2D"]


def _check_image_shape(input_shape, fn):
    if len(input_shape) != 3:
        raise ValueError(
            f"{fn}: input must be an image (C, H, W) per example, got {tuple(input_shape)} "
            f"(after Flatten or Dense there are no images left)"
        )
    return input_shape


def _padding_arg(padding, fn):
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same", "full"):
            raise ValueError(f"{fn}: padding must be an int, an (h, w) pair or 'valid', 'same', 'full', got {padding!r}")
        return padding.lower()
    return padding


def _padding_config(padding):
    """``padding`` as JSON can hold it: a mode, an int or an [h, w] list."""
    return list(padding) if isinstance(padding, (tuple, list)) else padding


class Conv2D(Layer):
    r"""2-D convolution layer on ``(N, C, H, W)`` with ``F`` filters.

    Parameters
    ----------
    filters : int
        Number of filters ``F`` (output channels).
    kernel_size : int or (int, int)
        ``(KH, KW)``. The input channels ``C`` follow from the input.
    stride : int or (int, int), default 1
    padding : int, (int, int) or {"valid", "same", "full"}, default "valid"
        As in :func:`cnnkit.conv2d` (``"same"`` splits as TensorFlow).
    dilation : int or (int, int), default 1
    kernel_initializer : {"glorot_uniform", "he_normal", "he_uniform"}
    name : str, optional

    Notes
    -----
    ``params["w"]`` is ``(F, C, KH, KW)``, ``params["b"]`` is ``(F,)``;
    ``(KH KW C + 1) F`` parameters. The forward pass is :func:`cnnkit.conv2d`
    (im2col and one matrix product) and the backward pass
    :func:`cnnkit.conv2d_backward`, sharing the columns.
    """

    kind = "conv2d"

    def __init__(self, filters, kernel_size, stride=1, padding="valid", dilation=1,
                 kernel_initializer="glorot_uniform", name=None):
        super().__init__(name)
        fn = "Conv2D"
        self.filters = as_int(filters, "filters", fn)
        self.kernel_size = as_pair(kernel_size, "kernel_size", fn)
        self.stride = as_pair(stride, "stride", fn)
        self.dilation = as_pair(dilation, "dilation", fn)
        self.padding = _padding_arg(padding, fn)
        self.kernel_initializer = check_initializer(kernel_initializer, fn)

    def _build(self, input_shape, rng):
        fn = f"Conv2D {self.name!r}" if self.name else "Conv2D"
        c, h, w = _check_image_shape(input_shape, fn)
        (kh, kw), f = self.kernel_size, self.filters
        pads = resolve_padding2d(self.padding, (h, w), (kh, kw), self.stride, self.dilation, fn)
        sizes = f" (input shape {tuple(input_shape)}, kernel_size {self.kernel_size}, stride {self.stride})"
        out_hw = tuple(
            output_size_axis(n, k, s, before, after, d, fn, axis=axis, sizes=sizes)
            for n, k, s, (before, after), d, axis in zip((h, w), (kh, kw), self.stride, pads, self.dilation, "HW")
        )
        self._geom = _Geometry(self.stride, self.dilation, pads, out_hw)
        self.params = {
            "w": initialize(self.kernel_initializer, (f, c, kh, kw), c * kh * kw, f * kh * kw, rng),
            "b": np.zeros(f),
        }
        return (f, *out_hw)

    def _forward(self, x, training, owned=False, bias=True):
        # bias=False: the caller adds it later (cnnkit._fast.fusion, after pooling).
        w, b = self.params["w"], self.params["b"]
        n = x.shape[0]
        f, c, kh, kw = w.shape
        ho, wo = self._geom.out_hw
        w_mat = w.reshape(f, c * kh * kw)
        out = np.empty((n, f, ho, wo), x.dtype)

        def part(rows):
            # One part of the batch (all of it unless cnnkit._fast splits it over free cores).
            xs, outs = x[rows], out[rows]
            batched = _batched_layout(xs.shape[0], c * kh * kw)
            cols = _im2col(xs, (kh, kw), self._geom, batched)
            if batched:
                np.matmul(w_mat, cols, out=outs.reshape(xs.shape[0], f, ho * wo))
                if bias:
                    outs += b[:, None, None]
            else:
                prod = (w_mat @ cols).reshape(f, xs.shape[0], ho, wo).transpose(1, 0, 2, 3)
                if bias:
                    np.add(prod, b[:, None, None], out=outs)
                else:
                    np.copyto(outs, prod)
            return rows, cols, batched

        parts = map_batch(part, n, 2 * n * w.size * ho * wo, get_num_threads())
        self._store(n, parts, x.shape)
        return out

    def _backward(self, dout, need_dx, owned=False):
        parts, x_shape = self._take()
        w = self.params["w"]

        def part(item):
            rows, cols, batched = item
            dout_mat = _dout_matrix(dout[rows], batched)
            if batched:
                dw = np.matmul(dout_mat, cols.transpose(0, 2, 1)).sum(axis=0)
            else:
                dw = (cols @ dout_mat.T).T
            if not need_dx:
                return dw, None
            # The columns are not needed any more: their buffer takes the column gradients.
            shape = (rows.stop - rows.start, *x_shape[1:])
            return dw, _input_grad(dout_mat, w, shape, self._geom, batched,
                                   out=cols if cols.flags.writeable else None, dout=dout[rows])

        grads = map_items(part, parts, get_num_threads())
        dw = grads[0][0] if len(grads) == 1 else sum(g[0] for g in grads)
        self.grads = {"w": dw.reshape(w.shape), "b": dout.sum(axis=(0, 2, 3))}
        if not need_dx:
            return None
        return grads[0][1] if len(grads) == 1 else np.concatenate([g[1] for g in grads])

    def get_config(self):
        padding = _padding_config(self.padding)
        return {"filters": self.filters, "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": padding, "dilation": list(self.dilation),
                "kernel_initializer": self.kernel_initializer, "name": self.name}


class _Pool2D(Layer):
    """Shared by the max and average pooling layers: geometry checked once, at build."""

    def __init__(self, size=2, stride=None, padding=0, name=None):
        super().__init__(name)
        fn = type(self).__name__
        self.size = as_pair(size, "size", fn)
        self.stride = None if stride is None else as_pair(stride, "stride", fn)
        self.padding = _padding_arg(padding, fn)

    def _build(self, input_shape, rng):
        fn = type(self).__name__
        c, h, w = _check_image_shape(input_shape, fn)
        _, g = _pool._pool_geometry(np.empty((0, c, h, w), np.float32), self.size, self.stride, self.padding, fn)
        self._geom = g
        # Windows that tile the input exactly: the fast reshape path applies.
        self._tiles = not g.padded and g.sh == g.kh and g.sw == g.kw
        return (c, g.ho, g.wo)

    def get_config(self):
        padding = _padding_config(self.padding)
        return {"size": list(self.size), "stride": None if self.stride is None else list(self.stride),
                "padding": padding, "name": self.name}

    def _args(self):
        return self.size, self.stride, self.padding


class MaxPool2D(_Pool2D):
    """Max pooling; ``size``, ``stride`` (default: ``size``) and ``padding`` as in :func:`cnnkit.max_pool2d`.

    The gradient goes to each window's first maximum in row-major order (as
    TensorFlow), e.g. after a ReLU a window of zeros passes its gradient to
    its top-left cell only.
    """

    kind = "max_pooling2d"

    def _forward(self, x, training, owned=False):
        if not self._tiles:
            self._store(x.shape[0], x, None)
            return _pool.max_pool2d(x, *self._args())
        # Windows that tile the input: keep each window's first-maximum mask, so that the
        # backward pass is KH*KW masked products (cnnkit._fast.pool), split over free cores.
        g = self._geom
        best = np.empty((x.shape[0], g.c, g.ho, g.wo), x.dtype)
        masks = np.empty((g.kh * g.kw, *best.shape), bool)

        def part(rows):
            _fast_pool.max_and_masks(x[rows], g, best[rows], masks[:, rows])

        map_batch(part, x.shape[0], 3 * x.size * ELEMENT, get_num_threads(), blas=False)
        self._store(x.shape[0], x.shape, masks)
        return best

    def _backward(self, dout, need_dx, owned=False):
        x, masks = self._take()
        if masks is None:
            return _pool.max_pool2d_backward(dout, x, *self._args())
        dx = np.empty(x, dout.dtype)

        def part(rows):
            _fast_pool.route(dout[rows], masks[:, rows], None, self._geom, dx[rows])

        map_batch(part, x[0], 2 * dout.size * ELEMENT, get_num_threads(), blas=False)
        return dx


class AvgPool2D(_Pool2D):
    """Average pooling, as :func:`cnnkit.avg_pool2d` (padded cells left out of the means)."""

    kind = "average_pooling2d"

    def _forward(self, x, training, owned=False):
        self._store(x.shape[0], x)
        return _pool.avg_pool2d(x, *self._args())

    def _backward(self, dout, need_dx, owned=False):
        (x,) = self._take()
        return _pool.avg_pool2d_backward(dout, x, *self._args())


class GlobalAvgPool2D(Layer):
    """``(N, C, H, W)`` to ``(N, C)``: each channel's mean; backward spreads ``dout / (H W)`` evenly."""

    kind = "global_average_pooling2d"

    def _build(self, input_shape, rng):
        c, _, _ = _check_image_shape(input_shape, "GlobalAvgPool2D")
        return (c,)

    def _forward(self, x, training, owned=False):
        self._store(x.shape[0], x.shape)
        return x.mean(axis=(2, 3))

    def _backward(self, dout, need_dx, owned=False):
        (shape,) = self._take()
        n, c, h, w = shape
        return np.broadcast_to((dout / (h * w))[:, :, None, None], shape).copy()
