"""Rosters exported from Canvas and Moodle, matching submissions to people, and the files each LMS imports."""

import csv
import io
import unicodedata

import pytest

from autograder import lms
from autograder.state import Row

PARTS = [("a_tests", 2.0), ("b_tests", 3.0)]
# As Canvas exports a gradebook: a byte-order mark, the Points Possible row (with Canvas's
# leading spaces), the Manual Posting row, a test student without an ID, computed columns.
CANVAS_EXPORT = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (111),02 Convolution (12345),Current Score,Final Score\n"
    "    Points Possible,,,,,10,5,(read only),(read only)\n"
    ",,,,,Manual Posting,,,\n"
    '"Doe, Jane",501,S001,jdoe,Section A,9,,90,90\n'
    "Zoe\u0308 Brown,502,S002,ZBrown@uni.example,Section A,,,,\n"
    '"O\'Neil, ""Pat""",503,S003,pat,Section B,,,,\n'
    "Test Student,,,,,,,,\n"
)
MOODLE_EXPORT = (
    "First name,Surname,ID number,Institution,Department,Email address,Username,"
    "Assignment: 02 Convolution (Real),Last downloaded from this course\n"
    "Jane,Doe,1001,,,jane.doe@uni.example,jdoe,-,1764000000\n"
    "Zoë,Brown,1002,,,zoe.brown@uni.example,zbrown,-,1764000000\n"
    "Ann,Other,1003,,,ann@uni.example,aother,-,1764000000\n"
)


