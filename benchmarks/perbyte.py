"""Micro-benchmark: does the server's byte path cost more per byte for text that is not ASCII?

``python -m benchmarks.perbyte`` runs, in this process, every step of the v2 server's output
path that looks at the bytes themselves, on the stream a terminal gives: 4,095-byte reads
gathered into rounds of 64 KiB (``ptyio.ReadRounds``), each cut at a whole character
(``ptyio.split_utf8``) and appended to a ``History`` with its read time (the mode scan,
trimming at a line or character start), then read back in frames of up to 128 KiB cut at a character start and given
their binary header (``frames.encode``). The rest of the path (routing, the scheduler, tornado's
write) handles counts and ``bytes`` objects and never looks inside them.

It feeds mixed text (``benchmarks.verify``: 4 characters in 70 not ASCII) and ASCII in the same
shape (``ascii-shaped``: lines as long in bytes), so the two differ in their content alone.
End to end they also differ in how fast the program writes them (Python formats mixed text
slower), and the server's fixed cost per wake-up is spread over fewer bytes per second; this
measures what the content itself costs. Prints CPU ms per MB of each (medians of interleaved
runs) and mixed over ASCII-shaped.
"""

from __future__ import annotations

import argparse
import statistics
import time

from jupyter_termmux.frames import FrameType, encode
from jupyter_termmux.history import History
from jupyter_termmux.ptyio import KERNEL_CHUNK, split_utf8

from .verify import line, line_length

MB = 1_000_000
ROUND = 16  # reads per round: 16 × 4,095 bytes, about the 64 KiB a round takes from a PTY
FRAME = 128 * 1024  # the v2 quantum
TEXTS = ("ascii-shaped", "mixed")


def stream(text: str, mb: float) -> bytes:
    """``mb`` MB of the benchmark's numbered lines of ``text``, as the PTY delivers them."""
    n = int(mb * MB) // line_length("pb", text, binary=True)
    return "".join([line("pb", i, text) for i in range(n)]).encode()


def one_pass(data: bytes, history_limit: int = 512 * 1024) -> float:
    """CPU seconds to take ``data`` through the byte path once."""
    history = History(history_limit)
    carry = b""
    sent = 0
    reads = [data[i : i + KERNEL_CHUNK] for i in range(0, len(data), KERNEL_CHUNK)]
    t0 = time.process_time()
    for r in range(0, len(reads), ROUND):
        chunk = carry + b"".join(reads[r : r + ROUND])
        cut = split_utf8(chunk)
        carry = chunk[cut:]
        history.append(chunk[:cut], time.monotonic())  # the read time recordings keep
        while sent < history.end:
            payload = history.read(sent, FRAME)
            encode(FrameType.OUTPUT, 1, sent, payload)
            sent += len(payload)
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.perbyte", description=__doc__)
    p.add_argument("--mb", type=float, default=40.0, help="MB per pass (default 40)")
    p.add_argument("--runs", type=int, default=9, help="interleaved runs (default 9)")
    a = p.parse_args(argv)
    if a.runs < 1:
        p.error("--runs must be at least 1")
    if a.mb * MB < KERNEL_CHUNK:
        p.error(f"--mb must be at least one read ({KERNEL_CHUNK / MB} MB)")
    data = {t: stream(t, a.mb) for t in TEXTS}
    runs: dict[str, list[float]] = {t: [] for t in TEXTS}
    for i in range(a.runs):
        for t in TEXTS if i % 2 == 0 else TEXTS[::-1]:  # neither always goes first
            runs[t].append(one_pass(data[t]) * 1000 / (len(data[t]) / MB))
    med = {t: statistics.median(v) for t, v in runs.items()}
    for t in TEXTS:
        print(f"{t:13} {med[t]:6.3f} ms/MB  (runs {min(runs[t]):.3f}-{max(runs[t]):.3f})")
    paired = statistics.median(m / s for m, s in zip(runs["mixed"], runs["ascii-shaped"]))
    print(
        f"mixed over ascii-shaped: ×{med['mixed'] / med['ascii-shaped']:.2f} "
        f"(median of the runs' ratios ×{paired:.2f}); {a.runs} interleaved runs of {a.mb:g} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
