"""Reading a PTY's file descriptor, and naming how its program ended: small helpers of
``pty.py`` kept apart so each is tested on its own."""

from __future__ import annotations

import os
import signal

#: Bytes read from a PTY at once (terminado reads 65536 as well).
READ_SIZE = 65536

#: Input bytes a terminal may have queued while its program does not read them.
INPUT_QUEUE_LIMIT = 1024 * 1024

#: Seconds between checks that a paused terminal's program is still alive.
EXIT_CHECK_INTERVAL = 1.0

#: Seconds between activity stamps for the culler (output is activity too).
ACTIVITY_INTERVAL = 1.0


#: Slack between a held position and history's start: trimming opens the kept part at the next
#: line start up to 4 KiB on (history.py), and a read may carry 3 bytes of a cut character.
TRIM_SLACK = 4096 + 4


def history_room(limit: int) -> int:
    """How far history's end may run ahead of a held position: the limit less one read."""
    return max(limit - READ_SIZE - TRIM_SLACK, limit // 2)


def read_cap(limit: int) -> int:
    """Most bytes one wake-up may read into a history of ``limit`` bytes: what it holds beyond
    ``history_room`` and the trimming slack, so one read never moves history past a position
    it holds for (at least 1: a history too small for that cannot keep the promise)."""
    return max(1, limit - history_room(limit) - TRIM_SLACK)


def read_available(fd: int, cap: int = READ_SIZE) -> tuple[bytes, bool]:
    """What the PTY holds now, up to ``cap`` bytes, and whether it ended.

    Linux hands out a PTY's output at most 4095 bytes per read: reading on while more is there
    lets everything downstream (history, routing, framing) work per 64 KiB, not per 4 KiB.
    """
    parts: list[bytes] = []
    size = 0
    while size < cap:
        try:
            chunk = os.read(fd, cap - size)
        except BlockingIOError:
            break
        except OSError:  # EIO: the program and every holder of the terminal's tty ended
            return b"".join(parts), True
        if not chunk:
            return b"".join(parts), True
        parts.append(chunk)
        size += len(chunk)
        if len(chunk) < 4095:  # the PTY had no more than this: don't pay for an EAGAIN
            break
    return (parts[0] if len(parts) == 1 else b"".join(parts)), False


def split_utf8(data: bytes) -> int:
    """Where ``data`` ends on a whole UTF-8 sequence (an incomplete tail waits for more)."""
    n = len(data)
    for back in range(1, min(4, n + 1)):
        byte = data[n - back]
        if byte < 0x80 or byte >= 0xF8:  # ASCII, or no UTF-8 at all: nothing to wait for
            return n
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return n if back >= need else n - back
    return n


def signal_name(sig: int | None) -> str | None:
    """``SIGKILL`` for 9; real-time signals have no name in ``signal.Signals``."""
    if not sig:
        return None
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"SIG{sig}"
