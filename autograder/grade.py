"""Grade a whole class: ``python -m autograder grade ASSIGNMENT SUBMISSIONS --out OUT``.

Before any student, the grader proves its set-up: it grades the course's own
solution and blank student version in the sandbox, and stops with an error
that names the cause (writing no grades) unless the solution earns every
point and the blank none. Then each submission is run once, sandboxed (see
:mod:`autograder.verdict`); its grade, its feedback page and its row come
from that one run.

Results in ``OUT``: the tables and the class page (:mod:`autograder.reports`),
``feedback/<student>.html`` (:mod:`autograder.feedback`) and ``.state/``
(:mod:`autograder.state`: a re-run after an interruption grades only what is
missing or changed).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from . import cgroups, feedback, notebook, reports
from .course import EXERCISES, ROOT, CourseError, assignment_notebook
from .sandbox import Limits, bwrap_path
from .state import Row, State, assignment_fingerprint, sha256, submission_seed, zero_row
from .submissions import collect, find_student, mark_collisions, printable

BATCH_SIZE = 12  # students per worker task: amortises the worker's imports
# An exercise that trains a Keras model needs minutes where a NumPy one needs
# seconds: its cells and notebooks get at least these, whatever the options.
TRAINING_CELL_SECONDS = 300.0
TRAINING_NOTEBOOK_SECONDS = 900.0
BWRAP_WARNING = ("WARNING: bubblewrap (bwrap) is not installed: student code runs WITHOUT isolation "
                 "(no network or file-system sandbox). Install it: apt-get install bubblewrap")


NO_CGROUP_WARNING = ("WARNING: grading without a cgroup (--no-cgroup): " + cgroups.UNBOUNDED_WITHOUT_CGROUP
                     + ".")


class SetupError(CourseError):
    """The grader cannot be trusted on this machine as it is set up: nothing was graded."""


def refusal_without_cgroup(why):
    """What ``grade`` says when it cannot put each submission in a cgroup of its own."""
    return (f"cannot bound each submission by a cgroup of its own: {why}. Without one, "
            f"{cgroups.UNBOUNDED_WITHOUT_CGROUP}. Run the grader as root (or with a delegated cgroup v2 "
            f"subtree that has the memory and pids controllers), or pass --no-cgroup to grade anyway; "
            f"nothing was graded")


class Course:
    """One assignment's notebooks, read once per process."""

    def __init__(self, assignment):
        self.assignment = assignment
        self.source_path = assignment_notebook(assignment)
        self.release_path = EXERCISES / assignment / self.source_path.name
        if not self.release_path.is_file():
            raise CourseError(f"no student version {self.release_path}: run `python -m autograder release "
                              f"{assignment}`")
        self.source = notebook.course_cells(self.source_path)
        self.release = notebook.course_cells(self.release_path)
        from .verdict import graded_cells

        self.graded = graded_cells(self.source)
        self.parts = [(g.grade_id, g.points) for g in self.graded]
        self.release_ids = {c.grade_id for c in self.release if c.grade_id}
        self.blank_answers = answers_digest(self.release, self.release)

    def limits_for(self, limits):
        """``limits``, raised to what this exercise's training needs when it grades a model."""
        from dataclasses import replace

        from .grading_api import grading

        if not any(grading().get_part(g.part).kind == "model" for g in self.graded):
            return limits
        return replace(limits, cell_seconds=max(limits.cell_seconds, TRAINING_CELL_SECONDS),
                       wall_seconds=max(limits.wall_seconds, TRAINING_NOTEBOOK_SECONDS))

    @property
    def max_points(self):
        return sum(points for _, points in self.parts)


def answers_digest(cells, release):
    """A digest of what the student wrote: answer cells and added cells (course cells left out)."""
    course = {c.grade_id: c for c in release if c.grade_id}
    mine = [c.source for c in cells
            if (c.grade_id in course and notebook.is_answer(course[c.grade_id])) or c.grade_id not in course]
    return sha256(*(m.encode() for m in mine)) if mine else ""


def graded_parts(notebook_path):
    """``[(grade_id, points)]`` of the graded cells of a source notebook, in order."""
    from .verdict import graded_cells

    return [(g.grade_id, g.points) for g in graded_cells(notebook.course_cells(notebook_path))]


# --- one submission, and a batch (runs in a worker process) ---------------------

