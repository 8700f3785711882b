"""Softmax cross-entropy on logits with integer labels (book: chapter 6, "Opening the box").

The one loss :class:`cnnkit.nn.Sequential` trains with, named as in Keras:
``loss="sparse_categorical_crossentropy"`` (always from logits).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOSSES", "check_labels", "softmax", "softmax_cross_entropy"]

LOSSES = ("sparse_categorical_crossentropy",)


def check_labels(y, n, classes, fn, name="y"):
    """``y`` as an int64 ``(N,)`` array of labels in ``[0, classes)``; clear errors otherwise."""
    y = np.asarray(y)
    if y.dtype.kind == "f" and y.size and np.all(np.mod(y, 1) == 0):
        y = y.astype(np.int64)  # 3.0 is a label; 3.5 is not
    if y.dtype.kind not in "iu":
        raise TypeError(f"{fn}: {name} must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        hint = " (one-hot labels? pass y.argmax(axis=1))" if y.ndim == 2 else ""
        raise ValueError(f"{fn}: {name} must be 1-D (N,) integer labels{hint}, got shape {tuple(y.shape)}")
    if y.shape[0] != n:
        raise ValueError(f"{fn}: {name} must have one label per example, N = {n}, got {y.shape[0]} labels")
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(
            f"{fn}: {name} must hold labels in [0, {classes}) for {classes} logits, "
            f"got labels from {int(y.min())} to {int(y.max())}"
        )
    return y.astype(np.int64, copy=False)


def softmax(logits):
    r"""Row-wise softmax ``exp(z - max z) / sum exp(z - max z)`` of ``(N, K)`` logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def softmax_cross_entropy(logits, y):
    r"""Mean softmax cross-entropy of ``(N, K)`` logits and its gradient.

    Parameters
    ----------
    logits : ndarray, shape (N, K)
        Raw scores (no softmax applied).
    y : ndarray of int, shape (N,)
        True classes in ``[0, K)``.

    Returns
    -------
    loss : float
        :math:`L = -\frac1N \sum_n \log \operatorname{softmax}(z_n)_{y_n}`.
    dlogits : ndarray, shape (N, K)
        :math:`\partial L / \partial z = (P - Y) / N`, with :math:`P` the softmax
        of the logits and :math:`Y` the one-hot labels, in the logits' dtype.

    Notes
    -----
    Stable for any logits: the row maximum is subtracted first
    (:math:`\log \sum_k e^{z_k} = m + \log \sum_k e^{z_k - m}`), so no
    ``exp`` overflows, and the log-probability is formed as ``z - m - log(sum)``
    rather than as the log of a probability that may round to 0.
    """
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    log_p_true = shifted[rows, y] - np.log(total[:, 0])
    loss = float(-log_p_true.mean()) if n else 0.0
    dlogits = exp / total
    dlogits[rows, y] -= 1
    dlogits /= max(n, 1)
    return loss, dlogits
