"""Find the submitted notebooks of one assignment, in either layout an instructor has.

* nbgrader's layout: ``SUBMISSIONS/<student>/<ASSIGNMENT>/<name>.ipynb``;
* a flat folder, as collected from an LMS: ``SUBMISSIONS/<student>.ipynb``.

Every entry of the folder that looks like a submission gets exactly one
:class:`Submission`, whatever it is: a notebook, a symbolic link (refused:
a link could point at the solution), a FIFO, a folder without the
assignment. One that cannot be graded carries a ``problem`` and still gets
a row in the grade table. Names come from file names, so they are never
trusted: each submission also gets a ``key``, safe as a file name, for the
grader's own files.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
MAX_ENTRIES = 100_000


@dataclass
class Submission:
    student: str  # as the file or folder is named (shown, after escaping)
    path: Path | None
    problem: str = ""  # empty when the notebook can be graded
    status: str = "ok"
    key: str = ""  # safe for file names: letters, digits, _ . @ + -


def safe_key(name):
    """A file-name-safe, short, unique stand-in for a student name that came from a file name."""
    if STUDENT_ID.match(name) and not name.startswith("."):
        return name
    slug = re.sub(r"[^A-Za-z0-9_.@+-]+", "_", name).strip("._")[:40] or "student"
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{slug}-{digest}"


def printable(text, limit=120):
    """``text`` without control characters (escaped as ``\\xNN``), cut to ``limit``: safe for a terminal."""
    out = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"
                  for ch in text)
    return out if len(out) <= limit else out[:limit - 1] + "…"


def _kind(path):
    """``"file"``, ``"dir"``, ``"link"`` or ``"other"``, never following a link."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "missing"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


def collect(submissions_dir, assignment, notebook_name):
    """Every student in ``submissions_dir`` with their notebook for ``assignment``.

    ``notebook_name`` is the file name of the assignment's notebook
    (``convolution.ipynb``). Raises ``FileNotFoundError`` when the folder does
    not exist; returns students sorted by name. The notebooks are not read
    here (see :mod:`autograder.notebook`).
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder of submissions, got {str(root)!r}")
    found, keys = {}, set()

    def add(student, path, problem="", status="ok"):
        if student in found:
            other = found[student]
            found[student] = Submission(student, None, f"two submissions for one student: "
                                        f"{other.path or other.problem} and {path}", "duplicate", other.key)
            return
        key = safe_key(student)
        while key in keys:  # two odd names that slug alike
            key = safe_key(key + "'")
        keys.add(key)
        found[student] = Submission(student, path, problem, status, key)

    entries = []
    with os.scandir(root) as scan:
        for number, entry in enumerate(scan):
            if number >= MAX_ENTRIES:
                break
            entries.append(entry.name)
    for name in sorted(entries):
        if name.startswith("."):
            continue
        entry = root / name
        kind = _kind(entry)
        is_notebook = name.endswith(".ipynb")
        student = name[:-len(".ipynb")] if is_notebook else name
        if kind in ("file", "other") and not is_notebook:
            continue  # notes, PDFs, archives: not submissions
        if kind == "link":
            add(student, entry, f"{printable(name)} is a symbolic link, not a file or folder: refused "
                "(hand in the notebook itself)", "bad-file")
            continue
        if kind == "other":
            add(student, entry, f"{printable(name)} is not a regular file (a FIFO, socket or device)", "bad-file")
            continue
        if not student.isprintable() or not student.strip():
            # Graded under a safe key would work, but a name with control
            # characters is a prank or a broken export: a person should look.
            add(student, None, f"the name {printable(student)!r} holds control characters or nothing", "bad-name")
            continue
        if kind == "file":
            add(student, entry)
            continue
        folder = entry / assignment
        folder_kind = _kind(folder)
        if folder_kind != "dir":
            if folder_kind == "link":
                add(student, None, f"{assignment}/ is a symbolic link: refused", "bad-file")
                continue
            try:
                others = sorted(p.name for p in entry.iterdir() if _kind(p) == "dir")[:10]
            except OSError:
                others = []
            add(student, None, f"no folder {assignment}/ (found {others or 'nothing'})", "wrong-assignment")
            continue
        notebook = folder / notebook_name
        notebook_kind = _kind(notebook)
        if notebook_kind == "file":
            add(student, notebook)
        elif notebook_kind == "link":
            add(student, notebook, f"{notebook_name} is a symbolic link, not a file: refused", "bad-file")
        elif notebook_kind == "other" or notebook_kind == "dir":
            add(student, notebook, f"{notebook_name} is not a regular file", "bad-file")
        else:
            try:
                others = sorted(p.name for p in folder.glob("*.ipynb"))[:10]
            except OSError:
                others = []
            add(student, None, f"no {notebook_name} in {assignment}/ (found {others or 'nothing'})",
                "missing-notebook")
    return [found[s] for s in sorted(found)]
