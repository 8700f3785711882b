"""Gradescope's autograder zip, and its run_autograder in a folder laid out as Gradescope's."""

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import gradescope
from autograder.course import CourseError

from .corpus import ASSIGNMENT, ZEROS, answered, release

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gradescope")
    result = subprocess.run([sys.executable, "-m", "autograder", "gradescope", ASSIGNMENT,
                             "--out", str(folder / "autograder.zip")], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder / "autograder.zip"


def run_autograder(built, tmp_path, files):
    """Unzip into ``source/``, put ``files`` in ``submission/``, run ``run_autograder``: results.json."""
    for name in ("source", "submission", "results"):
        (tmp_path / name).mkdir()
    with zipfile.ZipFile(built) as archive:
        archive.extractall(tmp_path / "source")
    for name, content in files.items():
        (tmp_path / "submission" / name).write_text(content)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the zip's own copy of the grader
    env.update(GRADESCOPE_ROOT=str(tmp_path), GRADESCOPE_PYTHON=sys.executable)
    result = subprocess.run(["bash", str(tmp_path / "source" / "run_autograder")], capture_output=True, text=True,
                            timeout=900, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((tmp_path / "results" / "results.json").read_text())


def test_the_zip_has_gradescopes_scripts_at_its_root_executable_and_a_secret_seed(built):
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        config = json.loads(archive.read("gradescope.json"))
        setup = archive.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "requirements.txt", "autograder/grade.py", "cnnkit/__init__.py",
            f"solutions/{ASSIGNMENT}/convolution.ipynb", f"exercises/{ASSIGNMENT}/convolution.ipynb"} <= set(names)
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert not any("__pycache__" in n for n in names)
    assert not any(n.startswith("solutions/") and ASSIGNMENT not in n for n in names)  # one assignment only
    assert config["assignment"] == ASSIGNMENT and isinstance(config["seed"], int)
    assert "bubblewrap" in setup and "requirements.txt" in setup


def test_solution_earns_every_part(built, tmp_path):
    data = run_autograder(built, tmp_path, {"convolution.ipynb": json.dumps(answered())})
    tests = {t["name"]: t for t in data["tests"]}
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) > 0
    assert all(t["score"] == t["max_score"] and "cases passed" in t["output"] for t in tests.values())


def test_blank_earns_nothing_and_a_wrong_part_says_why(built, tmp_path):
    (tmp_path / "blank").mkdir()
    data = run_autograder(built, tmp_path / "blank", {"convolution.ipynb": json.dumps(release())})
    assert data["score"] == 0 and all(t["score"] == 0 for t in data["tests"])
    from .corpus import SOLVED

    (tmp_path / "wrong").mkdir()
    wrong = answered({**SOLVED, "conv_output_size": ZEROS["conv_output_size"]})
    data = run_autograder(built, tmp_path / "wrong", {"my work.ipynb": json.dumps(wrong)})  # any one notebook
    tests = {t["name"]: t for t in data["tests"]}
    assert tests["conv_output_size_tests"]["score"] == 0 and ": 0/" in tests["conv_output_size_tests"]["output"]
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) - tests["conv_output_size_tests"]["max_score"]


def test_no_notebook_is_a_zero_that_says_what_to_submit(built, tmp_path):
    data = run_autograder(built, tmp_path, {"notes.txt": "hello"})
    assert data["score"] == 0 and "submit the exercise notebook convolution.ipynb" in data["output"]
    assert all("not graded" in t["output"] for t in data["tests"])


def test_building_for_a_file_that_is_no_zip_is_refused(tmp_path):
    with pytest.raises(CourseError, match=r"--out must name a .zip file"):
        gradescope.build(ASSIGNMENT, tmp_path / "autograder.tar")
