"""How much of a replay the next frame carries, so that the replay types nothing.

A replay goes out in frames as credit allows: a few bytes each when a client acknowledges a
few at a time. Its queries are blanked (``screen.scrub_queries``) with the bytes around the
frame in view, and a frame ends between escape sequences: one that would end inside a sequence
is shortened to end before it, or waits while credit is on its way. When no credit can come
(nothing in flight, or the frame is as large as frames get) it is cut inside the sequence
anyway, rather than never sent; the view around the cut blanked a query on both of its sides.

No terminal emulator runs here: the scan looks at the last ESC before a cut (a one-byte
``rfind``), so output without escapes costs about one ``bytes.rfind``.
"""

from __future__ import annotations

import re

from .history import History, utf8_cut
from .screen import scrub_queries

#: Bytes seen on each side of a frame. A query longer than this that no credit can make room
#: for would reach the client; terminals' queries are a few dozen bytes.
REACH = 4096

_STRINGS = b"]P_^X"  # OSC, DCS, APC, PM, SOS: they run to BEL or to the next ESC (ST, ESC \)
_CSI_FINAL = re.compile(rb"[\x40-\x7e]")
_ESC_FINAL = re.compile(rb"[\x30-\x7e]")  # after intermediates, as in ESC ( B


def _ends(data: bytes, esc: int, pos: int) -> bool:
    """Whether the sequence at ``esc`` is over by ``pos`` (no ESC lies between the two)."""
    if pos < esc + 2:
        return False
    kind = data[esc + 1]
    if kind == 0x5B:  # CSI
        return _CSI_FINAL.search(data, esc + 2, pos) is not None
    if kind in _STRINGS:
        return data.find(b"\x07", esc + 2, pos) >= 0
    if 0x20 <= kind < 0x30:
        return _ESC_FINAL.search(data, esc + 2, pos) is not None
    return True  # a 2-byte sequence


def _open(data: bytes, pos: int, esc: int | None = None) -> int:
    """Where the escape sequence that ``pos`` falls inside begins, or ``pos`` if none does
    (``esc``: the last ESC before ``pos``, when known).

    The ESC that ends an unfinished sequence (the ST of a string, or any ESC: xterm.js ends an
    OSC or DCS there and drops a CSI) belongs with it: nor is there a clean cut between the two.
    """
    if esc is None:
        esc = data.rfind(b"\x1b", 0, pos)
    if esc < 0 or _ends(data, esc, pos):
        return pos
    while True:
        prev = data.rfind(b"\x1b", 0, esc)
        if prev < 0 or _ends(data, prev, esc):
            return esc
        esc = prev


def _scrubbed(data: bytes, start: int, end: int) -> bytes:
    """``data[start:end]`` with its queries blanked (``end`` is between sequences)."""
    begin = _open(data, start)  # inside a sequence only after a frame that had to cut one
    return scrub_queries(data[begin:end])[start - begin :]


def cut(data: bytes, start: int, allowed: int, *, at_end: bool, can_wait: bool) -> bytes:
    """The next replay frame: at most ``allowed`` bytes of ``data`` from ``start``, its queries
    blanked; empty if it waits for credit (or ``allowed`` is smaller than the next character).

    ``data`` holds the replay from up to ``REACH`` bytes before ``start`` (where no escape
    sequence is open: the replay's start, or a frame's end) to ``REACH`` bytes past
    ``start + allowed``, or to the replay's end (``at_end``). ``can_wait``: more credit may come.
    """
    limit = min(start + allowed, len(data))
    if limit < len(data):
        limit = utf8_cut(data, limit)
    elif at_end and limit > start:
        # The rest of the stream follows live: the terminal parses on from here.
        return _scrubbed(data, start, limit)
    if limit <= start:
        return b""
    esc = data.rfind(b"\x1b", 0, limit)
    if esc < 0:
        return data[start:limit]  # no escape sequence anywhere near
    end = _open(data, limit, esc)
    if end > start:
        return _scrubbed(data, start, end)
    if can_wait:
        return b""
    # No credit can make room for the sequence: cut inside it. This scrub sees past the cut,
    # the next frame's sees before it, so a query is blanked on both sides.
    begin = _open(data, start)
    return scrub_queries(data[begin:])[start - begin : limit - begin]


def next_frame(
    history: History, offset: int, until: int, max_bytes: int, *, can_wait: bool
) -> bytes:
    """The next frame of a replay that ends at ``until``, from ``offset`` (``cut`` over the
    bytes of ``history`` around it)."""
    if max_bytes <= 0 or offset >= until:
        return b""
    back = max(history.start, offset - REACH)
    stop = min(until, offset + max_bytes + REACH)
    data = history.read(back, stop - back)
    return cut(data, offset - back, max_bytes, at_end=back + len(data) >= until, can_wait=can_wait)


def skip_point(history: History, end: int, tail: int) -> int | None:
    """Where a view that lags far behind ``end`` continues: the first line start within the
    last ``tail`` bytes before ``end``, else the first escape sequence there that starts
    between sequences; ``None`` when neither is there (it is sent everything)."""
    lo = max(history.start, end - tail)
    back = max(history.start, lo - REACH)
    data = history.read(back, end - back)
    first = lo - back
    newline = data.find(b"\n", first)
    if 0 <= newline < len(data) - 1 and _open(data, newline + 1) == newline + 1:
        return back + newline + 1
    esc = data.find(b"\x1b", first)
    while esc >= 0:
        if _open(data, esc) == esc:
            return back + esc
        esc = data.find(b"\x1b", esc + 1)
    return None
