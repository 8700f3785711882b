"""The verdict: a submission's grade, decided outside the student's process, from one sandboxed run.

1. **Plan** (grader): rebuild the notebook from the course's source notebook,
   taking from the submission only its answer cells (matched by grade id)
   and the cells the student added. The course's own cells (set-up, visible
   tests) run as the course wrote them; each graded test cell becomes a
   *call* of the function it grades. Edited, deleted, moved or re-tagged
   course cells therefore change nothing, and are reported.
2. **Run** (sandbox, :mod:`autograder.in_sandbox`): the student's code runs with
   nothing of the machine but what it needs, and limits on time, memory,
   writes and processes. The graded functions are called on hidden inputs
   drawn here from a seed the sandbox never sees; every cell's output is
   captured there for the feedback page, so the notebook runs once.
3. **Judge** (grader): the results stream is checked frame by frame and step
   by step against the plan; the returned values are compared with cnnkit's
   results in this process by the grading package's one judge. Nothing the
   student's code does inside the sandbox can make a wrong value right.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import sandbox, stream
from .course import ROOT, CourseError
from .grading_api import grading
from .notebook import is_answer

CHECK_CALL = re.compile(r'check\(\s*"([^"]+)"\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)')
IN_SANDBOX = Path(__file__).with_name("in_sandbox.py")
IN_KERNEL = Path(__file__).with_name("in_kernel.py")
LIBRARY = "lib"  # in the sandbox's input folder: the course packages an exercise allows (in_sandbox.py puts it on sys.path)
# Below these the sandbox cannot even start Python and NumPy: a Keras model's
# judge gets at least the first two, whatever the class's limits.
JUDGE_MIN_SECONDS = 120.0
JUDGE_MIN_MEMORY_MB = 4096
MAX_RESULT_ELEMENTS = 10_000_000


@dataclass
class GradedCell:
    grade_id: str
    part: str
    target: str
    points: float


@dataclass
class PartResult:
    grade_id: str
    part: str
    points: float
    max_points: float
    passed: int = 0
    total: int = 0
    problems: list = field(default_factory=list)  # (case number, label, problem) of each failed case

    def text(self, title=None):
        return grading().render_part(title or f"{self.grade_id} ({self.part})", self.passed, self.total,
                                     self.points, self.max_points, self.problems)


@dataclass
class Verdict:
    parts: dict
    flags: list = field(default_factory=list)  # needs a human look
    notes: list = field(default_factory=list)  # for the student's feedback only
    sandboxed: bool = True
    seconds: float = 0.0
    stopped: str = ""  # why the run ended early, if it did
    display: list = field(default_factory=list)  # the notebook as run, for the feedback page
    outputs: dict = field(default_factory=dict)  # step -> {"output", "error", "figures": [png bytes]}
    step_ids: dict = field(default_factory=dict)  # step -> the cell's grade id (or "added after ...")
    stderr: str = ""  # the sandbox's last words, for the instructor

    def display_id(self, step):
        return self.step_ids.get(step, f"#{step}")

    @property
    def total(self):
        return round(sum(p.points for p in self.parts.values()), 2)


# --- 1. plan ----------------------------------------------------------------

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
        course_versions = {original.source, source_by_id.get(grade_id, original).source}
        if not is_answer(original) and submission.source not in course_versions:
            flags.append(f"course cell {grade_id!r} was edited (the original is used)")
    return flags


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


# --- 2. run -----------------------------------------------------------------

class _Inputs:
    """Collects the arrays of the hidden cases for inputs.npz; everything else stays JSON."""

    def __init__(self):
        self.arrays = {}

    def encode(self, value):
        if isinstance(value, np.ndarray):
            key = f"x{len(self.arrays)}"
            self.arrays[key] = value
            return {"array": key}
        if isinstance(value, tuple):
            return {"tuple": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return {"list": [self.encode(v) for v in value]}
        if isinstance(value, dict):
            return {"dict": {k: self.encode(v) for k, v in value.items()}}
        if isinstance(value, np.generic):
            return value.item()
        return value


@dataclass
class Program:
    cases: dict  # grade id -> cases (expected values stay here)
    kinds: dict  # grade id -> "function", "value" or "model"
    forbidden: list
    files: dict  # name in the working folder -> host path
    uid: int = 0  # the sandbox user the input folder belongs to
    stdin: bytes = b""  # the program and the hidden cases' arrays, for the harness's standard input only


@dataclass(frozen=True)
class Run:
    """One sandboxed run of a notebook: the parts it grades, and what it mounts.

    Parts that allow different packages are graded in different runs (a
    NumPy-only part and a Keras part of one notebook): each run mounts only
    what its parts allow, and stops after its last graded call.
    """

    forbidden: frozenset
    calls: frozenset  # the call steps it grades
    last: int  # its last step


def runs_of(the_plan):
    """The :class:`Run` list of a plan: one per distinct set of forbidden packages among its parts, by last step."""
    g = grading()
    groups = {}
    for number, step in enumerate(the_plan.steps):
        if step["kind"] == "call":
            groups.setdefault(frozenset(g.get_part(step["part"]).forbidden), []).append(number)
    if not groups:
        return [Run(frozenset(), frozenset(), len(the_plan.steps) - 1)]
    runs = [Run(forbidden, frozenset(calls), max(calls)) for forbidden, calls in groups.items()]
    if len(runs) == 1:  # every step runs, the cells after the last call too (their output is feedback)
        runs = [Run(runs[0].forbidden, runs[0].calls, len(the_plan.steps) - 1)]
    return sorted(runs, key=lambda run: run.last)


def write_program(folder, the_plan, seed, limits, hidden_cases=True, run=None):
    """Write the sandbox's input folder (harness, kernel, course packages, data files); return the :class:`Program`.

    ``hidden_cases=False`` (the student-side check) sends no hidden inputs:
    graded functions are only looked up and models only saved. ``run``
    (default: the plan's only run) says which calls this run grades and what
    it forbids; its other calls are skipped and it ends after its last step.
    """
    g = grading()
    run = run or runs_of(the_plan)[-1]
    inputs = _Inputs()
    cases, kinds, steps, files = {}, {}, [], {}
    forbidden = set(run.forbidden)
    targets = set()
    for number, step in enumerate(the_plan.steps[:run.last + 1]):
        if step["kind"] != "call":
            steps.append(dict(step, forbidden=sorted(forbidden)))
            continue
        targets.add(step["target"])
        if number not in run.calls:
            steps.append({"kind": "skip", "forbidden": sorted(forbidden)})
            continue
        part = g.get_part(step["part"])
        part_cases = cases.setdefault(step["grade_id"], g.cases_for(part.name, seed))
        kinds[step["grade_id"]] = part.kind
        for name, data in (_sandbox_files(part, seed) or {}).items():
            files[name] = data
        steps.append({
            "kind": "call", "part": step["grade_id"], "target": step["target"], "type": part.kind,
            "forbidden": sorted(forbidden),
            "cases": [] if part.kind == "model" or not hidden_cases else [
                {"id": i, "args": inputs.encode(tuple(c.args)), "kwargs": inputs.encode(dict(c.kwargs)),
                 "timeout": limits.cell_seconds} for i, c in enumerate(part_cases)],
        })
    folder.mkdir(parents=True, exist_ok=True)
    _refuse_course_imports(steps, forbidden, the_plan.origins)
    program = {"steps": steps, "cell_timeout": limits.cell_seconds, "forbidden": sorted(forbidden),
               "targets": sorted(targets)}
    _ship_cnnkit(folder, steps, forbidden)
    # The hidden cases never lie in a file: the kernel, which runs the student's code, could open it.
    shutil.copy(IN_SANDBOX, folder / "in_sandbox.py")
    shutil.copy(IN_KERNEL, folder / "in_kernel.py")
    mounted = {}
    for name, data in files.items():
        path = folder / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        top = Path(name).parts[0]
        mounted[top] = folder / "files" / top
    uid = sandbox.new_uid()
    sandbox.hand_over(folder, uid)
    return Program(cases, kinds, sorted(forbidden), mounted, uid, harness_input(program, inputs.arrays))


def harness_input(program, arrays):
    """What the harness reads on its standard input: the program's JSON and the arrays' ``.npz``, each sized."""
    archive = io.BytesIO()
    np.savez(archive, **arrays)
    parts = [json.dumps(program).encode(), archive.getvalue()]
    return b"".join(len(p).to_bytes(8, "big") + p for p in parts)


def _refuse_course_imports(steps, forbidden, origins):
    """A course cell that imports what its run forbids is the course's mistake: say so to the maintainer.

    (A set-up cell importing TensorFlow above NumPy-only parts: the notebook's
    order is wrong; the import belongs in a set-up cell below those parts.)
    """
    for number, step in enumerate(steps):
        if step["kind"] == "cell" and (origins or {}).get(number, "course") == "course":
            clash = sorted(name for name in forbidden
                           if any(m == name or m.startswith(name + ".") for m in course_imports(step["source"])))
            if clash:
                raise CourseError(
                    f"course cell {step.get('id') or number} imports {', '.join(clash)}, "
                    f"which a part graded after it forbids: move the import into a set-up cell below that part")


def course_imports(source):
    """The modules a course cell imports at top level (``import a.b`` gives ``a`` and ``a.b``)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        found = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        for name in found:
            parts = name.split(".")
            names |= {".".join(parts[:i + 1]) for i in range(len(parts))}
    return names


def _ship_cnnkit(folder, steps, always):
    """Copy cnnkit into the input folder's ``lib`` (first on the runner's ``sys.path``) when some step allows it.

    Its submodules that every part forbids (``cnnkit.nn``) are left out of
    the copy: no import trick reaches a file that is not there.
    """
    if all("cnnkit" in step["forbidden"] for step in steps):
        return
    left_out = {name.split(".", 1)[1].split(".")[0] for name in always if name.startswith("cnnkit.")}
    source = ROOT / "cnnkit"
    shutil.copytree(source, folder / LIBRARY / "cnnkit", ignore=lambda where, names: [
        n for n in names if n == "__pycache__" or (Path(where) == source and n in left_out)])


def _sandbox_files(part, seed):
    make = getattr(part, "sandbox_files", None)
    return make(seed) if callable(make) else None


def execute_program(folder, program, limits):
    python = sys.executable
    return sandbox.execute([python, "-s", "-I", f"{sandbox.INPUT}/in_sandbox.py", sandbox.INPUT, "{results_fd}"],
                           limits, inputs=folder, forbidden=program.forbidden, files=program.files,
                           env={"MPLBACKEND": "module://matplotlib_inline.backend_inline"}, stdin=program.stdin,
                           uid=program.uid, packages=packages_for(program.forbidden))


def packages_for(forbidden):
    """The distributions a run mounts: the runner's, and Keras's where the run's parts allow it."""
    refused = {name.split(".")[0] for name in forbidden}
    keras = () if refused & {"tensorflow", "keras"} else sandbox.KERAS_PACKAGES
    return sandbox.RUNNER_PACKAGES + keras


# --- 3. judge ---------------------------------------------------------------

class _Unsupported:
    def __init__(self, what):
        self.what = what


def decode(value, blobs):
    """A returned value from its JSON description; arrays are read without pickles."""
    if not isinstance(value, dict):
        return _Unsupported("malformed result")
    kind = value.get("kind")
    if kind == "none":
        return None
    if kind == "bool" and isinstance(value.get("value"), bool):
        return value["value"]
    if kind == "int" and isinstance(value.get("value"), int) and not isinstance(value.get("value"), bool):
        return value["value"] if abs(value["value"]) <= 2**62 else _Unsupported("integer too large")
    if kind == "float":
        v = value.get("value")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        if v in ("nan", "inf", "-inf"):
            return float(v)
        return _Unsupported("malformed float")
    if kind in ("tuple", "list"):
        items = value.get("items")
        if not isinstance(items, list) or len(items) > 16:
            return _Unsupported(kind)
        decoded = [decode(v, blobs) for v in items]
        return tuple(decoded) if kind == "tuple" else decoded
    if kind == "array":
        raw = blobs.get(value.get("blob"))
        if not isinstance(raw, bytes):
            return _Unsupported("array missing")
        try:
            array = np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError):
            return _Unsupported("unreadable array")
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf" or array.size > MAX_RESULT_ELEMENTS:
            return _Unsupported("array of an unsupported kind or size")
        return array
    if kind == "unsupported":
        return _Unsupported(str(value.get("type", "value"))[:100])
    return _Unsupported("value")


