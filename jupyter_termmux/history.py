"""A session's recent output, bounded in bytes.

terminado keeps ``PtyWithClients.read_buffer`` as a deque of the last 1000 *chunks*: up to
64 MB for a flooding program. ``History`` replaces that deque on every terminal termmux
adopts, so terminado's own reader appends to it and JupyterLab's classic terminal socket
still replays from it, while memory stays under ``limit`` bytes.

It also counts every byte ever appended (``end``), so that a later protocol version can
tag output with its offset and let a client resume with ``since``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from .protocol import utf8_length


def _drop_head(text: str, nbytes: int) -> str:
    """``text`` without its first ``nbytes`` UTF-8 bytes, starting at the next line if it can.

    Starting the kept part at a line boundary keeps a replay from opening in the middle of
    an escape sequence.
    """
    if text.isascii():
        rest = text[nbytes:]
        at_line_start = text[nbytes - 1] == "\n"
    else:
        raw = text.encode("utf-8", "surrogatepass")
        rest = raw[nbytes:].decode("utf-8", "ignore")
        at_line_start = raw[nbytes - 1 : nbytes] == b"\n"
    if at_line_start:
        return rest
    newline = rest.find("\n")
    return rest[newline + 1 :] if newline >= 0 else rest


class History:
    """The most recent output of one session, at most ``limit`` UTF-8 bytes.

    Duck-types the parts of ``collections.deque`` that terminado uses on ``read_buffer``:
    ``append``, ``copy`` (a deque of chunks), iteration and ``len``.
    """

    def __init__(self, limit: int, chunks: Iterable[str] = ()) -> None:
        self.limit = limit
        self._chunks: deque[str] = deque()
        self._nbytes = 0
        #: Bytes ever appended: the stream offset of the end of the history.
        self.end = 0
        for chunk in chunks:
            self.append(chunk)

    @property
    def nbytes(self) -> int:
        """Bytes held now (never more than ``limit``)."""
        return self._nbytes

    @property
    def start(self) -> int:
        """Stream offset of the oldest byte still held."""
        return self.end - self._nbytes

    def append(self, text: str) -> None:
        """Record output, dropping the oldest bytes beyond the limit."""
        if not text:
            return
        n = utf8_length(text)
        self.end += n
        self._chunks.append(text)
        self._nbytes += n
        if self._nbytes > self.limit:
            self._trim()

    def _trim(self) -> None:
        excess = self._nbytes - self.limit
        chunks = self._chunks
        while excess > 0 and chunks:
            head = chunks[0]
            size = utf8_length(head)
            if size <= excess:
                chunks.popleft()
                self._nbytes -= size
                excess -= size
            else:
                kept = _drop_head(head, excess)
                if kept:
                    chunks[0] = kept
                else:
                    chunks.popleft()
                self._nbytes -= size - utf8_length(kept)
                excess = 0

    def text(self) -> str:
        """All held output as one string (what a late attach replays)."""
        if len(self._chunks) > 1:
            # Keep the joined form: replays are rarer than reads, but repeat for each attach.
            joined = "".join(self._chunks)
            self._chunks.clear()
            self._chunks.append(joined)
        return self._chunks[0] if self._chunks else ""

    def clear(self) -> None:
        """Forget the held output (the offsets keep counting)."""
        self._chunks.clear()
        self._nbytes = 0

    def copy(self) -> deque[str]:
        """A deque of the held chunks, as terminado's TermSocket.open expects."""
        return deque(self._chunks)

    def __iter__(self) -> Iterator[str]:
        return iter(self._chunks)

    def __len__(self) -> int:
        return len(self._chunks)

    def __bool__(self) -> bool:
        return self._nbytes > 0
