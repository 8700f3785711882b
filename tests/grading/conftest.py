"""Helpers for the grading tests: the real solution code, blank answers, models built and round-tripped.

Every ``test_*_grading.py`` module states, for its assignment,

* ``ASSIGNMENT``: ``"NN-topic"``;
* ``WRONG``: ``{part: [wrong answer, ...]}``, the usual mistakes, each of which must lose points;
* ``RIGHT`` (optional): ``{part: [correct alternative, ...]}``, other correct ways of writing the
  answer, each of which must keep every point;
* ``SOLUTION`` (optional): ``{part: namespace -> answer}`` when the solution's answer to a part is
  not simply the notebook's name ``part``.

An answer is a function (function parts), a value (value parts) or a
:class:`Model` (model parts: built, saved as ``.keras`` and loaded back with
safe mode, as the grader does). ``test_claims.py`` turns those into the three
claims every part makes (solution full, blank zero, each wrong answer
loses) and the fourth (each correct alternative keeps full marks).
"""

import functools
import importlib
import json
import pkgutil
import tempfile
from pathlib import Path

import pytest

from autograder.course import assignment_notebook
from autograder.grading import get_part, grade_part


def solution_namespace(assignment):
    """Run the set-up and solution cells of ``assignment``'s source notebook; return its globals."""
    nb = json.loads(assignment_notebook(assignment).read_text())
    namespace = {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and (meta.get("solution") or meta.get("grade_id", "").startswith("setup")
                                            or meta.get("grade_id", "").endswith("_given")):
            exec(compile("".join(cell["source"]), f"<{assignment}:{meta.get('grade_id')}>", "exec"), namespace)
    return namespace


@functools.lru_cache(maxsize=None)
def cached_solution(assignment):
    return solution_namespace(assignment)


def blank(*args, **kwargs):
    """What a student version does before it is filled in."""
    raise NotImplementedError()


class Model:
    """A model part's answer: ``build()`` makes the Keras model (or anything else a student might hand in)."""

    def __init__(self, build, name=None):
        self.build = build
        self.__name__ = name or build.__name__

    def __repr__(self):
        return self.__name__


def round_trip(model):
    """The model as the grader's judge sees it: saved as ``.keras``, loaded with safe mode."""
    import keras

    if not isinstance(model, keras.Model):
        return model
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return keras.models.load_model(path, safe_mode=True)


def resolve(answer):
    """The object to grade for ``answer`` (a :class:`Model` is built and round-tripped)."""
    return round_trip(answer.build()) if isinstance(answer, Model) else answer


def qualified(module, part):
    return f"{module.ASSIGNMENT}/{part}"


def grading_modules():
    """Every ``tests/grading/test_*_grading.py`` module, imported."""
    package = importlib.import_module(__package__)
    return [importlib.import_module(f"{__package__}.{info.name}") for info in pkgutil.iter_modules(package.__path__)
            if info.name.startswith("test_") and info.name.endswith("_grading")]


def solution_answer(module, part):
    """The solution notebook's answer to ``part``."""
    namespace = cached_solution(module.ASSIGNMENT)
    getter = getattr(module, "SOLUTION", {}).get(part)
    return resolve(getter(namespace)) if getter else namespace[part]


def blank_answer(part_name):
    """What the untouched student version hands in: a function that raises, or no model / value yet."""
    return blank if get_part(part_name).kind == "function" else None


@pytest.fixture(scope="module")
def solution(request):
    return cached_solution(request.module.ASSIGNMENT)


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)


# The claims, each written once.

def assert_full_marks(part, answer, seed=None):
    """``answer`` earns every point of ``part``."""
    report = grade_part(part, answer, seed=seed)
    assert report.points == get_part(part).points, report.text()


def assert_blank_earns_nothing(part):
    """The untouched student version earns nothing, and the feedback says why."""
    report = grade_part(part, blank_answer(part))
    assert report.points == 0, report.text()
    assert "not implemented" in report.text(), report.text()


def assert_loses_points(part, wrong):
    """A usual wrong answer loses points, and the feedback gives a reason."""
    report = grade_part(part, wrong)
    assert report.points < get_part(part).points, f"{getattr(wrong, '__name__', wrong)!r} earned full marks:\n{report.text()}"
    assert report.problems, "a lost point must come with a reason"
