"""The layer protocol of :mod:`cnnkit.nn` and the checks every layer shares.

A layer is built once for the shape of one example (``(C, H, W)`` for
images, ``(D,)`` for vectors) and then called on batches:

* ``forward(x, training=False)`` computes the output and keeps in a cache
  what the backward pass needs (the input, a mask, the im2col columns);
* ``backward(dout)`` takes ``dL/d(output)``, fills ``grads`` (same keys as
  ``params``) and returns ``dL/d(input)``. It consumes the cache: each
  backward pass needs its own forward pass, so the cache of one batch can
  never be used for the next.

Parameters are float32 unless the data are float64: a layer that receives
float64 input casts its parameters to float64 once (values unchanged), so
gradient checks run in double precision.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array

__all__ = ["Layer", "as_batch"]


def as_batch(x, fn, name="x"):
    """``x`` as a floating ndarray: float32 and float64 kept, other data float32; ``TypeError`` otherwise.

    cnnkit's one check of an array argument (:func:`cnnkit._checks.as_float_array`)
    with the layers' dtype rule: their parameters are float32 unless the data are float64.
    """
    return as_float_array(x, name, fn, integer_dtype=np.float32, float_dtypes=(np.float32, np.float64))


class Layer:
    """Base class of every layer.

    Attributes
    ----------
    name : str
        Unique within a model (set by :class:`~cnnkit.nn.Sequential`).
    params, grads : dict
        Trainable arrays and their gradients after :meth:`backward`.
    input_shape, output_shape : tuple of int
        Shape of one example in and out (no batch axis), known once built.
    """

    kind = "layer"  # Keras-style base name, e.g. "conv2d"

    def __init__(self, name=None):
        self.name = name
        self.params = {}
        self.grads = {}
        self.input_shape = None
        self.output_shape = None
        self.dtype = np.dtype(np.float32)
        self._cache = None

    # -- building ---------------------------------------------------------------
    @property
    def built(self):
        return self.input_shape is not None

    def build(self, input_shape, rng=None, dtype=np.float32):
        """Create the parameters for examples of ``input_shape``; returns the output shape."""
        self.input_shape = tuple(int(n) for n in input_shape)
        self.dtype = np.dtype(dtype)
        self.output_shape = tuple(self._build(self.input_shape, rng if rng is not None else np.random.default_rng(0)))
        self.astype(self.dtype)
        return self.output_shape

    def _build(self, input_shape, rng):
        return input_shape

    def astype(self, dtype):
        """Cast the parameters (and drop gradients of the old dtype) to ``dtype``."""
        self.dtype = np.dtype(dtype)
        for key, value in self.params.items():
            self.params[key] = np.ascontiguousarray(value, dtype=self.dtype)
        self.grads = {}
        return self

    def count_params(self):
        return int(sum(p.size for p in self.params.values()))

    def get_config(self):
        """Constructor arguments, for saving; ``type(layer)(**config)`` rebuilds it."""
        return {"name": self.name}

    # -- forward and backward -----------------------------------------------------
    def _check_input(self, x):
        fn = f"{type(self).__name__}.forward"
        x = as_batch(x, fn)
        if not self.built:
            self.build(x.shape[1:], dtype=x.dtype)
        expected = (None, *self.input_shape)
        if x.ndim != len(expected) or tuple(x.shape[1:]) != self.input_shape:
            layout = "(N, C, H, W)" if len(self.input_shape) == 3 else "(N, D)"
            raise ValueError(
                f"{fn}: x must have shape {expected} {layout} for layer {self.name!r}, got shape {tuple(x.shape)}"
            )
        dtype = np.result_type(x.dtype, self.dtype)
        if dtype != self.dtype:
            self.astype(dtype)
        return x.astype(dtype, copy=False)

    def forward(self, x, training=False):
        """Output of the layer for a batch ``x``; caches what :meth:`backward` needs."""
        x = self._check_input(x)
        return self._forward(x, training)

    def backward(self, dout):
        """``dL/d(input)`` from ``dL/d(output)``; also fills ``grads``."""
        return self._backward(self._check_dout(dout), need_dx=True)

    def _check_dout(self, dout):
        fn = f"{type(self).__name__}.backward"
        if self._cache is None:
            raise RuntimeError(
                f"{fn}: no forward pass to differentiate for layer {self.name!r}: call forward(x) before each "
                f"backward(dout) (the cache is used once)"
            )
        dout = as_batch(dout, fn, "dout")
        expected = (self._cache_batch, *self.output_shape)
        if tuple(dout.shape) != expected:
            raise ValueError(f"{fn}: dout must have the forward output's shape {expected}, got {tuple(dout.shape)}")
        return dout.astype(self.dtype, copy=False)

    def _store(self, batch, *cache):
        self._cache_batch = batch
        self._cache = cache

    def _take(self):
        cache, self._cache = self._cache, None
        return cache

    def __repr__(self):
        config = {k: v for k, v in self.get_config().items() if k != "name"}
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        return f"{type(self).__name__}({args})"
