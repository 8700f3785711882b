"""One person, one row: spellings of one name are one student, and every entry of SUBMISSIONS is in a row."""

import os
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.identity import identity_of, shown_name
from autograder.state import Row
from autograder.submissions import collect, mark_collisions

ASSIGNMENT, NAME = "02-convolution", "convolution.ipynb"

TWINS = {
    "case": ("N1-CASEFOLD-TWIN", "n1-casefold-twin"),
    "nfc": ("jos\u00e9", "jose\u0301"),
    "padding": ("name ", "name"),
    "inner space": ("ann  lee", "ann lee"),
    "full width": ("\uff41\uff4e\uff4e", "ann"),
    "zero width": ("an\u200bn", "ann"),
    "joiner": ("an\u200dn", "ann"),
    "soft hyphen": ("an\u00adn", "ann"),
    "sharp s": ("STRASSE", "straße"),
}


@pytest.mark.parametrize("kind", sorted(TWINS))
def test_spellings_of_one_name_are_one_identity(kind):
    first, second = TWINS[kind]
    assert identity_of(first) == identity_of(second)


def test_different_people_stay_different():
    assert len({identity_of(n) for n in ("ann", "anne", "an", "ann lee", "annlee", "josé", "jose")}) == 7


def stamp(path, when):
    os.utime(path, ns=(when, when), follow_symlinks=False)


@pytest.mark.parametrize("kind", sorted(TWINS))
def test_twins_get_one_row_graded_from_the_newest_file_naming_both(tmp_path, kind):
    older, newer = TWINS[kind]
    (tmp_path / f"{older}.ipynb").write_text("{}")
    (tmp_path / f"{newer}.ipynb").write_text("{}")
    stamp(tmp_path / f"{older}.ipynb", 1_000_000_000)
    stamp(tmp_path / f"{newer}.ipynb", 2_000_000_000)
    found = collect(tmp_path, ASSIGNMENT, NAME)
    assert len(found) == 1, [s.student for s in found]
    only = found[0]
    assert only.path.name == f"{newer}.ipynb" and only.student == shown_name(newer)
    assert only.collision.startswith("2 entries are one student") and not only.problem
    # The note names both entries legibly, even when they look alike.
    assert len(set(only.collision.split("'")[1:4:2])) == 2, only.collision


def test_the_newest_is_graded_whichever_sorts_first(tmp_path):
    (tmp_path / "Ann.ipynb").write_text("{}")
    (tmp_path / "ann.ipynb").write_text("{}")
    stamp(tmp_path / "ann.ipynb", 1_000_000_000)
    stamp(tmp_path / "Ann.ipynb", 2_000_000_000)
    (only,) = collect(tmp_path, ASSIGNMENT, NAME)
    assert only.path.name == "Ann.ipynb" and only.student == "Ann"


def test_a_gradable_entry_beats_a_newer_one_that_cannot_be_graded(tmp_path):
    (tmp_path / "ann.ipynb").write_text("{}")
    (tmp_path / "ANN.zip").write_bytes(b"PK")
    stamp(tmp_path / "ann.ipynb", 1_000_000_000)
    stamp(tmp_path / "ANN.zip", 2_000_000_000)
    (only,) = collect(tmp_path, ASSIGNMENT, NAME)
    assert only.path.name == "ann.ipynb" and not only.problem and "'ANN.zip'" in only.collision


def test_every_entry_kind_has_its_row(tmp_path):
    (tmp_path / "upper.IPYNB").write_text("{}")
    (tmp_path / "archive.zip").write_bytes(b"PK\x03\x04")
    (tmp_path / "report.pdf").write_bytes(b"%PDF")
    (tmp_path / "S.ipynb").mkdir()
    (tmp_path / "S.ipynb.ipynb").write_text("{}")
    (tmp_path / ".DS_Store").write_bytes(b"")
    found = {s.student: s for s in collect(tmp_path, ASSIGNMENT, NAME)}
    assert sorted(found) == ["S.ipynb", "archive", "report", "upper"]
    assert found["upper"].status == "ok" and found["upper"].path.name == "upper.IPYNB"
    assert found["archive"].status == "bad-file" and "archive" in found["archive"].problem \
        and "not unpacked" in found["archive"].problem
    assert found["report"].status == "bad-file" and "not a notebook" in found["report"].problem
    # A folder S.ipynb/ (no assignment inside) and a file S.ipynb.ipynb: one student, the file graded.
    assert found["S.ipynb"].status == "ok" and found["S.ipynb"].path.name == "S.ipynb.ipynb"
    assert "2 entries" in found["S.ipynb"].collision


