"""A corpus of honest, broken and hostile submissions of 02-convolution, with the outcome each must get.

Every submission is built from the student version in ``exercises/`` (what a
student really receives), with answer cells filled in and cells added, edited,
moved or deleted the way a student, careless or hostile, would. Building them
from the current student version keeps the corpus valid when the exercise
grows.

The attacks are the ones seen against plain nbgrader: replacing the
comparison functions, rebinding the reference, input transformers that turn
every later cell into ``pass``, writing to the gradebook, reading the
solutions, shadowing ``cnnkit``, ``os._exit``, memory bombs, endless loops.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from autograder import notebook
from autograder.course import EXERCISES, assignment_notebook

ASSIGNMENT = "02-convolution"
MAX = 5.0
PARTS = ["conv_output_size_tests", "correlate1d_tests", "convolve1d_tests"]


def _load(path):
    return json.loads(path.read_text())


def release():
    return _load(EXERCISES / ASSIGNMENT / assignment_notebook(ASSIGNMENT).name)


def solution_answers():
    """``{grade_id: source}`` of the solution's answer cells, markers removed."""
    return notebook.solution_answers(assignment_notebook(ASSIGNMENT))


SOLVED = solution_answers()

WRONG_SIZE = '''
import math
def conv_output_size(n, kernel, stride=1, padding=0, dilation=1):
    return math.ceil((n + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1
'''
# Right shapes, wrong values: what a comparison function patched to say "equal" would pass.
# Answers that are never right, whatever the seed (an output size of 1 is right for some random cases).
ZEROS = {
    "conv_output_size": "def conv_output_size(n, kernel, stride=1, padding=0, dilation=1):\n    return -1",
    "correlate1d": "def correlate1d(x, w, padding=0):\n    return np.zeros(len(x) + 2 * padding - len(w) + 1)",
    "convolve1d": "def convolve1d(x, w, padding=0):\n    return np.zeros(len(x) + 2 * padding - len(w) + 1)",
}
NOT_FLIPPED = '''
def convolve1d(x, w, padding=0):
    return correlate1d(x, w, padding)
'''


def _cells(nb):
    return nb["cells"]


def _find(nb, grade_id):
    for index, cell in enumerate(_cells(nb)):
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


def code_cell(source):
    return {"cell_type": "code", "execution_count": None, "id": f"added-{abs(hash(source)) % 10**8}",
            "metadata": {}, "outputs": [], "source": source}


def answered(answers=None):
    """The student version with answer cells replaced (default: the solution's)."""
    nb = release()
    present = {c["metadata"].get("nbgrader", {}).get("grade_id") for c in _cells(nb)}
    for grade_id, source in (SOLVED if answers is None else answers).items():
        if grade_id in present:
            _cells(nb)[_find(nb, grade_id)]["source"] = source
    return nb


def insert_after(nb, grade_id, source):
    nb = copy.deepcopy(nb)
    _cells(nb).insert(_find(nb, grade_id) + 1, code_cell(source))
    return nb


def blank_with(source, after="setup"):
    """The blank student version plus one cell of the student's after ``after``."""
    return insert_after(release(), after, source)


def edit(nb, grade_id, source=None, **metadata):
    nb = copy.deepcopy(nb)
    cell = _cells(nb)[_find(nb, grade_id)]
    if source is not None:
        cell["source"] = source
    cell["metadata"]["nbgrader"].update(metadata)
    return nb


def delete(nb, *grade_ids):
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in _cells(nb) if c["metadata"].get("nbgrader", {}).get("grade_id") not in grade_ids]
    return nb


def swap(nb, first, second):
    nb = copy.deepcopy(nb)
    i, j = _find(nb, first), _find(nb, second)
    nb["cells"][i], nb["cells"][j] = nb["cells"][j], nb["cells"][i]
    return nb


@dataclass
class Expect:
    total: float | tuple  # exact, or (low, high)
    status: tuple = ("ok",)
    note: str = ""  # a fragment that review.csv must show for this student
    parts: dict = field(default_factory=dict)  # grade_id -> exact points


