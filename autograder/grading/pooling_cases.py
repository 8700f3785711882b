"""What the pooling assignments' cases (04 and 05) share: how a setting is passed and labelled.

A setting is ``(shape, size, stride, padding)``; ``stride`` None means "not
passed", so that the default (the window size) is graded too. In the fixed
inputs ``size`` None likewise means "not passed" (the signature's default, 2).
"""

from __future__ import annotations


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
