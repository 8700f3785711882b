"""Figures at the size the book shows them: the chapters' set-up cell calls :func:`use_book_style`.

The book's text column is about 690 CSS pixels wide at a 1280-pixel window.
A figure drawn wider is scaled down by the browser, and its labels with it
(the 10-point labels of a 1,100-pixel figure end up 6 pixels tall). So:

- figures are drawn at ``BOOK_DPI = 72`` dots per inch, where one point is
  one CSS pixel: a ``figsize`` of 10 inches is 720 pixels, shown unscaled;
- inline figures are PNGs at twice that resolution that declare their CSS
  size (IPython's "retina" format), sharp on high-density screens;
- no text is smaller than ``MIN_FONT_PT = 11`` points, hence 11 pixels: the
  default size is 12, and sizes below 11 set by a helper or a chapter are
  raised to 11 when the figure is shown (constrained layouts make room).

In Jupyter or Colab the same settings apply, so a figure looks as in the book.
"""

from __future__ import annotations

BOOK_DPI = 72
MIN_FONT_PT = 11.0
# The widest a figure may be drawn, in inches, to fit the column unscaled.
COLUMN_INCHES = 9.5

RC = {
    "figure.dpi": BOOK_DPI,
    "savefig.dpi": "figure",
    "font.size": 12,  # labels and ticks at 12 px; nothing below MIN_FONT_PT
    "axes.titlesize": "large",
    "legend.fontsize": "medium",
    "xtick.labelsize": "medium",
    "ytick.labelsize": "medium",
}


def raise_small_text(fig, minimum: float = MIN_FONT_PT) -> int:
    """Set every text of ``fig`` smaller than ``minimum`` points to ``minimum``; returns how many changed."""
    from matplotlib.text import Text

    changed = 0
    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < minimum:
            text.set_fontsize(minimum)
            changed += 1
    return changed


def _retina_png(fig):
    from IPython.core.pylabtools import retina_figure

    raise_small_text(fig)
    return retina_figure(fig, base64=True, bbox_inches="tight")


def use_book_style() -> None:
    """Apply the book's figure settings in this process (and, under IPython, its inline PNG format)."""
    import matplotlib as mpl

    mpl.rcParams.update(RC)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: the settings above are all there is
        return
    shell = get_ipython()
    if shell is None:
        return
    if "inline" in mpl.get_backend():
        # Loading the inline backend registers its own figure formats, which
        # would replace ours: load it first.
        import matplotlib_inline.backend_inline  # noqa: F401
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    formatters["image/png"].for_type(Figure, _retina_png)
    # One format only: myst-nb would otherwise pick an SVG or PDF drawn without the floor.
    for mime in ("image/svg+xml", "application/pdf", "image/jpeg"):
        formatters[mime].pop(Figure, None)
