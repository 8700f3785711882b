"""A new chapter with its op and its exercise, in one command: ``python -m autograder new NN-topic --title TITLE``.

It writes every file a chapter, its ``cnnkit`` op and its exercise need,
each one a small working example to rewrite (an op that scales an array,
the chapter's check of a number it states, one graded part with its hidden
cases, a usual wrong answer and a correct alternative), and edits the three
files that list them:

* ``cnnkit/<topic>.py``: the op ``<topic>`` and its ``<topic>_backward``,
  exported by ``cnnkit/__init__.py`` (edited) and documented on
  ``book/api.md`` (edited);
* ``tests/cnnkit/test_<topic>.py``: the op's three test layers: against a
  loop, its gradient against a numerical one, and against TensorFlow;
* ``book/NN-topic.ipynb``: the chapter (the Colab set-up cell first, written
  from ``_config.yml``; a hidden check of a number it states; the exercise
  box last), listed in ``_toc.yml`` (edited);
* ``solutions/NN-topic/<topic>.ipynb``: the exercise with nbgrader's metadata
  (answer cell with solution markers, visible test, graded hidden test);
* ``autograder/grading/parts/<topic>.py``: the graded part's cases, found by
  listing the package;
* ``tests/grading/test_<topic>_grading.py``: its usual wrong answers
  (``WRONG``) and other correct styles (``RIGHT``).

Then ``make exercises ASSIGNMENT=NN-topic`` writes the student version and
``make test-chapter N=NN`` checks it all.
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
    """The chapter's notebook. Its first cell, the Colab set-up cell, is written by ``colab-cells`` (see ``new``)."""
    import nbformat.v4 as v4

    topic = _topic(name)
    check = v4.new_code_cell(f"assert np.allclose(doubled, [2.0, 4.0, 6.0])  # the number the text states")
    check.metadata["tags"] = ["remove-cell"]
    return _notebook([
        v4.new_markdown_cell(f"# {title}\n\nWhat this chapter is about, and why it matters."),
        v4.new_code_cell("import numpy as np\n\nimport cnnkit"),
        v4.new_markdown_cell(f"## A first idea\n\nOne idea, a picture, the code that shows it: "
                             f"{{py:func}}`cnnkit.{topic}` scales an array."),
        v4.new_code_cell(f"doubled = cnnkit.{topic}(np.array([1.0, 2.0, 3.0]), 2.0)\ndoubled"),
        check,
        v4.new_markdown_cell("Scaling `[1, 2, 3]` by two gives `[2, 4, 6]`.\n\n## Summary\n\n* One line per idea."),
        v4.new_markdown_cell(f"```{{chapter-exercise}} {name}/{topic}\n```"),
    ])


def _topic(name):
    """``08-batch-norm`` -> ``batch_norm``: the op's, the part's and the files' name."""
    return name.split("-", 1)[1].replace("-", "_")


def exercise(name, title):
    import nbformat.v4 as v4

    number = int(name[:2])
    topic = _topic(name)
    part = f"{name}/{topic}"
    return _notebook([
        _nbgrader(v4.new_markdown_cell(
            f"# Exercise {number}: {title}\n\nChapter {number} of the book explains everything you need here.\n\n"
            f"| part | function | points |\n|---|---|---|\n| 1 | `{topic}`: multiply an array by a factor | 1 |\n\n"
            "Total: 1 point."), "intro"),
        _nbgrader(v4.new_code_cell("import numpy as np"), "setup"),
        _nbgrader(v4.new_markdown_cell(f"## Part 1: {topic} (1 point)\n\nWrite `{topic}(x, factor)`: a new float "
                                       "array, `x` times `factor`."), "part1"),
        _nbgrader(v4.new_code_cell(f'def {topic}(x, factor):\n    """x times factor, as a new float array."""\n'
                                   "    ### BEGIN SOLUTION\n    return np.asarray(x, dtype=float) * factor\n"
                                   "    ### END SOLUTION"), topic, solution=True, locked=False),
        _nbgrader(v4.new_code_cell("# Visible test: the worked example.\nimport numpy as np\n\n"
                                   f"np.testing.assert_allclose({topic}(np.array([1.0, 2.0]), 3), [3.0, 6.0])\n"
                                   'print("Part 1: the worked example passes.")'), f"{topic}_example"),
        _nbgrader(v4.new_code_cell(f"# Hidden tests of {topic} run here when your notebook is graded (1 point).\n"
                                   "### BEGIN HIDDEN TESTS\nfrom autograder.grading import check\n"
                                   f'check("{part}", {topic})\n### END HIDDEN TESTS'),
                  f"{topic}_tests", grade=True, points=1),
    ])


