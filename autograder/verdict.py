"""The verdict: a submission's grade, decided outside the student's process, from sandboxed runs.

1. **Plan** (:mod:`autograder.plan`): the notebook the grader runs, rebuilt
   from the course's source notebook with the submission's answer cells.
2. **Run** (:mod:`autograder.program`, :mod:`autograder.sandbox`): a trusted
   harness (:mod:`autograder.in_sandbox`) runs the student's kernel
   (:mod:`autograder.in_kernel`) in another process and frames the results;
   parts that allow different packages are graded in runs of their own
   (:mod:`autograder.runs` merges them). Hidden inputs come from a seed of
   this submission's own.
3. **Judge** (:mod:`autograder.judgement`, :mod:`autograder.model_sandbox`):
   the results are checked step by step against the plan and compared with
   the reference in this process. Nothing the student's code does inside
   the sandbox can make a wrong value right.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import stream
from .judgement import PartResult, decode, judge, judge_case, outcome_of  # noqa: F401  (the grader's vocabulary)
from .model_sandbox import JUDGE_MIN_MEMORY_MB, JUDGE_MIN_SECONDS, judge_models  # noqa: F401
from .plan import GradedCell, Plan, defined_names, graded_cells, plan  # noqa: F401
from .program import (IN_KERNEL, IN_SANDBOX, LIBRARY, Program, Run, course_imports, execute_program,  # noqa: F401
                      harness_input, packages_for, runs_of, write_program)
from .runs import merge_runs

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


def execute_runs(the_plan, seed, limits, work, hidden_cases=True, progress=None):
    """Run every :class:`Run` of the plan sandboxed; ``(program, outcome, stream)`` as if it were one run.

    ``progress(run, index, count)`` is told before each run starts (the student's check shows it).
    """
    work = Path(work)
    runs = runs_of(the_plan)
    done = []
    for index, run in enumerate(runs):
        if progress is not None:
            progress(run, index, len(runs))
        folder = work if len(runs) == 1 else work / f"run-{index}"
        program = write_program(folder, the_plan, seed, limits, hidden_cases=hidden_cases, run=run)
        outcome = execute_program(folder, program, limits)
        done.append((run, program, outcome, stream.parse(outcome.stream)))
    return done[0][1:] if len(done) == 1 else merge_runs(the_plan, done)


def verdict_of(source_cells, release_cells, submitted, work, seed, limits):
    """Plan, run sandboxed, judge: the :class:`Verdict` of one submission (cells from :mod:`notebook`)."""
    work = Path(work)
    if work.exists():
        shutil.rmtree(work)
    the_plan = plan(source_cells, release_cells, submitted)
    graded = graded_cells(source_cells)
    program, outcome, parsed = execute_runs(the_plan, seed, limits, work)
    parts, run_flags, notes, stopped, outputs = judge(the_plan, program, outcome, parsed, graded, seed, limits)
    verdict = Verdict(parts, the_plan.flags + run_flags, notes, outcome.sandboxed, round(outcome.seconds, 2),
                      stopped, the_plan.display, outputs,
                      {n: str(step.get("id") or step.get("grade_id")) for n, step in enumerate(the_plan.steps)},
                      outcome.stderr_tail)
    if not outcome.sandboxed:
        verdict.flags.insert(0, "unsandboxed: bubblewrap is not installed, so this ran without isolation")
    return verdict

