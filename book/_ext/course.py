"""The course's own Sphinx extension, loaded by `_config.yml` (`sphinx.local_extensions: course`).

One module per job, each a Sphinx extension of its own that this one sets up:

| module | its job |
|---|---|
| `course_mathjax.py` | offline MathJax, copied from the pinned PyPI package `django-static-mathjax` |
| `course_colab.py` | the repository and Colab: the chapters' set-up cell, the `chapter-exercise` box, `colab-cells` |
| `course_docstrings.py` | the `Book: chapter N` line of a cnnkit docstring, linked to the chapter's section |
| `course_cdn.py` | nothing from a CDN: matplotlib's animations, sphinx-thebe |
| `course_checks.py` | chapter checks: a notebook, with its Colab cell and its exercise box |
| `course_search.py` | search by section |
| `course_cache.py` | the executed chapters' cache, keyed on everything that changes their outputs |
| `course_figures.py` | a 2x PNG figure declares itself as such (`srcset="... 2x"`) |

Here: the course's static files (`book/_static`), and the command line
`python book/_ext/course.py colab-cells [--check] NOTEBOOK...` (what `make
colab-cells` runs). See book/maintainers.md for how chapter authors use these.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sphinx.application import Sphinx

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the modules next to this one, however this file was loaded
    sys.path.insert(0, str(HERE))

from course_colab import PLACEHOLDER_REPOSITORY, colab_setup_cell, find_colab_cell, main  # noqa: E402

__all__ = ["PLACEHOLDER_REPOSITORY", "colab_setup_cell", "find_colab_cell", "main", "setup"]

MODULES = ("course_mathjax", "course_colab", "course_docstrings", "course_search", "course_cdn", "course_checks",
           "course_cache", "course_figures")
STATIC = HERE.parent / "_static"  # book/_static: course.css, course.js


def add_static_files(app: Sphinx, config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def nitpick_ignore_as_tuples(app: Sphinx, config) -> None:
    """_config.yml can only give `nitpick_ignore` entries as lists; Sphinx matches tuples."""
    config.nitpick_ignore = [tuple(entry) for entry in config.nitpick_ignore]


def setup(app: Sphinx) -> dict:
    for module in MODULES:
        app.setup_extension(module)
    app.connect("config-inited", add_static_files)
    app.connect("config-inited", nitpick_ignore_as_tuples)
    app.add_css_file("course.css")
    app.add_js_file("course.js")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    raise SystemExit(main())
