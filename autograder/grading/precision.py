"""Cases that hold a part to float64 in every operand, not only in the one that carries the fine values.

A probe that puts values near 10,000 in ``x`` and uses a kernel of ±1
(which float32 holds exactly) lets an answer that casts the kernel, the bias
or the upstream gradient to float32 keep full marks. :func:`float64_only`
moves every element of an operand to between two float32 numbers (0.3 to
0.45 of a float32 step away from the nearest one), so that casting that
operand to float32 changes the result by about 1e-8 of its scale, far
above :data:`FINE_TOLERANCE`, while a float64 computation in any order stays
within it. :func:`fine_case` applies it to every float operand of a case.
"""

from __future__ import annotations

import numpy as np

from .registry import Case

# A float64 sum of a few hundred products differs from another order's by ~1e-13; float32 operands by ~1e-8.
FINE_TOLERANCE = dict(rtol=1e-10, atol=1e-11)


def float64_only(a, rng):
    """``a`` (as float64) with each element 0.3-0.45 of a float32 step away from a float32 number, either side."""
    a32 = np.asarray(a, dtype=np.float64).astype(np.float32)
    step = np.spacing(np.abs(a32)).astype(np.float64)
    fraction = rng.uniform(0.3, 0.45, size=a32.shape) * rng.choice([-1.0, 1.0], size=a32.shape)
    return a32.astype(np.float64) + fraction * step


def is_float_operand(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def fine_case(label, reference, args, rng, kwargs=None, **fields):
    """A case on ``args`` with every float array made :func:`float64_only`, judged at :data:`FINE_TOLERANCE`."""
    kwargs = kwargs or {}
    args = tuple(float64_only(a, rng) if is_float_operand(a) else a for a in args)
    return Case(f"{label}, float64 values in every operand (float32 rounds each)", args, reference(*args, **kwargs),
                kwargs=kwargs, **{**FINE_TOLERANCE, **fields})
