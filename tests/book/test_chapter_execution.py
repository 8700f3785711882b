"""The strict build is the chapters' one execution: it must fail on any failing cell, hidden ones included.

`make test` runs no nbval on book/: the strict build (`-W`, no global
`allow_errors`, `nb_execution_raise_on_error`) executes every chapter, and a
chapter's numbers are checked by asserts in cells tagged `remove-cell`. This
builds a throwaway book whose chapter is right in every other way but whose
hidden check fails, and expects the build to fail and name it. It also checks
that the executed chapters' cache is keyed on what changes their outputs.
"""

from __future__ import annotations

import importlib.util
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .building import ROOT, STRICT, jupyter_book
from .test_chapter_features import BRANCH, REPOSITORY, course, new_book, tagged, write

_spec = importlib.util.spec_from_file_location("course_cache", ROOT / "book" / "_ext" / "course_cache.py")
course_cache = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course_cache)

HIDDEN_CHECK = "the number the text states"


@pytest.fixture(scope="module")
def failing_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("failing-check-book")
    new_book(root, ["book/01-wrong-number"])
    chapter = new_notebook(cells=[
        tagged(new_code_cell(course.colab_setup_cell(REPOSITORY, BRANCH)), "remove-cell"),
        new_markdown_cell("# A wrong number\n\nTwo and two make five."),
        new_code_cell("total = 2 + 2\ntotal"),
        tagged(new_code_cell(f'assert total == 5, "{HIDDEN_CHECK}"'), "remove-cell"),
        new_markdown_cell("```{chapter-exercise} 01-wrong-number/wrong\n```"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    write(root / "book" / "01-wrong-number.ipynb", nbformat.writes(chapter))
    write(root / "exercises" / "01-wrong-number" / "wrong.ipynb", nbformat.writes(new_notebook()))
    return jupyter_book(root, *STRICT)


def test_strict_build_fails_on_a_failing_hidden_check(failing_book):
    log = " ".join(failing_book.log.split())
    assert failing_book.returncode != 0, failing_book.log[-3000:]
    assert "AssertionError" in log and HIDDEN_CHECK in log, failing_book.log[-3000:]
    assert "01-wrong-number" in log


def test_execution_key_follows_what_changes_a_chapters_outputs(tmp_path):
    for name in ("book/01-a.ipynb", "cnnkit/ops/conv.py", "requirements.txt", "pyproject.toml", "_config.yml"):
        write(tmp_path / name, "1")
    write(tmp_path / "book" / "_ext" / "course.py", "1")
    write(tmp_path / "README.md", "1")
    key = course_cache.execution_key(tmp_path)
    for name in ("README.md", "book/_ext/course.py", "cnnkit/__pycache__/conv.cpython-311.pyc"):
        write(tmp_path / name, "2")
        assert course_cache.execution_key(tmp_path) == key, f"{name} does not change a chapter's outputs"
    for name in ("book/01-a.ipynb", "cnnkit/ops/conv.py", "requirements.txt", "pyproject.toml", "_config.yml"):
        write(tmp_path / name, "2")
        changed = course_cache.execution_key(tmp_path)
        assert changed != key, f"{name} changes a chapter's outputs"
        key = changed
    shutil.rmtree(tmp_path / "cnnkit" / "ops")
    assert course_cache.execution_key(tmp_path) != key


def test_execution_key_follows_the_thread_counts_that_order_float_sums(tmp_path):
    write(tmp_path / "book" / "01-a.ipynb", "1")
    quiet = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "HOME": "/a", "TERM": "x"}
    key = course_cache.execution_key(tmp_path, quiet)
    assert course_cache.execution_key(tmp_path, {**quiet, "HOME": "/b", "TERM": "y"}) == key
    for name in course_cache.KEYED_ENVIRONMENT:
        assert course_cache.execution_key(tmp_path, {**quiet, name: "2"}) != key, f"{name} orders float sums"
    assert course_cache.execution_key(tmp_path, {}) != key  # unset is TensorFlow's own choice, not 1
