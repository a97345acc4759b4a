"""A session's recent output as bytes with stream offsets, bounded in bytes.

Offsets count the UTF-8 bytes a session produced since termmux adopted it. ``History`` keeps
the last ``limit`` of them, so a subscriber that knows its offset can be served exactly the
bytes after it (resume, catch-up), and knows when it cannot (``start`` moved past it).

Chunks are kept as the reader delivered them (never split inside a UTF-8 sequence) and never
copied on append. Each chunk remembers the terminal modes in force at its first byte, so a
replay from ``start`` can be preceded by the modes it needs (see ``screen.py``), and the time
it was read (the caller's clock), so the held output can be played back as it came
(``cast.py``). Size changes are kept with their offset and time, a few per held chunk at most.

terminado's ``PtyWithClients.read_buffer`` is replaced by a ``History`` on adopted terminals:
JupyterLab's classic terminal socket replays from ``copy()`` when it opens.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Iterator

from . import screen

#: Compact the chunk list once this many dropped chunks sit at its head.
_COMPACT = 256

#: How far past a cut the next line start is looked for (so a replay opens at a line).
_LINE_LOOKAHEAD = 4096

#: Most size changes kept: a writer resizing in a loop cannot grow a session's memory.
MAX_RESIZES = 1024

#: A size change: (offset, time, rows, cols); it applies to the bytes from ``offset`` on.
Resize = tuple[int, float, int, int]


def utf8_start(data: bytes, pos: int) -> int:
    """The first index at or after ``pos`` that does not fall inside a UTF-8 sequence."""
    end = min(len(data), pos + 3)
    while pos < end and 0x80 <= data[pos] < 0xC0:
        pos += 1
    return pos


def utf8_cut(data: bytes, pos: int) -> int:
    """The last index at or before ``pos`` that does not fall inside a UTF-8 sequence."""
    lowest = max(0, pos - 3)
    while pos > lowest and pos < len(data) and 0x80 <= data[pos] < 0xC0:
        pos -= 1
    return pos


class History:
    """The most recent output of one session: at most ``limit`` bytes, with offsets."""

    def __init__(self, limit: int, start: int = 0) -> None:
        if limit <= 0:
            raise ValueError("history limit must be positive")
        self.limit = limit
        self._chunks: list[bytes] = []
        self._offsets: list[int] = []  # stream offset of each chunk's first byte
        self._modes: list[screen.Modes] = []  # modes in force at each chunk's first byte
        self._times: list[float] = []  # when each chunk was read
        self._resizes: deque[Resize] = deque()  # size changes, oldest first
        self._head = 0  # index of the oldest live chunk
        self._skip = 0  # bytes of the oldest live chunk already dropped
        self._tracker = screen.ModeTracker()
        #: Stream offset of the oldest byte held.
        self.start = start
        #: Stream offset after the newest byte (bytes ever appended, counting from the seed).
        self.end = start

    @property
    def nbytes(self) -> int:
        """Bytes held now (never more than ``limit``)."""
        return self.end - self.start

    @property
    def modes(self) -> screen.Modes:
        """The terminal modes after the newest byte."""
        return self._tracker.modes

    def append(self, data: bytes, when: float = 0.0) -> None:
        """Record output read at time ``when``, dropping the oldest bytes beyond the limit."""
        if not data:
            return
        self._chunks.append(data)
        self._offsets.append(self.end)
        self._times.append(when)
        self._modes.append(self._tracker.modes)
        self._tracker.feed(data)
        self.end += len(data)
        if self.end - self.start > self.limit:
            self._trim(self.end - self.limit)

    def _trim(self, new_start: int) -> None:
        """Drop every byte before ``new_start``, then up to the next line start if near."""
        chunks, offsets = self._chunks, self._offsets
        head = self._head
        while head < len(chunks) and offsets[head] + len(chunks[head]) <= new_start:
            chunks[head] = b""  # release it now; the list itself is compacted in batches
            head += 1
        if head == len(chunks):  # only possible with limit 0; keep the invariant anyway
            self._head, self._skip, self.start = head, 0, self.end
            return
        chunk = chunks[head]
        skip_from = self._skip if head == self._head else 0
        cut = max(new_start - offsets[head], skip_from)
        if cut > skip_from:
            # Open the kept part at a line start when one is near, else at a character start.
            newline = chunk.find(b"\n", cut - 1, cut + _LINE_LOOKAHEAD)
            cut = newline + 1 if newline >= 0 else utf8_start(chunk, cut)
            if cut >= len(chunk):
                chunks[head] = b""
                head += 1
                cut = 0
            else:
                self._modes[head] = screen.scan(self._modes[head], chunk[skip_from:cut])
        self._head, self._skip = head, cut
        self.start = offsets[head] + cut if head < len(chunks) else self.end
        if head >= _COMPACT and head * 2 >= len(chunks):
            del chunks[:head], offsets[:head], self._modes[:head], self._times[:head]
            self._head = 0

    def _locate(self, offset: int) -> int:
        """Index of the chunk holding ``offset`` (``start <= offset < end``)."""
        return bisect_right(self._offsets, offset, self._head) - 1

    def modes_at(self, offset: int) -> screen.Modes:
        """The terminal modes in force at ``offset`` (a held offset, or ``end``)."""
        if offset >= self.end:
            return self._tracker.modes
        i = self._locate(offset)
        first = self._skip if i == self._head else 0
        return screen.scan(self._modes[i], self._chunks[i][first : offset - self._offsets[i]])

    def at_char_start(self, offset: int) -> bool:
        """Whether ``offset`` (a held offset, or ``end``) is not inside a UTF-8 character."""
        if offset >= self.end:
            return True
        i = self._locate(offset)
        return not 0x80 <= self._chunks[i][offset - self._offsets[i]] < 0xC0

    def read(self, offset: int, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` held bytes from ``offset``, never ending inside a UTF-8 sequence.

        ``offset`` must be held (``start <= offset <= end``).
        """
        if offset >= self.end or max_bytes <= 0:
            return b""
        i = self._locate(offset)
        chunks = self._chunks
        pos = offset - self._offsets[i]
        parts = []
        size = 0
        while i < len(chunks) and size < max_bytes:
            part = chunks[i][pos:] if pos else chunks[i]
            room = max_bytes - size
            if len(part) > room:
                part = part[: utf8_cut(part, room)]
                parts.append(part)
                size += len(part)
                break
            parts.append(part)
            size += len(part)
            i += 1
            pos = 0
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def resized(self, rows: int, cols: int, when: float) -> None:
        """Record that the terminal took ``rows`` x ``cols`` at time ``when`` (after the
        output held so far). Only the last size before ``start`` is kept, one per offset, and
        at most ``MAX_RESIZES``."""
        resizes = self._resizes
        while len(resizes) > 1 and resizes[1][0] <= self.start:
            resizes.popleft()
        if resizes and resizes[-1][0] == self.end:
            resizes.pop()  # no output between the two: only the last size shows
        resizes.append((self.end, when, rows, cols))
        if len(resizes) > MAX_RESIZES:
            resizes.popleft()

    def size_at(self, offset: int) -> tuple[int, int] | None:
        """(rows, cols) in force at ``offset``, if a size was recorded by then."""
        size = None
        for at, _, rows, cols in self._resizes:
            if at > offset:
                break
            size = (rows, cols)
        return size

    def timeline(self) -> Iterator[tuple[float, bytes | tuple[int, int]]]:
        """The held output and the size changes within it, in order: (time, bytes) for each
        held chunk (the first one from ``start``) and (time, (rows, cols)) for a size change
        after ``start``. Times are the caller's, as given to ``append`` and ``resized``."""
        resizes = [r for r in self._resizes if r[0] > self.start]
        r = 0
        first = self._skip
        for i in range(self._head, len(self._chunks)):
            offset = self._offsets[i]
            while r < len(resizes) and resizes[r][0] <= offset:
                yield resizes[r][1], (resizes[r][2], resizes[r][3])
                r += 1
            chunk = self._chunks[i]
            yield self._times[i], (chunk[first:] if first else chunk)
            first = 0
        for _, when, rows, cols in resizes[r:]:
            yield when, (rows, cols)

    def copy(self) -> deque[str]:
        """The held output as text, as terminado's ``TermSocket.open`` replays it."""
        held = self.read(self.start, self.nbytes)
        return deque([held.decode("utf-8", "replace")] if held else [])

    def __bool__(self) -> bool:
        return self.end > self.start
