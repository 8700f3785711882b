"""nbgrader's course directory, graded the safe way: our sandboxed grader writes nbgrader's gradebook.

A real course folder is made in a temporary directory: ``nbgrader
generate_assignment`` from the course's source notebook, a ``submitted/``
folder as ``nbgrader collect`` leaves it (with ``timestamp.txt``), then:

* plain ``nbgrader autograde`` runs the hidden tests in the student's kernel:
  every part must refuse, score 0 and say which command grades the notebook;
* ``python -m autograder grade ... --gradebook`` writes per-part scores that
  nbgrader's own API reads back, and ``nbgrader export`` sums them, the late
  penalty taken off.
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import assignment_notebook

from .corpus import ASSIGNMENT, ZEROS, answered, release

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def nbgrader(course, *args):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=str(ROOT))
    env.pop("NBGRADER_EXECUTION", None)
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                            timeout=600, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder after generate_assignment and collect: ann solved it on time, ben lost a part, 2 days late."""
    course = tmp_path_factory.mktemp("course")
    source = assignment_notebook(ASSIGNMENT)
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "source" / ASSIGNMENT / source.name).write_bytes(source.read_bytes())
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "cnn-course"\n')
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    wrong = {"conv_output_size": ZEROS["conv_output_size"]}
    submitted = {"ann": (answered(), "2026-12-01 20:00:00.000000 UTC"),
                 "ben": (answered({**_solved(), **wrong}), "2026-12-03 10:00:00.000000 UTC"),
                 "cat": (release(), "2026-12-01 23:00:00 UTC")}
    for student, (notebook, stamp) in submitted.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / source.name).write_text(json.dumps(notebook))
        (folder / "timestamp.txt").write_text(stamp)
    return course


def _grade_cell_ids(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {cell.name for cell in gb.find_notebook("convolution", ASSIGNMENT).grade_cells}


def _solved():
    from .corpus import SOLVED

    return dict(SOLVED)


def test_plain_nbgrader_autograde_refuses_and_scores_every_part_zero(course):
    nbgrader(course, "autograde", ASSIGNMENT, "--student", "ann")
    graded = json.loads((course / "autograded" / "ann" / ASSIGNMENT / assignment_notebook(ASSIGNMENT).name)
                        .read_text())
    tests = [c for c in graded["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    assert tests
    for cell in tests:
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert errors and errors[0]["ename"] == "GradedOutsideSandbox", cell["outputs"]
        assert "python -m autograder grade" in errors[0]["evalue"] and "--gradebook" in errors[0]["evalue"]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        # The solution's answers, yet nothing scored: the hidden tests refused.
        assert gb.find_submission(ASSIGNMENT, "ann").score == 0


def test_grade_with_gradebook_writes_scores_that_nbgrader_reads_and_exports(course, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(course / "submitted"),
                             "--out", str(out), "--quiet", "--gradebook", str(course / "gradebook.db"),
                             "--due", "2026-12-01T23:59", "--late-penalty", "10%/day"],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gradebook: wrote 3 submission(s)" in result.stderr
    grades = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    full = float(grades["ann"]["max"])
    part_points = 2.0  # conv_output_size_tests, which ben's answer fails on every case
    assert float(grades["ben"]["raw_total"]) == full - part_points
    assert grades["ben"]["late"] == "2" and grades["ben"]["penalty"] == "20%"
    assert float(grades["ben"]["total"]) == pytest.approx(0.8 * (full - part_points))

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_grade("conv2d_tests", "convolution", ASSIGNMENT, "ann").auto_score == 5
        assert gb.find_grade("conv_output_size_tests", "convolution", ASSIGNMENT, "ben").auto_score == 0
        assert gb.find_grade("conv2d_tests", "convolution", ASSIGNMENT, "ben").auto_score == 5
        assert gb.find_grade("conv2d_tests", "convolution", ASSIGNMENT, "cat").auto_score == 0
        assert gb.find_assignment(ASSIGNMENT).max_score == full
        assert gb.find_submission(ASSIGNMENT, "ben").timestamp.isoformat() == "2026-12-03T10:00:00"

    # formgrader lists them as autograded and shows each part's report under its test cell.
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    api = NbGraderAPI(coursedir=CourseDirectory(root=str(course)))
    assert api.get_autograded_students(ASSIGNMENT) == {"ann", "ben", "cat"}
    shown = json.loads((course / "autograded" / "ben" / ASSIGNMENT / "convolution.ipynb").read_text())
    outputs = {c["metadata"].get("nbgrader", {}).get("grade_id"): c["outputs"] for c in shown["cells"]
               if c["cell_type"] == "code" and c["outputs"]}
    assert set(outputs) == _grade_cell_ids(course)  # every part's report, and no other output
    assert "0 of 2 points" in outputs["conv_output_size_tests"][0]["text"]
    assert "5 of 5 points" in outputs["conv2d_tests"][0]["text"]

    nbgrader(course, "export", "--to", str(tmp_path / "export.csv"))
    exported = {r["student_id"]: r for r in csv.DictReader(open(tmp_path / "export.csv"))}
    assert float(exported["ann"]["score"]) == full and float(exported["ann"]["late_submission_penalty"]) == 0
    assert float(exported["ben"]["raw_score"]) == full - part_points
    assert float(exported["ben"]["late_submission_penalty"]) == pytest.approx(0.2 * (full - part_points))
    assert float(exported["ben"]["score"]) == pytest.approx(float(grades["ben"]["total"]))
    assert float(exported["cat"]["score"]) == 0 and float(exported["cat"]["max_score"]) == full


def test_a_gradebook_without_the_assignment_gets_it_from_the_source_notebook(tmp_path):
    from nbgrader.api import Gradebook

    from autograder import gradebook
    from autograder.grade import graded_parts
    from autograder.state import Row

    source = assignment_notebook(ASSIGNMENT)
    parts = graded_parts(source)
    rows = [Row("dan", "dan", {gid: points for gid, points in parts}, sum(p for _, p in parts),
                sum(p for _, p in parts), "flagged", ["looked odd"])]
    assert gradebook.write(tmp_path / "new.db", ASSIGNMENT, source, rows, parts) == 1
    with Gradebook(gradebook.db_url(tmp_path / "new.db")) as gb:
        assert [c.name for c in gb.find_notebook("convolution", ASSIGNMENT).grade_cells] == [g for g, _ in parts]
        submission = gb.find_submission_notebook("convolution", ASSIGNMENT, "dan")
        assert submission.score == sum(p for _, p in parts)
        assert submission.flagged and submission.needs_manual_grade  # flagged work waits for a person


def test_a_gradebook_in_no_folder_stops_grade_before_it_grades(tmp_path):
    (tmp_path / "subs").mkdir()
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(tmp_path / "subs"),
                             "--out", str(tmp_path / "out"), "--gradebook", str(tmp_path / "nowhere" / "gradebook.db")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "--gradebook must be nbgrader's gradebook.db in an existing folder" in result.stderr
    assert not (tmp_path / "out").exists()
