"""Write the course grader's scores into nbgrader's gradebook: ``grade ... --gradebook gradebook.db``.

The scores come from the sandboxed run (:mod:`autograder.grade`); nbgrader
never executes a submission. This module only records them through
nbgrader's own :class:`nbgrader.api.Gradebook`, so formgrader lists them,
manual grading adds to them and ``nbgrader export`` sums them:

* the assignment, its notebook and its grade and solution cells are added
  from the source notebook's nbgrader metadata when ``generate_assignment``
  has not put them there already (points as the course grades them);
* each graded student is added when missing, with a ``SubmittedAssignment``
  (its timestamp when known) and a ``SubmittedNotebook``;
* each grade cell's ``auto_score`` is the part's score; a submission that
  needs a human look (flagged, unsandboxed, not graded as it stands) keeps
  ``needs_manual_grade`` so formgrader shows it for review;
* a late penalty (:mod:`autograder.late`) is the notebook's
  ``late_submission_penalty`` in points, which ``nbgrader export`` subtracts.

* formgrader shows a submission from nbgrader's ``autograded/`` folder: a
  copy of the student's notebook goes there (``autograded/<student>/
  <assignment>/<name>.ipynb`` beside the gradebook, as in nbgrader's default
  layout), every output cleared (a notebook's own outputs could hold any
  HTML) and each hidden test cell's output the part's report.

Rows the grader could not grade (``grader-error``) are left out: a re-run
writes them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import part_reports
from .submissions import STUDENT_ID

NOT_WRITTEN = ("grader-error",)
# A row whose score a person must confirm before it stands.
NEEDS_LOOK = ("flagged", "unsandboxed", "stopped-early", "late-unknown", "not-in-roster")


def db_url(path):
    """nbgrader's SQLAlchemy URL of a gradebook file (``sqlite:///...``), or ``path`` when it already is one."""
    text = str(path)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).resolve())


def _source_cells(source_path):
    """``(grade cells, solution cells)`` of the source notebook: ``[(grade_id, points, cell_type)]``, ``[grade_id]``."""
    cells = json.loads(Path(source_path).read_text())["cells"]
    graded, solutions = [], []
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade_id"):
            continue
        if meta.get("grade"):
            graded.append((meta["grade_id"], float(meta.get("points") or 0.0), cell.get("cell_type", "code")))
        if meta.get("solution"):
            solutions.append(meta["grade_id"])
    return graded, solutions


def ensure_assignment(gb, assignment, source_path, parts, due=None):
    """Add ``assignment``, its notebook and cells to the gradebook ``gb`` where missing.

    ``parts`` (``[(grade_id, points)]``) are the points the course grades
    with; a grade cell that nbgrader already knows keeps its id and gets
    these points when they differ, so ``max_score`` agrees with the grader.
    """
    from nbgrader.api import MissingEntry

    notebook = Path(source_path).stem
    try:
        record = gb.find_assignment(assignment)
        if due is not None and record.duedate != due:
            gb.update_or_create_assignment(assignment, duedate=due)
    except MissingEntry:
        gb.add_assignment(assignment, duedate=due)
    try:
        gb.find_notebook(notebook, assignment)
    except MissingEntry:
        gb.add_notebook(notebook, assignment)
    points = dict(parts)
    graded, solutions = _source_cells(source_path)
    for grade_id, cell_points, cell_type in graded:
        wanted = points.get(grade_id, cell_points)
        try:
            cell = gb.find_grade_cell(grade_id, notebook, assignment)
            if cell.max_score != wanted:
                gb.update_or_create_grade_cell(grade_id, notebook, assignment, max_score=wanted)
        except MissingEntry:
            gb.add_grade_cell(grade_id, notebook, assignment, max_score=wanted, cell_type=cell_type)
    for grade_id in solutions:
        try:
            gb.find_solution_cell(grade_id, notebook, assignment)
        except MissingEntry:
            gb.add_solution_cell(grade_id, notebook, assignment)
    return notebook


def autograded_copy(submitted_path, row, parts):
    """The notebook formgrader shows for ``row``: the submission, outputs cleared, each test cell its report.

    Returns None when the submission is no notebook JSON (its row says why).
    """
    from .notebook import NotebookProblem, read_bytes

    try:
        notebook = json.loads(read_bytes(submitted_path))
        cells = notebook["cells"]
    except (NotebookProblem, ValueError, KeyError, TypeError):
        return None
    reports = part_reports.split(row.feedback, [gid for gid, _ in parts])
    graded = {gid for gid, _ in parts}
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cell["outputs"], cell["execution_count"] = [], None
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if grade_id in graded:
            text = reports.get(grade_id) or "; ".join(row.notes) or "not graded"
            cell["outputs"] = [{"output_type": "stream", "name": "stdout",
                                "text": f"Graded in the sandbox by python -m autograder grade:\n{text}\n"}]
    return notebook


def _write_autograded(folder, assignment, notebook_name, row, submitted_path, parts):
    """Write the formgrader copy of ``row``'s submission under ``folder``; False when it cannot be."""
    if submitted_path is None or not STUDENT_ID.match(row.student):
        return False  # a name nbgrader could not use as a folder: the gradebook still has the scores
    notebook = autograded_copy(submitted_path, row, parts)
    if notebook is None:
        return False
    target = Path(folder) / row.student / assignment
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".{notebook_name}.tmp"
    tmp.write_text(json.dumps(notebook, indent=1))
    os.replace(tmp, target / notebook_name)
    return True


def write(path, assignment, source_path, rows, parts, times=None, due=None, submitted=None):
    """Record ``rows`` (:class:`autograder.state.Row`) in the gradebook at ``path``; return how many were written.

    ``times`` maps a student to their submission time (naive UTC
    ``datetime``); ``due`` is the assignment's due time, given to nbgrader too.
    ``submitted`` maps a student to their notebook's path: its formgrader
    copy goes to ``autograded/`` beside the gradebook.
    """
    from nbgrader.api import Gradebook, MissingEntry

    times, submitted = times or {}, submitted or {}
    url = db_url(path)
    # formgrader's copies go beside a gradebook file; a database server has no "beside".
    autograded = Path(url[len("sqlite:///"):]).parent / "autograded" if url.startswith("sqlite:///") else None
    written = 0
    with Gradebook(url) as gb:
        notebook = ensure_assignment(gb, assignment, source_path, parts, due)
        for row in rows:
            if row.status in NOT_WRITTEN:
                continue
            try:
                gb.find_student(row.student)
            except MissingEntry:
                gb.add_student(row.student)
            when = times.get(row.student)
            extra = {"timestamp": when} if hasattr(when, "isoformat") else {}
            submission = gb.update_or_create_submission(assignment, row.student, **extra)
            graded_notebook = next(nb for nb in submission.notebooks if nb.name == notebook)
            for grade_id, _ in parts:
                grade = gb.find_grade(grade_id, notebook, assignment, row.student)
                grade.auto_score = float(row.scores.get(grade_id, 0.0))
                grade.needs_manual_grade = row.status in NEEDS_LOOK
            if row.raw_total is not None:  # a due time was given: nbgrader export subtracts the penalty
                graded_notebook.late_submission_penalty = round(row.raw_total - row.total, 2)
            graded_notebook.flagged = row.status != "ok"  # formgrader's flag: a person looks
            gb.db.commit()
            if autograded is not None:
                _write_autograded(autograded, assignment, Path(source_path).name, row, submitted.get(row.student),
                                  parts)
            written += 1
    return written
