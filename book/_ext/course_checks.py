"""Chapter checks: warnings, so errors in the strict build.

A page that runs code must be stored as `.ipynb` (Colab cannot open a MyST
text notebook); a notebook must start with the Colab set-up cell that
`_config.yml` gives; and a chapter (`book/NN-topic.ipynb`) must have its
`chapter-exercise` box.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from course_colab import colab_setup_cell, find_colab_cell, repository
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

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


def setup(app: Sphinx) -> dict:
    app.connect("env-updated", check_chapters)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
