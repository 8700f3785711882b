"""Command line: ``python -m autograder {release,grade,check,new} ...``.

Exit codes: 0 done; 1 graded, but incomplete (a row is ``grader-error``) or,
for ``check``, the notebook will not be graded as it stands; 2 nothing was
done (bad arguments, no such folder, the grader's self-test failed).
"""

from __future__ import annotations

import argparse
import sys

from .course import CourseError, assignments
from .sandbox import Limits


def _parser():
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="generate exercises/ from solutions/ (student versions)")
    release.add_argument("assignments", nargs="*", help="assignments to generate (default: all)")
    release.add_argument("--check", action="store_true",
                         help="do not write; fail if exercises/ differs from a fresh generation")

    grade = commands.add_parser("grade", help="grade a folder of submissions of one assignment")
    grade.add_argument("assignment", help="assignment name, e.g. 02-convolution")
    grade.add_argument("submissions", help="folder: <student>/<ASSIGNMENT>/<name>.ipynb or <student>.ipynb")
    grade.add_argument("--out", required=True, help="folder for grades.csv, index.html and feedback/")
    grade.add_argument("--jobs", type=int, default=1, help="grade in N parallel worker processes (default 1)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster (e.g. tcp://10.0.0.5:8786) instead of local processes")
    grade.add_argument("--seed", type=int, help="seed of the hidden cases (default: a secret one kept in OUT/.state)")
    grade.add_argument("--student", metavar="NAME", help="re-grade this one submission only")
    for flag, name, kind, default, text in Limits.options():
        grade.add_argument(flag, dest=name, type=kind, default=default, help=f"{text} (default {default:g})")
    grade.add_argument("--no-cgroup", action="store_true",
                       help="grade even where no cgroup can be made for each submission (not root, no delegated "
                            "cgroup v2): shared memory, memfd, kernel memory and socket buffers and tmpfs xattrs are "
                            "then unbounded, only the watchdog's estimate of each process's memory applies, and a "
                            "CPU hog is not held to one core (without this flag grade refuses)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument("--keep-work", action="store_true",
                       help="keep the scratch folders (OUT/.work: the sandboxes' inputs) to investigate")
    grade.add_argument("--gradebook", metavar="PATH",
                       help="also write the scores into this nbgrader gradebook.db (formgrader, nbgrader export)")
    grade.add_argument("--roster", metavar="FILE",
                       help="class list exported from Canvas or Moodle: canvas.csv and moodle.csv name its people")
    grade.add_argument("--due", metavar="TIME",
                       help="due time, e.g. 2026-12-01T23:59 (in --timezone's zone unless an offset is given)")
    grade.add_argument("--timezone", metavar="ZONE", default="UTC",
                       help="IANA zone, e.g. Europe/Berlin, of the times that name no offset: --due, the roster's "
                            "submission times, nbgrader's timestamp.txt (default: UTC)")
    grade.add_argument("--late-penalty", metavar="RATE",
                       help="e.g. 10%%/day or 2%%/hour of the points earned, per started day or hour, up to 100%%")

    gradescope = commands.add_parser("gradescope", help="build Gradescope's autograder zip for one assignment")
    gradescope.add_argument("assignment", help="assignment name, e.g. 02-convolution")
    gradescope.add_argument("--out", required=True, help="the zip to write, e.g. autograder.zip")
    gradescope.add_argument("--seed", type=int, help="seed of the hidden cases (default: a fresh secret one)")

    new = commands.add_parser("new", help="a new chapter and its exercise, from working examples (maintainers)")
    new.add_argument("name", help="NN-topic, e.g. 08-attention")
    new.add_argument("--title", required=True, help="the chapter's title")

    publish = commands.add_parser("publish", help="copy the student-facing course (book, exercises, cnnkit) to DEST, "
                                  "without solutions or hidden tests")
    publish.add_argument("dest", help="a new or empty folder, or one published before (e.g. a public repository's "
                                      "work tree)")
    publish.add_argument("--repository", help="the public repository's URL, for the book's Colab and download "
                                              "buttons (e.g. https://github.com/OWNER/NAME)")

    check = commands.add_parser("check", help="before hand-in: will this notebook be graded?")
    check.add_argument("notebook", help="the exercise notebook to check")
    check.add_argument("--assignment", help="assignment name (default: found from the notebook)")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            from . import release as release_module

            if args.check:
                problems = release_module.check(args.assignments or None)
                if problems:
                    print("exercises/ is out of date; run `make exercises` and commit:", file=sys.stderr)
                    print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
                    return 1
                print(f"exercises/ matches a fresh generation of {len(args.assignments or assignments())} "
                      "assignment(s)")
                return 0
            names = release_module.generate(args.assignments or None)
            print(f"generated exercises/ for {', '.join(names)}")
            return 0
        if args.command == "new":
            from .scaffold import new as scaffold

            for path in scaffold(args.name, args.title):
                print(f"wrote {path}")
            print(f"next: edit them, then `make exercises` (the student version) and `make test`")
            return 0
        if args.command == "gradescope":
            from .gradescope import build

            print(f"wrote {build(args.assignment, args.out, args.seed)}: upload it as the assignment's "
                  "autograder (Ubuntu 24.04 base image)")
            return 0
        if args.command == "publish":
            from .publish import publish as publish_course

            written = publish_course(args.dest, args.repository)
            print(f"published {len(written)} files to {args.dest}: no solution cell, no hidden test, no grader")
            return 0
        if args.command == "check":
            from .check import main as check_main

            return check_main(args.notebook, args.assignment)
        if args.command == "grade":
            from . import grade as grading
            from .reports import Progress, summary

            if args.jobs < 1:
                parser.error(f"--jobs must be at least 1, got {args.jobs}")
            limits = Limits(**{name: getattr(args, name) for _, name, _, _, _ in Limits.options()})
            from .exports import Options, finish

            options = Options(args.due, args.late_penalty, args.roster, args.gradebook, args.timezone)
            try:
                options.check()  # before grading: a typo in an option costs no run
            except ValueError as exc:
                parser.error(str(exc))
            rows, complete = grading.grade(args.assignment, args.submissions, args.out, jobs=args.jobs,
                                           seed=args.seed, scheduler=args.scheduler, limits=limits,
                                           progress=None if args.quiet else Progress(),
                                           keep_work=args.keep_work, student=args.student,
                                           allow_no_cgroup=args.no_cgroup)
            course = grading.Course(args.assignment)
            with grading.private_files():  # the LMS tables and the gradebook are the grader's too
                rows = finish(args.out, args.assignment, rows, course.parts, course.source_path, args.submissions,
                              options, lambda message: print(message, file=sys.stderr, flush=True))
            print(summary(rows, course.parts, grading.grade.elapsed, grading.grade.graded_now))
            print(f"grades: {args.out}/grades.csv   class: {args.out}/index.html   review: {args.out}/review.csv"
                  f"   feedback: {args.out}/feedback/")
            if not complete:
                print("error: the run is incomplete: the rows marked grader-error were not graded; run the same "
                      "command again to retry them", file=sys.stderr)
                return 1
            return 0
    except (CourseError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
