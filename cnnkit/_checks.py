"""Argument checks shared by every op.

Every public function validates its arguments here *before* any arithmetic,
so that a mistake is reported in the caller's terms: the function, the
argument, what was expected and what was given.
"""

from __future__ import annotations

import numbers

import numpy as np

PADDING_MODES = ("valid", "same", "full")


def as_float_array(x, name, fn, *, integer_dtype=np.float64, float_dtypes=None):
    """Return ``x`` as a floating ndarray without modifying the caller's data.

    Floating inputs keep their dtype (only those in ``float_dtypes``, when
    given: any other float becomes ``integer_dtype``); integer and boolean
    inputs become ``integer_dtype``: float64 for the ops, float32 for
    ``cnnkit.nn``'s layers (``cnnkit.nn.base.as_batch``). Anything else
    (complex, object, strings) is a ``TypeError``.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{fn}: {name} must be array-like of numbers, got {type(x).__name__} ({exc})") from None
    if arr.dtype.kind == "f":
        return arr if float_dtypes is None or arr.dtype in float_dtypes else arr.astype(integer_dtype)
    if arr.dtype.kind in "iub":
        return arr.astype(integer_dtype)
    kept = "" if float_dtypes is None else f" ({' or '.join(np.dtype(d).name for d in float_dtypes)})"
    raise TypeError(f"{fn}: {name} must be a real numeric array{kept}, got dtype {arr.dtype}")


def result_dtype(*arrays):
    """The float dtype of an op's output: the common dtype of its float inputs."""
    return np.result_type(*[a.dtype for a in arrays if a is not None])


def check_ndim(arr, ndim, name, fn, layout):
    """Raise ``ValueError`` unless ``arr`` has ``ndim`` dimensions laid out as ``layout``."""
    if arr.ndim != ndim:
        raise ValueError(f"{fn}: {name} must be {ndim}-D {layout}, got shape {tuple(arr.shape)}")


def check_shape(arr, shape, name, fn, what):
    """Raise ``ValueError`` unless ``arr.shape == shape``; ``what`` explains the expectation."""
    if tuple(arr.shape) != tuple(shape):
        raise ValueError(f"{fn}: {name} must have shape {tuple(shape)} ({what}), got shape {tuple(arr.shape)}")


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def as_pair(value, name, fn, minimum=1):
    """Normalise an int or an ``(h, w)`` pair of ints to a pair, each ``>= minimum``."""
    if _is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{fn}: {name} must be an int or an (h, w) pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return pair


def as_int(value, name, fn, minimum=1):
    """Check a scalar integer argument (a size, a count) and return it as ``int``; bools are refused."""
    if not _is_int(value):
        raise TypeError(f"{fn}: {name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return int(value)


def as_real(value, name, fn):
    """Check a scalar real argument (a factor, a rate) and return it as ``float``; bools are refused."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be a real number, got {value!r}")
    return float(value)


def same_padding(n, kernel, stride, dilation):
    """TensorFlow's ``"same"`` padding for one axis as ``(before, after)``.

    The output size is ``ceil(n / stride)``; the total padding needed for that
    is split with the extra cell at the end (bottom/right), as TensorFlow does.
    """
    effective = dilation * (kernel - 1) + 1
    out = -(-n // stride)
    total = max((out - 1) * stride + effective - n, 0)
    return total // 2, total - total // 2


def resolve_padding_axis(padding, n, kernel, stride, dilation, name, fn):
    """Padding of one axis as ``(before, after)`` from an int or a mode string."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0, 0
        if mode == "same":
            return same_padding(n, kernel, stride, dilation)
        if mode == "full":
            full = dilation * (kernel - 1)
            return full, full
        raise ValueError(f"{fn}: {name} must be an int, an (h, w) pair or one of {PADDING_MODES}, got {padding!r}")
    p = as_int(padding, name, fn, minimum=0)
    return p, p


def resolve_padding2d(padding, size_hw, kernel_hw, stride_hw, dilation_hw, fn, name="padding"):
    """Padding of both axes as ``((top, bottom), (left, right))``.

    ``padding`` is an int, an ``(h, w)`` pair of ints, or ``"valid"``,
    ``"same"`` or ``"full"``.
    """
    if isinstance(padding, str):
        per_axis = (padding, padding)
    elif _is_int(padding):
        per_axis = (padding, padding)
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(_is_int(v) for v in padding):
        per_axis = tuple(padding)
    else:
        raise TypeError(
            f"{fn}: {name} must be an int, an (h, w) pair of ints or one of {PADDING_MODES}, got {padding!r}"
        )
    return tuple(
        resolve_padding_axis(p, n, k, s, d, name, fn)
        for p, n, k, s, d in zip(per_axis, size_hw, kernel_hw, stride_hw, dilation_hw)
    )


def output_size_axis(n, kernel, stride, pad_before, pad_after, dilation, fn, axis="", sizes=""):
    """``floor((n + pad_before + pad_after - d(k-1) - 1) / s) + 1``, checked to be >= 1.

    Raises ``ValueError`` naming the sizes when the (dilated) kernel does not
    fit in the padded input.
    """
    effective = dilation * (kernel - 1) + 1
    padded = n + pad_before + pad_after
    if effective > padded:
        where = f" along {axis}" if axis else ""
        raise ValueError(
            f"{fn}: kernel{where} of size {kernel} (dilation {dilation}, effective size {effective}) "
            f"is larger than the padded input of size {padded} (input {n} + padding {pad_before}+{pad_after})"
            f"{sizes}"
        )
    return (padded - effective) // stride + 1
