"""The verdict: a submission's grade, decided outside the student's process.

1. **Plan** (grader): rebuild the notebook from the course's source notebook,
   taking from the submission only its answer cells (matched by grade id)
   and the cells the student added. The course's own cells (set-up, visible
   tests) run as the course wrote them; each graded test cell becomes a
   *call* of the function it grades. Edited, deleted, moved or re-tagged
   course cells therefore change nothing, and are reported.
2. **Run** (sandbox, :mod:`autograder.runner`): the student's code runs with
   no network, no course repository (so no ``cnnkit``, no solutions), no
   other submissions, none of the packages the exercise forbids, and limits
   on time, memory, files and processes. The graded functions are called on
   hidden inputs drawn here from a seed the sandbox never sees.
3. **Judge** (grader): the returned values are compared with cnnkit's
   results in this process. Nothing the student's code does to NumPy,
   ``assert``, builtins, the IPython input transformers or the results file
   can make a wrong value right.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .grading import Raises, cases_for, describe_mismatch, get_part

from . import sandbox

CHECK_CALL = re.compile(r'check\(\s*"([^"]+)"\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)')
RUNNER = Path(__file__).with_name("runner.py")
MAX_RESULTS_BYTES = 64 * 1024 * 1024
MAX_ARRAY_BYTES = 256 * 1024 * 1024


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

    @property
    def failures(self):
        return [f"case {number} ({label}): {problem}" for number, label, problem in self.problems]

    def text(self):
        head = f"{self.grade_id} ({self.part}): {self.passed}/{self.total} cases, {self.points:g} of {self.max_points:g} points"
        reasons = {problem for _, _, problem in self.problems}
        if self.passed == 0 and len(self.problems) > 1 and len(reasons) == 1:
            # One reason for every case (not written yet, not defined): say it once.
            return f"{head}\n  - every case: {reasons.pop()}"
        return "\n".join([head] + [f"  - {failure}" for failure in self.failures])


@dataclass
class Verdict:
    parts: dict
    flags: list = field(default_factory=list)  # needs a human look
    notes: list = field(default_factory=list)  # for the student's feedback only
    sandboxed: bool = True
    seconds: float = 0.0
    stopped: str = ""  # why the run ended early, if it did

    @property
    def total(self):
        return round(sum(p.points for p in self.parts.values()), 2)


# --- 1. plan ----------------------------------------------------------------

def _nbgrader(cell):
    meta = cell.get("metadata", {})
    return meta.get("nbgrader", {}) if isinstance(meta, dict) else {}


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def graded_cells(source_nb):
    """The auto-graded cells of a source notebook and the part each one checks."""
    graded = []
    for cell in source_nb["cells"]:
        meta = _nbgrader(cell)
        if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
            calls = CHECK_CALL.findall(_source(cell))
            if len(calls) != 1:
                raise ValueError(f"graded cell {meta.get('grade_id')!r} must hold one check(\"part\", name) call")
            part, target = calls[0]
            graded.append(GradedCell(meta["grade_id"], part, target, float(meta.get("points", 0))))
    return graded


def plan(source_nb, release_nb, submission_nb):
    """``(steps, flags)``: what the sandbox runs, in order, and what looked wrong in the submission."""
    flags = []
    release_cells = {_nbgrader(c).get("grade_id"): c for c in release_nb["cells"] if _nbgrader(c).get("grade_id")}
    cells = submission_nb.get("cells", [])
    if not isinstance(cells, list):
        cells = []
    known_order, by_id, extras = [], {}, {None: []}
    anchor = None
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in release_cells:
            if grade_id in by_id:
                flags.append(f"cell {grade_id!r} appears twice; the first is used")
                continue
            by_id[grade_id] = cell
            known_order.append(grade_id)
            anchor = grade_id
            extras.setdefault(anchor, [])
        elif cell.get("cell_type") == "code" and _source(cell).strip():
            extras.setdefault(anchor, []).append(_source(cell))

    release_order = [g for g in (_nbgrader(c).get("grade_id") for c in release_nb["cells"]) if g]
    if [g for g in release_order if g in by_id] != known_order:
        flags.append("cells were moved out of the assignment's order (graded in the assignment's order)")
    for grade_id, original in release_cells.items():
        meta = _nbgrader(original)
        submitted = by_id.get(grade_id)
        if submitted is None:
            if meta.get("solution"):
                flags.append(f"answer cell {grade_id!r} is missing")
            else:
                flags.append(f"course cell {grade_id!r} was deleted (restored for grading)")
            continue
        sub_meta = _nbgrader(submitted)
        for key in ("grade", "solution", "locked", "points"):
            if sub_meta.get(key) != meta.get(key):
                flags.append(f"cell {grade_id!r}: nbgrader metadata {key!r} was changed (ignored)")
                break
        if not meta.get("solution") and _source(submitted) != _source(original):
            flags.append(f"course cell {grade_id!r} was edited (the original is used)")
    targets = {g.target for g in graded_cells(source_nb)}
    for anchor_id, sources in extras.items():
        for source in sources:
            redefined = sorted(_defined_names(source) & targets)
            if redefined:
                where = f"after {anchor_id!r}" if anchor_id else "at the top"
                flags.append(f"a cell added {where} (re)defines {', '.join(redefined)}")

    steps = [{"cell": source, "id": "added"} for source in extras.get(None, [])]
    graded = {g.grade_id: g for g in graded_cells(source_nb)}
    for cell in source_nb["cells"]:
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        if cell.get("cell_type") != "code":
            pass
        elif grade_id in graded:
            g = graded[grade_id]
            steps.append({"call": g.grade_id, "part": g.part, "target": g.target})
        elif meta.get("solution"):
            if grade_id in by_id:
                steps.append({"cell": _source(by_id[grade_id]), "id": grade_id})
        else:
            steps.append({"cell": _source(cell), "id": grade_id or "course"})
        for source in extras.get(grade_id, []) if grade_id else []:
            steps.append({"cell": source, "id": "added"})
    return steps, flags


def _defined_names(source):
    """Names a cell binds at top level (def, class, assignment, import), by parsing, not running it."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
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


