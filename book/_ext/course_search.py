"""Search by section: a hit opens at the section that holds the query's words.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

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


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", collect_sections)
    app.connect("env-purge-doc", purge_sections)
    app.connect("env-merge-info", merge_sections)
    app.connect("build-finished", write_sections)
    # Before course_cdn's drop_thebe_assets (priority 500), which replaces the page's list of scripts:
    # a script added after that would miss the search page.
    app.connect("html-page-context", search_page_scripts, priority=400)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