# Each entry: name -> (notebook (dict) or raw bytes, expected outcome).
def build():
    partial = dict(SOLVED, conv_output_size=WRONG_SIZE, convolve1d=NOT_FLIPPED)
    bomb_memory = "blob = []\nwhile True:\n    blob.append(bytearray(10**8))"
    corpus = {
        # --- sanity
        "correct": (answered(), Expect(MAX, ("ok",), parts={p: pts for p, pts in zip(PARTS, [2, 2, 1])})),
        "partly-correct": (answered(partial), Expect((2.0, 3.99), ("ok",), parts={"correlate1d_tests": 2.0})),
        "blank": (release(), Expect(0.0, ("ok",))),
        # --- the notebook's structure tampered with
        "test-cells-edited": (
            edit(release(), "conv_output_size_tests", "2.0"),
            Expect(0.0, ("flagged",), "was edited")),
        "test-cells-edited-correct": (
            edit(answered(), "correlate1d_tests", "print('all good')"),
            Expect(MAX, ("flagged",), "was edited")),
        "test-cells-deleted": (delete(release(), *PARTS), Expect(0.0, ("flagged",), "was deleted")),
        "metadata-changed": (
            edit(edit(release(), "correlate1d_tests", points=100, grade=False), "correlate1d", solution=False),
            Expect(0.0, ("flagged",), "metadata")),
        "cells-reordered": (swap(answered(), "correlate1d", "correlate1d_tests"),
                            Expect(MAX, ("flagged",), "moved")),
        "extra-cell-redefines-answer": (
            insert_after(answered(), "convolve1d_tests", "def correlate1d(x, w, padding=0):\n    return x"),
            Expect(MAX, ("flagged",), "(re)defines correlate1d")),
        "extra-cell-redefines-before-test": (
            insert_after(answered(), "correlate1d", "correlate1d = lambda x, w, padding=0: x[:1]"),
            # convolve1d uses the broken correlate1d too.
            Expect(2.0, ("flagged",), "(re)defines correlate1d")),
        # --- monkeypatching from an answer cell
        "allclose-replaced": (
            insert_after(answered(ZEROS), "setup", "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = "
                       "lambda a, b, **k: np.ones(np.shape(b), bool)\nnp.testing.assert_allclose = "
                       "lambda *a, **k: None\nnp.array_equal = lambda *a, **k: True"),
            # The comparison happens in the grader's process: patched NumPy changes nothing.
            Expect(0.0, ("ok", "flagged"))),
        "reference-rebound": (
            blank_with("import cnnkit, cnnkit.grading.core as core\n"
                       "core.describe_mismatch = lambda got, case: None\n"
                       "cnnkit.correlate1d = lambda *a, **k: 0"),
            Expect(0.0, ("flagged",), "cnnkit")),
        "assert-neutralised": (
            blank_with("ip = get_ipython()\n"
                       "ip.input_transformers_post.append(lambda lines: ['pass\\n'])"),
            Expect(0.0, ("ok", "flagged"))),
        "transformer-fakes-points": (
            blank_with("ip = get_ipython()\n"
                       "def fake(lines):\n"
                       "    src = ''.join(lines)\n"
                       "    return ['2.0\\n'] if 'Hidden tests' in src else lines\n"
                       "ip.input_transformers_post.append(fake)"),
            Expect(0.0, ("ok", "flagged"))),
        "builtins-changed": (
            blank_with("import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0"),
            Expect(0.0, ("ok", "flagged", "stopped-early"))),
        # --- the reference or a library doing the work
        "calls-cnnkit": (
            answered(dict(SOLVED, correlate1d="from cnnkit import correlate1d")),
            # convolve1d calls correlate1d, so it fails too.
            Expect(2.0, ("flagged",), "tried to import cnnkit", parts={"correlate1d_tests": 0.0})),
        "calls-tensorflow": (
            answered(dict(SOLVED, convolve1d="import tensorflow as tf\ndef convolve1d(x, w, padding=0):\n"
                                             "    return tf.nn.convolution(x, w).numpy()")),
            Expect(MAX - 1, ("flagged",), "tried to import tensorflow", parts={"convolve1d_tests": 0.0})),
        "calls-scipy": (
            answered(dict(SOLVED, correlate1d="from scipy.signal import correlate\n"
                                              "def correlate1d(x, w, padding=0):\n"
                                              "    return correlate(x, w, mode='valid')")),
            Expect(2.0, ("flagged",), "tried to import scipy")),
        # --- runaway code: bounded, reported, graded as far as it got
        "infinite-loop-in-cell": (
            insert_after(answered(), "correlate1d_tests", "while True:\n    pass"),
            Expect(MAX, ("ok", "flagged"))),
        "infinite-loop-in-function": (
            answered(dict(SOLVED, convolve1d="def convolve1d(x, w, padding=0):\n    while True:\n        pass")),
            Expect(MAX - 1, ("ok", "flagged"), parts={"convolve1d_tests": 0.0})),
        "memory-bomb": (insert_after(answered(), "correlate1d_tests", bomb_memory),
                        Expect(MAX, ("ok", "flagged"))),
        "huge-output": (insert_after(answered(), "setup", "for i in range(200000):\n    print('x' * 1000)"),
                        Expect(MAX, ("ok", "flagged"))),
        "sys-exit": (insert_after(answered(), "correlate1d_tests", "import sys\nsys.exit(0)"),
                     Expect(MAX, ("ok", "flagged"))),
        "os-exit": (insert_after(answered(), "correlate1d_tests", "import os\nos._exit(0)"),
                    Expect(4.0, ("stopped-early",), "ended early", parts={"convolve1d_tests": 0.0})),
        "kernel-crash": (insert_after(answered(), "conv_output_size_tests",
                                      "import ctypes\nctypes.string_at(0)"),
                         Expect(2.0, ("stopped-early",), "ended early")),
        "fork-bomb": (insert_after(answered(), "convolve1d_tests",
                                   "import os\nfor _ in range(10000):\n    try:\n        os.fork()\n"
                                   "    except OSError:\n        break"),
                      Expect((0.0, MAX), ("ok", "flagged", "stopped-early"))),
        # --- files and network
        "reads-solutions": (
            answered(dict(SOLVED, correlate1d=(
                "import glob, json\n"
                "found = glob.glob('/**/solutions/02-convolution/*.ipynb', recursive=True)\n"
                "src = json.load(open(found[0]))\n"
                "exec(''.join(c['source'] if isinstance(c['source'], str) else ''.join(c['source'])\n"
                "     for c in src['cells'] if c['metadata'].get('nbgrader', {}).get('grade_id') == 'correlate1d'))"
            ))),
            Expect(2.0, ("ok", "flagged"), parts={"correlate1d_tests": 0.0})),
        "writes-gradebook": (
            blank_with("import glob, sqlite3\n"
                       "for db in glob.glob('/**/gradebook.db', recursive=True):\n"
                       "    con = sqlite3.connect(db)\n"
                       "    con.execute('update grade set auto_score = 100')\n"
                       "    con.commit()"),
            Expect(0.0, ("ok", "flagged"))),
        "shadows-cnnkit": (
            blank_with("import os\nos.makedirs('autograder/grading', exist_ok=True)\n"
                       "open('autograder/__init__.py', 'w').write('')\n"
                       "open('autograder/grading/__init__.py', 'w').write('def check(name, fn):\\n    return 2.0\\n')"),
            Expect(0.0, ("ok", "flagged"))),
        "network": (
            answered(dict(SOLVED, conv_output_size=(
                "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9', timeout=2)\n" +
                SOLVED["conv_output_size"]))),
            Expect(MAX - 2, ("ok", "flagged"), parts={"conv_output_size_tests": 0.0})),
        # --- files that are not (this) notebook
        "not-json": (b"{ this is not json", Expect(0.0, ("invalid-notebook",))),
        "empty": (b"", Expect(0.0, ("empty-file",))),
        "wrong-assignment": ({"cells": [code_cell("print('chapter 1')")], "metadata": {}, "nbformat": 4,
                              "nbformat_minor": 5}, Expect(0.0, ("wrong-assignment",))),
        # A classmate's file handed in as one's own: byte for byte the same.
        "classmate-original": (answered(dict(SOLVED, convolve1d=NOT_FLIPPED)),
                               Expect((4.0, 4.25), ("flagged",), "identical to copied-from-classmate")),
        "copied-from-classmate": (answered(dict(SOLVED, convolve1d=NOT_FLIPPED)),
                                  Expect((4.0, 4.25), ("flagged",), "identical to classmate-original")),
    }
    return corpus


def grade_folder(folder, fill, notebook_timeout, timeout):
    """Grade a class written by ``fill(submissions)`` with ``python -m autograder grade`` (10-s cells, 2 jobs).

    ``fill`` writes the entries into ``folder/submissions`` and returns what
    the test expects of them. Returns ``{"result": the finished process,
    "rows": grades.csv by student (empty when no table was written),
    "entries": what fill returned, "out": the output folder}``.
    """
    import csv
    import subprocess
    import sys
    from pathlib import Path

    submissions, out = Path(folder) / "submissions", Path(folder) / "out"
    submissions.mkdir()
    entries = fill(submissions)
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(submissions), "--out", str(out),
               "--cell-timeout", "10", "--notebook-timeout", str(notebook_timeout), "--quiet", "--jobs", "2"]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout)
    table = out / "grades.csv"
    rows = {row["student"]: row for row in csv.DictReader(open(table))} if table.is_file() else {}
    return {"result": result, "rows": rows, "entries": entries, "out": out}
