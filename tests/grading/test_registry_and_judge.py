"""The registry (one-way registration, discovery by listing, names per assignment) and the one judge."""

import importlib
import sys

import numpy as np
import pytest

from autograder.grading import Case, Outcome, Raises, all_parts, get_part, judge_case, registry, render_part
from autograder.grading.parts import convolution


def test_parts_are_named_per_assignment():
    names = sorted(all_parts())
    assert "02-convolution/conv2d" in names and "05-other-pooling/all_conv_model" in names
    assert all(name.count("/") == 1 and get_part(name).assignment == name.split("/")[0] for name in names)
    assert sorted(registry.parts_of("04-max-pooling")) == ["max_pool2d", "max_pool2d_backward"]


def test_reloading_a_parts_module_does_not_raise_registered_twice():
    before = get_part("02-convolution/conv2d")
    importlib.reload(convolution)
    after = get_part("02-convolution/conv2d")
    assert after.points == before.points and after.make_cases is not before.make_cases


def test_two_modules_claiming_one_part_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_PARTS", dict(registry._PARTS))
    register = registry.assignment("02-convolution")

    def _other_conv2d(rng):  # defined here, so its module is not the convolution module
        return []

    with pytest.raises(ValueError, match="registered twice"):
        register("conv2d", points=5)(_other_conv2d)


def test_a_new_parts_module_is_found_without_editing_an_init(tmp_path, monkeypatch):
    package = tmp_path / "extra_parts"
    package.mkdir()
    (package / "__init__.py").write_text('"""no imports here"""\n')
    (package / "chapter_eight.py").write_text(
        "from autograder.grading.registry import Case, assignment\n"
        "register = assignment('08-new-chapter')\n"
        "@register('answer', points=1, kind='value')\n"
        "def _cases(rng):\n"
        "    return [Case('the answer', (), 42)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_PARTS", dict(registry._PARTS))
    monkeypatch.setattr(registry, "PARTS_PACKAGE", "extra_parts")
    try:
        part = get_part("08-new-chapter/answer")
        assert part.points == 1.0 and part.module == "extra_parts.chapter_eight"
    finally:
        for name in [m for m in sys.modules if m.startswith("extra_parts")]:
            del sys.modules[name]


def test_points_are_stated_once_as_floats():
    for part in all_parts().values():
        assert isinstance(part.points, float) and part.points > 0


# --- the one judge ----------------------------------------------------------------------

CASE = Case("x (2,)", (np.zeros(2),), np.array([1.0, 2.0]))


@pytest.mark.parametrize("outcome, problem", [
    (Outcome(value=np.array([1.0, 2.0])), None),
    (Outcome(value=np.array([1.0, 2.5])), "values differ at 1 of 2 positions"),
    (Outcome(timed_out=True), "ran too long"),
    (Outcome(value=np.array([1.0, 2.0]), modified_input=1), "modified its argument 1 in place"),
    (Outcome(error_type="NotImplementedError", error_mro=("NotImplementedError", "RuntimeError")), "not implemented yet"),
    (Outcome(error_type="IndexError", error_message="index 3 is out of bounds"), "raised IndexError: index 3"),
    (Outcome(value=None), "returned None"),
])
def test_judge_case_of_a_function(outcome, problem):
    found = judge_case(CASE, outcome)
    assert found is None if problem is None else problem in found, found


def test_judge_case_of_an_expected_exception_uses_the_mro():
    case = Case("n=3, kernel=5", (3, 5), Raises(ValueError))
    subclass = Outcome(error_type="KernelTooLarge", error_mro=("KernelTooLarge", "ValueError", "Exception"))
    assert judge_case(case, subclass) is None
    assert "should raise ValueError" in judge_case(case, Outcome(value=0))
    assert "raised TypeError" in judge_case(case, Outcome(error_type="TypeError", error_mro=("TypeError",)))


def test_judge_case_of_a_model_part_says_not_implemented_when_there_is_no_model():
    case = Case("input shape", predicate=lambda model: None)
    assert "not implemented" in judge_case(case, Outcome(value=None), "model")
    assert "not implemented" in judge_case(case, Outcome(error_type="NameError"), "model")
    assert judge_case(case, Outcome(value=object()), "model") is None
    crashing = Case("odd", predicate=lambda model: model.missing)
    assert "checking it raised AttributeError" in judge_case(crashing, Outcome(value=object()), "model")


def test_judge_names_tuple_items_and_accepts_whole_numbers():
    case = Case("dout", (), (np.ones(2), np.zeros(1)), returns=("dx", "db"))
    assert judge_case(case, Outcome(value=(np.ones(2), np.ones(1)))).startswith("`db`:")
    count = Case("n=4", (), 7)
    assert judge_case(count, Outcome(value=7.0)) is None and judge_case(count, Outcome(value=np.int64(7))) is None
    assert "whole number" in judge_case(count, Outcome(value=7.5))
    assert "whole number" in judge_case(count, Outcome(value=True))


def test_judge_checks_a_stated_float_dtype():
    case = Case("x ints", (), np.zeros(3), dtype="floating")
    assert judge_case(case, Outcome(value=np.zeros(3))) is None
    assert "float array" in judge_case(case, Outcome(value=np.zeros(3, dtype=np.int64)))


def test_render_part_says_one_reason_once():
    same = [(1, "a", "not implemented yet"), (2, "b", "not implemented yet")]
    assert render_part("p", 0, 2, 0, 2, same) == "p: 0/2 cases passed, 0 of 2 points\n  - every case: not implemented yet"
    mixed = render_part("p", 1, 3, 0.67, 2, [(1, "a", "x"), (3, "c", "y")])
    assert mixed.splitlines()[1:] == ["  - case 1 (a): x", "  - case 3 (c): y"]
