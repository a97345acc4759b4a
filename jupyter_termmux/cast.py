"""A session's history as an asciicast v2 recording (asciinema's format). Pure, no I/O.

asciicast v2 is newline-delimited JSON: a header object (``version`` 2, ``width``, ``height``,
``timestamp``), then one event per line, ``[seconds, code, data]``, with code ``"o"`` for
output and ``"r"`` for a resize (``"COLSxROWS"``). Times are those at which the server read each
chunk from the PTY, counted from the first event; the recording covers what history holds
(``TermMuxApp.history_limit``), preceded, when that does not start in a fresh terminal's modes,
by the escape sequences that restore them (as a replay is).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from . import screen
from .history import History

#: The media type asciinema registers for asciicast files.
MEDIA_TYPE = "application/x-asciicast"

#: The size of a terminal that never reported one (terminado's default).
_DEFAULT_SIZE = (24, 80)


def lines(history: History, now: float, wall: float, title: str | None = None) -> Iterator[str]:
    """The recording of ``history`` as lines (header, then events, each with its newline).

    ``now`` is the time on the clock history's times come from, ``wall`` the Unix time at that
    same moment: the header's ``timestamp`` is the wall time of the first event.
    """
    events = list(history.timeline())
    origin = events[0][0] if events else now
    rows, cols = history.size_at(history.start) or _DEFAULT_SIZE
    header: dict[str, object] = {
        "version": 2,
        "width": cols,
        "height": rows,
        "timestamp": int(wall - (now - origin)),
    }
    if title is not None:
        header["title"] = title
    yield _encode(header)
    modes = screen.preamble(history.modes_at(history.start))
    if modes:
        yield _encode([0.0, "o", modes])
    last = 0.0
    for when, what in events:
        # Never backwards, whatever a clock did; microseconds, as asciinema writes them.
        last = max(last, round(when - origin, 6))
        if isinstance(what, bytes):
            # Chunks end at character boundaries; anything else a program wrote is replaced.
            yield _encode([last, "o", what.decode("utf-8", "replace")])
        else:
            yield _encode([last, "r", f"{what[1]}x{what[0]}"])


def _encode(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": ")) + "\n"