def outcome_of(event, blobs):
    """The grading package's ``Outcome`` of one case event."""
    g = grading()
    error = event.get("error")
    if error is not None:
        mro = event.get("error_mro")
        kind = str(event.get("error_type") or "")[:100] or None
        message = str(error)[:500]
        if kind and message.startswith(f"{kind}: "):
            message = message[len(kind) + 2:]  # the runner writes "Type: message"
        elif kind and message == kind:
            message = ""
        return g.Outcome(error_type=kind or ("Error" if error != "timeout" else None),
                         error_mro=tuple(str(m)[:100] for m in mro[:16]) if isinstance(mro, list) else (),
                         error_message=message, timed_out=error == "timeout")
    modified = event.get("modified_input")
    value = decode(event.get("value"), blobs)
    return g.Outcome(value=value, modified_input=modified if isinstance(modified, int) else None)


def judge_case(case, event, blobs, kind):
    if event is None:
        return "not reached: the run stopped before this case"
    error = event.get("error")
    if isinstance(error, str) and error.startswith("skipped:"):
        return error[:200]
    outcome = outcome_of(event, blobs)
    if isinstance(outcome.value, _Unsupported):
        return f"returned something that cannot be graded ({outcome.value.what})"
    return grading().judge_case(case, outcome, kind)


