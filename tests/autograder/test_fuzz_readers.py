"""Generated submissions against the grader's readers: every input ends as cells, a stated problem or a row.

Hypothesis writes the notebooks, cells, metadata, outputs and file names a
class could hand in (and some no honest class would); the functions that
read, collect, plan and render them are called directly, so that thousands
of inputs take seconds. None may raise: a reader's exception is a
``grader-error`` row, the one outcome the grader promises never to give.
"""

import copy
import csv
import json
import os
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import feedback, notebook
from autograder.check import Report, read_events
from autograder.course import assignment_notebook
from autograder.grade import answers_digest
from autograder.reports import summary, write_outputs
from autograder.state import Row
from autograder.submissions import collect
from autograder.untrusted_text import has_controls
from autograder.verdict import GradedCell, PartResult, Verdict, graded_cells, plan

from .corpus import ASSIGNMENT, release

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOURCE = notebook.course_cells(assignment_notebook(ASSIGNMENT))
RELEASE_NB = release()
RELEASE = notebook.parse(json.dumps(RELEASE_NB).encode())
GRADE_IDS = [c.grade_id for c in RELEASE if c.grade_id]

# Text that hurts: escapes, controls, bidi, combining marks, surrogates of non-UTF-8 file names, math.
NASTY = st.sampled_from(["\x1b[2J", "\x1b]0;t\x07", "\x9b31m", "\u202e", "\u200b", "\x00", "\r", "$", "$$",
                         "MATHXPLACEHOLDERX0X", "\\frac{", "e\u0301", "\udce9", "<script>", "&", "```", "|"])
TEXT = st.lists(st.one_of(st.text(max_size=20), NASTY), max_size=8).map("".join)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)
NBGRADER = st.fixed_dictionaries({}, optional={
    "grade_id": st.one_of(st.sampled_from(GRADE_IDS), TEXT, JSON),
    "grade": st.one_of(st.booleans(), JSON), "solution": st.one_of(st.booleans(), JSON),
    "locked": st.one_of(st.booleans(), JSON), "points": st.one_of(st.integers(), st.floats(), JSON),
    "schema_version": JSON, "task": JSON})
SOURCES = st.one_of(TEXT, st.lists(st.one_of(TEXT, JSON), max_size=5), st.none(), st.integers(), st.floats(), JSON)
CELL = st.fixed_dictionaries(
    {"cell_type": st.one_of(st.sampled_from(["code", "markdown", "raw", "heading"]), JSON)},
    optional={"source": SOURCES,
              "metadata": st.one_of(JSON, st.fixed_dictionaries({}, optional={"nbgrader": st.one_of(NBGRADER, JSON),
                                                                             "tags": JSON})),
              "outputs": JSON, "execution_count": JSON, "attachments": JSON, "id": JSON})
NOTEBOOK = st.fixed_dictionaries({"cells": st.lists(st.one_of(CELL, JSON), max_size=12)},
                                 optional={"metadata": JSON, "nbformat": JSON, "nbformat_minor": JSON})


def shows_no_controls(text):
    """No control, escape or bidi character, but the newlines and tabs that preformatted text keeps."""
    return not has_controls(text.replace("\n", "").replace("\t", ""))


def parsed_or_problem(raw):
    try:
        cells = notebook.parse(raw, "nb.ipynb")
    except notebook.NotebookProblem as problem:
        assert problem.status in ("invalid-notebook", "empty-file") and str(problem)
        return None
    for cell in cells:
        assert cell.cell_type in ("code", "markdown", "raw") and isinstance(cell.source, str)
        cell.source.encode("utf-8")  # digests, the sandbox's files and pages need UTF-8
        str(cell.grade_id).encode("utf-8")
        assert all(isinstance(value, notebook.NBGRADER_FIELDS[key]) for key, value in cell.nbgrader.items())
    return cells


@FAST
@given(st.one_of(NOTEBOOK, JSON))
def test_any_json_is_cells_or_a_stated_problem(document):
    parsed_or_problem(json.dumps(document).encode("utf-8", "surrogatepass"))


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_are_cells_or_a_stated_problem(raw):
    parsed_or_problem(raw)


