"""Open built pages in headless Chromium with the network off, and list what a reader would see wrong.

Chromium is Debian's (`make system-deps` installs it); Playwright only drives
it and never downloads a browser of its own.
"""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync"]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
VIEWPORT = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # a phone held upright, in CSS pixels
REDIRECT = re.compile(r'<meta http-equiv="refresh" content="\d+; *url=([^"]+)"', re.IGNORECASE)

# Runs in the page once it has loaded: waits for MathJax and the fonts, then
# reports math, images, animations and links.
INSPECT = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;
  for (const img of document.images) { img.loading = 'eager'; }
  await Promise.all(Array.from(document.images, img => img.decode().catch(() => null)));
  const maths = Array.from(document.querySelectorAll('.math'));
  const animations = [];
  for (const anim of document.querySelectorAll('div.animation')) {
    const img = anim.querySelector('img');
    const slider = anim.querySelector('input.anim-slider');
    const first = img ? img.src : '';
    const next = anim.querySelector('button[title="Next frame"]');
    if (next) { next.click(); }
    if (img) { await img.decode().catch(() => null); }
    animations.push({frames: slider ? Number(slider.max) + 1 : 0,
                     shown: !!img && img.complete && img.naturalWidth > 0,
                     advanced: !!img && img.src !== first && img.naturalWidth > 0});
    if (anim.querySelector('button[title="First frame"]')) { anim.querySelector('button[title="First frame"]').click(); }
  }
  return {
    math: maths.length,
    typeset: maths.filter(m => m.querySelector('mjx-container')).length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    brokenImages: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
                       .map(i => i.getAttribute('src') || i.id),
    animations: animations,
    links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
  };
}
"""


# Runs in a page at its viewport: what does not fit. The text column is the
# article's content box; a block is too wide when it scrolls sideways or its
# right edge passes the column's. A figure's drawn size is the CSS width its
# image declares (a 2x PNG declares half its pixels), else its pixel width.
LAYOUT = r"""
() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const column = article.getBoundingClientRect();
  const style = getComputedStyle(article);
  const right = column.right - parseFloat(style.paddingRight) + 1;
  const describe = el => {
    const cell = el.closest('.cell, .highlight, .animation, section');
    const heading = el.closest('section') && el.closest('section').querySelector('h1, h2, h3');
    return (heading ? heading.textContent.trim().slice(0, 50) : '') + ' | ' +
           el.tagName.toLowerCase() + '.' + (el.className || '') + ': ' +
           (el.textContent || el.getAttribute('src') || '').trim().slice(0, 70).replace(/\s+/g, ' ');
  };
  const blocks = new Set(article.querySelectorAll(
      'pre, div.cell_output > div.output, div.cell_output > div, div.animation, div.cell_output table'));
  const wide = [];
  for (const el of blocks) {
    if (el.closest('.anim-controls')) { continue; }
    const box = el.getBoundingClientRect();
    if (box.width === 0) { continue; }
    if (el.scrollWidth > el.clientWidth + 1 || box.right > right) {
      wide.push(describe(el) + ` (${Math.round(Math.max(el.scrollWidth, box.width))} px wide)`);
    }
  }
  const small = [];
  for (const img of article.querySelectorAll('img')) {
    const shown = img.getBoundingClientRect().width;
    const drawn = parseFloat(img.dataset.drawnWidth) || parseFloat(img.style.width) ||
                  parseFloat(img.getAttribute('width')) || img.naturalWidth;
    if (shown > 0 && drawn > 0 && shown < 0.9 * drawn) {
      small.push(`${(img.getAttribute('src') || img.id).slice(-60)}: shown at ${Math.round(shown)} px, ` +
                 `drawn ${Math.round(drawn)} px (${(shown / drawn).toFixed(2)})`);
    }
  }
  // Every figure outside an animation: the scale it is shown at, and whether
  // a box that scrolls sideways around it says so (course.js, on a phone).
  const figures = [];
  for (const img of article.querySelectorAll('div.cell_output img')) {
    if (img.closest('div.animation')) { continue; }
    const shown = img.getBoundingClientRect().width;
    const drawn = parseFloat(img.dataset.drawnWidth) || parseFloat(img.style.width) ||
                  parseFloat(img.getAttribute('width')) || img.naturalWidth;
    const box = img.parentElement;
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    figures.push({name: (img.getAttribute('src') || img.id).slice(-40), scale: shown / drawn,
                  unmarked: scrolls && !(box.getAttribute('tabindex') === '0' && box.getAttribute('aria-label'))});
  }
  // An animation is cut when it or one of its controls passes the column's edge or the screen's.
  const edge = Math.min(window.innerWidth + 1, right);
  const animations = Array.from(document.querySelectorAll('div.animation'), anim => {
    const box = anim.getBoundingClientRect();
    const controls = Array.from(anim.querySelectorAll('button, input'));
    return {right: box.right, cut: controls.filter(c => c.getBoundingClientRect().right > edge).length};
  });
  // What makes the page wider than the screen: the outermost elements past its right edge.
  const clipped = el => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') { return true; }
    }
    return false;
  };
  const past = Array.from(document.querySelectorAll('body *')).filter(el => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > window.innerWidth + 1 && getComputedStyle(el).position !== 'fixed'
           && !clipped(el);
  }).slice(0, 5).map(describe);
  // Display math wider than the column must show that it scrolls (course.js marks it).
  const unmarkedMath = Array.from(document.querySelectorAll('div.math, mjx-container[display="true"]'))
      .filter(m => m.scrollWidth > m.clientWidth + 1 && !m.classList.contains('course-scrolls')).length;
  return {
    unmarkedMath: unmarkedMath,
    past: past,
    column: Math.round(column.width),
    wide: wide,
    small: small,
    figures: figures,
    pageScrollsSideways: document.documentElement.scrollWidth > window.innerWidth + 1,
    pageWidth: document.documentElement.scrollWidth,
    animationsCut: animations.filter(a => a.cut > 0 || a.right > edge).length,
  };
}
"""

# axe-core's impacts that fail a page.
BLOCKING_IMPACTS = ("critical", "serious")


def layout(page) -> dict:
    """What does not fit on the page at its current viewport (see LAYOUT)."""
    return page.evaluate(LAYOUT)


def accessibility_violations(page, impacts=BLOCKING_IMPACTS) -> list[str]:
    """axe-core's violations of the given impacts, one line per rule and element.

    axe-core comes inside the pinned PyPI package axe-playwright-python
    (requirements.txt): nothing is fetched when the tests run.
    """
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response
    return [f"{v['impact']}: {v['id']} ({v['help']}): {' '.join(map(str, node['target']))}"
            for v in results["violations"] if v["impact"] in impacts for node in v["nodes"]]


@dataclass
class PageReport:
    """What one page did when opened offline."""

    url: str
    final_url: str = ""
    outside_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    math: int = 0
    typeset: int = 0
    math_errors: int = 0
    broken_images: list[str] = field(default_factory=list)
    animations: list[dict] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Everything a reader would notice, one line each; empty if the page is fine."""
        found = [f"requested from outside the book: {url}" for url in self.outside_requests]
        found += [f"failed to load: {failure}" for failure in self.failed_requests]
        found += [f"console error: {text}" for text in self.console_errors]
        if self.typeset < self.math:
            found.append(f"MathJax typeset {self.typeset} of {self.math} formulas")
        if self.math_errors:
            found.append(f"{self.math_errors} formulas have TeX errors")
        found += [f"image did not load: {src}" for src in self.broken_images]
        for index, anim in enumerate(self.animations):
            if not anim["shown"]:
                found.append(f"animation {index}: no frame shown")
            if anim["frames"] > 1 and not anim["advanced"]:
                found.append(f"animation {index}: 'Next frame' did not change the frame")
        found += [f"broken link: {link}" for link in self.broken_links]
        return found


