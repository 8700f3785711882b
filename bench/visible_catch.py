"""What share of the known wrong answers the visible test cells catch before hand-in.

For every wrong answer in ``tests/grading`` (``WRONG``) whose part has a
visible test cell that calls the answer directly, run the notebook's set-up
and solution cells, put the wrong answer in place of the student's, run the
visible cell and count it as caught when the cell raises. The correct
alternatives (``RIGHT``) are run the same way: a visible cell must let each
of them pass.

    .venv/bin/python bench/visible_catch.py            # the current notebooks
    .venv/bin/python bench/visible_catch.py --rev REV  # the visible cells of an older commit

Parts whose interface changed between the two (exercise 03's layer and
filter, exercise 06's hand counts) are compared only where both have them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

CHECK = re.compile(r'check\(\s*"(?:[0-9a-z-]+/)?([a-z0-9_]+)"\s*,\s*([A-Za-z_]\w*)\s*\)')
# Model parts: the visible cell builds the model by calling this function.
BUILDERS = {"all_conv_model": "build_all_conv_model", "spec_model": "build_model"}
# Parts whose answer's interface changed since older commits: not comparable there.
CHANGED = {("03-feature-maps", "feature_maps"), ("03-feature-maps", "vertical_line")}


def notebook(assignment, rev=None):
    from autograder.course import assignment_notebook

    path = assignment_notebook(assignment)
    if rev is None:
        return json.loads(path.read_text())
    text = subprocess.run(["git", "show", f"{rev}:{path.relative_to(ROOT)}"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout
    return json.loads(text)


def visible_cells(nb):
    """``{part: (target name, visible cell source, the visible cells before it)}``."""
    found, visible = {}, []
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        source = "".join(cell["source"])
        if cell["cell_type"] != "code":
            continue
        if meta.get("grade_id", "").endswith("_example"):
            visible.append(source)
        elif meta.get("grade") and not meta.get("solution"):
            match = CHECK.search(source)
            if match and visible:
                found[match.group(1)] = (match.group(2), visible[-1], list(visible[:-1]))
    return found


def base_namespace(nb):
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            given = not meta.get("grade") and not meta.get("grade_id", "").endswith("_example")
            if cell["cell_type"] == "code" and (meta.get("solution") or given):
                exec("".join(cell["source"]), namespace)
    return namespace


def passes(namespace, target, answer, source, earlier=()):
    """Whether the visible cell ``source`` passes with ``answer`` in place of ``target``.

    A student runs the notebook from the top: the visible cells before this one
    run first, with the correct answers, so that a cell may use what an earlier
    one set up (as older versions of the notebooks did).
    """
    from tests.grading.conftest import Model

    trial = dict(namespace)
    for before in earlier:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(before, trial)
        except Exception:
            pass
    if isinstance(answer, Model):
        trial[target] = answer.build
    else:
        trial[target] = answer
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(source, trial)
    except Exception:
        return False
    return True


def measure(rev=None, only=None):
    """``{(assignment, part): (caught, wrong, right_passed, right)}``."""
    from tests.grading.conftest import grading_modules

    results = {}
    for module in grading_modules():
        if module.ASSIGNMENT == "07-case-study":
            continue  # its visible cell trains a network: not a quick check
        nb = notebook(module.ASSIGNMENT, rev)
        cells = visible_cells(nb)
        namespace = base_namespace(nb)
        for part, wrongs in module.WRONG.items():
            if part not in cells or (only is not None and (module.ASSIGNMENT, part) not in only):
                continue
            target, source, earlier = cells[part]
            target = BUILDERS.get(part, target)
            if target not in namespace or target == "model":
                continue  # a value the visible cell computes itself (06's counts, a compiled model)
            caught = sum(not passes(namespace, target, wrong, source, earlier) for wrong in wrongs)
            rights = getattr(module, "RIGHT", {}).get(part, [])
            right_ok = sum(passes(namespace, target, right, source, earlier) for right in rights)
            results[(module.ASSIGNMENT, part)] = (caught, len(wrongs), right_ok, len(rights))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="measure the visible cells of this git revision instead")
    args = parser.parse_args(argv)
    now = measure()
    before = measure(args.rev, only=set(now) - CHANGED) if args.rev else None
    print(f"{'part':45} {'now':>9}" + (f" {'at ' + args.rev[:8]:>12}" if before else "") + "   correct styles passing")
    total = [0, 0]
    total_before = [0, 0]
    for key, (caught, wrong, right_ok, right) in sorted(now.items()):
        line = f"{key[0] + '/' + key[1]:45} {caught:>4}/{wrong:<4}"
        if before is not None:
            if key in before:
                b = before[key]
                line += f" {b[0]:>7}/{b[1]:<4}"
                total_before[0] += b[0]
                total_before[1] += b[1]
            else:
                line += f" {'-':>12}"
        line += f"   {right_ok}/{right}"
        total[0] += caught
        total[1] += wrong
        print(line)
    print(f"visible cells catch {total[0]} of {total[1]} wrong answers ({total[0] / total[1]:.0%}) now")
    if before is not None and total_before[1]:
        common = [now[key] for key in before]
        caught, wrong = sum(c[0] for c in common), sum(c[1] for c in common)
        print(f"on the parts comparable with {args.rev}: {caught} of {wrong} ({caught / wrong:.0%}) now, "
              f"{total_before[0]} of {total_before[1]} ({total_before[0] / total_before[1]:.0%}) then")


if __name__ == "__main__":
    main()
