"""LMS identities from a roster, and grade files that Canvas and Moodle import as they are.

``--roster FILE`` is the class list exported from the LMS:

* Canvas's gradebook export: ``Student, ID, SIS User ID, SIS Login ID,
  Section`` then one column per assignment (``Name (12345)``), its second
  row ``Points Possible`` (skipped, as are other rows without an ``ID``);
* Moodle's grade export (or its assignment's grading worksheet):
  ``Username`` and/or ``Email address``, ``ID number``, names.

A submission's name (its file or folder name) matches a roster entry when it
equals, after Unicode NFKC normalisation and case folding, one of the
entry's identities: Canvas login, SIS user id, Canvas id; Moodle username,
e-mail or its local part, ID number. A Canvas download's file name
(``doejane_12345_67890_convolution.ipynb``) also matches by its Canvas id.
A name that matches no entry, or several, is reported, never guessed.

Written from the roster (``OUT/canvas.csv``, ``OUT/moodle.csv``):

* Canvas: the five identity columns, then the assignment's column named as
  the roster names it (``Assignment Name (12345)``: Canvas updates that
  assignment) or, when the roster has none, by the assignment's name (Canvas
  creates it); the second row ``Points Possible``. Per-part scores are not
  written: Canvas would make each part an assignment of its own.
* Moodle: the roster's identifier column (``Username``, else ``Email
  address``, else ``ID number``), ``Full name``, the grade column and a
  feedback column with the per-part scores (map it to the grade item's
  feedback when importing).

Roster students without a submission get an empty grade: both LMSs leave an
empty cell unchanged on import, so a grade entered there by hand (an
extension, a paper hand-in) is never overwritten with 0; the LMS's own
missing-submission policy applies.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Canvas's export appends computed columns that are not assignments.
CANVAS_COMPUTED = re.compile(r"(Current|Final|Unposted Current|Unposted Final) (Score|Points|Grade)$|"
                             r"^(Notes|Override Score|Override Grade)$|"
                             r"Assignments? (Current|Final)|Imported Assignments")
MOODLE_IDENTIFIERS = ["Username", "Email address", "ID number"]
MOODLE_NAMES = ["First name", "Surname", "Last name"]
MAX_ROSTER_BYTES = 16 * 1024 * 1024
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def normalise(text):
    """A name as compared: Unicode NFKC, case-folded, outer spaces removed."""
    return unicodedata.normalize("NFKC", str(text)).casefold().strip()


@dataclass
class Person:
    """One roster row: its cells by column, and the identities a submission may be named by."""

    cells: dict
    identities: set = field(default_factory=set)  # logins, ids, whole e-mails
    canvas_id: str = ""
    local_parts: set = field(default_factory=set)  # e-mails' local parts: tried only when no identity matches

    def display(self):
        return self.cells.get("Student") or " ".join(
            self.cells.get(c, "") for c in ("First name", "Surname", "Last name") if self.cells.get(c)) or \
            next(iter(sorted(self.identities)), "?")


@dataclass
class Roster:
    """A parsed roster: ``kind`` is ``"canvas"`` or ``"moodle"``."""

    kind: str
    header: list
    people: list

    def assignment_column(self, assignment):
        """The roster's column of ``assignment`` (``02 Convolution (12345)`` for ``02-convolution``), or None."""
        wanted = re.sub(r"[^0-9a-z]", "", normalise(assignment))
        for column in self.header:
            if column in CANVAS_IDENTITY or column in MOODLE_IDENTIFIERS or CANVAS_COMPUTED.search(column):
                continue
            bare = re.sub(r"\s*\(\d+\)\s*$", "", column)  # Canvas's "(assignment id)"
            bare = re.sub(r"^Assignment:\s*|\s*\((Real|Letter|Percentage)\)\s*$", "", bare)  # Moodle's wording
            if wanted and re.sub(r"[^0-9a-z]", "", normalise(bare)) == wanted:
                return column
        return None

    def moodle_identifier(self):
        """The identifier column a Moodle import can map users by, as the roster names it."""
        for column in MOODLE_IDENTIFIERS:
            if column in self.header:
                return column
        return None


def _identities(cells, kind):
    """``(identities, local parts)`` of a roster row, normalised."""
    found, local = set(), set()
    keys = ["SIS Login ID", "SIS User ID", "ID"] if kind == "canvas" else ["Username", "Email address", "ID number"]
    for key in keys:
        value = normalise(cells.get(key, ""))
        if value:
            found.add(value)
            if "@" in value:
                local.add(value.split("@", 1)[0])  # students often name folders by their e-mail's local part
    return found, local


