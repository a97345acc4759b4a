"""What a reattaching client needs to know about a screen, by a cheap scan of the output.

No terminal emulator runs on every byte (a pure-Python one parses about 1 MB/s): the scan only
looks for private mode switches (``CSI ? Pm h`` / ``CSI ? Pm l``) and full resets (``ESC c``),
with a one-byte ``in`` (memchr) as the fast path, so output without escapes costs almost nothing
(a multi-byte ``bytes.find`` runs at about 1 GB/s here, 60 times slower).

* ``Modes`` is the set of modes a fresh terminal must be put into to draw what follows
  (alternate screen, hidden cursor, application cursor keys, bracketed paste, mouse tracking);
  ``preamble`` spells it as escape sequences.
* ``scrub_queries`` overwrites terminal queries in replayed output with NUL bytes of the same
  length, so a replay makes no client answer (jupyterlab#17179) and offsets still add up.
"""

from __future__ import annotations

import re
from typing import Any

from .messages import QUERIES

#: Modes tracked, and their state in a freshly reset terminal.
TRACKED: dict[int, bool] = {
    1: False,  # application cursor keys (DECCKM)
    25: True,  # cursor visible (DECTCEM)
    47: False,  # alternate screen (old form)
    1047: False,  # alternate screen
    1049: False,  # alternate screen, cursor saved
    1000: False,  # mouse: clicks
    1002: False,  # mouse: drags
    1003: False,  # mouse: all motion
    1004: False,  # focus events
    1006: False,  # mouse: SGR encoding
    2004: False,  # bracketed paste
}

#: The modes of a fresh terminal that differ from nothing: stored as the set of *changed* modes.
Modes = frozenset[tuple[int, bool]]
RESET: Modes = frozenset()

_MODE_SEQ = re.compile(rb"\x1b\[\?([0-9;]*)([hl])|\x1bc")
#: The longest tail that may be the start of a mode sequence cut by a read boundary.
_CARRY = 32


def _apply(modes: dict[int, bool], params: bytes, on: bool) -> None:
    for p in params.split(b";"):
        if p.isdigit():
            mode = int(p)
            if mode in TRACKED:
                if TRACKED[mode] == on:
                    modes.pop(mode, None)
                else:
                    modes[mode] = on


def scan(modes: Modes, data: bytes) -> Modes:
    """The modes after ``data`` is written to a terminal in ``modes``."""
    if b"\x1b[?" not in data and b"\x1bc" not in data:
        return modes  # two ``bytes.find``s: far cheaper than the regex over coloured output
    state: dict[int, bool] | None = None
    for m in _MODE_SEQ.finditer(data):
        if state is None:
            state = dict(modes)
        if m.group(0) == b"\x1bc":
            state.clear()
        else:
            _apply(state, m.group(1), m.group(2) == b"h")
    return modes if state is None else frozenset(state.items())


class ModeTracker:
    """Follows the modes of a stream fed in arbitrary pieces (a sequence may straddle two)."""

    def __init__(self) -> None:
        self.modes: Modes = RESET
        self._carry = b""

    def feed(self, data: bytes) -> None:
        """Account for the next piece of output."""
        if self._carry:
            data = self._carry + data
            self._carry = b""
        esc = data.rfind(b"\x1b", max(0, len(data) - _CARRY))
        if esc >= 0 and not _complete(data, esc):
            self._carry = data[esc:]
            data = data[:esc]
        self.modes = scan(self.modes, data)


def _complete(data: bytes, esc: int) -> bool:
    """Whether the escape sequence starting at ``esc`` ends within ``data``."""
    tail = data[esc + 1 :]
    if not tail:
        return False
    if tail[:1] != b"[":
        return True
    return any(0x40 <= b <= 0x7E for b in tail[1:])


def preamble(modes: Modes) -> str:
    """Escape sequences that put a freshly reset terminal into ``modes``.

    The alternate screen goes first, so that the other modes apply to the screen the program
    draws on.
    """
    state = dict(modes)
    order = sorted(state, key=lambda m: (m not in (47, 1047, 1049), m))
    return "".join(f"\x1b[?{m}{'h' if state[m] else 'l'}" for m in order)


def in_alternate_screen(modes: Modes) -> bool:
    """Whether a full-screen program (vim, less, htop) owns the screen."""
    state = dict(modes)
    return any(state.get(m, False) for m in (47, 1047, 1049))


def _query_pattern(queries: dict[str, Any]) -> re.Pattern[bytes]:
    """One regular expression for the declared terminal queries (``queries`` in
    protocol/schema.json: xterm.js's function identifiers, parameters any).

    Replayed, a query's answer would put stray text like "^[[2;2R" at the prompt. xterm.js ends
    an OSC or DCS at any ESC, not only at ST (ESC \\), and answers it there: such a query is
    blanked too, which also keeps blanking whole (blanking only a query that cut one short would
    let that one run on to a later ST).
    """

    def ident(q: dict[str, str]) -> bytes:
        return b"".join(re.escape(q.get(k, "").encode()) for k in ("intermediates", "final"))

    # One branch per prefix after a shared CSI: a long alternation costs every ESC a retry.
    by_prefix: dict[str, list[bytes]] = {}
    for q in queries["csi"]:
        by_prefix.setdefault(q.get("prefix", ""), []).append(ident(q))
    branches = [
        re.escape(prefix.encode()) + rb"[0-9;]*(?:" + b"|".join(finals) + b")"
        for prefix, finals in by_prefix.items()
    ]
    first, last = queries["windowReports"]
    reports = b"|".join(str(n).encode() for n in range(first, last + 1))
    branches.append(rb"(?:" + reports + rb")(?:;[0-9]*)*t")
    csi = [rb"\x1b\[(?:" + b"|".join(branches) + b")"]
    end = rb"(?:\x07|\x1b\\|(?=\x1b))"  # BEL, ST, or the next ESC
    colours = b"|".join(str(n).encode() for n in queries["osc"])
    osc = rb"\x1b\](?:" + colours + rb");(?:[0-9]+;)*\?" + end
    dcs = rb"\x1bP(?:" + b"|".join(ident(q) for q in queries["dcs"]) + rb")[^\x07\x1b]*" + end
    return re.compile(b"|".join([*csi, osc, dcs]))


_QUERIES = _query_pattern(QUERIES)


def scrub_queries(data: bytes) -> bytes:
    """``data`` with every terminal query overwritten by NUL bytes of the same length."""
    if data.find(b"\x1b") < 0:
        return data
    return _QUERIES.sub(lambda m: b"\0" * len(m.group(0)), data)
