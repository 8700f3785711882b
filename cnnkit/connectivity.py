"""Which input each output of a layer sees: a convolution's connectivity as a matrix.

Chapter 1 draws a dense and a convolutional layer side by side; the
convolutional one has an edge only where this matrix says an input and an
output are linked, coloured by the kernel weight that links them.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_int
from .conv1d import conv1d

__all__ = ["conv1d_taps"]


def conv1d_taps(n, kernel_size):
    """Which kernel weight links input ``j`` to output ``i`` of a valid 1-D convolution.

    Parameters
    ----------
    n : int
        Length of the input signal (one channel).
    kernel_size : int
        Length ``K`` of the kernel, at most ``n``.

    Returns
    -------
    taps : ndarray of int, shape (n - K + 1, n)
        ``taps[i, j] = j - i`` when ``0 <= j - i < K`` (output ``i`` reads
        input ``j`` through kernel weight ``j - i``), else ``-1``.

    Notes
    -----
    Computed from :func:`cnnkit.conv1d` itself, not from the formula: the
    convolution of each unit vector with the kernel ``[1, 10, 100, ...]``
    shows in each output which tap touched which input.
    """
    n = as_int(n, "n", "conv1d_taps")
    kernel_size = as_int(kernel_size, "kernel_size", "conv1d_taps")
    if kernel_size > n:
        raise ValueError(f"conv1d_taps: kernel_size must be at most n = {n}, got {kernel_size}")
    w = 10.0 ** np.arange(kernel_size)
    basis = np.eye(n)[:, None, :]  # n signals of length n, one channel
    responses = conv1d(basis, w[None, None])[:, 0, :].T  # (outputs, inputs)
    taps = np.full(responses.shape, -1)
    nonzero = responses != 0
    taps[nonzero] = np.round(np.log10(responses[nonzero])).astype(int)
    return taps
