"""The student-facing course, published apart from the answer key: ``python -m autograder publish DEST``.

An instructor keeps this repository private: it holds ``solutions/`` and the
hidden cases (``autograder/grading/``). What students may see is copied to
``DEST``, a folder (or the work tree of a public repository): the book, the
student versions of the exercises and the ``cnnkit`` package they install.
With ``--repository URL`` the copy's ``_config.yml`` names the public
repository, so the book's Colab and download buttons and the chapters' Colab
set-up cells point there.

``cnnkit.naive`` is published: the book teaches from its loops (chapters 2
and 4 show them), so they are the course's text, not its answer key. What
the hidden tests grade goes beyond them (settings, edge cases, precision,
backward passes), and no part is graded by whether its code looks like
them. The copy is checked before it is kept: no solution cell, no hidden
test, no grader.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .course import ROOT, CourseError

PUBLIC = ("book", "exercises", "cnnkit", "_config.yml", "_toc.yml", "requirements.txt", "pyproject.toml",
          "references.bib", "LICENSE", "LICENSE-CONTENT")
LEFT_OUT = ("__pycache__", ".ipynb_checkpoints", "_build", "*.pyc", ".jupyter_cache")
MARKER = ".published-course"  # in DEST: a folder this command wrote, safe to refresh
SECRET_MARKS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
STUDENT_README = """# Convolutional Neural Networks: an open course

The book, the exercises and the `cnnkit` package of the course.

- Read the book: `pip install -r requirements.txt && pip install --no-deps -e .`, then
  `jupyter-book build .` and open `_build/html/index.html` (no network needed).
- The exercises are in `exercises/NN-topic/`: open one in Jupyter or Colab, write your code where it
  says `# YOUR CODE HERE`, run the cell under it for instant feedback, and hand it in as your
  instructor says.
"""


def publish(dest, repository=None, source=ROOT):
    """Copy the student-facing course from ``source`` to ``dest``; return the list of files written.

    Raises
    ------
    CourseError
        ``dest`` is a non-empty folder this command did not write, or the copy
        would hold a solution, a hidden test or the grader (nothing is kept then).
    """
    dest, source = Path(dest).resolve(), Path(source).resolve()
    if dest == source or source in dest.parents:
        raise CourseError(f"DEST must be outside the course repository {source}, got {dest}")
    if dest.exists() and any(dest.iterdir()) and not (dest / MARKER).is_file():
        raise CourseError(f"DEST {dest} is a folder with files this command did not write: give an empty or new "
                          "folder (or one it published before)")
    staging = dest.with_name(f".{dest.name}.publishing")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in PUBLIC:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, staging / name, ignore=shutil.ignore_patterns(*LEFT_OUT))
        elif path.is_file():
            shutil.copy2(path, staging / name)
    (staging / "README.md").write_text(STUDENT_README)
    (staging / MARKER).write_text("written by python -m autograder publish; refreshed by it\n")
    if repository:
        _point_to(staging, repository)
    problems = secrets_in(staging)
    if problems:
        shutil.rmtree(staging)
        raise CourseError("the published copy would hold what students must not see, so nothing was "
                          "published:\n  - " + "\n  - ".join(problems[:20]))
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())


def _point_to(folder, repository):
    """Name ``repository`` in the copy's ``_config.yml`` and regenerate the chapters' Colab cells from it."""
    if not re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", repository):
        raise CourseError(f"--repository must be a URL like https://github.com/OWNER/NAME, got {repository!r}")
    config = folder / "_config.yml"
    text, count = re.subn(r"(?m)^(repository:\n  url: ).*$", lambda m: m.group(1) + repository, config.read_text())
    if count != 1:
        raise CourseError(f"{config} has no 'repository: url:' entry to point at {repository}")
    config.write_text(text)
    chapters = sorted(str(p) for p in (folder / "book").glob("[0-9][0-9]-*.ipynb"))
    subprocess.run([sys.executable, str(folder / "book" / "_ext" / "course.py"), "colab-cells", *chapters],
                   cwd=folder, check=True, capture_output=True, text=True)


def secrets_in(folder):
    """What of ``folder`` students must not see: solution or hidden-test cells, solutions, the grader."""
    folder = Path(folder)
    problems = [f"{p.relative_to(folder)}: a folder of the answer key" for p in folder.rglob("*")
                if p.is_dir() and p.name in ("solutions", "autograder", "grading")]
    for path in folder.rglob("*.ipynb"):
        try:
            cells = json.loads(path.read_text()).get("cells", [])
        except (ValueError, UnicodeDecodeError):
            problems.append(f"{path.relative_to(folder)}: not a readable notebook")
            continue
        for cell in cells:
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            for mark in SECRET_MARKS:
                if mark in source:
                    problems.append(f"{path.relative_to(folder)}: a cell with {mark!r}")
    for path in folder.rglob("*.py"):
        if "from autograder.grading" in path.read_text(errors="replace"):
            problems.append(f"{path.relative_to(folder)}: imports the hidden cases")
    return problems