def grade_one(course, student, key, path, digest, work, seed, limits, fingerprint):
    """``(row, page)`` of one submission; a broken or hostile file gets a row, never an exception."""
    from .verdict import verdict_of

    start = time.monotonic()
    try:
        cells = notebook.load(path)
    except notebook.NotebookProblem as exc:
        row = zero_row(student, key, course.parts, exc.status, str(exc), f"{fingerprint}:{digest}")
        return row, feedback.problem_page(course.assignment, student, row)
    found = {c.grade_id for c in cells if c.grade_id}
    if not found & course.release_ids:
        row = zero_row(student, key, course.parts, "wrong-assignment",
                       f"none of {course.assignment}'s cells is in this notebook: another assignment's notebook?",
                       f"{fingerprint}:{digest}")
        return row, feedback.problem_page(course.assignment, student, row)
    verdict = verdict_of(course.source, course.release, cells, work, submission_seed(seed, key, digest), limits)
    row = Row(student, key, {gid: part.points for gid, part in verdict.parts.items()}, verdict.total,
              sum(part.max_points for part in verdict.parts.values()), "ok",
              list(verdict.flags) + [f"cell {verdict.display_id(step)}: {error}" for step, error in verdict.notes],
              f"{fingerprint}:{digest}", "\n\n".join(part.text() for part in verdict.parts.values()),
              # Copies are files identical byte for byte; an untouched blank is no copy.
              answers=digest if answers_digest(cells, course.release) != course.blank_answers else "")
    if not verdict.sandboxed:
        row.status = "unsandboxed"
    elif any(flag.startswith("tampering") for flag in verdict.flags):
        row.status = "flagged"
    elif verdict.stopped:
        row.status = "stopped-early"
    elif verdict.flags:
        row.status = "flagged"
    row.seconds = round(time.monotonic() - start, 2)
    return row, feedback.page(course.assignment, student, verdict, course.graded)


def grade_batch(assignment, batch, out, seed, limits, fingerprint, keep_work=False, require_cgroup=False):
    """Grade ``batch`` (``[(student, key, path, digest)]``); return ``[(row dict, page)]``.

    Module-level and argument-only, so that a process pool or a Dask worker
    can run it. ``require_cgroup``: every sandboxed run of this worker must be
    bounded by a cgroup (a worker that cannot make one gives ``grader-error``
    rows instead of grading unbounded).
    """
    if require_cgroup:
        os.environ[cgroups.REQUIRE_VARIABLE] = "1"
    with private_files():  # a Dask worker is another process: the grader's files stay its own there too
        return _grade_batch(assignment, batch, out, seed, limits, fingerprint, keep_work)


def _grade_batch(assignment, batch, out, seed, limits, fingerprint, keep_work):
    course = Course(assignment)
    work_root = Path(out) / ".work"
    results = []
    for student, key, path, digest in batch:
        work = work_root / key
        try:
            row, page = grade_one(course, student, key, path, digest, work, seed, limits, fingerprint)
        except Exception as exc:  # a grader bug must not cost the batch: the row says so
            row = zero_row(student, key, course.parts, "grader-error",
                           f"the grader failed on this submission: {type(exc).__name__}: {exc}; re-run to retry")
            page = feedback.problem_page(assignment, student, row)
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
        results.append((asdict(row), page))
    return results


# --- the set-up's proof ------------------------------------------------------------

def selftest(course, out, seed, limits, fingerprint, state):
    """Grade the course's solution and blank; raise :class:`SetupError` naming the cause unless right."""
    if state.selftest(fingerprint) == "passed":
        return
    from .verdict import verdict_of

    work = Path(out) / ".work" / ".selftest"
    problems = []
    for name, cells, wanted in (("solution", course.source, course.max_points), ("blank", course.release, 0.0)):
        verdict = verdict_of(course.source, course.release, cells, work / name, seed, limits)
        if abs(verdict.total - wanted) > 1e-6:
            detail = verdict.stopped or "; ".join(
                part.text().replace("\n", " ") for part in verdict.parts.values()
                if (part.points < part.max_points if wanted else part.points > 0))[:600]
            stderr = verdict.stderr.strip().splitlines()[-3:] if verdict.stderr else []
            problems.append(f"the course's {name} earns {verdict.total:g} of {course.max_points:g} points "
                            f"(expected {wanted:g}): {detail}" + (f"\n    sandbox said: {' / '.join(stderr)}"
                                                                  if stderr else ""))
    shutil.rmtree(work, ignore_errors=True)
    if problems:
        hint = ("The sandbox could not run the course's own code. Check that the Python environment is "
                f"readable by other users (the sandbox runs as an unprivileged user): {sys.prefix}, "
                f"{sys.base_prefix}.") if os.geteuid() == 0 else \
            "The sandbox could not run the course's own code in this environment."
        raise SetupError("the grader's self-test failed, so no submission was graded:\n  - "
                         + "\n  - ".join(problems) + f"\n{hint}")
    state.save_selftest(fingerprint, "passed")


