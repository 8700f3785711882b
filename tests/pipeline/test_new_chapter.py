"""book/maintainers.md, followed: `python -m autograder new` on a scratch chapter, then the checks that prove it.

In a copy of this checkout (its working tree, uncommitted changes included),
`new` writes a chapter 08 with its op, and `make exercises ASSIGNMENT=...`'s
command writes its student version. With no edit by hand, the fast checks
that `make test-chapter` runs then pass on it: the exercise's generation,
the hygiene of the notebooks, the table of contents, the API page, the
chapter's Colab cell, the grading claims (with `RIGHT` and `WRONG`) and the
op's three test layers. (The chapter's execution, nbval of its solution and
the page's build are `make test-chapter`'s slow part, left out here.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME, TOPIC = "08-scratch-op", "scratch_op"
IGNORED = shutil.ignore_patterns(".git", ".venv", "_build", "__pycache__", ".pytest_cache", ".ipynb_checkpoints",
                                 "*.egg-info", "gradebook.db")
# What the guide says `new` writes, and the files it edits.
WRITTEN = [f"cnnkit/{TOPIC}.py", f"tests/cnnkit/test_{TOPIC}.py", f"book/{NAME}.ipynb",
           f"solutions/{NAME}/{TOPIC}.ipynb", f"autograder/grading/parts/{TOPIC}.py",
           f"tests/grading/test_{TOPIC}_grading.py"]
EDITED = ["cnnkit/__init__.py", "book/api.md", "_toc.yml"]


def _run(copy: Path, *command: str) -> subprocess.CompletedProcess:
    # The copy's cnnkit and autograder, not the venv's (an editable install of another checkout).
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, *command], cwd=copy, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    copy = tmp_path_factory.mktemp("scratch") / "course"
    shutil.copytree(ROOT, copy, ignore=IGNORED, symlinks=True)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    made = _run(copy, "-m", "autograder", "new", NAME, "--title", "A scratch op")
    assert made.returncode == 0, made.stdout + made.stderr
    released = _run(copy, "-m", "autograder", "release", NAME)
    assert released.returncode == 0, released.stdout + released.stderr
    after = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    changed = sorted(str(p) for p in after if before.get(p) != after[p])
    return copy, made.stdout, changed


def test_new_writes_what_the_guide_lists_and_nothing_else(scratch):
    copy, said, changed = scratch
    assert changed == sorted(WRITTEN + EDITED + [f"exercises/{NAME}/{TOPIC}.ipynb"])
    for path in WRITTEN + EDITED:
        assert f"wrote {path}" in said, said
    guide = (ROOT / "book" / "maintainers.md").read_text()
    for path in WRITTEN + EDITED:
        assert path.replace(TOPIC, "topic").replace(NAME, "08-topic") in guide, f"the guide does not list {path}"


def test_the_fast_checks_of_the_chapter_pass_with_no_edit_by_hand(scratch):
    copy, _, _ = scratch
    result = _run(copy, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--chapter", NAME,
                  "tests/pipeline/test_hygiene.py", "tests/pipeline/test_exercises.py",
                  "tests/pipeline/test_points.py",
                  "tests/book/test_book.py::test_api_page_documents_every_public_function",
                  "tests/book/test_book.py::test_chapter_files_are_numbered_in_the_toc",
                  "tests/book/test_chapter_features.py::test_every_chapter_has_the_generated_colab_cell",
                  "tests/grading/test_claims.py", f"tests/cnnkit/test_{TOPIC}.py",
                  # The grade command's self-test (a sandboxed grading) is make test-chapter's.
                  "-k", "not selftest and not test_visible_worked_examples")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "skipped" not in summary, summary
    for test in ("test_exercises_match_a_fresh_generation", f"test_graded_cells_match_their_grading_parts[{NAME}]",
                 "test_api_page_documents_every_public_function", "test_every_chapter_has_the_generated_colab_cell",
                 f"test_correct_alternative_keeps_every_point[{NAME}", f"test_usual_mistake_loses_points[{NAME}",
                 "test_fast_equals_the_loop", "test_backward_equals_the_numerical_gradient", "test_equals_tensorflow"):
        assert any(test in line and "PASSED" in line for line in result.stdout.splitlines()), test
