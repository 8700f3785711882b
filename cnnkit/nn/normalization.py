"""BatchNormalization: cnnkit's batch normalisation op as a layer (book: chapter 6).

See :mod:`cnnkit.nn.base` for the layer protocol. The moving statistics are
the layer's ``state``: saved with the model and carried to Keras, but not
trained (the optimizer sees ``params`` only).
"""

from __future__ import annotations

import numpy as np

from .._checks import as_real
from ..batchnorm import batchnorm_backward, batchnorm_forward
from .base import Layer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    r"""Batch normalisation per feature of ``(N, D)`` vectors, per channel of ``(N, C, H, W)`` maps.

    ``out = gamma * (x - mu) / sqrt(var + epsilon) + beta``: in training
    (``fit``, ``train_on_batch``, ``forward(x, training=True)``) with the
    batch's mean and biased variance, which also update the moving ones,
    ``moving = momentum * moving + (1 - momentum) * batch``; at inference
    (``evaluate``, ``predict``) with the moving statistics. The same as
    ``keras.layers.BatchNormalization(momentum=..., epsilon=...)`` on NHWC
    data (:func:`cnnkit.nn.to_keras` carries all four arrays over).

    Parameters
    ----------
    momentum : float in [0, 1], default 0.99
        Weight of the old moving value (Keras's convention and default).
    epsilon : float > 0, default 1e-3
        Added to the variance inside the square root.
    name : str, optional

    Notes
    -----
    ``params["gamma"]`` (ones) and ``params["beta"]`` (zeros) are trained;
    ``state["moving_mean"]`` (zeros) and ``state["moving_variance"]`` (ones)
    are not. ``count_params()`` counts all four, ``4 F`` for ``F``
    features, as Keras does. The computation is :func:`cnnkit.batchnorm_forward`
    and :func:`cnnkit.batchnorm_backward`.
    """

    kind = "batch_normalization"

    def __init__(self, momentum=0.99, epsilon=1e-3, name=None):
        super().__init__(name)
        fn = "BatchNormalization"
        self.momentum = as_real(momentum, "momentum", fn)
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"{fn}: momentum must be in [0, 1], got {momentum!r}")
        self.epsilon = as_real(epsilon, "epsilon", fn)
        if not (np.isfinite(self.epsilon) and self.epsilon > 0):
            raise ValueError(f"{fn}: epsilon must be positive and finite, got {epsilon!r}")
        self.state = {}

    def _build(self, input_shape, rng):
        if len(input_shape) not in (1, 3):
            raise ValueError(f"BatchNormalization: input must be (D,) or (C, H, W) per example, got {input_shape}")
        features = input_shape[0]
        self.params = {"gamma": np.ones(features), "beta": np.zeros(features)}
        self.state = {"moving_mean": np.zeros(features), "moving_variance": np.ones(features)}
        return input_shape

    def astype(self, dtype):
        super().astype(dtype)
        for key, value in self.state.items():
            self.state[key] = np.ascontiguousarray(value, dtype=self.dtype)
        return self

    def count_params(self):
        """Every number of the layer, the moving statistics included (``4 F``, as Keras counts)."""
        return super().count_params() + int(sum(v.size for v in self.state.values()))

    def _forward(self, x, training, owned=False):
        out, cache, mean, var = batchnorm_forward(
            x, self.params["gamma"], self.params["beta"], self.state["moving_mean"], self.state["moving_variance"],
            bool(training), momentum=self.momentum, eps=self.epsilon)
        if training:
            self.state["moving_mean"], self.state["moving_variance"] = mean, var
        self._store(x.shape[0], cache)
        return out

    def _backward(self, dout, need_dx, owned=False):
        (cache,) = self._take()
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        self.grads = {"gamma": dgamma, "beta": dbeta}
        return dx if need_dx else None

    def get_config(self):
        return {"momentum": self.momentum, "epsilon": self.epsilon, "name": self.name}
