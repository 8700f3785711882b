"""Hidden cases of assignment 02-convolution.

The first case of each part is the book's worked example, which the
notebook's visible test also checks; the rest are random. Cases are chosen so
that the usual mistakes fail some of them: a flipped kernel, an output one
too long or short, padding on one side only, stride or dilation ignored,
ceil in place of floor.
"""

from __future__ import annotations

import numpy as np

from ... import conv_output_size, convolve1d, correlate1d
from ..core import Case, Raises, register


@register("conv_output_size", points=2, description="output length of a convolution")
def _conv_output_size_cases(rng):
    cases = [Case("n=4, kernel=3 (the worked example)", (4, 3), 2)]
    settings = [
        # (stride, padding, dilation): each setting alone, then mixed, with
        # strides that do not divide evenly so that floor matters.
        (1, 0, 1), (2, 0, 1), (3, 0, 1), (1, 2, 1), (1, 0, 2), (2, 1, 1), (3, 2, 2), (2, 3, 3),
    ]
    for stride, padding, dilation in settings:
        kernel = int(rng.integers(1, 6))
        effective = dilation * (kernel - 1) + 1
        n = int(rng.integers(max(effective - 2 * padding, 1), effective + 25))
        args = (n, kernel)
        kwargs = dict(stride=stride, padding=padding, dilation=dilation)
        label = f"n={n}, kernel={kernel}, stride={stride}, padding={padding}, dilation={dilation}"
        cases.append(Case(label, args, conv_output_size(*args, **kwargs), kwargs=kwargs))
    # A kernel that cannot fit must be refused, not answered with 0 or less.
    cases.append(Case("n=3, kernel=5: kernel larger than the input", (3, 5), Raises(ValueError)))
    cases.append(
        Case("n=4, kernel=3, dilation=2: dilated kernel larger than the input", (4, 3), Raises(ValueError),
             kwargs=dict(dilation=2))
    )
    return cases


def _signal_cases(rng, reference):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 2.0, 3.0])
    cases = [
        Case("x=[1, 2, 3, 4], w=[1, 2, 3] (the worked example)", (x, w), reference(x, w)),
        Case("x=[1, 2, 3, 4], w=[1, 2, 3], padding=1 (the worked example)", (x, w), reference(x, w, padding=1),
             kwargs=dict(padding=1)),
    ]
    for length, kernel, padding in [(7, 3, 0), (10, 4, 0), (9, 1, 0), (6, 6, 0), (8, 3, 2), (5, 4, 3)]:
        x = rng.standard_normal(length)
        w = rng.standard_normal(kernel)
        kwargs = dict(padding=padding) if padding else {}
        label = f"x of length {length}, w of length {kernel}" + (f", padding={padding}" if padding else "")
        cases.append(Case(label, (x, w), reference(x, w, **kwargs), kwargs=kwargs))
    return cases


@register("correlate1d", points=2, description="1-D cross-correlation with zero padding")
def _correlate1d_cases(rng):
    return _signal_cases(rng, correlate1d)


@register("convolve1d", points=1, description="1-D true convolution (flipped kernel)")
def _convolve1d_cases(rng):
    return _signal_cases(rng, convolve1d)
