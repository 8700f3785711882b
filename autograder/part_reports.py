"""Each graded part's report, out of a row's feedback text.

A row (:class:`autograder.state.Row`) keeps the verdict's report as one text:
the parts' reports in the exercise's order, blank-line separated, each headed
``<grade id> (<part>): ...``. Gradescope's tests and the gradebook's
autograded copy show each part's report on its own.
"""

from __future__ import annotations


def split(feedback, grade_ids):
    """``{grade_id: report}`` of the parts found in ``feedback``; a paragraph without a head stays with the last."""
    reports, current = {}, None
    for chunk in (feedback or "").split("\n\n"):
        head = next((gid for gid in grade_ids if chunk.startswith(f"{gid} (") or chunk.startswith(f"{gid}:")), None)
        if head is not None:
            current = head
            reports[head] = chunk
        elif current is not None:
            reports[current] += "\n\n" + chunk
    return reports
