"""Attacks on the grader itself: odd entries in SUBMISSIONS, forged results, leaks into the feedback page.

All of them are graded in one command, as an instructor would: every entry
must get exactly one row, none may end the run, and none may earn a point it
did not compute.
"""

import csv
import json
import os
from pathlib import Path

import pytest

from autograder.grade import graded_parts
from autograder.course import assignment_notebook

from .corpus import ASSIGNMENT, SOLVED, answered, blank_with, code_cell, grade_folder, insert_after, release

ROOT = Path(__file__).resolve().parents[2]
MAX = sum(points for _, points in graded_parts(assignment_notebook(ASSIGNMENT)))
FIRST = "conv_output_size_tests"

FORGE = "import os, sys\nfd = int(sys.argv[2])\n"
SEED_HUNT = r'''
import os, glob
seed = None
found = []
for name, value in os.environ.items():
    found.append(f"{name}={value}")
for path in glob.glob("/proc/*/environ") + glob.glob("/grader/**", recursive=True) + glob.glob("/tmp/**", recursive=True):
    try:
        found.append(open(path, "rb").read(1_000_000).decode(errors="replace"))
    except OSError:
        pass
print("LEAKS:" + "|".join(found)[:200000])
'''


def hostile_entries(folder):
    """Write the odd entries; return ``{name in grades.csv: (expected status, fragment of the note)}``."""
    expect = {}

    def notebook(name, nb):
        (folder / f"{name}.ipynb").write_bytes(nb if isinstance(nb, bytes) else json.dumps(nb).encode())

    solution = ROOT / "solutions" / ASSIGNMENT / assignment_notebook(ASSIGNMENT).name
    os.symlink(solution, folder / "links-to-solution.ipynb")
    expect["links-to-solution"] = ("bad-file", "symbolic link")
    os.symlink(folder / "nowhere.ipynb", folder / "dangling.ipynb")
    expect["dangling"] = ("bad-file", "symbolic link")
    os.mkfifo(folder / "fifo.ipynb")
    expect["fifo"] = ("bad-file", "not a regular file")
    (folder / "dir-link").symlink_to(folder)
    expect["dir-link"] = ("bad-file", "symbolic link")
    long_name = "l" * 249
    notebook(long_name, dict(answered(), metadata={"who": "long"}))
    expect[long_name] = ("ok", "")
    notebook("deep-json", b"[" * 100_000 + b"]" * 100_000)
    expect["deep-json"] = ("invalid-notebook", "not valid notebook JSON")
    notebook("huge-int", b'{"cells": [], "nbformat": ' + b"9" * 100_000 + b"}")
    expect["huge-int"] = ("invalid-notebook", "not valid notebook JSON")
    typed = answered()
    typed["cells"][0]["metadata"] = "not a dict"
    typed["cells"][1]["source"] = {"not": "a string"}
    typed["cells"][2]["metadata"]["nbgrader"] = ["a", "list"]
    typed["cells"].insert(3, "not a cell")
    typed["metadata"] = 7
    notebook("wrong-types", typed)
    expect["wrong-types"] = ("flagged", "")
    notebook("=HYPERLINK(1)", dict(answered(), metadata={"who": "formula"}))
    expect["=HYPERLINK(1)"] = ("ok", "")
    notebook("blank-one", release())
    expect["blank-one"] = ("ok", "")
    notebook("blank-two", release())
    expect["blank-two"] = ("ok", "")
    # Forged and oversized results: flagged as tampering, never a grader error.
    notebook("forges-garbage", insert_after(answered(), FIRST, FORGE + "os.write(fd, b'\\x00garbage\\n' * 1000)"))
    expect["forges-garbage"] = ("flagged", "tampering")
    notebook("forges-done", insert_after(answered(), FIRST, FORGE + "os.write(fd, b'{\"event\": \"done\", \"steps\": 0,"
                                         " \"size\": 0}\\n')"))
    expect["forges-done"] = ("flagged", "tampering")
    notebook("forges-huge-header", insert_after(answered(), FIRST, FORGE + "os.write(fd, b'{' * (300 * 1024))"))
    expect["forges-huge-header"] = ("flagged", "tampering")
    notebook("floods-results", insert_after(answered(), FIRST, FORGE + "chunk = b'x' * (1 << 20)\n"
                                            "for _ in range(200):\n    os.write(fd, chunk)"))
    expect["floods-results"] = ("flagged", "tampering")
    notebook("forges-deep-header", insert_after(answered(), FIRST, FORGE + "os.write(fd, ('{\"event\": \"cell\", \"x\": '"
                                                " + '[' * 50 + ']' * 50 + '}\\n').encode())"))
    expect["forges-deep-header"] = ("flagged", "tampering")
    # A cell that sleeps past --cell-timeout is interrupted; the notebook goes on.
    notebook("sleeps-in-cell", insert_after(answered(), FIRST, "import time\ntime.sleep(120)"))
    expect["sleeps-in-cell"] = ("ok", "")
    # What the feedback page must never carry: the seed, scripts, raw HTML.
    notebook("hunts-seed", blank_with(SEED_HUNT))
    expect["hunts-seed"] = ("ok", "")
    notebook("injects-html", blank_with(
        "from IPython.display import HTML, Javascript, display\n"
        "print('<script>document.title = \"pwned\"</script>')\n"
        "display(HTML('<img src=x onerror=\"document.body.innerHTML=1\">'))\n"
        "display(Javascript('document.title = 1'))"))
    expect["injects-html"] = ("ok", "")
    markdown = release()
    markdown["cells"].insert(2, {"cell_type": "markdown", "metadata": {}, "source":
                                 "<script>alert(1)</script> [x](javascript:alert(1)) <b onclick=x>bold</b>"})
    notebook("markdown-html", markdown)
    expect["markdown-html"] = ("ok", "")
    # A redefinition hidden from a parser: cell magic, exec, globals().
    for name, source in [("magic-redefines", "%%capture\ndef correlate1d(x, w, padding=0):\n    return x"),
                         ("exec-redefines", "exec('def correlate1d(x, w, padding=0):\\n    return x')"),
                         ("globals-redefines", "globals()['correlate1d'] = lambda x, w, padding=0: x"),
                         ("syntax-error-cell", "def correlate1d(x, w, padding=0) return x\n%%%")]:
        notebook(name, insert_after(answered(), "convolve1d_tests", source))
        expect[name] = ("flagged", "rebinds correlate1d") if name != "syntax-error-cell" else ("ok", "")
    return expect


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_folder(tmp_path_factory.mktemp("hostile"), hostile_entries, notebook_timeout=60, timeout=1200)


