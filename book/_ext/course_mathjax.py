"""Offline MathJax, from a pinned PyPI package.

Sphinx loads MathJax 3 from a CDN by default, so offline a page shows raw
TeX. This points `mathjax_path` at a local copy and copies it into
`_static/mathjax/` of every HTML build. The copy comes from the pinned PyPI
package `django-static-mathjax` (MathJax 3.2.2 built from MathJax's sources,
Apache-2.0; see `requirements.txt`), which `make setup` installs with pip like
every other dependency: no npm, no CDN, nothing fetched by the build. The
build checks the package's version and the SHA-256 of the entry script, so a
different MathJax fails loudly.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

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
                             "book/_ext/course_mathjax.py together with the pin)")
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


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", use_local_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
