"""The student's check before hand-in: ``python -m autograder check NOTEBOOK [--assignment NAME]``.

It runs what the grader will run, the same way (the same plan of cells, the
same sandbox where bubblewrap is installed, the same forbidden packages),
but no hidden test: graded functions are only looked up, Keras models are
only saved and handed to the grader's own model judge, which loads them in
its second sandbox (:func:`autograder.verdict.judge_models`): a student's
model is never deserialised in this process, which on an instructor's
machine is as exposed as the grader's. It says whether
the notebook will be graded at all: the right assignment, the course's test
cells intact, every answer cell present, no forbidden import, models the
judge can load. Visible tests that fail are listed too; they do not stop
grading, but they cost points.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import notebook, sandbox, stream
from .course import EXERCISES, CourseError, assignment_notebook, assignments
from .untrusted_text import for_terminal

MESSAGE_CHARS = 400  # one line of the report


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
        """The report for a terminal: every message one line, without control characters or escapes."""
        lines = [f"{for_terminal(self.assignment, 80)}: " + (
            "this notebook will be graded." if self.will_be_graded else "this notebook will NOT be graded as it stands.")]
        lines += [f"  ERROR   {for_terminal(m, MESSAGE_CHARS)}" for m in self.blocking]
        lines += [f"  WARNING {for_terminal(m, MESSAGE_CHARS)}" for m in self.warnings]
        lines += [f"  ok      {for_terminal(m, MESSAGE_CHARS)}" for m in self.passed]
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


def check(path, assignment=None, limits=None, progress=None):
    """The :class:`Report` of the notebook at ``path`` (``progress(message)`` is told what runs)."""
    from .verdict import graded_cells, plan

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
        outcome, parsed = _run_as_graded(the_plan, limits, Path(scratch), progress)
        if not outcome.sandboxed:
            report.warnings.append("bubblewrap is not installed here: the check ran without the grader's sandbox")
        seen_parts, models, failing = read_events(parsed.events, the_plan, report)
        if outcome.timed_out or not any(isinstance(e, dict) and e.get("event") == "done" for e in parsed.events):
            report.blocking.append("the notebook did not run to the end in the grader's limits "
                                   f"({limits.wall_seconds:g} s, {limits.memory_mb} MiB): "
                                   + gist((outcome.stderr_tail.strip().splitlines() or ["no message"])[-1]))
        judged = judge_saved_models(graded, models, parsed.blobs, limits)
        for g in graded:
            if seen_parts.get(g.grade_id) is False:
                report.warnings.append(f"{g.part}: `{g.target}` is not defined when its hidden tests run")
            elif g.grade_id in models:
                problem = model_load_problem(models[g.grade_id], parsed.blobs, judged.get(g.grade_id))
                if problem:
                    report.blocking.append(f"{g.part}: the grader cannot load `{g.target}`: {problem}")
                else:
                    report.passed.append(f"{g.part}: the grader can load `{g.target}`")
            elif g.grade_id in failing:
                report.warnings.append(f"{g.part}: `{g.target}` is defined but its visible test fails: "
                                       f"{failing[g.grade_id]}")
            elif seen_parts.get(g.grade_id):
                report.passed.append(f"{g.part}: `{g.target}` is defined and passes its visible test")
    return report


def _run_as_graded(the_plan, limits, scratch, progress=None):
    """``(outcome, stream)`` of the notebook run as the grader runs it (each run of the plan, merged)."""
    from . import verdict

    def tell(run, index, count):
        step = the_plan.steps[run.last]
        progress(f"running the notebook in the grader's sandbox ({index + 1} of {count}: up to "
                 f"{step.get('id') or step.get('grade_id')}), at most {limits.wall_seconds:g} s ...")

    _, outcome, parsed = verdict.execute_runs(the_plan, 0, limits, scratch, hidden_cases=False,
                                              progress=tell if progress is not None else None)
    return outcome, parsed


def gist(text, limit=MESSAGE_CHARS):
    """``text`` on one line within ``limit`` characters, keeping its informative end (ACTUAL/DESIRED) whole words."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    head = text[:limit // 3].rsplit(" ", 1)[0]
    tail = text[-(limit - len(head) - 3):]
    tail = tail.split(" ", 1)[-1] if " " in tail else tail
    return f"{head} … {tail}"