@st.composite
def mutated_release(draw):
    """The student version with cells re-typed, re-tagged, duplicated, dropped, moved and added."""
    nb = copy.deepcopy(RELEASE_NB)
    cells = nb["cells"]
    for _ in range(draw(st.integers(0, 6))):
        index = draw(st.integers(0, len(cells) - 1)) if cells else 0
        action = draw(st.sampled_from(["retype", "retag", "duplicate", "drop", "move", "add", "source"]))
        if not cells and action != "add":
            continue
        if action == "retype":
            cells[index]["cell_type"] = draw(st.one_of(st.sampled_from(["code", "markdown", "raw"]), JSON))
        elif action == "retag":
            if not isinstance(cells[index].get("metadata"), dict):  # an added cell's metadata may be any JSON
                cells[index]["metadata"] = {}
            cells[index]["metadata"]["nbgrader"] = draw(st.one_of(NBGRADER, JSON))
        elif action == "duplicate":
            cells.insert(index, copy.deepcopy(cells[index]))
        elif action == "drop":
            del cells[index]
        elif action == "move":
            cells.insert(draw(st.integers(0, len(cells) - 1)), cells.pop(index))
        elif action == "add":
            cells.insert(index, draw(CELL))
        else:
            cells[index]["source"] = draw(SOURCES)
    return nb


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_release())
def test_any_mutation_of_the_student_version_is_planned_and_shown(nb):
    cells = parsed_or_problem(json.dumps(nb).encode("utf-8", "surrogatepass"))
    if cells is None:
        return
    answers_digest(cells, RELEASE)
    the_plan = plan(SOURCE, RELEASE, cells)
    assert all(isinstance(flag, str) for flag in the_plan.flags)
    graded = graded_cells(SOURCE)
    parts = {g.grade_id: PartResult(g.grade_id, g.part, 0.0, g.points) for g in graded}
    outputs = {step: {"output": "x", "error": None, "figures": []} for step in range(len(the_plan.steps))}
    verdict = Verdict(parts, the_plan.flags, display=the_plan.display, outputs=outputs)
    page = feedback.page(ASSIGNMENT, "ann", verdict, graded)
    assert "<script" not in page and shows_no_controls(page)


@FAST
@given(TEXT, st.lists(st.tuples(st.integers(), TEXT, TEXT), max_size=5))
def test_any_text_renders_as_a_page_without_controls(text, problems):
    display = [{"type": "markdown", "source": text, "origin": "student", "step": None, "id": None},
               {"type": "code", "source": text, "origin": "student", "step": 0, "id": None},
               {"type": "code", "source": text, "origin": "course", "step": 1, "id": "a", "part": "a"}]
    part = PartResult("a", "a", 0.0, 1.0, 0, len(problems), problems)
    verdict = Verdict({"a": part}, stopped=text, display=display,
                      outputs={0: {"output": text, "error": text, "figures": []}})
    page = feedback.page(text, text, verdict, [GradedCell("a", "a", "a", 1.0)])
    row = Row(text, "key", {}, 0.0, 1.0, text, [text, text])
    for html in (page, feedback.problem_page(text, text, row)):
        assert shows_no_controls(html), html


@FAST
@given(st.lists(st.tuples(TEXT, st.sampled_from(["ok", "flagged", "bad-file"]), st.lists(TEXT, max_size=3)),
                max_size=6), TEXT)
def test_any_rows_make_tables_a_spreadsheet_reads_as_text(tmp_path_factory, found, assignment):
    out = tmp_path_factory.mktemp("out")
    rows = [Row(name, f"k{n}", {"a": 1.0}, 1.0, 2.0, status, notes) for n, (name, status, notes) in enumerate(found)]
    write_outputs(out, assignment, rows, [("a", 2.0)])
    for name in ("grades.csv", "review.csv", "canvas.csv", "moodle.csv"):
        with open(out / name, newline="") as handle:
            table = list(csv.reader(handle))
        assert len(table) == 1 + (len(rows) if name != "review.csv" else sum(r.status != "ok" for r in rows))
        for line in table:
            for cell in line:
                assert not has_controls(cell) and not cell.startswith(("=", "+", "-", "@", " ")), (name, cell)
    assert shows_no_controls((out / "index.html").read_text())
    assert all(not has_controls(line) for line in summary(rows, [("a", 2.0)], width=80).splitlines())


