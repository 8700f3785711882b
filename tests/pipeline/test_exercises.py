"""The exercise pipeline, end to end, for every assignment in solutions/.

* exercises/ is exactly what nbgrader generates from solutions/;
* each graded cell's points agree with the grading part it calls;
* graded with the course's grade command (nbgrader autograde underneath),
  the solution earns full marks and the blank student version earns zero.
"""

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import EXERCISES, assignment_notebook, assignments
from cnnkit.grading import get_part

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = assignments()
CHECK_CALL = re.compile(r'check\(\s*"([^"]+)"')


def test_exercises_match_a_fresh_generation():
    result = subprocess.run([sys.executable, "-m", "autograder", "release", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_cells_match_their_grading_parts(assignment):
    nb = json.loads(assignment_notebook(assignment).read_text())
    graded = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    assert graded, f"{assignment} has no graded cell"
    for cell in graded:
        meta = cell["metadata"]["nbgrader"]
        source = "".join(cell["source"])
        names = CHECK_CALL.findall(source)
        assert len(names) == 1, f"{assignment}/{meta['grade_id']}: expected one check(...) call, found {names}"
        part = get_part(names[0])
        assert part.points == float(meta["points"]), (
            f"{assignment}/{meta['grade_id']}: cell is worth {meta['points']} points, "
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