class _Reader:
    """Walks the stream's events in the order the plan says they must come."""

    def __init__(self, events):
        self.events = events
        self.position = 0
        self.side = []  # forbidden imports and rebindings, in order
        self.problem = ""
        self.stopped = ""  # why the harness ended the run early, in its words

    def next(self, event, **match):
        while self.position < len(self.events):
            item = self.events[self.position]
            self.position += 1
            if item.get("event") in ("forbidden-import", "rebound"):
                self.side.append(item)
                continue
            if item.get("event") == "stopped":
                self.stopped = str(item.get("reason", "the run was stopped"))[:200]
                self.position = len(self.events)
                return None
            if item.get("event") != event or any(item.get(k) != v for k, v in match.items()):
                self.problem = (f"expected the result of {event} {match}, got {str(item.get('event'))[:40]} "
                                f"{ {k: str(item.get(k))[:40] for k in match} }")
                self.position = len(self.events)
                return None
            return item
        return None


def judge(the_plan, program, outcome, parsed, graded, seed, limits):
    """Score every graded cell from the sandbox's results; return ``(parts, flags, notes, stopped, outputs)``."""
    reader = _Reader(parsed.events)
    outputs, part_events, model_events = {}, {}, {}
    not_implemented = set()  # answer cells that raised NotImplementedError
    complete = True
    for number, step in enumerate(program_steps(the_plan)):
        if step["kind"] == "cell":
            event = reader.next("cell", step=number)
            if event is None:
                complete = False
                break
            error = event.get("error")
            figures = event.get("figures") if isinstance(event.get("figures"), list) else []
            outputs[number] = {"output": str(event.get("output", ""))[:50_000],
                               "error": str(error)[:2000] if error is not None else None,
                               "figures": [parsed.blobs[f] for f in figures[:8] if f in parsed.blobs]}
            if isinstance(error, str) and error.startswith("NotImplementedError"):
                not_implemented.add(number)
            continue
        grade_id = step["grade_id"]
        event = reader.next("part", step=number, part=grade_id)
        if event is None:
            complete = False
            break
        part_events[grade_id] = {"found": event.get("found") is True, "step": number, "cases": {}}
        if event.get("found") is not True:
            continue
        if program.kinds[grade_id] == "model":
            model = reader.next("model", step=number, part=grade_id)
            if model is None:
                complete = False
                break
            model_events[grade_id] = model
            continue
        for index in range(len(program.cases[grade_id])):
            case = reader.next("case", step=number, part=grade_id, case=index)
            if case is None:
                complete = False
                break
            part_events[grade_id]["cases"][index] = case
        if not complete:
            break
    finished = complete and reader.next("done", steps=len(the_plan.steps)) is not None
    to_judge = {gid: event for gid, event in model_events.items() if not event.get("empty")}
    judged = judge_models(graded, to_judge, parsed.blobs, seed, limits) if to_judge else {}

    parts = {}
    for g in graded:
        cases = program.cases.get(g.grade_id, [])
        result = PartResult(g.grade_id, g.part, 0.0, g.points, total=len(cases))
        seen = part_events.get(g.grade_id)
        undefined_reason = None
        if seen is not None and not seen["found"]:
            # A blank answer: the cell that makes the object (the answer, or the
            # course's cell that calls it) stopped at NotImplementedError.
            if any(s < seen["step"] for s in not_implemented) or program.kinds[g.grade_id] != "function":
                missing = grading().Outcome(error_type="NameError", error_message=f"`{g.target}` is not defined")
                undefined_reason = (grading().judge_case(cases[0], missing, program.kinds[g.grade_id])
                                    if cases else "not implemented yet")
                if program.kinds[g.grade_id] == "function":
                    undefined_reason = "not implemented yet (raises NotImplementedError)"
            else:
                undefined_reason = f"`{g.target}` is not defined"
        for number, case in enumerate(cases):
            if seen is None:
                problem = "not reached: the run stopped before this part"
            elif undefined_reason:
                problem = undefined_reason
            elif program.kinds[g.grade_id] == "model" and model_events.get(g.grade_id, {}).get("empty"):
                problem = grading().judge_case(case, grading().Outcome(value=None), "model")
            elif program.kinds[g.grade_id] == "model":
                problem = _model_problem(judged.get(g.grade_id), model_events.get(g.grade_id), number)
            else:
                problem = judge_case(case, seen["cases"].get(number), parsed.blobs, program.kinds[g.grade_id])
            if problem:
                result.problems.append((number + 1, case.label, problem))
            else:
                result.passed += 1
        result.points = round(g.points * result.passed / result.total, 2) if result.total else 0.0
        parts[g.grade_id] = result

    flags, notes = [], []
    stopped = ""
    if outcome.timed_out:
        stopped = "the notebook ran past its time limit and was stopped"
    elif outcome.killed_for == "memory":
        stopped = f"the notebook used more than {limits.memory_mb} MiB of memory and was stopped"
    elif outcome.killed_for == "processes":
        stopped = f"the notebook started more than {limits.processes} processes or threads and was stopped"
    elif outcome.stream_overflow:
        stopped = "the notebook sent more results than the grader accepts and was stopped"
        flags.append("tampering: oversized results")
    elif parsed.problem or reader.problem:
        stopped = "the notebook's results were malformed or out of order"
        flags.append(f"tampering: {parsed.problem or reader.problem}")
    elif reader.stopped:
        stopped = f"the run was stopped: {reader.stopped}"
        if reader.stopped.startswith("the kernel sent"):
            # Only code that writes to the kernel's own reply pipe breaks its protocol.
            flags.append(f"tampering: {reader.stopped}")
    elif not finished:
        stopped = f"the notebook's process ended early (exit code {outcome.returncode})"
    if stopped:
        flags.insert(0, stopped + "; graded as far as it got")
    for item in reader.side:
        if item.get("event") == "forbidden-import":
            message = f"tried to import {str(item.get('module'))[:60]}, which this exercise does not allow"
            if message not in flags:
                flags.append(message)
        elif item.get("event") == "rebound":
            step = item.get("step")
            origin = the_plan.origins.get(step) if isinstance(step, int) else None
            names = [str(n)[:60] for n in item.get("names", [])][:8] if isinstance(item.get("names"), list) else []
            if origin in ("added", "call") and names:
                where = the_plan.steps[step].get("id") if origin == "added" else \
                    f"calling {the_plan.steps[step].get('target')}"
                message = f"{where} rebinds {', '.join(names)}"
                if message not in flags:
                    flags.append(message)
    for number, result in outputs.items():
        if result["error"] and the_plan.origins.get(number) != "call":
            notes.append((number, result["error"]))
    return parts, flags, notes, stopped, outputs


