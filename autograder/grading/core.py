"""Grading in the student's process: the notebook's hidden test cells call :func:`check`.

``check("02-convolution/conv2d", conv2d)`` calls the student's function on
every hidden case of the part, judges each call with
:func:`autograder.grading.judge.judge_case` (the same judge the sandboxed
verdict uses), prints the report and returns the points earned, which
nbgrader reads as partial credit from the cell's result.

Hidden cases are random, drawn from a seed that the student never sees: the
grader sets ``CNNKIT_GRADING_SEED``; without it (a maintainer's run, CI) a
fixed default is used, so runs repeat exactly. Each part's cases also
include fixed ones, so that every known mistake loses points whatever the seed.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import zlib
from dataclasses import dataclass

import numpy as np

from .judge import Outcome, judge_case, outcome_of_exception, render_part
from .kernel_guard import refuse_under_nbgrader
from .registry import get_part

SEED_VARIABLE = "CNNKIT_GRADING_SEED"
DEFAULT_SEED = 20261124


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
    rng = np.random.default_rng([seed, zlib.crc32(part.name.encode())])
    cases = part.make_cases(rng)
    if part.returns is not None:
        cases = [case if case.returns is not None else dataclasses.replace(case, returns=part.returns)
                 for case in cases]
    return cases


def call(fn, case, kind="function"):
    """Call the student's ``fn`` on ``case`` (on copies of its arguments): the :class:`Outcome`."""
    if kind in ("value", "model"):
        return Outcome(value=fn)
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:  # the student's bug, judged, not fatal
        return outcome_of_exception(exc)
    for index, (before, after) in enumerate(zip(case.args, args)):
        if isinstance(before, np.ndarray) and not (
                isinstance(after, np.ndarray) and before.shape == after.shape
                and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")):
            return Outcome(value=value, modified_input=index + 1)
    return Outcome(value=value)


@dataclass
class Report:
    """What :func:`grade_part` found: the points earned and the problem of each failed case."""

    name: str
    points: float
    max_points: float
    passed: int
    total: int
    problems: list  # (case number, label, problem)

    @property
    def failures(self):
        return [f"case {number} ({label}): {problem}" for number, label, problem in self.problems]

    def text(self):
        return render_part(self.name, self.passed, self.total, self.points, self.max_points, self.problems)


def grade_part(name, fn, seed=None):
    """Grade ``fn`` on every case of part ``name`` and return a :class:`Report`."""
    part = get_part(name)
    cases = cases_for(name, seed)
    problems = []
    for number, case in enumerate(cases, start=1):
        problem = judge_case(case, call(fn, case, part.kind), part.kind)
        if problem:
            problems.append((number, case.label, problem))
    passed = len(cases) - len(problems)
    points = round(part.points * passed / len(cases), 2)
    return Report(part.name, points, part.points, passed, len(cases), problems)


def check(name, fn):
    """Grade ``fn`` as part ``name``: print the report, return the points earned.

    The return value is the hidden test cell's result, which nbgrader reads
    as partial credit. When no case passes it raises ``AssertionError``, so
    the cell shows as failed. Under ``nbgrader autograde`` it refuses (see
    :mod:`.kernel_guard`): the part scores 0 and the cell says why.
    """
    refuse_under_nbgrader(name)
    report = grade_part(name, fn)
    if report.passed == 0:
        raise AssertionError(report.text())
    print(report.text())
    return float(report.points)
