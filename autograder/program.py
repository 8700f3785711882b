"""The program of a sandboxed run: its steps, the hidden cases' inputs, the course code and data it mounts.

Parts that allow different packages are graded in runs of their own
(:class:`Run`): each run mounts only the distributions its parts allow. The
hidden cases reach the harness on its standard input, never through a file.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import sandbox
from .course import ROOT, CourseError
from .grading_api import grading

IN_SANDBOX = Path(__file__).with_name("in_sandbox.py")


IN_KERNEL = Path(__file__).with_name("in_kernel.py")


LIBRARY = "lib"  # in the sandbox's input folder: the course packages an exercise allows (in_sandbox.py puts it on sys.path)


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

