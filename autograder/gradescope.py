"""Gradescope's autograder for one assignment: ``python -m autograder gradescope ASSIGNMENT --out FILE.zip``.

The zip holds, at its root, what Gradescope runs (``setup.sh`` once when the
image is built, ``run_autograder`` for every submission) and the course's
grader: ``autograder/``, ``cnnkit/``, the assignment's source and student
notebooks, the pinned ``requirements.txt``, and ``gradescope.json`` (the
assignment and the secret seed of its hidden cases, drawn when the zip is
built: every submission meets the same cases, which students never see).

``run_autograder`` grades ``/autograder/submission`` exactly as ``python -m
autograder grade`` grades a class (self-test, sandbox, same judge) and writes
``/autograder/results/results.json``: one ``tests`` entry per graded part
(``name``, ``score``, ``max_score``, ``output``) and the total ``score``.
The folders come from ``GRADESCOPE_ROOT`` (default ``/autograder``: its
``source/``, ``submission/`` and ``results/``) and the interpreter from
``GRADESCOPE_PYTHON``, so a test can run the same script in a temporary
folder laid out as Gradescope's.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from . import part_reports
from .course import EXERCISES, ROOT, CourseError, assignment_notebook

CONFIG_NAME = "gradescope.json"
STUDENT = "submission"  # the one student of a Gradescope run, as the grade table names it
COURSE_FILES = ["requirements.txt", "pyproject.toml", "README.md", "LICENSE"]
COURSE_PACKAGES = ["autograder", "cnnkit"]

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
# Choose an Ubuntu 24.04 base image (Python 3.12); on 22.04 Python 3.11 is installed.
set -euo pipefail
SOURCE="${GRADESCOPE_ROOT:-/autograder}/source"
VENV="${GRADESCOPE_ROOT:-/autograder}/venv"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# bubblewrap: the sandbox every submission runs in.
apt-get install -y -qq --no-install-recommends bubblewrap python3-venv >/dev/null
PYTHON="$(command -v python3.12 || command -v python3.11 || true)"
if [ -z "$PYTHON" ]; then
    apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv >/dev/null
    PYTHON="$(command -v python3.11)"
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$SOURCE/requirements.txt"
"$VENV/bin/python" -m pip install --quiet --no-deps -e "$SOURCE"
"$VENV/bin/python" -m autograder.install_tools
# The sandbox runs student code as an unprivileged user: it must be able to read the environment
# (not the source folder, which holds the solution and the seed and is never mounted in the sandbox).
chmod -R a+rX "$VENV"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission; it writes results/results.json.
set -euo pipefail
ROOT="${GRADESCOPE_ROOT:-/autograder}"
PYTHON="${GRADESCOPE_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source"
export GRADESCOPE_ROOT="$ROOT" TF_CPP_MIN_LOG_LEVEL=3 MPLBACKEND=Agg
exec "$PYTHON" -m autograder.gradescope run
"""


def _add(archive, name, data, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16  # Gradescope runs the scripts as they are
    archive.writestr(info, data)


def build(assignment, out, seed=None):
    """Write the autograder zip of ``assignment`` to ``out``; return its path.

    ``seed`` fixes the hidden cases (default: a fresh secret one).
    """
    source = assignment_notebook(assignment)
    release = EXERCISES / assignment / source.name
    if not release.is_file():
        raise CourseError(f"no student version {release}: run `python -m autograder release {assignment}`")
    out = Path(out)
    if out.suffix != ".zip":
        raise CourseError(f"--out must name a .zip file (Gradescope uploads a zip), got {str(out)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    config = {"assignment": assignment, "seed": secrets.randbelow(2**31) if seed is None else int(seed)}
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        _add(archive, "setup.sh", SETUP_SH, executable=True)
        _add(archive, "run_autograder", RUN_AUTOGRADER, executable=True)
        _add(archive, CONFIG_NAME, json.dumps(config, indent=1) + "\n")
        for name in COURSE_FILES:
            _add(archive, name, (ROOT / name).read_bytes())
        for package in COURSE_PACKAGES:
            for path in sorted((ROOT / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    _add(archive, path.relative_to(ROOT).as_posix(), path.read_bytes())
        for path in (source, release):
            _add(archive, path.relative_to(ROOT).as_posix(), path.read_bytes())
    os.replace(tmp, out)
    return out


# --- inside Gradescope's container -----------------------------------------------

def find_notebook(submission, name):
    """The submitted notebook: ``name`` anywhere in ``submission``, else its only ``.ipynb``; or a problem."""
    found = sorted(p for p in Path(submission).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and not p.is_symlink())
    exact = [p for p in found if p.name == name]
    if len(exact) == 1:
        return exact[0], ""
    if len(exact) > 1:
        return None, f"{len(exact)} files named {name} were submitted: submit one"
    if len(found) == 1:
        return found[0], ""
    return None, (f"no notebook named {name} was submitted (found {[p.name for p in found][:10] or 'none'}): "
                  f"submit the exercise notebook {name}")


def results(row, parts):
    """Gradescope's ``results.json`` content for one graded row (:class:`autograder.state.Row`)."""
    texts = part_reports.split(row.feedback, [gid for gid, _ in parts])
    # A submission that was not run at all has no report per part: each part says why.
    missing = "" if texts else "not graded: " + "; ".join(row.notes)
    tests = [{"name": gid, "score": float(row.scores.get(gid, 0.0)), "max_score": float(points),
              "output": texts.get(gid, missing)} for gid, points in parts]
    notes = [f"status: {row.status}"] if row.status != "ok" else []
    notes += list(row.notes)
    return {"score": float(row.total), "output": "\n".join(notes),
            "tests": tests, "stdout_visibility": "hidden"}


def run(environ=None):
    """Grade Gradescope's submission folder and write ``results.json``; return the process's exit code."""
    from . import grade as grading
    from .state import zero_row

    environ = os.environ if environ is None else environ
    root = Path(environ.get("GRADESCOPE_ROOT", "/autograder"))
    config = json.loads((root / "source" / CONFIG_NAME).read_text())
    assignment, seed = config["assignment"], int(config["seed"])
    results_path = root / "results" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    course = grading.Course(assignment)
    started = time.monotonic()
    notebook, problem = find_notebook(root / "submission", course.source_path.name)
    if notebook is None:
        row = zero_row(STUDENT, STUDENT, course.parts, "missing-notebook", problem)
    else:
        with tempfile.TemporaryDirectory(prefix="gradescope-") as work:
            folder = Path(work) / "submissions" / STUDENT / assignment
            folder.mkdir(parents=True)
            (folder / course.source_path.name).write_bytes(notebook.read_bytes())
            try:
                rows, complete = grading.grade(assignment, Path(work) / "submissions", Path(work) / "out", seed=seed,
                                               warn=lambda message: print(message, file=sys.stderr))
            except CourseError as exc:  # the self-test failed: the set-up is at fault, not the student
                results_path.write_text(json.dumps({
                    "score": 0.0, "tests": [], "stdout_visibility": "hidden",
                    "output": "The autograder could not run on this submission; your instructor has been told. "
                              "Please contact them.\n" + str(exc)}, indent=1))
                print(exc, file=sys.stderr)
                return 1
            row = rows[0]
    data = results(row, course.parts)
    data["execution_time"] = round(time.monotonic() - started, 1)
    results_path.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["run"]:
        sys.exit("usage: python -m autograder.gradescope run   (inside Gradescope; see the module's docstring)")
    sys.exit(run())
