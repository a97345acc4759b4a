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
The command line the shell echoes (``python3 gen.py <tag> <n> <text>``) never contains
``BEGIN <tag>`` or ``END <tag>``, so the echo cannot be mistaken for output.

Three texts (``TEXTS``): ``ascii`` (100-byte lines, written in blocks of 2,000 lines),
``mixed`` (70-character lines of which 4 are not ASCII: ``ä``, ``ö``, ``€`` and the 4-byte
``𝄞``, so 77 bytes + CRLF; written in blocks of 1,000 lines) and ``ascii-shaped`` (ASCII lines
of mixed text's 77 bytes, in blocks of 1,000: it differs from ``mixed`` only in its content).
A verifier checks ``str`` chunks (v1 and terminado deliver decoded text) or ``bytes`` chunks
(v2's binary frames); lines have a fixed length in both units, and MB always means 10**6
UTF-8 bytes as delivered.
"""

from __future__ import annotations

import time
from typing import Callable, Union

PAD = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrs"
#: 54 characters, exactly 4 of them not ASCII (2, 2, 3 and 4 UTF-8 bytes)
MIXED_PAD = "Kräfte: zwölf Takte 𝄞 kosten 12,50 € pro Stunde, oder?"

#: ASCII in mixed text's shape: lines as long in bytes and as many per write(), so that it and
#: ``mixed`` differ in their content alone (a control for the server's cost per byte)
SHAPED_PAD = PAD[: len(MIXED_PAD.encode())]

#: text kind -> (pad, lines per write() of the generator)
TEXTS = {"ascii": (PAD, 2000), "mixed": (MIXED_PAD, 1000), "ascii-shaped": (SHAPED_PAD, 1000)}

Chunk = Union[str, bytes]

GEN_SCRIPT = f"""\
import sys
tag, n = sys.argv[1], int(sys.argv[2])
text = sys.argv[3] if len(sys.argv) > 3 else "ascii"
pad, step = {TEXTS!r}[text]
w = sys.stdout.buffer.write  # UTF-8 whatever the locale
w(("BEGIN " + tag + "\\n").encode())
for a in range(0, n, step):
    w("".join([f"{{tag}} {{i:08d}} {{pad}}\\n" for i in range(a, min(n, a + step))]).encode())
w(("END " + tag + "\\n").encode())
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


def line(tag: str, i: int, text: str = "ascii") -> str:
    """The i-th line of session ``tag`` as the PTY delivers it."""
    return f"{tag} {i:08d} {TEXTS[text][0]}\r\n"


def line_length(tag: str, text: str = "ascii", binary: bool = False) -> int:
    """Length of every delivered line for ``tag``: in bytes if ``binary``, else in characters."""
    s = line(tag, 0, text)
    return len(s.encode()) if binary else len(s)


def lines_for_mb(tag: str, mb: float, text: str = "ascii") -> int:
    """How many lines make ``mb`` megabytes (10**6 UTF-8 bytes) of output for ``tag``."""
    return max(1, int(mb * 1_000_000) // line_length(tag, text, binary=True))


def expected_body(tag: str, nlines: int, text: str = "ascii") -> str:
    """Everything after the BEGIN marker: all lines and the END marker, as delivered."""
    return "".join([line(tag, i, text) for i in range(nlines)]) + f"END {tag}\r\n"


def gen_command(gen: str, tag: str, nlines: int, text: str = "ascii") -> str:
    """What to type into the shell to run the generator (with the Enter key)."""
    return f"python3 {gen} {tag} {nlines} {text}\r"


class StreamVerifier:
    """Checks one subscriber's view of one session's generator output, chunk by chunk.

    Pass ``body`` (from ``expected_body``; ``bytes`` for a binary transport) to build the
    expected text before the clock starts; without it the expected text of each chunk is
    generated as the chunk arrives. ``binary`` says whether chunks are ``bytes`` (v2) or ``str``.
    """

    def __init__(
        self,
        tag: str,
        nlines: int,
        on_done: Callable[[], None] | None = None,
        body: Chunk | None = None,
        text: str = "ascii",
        binary: bool = False,
    ):
        self.tag = tag
        self.nlines = nlines
        self.text = text
        self.binary = binary
        if body is not None and isinstance(body, bytes) != binary:
            body = body.encode() if binary else body.decode()  # type: ignore[union-attr]
        self.body: Chunk | None = body
        self.L = line_length(tag, text, binary)
        self.begin: Chunk = self._unit(f"BEGIN {tag}\r\n")
        self.end: Chunk = self._unit(f"END {tag}\r\n")
        self.body_len = nlines * self.L + len(self.end)
        #: delivered payload in UTF-8 bytes (MB = 10**6 of these), whatever the chunk unit
        self.payload_bytes = nlines * line_length(tag, text, binary=True)
        self.state = "pre"  # pre -> body -> done | bad
        self._pre: Chunk = self._unit("")
        self.pos = 0
        self.error: str | None = None
        self.begin_time: float | None = None
        self.done_time: float | None = None
        #: chunk units seen (characters for str chunks, bytes for binary ones)
        self.received = 0
        self._on_done = on_done

    def _unit(self, s: str) -> Chunk:
        return s.encode() if self.binary else s

    def expected(self, start: int, n: int) -> Chunk:
        """Expected body for offsets [start, start + n), in the verifier's unit."""
        L = self.L
        first = start // L
        last = min((start + n - 1) // L, self.nlines)
        parts = [line(self.tag, i, self.text) for i in range(first, min(last + 1, self.nlines))]
        text = self._unit("".join(parts))
        if last >= self.nlines:
            text += self.end  # type: ignore[operator]
        off = start - first * L
        return text[off : off + n]

    def feed(self, data: Chunk) -> None:
        """Consume one chunk of terminal output."""
        self.received += len(data)
        if self.state == "pre":
            self._pre += data  # type: ignore[operator]
            i = self._pre.find(self.begin)  # type: ignore[arg-type]
            if i < 0:
                # keep only what could still be the start of the marker
                self._pre = self._pre[-len(self.begin) :]
                return
            data = self._pre[i + len(self.begin) :]
            self._pre = self._unit("")
            self.state = "body"
            self.begin_time = time.perf_counter()
        if self.state != "body" or not data:
            return
        n = min(len(data), self.body_len - self.pos)
        chunk = data[:n] if n < len(data) else data
        if self.body is not None:
            good = self.body.startswith(chunk, self.pos)  # type: ignore[arg-type]
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

    def resync(self, body_pos: int) -> None:
        """Continue checking at ``body_pos`` of the body (after a declared truncation)."""
        if self.state == "pre":
            self.state = "body"
            self.begin_time = time.perf_counter()
        self._pre = self._unit("")
        self.pos = body_pos

    def _fail(self, got: Chunk, want: Chunk) -> None:
        k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        off = self.pos + k
        lineno = off // self.L
        start_of_line = k - (off % self.L)
        rest = got[max(0, start_of_line) :]
        text = rest.decode(errors="replace") if isinstance(rest, bytes) else rest
        got_line = text.split("\r\n", 1)[0][:60]
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
            return f"session {self.tag}: BEGIN marker never arrived ({self.received} units seen)"
        if self.state == "body":
            return (
                f"session {self.tag}: incomplete, {self.pos}/{self.body_len} "
                f"{'bytes' if self.binary else 'characters'} "
                f"(line {self.pos // self.L} of {self.nlines})"
            )
        return f"session {self.tag}: ok"


def utf8_split(payload: bytes) -> str | None:
    """Whether a frame's payload starts or ends inside a UTF-8 sequence (v2 forbids both).

    Looks at the first byte and at most the last 4: O(1), cheap enough for every frame.
    """
    if not payload:
        return None
    if payload[0] & 0xC0 == 0x80:
        return "frame starts inside a UTF-8 sequence"
    for k in range(1, min(4, len(payload)) + 1):
        c = payload[-k]
        if c < 0x80:
            return None if k == 1 else "stray UTF-8 continuation bytes at the end of a frame"
        if c >= 0xC0:
            need = 2 if c < 0xE0 else 3 if c < 0xF0 else 4
            return None if need == k else "frame ends inside a UTF-8 sequence"
    return None if len(payload) < 4 else "frame ends inside a UTF-8 sequence"


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
