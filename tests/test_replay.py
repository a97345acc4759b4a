"""Pure tests of replay framing (replay.py): frames end between escape sequences, whatever the
credit, and together they are the whole replay with every query blanked."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_screen import QUERIES as SCREEN_QUERIES

from jupyter_termmux import replay, screen
from jupyter_termmux.history import History

#: The queries of test_screen.py, and more of their forms (parameters, OSC and DCS endings).
QUERIES = [
    *SCREEN_QUERIES,
    b"\x1b[18;1t",
    b"\x1b]11;?",
    b'\x1bP$q"p\x07',
    b"\x1bP+q544e;636f6c73;6b63757531\x1b\\",
]

HARMLESS = [
    b"\x1b[31m",
    b"\x1b[0m",
    b"\x1b[?25l",
    b"\x1b[?2004h",
    b"\x1b[2J",
    b"\x1b[10;5H",
    b"\x1b[12",  # a CSI cut short by the next ESC
    b"\x1b(B",
    b"\x1b=",
    b"\x1b7",
    b"\x1b\\",
    b"\x1b]0;caf\xc3\xa9 \xf0\x9d\x84\x9e\x07",
    b"\x1b]8;;http://example.com\x1b\\",
    b"\x1b]2;unterminated",
    b"\x1b_apc\x1b\\",
    b"\x1bPq#0;2;0;0;0#0~~@@\x1b\\",
]

TEXT = [b"a", b"prompt$ ", b"\r\n", b"caf\xc3\xa9", b"\xf0\x9d\x84\x9e", b"\xe4\xb8\xad", b"\x07"]

GROUND, ESC, CSI, STRING, INTER = range(5)


def _states(data: bytes) -> list[int]:
    """The parser state before each byte of ``data`` and after the last: a model of xterm.js
    (any ESC ends an OSC or DCS and drops a CSI), written apart from replay.py."""
    state, out = GROUND, [GROUND]
    for b in data:
        if b == 0x1B:
            state = ESC
        elif state == ESC:
            if b == 0x5B:
                state = CSI
            elif b in b"]P_^X":
                state = STRING
            elif 0x20 <= b < 0x30:
                state = INTER
            else:
                state = GROUND
        elif (
            (state == CSI and 0x40 <= b <= 0x7E)
            or (state == STRING and b == 0x07)
            or (state == INTER and 0x30 <= b <= 0x7E)
        ):
            state = GROUND
        out.append(state)
    return out


def _history(whole: bytes, cuts: list[int]) -> History:
    """A history holding ``whole``, appended in pieces cut at ``cuts`` (between characters)."""
    h = History(1 << 30)
    last = 0
    for c in sorted(set(cuts)) + [len(whole)]:
        while 0 < c < len(whole) and 0x80 <= whole[c] < 0xC0:
            c -= 1
        if c > last:
            h.append(whole[last:c])
            last = c
    return h


def _replay(h: History, window: int, ack: int) -> list[tuple[int, bytes, bool]]:
    """Replay all of ``h`` to a client with ``window`` bytes of credit that acknowledges
    ``ack`` bytes after each frame or wait; each frame as (offset, bytes, sent with nothing in
    flight)."""
    pos, inflight, frames = h.start, 0, []
    for _ in range(2 * h.nbytes + 2):  # each step sends a byte or takes credit back
        if pos == h.end:
            return frames
        data = replay.next_frame(h, pos, h.end, window - inflight, can_wait=inflight > 0)
        if data:
            frames.append((pos, data, inflight == 0))
            pos += len(data)
            inflight += len(data)
        else:
            assert inflight > 0, f"at {pos}: waits, and no credit can come"
        inflight -= min(ack, inflight)
    raise AssertionError(f"no progress at {pos} of {h.end}")


def _check(whole: bytes, frames: list[tuple[int, bytes, bool]]) -> None:
    """The frames are the scrubbed replay byte for byte and carry no query; a frame ends inside
    an escape sequence only if it had to (nothing in flight, no cleaner cut within it)."""
    joined = b"".join(f for _, f, _ in frames)
    assert joined == screen.scrub_queries(whole)
    assert screen.scrub_queries(joined) == joined  # no query left to blank
    states = _states(whole)
    for offset, data, forced in frames:
        end = offset + len(data)
        data.decode("utf-8")  # whole characters
        if end < len(whole) and states[end] != GROUND:
            assert forced, (offset, data)
            assert all(s != GROUND for s in states[offset + 1 : end]), (offset, data)


def _sample(rng: random.Random, n: int) -> bytes:
    parts = []
    for _ in range(n):
        kind = rng.random()
        pool = QUERIES if kind < 0.4 else HARMLESS if kind < 0.6 else TEXT
        parts.append(rng.choice(pool))
    return b"".join(parts)


WHOLE = _sample(random.Random(7), 900)


def test_sample_is_rich() -> None:
    """The fixed sample holds hundreds of queries, UTF-8 and more bytes than a frame's reach."""
    assert len(WHOLE) > replay.REACH and WHOLE.count(b"\x1b[6n") > 10
    assert screen.scrub_queries(WHOLE).count(b"\0") > 1000


