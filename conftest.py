"""How `make test` spreads the suite over pytest-xdist's workers, and `--chapter` (`make test-chapter`).

The Makefile runs `pytest -n 2 --dist loadgroup --no-loadscope-reorder`:
tests of one group run on one worker, in the order collected. Here every
test gets a group: its file (so a module's fixtures are built once, as with
`--dist loadfile`), except in the files split below, whose costly fixtures
each get a group of their own and whose cheap tests spread over both
workers. The longest groups are moved to the front, so the two workers
start on them at once and neither waits idle at the end.

The groups are given by a scheduler of our own (`CourseScheduling`), not by
`xdist_group` marks: with pytest 9, pytest-xdist 3.8's loadgroup cannot
rename a test's node id, and every marked test ran as a group of its own.
The scheduler sees node ids only, so a test's fixtures are read from its
module's source (`_fixtures`).
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

# Longest first (worker time measured under load, see book/maintainers.md).
# A test whose file is named here, and that uses one of the fixtures named
# (or any fixture, for None), goes in the group named, in this order.
LONG_GROUPS = [
    ("tests/book/test_book.py", ("book",), "real-book"),  # the strict build executes the chapters
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
# Tests that read the strict build's pages (the `html` fixture) wait for it; they go last, one group per page
# (its tests share one page load, test_book.py), so that both workers open the pages once the build is done,
# instead of one worker running the build and then every page.
BUILT_PAGES = "tests/book/test_book.py"
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
        "tests/grading/test_case_study_layers_grading.py",
        "tests/grading/test_forbidden_submodule.py", "tests/grading/test_held_out.py")
SLOW_ASSIGNMENTS = ("[06-sequential-models", "[07-case-study", "[05-other-pooling-'all_conv_model'")
CHAPTER_NAME = re.compile(r"\b(\d\d)-[a-z]")


def pytest_addoption(parser):
    parser.addoption("--chapter", metavar="NN-topic",
                     help="deselect the parametrised cases that name another chapter or assignment (make test-chapter)")


def pytest_configure(config):
    config.addinivalue_line("markers", "book: builds a book or reads a built one (tests/book/; not in make test-fast)")


ROOT = Path(__file__).resolve().parent


@functools.cache
def _fixtures(path: str) -> dict[str, frozenset[str]]:
    """Each test function of a module and the fixtures it uses, through the module's own fixtures."""
    try:
        tree = ast.parse((ROOT / path).read_text())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}
    uses = {node.name: {a.arg for a in node.args.args} for node in tree.body if isinstance(node, ast.FunctionDef)}
    closed = {}
    for name in uses:
        seen, todo = set(), list(uses[name])
        while todo:
            fixture = todo.pop()
            if fixture not in seen:
                seen.add(fixture)
                todo += uses.get(fixture, ()) if fixture != name else ()
        closed[name] = frozenset(seen)
    return closed


def _group(nodeid: str) -> tuple[int, str]:
    """``(rank, group)`` of a test: rank orders the groups (longest first, the built book's pages last); a spread
    test is its own group."""
    path, _, rest = nodeid.partition("::")
    fixtures = _fixtures(path).get(re.split(r"[\[@]", rest)[0], frozenset()) if path.endswith(".py") else frozenset()
    if path == BUILT_PAGES and "html" in fixtures:
        page = re.search(r"\[(.+)\]$", rest)
        return len(LONG_GROUPS) + 2, f"built-page[{page.group(1)}]" if page else nodeid
    for rank, (prefix, wanted, group) in enumerate(LONG_GROUPS):
        if path.startswith(prefix) and (wanted is None or set(wanted) & fixtures):
            return rank, group or path
    if path.startswith("solutions/"):
        return len(LONG_GROUPS), path  # a notebook's cells share one kernel
    return len(LONG_GROUPS) + 1, nodeid if path in SPREAD else path


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup`: the groups of `_group`, in the order collected (`--no-loadscope-reorder`)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class CourseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)[1]

    return CourseScheduling(config, log)


def _other_chapter(nodeid: str, chapter: str) -> bool:
    return any(number != chapter[:2] for number in CHAPTER_NAME.findall(nodeid))


@pytest.hookimpl(tryfirst=True)  # the marks before -m reads them
def pytest_collection_modifyitems(config, items):
    chapter = config.getoption("--chapter")
    if chapter:
        deselected = [item for item in items if _other_chapter(item.nodeid, chapter)]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item not in set(deselected)]
    for item in items:
        if item.nodeid.startswith(BOOK):
            item.add_marker(pytest.mark.book)
        if item.nodeid.startswith(SLOW) or any(name in item.nodeid for name in SLOW_ASSIGNMENTS):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: _group(item.nodeid)[0])  # stable: the collected order within a rank
