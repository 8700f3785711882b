"""The judgement of one run: the results stream read step by step against the plan, and every case scored.

Nothing the student's code sent is trusted: events are matched to the plan
in order, returned values are decoded without pickles and compared with
expected values computed here by the grading package's one judge.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from .grading_api import grading
from .model_sandbox import judge_models

MAX_RESULT_ELEMENTS = 10_000_000


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
    seen = _read_events(the_plan, program, reader, parsed.blobs)
    to_judge = {gid: event for gid, event in seen.models.items() if not event.get("empty")}
    judged = judge_models(graded, to_judge, parsed.blobs, seed, limits) if to_judge else {}
    parts = {g.grade_id: _score_part(g, program, seen, judged, parsed.blobs) for g in graded}
    stopped, flags = _run_flags(outcome, parsed, reader, seen.finished, limits)
    flags += _side_flags(the_plan, reader.side, flags)
    notes = [(number, result["error"]) for number, result in seen.outputs.items()
             if result["error"] and the_plan.origins.get(number) != "call"]
    return parts, flags, notes, stopped, seen.outputs


@dataclass
class _Seen:
    """What the results stream said, step by step."""

    outputs: dict = field(default_factory=dict)  # step -> {"output", "error", "figures"}
    parts: dict = field(default_factory=dict)  # grade id -> {"found", "step", "cases": {index: event}}
    models: dict = field(default_factory=dict)  # grade id -> the model's event
    not_implemented: set = field(default_factory=set)  # steps whose cell raised NotImplementedError
    finished: bool = False


def _read_events(the_plan, program, reader, blobs):
    """Walk the plan's steps through the stream; stop at the first result missing."""
    seen = _Seen()
    for number, step in enumerate(the_plan.steps):
        if step["kind"] == "cell":
            if not _read_cell(seen, reader.next("cell", step=number), number, blobs):
                return seen
        elif not _read_call(seen, reader, program, number, step["grade_id"]):
            return seen
    seen.finished = reader.next("done", steps=len(the_plan.steps)) is not None
    return seen


def _read_cell(seen, event, number, blobs):
    if event is None:
        return False
    error = event.get("error")
    figures = event.get("figures") if isinstance(event.get("figures"), list) else []
    seen.outputs[number] = {"output": str(event.get("output", ""))[:50_000],
                            "error": str(error)[:2000] if error is not None else None,
                            "figures": [blobs[f] for f in figures[:8] if f in blobs]}
    if isinstance(error, str) and error.startswith("NotImplementedError"):
        seen.not_implemented.add(number)
    return True


def _read_call(seen, reader, program, number, grade_id):
    event = reader.next("part", step=number, part=grade_id)
    if event is None:
        return False
    seen.parts[grade_id] = {"found": event.get("found") is True, "step": number, "cases": {}}
    if event.get("found") is not True:
        return True
    if program.kinds[grade_id] == "model":
        model = reader.next("model", step=number, part=grade_id)
        if model is not None:
            seen.models[grade_id] = model
        return model is not None
    for index in range(len(program.cases[grade_id])):
        case = reader.next("case", step=number, part=grade_id, case=index)
        if case is None:
            return False
        seen.parts[grade_id]["cases"][index] = case
    return True


def _undefined_reason(g, cases, seen_part, not_implemented, kind):
    """Why a part's object is missing (a blank answer, or a name never defined), or ``None`` when it is there."""
    if seen_part is None or seen_part["found"]:
        return None
    # A blank answer: the cell that makes the object (the answer, or the
    # course's cell that calls it) stopped at NotImplementedError.
    if any(s < seen_part["step"] for s in not_implemented) or kind != "function":
        if kind == "function":
            return "not implemented yet (raises NotImplementedError)"
        missing = grading().Outcome(error_type="NameError", error_message=f"`{g.target}` is not defined")
        return grading().judge_case(cases[0], missing, kind) if cases else "not implemented yet"
    return f"`{g.target}` is not defined"


def _score_part(g, program, seen, judged, blobs):
    cases = program.cases.get(g.grade_id, [])
    kind = program.kinds.get(g.grade_id, "function")
    result = PartResult(g.grade_id, g.part, 0.0, g.points, total=len(cases))
    seen_part = seen.parts.get(g.grade_id)
    undefined = _undefined_reason(g, cases, seen_part, seen.not_implemented, kind)
    model_event = seen.models.get(g.grade_id, {})
    for number, case in enumerate(cases):
        if seen_part is None:
            problem = "not reached: the run stopped before this part"
        elif undefined:
            problem = undefined
        elif kind == "model" and model_event.get("empty"):
            problem = grading().judge_case(case, grading().Outcome(value=None), "model")
        elif kind == "model":
            problem = _model_problem(judged.get(g.grade_id), seen.models.get(g.grade_id), number)
        else:
            problem = judge_case(case, seen_part["cases"].get(number), blobs, kind)
        if problem:
            result.problems.append((number + 1, case.label, problem))
        else:
            result.passed += 1
    result.points = round(g.points * result.passed / result.total, 2) if result.total else 0.0
    return result


def _run_flags(outcome, parsed, reader, finished, limits):
    """``(stopped, flags)``: why the run ended early, if it did, and what of it needs a human look."""
    flags, stopped = [], ""
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
    return stopped, flags


def _side_flags(the_plan, side, already):
    """Flags of the forbidden imports and rebindings the run reported (each once)."""
    flags = []
    for item in side:
        message = None
        if item.get("event") == "forbidden-import":
            message = f"tried to import {str(item.get('module'))[:60]}, which this exercise does not allow"
        elif item.get("event") == "rebound":
            step = item.get("step")
            origin = the_plan.origins.get(step) if isinstance(step, int) else None
            names = [str(n)[:60] for n in item.get("names", [])][:8] if isinstance(item.get("names"), list) else []
            if origin in ("added", "call") and names:
                where = the_plan.steps[step].get("id") if origin == "added" else \
                    f"calling {the_plan.steps[step].get('target')}"
                message = f"{where} rebinds {', '.join(names)}"
        if message and message not in already and message not in flags:
            flags.append(message)
    return flags


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