@pytest.mark.parametrize("ack", range(1, 65))
def test_every_credit_from_1_to_64_replays_without_a_query(ack: int) -> None:
    """Acked `ack` bytes at a time (with 64 bytes in flight at most), or with only `ack` bytes
    of window, the replay is exact, types nothing, and always gets on."""
    h = _history(WHOLE, list(range(0, len(WHOLE), 97)))
    _check(WHOLE, _replay(h, 64, ack))
    window = max(ack, 4)  # a 4-byte character must fit in the window
    _check(WHOLE, _replay(h, window, window))


pieces = st.lists(
    st.sampled_from(QUERIES) | st.sampled_from(HARMLESS) | st.sampled_from(TEXT), max_size=80
)


@settings(max_examples=150, deadline=None)
@given(pieces, st.integers(1, 64), st.lists(st.integers(0, 4000), max_size=12))
def test_any_history_at_any_credit(parts: list[bytes], ack: int, cuts: list[int]) -> None:
    """Any mix of queries, text and harmless escapes, read in any pieces, replays exactly and
    types nothing at any credit."""
    whole = b"".join(parts)
    h = _history(whole, cuts)
    _check(whole, _replay(h, 64, ack))
    _check(whole, _replay(h, max(ack, 4), max(ack, 4)))


def _cut(data: bytes, allowed: int, can_wait: bool = True, start: int = 0) -> bytes:
    return replay.cut(data, start, allowed, at_end=True, can_wait=can_wait)


@pytest.mark.parametrize(
    "seq",
    [
        b"\x1b[6n",
        b"\x1b[38;5;1m",
        b"\x1b]11;?\x07",
        b"\x1b]0;t\x1b\\",
        b"\x1bP+q544e\x1b\\",
        b"\x1b_x\x1b\\",
        b"\x1b(B",
        b"\x1b7",
        b"\x1b]0;t\x1b[6n",  # an OSC ended by a query: no cut between the two
    ],
)
def test_a_frame_that_would_cut_a_sequence_ends_before_it(seq: bytes) -> None:
    """Wherever the credit ends inside an escape sequence, the frame stops before it."""
    data = b"ab" + seq + b"cd"
    for allowed in range(3, 2 + len(seq)):
        assert _cut(data, allowed) == b"ab", allowed
    assert _cut(data, 2 + len(seq)) == b"ab" + screen.scrub_queries(seq)


def test_a_sequence_at_the_frame_start_waits_for_credit() -> None:
    """When the next sequence does not fit and credit is on its way, nothing is sent."""
    assert _cut(b"\x1b[6nab", 3) == b""
    assert _cut(b"\x1b[6nab", 4) == b"\0\0\0\0"


def test_with_nothing_in_flight_a_long_query_is_cut_and_still_blanked() -> None:
    """A query longer than any credit can become is sent in pieces, blanked in every one."""
    q = b"\x1bP+q" + b"544e;" * 30 + b"\x1b\\"
    data = b"x" + q + b"ok"
    frames, pos = [], 0
    while pos < len(data):
        frame = replay.cut(data, pos, 16, at_end=True, can_wait=False)
        frames.append(frame)
        pos += len(frame)
    assert b"".join(frames) == b"x" + b"\0" * len(q) + b"ok"
    assert max(map(len, frames)) == 16


