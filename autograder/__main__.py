"""Command line: ``python -m autograder {release,grade} ...``."""

from __future__ import annotations

import argparse
import sys

from .course import CourseError, assignments


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="generate exercises/ from solutions/ (student versions)")
    release.add_argument("assignments", nargs="*", help="assignments to generate (default: all)")
    release.add_argument("--check", action="store_true",
                         help="do not write; fail if exercises/ differs from a fresh generation")

    grade = commands.add_parser("grade", help="grade a folder of submissions of one assignment")
    grade.add_argument("assignment", help="assignment name, e.g. 02-convolution")
    grade.add_argument("submissions", help="folder: <student>/<ASSIGNMENT>/<name>.ipynb or <student>.ipynb")
    grade.add_argument("--out", required=True, help="folder for grades.csv and feedback/")
    grade.add_argument("--jobs", type=int, default=1, help="grade in N parallel worker processes (default 1)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster (e.g. tcp://10.0.0.5:8786) instead of local processes")
    grade.add_argument("--seed", type=int, help="seed of the hidden cases (default: a secret one kept in OUT/.state)")
    grade.add_argument("--cell-timeout", type=float, default=60, help="seconds per cell or graded call (60)")
    grade.add_argument("--notebook-timeout", type=float, default=300, help="seconds per notebook (300)")
    grade.add_argument("--memory-mb", type=int, default=4096, help="memory limit per notebook, MiB (4096)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument("--keep-work", action="store_true",
                       help="keep the scratch folders (OUT/.work: sandboxes' files, nbgrader logs) to investigate")

    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            from . import release as release_module

            if args.check:
                problems = release_module.check()
                if problems:
                    print("exercises/ is out of date; run `make exercises` and commit:", file=sys.stderr)
                    print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
                    return 1
                print(f"exercises/ matches a fresh generation of {len(assignments())} assignment(s)")
                return 0
            names = release_module.generate(args.assignments or None)
            print(f"generated exercises/ for {', '.join(names)}")
            return 0
        if args.command == "grade":
            from .grade import Progress, grade as grade_all, summary
            from .sandbox import Limits

            if args.jobs < 1:
                parser.error(f"--jobs must be at least 1, got {args.jobs}")
            limits = Limits(wall_seconds=args.notebook_timeout, cell_seconds=args.cell_timeout,
                            memory_mb=args.memory_mb)
            rows = grade_all(args.assignment, args.submissions, args.out, jobs=args.jobs, seed=args.seed,
                             scheduler=args.scheduler, limits=limits,
                             progress=None if args.quiet else Progress(), keep_work=args.keep_work)
            print(summary(rows))
            print(f"grades: {args.out}/grades.csv   review: {args.out}/review.csv   feedback: {args.out}/feedback/")
            return 0
    except (CourseError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
