"""The one boundary between text a student controls and anything that shows it.

Names come from file names, notes quote cells, outputs are what a notebook
printed: all of it may carry terminal escape sequences (ANSI colours, OSC
titles and hyperlinks, a screen clear), lone C0/C1 control characters, or
bidirectional overrides that make a name read differently from how it
sorts. Every writer (the CSV tables, the class and feedback pages, the
terminal summary, the progress bar, ``check``'s messages) passes its text
through :func:`plain` here, through one of the three wrappers below:

* :func:`for_terminal`: one line, cut to a width;
* :func:`for_csv`: one line, and never the start of a spreadsheet formula;
* :func:`for_html`: escaped for HTML, newlines kept where the page shows
  preformatted text.

Escape sequences are removed whole (their parameters would otherwise stay
as noise such as ``[2J``); other control and bidi characters are removed.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

# ESC [ params final (CSI), ESC ] ... BEL or ESC \ (OSC), ESC P/X/^/_ ... ESC \
# (DCS, SOS, PM, APC), their 8-bit forms (0x9B CSI, 0x9D OSC, ...), and
# two-character ESC sequences. An unterminated string sequence runs to the
# end of the text, as it would in a terminal.
ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
# Bidirectional embeddings, overrides and isolates (the "Trojan Source" set):
# they reorder what a reader sees without changing the text. The marks
# (U+200E, U+200F, U+061C) are removed too, but they come with honest
# right-to-left names, so they alone do not make a name suspect.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Zero-width joiners are part of how some scripts and emoji are written.
KEPT_FORMAT = frozenset("\u200c\u200d")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def has_controls(text):
    """Whether ``text`` holds a control character, an escape sequence or a bidi override."""
    return any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in text)


# How many kept characters a table remembers: enough for any class's names and texts, bounded for a
# text made of many distinct characters (each further one is looked up again, not stored).
KEPT_REMEMBERED = 1 << 16


class _Removals(dict):
    """``str.translate`` table: every control, format and surrogate code point to nothing (white space kept).

    Filled as ``translate`` meets characters (``__missing__``) instead of by
    a scan of all 1.1 million code points, which cost 0.9 s in every grade
    and check command that shows a name.
    """

    def __init__(self, lines):
        super().__init__()
        self.lines = lines

    def __missing__(self, code):
        ch = chr(code)
        if ch in "\n\t\r":
            value = code if self.lines else " "
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in KEPT_FORMAT:
            value = None
        else:
            value = code
        if value != code or len(self) < KEPT_REMEMBERED:
            self[code] = value
        return value


@lru_cache(maxsize=2)
def _removals(lines):
    return _Removals(lines)


def plain(text, lines=False, limit=None):
    """``text`` with escape sequences, control, bidi and invisible format characters removed.

    Parameters
    ----------
    text : object
        Anything; it is shown as ``str(text)``.
    lines : bool
        Keep newlines (``\\r\\n`` and ``\\r`` become ``\\n``) and tabs; otherwise
        each becomes one space, so that the result is one line.
    limit : int or None
        Cut the result to this many characters, the last one an ellipsis.
    """
    text = ESCAPE_SEQUENCE.sub("", str(text))
    if lines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    else:
        text = text.replace("\r\n", " ")
    # Cs: lone surrogates, from a file name that was not UTF-8; no file can be written with them.
    text = text.translate(_removals(lines))
    if limit is not None and len(text) > limit:
        text = text[:max(limit - 1, 0)] + "…"
    return text


def escaped(text, limit=120):
    """``text`` with each control or bidi character spelt out (``\\x1b``, ``\\u202e``): to name an odd name."""
    out = "".join(f"\\x{ord(ch):02x}" if ord(ch) < 256 and not ch.isprintable()
                  else f"\\u{ord(ch):04x}" if not ch.isprintable() or ch in BIDI_CONTROLS
                  else ch for ch in str(text))
    return out if len(out) <= limit else out[:limit - 1] + "…"


def for_terminal(text, limit=None):
    """One line that a terminal shows as it is, cut to ``limit`` characters."""
    return plain(text, lines=False, limit=limit)


def for_csv(value):
    """A CSV cell: one line, shown by a spreadsheet as text, never run as a formula."""
    text = plain(value)
    # Leading white space too: some spreadsheets trim it and then read a formula.
    return "'" + text if text.startswith(FORMULA_START) or text[:1].isspace() else text


def for_html(text, lines=False, limit=None):
    """``text`` escaped for an HTML page (attribute values included)."""
    return html.escape(plain(text, lines=lines, limit=limit), quote=True)
