"""Grade a folder of submissions of one assignment with nbgrader and write the results.

Results in ``OUT``: ``grades.csv`` (``student``, one column per graded part
named by its grade id, ``total``, ``max``, ``status``), ``feedback/<student>.html``
and, while it works, a scratch nbgrader course in ``OUT/.course``.
"""

from __future__ import annotations

import csv
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from .course import CourseError, assignment_notebook, run_nbgrader
from .submissions import collect


@dataclass
class Row:
    student: str
    scores: dict = field(default_factory=dict)
    total: float = 0.0
    max: float = 0.0
    status: str = "ok"
    note: str = ""


def graded_parts(notebook_path):
    """``[(grade_id, points)]`` of the graded cells of a source notebook, in order."""
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    parts = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            parts.append((meta["grade_id"], float(meta.get("points", 0))))
    return parts


def _scratch_course(out, assignment, source_notebook):
    course = out / ".course"
    if course.exists():
        shutil.rmtree(course)
    (course / "source" / assignment).mkdir(parents=True)
    shutil.copytree(source_notebook.parent, course / "source" / assignment, dirs_exist_ok=True)
    overrides = [
        f"--CourseDirectory.root={course}",
        "--CourseDirectory.source_directory=source",
        "--CourseDirectory.release_directory=release",
        "--CourseDirectory.submitted_directory=submitted",
        "--CourseDirectory.autograded_directory=autograded",
        "--CourseDirectory.feedback_directory=feedback",
        f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
    ]
    return course, overrides


def grade(assignment, submissions_dir, out):
    """Grade every submission of ``assignment`` in ``submissions_dir``; return the rows."""
    source = assignment_notebook(assignment)
    parts = graded_parts(source)
    max_points = sum(points for _, points in parts)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    submissions = collect(submissions_dir, assignment, source.name)

    course, overrides = _scratch_course(out, assignment, source)
    run_nbgrader("generate_assignment", assignment, "--force", cwd=course, overrides=overrides)
    gradable = [s for s in submissions if not s.problem]
    for submission in gradable:
        target = course / "submitted" / submission.student / assignment
        target.mkdir(parents=True)
        shutil.copy(submission.path, target / source.name)
    if gradable:
        run_nbgrader("autograde", assignment, "--force", cwd=course, overrides=overrides, check=False)
        run_nbgrader("generate_feedback", assignment, "--force", cwd=course, overrides=overrides, check=False)

    rows = []
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for submission in submissions:
            row = Row(submission.student, {gid: 0.0 for gid, _ in parts}, 0.0, max_points, submission.status,
                      submission.problem)
            if not submission.problem:
                try:
                    graded = gradebook.find_submission_notebook(source.stem, assignment, submission.student)
                except MissingEntry:
                    row.status, row.note = "not-graded", "nbgrader did not record this submission"
                else:
                    for grade_entry in graded.grades:
                        if grade_entry.name in row.scores:
                            row.scores[grade_entry.name] = float(grade_entry.score or 0.0)
                row.total = round(sum(row.scores.values()), 2)
            rows.append(row)

    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    for row in rows:
        html = course / "feedback" / row.student / assignment / f"{source.stem}.html"
        if html.is_file():
            shutil.copy(html, feedback / f"{row.student}.html")
    write_csv(out / "grades.csv", rows, [gid for gid, _ in parts])
    return rows


def write_csv(path, rows, grade_ids):
    """``student, <grade ids...>, total, max, status`` with one row per student."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *grade_ids, "total", "max", "status"])
        for row in rows:
            writer.writerow([row.student, *(f"{row.scores[g]:g}" for g in grade_ids), f"{row.total:g}",
                             f"{row.max:g}", row.status])


def summary(rows):
    """A short text summary for the instructor: count, mean, median, who needs a look."""
    totals = [row.total for row in rows]
    lines = [f"{len(rows)} submissions graded"]
    if totals:
        lines.append(f"mean {statistics.mean(totals):.2f}, median {statistics.median(totals):.2f} "
                     f"of {rows[0].max:g} points")
    flagged = [row for row in rows if row.status != "ok"]
    for row in flagged:
        lines.append(f"  needs a look: {row.student}: {row.status}" + (f" ({row.note})" if row.note else ""))
    return "\n".join(lines)
