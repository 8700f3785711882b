"""The course's own Sphinx extension, loaded by `_config.yml` (`sphinx.local_extensions`).

1. **Offline MathJax.** Sphinx loads MathJax 3 from a CDN by default, so offline
   a page shows raw TeX. This extension points `mathjax_path` at a local copy
   and copies it into `_static/mathjax/` of every HTML build. The copy comes
   from the pinned PyPI package `django-static-mathjax` (MathJax 3.2.2 built
   from MathJax's sources, Apache-2.0; see `requirements.txt`), which
   `make setup` installs with pip like every other dependency: no npm, no CDN,
   nothing fetched by the build. The build checks the package's version and
   the SHA-256 of the entry script, so a different MathJax fails loudly.

2. **The repository and Colab.** `repository.url` and `.branch` in
   `_config.yml` are the one place that names the repository. From them come
   the `{{ repository }}` substitution (a link), the `colab-setup-cell`
   directive (the cell every chapter starts with, shown in
   book/maintainers.md) and the Colab links of the `chapter-exercise`
   directive: a chapter names its graded exercise as

       ```{chapter-exercise} 02-convolution/convolution
       ```

   which renders a box with the exercise's path, a link that downloads
   `exercises/02-convolution/convolution.ipynb` and one that opens it in
   Colab. A missing exercise is a warning, hence an error in the strict build.

3. **From the API page to the chapters.** The `Book: chapter N, ...` line of
   a cnnkit docstring is shown under the summary and links to that chapter.

4. **Nothing from a CDN.** The Font Awesome style sheet that matplotlib's
   JavaScript animations name, and sphinx-thebe's scripts (Thebe is off),
   are left out of the pages.

5. **Chapter checks** (warnings, so errors in the strict build): a page that
   runs code must be stored as `.ipynb` (Colab cannot open a MyST text
   notebook); a notebook must have the Colab set-up cell; and a chapter
   (`book/NN-topic.ipynb`) must have its `chapter-exercise` box.

See book/maintainers.md for how chapter authors use these.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.console import bold, red
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# 1. Offline MathJax
# --------------------------------------------------------------------------

MATHJAX_DISTRIBUTION = "django-static-mathjax"
MATHJAX_VERSION = "3.2.2.1"  # keep equal to the pin in requirements.txt
MATHJAX_ENTRY = "tex-mml-chtml.js"
MATHJAX_ENTRY_SHA256 = "8aacaa13814e2dd77de7b5f10a7c0cda3a0bcd0af3a2129f8aa7a794f607fd55"
# What the pages can load, relative to MathJax's es5/ folder: the entry script
# (TeX and MathML input, CommonHTML output, menu, assistive MathML), its web
# fonts, the TeX extensions it autoloads (\cancel, \color, \require, ...), and
# the menu's lazily loaded parts with the English speech rules. About 3.5 MB;
# the package's other bundles (SVG output, other languages) are left out.
MATHJAX_FILES = (
    MATHJAX_ENTRY,
    "output/chtml/fonts/woff-v2",
    "input/tex/extensions",
    "ui",
    "a11y",
    "sre/mathmaps/base.json",
    "sre/mathmaps/en.json",
    "sre/mathmaps/nemeth.json",
)
MATHJAX_STATIC_DIR = "mathjax"  # inside the build's _static/


def mathjax_source() -> Path:
    """MathJax's es5/ folder inside the installed, pinned package; errors say how to fix."""
    try:
        version = importlib.metadata.version(MATHJAX_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ExtensionError(f"MathJax for offline math comes from the PyPI package {MATHJAX_DISTRIBUTION}, "
                             "which is not installed: run `make setup`") from None
    if version != MATHJAX_VERSION:
        raise ExtensionError(f"{MATHJAX_DISTRIBUTION} {version} is installed, the book expects {MATHJAX_VERSION}: "
                             "run `make setup` (or update MATHJAX_VERSION and MATHJAX_ENTRY_SHA256 in "
                             "book/_ext/course.py together with the pin)")
    spec = importlib.util.find_spec("mathjax")
    root = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    entry = root / MATHJAX_ENTRY
    digest = hashlib.sha256(entry.read_bytes()).hexdigest() if entry.is_file() else "missing"
    if digest != MATHJAX_ENTRY_SHA256:
        raise ExtensionError(f"{entry}: SHA-256 {digest}, expected {MATHJAX_ENTRY_SHA256}; "
                             f"reinstall {MATHJAX_DISTRIBUTION}=={MATHJAX_VERSION}")
    return root


def use_local_mathjax(app: Sphinx, config) -> None:
    mathjax_source()  # fail at the start of the build, not after it
    # Relative paths in mathjax_path are relative to _static/.
    config.mathjax_path = f"{MATHJAX_STATIC_DIR}/{MATHJAX_ENTRY}"


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / MATHJAX_STATIC_DIR
    for relative in MATHJAX_FILES:
        src, dst = source / relative, target / relative
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


# --------------------------------------------------------------------------
# 2. The repository, Colab and the chapter-exercise directive
# --------------------------------------------------------------------------

EXERCISES_DIR = "exercises"


def repository(app: Sphinx) -> tuple[str, str]:
    """``(url, branch)`` from `repository:` in _config.yml, the one place that names them."""
    options = app.config.html_theme_options
    return options.get("repository_url", "").rstrip("/"), options.get("repository_branch") or "main"


def repository_substitution(app: Sphinx, config) -> None:
    """`{{ repository }}` in a page: a link to the course's repository."""
    url, _ = repository(app)
    config.myst_substitutions.setdefault("repository", f"[the course's repository]({url})")


# The placeholder `repository.url` of _config.yml, until the course is
# published. While it is there, Colab links would open a repository that does
# not exist: the build hides them and says so (see `hide_colab_until_published`).
PLACEHOLDER_REPOSITORY = "https://github.com/cnn-course/cnn-course"


def is_placeholder(url: str) -> bool:
    return url.rstrip("/") == PLACEHOLDER_REPOSITORY


def colab_install_target(url: str, branch: str) -> str:
    """The pip requirement a chapter's Colab set-up cell installs: cnnkit from the repository."""
    return f"cnnkit @ git+{url}@{branch}"


COLAB_CELL_HEADER = ("# Set-up, hidden in the book. `make colab-cells` writes this cell\n"
                     "# from _config.yml: edit that file, not this cell.\n")


def colab_setup_cell(url: str, branch: str) -> str:
    """The first cell of every chapter, generated from `repository:` in _config.yml.

    In Colab it installs the course's package; everywhere it keeps
    TensorFlow's C++ start-up log quiet (for the chapters that import
    TensorFlow later) and applies the book's figure settings
    (`cnnkit.viz.style`: drawn at the size shown, sharp, labels >= 11 px). `make colab-cells` writes it into the chapters, and
    the build warns about a chapter whose cell differs.
    """
    return (COLAB_CELL_HEADER
            + "import os\n"
            "import subprocess\n"
            "import sys\n"
            "\n"
            "os.environ.setdefault(\"TF_CPP_MIN_LOG_LEVEL\", \"3\")\n"
            "if \"google.colab\" in sys.modules:  # locally, cnnkit is installed\n"
            f"    package = \"{colab_install_target(url, branch)}\"\n"
            "    pip = [sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\"]\n"
            "    subprocess.run([*pip, package], check=True)\n"
            "\n"
            "from cnnkit.viz.style import use_book_style\n"
            "\n"
            "use_book_style()  # figures drawn at the size the book shows them")


def find_colab_cell(cells: list[dict]) -> int | None:
    """Index of a notebook's Colab set-up cell (the code cell that mentions google.colab), or None."""
    return next((i for i, cell in enumerate(cells) if cell.get("cell_type") == "code"
                 and "google.colab" in "".join(cell.get("source", ""))), None)


def write_colab_cell(path: Path, url: str, branch: str, check: bool = False) -> bool:
    """Make the notebook's first cell the generated Colab set-up cell; True if the file changed (or would).

    Only that cell changes, and the file keeps nbformat's JSON layout, so the
    edit merges with anyone else's cells.
    """
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    cells = notebook["cells"]
    source = colab_setup_cell(url, branch)
    lines = source.splitlines(keepends=True)
    index = find_colab_cell(cells)
    if index is None:
        cells.insert(0, {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["remove-cell"]},
                         "outputs": [], "source": lines})
    else:
        cell = cells[index]
        cell["source"] = lines
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "remove-cell" not in tags:
            tags.append("remove-cell")
        if index != 0:
            cells.insert(0, cells.pop(index))
    new = json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    if new == text:
        return False
    if not check:
        path.write_text(new, encoding="utf-8")
    return True