def test_the_run_completes_with_one_row_per_entry(graded):
    result = graded["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    names = {name if not name.startswith("=") else "'" + name for name in graded["entries"]}
    assert set(graded["rows"]) == names


def test_each_entry_gets_its_status(graded):
    review = {row["student"]: row for row in csv.DictReader(open(graded["out"] / "review.csv"))}
    for name, (status, note) in graded["entries"].items():
        key = name if not name.startswith("=") else "'" + name
        row = graded["rows"][key]
        assert row["status"] == status, (name, row, review.get(key))
        if note:
            assert note in review[key]["notes"], (name, review[key])
        if status == "ok" and "blank" not in name and name not in ("hunts-seed", "injects-html", "markdown-html",
                                                                     "syntax-error-cell"):
            assert float(row["total"]) == MAX, (name, row)


def test_forged_results_keep_only_what_was_computed(graded):
    for name in ("forges-garbage", "forges-done", "forges-huge-header", "floods-results", "forges-deep-header"):
        row = graded["rows"][name]
        assert float(row[FIRST]) == 2.0, row  # graded before the forgery
        assert float(row["total"]) < MAX, row  # nothing after it counts


def test_untouched_blanks_are_not_copies_but_identical_answers_are(graded):
    assert graded["rows"]["blank-one"]["status"] == "ok"
    review = (graded["out"] / "review.csv").read_text()
    assert "blank-one" not in review and "blank-two" not in review


def test_spreadsheet_cells_never_start_a_formula(graded):
    for line in (graded["out"] / "grades.csv").read_text().splitlines():
        for cell in next(csv.reader([line])):
            assert not cell.startswith(("=", "+", "-", "@")), line


def test_feedback_file_names_are_safe(graded):
    for page in (graded["out"] / "feedback").iterdir():
        assert len(page.name) < 100 and page.name.endswith(".html"), page.name
        assert all(ch.isalnum() or ch in "_.@+-" for ch in page.name), page.name


def test_the_seed_never_reaches_student_code_or_the_page(graded):
    seed = (graded["out"] / ".state" / "seed").read_text().strip()
    key = "hunts-seed"
    page = (graded["out"] / "feedback" / f"{key}.html").read_text()
    assert "LEAKS:" in page, "the probe must have run"
    assert seed not in page


def test_feedback_pages_carry_no_student_html_or_script(graded):
    for key in ("injects-html", "markdown-html"):
        page = (graded["out"] / "feedback" / f"{key}.html").read_text()
        assert "<script" not in page and 'href="javascript:' not in page, key
        assert "<b onclick" not in page and "<img src=x" not in page, key
        assert "script-src" not in page and "default-src 'none'" in page, key  # no script may run at all
    assert "&lt;script&gt;" in (graded["out"] / "feedback" / "injects-html.html").read_text()


def test_a_cell_past_its_time_is_interrupted_and_the_notebook_goes_on(graded):
    assert float(graded["rows"]["sleeps-in-cell"]["total"]) == MAX
    assert "interrupted" in (graded["out"] / "feedback" / "sleeps-in-cell.html").read_text()


def test_long_names_are_graded_under_a_short_key(graded):
    long_name = "l" * 249
    assert float(graded["rows"][long_name]["total"]) == MAX