def test_never_cuts_inside_a_character() -> None:
    """Frames end between UTF-8 characters; one that does not fit waits for credit."""
    assert _cut(b"a\xc3\xa9b", 2) == b"a"
    assert _cut(b"\xf0\x9d\x84\x9ex", 3, can_wait=False) == b""
    assert _cut(b"\x1b]0;\xc3\xa9\x07z", 5, can_wait=False) == b"\x1b]0;"


def test_output_without_escapes_is_sent_as_is() -> None:
    """Plain output is cut at the credit, between characters, and not copied through a scrub."""
    data = "plain text, café\r\n".encode() * 10
    assert _cut(data, 50) == data[:50]
    assert _cut(data, len(data) + 10) == data


def test_the_replay_may_end_inside_a_sequence() -> None:
    """At the replay's end the frame takes what is left: the live output goes on from there."""
    assert _cut(b"ab\x1b[6", 10) == b"ab\x1b[6"
    assert replay.cut(b"ab\x1b[6", 0, 10, at_end=False, can_wait=True) == b"ab"


def test_next_frame_reads_around_the_offset() -> None:
    """A frame that starts after a forced cut inside a query is blanked as the whole would be."""
    h = History(1 << 20)
    h.append(b"abc\x1b[?6n")
    h.append(b"def")
    first = replay.next_frame(h, 0, h.end, 6, can_wait=False)
    assert first == b"abc"
    forced = replay.next_frame(h, 3, h.end, 3, can_wait=False)
    assert forced == b"\0\0\0"
    rest = replay.next_frame(h, 6, h.end, 100, can_wait=False)
    assert rest == b"\0\0def"


# --- a view skipping ahead ---------------------------------------------------------------


def _held(*chunks: bytes) -> History:
    history = History(1 << 20)
    for chunk in chunks:
        history.append(chunk)
    return history


def test_a_view_skips_to_the_first_line_start_in_the_tail() -> None:
    """The skip lands right after the first newline within the last ``tail`` bytes."""
    lines = b"".join(b"line %05d \x1b[32mok\x1b[0m\r\n" % i for i in range(2000))
    history = _held(lines[:30000], lines[30000:])
    point = replay.skip_point(history, history.end, 4096)
    assert point is not None
    assert history.end - 4096 <= point < history.end
    assert lines[point - 1 : point] == b"\n" and lines[point:].startswith(b"line ")


def test_without_a_newline_a_view_skips_to_an_escape_sequence_that_opens_there() -> None:
    """A full-screen redraw without newlines: the skip lands on an ESC that starts a sequence,
    never on an ESC inside one (the ST of an OSC string)."""
    tail = b"\x1b]0;title\x1b\\" + b"x" * 50 + b"\x1b[5;1Hredraw"
    history = _held(b"y" * 10000, tail)
    point = replay.skip_point(history, history.end, len(tail) - 1)  # starts inside the OSC
    assert point is not None
    assert bytes(tail)[point - 10000 :].startswith(b"\x1b[5;1H")


def test_a_view_is_not_skipped_where_no_clean_start_exists() -> None:
    """Plain bytes without newline or escape: no skip (the view is sent everything)."""
    history = _held(b"z" * 50000)
    assert replay.skip_point(history, history.end, 4096) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([*HARMLESS, *QUERIES, b"abc", b"\r\n", "é".encode()]), max_size=60),
    st.integers(min_value=1, max_value=400),
)
def test_a_skip_never_lands_inside_an_escape_sequence_or_a_character(
    parts: list[bytes], tail: int
) -> None:
    """Wherever it lands, the rest of the output starts between sequences and characters."""
    data = b"".join(parts)
    history = _held(data)
    point = replay.skip_point(history, history.end, tail)
    if point is None:
        return
    assert history.end - tail <= point < history.end
    assert history.at_char_start(point)
    assert replay._open(data, point) == point
