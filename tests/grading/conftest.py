"""Helpers for the grading tests: the real solution code, and a blank answer."""

import json

import pytest

from cnnkit.grading import get_part, run

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


# The three claims every graded part's tests make, in one place.

def assert_full_marks(part, answer, seed=None):
    """The (reference) answer earns every point of ``part``."""
    report = run(part, answer, seed=seed)
    assert report.points == get_part(part).points, report.text()


def assert_blank_earns_nothing(part):
    """The untouched student version earns nothing, and the feedback says why."""
    report = run(part, blank)
    assert report.points == 0, report.text()
    assert "not implemented" in report.text()


def assert_loses_points(part, wrong):
    """A usual wrong answer loses points, and the feedback gives a reason."""
    report = run(part, wrong)
    assert report.points < get_part(part).points, f"{wrong.__name__} earned full marks:\n{report.text()}"
    assert report.failures, "a lost point must come with a reason"
