"""Grade a whole class: ``python -m autograder grade ASSIGNMENT SUBMISSIONS --out OUT``.

For each submission, two runs (see :mod:`autograder.verdict` and
:mod:`autograder.notebook_run`):

* the **verdict**, which is the grade: the student's answer cells run alone
  in a sandbox and their functions are judged here, on hidden inputs;
* the **notebook run**, nbgrader's autograde with each kernel sandboxed,
  which gives the student their executed notebook as feedback and the
  notebook's own scores. Where those disagree with the verdict, the verdict
  stands and the row is flagged for a human look.

Results in ``OUT``: ``grades.csv``, ``review.csv`` (why a row needs a look),
``feedback/<student>.html``, and ``.state/`` (one file per graded student, so
that a re-run after an interruption grades only what is missing or changed;
the secret seed of the hidden cases lives there too).
"""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .course import EXERCISES, CourseError, assignment_notebook
from .sandbox import Limits, bwrap_path
from .submissions import collect

STATE_VERSION = 1
BATCH_SIZE = 12  # students per nbgrader call: amortises nbgrader's start-up (about 2 s)


@dataclass
class Row:
    student: str
    scores: dict = field(default_factory=dict)
    total: float = 0.0
    max: float = 0.0
    status: str = "ok"
    notes: list = field(default_factory=list)
    fingerprint: str = ""
    feedback: str = ""  # the verdict's report, shown at the top of the feedback page
    seconds: float = 0.0


# --- set-up -----------------------------------------------------------------

def _sha256(*paths_or_bytes):
    digest = hashlib.sha256()
    for item in paths_or_bytes:
        digest.update(item if isinstance(item, bytes) else Path(item).read_bytes())
    return digest.hexdigest()


def _seed(state_dir, given):
    """The hidden cases' seed: given, or made once per OUT and kept private in ``.state/``."""
    path = state_dir / "seed"
    if given is not None:
        return int(given)
    if path.is_file():
        return int(path.read_text())
    seed = secrets.randbelow(2**31)
    path.write_text(str(seed))
    os.chmod(path, 0o600)
    return seed


def _assignment_fingerprint(source, release, seed, limits):
    from . import grading

    grading_code = sorted(Path(grading.__file__).parent.rglob("*.py"))
    return _sha256(source, release, *grading_code, json.dumps([STATE_VERSION, seed, asdict(limits)]).encode())


# --- one batch (runs in a worker process) -----------------------------------

