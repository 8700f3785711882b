"""Nothing from a CDN: the style sheet matplotlib's animations name, and sphinx-thebe's scripts.

The Font Awesome style sheet that matplotlib's JavaScript animations name,
and sphinx-thebe's scripts (Thebe is off), are left out of the pages; the
animations get alternative text and labelled controls.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.application import Sphinx

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


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", drop_animation_cdn_link)
    app.connect("html-page-context", drop_thebe_assets)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
