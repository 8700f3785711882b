"""The real book: strict build, offline pages, and every page opened in headless Chromium.

The pages come from `_toc.yml`, so chapters are covered as they are added.
Screenshots of every page go to `_build/screenshots/` (a CI artefact).
"""

from __future__ import annotations

import copy
import inspect
import re

import pytest
import yaml

from .browser import PHONE, accessibility_violations, layout, offline_browser, save_screenshot
from .building import ROOT, strict_build_of_the_book
from .pages import built_pages, holds_widget, remote_css_urls, remote_loads

SCREENSHOTS = ROOT / "_build" / "screenshots"
# The least scale a figure is shown at on a phone, as course.js states it.
MIN_FIGURE_SCALE = float(re.search(r"var MIN_FIGURE_SCALE = ([0-9.]+);",
                                   (ROOT / "book" / "_static" / "course.js").read_text()).group(1))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def toc_files(entry) -> list[str]:
    """Every page named in the table of contents (as `book/name`, no suffix), in reading order."""
    files = [re.sub(r"\.(md|ipynb|rst)$", "", entry[key]) for key in ("root", "file") if key in entry]
    for key in ("parts", "chapters", "sections"):
        for child in entry.get(key, []):
            files += toc_files(child)
    return files


# Sphinx's own pages, besides those of the table of contents.
GENERATED_PAGES = ["index", "genindex", "search"]
PAGES = toc_files(TOC) + GENERATED_PAGES


@pytest.fixture(scope="module")
def book():
    return strict_build_of_the_book()


@pytest.fixture(scope="module")
def html(book):
    if not (book.html / "index.html").is_file():
        pytest.fail(f"the book was not built:\n{book.log[-3000:]}")
    return book.html


@pytest.fixture(scope="module")
def browser():
    with offline_browser() as browser:
        yield browser


def test_book_builds_strictly(book):
    # -W: warnings are errors; -n: every reference must resolve.
    assert book.returncode == 0, book.log[-6000:]
    assert (book.html / "index.html").is_file()


def test_every_built_page_is_tested(html):
    built = {str(p.relative_to(html).with_suffix("")) for p in built_pages(html)}
    assert built == set(PAGES), f"pages built but not in this test: {sorted(built - set(PAGES))}; " \
                                f"listed but not built: {sorted(set(PAGES) - built)}"


def test_no_page_loads_anything_from_the_network(html):
    remote = {str(p.relative_to(html)): remote_loads(p) for p in built_pages(html)}
    assert not {page: loads for page, loads in remote.items() if loads}
    assert not remote_css_urls(html)


def test_no_page_holds_a_widget_that_needs_a_kernel(html):
    # See book/maintainers.md: tag the widget cell `remove-output`, show a static figure.
    assert not [str(p.relative_to(html)) for p in built_pages(html) if holds_widget(p)]


# What TensorFlow writes to stderr when it starts, whatever TF_CPP_MIN_LOG_LEVEL says.
TENSORFLOW_START_UP = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers",
                       "failed call to cuInit")


def test_no_page_shows_tensorflows_start_up_log(html):
    # See book/maintainers.md: tag the cell `remove-stderr`.
    shown = {str(p.relative_to(html)): [line for line in TENSORFLOW_START_UP if line in p.read_text()]
             for p in built_pages(html)}
    assert not {page: lines for page, lines in shown.items() if lines}