def program_steps(the_plan):
    return the_plan.steps


def _model_problem(judged, event, number):
    if event is not None and "error" in event:
        return f"the model could not be saved for grading: {str(event['error'])[:200]}"
    if judged is None:
        return "the model could not be checked (the checking process failed)"
    if "error" in judged:
        return str(judged["error"])[:300]
    problems = judged.get("problems", [])
    if not isinstance(problems, list) or number >= len(problems):
        return "not checked"
    return None if problems[number] is None else str(problems[number])[:300]


def judge_models(graded, model_events, blobs, seed, limits):
    """Check the saved models in a second sandbox that runs only the course's code."""
    import tempfile

    parts = {g.grade_id: g.part for g in graded}
    with tempfile.TemporaryDirectory(prefix="ag-judge-") as scratch:
        folder = Path(scratch)
        models = []
        for number, (grade_id, event) in enumerate(model_events.items()):
            payload = blobs.get(event.get("blob"))
            if grade_id in parts and isinstance(payload, bytes) and payload:
                name = f"model-{number}.keras"
                (folder / name).write_bytes(payload)
                models.append({"grade_id": grade_id, "part": parts[grade_id], "file": name})
        if not models:
            return {}
        uid = sandbox.new_uid()
        sandbox.hand_over(folder, uid)
        judge_limits = sandbox.Limits(wall_seconds=max(limits.wall_seconds, JUDGE_MIN_SECONDS),
                                      cell_seconds=limits.cell_seconds,
                                      memory_mb=max(limits.memory_mb, JUDGE_MIN_MEMORY_MB),
                                      disk_mb=limits.disk_mb, processes=limits.processes)
        # The seed goes on standard input: no file of the grader's holds it.
        outcome = sandbox.execute([sys.executable, "-s", "-m", "autograder.model_judge", sandbox.INPUT, "{results_fd}"],
                                  judge_limits, inputs=folder, expose=[ROOT / "cnnkit", ROOT / "autograder"],
                                  env={"PYTHONPATH": str(ROOT)}, uid=uid,
                                  stdin=json.dumps({"models": models, "seed": seed}).encode())
    try:
        judged = json.loads(outcome.stream.decode())
    except (ValueError, UnicodeDecodeError):
        return {}
    return judged if isinstance(judged, dict) else {}


