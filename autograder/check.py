"""The student's check before hand-in: ``python -m autograder check NOTEBOOK [--assignment NAME]``.

It runs what the grader will run, the same way (the same plan of cells, the
same sandbox where bubblewrap is installed, the same forbidden packages),
but no hidden test: graded functions are only looked up, Keras models are
only saved and loaded back as the grader's judge loads them. It says whether
the notebook will be graded at all: the right assignment, the course's test
cells intact, every answer cell present, no forbidden import, models the
judge can load. Visible tests that fail are listed too; they do not stop
grading, but they cost points.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import notebook, sandbox, stream
from .course import EXERCISES, CourseError, assignment_notebook, assignments


@dataclass
class Report:
    assignment: str
    blocking: list = field(default_factory=list)  # the notebook will not be graded as it stands
    warnings: list = field(default_factory=list)  # graded, but points will be lost or a person will look
    passed: list = field(default_factory=list)

    @property
    def will_be_graded(self):
        return not self.blocking

    def text(self):
        lines = [f"{self.assignment}: " + ("this notebook will be graded." if self.will_be_graded else
                                           "this notebook will NOT be graded as it stands.")]
        lines += [f"  ERROR   {m}" for m in self.blocking]
        lines += [f"  WARNING {m}" for m in self.warnings]
        lines += [f"  ok      {m}" for m in self.passed]
        return "\n".join(lines)


def find_assignment(cells):
    """The assignment whose course cells the notebook holds most of."""
    ids = {c.grade_id for c in cells if c.grade_id}
    best, overlap = None, 0
    for name in assignments():
        release = EXERCISES / name / assignment_notebook(name).name
        if not release.is_file():
            continue
        common = len(ids & {c.grade_id for c in notebook.course_cells(release) if c.grade_id})
        if common > overlap:
            best, overlap = name, common
    return best


def check(path, assignment=None, limits=None):
    """The :class:`Report` of the notebook at ``path``."""
    from .verdict import graded_cells, plan, write_program

    try:
        cells = notebook.load(path)
    except notebook.NotebookProblem as exc:
        return Report(assignment or "?", blocking=[str(exc)])
    assignment = assignment or find_assignment(cells)
    if assignment is None:
        return Report("?", blocking=["none of the course's exercises' cells is in this notebook: is it an "
                                     "exercise notebook of this course (from exercises/)?"])
    source_path = assignment_notebook(assignment)
    source = notebook.course_cells(source_path)
    release = notebook.course_cells(EXERCISES / assignment / source_path.name)
    from .grade import Course

    limits = Course(assignment).limits_for(limits or sandbox.Limits())
    report = Report(assignment)
    if not {c.grade_id for c in cells if c.grade_id} & {c.grade_id for c in release if c.grade_id}:
        report.blocking.append(f"this is not the notebook of {assignment}")
        return report
    the_plan = plan(source, release, cells)
    # Each of these makes the grader flag the notebook for a person to look at (or lose an answer).
    report.blocking += the_plan.flags
    graded = graded_cells(source)
    with tempfile.TemporaryDirectory(prefix="ag-check-") as scratch:
        program = write_program(Path(scratch) / "in", the_plan, 0, limits, hidden_cases=False)
        from .verdict import execute_program

        outcome = execute_program(Path(scratch) / "in", program, limits)
        parsed = stream.parse(outcome.stream)
        if not outcome.sandboxed:
            report.warnings.append("bubblewrap is not installed here: the check ran without the grader's sandbox")
        seen_parts, models = {}, {}
        for event in parsed.events:
            kind = event.get("event")
            step = event.get("step")
            if kind == "cell" and event.get("error"):
                where = the_plan.steps[step].get("id") if isinstance(step, int) and step < len(the_plan.steps) else "?"
                origin = the_plan.origins.get(step)
                message = f"cell {where}: {str(event['error'])[:300]}"
                if str(event["error"]).startswith("NotImplementedError"):
                    report.warnings.append(f"not answered yet: {message}")
                elif origin == "course":
                    report.warnings.append(f"a visible test fails: {message}")
                else:
                    report.warnings.append(f"your cell raised an error: {message}")
            elif kind == "part":
                seen_parts[event.get("part")] = event.get("found") is True
            elif kind == "forbidden-import":
                report.blocking.append(f"imports {event.get('module')}, which this exercise does not allow: "
                                       "that answer earns nothing")
            elif kind == "model":
                models[event.get("part")] = event
        if outcome.timed_out or not any(e.get("event") == "done" for e in parsed.events):
            report.blocking.append("the notebook did not run to the end in the grader's limits "
                                   f"({limits.wall_seconds:g} s, {limits.memory_mb} MiB): "
                                   + (outcome.stderr_tail.strip().splitlines() or ["no message"])[-1][:300])
        for g in graded:
            if seen_parts.get(g.grade_id) is False:
                report.warnings.append(f"{g.part}: `{g.target}` is not defined when its hidden tests run")
            elif g.grade_id in models:
                event = models[g.grade_id]
                payload = parsed.blobs.get(event.get("blob"))
                problem = event.get("error") or (None if payload else "the model could not be saved")
                if problem is None:
                    problem = _load_like_the_judge(payload, Path(scratch))
                if problem:
                    report.blocking.append(f"{g.part}: the grader cannot load `{g.target}`: {problem}")
                else:
                    report.passed.append(f"{g.part}: the grader can load `{g.target}`")
            elif seen_parts.get(g.grade_id):
                report.passed.append(f"{g.part}: `{g.target}` is defined")
    return report


JUDGE_LOAD = """
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
try:
    keras.models.load_model(sys.argv[1], safe_mode=True)
    print(json.dumps(None))
except Exception as exc:
    print(json.dumps(f"{type(exc).__name__}: {str(exc)[:300]}"))
"""


def _load_like_the_judge(payload, scratch):
    """``None`` when Keras' safe mode loads the model, as the grader's judge does; else why not."""
    path = scratch / "model.keras"
    path.write_bytes(payload)
    result = subprocess.run([sys.executable, "-c", JUDGE_LOAD, str(path)], capture_output=True, text=True,
                            timeout=300)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"loading it failed: {result.stderr.strip()[-300:]}"


def main(path, assignment=None):
    if not Path(path).exists():
        raise CourseError(f"NOTEBOOK must be a notebook file, got {str(path)!r}")
    report = check(path, assignment)
    print(report.text())
    return 0 if report.will_be_graded else 1
