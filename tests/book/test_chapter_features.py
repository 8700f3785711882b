"""What a chapter page offers, checked on a throwaway book built with the course's own settings.

No real chapter has every feature yet (a numbered figure, an animation, a
widget, an intentional error, an exercise box), so a small fixture chapter
shows them all: it is built strictly with the real `_config.yml`, the course's
Sphinx extension and the real API page, then opened in headless Chromium with
the network off. A second throwaway book, built leniently, shows that the
build's own checks catch a chapter that breaks the rules.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from .browser import accessibility_violations, offline_browser
from .building import ROOT, STRICT, jupyter_book
from .pages import WIDGET_VIEW, built_pages, holds_widget, remote_loads

# The course's Sphinx extension, for the Colab set-up cell it asks chapters for.
_spec = importlib.util.spec_from_file_location("course_extension", ROOT / "book" / "_ext" / "course.py")
course = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course)

SCREENSHOTS = ROOT / "_build" / "screenshots" / "fixture-book"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
BRANCH = CONFIG["repository"]["branch"]
# The fixture book is "published": its Colab buttons show. The real book's
# placeholder URL hides them (the bad book below keeps it).
REPOSITORY = "https://github.com/example-university/cnn-course"
CHAPTER = "book/01-features"
EXERCISE = "exercises/01-features/features.ipynb"

ANIMATION = """\
from IPython.display import HTML
from matplotlib.animation import FuncAnimation

fig, ax = plt.subplots(figsize=(3, 3), dpi=60)
image = ax.imshow(np.zeros((5, 5)), vmin=0, vmax=1, cmap="Blues")

