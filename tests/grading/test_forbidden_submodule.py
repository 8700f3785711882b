"""Exercise 07's part 1 forbids ``cnnkit.nn`` while it allows cnnkit's ops, and TensorFlow until its last call.

Every way a student's code could reach ``cnnkit.nn`` in the grading sandbox
fails there: the import statement in each form, ``importlib``,
``__import__``, the attribute of an already-imported cnnkit, and the file
itself (the sandbox's cnnkit has no ``nn`` folder). The rest of cnnkit
imports and works. The notebook mixes NumPy-only parts and a Keras part:
each is graded in a run of its own that mounts only what its parts allow,
so TensorFlow does not exist in the run that grades part 1, and imports in
the run that grades the model.
"""

import json
import sys

import pytest

from autograder import sandbox, stream
from autograder.verdict import Plan, execute_program, runs_of, write_program

ATTACKS = {
    "import": "import cnnkit.nn",
    "from-import": "from cnnkit import nn",
    "from-submodule": "from cnnkit.nn import Sequential",
    "importlib": "import importlib\nimportlib.import_module('cnnkit.nn')",
    "__import__": "__import__('cnnkit.nn')",
    "attribute": "import cnnkit\ncnnkit.nn.Sequential",
    "by-file": ("import importlib.util, os, cnnkit\n"
                "path = os.path.join(os.path.dirname(cnnkit.__file__), 'nn', '__init__.py')\n"
                "spec = importlib.util.spec_from_file_location('stolen_nn', path)\n"
                "spec.loader.exec_module(importlib.util.module_from_spec(spec))"),
    "submodule-file": "import cnnkit.nn.losses",
    "tensorflow-early": "import tensorflow",
}
ALLOWED = "import cnnkit\nimport numpy as np\nassert cnnkit.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))).shape == (1, 1, 2, 2)"
TENSORFLOW_LATER = "import tensorflow as tf\nprint('tensorflow', tf.__version__)"


def _plan(steps):
    # The attacks are the student's cells; only the first cell and the late TensorFlow import are the course's.
    origins = {n: "course" if s.get("id") in ("allowed", "tensorflow-later") else "answer" if s["kind"] == "cell"
               else "call" for n, s in enumerate(steps)}
    return Plan(steps, [], [], origins, {})


def _run(tmp_path, steps):
    """Events of every run of the plan (in step order, the first run's for the steps it owns) and the programs."""
    the_plan = _plan(steps)
    limits = sandbox.Limits(wall_seconds=240, cell_seconds=120)
    events, programs = [], []
    for index, run in enumerate(runs_of(the_plan)):
        program = write_program(tmp_path / f"in-{index}", the_plan, 0, limits, hidden_cases=False, run=run)
        outcome = execute_program(tmp_path / f"in-{index}", program, limits)
        seen = {e.get("step") for e in events if e.get("event") == "cell"}
        events += [e for e in stream.parse(outcome.stream).events if e.get("step") not in seen]
        programs.append(program)
    return events, programs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if sandbox.bwrap_path() is None:
        pytest.fail("the grader's sandbox needs bubblewrap: apt-get install bubblewrap")
    cells = [{"kind": "cell", "source": ALLOWED, "id": "allowed"}]
    cells += [{"kind": "cell", "source": source, "id": name} for name, source in ATTACKS.items()]
    steps = cells + [
        {"kind": "call", "part": "relu_forward_tests", "grade_id": "relu_forward_tests", "target": "relu_forward"},
        {"kind": "cell", "source": TENSORFLOW_LATER, "id": "tensorflow-later"},
        {"kind": "call", "part": "cnn_structure_tests", "grade_id": "cnn_structure_tests", "target": "model"},
    ]
    # write_program reads the part names from "part" as the registry's names.
    steps[len(cells)]["part"] = "07-case-study/relu_forward"
    steps[-1]["part"] = "07-case-study/cnn_structure"
    events, program = _run(tmp_path_factory.mktemp("forbidden"), steps)
    by_step = {e["step"]: e for e in events if e.get("event") == "cell"}
    names = [s["id"] for s in cells] + ["call", "tensorflow-later"]
    return {name: by_step.get(number) for number, name in enumerate(names) if name != "call"}, events, program


def test_cnnkit_ops_import_and_work(graded):
    cells, _, _ = graded
    assert cells["allowed"]["error"] is None, cells["allowed"]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_every_way_to_cnnkit_nn_fails(graded, attack):
    cells, _, _ = graded
    event = cells[attack]
    assert event is not None, f"no result for {attack}"
    assert event["error"], f"{attack} reached a forbidden module: {event}"
    assert "Error" in event["error"], event["error"]


def test_the_attempts_are_reported(graded):
    _, events, _ = graded
    reported = {e["module"] for e in events if e.get("event") == "forbidden-import"}
    assert {"cnnkit.nn", "tensorflow"} <= reported, reported


def test_tensorflow_imports_in_the_run_of_the_part_that_allows_it(graded):
    cells, _, programs = graded
    assert cells["tensorflow-later"]["error"] is None, cells["tensorflow-later"]
    numpy_run, keras_run = programs
    assert {"cnnkit.nn", "tensorflow"} <= set(numpy_run.forbidden), numpy_run.forbidden
    assert "tensorflow" not in keras_run.forbidden, keras_run.forbidden


NUMPY_PART, KERAS_PART = "07-case-study/relu_forward", "07-case-study/cnn_structure"


def _steps(first_cell, first_id):
    return [{"kind": "cell", "source": first_cell, "id": first_id},
            {"kind": "call", "part": NUMPY_PART, "grade_id": "a", "target": "relu_forward"},
            {"kind": "cell", "source": "import tensorflow", "id": "tensorflow-later"},
            {"kind": "call", "part": KERAS_PART, "grade_id": "b", "target": "model"}]


def test_parts_that_allow_different_packages_get_runs_of_their_own():
    runs = runs_of(_plan(_steps("import numpy", "allowed")))
    assert [(r.last, sorted(r.calls)) for r in runs] == [(1, [1]), (3, [3])]
    assert "tensorflow" in runs[0].forbidden and "tensorflow" not in runs[1].forbidden


def test_a_course_cell_that_imports_a_refused_module_is_a_course_error(tmp_path):
    """A set-up cell importing TensorFlow above NumPy-only parts: the maintainer is told, no student's rule loosens."""
    from autograder.course import CourseError

    the_plan = _plan(_steps("import numpy as np\nimport tensorflow as tf", "allowed"))
    with pytest.raises(CourseError, match="course cell allowed imports tensorflow, which a part graded after it"):
        write_program(tmp_path, the_plan, 0, sandbox.Limits(), hidden_cases=False, run=runs_of(the_plan)[0])


def test_the_same_import_in_a_students_cell_is_only_refused(tmp_path):
    the_plan = _plan(_steps("import tensorflow as tf", "avg_pool2d"))
    program = write_program(tmp_path, the_plan, 0, sandbox.Limits(), hidden_cases=False, run=runs_of(the_plan)[0])
    assert "tensorflow" in program.forbidden
