"""Figures declare what they are: a 2x PNG says so with ``srcset``.

The chapters' figures are PNGs drawn at twice the size they are shown
(``cnnkit.viz.style``: IPython's "retina" format, which records the CSS size
as the output's width and height). docutils writes that size as the image's
``style``; the browser then scales the PNG down by two and all is well on
screen, but an audit (or a browser choosing an image for a density) sees a
picture "shown at half its size". ``srcset="... 2x"`` states the intent: the
file is for a 2x screen, its natural CSS size is half its pixels.

Only images whose file holds twice the pixels of their declared width are
marked, so a plain PNG (or an SVG) is left as it was.

An image in a numbered figure without alternative text gets its caption as
``alt`` (docutils would write the file's name, which a screen reader reads
out as a 64-digit hash).
"""

from __future__ import annotations

import os
import re

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.images import get_image_size

# One CSS pixel may be rounded either way when IPython records the size.
TOLERANCE_PX = 1.5


def declared_width(node: nodes.image) -> float | None:
    """The image's CSS width in pixels, when it was given in px or unitless."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*(px)?\s*", str(node.get("width", "")))
    return float(match.group(1)) if match else None


def is_double_density(pixels: int | None, css_width: float | None) -> bool:
    return bool(pixels and css_width) and abs(pixels - 2 * css_width) <= 2 * TOLERANCE_PX


def _source_path(translator, uri: str) -> str:
    return uri if os.path.isabs(uri) else os.path.join(translator.builder.srcdir, uri)


def caption_of(node: nodes.image) -> str | None:
    """The caption of the figure that holds ``node``, as plain text."""
    figure = node.parent
    while figure is not None and not isinstance(figure, nodes.figure):
        figure = figure.parent
    if figure is None:
        return None
    captions = [child for child in figure.children if isinstance(child, nodes.caption)]
    return " ".join(captions[0].astext().split()) if captions else None


def visit_image(translator, node: nodes.image) -> None:
    source_uri = node["uri"]
    if "alt" not in node:  # docutils would fall back to the file's name, which says nothing to a screen reader
        caption = caption_of(node)
        if caption:
            node["alt"] = caption
    type(translator).visit_image(translator, node)
    if not source_uri.lower().endswith(".png"):
        return
    size = get_image_size(_source_path(translator, source_uri))
    if not is_double_density(size and size[0], declared_width(node)):
        return
    for index in range(len(translator.body) - 1, -1, -1):
        tag = translator.body[index]
        if tag.startswith("<img ") and "srcset=" not in tag:
            translator.body[index] = tag.replace("<img ", f'<img srcset="{node["uri"]} 2x" ', 1)
            return


def depart_image(translator, node: nodes.image) -> None:
    type(translator).depart_image(translator, node)


def setup(app: Sphinx) -> dict:
    app.add_node(nodes.image, override=True, html=(visit_image, depart_image))
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
