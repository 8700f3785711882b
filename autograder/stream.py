"""The results stream: how the sandbox hands its results to the grader, and how the grader reads them.

The sandboxed runner writes frames to a pipe: a JSON header on one line,
then ``header["size"]`` raw bytes (an ``.npy`` array, a ``.keras`` model, a
PNG figure; usually none). Everything read here comes from a stranger: the
parser checks each header's type and size before use and stops at the first
frame that does not fit, saying why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

MAX_HEADER = 256 * 1024  # one event, outputs of a cell included
MAX_BLOB = 64 * 1024 * 1024  # one array, model or figure
MAX_DEPTH = 8  # nesting of a header's JSON

EVENTS = {"cell", "part", "case", "model", "blob", "forbidden-import", "rebound", "done", "stopped"}


@dataclass
class Stream:
    events: list = field(default_factory=list)
    blobs: dict = field(default_factory=dict)  # blob id -> bytes
    problem: str = ""  # why parsing stopped early, if it did


def _depth(value, level=0):
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value] or [level])
    return level


def parse(raw):
    """The events and blobs of a results stream, up to the first malformed frame."""
    stream = Stream()
    position, end = 0, len(raw)
    while position < end:
        newline = raw.find(b"\n", position, position + MAX_HEADER + 1)
        if newline < 0:
            stream.problem = "a result header that is too long or unterminated"
            break
        try:
            header = json.loads(raw[position:newline])
        except (ValueError, RecursionError):
            stream.problem = "a result header that is not JSON"
            break
        if not isinstance(header, dict) or header.get("event") not in EVENTS or _depth(header) > MAX_DEPTH:
            stream.problem = "a result of an unknown form"
            break
        size = header.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_BLOB:
            stream.problem = "a result with an impossible size"
            break
        start = newline + 1
        if start + size > end:
            stream.problem = "a result cut short"
            break
        if header["event"] == "blob":
            blob_id = header.get("id")
            if not isinstance(blob_id, int) or blob_id in stream.blobs:
                stream.problem = "a result blob with a bad or repeated id"
                break
            stream.blobs[blob_id] = raw[start:start + size]
        else:
            stream.events.append(header)
        position = start + size
    return stream
