"""Gradient-descent update rules: SGD with momentum and Adam, as Keras 3 writes them.

An optimizer is given ``(key, param, grad)`` triples and updates each
parameter *in place*. Its state (velocities, moments) is kept per key, so
one optimizer serves one model. The formulas are Keras's, term for term,
so that one step of each gives the same weights (book: chapter 6).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["SGD", "Adam", "get_optimizer"]


def _positive(value, name, fn, allow_zero=False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{fn}: {name} must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{fn}: {name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


class Optimizer:
    """Base class: keeps per-parameter state and counts steps."""

    def __init__(self, learning_rate):
        self.learning_rate = _positive(learning_rate, "learning_rate", type(self).__name__)
        self.iterations = 0
        self.state = {}

    def _slot(self, key, param, slot):
        """A zero-initialised state array for ``param`` (recreated if its dtype changed)."""
        arrays = self.state.setdefault(key, {})
        arr = arrays.get(slot)
        if arr is None or arr.shape != param.shape:
            arr = arrays[slot] = np.zeros_like(param)
        elif arr.dtype != param.dtype:
            arr = arrays[slot] = arr.astype(param.dtype)
        return arr

    def step(self, triples):
        """Apply one update to every ``(key, param, grad)``; params change in place."""
        self.iterations += 1
        for key, param, grad in triples:
            self._update(key, param, grad)

    def get_config(self):
        return {"name": type(self).__name__, "learning_rate": self.learning_rate}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum.

    Without momentum: :math:`\theta \leftarrow \theta - \eta g`. With momentum
    :math:`\mu`: :math:`v \leftarrow \mu v - \eta g`, :math:`\theta \leftarrow \theta + v`
    (``v`` starts at 0 and is remembered from step to step).

    Parameters
    ----------
    learning_rate : float, default 0.01
        Step size :math:`\eta > 0`.
    momentum : float, default 0.0
        :math:`\mu \in [0, 1)`.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0):
        super().__init__(learning_rate)
        self.momentum = _positive(momentum, "momentum", "SGD", allow_zero=True)
        if self.momentum >= 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")

    def _update(self, key, param, grad):
        if self.momentum == 0:
            param -= self.learning_rate * grad
            return
        velocity = self._slot(key, param, "velocity")
        velocity *= self.momentum
        velocity -= self.learning_rate * grad
        param += velocity

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), as Keras 3 computes it.

    With :math:`t` the step number (from 1),

    .. math::

        m &\leftarrow m + (1 - \beta_1)(g - m), \qquad
        v \leftarrow v + (1 - \beta_2)(g^2 - v), \\
        \theta &\leftarrow \theta - \eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}
            \frac{m}{\sqrt{v} + \epsilon}.

    Parameters
    ----------
    learning_rate : float, default 1e-3
    beta_1 : float, default 0.9
    beta_2 : float, default 0.999
    epsilon : float, default 1e-7
        Keras's default (PyTorch uses 1e-8).
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if _positive(value, name, "Adam", allow_zero=True) >= 1:
                raise ValueError(f"Adam: {name} must be in [0, 1), got {value!r}")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = _positive(epsilon, "epsilon", "Adam")

    def step(self, triples):
        t = self.iterations + 1
        self._alpha = self.learning_rate * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        super().step(triples)

    def _update(self, key, param, grad):
        m = self._slot(key, param, "m")
        v = self._slot(key, param, "v")
        m += (1 - self.beta_1) * (grad - m)
        v += (1 - self.beta_2) * (np.square(grad) - v)
        param -= (self._alpha * m) / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam}


def get_optimizer(optimizer, fn="compile"):
    """An optimizer instance from an instance or a name (``"sgd"``, ``"adam"``)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in _BY_NAME:
        return _BY_NAME[optimizer.lower()]()
    raise ValueError(
        f"{fn}: optimizer must be nn.SGD(...), nn.Adam(...) or one of {tuple(_BY_NAME)}, got {optimizer!r}"
    )


def from_config(config):
    """Rebuild an optimizer from :meth:`Optimizer.get_config`."""
    config = dict(config)
    cls = {"SGD": SGD, "Adam": Adam}[config.pop("name")]
    return cls(**config)
