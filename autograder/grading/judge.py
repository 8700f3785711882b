"""The one judge: whether one call of a student's function was right, and the report of a part.

Both ways of grading use these two functions: :func:`autograder.grading.check`
(the notebook's hidden test cells, in the student's process) and the
sandboxed verdict (:mod:`autograder.verdict`, which calls the function in a
sandbox and judges here, in the grader's process). So a result reads the
same, and is scored the same, whichever way it was graded.

Messages describe what the student's value got wrong without giving the
expected values away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .registry import Raises

NOT_IMPLEMENTED = "not implemented yet (raises NotImplementedError)"
NO_MODEL = "not implemented yet: there is no model (the cell that builds it raised or was not run)"
NO_VALUE = "not implemented yet: there is no value (the cell that computes it raised or was not run)"
MESSAGE_CHARS = 200


@dataclass
class Outcome:
    """What one call of the student's function produced."""

    value: object = None  # the returned value (already decoded)
    error_type: str | None = None  # exception class name, if it raised
    error_mro: tuple = ()  # class names of the exception's MRO
    error_message: str = ""
    modified_input: int | None = None  # 1-based index of an argument changed in place
    timed_out: bool = False


def outcome_of_exception(exc):
    """The :class:`Outcome` of a call that raised ``exc``."""
    return Outcome(error_type=type(exc).__name__, error_mro=tuple(c.__name__ for c in type(exc).__mro__),
                   error_message=str(exc))


def judge_case(case, outcome, kind="function"):
    """``None`` when ``outcome`` passes ``case``, else the problem, in words for the student."""
    if outcome.timed_out:
        return "ran too long and was stopped"
    if outcome.error_type is not None:
        raised = set(outcome.error_mro) | {outcome.error_type}
        if isinstance(case.expected, Raises) and case.expected.exception.__name__ in raised:
            return None
        if outcome.error_type == "NotImplementedError":
            return NOT_IMPLEMENTED
        if kind in ("model", "value") and outcome.error_type == "NameError":
            return NO_MODEL if kind == "model" else NO_VALUE
        message = str(outcome.error_message or "")[:MESSAGE_CHARS]
        return f"raised {outcome.error_type}" + (f": {message}" if message else "")
    if outcome.modified_input:
        return f"modified its argument {outcome.modified_input} in place"
    if kind == "model" or case.predicate is not None:
        # A model, or a result judged by what it does (trained weights, by their held-out accuracy).
        if kind == "model" and outcome.value is None:
            return NO_MODEL
        try:
            return case.predicate(outcome.value)
        except Exception as exc:  # a predicate must not crash the grader on an odd model
            return f"checking it raised {type(exc).__name__}: {str(exc)[:MESSAGE_CHARS]}"
    if kind == "value" and outcome.value is None:
        return NO_VALUE
    if isinstance(case.expected, Raises):
        return f"should raise {case.expected.exception.__name__}, but returned normally"
    return describe_mismatch(outcome.value, case)


def _item_name(case, index):
    names = case.returns
    if callable(names):
        return names(index)
    if names and index < len(names):
        return f"`{names[index]}`"
    return f"item {index}"


def _whole_number(value):
    """``value`` as an int when it is an integral number (``28``, ``np.int64(28)``, ``28.0``), else ``None``."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _whole_number(value[()])
    return None


def describe_mismatch(got, case, expected=None):
    """``None`` when ``got`` matches the case's expected value, else a message without expected values.

    Whole numbers may come as ``int``, NumPy integers or integral floats
    (``np.floor`` gives ``28.0``); a tuple may come as a list; arrays are
    compared with the case's ``rtol`` and ``atol``.
    """
    expected = case.expected if expected is None else expected
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"returned {type(got).__name__}, expected a bool"
        return None if bool(got) == bool(expected) else "returned the wrong truth value"
    if isinstance(expected, (int, np.integer)):
        whole = _whole_number(got)
        if whole is None:
            shown = repr(got) if isinstance(got, (int, float, np.number)) else ""
            return f"returned {type(got).__name__} {shown}".rstrip() + ", expected a whole number"
        return None if whole == int(expected) else f"returned {whole}, which is wrong"
    if isinstance(expected, tuple):
        if isinstance(got, np.ndarray) and got.ndim == 1:
            got = tuple(got.tolist())
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            what = f"{type(got).__name__} of {len(got)} items" if isinstance(got, (tuple, list)) else type(got).__name__
            return f"returned {what}, expected a tuple of {len(expected)} items"
        for index, (g, e) in enumerate(zip(got, expected)):
            message = describe_mismatch(g, case, expected=e)
            if message:
                return f"{_item_name(case, index)}: {message}"
        return None
    expected = np.asarray(expected)
    if got is None:
        return "returned None (is a `return` missing?)"
    if case.dtype == "floating" and not np.issubdtype(np.asarray(got).dtype, np.floating):
        return f"returned an array of dtype {np.asarray(got).dtype}; the exercise asks for a float array"
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"returned {type(got).__name__}, which is not a numeric array"
    if got.shape != expected.shape:
        return f"output shape {got.shape}, expected {expected.shape}"
    if not np.all(np.isfinite(got)):
        return "output holds NaN or inf"
    close = np.isclose(got, expected, rtol=case.rtol, atol=case.atol)
    if close.all():
        return None
    wrong = int(close.size - close.sum())
    return f"values differ at {wrong} of {close.size} positions (largest error {np.max(np.abs(got - expected)):.3g})"


def render_part(title, passed, total, points, max_points, problems):
    """The report of one part: a head line, then one line per failed case.

    ``problems`` lists ``(case number, label, problem)``. When every case
    fails for one reason (not written yet, not defined) it is said once.
    """
    head = f"{title}: {passed}/{total} cases passed, {points:g} of {max_points:g} points"
    reasons = {problem for _, _, problem in problems}
    if passed == 0 and len(problems) > 1 and len(reasons) == 1:
        return f"{head}\n  - every case: {reasons.pop()}"
    return "\n".join([head] + [f"  - case {number} ({label}): {problem}" for number, label, problem in problems])
