"""Pure stream checks: did every numbered line arrive once, in order, in the right session?

The generator (``GEN_SCRIPT``, run by the shell in the terminal) prints::

    BEGIN <tag>\n
    <tag> 00000000 <PAD>\n
    <tag> 00000001 <PAD>\n
    ...
    END <tag>\n

and the PTY turns every ``\n`` into ``\r\n`` (``onlcr``). Every line has the same length, so
the expected text at any byte offset can be computed, and a received chunk is checked with one
string comparison instead of a per-line Python loop (the client shares 2 cores with the server).
The command line the shell echoes (``python3 gen.py <tag> <n>``) never contains ``BEGIN <tag>``
or ``END <tag>``, so the echo cannot be mistaken for output.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

PAD = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrs"

GEN_SCRIPT = f"""\
import sys
tag, n = sys.argv[1], int(sys.argv[2])
pad = {PAD!r}
w = sys.stdout.write
w("BEGIN " + tag + "\\n")
step = 2000
for a in range(0, n, step):
    w("".join([f"{{tag}} {{i:08d}} {{pad}}\\n" for i in range(a, min(n, a + step))]))
w("END " + tag + "\\n")
sys.stdout.flush()
"""

FLOOD_SCRIPT = f"""\
import sys, time
tag, seconds = sys.argv[1], float(sys.argv[2])
block = "".join(f"{{tag}} {{i:08d}} {PAD}\\n" for i in range(200))
deadline = time.monotonic() + seconds
w = sys.stdout.write
while time.monotonic() < deadline:
    w(block)
"""


def line(tag: str, i: int) -> str:
    """The i-th line of session ``tag`` as the PTY delivers it."""
    return f"{tag} {i:08d} {PAD}\r\n"


def line_length(tag: str) -> int:
    """Bytes per delivered line for ``tag`` (all lines have the same length)."""
    return len(line(tag, 0))


def lines_for_mb(tag: str, mb: float) -> int:
    """How many lines make ``mb`` megabytes (10**6 bytes) of output for ``tag``."""
    return max(1, int(mb * 1_000_000) // line_length(tag))


def expected_body(tag: str, nlines: int) -> str:
    """Everything after the BEGIN marker: all lines and the END marker, as delivered."""
    return "".join([line(tag, i) for i in range(nlines)]) + f"END {tag}\r\n"


class StreamVerifier:
    """Checks one subscriber's view of one session's generator output, chunk by chunk.

    Pass ``body`` (from ``expected_body``) to build the expected text before the clock starts;
    without it the expected text of each chunk is generated as the chunk arrives.
    """

    def __init__(
        self,
        tag: str,
        nlines: int,
        on_done: Optional[Callable[[], None]] = None,
        body: Optional[str] = None,
    ):
        self.body = body
        self.tag = tag
        self.nlines = nlines
        self.L = line_length(tag)
        self.begin = f"BEGIN {tag}\r\n"
        self.end = f"END {tag}\r\n"
        self.body_len = nlines * self.L + len(self.end)
        self.payload_bytes = nlines * self.L
        self.state = "pre"  # pre -> body -> done | bad
        self._pre = ""
        self.pos = 0
        self.error: Optional[str] = None
        self.begin_time: Optional[float] = None
        self.done_time: Optional[float] = None
        self.received = 0
        self._on_done = on_done

    def expected(self, start: int, n: int) -> str:
        """Expected body text for offsets [start, start + n)."""
        L = self.L
        first = start // L
        last = min((start + n - 1) // L, self.nlines)
        parts = [line(self.tag, i) for i in range(first, min(last + 1, self.nlines))]
        if last >= self.nlines:
            parts.append(self.end)
        text = "".join(parts)
        off = start - first * L
        return text[off : off + n]

    def feed(self, data: str) -> None:
        """Consume one chunk of terminal output."""
        self.received += len(data)
        if self.state == "pre":
            self._pre += data
            i = self._pre.find(self.begin)
            if i < 0:
                # keep only what could still be the start of the marker
                self._pre = self._pre[-len(self.begin) :]
                return
            data = self._pre[i + len(self.begin) :]
            self._pre = ""
            self.state = "body"
            self.begin_time = time.perf_counter()
        if self.state != "body" or not data:
            return
        n = min(len(data), self.body_len - self.pos)
        chunk = data[:n] if n < len(data) else data
        if self.body is not None:
            good = self.body.startswith(chunk, self.pos)  # compares in place, no copy
        else:
            good = chunk == self.expected(self.pos, n)
        if not good:
            self._fail(chunk, self.expected(self.pos, n))
            return
        self.pos += n
        if self.pos == self.body_len:
            self.state = "done"
            self.done_time = time.perf_counter()
            if self._on_done is not None:
                self._on_done()

    def _fail(self, got: str, want: str) -> None:
        k = next(i for i, (a, b) in enumerate(zip(got, want + "\0" * len(got))) if a != b)
        off = self.pos + k
        lineno = off // self.L
        start_of_line = k - (off % self.L)
        got_line = got[max(0, start_of_line) :].split("\r\n", 1)[0][:60]
        self.error = f"session {self.tag}: line {lineno}: {classify(self.tag, lineno, got_line)}"
        self.state = "bad"
        if self._on_done is not None:
            self._on_done()

    @property
    def ok(self) -> bool:
        """True once every line and the end marker arrived intact."""
        return self.state == "done"

    def describe(self) -> str:
        """Human-readable state, for error messages."""
        if self.error:
            return self.error
        if self.state == "pre":
            return f"session {self.tag}: BEGIN marker never arrived ({self.received} bytes seen)"
        if self.state == "body":
            return (
                f"session {self.tag}: incomplete, {self.pos}/{self.body_len} bytes "
                f"(line {self.pos // self.L} of {self.nlines})"
            )
        return f"session {self.tag}: ok"


def classify(tag: str, lineno: int, got_line: str) -> str:
    """Say what kind of corruption a wrong line is: misrouted, lost, duplicated/reordered."""
    parts = got_line.split(" ")
    if len(parts) >= 2 and parts[1].isdigit() and len(parts[1]) == 8:
        other, num = parts[0], int(parts[1])
        if other != tag:
            return f"misrouted: got line {num} of session {other!r} (expected {lineno})"
        if num > lineno:
            return f"lost lines {lineno}..{num - 1}"
        return f"duplicated or reordered: got line {num} again (expected {lineno})"
    return f"corrupted: expected line {lineno}, got {got_line!r}"
