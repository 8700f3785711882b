"""Layers without a spatial layout: Input, Dense, Flatten, ReLU, Dropout (book: chapter 6).

Each caches what its backward pass needs; see :mod:`cnnkit.nn.base` for the protocol.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._checks import as_int
from .._fast import map_batch
from .._fast.parallel import ELEMENT
from .threads import get_num_threads

from .base import Layer
from .initializers import check_initializer, initialize

__all__ = ["Dense", "Dropout", "Flatten", "Input", "ReLU"]


class Input:
    """The shape of one example, without the batch axis: ``(C, H, W)`` for images, ``(D,)`` for vectors.

    Not a layer (it has no forward pass): it tells :class:`~cnnkit.nn.Sequential`
    the input shape, as ``keras.Input`` does, but in cnnkit's NCHW layout.
    """

    def __init__(self, shape):
        if isinstance(shape, numbers.Integral):
            shape = (shape,)
        if not isinstance(shape, (tuple, list)) or len(shape) not in (1, 3):
            raise ValueError(
                f"Input: shape must be (C, H, W) for images or (D,) for vectors, without the batch axis, got {shape!r}"
            )
        self.shape = tuple(as_int(n, "shape", "Input") for n in shape)

    def __repr__(self):
        return f"Input({self.shape})"


class Dense(Layer):
    r"""Fully connected layer: ``out = x @ w + b``.

    Parameters
    ----------
    units : int
        Number of outputs ``U``.
    kernel_initializer : {"glorot_uniform", "he_normal", "he_uniform"}
    name : str, optional

    Notes
    -----
    ``x`` is ``(N, D)``; ``params["w"]`` is ``(D, U)`` (Keras's layout) and
    ``params["b"]`` is ``(U,)``. Backward: ``dw = x^T dout``,
    ``db = sum_n dout[n]``, ``dx = dout w^T``. Parameters: ``(D + 1) U``.
    """

    kind = "dense"

    def __init__(self, units, kernel_initializer="glorot_uniform", name=None):
        super().__init__(name)
        self.units = as_int(units, "units", "Dense")
        self.kernel_initializer = check_initializer(kernel_initializer, "Dense")

    def _build(self, input_shape, rng):
        if len(input_shape) != 1:
            raise ValueError(
                f"Dense: input must be a vector (D,) per example, got {input_shape} (put nn.Flatten() or "
                f"nn.GlobalAvgPool2D() before it)"
            )
        d = input_shape[0]
        self.params = {
            "w": initialize(self.kernel_initializer, (d, self.units), d, self.units, rng),
            "b": np.zeros(self.units),
        }
        return (self.units,)

    def _forward(self, x, training, owned=False):
        self._store(x.shape[0], x)
        out = x @ self.params["w"]
        out += self.params["b"]
        return out

    def _backward(self, dout, need_dx, owned=False):
        (x,) = self._take()
        self.grads = {"w": x.T @ dout, "b": dout.sum(axis=0)}
        return dout @ self.params["w"].T if need_dx else None

    def get_config(self):
        return {"units": self.units, "kernel_initializer": self.kernel_initializer, "name": self.name}


class Flatten(Layer):
    """``(N, C, H, W)`` to ``(N, C*H*W)`` in C order (channel first, unlike Keras's ``(H, W, C)``)."""

    kind = "flatten"

    def _build(self, input_shape, rng):
        return (int(np.prod(input_shape)),)

    def _forward(self, x, training, owned=False):
        self._store(x.shape[0], x.shape)
        return x.reshape(x.shape[0], -1)

    def _backward(self, dout, need_dx, owned=False):
        (shape,) = self._take()
        return dout.reshape(shape)


class ReLU(Layer):
    r"""``out = max(x, 0)``; backward ``dx = dout * [x > 0]`` (the mask of the *input*)."""

    kind = "re_lu"

    def _forward(self, x, training, owned=False):
        mask = np.empty(x.shape, bool)
        # Inside a model the input is the previous layer's fresh output: overwrite it.
        out = x if owned else np.empty_like(x)

        def part(rows):  # the whole batch, unless cnnkit._fast splits it over free cores
            np.greater(x[rows], 0, out=mask[rows])
            np.maximum(x[rows], 0, out=out[rows])

        map_batch(part, x.shape[0], 2 * x.size * ELEMENT, get_num_threads(), blas=False)
        self._store(x.shape[0], mask)
        return out

    def _backward(self, dout, need_dx, owned=False):
        (mask,) = self._take()
        dx = dout if owned else np.empty_like(dout)
        map_batch(lambda rows: np.multiply(dout[rows], mask[rows], out=dx[rows]), dout.shape[0],
                  dout.size * ELEMENT, get_num_threads(), blas=False)
        return dx


class Dropout(Layer):
    r"""Inverted dropout: in training, each value is zeroed with probability ``rate`` and the rest scaled by ``1/(1-rate)``.

    At inference (``training=False``) it is the identity, so nothing needs
    rescaling after training. The mask comes from the layer's own generator,
    seeded by the model: the same seed drops the same units.

    Parameters
    ----------
    rate : float in [0, 1)
    seed : int, optional
        Seed of the mask generator (the model sets it when ``None``).
    """

    kind = "dropout"

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name)
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool):
            raise TypeError(f"Dropout: rate must be a float in [0, 1), got {rate!r}")
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._rng = None

    def _build(self, input_shape, rng):
        seed = self.seed if self.seed is not None else int(rng.integers(2**31))
        self._rng = np.random.default_rng(seed)
        return input_shape

    def _forward(self, x, training, owned=False):
        if not training or self.rate == 0:
            self._store(x.shape[0], None)
            return x
        keep = self._rng.random(x.shape, dtype=x.dtype) >= self.rate
        scale = np.asarray(1.0 / (1.0 - self.rate), dtype=x.dtype)
        mask = keep * scale
        self._store(x.shape[0], mask)
        return np.multiply(x, mask, out=x) if owned else x * mask

    def _backward(self, dout, need_dx, owned=False):
        (mask,) = self._take()
        if mask is None:
            return dout
        return np.multiply(dout, mask, out=dout) if owned else dout * mask

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, "name": self.name}
