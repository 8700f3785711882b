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


def colab_install_target(url: str, branch: str) -> str:
    """The pip requirement a chapter's Colab set-up cell installs: cnnkit from the repository."""
    return f"cnnkit @ git+{url}@{branch}"


def colab_setup_cell(url: str, branch: str) -> str:
    """The Colab set-up cell, as chapter authors copy it from book/maintainers.md."""
    return ("# In Colab, install the course's package first (a local set-up already has it).\n"
            "import subprocess\n"
            "import sys\n"
            "\n"
            "if \"google.colab\" in sys.modules:\n"
            "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",\n"
            f"                    \"{colab_install_target(url, branch)}\"], check=True)\n")


def colab_link(app: Sphinx, repo_path: str) -> str | None:
    """Colab's URL of a notebook in the repository, built as the theme builds its launch button."""
    colab = app.config.html_theme_options.get("launch_buttons", {}).get("colab_url", "").rstrip("/")
    url, branch = repository(app)
    if not colab or not url.startswith("https://github.com/"):
        return None
    return f"{colab}/github/{url.removeprefix('https://github.com/')}/blob/{branch}/{repo_path}"


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
# the summary, and link "chapter N" to book/NN-* once that chapter is in the book.
BOOK_POINTER = re.compile(r"^Book: chapter (\d+)\b")


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
        text = text.replace(f"chapter {chapter}", f":doc:`chapter {chapter} </{pages[0]}>`", 1)
    summary_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    lines[summary_end:summary_end] = ["", text]


# --------------------------------------------------------------------------
# 4. Nothing from a CDN: animations, Thebe
# --------------------------------------------------------------------------

# matplotlib's `Animation.to_jshtml()` starts with a style sheet from a CDN
# (Font Awesome 4, for the icons of its buttons). Offline it cannot load; the
# theme's own Font Awesome draws the icons instead, so drop the link.
JSHTML_CDN_LINK = re.compile(r'<link rel="stylesheet"\s+href="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*">\s*')


def drop_animation_cdn_link(app: Sphinx, doctree: nodes.document) -> None:
    for node in list(doctree.findall(nodes.raw)):
        if "html" in node.get("format", "").split() and JSHTML_CDN_LINK.search(node.astext()):
            text = JSHTML_CDN_LINK.sub("", node.astext())
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
    needle = colab_install_target(*repository(app))
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
        if not any("google.colab" in source and needle in source for source in code):
            logger.warning(f"{docname}: no Colab set-up cell installing {needle!r}; copy the cell from "
                           "book/maintainers.md (the For maintainers page) to the top of the chapter",
                           location=docname, type="course", subtype="colab")
        markdown = "".join("".join(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "markdown")
        if CHAPTER.match(docname) and "{chapter-exercise}" not in markdown:
            logger.warning(f"{docname}: a chapter ends with its exercise: add a `chapter-exercise` box "
                           "(see book/maintainers.md)", location=docname, type="course", subtype="exercise")
    return []


def nitpick_ignore_as_tuples(app: Sphinx, config) -> None:
    """_config.yml can only give `nitpick_ignore` entries as lists; Sphinx matches tuples."""
    config.nitpick_ignore = [tuple(entry) for entry in config.nitpick_ignore]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", nitpick_ignore_as_tuples)
    app.connect("config-inited", use_local_mathjax)
    app.connect("config-inited", repository_substitution)
    app.connect("build-finished", copy_mathjax)
    app.add_directive("chapter-exercise", ChapterExercise)
    app.add_directive("colab-setup-cell", ColabSetupCell)
    app.connect("autodoc-process-docstring", link_book_pointer, priority=400)  # before napoleon's (500)
    app.connect("env-updated", check_chapters)
    app.connect("html-page-context", drop_thebe_assets)
    app.connect("doctree-read", drop_animation_cdn_link)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