PARTS_MODULE = '''"""Hidden cases of assignment {name}.

The first case is the exercise's worked example; the rest are random, with
:func:`cnnkit.{topic}` as the reference. Replace this example part with the
exercise's own.
"""

from __future__ import annotations

import numpy as np

from cnnkit import {topic}

from ..registry import Case, assignment

ASSIGNMENT = "{name}"
register = assignment(ASSIGNMENT)


@register("{topic}", points=1, description="an array times a factor")
def _{topic}_cases(rng):
    cases = [Case("x=[1, 2], factor=3 (the worked example)", (np.array([1.0, 2.0]), 3), np.array([3.0, 6.0]))]
    for shape in [(5,), (2, 3), (1, 4, 4)]:
        x = rng.standard_normal(shape)
        factor = float(rng.integers(-4, 5))
        cases.append(Case(f"x of shape {{shape}}, factor={{factor:g}}", (x, factor), {topic}(x, factor)))
    return cases
'''

TEST_MODULE = '''"""Assignment {name}: the hidden tests reward the solution and catch the usual mistakes."""

import numpy as np

ASSIGNMENT = "{name}"

WRONG = {{
    # Adding where the part asks to multiply.
    "{topic}": [lambda x, factor: np.asarray(x, dtype=float) + factor],
}}

RIGHT = {{
    # Another correct style: one entry at a time.
    "{topic}": [lambda x, factor: np.array([v * factor for v in np.ravel(x)], dtype=float).reshape(np.shape(x))],
}}
'''

OP_MODULE = '''"""{title}: the op of chapter {number} (an example to rewrite: an array times a factor).

Book: chapter {number}, "{title}".
"""

from __future__ import annotations

from ._checks import as_float_array, as_real

__all__ = ["{topic}", "{topic}_backward"]


def {topic}(x, factor):
    """``x`` times ``factor``, as a new array.

    Parameters
    ----------
    x : array_like
        Any shape.
    factor : float
        The scale.

    Returns
    -------
    ndarray
        Shaped like ``x``, of its float dtype (integers become float64).

    Raises
    ------
    TypeError
        If ``x`` is not numeric or ``factor`` is not a real number.

    Examples
    --------
    >>> import cnnkit
    >>> cnnkit.{topic}([1.0, 2.0, 3.0], 2.0)
    array([2., 4., 6.])

    Book: chapter {number}, "{title}".
    """
    fn = "{topic}"
    factor = as_real(factor, "factor", fn)
    x = as_float_array(x, "x", fn)
    return x * x.dtype.type(factor)


def {topic}_backward(dout, factor):
    """The gradient of :func:`{topic}` with respect to ``x``, given the upstream gradient ``dout``.

    Parameters
    ----------
    dout : array_like
        Upstream gradient, shaped like the output.
    factor : float
        The scale of the forward pass.

    Returns
    -------
    ndarray
        ``dx``, shaped like ``dout``.

    Examples
    --------
    >>> import cnnkit
    >>> cnnkit.{topic}_backward([1.0, 1.0], 3.0)
    array([3., 3.])

    Book: chapter {number}, "{title}".
    """
    fn = "{topic}_backward"
    factor = as_real(factor, "factor", fn)
    dout = as_float_array(dout, "dout", fn)
    return dout * dout.dtype.type(factor)
'''

