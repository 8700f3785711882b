"""What an exercise tells students about the grader's time limits is what the grader gives them."""

import re

import pytest

from autograder import notebook
from autograder.course import assignment_notebook, assignments
from autograder.grade import Course
from autograder.sandbox import Limits

PER_CELL = [re.compile(r"\*\*(\d+) seconds\*\* per cell"), re.compile(r"stops a cell after (\d+) s\b")]
PER_NOTEBOOK = re.compile(r"(\d+) minutes for the whole notebook")


@pytest.mark.parametrize("assignment", assignments())
def test_stated_time_limits_are_the_graders(assignment):
    limits = Course(assignment).limits_for(Limits())
    text = "\n".join(c.source for c in notebook.course_cells(assignment_notebook(assignment)))
    for pattern in PER_CELL:
        for stated in pattern.findall(text):
            assert float(stated) == limits.cell_seconds, (assignment, pattern.pattern, stated, limits)
    for stated in PER_NOTEBOOK.findall(text):
        assert float(stated) * 60 == limits.wall_seconds, (assignment, stated, limits)


def test_the_case_study_states_its_limits():
    text = "\n".join(c.source for c in notebook.course_cells(assignment_notebook("07-case-study")))
    assert PER_NOTEBOOK.search(text) and PER_CELL[0].search(text) and PER_CELL[1].search(text)
