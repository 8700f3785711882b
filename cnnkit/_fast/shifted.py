"""A convolution's input gradient by shifted matrix products instead of col2im.

With stride 1 the gradient of a convolution's input is a sum over the
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

A stride ``(sh, sw)`` splits the padded grid into ``sh * sw`` phases, the
cells ``(a*sh + pu, b*sw + pv)``: tap ``(u, v)`` only reaches phase
``(u*dh mod sh, v*dw mod sw)``, shifted by ``(u*dh // sh, v*dw // sw)``
cells of that phase, so each phase is a stride-1 problem of its own on a
``ceil(Hp/sh) x ceil(Wp/sw)`` grid, and one copy interleaves the phases.

The products do ``ceil(Hp/sh) * ceil(Wp/sw) / (Ho*Wo)`` times col2im's
multiply-adds (1.36x for a 3x3 kernel on 14x14 without padding) and still win (measured on
one core, load 7-8: 0.68-0.85x col2im's time for the backward input
gradient of the benchmark shapes, 0.79x with stride 2). It applies to float32/64 and
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
    """Whether :func:`input_grad` handles this convolution: float32/64, a finite kernel, N >= 1."""
    return w.dtype in (np.float32, np.float64) and x_shape[0] > 0 and bool(np.isfinite(w).all())


def input_grad(dout, w, x_shape, geom):
    """``dx`` ``(N, C, H, W)`` of a convolution by ``KH * KW`` shifted products, or ``None``.

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
    (sh, sw), (dh, dw), (ho, wo) = geom.stride, geom.dilation, geom.out_hw
    # The padded input's grid, cut into its sh*sw phases of (ha, wa) cells each.
    ha, wa = -(-(h + top + bottom) // sh), -(-(width + left + right) // sw)
    rows = n * ha * wa
    dout_wide = np.zeros((n, ha, wa, f), w.dtype)
    dout_wide[:, :ho, :wo] = dout.transpose(0, 2, 3, 1)
    b = dout_wide.reshape(rows, f).T  # (F, rows), Fortran order: BLAS reads it in place
    slack = ((kh - 1) * dh // sh) * wa + (kw - 1) * dw // sw
    phases = np.zeros((sh, sw, rows + slack, c), w.dtype)
    # The first use imported SciPy inside the caller's thread setting, which
    # does not cover SciPy's BLAS yet: one thread is the safe choice then.
    with threads.blas_threads(1) if first_use else contextlib.nullcontext():
        for u in range(kh):
            for v in range(kw):
                # Tap (u, v) reaches the cell (i*sh + u*dh, j*sw + v*dw): phase (pu, pv), shifted (au, bv).
                (au, pu), (bv, pv) = divmod(u * dh, sh), divmod(v * dw, sw)
                shift = au * wa + bv
                taps = np.asfortranarray(w[:, :, u, v].T)  # (C, F)
                # Fortran (C, rows) view of contiguous rows: gemm adds into it in place.
                gemm(1.0, taps, b, 1.0, phases[pu, pv, shift : shift + rows].T, overwrite_c=True)
    # Interleave the phases back into the padded grid (one copy), then cut the padding off.
    dx_pad = np.empty((n, c, ha * sh, wa * sw), w.dtype)
    dx_pad.reshape(n, c, ha, sh, wa, sw)[...] = (
        phases[:, :, :rows].reshape(sh, sw, n, ha, wa, c).transpose(2, 5, 3, 0, 4, 1))
    if (top, left, ha * sh, wa * sw) == (0, 0, h, width):
        return dx_pad
    return np.ascontiguousarray(dx_pad[:, :, top : top + h, left : left + width])