def colab_link(app: Sphinx, repo_path: str) -> str | None:
    """Colab's URL of a notebook in the repository, built as the theme builds its launch button."""
    colab = app.config.html_theme_options.get("launch_buttons", {}).get("colab_url", "").rstrip("/")
    url, branch = repository(app)
    if not colab or not url.startswith("https://github.com/"):
        return None
    return f"{colab}/github/{url.removeprefix('https://github.com/')}/blob/{branch}/{repo_path}"


def hide_colab_until_published(app: Sphinx, config) -> None:
    """While `repository.url` is the placeholder, no Colab buttons or links, and the build says why."""
    url, _ = repository(app)
    if not is_placeholder(url):
        return
    launch = dict(config.html_theme_options.get("launch_buttons", {}))
    if launch.get("colab_url"):
        launch["colab_url"] = ""
        config.html_theme_options["launch_buttons"] = launch
    # Not a Sphinx warning: the strict build (-W) must pass before publication.
    logger.info(bold(red(f"course: Colab buttons and links are left out: repository.url in _config.yml is "
                         f"still the placeholder {PLACEHOLDER_REPOSITORY}. Set it to the published "
                         "repository, then run `make colab-cells`.")))


class ChapterExercise(SphinxDirective):
    """Box linking a chapter to its exercise: ``{chapter-exercise} NN-topic/name``."""

    required_arguments = 1
    has_content = True
    option_spec = {"class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0].strip().strip("/").removesuffix(".ipynb")
        repo_path = f"{EXERCISES_DIR}/{name}.ipynb"
        if not (Path(self.env.srcdir) / repo_path).is_file():
            logger.warning(f"chapter-exercise: {repo_path} does not exist (generate it with `make exercises`)",
                           location=self.get_location(), type="course", subtype="exercise")

        box = nodes.admonition(classes=["chapter-exercise", "tip", *self.options.get("class", [])])
        box += nodes.title(text="Exercise")
        lead = nodes.paragraph()
        lead += nodes.Text("This chapter's graded exercise is ")
        lead += nodes.literal(text=repo_path)
        lead += nodes.Text(" in the course repository: ")
        # Sphinx copies the notebook into _downloads/ and links it, as {download} does.
        link = addnodes.download_reference("", "", reftarget="/" + repo_path, refdoc=self.env.docname,
                                           refdomain="", reftype="download", refexplicit=True)
        link += nodes.literal(text=f"download {Path(repo_path).name}", classes=["download"])
        lead += link
        colab = colab_link(self.env.app, repo_path)
        if colab:
            lead += nodes.Text(" or ")
            lead += nodes.reference("", "open it in Colab", refuri=colab)
        lead += nodes.Text(". Write your code where it says ")
        lead += nodes.literal(text="# YOUR CODE HERE")
        lead += nodes.Text(", run the test cell under each answer, then hand it in to be graded.")
        box += lead
        if self.content:
            self.state.nested_parse(self.content, self.content_offset, box)
        return [box]


class ColabSetupCell(SphinxDirective):
    """Shows the Colab set-up cell for the configured repository (book/maintainers.md)."""

    def run(self) -> list[nodes.Node]:
        source = colab_setup_cell(*repository(self.env.app))
        return [nodes.literal_block(source, source, language="python")]


# --------------------------------------------------------------------------
# 3. From cnnkit's docstrings to the chapters
# --------------------------------------------------------------------------

# cnnkit's docstrings end with a pointer such as `Book: chapter 2, "Convolution
# and filters", section "Backward pass".` As written, NumPy-style parsing files
# it under whatever section precedes it (See Also, Raises). Move it up, under
# the summary, and link "chapter N" to book/NN-* once that chapter is in the
# book: to the section the pointer names (a quoted title or a parenthesised
# one), else to the chapter's top.
BOOK_POINTER = re.compile(r"^Book: chapter (\d+)\b")
POINTER_TITLES = re.compile(r'"([^"]+)"|\(([^)]+)\)')


def link_book_pointer(app: Sphinx, what, name, obj, options, lines: list[str]) -> None:
    start = next((i for i, line in enumerate(lines) if BOOK_POINTER.match(line.strip())), None)
    if start is None:
        return
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    text = " ".join(line.strip() for line in lines[start:end])
    del lines[start:end]
    chapter = int(BOOK_POINTER.match(text).group(1))
    # Only chapters in the table of contents are pages (an unlisted one fails a test of its own).
    pages = sorted(doc for doc in app.env.found_docs if doc.startswith(f"book/{chapter:02d}-"))
    if pages:
        titles = [a or b for a, b in POINTER_TITLES.findall(text)]
        target = "|".join([pages[0], *titles]).replace("`", "'")
        text = text.replace(f"chapter {chapter}", f":book-section:`chapter {chapter} <{target}>`", 1)
    summary_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    lines[summary_end:summary_end] = ["", text]


class book_section(nodes.reference):
    """A link to a chapter, pointed at the section named by its titles once every page is read."""


def book_section_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    match = re.fullmatch(r"(.*?)\s*<(.*)>", text, flags=re.DOTALL)
    label, target = match.group(1), match.group(2).split("|")
    node = book_section(rawtext, label, internal=True, course_doc=target[0], course_titles=target[1:])
    return [node], []


def _normalise(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def section_anchors(env, docname: str) -> dict[str, str]:
    """A page's section titles (normalised) and their anchors, from its table of contents."""
    anchors = {}
    toc = env.tocs.get(docname)
    if toc is None:
        return anchors
    for ref in toc.findall(nodes.reference):
        if ref.get("anchorname"):
            anchors.setdefault(_normalise(ref.astext()), ref["anchorname"])
    return anchors


def resolve_book_sections(app: Sphinx, doctree: nodes.document, fromdocname: str) -> None:
    for node in list(doctree.findall(book_section)):
        docname = node["course_doc"]
        anchors = section_anchors(app.env, docname)
        anchor = ""
        for title in reversed(node["course_titles"]):  # the most specific title comes last
            wanted = _normalise(title)
            anchor = anchors.get(wanted) or next((a for t, a in anchors.items() if t.startswith(wanted)), "")
            if anchor:
                break
        ref = nodes.reference(node.rawsource, node.astext(), internal=True,
                              refuri=app.builder.get_relative_uri(fromdocname, docname) + anchor)
        node.replace_self(ref)


# --------------------------------------------------------------------------
# 4. Nothing from a CDN: animations, Thebe
# --------------------------------------------------------------------------

# matplotlib's `Animation.to_jshtml()` starts with a style sheet from a CDN
# (Font Awesome 4, for the icons of its buttons). Offline it cannot load; the
# theme's own Font Awesome draws the icons instead, so drop the link.
JSHTML_CDN_LINK = re.compile(r'<link rel="stylesheet"\s+href="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*">\s*')
# Its frame and its slider carry no text for a screen reader (axe-core:
# image-alt and label, both critical).
JSHTML_FRAME = re.compile(r'<img id="(_anim_img[0-9a-f]+)"(?![^>]*\balt=)')
JSHTML_SLIDER = re.compile(r'<input id="_anim_slider[0-9a-f]+"(?![^>]*\baria-label=)')
ANIMATION_ALT = ("Animation, one frame at a time: the text around it describes what it shows; "
                 "use the buttons and the slider below to step through the frames")


def accessible_animation(html: str) -> str:
    """matplotlib's `to_jshtml()` output with alternative text and labelled controls, and no CDN link."""
    html = JSHTML_CDN_LINK.sub("", html)
    html = JSHTML_FRAME.sub(lambda m: f'{m.group(0)} alt="{ANIMATION_ALT}"', html)
    return JSHTML_SLIDER.sub(lambda m: f'{m.group(0)} aria-label="Frame of the animation"', html)


def drop_animation_cdn_link(app: Sphinx, doctree: nodes.document) -> None:
    for node in list(doctree.findall(nodes.raw)):
        if "html" in node.get("format", "").split() and "anim-slider" in node.astext() \
                or JSHTML_CDN_LINK.search(node.astext()):
            text = accessible_animation(node.astext())
            node.replace_self(nodes.raw(text, text, **node.attributes))


def drop_thebe_assets(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Leave sphinx-thebe's scripts off the pages while `launch_buttons.thebe` is off.

    Jupyter Book always loads sphinx-thebe, which adds to every page a script
    naming Thebe's CDN (with the Sphinx here, twice on the first page written,
    a console error). The course runs code in Jupyter or Colab, never on a
    remote kernel from a page, so the pages do without it.
    """
    if app.config.html_theme_options.get("launch_buttons", {}).get("thebe"):
        return

    def is_thebe(asset) -> bool:
        name = str(getattr(asset, "filename", "") or "")
        return "thebe" in name or "THEBE_JS_URL" in str(getattr(asset, "attributes", {}).get("body", ""))

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not is_thebe(asset)]


# --------------------------------------------------------------------------
# 5. Chapter checks
# --------------------------------------------------------------------------

CHAPTER = re.compile(r"^book/\d\d-")  # book/NN-topic: a chapter


def check_chapters(app: Sphinx, env) -> list[str]:
    """Warn about toc pages that Colab cannot open, or that would fail there."""
    expected = colab_setup_cell(*repository(app))
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        if path.suffix == ".md" and "kernelspec" in env.metadata.get(docname, {}):
            logger.warning(f"{docname}: a page that runs code must be stored as .ipynb, not as a MyST text "
                           "notebook (Colab and the download button need the notebook)",
                           location=docname, type="course", subtype="chapter")
        if path.suffix != ".ipynb":
            continue
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        code = ["".join(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "code"]
        if not code or code[0] != expected:
            found = "no Colab set-up cell" if find_colab_cell(cells) is None else \
                "its first cell is not the Colab set-up cell that _config.yml gives"
            logger.warning(f"{docname}: {found}; run `make colab-cells` to write it "
                           "(see book/maintainers.md)", location=docname, type="course", subtype="colab")
        markdown = "".join("".join(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "markdown")
        if CHAPTER.match(docname) and "{chapter-exercise}" not in markdown:
            logger.warning(f"{docname}: a chapter ends with its exercise: add a `chapter-exercise` box "
                           "(see book/maintainers.md)", location=docname, type="course", subtype="exercise")
    return []


def nitpick_ignore_as_tuples(app: Sphinx, config) -> None:
    """_config.yml can only give `nitpick_ignore` entries as lists; Sphinx matches tuples."""
    config.nitpick_ignore = [tuple(entry) for entry in config.nitpick_ignore]


# --------------------------------------------------------------------------
# 6. Search by section
# --------------------------------------------------------------------------

# Sphinx's search lists pages, and a hit opens at the top of a long chapter.
# The build writes every section's title and prose into
# _static/course-sections.js; on the search page, course-search.js adds under
# each page hit the sections that hold all the query's words, each linked to
# its anchor with a snippet (read from that file: a book opened from disk
# cannot fetch its own pages).
SECTIONS_JS = "course-sections.js"
SKIPPED_IN_SECTIONS = ("cell", "cell_output", "cell_input", "highlight")  # code cells and their outputs


def _prose(node: nodes.Node) -> str:
    """The text of a section without its subsections, code and outputs."""
    parts = []
    for child in node.children:
        if isinstance(child, (nodes.section, nodes.title, nodes.literal_block, nodes.raw, nodes.comment)):
            continue
        if isinstance(child, nodes.Element) and set(child.get("classes", [])) & set(SKIPPED_IN_SECTIONS):
            continue
        if isinstance(child, nodes.Element) and any(isinstance(n, nodes.section) for n in child.children):
            parts.append(_prose(child))
        else:
            parts.append(child.astext())
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


def collect_sections(app: Sphinx, doctree: nodes.document) -> None:
    if not hasattr(app.env, "course_sections"):
        app.env.course_sections = {}
    sections = []
    for section in doctree.findall(nodes.section):
        if section["ids"] and section.children and isinstance(section[0], nodes.title):
            sections.append((section["ids"][0], section[0].astext(), _prose(section)))
    app.env.course_sections[app.env.docname] = sections


def purge_sections(app: Sphinx, env, docname: str) -> None:
    getattr(env, "course_sections", {}).pop(docname, None)


def merge_sections(app: Sphinx, env, docnames, other) -> None:
    if not hasattr(env, "course_sections"):
        env.course_sections = {}
    env.course_sections.update({d: s for d, s in getattr(other, "course_sections", {}).items() if d in docnames})


def write_sections(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    index = {app.builder.get_target_uri(docname): sections
             for docname, sections in sorted(getattr(app.env, "course_sections", {}).items())
             if docname in app.env.found_docs}
    target = Path(app.outdir) / "_static" / SECTIONS_JS
    target.write_text("window.COURSE_SECTIONS = " + json.dumps(index, ensure_ascii=False) + ";\n", encoding="utf-8")


def search_page_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if pagename == "search":
        app.add_js_file(SECTIONS_JS)
        app.add_js_file("course-search.js")


STATIC = Path(__file__).resolve().parent.parent / "_static"  # book/_static: course.css, course.js


def add_static_files(app: Sphinx, config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", add_static_files)
    app.add_css_file("course.css")
    app.add_js_file("course.js")
    app.connect("doctree-read", collect_sections)
    app.connect("env-purge-doc", purge_sections)
    app.connect("env-merge-info", merge_sections)
    app.connect("build-finished", write_sections)
    app.connect("html-page-context", search_page_scripts)
    app.connect("config-inited", nitpick_ignore_as_tuples)
    app.connect("config-inited", use_local_mathjax)
    app.connect("config-inited", repository_substitution)
    app.connect("config-inited", hide_colab_until_published)
    app.connect("build-finished", copy_mathjax)
    app.add_directive("chapter-exercise", ChapterExercise)
    app.add_directive("colab-setup-cell", ColabSetupCell)
    app.connect("autodoc-process-docstring", link_book_pointer, priority=400)  # before napoleon's (500)
    app.add_role("book-section", book_section_role)
    app.connect("doctree-resolved", resolve_book_sections)
    app.connect("env-updated", check_chapters)
    app.connect("html-page-context", drop_thebe_assets)
    app.connect("doctree-read", drop_animation_cdn_link)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    """`python book/_ext/course.py colab-cells [--check] NOTEBOOK...` (what `make colab-cells` runs)."""
    import argparse

    import yaml

    parser = argparse.ArgumentParser(prog="course.py", description=main.__doc__)
    parser.add_argument("command", choices=["colab-cells"])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook would change")
    parser.add_argument("--config", type=Path, default=Path("_config.yml"))
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    repo = yaml.safe_load(args.config.read_text(encoding="utf-8")).get("repository", {})
    url, branch = (repo.get("url") or "").rstrip("/"), repo.get("branch") or "main"
    changed = [path for path in args.notebooks if write_colab_cell(path, url, branch, check=args.check)]
    for path in changed:
        print(f"{path}: Colab set-up cell {'differs' if args.check else 'written'} ({url}@{branch})")
    if is_placeholder(url):
        print(f"note: repository.url is still the placeholder {PLACEHOLDER_REPOSITORY}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