@lru_cache(maxsize=None)
def _ids(path: Path) -> frozenset[str]:
    return frozenset(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8", errors="replace")))


def broken_local_links(links: list[str]) -> list[str]:
    """The file:// links whose file, or whose #anchor in that file, does not exist."""
    broken = []
    for link in sorted(set(links)):
        parts = urlsplit(link)
        if parts.scheme != "file":
            continue
        path = Path(unquote(parts.path))
        if not path.is_file():
            broken.append(link)
        elif parts.fragment and path.suffix == ".html" and unquote(parts.fragment) not in _ids(path):
            broken.append(link)
    return broken


class OfflineBrowser:
    """One Chromium for many pages; every request outside file:, data: and blob: is refused and recorded."""

    def __init__(self, context):
        self.context = context

    def open(self, page_path: Path, screenshot: Path | None = None, query: str = "",
             wait_for: str | None = None, viewport: dict | None = None) -> tuple[PageReport, object]:
        """Open a built page (waiting for a selector, if given); returns its report and the live page."""
        url = page_path.resolve().as_uri() + query
        report = PageReport(url)
        page = self.context.new_page()
        if viewport:
            page.set_viewport_size(viewport)
        page.set_default_timeout(10_000)

        def refuse_outside(route):
            if not route.request.url.startswith(LOCAL_SCHEMES):
                route.abort("internetdisconnected")
            else:
                route.continue_()

        def on_request(request):
            if not request.url.startswith(LOCAL_SCHEMES) and request.url not in report.outside_requests:
                report.outside_requests.append(request.url)

        def on_failed(request):
            if request.url.startswith(LOCAL_SCHEMES):
                report.failed_requests.append(f"{request.url} ({request.failure})")

        def on_console(message):
            if message.type == "error":
                report.console_errors.append(message.text)

        page.route("**/*", refuse_outside)
        page.on("request", on_request)
        page.on("requestfailed", on_failed)
        page.on("console", on_console)
        page.on("pageerror", lambda error: report.console_errors.append(f"uncaught: {error}"))
        redirect = REDIRECT.search(page_path.read_text(encoding="utf-8", errors="replace"))
        page.goto(url, wait_until="load")
        if redirect:  # index.html: wait for the page it leads to
            page.wait_for_url(f"**/{redirect.group(1)}", wait_until="load")
        if wait_for:
            page.wait_for_selector(wait_for, timeout=15_000)
        report.final_url = page.url
        found = page.evaluate(INSPECT)
        report.math, report.typeset, report.math_errors = found["math"], found["typeset"], found["mathErrors"]
        report.broken_images, report.animations = found["brokenImages"], found["animations"]
        report.links = found["links"]
        report.broken_links = broken_local_links(report.links)
        if screenshot is not None:
            save_screenshot(page, screenshot)
        return report, page


def save_screenshot(page, path: Path) -> None:
    """The whole length of the live ``page``, as a PNG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, timeout=60_000)


@contextmanager
def offline_browser():
    """Debian's headless Chromium, offline, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed: run `make system-deps` as root (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(offline=True, viewport=VIEWPORT)
            yield OfflineBrowser(context)
        finally:
            browser.close()
