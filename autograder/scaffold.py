"""A new chapter with its exercise, in one command: ``python -m autograder new NN-topic --title TITLE``.

It writes every file a chapter and its exercise need, each one a small
working example to rewrite (the chapter's own check, one graded part with
its hidden cases, its usual wrong answer), and lists the chapter in
``_toc.yml``:

* ``book/NN-topic.ipynb``: the chapter (set-up cell first, written from
  ``_config.yml``; a hidden check of a number it states; the exercise box last);
* ``solutions/NN-topic/<topic>.ipynb``: the exercise with nbgrader's metadata
  (answer cell with solution markers, visible test, graded hidden test);
* ``autograder/grading/parts/<topic>.py``: the graded part's cases, found by
  listing the package;
* ``tests/grading/test_<topic>_grading.py``: its usual wrong answers.

Then ``make exercises`` writes the student version and ``make test`` checks it all.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .course import ASSIGNMENT_PATTERN, ROOT, CourseError


def _notebook(cells):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    nb.cells = cells
    return nb


def _nbgrader(cell, grade_id, *, grade=False, solution=False, locked=True, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def chapter(name, title):
    import nbformat.v4 as v4

    topic = name.split("-", 1)[1].replace("-", "_")
    setup = v4.new_code_cell("# Set-up: `make colab-cells` writes this cell from _config.yml.\n")
    setup.metadata["tags"] = ["remove-cell"]
    check = v4.new_code_cell("assert np.allclose(doubled, [2.0, 4.0, 6.0])  # the number the text states")
    check.metadata["tags"] = ["remove-cell"]
    return _notebook([
        setup,
        v4.new_markdown_cell(f"# {title}\n\nWhat this chapter is about, and why it matters."),
        v4.new_code_cell("import numpy as np"),
        v4.new_markdown_cell("## A first idea\n\nOne idea, a picture, the code that shows it."),
        v4.new_code_cell("doubled = 2.0 * np.array([1.0, 2.0, 3.0])\ndoubled"),
        check,
        v4.new_markdown_cell("Scaling `[1, 2, 3]` by two gives `[2, 4, 6]`.\n\n## Summary\n\n* One line per idea."),
        v4.new_markdown_cell(f"```{{chapter-exercise}} {name}/{topic}\n```"),
    ])


def exercise(name, title):
    import nbformat.v4 as v4

    number = int(name[:2])
    part = f"{name}/scale"
    return _notebook([
        _nbgrader(v4.new_markdown_cell(
            f"# Exercise {number}: {title}\n\nChapter {number} of the book explains everything you need here.\n\n"
            "| part | function | points |\n|---|---|---|\n| 1 | `scale`: multiply an array by a factor | 1 |\n\n"
            "Total: 1 point."), "intro"),
        _nbgrader(v4.new_code_cell("import numpy as np"), "setup"),
        _nbgrader(v4.new_markdown_cell("## Part 1: scale\n\nWrite `scale(x, factor)`: a new float array, "
                                       "`x` times `factor`."), "part1"),
        _nbgrader(v4.new_code_cell('def scale(x, factor):\n    """x times factor, as a new float array."""\n'
                                   "    ### BEGIN SOLUTION\n    return np.asarray(x, dtype=float) * factor\n"
                                   "    ### END SOLUTION"), "scale", solution=True, locked=False),
        _nbgrader(v4.new_code_cell("# Visible test: the worked example.\nimport numpy as np\n\n"
                                   "np.testing.assert_allclose(scale(np.array([1.0, 2.0]), 3), [3.0, 6.0])\n"
                                   'print("Part 1: the worked example passes.")'), "scale_example"),
        _nbgrader(v4.new_code_cell("# Hidden tests of scale run here when your notebook is graded (1 point).\n"
                                   "### BEGIN HIDDEN TESTS\nfrom autograder.grading import check\n"
                                   f'check("{part}", scale)\n### END HIDDEN TESTS'),
                  "scale_tests", grade=True, points=1),
    ])


PARTS_MODULE = '''"""Hidden cases of assignment {name}.

The first case is the exercise's worked example; the rest are random.
Replace this example part with the exercise's own.
"""

from __future__ import annotations

import numpy as np

from ..registry import Case, assignment

ASSIGNMENT = "{name}"
register = assignment(ASSIGNMENT)


@register("scale", points=1, description="an array times a factor")
def _scale_cases(rng):
    cases = [Case("x=[1, 2], factor=3 (the worked example)", (np.array([1.0, 2.0]), 3), np.array([3.0, 6.0]))]
    for shape in [(5,), (2, 3), (1, 4, 4)]:
        x = rng.standard_normal(shape)
        factor = float(rng.integers(-4, 5))
        cases.append(Case(f"x of shape {{shape}}, factor={{factor:g}}", (x, factor), x * factor))
    return cases
'''

TEST_MODULE = '''"""Assignment {name}: the hidden tests reward the solution and catch the usual mistakes."""

import numpy as np

ASSIGNMENT = "{name}"

WRONG = {{
    # Adding where the part asks to multiply.
    "scale": [lambda x, factor: np.asarray(x, dtype=float) + factor],
}}
'''


def _add_to_toc(name):
    toc = ROOT / "_toc.yml"
    text = toc.read_text()
    entry = f"      - file: book/{name}\n"
    if entry in text:
        return
    chapters = re.findall(r"^      - file: book/(\d\d-[^\n]+)\n", text, flags=re.MULTILINE)
    later = [c for c in chapters if c > name]
    if later:
        anchor = f"      - file: book/{later[0]}\n"
        text = text.replace(anchor, entry + anchor, 1)
    else:
        last = f"      - file: book/{chapters[-1]}\n"
        text = text.replace(last, last + entry, 1)
    toc.write_text(text)


def new(name, title):
    """Write the files of a new chapter ``name`` (``NN-topic``); return their paths."""
    import nbformat

    if not ASSIGNMENT_PATTERN.match(name):
        raise CourseError(f"the chapter's name must be NN-topic (e.g. 08-attention), got {name!r}")
    topic = name.split("-", 1)[1].replace("-", "_")
    files = {
        ROOT / "book" / f"{name}.ipynb": chapter(name, title),
        ROOT / "solutions" / name / f"{topic}.ipynb": exercise(name, title),
        ROOT / "autograder" / "grading" / "parts" / f"{topic}.py": PARTS_MODULE.format(name=name),
        ROOT / "tests" / "grading" / f"test_{topic}_grading.py": TEST_MODULE.format(name=name),
    }
    taken = [str(p.relative_to(ROOT)) for p in files if p.exists()]
    if taken:
        raise CourseError(f"these files exist already: {taken}")
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, str(path))
    _add_to_toc(name)
    colab = ROOT / "book" / "_ext" / "course.py"
    if colab.is_file():
        subprocess.run([sys.executable, str(colab), "colab-cells", str(ROOT / "book" / f"{name}.ipynb")], check=True,
                       cwd=ROOT)
    return [p.relative_to(ROOT) for p in files] + [Path("_toc.yml")]
