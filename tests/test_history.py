"""Pure tests of the byte-bounded session history."""

from __future__ import annotations

from collections import deque

from jupyter_termmux.history import History


def test_keeps_everything_under_the_limit() -> None:
    """Output under the limit is replayed whole, in order."""
    h = History(100, ["ab", "cd"])
    h.append("ef")
    assert h.text() == "abcdef"
    assert h.nbytes == 6 and h.end == 6 and h.start == 0


def test_bounded_in_bytes_not_chunks() -> None:
    """Many small chunks and one huge chunk both leave at most `limit` bytes."""
    h = History(1000)
    for i in range(10_000):
        h.append(f"{i}\n")
    assert h.nbytes <= 1000
    assert h.text().endswith("9999\n")
    h.append("x" * 1_000_000)
    assert h.nbytes <= 1000
    assert h.text() == "x" * 1000


def test_trimmed_history_starts_at_a_line() -> None:
    """When the oldest chunk is cut, the replay starts at the next line, not mid-line."""
    h = History(15)
    h.append("line-one\nline-two\nline-three\n")
    assert h.text() == "line-three\n"
    assert h.nbytes == len("line-three\n")
    assert h.end == 29 and h.start == 29 - 11


def test_cut_on_a_line_boundary_keeps_that_line() -> None:
    """A cut that lands exactly after a newline keeps the following line whole."""
    h = History(20)
    h.append("line-one\nline-two\nline-three\n")
    assert h.text() == "line-two\nline-three\n"


def test_keeps_a_contiguous_tail() -> None:
    """The held text is always a suffix of everything appended (nothing reordered or doubled)."""
    h = History(300)
    everything = ""
    for i in range(500):
        chunk = "".join(f"{i}.{j}\n" for j in range(i % 7 + 1))
        h.append(chunk)
        everything += chunk
        assert everything.endswith(h.text())
        assert h.nbytes == len(h.text()) <= 300


def test_counts_utf8_bytes() -> None:
    """Limits count UTF-8 bytes: 3-byte characters fill it three times faster, never split."""
    h = History(30)
    h.append("€" * 20)
    assert h.nbytes <= 30
    assert h.nbytes == len(h.text().encode())
    assert set(h.text()) == {"€"}
    assert h.end == 60


def test_is_a_drop_in_for_terminados_read_buffer() -> None:
    """terminado's TermSocket copies the buffer as a deque and pops from it; that still works."""
    h = History(100, deque(["a", "b"]))
    copy = h.copy()
    assert isinstance(copy, deque) and copy.popleft() == "a"
    assert list(h) == ["a", "b"] and len(h) == 2 and h


def test_empty() -> None:
    """An empty history replays nothing and is falsy."""
    h = History(10)
    h.append("")
    assert h.text() == "" and not h and h.end == 0
