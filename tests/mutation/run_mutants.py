"""Grade AST mutants of every solution's answer cells with the hidden cases: the kill rate per part.

Usage (``make mutants``)::

    python tests/mutation/run_mutants.py [--assignment 02-convolution] [--part conv2d] [--survivors]

For each function part's answer cell of the solution notebooks, every
single mutation of its answer lines (:mod:`operators`) is executed in a
namespace built like the solution's (set-up cells once, then every cell
that only defines functions, the mutated one in its place), and the part's
answer is graded in-process on the same cases and judge as the real grader
(:func:`autograder.grading.cases_for`, :func:`autograder.grading.judge_case`).
A mutant is killed when it loses a point (grading stops at its first failed
case: the points are then below full), raises while being defined, or runs
past the time limit (the grader would stop it). Mutants listed in
``equivalent.txt`` (with the reason they compute the same results) are left
out of the rate. Model and value parts are not mutated.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import signal
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from operators import mutants  # noqa: E402

from autograder.course import assignment_notebook  # noqa: E402
from autograder.grading import call, cases_for, get_part, judge_case, parts_of  # noqa: E402

EQUIVALENTS = Path(__file__).resolve().parent / "equivalent.txt"
TIME_LIMIT = 30  # seconds per mutant; an answer that runs longer is stopped by the grader too
SKIPPED = ("06-sequential-models",)  # models and values only
# Answer cells that hold the functions of other parts than their own name (cell: parts).
CELL_PARTS = {"03-feature-maps": {"vertical_line_filter": ["vertical_line"]},
              "07-case-study": {"relu": ["relu_forward", "relu_backward"],
                                "affine": ["affine_forward", "affine_backward"],
                                "softmax": ["softmax_cross_entropy"],
                                "batchnorm_dropout": ["batchnorm_forward", "batchnorm_backward", "dropout_forward",
                                                      "dropout_backward"]}}
# Parts graded through a given function of the notebook, not the answer itself.
ANSWER_OF = {"07-case-study/sgd_momentum": lambda ns: ns["momentum_steps"],
             "07-case-study/batchnorm_forward": lambda ns: ns["batchnorm_outputs"],
             "07-case-study/batchnorm_backward": lambda ns: ns["batchnorm_gradients"],
             "07-case-study/dropout_forward": lambda ns: ns["dropout_output"],
             "07-case-study/dropout_backward": lambda ns: ns["dropout_gradient"]}


class TimedOut(BaseException):
    """Raised by the alarm: a BaseException, so that the grader's ``except Exception`` does not judge it."""


def _alarm(signum, frame):
    raise TimedOut()


def _cells(assignment):
    """``[(grade_id, kind, source)]``: kind "setup", "light" (only defs and imports) or "answer"."""
    nb = json.loads(assignment_notebook(assignment).read_text())
    cells = []
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if grade_id.startswith("setup"):
            cells.append((grade_id, "setup", source))
        elif meta.get("solution") or grade_id.endswith("_given"):
            only_defs = all(isinstance(s, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))
                            for s in ast.parse(source).body)
            cells.append((grade_id, "light" if only_defs else "heavy", source))
    return cells


def _answer(assignment, part, namespace):
    name = f"{assignment}/{part}"
    if name in ANSWER_OF:
        return ANSWER_OF[name](namespace)
    if assignment == "03-feature-maps" and part == "vertical_line":
        return namespace["sees_vertical_line"]
    return namespace[part]


def _killed(name, answer, cases):
    """Why the mutant is killed on part ``name`` (its first failed case), or ``None`` when it keeps every point."""
    kind = get_part(name).kind
    for number, case in enumerate(cases, start=1):
        problem = judge_case(case, call(answer, case, kind), kind)
        if problem:
            return f"case {number}: {problem[:80]}"
    return None


def load_equivalents():
    """``{"assignment/cell line:col description": reason}`` from ``equivalent.txt``."""
    equivalents = {}
    if EQUIVALENTS.exists():
        for line in EQUIVALENTS.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, reason = line.partition("  # ")
                equivalents[key.strip()] = reason.strip()
    return equivalents