def test_math_is_served_by_the_book(html):
    pages_with_math = [p for p in built_pages(html) if 'class="math' in p.read_text()]
    assert pages_with_math, "the landing page and the API page have formulas"
    for page in pages_with_math:
        scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', page.read_text())
        assert scripts, f"{page.name}: math but no MathJax script"
        local = (page.parent / scripts[0].split("?")[0]).resolve()
        assert local.is_file() and local.is_relative_to(html), f"{page.name}: MathJax from {scripts[0]}"
    fonts = list((html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) > 10


def test_chapter_files_are_numbered_in_the_toc():
    numbered = set()
    for part in TOC.get("parts", []):
        if part.get("numbered"):
            numbered.update(f for chapter in part["chapters"] for f in toc_files(chapter))
    chapters = sorted(str(p.relative_to(ROOT).with_suffix("")) for p in (ROOT / "book").glob("[0-9][0-9]-*.ipynb"))
    missing = [c for c in chapters if c not in numbered]
    assert not missing, f"add these chapters to the numbered part of _toc.yml: {missing}"


def public_names(module) -> set[str]:
    """`__all__`, or else the functions and classes the module defines without a leading underscore."""
    names = getattr(module, "__all__", None) or [
        name for name, obj in vars(module).items() if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__]
    return {f"{module.__name__}.{name}" for name in names}


def test_api_page_documents_every_public_function():
    import cnnkit
    import cnnkit.architectures
    import cnnkit.data
    import cnnkit.interpret
    import cnnkit.invariance
    import cnnkit.naive
    import cnnkit.nn

    text = (ROOT / "book" / "api.md").read_text()
    documented = set(re.findall(r"^\.\. auto(?:function|class):: (\S+)$", text, flags=re.MULTILINE))
    public = (public_names(cnnkit) | public_names(cnnkit.naive) | public_names(cnnkit.data) | public_names(cnnkit.nn)
              | public_names(cnnkit.architectures) | public_names(cnnkit.interpret) | public_names(cnnkit.invariance))
    assert public - documented == set(), "add these to book/api.md"
    assert documented - public == set(), "book/api.md documents names cnnkit does not export"


# A page's load at 1280 px, shared by the two tests that read it there (conftest.py runs a page's tests in
# one group, on one worker). The layout is measured before the full-page screenshot (which resizes the view
# while it is taken); the offline report is kept before axe-core runs, whose own reading of the style sheets
# fails on file:// pages and is not the page's doing.
_AT_1280: dict[str, tuple] = {}


def opened_at_1280(html, browser, page: str) -> tuple:
    """``(report, layout, violations)`` of ``page`` opened once at 1280 px."""
    if page not in _AT_1280:
        report, live = browser.open(html / f"{page}.html")
        try:
            found = layout(live)
            save_screenshot(live, SCREENSHOTS / f"{page}.png")
            report = copy.deepcopy(report)
            _AT_1280[page] = report, found, accessibility_violations(live)
        finally:
            live.close()
    return _AT_1280[page]


@pytest.mark.parametrize("page", PAGES)
def test_page_works_offline_in_chromium(html, browser, page):
    report, _, _ = opened_at_1280(html, browser, page)
    assert report.problems() == []
    if page == "index":
        assert report.final_url.endswith("/book/intro.html"), "index.html should lead to the landing page"
    if page in ("book/intro", "book/api"):
        assert report.math > 0 and report.typeset == report.math


@pytest.mark.parametrize("page", PAGES)
def test_page_reads_well_at_1280_px(html, browser, page):
    """No critical or serious axe-core violation; nothing wider than the text column; no shrunken figure."""
    _, found, violations = opened_at_1280(html, browser, page)
    problems = violations + [f"wider than the column ({found['column']} px): {w}" for w in found["wide"]]
    problems += [f"figure shown below 0.9 of its drawn size: {s}" for s in found["small"]]
    assert problems == []


@pytest.mark.parametrize("page", PAGES)
def test_page_fits_a_phone(html, browser, page):
    name = page.replace("/", "-")
    _, live = browser.open(html / f"{page}.html", screenshot=SCREENSHOTS / "phone" / f"{name}.png", viewport=PHONE)
    try:
        found = layout(live)
    finally:
        live.close()
    assert not found["pageScrollsSideways"], f"the page is {found['pageWidth']} px wide at 390 px"
    assert found["animationsCut"] == 0, "an animation or its controls pass the screen's edge"
    assert found["unmarkedMath"] == 0, "a formula wider than the column does not show that it scrolls"
    # A figure shrunk to a phone's column would shrink its 11-12 px labels to 5-7 px: figures keep at
    # least MIN_FIGURE_SCALE (course.js) of their drawn size, in a box that scrolls and says so.
    shrunk = [f"{f['name']} at {f['scale']:.2f}" for f in found["figures"] if f["scale"] < MIN_FIGURE_SCALE - 0.01]
    assert shrunk == [], f"figures shown below {MIN_FIGURE_SCALE} of their drawn size on a phone: {shrunk}"
    unmarked = [f["name"] for f in found["figures"] if f["unmarked"]]
    assert unmarked == [], f"figures that scroll sideways without saying so: {unmarked}"


def test_figures_declare_their_density_and_a_text(html):
    """A 2x PNG says so (srcset 2x), and no image's alternative text is its file's name."""
    import struct

    problems, double = [], 0
    for path in html.rglob("*.html"):
        for tag in re.findall(r"<img [^>]*>", path.read_text(encoding="utf-8", errors="replace")):
            src, alt = re.search(r'src="([^"]+)"', tag), re.search(r'alt="([^"]*)"', tag)
            if alt is None or re.search(r"\.(png|jpe?g|svg|gif)$", alt.group(1)):
                problems.append(f"{path.name}: {tag[:90]}: no alternative text but a file name")
            width = re.search(r"width: ([0-9.]+)px", tag)
            if not (src and width and src.group(1).endswith(".png")):
                continue
            with open((path.parent / src.group(1)).resolve(), "rb") as png:
                pixels = struct.unpack(">I", png.read(24)[16:20])[0]
            if abs(pixels - 2 * float(width.group(1))) <= 3:
                double += 1
                if "srcset=" not in tag or " 2x" not in tag:
                    problems.append(f"{path.name}: {src.group(1)} is a 2x PNG without srcset 2x")
    assert double > 20, f"only {double} 2x PNG figures found: has the figure format changed?"
    assert problems == []


def test_api_page_links_to_the_sections_of_the_book(html):
    api = (html / "book" / "api.html").read_text()
    links = re.findall(r'href="(\d\d-[^"#]+\.html)(#[^"]*)?"', api)
    assert links, "the API page links to the chapters"
    with_anchor = {page + anchor for page, anchor in links if anchor}
    # conv2d_backward's pointer names the section "Backward pass" of chapter 2.
    assert any(link.startswith("02-convolution.html#backward-pass") for link in with_anchor), sorted(with_anchor)
    for link in with_anchor:
        page, anchor = link.split("#")
        assert f'id="{anchor}"' in (html / "book" / page).read_text(), link


def _search(html, browser, query, results, script):
    """Search the built book for ``query``; returns the page's report and ``script`` run on the hits."""
    report, live = browser.open(html / "search.html", screenshot=SCREENSHOTS / f"search-{query}.png",
                                query=f"?q={query}", wait_for=results)
    hits = live.eval_on_selector_all(results, script)
    live.close()
    return report, hits


def test_search_finds_pages(html, browser):
    report, hits = _search(html, browser, "convolution", "#search-results ul.search li a",
                           "links => links.map(a => a.href)")
    assert report.problems() == []
    assert any("/book/api.html" in hit for hit in hits), hits


def test_search_leads_to_sections(html, browser):
    # "transposed" is prose of chapter 2's section on the transposed convolution, deep in a long page.
    report, hits = _search(html, browser, "transposed", "#search-results ul.course-section-hits a",
                           "links => links.map(a => [a.href, a.textContent])")
    assert report.problems() == []
    chapter2 = [(href, title) for href, title in hits if "/book/02-convolution.html" in href]
    assert chapter2, hits
    assert all("#" in href for href, _ in chapter2)
    assert any("transpose" in title.lower() for _, title in chapter2), chapter2
    assert not report.broken_links
