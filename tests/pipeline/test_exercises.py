"""The exercise pipeline, end to end, for every assignment in solutions/.

* exercises/ is exactly what nbgrader generates from solutions/;
* each graded cell's points agree with the grading part it calls;
* the course's grade command proves, by its self-test, that the solution
  earns full marks and the blank student version zero: it grades both before
  any submission and refuses to grade when either is wrong. The test runs it
  on an empty class, so each assignment is graded once, not twice.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import EXERCISES, assignment_notebook, assignments
from autograder.verdict import graded_cells
from autograder.grading import get_part

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = assignments()


def test_exercises_match_a_fresh_generation(request):
    # One nbgrader run for all (its start-up is most of the cost); `make test-chapter` checks its own only.
    chapter = request.config.getoption("--chapter", None)
    result = subprocess.run([sys.executable, "-m", "autograder", "release", "--check",
                             *([chapter] if chapter else [])], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_exercises_holds_only_generated_assignments():
    present = sorted(p.name for p in EXERCISES.iterdir() if p.is_dir())
    assert present == sorted(ASSIGNMENTS), "exercises/ holds folders no solution generates; run `make exercises`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_cells_match_their_grading_parts(assignment):
    # graded_cells is what the grader reads: it raises unless each graded
    # cell holds exactly one check("part", name) call.
    graded = graded_cells(json.loads(assignment_notebook(assignment).read_text()))
    assert graded, f"{assignment} has no graded cell"
    for cell in graded:
        part = get_part(cell.part)
        assert part.points == cell.points, (
            f"{assignment}/{cell.grade_id}: cell is worth {cell.points} points, "
            f"grading part {part.name!r} {part.points}")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grade_commands_selftest_proves_solution_full_and_blank_zero(assignment, tmp_path):
    """`autograder grade` on a class of nobody: its self-test grades the solution and the blank, and passes."""
    submissions = tmp_path / "submitted"
    submissions.mkdir()
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, str(submissions),
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test failed" not in result.stderr
    assert list(json.loads((out / ".state" / "selftest.json").read_text()).values()) == ["passed"]
    with open(out / "grades.csv") as grades:
        assert list(csv.DictReader(grades)) == []


def _cells(assignment):
    nb = json.loads(assignment_notebook(assignment).read_text())
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code":
            yield meta, "".join(cell["source"])


def _visible_test_cells(assignment):
    return [(meta["grade_id"], source) for meta, source in _cells(assignment)
            if not meta.get("solution") and not meta.get("grade") and meta.get("grade_id", "").endswith("_example")]


# Exercise 07's visible cell trains the model (about 20 s); the others run in well under a second each.
STANDALONE = [(a, gid) for a in ASSIGNMENTS if a != "07-case-study" for gid, _ in _visible_test_cells(a)]


@pytest.mark.parametrize("assignment, grade_id", STANDALONE)
def test_each_visible_test_cell_sets_up_its_own_inputs(assignment, grade_id):
    """Run the set-up cell, the answers and the course's given cells, then this one visible test cell alone."""
    namespace = {}
    for meta, source in _cells(assignment):
        given = not meta.get("grade") and not meta.get("grade_id", "").endswith("_example")
        if meta.get("solution") or given:
            exec(compile(source, f"<{assignment}:{meta.get('grade_id')}>", "exec"), namespace)
    source = dict(_visible_test_cells(assignment))[grade_id]
    exec(compile(source, f"<{assignment}:{grade_id}>", "exec"), namespace)


@pytest.mark.parametrize("assignment, grade_id, names", [
    ("02-convolution", "conv2d_example", ("I", "W", "b")),
    ("02-convolution", "zero_pad_example", ("I",)),
    ("04-max-pooling", "max_pool2d_example", ("X",)),
    ("04-max-pooling", "max_pool2d_backward_example", ("X",)),
    ("05-other-pooling", "avg_pool2d_example", ("X",)),
    ("05-other-pooling", "global_avg_pool2d_example", ("X",)),
])
def test_visible_worked_examples_are_the_one_definition(assignment, grade_id, names):
    """Students work without cnnkit, so the visible cells type the examples out: they must be cnnkit.data's."""
    import numpy as np

    from cnnkit.data import conv2d_worked_example, pooling_example

    namespace = {}
    for meta, source in _cells(assignment):
        given = not meta.get("grade") and not meta.get("grade_id", "").endswith("_example")
        if meta.get("solution") or given or meta.get("grade_id") == grade_id:
            exec(compile(source, f"<{assignment}:{meta.get('grade_id')}>", "exec"), namespace)
    reference = dict(zip(("I", "W", "b"), conv2d_worked_example())) if "I" in names else {"X": pooling_example()[None, None]}
    for name in names:
        np.testing.assert_array_equal(namespace[name], reference[name], err_msg=f"{assignment}/{grade_id}: {name}")