def roster(tmp_path, text, name="roster.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return lms.read_roster(path)


def row(student, a, b, status="ok"):
    return Row(student, student, {"a_tests": a, "b_tests": b}, a + b, 5.0, status)


def table(path):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_canvas_export_is_read_without_its_points_possible_manual_posting_and_test_rows(tmp_path):
    parsed = roster(tmp_path, CANVAS_EXPORT)
    assert parsed.kind == "canvas"
    assert [p.cells["ID"] for p in parsed.people] == ["501", "502", "503"]
    assert parsed.assignment_column("02-convolution") == "02 Convolution (12345)"
    assert parsed.assignment_column("04-max-pooling") is None


def test_names_match_case_and_unicode_normalised_by_login_email_local_part_or_canvas_download(tmp_path):
    parsed = roster(tmp_path, CANVAS_EXPORT)
    names = ["JDOE", "zbrown", unicodedata.normalize("NFD", "PAT"), "smith", "brownzoe_LATE_502_9876_convolution"]
    matched, problems = lms.match(parsed, names[:4])
    assert {n: p.cells["ID"] for n, p in matched.items()} == {"JDOE": "501", "zbrown": "502", "PAT": "503"}
    assert "smith" in problems and "no one" in problems["smith"]
    matched, problems = lms.match(parsed, [names[4]])
    assert matched[names[4]].cells["ID"] == "502" and not problems


def test_two_submissions_of_one_person_and_ambiguous_names_are_reported_not_guessed(tmp_path):
    parsed = roster(tmp_path, "Username,Email address\nann,ann@a.example\nbob,bob@b.example\n")
    matched, problems = lms.match(parsed, ["ann", "ANN@a.example", "bob"])
    assert list(matched) == ["bob"] and set(problems) == {"ann", "ANN@a.example"}
    assert "also submitted as ANN@a.example" in problems["ann"]
    # "ann" is the local part of both e-mails: a bare "ann" folder cannot tell them apart.
    parsed = roster(tmp_path, "Email address\nann@a.example\nann@b.example\n", "two.csv")
    matched, problems = lms.match(parsed, ["ann"])
    assert not matched and "matches 2 roster entries" in problems["ann"]
    # A login wins over another person's e-mail local part.
    parsed = roster(tmp_path, "Username,Email address\nann,x@a.example\nbob,ann@b.example\n", "three.csv")
    matched, problems = lms.match(parsed, ["ann"])
    assert matched["ann"].cells["Username"] == "ann" and not problems


def test_canvas_file_has_identity_columns_the_rosters_assignment_column_and_points_possible(tmp_path):
    parsed = roster(tmp_path, CANVAS_EXPORT)
    rows, problems, by_person = lms.annotate(parsed, [row("jdoe", 2, 1.5), row("pat", 0, 0), row("smith", 2, 3)])
    lms.write_files(tmp_path, parsed, "02-convolution", by_person, PARTS)
    written = table(tmp_path / "canvas.csv")
    assert written[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "02 Convolution (12345)"]
    assert written[1] == ["Points Possible", "", "", "", "", "5"]
    assert written[2] == ["Doe, Jane", "501", "S001", "jdoe", "Section A", "3.5"]
    # Zoë has no submission: empty, which Canvas leaves unchanged on import.
    assert written[3][1] == "502" and written[3][5] == ""
    assert written[4] == ['O\'Neil, "Pat"', "503", "S003", "pat", "Section B", "0"]
    assert len(written) == 5  # smith is in no row: reported instead
    assert '"Doe, Jane"' in (tmp_path / "canvas.csv").read_text() and '"O\'Neil, ""Pat"""' in \
        (tmp_path / "canvas.csv").read_text()
    marked = {r.student: r for r in rows}
    assert marked["smith"].status == "not-in-roster" and "roster: matches no one" in marked["smith"].notes[0]
    assert marked["jdoe"].status == "ok"


def test_canvas_roster_without_the_assignment_names_a_new_column_after_it(tmp_path):
    parsed = roster(tmp_path, "Student,ID,SIS User ID,SIS Login ID,Section\nJane,501,S1,jdoe,A\n")
    rows, _, by_person = lms.annotate(parsed, [row("jdoe", 2, 3)])
    lms.write_files(tmp_path, parsed, "02-convolution", by_person, PARTS)
    assert table(tmp_path / "canvas.csv")[0][-1] == "02-convolution"


def test_moodle_file_uses_the_rosters_identifier_grade_column_and_a_feedback_column(tmp_path):
    parsed = roster(tmp_path, MOODLE_EXPORT)
    assert parsed.kind == "moodle" and parsed.moodle_identifier() == "Username"
    rows, problems, by_person = lms.annotate(parsed, [row("JANE.DOE", 2, 3), row("zbrown", 1, 0)])
    assert not problems
    lms.write_files(tmp_path, parsed, "02-convolution", by_person, PARTS)
    written = table(tmp_path / "moodle.csv")
    assert written[0] == ["Username", "Full name", "Assignment: 02 Convolution (Real)", "Feedback: 02-convolution"]
    assert written[1] == ["jdoe", "Jane Doe", "5", "a_tests 2/2; b_tests 3/3"]
    assert written[2] == ["zbrown", "Zoë Brown", "1", "a_tests 1/2; b_tests 0/3"]
    assert written[3] == ["aother", "Ann Other", "", ""]


def test_moodle_roster_with_only_emails_is_imported_by_email(tmp_path):
    parsed = roster(tmp_path, "First name;Surname;Email address\nJane;Doe;jane@uni.example\n")
    rows, _, by_person = lms.annotate(parsed, [row("jane", 1, 1)])
    lms.write_files(tmp_path, parsed, "02-convolution", by_person, PARTS)
    assert table(tmp_path / "moodle.csv")[:2] == [
        ["Email address", "Full name", "02-convolution", "Feedback: 02-convolution"],
        ["jane@uni.example", "Jane Doe", "2", "a_tests 1/2; b_tests 1/3"]]


def test_a_formula_in_a_roster_cell_is_written_as_text(tmp_path):
    parsed = roster(tmp_path, "Username,First name,Surname\n=cmd|' /C calc'!A0,Eve,Evil\n")
    rows, _, by_person = lms.annotate(parsed, [row("=cmd|' /C calc'!A0", 1, 1)])
    lms.write_files(tmp_path, parsed, "02-convolution", by_person, PARTS)
    assert table(tmp_path / "moodle.csv")[1][0].startswith("'=")


@pytest.mark.parametrize("text, problem", [
    ("Name,Grade\nJane,1\n", "expected Canvas's columns"),
    ("", "is empty"),
])
def test_a_file_that_is_no_roster_is_refused_with_what_was_expected(tmp_path, text, problem):
    with pytest.raises(ValueError, match=problem):
        roster(tmp_path, text)
    with pytest.raises(ValueError, match="--roster must be a CSV file"):
        lms.read_roster(tmp_path / "missing.csv")


def test_grade_with_a_roster_writes_the_lms_files_and_reports_who_is_not_in_it(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from .corpus import ASSIGNMENT, answered, release

    root = Path(__file__).resolve().parents[2]
    for name, notebook in (("jdoe", answered()), ("stranger", release())):
        (tmp_path / "subs").mkdir(exist_ok=True)
        (tmp_path / "subs" / f"{name}.ipynb").write_text(json.dumps(notebook))
    (tmp_path / "roster.csv").write_text(CANVAS_EXPORT, encoding="utf-8")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(tmp_path / "subs"),
                             "--out", str(out), "--quiet", "--roster", str(tmp_path / "roster.csv")],
                            cwd=root, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "roster: stranger matches no one" in result.stderr
    review = {r["student"]: r for r in csv.DictReader(open(out / "review.csv"))}
    assert review["stranger"]["status"] == "not-in-roster" and "matches no one" in review["stranger"]["notes"]
    canvas = table(out / "canvas.csv")
    assert canvas[0][-1] == "02 Convolution (12345)" and canvas[1][0] == "Points Possible"
    jane = next(r for r in canvas if r[1] == "501")
    assert float(jane[-1]) == float(canvas[1][-1]) > 0  # the solution's answers: every point
    assert [r[-1] for r in canvas[2:] if r[1] != "501"] == ["", ""]


def test_a_roster_that_is_not_one_stops_before_grading(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "subs").mkdir()
    (tmp_path / "roster.csv").write_text("Name,Grade\n")
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "02-convolution", str(tmp_path / "subs"),
                             "--out", str(tmp_path / "out"), "--roster", str(tmp_path / "roster.csv")],
                            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "--roster roster.csv: expected Canvas's columns" in result.stderr
    assert not (tmp_path / "out").exists()