def write_program(work, steps, seed, limits):
    """Write program.json and inputs.npz; return ``{part: cases}`` (expected values stay here)."""
    inputs = _Inputs()
    cases_by_part, program_steps, forbidden = {}, [], None
    for step in steps:
        if "call" not in step:
            program_steps.append(step)
            continue
        part = get_part(step["part"])
        cases = cases_by_part.setdefault(step["call"], cases_for(part.name, seed))
        for relative, content in (part.sandbox_files(seed) if part.sandbox_files else {}).items():
            (work / relative).parent.mkdir(parents=True, exist_ok=True)  # the only data the student's code may read
            (work / relative).write_bytes(content)
        forbidden = set(part.forbidden) if forbidden is None else forbidden & set(part.forbidden)
        program_steps.append({
            "part": step["call"], "target": step["target"], "kind": part.kind,
            "cases": [] if part.kind == "model" else [
                {"id": i, "args": inputs.encode(tuple(c.args)), "kwargs": inputs.encode(dict(c.kwargs)),
                 "timeout": limits.cell_seconds} for i, c in enumerate(cases)],
        })
    program = {"steps": program_steps, "cell_timeout": limits.cell_seconds, "forbidden": sorted(forbidden or [])}
    (work / "program.json").write_text(json.dumps(program))
    np.savez(work / "inputs.npz", **inputs.arrays)
    return cases_by_part, sorted(forbidden or [])


# --- 3. judge ---------------------------------------------------------------

def _read_events(work):
    path = work / "results.jsonl"
    if not path.is_file():
        return []
    with open(path, "rb") as handle:
        raw = handle.read(MAX_RESULTS_BYTES)
    events = []
    for line in raw.splitlines():
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _decode(value, work):
    """A returned value from its JSON description; arrays are read without pickles."""
    if not isinstance(value, dict):
        return _Unsupported("malformed result")
    kind = value.get("kind")
    if kind == "none":
        return None
    if kind in ("int", "bool"):
        return value.get("value")
    if kind == "float":
        v = value.get("value")
        return float(v) if isinstance(v, (int, float, str)) else _Unsupported("malformed float")
    if kind == "tuple":
        items = value.get("items")
        return tuple(_decode(v, work) for v in items) if isinstance(items, list) else _Unsupported("tuple")
    if kind == "array":
        name = str(value.get("file", ""))
        path = work / "arrays" / name
        if not re.fullmatch(r"a\d+\.npy", name) or not path.is_file() or path.stat().st_size > MAX_ARRAY_BYTES:
            return _Unsupported("array file missing")
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError):  # EOFError: an empty or truncated .npy
            return _Unsupported("unreadable array")
    return _Unsupported(str(value.get("type", "value")))


class _Unsupported:
    def __init__(self, what):
        self.what = what


def _judge_case(event, case):
    if event is None:
        return "not reached: the run stopped before this case"
    if event.get("modified_input"):
        return f"modified its argument {event['modified_input']} in place"
    if "error" in event:
        if event["error"] == "timeout":
            return "ran too long and was stopped"
        if str(event["error"]).startswith("skipped:"):
            return str(event["error"])
        mro = event.get("error_mro") or []
        if isinstance(case.expected, Raises) and case.expected.exception.__name__ in mro:
            return None
        if event.get("error_type") == "NotImplementedError":
            return "not implemented yet (raises NotImplementedError)"
        return f"raised {str(event['error'])[:300]}"
    got = _decode(event.get("value"), work=event["_work"])
    if isinstance(got, _Unsupported):
        return f"returned something that cannot be graded ({got.what})"
    if isinstance(case.expected, Raises):
        return f"should raise {case.expected.exception.__name__}, but returned normally"
    return describe_mismatch(got, case)