def grade_batch(assignment, batch, out, seed, limits, hide, fingerprint, keep_work=False):
    """Grade ``batch`` (``[(student, notebook path, submission hash)]``); return rows as dicts.

    Module-level and argument-only, so that a process pool or a Dask worker
    can run it.
    """
    from .notebook_run import run_batch
    from .verdict import run_verdict

    source = assignment_notebook(assignment)
    release = EXERCISES / assignment / source.name
    source_nb = json.loads(source.read_text())
    release_nb = json.loads(release.read_text())
    work_root = Path(out) / ".work" / f"batch-{batch[0][0]}"
    rows, runnable = {}, {}
    release_ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in release_nb["cells"]} - {None}
    max_points = sum(points for _, points in graded_parts(source))
    for student, path, digest in batch:
        start = time.monotonic()
        row = Row(student, fingerprint=f"{fingerprint}:{digest}")
        try:
            submission_nb = json.loads(Path(path).read_text())
            found = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                     for c in submission_nb.get("cells", []) if isinstance(c, dict)
                     and isinstance(c.get("metadata"), dict)}
            if not found & release_ids:
                row.scores = {gid: 0.0 for gid, _ in graded_parts(source)}
                row.max, row.status = max_points, "wrong-assignment"
                row.notes = [f"none of {assignment}'s cells is in this notebook: another assignment's notebook?"]
                rows[student] = row
                continue
            verdict = run_verdict(source_nb, release_nb, submission_nb, work_root / "verdict" / student, seed,
                                  limits, hide=hide)
        except Exception as exc:  # a grader bug must not cost the batch: the row says so
            row.scores = {gid: 0.0 for gid, _ in graded_parts(source)}
            row.max, row.status = max_points, "grader-error"
            row.notes = [f"the verdict could not be computed: {exc!r}; fix the grader and re-run"]
            rows[student] = row
            continue
        row.scores = {gid: part.points for gid, part in verdict.parts.items()}
        row.max = sum(part.max_points for part in verdict.parts.values())
        row.total = verdict.total
        row.notes = list(verdict.flags) + list(verdict.notes)
        row.feedback = "\n\n".join(part.text() for part in verdict.parts.values())
        if not verdict.sandboxed:
            row.status = "unsandboxed"
        elif verdict.stopped:
            row.status = "stopped-early"
        elif verdict.flags:
            row.status = "flagged"
        row.seconds = round(time.monotonic() - start, 2)
        rows[student] = row
        runnable[student] = Path(path)

    if runnable:
        start = time.monotonic()
        try:
            claimed = run_batch(assignment, source, runnable, work_root / "course", seed, limits, hide=hide)
        except CourseError as exc:
            claimed = {}
            for student in runnable:
                rows[student].notes.append(f"the notebook run failed: {exc}")
        per_student = (time.monotonic() - start) / len(runnable)
        feedback_dir = Path(out) / ".work" / "feedback"
        feedback_dir.mkdir(parents=True, exist_ok=True)
        for student in runnable:
            row = rows[student]
            row.seconds = round(row.seconds + per_student, 2)
            result = claimed.get(student)
            if result is None:
                row.notes.append("nbgrader could not run the notebook (see the verdict; feedback is partial)")
            elif result["stopped"]:
                row.notes.append("nbgrader's run of this batch ran past its time budget: feedback is partial")
                if result["feedback"] is not None:
                    shutil.copy(result["feedback"], feedback_dir / f"{student}.nbgrader.html")
            else:
                if result["feedback"] is not None:
                    shutil.copy(result["feedback"], feedback_dir / f"{student}.nbgrader.html")
                disagree = [f"{gid}: notebook {result['scores'].get(gid, 0.0):g}, verdict {row.scores[gid]:g}"
                            for gid in row.scores if abs(result["scores"].get(gid, 0.0) - row.scores[gid]) > 0.01]
                if disagree:
                    why = ("" if any(result["scores"].values()) or not row.total else
                           " (nbgrader's run gave no points at all: it may have stopped at a crash or a hang)")
                    row.notes.append("the notebook's own tests disagree with the verdict (the verdict stands): "
                                     + "; ".join(disagree) + why)
                    if row.status == "ok":
                        row.status = "flagged"
    if not keep_work:
        shutil.rmtree(work_root, ignore_errors=True)
    return [asdict(row) for row in rows.values()]


# --- the whole class ----------------------------------------------------------

def _problem_row(submission, parts):
    return Row(submission.student, {gid: 0.0 for gid, _ in parts}, 0.0, sum(p for _, p in parts),
               submission.status, [submission.problem])


def graded_parts(notebook_path):
    """``[(grade_id, points)]`` of the graded cells of a source notebook, in order."""
    from .verdict import graded_cells

    return [(g.grade_id, g.points) for g in graded_cells(json.loads(Path(notebook_path).read_text()))]


def _executor(jobs, scheduler):
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(), client
    return concurrent.futures.ProcessPoolExecutor(max_workers=jobs), None


