"""Where the course's assignments live, and how nbgrader is called on them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
CONFIG = ROOT / "autograder" / "nbgrader_config"  # traitlets appends ".py"

ASSIGNMENT_PATTERN = re.compile(r"^\d\d-[a-z0-9][a-z0-9-]*$")


class CourseError(Exception):
    """A problem with the course layout or the command's arguments, explained for a person."""


def assignments():
    """Names of every assignment in ``solutions/``, in chapter order (``NN-topic``)."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and ASSIGNMENT_PATTERN.match(p.name))


def assignment_notebook(assignment):
    """The one source notebook of ``assignment``: ``solutions/NN-topic/<name>.ipynb``."""
    if not ASSIGNMENT_PATTERN.match(assignment):
        raise CourseError(f"assignment must be named NN-topic (e.g. 02-convolution), got {assignment!r}")
    folder = SOLUTIONS / assignment
    if not folder.is_dir():
        raise CourseError(f"no assignment {assignment!r}: expected a folder {folder}; known: {assignments()}")
    notebooks = sorted(folder.glob("*.ipynb"))
    if len(notebooks) != 1:
        raise CourseError(
            f"assignment {assignment!r} must hold exactly one notebook, found {[p.name for p in notebooks]}"
        )
    return notebooks[0]


def nbgrader_environment():
    """The environment for nbgrader and its kernels.

    nbgrader runs ``alembic`` by name, so this interpreter's scripts folder
    goes first on PATH; the kernel must import the installed cnnkit, not
    whatever a submission's folder holds.
    """
    env = dict(os.environ)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def run_nbgrader(*args, cwd=ROOT, config=CONFIG, overrides=(), check=True, capture=True, env=None, timeout=None,
                 module="nbgrader"):
    """Run ``nbgrader ARGS`` with the course configuration; raise ``CourseError`` on failure.

    ``module="autograder.nbgrader_batch"`` runs several commands (the first
    argument, comma-separated) in one process.
    """
    command = [sys.executable, "-m", module, *args, f"--NbGrader.config_file={config}", *overrides]
    environment = nbgrader_environment()
    environment.update(env or {})
    try:
        result = subprocess.run(
            command, cwd=cwd, env=environment, text=True, timeout=timeout,
            stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None,
        )
    except subprocess.TimeoutExpired as exc:
        if check:
            raise CourseError(f"nbgrader {args[0]} ran past {timeout:.0f} s and was stopped") from None
        output = exc.stdout or b""  # bytes even in text mode
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        return subprocess.CompletedProcess(command, -9, output + f"\n[stopped after {timeout:.0f} s]", "")
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout or "").splitlines()[-30:])
        raise CourseError(f"nbgrader {args[0]} failed (exit {result.returncode}):\n{tail}")
    return result
