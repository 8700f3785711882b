"""Wrong answers made in bulk from the solution: one per operand, per part, for a class of mistake.

A class of mistake (an operand cast to float32, a result left in the
input's integer dtype, an accumulator made like an integer kernel) is added
to a module's ``WRONG`` as a family, so that every float argument of every
part that promises float64 is covered, not only the ones a probe was written
for. The solution is looked up when the answer is called, so importing a
grading test module does not run a notebook.
"""

import numpy as np

from .conftest import cached_solution


def _solution(assignment, part):
    return cached_solution(assignment)[part]


def cast_operand(assignment, part, index, name):
    """The solution with its argument ``index`` (``name``) cast to float32 first."""

    def answer(*args, **kwargs):
        # The operand may come by position or by name (hidden cases pass
        # optional ones, a bias say, by name): cast it wherever it is.
        args = list(args)
        if index < len(args):
            args[index] = np.asarray(args[index]).astype(np.float32)
        elif kwargs.get(name) is not None:
            kwargs[name] = np.asarray(kwargs[name]).astype(np.float32)
        return _solution(assignment, part)(*args, **kwargs)

    answer.__name__ = f"{part}_with_{name}_cast_to_float32"
    return answer


def operand_casts(assignment, part, names):
    """One :func:`cast_operand` answer per float argument named in ``names`` (positional order)."""
    return [cast_operand(assignment, part, index, name) for index, name in enumerate(names) if name]


def in_input_dtype(assignment, part, index=0):
    """The solution with its result in the dtype of argument ``index`` (an integer image gives integers)."""

    def answer(*args, **kwargs):
        result = _solution(assignment, part)(*args, **kwargs)
        return np.asarray(result).astype(np.asarray(args[index]).dtype)

    answer.__name__ = f"{part}_in_the_input_dtype"
    return answer


def gradient_accumulated_like(assignment, part, item, index):
    """The solution whose ``item``-th gradient is accumulated in ``np.zeros_like(args[index])``.

    ``np.zeros_like`` of an integer kernel is an integer array, and adding
    float gradients into it in place raises (as the student's loop would).
    """

    def answer(*args, **kwargs):
        grads = list(_solution(assignment, part)(*args, **kwargs))
        accumulator = np.zeros_like(args[index])
        accumulator += grads[item]
        grads[item] = accumulator
        return tuple(grads)

    answer.__name__ = f"{part}_gradient_{item}_in_zeros_like_of_argument_{index}"
    return answer


def stride_defaults_to_size(assignment, part, size_index):
    """The solution behind ``stride = settings.get("stride", size)``: an explicit ``stride=None`` reaches the
    output size's formula and raises, though the signature's default (None: equal to size) allows it."""

    def answer(*args, **kwargs):
        size = args[size_index] if len(args) > size_index else kwargs.get("size", 2)
        stride = kwargs.get("stride", size)
        (8 - size) // stride  # noqa: B018 - the answer's own output-size formula: TypeError on None
        return _solution(assignment, part)(*args, **{**kwargs, "stride": stride})

    answer.__name__ = f"{part}_stride_read_with_a_default_of_size"
    return answer


def size_default(assignment, part, size_index, default=3):
    """The solution behind a signature whose ``size`` defaults to ``default``, not the stated 2."""

    def answer(*args, **kwargs):
        if len(args) <= size_index and "size" not in kwargs:
            kwargs = {**kwargs, "size": default}
        return _solution(assignment, part)(*args, **kwargs)

    answer.__name__ = f"{part}_size_defaults_to_{default}"
    return answer


def keyword_default(assignment, part, key, default):
    """The solution behind a signature whose ``key`` defaults to ``default``, not the stated value."""

    def answer(*args, **kwargs):
        return _solution(assignment, part)(*args, **{key: default, **kwargs})

    answer.__name__ = f"{part}_{key}_defaults_to_{default}"
    return answer
