"""The repository, Colab, the chapters' set-up cell and the `chapter-exercise` box.

`repository.url` and `.branch` in `_config.yml` are the one place that names
the repository. From them come the `{{ repository }}` substitution (a link),
the chapters' Colab set-up cell (`colab_setup_cell`, written into the
chapters by `make colab-cells`: see `main`, and shown in
book/maintainers.md by the `colab-setup-cell` directive) and the Colab links
of the `chapter-exercise` directive: a chapter names its graded exercise as

    ```{chapter-exercise} 02-convolution/convolution
    ```

which renders a box with the exercise's path, a link that downloads
`exercises/02-convolution/convolution.ipynb` and one that opens it in Colab.
A missing exercise is a warning, hence an error in the strict build.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.console import bold, red
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

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


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", repository_substitution)
    app.connect("config-inited", hide_colab_until_published)
    app.add_directive("chapter-exercise", ChapterExercise)
    app.add_directive("colab-setup-cell", ColabSetupCell)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
