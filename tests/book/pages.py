"""Reading built HTML without a browser: which pages there are, and what they would load."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

# Folders of the build that hold assets, not pages.
ASSET_FOLDERS = {"_static", "_sources", "_downloads", "_images", "_sphinx_design_static", "_panels_static"}
REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)
# <link rel=...> values that are navigation, not something the browser loads.
NAVIGATION_RELS = {"index", "search", "next", "prev", "canonical", "author", "license", "help", "alternate"}
# Attributes through which a page loads something, per tag.
LOADING_ATTRIBUTES = {
    "script": ("src",), "img": ("src", "srcset"), "source": ("src", "srcset"), "video": ("src", "poster"),
    "audio": ("src",), "iframe": ("src",), "embed": ("src",), "object": ("data",), "track": ("src",),
    "input": ("src",), "image": ("href", "xlink:href"), "use": ("href", "xlink:href"),
}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def built_pages(html: Path) -> list[Path]:
    """Every HTML page of a build (assets left out)."""
    return sorted(p for p in html.rglob("*.html") if not ASSET_FOLDERS & set(p.relative_to(html).parts))


class _Loads(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str]] = []  # (where, URL) for everything the page would fetch
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link":
            rels = set((attrs.get("rel") or "").lower().split())
            if not rels or not rels <= NAVIGATION_RELS:
                self.loads.append(("<link href>", attrs.get("href") or ""))
        for name in LOADING_ATTRIBUTES.get(tag, ()):
            if attrs.get(name):
                self.loads += [(f"<{tag} {name}>", url.split()[0]) for url in attrs[name].split(",") if url.strip()]
        if attrs.get("style"):
            self.loads += [(f"<{tag} style>", url) for url in css_urls(attrs["style"])]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.loads += [("<style>", url) for url in css_urls(data)]


def css_urls(css: str) -> list[str]:
    return [a or b for a, b in CSS_URL.findall(css)]


def remote_loads(page: Path) -> list[str]:
    """What the page would fetch from the network when opened: scripts, styles, fonts, images, frames."""
    parser = _Loads()
    parser.feed(page.read_text(encoding="utf-8"))
    return [f"{where} {url}" for where, url in parser.loads if REMOTE.match(url)]


def remote_css_urls(html: Path) -> list[str]:
    """url(...) and @import of the build's style sheets that point at the network (web fonts, ...)."""
    found = []
    for css in sorted(html.glob("_static/**/*.css")):
        found += [f"{css.relative_to(html)}: {u}" for u in css_urls(css.read_text(errors="replace"))
                  if REMOTE.match(u)]
    return found


def holds_widget(page: Path) -> bool:
    """Whether the page shows an ipywidgets view, which needs a live kernel."""
    return WIDGET_VIEW in page.read_text(encoding="utf-8")
