"""Batch normalisation and inverted dropout, forward and backward.

Book: chapter 6, "Building and compiling a Sequential model", section "Batch normalisation and dropout in NumPy".

Conventions are Keras's (``keras.layers.BatchNormalization``, ``Dropout``):

* the statistics are per feature of ``x`` of shape ``(N, D)``, or per
  channel of ``x`` of shape ``(N, C, H, W)`` (over the batch and every
  position, as Keras's layer on ``(N, H, W, C)`` data);
* the variance is the biased one (divided by the count, not count - 1),
  in the normalisation and in the running variance;
* ``momentum`` is the weight of the old running value:
  ``running = momentum * running + (1 - momentum) * batch``, with Keras's
  defaults ``momentum=0.99`` and ``eps=1e-3`` (``epsilon``), eps inside the
  square root;
* dropout is *inverted*: in training the kept values are scaled by
  ``1 / (1 - rate)``, so that inference is the identity.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import as_float_array, as_real, check_ndim, check_shape, result_dtype

__all__ = ["batchnorm_backward", "batchnorm_forward", "dropout_backward", "dropout_forward"]


def _axes(x, fn):
    """The axes the statistics run over, and the shape that broadcasts per-feature arrays."""
    if x.ndim == 2:
        return (0,), (1, x.shape[1])
    if x.ndim == 4:
        return (0, 2, 3), (1, x.shape[1], 1, 1)
    raise ValueError(f"{fn}: x must be 2-D (N, D) or 4-D (N, C, H, W), got shape {tuple(x.shape)}")


def _check_training(training, fn):
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"{fn}: training must be True or False, got {training!r}")
    return bool(training)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, eps=1e-3):
    r"""Batch normalisation of ``x``: normalise each feature, then scale by ``gamma`` and shift by ``beta``.

    Parameters
    ----------
    x : array_like, shape (N, D) or (N, C, H, W)
        A batch of vectors, or of images (normalised per channel ``C``, over
        the batch and every position).
    gamma, beta : array_like, shape (D,) or (C,)
        Scale and shift of each feature.
    running_mean, running_var : array_like, shape (D,) or (C,)
        The running statistics before this call (Keras starts them at 0
        and 1). Used for the output at inference; updated in training.
    training : bool
        ``True``: normalise with the batch's statistics and update the
        running ones. ``False`` (inference): normalise with the running
        statistics, which are returned unchanged.
    momentum : float in [0, 1], default 0.99
        Weight of the old running value (Keras's convention).
    eps : float > 0, default 1e-3
        Added to the variance inside the square root.

    Returns
    -------
    out : ndarray, shaped like ``x``
        ``gamma * (x - mu) / sqrt(var + eps) + beta`` with ``mu``, ``var``
        the batch's mean and (biased) variance in training, the running
        ones at inference.
    cache : tuple
        What :func:`batchnorm_backward` needs: ``(x_hat, gamma, inv_std,
        training)``, ``x_hat = (x - mu) / sqrt(var + eps)``.
    running_mean, running_var : ndarray, shape (D,) or (C,)
        New arrays. In training ``momentum * running + (1 - momentum) *
        batch`` for the mean and the biased variance; at inference copies
        of the inputs.

    Raises
    ------
    TypeError
        If an array is not numeric, ``training`` is not a bool, or
        ``momentum``/``eps`` is not a real number.
    ValueError
        If ``x`` is not 2-D or 4-D, a per-feature array is not ``(D,)`` /
        ``(C,)``, ``momentum`` is outside [0, 1] or ``eps`` is not positive,
        or ``x`` holds no value per feature (``N * H * W == 0``).

    Notes
    -----
    With ``m`` values per feature (``N``, or ``N H W``):
    ``mu = sum x / m``, ``var = sum (x - mu)^2 / m``. A training batch with
    one value per feature has variance 0: its output is ``beta`` (as in
    Keras), whatever ``x``. The output is the same
    as ``keras.layers.BatchNormalization()(x, training=...)`` on the NHWC
    layout, and the running statistics are its ``moving_mean`` and
    ``moving_variance`` after the call.

    Book: chapter 6, "Building and compiling a Sequential model", section "Batch normalisation and dropout in NumPy".

    Examples
    --------
    >>> x = np.array([[1.0], [3.0]])
    >>> out, cache, mean, var = batchnorm_forward(x, np.ones(1), np.zeros(1), np.zeros(1),
    ...                                           np.ones(1), training=True, eps=0.0)
    >>> out.ravel(), mean, var
    (array([-1.,  1.]), array([0.02]), array([1.]))
    """
    fn = "batchnorm_forward"
    x = as_float_array(x, "x", fn)
    axes, per_feature = _axes(x, fn)
    features = x.shape[1]
    arrays = {}
    for name, value in [("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                        ("running_var", running_var)]:
        arr = as_float_array(value, name, fn)
        check_shape(arr, (features,), name, fn, f"one value per feature of x of shape {tuple(x.shape)}")
        arrays[name] = arr
    training = _check_training(training, fn)
    momentum = as_real(momentum, "momentum", fn)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{fn}: momentum must be in [0, 1], got {momentum!r}")
    eps = as_real(eps, "eps", fn)
    if not (np.isfinite(eps) and eps >= 0):
        raise ValueError(f"{fn}: eps must be >= 0 and finite, got {eps!r}")
    dtype = result_dtype(x, *arrays.values())
    x = x.astype(dtype, copy=False)
    gamma, beta, old_mean, old_var = (arrays[k].astype(dtype, copy=False) for k in arrays)
    if x.size == 0:
        raise ValueError(f"{fn}: x must hold at least one value per feature, got shape {tuple(x.shape)}")
    if training:
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(per_feature)) ** 2).mean(axis=axes)
        new_mean = momentum * old_mean + (1.0 - momentum) * mean
        new_var = momentum * old_var + (1.0 - momentum) * var
    else:
        mean, var = old_mean, old_var
        new_mean, new_var = old_mean.copy(), old_var.copy()
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean.reshape(per_feature)) * inv_std.reshape(per_feature)
    out = gamma.reshape(per_feature) * x_hat + beta.reshape(per_feature)
    return out, (x_hat, gamma, inv_std, training), new_mean.astype(dtype), new_var.astype(dtype)


def batchnorm_backward(dout, cache):
    r"""Gradients of :func:`batchnorm_forward` from ``dout`` and the forward pass's ``cache``.

    Parameters
    ----------
    dout : array_like, shape (N, D) or (N, C, H, W)
        Upstream gradient, shaped like the forward output.
    cache : tuple
        The ``cache`` returned by :func:`batchnorm_forward` for this batch.

    Returns
    -------
    dx : ndarray, shaped like ``dout``
    dgamma, dbeta : ndarray, shape (D,) or (C,)
        ``dgamma = sum dout * x_hat``, ``dbeta = sum dout`` over the batch
        (and every position).

    Raises
    ------
    TypeError
        If ``dout`` is not numeric or ``cache`` is not a forward cache.
    ValueError
        If ``dout`` is not shaped like the forward output.

    Notes
    -----
    In training the batch's mean and variance depend on every ``x``, and the
    gradient flows through them too. With ``m`` values per feature and
    ``g = gamma * dout``:

    ``dx = inv_std / m * (m g - sum g - x_hat sum (g x_hat))``

    (sums over the batch and positions). At inference the statistics are
    constants and ``dx = gamma * inv_std * dout``.

    Book: chapter 6, "Building and compiling a Sequential model", section "Batch normalisation and dropout in NumPy".

    Examples
    --------
    >>> x = np.array([[1.0], [3.0]])
    >>> out, cache, _, _ = batchnorm_forward(x, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1),
    ...                                      training=True, eps=0.0)
    >>> dx, dgamma, dbeta = batchnorm_backward(np.array([[1.0], [1.0]]), cache)
    >>> dx.ravel(), dgamma, dbeta
    (array([0., 0.]), array([0.]), array([2.]))
    """
    fn = "batchnorm_backward"
    if not isinstance(cache, tuple) or len(cache) != 4:
        raise TypeError(f"{fn}: cache must be the tuple batchnorm_forward returned, got {type(cache).__name__}")
    x_hat, gamma, inv_std, training = cache
    dout = as_float_array(dout, "dout", fn)
    check_ndim(dout, x_hat.ndim, "dout", fn, "shaped like the forward output")
    check_shape(dout, x_hat.shape, "dout", fn, "the forward output's shape")
    axes, per_feature = _axes(x_hat, fn)
    dtype = result_dtype(dout, x_hat)
    dout = dout.astype(dtype, copy=False)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    g = dout * gamma.reshape(per_feature)
    if training:
        m = x_hat.size // x_hat.shape[1]
        dx = (inv_std.reshape(per_feature) / m) * (
            m * g - g.sum(axis=axes).reshape(per_feature)
            - x_hat * (g * x_hat).sum(axis=axes).reshape(per_feature))
    else:
        dx = g * inv_std.reshape(per_feature)
    return dx, dgamma, dbeta


def dropout_forward(x, rate, training, seed=None):
    r"""Inverted dropout: in training, zero each value with probability ``rate``, scale the rest by ``1/(1-rate)``.

    Parameters
    ----------
    x : array_like, any shape
    rate : float in [0, 1)
        Probability of dropping a value.
    training : bool
        ``False`` (inference): the identity, no mask.
    seed : int or numpy.random.Generator, optional
        The mask is ``np.random.default_rng(seed).random(x.shape) >= rate``
        (float64 draws): the same seed drops the same values.

    Returns
    -------
    out : ndarray, shaped like ``x``
        ``x * mask / (1 - rate)`` in training, a copy of ``x`` at inference.
    cache : ndarray or None
        The scaled mask ``mask / (1 - rate)`` (``None`` at inference), for
        :func:`dropout_backward`.

    Raises
    ------
    TypeError
        If ``x`` is not numeric, ``rate`` is not a real number or
        ``training`` is not a bool.
    ValueError
        If ``rate`` is not in [0, 1).

    Notes
    -----
    Each value's expectation is unchanged: ``E[out] = (1 - rate) x / (1 - rate) = x``,
    so the layer after dropout sees inputs of the same size in training and
    at inference. ``keras.layers.Dropout`` does the same (with its own
    random generator).

    Book: chapter 6, "Building and compiling a Sequential model", section "Batch normalisation and dropout in NumPy".

    Examples
    --------
    >>> out, mask = dropout_forward(np.ones(6), 0.5, training=True, seed=0)
    >>> out
    array([2., 0., 0., 0., 2., 2.])
    """
    fn = "dropout_forward"
    x = as_float_array(x, "x", fn)
    rate = as_real(rate, "rate", fn)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{fn}: rate must be in [0, 1), got {rate!r}")
    training = _check_training(training, fn)
    if seed is not None and not isinstance(seed, (numbers.Integral, np.random.Generator)):
        raise TypeError(f"{fn}: seed must be an int, a numpy.random.Generator or None, got {seed!r}")
    if not training:
        return x.copy(), None
    keep = np.random.default_rng(seed).random(x.shape) >= rate
    mask = keep.astype(x.dtype) / x.dtype.type(1.0 - rate)
    return x * mask, mask


def dropout_backward(dout, cache):
    r"""``dx = dout * mask / (1 - rate)``: the gradient through the values the forward pass kept.

    Parameters
    ----------
    dout : array_like, shaped like the forward output
    cache : ndarray or None
        The ``cache`` of :func:`dropout_forward` for this batch (``None``:
        inference, the identity).

    Returns
    -------
    dx : ndarray, shaped like ``dout``

    Raises
    ------
    TypeError
        If ``dout`` is not numeric.
    ValueError
        If ``dout`` is not shaped like the cached mask.

    Book: chapter 6, "Building and compiling a Sequential model", section "Batch normalisation and dropout in NumPy".

    Examples
    --------
    >>> out, mask = dropout_forward(np.ones(6), 0.5, training=True, seed=0)
    >>> dropout_backward(np.arange(6.0), mask)
    array([ 0.,  0.,  0.,  0.,  8., 10.])
    """
    fn = "dropout_backward"
    dout = as_float_array(dout, "dout", fn)
    if cache is None:
        return dout.copy()
    mask = as_float_array(cache, "cache", fn)
    check_shape(dout, mask.shape, "dout", fn, "the shape of the forward pass's mask")
    return dout * mask
