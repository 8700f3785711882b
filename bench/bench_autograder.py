"""How fast the autograder grades a class: submissions per minute, and what one submission costs.

    python bench/bench_autograder.py [--n 24] [--assignment 02-convolution]

Generates N submissions of the assignment (the student version with the
solution's answers pasted in, each file made distinct), grades them with
``--jobs 1`` and ``--jobs 2`` in fresh output folders, and prints the rate.
Then it times the parts of one submission's cost: starting the sandbox,
starting Python with NumPy and IPython in it, the one sandboxed run of the
notebook (its cells, the hidden cases, the judge), and the feedback page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import sandbox  # noqa: E402
from autograder.course import EXERCISES, assignment_notebook  # noqa: E402
from autograder.grade import grade  # noqa: E402


def make_submissions(folder, assignment, n):
    from autograder.notebook import solution_answers

    answers = solution_answers(assignment_notebook(assignment))
    release = json.loads((EXERCISES / assignment / assignment_notebook(assignment).name).read_text())
    for cell in release["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    folder.mkdir(parents=True)
    for index in range(n):
        release["metadata"]["submission"] = index  # distinct files, like a real class
        (folder / f"student{index:03d}.ipynb").write_text(json.dumps(release))


def timed(label, func, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    best = sorted(times)[len(times) // 2]
    print(f"  {label:<58} {best * 1000:8.0f} ms")
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=24, help="submissions to grade (default 24)")
    parser.add_argument("--assignment", default="02-convolution")
    args = parser.parse_args()
    print(f"autograder benchmark: {args.n} submissions of {args.assignment}, {os.cpu_count()} cores, "
          f"bubblewrap {'yes' if sandbox.bwrap_path() else 'NO (unsandboxed)'}")
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        scratch = Path(scratch)
        make_submissions(scratch / "submissions", args.assignment, args.n)
        rates = {}
        for jobs in (1, 2):
            out = scratch / f"out-{jobs}"
            start = time.perf_counter()
            rows, _ = grade(args.assignment, scratch / "submissions", out, jobs=jobs, seed=1)
            seconds = time.perf_counter() - start
            full = sum(row.total == row.max for row in rows)
            rates[jobs] = 60 * len(rows) / seconds
            print(f"--jobs {jobs}: {len(rows)} graded in {seconds:6.1f} s = {rates[jobs]:5.1f} submissions/minute "
                  f"({full} with full marks)")
        print(f"speed-up with 2 jobs: {rates[2] / rates[1]:.2f}x")

        print("cost of one submission (median of 3):")
        work = scratch / "probe"
        work.mkdir()
        (work / "empty.py").write_text("")
        (work / "imports.py").write_text("import numpy, IPython.core.interactiveshell\n")
        os.chmod(work, 0o755)
        limits = sandbox.Limits()
        python = sys.executable
        timed("Python start, no sandbox", lambda: subprocess.run([python, "-s", str(work / "empty.py")]))
        timed("Python start in the sandbox (bwrap + limits + setpriv)",
              lambda: sandbox.execute([python, "-s", f"{sandbox.INPUT}/empty.py"], limits, inputs=work))
        timed("+ import NumPy and IPython in the sandbox",
              lambda: sandbox.execute([python, "-s", f"{sandbox.INPUT}/imports.py"], limits, inputs=work))

        from autograder import feedback, notebook
        from autograder.grade import Course
        from autograder.verdict import verdict_of

        course = Course(args.assignment)
        cells = notebook.load(next((scratch / "submissions").iterdir()))
        verdicts = []
        timed("the notebook's one sandboxed run: cells, hidden cases, judge", lambda: verdicts.append(verdict_of(
            course.source, course.release, cells, scratch / "verdict", 1, limits)))
        timed("its feedback page (math drawn once per process, then cached)",
              lambda: feedback.page(args.assignment, "s", verdicts[-1], course.graded))
        print(f"  of which the student's code and the course's cells: {verdicts[-1].seconds * 1000:.0f} ms in the "
              f"sandbox in all")


if __name__ == "__main__":
    main()
