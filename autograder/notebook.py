"""Reading notebooks from strangers: a submitted file becomes plain, typed cells, or a stated problem.

Only what grading needs survives: each cell's type, its source as one
string and the nbgrader fields (``grade_id``, ``grade``, ``solution``,
``locked``, ``points``) when they have the right types. Nothing else of a
submission's JSON (outputs, attachments, other metadata) is ever used, so
nothing in it can reach the grader's code or the feedback page.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024
MAX_CELLS = 2000
MAX_SOURCE_CHARS = 1_000_000  # one cell
# JSON may spell a lone UTF-16 surrogate ("\udce9"); no file, digest or page can hold one.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
NBGRADER_FIELDS = {"grade_id": str, "grade": bool, "solution": bool, "locked": bool, "points": (int, float)}


class NotebookProblem(Exception):
    """A file that cannot be graded as a notebook; ``status`` is the grade table's status."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


@dataclass
class Cell:
    cell_type: str  # "code", "markdown" or "raw"
    source: str
    nbgrader: dict  # only the typed nbgrader fields

    @property
    def grade_id(self):
        return self.nbgrader.get("grade_id")


def read_bytes(path):
    """The bytes of a regular file, refusing links, FIFOs, devices and oversized files without blocking."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise NotebookProblem("unreadable", f"cannot read {path.name}: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise NotebookProblem("bad-file", f"{path.name} is a symbolic link, not a file: hand in the notebook itself")
    if not stat.S_ISREG(info.st_mode):
        raise NotebookProblem("bad-file", f"{path.name} is not a regular file")
    if info.st_size > MAX_NOTEBOOK_BYTES:
        raise NotebookProblem("invalid-notebook", f"{path.name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise NotebookProblem("unreadable", f"cannot read {path.name}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotebookProblem("bad-file", f"{path.name} is not a regular file")
        return handle.read(MAX_NOTEBOOK_BYTES + 1)


def parse(raw, name="notebook"):
    """The cells of a notebook given as bytes; :class:`NotebookProblem` when it is not one."""
    if not raw.strip():
        raise NotebookProblem("empty-file", f"{name} is empty")
    try:
        nb = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError, MemoryError) as exc:
        # ValueError covers bad JSON and integers too long to convert.
        raise NotebookProblem("invalid-notebook", f"{name} is not valid notebook JSON ({type(exc).__name__})") \
            from None
    if isinstance(nb, dict) and "worksheets" in nb and "cells" not in nb:
        raise NotebookProblem("invalid-notebook", f"{name} is an nbformat 3 notebook (cells in worksheets): open "
                              "it in Jupyter and save it again, which writes nbformat 4")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookProblem("invalid-notebook", f"{name} is JSON but not a notebook (no list of cells)")
    if len(nb["cells"]) > MAX_CELLS:
        raise NotebookProblem("invalid-notebook", f"{name} has more than {MAX_CELLS} cells")
    return [cell for cell in map(_cell, nb["cells"]) if cell is not None]


def load(path):
    """The cells of the notebook file at ``path`` (see :func:`read_bytes` and :func:`parse`)."""
    return parse(read_bytes(path), Path(path).name)


def _cell(raw):
    if not isinstance(raw, dict) or raw.get("cell_type") not in ("code", "markdown", "raw"):
        return None
    source = raw.get("source", "")
    if isinstance(source, list):
        source = "".join(part for part in source if isinstance(part, str))
    elif not isinstance(source, str):
        source = ""
    source = LONE_SURROGATE.sub("\ufffd", source[:MAX_SOURCE_CHARS])
    metadata = raw.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    fields = {}
    if isinstance(nbgrader, dict):
        for key, kind in NBGRADER_FIELDS.items():
            value = nbgrader.get(key)
            if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
                fields[key] = LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value
    if "grade_id" in fields and (len(fields["grade_id"]) > 200 or not fields["grade_id"].strip()):
        del fields["grade_id"]
    return Cell(raw["cell_type"], source, fields)


def course_cells(path):
    """The cells of one of the course's own notebooks (trusted, but read the same way)."""
    return parse(Path(path).read_bytes(), Path(path).name)


def is_answer(cell):
    """An answer cell: nbgrader's ``solution`` cell, the student's to write."""
    return bool(cell.nbgrader.get("solution"))


def is_graded_test(cell):
    """A graded test cell: ``grade`` without ``solution`` (its hidden part calls ``check``)."""
    return cell.cell_type == "code" and bool(cell.nbgrader.get("grade")) and not cell.nbgrader.get("solution")


def solution_answers(path):
    """``{grade_id: source}`` of a source notebook's answer cells, the solution markers removed."""
    answers = {}
    for cell in course_cells(path):
        if is_answer(cell) and cell.grade_id:
            answers[cell.grade_id] = "\n".join(line for line in cell.source.splitlines()
                                               if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    return answers
