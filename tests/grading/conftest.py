"""Helpers for the grading tests: the real solution code, and a blank answer."""

import json

import pytest

from autograder.course import assignment_notebook


def solution_namespace(assignment):
    """Run the set-up and solution cells of ``assignment``'s source notebook; return its globals."""
    nb = json.loads(assignment_notebook(assignment).read_text())
    namespace = {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and (meta.get("solution") or meta.get("grade_id") == "setup"):
            exec(compile("".join(cell["source"]), f"<{assignment}:{meta.get('grade_id')}>", "exec"), namespace)
    return namespace


def blank(*args, **kwargs):
    """What a student version does before it is filled in."""
    raise NotImplementedError()


@pytest.fixture(scope="module")
def solution(request):
    return solution_namespace(request.module.ASSIGNMENT)
