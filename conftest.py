"""How `make test` spreads the suite over pytest-xdist's workers, and `--chapter` (`make test-chapter`).

The Makefile runs `pytest -n 2 --dist loadgroup --no-loadscope-reorder`:
tests of one group run on one worker, in the order collected. Here every
test gets a group: its file (so a module's fixtures are built once, as with
`--dist loadfile`), except in the files split below, whose costly fixtures
each get a group of their own and whose cheap tests spread over both
workers. The longest groups are moved to the front, so the two workers
start on them at once and neither waits idle at the end.
"""

from __future__ import annotations

import re

import pytest

# Longest first (worker time measured under load, see book/maintainers.md).
# A test whose file is named here, and that uses one of the fixtures named
# (or any fixture, for None), goes in the group named, in this order.
LONG_GROUPS = [
    ("tests/book/test_book.py", ("book", "html"), "real-book"),  # the strict build executes the chapters
    ("tests/book/test_chapter_features.py", ("fixture_book",), "fixture-book"),
    ("tests/book/test_chapter_features.py", ("bad_book",), "bad-book"),
    ("tests/book/test_chapter_execution.py", ("failing_book",), "failing-book"),
    ("tests/pipeline/test_new_chapter.py", None, None),  # a copy of the repository, `new`, a nested pytest
    ("solutions/07-case-study/", None, None),  # trains a network
]
# Files whose other tests (no costly fixture) each run on whichever worker is free.
SPREAD = ("tests/book/test_book.py", "tests/book/test_chapter_features.py", "tests/book/test_chapter_execution.py",
          "tests/pipeline/test_exercises.py")
BOOK = "tests/book/"
# Not in `make test-fast` (marked slow): what grades in the sandbox through the grade command, trains a
# Keras model or starts nbgrader, tens of seconds to minutes each (measured with --durations).
SLOW = ("tests/pipeline/test_exercises.py::test_exercises_match_a_fresh_generation",
        "tests/pipeline/test_exercises.py::test_grade_commands_selftest", "tests/pipeline/test_new_chapter.py",
        "tests/autograder/test_corpus.py", "tests/autograder/test_cli.py", "tests/autograder/test_cgroups.py",
        "tests/autograder/test_nbgrader_gradebook.py", "tests/autograder/test_hostile.py",
        "tests/autograder/test_isolation.py", "tests/autograder/test_fuzz_grade.py", "tests/autograder/test_lms.py",
        "tests/autograder/test_gradescope.py", "tests/autograder/test_sandbox.py",
        "tests/autograder/test_check_models.py", "tests/grading/test_sequential_models_grading.py",
        "tests/grading/test_case_study_grading.py", "tests/grading/test_case_study_scratch_grading.py",
        "tests/grading/test_forbidden_submodule.py", "tests/grading/test_held_out.py")
SLOW_ASSIGNMENTS = ("[06-sequential-models", "[07-case-study", "[05-other-pooling-'all_conv_model'")
CHAPTER_NAME = re.compile(r"\b(\d\d)-[a-z]")


def pytest_addoption(parser):
    parser.addoption("--chapter", metavar="NN-topic",
                     help="deselect the parametrised cases that name another chapter or assignment (make test-chapter)")


def pytest_configure(config):
    config.addinivalue_line("markers", "book: builds a book or reads a built one (tests/book/; not in make test-fast)")


def _group(item) -> tuple[int, str | None]:
    """``(rank, group)``: rank orders the groups (longest first), group None spreads the test."""
    path = item.nodeid.split("::")[0]
    for rank, (prefix, fixtures, group) in enumerate(LONG_GROUPS):
        if path.startswith(prefix) and (fixtures is None or set(fixtures) & set(getattr(item, "fixturenames", ()))):
            return rank, group or path
    if path.startswith("solutions/"):
        return len(LONG_GROUPS), path  # a notebook's cells share one kernel
    return len(LONG_GROUPS) + 1, None if path in SPREAD else path


def _other_chapter(nodeid: str, chapter: str) -> bool:
    return any(number != chapter[:2] for number in CHAPTER_NAME.findall(nodeid))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    chapter = config.getoption("--chapter")
    if chapter:
        deselected = [item for item in items if _other_chapter(item.nodeid, chapter)]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item not in set(deselected)]
    ranks = {}
    for item in items:
        if item.nodeid.startswith(BOOK):
            item.add_marker(pytest.mark.book)
        if item.nodeid.startswith(SLOW) or any(name in item.nodeid for name in SLOW_ASSIGNMENTS):
            item.add_marker(pytest.mark.slow)
        rank, group = _group(item)
        ranks[item.nodeid] = rank
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: ranks[item.nodeid])  # stable: the collected order within a rank
