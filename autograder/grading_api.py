"""The grader's one door to the grading package (hidden cases, parts, the judge of one case)."""

from __future__ import annotations

import importlib
from functools import lru_cache


@lru_cache(maxsize=1)
def grading():
    """The grading package: ``get_part``, ``cases_for``, ``judge_case``, ``render_part``, ``Outcome``."""
    return importlib.import_module("autograder.grading")
