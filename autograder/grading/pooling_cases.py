"""What the pooling assignments' cases (04 and 05) share: how a setting is passed and labelled.

A setting is ``(shape, size, stride, padding)``; ``stride`` None means "not
passed", so that the default (the window size) is graded too. In the fixed
inputs ``size`` None likewise means "not passed" (the signature's default, 2).
"""

from __future__ import annotations

import numpy as np

from .registry import Case


def pool_label(shape, size, stride, padding):
    """The student-facing label of a setting: the inputs only, never the expected output."""
    text = f"x {shape}, size={size}"
    text += ", stride not given" if stride is None else f", stride={stride}"
    return text + (f", padding={padding}" if padding else "")


def pool_kwargs(stride, padding):
    """The keyword arguments of a setting: ``stride`` and ``padding`` only when given."""
    kwargs = {} if stride is None else {"stride": stride}
    if padding:
        kwargs["padding"] = padding
    return kwargs


def pool_args(*leading, size):
    """The positional arguments of a case: ``leading`` then ``size``, unless ``size`` is None (not passed)."""
    return leading if size is None else (*leading, size)


def size_kwargs(size):
    """``size`` for the reference's call: nothing when it is not passed, so that the default applies there too."""
    return {} if size is None else {"size": size}


def fixed_backward_cases(forward, backward, example, fixed, divisor, dout_label):
    """A backward part's fixed cases, ``backward`` the reference and ``forward`` its forward op.

    The worked ``example`` with ``dout`` all ones (size 2; size 3 with stride
    1), then each of ``fixed`` (``(label, x, size, kwargs)``) with ``dout``
    1, 2, 3, ... divided by ``divisor``, labelled ``label + dout_label``.
    """
    ones = np.ones((1, 1, 2, 2))
    cases = [
        Case("x = the 4x4 worked example, size=2, dout all ones", (ones, example.copy(), 2),
             backward(ones, example, 2)),
        Case("x = the 4x4 worked example, size=3, stride=1, dout all ones", (ones, example.copy(), 3),
             backward(ones, example, 3, 1), kwargs=dict(stride=1)),
    ]
    for label, x, size, kwargs in fixed:
        shape = forward(x, **size_kwargs(size), **kwargs).shape
        dout = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape) / divisor
        cases.append(Case(label + dout_label, pool_args(dout, x.copy(), size=size),
                          backward(dout, x, **size_kwargs(size), **kwargs), kwargs=kwargs))
    return cases
