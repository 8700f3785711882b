"""After a class is graded: late penalties, the LMS files from a roster, nbgrader's gradebook.

``python -m autograder grade`` calls :func:`finish` with the rows it graded
(as :mod:`autograder.state` saved them: raw scores) and the options
``--due``/``--late-penalty`` (:mod:`autograder.late`), ``--roster``
(:mod:`autograder.lms`) and ``--gradebook`` (:mod:`autograder.gradebook`).
Saved rows stay raw, so a re-run with another due time or penalty starts
from what the work earned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import late, lms, reports
from .submissions import collect, printable

# Columns of an LMS export that hold the submission's time.
SUBMITTED_COLUMNS = ("Last modified (submission)", "Submitted", "Submission time", "submitted_at")


@dataclass
class Options:
    """What the command line asked for; every field is optional."""

    due: str | None = None
    late_penalty: str | None = None
    roster: str | None = None
    gradebook: str | None = None
    timezone: str = "UTC"

    def check(self):
        """Parse the options before any grading: raise ``ValueError`` naming the bad one."""
        policy = late.policy(self.due, self.late_penalty, self.timezone)
        roster = lms.read_roster(self.roster) if self.roster else None
        if self.gradebook is not None and "://" not in self.gradebook:
            path = Path(self.gradebook)
            if path.is_dir() or not path.parent.is_dir():
                raise ValueError(f"--gradebook must be nbgrader's gradebook.db in an existing folder (your course's), "
                                 f"got {self.gradebook!r}")
        return policy, roster


def submission_times(submissions, assignment, roster=None, matched=None, zone="UTC"):
    """Student -> submission time (naive UTC ``datetime``) or a ``str`` saying why it is unknown.

    nbgrader's ``timestamp.txt`` wins; else the roster's submission-time
    column. Times without an offset are read in ``zone`` (``--timezone``).
    """
    times = {}
    for submission in submissions:
        try:
            when = late.read_timestamp(submission.path, assignment, zone)
        except ValueError as exc:
            times[submission.student] = str(exc)
            continue
        if when is None and roster is not None and matched and submission.student in matched:
            cells = matched[submission.student].cells
            # Moodle writes "-" for "never submitted".
            column = next((c for c in SUBMITTED_COLUMNS if cells.get(c, "-") != "-"), None)
            if column:
                try:
                    when = late.parse_time(cells[column], f"the roster's {column!r}", zone)
                except ValueError as exc:
                    when = str(exc)
        times[submission.student] = when if when is not None else "no timestamp.txt and no time in the roster"
    return times


def unknown_times_warning(times):
    """One line for the terminal when submission times are unknown (no penalty for those), else ``None``.

    Each row's reason is in review.csv; the line tells the instructor at once
    when a whole class is affected, e.g. by a zone that ``--timezone`` does not name.
    """
    unknown = [why for why in times.values() if isinstance(why, str)]
    if not unknown:
        return None
    return (f"late: {len(unknown)} of {len(times)} submission time(s) unknown, so not penalised (review.csv says "
            f"why for each); the first: {printable(unknown[0], 240)}")


def finish(out, assignment, rows, parts, source_path, submissions_dir, options, warn):
    """Apply ``options`` to the graded ``rows``; rewrite OUT's tables; return the rows as the tables show them."""
    policy, roster = options.check()
    if policy is None and roster is None and options.gradebook is None:
        return rows
    submissions = collect(submissions_dir, assignment, Path(source_path).name)
    matched = lms.match(roster, [s.student for s in submissions])[0] if roster is not None else None
    times = submission_times(submissions, assignment, roster, matched, options.timezone)
    if policy is not None and (message := unknown_times_warning(times)):
        warn(message)
    rows = late.apply(rows, times, policy)
    if roster is not None:
        rows, problems, by_person = lms.annotate(roster, rows)
        for name, problem in sorted(problems.items()):
            warn(f"roster: {printable(name, 80)} {problem} (left out of canvas.csv and moodle.csv; see review.csv)")
    reports.write_outputs(out, assignment, rows, parts)
    if roster is not None:  # in place of the roster-less canvas.csv and moodle.csv that write_outputs wrote
        lms.write_files(out, roster, assignment, by_person, parts)
    if options.gradebook is not None:
        from . import gradebook

        written = gradebook.write(options.gradebook, assignment, source_path, rows, parts,
                                  {s: t for s, t in times.items() if not isinstance(t, str)},
                                  policy.due if policy else None,
                                  {s.student: s.path for s in submissions if not s.problem})
        warn(f"gradebook: wrote {written} submission(s) of {assignment} to {options.gradebook}")
    return rows