def _parts_of_steps(the_plan):
    """``{step: grade id}``: the part whose hidden tests come next after each cell (its visible test's part)."""
    parts, upcoming = {}, None
    for number in range(len(the_plan.steps) - 1, -1, -1):
        step = the_plan.steps[number]
        if step["kind"] == "call":
            upcoming = step.get("grade_id")
        parts[number] = upcoming
    return parts


def read_events(events, the_plan, report):
    """Add to ``report`` what the run's ``events`` say; return ``(seen_parts, models, failing)`` by grade id.

    ``failing`` maps a part to the error of its visible test (the course's
    cells before its hidden tests). The events come from the student's
    process, so any field may be of any type: a step that is no index of the
    plan is ``?``, a part that is not a string is ignored.
    """
    seen_parts, models, failing = {}, {}, {}
    part_of = _parts_of_steps(the_plan)
    for event in events:
        if not isinstance(event, dict):
            continue
        kind, step, part = event.get("event"), event.get("step"), event.get("part")
        known_step = type(step) is int and 0 <= step < len(the_plan.steps)
        if kind == "cell" and event.get("error"):
            where = the_plan.steps[step].get("id") if known_step else "?"
            origin = the_plan.origins.get(step) if known_step else None
            error = str(event["error"])
            message = f"cell {where}: {gist(error, MESSAGE_CHARS - 40)}"
            if error.startswith("NotImplementedError"):
                report.warnings.append(f"not answered yet: {message}")
            elif origin == "course":
                report.warnings.append(f"a visible test fails: {message}")
                if part_of.get(step):
                    failing.setdefault(part_of[step], gist(error, 200))
            else:
                report.warnings.append(f"your cell raised an error: {message}")
        elif kind == "part" and isinstance(part, str):
            seen_parts[part] = event.get("found") is True
        elif kind == "forbidden-import":
            report.blocking.append(f"imports {str(event.get('module'))[:60]}, which this exercise does not allow: "
                                   "that answer earns nothing")
        elif kind == "model" and isinstance(part, str):
            models[part] = event
    return seen_parts, models, failing


def judge_saved_models(graded, models, blobs, limits):
    """The grader's judge's answer for each saved model (``{grade_id: {"error"} or {"problems"}}``).

    The judge loads each model with Keras' safe mode in its own sandbox, as
    when grading; its hidden cases' answers are not reported by ``check``,
    only whether the model loaded.
    """
    from . import verdict

    saved = {gid: event for gid, event in models.items()
             if not event.get("error") and not event.get("empty") and blobs.get(event.get("blob"))}
    return verdict.judge_models(graded, saved, blobs, 0, limits) if saved else {}


def model_load_problem(event, blobs, judged):
    """Why the grader could not load a saved model (``None`` when it could).

    Parameters
    ----------
    event : dict
        The notebook's ``model`` event: ``blob`` names the saved file, or ``error`` says why there is none.
    blobs : dict
        The run's blobs by name.
    judged : dict or None
        The judge's answer for this model; ``None`` when it gave none.
    """
    if event.get("error"):
        return str(event["error"])[:300]
    if event.get("empty") or not blobs.get(event.get("blob")):
        return "the model could not be saved"
    if not isinstance(judged, dict):
        return "the grader's model judge gave no answer (it failed or ran out of time)"
    if "error" in judged:
        return str(judged["error"])[:300]
    return None


def main(path, assignment=None):
    if not Path(path).exists():
        raise CourseError(f"NOTEBOOK must be a notebook file, got {for_terminal(str(path), 300)!r}")
    report = check(path, assignment, progress=lambda message: print(for_terminal(message, 200), flush=True))
    print(report.text())
    return 0 if report.will_be_graded else 1
