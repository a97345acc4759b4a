"""Pure tests of the mode scan, the replay preamble and the query scrubber (screen.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from protocol_check import query_examples

from jupyter_termmux import screen


def test_modes_follow_switches_and_reset() -> None:
    """Private mode switches are tracked; ESC c resets them all."""
    modes = screen.scan(screen.RESET, b"\x1b[?1049h\x1b[?1;2004h\x1b[?25l")
    assert screen.preamble(modes) == "\x1b[?1049h\x1b[?1h\x1b[?25l\x1b[?2004h"
    assert screen.scan(modes, b"\x1bc") == screen.RESET
    assert screen.scan(modes, b"\x1b[?1049l\x1b[?1;2004l\x1b[?25h") == screen.RESET


def test_tracker_handles_a_sequence_split_across_reads() -> None:
    """A mode switch cut by a read boundary is still seen."""
    t = screen.ModeTracker()
    t.feed(b"text \x1b[?10")
    t.feed(b"49h more")
    assert screen.in_alternate_screen(t.modes)


def test_plain_output_costs_no_state_change() -> None:
    """Output without mode switches leaves the modes object as it was."""
    modes = screen.scan(screen.RESET, b"\x1b[?25l")
    assert screen.scan(modes, b"hello \x1b[31mred\x1b[0m\r\n") is modes


QUERIES = [
    b"\x1b[6n",
    b"\x1b[5n",
    b"\x1b[?6n",
    b"\x1b[c",
    b"\x1b[0c",
    b"\x1b[>c",
    b"\x1b[=c",
    b"\x1b[?2004$p",
    b"\x1b[4$p",
    b"\x1b[>q",
    b"\x1b[>0q",
    b"\x1b[14t",
    b"\x1b[18t",
    b"\x1b]10;?\x07",
    b"\x1b]11;?\x1b\\",
    b"\x1b]4;1;?\x07",
    b"\x1bP$qm\x1b\\",
    b"\x1bP+q544e\x1b\\",
]


def test_every_query_is_blanked_to_the_same_length() -> None:
    """Each terminal query becomes NUL bytes of its own length; text around it is kept."""
    for q in QUERIES:
        out = screen.scrub_queries(b"a" + q + b"b")
        assert out == b"a" + b"\0" * len(q) + b"b", q


@pytest.mark.parametrize("query", query_examples())
def test_every_declared_query_is_blanked(query: bytes) -> None:
    """Each terminal query protocol/schema.json lists (which the panel also swallows) is
    blanked in a replay."""
    assert screen.scrub_queries(b"a" + query + b"b") == b"a" + b"\0" * len(query) + b"b"


def test_ordinary_sequences_are_kept() -> None:
    """Colours, cursor moves, titles and mode switches are not queries and are left alone."""
    data = b"\x1b[31mred\x1b[0m\x1b[2J\x1b[10;5H\x1b]0;title\x07\x1b[?1049h\x1b[8;24;80t"
    assert screen.scrub_queries(data) == data


@given(st.binary(max_size=300))
def test_scrub_keeps_length(data: bytes) -> None:
    """Scrubbing never changes the length, so stream offsets still add up."""
    assert len(screen.scrub_queries(data)) == len(data)


def test_a_string_query_ended_by_the_next_sequence_is_blanked() -> None:
    """xterm.js ends an OSC or DCS at any ESC and answers a query there: such a query is blanked
    and the sequence that ended it is kept."""
    assert screen.scrub_queries(b"\x1b]11;?\x1b[0m") == b"\0" * 6 + b"\x1b[0m"
    assert screen.scrub_queries(b"\x1bP$qm\x1b[1m") == b"\0" * 5 + b"\x1b[1m"


def test_blanking_leaves_no_query_behind() -> None:
    """A query inside an unfinished DCS query is blanked with it: blanking only the inner one
    would let the outer run on to the ST and be answered."""
    out = screen.scrub_queries(b"\x1bP$q\x1b[6n\x1b\\")
    assert screen.scrub_queries(out) == out
    assert out == b"\0" * 8 + b"\x1b\\"