def show_window(step):
    window = np.zeros((5, 5))
    window[step // 3:step // 3 + 3, step % 3:step % 3 + 3] = 1
    image.set_data(window)
    return [image]

anim = FuncAnimation(fig, show_window, frames=9, interval=300)
plt.close(fig)
HTML(anim.to_jshtml())
"""

FIGURE = """\
fig, ax = plt.subplots(figsize=(4, 2), dpi=60)
ax.plot(cnnkit.correlate1d(np.arange(8.0), [1.0, 2.0, 3.0]), marker="o")
plt.show()
"""


def tagged(cell, *tags):
    cell.metadata["tags"] = list(tags)
    return cell


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def new_book(root: Path, toc_chapters: list[str], repository: str = REPOSITORY) -> None:
    """The real configuration (but the given repository) and extension, the real API page, a short landing page."""
    config = dict(CONFIG, execute=dict(CONFIG["execute"], cache=str(root / "_build" / ".jupyter_cache")),
                  repository=dict(CONFIG["repository"], url=repository))
    write(root / "_config.yml", yaml.safe_dump(config))
    write(root / "_toc.yml", yaml.safe_dump({
        "format": "jb-book", "root": "book/intro",
        "parts": [{"caption": "Chapters", "numbered": True, "chapters": [{"file": c} for c in toc_chapters]},
                  {"caption": "Reference", "chapters": [{"file": "book/api"}]}]}))
    shutil.copytree(ROOT / "book" / "_ext", root / "book" / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "book" / "_static", root / "book" / "_static")
    shutil.copy(ROOT / "book" / "api.md", root / "book" / "api.md")
    shutil.copy(ROOT / "references.bib", root / "references.bib")  # the configuration's bibtex_bibfiles
    write(root / "book" / "intro.md", "# A fixture book\n\nBuilt by the tests, with the course's settings.\n")


def features_chapter() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("# Features\n\n"
                          "Inline math $n_\\text{out} = \\lfloor (n + 2p - k)/s \\rfloor + 1$ and a display:\n\n"
                          "$$\nO_{f,i,j} = b_f + \\sum_{c,u,v} W_{f,c,u,v}\\, I_{c,i+u,j+v}\n$$\n\n"
                          "The reference of {py:func}`cnnkit.correlate1d`; the curve is in {numref}`fig-curve`."),
        tagged(new_code_cell(course.colab_setup_cell(REPOSITORY, BRANCH)), "remove-cell"),
        new_code_cell("import cnnkit\nimport matplotlib.pyplot as plt\nimport numpy as np"),
        new_code_cell(FIGURE, metadata={"mystnb": {"figure": {"caption": "A correlation, drawn by code.",
                                                              "name": "fig-curve"}}}),
        new_markdown_cell("## An animation"),
        new_code_cell(ANIMATION),
        new_markdown_cell("## A widget, and its static figure"),
        tagged(new_code_cell("import ipywidgets\nipywidgets.IntSlider(value=3, min=1, max=5)"), "remove-output"),
        tagged(new_code_cell("plt.plot([1, 2, 3]); plt.show()"), "remove-input"),
        new_markdown_cell("## A mistake shown on purpose"),
        tagged(new_code_cell("cnnkit.conv2d(np.zeros((28, 28)), np.zeros((1, 1, 3, 3)))"), "raises-exception"),
        tagged(new_code_cell("assert cnnkit.conv_output_size(28, 3) == 26"), "remove-cell"),
        new_markdown_cell("```{chapter-exercise} 01-features/features\n```"),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


@pytest.fixture(scope="module")
def fixture_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixture-book")
    new_book(root, [CHAPTER])
    write(root / f"{CHAPTER}.ipynb", nbformat.writes(features_chapter()))
    write(root / EXERCISE, nbformat.writes(new_notebook(cells=[new_code_cell("answer = None  # YOUR CODE HERE")])))
    return jupyter_book(root, *STRICT)


@pytest.fixture(scope="module")
def chapter(fixture_book):
    assert fixture_book.returncode == 0, fixture_book.log[-6000:]
    with offline_browser() as browser:
        report, page = browser.open(fixture_book.html / f"{CHAPTER}.html", screenshot=SCREENSHOTS / "chapter.png")
        yield report, page
        page.close()


def test_fixture_chapter_builds_strictly(fixture_book):
    assert fixture_book.returncode == 0, fixture_book.log[-6000:]


def test_chapter_works_offline_in_chromium(chapter):
    report, _ = chapter
    assert report.problems() == []
    assert report.math == 2 and report.typeset == 2
    assert len(report.animations) == 1 and report.animations[0]["frames"] == 9
    assert report.animations[0]["advanced"]


def test_animation_has_alternative_text_and_labelled_controls(chapter):
    _, page = chapter
    assert page.get_attribute("div.animation img", "alt")
    assert page.get_attribute("div.animation input.anim-slider", "aria-label") == "Frame of the animation"
    assert accessibility_violations(page) == []


def test_chapter_and_figure_are_numbered(chapter):
    _, page = chapter
    assert page.inner_text("article h1").startswith("1. Features")
    assert page.inner_text("figcaption").startswith("Fig. 1.1")
    assert page.locator("figure img").evaluate("img => img.complete && img.naturalWidth > 0")


def test_chapter_has_colab_and_download_buttons(chapter, fixture_book):
    _, page = chapter
    colab = page.get_attribute(".dropdown-launch-buttons a.dropdown-item:has-text('Colab')", "href")
    assert colab == f"https://colab.research.google.com/github/{REPOSITORY.removeprefix('https://github.com/')}" \
                    f"/blob/{BRANCH}/{CHAPTER}.ipynb"
    download = page.get_attribute("a.btn-download-source-button[href$='.ipynb']", "href")
    assert (fixture_book.html / "book" / download).resolve() == fixture_book.html / "_sources" / f"{CHAPTER}.ipynb"
    assert (fixture_book.html / "_sources" / f"{CHAPTER}.ipynb").is_file()


def test_chapter_links_to_its_exercise_and_to_cnnkit(chapter, fixture_book):
    _, page = chapter
    box = page.locator(".chapter-exercise")
    assert EXERCISE in box.inner_text()
    download = box.locator("a.download").get_attribute("href")
    assert (fixture_book.html / "book" / download).resolve().read_bytes() == (fixture_book.root / EXERCISE).read_bytes()
    assert box.locator("a:has-text('Colab')").get_attribute("href").endswith(f"/blob/{BRANCH}/{EXERCISE}")
    assert page.get_attribute("a:has(code:has-text('cnnkit.correlate1d'))", "href") == "api.html#cnnkit.correlate1d"


def test_error_shown_on_purpose_and_widget_left_out(chapter, fixture_book):
    _, page = chapter
    assert "conv2d: x must be 4-D (N, C, H, W), got shape (28, 28)" in page.inner_text("article")
    assert "IntSlider" in page.inner_text("article")  # the widget's code is shown, its output is not
    pages = built_pages(fixture_book.html)
    assert not [p.name for p in pages if holds_widget(p)]
    assert not {p.name: remote_loads(p) for p in pages if remote_loads(p)}


# A chapter that breaks every rule the build enforces. Built leniently (no -W),
# with execution off: the widget and the CDN script are stored outputs.
BAD_TEXT_NOTEBOOK = """\
---
kernelspec:
  name: python3
  display_name: Python 3
---
# A text notebook

```{code-cell} python
1 + 1
```
"""


@pytest.fixture(scope="module")
def bad_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-book")
    new_book(root, ["book/01-no-colab", "book/02-text-notebook", "book/03-no-exercise", "book/04-old-colab-cell"],
             repository=course.PLACEHOLDER_REPOSITORY)
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    write(root / "_config.yml", yaml.safe_dump(config))
    widget = new_output("display_data", data={"text/plain": "IntSlider(value=3)", WIDGET_VIEW:
                                              {"model_id": "0", "version_major": 2, "version_minor": 0}})
    cdn = new_output("display_data", data={"text/html": '<script src="https://cdn.example.org/lib.js"></script>'})
    notebook = new_notebook(cells=[
        new_markdown_cell("# No Colab cell\n\n```{chapter-exercise} 01-no-colab/missing\n```"),
        new_code_cell("show_widget()", outputs=[widget], execution_count=1),
        new_code_cell("show_cdn_script()", outputs=[cdn], execution_count=2),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    write(root / "book" / "01-no-colab.ipynb", nbformat.writes(notebook))
    write(root / "book" / "02-text-notebook.md", BAD_TEXT_NOTEBOOK)
    no_exercise = new_notebook(cells=[new_markdown_cell("# No exercise"),
                                      new_code_cell(course.colab_setup_cell(REPOSITORY, BRANCH))],
                               metadata=notebook.metadata)
    write(root / "book" / "03-no-exercise.ipynb", nbformat.writes(no_exercise))
    # A cell pasted by hand, as chapters had before `make colab-cells`.
    pasted = course.colab_setup_cell(course.PLACEHOLDER_REPOSITORY, BRANCH).replace("--quiet", "-q")
    old_cell = new_notebook(cells=[new_code_cell(pasted), new_markdown_cell("# Old cell\n\n"
                                   "```{chapter-exercise} 04-old-colab-cell/old\n```")], metadata=notebook.metadata)
    write(root / "book" / "04-old-colab-cell.ipynb", nbformat.writes(old_cell))
    write(root / "exercises" / "04-old-colab-cell" / "old.ipynb", nbformat.writes(new_notebook()))
    return jupyter_book(root, "--keep-going")


def test_build_rejects_a_chapter_that_breaks_the_rules(bad_book):
    log = " ".join(bad_book.log.split())
    assert "book/01-no-colab: no Colab set-up cell; run `make colab-cells`" in log
    assert "book/04-old-colab-cell: its first cell is not the Colab set-up cell that _config.yml gives" in log
    assert "chapter-exercise: exercises/01-no-colab/missing.ipynb does not exist" in log
    assert "book/02-text-notebook: a page that runs code must be stored as .ipynb" in log
    assert "book/03-no-exercise: a chapter ends with its exercise" in log
    assert "book/03-no-exercise: no Colab" not in log
    assert "book/01-no-colab: a chapter ends with its exercise" not in log


def test_page_checks_catch_a_widget_and_a_cdn_script(bad_book):
    page = bad_book.html / "book" / "01-no-colab.html"
    assert holds_widget(page)
    assert remote_loads(page) == ["<script src> https://cdn.example.org/lib.js"]


def test_colab_is_left_out_while_the_repository_is_the_placeholder(bad_book):
    log = " ".join(bad_book.log.split())
    assert "Colab buttons and links are left out: repository.url in _config.yml is still the placeholder" in log
    page = (bad_book.html / "book" / "04-old-colab-cell.html").read_text()
    assert "colab.research.google.com" not in page
    assert re.search(r'<a class="reference download[^"]*" [^>]*href="[^"]*_downloads/[^"]*/old\.ipynb"', page), \
        "the exercise box keeps its download link"


def test_make_colab_cells_writes_only_the_first_cell(tmp_path):
    chapter = tmp_path / "01-x.ipynb"
    pasted = course.colab_setup_cell("https://github.com/old/place", "main")
    notebook = new_notebook(cells=[new_markdown_cell("# X"), tagged(new_code_cell(pasted), "remove-cell"),
                                   new_code_cell("1 + 1")])
    chapter.write_text(nbformat.writes(notebook))
    assert course.main(["colab-cells", "--check", "--config", str(ROOT / "_config.yml"), str(chapter)]) == 1
    assert course.main(["colab-cells", "--config", str(ROOT / "_config.yml"), str(chapter)]) == 0
    written = nbformat.reads(chapter.read_text(), as_version=4)
    assert written.cells[0].source == course.colab_setup_cell(CONFIG["repository"]["url"].rstrip("/"), BRANCH)
    assert written.cells[0].metadata.tags == ["remove-cell"]
    assert [c.source for c in written.cells[1:]] == ["# X", "1 + 1"]
    assert course.main(["colab-cells", "--check", "--config", str(ROOT / "_config.yml"), str(chapter)]) == 0


def test_every_chapter_has_the_generated_colab_cell():
    # the chapters (book/NN-*) and the unnumbered lessons: every notebook page
    chapters = sorted((ROOT / "book").glob("*.ipynb"))
    assert chapters
    assert course.main(["colab-cells", "--check", "--config", str(ROOT / "_config.yml"), *map(str, chapters)]) == 0
