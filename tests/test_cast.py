"""Pure tests of recordings: times and sizes in ``History`` and the asciicast v2 it gives."""

from __future__ import annotations

import json
from typing import Any

from jupyter_termmux import cast, screen
from jupyter_termmux.history import MAX_RESIZES, History


def _parse(h: History, now: float = 100.0, wall: float = 1_700_000_000.0) -> list[Any]:
    return [json.loads(line) for line in cast.lines(h, now, wall, title="t")]


def test_cast_is_asciicast_v2_with_read_times_and_resizes() -> None:
    """Header with the size at the first held byte, then each chunk at its read time and each
    later resize as an "r" event COLSxROWS, in stream order, times from the first event."""
    h = History(1000)
    h.resized(24, 80, 10.0)
    h.append(b"one\r\n", 10.5)
    h.resized(30, 100, 11.0)
    h.append("dé日\r\n".encode(), 12.25)
    header, *events = _parse(h, now=20.0)
    assert header == {
        "version": 2,
        "width": 80,
        "height": 24,
        "timestamp": 1_700_000_000 - 10,
        "title": "t",
    }
    assert events == [[0.0, "o", "one\r\n"], [0.5, "r", "100x30"], [1.75, "o", "dé日\r\n"]]


def test_events_concatenate_to_the_held_history_after_trimming() -> None:
    """Once history drops old output, the cast starts at its first held byte, with the size in
    force there, and the output events are exactly the held bytes; times never go back."""
    h = History(64)
    for i in range(40):
        if i == 10:
            h.resized(40, 120, float(i))
        h.append(f"line {i:03d}\n".encode(), float(i) if i != 30 else 5.0)  # a clock that jumped
    header, *events = _parse(h)
    assert (header["width"], header["height"]) == (120, 40)
    text = "".join(e[2] for e in events if e[1] == "o")
    assert text.encode() == h.read(h.start, h.nbytes)
    assert not [e for e in events if e[1] == "r"]
    times = [e[0] for e in events]
    assert times == sorted(times)


def test_a_cast_in_the_alternate_screen_opens_with_its_modes() -> None:
    """A history that starts inside a full-screen program opens with the escape sequences
    that restore its modes, at time 0, before the held output."""
    h = History(32)
    h.append(b"\x1b[?1049h", 1.0)
    h.append(b"x" * 40, 2.0)
    _, first, *_ = _parse(h)
    assert first == [0.0, "o", screen.preamble(h.modes_at(h.start))]
    assert "\x1b[?1049h" in first[2]


def test_resizes_are_bounded() -> None:
    """A writer resizing in a loop keeps at most MAX_RESIZES records, and resizes with no
    output between them keep only the last."""
    h = History(1000)
    for i in range(10):
        h.resized(10 + i, 80, float(i))
    assert h.size_at(h.end) == (19, 80)
    h.append(b"x", 20.0)
    assert len(list(h.timeline())) == 1
    for i in range(3 * MAX_RESIZES):
        h.append(b"y", float(i))
        h.resized(5 + i % 7, 80, float(i))
    assert len(h._resizes) <= MAX_RESIZES


def test_invalid_utf8_output_is_replaced() -> None:
    """Bytes a program wrote that are not UTF-8 become U+FFFD: every "o" event is valid text."""
    h = History(100)
    h.append(b"ok \xff\xfe\n", 1.0)
    _, event = _parse(h)
    assert event == [0.0, "o", "ok \ufffd\ufffd\n"]
