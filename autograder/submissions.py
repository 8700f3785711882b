"""Find the submitted notebooks of one assignment, in either layout an instructor has.

* nbgrader's layout: ``SUBMISSIONS/<student>/<ASSIGNMENT>/<name>.ipynb``;
* a flat folder, as collected from an LMS: ``SUBMISSIONS/<student>.ipynb``.

Every entry of the folder (but hidden ones, such as ``.DS_Store``) belongs
to exactly one :class:`Submission`, whatever it is:

* a file ``<name>.ipynb``, the suffix in any case (``.IPYNB``): the notebook
  of student ``<name>``;
* a folder: student folder of nbgrader's layout, named as it is (a folder
  ``x.ipynb/`` is the student ``x.ipynb``, so it is one student with a file
  ``x.ipynb.ipynb``);
* any other file (``<name>.zip``, ``<name>.pdf``): student ``<name>`` (its
  last extension dropped), status ``bad-file``; archives are never unpacked;
* a symbolic link (it could point at the solution), a FIFO, a device: status
  ``bad-file``.

One person, one row: entries whose names are one identity (see
:mod:`autograder.identity`: case, Unicode normalisation, padding, invisible
characters) are one student. Of them, the newest entry that can be graded
is graded; the row's ``collision`` note names every entry, and the grader
gives the row the status ``duplicate`` (see :func:`mark_collisions`).

One that cannot be graded carries a ``problem`` and still gets a row in the
grade table. A folder of more than :data:`MAX_ENTRIES` entries is refused
as a whole (:class:`~autograder.course.CourseError`), never graded in part. Names come from file names, so they are never trusted: the
shown name has no control character, and each submission also gets a
``key``, safe as a file name, for the grader's own files.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .course import CourseError
from .identity import decoded, identity_of, shown_name
from .untrusted_text import escaped, has_controls, plain

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
MAX_ENTRIES = 100_000
NOTEBOOK_SUFFIX = ".ipynb"
OTHER_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")
ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")


@dataclass
class Submission:
    student: str  # as the file or folder is named (shown, after escaping)
    path: Path | None
    problem: str = ""  # empty when the notebook can be graded
    status: str = "ok"
    key: str = ""  # safe for file names: letters, digits, _ . @ + -
    collision: str = ""  # when several entries are this one student: which, and which was graded
    entries: list = field(default_factory=list)  # the entries' names, as found


def safe_key(name):
    """A file-name-safe, short, unique stand-in for a student name that came from a file name."""
    if STUDENT_ID.match(name) and not name.startswith("."):
        return name
    slug = re.sub(r"[^A-Za-z0-9_.@+-]+", "_", name).strip("._")[:40] or "student"
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{slug}-{digest}"


def printable(text, limit=120):
    """``text`` as one line without control characters, cut to ``limit`` (see :mod:`autograder.untrusted_text`)."""
    return plain(text, limit=limit)


def _kind(path):
    """``"file"``, ``"dir"``, ``"link"``, ``"other"`` or ``"missing"``, never following a link."""
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


def _mtime(path):
    try:
        return os.lstat(path).st_mtime_ns
    except (OSError, TypeError):
        return 0


def student_of(name, kind):
    """The student an entry named ``name`` of ``kind`` (see :func:`_kind`) belongs to, as spelt."""
    if kind == "dir":
        return name
    if name.lower().endswith(NOTEBOOK_SUFFIX):
        return name[:-len(NOTEBOOK_SUFFIX)]
    if kind == "file" and OTHER_EXTENSION.search(name) and OTHER_EXTENSION.sub("", name).strip():
        return OTHER_EXTENSION.sub("", name)
    return name


def _entry(root, name, assignment, notebook_name):
    """``Submission`` of one entry of SUBMISSIONS (its ``student`` as spelt in the file name)."""
    entry = root / name
    kind = _kind(entry)
    student = student_of(name, kind)
    shown = escaped(decoded(name))
    if kind == "link":
        return Submission(student, entry, f"{shown} is a symbolic link, not a file or folder: refused "
                          "(hand in the notebook itself)", "bad-file")
    if kind in ("other", "missing"):
        return Submission(student, entry, f"{shown} is not a regular file (a FIFO, socket or device)", "bad-file")
    if has_controls(decoded(student)) or not identity_of(student):
        # Graded under a safe key would work, but a name with control
        # characters is a prank or a broken export: a person should look.
        return Submission(student, None, f"the name {escaped(decoded(student))!r} holds control characters or "
                          "nothing", "bad-name")
    if kind == "file" and name.lower().endswith(NOTEBOOK_SUFFIX):
        return Submission(student, entry)
    if kind == "file":
        what = "an archive" if name.lower().endswith(ARCHIVES) else "not a notebook"
        return Submission(student, entry, f"{shown} is {what}: only .ipynb files are graded and archives are "
                          "not unpacked (hand in the notebook itself)", "bad-file")
    return _student_folder(entry, student, assignment, notebook_name)


def _student_folder(entry, student, assignment, notebook_name):
    folder = entry / assignment
    folder_kind = _kind(folder)
    if folder_kind != "dir":
        if folder_kind == "link":
            return Submission(student, None, f"{assignment}/ is a symbolic link: refused", "bad-file")
        try:
            others = sorted(escaped(p.name, 60) for p in entry.iterdir() if _kind(p) == "dir")[:10]
        except OSError:
            others = []
        return Submission(student, None, f"no folder {assignment}/ (found {others or 'nothing'})",
                          "wrong-assignment")
    notebook = folder / notebook_name
    notebook_kind = _kind(notebook)
    if notebook_kind == "file":
        return Submission(student, notebook)
    if notebook_kind == "link":
        return Submission(student, notebook, f"{notebook_name} is a symbolic link, not a file: refused", "bad-file")
    if notebook_kind in ("other", "dir"):
        return Submission(student, notebook, f"{notebook_name} is not a regular file", "bad-file")
    try:
        others = sorted(escaped(p.name, 60) for p in folder.glob("*.ipynb"))[:10]
    except OSError:
        others = []
    return Submission(student, None, f"no {notebook_name} in {assignment}/ (found {others or 'nothing'})",
                      "missing-notebook")


def collect(submissions_dir, assignment, notebook_name):
    """Every student in ``submissions_dir`` with their notebook for ``assignment``.

    ``notebook_name`` is the file name of the assignment's notebook
    (``convolution.ipynb``). Raises ``FileNotFoundError`` when the folder does
    not exist; returns one :class:`Submission` per identity, sorted by shown
    name. The notebooks are not read here (see :mod:`autograder.notebook`).
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder of submissions, got {plain(str(root))!r}")
    names = []
    with os.scandir(root) as scan:
        for number, entry in enumerate(scan):
            if number >= MAX_ENTRIES:
                # Grading the first ones only would drop students without a row: refuse, and say why.
                raise CourseError(f"SUBMISSIONS must hold at most {MAX_ENTRIES:,} entries, got more in "
                                  f"{plain(str(root))!r}: grade the class in parts")
            names.append(entry.name)
    groups = {}
    for name in sorted(names):
        if name.startswith("."):
            continue  # .DS_Store, .ipynb_checkpoints: the system's, not a student's
        found = _entry(root, name, assignment, notebook_name)
        found.entries = [name]
        # A name that is nothing but control characters is no identity: its own row.
        identity = identity_of(found.student) or f"\0{name}"
        groups.setdefault(identity, []).append(found)
    chosen = [_one_of(group) for group in groups.values()]
    return _with_keys(sorted(chosen, key=lambda s: (s.student, s.entries)))


