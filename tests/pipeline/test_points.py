"""An exercise's points are written in five places; they must agree, for every exercise.

1. the grading registry (``@register(..., points=N)`` in autograder/grading/parts/);
2. the nbgrader metadata of each graded cell (``points``);
3. the "(N points)" comment of each graded cell;
4. the table of parts in the introduction (its ``points`` column; a row may
   name several graded functions, and is worth their sum; a row that names
   what the student writes rather than the checked name is the next part);
5. the introduction's "Total: N points." line, where there is one.

Read-only: the solution notebooks and the registry.
"""

from __future__ import annotations

import json
import re

import pytest

from autograder.course import assignment_notebook, assignments
from autograder.grading import all_parts, get_part

ASSIGNMENTS = assignments()
CHECK = re.compile(r"""check\(\s*["']([^"']+)["']\s*,\s*([A-Za-z_]\w*)""")
STATED = re.compile(r"\((\d+(?:\.\d+)?) points?\)")
TOTAL = re.compile(r"^Total: (\d+(?:\.\d+)?) points?\.", re.MULTILINE)


def _cells(assignment):
    return json.loads(assignment_notebook(assignment).read_text())["cells"]


def _graded(assignment):
    """``(grade_id, part, function, metadata points, source)`` of each graded cell."""
    found = []
    for cell in _cells(assignment):
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
            source = "".join(cell["source"])
            part, function = CHECK.search(source).groups()
            found.append((meta["grade_id"], part, function, meta.get("points"), source))
    return found


def _intro(assignment):
    return next("".join(c["source"]) for c in _cells(assignment) if c["metadata"].get("nbgrader", {}).get("grade_id")
                == "intro")


def _table(intro):
    """The rows of the introduction's table of parts: ``(names in backticks, points)``."""
    lines = [line for line in intro.splitlines() if line.startswith("|")]
    header = [h.strip().lower() for h in lines[0].strip("|").split("|")]
    column = header.index("points")
    return [(re.findall(r"`([A-Za-z_]\w*)", line), float(line.strip("|").split("|")[column].strip()))
            for line in lines[2:]]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_five_places_agree(assignment):
    graded = _graded(assignment)
    registry = {name: part.points for name, part in ((n, get_part(n)) for n in all_parts())
                if name.startswith(f"{assignment}/")}
    assert graded, f"{assignment} has no graded cell"
    assert sorted(part for _, part, *_ in graded) == sorted(registry), \
        f"{assignment}: graded cells check {sorted(p for _, p, *_ in graded)}, the registry holds {sorted(registry)}"
    problems = []
    for grade_id, part, function, points, source in graded:
        if points is None or float(points) != registry[part]:
            problems.append(f"{grade_id}: nbgrader points {points}, registry {registry[part]:g}")
        stated = STATED.findall(source)
        if [float(s) for s in stated] != [registry[part]]:
            problems.append(f"{grade_id}: its comment states {stated or 'no'} points, registry {registry[part]:g}")
    total = sum(registry.values())
    intro = _intro(assignment)
    rows = _table(intro)
    # A row's parts: the graded cells that check a function (or part) it names; a row that names
    # what the student writes (`build_model`) rather than what is checked (`model`): the next cell.
    unclaimed = [part for _, part, *_ in graded]
    for names, points in rows:
        parts = [part for _, part, function, *_ in graded
                 if part in unclaimed and (function in names or part.split("/", 1)[1] in names)] or unclaimed[:1]
        unclaimed = [part for part in unclaimed if part not in parts]
        if sum(registry[part] for part in parts) != points:
            problems.append(f"the introduction's row {names} states {points:g} points, its parts {parts} "
                            f"{sum(registry[part] for part in parts):g}")
    if unclaimed:
        problems.append(f"no row of the introduction's table for {unclaimed}")
    if sum(points for _, points in rows) != total:
        problems.append(f"the introduction's table adds up to {sum(p for _, p in rows):g}, the registry to {total:g}")
    for stated in TOTAL.findall(intro):
        if float(stated) != total:
            problems.append(f"the introduction says 'Total: {stated} points', the registry {total:g}")
    assert not problems, f"{assignment}: " + "; ".join(problems)
