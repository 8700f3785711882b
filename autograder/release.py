"""Generate the student versions (``exercises/``) from ``solutions/``, or check they are current.

``exercises/`` is never edited by hand: it is what ``nbgrader
generate_assignment`` makes of ``solutions/``. ``check`` regenerates into a
temporary folder and compares file by file, so CI fails as soon as someone
edits a solution and forgets to regenerate, or edits an exercise by hand.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

from .course import EXERCISES, assignments, run_nbgrader


def generate(names=None, release_dir=EXERCISES):
    """Write the student version of each assignment in ``names`` (default: all) to ``release_dir``."""
    names = list(names or assignments())
    release_dir = Path(release_dir)
    with tempfile.TemporaryDirectory(prefix="cnn-release-") as scratch:
        # A throwaway gradebook: generation must not depend on, or leave, any state.
        db = f"sqlite:///{Path(scratch) / 'gradebook.db'}"
        for name in names:
            target = release_dir / name
            if target.exists():
                shutil.rmtree(target)
            run_nbgrader(
                "generate_assignment", name, "--force",
                overrides=[f"--CourseDirectory.release_directory={release_dir}", f"--CourseDirectory.db_url={db}"],
            )
    return names


def differences(expected_dir, actual_dir):
    """Paths (relative) that differ between two trees: missing, extra or changed."""
    expected_dir, actual_dir = Path(expected_dir), Path(actual_dir)

    def files(root):
        return {p.relative_to(root) for p in root.rglob("*") if p.is_file()} if root.exists() else set()

    wanted, present = files(expected_dir), files(actual_dir)
    problems = [f"missing in exercises/: {p}" for p in sorted(wanted - present)]
    problems += [f"not generated from solutions/ (stale or hand-made): {p}" for p in sorted(present - wanted)]
    problems += [
        f"differs from a fresh generation: {p}"
        for p in sorted(wanted & present)
        if not filecmp.cmp(expected_dir / p, actual_dir / p, shallow=False)
    ]
    return problems


def check(names=None):
    """Regenerate the assignments ``names`` (default: all) into a temporary folder; return the differences to ``exercises/``."""
    with tempfile.TemporaryDirectory(prefix="cnn-exercises-") as fresh:
        if not names:
            generate(release_dir=fresh)
            return differences(fresh, EXERCISES)
        generate(names, release_dir=fresh)
        return [problem for name in names
                for problem in differences(Path(fresh) / name, EXERCISES / name)]
