"""Students' Keras models judged in a second sandbox that runs only the course's code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import sandbox
from .course import ROOT

JUDGE_MIN_SECONDS = 120.0


JUDGE_MIN_MEMORY_MB = 4096


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

