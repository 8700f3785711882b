"""From the API page to the chapters: the `Book: chapter N, ...` line of a cnnkit docstring.

The line is shown under the summary and links to that chapter, at the
section it names once every page is read.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.application import Sphinx

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


def setup(app: Sphinx) -> dict:
    app.connect("autodoc-process-docstring", link_book_pointer, priority=400)  # before napoleon's (500)
    app.add_role("book-section", book_section_role)
    app.connect("doctree-resolved", resolve_book_sections)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
