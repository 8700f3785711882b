"""Late work: when each submission came in, how late that is, and the penalty on its total.

``--due 2026-12-01T23:59`` and ``--late-penalty 10%/day`` on the command
line. A submission's time comes from nbgrader's ``timestamp.txt`` (next to
the notebook in ``<student>/<assignment>/``, written by ``nbgrader collect``)
or from the roster exported from the LMS (a column such as Moodle's
``Last modified (submission)``). A time without an offset is read in the
zone of ``--timezone`` (an IANA name such as ``Europe/Berlin``; UTC by
default): the due time an instructor types and an LMS export's wording are
in local time. nbgrader writes its exchange's zone's abbreviation
(``2026-12-01 23:59:00.000000 CET`` with ``Exchange.timezone`` set); an
abbreviation other than UTC's is read only when it is the one ``--timezone``
uses at that time, and is otherwise an error naming it, never a time read in
the wrong zone.

Every started day (or hour) late costs the rate, as a fraction of the
points earned, capped at 100 %: 10 %/day and 25 hours late lose 20 %. The
penalty changes only the total; the per-part scores and ``raw_total`` keep
what the work earned.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TIMESTAMP_FILE = "timestamp.txt"
MAX_TIMESTAMP_BYTES = 200
UNIT_SECONDS = {"day": 86400.0, "hour": 3600.0}
PENALTY_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*/\s*(day|hour)s?\s*$", re.IGNORECASE)
UTC_NAMES = ("UTC", "GMT", "Z")


@dataclass(frozen=True)
class LatePolicy:
    """A due time (UTC, naive) and a penalty per started unit late (a fraction of the points earned)."""

    due: datetime
    rate: float = 0.0
    unit: str = "day"
    cap: float = 1.0

    def units_late(self, submitted):
        """How many started units (days or hours) ``submitted`` is past the due time; 0 when on time."""
        seconds = (submitted - self.due).total_seconds()
        return 0 if seconds <= 0 else math.ceil(seconds / UNIT_SECONDS[self.unit])

    def penalty(self, submitted):
        """The fraction of the earned points lost by a submission at ``submitted`` (0 to ``cap``)."""
        return min(self.cap, self.rate * self.units_late(submitted))


def zone_named(name, argument="--timezone"):
    """The ``ZoneInfo`` of an IANA zone name; raises ``ValueError`` naming ``argument`` for any other text."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{argument} must be an IANA time zone such as Europe/Berlin, America/New_York or UTC, "
                         f"got {str(name)[:80]!r}") from None


def _read_clock(text, argument):
    """``(datetime, zone)``: the time as written, and the name of a zone it names without an offset (or None).

    dateutil's own reading finds a zone's name wherever it stands (``... CET``,
    ``Tue Dec 1 23:59:00 CET 2026``, ``11:59 PM CET``); without the hook it
    would drop a name it does not know and return the bare clock time.
    """
    try:
        return datetime.fromisoformat(text), None
    except ValueError:
        pass
    names = []

    def zone_of(name, offset):
        if offset is not None:
            return offset
        if name and name.upper() in UTC_NAMES:
            return 0
        if name:
            names.append(name)
        return None

    try:
        from dateutil import parser

        when = parser.parse(text, tzinfos=zone_of)
    except (ValueError, OverflowError, ImportError):
        raise ValueError(f"{argument} must be a date and time such as 2026-12-01T23:59 (in --timezone's zone "
                         f"unless it names an offset), got {text[:80]!r}") from None
    return when, (names[-1] if names and when.tzinfo is None else None)


