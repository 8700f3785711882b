"""What a grading run keeps in ``OUT/.state``: the class's secret seed, one row per graded student, the self-test.

A saved row is reused only while its fingerprint matches: the submission's
bytes and everything that decides a grade (the course's notebooks, the
grader's and cnnkit's code, the seed, the limits, the Python and NumPy
versions). Change any of them and the row is graded again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import platform
import secrets
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .course import ROOT

STATE_VERSION = 2
MAX_NOTES = 20  # per row: review.csv, the class page and the terminal show them all
MAX_NOTE_CHARS = 500
# Kept first when a row's notes are cut: what decides its status.
URGENT_NOTES = ("unsandboxed", "tampering", "the notebook", "file identical to")


def bounded_notes(notes):
    """``notes`` as at most :data:`MAX_NOTES` strings of at most :data:`MAX_NOTE_CHARS`, saying what was cut.

    A notebook that raises in every one of its cells, or trips a flag a
    thousand times, must not make its row (and the class's tables) grow
    without bound.
    """
    notes = list(notes) if isinstance(notes, (list, tuple)) else [notes]
    if len(notes) > MAX_NOTES:  # a flood of duplicated cells must not push a tampering flag out
        notes.sort(key=lambda note: not str(note).startswith(URGENT_NOTES))
    kept = [text if len(text) <= MAX_NOTE_CHARS else text[:MAX_NOTE_CHARS - 1] + "…"
            for text in map(str, notes[:MAX_NOTES])]
    if len(notes) > MAX_NOTES:
        kept[-1] = f"… and {len(notes) - MAX_NOTES + 1} more notes (a row keeps {MAX_NOTES})"
    return kept


@dataclass
class Row:
    student: str
    key: str = ""
    scores: dict = field(default_factory=dict)
    total: float = 0.0
    max: float = 0.0
    status: str = "ok"
    notes: list = field(default_factory=list)
    fingerprint: str = ""
    feedback: str = ""  # the verdict's report in plain text
    seconds: float = 0.0
    answers: str = ""  # digest of the student's own cells (to find copies)
    parts: list = field(default_factory=list)  # [{grade_id, title, points, max}] in the exercise's order
    # Late work (autograder.late), set only when a due time is given: total is then after the penalty.
    raw_total: float | None = None
    submitted: str = ""  # UTC
    late: int = 0  # started days (or hours) late
    penalty: float = 0.0  # fraction of the points earned

    def __post_init__(self):
        self.notes = bounded_notes(self.notes)

    @classmethod
    def from_dict(cls, data):
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not isinstance(data.get("student"), str):
            raise ValueError("not a saved row")
        return cls(**{k: v for k, v in data.items() if k in names})


def zero_row(student, key, parts, status, note, fingerprint=""):
    """The row of a submission that earns nothing because it could not be graded (``parts``: [(id, points)])."""
    return Row(student, key, {gid: 0.0 for gid, _ in parts}, 0.0, sum(p for _, p in parts), status,
               [note] if note else [], fingerprint)


def submission_seed(class_secret, key, digest):
    """The hidden cases' seed of one submission: HMAC of its identity and its bytes under the class's secret.

    A case that leaks (printed into a page, kept by a student) serves no
    classmate, whose cases differ, and no resubmission, whose bytes differ;
    the same file graded again gets the same cases.
    """
    mac = hmac.new(str(class_secret).encode(), f"{key}\0{digest}".encode(), hashlib.sha256)
    return int.from_bytes(mac.digest()[:4], "big") % 2**31


def sha256(*items):
    digest = hashlib.sha256()
    for item in items:
        digest.update(item if isinstance(item, bytes) else Path(item).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def code_files():
    """Every file whose change can change a grade: the grader, the grading cases, the reference ops."""
    files = []
    for package in ("autograder", "cnnkit"):
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def assignment_fingerprint(source, release, seed, limits):
    import numpy

    versions = json.dumps([STATE_VERSION, seed, asdict(limits), platform.python_version(), numpy.__version__])
    return sha256(source, release, *code_files(), versions.encode())


class State:
    """The folder ``OUT/.state``: private to the grader's user."""

    def __init__(self, out):
        self.folder = Path(out) / ".state"
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def seed(self, given=None):
        """The hidden cases' seed: given, or made once per OUT and kept private."""
        if given is not None:
            return int(given)
        path = self.folder / "seed"
        if path.is_file():
            try:
                return int(path.read_text())
            except ValueError:
                pass
        seed = secrets.randbelow(2**31)
        self._write(path, str(seed))
        return seed

    def _write(self, path, text):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)  # atomic: an interruption never leaves half a file

    def load_row(self, key):
        path = self.folder / "rows" / f"{key}.json"
        try:
            return Row.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save_row(self, row):
        (self.folder / "rows").mkdir(exist_ok=True)
        self._write(self.folder / "rows" / f"{row.key}.json", json.dumps(asdict(row)))

    def selftest(self, fingerprint):
        try:
            return json.loads((self.folder / "selftest.json").read_text()).get(fingerprint)
        except (OSError, ValueError, AttributeError):
            return None

    def save_selftest(self, fingerprint, result):
        self._write(self.folder / "selftest.json", json.dumps({fingerprint: result}))
