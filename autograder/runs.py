"""Several runs of one notebook merged into one results stream, as one run would have sent it."""

from __future__ import annotations

from . import sandbox, stream
from .program import Program

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