def parse_time(text, argument="time", zone="UTC"):
    """A UTC ``datetime`` (naive) from ISO 8601, nbgrader's ``timestamp.txt`` or an LMS export's wording.

    A time with an offset is converted from it; one that names a zone
    (nbgrader's ``%Z``) is read in that zone when it is UTC or the
    abbreviation ``zone`` uses at that time; any other time is read in
    ``zone`` (an IANA name). Raises ``ValueError`` naming ``argument``, what
    was expected and what came.
    """
    raw = str(text).strip()
    local_zone = zone if isinstance(zone, ZoneInfo) else zone_named(zone)
    when, label = _read_clock(raw, argument)
    if label is not None:
        # In the hour a clock turns back, the abbreviation tells which of the two readings (fold) it is.
        readings = [when.replace(tzinfo=local_zone, fold=fold) for fold in (0, 1)]
        matching = [r for r in readings if r.tzname() == label]
        if not matching:
            raise ValueError(f"{argument} was written in the zone {label!r}, which is not what --timezone "
                             f"({local_zone}) calls {when:%Y-%m-%d %H:%M} ({readings[0].tzname()}): give "
                             f"--timezone the zone it was written in (nbgrader's Exchange.timezone), "
                             f"got {raw[:80]!r}")
        when = matching[0]
    elif when.tzinfo is None:
        when = when.replace(tzinfo=local_zone)
    return when.astimezone(timezone.utc).replace(tzinfo=None)


def parse_penalty(text, argument="--late-penalty"):
    """``(rate, unit)`` from ``"10%/day"`` or ``"2%/hour"``; raises ``ValueError`` naming ``argument``."""
    match = PENALTY_PATTERN.match(str(text))
    if not match:
        raise ValueError(f"{argument} must be a percentage per day or hour such as 10%/day or 2%/hour, "
                         f"got {str(text)[:80]!r}")
    rate = float(match.group(1)) / 100
    if rate > 1:
        raise ValueError(f"{argument} must be at most 100% per {match.group(2).lower()}, got {text!r}")
    return rate, match.group(2).lower()


def policy(due, penalty, zone="UTC"):
    """The :class:`LatePolicy` of the command line's ``--due``, ``--late-penalty`` and ``--timezone``.

    None without ``--due``. ``--due`` without an offset is read in ``zone``.
    """
    local_zone = zone_named(zone)
    if due is None:
        if penalty is not None:
            raise ValueError(f"--late-penalty needs --due (the due time), got only --late-penalty {penalty}")
        return None
    rate, unit = parse_penalty(penalty) if penalty is not None else (0.0, "day")
    return LatePolicy(parse_time(due, "--due", local_zone), rate, unit)


def read_timestamp(notebook_path, assignment, zone="UTC"):
    """The time in nbgrader's ``timestamp.txt`` beside a submitted notebook, or None when there is none.

    Only nbgrader's layout (``<student>/<assignment>/<name>.ipynb``) has one;
    its time is read as :func:`parse_time` reads it in ``zone``. Raises
    ``ValueError`` when the file is there but holds no time.
    """
    if notebook_path is None or Path(notebook_path).parent.name != assignment:
        return None
    path = Path(notebook_path).parent / TIMESTAMP_FILE
    if path.is_symlink() or not path.is_file():
        return None
    with open(path, "rb") as handle:
        text = handle.read(MAX_TIMESTAMP_BYTES).decode("utf-8", "replace")
    return parse_time(text, f"{assignment}/{TIMESTAMP_FILE}", zone)


def apply(rows, times, late_policy):
    """Rows with the penalty of ``late_policy`` taken from their totals (new rows; the given ones unchanged).

    ``times`` maps a student to their submission time (a ``datetime``), or
    to a ``str`` saying why it is unknown. A row without a known time is
    left on time and noted for review (a person decides), since a missing
    timestamp is more often an export's gap than an early hand-in.
    """
    if late_policy is None:
        return list(rows)
    adjusted = []
    for row in rows:
        when = times.get(row.student)
        row = dataclasses.replace(row, raw_total=row.total, notes=list(row.notes))
        if isinstance(when, datetime):
            fraction = late_policy.penalty(when)
            row.submitted = when.isoformat(sep=" ", timespec="seconds") + " UTC"
            row.late = late_policy.units_late(when)
            row.penalty = fraction
            row.total = round(row.raw_total * (1 - fraction), 2)
            if fraction:
                row.notes.append(f"late by {row.late} {late_policy.unit}(s): -{fraction:.0%} "
                                 f"({row.raw_total:g} -> {row.total:g})")
        elif row.status not in ("missing-notebook", "wrong-assignment", "grader-error"):
            row.notes.append(f"submission time unknown ({when or 'no timestamp'}): no late penalty applied")
            if row.status == "ok":
                row.status = "late-unknown"
        adjusted.append(row)
    return adjusted
