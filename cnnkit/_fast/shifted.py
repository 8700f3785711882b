"""A convolution's input gradient by shifted matrix products instead of col2im.

For stride 1 the gradient of a convolution's input is a sum over the
``KH * KW`` kernel taps: tap ``(u, v)`` adds ``dout @ w[:, :, u, v]`` (one
``(F,) -> (C,)`` product per output position) to the input cell
``(u * dh, v * dw)`` further on. col2im forms all ``C * KH * KW`` products
of a position at once and then adds them back with ``KH * KW`` strided
additions whose rows are only ``Wo`` floats long: on the benchmark shapes
those additions cost more than the product itself.

Here the taps accumulate directly in the output of the products:

* ``dout`` is laid out channels-last on the *padded input's* grid,
  ``(N, Hp, Wp, F)``, zero beyond ``Ho x Wo``; flattened to
  ``(N*Hp*Wp, F)``, moving a cell by ``(a, b)`` moves its row by
  ``a * Wp + b``, so every tap's target is one contiguous block of rows
  of a channels-last ``dx_pad`` ``(N*Hp*Wp + slack, C)``;
* each tap is then one BLAS ``gemm`` with ``beta = 1`` that adds into
  that block in place (SciPy's ``sgemm``/``dgemm``; NumPy's ``matmul``
  cannot accumulate, and a product into a temporary followed by an
  addition was measured no faster than col2im);
* the rows that stand for positions outside ``Ho x Wo`` are zeros, so
  what they add, and what spills past a row's end or an image's last row
  (into the slack), is zero;
* one transposing copy turns the cropped ``dx_pad`` into ``(N, C, H, W)``.

The products do ``Hp*Wp / (Ho*Wo)`` times col2im's multiply-adds (1.36x for
a 3x3 kernel on 14x14 without padding) and still win (measured on
one core, load 7-8: 0.68-0.85x col2im's time for the backward input
gradient of the middle benchmark shapes). It only applies to stride 1, float32/64, and
finite kernels (a zero row times an infinite weight would be NaN);
:func:`input_grad` returns ``None`` otherwise and the caller uses col2im.
SciPy is imported on the first use; its BLAS is a library of its own,
whose thread count :mod:`cnnkit._fast.threads` then sets with NumPy's.
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import threads

__all__ = ["applies", "input_grad"]

_blas = None  # scipy.linalg.blas, once imported (False: SciPy missing)


def _gemm(dtype):
    """SciPy's ``sgemm`` or ``dgemm`` for ``dtype``, or ``None`` without SciPy."""
    global _blas
    if _blas is None:
        try:
            from scipy.linalg import blas
        except ImportError:
            _blas = False
        else:
            _blas = blas
            # SciPy brings its own BLAS: look the libraries up again, so that
            # blas_threads sets its thread count too from now on.
            threads._controllers = None
    if not _blas:
        return None
    return _blas.sgemm if dtype == np.float32 else _blas.dgemm


def applies(w, x_shape, geom):
    """Whether :func:`input_grad` handles this convolution: stride 1, float32/64, a finite kernel, N >= 1."""
    return (geom.stride == (1, 1) and w.dtype in (np.float32, np.float64) and x_shape[0] > 0
            and bool(np.isfinite(w).all()))


def input_grad(dout, w, x_shape, geom):
    """``dx`` ``(N, C, H, W)`` of a stride-1 convolution by ``KH * KW`` shifted products, or ``None``.

    ``dout`` is ``(N, F, Ho, Wo)`` and ``w`` ``(F, C, KH, KW)`` of one dtype;
    ``None`` when :func:`applies` says no or SciPy is missing.
    """
    if not applies(w, x_shape, geom):
        return None
    first_use = _blas is None
    gemm = _gemm(w.dtype)
    if gemm is None:
        return None
    n, c, h, width = x_shape
    f, _, kh, kw = w.shape
    (top, bottom), (left, right) = geom.padding
    (dh, dw), (ho, wo) = geom.dilation, geom.out_hw
    hp, wp = h + top + bottom, width + left + right
    rows = n * hp * wp
    dout_wide = np.zeros((n, hp, wp, f), w.dtype)
    dout_wide[:, :ho, :wo] = dout.transpose(0, 2, 3, 1)
    b = dout_wide.reshape(rows, f).T  # (F, rows), Fortran order: BLAS reads it in place
    slack = (kh - 1) * dh * wp + (kw - 1) * dw
    dx_wide = np.zeros((rows + slack, c), w.dtype)
    # The first use imported SciPy inside the caller's thread setting, which
    # does not cover SciPy's BLAS yet: one thread is the safe choice then.
    with threads.blas_threads(1) if first_use else contextlib.nullcontext():
        for u in range(kh):
            for v in range(kw):
                shift = u * dh * wp + v * dw
                taps = np.asfortranarray(w[:, :, u, v].T)  # (C, F)
                # Fortran (C, rows) view of contiguous rows: gemm adds into it in place.
                gemm(1.0, taps, b, 1.0, dx_wide[shift : shift + rows].T, overwrite_c=True)
    dx_pad = dx_wide[:rows].reshape(n, hp, wp, c)
    return np.ascontiguousarray(dx_pad[:, top : top + h, left : left + width].transpose(0, 3, 1, 2))
