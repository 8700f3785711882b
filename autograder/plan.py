"""The plan of one submission: the notebook the grader runs, rebuilt from the course's source notebook.

Only the submission's answer cells (matched by grade id) and the cells the
student added are taken from it. The course's own cells (set-up, visible
tests) run as the course wrote them; each graded test cell becomes a *call*
of the function it grades. Edited, deleted, moved or re-tagged course cells
therefore change nothing, and are reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .grading_api import grading
from .notebook import is_answer

CHECK_CALL = re.compile(r'check\(\s*"([^"]+)"\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)')


@dataclass
class GradedCell:
    grade_id: str
    part: str
    target: str
    points: float


def graded_cells(cells):
    """The auto-graded cells of a source notebook (:class:`autograder.notebook.Cell` list or JSON)."""
    from .notebook import Cell, _cell, is_graded_test

    cells = [c if isinstance(c, Cell) else _cell(c) for c in (cells["cells"] if isinstance(cells, dict) else cells)]
    graded = []
    for cell in cells:
        meta = cell.nbgrader if cell else {}
        if cell and is_graded_test(cell):
            calls = CHECK_CALL.findall(cell.source)
            if len(calls) != 1:
                raise ValueError(f"graded cell {meta.get('grade_id')!r} must hold one check(\"part\", name) call")
            part, target = calls[0]
            points = meta.get("points")
            graded.append(GradedCell(meta["grade_id"], part, target,
                                     float(points if points is not None else grading().get_part(part).points)))
    return graded


@dataclass
class Plan:
    steps: list  # what the sandbox runs, in order
    display: list  # every cell of the notebook as graded, for the feedback page
    flags: list  # what looked wrong in the submission
    origins: dict  # step -> "answer", "course", "added" or "call"
    answer_steps: dict  # grade id of an answer cell -> its step


def plan(source_cells, release_cells, submitted):
    """The :class:`Plan` of one submission (cells as :class:`autograder.notebook.Cell`)."""
    release_by_id = {c.grade_id: c for c in release_cells if c.grade_id}
    by_id, order, extras, flags = _match(release_by_id, submitted)
    flags += _course_cell_changes(source_cells, release_cells, release_by_id, by_id, order)
    the_plan = _steps(source_cells, release_by_id, by_id, extras)
    the_plan.flags = flags + _added_redefinitions(source_cells, extras)
    return the_plan


def _match(release_by_id, submitted):
    """The submission's course cells by grade id, their order, and the cells added after each one."""
    by_id, order, extras, flags = {}, [], {None: []}, []
    anchor = None
    for cell in submitted:
        grade_id = cell.grade_id
        if grade_id in release_by_id:
            if grade_id in by_id:
                flags.append(f"cell {grade_id!r} appears twice; the first is used")
                continue
            by_id[grade_id] = cell
            order.append(grade_id)
            anchor = grade_id
            extras.setdefault(anchor, [])
        elif cell.source.strip() and cell.cell_type in ("code", "markdown"):
            extras.setdefault(anchor, []).append(cell)
    return by_id, order, extras, flags


def _course_cell_changes(source_cells, release_cells, release_by_id, by_id, order):
    """What the student changed of the course's cells (moved, deleted, edited, re-tagged)."""
    flags = []
    source_by_id = {c.grade_id: c for c in source_cells if c.grade_id}
    release_order = [c.grade_id for c in release_cells if c.grade_id]
    if [g for g in release_order if g in by_id] != order:
        flags.append("cells were moved out of the assignment's order (graded in the assignment's order)")
    for grade_id, original in release_by_id.items():
        submission = by_id.get(grade_id)
        if submission is None:
            flags.append(f"answer cell {grade_id!r} is missing" if is_answer(original)
                         else f"course cell {grade_id!r} was deleted (restored for grading)")
            continue
        for key in ("grade", "solution", "locked", "points"):
            if submission.nbgrader.get(key) != original.nbgrader.get(key):
                flags.append(f"cell {grade_id!r}: nbgrader metadata {key!r} was changed (ignored)")
                break
        # The source notebook's version of a test cell (with its hidden part) is the course's too.
        course_versions = {_code_text(original.source), _code_text(source_by_id.get(grade_id, original).source)}
        if not is_answer(original) and _code_text(submission.source) not in course_versions:
            flags.append(f"course cell {grade_id!r} was edited (the original is used)")
    return flags


def _code_text(source):
    """A cell's text without the white space an editor adds or drops (trailing spaces, blank lines, line ends).

    The original runs either way; this only decides whether an edit is worth a flag.
    """
    return "\n".join(line.rstrip() for line in source.replace("\r\n", "\n").strip().splitlines() if line.strip())


def _steps(source_cells, release_by_id, by_id, extras):
    """The steps the sandbox runs and the cells the feedback page shows, in the course's order."""
    the_plan = Plan([], [], [], {}, {})
    steps, display = the_plan.steps, the_plan.display
    graded = {g.grade_id: g for g in graded_cells(source_cells)}

    def run_cell(source, origin, grade_id):
        the_plan.origins[len(steps)] = origin
        steps.append({"kind": "cell", "source": source, "id": grade_id})
        return len(steps) - 1

    def show(cell_type, source, origin, step, grade_id=None, part=None):
        display.append({"type": cell_type, "source": source, "origin": origin, "step": step, "id": grade_id,
                        **({"part": part} if part else {})})

    def add_extras(anchor_id):
        for cell in extras.get(anchor_id, []):
            step = run_cell(cell.source, "added", f"added after {anchor_id}" if anchor_id else "added") \
                if cell.cell_type == "code" else None
            show(cell.cell_type, cell.source, "student", step)

    add_extras(None)
    for cell in source_cells:
        grade_id = cell.grade_id
        shown = release_by_id.get(grade_id, cell)
        if cell.cell_type != "code":
            show("markdown", shown.source, "course", None, grade_id)
        elif grade_id in graded:
            g = graded[grade_id]
            the_plan.origins[len(steps)] = "call"
            steps.append({"kind": "call", "part": g.part, "grade_id": grade_id, "target": g.target})
            show("code", shown.source, "course", len(steps) - 1, grade_id, part=grade_id)
        elif is_answer(cell) and grade_id in by_id:
            the_plan.answer_steps[grade_id] = run_cell(by_id[grade_id].source, "answer", grade_id)
            show("code", by_id[grade_id].source, "student", the_plan.answer_steps[grade_id], grade_id)
        elif is_answer(cell):
            show("code", "# (this answer cell is missing from the notebook)", "student", None, grade_id)
        else:
            show("code", shown.source, "course", run_cell(shown.source, "course", grade_id or "course"), grade_id)
        if grade_id:
            add_extras(grade_id)
    return the_plan


def _added_redefinitions(source_cells, extras):
    """Added cells that (re)define a graded name, as far as a parser sees (the runner sees the rest)."""
    targets = {g.target for g in graded_cells(source_cells)}
    flags = []
    for anchor_id, cells in extras.items():
        for cell in cells:
            redefined = sorted(defined_names(cell.source) & targets) if cell.cell_type == "code" else []
            if redefined:
                where = f"after {anchor_id!r}" if anchor_id else "at the top"
                flags.append(f"a cell added {where} (re)defines {', '.join(redefined)}")
    return flags


def defined_names(source):
    """Names a cell binds at top level (def, class, assignment, import), magics translated first.

    This names the cell that did it; the runner also watches the bindings
    themselves, which catches what no parser sees (``exec``, ``globals()``,
    cell magics).
    """
    import ast

    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # IPython's transformers give up on some inputs: parse what is there
        pass
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names

