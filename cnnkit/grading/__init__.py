"""Grading helpers: the hidden tests of every exercise call into this package.

Test cells hold only a call such as ``check("correlate1d", correlate1d)``:
the cases, the reference results and the tolerances live here, so that a
failing test's traceback or the feedback never shows expected values.
"""

from .core import KERAS_ALLOWED, NUMPY_ONLY, Case, Raises, Report, all_parts, cases_for, check, get_part, register, run

__all__ = ["KERAS_ALLOWED", "NUMPY_ONLY", "Case", "Raises", "Report", "all_parts", "cases_for", "check", "get_part", "register", "run"]