def test_shown_names_carry_no_control_character_and_odd_names_still_get_a_row(tmp_path):
    for name in ("\x1b]0;pwned\x07eve\x1b[2J", "\u202emallory", "\x07", "\x08"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    found = collect(tmp_path, ASSIGNMENT, NAME)
    assert len(found) == 4
    for submission in found:
        assert submission.student.isprintable() and submission.status == "bad-name", submission
        assert all(ch.isalnum() or ch in "_.@+-" for ch in submission.key), submission.key
    assert {s.student for s in found} >= {"eve", "mallory"}


def test_a_name_that_is_not_utf8_is_graded_under_a_shown_name(tmp_path):
    name = os.fsdecode(b"l\xe9a.ipynb")
    (tmp_path / name).write_text("{}")
    (only,) = collect(tmp_path, ASSIGNMENT, NAME)
    assert only.status == "ok" and only.student == "l\ufffda"
    only.student.encode("utf-8")  # writable to every table


def test_a_collision_marks_its_row_once_and_keeps_a_worse_status():
    class Found:
        student, collision, problem = "ann", "2 entries are one student: 'ann', 'Ann'", ""

    rows = {"ann": Row("ann", "ann", status="ok"), "ben": Row("ben", "ben", status="ok")}
    mark_collisions(rows, [Found()])
    mark_collisions(rows, [Found()])
    assert rows["ann"].status == "duplicate" and rows["ann"].notes == [Found.collision]
    assert rows["ben"].status == "ok" and rows["ben"].notes == []
    flagged = {"ann": Row("ann", "ann", status="flagged", notes=["tampering: x"])}
    mark_collisions(flagged, [Found()])
    assert flagged["ann"].status == "flagged" and flagged["ann"].notes[0] == Found.collision


def test_the_instructor_names_a_student_in_any_spelling(tmp_path):
    from autograder.submissions import find_student

    (tmp_path / "Jose\u0301 Lee.ipynb").write_text("{}")
    found = collect(tmp_path, ASSIGNMENT, NAME)
    assert find_student(found, "jos\u00e9 lee ") == "Jos\u00e9 Lee"
    assert find_student(found, "jose") is None


def test_a_right_to_left_mark_is_dropped_but_an_override_is_suspect(tmp_path):
    (tmp_path / "\u05d3\u05e0\u05d4\u200f.ipynb").write_text("{}")
    (tmp_path / "x\u202ey.ipynb").write_text("{}")
    found = {s.student: s for s in collect(tmp_path, ASSIGNMENT, NAME)}
    assert found["\u05d3\u05e0\u05d4"].status == "ok"
    assert found["xy"].status == "bad-name" and "\\u202e" in found["xy"].problem


def test_an_unnamed_entry_and_a_name_spelling_its_escapes_are_two_rows(tmp_path):
    (tmp_path / "\x07.ipynb").write_text("{}")
    (tmp_path / "\\x07.ipynb.ipynb").write_text("{}")  # the student "\\x07.ipynb", as the unnamed is shown
    found = collect(tmp_path, ASSIGNMENT, NAME)
    assert len(found) == 2 and len({s.student for s in found}) == 2 and len({s.key for s in found}) == 2


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12),
       st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]), st.sampled_from(["", " ", "\u200b", "\t", "\u200f"]))
def test_identity_ignores_normal_form_padding_and_invisibles_and_is_stable(name, form, pad):
    # Control characters are left out: a name with an escape sequence is a bad-name row whatever its
    # identity, and a sequence's end depends on the letter after it ("\x9bß" folds to "\x9bss").
    identity = identity_of(name)
    assert identity_of(unicodedata.normalize(form, name)) == identity
    assert identity_of(pad + name + pad) == identity
    assert identity_of(identity) == identity
    assert identity_of(name.casefold()) == identity


def test_a_folder_past_the_entry_limit_is_refused_not_cut(tmp_path, monkeypatch):
    from autograder import submissions
    from autograder.course import CourseError

    for name in ("a", "b", "c", "d"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    monkeypatch.setattr(submissions, "MAX_ENTRIES", 3)
    with pytest.raises(CourseError, match="at most 3 entries"):
        collect(tmp_path, ASSIGNMENT, NAME)
    monkeypatch.setattr(submissions, "MAX_ENTRIES", 4)
    assert len(collect(tmp_path, ASSIGNMENT, NAME)) == 4


def test_white_space_an_editor_changes_is_not_an_edit_of_a_course_cell():
    """Trailing newlines, spaces and CRLF line ends in a course cell: no "edited" flag; a changed token: flagged."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from autograder.course import assignment_notebook
    from autograder.notebook import Cell, course_cells, is_answer
    from autograder.plan import plan

    source = course_cells(assignment_notebook("02-convolution"))
    course = [c for c in source if c.grade_id and not is_answer(c) and c.cell_type == "code"]

    @settings(max_examples=25, deadline=None)
    @given(index=st.integers(0, len(course) - 1), tail=st.sampled_from(["\n", "\n\n", "  ", " \n", "\r\n"]),
           crlf=st.booleans())
    def check(index, tail, crlf):
        target = course[index]
        text = target.source.replace("\n", "\r\n") if crlf else target.source
        submitted = [Cell(c.cell_type, text + tail, c.nbgrader) if c is target else c for c in source]
        flags = plan(source, source, submitted).flags
        assert not any("edited" in f for f in flags), flags
        edited = [Cell(c.cell_type, c.source + "\nx = 1", c.nbgrader) if c is target else c for c in source]
        assert any("edited" in f for f in plan(source, source, edited).flags)

    check()


@pytest.mark.parametrize("lines", [False, True])
def test_plain_removes_exactly_every_control_format_and_surrogate_code_point(lines):
    """The table filled as characters come, checked against a scan of every code point (and kept bounded)."""
    import sys
    import unicodedata

    from autograder import untrusted_text

    every = "".join(map(chr, range(sys.maxunicode + 1)))
    removed = {ch for ch in every if unicodedata.category(ch) in ("Cc", "Cf", "Cs")} - set("\u200c\u200d\n\t\r")
    expected = "".join(" " if ch in "\n\t\r" and not lines else ch for ch in every if ch not in removed)
    table = untrusted_text._Removals(lines)
    assert every.translate(table) == expected
    assert every.translate(table) == expected  # again, from what the table remembered
    assert len(table) <= untrusted_text.KEPT_REMEMBERED + len(removed) + 3