def _one_of(group):
    """The entry that stands for one student: the newest that can be graded; a note names the others."""
    best = max(group, key=lambda s: (not s.problem, _mtime(s.path), s.entries[0]))
    own = best.entries[0]
    best.student = shown_name(best.student) or escaped(decoded(best.entries[0]))
    if len(group) > 1:
        best.entries = sorted(name for s in group for name in s.entries)
        spelt = [escaped(decoded(name), 60) for name in best.entries]
        if len(set(spelt)) < len(spelt):  # look alike (josé composed and decomposed): show the code points
            spelt = [name.encode("ascii", "backslashreplace").decode()[:60] for name in spelt]
        listed = ", ".join(repr(name) for name in spelt[:10])
        more = f" and {len(best.entries) - 10} more" if len(best.entries) > 10 else ""
        what = "graded the newest that can be graded" if not best.problem else "none of them can be graded; shown"
        best.collision = (f"{len(best.entries)} entries are one student: {listed}{more}; {what}, "
                          f"{escaped(decoded(own), 60)!r}")
        if best.problem:
            best.problem = f"{best.problem} ({best.collision})"
    return best


def _with_keys(submissions):
    """``submissions`` with unique shown names and unique keys (a key is stable while its name is)."""
    keys, names = set(), set()
    for submission in submissions:
        name, number = submission.student, 1
        while name in names:  # an unnamed entry shown as the escapes a real name could spell
            number += 1
            name = f"{submission.student} ({number})"
        names.add(name)
        submission.student = name
        key = safe_key(submission.student)
        while key in keys:  # two odd names that slug alike
            key = safe_key(key + "'")
        keys.add(key)
        submission.key = key
    return submissions


def find_student(submissions, wanted):
    """The shown name of the submission whose identity is ``wanted``'s (any spelling of it), or ``None``.

    Parameters
    ----------
    submissions : list of Submission
        As :func:`collect` returns them.
    wanted : str
        A student's name as the instructor typed it (``--student``).
    """
    return {identity_of(s.student): s.student for s in submissions}.get(identity_of(wanted))


def mark_collisions(rows, submissions):
    """Put each collision's note on its row (``rows``: ``{student: Row}``); an ``ok`` row becomes ``duplicate``.

    Applied after grading, every run, so that a saved row stays the grade of
    its file alone.
    """
    for submission in submissions:
        row = rows.get(submission.student)
        if row is None or not submission.collision or submission.problem:
            continue
        if submission.collision not in row.notes:
            row.notes.insert(0, submission.collision)
        if row.status == "ok":
            row.status = "duplicate"