def grade(assignment, submissions_dir, out, jobs=1, seed=None, scheduler=None, limits=None, progress=None,
          keep_work=False):
    """Grade every submission of ``assignment``; return one :class:`Row` per student found."""
    limits = limits or Limits()
    source = assignment_notebook(assignment)
    release = EXERCISES / assignment / source.name
    if not release.is_file():
        raise CourseError(f"no student version {release}: run `python -m autograder release {assignment}`")
    parts = graded_parts(source)
    out = Path(out).resolve()
    state_dir = out / ".state"
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    seed = _seed(state_dir, seed)
    fingerprint = _assignment_fingerprint(source, release, seed, limits)
    submissions = collect(submissions_dir, assignment, source.name)
    # Submissions, other students' work and the results are never visible to student code.
    hide = [str(Path(submissions_dir).resolve()), str(out)]

    rows, todo = {}, []
    for submission in submissions:
        if submission.problem:
            rows[submission.student] = _problem_row(submission, parts)
            continue
        digest = _sha256(submission.path)
        saved = state_dir / f"{submission.student}.json"
        if saved.is_file():
            try:
                row = Row(**json.loads(saved.read_text()))
            except (json.JSONDecodeError, TypeError):
                row = None
            if row is not None and row.fingerprint == f"{fingerprint}:{digest}":
                rows[submission.student] = row
                continue
        todo.append((submission.student, str(submission.path), digest))

    if progress is not None:
        progress.start(len(submissions), already=len(submissions) - len(todo))
    batch_size = max(1, min(BATCH_SIZE, -(-len(todo) // max(jobs, 1)))) if todo else 1
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    if batches:
        executor, client = _executor(jobs, scheduler)
        try:
            futures = {executor.submit(grade_batch, assignment, batch, str(out), seed, limits, hide, fingerprint,
                                       keep_work): batch for batch in batches}
            for future in concurrent.futures.as_completed(futures):
                batch = futures[future]
                try:
                    results = [Row(**r) for r in future.result()]
                except Exception as exc:  # a worker died: every student of the batch still gets a row
                    results = [Row(s, {g: 0.0 for g, _ in parts}, 0.0, sum(p for _, p in parts), "grader-error",
                                   [f"grading failed: {exc!r}; re-run to retry"]) for s, _, _ in batch]
                for row in results:
                    rows[row.student] = row
                    if row.status != "grader-error":
                        _save_state(state_dir / f"{row.student}.json", row)
                    _write_feedback(out, row, assignment)
                    if progress is not None:
                        progress.update(row)
                write_outputs(out, [rows[s] for s in sorted(rows)], [gid for gid, _ in parts])
        finally:
            executor.shutdown(wait=True)
            if client is not None:
                client.close()
    _flag_identical_files(rows, submissions)
    ordered = [rows[s] for s in sorted(rows)]
    for row in ordered:
        if not (out / "feedback" / f"{row.student}.html").is_file():
            _write_feedback(out, row, assignment)
    write_outputs(out, ordered, [gid for gid, _ in parts])
    if progress is not None:
        progress.close()
    return ordered


def _flag_identical_files(rows, submissions):
    """Flag submissions that are byte-for-byte the same file (one student's notebook under another's name)."""
    by_digest = {}
    for submission in submissions:
        if not submission.problem:
            by_digest.setdefault(_sha256(submission.path), []).append(submission.student)
    for students in by_digest.values():
        if len(students) < 2:
            continue
        for student in students:
            row = rows[student]
            note = f"file identical to {', '.join(s for s in students if s != student)}'s"
            if note not in row.notes:
                row.notes.insert(0, note)
            if row.status == "ok":
                row.status = "flagged"


def _save_state(path, row):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(row)))
    os.replace(tmp, path)  # atomic: an interruption never leaves half a state file


MATHJAX_PARTS = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")
_CDN_MATHJAX = re.compile(r'<script src="https://[^"]*mathjax[^"]*">\s*</script>\s*'
                          r'<!-- MathJax configuration -->.*?<!-- End of mathjax configuration -->', re.S)
_LOCAL_MATHJAX = (
    "<script>window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], processEscapes: true}};</script>\n"
    '<script src="mathjax/tex-mml-chtml.js" async></script>'
)


def _install_mathjax(folder):
    """MathJax 3 next to the feedback pages, from the pinned PyPI package the book uses: no CDN."""
    import importlib.util

    if (folder / "mathjax" / MATHJAX_PARTS[0]).is_file():
        return True
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return False
    source = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    for part in MATHJAX_PARTS:
        src, dst = source / part, folder / "mathjax" / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return (folder / "mathjax" / MATHJAX_PARTS[0]).is_file()


def _write_feedback(out, row, assignment):
    """``feedback/<student>.html``: the verdict on top, then nbgrader's page of the executed notebook."""
    folder = out / "feedback"
    folder.mkdir(exist_ok=True)
    nbgrader_page = out / ".work" / "feedback" / f"{row.student}.nbgrader.html"
    summary = (
        f'<div id="verdict" style="border:2px solid #345;padding:1em;margin:1em;font-family:sans-serif">'
        f"<h2>{html.escape(assignment)}: {row.total:g} of {row.max:g} points</h2>"
        f"<p>These points come from running your functions on hidden inputs. Each missed case is listed "
        f"with its inputs' shapes and settings.</p>"
        f"<pre>{html.escape(row.feedback or 'Your notebook could not be graded.')}</pre>"
        + (f"<h3>Notes</h3><ul>{''.join(f'<li>{html.escape(n)}</li>' for n in row.notes)}</ul>" if row.notes else "")
        + "</div>"
    )
    if nbgrader_page.is_file():
        page = nbgrader_page.read_text(errors="replace")
        if _install_mathjax(folder):
            # nbconvert's page loads MathJax 2 from a CDN: offline, students would see raw TeX.
            page = _CDN_MATHJAX.sub(lambda _: _LOCAL_MATHJAX, page, count=1)
        marker = page.find("<body")
        end = page.find(">", marker) + 1 if marker >= 0 else 0
        page = page[:end] + summary + page[end:]
    else:
        page = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(row.student)}</title></head>" \
               f"<body>{summary}</body></html>"
    tmp = folder / f".{row.student}.html.tmp"
    tmp.write_text(page)
    os.replace(tmp, folder / f"{row.student}.html")


