"""Pure tests of the byte-bounded session history with stream offsets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jupyter_termmux import screen
from jupyter_termmux.history import History, utf8_cut, utf8_start


def _all(h: History) -> bytes:
    return h.read(h.start, h.nbytes)


def test_keeps_everything_under_the_limit() -> None:
    """Output under the limit is held whole, in order, with offsets from 0."""
    h = History(100)
    for chunk in (b"ab", b"cd", b"ef"):
        h.append(chunk)
    assert _all(h) == b"abcdef"
    assert (h.start, h.end, h.nbytes) == (0, 6, 6)


def test_bounded_in_bytes_not_chunks() -> None:
    """Many small chunks and one huge chunk both leave at most `limit` bytes."""
    h = History(1000)
    for i in range(10_000):
        h.append(f"{i}\n".encode())
    assert h.nbytes <= 1000 and _all(h).endswith(b"9999\n")
    h.append(b"x" * 1_000_000)
    assert h.nbytes <= 1000 and set(_all(h)) == {ord("x")}


def test_trimmed_history_starts_at_a_line() -> None:
    """After trimming, the held part opens at a line start when one is near."""
    h = History(50)
    for i in range(100):
        h.append(f"line {i:03d}\n".encode())
    held = _all(h)
    assert held.startswith(b"line ") and held.endswith(b"line 099\n")
    assert h.end == 900 and h.start == h.end - len(held)


def test_read_from_any_offset_returns_exactly_those_bytes() -> None:
    """read(offset, n) gives the stream's bytes at that offset, as a whole stream would."""
    h = History(10_000)
    stream = b""
    for i in range(200):
        chunk = f"{i}:".encode() * (i % 7 + 1)
        stream += chunk
        h.append(chunk)
    for offset in (h.start, h.start + 1, 500, h.end - 3, h.end):
        assert h.read(offset, 37) == stream[offset : offset + 37]


def test_read_never_ends_inside_a_utf8_sequence() -> None:
    """A read cut short stops before a multi-byte character, never inside it."""
    h = History(1000)
    h.append("a€b".encode())  # € is 3 bytes: offsets 1..3
    assert h.read(0, 2) == b"a"
    assert h.read(0, 4) == "a€".encode()


@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=60), st.integers(20, 400))
def test_offsets_agree_with_the_whole_stream(pieces: list[str], limit: int) -> None:
    """For any text in any pieces, held bytes are exactly the stream's bytes at their offsets."""
    h = History(limit)
    stream = b""
    for piece in pieces:
        data = piece.encode("utf-8", "surrogatepass")
        stream += data
        h.append(data)
    assert h.end == len(stream) and h.nbytes <= limit
    assert _all(h) == stream[h.start :]


def test_modes_at_the_start_survive_trimming() -> None:
    """When the alternate-screen switch is trimmed away, modes_at(start) still reports it."""
    h = History(200)
    h.append(b"\x1b[?1049h\x1b[?25l")
    for i in range(100):
        h.append(f"draw {i}\n".encode())
    assert h.start > 20
    assert screen.in_alternate_screen(h.modes_at(h.start))
    assert screen.preamble(h.modes_at(h.start)) == "\x1b[?1049h\x1b[?25l"


def test_copy_is_text_for_terminado() -> None:
    """copy() is a deque of str, as terminado's TermSocket.open replays it."""
    h = History(100)
    h.append("é\n".encode())
    assert list(h.copy()) == ["é\n"]


def test_utf8_boundaries() -> None:
    """utf8_start/utf8_cut move off continuation bytes in the right direction."""
    data = "a€".encode()  # 61 e2 82 ac
    assert utf8_start(data, 2) == 4 and utf8_cut(data, 2) == 1 and utf8_cut(data, 4) == 4


def test_dropped_chunks_are_released_at_once() -> None:
    """Memory held is the limit, not the chunks dropped since the last compaction."""
    h = History(100_000)
    for _ in range(200):  # 12.8 MB through a 100 KB history, in 64 KB chunks
        h.append(b"y" * 65_536)
    assert sum(len(c) for c in h._chunks) <= 100_000 + 65_536


def test_at_char_start_tells_offsets_inside_a_character() -> None:
    """An offset inside a UTF-8 character is not a character start; the end and every other
    held offset are, across chunks and after trimming."""
    h = History(1 << 20)
    h.append("aé".encode())
    h.append("𝄞b".encode())
    assert [h.at_char_start(o) for o in range(h.end + 1)] == [
        True, True, False, True, False, False, False, True, True,
    ]  # fmt: skip
    small = History(5)
    small.append(b"abc")
    small.append("ééé".encode())  # trimmed inside this chunk, at a character start
    assert small.start == 5
    assert [small.at_char_start(o) for o in range(5, 10)] == [True, False, True, False, True]
