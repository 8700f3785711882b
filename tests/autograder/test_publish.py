"""The student-facing course published apart from the answer key, pointing at the public repository."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import CourseError
from autograder.publish import publish, secrets_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    dest = tmp_path_factory.mktemp("public") / "course"
    result = subprocess.run([sys.executable, "-m", "autograder", "publish", str(dest), "--repository",
                             "https://github.com/example-school/cnn-public"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return dest


def test_the_published_tree_holds_no_answer_key(published):
    assert not (published / "solutions").exists() and not (published / "autograder").exists()
    assert secrets_in(published) == []
    for notebook in (published / "exercises").rglob("*.ipynb"):
        text = notebook.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, notebook
    assert (published / "cnnkit" / "naive").is_dir()  # the book teaches from it (see autograder/publish.py)


def test_the_published_book_points_at_the_public_repository(published):
    config = (published / "_config.yml").read_text()
    assert "url: https://github.com/example-school/cnn-public" in config
    chapter = json.loads((published / "book" / "02-convolution.ipynb").read_text())
    text = json.dumps(chapter)
    assert "example-school/cnn-public" in text and "cnn-course/cnn-course" not in text


def test_a_copy_with_a_solution_is_refused_and_nothing_is_kept(tmp_path):
    source = tmp_path / "repo"
    (source / "exercises" / "x").mkdir(parents=True)
    (source / "exercises" / "x" / "x.ipynb").write_text(json.dumps(
        {"cells": [{"cell_type": "code", "source": ["### BEGIN SOLUTION\n", "x = 1\n", "### END SOLUTION"],
                    "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(CourseError, match="BEGIN SOLUTION"):
        publish(tmp_path / "out", source=source)
    assert not (tmp_path / "out").exists()


def test_a_folder_it_did_not_write_is_never_overwritten(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(CourseError, match="did not write"):
        publish(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "years of work"
