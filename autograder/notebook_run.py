"""The notebook run: nbgrader autograde and generate_feedback, each kernel sandboxed.

This gives each student the feedback they know from nbgrader (their notebook
with every test cell's output and score) and the notebook's own scores,
which the grader compares with the verdict. It is never the grade itself:
code in the notebook can fake its own tests (see :mod:`autograder.verdict`).

One nbgrader call handles a batch of students, in a scratch course of its
own (its own gradebook), so parallel workers never share a database.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from .course import run_nbgrader


def _kernel_spec(folder):
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "autograder.kernel_sandbox", "{connection_file}"],
        "display_name": "Python 3 (sandboxed for grading)",
        "language": "python",
    }))


def run_batch(assignment, source, submissions, course, seed, limits, hide=()):
    """Autograde ``submissions`` (``{student: notebook path}``) in the scratch course ``course``.

    Returns ``{student: {"scores": {grade_id: score}, "feedback": path or None,
    "stopped": bool}}`` for the students nbgrader recorded; ``stopped`` is true
    when the batch ran past its time budget and was stopped (its scores are
    then incomplete).
    """
    course = Path(course)
    if course.exists():
        shutil.rmtree(course)
    (course / "source" / assignment).mkdir(parents=True)
    shutil.copy(source, course / "source" / assignment / source.name)
    _kernel_spec(course / "jupyter")
    # Unix socket paths are limited to about 100 characters: the kernels'
    # sockets live in a short folder of their own, not under OUT.
    runtime = Path(tempfile.mkdtemp(prefix="ag-"))
    try:
        return _run(assignment, source, submissions, course, seed, limits, hide, runtime)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def _run(assignment, source, submissions, course, seed, limits, hide, runtime):
    for student, path in submissions.items():
        target = course / "submitted" / student / assignment
        target.mkdir(parents=True)
        shutil.copy(path, target / source.name)

    overrides = [
        f"--CourseDirectory.root={course}",
        "--CourseDirectory.source_directory=source",
        "--CourseDirectory.release_directory=release",
        "--CourseDirectory.submitted_directory=submitted",
        "--CourseDirectory.autograded_directory=autograded",
        "--CourseDirectory.feedback_directory=feedback",
        f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
        "--KernelManager.transport=ipc",
        # One kernel at a time per batch: a fixed connection file in the
        # batch's runtime folder, which the kernel's sandbox mounts.
        f"--KernelManager.connection_file={runtime / 'kernel.json'}",
        f"--Execute.timeout={int(limits.cell_seconds)}",
        "--Execute.interrupt_on_timeout=True",
        "--Execute.raise_on_iopub_timeout=False",
        # The kernel is thrown away after each notebook: no need to wait for a clean exit.
        "--Execute.shutdown_kernel=immediate",
    ]
    env = {
        "JUPYTER_PATH": str(course / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "AUTOGRADER_KERNEL": json.dumps({"limits": asdict(limits), "seed": seed,
                                         "hide": [str(course), *map(str, hide)]}),
    }
    # One process for the three commands: nbgrader's start-up is paid once per batch.
    budget = limits.wall_seconds * max(len(submissions), 1) + 120
    result = run_nbgrader("generate_assignment,autograde,generate_feedback", assignment, "--force", cwd=course,
                          overrides=overrides, env=env, check=False, timeout=budget,
                          module="autograder.nbgrader_batch")
    (course / "autograde.log").write_text(result.stdout or "")

    from nbgrader.api import Gradebook, MissingEntry

    results = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in submissions:
            try:
                notebook = gradebook.find_submission_notebook(source.stem, assignment, student)
            except MissingEntry:
                continue
            scores = {grade.name: float(grade.auto_score or 0.0) for grade in notebook.grades
                      if grade.auto_score is not None or grade.manual_score is None}
            feedback = course / "feedback" / student / assignment / f"{source.stem}.html"
            results[student] = {"scores": scores, "feedback": feedback if feedback.is_file() else None,
                                "stopped": result.returncode == -9}
    return results
