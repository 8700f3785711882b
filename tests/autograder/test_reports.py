"""The instructor's view: tables, exports, the class page and the terminal summary, on made-up rows."""

import csv
import re

from autograder.reports import cell, class_page, summary, write_outputs
from autograder.state import Row

PARTS = [("a_tests", 2.0), ("b_tests", 3.0)]


def rows(n=300):
    made = []
    for i in range(n):
        a = 2.0 if i % 3 else 0.0
        made.append(Row(f"s{i:03d}", f"s{i:03d}", {"a_tests": a, "b_tests": 0.0}, a, 5.0,
                        "ok" if i % 50 else "flagged", [] if i % 50 else ["a cell added after 'x' rebinds f"]))
    return made


def test_class_page_links_every_student_and_lists_who_needs_a_look(tmp_path):
    made = rows()
    write_outputs(tmp_path, "02-convolution", made, PARTS)
    page = (tmp_path / "index.html").read_text()
    links = set(re.findall(r'href="feedback/([^"]+)\.html"', page))
    assert {r.key for r in made} <= links
    assert page.count("<figure>") == 1 + len(PARTS)  # the total and each part
    assert "Need a look (6)" in page and "rebinds f" in page
    script = re.search(r"script-src 'sha256-([^']+)'", page)
    assert script, "the page's one script is allowed by its hash, nothing else"


def test_review_lists_only_rows_that_need_a_look_and_exports_import_as_they_are(tmp_path):
    write_outputs(tmp_path, "02-convolution", rows(), PARTS)
    review = list(csv.DictReader(open(tmp_path / "review.csv")))
    assert len(review) == 6 and all(r["status"] != "ok" for r in review)
    canvas = list(csv.reader(open(tmp_path / "canvas.csv")))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[0][5].startswith("02-convolution") and len(canvas) == 301
    moodle = list(csv.reader(open(tmp_path / "moodle.csv")))
    assert moodle[0] == ["Username", "02-convolution"] and moodle[1] == ["s000", "0"]


def test_no_cell_starts_a_spreadsheet_formula():
    for text in ("=1+1", "+cmd", "-2", "@SUM(A1)", "\tx"):
        assert cell(text).startswith("'")
    assert cell("ann") == "ann"


def test_summary_scales_to_the_terminal_and_says_how_each_part_went():
    text = summary(rows(), PARTS, seconds=60.0, graded_now=300, width=80)
    assert max(len(line) for line in text.splitlines() if "%" in line and "#" in line) <= 80
    assert "a_tests" in text and "b_tests" in text and "everyone scored 0" in text.split("b_tests")[1].split("\n")[0]
    assert "300.0 submissions a minute" in text
    assert "6 need a human look" in text


HOSTILE = "ann\x1b[2J\x1b]0;title\x07\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x9b31m\u202eevil\x07"


def test_terminal_output_drops_escape_sequences_whole():
    odd = [Row(HOSTILE, "ann", {"a_tests": 0.0, "b_tests": 0.0}, 0.0, 5.0, "flagged", ["x\x07\x1b[31m"])]
    text = summary(odd, PARTS, width=80)
    line = text.splitlines()[-1]
    assert line == "  annlinkevil: flagged: x", line  # no "[2J", no title, no colour, no bidi override


def test_every_table_and_the_class_page_go_through_one_boundary(tmp_path):
    odd = [Row(HOSTILE, "ann", {"a_tests": 1.0, "b_tests": 0.0}, 1.0, 5.0, "flagged",
               ["note \x1b[2J\u202e", "=cmd|' /C calc'!A0"]),
           Row("=HYPERLINK(1)", "hyper", {}, 0.0, 5.0, "ok", [])]
    write_outputs(tmp_path, "02-convolution\x1b[5m", odd, PARTS)
    for name in ("grades.csv", "review.csv", "canvas.csv", "moodle.csv", "index.html"):
        text = (tmp_path / name).read_text()
        for bad in ("\x1b", "\x07", "\x9b", "\u202e", "[2J", "]0;"):
            assert bad not in text, (name, bad)
        if name.endswith(".csv"):
            for row in csv.reader(open(tmp_path / name)):
                assert not any(c.startswith(("=", "+", "-", "@")) for c in row), (name, row)
    grades = list(csv.DictReader(open(tmp_path / "grades.csv")))
    assert [r["student"] for r in grades] == ["annlinkevil", "'=HYPERLINK(1)"]


def test_a_flood_of_notes_is_cut_where_the_row_is_made(tmp_path):
    from autograder.state import MAX_NOTE_CHARS, MAX_NOTES

    flood = Row("ann", "ann", {}, 0.0, 5.0, "flagged", [f"cell {n}: " + "x" * 10_000 for n in range(1_000)])
    assert len(flood.notes) == MAX_NOTES and max(map(len, flood.notes)) <= MAX_NOTE_CHARS
    assert flood.notes[-1].startswith("… and 981 more notes")
    write_outputs(tmp_path, "02-convolution", [flood], PARTS)
    assert (tmp_path / "review.csv").stat().st_size < 5_000
    assert (tmp_path / "index.html").stat().st_size < 20_000
    assert len(summary([flood], PARTS, width=80)) < 2_000


def test_cut_notes_keep_what_decides_the_status():
    notes = [f"cell 'x{n}' appears twice; the first is used" for n in range(100)] + ["tampering: forged results"]
    row = Row("ann", "ann", {}, 0.0, 5.0, "flagged", notes)
    assert row.notes[0] == "tampering: forged results" and row.notes[1] == notes[0]
    short = Row("ben", "ben", {}, 0.0, 5.0, "ok", ["b", "tampering: x"])
    assert short.notes == ["b", "tampering: x"]  # nothing cut, nothing moved


def test_the_class_page_shows_total_and_status_first_and_fits_1280_px(tmp_path):
    """Twelve parts of long names: no sideways scroll at 1280 px, total and status before the parts, names not ids."""
    from autograder.reports import class_page
    from autograder.state import Row
    from tests.book.browser import offline_browser

    parts = [(f"layer_{name}_backward_tests", 2.0) for name in "abcdefghijkl"]
    rows = [Row(f"student-{i}", f"student-{i}", {g: 1.0 for g, _ in parts}, 12.0, 24.0, "ok") for i in range(30)]
    html = class_page("02-convolution", rows, parts)
    header = html[html.index("<thead>"):html.index("</thead>")]
    assert header.index(">total<") < header.index(">status<") < header.index("layer_<wbr>a")
    assert "layer_a_backward_tests</th>" not in header and "layer_<wbr>a_<wbr>backward<br>" in header
    page = tmp_path / "index.html"
    page.write_text(html)
    with offline_browser() as browser:
        _, tab = browser.open(page, screenshot=tmp_path / "class-1280.png", viewport={"width": 1280, "height": 900})
        widths = tab.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
                              " document.querySelector('.scroll').scrollWidth,"
                              " document.querySelector('.scroll').clientWidth]")
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