def verdict_of(source_cells, release_cells, submitted, work, seed, limits):
    """Plan, run sandboxed, judge: the :class:`Verdict` of one submission (cells from :mod:`notebook`)."""
    work = Path(work)
    if work.exists():
        shutil.rmtree(work)
    the_plan = plan(source_cells, release_cells, submitted)
    graded = graded_cells(source_cells)
    runs = runs_of(the_plan)
    done = []
    for index, run in enumerate(runs):
        folder = work if len(runs) == 1 else work / f"run-{index}"
        program = write_program(folder, the_plan, seed, limits, run=run)
        outcome = execute_program(folder, program, limits)
        done.append((run, program, outcome, stream.parse(outcome.stream)))
    program, outcome, parsed = done[0][1:] if len(done) == 1 else merge_runs(the_plan, done)
    parts, run_flags, notes, stopped, outputs = judge(the_plan, program, outcome, parsed, graded, seed, limits)
    verdict = Verdict(parts, the_plan.flags + run_flags, notes, outcome.sandboxed, round(outcome.seconds, 2),
                      stopped, the_plan.display, outputs,
                      {n: str(step.get("id") or step.get("grade_id")) for n, step in enumerate(the_plan.steps)},
                      outcome.stderr_tail)
    if not outcome.sandboxed:
        verdict.flags.insert(0, "unsandboxed: bubblewrap is not installed, so this ran without isolation")
    return verdict