OP_TEST_MODULE = '''"""cnnkit.{topic}, the op of chapter {number}: against a loop, its gradient, against TensorFlow."""

import numpy as np
import pytest

import cnnkit


def {topic}_loop(x, factor):
    """The op one entry at a time: the loop the chapter teaches from."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for index in np.ndindex(x.shape):
        out[index] = x[index] * factor
    return out


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4, 5)])
def test_fast_equals_the_loop(rng, shape):
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(cnnkit.{topic}(x, -1.5), {topic}_loop(x, -1.5), rtol=1e-12)


def test_keeps_the_float_dtype_and_the_input(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    before = x.copy()
    assert cnnkit.{topic}(x, 2.0).dtype == np.float32
    assert cnnkit.{topic}(np.arange(3), 2.0).dtype == np.float64
    np.testing.assert_array_equal(x, before)


def test_backward_equals_the_numerical_gradient(rng):
    x = rng.standard_normal((2, 3, 4))
    dout = rng.standard_normal((2, 3, 4))
    numerical = cnnkit.numerical_gradient(lambda v: cnnkit.{topic}(v, 1.5), x, dout)
    np.testing.assert_allclose(cnnkit.{topic}_backward(dout, 1.5), numerical, rtol=1e-6, atol=1e-8)


@pytest.mark.tf
def test_equals_tensorflow(rng, tf):
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(cnnkit.{topic}(x, 2.5), tf.multiply(tf.constant(x), 2.5).numpy(), rtol=1e-12)


def test_a_wrong_argument_is_named():
    with pytest.raises(TypeError, match="factor"):
        cnnkit.{topic}([1.0], "2")
    with pytest.raises(TypeError, match="x must be"):
        cnnkit.{topic}(["a"], 2.0)
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


def _export(topic):
    """Import the op in ``cnnkit/__init__.py`` and add its names to ``__all__`` (kept sorted)."""
    init = ROOT / "cnnkit" / "__init__.py"
    text = init.read_text()
    names = [topic, f"{topic}_backward"]
    imports = list(re.finditer(r"^from \.\w+ import (?:\([^)]*\)|[^\n]*)\n", text, flags=re.MULTILINE))
    line = f"from .{topic} import {', '.join(names)}\n"
    text = text[:imports[-1].end()] + line + text[imports[-1].end():]
    listed = re.search(r"^__all__ = \[\n(.*?)^\]\n", text, flags=re.MULTILINE | re.DOTALL)
    exported = sorted(set(re.findall(r'"(\w+)"', listed.group(1))) | set(names))
    text = (text[:listed.start()] + "__all__ = [\n" + "".join(f'    "{n}",\n' for n in exported) + "]\n"
            + text[listed.end():])
    init.write_text(text)


def _document(topic, title):
    """A section of ``book/api.md`` for the op, after the other ops (before the loop versions)."""
    api = ROOT / "book" / "api.md"
    text = api.read_text()
    section = (f"## {title}\n\n```{{eval-rst}}\n.. autofunction:: cnnkit.{topic}\n"
               f".. autofunction:: cnnkit.{topic}_backward\n```\n\n")
    anchor = re.search(r"^## The loop versions", text, flags=re.MULTILINE)
    if anchor:
        text = text[:anchor.start()] + section + text[anchor.start():]
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    api.write_text(text)


def new(name, title):
    """Write the files of a new chapter ``name`` (``NN-topic``) and its op; return the paths written or edited."""
    import nbformat

    if not ASSIGNMENT_PATTERN.match(name):
        raise CourseError(f"the chapter's name must be NN-topic (e.g. 08-attention), got {name!r}")
    topic = _topic(name)
    if not topic.isidentifier():
        raise CourseError(f"the topic {topic!r} must make a Python name (letters, digits, hyphens)")
    if re.search(rf"^from \.\S+ import .*\b{topic}\b", (ROOT / "cnnkit" / "__init__.py").read_text(), re.MULTILINE):
        raise CourseError(f"cnnkit already exports {topic!r}: choose another topic")
    fields = dict(name=name, topic=topic, title=title, number=int(name[:2]))
    files = {
        ROOT / "cnnkit" / f"{topic}.py": OP_MODULE.format(**fields),
        ROOT / "tests" / "cnnkit" / f"test_{topic}.py": OP_TEST_MODULE.format(**fields),
        ROOT / "book" / f"{name}.ipynb": chapter(name, title),
        ROOT / "solutions" / name / f"{topic}.ipynb": exercise(name, title),
        ROOT / "autograder" / "grading" / "parts" / f"{topic}.py": PARTS_MODULE.format(**fields),
        ROOT / "tests" / "grading" / f"test_{topic}_grading.py": TEST_MODULE.format(**fields),
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
    _export(topic)
    _document(topic, title)
    # The chapter's first cell: the Colab set-up cell from _config.yml, as `make colab-cells` writes it.
    subprocess.run([sys.executable, str(ROOT / "book" / "_ext" / "course.py"), "colab-cells",
                    str(ROOT / "book" / f"{name}.ipynb")], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    edited = [Path("cnnkit/__init__.py"), Path("book/api.md"), Path("_toc.yml")]
    return [p.relative_to(ROOT) for p in files] + edited