def judge(work, graded, cases_by_part, outcome, seed=None, limits=None, hide=()):
    """Score every graded cell from the sandbox's results."""
    events = _read_events(work)
    seen_parts, case_events, cell_errors, forbidden_seen, model_events = set(), {}, [], set(), {}
    undefined = set()  # parts whose target name did not exist when their turn came
    for event in events:
        kind = event.get("event")
        if kind == "part":
            seen_parts.add(event.get("part"))
            if event.get("found") is False:
                undefined.add(event.get("part"))
        elif kind == "case":
            key = (event.get("part"), event.get("case"))
            if event.get("part") not in seen_parts:
                continue  # a line the student's code wrote ahead of the runner: ignored
            event["_work"] = work
            case_events.setdefault(key, event)
        elif kind == "cell" and event.get("error"):
            cell_errors.append((event.get("id"), str(event["error"])[:300]))
        elif kind == "forbidden-import":
            forbidden_seen.add(str(event.get("module")))
        elif kind == "model" and event.get("part") in seen_parts:
            model_events.setdefault(event.get("part"), event)
    finished = any(e.get("event") == "done" for e in events)
    judged = judge_models(work, graded, model_events, seed, limits, hide) if model_events else {}

    parts = {}
    for g in graded:
        cases = cases_by_part.get(g.grade_id, [])
        result = PartResult(g.grade_id, g.part, 0.0, g.points, total=len(cases))
        found = g.grade_id in seen_parts
        for number, case in enumerate(cases):
            event = case_events.get((g.grade_id, number))
            if g.grade_id in undefined:
                problem = f"`{g.target}` is not defined"
            elif found and event is None and not finished and g.grade_id not in model_events:
                problem = "not reached: the run stopped before this case"
            elif not found:
                problem = (f"`{g.target}` is not defined" if finished or _part_step_passed(events, g.grade_id)
                           else "not reached: the run stopped before this part")
            elif g.grade_id in judged or g.grade_id in model_events:
                problem = _model_problem(judged.get(g.grade_id), model_events.get(g.grade_id), number)
            else:
                problem = _judge_case(event, case)
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
    elif not finished:
        stopped = f"the notebook's process ended early (exit code {outcome.returncode})"
    if stopped:
        flags.append(stopped + "; graded as far as it got")
    for module in sorted(forbidden_seen):
        flags.append(f"tried to import {module}, which this exercise does not allow")
    for cell_id, error in cell_errors:
        notes.append(f"cell {cell_id!r} raised {error}")
    return parts, flags, notes, stopped


def _model_problem(judged, event, number):
    if event is not None and "error" in event:
        return f"the model could not be saved for grading: {str(event['error'])[:200]}"
    if judged is None:
        return "the model could not be checked (the checking process failed)"
    if "error" in judged:
        return str(judged["error"])
    problems = judged.get("problems", [])
    return problems[number] if number < len(problems) else "not checked"


def judge_models(work, graded, model_events, seed, limits, hide):
    """Check the saved models in a second sandbox that runs only the course's code."""
    from .course import ROOT

    parts = {g.grade_id: g.part for g in graded}
    folder = work / "judge"
    folder.mkdir()
    models = []
    for grade_id, event in model_events.items():
        name = str(event.get("file", ""))
        path = work / name
        if grade_id in parts and re.fullmatch(r"model-\d+\.keras", name) and path.is_file() \
                and path.stat().st_size < MAX_ARRAY_BYTES:
            shutil.copy(path, folder / name)
            models.append({"grade_id": grade_id, "part": parts[grade_id], "file": name})
    if not models:
        return {}
    (folder / "job.json").write_text(json.dumps({"models": models, "seed": seed}))
    judge_limits = sandbox.Limits(wall_seconds=max(limits.wall_seconds, 120), cell_seconds=limits.cell_seconds,
                                  memory_mb=max(limits.memory_mb, 4096))
    python = sandbox.sys.executable
    sandbox.run(folder, [python, "-s", "-m", "autograder.model_judge", "/tmp/grading"], judge_limits, hide=hide,
                expose=[ROOT / "cnnkit", ROOT / "autograder"])
    try:
        return json.loads((folder / "judged.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _part_step_passed(events, grade_id):
    return any(e.get("event") == "part" and e.get("part") == grade_id for e in events)


def run_verdict(source_nb, release_nb, submission_nb, work, seed, limits, hide=()):
    """Plan, run sandboxed, judge: the :class:`Verdict` of one submission."""
    work = Path(work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    steps, flags = plan(source_nb, release_nb, submission_nb)
    graded = graded_cells(source_nb)
    cases_by_part, forbidden = write_program(work, steps, seed, limits)
    shutil.copy(RUNNER, work / "runner.py")
    python = sandbox.sys.executable
    outcome = sandbox.run(work, [python, "-s", "runner.py", "/tmp/grading"], limits, hide=hide, forbidden=forbidden)
    parts, run_flags, notes, stopped = judge(work, graded, cases_by_part, outcome, seed, limits, hide)
    verdict = Verdict(parts, flags + run_flags, notes, outcome.sandboxed, round(outcome.seconds, 2), stopped)
    if not outcome.sandboxed:
        verdict.flags.insert(0, "unsandboxed: bubblewrap is not installed, so this ran without isolation")
    return verdict