# --- the whole class ---------------------------------------------------------------

def _executor(jobs, scheduler):
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(), client
    return concurrent.futures.ProcessPoolExecutor(max_workers=jobs), None


def worker_problems(paths, require_cgroup):
    """What keeps this machine from grading (run on each Dask worker): paths it cannot see, no sandbox, no cgroup."""
    problems = [f"{path} is not there (a worker must see it at the same path)" for path in paths
                if not Path(path).exists()]
    if not bwrap_path():
        problems.append("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    if require_cgroup and cgroups.unavailable():
        problems.append(f"no cgroup can be made: {cgroups.unavailable()}")
    return problems


def _check_workers(scheduler, paths, require_cgroup):
    """Ask every worker of the cluster before grading; raise :class:`SetupError` naming each one that cannot."""
    from distributed import Client

    with Client(scheduler) as client:
        answers = client.run(worker_problems, [str(p) for p in paths], require_cgroup)
    if not answers:
        raise SetupError(f"the Dask cluster at {scheduler} has no worker")
    broken = {worker: problems for worker, problems in answers.items() if problems}
    if broken:
        raise SetupError("these Dask workers cannot grade, so nothing was graded (the self-test runs on this "
                         "machine only):\n" + "\n".join(f"  - {worker}: {'; '.join(problems)}"
                                                         for worker, problems in sorted(broken.items())))


def _write_page(out, key, page):
    folder = Path(out) / "feedback"
    folder.mkdir(exist_ok=True)
    tmp = folder / f".{key}.html.tmp"
    tmp.write_text(page)
    os.replace(tmp, folder / f"{key}.html")


def grade(assignment, submissions_dir, out, jobs=1, seed=None, scheduler=None, limits=None, progress=None,
          keep_work=False, student=None, warn=None, allow_no_cgroup=False):
    """Grade every submission of ``assignment``; return ``(rows, complete)``.

    ``student`` re-grades that one submission only (the others keep their
    saved rows). ``complete`` is false when a row could not be graded
    (``grader-error``) or a student found has no row.

    Raises
    ------
    SetupError
        No cgroup can be made for the submissions' runs and
        ``allow_no_cgroup`` is false; nothing was graded.
    """
    with private_files():
        return _grade(assignment, submissions_dir, out, jobs, seed, scheduler, limits, progress, keep_work, student,
                      warn, allow_no_cgroup)


@contextlib.contextmanager
def private_files():
    """Everything the grader writes meanwhile (grades, pages, state, sandbox inputs) is its own: 0600, 0700.

    The process's umask is restored after: a caller's own files (a test's
    virtual environment, an instructor's notebook server) keep theirs.
    """
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _grade(assignment, submissions_dir, out, jobs, seed, scheduler, limits, progress, keep_work, student, warn,
           allow_no_cgroup):
    warn = warn or (lambda message: print(message, file=sys.stderr, flush=True))
    course = Course(assignment)
    limits = course.limits_for(limits or Limits())
    submissions = collect(submissions_dir, assignment, course.source_path.name)  # before OUT is touched
    if student is not None:
        # Asked for as the instructor types it: any spelling of the one identity.
        student = find_student(submissions, student) or _no_submission(student, submissions_dir)
    if not bwrap_path():
        warn(BWRAP_WARNING)
    no_cgroup = cgroups.unavailable()
    if no_cgroup and not allow_no_cgroup:
        raise SetupError(refusal_without_cgroup(no_cgroup))
    if no_cgroup:
        warn(NO_CGROUP_WARNING)
    out = Path(out).resolve()
    if scheduler:
        _check_workers(scheduler, [Path(submissions_dir).resolve(), out.parent, ROOT], require_cgroup=not no_cgroup)
    state = State(out)
    seed = state.seed(seed)
    fingerprint = assignment_fingerprint(course.source_path, course.release_path, seed, limits)
    selftest(course, out, seed, limits, fingerprint, state)

    started = time.monotonic()
    rows, pages, todo = _known_rows(course, submissions, state, fingerprint, student)
    if progress is not None:
        progress.start(len(submissions) if student is None else 1,
                       already=(len(submissions) - len(todo)) if student is None else 0)
    for row, page in _graded(course, todo, out, seed, limits, fingerprint, keep_work, jobs, scheduler,
                             require_cgroup=not no_cgroup):
        rows[row.student] = row
        if row.status != "grader-error":
            state.save_row(row)
        _write_page(out, row.key, page)
        if progress is not None:
            progress.update(row)
        reports.write_outputs(out, assignment, [rows[s] for s in sorted(rows)], course.parts)
    for key, page in pages.items():
        _write_page(out, key, page)
    _flag_identical_answers(rows, course.blank_answers)
    mark_collisions(rows, submissions)
    ordered = [rows[s] for s in sorted(rows)]
    for row in ordered:
        if not (out / "feedback" / f"{row.key}.html").is_file():
            _write_page(out, row.key, feedback.problem_page(assignment, row.student, row))
    reports.write_outputs(out, assignment, ordered, course.parts)
    if not keep_work:
        shutil.rmtree(out / ".work", ignore_errors=True)
    if progress is not None:
        progress.close()
    expected = {s.student for s in submissions} if student is None else {student}
    complete = expected <= set(rows) and not any(r.status == "grader-error" for r in ordered)
    grade.elapsed, grade.graded_now = time.monotonic() - started, len(todo)
    return ordered, complete


def _no_submission(student, submissions_dir):
    raise CourseError(f"no submission of {printable(student)!r} in {printable(str(submissions_dir), 300)}")


def _known_rows(course, submissions, state, fingerprint, student):
    """``(rows, pages, todo)``: rows that need no grading (problems, saved and current), and the rest."""
    rows, pages, todo = {}, {}, []
    for submission in submissions:
        if submission.problem:
            row = zero_row(submission.student, submission.key, course.parts, submission.status, submission.problem)
            rows[submission.student] = row
            pages[submission.key] = feedback.problem_page(course.assignment, submission.student, row)
            continue
        try:
            digest = sha256(notebook.read_bytes(submission.path))
        except notebook.NotebookProblem:
            digest = "unreadable"
        saved = state.load_row(submission.key)
        saved = saved if saved is not None and saved.student == submission.student else None
        if student is not None and submission.student != student:
            if saved is not None:
                rows[submission.student] = saved  # not asked for: kept as it was
            continue
        if student is None and saved is not None and saved.fingerprint == f"{fingerprint}:{digest}":
            rows[submission.student] = saved
            continue
        todo.append((submission.student, submission.key, str(submission.path), digest))
    return rows, pages, todo


def _graded(course, todo, out, seed, limits, fingerprint, keep_work, jobs, scheduler, require_cgroup=False):
    """``(row, page)`` of each submission of ``todo``, as the batches finish."""
    if not todo:
        return
    batch_size = max(1, min(BATCH_SIZE, -(-len(todo) // max(jobs, 1))))
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    executor, client = _executor(jobs, scheduler)
    try:
        futures = {executor.submit(grade_batch, course.assignment, batch, str(out), seed, limits, fingerprint,
                                   keep_work, require_cgroup): batch for batch in batches}
        for future in concurrent.futures.as_completed(futures):
            try:
                results = [(Row.from_dict(r), page) for r, page in future.result()]
            except Exception as exc:  # a worker died: every student of the batch still gets a row
                results = []
                for name, key, _, _ in futures[future]:
                    row = zero_row(name, key, course.parts, "grader-error",
                                   f"grading failed: {type(exc).__name__}: {exc}; re-run to retry")
                    results.append((row, feedback.problem_page(course.assignment, name, row)))
            yield from results
    finally:
        executor.shutdown(wait=True)
        if client is not None:
            client.close()


def _flag_identical_answers(rows, blank_answers):
    """Flag submissions that are the same file as another's (notebooks left blank excepted)."""
    by_digest = {}
    for row in rows.values():
        if row.answers and row.answers != blank_answers and row.status not in ("grader-error",):
            by_digest.setdefault(row.answers, []).append(row.student)
    for students in by_digest.values():
        if len(students) < 2:
            continue
        for name in students:
            row = rows[name]
            note = f"file identical to {', '.join(printable(s, 60) for s in students if s != name)}'s"
            row.notes = [n for n in row.notes if not n.startswith("file identical to")]
            row.notes.insert(0, note)
            if row.status == "ok":
                row.status = "flagged"
