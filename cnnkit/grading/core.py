"""The machinery behind every hidden test: cases, comparison, partial credit.

A graded part is a named set of cases. Each case holds the arguments to call
the student's function with and the reference result, computed by cnnkit.
``check`` calls the student's function on every case, compares, prints one
line per failing case that names the case (its shapes and settings) but never
the expected values, and returns the points earned, which nbgrader reads as
partial credit from the cell's result.

Hidden cases are random, drawn from a seed that the student never sees: the
grader sets ``CNNKIT_GRADING_SEED``; without it (a maintainer's run, CI) a
fixed default is used, so runs repeat exactly.
"""

from __future__ import annotations

import copy
import os
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

SEED_VARIABLE = "CNNKIT_GRADING_SEED"
DEFAULT_SEED = 20261124


@dataclass
class Case:
    """One call of the student's function and the reference result.

    ``label`` is shown to the student, so it describes the inputs (shapes,
    stride, padding), never the expected output.
    """

    label: str
    args: tuple
    expected: Any
    kwargs: dict = field(default_factory=dict)
    rtol: float = 1e-5
    atol: float = 1e-6


@dataclass(frozen=True)
class Raises:
    """Expected outcome of a case where the function must raise ``exception``."""

    exception: type

    def __repr__(self):
        return f"raises {self.exception.__name__}"


# Packages a NumPy exercise's answers may not use: the reference itself and
# the libraries that would do the work. The grader removes them from the
# sandbox where answers run, and reports an attempt to import them.
NUMPY_ONLY = ("cnnkit", "tensorflow", "keras", "tf_keras", "torch", "jax", "scipy")
# Packages a Keras exercise's answers may not use.
KERAS_ALLOWED = ("cnnkit", "torch", "jax")
KINDS = ("function", "value", "model")


@dataclass
class Part:
    """A graded part: ``points`` shared equally among the cases that ``make_cases`` draws.

    ``kind`` is ``"function"`` (each case calls the student's function),
    ``"value"`` (the student's object itself is compared, e.g. a number
    computed by hand) or ``"model"`` (the student's object is a Keras model;
    each case's ``expected`` is a predicate ``check(model) -> None | problem``
    and the grader runs it on a copy of the model saved in the sandbox and
    loaded, with Keras' safe mode, in a clean process). ``forbidden`` names
    the packages its answer may not use.
    """

    name: str
    points: float
    make_cases: Callable[[np.random.Generator], list]
    description: str = ""
    kind: str = "function"
    forbidden: tuple = NUMPY_ONLY


_PARTS: dict[str, Part] = {}


def register(name, points, description="", kind="function", forbidden=NUMPY_ONLY):
    """Decorator: register ``make_cases(rng) -> list[Case]`` as the graded part ``name``."""
    if kind not in KINDS:
        raise ValueError(f"register: kind must be one of {KINDS}, got {kind!r}")

    def decorate(make_cases):
        if name in _PARTS:
            raise ValueError(f"grading part {name!r} is registered twice")
        _PARTS[name] = Part(name, float(points), make_cases, description, kind, tuple(forbidden))
        return make_cases

    return decorate


def get_part(name):
    """The registered part ``name``; ``KeyError`` listing the known parts otherwise."""
    _load_all_parts()
    try:
        return _PARTS[name]
    except KeyError:
        raise KeyError(f"unknown grading part {name!r}; known parts: {sorted(_PARTS)}") from None


def all_parts():
    """Every registered part, by name."""
    _load_all_parts()
    return dict(_PARTS)


def _load_all_parts():
    # Parts register themselves on import; importing here keeps `cnnkit.grading`
    # itself cheap and free of cycles.
    from . import parts  # noqa: F401


def grading_seed():
    """The seed of the hidden cases: from ``CNNKIT_GRADING_SEED`` when the grader sets it."""
    raw = os.environ.get(SEED_VARIABLE, "")
    if not raw:
        return DEFAULT_SEED
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{SEED_VARIABLE} must be an integer, got {raw!r}") from None


def cases_for(name, seed=None):
    """The cases of part ``name`` for ``seed`` (default: ``grading_seed()``)."""
    part = get_part(name)
    seed = grading_seed() if seed is None else seed
    # Mixing in the part's name gives every part its own stream from one seed.
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return part.make_cases(rng)


def describe_mismatch(got, case):
    """``None`` when ``got`` matches the case, else a message without expected values."""
    expected = case.expected
    if isinstance(expected, Raises):
        if got is RAISED:
            return None
        return f"should raise {expected.exception.__name__}, but returned normally"
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"returned {type(got).__name__}, expected a bool"
        return None if bool(got) == bool(expected) else "returned the wrong truth value"
    if isinstance(expected, (int, np.integer)):
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            return f"returned {type(got).__name__} {got!r}, expected an int"
        return None if int(got) == int(expected) else f"returned {int(got)}, which is wrong"
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"returned {type(got).__name__}, expected a tuple of {len(expected)} items"
        for index, (g, e) in enumerate(zip(got, expected)):
            message = describe_mismatch(g, Case(case.label, (), e, rtol=case.rtol, atol=case.atol))
            if message:
                return f"item {index}: {message}"
        return None
    expected = np.asarray(expected)
    if got is None:
        return "returned None (is a `return` missing?)"
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


def _call(fn, case, kind="function"):
    if kind in ("value", "model"):
        return fn
    if isinstance(case.expected, Raises):
        try:
            fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except case.expected.exception:
            return RAISED
        return DID_NOT_RAISE
    args = copy.deepcopy(case.args)
    kwargs = copy.deepcopy(case.kwargs)
    got = fn(*args, **kwargs)
    for index, (before, after) in enumerate(zip(case.args, args)):
        if isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True):
            raise _ModifiedInput(f"modified its argument {index + 1} in place")
    return got


class _ModifiedInput(Exception):
    pass


RAISED = object()
DID_NOT_RAISE = object()


@dataclass
class Report:
    """What ``run`` found: the points earned and a line per failing case."""

    name: str
    points: float
    max_points: float
    passed: int
    total: int
    failures: list

    def text(self):
        lines = [f"{self.name}: {self.passed}/{self.total} cases passed, {self.points:g} of {self.max_points:g} points"]
        lines += [f"  FAIL {failure}" for failure in self.failures]
        return "\n".join(lines)


def run(name, fn, seed=None):
    """Grade ``fn`` on every case of part ``name`` and return a :class:`Report`."""
    part = get_part(name)
    cases = cases_for(name, seed)
    failures = []
    for number, case in enumerate(cases, start=1):
        try:
            got = _call(fn, case, part.kind)
            problem = case.expected(got) if part.kind == "model" else describe_mismatch(got, case)
        except NotImplementedError:
            problem = "not implemented yet (raises NotImplementedError)"
        except _ModifiedInput as exc:
            problem = str(exc)
        except Exception as exc:  # the student's bug, reported, not fatal
            problem = f"raised {type(exc).__name__}: {str(exc)[:200]}"
        if problem:
            failures.append(f"case {number} ({case.label}): {problem}")
    passed = len(cases) - len(failures)
    points = round(part.points * passed / len(cases), 2)
    return Report(name, points, part.points, passed, len(cases), failures)


def check(name, fn):
    """Grade ``fn`` as part ``name``: print the report, return the points earned.

    The return value is the hidden test cell's result, which nbgrader reads
    as partial credit. When no case passes it raises ``AssertionError``, so
    the cell shows as failed.
    """
    report = run(name, fn)
    if report.passed == 0:
        raise AssertionError(report.text())
    print(report.text())
    return float(report.points)