FILE_NAME = st.lists(st.one_of(st.text(alphabet=st.characters(blacklist_characters="/\0",
                                                            blacklist_categories=("Cs",)), max_size=6),
                               NASTY.filter(lambda s: "\0" not in s and "\udce9" not in s),
                               st.sampled_from(["Ann", "ann", "ANN", "ann ", "jos\u00e9", "jose\u0301", "\uff41nn",
                                                ".ipynb", ".IPYNB", ".zip", ".ipynb.ipynb", " "])),
                     min_size=1, max_size=4).map("".join).filter(
    lambda s: s not in (".", "..") and 0 < len(os.fsencode(s)) <= 200)
ENTRY = st.tuples(FILE_NAME, st.sampled_from(["notebook", "bytes", "folder", "nbgrader", "link", "empty-folder"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(st.lists(ENTRY, max_size=8, unique_by=lambda e: e[0]))
def test_every_entry_of_any_submissions_folder_is_in_exactly_one_row(tmp_path_factory, entries):
    root = tmp_path_factory.mktemp("subs")
    made = []
    for name, kind in entries:
        path = root / name
        if kind == "notebook":
            path.write_text("{}")
        elif kind == "bytes":
            path.write_bytes(b"PK\x03\x04")
        elif kind == "link":
            path.symlink_to(root / "nowhere")
        elif kind == "nbgrader":
            (path / ASSIGNMENT).mkdir(parents=True)
            (path / ASSIGNMENT / "convolution.ipynb").write_text("{}")
        else:
            path.mkdir()
        if not name.startswith("."):
            made.append(name)
    found = collect(root, ASSIGNMENT, "convolution.ipynb")
    listed = sorted(name for s in found for name in s.entries)
    assert listed == sorted(made)
    assert len({s.student for s in found}) == len(found) and len({s.key for s in found}) == len(found)
    allowed = string.ascii_letters + string.digits + "_.@+-"
    for submission in found:
        assert submission.student and not has_controls(submission.student), submission
        assert all(ch in allowed for ch in submission.key) and len(submission.key) <= 64, submission.key
        assert submission.status in ("ok", "bad-file", "bad-name", "wrong-assignment", "missing-notebook")
        assert bool(submission.problem) == (submission.status != "ok"), submission
        submission.student.encode("utf-8")


@FAST
@given(st.lists(st.one_of(JSON, st.fixed_dictionaries({"event": st.sampled_from(["cell", "part", "model", "done",
                                                                                 "forbidden-import"])},
                                                      optional={"step": JSON | st.integers(-50, 50),
                                                                "part": JSON | st.sampled_from(GRADE_IDS),
                                                                "error": JSON, "module": JSON, "found": JSON})),
                max_size=10))
def test_any_events_of_a_check_run_end_as_messages(events):
    report = Report(ASSIGNMENT)
    the_plan = plan(SOURCE, RELEASE, RELEASE)
    seen, models, failing = read_events(events, the_plan, report)
    assert all(isinstance(key, str) for key in [*seen, *models, *failing])
    assert all(not has_controls(line) for line in report.text().splitlines())


def test_an_nbformat_3_notebook_is_named_as_such():
    old = {"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1"}]}], "metadata": {}}
    try:
        notebook.parse(json.dumps(old).encode())
    except notebook.NotebookProblem as problem:
        assert problem.status == "invalid-notebook" and "nbformat 3" in str(problem)
    else:
        raise AssertionError("an nbformat 3 notebook has no cells the grader reads")


def test_a_lone_surrogate_spelt_in_json_becomes_a_replacement_character():
    # Once a grader-error: the answers' digest could not encode the cell.
    raw = b'{"cells": [{"cell_type": "code", "source": "x = 1  # \\udce9", "metadata": {"nbgrader": {"grade_id": "a\\ud800"}}}]}'
    (cell,) = notebook.parse(raw)
    assert cell.source == "x = 1  # \ufffd" and cell.grade_id == "a\ufffd"
    answers_digest([cell], RELEASE)
