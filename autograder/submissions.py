"""Find the submitted notebooks of one assignment, in either layout an instructor has.

* nbgrader's layout: ``SUBMISSIONS/<student>/<ASSIGNMENT>/<name>.ipynb``;
* a flat folder, as collected from an LMS: ``SUBMISSIONS/<student>.ipynb``.

Every student found gets a :class:`Submission`; one that cannot be graded
carries a ``problem`` (and still gets a row in the grade table).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


@dataclass
class Submission:
    student: str
    path: Path | None
    problem: str = ""  # empty when the notebook can be graded
    status: str = "ok"


def _check_notebook(path):
    """``(status, problem)`` for a file that should be a notebook."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return "unreadable", f"cannot read {path.name}: {exc.strerror}"
    if not raw.strip():
        return "empty-file", f"{path.name} is empty"
    try:
        nb = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return "invalid-notebook", f"{path.name} is not valid notebook JSON ({exc.__class__.__name__})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "invalid-notebook", f"{path.name} is JSON but not a notebook (no list of cells)"
    return "ok", ""


def collect(submissions_dir, assignment, notebook_name):
    """Every student in ``submissions_dir`` with their notebook for ``assignment``.

    ``notebook_name`` is the file name of the assignment's notebook
    (``convolution.ipynb``). Raises ``FileNotFoundError`` when the folder does
    not exist; returns students sorted by id.
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder of submissions, got {str(root)!r}")
    found = {}

    def add(submission):
        if submission.student in found:
            other = found[submission.student]
            found[submission.student] = Submission(
                submission.student, None, f"two submissions for one student: {other.path} and {submission.path}",
                "duplicate",
            )
        else:
            found[submission.student] = submission

    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        student = entry.stem if entry.is_file() else entry.name
        if entry.is_file() and entry.suffix != ".ipynb":
            continue
        if not STUDENT_ID.match(student):
            add(Submission(student, None, f"{entry.name}: student id must be letters, digits, _ . @ + -", "bad-name"))
            continue
        if entry.is_file():
            status, problem = _check_notebook(entry)
            add(Submission(student, entry, problem, status))
            continue
        folder = entry / assignment
        if not folder.is_dir():
            others = sorted(p.name for p in entry.iterdir() if p.is_dir())
            add(Submission(student, None, f"no folder {assignment}/ (found {others or 'nothing'})", "wrong-assignment"))
            continue
        notebook = folder / notebook_name
        if not notebook.is_file():
            others = sorted(p.name for p in folder.glob("*.ipynb"))
            add(Submission(student, None, f"no {notebook_name} in {assignment}/ (found {others or 'nothing'})",
                           "missing-notebook"))
            continue
        status, problem = _check_notebook(notebook)
        add(Submission(student, notebook, problem, status))
    return [found[s] for s in sorted(found)]
