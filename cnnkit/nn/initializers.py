r"""Weight initialisation: Glorot (Keras's default) and He, drawn from the model's seeded generator.

For a kernel with ``fan_in`` inputs and ``fan_out`` outputs per unit (a
convolution: ``fan_in = C KH KW``, ``fan_out = F KH KW``; a dense layer:
``fan_in = D``, ``fan_out = units``):

* ``"glorot_uniform"``: :math:`U(-l, l)`, :math:`l = \sqrt{6 / (fan_{in} + fan_{out})}`;
* ``"he_normal"``: :math:`\mathcal N(0, 2 / fan_{in})` (plain, not truncated as in Keras);
* ``"he_uniform"``: :math:`U(-l, l)`, :math:`l = \sqrt{6 / fan_{in}}`.

Biases start at zero.
"""

from __future__ import annotations

import numpy as np

INITIALIZERS = ("glorot_uniform", "he_normal", "he_uniform")


def check_initializer(name, fn):
    if name not in INITIALIZERS:
        raise ValueError(f"{fn}: kernel_initializer must be one of {INITIALIZERS}, got {name!r}")
    return name


def initialize(name, shape, fan_in, fan_out, rng):
    """A float64 array of ``shape`` drawn by initializer ``name``."""
    if name == "glorot_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)
    if name == "he_uniform":
        limit = np.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
