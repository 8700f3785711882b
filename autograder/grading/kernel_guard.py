"""Refuse to grade inside a kernel that ``nbgrader autograde`` runs.

A hidden test cell's :func:`autograder.grading.check` runs in the student's
own kernel, after the student's cells: any of them can replace ``check``,
the judge or NumPy before the test runs, so points earned there prove
nothing. The course grades submissions with ``python -m autograder grade``,
which never executes hidden test cells: it calls the graded functions from
a sandbox (and ``--gradebook`` writes the scores to nbgrader's gradebook).

``check`` still runs where only the course's own code is in the notebook:
the solution notebooks under ``make test`` (nbval) and a maintainer's
Jupyter. nbgrader marks the kernels of ``autograde`` (also when formgrader's
button starts it) by setting ``NBGRADER_EXECUTION=autograde`` in their
environment; that is what this module reads. The student cannot use this to
gain points: a student who unsets it in the kernel could as well rewrite
``check``, which is why that path is refused in the first place.
"""

from __future__ import annotations

import os
import sys

NBGRADER_EXECUTION = "NBGRADER_EXECUTION"
REFUSED_MESSAGE = (
    "REFUSED: this notebook must be graded by `python -m autograder grade ASSIGNMENT SUBMISSIONS --out OUT "
    "--gradebook gradebook.db`, not by `nbgrader autograde`. Part {part!r} is scored 0 here: this hidden test "
    "runs in the student's kernel, after the student's code, which can rewrite the checks. The course's "
    "grader runs each submission in a sandbox and writes the scores to nbgrader's gradebook."
)


class GradedOutsideSandbox(AssertionError):
    """A hidden test ran under ``nbgrader autograde``: the part scores 0 (nbgrader counts an error as 0)."""


def under_nbgrader_autograde(environ=None):
    """Whether this process is a kernel that ``nbgrader autograde`` started."""
    environ = os.environ if environ is None else environ
    return environ.get(NBGRADER_EXECUTION, "") == "autograde"


def refuse_under_nbgrader(part, environ=None):
    """Raise :class:`GradedOutsideSandbox` (after printing why) when ``nbgrader autograde`` runs this kernel."""
    if not under_nbgrader_autograde(environ):
        return
    message = REFUSED_MESSAGE.format(part=part)
    # On stderr as well as in the traceback: nbgrader's feedback shows both.
    print(message, file=sys.stderr, flush=True)
    raise GradedOutsideSandbox(message)
