"""The exercise pipeline, end to end, for every assignment in solutions/.

* exercises/ is exactly what nbgrader generates from solutions/;
* each graded cell's points agree with the grading part it calls;
* graded with the course's grade command (nbgrader autograde underneath),
  the solution earns full marks and the blank student version earns zero.
"""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import EXERCISES, assignment_notebook, assignments
from autograder.verdict import graded_cells
from cnnkit.grading import get_part

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = assignments()


def test_exercises_match_a_fresh_generation():
    result = subprocess.run([sys.executable, "-m", "autograder", "release", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


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
def test_solution_earns_full_marks_and_blank_earns_zero(assignment, tmp_path):
    source = assignment_notebook(assignment)
    submissions = tmp_path / "submitted"
    for student, notebook in [("solution", source), ("blank", EXERCISES / assignment / source.name)]:
        (submissions / student / assignment).mkdir(parents=True)
        shutil.copy(notebook, submissions / student / assignment / source.name)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, str(submissions),
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    assert float(rows["solution"]["total"]) == float(rows["solution"]["max"]) > 0, rows["solution"]
    assert float(rows["blank"]["total"]) == 0.0, rows["blank"]
    assert (out / "feedback" / "solution.html").is_file()
