"""The claims every graded part makes, generated from each grading test module's ``WRONG`` and ``RIGHT``.

1. the solution earns every point;
2. the blank student version earns none, and says "not implemented";
3. each usual wrong answer loses points, with a reason;
4. each correct alternative (another style of a right answer) keeps every point;

and every registered part has at least one wrong answer to lose points on.
"""

import pytest

from autograder.grading import all_parts, get_part

from .conftest import (assert_blank_earns_nothing, assert_full_marks, assert_loses_points, grading_modules, qualified,
                       resolve, solution_answer)

MODULES = grading_modules()
PARTS = [(m, part) for m in MODULES for part in getattr(m, "WRONG", {})]
WRONGS = [(m, part, answer) for m in MODULES for part, answers in getattr(m, "WRONG", {}).items() for answer in answers]
RIGHTS = [(m, part, answer) for m in MODULES for part, answers in getattr(m, "RIGHT", {}).items() for answer in answers]


def _id(value):
    if hasattr(value, "ASSIGNMENT"):
        return value.ASSIGNMENT
    return getattr(value, "__name__", None) or repr(value)[:40]


@pytest.mark.parametrize("module, part", PARTS, ids=_id)
def test_solution_earns_every_point(module, part):
    assert_full_marks(qualified(module, part), solution_answer(module, part))


@pytest.mark.parametrize("module, part", PARTS, ids=_id)
def test_blank_earns_nothing(module, part):
    assert_blank_earns_nothing(qualified(module, part))


@pytest.mark.parametrize("module, part, wrong", WRONGS, ids=_id)
def test_usual_mistake_loses_points(module, part, wrong):
    assert_loses_points(qualified(module, part), resolve(wrong))


@pytest.mark.parametrize("module, part, right", RIGHTS, ids=_id)
def test_correct_alternative_keeps_every_point(module, part, right):
    assert_full_marks(qualified(module, part), resolve(right))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("module, part", [(m, p) for m, p in PARTS if get_part(qualified(m, p)).kind == "function"],
                         ids=_id)
def test_solution_passes_for_any_grading_seed(module, part, seed):
    assert_full_marks(qualified(module, part), solution_answer(module, part), seed=seed)


def test_every_registered_part_has_a_wrong_answer():
    covered = {qualified(m, part) for m, part in PARTS if m.WRONG[part]}
    missing = sorted(set(all_parts()) - covered)
    assert not missing, f"registered parts without a wrong answer in tests/grading: {missing}"


def test_every_wrong_answer_names_a_registered_part():
    unknown = sorted({qualified(m, part) for m, part in PARTS} - set(all_parts()))
    assert not unknown, f"WRONG names parts nobody registered: {unknown}"