def read_roster(path):
    """Parse the roster at ``path`` (Canvas or Moodle export). Raises ``ValueError`` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--roster must be a CSV file exported from Canvas or Moodle, got {str(path)!r} "
                         "(no such file)")
    data = path.read_bytes()[:MAX_ROSTER_BYTES]
    text = data.decode("utf-8-sig", errors="replace")  # Excel and Moodle write a byte-order mark
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    table = list(csv.reader(io.StringIO(text), dialect))
    if not table:
        raise ValueError(f"--roster {path.name} is empty: expected a header row")
    header = [h.strip() for h in table[0]]
    if "SIS Login ID" in header or ("Student" in header and "ID" in header):
        kind = "canvas"
    elif any(c in header for c in MOODLE_IDENTIFIERS):
        kind = "moodle"
    else:
        raise ValueError(f"--roster {path.name}: expected Canvas's columns ({', '.join(CANVAS_IDENTITY)}) or "
                         f"Moodle's ({' or '.join(MOODLE_IDENTIFIERS)}), got {header[:8]}")
    people = []
    for values in table[1:]:
        cells = dict(zip(header, (v.strip() for v in values)))
        if kind == "canvas" and (not cells.get("ID") or cells.get("Student", "").strip() == "Points Possible"):
            continue  # "Points Possible", "Manual Posting" and the test student's empty rows
        identities, local_parts = _identities(cells, kind)
        if identities:
            people.append(Person(cells, identities, cells.get("ID", "") if kind == "canvas" else "", local_parts))
    return Roster(kind, header, people)


def match(roster, names):
    """``(matched, problems)``: submission name -> :class:`Person`, and name -> why it matches no one."""
    by_identity, by_local_part, by_canvas_id = {}, {}, {}
    for person in roster.people:
        for identity in person.identities:
            by_identity.setdefault(identity, []).append(person)
        for local_part in person.local_parts:
            by_local_part.setdefault(local_part, []).append(person)
        if person.canvas_id:
            by_canvas_id.setdefault(person.canvas_id, []).append(person)
    matched, problems = {}, {}
    for name in names:
        key = normalise(name)
        candidates = by_identity.get(key) or by_local_part.get(key, [])
        if not candidates and roster.kind == "canvas":
            # A Canvas download is named name_[LATE_]canvasid_submissionid_file: the first number is the id.
            numbers = re.findall(r"(?:^|_)(\d+)(?=_)", name)
            candidates = by_canvas_id.get(numbers[0], []) if numbers else []
        unique = {id(p): p for p in candidates}
        if len(unique) == 1:
            matched[name] = next(iter(unique.values()))
        elif unique:
            problems[name] = f"matches {len(unique)} roster entries: " + ", ".join(
                p.display() for p in unique.values())
        else:
            problems[name] = "matches no one in the roster (by login, username, e-mail, SIS or ID number)"
    claimed = {}
    for name, person in matched.items():
        claimed.setdefault(id(person), []).append(name)
    for names_of_one in claimed.values():
        if len(names_of_one) > 1:  # two submissions for one person: neither is written
            for name in names_of_one:
                problems[name] = f"{matched.pop(name).display()} also submitted as " + ", ".join(
                    n for n in names_of_one if n != name)
    return matched, problems


def _cell(value):
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _write(path, rows):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        # Every field quoted: names with commas, quotes or line breaks survive both importers.
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    tmp.replace(path)


def part_summary(row, parts):
    """The per-part scores of ``row`` in one line: ``conv2d_tests 5/5; ...``."""
    text = "; ".join(f"{gid} {row.scores.get(gid, 0.0):g}/{points:g}" for gid, points in parts)
    if row.raw_total is not None and row.penalty:
        text += f"; late penalty -{row.penalty:.0%} ({row.raw_total:g} -> {row.total:g})"
    return text


def write_canvas(path, roster, assignment, rows_by_person, max_points):
    """Canvas's gradebook import: identity columns, the assignment's column, a ``Points Possible`` row."""
    column = roster.assignment_column(assignment) or assignment
    table = [CANVAS_IDENTITY + [column], ["Points Possible", "", "", "", "", f"{max_points:g}"]]
    for person in roster.people:
        row = rows_by_person.get(id(person))
        table.append([person.cells.get(c, "") for c in CANVAS_IDENTITY] + ["" if row is None else f"{row.total:g}"])
    _write(path, table)
    return column


def write_moodle(path, roster, assignment, rows_by_person, parts):
    """Moodle's grade import: the identifier column, ``Full name``, the grade, the feedback."""
    identifier = roster.moodle_identifier() or ("SIS Login ID" if roster.kind == "canvas" else None)
    column = roster.assignment_column(assignment) or assignment
    table = [[identifier or "Username", "Full name", column, f"Feedback: {assignment}"]]
    for person in roster.people:
        row = rows_by_person.get(id(person))
        table.append([person.cells.get(identifier, ""), person.display(),
                      "" if row is None else f"{row.total:g}", "" if row is None else part_summary(row, parts)])
    _write(path, table)
    return column


def annotate(roster, rows):
    """``(rows, problems, by_person)``: the rows with a note on every submission the roster does not name.

    Such a row that was ``ok`` gets the status ``not-in-roster``, so
    review.csv lists it; ``problems`` maps those names to the reason;
    ``by_person`` maps ``id(Person)`` to the matched row, for the writers.
    """
    import dataclasses

    matched, problems = match(roster, [r.student for r in rows])
    by_person, annotated = {}, []
    for row in rows:
        if row.student in problems:
            row = dataclasses.replace(row, notes=list(row.notes) + [f"roster: {problems[row.student]}"],
                                      status="not-in-roster" if row.status == "ok" else row.status)
        else:
            by_person[id(matched[row.student])] = row
        annotated.append(row)
    return annotated, problems, by_person


def write_files(out, roster, assignment, by_person, parts):
    """``OUT/canvas.csv`` and ``OUT/moodle.csv`` from the roster (``by_person`` from :func:`annotate`)."""
    write_canvas(Path(out) / "canvas.csv", roster, assignment, by_person, sum(points for _, points in parts))
    write_moodle(Path(out) / "moodle.csv", roster, assignment, by_person, parts)