def run(assignment, only_part=None, show=False, seed=None):
    """Mutate and grade one assignment: ``{cell: counts}`` and the survivors ``[(key, description)]``."""
    cells = _cells(assignment)
    base = {}
    for _, kind, source in cells:
        if kind == "setup":
            exec(compile(source, f"<{assignment}:setup>", "exec"), base)
    function_parts = {p for p, part in parts_of(assignment).items() if part.kind == "function"}
    cases = {p: cases_for(f"{assignment}/{p}", seed) for p in function_parts}
    equivalents = load_equivalents()
    counts, survivors = defaultdict(lambda: defaultdict(int)), []
    for index, (grade_id, kind, source) in enumerate(cells):
        parts = CELL_PARTS.get(assignment, {}).get(grade_id, [grade_id])
        parts = [p for p in parts if p in function_parts and (only_part is None or p == only_part)]
        if kind == "setup" or not parts:
            continue
        for key, description, mutated in mutants(source):
            full_key = f"{assignment}/{grade_id} {key}"
            tally = counts[grade_id]
            tally["mutants"] += 1
            if full_key in equivalents:
                tally["equivalent"] += 1
                continue
            namespace = dict(base)
            signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(TIME_LIMIT)
            try:
                for other, (_, other_kind, other_source) in enumerate(cells):
                    if other_kind == "light" or other == index:
                        exec(compile(mutated if other == index else other_source, f"<{assignment}>", "exec"),
                             namespace)
                reason = None
                for part in parts:
                    reason = _killed(f"{assignment}/{part}", _answer(assignment, part, namespace), cases[part])
                    if reason:
                        break
            except TimedOut:
                reason = "timed out"
            except Exception as exc:  # the mutant does not even define its function
                reason = f"definition raised {type(exc).__name__}"
            finally:
                signal.alarm(0)
            if reason:
                tally["killed"] += 1
            else:
                tally["survived"] += 1
                survivors.append((full_key, description))
                if show:
                    print(f"  survived: {full_key}", flush=True)
    return counts, survivors


def rate(tally):
    judged = tally["mutants"] - tally["equivalent"]
    return tally["killed"] / judged if judged else 1.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", action="append", help="only these assignments (repeatable)")
    parser.add_argument("--part", help="only this part (with one --assignment)")
    parser.add_argument("--survivors", action="store_true", help="list every surviving mutant")
    parser.add_argument("--json", help="write the counts and survivors to this file")
    parser.add_argument("--min-part", type=float, default=0.90, help="the least kill rate of a part")
    parser.add_argument("--min-total", type=float, default=0.98, help="the least kill rate of all parts together")
    args = parser.parse_args(argv)
    from autograder.course import assignments

    names = args.assignment or [a for a in assignments() if a not in SKIPPED]
    total, every, all_survivors = defaultdict(int), {}, []
    print(f"{'part':45s} {'mutants':>7s} {'equiv':>5s} {'killed':>6s} {'rate':>7s}")
    for assignment in names:
        counts, survivors = run(assignment, args.part, args.survivors)
        all_survivors += survivors
        for cell, tally in counts.items():
            every[f"{assignment}/{cell}"] = dict(tally)
            for field, value in tally.items():
                total[field] += value
            print(f"{assignment + '/' + cell:45s} {tally['mutants']:7d} {tally['equivalent']:5d} "
                  f"{tally['killed']:6d} {rate(tally):7.1%}", flush=True)
    print(f"{'all parts':45s} {total['mutants']:7d} {total['equivalent']:5d} {total['killed']:6d} {rate(total):7.1%}")
    if args.json:
        Path(args.json).write_text(json.dumps({"parts": every, "survivors": all_survivors}, indent=1))
    low = [name for name, tally in every.items() if rate(defaultdict(int, tally)) < args.min_part]
    if low or rate(total) < args.min_total:
        print(f"below the aim ({args.min_part:.0%} per part, {args.min_total:.0%} in all): {low or 'the total'}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
