"""One class of generated, nasty submissions graded end to end, as an instructor runs it.

The notebooks are mutations of the student version that Hypothesis wrote
(the largest of a seeded batch), plus the floods and names that once broke
a run: thousands of formulas, hundreds of duplicated cells, text spelt like
the page's math placeholder, a lone surrogate spelt in the JSON, twins of one name, an archive, an upper-case
suffix, escape sequences in a name. Every entry must end in one row that is
ok, flagged or a stated problem, never ``grader-error``, and every page
must stay under its limit.
"""

import csv
import json

import pytest
from hypothesis import Phase, given, seed, settings

from autograder.feedback import MAX_PAGE_BYTES
from autograder.untrusted_text import has_controls

from .corpus import ASSIGNMENT, answered, grade_folder, release
from .test_fuzz_readers import mutated_release

GRADED = {"ok", "flagged", "stopped-early", "duplicate", "bad-file", "bad-name", "invalid-notebook", "empty-file",
          "wrong-assignment"}


def generated_notebooks(count):
    """The ``count`` largest of a seeded batch of Hypothesis' mutations of the student version."""
    made = []

    @seed(19)
    @settings(max_examples=60, database=None, phases=[Phase.generate], deadline=None)
    @given(mutated_release())
    def keep(nb):
        made.append(nb)

    keep()
    return sorted(made, key=lambda nb: len(json.dumps(nb)), reverse=True)[:count]


def markdown(nb, text):
    nb["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": text})
    return nb


def floods_and_names(folder):
    """Write the named attacks; return ``{entry: the student its row is under}``."""
    entries = {}

    def write(name, nb, student):
        if isinstance(nb, dict):
            nb["metadata"] = {"who": name}  # identical files would be flagged as copies
        (folder / name).write_bytes(nb if isinstance(nb, bytes) else json.dumps(nb).encode())
        entries[name] = student

    write("math-flood.ipynb", markdown(answered(), " ".join(f"$x_{{{n}}}^{{{n}}}$" for n in range(3000))),
          "math-flood")
    flags = answered()
    flags["cells"] += [dict(cell) for cell in flags["cells"] if cell["metadata"].get("nbgrader")] * 40
    write("flag-flood.ipynb", flags, "flag-flood")
    write("placeholder.ipynb", markdown(answered(), "MATHXPLACEHOLDERX3X and $y$"), "placeholder")
    surrogate = markdown(answered(), "a lone surrogate: \udce9")
    surrogate["cells"].insert(2, {"cell_type": "code", "metadata": {}, "outputs": [], "source": "# \udce9"})
    write("surrogate.ipynb", surrogate, "surrogate")
    write("Twin.ipynb", release(), "twin")
    write("twin.ipynb", answered(), "twin")
    write("archive.zip", b"PK\x03\x04", "archive")
    write("upper.IPYNB", answered(), "upper")
    write("\x1b]0;pwned\x07eve\x1b[2J.ipynb", answered(), "eve")
    return entries


def class_with_floods_and_generated_notebooks(submissions):
    entries = floods_and_names(submissions)
    for number, nb in enumerate(generated_notebooks(6)):
        (submissions / f"generated-{number}.ipynb").write_text(json.dumps(nb))
        entries[f"generated-{number}.ipynb"] = f"generated-{number}"
    return entries


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_folder(tmp_path_factory.mktemp("fuzz-grade"), class_with_floods_and_generated_notebooks,
                        notebook_timeout=120, timeout=1500)


def test_every_entry_ends_in_one_row_and_none_is_a_grader_error(graded):
    result = graded["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert set(graded["rows"]) == set(graded["entries"].values())
    for name, row in graded["rows"].items():
        assert row["status"] in GRADED, (name, row)


def test_twins_are_one_row_graded_from_the_newest(graded):
    row = graded["rows"]["twin"]
    assert row["status"] == "duplicate" and float(row["total"]) == float(row["max"]), row
    review = {r["student"]: r for r in csv.DictReader(open(graded["out"] / "review.csv"))}
    assert "'Twin.ipynb'" in review["twin"]["notes"] and "'twin.ipynb'" in review["twin"]["notes"]


def test_entry_kinds_and_names(graded):
    assert graded["rows"]["archive"]["status"] == "bad-file"
    assert graded["rows"]["upper"]["status"] == "ok" and float(graded["rows"]["upper"]["total"]) > 0
    assert graded["rows"]["eve"]["status"] == "bad-name"
    for name in ("grades.csv", "review.csv", "canvas.csv", "moodle.csv"):
        assert not has_controls((graded["out"] / name).read_text().replace("\n", "").replace("\r", "")), name
    assert not has_controls(graded["result"].stdout.replace("\n", ""))


def test_floods_are_graded_and_their_pages_bounded(graded):
    for name in ("math-flood", "flag-flood", "placeholder", "surrogate"):
        row = graded["rows"][name]
        assert float(row["total"]) == float(row["max"]), row  # the answers are right: only the floods are odd
    pages = {page.name: page.stat().st_size for page in (graded["out"] / "feedback").iterdir()}
    assert max(pages.values()) <= MAX_PAGE_BYTES + (1 << 20), pages
    assert "formula(s) are shown as TeX" in (graded["out"] / "feedback" / "math-flood.html").read_text()
    review = {r["student"]: r for r in csv.DictReader(open(graded["out"] / "review.csv"))}
    assert graded["rows"]["flag-flood"]["status"] == "flagged"
    assert "more notes" in review["flag-flood"]["notes"] and len(review["flag-flood"]["notes"]) < 12_000
