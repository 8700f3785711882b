"""Who a submission belongs to: one person, one identity, whatever the file name's spelling.

A learning platform knows a student by one name. File names reach the
grader in spellings that look alike but differ in bytes: ``Ann`` and
``ann``, ``josé`` composed (U+00E9) and decomposed (``e`` + U+0301),
``ann `` with a trailing space, ``ａｎｎ`` in full-width forms, ``an\\u200bn``
with a zero-width space, names with terminal escapes or bidi overrides.
Two entries whose :func:`identity_of` is equal are one student.

:func:`shown_name` is how a name is written in every table and page: NFC,
without control or invisible characters (see :mod:`autograder.untrusted_text`).
"""

from __future__ import annotations

import re
import unicodedata

from .untrusted_text import plain


def decoded(name):
    """``name`` with bytes that were not UTF-8 (kept by Python as lone surrogates) shown as U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def shown_name(name):
    """The name as tables and pages write it: NFC, one line, no control or invisible characters, trimmed."""
    # NFC first too: an escape sequence's final byte must not depend on how the next letter was composed.
    composed = unicodedata.normalize("NFC", decoded(name))
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", plain(composed))).strip()


def identity_of(name):
    """The key under which two spellings of one person's name are equal.

    NFKC (full-width and compatibility forms become their plain letters),
    case-folded, without control or invisible characters (joiners included), each run of white
    space one space, trimmed. NFKC is applied again after folding because
    folding can undo it (``ß`` → ``ss`` is stable, but some folded letters
    are not NFKC).
    """
    text = unicodedata.normalize("NFKC", shown_name(name)).casefold()
    text = text.replace("\u200c", "").replace("\u200d", "")  # joiners change no letter a reader sees
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