BLOB_OFFSET = 1_000_000  # blob ids of the n-th run are shifted by n times this when runs are merged


def merge_runs(the_plan, done):
    """One ``(program, outcome, stream)`` from several runs: each step's events from the run that owns it.

    A run owns its graded calls, and each cell belongs to the first run that
    reaches it. The first early stop, in the notebook's order, ends the merged
    stream there, as one run would have.
    """
    owner = {}
    for index, (run, *_rest) in enumerate(done):
        for number in range(run.last + 1):
            step = the_plan.steps[number]
            if (step["kind"] == "call" and number in run.calls) or (step["kind"] != "call" and number not in owner):
                owner[number] = index
    merged = stream.Stream()
    by_step = {}
    stops = []
    for index, (run, program, outcome, parsed) in enumerate(done):
        offset = index * BLOB_OFFSET
        merged.blobs.update({blob + offset: data for blob, data in parsed.blobs.items()})
        last_seen = -1
        for event in parsed.events:
            step = event.get("step")
            if event.get("event") == "stopped":
                stops.append((step if isinstance(step, int) else last_seen, event))
            elif isinstance(step, int) and owner.get(step) == index:
                by_step.setdefault(step, []).append(_shift_blobs(event, offset))
                last_seen = step
        if parsed.problem:
            stops.append((last_seen + 1, {"event": "stopped", "reason": f"the kernel sent {parsed.problem}"}))
        elif not any(e.get("event") in ("done", "stopped") for e in parsed.events):
            stops.append((last_seen + 1, None))  # the run's process ended without a word
    first_stop = min(stops, key=lambda item: item[0]) if stops else None
    for number in range(len(the_plan.steps)):
        if first_stop is not None and number >= first_stop[0]:
            if first_stop[1] is not None:
                merged.events.append(first_stop[1])
            break
        merged.events += by_step.get(number, [])
    else:
        merged.events.append({"event": "done", "steps": len(the_plan.steps)})
    programs = [item[1] for item in done]
    outcomes = [item[2] for item in done]
    program = Program({k: v for p in programs for k, v in p.cases.items()},
                      {k: v for p in programs for k, v in p.kinds.items()},
                      sorted(set.intersection(*(set(p.forbidden) for p in programs))), {})
    outcome = sandbox.Outcome(
        outcomes[-1].returncode, any(o.timed_out for o in outcomes), sum(o.seconds for o in outcomes),
        all(o.sandboxed for o in outcomes), "\n".join(o.stderr_tail for o in outcomes if o.stderr_tail)[-4000:],
        b"", any(o.stream_overflow for o in outcomes), next((o.killed_for for o in outcomes if o.killed_for), ""))
    return program, outcome, merged


def _shift_blobs(event, offset):
    """The event with every blob id it names shifted by ``offset`` (figures, arrays, models)."""
    if not offset:
        return event
    if isinstance(event, dict):
        shifted = {}
        for key, value in event.items():
            if key == "blob" and isinstance(value, int) and not isinstance(value, bool):
                shifted[key] = value + offset
            elif key == "figures" and isinstance(value, list):
                shifted[key] = [v + offset if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
            else:
                shifted[key] = _shift_blobs(value, offset)
        return shifted
    if isinstance(event, list):
        return [_shift_blobs(v, offset) for v in event]
    return event