def write_outputs(out, rows, grade_ids):
    """``grades.csv`` (the contract's columns) and ``review.csv`` (why a row needs a look)."""
    for name, header, make in [
        ("grades.csv", ["student", *grade_ids, "total", "max", "status"],
         lambda r: [r.student, *(f"{r.scores.get(g, 0.0):g}" for g in grade_ids), f"{r.total:g}", f"{r.max:g}",
                    r.status]),
        ("review.csv", ["student", "status", "notes"],
         lambda r: [r.student, r.status, " | ".join(r.notes)]),
    ]:
        tmp = out / f".{name}.tmp"
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow(make(row))
        os.replace(tmp, out / name)


def summary(rows):
    """Count, mean, median, a histogram of totals, and every row that needs a human look."""
    lines = [f"{len(rows)} submissions"]
    if not rows:
        return lines[0]
    totals = [row.total for row in rows]
    top = max(row.max for row in rows) or 1.0
    lines.append(f"mean {statistics.mean(totals):.2f}, median {statistics.median(totals):.2f}, "
                 f"min {min(totals):g}, max {max(totals):g} (of {top:g} points)")
    bins = [0] * 5
    for total in totals:
        bins[min(int(5 * total / top), 4)] += 1
    for index, count in enumerate(bins):
        low, high = index * 20, (index + 1) * 20
        lines.append(f"  {low:3d}-{high:3d}% {'#' * count} {count}")
    flagged = [row for row in rows if row.status != "ok"]
    if flagged:
        lines.append(f"{len(flagged)} need a human look (details in review.csv):")
        for row in flagged:
            note = row.notes[0] if row.notes else ""
            lines.append(f"  {row.student}: {row.status}" + (f": {note}" if note else ""))
    else:
        lines.append("no submission needs a human look")
    return "\n".join(lines)


class Progress:
    """A progress bar on stderr with each finished submission's status."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.bar = None

    def start(self, total, already=0):
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=already, unit="nb", file=self.stream, dynamic_ncols=True,
                        desc="grading")
        if not bwrap_path():
            self.stream.write("WARNING: bubblewrap (bwrap) is not installed: student code runs WITHOUT isolation "
                              "(no network or file-system sandbox). Install it: apt-get install bubblewrap\n")

    def update(self, row):
        self.bar.set_postfix_str(f"{row.student}: {row.total:g}/{row.max:g} {row.status}", refresh=False)
        self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()
