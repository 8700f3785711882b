"""The hidden tests' side of the course: graded parts, their cases, and the one judge.

This package belongs to the course's tooling, not to the student package
``cnnkit``. A hidden test cell holds only a call such as
``check("02-convolution/correlate1d", correlate1d)``: the cases, the
reference results and the tolerances live here, so that a failing test's
traceback or the feedback never shows expected values.

* :mod:`.registry`: :class:`Case`, :class:`Part`, ``assignment(...)`` to register parts, discovery;
* :mod:`.judge`: :func:`judge_case` and :func:`render_part`, used by both grading paths;
* :mod:`.core`: :func:`check` and :func:`grade_part` in the student's process, :func:`cases_for`;
* :mod:`.keras_models`: reading a (round-tripped) Keras model, for model parts;
* :mod:`.parts`: one module per assignment, found by listing the package.

Importing it stays NumPy-only (model parts import Keras inside their predicates).
"""

from .core import Report, call, cases_for, check, grade_part, grading_seed
from .judge import Outcome, describe_mismatch, judge_case, render_part
from .registry import KERAS_ALLOWED, NUMPY_ONLY, Case, Part, Raises, all_parts, assignment, get_part, parts_of

__all__ = ["KERAS_ALLOWED", "NUMPY_ONLY", "Case", "Outcome", "Part", "Raises", "Report", "all_parts", "assignment",
           "call", "cases_for", "check", "describe_mismatch", "get_part", "grade_part", "grading_seed", "judge_case",
           "parts_of", "render_part"]
